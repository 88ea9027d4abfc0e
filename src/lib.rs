//! `postmortem`: the postmortem of a failed Render deploy, written from the facts.
//!
//! The pipeline: [`config`] → [`collect`] → [`evidence::Evidence`] → [`analyze`] → [`check`] →
//! [`report`]. The binary is a thin wrapper over [`run`].

pub mod analyze;
pub mod check;
pub mod collect;
pub mod error;
pub mod evidence;
pub mod migrations;
pub mod redact;
pub mod source;
pub use error::{Error, Result};
