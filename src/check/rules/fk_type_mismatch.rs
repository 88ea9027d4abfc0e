//! `fk-type-mismatch`: a foreign key between columns whose types PostgreSQL will not pair
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct FkTypeMismatch;

pub static META: RuleMeta = RuleMeta {
    name: "fk-type-mismatch",
    severity: Severity::Error,
    summary: "a foreign key between columns whose types PostgreSQL will not pair",
    help: "Convert the referenced column's type before creating the foreign key.",
};

impl Rule for FkTypeMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
