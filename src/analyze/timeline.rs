//! The incident timeline: deploys, events, commits, migration changes, the first log error and
//! the human status updates, merged in one UTC sequence, each row citing its source.
//!
//! Inconsistent facts (a deploy that finishes before it starts, an event about a deploy from
//! before that deploy existed) are kept and flagged: hiding them would hide a clock or
//! collection problem the reader should know about.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::analyze::causes::{describe_event, describe_reason, log_source, log_summary};
use crate::analyze::correlate::{deploy_time, oldest_first, short_sha};
use crate::analyze::{CommitRange, IncidentDuration, LogFailure, Streak, TimelineEntry};
use crate::deploylog::shows_real_error;
use crate::evidence::{Deploy, Evidence};

fn entry(at: DateTime<Utc>, kind: &str, text: String, source: String) -> TimelineEntry {
    TimelineEntry {
        at,
        until: None,
        kind: kind.to_string(),
        text,
        source,
        also: Vec::new(),
        deploys: Vec::new(),
        flag: None,
    }
}

/// Deploys in a row that failed the same way become one timeline row from this many on.
const GROUP_FROM: usize = 2;

fn hm(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// What is wrong with a deploy's own timestamps, if anything.
pub fn deploy_ordering_flag(deploy: &Deploy) -> Option<String> {
    let mut problems = Vec::new();
    if let (Some(c), Some(s)) = (deploy.created_at, deploy.started_at) {
        if s < c {
            problems.push(format!("started {} before it was created {}", hm(s), hm(c)));
        }
    }
    let start = deploy.started_at.or(deploy.created_at);
    if let (Some(s), Some(f)) = (start, deploy.finished_at) {
        if f < s {
            problems.push(format!("finished {} before it started {}", hm(f), hm(s)));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn describe_deploy(deploy: &Deploy) -> String {
    let commit = deploy
        .commit
        .as_ref()
        .map(|c| {
            let subject = c
                .message
                .as_deref()
                .and_then(|m| m.lines().next())
                .map(|m| format!(" \"{m}\""))
                .unwrap_or_default();
            format!(" (commit {}{subject})", short_sha(&c.sha))
        })
        .unwrap_or_default();
    // A deploy that went live is placed at the time it went live (see `outcome_time`); the
    // other end of its span is then its creation.
    let finished = match (outcome_time(deploy), deploy.created_at) {
        (Some(_), Some(c)) => format!(", created {}", c.format("%H:%M:%S")),
        _ => deploy
            .finished_at
            .map(|f| format!(", finished {}", f.format("%H:%M:%S")))
            .unwrap_or_default(),
    };
    format!("{}{commit}{finished}", describe_outcome(deploy))
}

/// How a deploy ended, without its commit: `deploy update failed at start, exit 1`. Two
/// failures that read the same here (and whose logs show the same error) failed the same way.
fn describe_outcome(deploy: &Deploy) -> String {
    let outcome = match deploy.status.as_str() {
        "live" => "went live".to_string(),
        "deactivated" => "succeeded (later superseded)".to_string(),
        other => other.replace('_', " "),
    };
    let failure = deploy
        .failure
        .as_ref()
        .map(|f| {
            let code = f
                .exit_code
                .map(|c| format!(", exit {c}"))
                .unwrap_or_default();
            // What the failure event said beyond the exit code (an OOM kill, a timeout).
            let why = f
                .reason
                .as_ref()
                .map(|r| {
                    describe_reason(&crate::evidence::FailureReason {
                        non_zero_exit: None,
                        ..r.clone()
                    })
                })
                .filter(|w| !w.is_empty())
                .map(|w| format!(", {w}"))
                .unwrap_or_default();
            format!(" at {}{code}{why}", f.phase.label())
        })
        .unwrap_or_default();
    // A rollback brings an old version back: saying so keeps it from reading as a fix.
    let what = if deploy.trigger.as_deref() == Some("rollback") {
        "rollback deploy"
    } else {
        "deploy"
    };
    format!("{what} {outcome}{failure}")
}

/// When a successful deploy went live: its finish, not its creation (a build and a start lie
/// between them). `None` for other deploys, which stay at their creation time.
fn outcome_time(deploy: &Deploy) -> Option<DateTime<Utc>> {
    match deploy.status.as_str() {
        "live" | "deactivated" => deploy.finished_at,
        _ => None,
    }
}

/// The timeline, sorted by time, then source, kind and text. With a streak it starts at the last
/// good deploy (or the first failure); without one it covers everything.
pub fn build(
    evidence: &Evidence,
    streak: Option<&Streak>,
    range: Option<&CommitRange>,
    log_failures: &[LogFailure],
) -> Vec<TimelineEntry> {
    let lower_id = streak.map(|s| {
        s.last_good
            .clone()
            .unwrap_or_else(|| s.first_failed.clone())
    });
    let ordered = oldest_first(&evidence.deploys);
    let start_index = lower_id
        .as_deref()
        .and_then(|id| ordered.iter().position(|d| d.id == id))
        .unwrap_or(0);
    let deploys = ordered.get(start_index..).unwrap_or_default();
    let lower = deploys.first().and_then(|d| deploy_time(d));

    // One row per deploy, holding its own failure events.
    let mut rows: Vec<TimelineEntry> = Vec::new();
    let mut row_of: HashMap<&str, usize> = HashMap::new();
    for deploy in deploys {
        let Some(at) = outcome_time(deploy).or_else(|| deploy_time(deploy)) else {
            continue;
        };
        let mut e = entry(at, "deploy", describe_deploy(deploy), deploy.id.clone());
        e.flag = deploy_ordering_flag(deploy);
        row_of.insert(deploy.id.as_str(), rows.len());
        rows.push(e);
    }

    let mut out = Vec::new();
    // Indexed once: a range can hold 200,000 commits, and the events as many deploys.
    let deploys_by_id: HashMap<&str, &Deploy> = evidence
        .deploys
        .iter()
        .map(|d| (d.id.as_str(), d))
        .collect();
    let deploy_of_event: HashMap<&str, &Deploy> = evidence
        .deploys
        .iter()
        .filter_map(|d| Some((d.failure.as_ref()?.event_id.as_deref()?, d)))
        .collect();
    for event in &evidence.events {
        if lower.is_some_and(|l| event.timestamp < l) {
            continue;
        }
        let failed = event.failure.is_some()
            || event.status.as_deref() == Some("failed")
            || event.kind.ends_with("_failed");
        if !failed {
            continue;
        }
        // A build's events name the build, not the deploy: the deploy whose failure was read
        // from the event owns it too.
        let deploy = event
            .deploy_id
            .as_deref()
            .and_then(|id| deploys_by_id.get(id).copied())
            .or_else(|| deploy_of_event.get(event.id.as_str()).copied());
        let flag = deploy.and_then(|deploy| {
            let created = deploy.created_at?;
            (event.timestamp < created).then(|| {
                format!(
                    "event at {} is before its deploy {} was created {}",
                    hm(event.timestamp),
                    deploy.id,
                    hm(created)
                )
            })
        });
        // A deploy's own event joins its row; the text grows only by what the deploy's
        // failure does not already say (it was read from that event when it names it).
        if let Some(row) = deploy.and_then(|d| row_of.get(d.id.as_str()).map(|r| (d, *r))) {
            let (deploy, index) = row;
            let e = &mut rows[index];
            e.also.push(event.id.clone());
            let told = deploy.failure.as_ref().and_then(|f| f.event_id.as_deref())
                == Some(event.id.as_str());
            if !told {
                e.text
                    .push_str(&format!("; event {}", describe_event(event)));
            }
            if let Some(flag) = flag {
                e.flag = Some(match e.flag.take() {
                    Some(old) => format!("{old}; {flag}"),
                    None => flag,
                });
            }
            continue;
        }
        let mut text = format!("event {}", describe_event(event));
        if let Some(id) = &event.deploy_id {
            text.push_str(&format!(" for {id}"));
        }
        let mut e = entry(event.timestamp, "event", text, event.id.clone());
        e.flag = flag;
        out.push(e);
    }

    let (grouped, absorbed) = group_same_failures(deploys, rows, log_failures);
    out.extend(grouped);

    if let Some(range) = range {
        let commits: HashMap<&str, &crate::evidence::Commit> = evidence
            .commits
            .iter()
            .map(|c| (c.sha.as_str(), c))
            .collect();
        let mut changes: HashMap<&str, Vec<_>> = HashMap::new();
        for change in &range.migration_changes {
            changes
                .entry(change.commit.as_str())
                .or_default()
                .push(change);
        }
        for sha in &range.commits {
            let Some(commit) = commits.get(sha.as_str()).copied() else {
                continue;
            };
            let first_bad = super::correlate::same_sha(sha, &range.first_bad);
            let migrations = changes.get(sha.as_str()).cloned().unwrap_or_default();
            // A commit that a grouped row's deploys ran is listed with them; it keeps a row of
            // its own only when it started the failures or changed a migration.
            if absorbed.contains(sha.as_str()) && !first_bad && migrations.is_empty() {
                continue;
            }
            let marker = if first_bad {
                " (first failed deploy's commit)"
            } else {
                ""
            };
            let mut text = format!("commit by {}: {}{marker}", commit.author, commit.summary);
            for change in migrations {
                text.push_str(&format!(
                    "; migration {} {}",
                    change.file,
                    format!("{:?}", change.change).to_lowercase()
                ));
            }
            out.push(entry(
                commit.time,
                "commit",
                text,
                commit.short().to_string(),
            ));
        }
    }

    // The first time the logs show each distinct failure.
    let mut seen: HashSet<String> = HashSet::new();
    let mut by_time: Vec<&LogFailure> = log_failures.iter().collect();
    by_time.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.log_id.cmp(&b.log_id))
    });
    // Render's own closing lines (`==> Deploy failed`) are context, not the error.
    for failure in by_time.into_iter().filter(|f| shows_real_error(f)) {
        let Some(at) = failure.timestamp else {
            continue;
        };
        let summary = log_summary(failure);
        if !seen.insert(summary.clone()) {
            continue;
        }
        let deploy = failure
            .deploy_id
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        out.push(entry(
            at,
            "log",
            format!("first log error{deploy}: {summary}"),
            log_source(failure),
        ));
    }

    for update in &evidence.incident.status_updates {
        out.push(entry(
            update.at,
            "status",
            update.text.clone(),
            "postmortem.yaml".to_string(),
        ));
    }

    out.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.text.cmp(&b.text))
    });
    out
}

