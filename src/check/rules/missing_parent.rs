//! `missing-parent`: a down_revision or depends_on that names no revision
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct MissingParent;

pub static META: RuleMeta = RuleMeta {
    name: "missing-parent",
    severity: Severity::Error,
    summary: "a down_revision or depends_on that names no revision",
    help: "Point down_revision at an existing revision ID, or commit the missing revision.",
};

impl Rule for MissingParent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
