//! How a streak ended, and what users saw meanwhile.
//!
//! Recovery: a deploy that goes live after the failures either carries the failed commits (a
//! fix: resolved) or does not (a rollback or a deploy of an older commit: mitigated, the fault
//! is still on the branch). Impact: Render keeps the last live deploy serving when a new one
//! fails, so the service stays up unless nothing was live or a running instance failed outside
//! the failed deploys (`server_failed` with no later `server_available`).

use std::collections::HashSet;

use crate::analyze::causes::cite;
use crate::analyze::correlate::{deploy_time, same_sha, short_sha, ShaIndex};
use crate::analyze::{CommitRange, Impact, Recovery, Streak};
use crate::evidence::{Commit, Deploy, Evidence};

fn sha_of(deploy: &Deploy) -> Option<&str> {
    deploy.commit.as_ref().map(|c| c.sha.as_str())
}

/// Whether `descendant` has `ancestor` in its history, as far as the evidence's commits tell;
/// `None` when the evidence does not hold `descendant`.
fn contains(evidence: &Evidence, descendant: &str, ancestor: &str) -> Option<bool> {
    // Indexed once: the walk can cross every commit of a 200,000-commit range, and a scan per
    // parent made it quadratic (50,000 commits: 12.6 s).
    let index = ShaIndex::new(&evidence.commits);
    let find = |sha: &str| index.find(sha);
    let tip: &Commit = find(descendant)?;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![tip];
    while let Some(c) = stack.pop() {
        if same_sha(&c.sha, ancestor) {
            return Some(true);
        }
        if !seen.insert(c.sha.as_str()) {
            continue;
        }
        stack.extend(c.parents.iter().filter_map(|p| find(p)));
    }
    Some(false)
}

/// The deploy a rollback brought back, from its `deploy_started` event's trigger.
fn rollback_target(evidence: &Evidence, deploy: &Deploy) -> (bool, Option<String>) {
    let mut is_rollback = deploy.trigger.as_deref() == Some("rollback");
    let mut target = None;
    for event in evidence
        .events
        .iter()
        .filter(|e| e.deploy_id.as_deref() == Some(deploy.id.as_str()))
    {
        let trigger = event.details.get("trigger");
        if trigger
            .and_then(|t| t.get("rollback"))
            .and_then(|r| r.as_bool())
            == Some(true)
        {
            is_rollback = true;
        }
        if let Some(id) = trigger
            .and_then(|t| t.get("rollbackTargetDeployId"))
            .and_then(|v| v.as_str())
        {
            target = Some(id.to_string());
        }
    }
    (is_rollback, target)
}

/// How the streak ended.
pub fn recovery(evidence: &Evidence, streak: &Streak, range: Option<&CommitRange>) -> Recovery {
    let Some(deploy) = streak
        .recovered_by
        .as_deref()
        .and_then(|id| evidence.deploy(id))
    else {
        let last = streak.last_failed.clone();
        return Recovery {
            status: "failing".to_string(),
            deploy: None,
            commit: None,
            target_deploy: None,
            text: format!(
                "Still failing: no deploy has gone live since the failures began; the newest, {last}, failed."
            ),
            evidence: vec![cite("newest failed deploy", last)],
        };
    };
    let sha = sha_of(deploy).map(str::to_string);
    let mut evidence_list = vec![cite(
        format!(
            "{}, trigger {}",
            deploy.status.as_str(),
            deploy.trigger.as_deref().unwrap_or("unknown")
        ),
        deploy.id.clone(),
    )];
    let (is_rollback, target) = rollback_target(evidence, deploy);
    let first_bad = range
        .map(|r| r.first_bad.as_str())
        .or_else(|| evidence.deploy(&streak.first_failed).and_then(sha_of));
    let last_good_sha = streak
        .last_good
        .as_deref()
        .and_then(|id| evidence.deploy(id))
        .and_then(sha_of);
    // Does the recovering deploy carry the first failed commit? Without its history, only the
    // last good deploy's commit is known not to; any other commit may be a fix or older code.
    let carries_fault = match (&sha, first_bad) {
        (Some(s), Some(bad)) => contains(evidence, s, bad).or_else(|| {
            last_good_sha
                .filter(|good| same_sha(s, good))
                .map(|_| false)
        }),
        _ => None,
    };
    let when = deploy
        .finished_at
        .or(deploy_time(deploy))
        .map(|t| format!(" at {} UTC", t.format("%Y-%m-%d %H:%M:%S")))
        .unwrap_or_default();
    let commit_text = sha
        .as_deref()
        .map(|s| format!(" (commit {})", short_sha(s)))
        .unwrap_or_default();
    let fault = first_bad
        .map(|b| format!(" (from commit {} on)", short_sha(b)))
        .unwrap_or_default();
    if is_rollback || carries_fault == Some(false) {
        if let Some(t) = &target {
            evidence_list.push(cite(format!("rollback target {t}"), deploy.id.clone()));
        }
        let how = if is_rollback {
            format!(
                "rollback {}{}{commit_text}",
                deploy.id,
                target
                    .as_deref()
                    .map(|t| format!(" to {t}"))
                    .unwrap_or_default()
            )
        } else {
            format!(
                "{} deploy {}{commit_text} of an older commit",
                deploy.trigger.as_deref().unwrap_or("a"),
                deploy.id
            )
        };
        return Recovery {
            status: "mitigated".to_string(),
            deploy: Some(deploy.id.clone()),
            commit: sha,
            target_deploy: target,
            text: format!(
                "Mitigated, not resolved: {how} went live{when}. The fault is still on the branch{fault}: the next deploy of it fails the same way until it is fixed."
            ),
            evidence: evidence_list,
        };
    }
    let subject = sha
        .as_deref()
        .and_then(|s| evidence.commits.iter().find(|c| same_sha(&c.sha, s)))
        .map(|c| format!(" \"{}\"", c.summary))
        .unwrap_or_default();
    if carries_fault != Some(true) {
        return Recovery {
            status: "recovered".to_string(),
            deploy: Some(deploy.id.clone()),
            commit: sha,
            target_deploy: None,
            text: format!(
                "Live again: deploy {}{commit_text}{subject} went live{when}. The history read does not show whether it carries the failed commits{fault}: it may be a fix, or older code with the fault still on the branch.",
                deploy.id
            ),
            evidence: evidence_list,
        };
    }
    Recovery {
        status: "resolved".to_string(),
        deploy: Some(deploy.id.clone()),
        commit: sha.clone(),
        target_deploy: None,
        text: format!(
            "Resolved by a fix: deploy {}{commit_text}{subject} went live{when}.",
            deploy.id
        ),
        evidence: evidence_list,
    }
}

