//! `alter-referenced-column`: a column's type is changed while a foreign key still uses it
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct AlterReferencedColumn;

pub static META: RuleMeta = RuleMeta {
    name: "alter-referenced-column",
    severity: Severity::Error,
    summary: "a column's type is changed while a foreign key still uses it",
    help: "Drop the foreign key, alter both columns, then re-create the foreign key.",
};

impl Rule for AlterReferencedColumn {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
