//! `unparseable-migration`: a migration file the parser cannot read
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct UnparseableMigration;

pub static META: RuleMeta = RuleMeta {
    name: "unparseable-migration",
    severity: Severity::Error,
    summary: "a migration file the parser cannot read",
    help: "Fix the syntax error so that Alembic (and this tool) can load the file.",
};

impl Rule for UnparseableMigration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
