//! The Render collector against a loopback Render API (real HTTP) and against saved files.

#[path = "support/render_api.rs"]
mod render_api;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use postmortem::collect::render::{self, ApiKey, RenderSettings, RetryPolicy};
use postmortem::evidence::{DeployStatus, Evidence, Phase, Service};
use postmortem::Error;
use render_api::{FakeRender, Faults, RunningFake};
use serde_json::{json, Value};

const KEY: &str = "rnd_TestKey0123456789abcdefXYZ";
const SRV: &str = "srv-d3ii9qk9c44c73aqsli0";
const OWNER: &str = "tea-cu1a2b3c4d5e6f7g8h9i";

fn at(minute: i64, second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 10, 15, 0, 0).unwrap()
        + chrono::Duration::seconds(minute * 60 + second)
}

fn ts(minute: i64, second: i64) -> String {
    at(minute, second).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn service(id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "ownerId": OWNER, "type": "web_service",
        "dashboardUrl": format!("https://dashboard.render.com/web/{id}"),
        "repo": "https://github.com/acme/ma-saas", "branch": "main",
        "suspended": "not_suspended", "autoDeploy": "yes",
        "serviceDetails": {
            "runtime": "docker", "env": "docker", "url": "https://ma-saas-backend.onrender.com",
            "healthCheckPath": "/health",
            "envSpecificDetails": {"dockerCommand": "./entrypoint.sh", "dockerContext": ".", "dockerfilePath": "./Dockerfile"}
        }
    })
}

fn deploy(id: &str, status: &str, created: i64, finished: i64, sha: &str) -> Value {
    json!({
        "id": id, "status": status, "trigger": "new_commit",
        "commit": {"id": sha, "message": format!("commit {sha}"), "createdAt": ts(created - 1, 0)},
        "createdAt": ts(created, 0), "startedAt": ts(created, 1),
        "updatedAt": ts(finished, 0), "finishedAt": ts(finished, 0)
    })
}

fn event(id: &str, time: DateTime<Utc>, kind: &str, details: Value) -> Value {
    json!({
        "id": id, "serviceId": SRV, "type": kind,
        "timestamp": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "details": details
    })
}

fn deploy_ended(id: &str, time: DateTime<Utc>, deploy_id: &str, failure: Value) -> Value {
    event(
        id,
        time,
        "deploy_ended",
        json!({"deployId": deploy_id, "deployStatus": "failed", "reason": {"failure": failure}, "status": 3}),
    )
}

fn log(id: &str, time: DateTime<Utc>, message: &str) -> Value {
    json!({
        "id": id, "message": message,
        "timestamp": time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "labels": [{"name": "resource", "value": SRV}, {"name": "type", "value": "app"}]
    })
}

fn capture_lines() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render/entrypoint_wrong.txt"),
    )
    .unwrap();
    text.lines().map(str::to_string).collect()
}

