//! `failed-deploy-streak`: consecutive failed deploys
//!
//! TODO(owner): what it flags, why it breaks deploys, an example, the fix.

use crate::check::{CheckContext, Finding, Rule, RuleMeta, Severity};

pub struct FailedDeployStreak;

pub static META: RuleMeta = RuleMeta {
    name: "failed-deploy-streak",
    severity: Severity::Error,
    summary: "consecutive failed deploys",
    help: "Fix the first failure's cause; later deploys repeat it.",
};

impl Rule for FailedDeployStreak {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
