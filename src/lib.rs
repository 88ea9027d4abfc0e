//! `postmortem`: the postmortem of a failed Render deploy, written from the facts.
//!
//! The pipeline: [`config`] → [`collect`] → [`evidence::Evidence`] → [`check`] → [`analyze`] →
//! [`report`]. [`pipeline`] wires the stages; [`app`] runs the commands; the binary is a thin
//! wrapper over [`app::run`].

pub mod analyze;
pub mod app;
pub mod check;
pub mod cli;
pub mod collect;
pub mod config;
pub mod deploylog;
pub mod error;
pub mod evidence;
pub mod finding;
pub mod migrations;
pub mod parallel;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod source;

pub use error::{Error, Result};