/// The seed incident in small: an older failure, a good deploy, then a streak of entrypoint
/// failures (one superseded deploy in it), each with its `deploy_ended` event and the real
/// capture of `alembic upgrade head` failing as its logs.
fn seed_fake() -> FakeRender {
    let deploys = vec![
        deploy("dep-old-deactivated", "deactivated", 0, 5, "aaa0001"),
        deploy("dep-old-failed", "update_failed", 10, 15, "aaa0002"),
        deploy("dep-last-good", "live", 20, 25, "aaa0003"),
        deploy("dep-fail-1", "update_failed", 43, 50, "1947202"),
        deploy("dep-superseded", "canceled", 51, 52, "4415ce4"),
        deploy("dep-fail-2", "update_failed", 56, 63, "ccb3b04"),
        deploy("dep-fail-3", "update_failed", 66, 72, "c2b415a"),
    ];
    let mut events = vec![
        event(
            "evt-0000",
            at(20, 5),
            "build_ended",
            json!({"buildId": "bld-1", "buildStatus": "succeeded", "reason": {}, "status": 2}),
        ),
        event(
            "evt-0001",
            at(43, 2),
            "deploy_started",
            json!({"deployId": "dep-fail-1", "trigger": {"newCommit": "1947202", "manual": false}}),
        ),
        event(
            "evt-0002",
            at(44, 0),
            "fancy_new_event",
            json!({"whatever": [1, 2, 3]}),
        ),
        event(
            "evt-0003",
            at(47, 0),
            "server_failed",
            json!({"instanceID": format!("{SRV}-k7p2q"), "reason": {"evicted": false, "nonZeroExit": 1}}),
        ),
        event(
            "evt-0004",
            at(51, 1),
            "deploy_ended",
            json!({"deployId": "dep-superseded", "deployStatus": "canceled", "reason": {"newDeploy": {"id": "dep-fail-2"}}}),
        ),
    ];
    for (i, (dep, end)) in [("dep-fail-1", 50), ("dep-fail-2", 63), ("dep-fail-3", 72)]
        .iter()
        .enumerate()
    {
        events.push(deploy_ended(
            &format!("evt-1{i:03}"),
            at(*end, 0) + chrono::Duration::milliseconds(47),
            dep,
            json!({"evicted": false, "nonZeroExit": 1}),
        ));
    }
    let mut logs = Vec::new();
    for (d, start) in [("a", 45), ("b", 58), ("c", 68)] {
        for (i, line) in capture_lines().iter().enumerate() {
            let colored = if line.starts_with("==>") {
                format!("\u{1b}[1;34m{line}\u{1b}[0m")
            } else {
                line.clone()
            };
            logs.push(log(
                &format!("log-{d}-{i:03}"),
                at(start, i as i64),
                &colored,
            ));
        }
    }
    FakeRender {
        api_key: KEY.to_string(),
        services: vec![
            service(SRV, "ma-saas-backend"),
            service("srv-frontend000000000000", "ma-saas-frontend"),
        ],
        deploys: of_service(deploys),
        events,
        logs,
        faults: Faults::default(),
    }
}

/// Ties deploys to the backend (the fake also serves a frontend service).
fn of_service(deploys: Vec<Value>) -> Vec<Value> {
    deploys
        .into_iter()
        .map(|mut d| {
            d["serviceId"] = json!(SRV);
            d
        })
        .collect()
}

fn settings(fake: &RunningFake, service: &str) -> RenderSettings {
    RenderSettings {
        api_url: fake.url(),
        api_key: Some(ApiKey::new(KEY)),
        service: Some(service.to_string()),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_sleep: Duration::from_secs(2),
            ..RetryPolicy::default()
        },
        ..RenderSettings::default()
    }
}

fn collect(settings: &RenderSettings) -> Result<Evidence, Error> {
    let mut evidence = Evidence::new(Service::default());
    render::collect(settings, &mut evidence)?;
    let json = serde_json::to_string(&evidence).unwrap();
    assert!(!json.contains(KEY), "the API key leaked into the evidence");
    Ok(evidence)
}

fn notes(e: &Evidence) -> Vec<String> {
    e.notes
        .iter()
        .map(|n| format!("{}: {}", n.source, n.message))
        .collect()
}

