//! `postmortem collect` against a loopback Render API with 20 ms of latency per request,
//! compared with the fewest sequential round trips the API allows for the same data.
//!
//! `cargo bench --bench render_collect [-- --runs N] [-- --bin PATH]` (default binary:
//! `target/release/postmortem`). It starts the fake API (`tests/support/render_api.rs`) with
//! 1,000 deploys (one in ten failed, with the 41-line deploy log of the seed incident each),
//! their 4,000 events, and a 1,000-commit repository whose commits the deploys name; then
//! runs the real binary N times over the whole window and an "ideal client" N times, and
//! prints one JSON line (for `bench/run.sh`) after a readable summary.
//!
//! The lower bound (docs/benchmarks.md): Render's lists are cursor chains (each page needs the
//! previous page's last cursor) and `/logs` is a `hasMore` chain, so any client that reads the
//! same data through the API's paging waits at least for the longest chain of dependent
//! requests, given unlimited concurrency between independent chains:
//!   max( event pages,
//!        deploy pages,
//!        for each failed deploy: the deploy page that lists it (or the service lookup that
//!        gives the owner id /logs needs, whichever is later) + its log pages )
//! round trips. A list of n items at 100 a page takes floor(n/100)+1 pages (a full page does
//! not say it is the last). `computed` is that number times the latency; `ideal` is a client
//! that does exactly that, every chain on its own thread, measured against the same server.

#[path = "../tests/support/render_api.rs"]
mod render_api;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use render_api::{FakeRender, Faults};
use serde_json::{json, Value};

const DEPLOYS: usize = 1000;
const LATENCY: Duration = Duration::from_millis(20);
const SERVICE_ID: &str = "srv-bench0000000000000000";
const OWNER_ID: &str = "tea-bench0000000000000000";
const API_KEY: &str = "rnd_BenchKeyN0tReal000000000000";
const DEPLOY_LOG: &str = include_str!("../tests/fixtures/seed/deploy_log.txt");
const PAGE: usize = 100;
const LOG_PAGE: usize = 1000;

fn url_with(url: &str, query: &[(&str, String)]) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    Ok(url)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git {args:?}: {e}"))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(input)
            .map_err(|e| e.to_string())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("git {args:?} failed: {}", out.status));
    }
    Ok(out.stdout)
}

/// One commit per deploy, a migration every 50th; fixed times, so fixed SHAs.
fn make_repo(dir: &Path) -> Result<Vec<String>, String> {
    git(dir, &["init", "--quiet"], None)?;
    git(dir, &["symbolic-ref", "HEAD", "refs/heads/main"], None)?;
    let mut stream = Vec::new();
    let mut previous_rev: Option<String> = None;
    for n in 1..=DEPLOYS {
        let time = start_time().timestamp() - 600 + 1800 * n as i64;
        let message = format!("Change {n}\n");
        let _ = write!(
            stream,
            "commit refs/heads/main\nmark :{n}\nauthor Bench <bench@example.com> {time} +0000\ncommitter Bench <bench@example.com> {time} +0000\ndata {}\n{message}\n",
            message.len()
        );
        if n > 1 {
            let _ = writeln!(stream, "from :{}", n - 1);
        }
        let body = format!("VALUE = {n}\n");
        let _ = write!(
            stream,
            "M 100644 inline app/module_{}.py\ndata {}\n{body}\n",
            n % 50,
            body.len()
        );
        if n % 50 == 1 {
            let rev = format!("{:012x}", 0xa000_0000_0000u64 + n as u64);
            let down = previous_rev
                .as_deref()
                .map_or("None".to_string(), |d| format!("'{d}'"));
            let text = format!(
                "revision = '{rev}'\ndown_revision = {down}\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\ndef upgrade():\n    op.add_column('t', sa.Column('c{n}', sa.Integer(), nullable=True))\n"
            );
            let _ = write!(
                stream,
                "M 100644 inline app/alembic/versions/{rev}_m{n}.py\ndata {}\n{text}\n",
                text.len()
            );
            previous_rev = Some(rev);
        }
        stream.push(b'\n');
    }
    git(dir, &["fast-import", "--quiet"], Some(&stream))?;
    git(dir, &["checkout", "--quiet", "--force", "main"], None)?;
    let shas = git(dir, &["rev-list", "--reverse", "main"], None)?;
    Ok(String::from_utf8_lossy(&shas)
        .lines()
        .map(str::to_string)
        .collect())
}

