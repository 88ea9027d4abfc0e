//! Collection from the live API: the service, its deploys, the events of the window and the
//! logs of each failed deploy, with independent fetches running in parallel.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::Duration;
use serde_json::Value;

use super::assemble::{self, Span, Unreadable, GRACE};
use super::client::{Client, FetchError, API_KEY_VAR};
use super::paging::{self, rfc3339, Listed, LogLimit};
use super::progress::Progress;
use super::types::{WireDeploy, WireEvent, WireLog, WireService};
use super::{Collected, RenderSettings};
use crate::evidence::{Deploy, Evidence, Service, Window};
use crate::{Error, Result};

pub fn collect(settings: &RenderSettings, evidence: &mut Evidence) -> Result<Collected> {
    let key = settings.api_key.clone().ok_or_else(|| {
        Error::Render(format!(
            "no API key: set {API_KEY_VAR} to a Render API key (Render Dashboard → Account Settings → API Keys)"
        ))
    })?;
    let service_arg = settings
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::Render(
                "no service: pass --service with a srv-… ID or a service name (or set RENDER_SERVICE_ID)"
                    .to_string(),
            )
        })?;
    let mut policy = settings.retry.clone();
    policy.announce_retries |= settings.progress;
    let client = Client::new(&settings.api_url, key, policy)?;
    let progress = Progress::new(settings.progress);
    let service = resolve_service(&client, service_arg, &progress, evidence)?;
    let deploys_path = format!("/services/{}/deploys", service.id);
    let events_path = format!("/services/{}/events", service.id);

    let mut deploy_query = Vec::new();
    // One second of slack: whether Render's created* filters are inclusive is not documented,
    // and the window is applied exactly below anyway.
    if let Some(since) = settings.since {
        deploy_query.push(("createdAfter", rfc3339(since - Duration::seconds(1))));
    }
    if let Some(until) = settings.until {
        deploy_query.push(("createdBefore", rfc3339(until + Duration::seconds(1))));
    }
    let stop_at_last_good = settings.since.is_none();
    let explicit_window = Window {
        since: settings.since,
        until: settings.until,
    };
    let concurrency = settings.concurrency.max(1);

    let (deploys_listed, events_listed, logs_listed, window, failed_spans) =
        std::thread::scope(|scope| {
            let (client, progress, events_path) = (&client, &progress, events_path.as_str());
            // Events page beside the deploys when the window is known up front, else once
            // the deploys have fixed it. A thread the system refuses (a container's process
            // limit) leaves the fetch to this thread, after the rest.
            let spawn_events = |window: Window| {
                let fallback = window.clone();
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || {
                        fetch_events(client, events_path, &window, progress)
                    })
                    .map_err(|_| fallback)
            };
            let early_events = (explicit_window.since.is_some() && explicit_window.until.is_some())
                .then(|| spawn_events(explicit_window.clone()));

            let mut enough =
                |items: &[Value]| stop_at_last_good && assemble::reaches_last_good(items);
            let deploys_listed = paging::list_all(
                client,
                &deploys_path,
                &deploy_query,
                "deploy",
                progress,
                "deploys",
                &mut enough,
            );
            let window = window_from(&deploys_listed.items, &explicit_window);

            let late_events = early_events.is_none().then(|| spawn_events(window.clone()));
            let failed_spans = failed_deploy_spans(&deploys_listed.items, &window);
            let logs_listed = match service.owner_id.as_deref() {
                Some(owner) if !failed_spans.is_empty() => fetch_all_logs(
                    client,
                    owner,
                    &service.id,
                    assemble::merge_spans(failed_spans.clone()),
                    concurrency,
                    progress,
                ),
                _ => Vec::new(),
            };
            let events_listed = match early_events.or(late_events) {
                Some(Ok(handle)) => handle.join().unwrap_or_else(|_| Some(worker_died())),
                Some(Err(window)) => fetch_events(client, events_path, &window, progress),
                None => None,
            };
            (
                deploys_listed,
                events_listed,
                logs_listed,
                window,
                failed_spans,
            )
        });
    progress.finish();

    // A rejected key anywhere stops the run: the rest would be as wrong.
    let mut all_errors = deploys_listed
        .error
        .iter()
        .chain(events_listed.iter().flat_map(|l| l.error.iter()));
    if let Some(e) = all_errors.find(|e| matches!(e, FetchError::Rejected { .. })) {
        return Err(rejected(e));
    }
    if let Some(e) = logs_listed
        .iter()
        .filter_map(|(_, l)| l.error.as_ref())
        .find(|e| matches!(e, FetchError::Rejected { .. }))
    {
        return Err(rejected(e));
    }

    let mut unreadable = Unreadable::default();
    note_listing(evidence, "render.deploys", "deploys", &deploys_listed);
    let deploys: Vec<Deploy> =
        assemble::parse_items::<WireDeploy>(deploys_listed.items, |d| &d.id, &mut unreadable)
            .into_iter()
            // Outside the window first, so that redactions count only what is stored.
            .filter(|d| assemble::in_window(d.created_at, &window, Duration::zero()))
            .map(|d| d.into_evidence(&mut evidence.redactions))
            .collect();
    if let Some(n) = unreadable.note("deploys") {
        evidence.note("render.deploys", n);
    }

    let events = match events_listed {
        Some(listed) => {
            note_listing(evidence, "render.events", "events", &listed);
            let mut unreadable = Unreadable::default();
            let events: Vec<_> =
                assemble::parse_items::<WireEvent>(listed.items, |e| &e.id, &mut unreadable)
                    .into_iter()
                    .map(WireEvent::into_evidence)
                    .collect();
            if let Some(n) = unreadable.note("events") {
                evidence.note("render.events", n);
            }
            events
        }
        None => {
            evidence.note(
                "render.events",
                "events not fetched: without deploys the window has no start or end; pass --since and --until",
            );
            Vec::new()
        }
    };

    if !failed_spans.is_empty() && service.owner_id.is_none() {
        evidence.note(
            "render.logs",
            "logs not fetched: the service's owner id (needed by /logs) is unknown",
        );
    }
    let mut log_values = Vec::new();
    for ((start, end), listed) in logs_listed {
        let what = format!("logs for {} – {}", rfc3339(start), rfc3339(end));
        note_listing(evidence, "render.logs", &what, &listed);
        log_values.extend(listed.items);
    }
    let mut unreadable = Unreadable::default();
    let logs = assemble::parse_items::<WireLog>(log_values, |l| &l.id, &mut unreadable)
        .into_iter()
        .map(|l| l.into_evidence(&mut evidence.redactions))
        .collect();
    if let Some(n) = unreadable.note("log lines") {
        evidence.note("render.logs", n);
    }

    Ok(Collected {
        service,
        window,
        deploys,
        events,
        logs,
    })
}