#[test]
fn seed_incident_is_collected_whole_in_the_fewest_round_trips() {
    let fake = seed_fake().start();
    let e = collect(&settings(&fake, SRV)).unwrap();

    assert_eq!(e.service.name.as_deref(), Some("ma-saas-backend"));
    assert_eq!(e.service.owner_id.as_deref(), Some(OWNER));
    assert_eq!(e.service.start_command.as_deref(), Some("./entrypoint.sh"));
    assert_eq!(e.service.health_check_path.as_deref(), Some("/health"));
    assert_eq!(e.service.runtime.as_deref(), Some("docker"));
    assert_eq!(
        e.service.url.as_deref(),
        Some("https://ma-saas-backend.onrender.com")
    );

    // Back from the newest deploy to the last good one before the streak.
    assert_eq!(e.window.since, Some(at(20, 0)));
    assert_eq!(e.window.until, Some(at(72, 0)));
    let ids: Vec<&str> = e.deploys.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dep-fail-3",
            "dep-fail-2",
            "dep-superseded",
            "dep-fail-1",
            "dep-last-good"
        ]
    );

    let canceled = e.deploy("dep-superseded").unwrap();
    assert_eq!(canceled.status, DeployStatus::Canceled);
    assert!(
        canceled.failure.is_none(),
        "a superseded deploy is not a failure"
    );
    for (dep, evt) in [
        ("dep-fail-1", "evt-1000"),
        ("dep-fail-2", "evt-1001"),
        ("dep-fail-3", "evt-1002"),
    ] {
        let f = e.deploy(dep).unwrap().failure.as_ref().unwrap();
        assert_eq!(f.phase, Phase::Start, "{dep}");
        assert_eq!(f.exit_code, Some(1), "{dep}");
        assert_eq!(f.event_id.as_deref(), Some(evt), "{dep}");
    }

    // The unknown event type is kept whole.
    let fancy = e
        .events
        .iter()
        .find(|ev| ev.kind == "fancy_new_event")
        .unwrap();
    assert_eq!(fancy.details, json!({"whatever": [1, 2, 3]}));
    let crash = e.events.iter().find(|ev| ev.id == "evt-0003").unwrap();
    assert_eq!(crash.failure.as_ref().unwrap().non_zero_exit, Some(1));

    // The real capture, ANSI-free, attached to the deploy it came from.
    let capture = capture_lines();
    assert_eq!(e.logs.len(), 3 * capture.len());
    assert!(e.logs.iter().all(|l| !l.message.contains('\u{1b}')));
    let fk_error = e
        .logs
        .iter()
        .filter(|l| {
            l.message.contains("DatatypeMismatch") && l.message.contains("deals_owner_id_fkey")
        })
        .map(|l| l.deploy_id.as_deref().unwrap())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        fk_error.into_iter().collect::<Vec<_>>(),
        ["dep-fail-1", "dep-fail-2", "dep-fail-3"]
    );
    assert!(e
        .logs
        .iter()
        .any(|l| l.message == "==> Running database migrations (alembic upgrade head)"));
    assert!(e.notes.is_empty(), "{:?}", notes(&e));

    // One service, one deploy page (it reached the last good deploy), one event page, one log
    // window per failed deploy.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1 + 1 + 1 + 3, "{requests:#?}");
    assert!(requests.iter().all(|r| r.authorized && r.status == 200));
    let events = fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/events");
    assert_eq!(events[0].param("startTime"), Some("2025-11-10T15:20:00Z"));
    assert_eq!(events[0].param("endTime"), Some("2025-11-10T16:13:00Z"));
    for r in fake.requests_to("/logs") {
        assert_eq!(r.param("ownerId"), Some(OWNER));
        assert_eq!(r.params("resource"), [SRV]);
        assert!(r.param("startTime").is_some() && r.param("endTime").is_some());
    }
}

#[test]
fn missing_key_says_which_variable_to_set() {
    let fake = seed_fake().start();
    let mut s = settings(&fake, SRV);
    s.api_key = None;
    let err = collect(&s).unwrap_err().to_string();
    assert!(err.contains("RENDER_API_KEY"), "{err}");
    assert!(fake.requests().is_empty());
}

