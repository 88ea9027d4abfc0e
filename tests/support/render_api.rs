//! A loopback stand-in for Render's REST API, speaking real HTTP/1.1 with keep-alive, for
//! tests, examples and benchmarks. Include it with
//! `#[path = "../tests/support/render_api.rs"] mod render_api;`.
//!
//! It behaves like the real API as documented in `reference/render-api.md`: Bearer auth (401
//! with Render's error body otherwise), `[{item, cursor}]` lists served newest first with
//! `limit` ≤ 100 and "the cursor of the last item" paging, `/logs` with `hasMore` and
//! `nextStartTime`/`nextEndTime` whose windows share their boundary timestamp, and the
//! `now - 1h … now` default window when `startTime`/`endTime` are left out. Faults
//! (429 with `Retry-After: 1`, 503, latency, small log pages) are switched on per path prefix.
//!
//! Depends on std, serde_json and chrono only. It serves each connection on its own thread:
//! tiny_http's connection pool can leave a new keep-alive connection queued behind idle ones
//! until the client times out, which made parallel fetches stall for 30 s.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

const MAX_CURSOR_LIMIT: usize = 100;

pub struct FakeRender {
    pub api_key: String,
    /// Bare Service objects.
    pub services: Vec<Value>,
    /// Bare Deploy objects, in any order; a `serviceId` field ties one to a service (and is
    /// stripped when served), else it belongs to the only service.
    pub deploys: Vec<Value>,
    /// Bare ServiceEvent objects `{id, timestamp, serviceId, type, details}`.
    pub events: Vec<Value>,
    /// Bare Log objects `{id, message, timestamp, labels: [{name, value}]}` with a `resource` label.
    pub logs: Vec<Value>,
    pub faults: Faults,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Path prefixes answered `429` with `Retry-After: 1` the first time they are asked for.
    pub rate_limit_once: Vec<String>,
    /// Path prefixes answered `503` the first time.
    pub unavailable_once: Vec<String>,
    /// Path prefixes always answered `503`.
    pub always_unavailable: Vec<String>,
    /// Added before every answer.
    pub latency: Duration,
    /// Lines per `/logs` page whatever `limit` says (to force paging).
    pub logs_page_size: Option<usize>,
    /// `/logs` answers 400 to a `limit` above this (default 1000, as the Render CLI uses).
    pub logs_max_limit: Option<usize>,
    /// Path prefixes whose cursor lists ignore `cursor` and serve the first page again.
    pub ignore_cursor: Vec<String>,
    /// Path prefixes always answered `429` with `Retry-After: 3600`.
    pub rate_limit_for_an_hour: Vec<String>,
    /// Path prefixes always answered `429` with `Retry-After: 1`.
    pub rate_limit_always: Vec<String>,
    /// Path prefixes answered `200` with a JSON body of this many bytes.
    pub oversized: Vec<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// With the `/v1` prefix.
    pub path: String,
    /// Decoded, in order, repeated keys repeated.
    pub query: Vec<(String, String)>,
    /// Whether it carried the right Bearer key.
    pub authorized: bool,
    pub status: u16,
}

