//! `phantom-migration`: a commit message names a migration revision that does not exist in the repository
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct PhantomMigration;

pub static META: RuleMeta = RuleMeta {
    name: "phantom-migration",
    severity: Severity::Error,
    summary: "a commit message names a migration revision that does not exist in the repository",
    help: "Commit the migration the message describes, or correct the message.",
};

impl Rule for PhantomMigration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
