//! `sqlite-tests-postgres-prod`: the test suite runs on SQLite while the deployed database is PostgreSQL
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct SqliteTestsPostgresProd;

pub static META: RuleMeta = RuleMeta {
    name: "sqlite-tests-postgres-prod",
    severity: Severity::Warning,
    summary: "the test suite runs on SQLite while the deployed database is PostgreSQL",
    help: "Run the migration tests against PostgreSQL, the engine production uses.",
};

impl Rule for SqliteTestsPostgresProd {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