#[test]
fn rejected_key_says_which_variable_to_set_and_never_shows_the_key() {
    let fake = seed_fake().start();
    let mut s = settings(&fake, SRV);
    s.api_key = Some(ApiKey::new("rnd_WrongKey999999999999999"));
    let err = collect(&s).unwrap_err();
    let text = format!("{err} {err:?} {s:?}");
    assert!(text.contains("RENDER_API_KEY"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(
        !text.contains("rnd_WrongKey") && !text.contains(KEY),
        "{text}"
    );
    assert_eq!(fake.requests().len(), 1, "a rejected key is not retried");
}

#[test]
fn service_name_resolves_to_exactly_one_service() {
    let mut fake = seed_fake();
    fake.services
        .push(service("srv-twin1aaaaaaaaaaaaaaa", "twin"));
    fake.services
        .push(service("srv-twin2bbbbbbbbbbbbbbb", "twin"));
    let fake = fake.start();

    let e = collect(&settings(&fake, "ma-saas-backend")).unwrap();
    assert_eq!(e.service.id, SRV);
    assert_eq!(
        fake.requests_to("/services")[0].param("name"),
        Some("ma-saas-backend")
    );

    let none = collect(&settings(&fake, "ma-saas"))
        .unwrap_err()
        .to_string();
    assert!(none.contains("no service is named \"ma-saas\""), "{none}");
    assert!(
        none.contains("ma-saas-backend (srv-d3ii9qk9c44c73aqsli0, web_service)"),
        "{none}"
    );

    let many = collect(&settings(&fake, "twin")).unwrap_err().to_string();
    assert!(many.contains("2 services are named \"twin\""), "{many}");
    assert!(
        many.contains("srv-twin1aaaaaaaaaaaaaaa") && many.contains("srv-twin2bbbbbbbbbbbbbbb"),
        "{many}"
    );

    let unknown_id = collect(&settings(&fake, "srv-nope0000000000000000"))
        .unwrap_err()
        .to_string();
    assert!(unknown_id.contains("not found"), "{unknown_id}");
}

fn long_streak(count: usize) -> FakeRender {
    let mut fake = seed_fake();
    fake.deploys = vec![deploy("dep-good", "live", 0, 3, "good000")];
    fake.events.clear();
    fake.logs.clear();
    for i in 0..count {
        let start = 5 + i as i64 * 2;
        fake.deploys.push(deploy(
            &format!("dep-{i:04}"),
            "build_failed",
            start,
            start + 1,
            "bad0000",
        ));
    }
    fake.deploys = of_service(fake.deploys);
    fake
}

#[test]
fn deploys_are_paged_by_cursor_with_limit_100_until_a_short_page() {
    let fake = long_streak(230).start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    assert_eq!(e.deploys.len(), 231);
    let pages = fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/deploys");
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|p| p.param("limit") == Some("100")));
    assert_eq!(pages[0].param("cursor"), None);
    assert_eq!(pages[1].param("cursor"), Some("cur-dep-0130"));
    assert_eq!(pages[2].param("cursor"), Some("cur-dep-0030"));
    assert_eq!(e.window.since, Some(at(0, 0)));
    assert!(e.deploys.iter().filter(|d| d.id != "dep-good").all(|d| d
        .failure
        .as_ref()
        .unwrap()
        .phase
        == Phase::Build));
}

#[test]
fn a_repeated_cursor_stops_paging_and_says_so() {
    let mut fake = long_streak(230);
    fake.faults.ignore_cursor = vec!["/services/srv-d3ii9qk9c44c73aqsli0/deploys".into()];
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    assert_eq!(
        fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/deploys")
            .len(),
        2
    );
    assert_eq!(
        e.deploys.len(),
        100,
        "the repeated page is not counted twice"
    );
    let n = notes(&e);
    assert!(
        n.iter()
            .any(|n| n
                .starts_with("render.deploys: deploys may be incomplete: the API repeated cursor")),
        "{n:?}"
    );
}

#[test]
fn a_429_waits_for_retry_after_then_succeeds() {
    let mut fake = seed_fake();
    fake.faults.rate_limit_once = vec!["/services/srv-d3ii9qk9c44c73aqsli0/deploys".into()];
    let fake = fake.start();
    let started = Instant::now();
    let e = collect(&settings(&fake, SRV)).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured"
    );
    assert!(e.notes.is_empty(), "{:?}", notes(&e));
    let statuses: Vec<u16> = fake
        .requests_to("/services/srv-d3ii9qk9c44c73aqsli0/deploys")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 200]);
    assert_eq!(e.deploys.len(), 5);
}

