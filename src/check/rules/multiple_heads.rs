//! `multiple-heads`: more than one head revision: `alembic upgrade head` exits 255
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct MultipleHeads;

pub static META: RuleMeta = RuleMeta {
    name: "multiple-heads",
    severity: Severity::Error,
    summary: "more than one head revision: `alembic upgrade head` exits 255",
    help: "Merge the heads with `alembic merge heads` and commit the merge revision.",
};

impl Rule for MultipleHeads {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
