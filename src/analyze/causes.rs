//! Failure classification per deploy, and root-cause candidates ranked with their evidence.
//!
//! A migration failure is only blamed when the logs show one or a static finding predicts one
//! for a deploy that failed where migrations run; an OOM kill, a failed health check, a build
//! error or a timeout is reported as what it is.

use std::collections::BTreeMap;

use crate::analyze::correlate::short_sha;
use crate::analyze::migration_cause::{location_of, migration_cause, predicting_findings};
use crate::analyze::{Citation, CommitRange, DeployClassification, LogFailure, RootCause, Streak};
use crate::deploylog::{
    error_line, is_migration_failure, migration_failures_by_revision, pipeline_kind,
    shows_real_error,
};
use crate::evidence::{Deploy, DeployStatus, Event, Evidence, FailureReason, Phase};

pub(crate) fn cite(text: impl Into<String>, source: impl Into<String>) -> Citation {
    Citation {
        text: text.into(),
        source: source.into(),
    }
}

/// `log 2025-11-10T15:47:12.345Z`: how a log line is cited.
pub fn log_source(failure: &LogFailure) -> String {
    match failure.timestamp {
        Some(ts) => format!(
            "log {}",
            ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        ),
        None => format!("log {}", failure.log_id),
    }
}

pub(crate) fn events_of<'a>(evidence: &'a Evidence, deploy: &Deploy) -> Vec<&'a Event> {
    evidence
        .events
        .iter()
        .filter(|e| e.deploy_id.as_deref() == Some(deploy.id.as_str()))
        .collect()
}

/// `deploy_ended: failed, nonZeroExit 1`.
pub fn describe_event(event: &Event) -> String {
    let mut text = event.kind.clone();
    if let Some(status) = &event.status {
        text.push_str(&format!(": {status}"));
    }
    if let Some(reason) = &event.failure {
        let parts = describe_reason(reason);
        if !parts.is_empty() {
            text.push_str(&format!(", {parts}"));
        }
    }
    text
}

pub(crate) fn describe_reason(reason: &FailureReason) -> String {
    let mut parts = Vec::new();
    if let Some(code) = reason.non_zero_exit {
        parts.push(format!("nonZeroExit {code}"));
    }
    if let Some(limit) = &reason.oom_killed_memory_limit {
        parts.push(format!("OOM killed at {limit}"));
    }
    if let Some(secs) = reason.timed_out_seconds {
        parts.push(format!("timed out after {secs}s"));
    }
    if let Some(why) = &reason.timed_out_reason {
        parts.push(format!("timeout: {why}"));
    }
    if let Some(why) = &reason.unhealthy {
        parts.push(format!("unhealthy: {why}"));
    }
    if reason.evicted {
        parts.push("evicted".to_string());
    }
    if reason.early_exit == Some(true) {
        parts.push("early exit".to_string());
    }
    parts.join(", ")
}

fn superseded_by(event: &Event) -> Option<String> {
    let reason = event.details.get("reason")?;
    ["newDeploy", "newBuild"]
        .iter()
        .find_map(|k| reason.get(k)?.get("id")?.as_str().map(str::to_string))
}

