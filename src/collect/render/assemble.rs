//! From raw items to evidence, the same way online and offline: the default window, which
//! failure each failed deploy had, and which deploy each log line belongs to.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::evidence::{Deploy, DeployFailure, DeployStatus, Event, LogLine, Phase, Window};

/// Render stamps `deploy_ended` (and the last "==> Deploy failed" lines) a little after the
/// deploy's `finishedAt`; events and logs are looked for this long past a span's end.
pub const GRACE: Duration = Duration::seconds(60);

/// A time range, both ends included.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// Items of one kind that could not be read, summed up as one note.
#[derive(Debug, Default)]
pub struct Unreadable {
    pub count: usize,
    pub first: Option<String>,
}

impl Unreadable {
    pub fn note(&self, what: &str) -> Option<String> {
        (self.count > 0).then(|| {
            format!(
                "{} {what} could not be read and were left out (first: {})",
                self.count,
                self.first.as_deref().unwrap_or("?")
            )
        })
    }
}

/// Deserialises each item, de-duplicating by `id`; the unreadable ones are counted, not fatal.
pub fn parse_items<T: DeserializeOwned>(
    items: Vec<Value>,
    id_of: impl Fn(&T) -> &str,
    unreadable: &mut Unreadable,
) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match serde_json::from_value::<T>(item) {
            Ok(t) => {
                if seen.insert(id_of(&t).to_string()) {
                    out.push(t);
                }
            }
            Err(e) => {
                unreadable.count += 1;
                unreadable.first.get_or_insert_with(|| e.to_string());
            }
        }
    }
    out
}

/// Whether a newest-first deploy list already reaches the last good deploy before the newest
/// failure streak, so that older pages are not needed.
pub fn reaches_last_good(deploys_newest_first: &[Value]) -> bool {
    let mut failed = false;
    for d in deploys_newest_first {
        let status =
            super::types::parse_status(d.get("status").and_then(Value::as_str).unwrap_or(""));
        if status.is_failure() {
            failed = true;
        } else if failed && status.is_success() {
            return true;
        }
    }
    false
}

/// The default window: from the last good deploy before the newest failure streak to the end
/// of the newest deploy. Without any failure it covers the newest deploy alone; without a good
/// deploy before the streak, it starts at the oldest deploy there is. The streak is the
/// analysis's own (`evidence::streak`), so the window and the report agree on it.
pub fn default_window(deploys: &[Deploy]) -> Window {
    let by_creation = |a: &&Deploy, b: &&Deploy| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| b.id.cmp(&a.id))
    };
    let Some(newest) = deploys.iter().max_by(by_creation) else {
        return Window::default();
    };
    let until = end_of(newest).or(newest.created_at);
    let since = match crate::evidence::streak(deploys) {
        None => newest.created_at,
        Some(streak) => streak
            .last_good
            .and_then(|id| deploys.iter().find(|d| d.id == id))
            .or_else(|| deploys.iter().min_by(by_creation))
            .and_then(|d| d.created_at),
    };
    Window { since, until }
}

pub fn in_window(t: Option<DateTime<Utc>>, window: &Window, grace: Duration) -> bool {
    let Some(t) = t else {
        // Without a time it cannot be placed; keeping it loses nothing.
        return true;
    };
    window.since.is_none_or(|s| t >= s) && window.until.is_none_or(|u| t <= u + grace)
}

fn end_of(d: &Deploy) -> Option<DateTime<Utc>> {
    d.finished_at.or(d.updated_at)
}

/// When a deploy's work began: the earlier of `createdAt` and `startedAt`, since build output
/// can come before `startedAt`.
fn start_of(d: &Deploy) -> Option<DateTime<Utc>> {
    match (d.created_at, d.started_at) {
        (Some(c), Some(s)) => Some(c.min(s)),
        (c, s) => c.or(s),
    }
}

/// The span whose logs tell how `d` failed (ends `GRACE` after it finished).
pub fn log_span(d: &Deploy, open_end: DateTime<Utc>) -> Option<Span> {
    let start = start_of(d)?;
    let end = end_of(d).map(|e| e + GRACE).unwrap_or(open_end).max(start);
    Some((start, end))
}