/// Whether users were served while deploys failed.
pub fn impact(evidence: &Evidence, streak: &Streak) -> Impact {
    let failed: Vec<&Deploy> = streak
        .deploys
        .iter()
        .filter_map(|id| evidence.deploy(id))
        .collect();
    let windows: Vec<(
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
    )> = failed
        .iter()
        .filter_map(|d| Some((d.started_at.or(d.created_at)?, d.finished_at)))
        .collect();
    let start = streak.first_failed_at;
    let end = streak
        .recovered_by
        .as_deref()
        .and_then(|id| evidence.deploy(id))
        .and_then(|d| d.finished_at.or(deploy_time(d)));
    let in_incident = |t: chrono::DateTime<chrono::Utc>| {
        start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e)
    };
    // An instance failing outside every failed deploy's own run is a running instance: the
    // one that was serving.
    let outside = |t: chrono::DateTime<chrono::Utc>| {
        !windows
            .iter()
            .any(|(s, f)| t >= *s && f.is_none_or(|f| t <= f))
    };
    let mut events: Vec<&crate::evidence::Event> = evidence
        .events
        .iter()
        .filter(|e| in_incident(e.timestamp))
        .collect();
    events.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
    let running_failed = events
        .iter()
        .find(|e| e.kind == "server_failed" && outside(e.timestamp))
        .copied();
    // A suspended service serves nothing, whatever its deploys did.
    let suspended_event = events
        .iter()
        .rev()
        .find(|e| e.kind == "service_suspended" || e.kind == "service_resumed")
        .filter(|e| e.kind == "service_suspended")
        .copied();
    if suspended_event.is_some() || evidence.service.suspended {
        let (text, evidence_list) = match suspended_event {
            Some(e) => (
                format!(
                    "The service was suspended at {} UTC ({}) and no service_resumed event follows: nothing was serving.",
                    e.timestamp.format("%Y-%m-%d %H:%M:%S"),
                    e.id
                ),
                vec![cite("service_suspended", e.id.clone())],
            ),
            None => (
                format!(
                    "The service {} was suspended when the evidence was collected: nothing was serving.",
                    evidence.service.id
                ),
                vec![cite("service state: suspended", evidence.service.id.clone())],
            ),
        };
        return Impact {
            state: "down".to_string(),
            text,
            evidence: evidence_list,
        };
    }
    if let Some(failed_event) = running_failed {
        let back = events
            .iter()
            .find(|e| e.kind == "server_available" && e.timestamp > failed_event.timestamp);
        let mut evidence_list = vec![cite(
            format!(
                "server_failed at {} UTC, outside any failed deploy",
                failed_event.timestamp.format("%Y-%m-%d %H:%M:%S")
            ),
            failed_event.id.clone(),
        )];
        let text = match back {
            Some(b) => {
                evidence_list.push(cite("server_available", b.id.clone()));
                format!(
                    "The running instance failed at {} UTC ({}) and the service was down until {} UTC ({}).",
                    failed_event.timestamp.format("%Y-%m-%d %H:%M:%S"),
                    failed_event.id,
                    b.timestamp.format("%Y-%m-%d %H:%M:%S"),
                    b.id
                )
            }
            None => format!(
                "The running instance failed at {} UTC ({}) and no server_available event follows: the service was down.",
                failed_event.timestamp.format("%Y-%m-%d %H:%M:%S"),
                failed_event.id
            ),
        };
        return Impact {
            state: "down".to_string(),
            text,
            evidence: evidence_list,
        };
    }
    match streak.last_good.as_deref().and_then(|id| evidence.deploy(id)) {
        Some(good) => {
            let commit = sha_of(good)
                .map(|s| format!(" (commit {})", short_sha(s)))
                .unwrap_or_default();
            let events_note = if evidence.events.is_empty() {
                "; no events were collected, so an instance failure would not show here"
            } else {
                "; no server_failed event outside the failed deploys"
            };
            Impact {
                state: "previous_deploy_serving".to_string(),
                text: format!(
                    "Users kept being served by the previous deploy {}{commit}: a failed Render deploy leaves the live one running, so new deploys were blocked, not the service{events_note}.",
                    good.id
                ),
                evidence: vec![cite(
                    format!("last good deploy, status {}", good.status.as_str()),
                    good.id.clone(),
                )],
            }
        }
        None => Impact {
            state: "unknown".to_string(),
            text: "No earlier deploy in the evidence went live, so whether anything was serving is not known.".to_string(),
            evidence: Vec::new(),
        },
    }
}