fn status_of(n: usize) -> &'static str {
    match n {
        _ if n == DEPLOYS - 1 => "live",
        _ if n % 10 == 3 => "update_failed",
        _ if n % 25 == 7 => "canceled",
        _ => "deactivated",
    }
}

struct Data {
    deploys: Vec<Value>,
    events: Vec<Value>,
    logs: Vec<Value>,
}

fn make_data(shas: &[String]) -> Data {
    let lines: Vec<&str> = DEPLOY_LOG.lines().collect();
    let (mut deploys, mut events, mut logs) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..DEPLOYS {
        let created = start_time() + chrono::Duration::minutes(30 * n as i64);
        let status = status_of(n);
        let failed = status == "update_failed";
        let deploy_id = format!("dep-bench{n:016}");
        let sha = shas.get(n).cloned().unwrap_or_default();
        let built = created + chrono::Duration::seconds(if failed { 7 } else { 48 });
        let finished = created + chrono::Duration::seconds(if failed { 16 } else { 131 });
        deploys.push(json!({
            "id": deploy_id,
            "commit": {"id": sha, "message": format!("Change {}\n", n + 1), "createdAt": iso(created - chrono::Duration::seconds(600))},
            "status": status,
            "trigger": "new_commit",
            "createdAt": iso(created),
            "startedAt": iso(created + chrono::Duration::seconds(1)),
            "updatedAt": iso(finished),
            "finishedAt": iso(finished),
        }));
        let event = |kind: &str, t: DateTime<Utc>, details: Value| json!({"id": format!("evt-{kind}-{n:06}"), "timestamp": iso(t), "serviceId": SERVICE_ID, "type": kind, "details": details});
        let build_id = format!("bld-bench{n:016}");
        events.push(event(
            "build_started",
            created + chrono::Duration::seconds(1),
            json!({"buildId": build_id}),
        ));
        events.push(event(
            "build_ended",
            built,
            json!({"buildId": build_id, "buildStatus": "succeeded", "reason": {}, "status": 2}),
        ));
        events.push(event(
            "deploy_started",
            built + chrono::Duration::seconds(1),
            json!({"deployId": deploy_id}),
        ));
        let ended = if failed {
            json!({"deployId": deploy_id, "deployStatus": "failed", "reason": {"failure": {"evicted": false, "nonZeroExit": 1}}, "status": 3})
        } else {
            json!({"deployId": deploy_id, "deployStatus": "succeeded", "reason": {}, "status": 2})
        };
        events.push(event("deploy_ended", finished, ended));
        if failed {
            for (i, line) in lines.iter().enumerate() {
                logs.push(json!({
                    "id": format!("log-{n:06}-{i:03}"),
                    "message": line,
                    "timestamp": iso(built + chrono::Duration::milliseconds(3000 + 40 * i as i64)),
                    "labels": [
                        {"name": "resource", "value": SERVICE_ID},
                        {"name": "instance", "value": format!("{SERVICE_ID}-{n:05}")},
                        {"name": "type", "value": "app"},
                    ],
                }));
            }
        }
    }
    Data {
        deploys,
        events,
        logs,
    }
}

fn service() -> Value {
    json!({
        "id": SERVICE_ID, "name": "bench-backend", "ownerId": OWNER_ID, "type": "web_service",
        "createdAt": "2024-12-01T00:00:00Z", "updatedAt": "2025-01-21T00:00:00Z",
        "suspended": "not_suspended", "autoDeploy": "yes", "branch": "main",
        "serviceDetails": {"env": "docker", "runtime": "docker", "plan": "starter", "region": "oregon", "numInstances": 1},
    })
}

/// The lower bound in round trips (see the module doc), from the data alone.
fn critical_path(data: &Data) -> (usize, String) {
    let pages = |n: usize| n / PAGE + 1;
    // Served newest first: the deploy at newest-first position p is on page p/100 + 1.
    let mut failed_positions: Vec<usize> = Vec::new();
    for (p, n) in (0..DEPLOYS).rev().enumerate() {
        if status_of(n) == "update_failed" {
            failed_positions.push(p);
        }
    }
    let log_pages = DEPLOY_LOG.lines().count() / LOG_PAGE + 1;
    let logs_chain = failed_positions
        .iter()
        .map(|p| (p / PAGE + 1).max(1) + log_pages)
        .max()
        .unwrap_or(0);
    let deploys_chain = pages(data.deploys.len());
    let events_chain = pages(data.events.len());
    let longest = events_chain.max(deploys_chain).max(logs_chain);
    (
        longest,
        format!("events {events_chain}, deploys {deploys_chain}, deploy page + logs {logs_chain}"),
    )
}