/// How one deploy failed, from its status, its events and what its logs show; `None` for a
/// deploy that did not fail and was not canceled.
pub fn classify(
    evidence: &Evidence,
    deploy: &Deploy,
    log: Option<&LogFailure>,
) -> Option<DeployClassification> {
    let failed = deploy.status.is_failure();
    let canceled = deploy.status == DeployStatus::Canceled;
    if !failed && !canceled {
        return None;
    }
    let events = events_of(evidence, deploy);
    let mut evidence_list = vec![cite(
        format!("status {}", deploy.status.as_str()),
        deploy.id.clone(),
    )];
    if canceled {
        let newer = events
            .iter()
            .find_map(|e| superseded_by(e).map(|id| (e, id)));
        let kind = match &newer {
            Some((event, id)) => {
                evidence_list.push(cite(format!("superseded by {id}"), event.id.clone()));
                "superseded"
            }
            None => "canceled",
        };
        return Some(DeployClassification {
            deploy_id: deploy.id.clone(),
            kind: kind.to_string(),
            exit_code: None,
            migration: false,
            evidence: evidence_list,
        });
    }

    let mut reasons: Vec<&FailureReason> = Vec::new();
    if let Some(reason) = deploy.failure.as_ref().and_then(|f| f.reason.as_ref()) {
        reasons.push(reason);
    }
    for event in &events {
        let is_failure = event.failure.is_some() || event.status.as_deref() == Some("failed");
        if is_failure {
            if let Some(reason) = &event.failure {
                reasons.push(reason);
            }
            if !evidence_list.iter().any(|c| c.source == event.id) {
                evidence_list.push(cite(describe_event(event), event.id.clone()));
            }
        }
    }
    if let Some(id) = deploy.failure.as_ref().and_then(|f| f.event_id.as_ref()) {
        if !evidence_list.iter().any(|c| &c.source == id) {
            evidence_list.push(cite("failure event", id.clone()));
        }
    }
    let pipeline = log
        .and_then(|l| l.pipeline_error.as_deref())
        .and_then(pipeline_kind);
    let phase = deploy.failure.as_ref().map(|f| f.phase);

    // A failed request to the health-check path in the logs says why a start timed out.
    let health_in_logs = log.and_then(|l| l.error_class.as_deref()) == Some("health_check");
    let kind =
        if reasons.iter().any(|r| r.oom_killed_memory_limit.is_some()) || pipeline == Some("oom") {
            "oom"
        } else if health_in_logs {
            "health_check"
        } else if reasons
            .iter()
            .any(|r| r.timed_out_seconds.is_some() || r.timed_out_reason.is_some())
            || pipeline == Some("timeout")
        {
            "timeout"
        } else if reasons.iter().any(|r| r.unhealthy.is_some())
            || pipeline == Some("health_check")
            || phase == Some(Phase::HealthCheck)
        {
            "health_check"
        } else if deploy.status == DeployStatus::BuildFailed
            || phase == Some(Phase::Build)
            || pipeline == Some("build")
        {
            "build"
        } else if deploy.status == DeployStatus::PreDeployFailed
            || phase == Some(Phase::PreDeploy)
            || pipeline == Some("pre_deploy")
        {
            "pre_deploy"
        } else if deploy.status == DeployStatus::UpdateFailed || phase == Some(Phase::Start) {
            "start"
        } else {
            "unknown"
        };

    let exit_code = deploy
        .failure
        .as_ref()
        .and_then(|f| f.exit_code)
        .or_else(|| reasons.iter().find_map(|r| r.non_zero_exit))
        .or_else(|| log.and_then(|l| l.exit_code));
    if let Some(log) = log {
        // Render's closing line is context: cited as what Render said, not as the error.
        let text = if shows_real_error(log) {
            log_summary(log)
        } else {
            format!("Render's closing line: {}", log_summary(log))
        };
        evidence_list.push(cite(text, log_source(log)));
    }
    Some(DeployClassification {
        deploy_id: deploy.id.clone(),
        kind: kind.to_string(),
        exit_code,
        migration: log.is_some_and(is_migration_failure),
        evidence: evidence_list,
    })
}

/// One line saying what a log failure shows: the error, else Alembic's complaint, else the
/// pipeline's line, else the exit code.
pub fn log_summary(log: &LogFailure) -> String {
    // A resolver's complaint or a failed request is only whole as the line itself.
    let verbatim = match log.error_class.as_deref() {
        Some("resolver" | "compile" | "health_check") => log.first_error.clone(),
        _ => None,
    };
    let error = verbatim
        .or_else(|| error_line(log))
        .or_else(|| log.first_error.clone())
        .or_else(|| log.pipeline_error.clone())
        .or_else(|| log.exit_code.map(|c| format!("exited with code {c}")))
        .unwrap_or_else(|| "failure".to_string());
    match &log.revision {
        Some(rev) if is_migration_failure(log) => format!("revision {rev}: {error}"),
        _ => error,
    }
}