/// The window's events (up to `GRACE` past its end); `None` when the window is open-ended.
fn fetch_events(
    client: &Client,
    path: &str,
    window: &Window,
    progress: &Progress,
) -> Option<Listed> {
    let (Some(since), Some(until)) = (window.since, window.until) else {
        return None;
    };
    let q = [
        ("startTime", rfc3339(since)),
        ("endTime", rfc3339(until + GRACE)),
    ];
    Some(paging::list_all(
        client,
        path,
        &q,
        "event",
        progress,
        "events",
        &mut |_| false,
    ))
}

fn worker_died() -> Listed {
    Listed {
        error: Some(FetchError::BadBody {
            message: "the fetching thread stopped unexpectedly".into(),
        }),
        ..Listed::default()
    }
}

fn rejected(e: &FetchError) -> Error {
    Error::Render(format!(
        "the API key was rejected ({e}); set {API_KEY_VAR} to a valid Render API key with access to this service"
    ))
}

/// One note per problem of a paged fetch; items fetched before the problem are kept.
fn note_listing(evidence: &mut Evidence, source: &str, what: &str, listed: &Listed) {
    if let Some(e) = &listed.error {
        if listed.items.is_empty() && listed.pages == 0 {
            evidence.note(source, format!("{what} unavailable: {e}"));
        } else {
            evidence.note(
                source,
                format!(
                    "{what} incomplete: page {} failed ({e}); the {} items before it are kept",
                    listed.pages + 1,
                    listed.items.len()
                ),
            );
        }
    }
    if let Some(stopped) = &listed.stopped {
        evidence.note(source, format!("{what} may be incomplete: {stopped}"));
    }
    if listed.empty_rows > 0 {
        evidence.note(
            source,
            format!(
                "{what}: {} rows carried no item and were skipped",
                listed.empty_rows
            ),
        );
    }
}

/// The window to report: what was asked for, completed from the deploys (see
/// [`assemble::default_window`]).
fn window_from(deploy_items: &[Value], explicit: &Window) -> Window {
    let mut scratch = BTreeMap::new();
    let deploys: Vec<Deploy> = deploy_items
        .iter()
        .filter_map(|v| serde_json::from_value::<WireDeploy>(v.clone()).ok())
        .map(|d| d.into_evidence(&mut scratch))
        .filter(|d| assemble::in_window(d.created_at, explicit, Duration::zero()))
        .collect();
    let computed = assemble::default_window(&deploys);
    Window {
        since: explicit.since.or(computed.since),
        until: explicit.until.or(computed.until),
    }
}

