//! `duplicate-revision`: two files declare the same revision ID
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct DuplicateRevision;

pub static META: RuleMeta = RuleMeta {
    name: "duplicate-revision",
    severity: Severity::Error,
    summary: "two files declare the same revision ID",
    help: "Give one of the files a new revision ID and re-point its children.",
};

impl Rule for DuplicateRevision {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