#[test]
fn a_server_asking_for_an_hour_costs_one_request_per_source_not_an_hour() {
    // 429 with `Retry-After: 3600` forever: the wait is past the run's budget, so each source
    // gives up at once with a note; nothing sleeps.
    let mut fake = seed_fake();
    fake.faults.rate_limit_for_an_hour = vec!["/services/srv-d3ii9qk9c44c73aqsli0/events".into()];
    let fake = fake.start();
    let mut settings = settings(&fake, SRV);
    settings.retry.max_sleep = RetryPolicy::default().max_sleep;
    let e = collect(&settings).unwrap();
    assert_eq!(
        notes(&e),
        [format!("render.events: events unavailable: HTTP 429 (rate limited; the API asked for a wait of 3600 s, more than the 90 s left of this run's wait budget of 90 s; a larger --timeout gives a larger budget) after 1 try (GET {}/services/{SRV}/events)", fake.url())]
    );
    assert_eq!(
        fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/events")
            .len(),
        1
    );
    assert_eq!(e.deploys.len(), 5);
}

#[test]
fn retries_stop_when_the_runs_wait_budget_is_spent() {
    // Every retry's backoff is booked against one budget for the whole run: with none left,
    // a failing source is tried once.
    let mut fake = seed_fake();
    fake.faults.always_unavailable = vec!["/services/srv-d3ii9qk9c44c73aqsli0/events".into()];
    let fake = fake.start();
    let mut settings = settings(&fake, SRV);
    settings.retry.max_total_wait = Duration::ZERO;
    let e = collect(&settings).unwrap();
    assert_eq!(
        notes(&e),
        [format!("render.events: events unavailable: HTTP 503 (no retry: this run's wait budget of 0 s is spent; a larger --timeout gives a larger budget) after 1 try (GET {}/services/{SRV}/events)", fake.url())]
    );
    assert_eq!(
        fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/events")
            .len(),
        1
    );
}

#[test]
fn a_response_over_the_byte_cap_is_not_read() {
    let mut fake = seed_fake();
    fake.faults.oversized = vec![("/services/srv-d3ii9qk9c44c73aqsli0/events".into(), 3 << 20)];
    let fake = fake.start();
    let mut settings = settings(&fake, SRV);
    settings.retry.max_body_bytes = 1 << 20;
    let e = collect(&settings).unwrap();
    let notes = notes(&e);
    assert!(
        notes.iter().any(|n| n.starts_with("render.events:")
            && n.contains("over the limit of 1048576 bytes; not read")),
        "{notes:?}"
    );
    assert_eq!(e.deploys.len(), 5);
}

#[test]
fn a_503_once_is_retried_and_nothing_is_missing() {
    let mut fake = seed_fake();
    fake.faults.unavailable_once = vec![
        "/services/srv-d3ii9qk9c44c73aqsli0/events".into(),
        "/logs".into(),
    ];
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    assert!(e.notes.is_empty(), "{:?}", notes(&e));
    assert_eq!(e.events.len(), 8);
    assert_eq!(e.logs.len(), 3 * capture_lines().len());
    let events: Vec<u16> = fake
        .requests_to("/services/srv-d3ii9qk9c44c73aqsli0/events")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(events, [503, 200]);
}

#[test]
fn a_source_that_stays_down_becomes_a_note_and_the_run_finishes() {
    let mut fake = seed_fake();
    fake.faults.always_unavailable = vec!["/services/srv-d3ii9qk9c44c73aqsli0/events".into()];
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    assert_eq!(
        notes(&e),
        [format!("render.events: events unavailable: HTTP 503 after 4 tries (GET {}/services/{SRV}/events)", fake.url())]
    );
    assert_eq!(
        fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/events")
            .len(),
        4
    );
    // Deploys and logs are all there; failures are known by status, not by event.
    assert_eq!(e.deploys.len(), 5);
    assert_eq!(e.logs.len(), 3 * capture_lines().len());
    let f = e.deploy("dep-fail-1").unwrap().failure.as_ref().unwrap();
    assert_eq!(
        (f.phase, f.exit_code, f.event_id.as_deref()),
        (Phase::Start, None, None)
    );
}