impl RecordedRequest {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub struct RunningFake {
    url: String,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

struct Shared {
    data: FakeRender,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    rate_limited: HashSet<String>,
    unavailable: HashSet<String>,
    requests: Vec<RecordedRequest>,
}

impl FakeRender {
    pub fn start(mut self) -> RunningFake {
        // Served lists are sorted per request; sorting them once here (in the order they are
        // served) leaves each request an already-sorted pass, so that a benchmark with
        // thousands of items measures the client, not this server's sorting.
        let newest_first = |key: &'static str| {
            move |a: &Value, b: &Value| {
                time_of(b, key)
                    .cmp(&time_of(a, key))
                    .then_with(|| id_of(a).cmp(id_of(b)))
            }
        };
        self.deploys.sort_by(newest_first("createdAt"));
        self.events.sort_by(newest_first("timestamp"));
        self.logs.sort_by(|a, b| {
            time_of(a, "timestamp")
                .cmp(&time_of(b, "timestamp"))
                .then_with(|| id_of(a).cmp(id_of(b)))
        });
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("fake Render API cannot listen on loopback: {e}"),
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        // Non-blocking accept, so that the thread notices `stop`.
        let _ = listener.set_nonblocking(true);
        let shared = Arc::new(Shared {
            data: self,
            state: Mutex::new(State::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (shared, stop, connections) = (shared.clone(), stop.clone(), connections.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (shared, stop) = (shared.clone(), stop.clone());
                            let handle = std::thread::spawn(move || {
                                serve_connection(stream, &shared, &stop)
                            });
                            if let Ok(mut c) = connections.lock() {
                                c.push(handle);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        RunningFake {
            url: format!("http://127.0.0.1:{port}/v1"),
            shared,
            stop,
            acceptor: Some(acceptor),
            connections,
        }
    }
}

impl RunningFake {
    /// `http://127.0.0.1:PORT/v1`
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.state).requests.clone()
    }

    /// Requests whose path starts with `prefix` (with or without `/v1`).
    pub fn requests_to(&self, prefix: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| matches_prefix(&r.path, prefix))
            .collect()
    }
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        let handles: Vec<JoinHandle<()>> = match self.connections.lock() {
            Ok(mut c) => c.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for h in handles {
            let _ = h.join();
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Answer {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Answer {
            status,
            body: json!({"id": format!("err-{status}"), "message": message}),
            headers: Vec::new(),
        }
    }
}

/// One request's head: method, target and the headers that matter here.
struct Head {
    method: String,
    target: String,
    authorization: Option<String>,
    content_length: usize,
    close: bool,
}

/// Serves requests on one keep-alive connection until the client closes it or `stop` is set.
fn serve_connection(stream: TcpStream, shared: &Shared, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    // A short read timeout only so that an idle connection notices `stop`.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    while !stop.load(Ordering::Relaxed) {
        let head = match read_head(&mut reader, stop) {
            Some(Ok(head)) => head,
            Some(Err(())) => {
                let _ = write_response(&mut writer, 400, &json!({"message": "bad request"}), &[]);
                return;
            }
            None => return,
        };
        if head.content_length > 0 {
            let mut body = vec![0u8; head.content_length.min(1 << 20)];
            if read_exact_patiently(&mut reader, &mut body, stop).is_err() {
                return;
            }
        }
        let answer = answer(shared, &head);
        if write_response(&mut writer, answer.status, &answer.body, &answer.headers).is_err() {
            return;
        }
        if head.close {
            return;
        }
    }
}

/// Reads one line, retrying on the idle timeout; `None` on EOF, error or `stop`.
fn read_line_patiently(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<String> {
    let mut line = Vec::new();
    loop {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) if line.ends_with(b"\n") => {
                return Some(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            Ok(_) => return None,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

fn read_exact_patiently(
    reader: &mut BufReader<TcpStream>,
    buf: &mut [u8],
    stop: &AtomicBool,
) -> Result<(), ()> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Err(()),
            Ok(n) => filled += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::Relaxed) {
                    return Err(());
                }
            }
            Err(_) => return Err(()),
        }
    }
    Ok(())
}

fn read_head(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<Result<Head, ()>> {
    let request_line = read_line_patiently(reader, stop)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Some(Err(()));
    };
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        authorization: None,
        content_length: 0,
        close: version == "HTTP/1.0",
    };
    loop {
        let line = read_line_patiently(reader, stop)?;
        if line.is_empty() {
            return Some(Ok(head));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Some(Err(()));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "authorization" => head.authorization = Some(value.to_string()),
            "content-length" => head.content_length = value.parse().unwrap_or(0),
            "connection" => head.close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(
    writer: &mut TcpStream,
    status: u16,
    body: &Value,
    extra: &[(&'static str, String)],
) -> std::io::Result<()> {
    let body = body.to_string();
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
        reason_phrase(status),
        body.len()
    );
    let mut headers: Vec<(&str, String)> = vec![
        ("Ratelimit-Limit", "400".to_string()),
        ("Ratelimit-Remaining", "399".to_string()),
        ("Ratelimit-Reset", "60".to_string()),
    ];
    for (name, value) in extra {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name, value.clone()));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    writer.write_all(out.as_bytes())?;
    writer.flush()
}

fn answer(shared: &Shared, head: &Head) -> Answer {
    let (path, query) = split_url(&head.target);
    let expected = format!("Bearer {}", shared.data.api_key);
    let authorized = head.authorization.as_deref() == Some(expected.as_str());
    if !shared.data.faults.latency.is_zero() {
        std::thread::sleep(shared.data.faults.latency);
    }
    let answer = if !authorized {
        Answer::error(401, "unauthorized")
    } else if head.method != "GET" {
        Answer::error(405, "method not allowed")
    } else {
        fault(shared, &path).unwrap_or_else(|| route(&shared.data, &path, &query))
    };
    lock(&shared.state).requests.push(RecordedRequest {
        method: head.method.clone(),
        path,
        query,
        authorized,
        status: answer.status,
    });
    answer
}

fn matches_prefix(path: &str, prefix: &str) -> bool {
    path.starts_with(prefix)
        || path
            .strip_prefix("/v1")
            .is_some_and(|p| p.starts_with(prefix))
}

fn fault(shared: &Shared, path: &str) -> Option<Answer> {
    let faults = &shared.data.faults;
    let hit = |list: &[String]| list.iter().find(|p| matches_prefix(path, p)).cloned();
    if hit(&faults.always_unavailable).is_some() {
        return Some(Answer::error(503, "service unavailable"));
    }
    if hit(&faults.rate_limit_for_an_hour).is_some() {
        let mut a = Answer::error(429, "rate limit exceeded");
        a.headers.push(("Retry-After", "3600".to_string()));
        a.headers.push(("Ratelimit-Remaining", "0".to_string()));
        return Some(a);
    }
    if hit(&faults.rate_limit_always).is_some() {
        let mut a = Answer::error(429, "rate limit exceeded");
        a.headers.push(("Retry-After", "1".to_string()));
        a.headers.push(("Ratelimit-Remaining", "0".to_string()));
        return Some(a);
    }
    if let Some((_, size)) = faults
        .oversized
        .iter()
        .find(|(p, _)| matches_prefix(path, p))
    {
        let filler = "x".repeat(size.saturating_sub(16));
        return Some(Answer::ok(Value::Array(vec![Value::String(filler)])));
    }
    let mut state = lock(&shared.state);
    if let Some(prefix) = hit(&faults.rate_limit_once) {
        if state.rate_limited.insert(prefix) {
            let mut a = Answer::error(429, "rate limit exceeded");
            a.headers.push(("Retry-After", "1".to_string()));
            a.headers.push(("Ratelimit-Remaining", "0".to_string()));
            return Some(a);
        }
    }
    if let Some(prefix) = hit(&faults.unavailable_once) {
        if state.unavailable.insert(prefix) {
            return Some(Answer::error(503, "service unavailable"));
        }
    }
    None
}

fn route(data: &FakeRender, path: &str, query: &[(String, String)]) -> Answer {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "services"] => list_services(data, path, query),
        ["v1", "services", id] => match find_service(data, id) {
            Some(s) => Answer::ok(s.clone()),
            None => Answer::error(404, "Unable to find the requested resource."),
        },
        ["v1", "services", id, "deploys"] => list_deploys(data, path, id, query),
        ["v1", "services", id, "deploys", deploy_id] => {
            match deploys_of(data, id)
                .into_iter()
                .find(|d| id_of(d) == *deploy_id)
            {
                Some(d) if find_service(data, id).is_some() => Answer::ok(served_deploy(d)),
                _ => Answer::error(404, "Unable to find the requested resource."),
            }
        }
        ["v1", "services", id, "events"] => list_events(data, path, id, query),
        ["v1", "logs"] => list_logs(data, query),
        _ => Answer::error(404, "not found"),
    }
}

fn find_service<'a>(data: &'a FakeRender, id: &str) -> Option<&'a Value> {
    data.services.iter().find(|s| id_of(s) == id)
}

fn id_of(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or("")
}

fn time_of(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn time_param(query: &[(String, String)], key: &str) -> Result<Option<DateTime<Utc>>, Answer> {
    match param(query, key) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| Answer::error(400, &format!("invalid {key}: {v}"))),
    }
}

