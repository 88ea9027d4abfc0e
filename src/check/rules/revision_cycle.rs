//! `revision-cycle`: the revision graph has a cycle
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct RevisionCycle;

pub static META: RuleMeta = RuleMeta {
    name: "revision-cycle",
    severity: Severity::Error,
    summary: "the revision graph has a cycle",
    help: "Break the cycle by re-pointing one down_revision at an earlier revision.",
};

impl Rule for RevisionCycle {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
