//! `failed-deploy-streak`: consecutive failed deploys
//!
//! **What it flags.** The newest run of consecutive failed Render deploys (`build_failed`,
//! `update_failed`, `pre_deploy_failed`), with its first failure and the last deploy that went
//! live before it. Canceled deploys (usually superseded by a newer push) neither break nor
//! extend the run; `live` and `deactivated` deploys end it.
//!
//! **Why it matters.** When every deploy after a given commit fails the same way, the later
//! "fixes" are not fixing it: the cause is in the first failed deploy's commit range, and the
//! service is still running (or, after a restart, no longer running) the last good deploy.
//!
//! **Example.** 14 `update_failed` deploys since 2025-11-10 15:43 UTC, each with a
//! `deploy_ended` event carrying `nonZeroExit: 1`; the last `live` deploy is three commits
//! older.
//!
//! **Fix.** Find the cause in the first failed deploy (its logs, the commits since the last good
//! deploy), fix it there, and stop pushing blind retries.
//!
//! Severity: `error` for two or more consecutive failures, `warning` for a single one.
//! `data`: the [`Streak`](crate::evidence::Streak) fields.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::evidence::{short_sha, streak, Evidence};

pub struct FailedDeployStreak;

pub static META: RuleMeta = RuleMeta {
    name: "failed-deploy-streak",
    severity: Severity::Error,
    summary: "consecutive failed deploys",
    help: "Fix the first failure's cause; later deploys repeat it.",
    category: Category::Deploys,
};

fn commit_of(evidence: &Evidence, deploy_id: &str) -> Option<String> {
    evidence
        .deploy(deploy_id)
        .and_then(|d| d.commit.as_ref())
        .map(|c| c.sha.clone())
}

impl Rule for FailedDeployStreak {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let evidence = ctx.evidence;
        let Some(streak) = streak(&evidence.deploys) else {
            return Vec::new();
        };
        let first_commit = commit_of(evidence, &streak.first_failed);
        let since = streak
            .first_failed_at
            .map(|t| format!(" since {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        let commit_text = first_commit
            .as_deref()
            .map(|c| format!(", commit {}", short_sha(c)))
            .unwrap_or_default();
        let head = if streak.count == 1 {
            format!(
                "1 deploy failed{since} ({}{commit_text})",
                streak.first_failed
            )
        } else {
            format!(
                "{} consecutive deploys failed{since} (first: {}{commit_text})",
                streak.count, streak.first_failed
            )
        };
        let good = match &streak.last_good {
            Some(id) => {
                let commit = commit_of(evidence, id)
                    .map(|c| format!(" (commit {})", short_sha(&c)))
                    .unwrap_or_default();
                format!("the last good deploy is {id}{commit}")
            }
            None => "no successful deploy in the collected history".to_string(),
        };
        let after = match &streak.recovered_by {
            Some(id) => format!("; {id} went live after it"),
            None => String::new(),
        };
        let severity = if streak.count >= 2 {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut finding = Finding::new(&META, format!("{head}; {good}{after}"))
            .severity(severity)
            .data(serde_json::to_value(&streak).unwrap_or_default());
        if let Some(c) = first_commit {
            finding = finding.commit(c);
        }
        vec![finding]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Deploy, DeployCommit, DeployStatus, Service};
    use chrono::{TimeZone, Utc};

    fn deploy(id: &str, status: DeployStatus, minute: u32, sha: &str) -> Deploy {
        Deploy {
            id: id.to_string(),
            status,
            trigger: Some("new_commit".to_string()),
            commit: Some(DeployCommit {
                sha: sha.to_string(),
                message: None,
                created_at: None,
            }),
            image: None,
            created_at: Utc.with_ymd_and_hms(2025, 11, 10, 15, minute, 0).single(),
            started_at: None,
            finished_at: None,
            updated_at: None,
            failure: None,
        }
    }

    fn run(deploys: Vec<Deploy>) -> Vec<Finding> {
        let mut evidence = Evidence::new(Service::default());
        evidence.deploys = deploys;
        FailedDeployStreak.check(&CheckContext::new(&evidence, None))
    }

    #[test]
    fn err() {
        let findings = run(vec![
            deploy("dep-good", DeployStatus::Live, 10, "1111111aaaa"),
            deploy("dep-f1", DeployStatus::UpdateFailed, 43, "abc1234ffff"),
            deploy("dep-c", DeployStatus::Canceled, 44, "2222222bbbb"),
            deploy("dep-f2", DeployStatus::UpdateFailed, 50, "3333333cccc"),
        ]);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.message,
            "2 consecutive deploys failed since 2025-11-10 15:43 UTC (first: dep-f1, commit abc1234); the last good deploy is dep-good (commit 1111111)"
        );
        assert_eq!(f.commit.as_deref(), Some("abc1234ffff"));
        assert_eq!(f.data["count"], 2);
        assert_eq!(f.data["deploys"], serde_json::json!(["dep-f1", "dep-f2"]));
    }

    #[test]
    fn ok() {
        let findings = run(vec![
            deploy("dep-a", DeployStatus::Deactivated, 10, "1111111aaaa"),
            deploy("dep-b", DeployStatus::Live, 20, "2222222bbbb"),
            deploy("dep-c", DeployStatus::Canceled, 30, "3333333cccc"),
        ]);
        assert!(findings.is_empty());
    }

    #[test]
    fn single_failure_without_history_is_a_warning() {
        let findings = run(vec![deploy(
            "dep-f",
            DeployStatus::BuildFailed,
            5,
            "abc1234ffff",
        )]);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0]
            .message
            .ends_with("no successful deploy in the collected history"));
    }
}