/// Serves `items` (already in order) as `[{key: item, cursor}]`, after the given cursor.
fn cursor_page(
    path: &str,
    key: &str,
    items: Vec<&Value>,
    query: &[(String, String)],
    ignore_cursor: &[String],
) -> Answer {
    let limit = match param(query, "limit").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=MAX_CURSOR_LIMIT).contains(&n) => n,
        Some(_) => return Answer::error(400, "limit must be between 1 and 100"),
    };
    let cursor_of = |v: &Value| format!("cur-{}", id_of(v));
    let start = match param(query, "cursor") {
        Some(_) if ignore_cursor.iter().any(|p| matches_prefix(path, p)) => 0,
        None => 0,
        Some(c) => match items.iter().position(|v| cursor_of(v) == c) {
            Some(i) => i + 1,
            None => return Answer::error(400, "invalid cursor"),
        },
    };
    let page: Vec<Value> = items
        .iter()
        .skip(start)
        .take(limit)
        .map(|v| {
            let item = if key == "deploy" {
                served_deploy(v)
            } else {
                (*v).clone()
            };
            json!({key: item, "cursor": cursor_of(v)})
        })
        .collect();
    Answer::ok(Value::Array(page))
}

fn list_services(data: &FakeRender, path: &str, query: &[(String, String)]) -> Answer {
    // `name` is form-encoded without explode: several names are comma-joined.
    let names: Option<Vec<&str>> = param(query, "name").map(|n| n.split(',').collect());
    let items = data
        .services
        .iter()
        .filter(|s| {
            names.as_ref().is_none_or(|names| {
                names.contains(&s.get("name").and_then(Value::as_str).unwrap_or(""))
            })
        })
        .collect();
    cursor_page(path, "service", items, query, &data.faults.ignore_cursor)
}

