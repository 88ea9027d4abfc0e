//! Shared test support.

#![allow(dead_code)]

pub mod git;
pub mod postgres;

/// What `testkit` calls `super::model`.
pub mod model {
    pub use postmortem::migrations::model::*;
}

#[path = "../../src/migrations/testkit.rs"]
pub mod testkit;