/// Reads every page of a cursor list, one request after the other.
fn cursor_chain(
    http: &reqwest::blocking::Client,
    url: &str,
    query: &[(&str, String)],
    key: &str,
    mut on_page: impl FnMut(&[Value]),
) -> Result<usize, String> {
    let mut cursor: Option<String> = None;
    let mut items = 0;
    loop {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("limit", PAGE.to_string()));
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page: Vec<Value> = http
            .get(url_with(url, &q)?)
            .bearer_auth(API_KEY)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("{url}: {e}"))?;
        let found: Vec<Value> = page.iter().filter_map(|r| r.get(key).cloned()).collect();
        items += found.len();
        on_page(&found);
        if page.len() < PAGE {
            return Ok(items);
        }
        cursor = page
            .last()
            .and_then(|r| r.get("cursor"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
}

fn log_chain(
    http: &reqwest::blocking::Client,
    base: &str,
    span: (String, String),
) -> Result<usize, String> {
    let (mut start, mut end) = span;
    let mut lines = 0;
    loop {
        let q = [
            ("ownerId", OWNER_ID.to_string()),
            ("resource", SERVICE_ID.to_string()),
            ("startTime", start.clone()),
            ("endTime", end.clone()),
            ("direction", "backward".to_string()),
            ("limit", LOG_PAGE.to_string()),
        ];
        let page: Value = http
            .get(url_with(&format!("{base}/logs"), &q)?)
            .bearer_auth(API_KEY)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("/logs: {e}"))?;
        lines += page
            .get("logs")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if page.get("hasMore").and_then(Value::as_bool) != Some(true) {
            return Ok(lines);
        }
        let next = |k: &str| page.get(k).and_then(Value::as_str).map(str::to_string);
        start = next("nextStartTime").unwrap_or(start);
        end = next("nextEndTime").unwrap_or(end);
    }
}