#[test]
fn timeouts_are_retried_then_noted() {
    let mut fake = seed_fake();
    fake.faults.latency = Duration::from_millis(400);
    let fake = fake.start();
    let mut s = settings(&fake, SRV);
    s.retry.request_timeout = Duration::from_millis(100);
    s.retry.max_attempts = 2;
    let e = collect(&s).unwrap();
    let n = notes(&e);
    assert!(
        n.contains(&format!(
            "render.deploys: deploys unavailable: timeout after 2 tries (GET {}/services/{SRV}/deploys)",
            fake.url()
        )),
        "{n:?}"
    );
    assert!(n.iter().any(|n| n.starts_with("render.service: service srv-d3ii9qk9c44c73aqsli0 details unavailable: timeout after 2 tries")), "{n:?}");
}

#[test]
fn logs_page_through_shared_boundaries_without_duplicates() {
    let mut fake = seed_fake();
    fake.deploys
        .retain(|d| d["id"] != "dep-fail-2" && d["id"] != "dep-fail-3");
    fake.logs = (0..10)
        // Pairs of lines share a timestamp, so page boundaries fall inside a pair.
        .map(|i| log(&format!("l{i:02}"), at(45, i / 2), &format!("line {i}")))
        .collect();
    fake.faults.logs_page_size = Some(3);
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    let ids: Vec<&str> = e.logs.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        ["l00", "l01", "l02", "l03", "l04", "l05", "l06", "l07", "l08", "l09"]
    );
    let pages = fake.requests_to("/logs");
    assert!(pages.len() >= 4, "{}", pages.len());
    assert_eq!(
        pages[1].param("endTime"),
        Some("2025-11-10T15:45:03Z"),
        "the next window ends at the oldest line seen"
    );
    assert!(e
        .logs
        .iter()
        .all(|l| l.deploy_id.as_deref() == Some("dep-fail-1")));
}

#[test]
fn logs_fall_back_to_limit_100_when_1000_is_refused() {
    let mut fake = seed_fake();
    fake.faults.logs_max_limit = Some(100);
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    assert!(e.notes.is_empty(), "{:?}", notes(&e));
    let limits: Vec<(String, u16)> = fake
        .requests_to("/logs")
        .iter()
        .map(|r| (r.param("limit").unwrap().to_string(), r.status))
        .collect();
    assert!(limits
        .iter()
        .filter(|(l, _)| l == "1000")
        .all(|(_, s)| *s == 400));
    assert_eq!(
        limits
            .iter()
            .filter(|(l, s)| l == "100" && *s == 200)
            .count(),
        3,
        "{limits:?}"
    );
}

