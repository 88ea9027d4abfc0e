//! Render's wire types, as the API (and the Render CLI's `-o json`) really send them, and their
//! conversion into the evidence model.
//!
//! Almost every field is optional in Render's schema, so almost every field here is an
//! `Option`: a missing field is a gap in the evidence, never a parse failure.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::evidence::{Deploy, DeployCommit, DeployStatus, Event, FailureReason, LogLine, Service};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireService {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub dashboard_url: Option<String>,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub service_details: Option<ServiceDetails>,
    /// `"suspended"` or `"not_suspended"`.
    #[serde(default)]
    pub suspended: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDetails {
    #[serde(default)]
    pub runtime: Option<String>,
    /// Older name of `runtime`, still sent alongside it.
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub health_check_path: Option<String>,
    #[serde(default)]
    pub env_specific_details: Option<EnvSpecificDetails>,
}

/// Either the Docker variant (`dockerCommand`) or the native one (`startCommand`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvSpecificDetails {
    #[serde(default)]
    pub docker_command: Option<String>,
    #[serde(default)]
    pub start_command: Option<String>,
    #[serde(default)]
    pub pre_deploy_command: Option<String>,
}

impl WireService {
    pub fn into_evidence(self) -> Service {
        let details = self.service_details.unwrap_or_default();
        let env_details = details.env_specific_details.unwrap_or_default();
        Service {
            id: self.id,
            name: self.name,
            owner_id: self.owner_id,
            kind: self.kind,
            dashboard_url: self.dashboard_url,
            url: details.url,
            repo: self.repo,
            branch: self.branch,
            runtime: details.runtime.or(details.env),
            pre_deploy_command: non_empty(env_details.pre_deploy_command),
            start_command: non_empty(env_details.start_command)
                .or(non_empty(env_details.docker_command)),
            health_check_path: non_empty(details.health_check_path),
            suspended: self.suspended.as_deref() == Some("suspended"),
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDeploy {
    pub id: String,
    #[serde(default)]
    pub commit: Option<WireCommit>,
    #[serde(default)]
    pub image: Option<WireImage>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub trigger: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCommit {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireImage {
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    #[serde(default)]
    pub sha: Option<String>,
}

impl WireDeploy {
    pub fn into_evidence(self, redactions: &mut BTreeMap<String, u32>) -> Deploy {
        let status = match self.status {
            Some(s) => parse_status(&s),
            None => DeployStatus::Other("unknown".to_string()),
        };
        let commit = self.commit.and_then(|c| {
            c.id.map(|sha| DeployCommit {
                sha,
                message: c.message.map(|m| crate::redact::redact(&m, redactions)),
                created_at: c.created_at,
            })
        });
        let image = self.image.and_then(|i| match (i.reference, i.sha) {
            (Some(r), Some(sha)) => Some(format!("{r}@{sha}")),
            (Some(r), None) => Some(r),
            (None, sha) => sha,
        });
        Deploy {
            id: self.id,
            status,
            trigger: self.trigger,
            commit,
            image,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            updated_at: self.updated_at,
            failure: None,
        }
    }
}

/// Render's status string into the enum; a value Render adds later is kept as `Other`.
pub fn parse_status(s: &str) -> DeployStatus {
    serde_json::from_value(Value::String(s.to_string()))
        .unwrap_or_else(|_| DeployStatus::Other(s.to_string()))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub details: Value,
}

impl WireEvent {
    /// Interprets the event types whose details say how a deploy ended; every other type is
    /// kept whole in `details`, because Render's list of event types keeps growing.
    pub fn into_evidence(self) -> Event {
        let details = self.details;
        let text = |key: &str| details.get(key).and_then(Value::as_str).map(str::to_string);
        let (status, failure) = match self.kind.as_str() {
            "build_ended" => (text("buildStatus"), pipeline_failure(&details)),
            "deploy_ended" => (text("deployStatus"), pipeline_failure(&details)),
            "pre_deploy_ended" => (text("preDeployStatus"), pipeline_failure(&details)),
            "server_failed" | "job_run_ended" | "cron_job_run_ended" => (
                text("status"),
                details.get("reason").and_then(parse_failure_reason),
            ),
            _ => (None, None),
        };
        Event {
            id: self.id,
            timestamp: self.timestamp,
            deploy_id: text("deployId"),
            build_id: text("buildId"),
            kind: self.kind,
            status,
            failure,
            details,
        }
    }
}

/// `details.reason.failure` of the `*_ended` events (`BuildDeployEndReason.failure`).
fn pipeline_failure(details: &Value) -> Option<FailureReason> {
    details
        .get("reason")
        .and_then(|r| r.get("failure"))
        .and_then(parse_failure_reason)
}

/// Render's `FailureReason`, read field by field so that one odd field never loses the others.
pub fn parse_failure_reason(v: &Value) -> Option<FailureReason> {
    let obj = v.as_object()?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let reason = FailureReason {
        evicted: obj.get("evicted").and_then(Value::as_bool).unwrap_or(false),
        non_zero_exit: obj.get("nonZeroExit").and_then(Value::as_i64),
        early_exit: obj.get("earlyExit").and_then(Value::as_bool),
        oom_killed_memory_limit: obj
            .get("oomKilled")
            .and_then(|o| o.get("memoryLimit"))
            .and_then(Value::as_str)
            .map(str::to_string),
        timed_out_seconds: obj.get("timedOutSeconds").and_then(Value::as_i64),
        timed_out_reason: text("timedOutReason"),
        unhealthy: text("unhealthy"),
        eviction_reason: text("evictionReason"),
    };
    if reason == FailureReason::default() {
        None
    } else {
        Some(reason)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsPage {
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub next_start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub logs: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireLog {
    pub id: String,
    #[serde(default)]
    pub message: String,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub labels: Vec<WireLabel>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireLabel {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

impl WireLog {
    /// Strips ANSI escapes, then redacts, before the message is stored anywhere.
    pub fn into_evidence(self, redactions: &mut BTreeMap<String, u32>) -> LogLine {
        let plain = strip_ansi(&self.message);
        LogLine {
            id: self.id,
            timestamp: self.timestamp,
            message: crate::redact::redact(&plain, redactions),
            deploy_id: None,
            labels: self.labels.into_iter().map(|l| (l.name, l.value)).collect(),
        }
    }
}

/// Removes terminal escape sequences (colours, cursor moves, OSC titles and links) that
/// Render keeps in log messages.
pub fn strip_ansi(text: &str) -> String {
    if !text.contains('\u{1b}') && !text.contains('\u{9b}') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']') => {
                    chars.next();
                    skip_osc(&mut chars);
                }
                // Two-character escapes (ESC c, ESC 7, ESC (B ...): drop the next char.
                Some(&n) if ('\u{20}'..='\u{7e}').contains(&n) => {
                    chars.next();
                    if matches!(n, '(' | ')' | '*' | '+') {
                        chars.next();
                    }
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            _ => out.push(c),
        }
    }
    out
}

/// CSI: parameter and intermediate bytes up to one final byte in `@`..=`~`.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC: up to BEL or ST (`ESC \`).
fn skip_osc(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        if c == '\u{7}' {
            break;
        }
        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
            chars.next();
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_colours_cursor_moves_and_links() {
        let raw = "\u{1b}[1;31mERROR\u{1b}[0m \u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\ done\u{1b}[2K";
        assert_eq!(strip_ansi(raw), "ERROR link done");
        assert_eq!(strip_ansi("plain ==> text"), "plain ==> text");
    }

    #[test]
    fn reads_every_failure_reason_field() {
        let r = parse_failure_reason(&json!({
            "evicted": true, "nonZeroExit": 137, "earlyExit": true,
            "oomKilled": {"memoryLimit": "2Gi"}, "timedOutSeconds": 900,
            "timedOutReason": "start", "unhealthy": "GET /health 503", "evictionReason": "node"
        }))
        .unwrap();
        assert!(r.evicted);
        assert_eq!(r.non_zero_exit, Some(137));
        assert_eq!(r.early_exit, Some(true));
        assert_eq!(r.oom_killed_memory_limit.as_deref(), Some("2Gi"));
        assert_eq!(r.timed_out_seconds, Some(900));
        assert_eq!(r.unhealthy.as_deref(), Some("GET /health 503"));
        assert_eq!(r.eviction_reason.as_deref(), Some("node"));
        assert_eq!(parse_failure_reason(&json!({})), None);
    }

    #[test]
    fn a_suspended_service_is_said_so() {
        let service = |state: &str| {
            serde_json::from_value::<WireService>(json!({"id": "srv-a", "suspended": state}))
                .unwrap()
                .into_evidence()
        };
        assert!(service("suspended").suspended);
        assert!(!service("not_suspended").suspended);
    }

    #[test]
    fn unknown_status_is_kept() {
        assert_eq!(parse_status("update_failed"), DeployStatus::UpdateFailed);
        assert_eq!(
            parse_status("build_canceled"),
            DeployStatus::Other("build_canceled".into())
        );
    }
}