/// The clairvoyant client of the lower bound: every chain on its own thread, each failed
/// deploy's logs asked for as soon as the page listing it (and the owner id) is in hand.
fn ideal_client(base: &str, since: &str, until: &str) -> Result<(usize, usize), String> {
    postmortem::collect::render::client::install_tls_provider();
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| e.to_string())?;
    let lines = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let items = std::thread::scope(|scope| -> Result<usize, String> {
        let events = scope.spawn(|| {
            cursor_chain(
                &http,
                &format!("{base}/services/{SERVICE_ID}/events"),
                &[
                    ("startTime", since.to_string()),
                    ("endTime", until.to_string()),
                ],
                "event",
                |_| {},
            )
        });
        let service = scope.spawn(|| {
            http.get(format!("{base}/services/{SERVICE_ID}"))
                .bearer_auth(API_KEY)
                .send()
                .and_then(|r| r.json::<Value>())
                .map_err(|e| e.to_string())
        });
        let mut log_threads = Vec::new();
        let deploys = cursor_chain(
            &http,
            &format!("{base}/services/{SERVICE_ID}/deploys"),
            &[
                ("createdAfter", since.to_string()),
                ("createdBefore", until.to_string()),
            ],
            "deploy",
            |page| {
                for d in page {
                    if d.get("status").and_then(Value::as_str) != Some("update_failed") {
                        continue;
                    }
                    let at = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let end = DateTime::parse_from_rfc3339(&at("finishedAt"))
                        .map(|t| iso(t.with_timezone(&Utc) + chrono::Duration::seconds(60)))
                        .unwrap_or_default();
                    let span = (at("startedAt"), end);
                    let (http, lines) = (&http, lines.clone());
                    log_threads.push(scope.spawn(move || {
                        let n = log_chain(http, base, span)?;
                        lines.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        Ok::<(), String>(())
                    }));
                }
            },
        )?;
        service
            .join()
            .map_err(|_| "service thread died".to_string())??;
        for t in log_threads {
            t.join().map_err(|_| "log thread died".to_string())??;
        }
        let events = events
            .join()
            .map_err(|_| "events thread died".to_string())??;
        Ok(deploys + events)
    })?;
    Ok((items, lines.load(std::sync::atomic::Ordering::Relaxed)))
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_kb(cmd: &mut Command) -> Option<u64> {
    let out = tempfile::NamedTempFile::new().ok()?;
    let program = cmd.get_program().to_owned();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(out.path())
        .arg(program)
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(())?;
    std::fs::read_to_string(out.path())
        .ok()?
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = arg(&args, "--runs")
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let bin = arg(&args, "--bin")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("POSTMORTEM_BIN").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/release/postmortem"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
    let shas = make_repo(&repo)?;
    let data = make_data(&shas);
    let (round_trips, chains) = critical_path(&data);
    let (n_deploys, n_events, n_logs) = (data.deploys.len(), data.events.len(), data.logs.len());
    let failed = (0..DEPLOYS)
        .filter(|n| status_of(*n) == "update_failed")
        .count();
    let fake = FakeRender {
        api_key: API_KEY.to_string(),
        services: vec![service()],
        deploys: data.deploys,
        events: data.events,
        logs: data.logs,
        faults: Faults {
            latency: LATENCY,
            ..Faults::default()
        },
    }
    .start();
    let base = fake.url();
    let since = iso(start_time() - chrono::Duration::minutes(5));
    let until = iso(start_time() + chrono::Duration::minutes(30 * DEPLOYS as i64));
    let out = dir.path().join("evidence.json");
    let command = || {
        let mut c = Command::new(&bin);
        c.args([
            "collect",
            "--quiet",
            "--service",
            SERVICE_ID,
            "--render-api-url",
        ])
        .arg(&base)
        .arg("--repo")
        .arg(&repo)
        .args(["--since", &since, "--until", &until, "--now", &until])
        .arg("-o")
        .arg(&out)
        .env("RENDER_API_KEY", API_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        c
    };

    let mut ours = Vec::new();
    let mut ideal = Vec::new();
    let mut requests = 0;
    for _ in 0..runs {
        let before = fake.requests().len();
        let started = Instant::now();
        let output = command()
            .output()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        ours.push(started.elapsed().as_secs_f64());
        requests = fake.requests().len() - before;
        // 3: written, but partial (it is not: every source answered); anything else is a failure.
        if !output.status.success() {
            return Err(format!(
                "postmortem collect failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let started = Instant::now();
        ideal_client(&base, &since, &until)?;
        ideal.push(started.elapsed().as_secs_f64());
    }
    let evidence: Value = std::fs::read(&out)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let count = |k: &str| {
        evidence
            .get(k)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    let (got_deploys, got_events, got_logs) = (count("deploys"), count("events"), count("logs"));
    let before = fake.requests().len();
    let (ideal_items, ideal_lines) = ideal_client(&base, &since, &until)?;
    let ideal_requests = fake.requests().len() - before;
    let rss = peak_rss_kb(&mut command());
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let computed = round_trips as f64 * LATENCY.as_secs_f64();
    println!(
        "corpus: {n_deploys} deploys ({failed} failed), {n_events} events, {n_logs} log lines; latency {} ms",
        LATENCY.as_millis()
    );
    println!(
        "postmortem collect: {requests} requests; evidence has {got_deploys} deploys, {got_events} events, {got_logs} log lines"
    );
    println!(
        "ideal client: {ideal_requests} requests, {ideal_items} deploys+events, {ideal_lines} log lines"
    );
    println!("critical path: {round_trips} round trips ({chains}) = {computed:.3} s");
    println!(
        "postmortem collect best of {runs}: {:.3} s (worst {:.3}); ideal client best {:.3} s (worst {:.3}); ratio {:.2} (target <= 1.30); vs computed bound {:.2}",
        best(&ours),
        worst(&ours),
        best(&ideal),
        worst(&ideal),
        best(&ours) / best(&ideal),
        best(&ours) / computed
    );
    println!(
        "{}",
        json!({
            "workload": "render_collect",
            "ours": ours, "reference": ideal, "computed_bound": computed,
            "round_trips": round_trips, "requests": requests, "ideal_requests": ideal_requests,
            "rss_kb": rss,
            "evidence": {"deploys": got_deploys, "events": got_events, "logs": got_logs},
        })
    );
    Ok(())
}