/// Merges overlapping spans so that no log window is fetched twice.
pub fn merge_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut merged: Vec<Span> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Fills `failure` on each failed deploy from the events that say how it ended.
pub fn attribute_failures(deploys: &mut [Deploy], events: &[Event]) {
    for d in deploys.iter_mut() {
        let Some(default_phase) = phase_of_status(&d.status) else {
            continue;
        };
        let span_start = start_of(d);
        let span_end = end_of(d).map(|e| e + GRACE);
        let in_span = |e: &Event| {
            span_start.is_some_and(|s| e.timestamp >= s)
                && span_end.is_none_or(|end| e.timestamp <= end)
        };
        let own = |kind: &str| -> Vec<&Event> {
            events
                .iter()
                .filter(|e| e.kind == kind && e.deploy_id.as_deref() == Some(d.id.as_str()))
                .collect()
        };
        let timed = |kind: &str| -> Vec<&Event> {
            let mut found: Vec<&Event> = events
                .iter()
                .filter(|e| e.kind == kind && in_span(e))
                .collect();
            // The latest one says how it finally ended.
            found.reverse();
            found
        };
        let candidates: Vec<&Event> = match d.status {
            DeployStatus::BuildFailed => [timed("build_ended"), own("deploy_ended")].concat(),
            DeployStatus::PreDeployFailed => {
                [own("pre_deploy_ended"), own("deploy_ended")].concat()
            }
            _ => [own("deploy_ended"), timed("server_failed")].concat(),
        };
        let failed = |e: &&Event| e.status.as_deref().is_none_or(|s| s == "failed");
        let chosen = candidates
            .iter()
            .copied()
            .filter(failed)
            .find(|e| e.failure.is_some())
            .or_else(|| candidates.iter().copied().find(failed));
        let reason = chosen.and_then(|e| e.failure.clone());
        let phase = match (&d.status, &reason) {
            (DeployStatus::UpdateFailed, Some(r)) if r.unhealthy.is_some() => Phase::HealthCheck,
            _ => default_phase,
        };
        d.failure = Some(DeployFailure {
            phase,
            exit_code: reason.as_ref().and_then(|r| r.non_zero_exit),
            event_id: chosen.map(|e| e.id.clone()),
            reason,
        });
    }
}

fn phase_of_status(status: &DeployStatus) -> Option<Phase> {
    match status {
        DeployStatus::BuildFailed => Some(Phase::Build),
        DeployStatus::PreDeployFailed => Some(Phase::PreDeploy),
        DeployStatus::UpdateFailed => Some(Phase::Start),
        DeployStatus::Other(_) if status.is_failure() => Some(Phase::Unknown),
        _ => None,
    }
}

/// Sets each line's `deploy_id` to the deploy whose span contains it (the latest-starting one
/// when spans overlap); a line just after a deploy finished (within `GRACE`) goes to it too.
pub fn attach_logs(logs: &mut [LogLine], deploys: &[Deploy]) {
    type OpenSpan<'a> = (DateTime<Utc>, Option<DateTime<Utc>>, &'a str);
    let spans: Vec<OpenSpan<'_>> = deploys
        .iter()
        .filter_map(|d| Some((start_of(d)?, end_of(d), d.id.as_str())))
        .collect();
    for line in logs.iter_mut() {
        let t = line.timestamp;
        let containing = |grace: Duration| {
            spans
                .iter()
                .filter(|(s, e, _)| *s <= t && e.is_none_or(|e| t <= e + grace))
                .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.2.cmp(a.2)))
                .map(|(_, _, id)| id.to_string())
        };
        line.deploy_id = containing(Duration::zero()).or_else(|| containing(GRACE));
    }
}

/// Service ids a log line names in its `resource` label.
pub fn resource_of(line: &LogLine) -> Option<&str> {
    line.labels.get("resource").map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 10, 15, 0, 0).unwrap() + Duration::minutes(min as i64)
    }

    fn deploy(id: &str, status: DeployStatus, created: u32, finished: u32) -> Deploy {
        Deploy {
            id: id.into(),
            status,
            trigger: None,
            commit: None,
            image: None,
            created_at: Some(at(created)),
            started_at: Some(at(created)),
            finished_at: Some(at(finished)),
            updated_at: Some(at(finished)),
            failure: None,
        }
    }

    #[test]
    fn window_reaches_back_to_last_good_through_canceled() {
        let deploys = vec![
            deploy("d5", DeployStatus::UpdateFailed, 50, 55),
            deploy("d4", DeployStatus::Canceled, 40, 41),
            deploy("d3", DeployStatus::UpdateFailed, 30, 35),
            deploy("d2", DeployStatus::Live, 20, 25),
            deploy("d1", DeployStatus::UpdateFailed, 10, 15),
        ];
        let w = default_window(&deploys);
        assert_eq!(w.since, Some(at(20)));
        assert_eq!(w.until, Some(at(55)));
    }

    #[test]
    fn logs_go_to_the_deploy_whose_span_holds_them() {
        let deploys = vec![
            deploy("d1", DeployStatus::UpdateFailed, 0, 10),
            deploy("d2", DeployStatus::UpdateFailed, 20, 30),
        ];
        let line = |id: &str, m: u32| LogLine {
            id: id.into(),
            timestamp: at(m),
            message: String::new(),
            deploy_id: None,
            labels: std::collections::BTreeMap::new(),
        };
        let mut logs = vec![line("a", 5), line("b", 25), line("c", 15)];
        attach_logs(&mut logs, &deploys);
        let ids: Vec<Option<&str>> = logs.iter().map(|l| l.deploy_id.as_deref()).collect();
        assert_eq!(ids, vec![Some("d1"), Some("d2"), None]);
    }
}