/// Root-cause candidates, most likely first. `scope` limits them to the streak's deploys when
/// there is a streak.
pub fn root_causes(
    evidence: &Evidence,
    streak: Option<&Streak>,
    range: Option<&CommitRange>,
    classifications: &[DeployClassification],
    log_failures: &[LogFailure],
) -> Vec<RootCause> {
    let in_scope = |deploy_id: Option<&str>| match (streak, deploy_id) {
        (Some(s), Some(id)) => s.deploys.iter().any(|d| d == id),
        _ => true,
    };
    let classes: Vec<&DeployClassification> = classifications
        .iter()
        .filter(|c| in_scope(Some(&c.deploy_id)))
        .filter(|c| c.kind != "superseded" && c.kind != "canceled")
        .collect();
    let mut scored: Vec<(u32, RootCause)> = Vec::new();

    let groups = migration_failures_by_revision(
        log_failures
            .iter()
            .filter(|f| in_scope(f.deploy_id.as_deref())),
    );
    let mut explained_revisions = Vec::new();
    for failures in groups.values() {
        let Some((score, cause)) = migration_cause(evidence, range, failures) else {
            continue;
        };
        if let Some(rev) = &cause.revision {
            explained_revisions.push(rev.clone());
        }
        scored.push((score, cause));
    }

    // Failures that are not a migration's, each reported as what it is.
    let labels: &[(&str, &str)] = &[
        ("oom", "killed for running out of memory"),
        ("timeout", "timed out"),
        ("health_check", "failed their health check"),
        ("build", "failed to build"),
    ];
    for (kind, what) in labels {
        let hits: Vec<&&DeployClassification> =
            classes.iter().filter(|c| c.kind == *kind).collect();
        if hits.is_empty() {
            continue;
        }
        let detail = reason_detail(evidence, kind, &hits, log_failures);
        let summary = format!(
            "{} deploy{} {what}{detail}",
            hits.len(),
            if hits.len() == 1 { "" } else { "s" },
        );
        let citations = hits
            .iter()
            .flat_map(|c| c.evidence.iter().cloned())
            .collect();
        scored.push((
            80 + hits.len() as u32,
            RootCause {
                rank: 0,
                kind: kind.to_string(),
                summary,
                revision: None,
                file: None,
                line: None,
                finding_rule: None,
                evidence: citations,
                suspect: None,
                unattributed: None,
                observed: true,
            },
        ));
    }

    // Migrations a static finding predicts will fail, for deploys that failed where migrations
    // run and whose logs do not already say why.
    let migration_capable = classes
        .iter()
        .any(|c| matches!(c.kind.as_str(), "start" | "pre_deploy" | "unknown"));
    if migration_capable || streak.is_none() {
        for finding in predicting_findings(evidence) {
            let Some(rev) = &finding.revision else {
                continue;
            };
            if explained_revisions.contains(rev) {
                continue;
            }
            let location = location_of(finding);
            let in_range = range.is_some_and(|r| {
                finding
                    .file
                    .as_ref()
                    .is_some_and(|f| r.migration_changes.iter().any(|m| &m.file == f))
            });
            let mut citations = vec![cite(
                format!(
                    "the analysis predicted this: {}: {}",
                    finding.rule, finding.message
                ),
                location.clone().unwrap_or_else(|| rev.clone()),
            )];
            if let Some(r) = range {
                for change in r
                    .migration_changes
                    .iter()
                    .filter(|m| Some(&m.file) == finding.file.as_ref())
                {
                    citations.push(cite(
                        format!("{:?} {}", change.change, change.file).to_lowercase(),
                        short_sha(&change.commit).to_string(),
                    ));
                }
            }
            scored.push((
                40 + if in_range { 10 } else { 0 },
                RootCause {
                    rank: 0,
                    kind: "migration".to_string(),
                    summary: format!(
                        "{} predicts that revision {rev} fails: {}; {}",
                        finding.rule,
                        finding.message,
                        if evidence.deploys.is_empty() {
                            "predicted from the migration files, not observed: there is no deploy data"
                        } else {
                            "predicted, not observed: the deploy logs do not show it"
                        }
                    ),
                    revision: Some(rev.clone()),
                    file: finding.file.clone(),
                    line: finding.line,
                    finding_rule: Some(finding.rule.clone()),
                    evidence: citations,
                    suspect: None,
                    unattributed: None,
                    observed: false,
                },
            ));
        }
    }

    // Deploys that exited during start or pre-deploy with nothing in the logs to say why.
    for kind in ["start", "pre_deploy", "unknown"] {
        let hits: Vec<&&DeployClassification> = classes
            .iter()
            .filter(|c| c.kind == kind && !c.migration)
            .collect();
        if hits.is_empty() {
            continue;
        }
        let codes: BTreeMap<i64, usize> =
            hits.iter()
                .filter_map(|c| c.exit_code)
                .fold(BTreeMap::new(), |mut m, code| {
                    *m.entry(code).or_insert(0) += 1;
                    m
                });
        let code_text = match codes.keys().collect::<Vec<_>>().as_slice() {
            [] => String::new(),
            [one] => format!(" with exit code {one}"),
            many => format!(
                " with exit codes {}",
                many.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let where_ = match kind {
            "start" => "during start (the start command or Docker entrypoint)",
            "pre_deploy" => "during the pre-deploy command",
            _ => "at an unknown stage",
        };
        let why = hits
            .iter()
            .find_map(|c| {
                log_failures
                    .iter()
                    .find(|f| f.deploy_id.as_deref() == Some(c.deploy_id.as_str()))
            })
            .filter(|f| shows_real_error(f))
            .map(|f| {
                let at = f
                    .app_file
                    .as_deref()
                    .map(|file| {
                        let file = crate::analyze::attribution::repo_path(evidence, file)
                            .unwrap_or_else(|| file.to_string());
                        match f.app_line {
                            Some(n) => format!(" at {file}:{n}"),
                            None => format!(" in {file}"),
                        }
                    })
                    .unwrap_or_default();
                let meaning = match (&f.env_var, &f.missing_module) {
                    (Some(var), _) => format!(": the environment variable {var} is not set"),
                    (None, Some(module)) => format!(": {module} is not installed"),
                    _ => String::new(),
                };
                format!(": the logs show {}{at}{meaning}", log_summary(f))
            })
            .unwrap_or_else(|| "; the logs do not say why".to_string());
        scored.push((
            30 + hits.len() as u32,
            RootCause {
                rank: 0,
                kind: kind.to_string(),
                summary: format!(
                    "{} deploy{} failed {where_}{code_text}{why}",
                    hits.len(),
                    if hits.len() == 1 { "" } else { "s" }
                ),
                revision: None,
                file: None,
                line: None,
                finding_rule: None,
                evidence: hits
                    .iter()
                    .flat_map(|c| c.evidence.iter().cloned())
                    .collect(),
                suspect: None,
                unattributed: None,
                observed: true,
            },
        ));
    }

    // Equal scores: the revision that runs first wins, because the first revision that fails
    // stops `alembic upgrade` and the later ones never run.
    let order = |c: &RootCause| {
        c.revision
            .as_deref()
            .and_then(|r| upgrade_position(evidence, r))
            .unwrap_or((usize::MAX, usize::MAX))
    };
    scored.sort_by(|(sa, a), (sb, b)| {
        sb.cmp(sa)
            .then_with(|| order(a).cmp(&order(b)))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.summary.cmp(&b.summary))
    });
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut cause))| {
            cause.rank = i as u32 + 1;
            cause
        })
        .collect()
}