fn failed_deploy_spans(deploy_items: &[Value], window: &Window) -> Vec<Span> {
    let mut scratch = BTreeMap::new();
    let open_end = window.until.map(|u| u + GRACE);
    deploy_items
        .iter()
        .filter_map(|v| serde_json::from_value::<WireDeploy>(v.clone()).ok())
        .map(|d| d.into_evidence(&mut scratch))
        .filter(|d| {
            d.status.is_failure() && assemble::in_window(d.created_at, window, Duration::zero())
        })
        .filter_map(|d| assemble::log_span(&d, open_end.or(d.created_at)?))
        .collect()
}

/// Logs of every span, `concurrency` spans at a time; the results come back in span order.
fn fetch_all_logs(
    client: &Client,
    owner_id: &str,
    resource: &str,
    spans: Vec<Span>,
    concurrency: usize,
    progress: &Progress,
) -> Vec<(Span, Listed)> {
    let limit = LogLimit::new();
    let queue = Mutex::new(spans.clone());
    let results = Mutex::new(Vec::new());
    let workers = concurrency.min(spans.len());
    let work = || loop {
        let next = match queue.lock() {
            Ok(mut q) => q.pop(),
            Err(_) => None,
        };
        let Some(span) = next else { break };
        let listed = paging::fetch_logs(client, owner_id, resource, span, &limit, progress);
        if let Ok(mut r) = results.lock() {
            r.push((span, listed));
        }
    };
    std::thread::scope(|scope| {
        // This thread is one of the workers: threads the system refuses (a container's
        // process limit) only make the fetch slower.
        for _ in 1..workers {
            let _ = std::thread::Builder::new().spawn_scoped(scope, work);
        }
        work();
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(span, _)| *span);
    results
}

/// `srv-…` is fetched directly; anything else is looked up by name among the services the
/// key can see, and must match exactly one.
fn resolve_service(
    client: &Client,
    wanted: &str,
    progress: &Progress,
    evidence: &mut Evidence,
) -> Result<Service> {
    if wanted.starts_with("srv-") {
        return match client.get(&format!("/services/{wanted}"), &[]) {
            Ok(v) => match serde_json::from_value::<WireService>(v) {
                Ok(s) => Ok(s.into_evidence()),
                Err(e) => {
                    evidence.note(
                        "render.service",
                        format!("service {wanted}: details unreadable ({e}); logs need its owner id"),
                    );
                    Ok(bare_service(wanted))
                }
            },
            Err(e @ FetchError::Rejected { .. }) => Err(rejected(&e)),
            Err(FetchError::NotFound { .. }) => Err(Error::Render(format!(
                "service {wanted} not found (HTTP 404): check the ID, and that {API_KEY_VAR} belongs to a workspace that owns it"
            ))),
            Err(e) => {
                evidence.note(
                    "render.service",
                    format!("service {wanted} details unavailable: {e}; logs need its owner id"),
                );
                Ok(bare_service(wanted))
            }
        };
    }
    let by_name = paging::list_all(
        client,
        "/services",
        &[("name", wanted.to_string())],
        "service",
        progress,
        "services",
        &mut |_| false,
    );
    let services = services_of(by_name, wanted)?;
    let matching: Vec<&WireService> = services
        .iter()
        .filter(|s| s.name.as_deref() == Some(wanted))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone().into_evidence()),
        [] => {
            let all = services_of(
                paging::list_all(
                    client,
                    "/services",
                    &[],
                    "service",
                    progress,
                    "services",
                    &mut |_| false,
                ),
                wanted,
            )?;
            let mut names: Vec<String> = all.iter().map(describe).collect();
            names.sort();
            let listing = if names.is_empty() {
                "this key sees no services".to_string()
            } else {
                format!("services this key can see: {}", names.join(", "))
            };
            Err(Error::Render(format!(
                "no service is named {wanted:?}; {listing}"
            )))
        }
        several => {
            let mut names: Vec<String> = several.iter().map(|s| describe(s)).collect();
            names.sort();
            Err(Error::Render(format!(
                "{} services are named {wanted:?}: {}; pass the srv-… ID with --service",
                several.len(),
                names.join(", ")
            )))
        }
    }
}

fn services_of(listed: Listed, wanted: &str) -> Result<Vec<WireService>> {
    if let Some(e) = listed.error {
        return Err(match e {
            FetchError::Rejected { .. } => rejected(&e),
            _ => Error::Render(format!(
                "cannot look up the service named {wanted:?}: {e}; pass its srv-… ID with --service instead"
            )),
        });
    }
    Ok(listed
        .items
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

fn describe(s: &WireService) -> String {
    let name = s.name.as_deref().unwrap_or("(no name)");
    match &s.kind {
        Some(kind) => format!("{name} ({}, {kind})", s.id),
        None => format!("{name} ({})", s.id),
    }
}

fn bare_service(id: &str) -> Service {
    Service {
        id: id.to_string(),
        ..Service::default()
    }
}