/// Runs of deploys that failed the same way (same outcome, same error in their logs), from
/// [`GROUP_FROM`] on, become one `deploys` row. Returns the rows and the commits the grouped
/// deploys ran.
fn group_same_failures<'a>(
    deploys: &'a [&'a Deploy],
    rows: Vec<TimelineEntry>,
    log_failures: &[LogFailure],
) -> (Vec<TimelineEntry>, HashSet<&'a str>) {
    let mut error_of: HashMap<&str, String> = HashMap::new();
    for f in log_failures.iter().filter(|f| shows_real_error(f)) {
        if let Some(id) = f.deploy_id.as_deref() {
            error_of.entry(id).or_insert_with(|| log_summary(f));
        }
    }
    let by_id: HashMap<&str, &Deploy> = deploys.iter().map(|d| (d.id.as_str(), *d)).collect();
    let signature = |row: &TimelineEntry| -> Option<(String, String)> {
        let deploy = by_id.get(row.source.as_str())?;
        deploy.status.is_failure().then(|| {
            (
                describe_outcome(deploy),
                error_of
                    .get(deploy.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
            )
        })
    };
    let mut out = Vec::new();
    let mut absorbed = HashSet::new();
    let mut run: Vec<TimelineEntry> = Vec::new();
    let mut flush = |run: &mut Vec<TimelineEntry>, out: &mut Vec<TimelineEntry>| {
        if run.len() < GROUP_FROM {
            out.append(run);
            return;
        }
        let members: Vec<&Deploy> = run
            .iter()
            .filter_map(|r| by_id.get(r.source.as_str()).copied())
            .collect();
        let mut commits: Vec<&str> = Vec::new();
        for d in &members {
            if let Some(c) = &d.commit {
                if !commits.contains(&c.sha.as_str()) {
                    commits.push(c.sha.as_str());
                }
            }
        }
        absorbed.extend(commits.iter().copied());
        let first = &run[0];
        let last = &run[run.len() - 1];
        let of_commits = match commits.len() {
            0 => String::new(),
            1 => " of one commit".to_string(),
            n => format!(" of {n} commits"),
        };
        let flags: Vec<String> = run
            .iter()
            .filter_map(|r| r.flag.as_ref().map(|f| format!("{}: {f}", r.source)))
            .collect();
        let mut e = entry(
            first.at,
            "deploys",
            format!(
                "{} deploys{of_commits} failed the same way: {}",
                run.len(),
                members
                    .first()
                    .map(|d| describe_outcome(d))
                    .unwrap_or_default()
            ),
            first.source.clone(),
        );
        e.until = Some(last.at);
        e.also = vec![last.source.clone()];
        e.deploys = run.iter().map(|r| r.source.clone()).collect();
        e.flag = (!flags.is_empty()).then(|| flags.join("; "));
        out.push(e);
        run.clear();
    };
    for row in rows {
        let same = match (run.last().and_then(&signature), signature(&row)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !same {
            flush(&mut run, &mut out);
        }
        if signature(&row).is_some() {
            run.push(row);
        } else {
            out.push(row);
        }
    }
    flush(&mut run, &mut out);
    (out, absorbed)
}

/// Whether the timeline covers more than one calendar day (UTC), so times need their dates.
pub fn spans_several_days(entries: &[TimelineEntry]) -> bool {
    match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => a.at.date_naive() != b.at.date_naive(),
        _ => false,
    }
}

/// `45s`, `12m`, `2h 23m`, `1d 4h`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// From the first failure to the recovery, or to `now` (else the newest fact) while unresolved.
pub fn duration(
    evidence: &Evidence,
    streak: &Streak,
    now: Option<DateTime<Utc>>,
) -> Option<IncidentDuration> {
    let start = streak.first_failed_at?;
    let recovery = streak
        .recovered_by
        .as_deref()
        .and_then(|id| evidence.deploy(id));
    let (end, resolved) = match recovery {
        Some(d) => (d.finished_at.or(deploy_time(d))?, true),
        None => (now.or_else(|| newest_fact(evidence))?, false),
    };
    let end = end.max(start);
    Some(IncidentDuration {
        start,
        end,
        resolved,
        human: human_duration((end - start).num_seconds()),
    })
}

/// The newest timestamp anywhere in the evidence: "now" for an offline, clock-free render.
pub fn newest_fact(evidence: &Evidence) -> Option<DateTime<Utc>> {
    let deploys = evidence.deploys.iter().flat_map(|d| {
        [d.created_at, d.started_at, d.finished_at, d.updated_at]
            .into_iter()
            .flatten()
    });
    let events = evidence.events.iter().map(|e| e.timestamp);
    let logs = evidence.logs.iter().map(|l| l.timestamp);
    let commits = evidence.commits.iter().map(|c| c.time);
    let updates = evidence.incident.status_updates.iter().map(|u| u.at);
    deploys
        .chain(events)
        .chain(logs)
        .chain(commits)
        .chain(updates)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(30), "30s");
        assert_eq!(human_duration(12 * 60 + 5), "12m");
        assert_eq!(human_duration(2 * 3600 + 23 * 60 + 59), "2h 23m");
        assert_eq!(human_duration(86_400 + 4 * 3600 + 120), "1d 4h");
        assert_eq!(human_duration(-5), "0s");
    }
}