/// Where a revision runs in `alembic upgrade head`: its migration set, and its distance from
/// the set's base.
fn upgrade_position(evidence: &Evidence, revision: &str) -> Option<(usize, usize)> {
    evidence
        .migration_sets
        .iter()
        .enumerate()
        .find_map(|(i, set)| Some((i, set.upgrade_depth(revision)?)))
}

/// What the events or logs say about an OOM, a timeout or a health check, for the summary.
fn reason_detail(
    evidence: &Evidence,
    kind: &str,
    hits: &[&&DeployClassification],
    log_failures: &[LogFailure],
) -> String {
    let reasons: Vec<&FailureReason> = hits
        .iter()
        .filter_map(|c| evidence.deploy(&c.deploy_id))
        .flat_map(|d| {
            let own = d.failure.as_ref().and_then(|f| f.reason.as_ref());
            let from_events = events_of(evidence, d)
                .into_iter()
                .filter_map(|e| e.failure.as_ref());
            own.into_iter().chain(from_events).collect::<Vec<_>>()
        })
        .collect();
    let from_reason = match kind {
        "oom" => reasons
            .iter()
            .find_map(|r| r.oom_killed_memory_limit.as_ref())
            .map(|l| format!(" (memory limit {l})")),
        "timeout" => reasons.iter().find_map(|r| {
            r.timed_out_seconds
                .map(|s| format!(" after {s}s"))
                .or_else(|| r.timed_out_reason.as_ref().map(|t| format!(": {t}")))
        }),
        "health_check" => {
            // The first time the logs show it.
            let request = log_failures
                .iter()
                .filter(|f| {
                    f.request_path.is_some()
                        && hits
                            .iter()
                            .any(|c| f.deploy_id.as_deref() == Some(c.deploy_id.as_str()))
                })
                .min_by(|a, b| {
                    a.timestamp
                        .cmp(&b.timestamp)
                        .then_with(|| a.log_id.cmp(&b.log_id))
                });
            let timeout = reasons
                .iter()
                .find_map(|r| r.timed_out_seconds)
                .map(|s| format!(", until the deploy timed out after {s}s"))
                .unwrap_or_default();
            match request {
                Some(f) => Some(format!(
                    ": the health-check path `{}` answered {} ({}){timeout}",
                    f.request_path.as_deref().unwrap_or_default(),
                    f.request_status.unwrap_or_default(),
                    log_source(f)
                )),
                None => reasons
                    .iter()
                    .find_map(|r| r.unhealthy.as_ref())
                    .map(|u| format!(": {u}")),
            }
        }
        _ => None,
    };
    from_reason
        .or_else(|| {
            hits.iter().find_map(|c| {
                log_failures
                    .iter()
                    .find(|f| f.deploy_id.as_deref() == Some(c.deploy_id.as_str()))
                    .filter(|f| shows_real_error(f))
                    .map(|f| format!(": the logs show {}", log_summary(f)))
            })
        })
        .unwrap_or_default()
}
