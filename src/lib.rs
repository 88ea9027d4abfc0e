//! `postmortem`: the postmortem of a failed Render deploy, written from the facts.
//!
//! The pipeline: [`config`] → [`collect`] → [`evidence::Evidence`] → [`check`] → [`analyze`] →
//! [`report`]. [`pipeline`] wires the stages; [`app`] runs the commands; the binary is a thin
//! wrapper over [`app::run`].
//!
//! The modules are layers, listed below from the bottom up; each reads only what lies beneath
//! it (`tests/layering.rs` holds the order and fails on an import that points up):
//!
//! 1. utilities: [`error`], [`redact`], [`parallel`], [`source`];
//! 2. [`finding`]: the vocabulary of findings ([`finding::Finding`], [`finding::Severity`],
//!    [`finding::Excerpt`], [`finding::RuleMeta`]);
//! 3. [`migrations`]: migration files read statically (graph, schema simulation);
//! 4. [`evidence`]: the facts, the history facts the rules read ([`evidence::history`]) and the
//!    pure helpers over them (deploy times, the failing streak, short SHAs);
//! 5. [`deploylog`]: the deploy logs read into facts, once per run;
//! 6. [`collect`]: the collectors that fill the evidence;
//! 7. [`check`]: the rules;
//! 8. [`analyze`]: causes, timeline, diagrams, from facts and findings;
//! 9. [`report`]: templates and output formats;
//! 10. [`publish`]: a rendered report onto the incident ticket (GitHub, GitLab);
//! 11. [`cli`], then [`config`]: the flags, then the merged configuration;
//! 12. [`pipeline`], then [`app`]: the stages wired, the commands run.

// Bottom layer first; see the list above.
pub mod error;
pub mod parallel;
pub mod redact;
pub mod source;

pub mod finding;

pub mod migrations;

pub mod evidence;

pub mod deploylog;

pub mod collect;

pub mod check;

pub mod analyze;

pub mod report;

pub mod publish;

pub mod cli;

pub mod config;

pub mod pipeline;

pub mod app;

pub use error::{Error, Result};
