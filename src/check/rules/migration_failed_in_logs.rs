//! `migration-failed-in-logs`: deploy logs show a migration failing
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct MigrationFailedInLogs;

pub static META: RuleMeta = RuleMeta {
    name: "migration-failed-in-logs",
    severity: Severity::Error,
    summary: "deploy logs show a migration failing",
    help: "Fix the failing revision and test it against PostgreSQL before deploying.",
};

impl Rule for MigrationFailedInLogs {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