/// The service's deploys, newest first (`start` sorted them), `serviceId` still in.
fn deploys_of<'a>(data: &'a FakeRender, service_id: &str) -> Vec<&'a Value> {
    let only_one = data.services.len() == 1;
    data.deploys
        .iter()
        .filter(|d| match d.get("serviceId").and_then(Value::as_str) {
            Some(s) => s == service_id,
            None => only_one,
        })
        .collect()
}

/// A deploy as served: without the `serviceId` that tied it to its service here.
fn served_deploy(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(obj) = d.as_object_mut() {
        obj.remove("serviceId");
    }
    d
}

fn list_deploys(data: &FakeRender, path: &str, id: &str, query: &[(String, String)]) -> Answer {
    if find_service(data, id).is_none() {
        return Answer::error(404, "Unable to find the requested resource.");
    }
    let (after, before) = match (
        time_param(query, "createdAfter"),
        time_param(query, "createdBefore"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let statuses: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str())
        .collect();
    let items = deploys_of(data, id)
        .into_iter()
        .filter(|d| {
            // Strict bounds: whether Render's are inclusive is not documented, so the client
            // must not depend on it.
            let created = time_of(d, "createdAt");
            after.is_none_or(|a| created.is_some_and(|c| c > a))
                && before.is_none_or(|b| created.is_some_and(|c| c < b))
                && (statuses.is_empty()
                    || statuses.contains(&d.get("status").and_then(Value::as_str).unwrap_or("")))
        })
        .collect();
    cursor_page(path, "deploy", items, query, &data.faults.ignore_cursor)
}

/// Render's documented default when a bound is left out: the last hour.
fn window(query: &[(String, String)]) -> Result<(DateTime<Utc>, DateTime<Utc>), Answer> {
    let now = Utc::now();
    let start = time_param(query, "startTime")?.unwrap_or(now - chrono::Duration::hours(1));
    let end = time_param(query, "endTime")?.unwrap_or(now);
    Ok((start, end))
}

fn list_events(data: &FakeRender, path: &str, id: &str, query: &[(String, String)]) -> Answer {
    if find_service(data, id).is_none() {
        return Answer::error(404, "Unable to find the requested resource.");
    }
    let (start, end) = match window(query) {
        Ok(w) => w,
        Err(e) => return e,
    };
    // Newest first: `start` sorted them.
    let items: Vec<&Value> = data
        .events
        .iter()
        .filter(|e| {
            e.get("serviceId")
                .and_then(Value::as_str)
                .is_none_or(|s| s == id)
        })
        .filter(|e| time_of(e, "timestamp").is_some_and(|t| t >= start && t <= end))
        .collect();
    cursor_page(path, "event", items, query, &data.faults.ignore_cursor)
}

fn resource_of(log: &Value) -> Option<&str> {
    log.get("labels")?
        .as_array()?
        .iter()
        .find(|l| l.get("name").and_then(Value::as_str) == Some("resource"))?
        .get("value")?
        .as_str()
}

fn list_logs(data: &FakeRender, query: &[(String, String)]) -> Answer {
    let Some(owner) = param(query, "ownerId") else {
        return Answer::error(400, "ownerId is required");
    };
    let resources: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "resource")
        .map(|(_, v)| v.as_str())
        .collect();
    if resources.is_empty() {
        return Answer::error(400, "resource is required");
    }
    for r in &resources {
        let owned = find_service(data, r)
            .and_then(|s| s.get("ownerId"))
            .and_then(Value::as_str)
            == Some(owner);
        if !owned {
            return Answer::error(
                400,
                &format!("resource {r} does not belong to owner {owner}"),
            );
        }
    }
    let max = data.faults.logs_max_limit.unwrap_or(1000);
    let limit = match param(query, "limit").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => return Answer::error(400, &format!("limit must be between 1 and {max}")),
    };
    let page_size = data.faults.logs_page_size.map_or(limit, |p| p.min(limit));
    let (start, end) = match window(query) {
        Ok(w) => w,
        Err(e) => return e,
    };
    let forward = param(query, "direction") == Some("forward");
    let mut lines: Vec<(DateTime<Utc>, &Value)> = data
        .logs
        .iter()
        .filter(|l| resource_of(l).is_some_and(|r| resources.contains(&r)))
        .filter_map(|l| Some((time_of(l, "timestamp")?, l)))
        .filter(|(t, _)| *t >= start && *t <= end)
        .collect();
    // Oldest first: `start` sorted them.
    if !forward {
        lines.reverse();
    }
    let has_more = lines.len() > page_size;
    let page: Vec<(DateTime<Utc>, &Value)> = lines.into_iter().take(page_size).collect();
    let last = page.last().map(|(t, _)| *t);
    // The next window includes the boundary timestamp, so lines there come again.
    let (next_start, next_end) = match (has_more, last) {
        (true, Some(t)) if forward => (t, end),
        (true, Some(t)) => (start, t),
        _ => (start, end),
    };
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    Answer::ok(json!({
        "hasMore": has_more,
        "nextStartTime": stamp(next_start),
        "nextEndTime": stamp(next_end),
        "logs": page.into_iter().map(|(_, l)| l.clone()).collect::<Vec<_>>(),
    }))
}

fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (percent_decode(path), pairs)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let decoded = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match decoded {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