#[test]
fn every_failure_reason_is_read_from_its_event() {
    let mut fake = seed_fake();
    fake.logs.clear();
    fake.deploys = of_service(vec![
        deploy("dep-good", "live", 0, 2, "g"),
        deploy("dep-build", "build_failed", 5, 8, "b"),
        deploy("dep-pre", "pre_deploy_failed", 10, 14, "p"),
        deploy("dep-health", "update_failed", 20, 35, "h"),
        deploy("dep-crash", "update_failed", 40, 45, "c"),
        deploy("dep-evict", "update_failed", 50, 55, "e"),
    ]);
    fake.events = vec![
        event(
            "evt-b",
            at(8, 0),
            "build_ended",
            json!({"buildId": "bld-9", "buildStatus": "failed", "reason": {"buildFailed": {"id": "bld-9"}, "failure": {"evicted": false, "oomKilled": {"memoryLimit": "2Gi"}}}}),
        ),
        event(
            "evt-p",
            at(14, 0),
            "pre_deploy_ended",
            json!({"deployId": "dep-pre", "deployCommandExecutionId": "dce-1", "preDeployStatus": "failed", "reason": {"failure": {"evicted": false, "nonZeroExit": 2, "timedOutSeconds": 1800, "timedOutReason": "pre-deploy timed out"}}}),
        ),
        deploy_ended(
            "evt-h",
            at(35, 0),
            "dep-health",
            json!({"evicted": false, "unhealthy": "GET /health returned 503", "earlyExit": false}),
        ),
        // A deploy_ended without a failure: the crash itself says how.
        event(
            "evt-c1",
            at(45, 0),
            "deploy_ended",
            json!({"deployId": "dep-crash", "deployStatus": "failed", "reason": {}}),
        ),
        event(
            "evt-c0",
            at(42, 0),
            "server_failed",
            json!({"instanceID": "srv-x-aaaaa", "reason": {"evicted": false, "earlyExit": true, "nonZeroExit": 3}}),
        ),
        event(
            "evt-e",
            at(53, 0),
            "server_failed",
            json!({"reason": {"evicted": true, "evictionReason": "node drained"}}),
        ),
    ];
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    let failure = |id: &str| e.deploy(id).unwrap().failure.clone().unwrap();

    let b = failure("dep-build");
    assert_eq!(
        (b.phase, b.event_id.as_deref()),
        (Phase::Build, Some("evt-b"))
    );
    assert_eq!(
        b.reason.unwrap().oom_killed_memory_limit.as_deref(),
        Some("2Gi")
    );

    let p = failure("dep-pre");
    assert_eq!(
        (p.phase, p.exit_code, p.event_id.as_deref()),
        (Phase::PreDeploy, Some(2), Some("evt-p"))
    );
    assert_eq!(p.reason.unwrap().timed_out_seconds, Some(1800));

    let h = failure("dep-health");
    assert_eq!((h.phase, h.exit_code), (Phase::HealthCheck, None));
    assert_eq!(
        h.reason.unwrap().unhealthy.as_deref(),
        Some("GET /health returned 503")
    );

    let c = failure("dep-crash");
    assert_eq!(
        (c.phase, c.exit_code, c.event_id.as_deref()),
        (Phase::Start, Some(3), Some("evt-c0"))
    );
    assert_eq!(c.reason.unwrap().early_exit, Some(true));

    let v = failure("dep-evict");
    let reason = v.reason.unwrap();
    assert!(reason.evicted);
    assert_eq!(reason.eviction_reason.as_deref(), Some("node drained"));
}

#[test]
fn an_explicit_window_is_sent_and_applied() {
    let fake = seed_fake().start();
    let mut s = settings(&fake, SRV);
    s.since = Some(at(40, 0));
    s.until = Some(at(60, 0));
    let e = collect(&s).unwrap();
    let ids: Vec<&str> = e.deploys.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["dep-fail-2", "dep-superseded", "dep-fail-1"]);
    let deploys = &fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/deploys")[0];
    assert_eq!(deploys.param("createdAfter"), Some("2025-11-10T15:39:59Z"));
    assert_eq!(deploys.param("createdBefore"), Some("2025-11-10T16:00:01Z"));
    let events = &fake.requests_to("/services/srv-d3ii9qk9c44c73aqsli0/events")[0];
    assert_eq!(events.param("startTime"), Some("2025-11-10T15:40:00Z"));
    assert_eq!(events.param("endTime"), Some("2025-11-10T16:01:00Z"));
}

#[test]
fn the_key_never_leaves_even_when_a_log_line_prints_it() {
    let mut fake = seed_fake();
    fake.logs.push(log(
        "log-leak",
        at(46, 30),
        &format!("debug: RENDER_API_KEY={KEY}"),
    ));
    fake.faults.always_unavailable = vec!["/services/srv-d3ii9qk9c44c73aqsli0/events".into()];
    let fake = fake.start();
    let e = collect(&settings(&fake, SRV)).unwrap();
    let leak = e.logs.iter().find(|l| l.id == "log-leak").unwrap();
    assert_eq!(
        leak.message,
        "debug: RENDER_API_KEY=[REDACTED:render-api-key]"
    );
    let all = format!("{} {:?}", serde_json::to_string_pretty(&e).unwrap(), e);
    assert!(!all.contains(KEY));
}

/// Offline import (`--render-data`), compared with what the API gives.
#[path = "render_collector/offline.rs"]
mod offline;
