//! The change a CI run is reviewing, read from the platform's environment, so that `check`'s
//! history rules judge the commits the change adds instead of the whole published history (a
//! finding on an old, pushed commit could otherwise never be fixed, and the gate never go
//! green).
//!
//! - GitHub Actions (`GITHUB_ACTIONS=true`): the event payload at `GITHUB_EVENT_PATH` gives
//!   `pull_request.base.sha` for `pull_request`/`pull_request_target` events and `before` for
//!   `push` events; without a payload, `GITHUB_BASE_REF` (set only for pull requests) names the
//!   target branch, read as `origin/<branch>`.
//! - GitLab CI (`GITLAB_CI=true`): `CI_MERGE_REQUEST_DIFF_BASE_SHA` (the merge request's diff
//!   base) in merge request pipelines, else `CI_COMMIT_BEFORE_SHA` in branch pipelines, which
//!   GitLab sets to forty zeros when there is no previous commit.
//!
//! Other events (schedules, manual runs, a new branch's first push) have no change to narrow
//! to: every commit is read.

use std::collections::BTreeMap;
use std::path::Path;

/// The variables read; `main.rs` collects them, tests inject them.
pub const VARS: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_BASE_REF",
    "GITLAB_CI",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_IID",
    "CI_COMMIT_BEFORE_SHA",
];

/// The CI-related environment of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiEnv(BTreeMap<String, String>);

impl CiEnv {
    pub fn from_env() -> CiEnv {
        CiEnv(
            VARS.iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
                .collect(),
        )
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> CiEnv {
        CiEnv(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// The commits under review: those reachable from HEAD and not from `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// A commit SHA or a ref (`origin/main`).
    pub base: String,
    /// Where it came from, for messages: "GitHub Actions pull request (base …)".
    pub describe: String,
}

impl Change {
    /// The `--range` this change stands for.
    pub fn range(&self) -> String {
        format!("{}..HEAD", self.base)
    }
}

fn null_sha(s: &str) -> bool {
    s.chars().all(|c| c == '0')
}

/// The change under review, or `None` outside CI and for runs that review no change. An event
/// payload that cannot be read is an error naming it: guessing would check the wrong commits.
pub fn change_under_review(env: &CiEnv) -> crate::Result<Option<Change>> {
    if env.get("GITHUB_ACTIONS") == Some("true") {
        return github(env);
    }
    if env.get("GITLAB_CI") == Some("true") {
        return Ok(gitlab(env));
    }
    Ok(None)
}

fn github(env: &CiEnv) -> crate::Result<Option<Change>> {
    let event = env.get("GITHUB_EVENT_NAME").unwrap_or("");
    if let Some(path) = env.get("GITHUB_EVENT_PATH") {
        let path = Path::new(path);
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        let payload: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| crate::Error::Malformed {
                path: path.to_path_buf(),
                position: Some((e.line(), e.column())),
                message: format!("GITHUB_EVENT_PATH is not a JSON event payload: {e}"),
            })?;
        if let Some(base) = payload["pull_request"]["base"]["sha"].as_str() {
            let number = payload["pull_request"]["number"]
                .as_u64()
                .map(|n| format!(" #{n}"))
                .unwrap_or_default();
            return Ok(Some(Change {
                base: base.to_string(),
                describe: format!("GitHub Actions pull request{number}"),
            }));
        }
        if let Some(before) = payload["before"].as_str().filter(|b| !null_sha(b)) {
            return Ok(Some(Change {
                base: before.to_string(),
                describe: format!("GitHub Actions {} event", event_name(event, "push")),
            }));
        }
    }
    Ok(env.get("GITHUB_BASE_REF").map(|branch| Change {
        base: format!("origin/{branch}"),
        describe: format!("GitHub Actions pull request into {branch}"),
    }))
}

fn event_name<'a>(event: &'a str, default: &'a str) -> &'a str {
    if event.is_empty() {
        default
    } else {
        event
    }
}

fn gitlab(env: &CiEnv) -> Option<Change> {
    if let Some(base) = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") {
        let iid = env
            .get("CI_MERGE_REQUEST_IID")
            .map(|n| format!(" !{n}"))
            .unwrap_or_default();
        return Some(Change {
            base: base.to_string(),
            describe: format!("GitLab CI merge request{iid}"),
        });
    }
    env.get("CI_COMMIT_BEFORE_SHA")
        .filter(|b| !null_sha(b))
        .map(|before| Change {
            base: before.to_string(),
            describe: "GitLab CI push".to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_ci_there_is_no_change() {
        assert_eq!(change_under_review(&CiEnv::default()).unwrap(), None);
    }

    #[test]
    fn gitlab_merge_request_then_push_then_nothing() {
        let mr = CiEnv::from_pairs([
            ("GITLAB_CI", "true"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "abc123"),
            ("CI_MERGE_REQUEST_IID", "7"),
            (
                "CI_COMMIT_BEFORE_SHA",
                "0000000000000000000000000000000000000000",
            ),
        ]);
        let change = change_under_review(&mr).unwrap().unwrap();
        assert_eq!(change.range(), "abc123..HEAD");
        assert_eq!(change.describe, "GitLab CI merge request !7");
        let push = CiEnv::from_pairs([("GITLAB_CI", "true"), ("CI_COMMIT_BEFORE_SHA", "def456")]);
        assert_eq!(change_under_review(&push).unwrap().unwrap().base, "def456");
        let first = CiEnv::from_pairs([
            ("GITLAB_CI", "true"),
            (
                "CI_COMMIT_BEFORE_SHA",
                "0000000000000000000000000000000000000000",
            ),
        ]);
        assert_eq!(change_under_review(&first).unwrap(), None);
    }

    #[test]
    fn github_base_ref_without_a_payload() {
        let env = CiEnv::from_pairs([("GITHUB_ACTIONS", "true"), ("GITHUB_BASE_REF", "main")]);
        assert_eq!(
            change_under_review(&env).unwrap().unwrap().range(),
            "origin/main..HEAD"
        );
    }

    #[test]
    fn an_unreadable_payload_is_named() {
        let env = CiEnv::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
        ]);
        let err = change_under_review(&env).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/event.json"), "{err}");
    }
}
