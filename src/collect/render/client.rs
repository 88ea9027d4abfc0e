//! HTTP to Render's API: Bearer auth, timeouts, and retries that honour Render's rate limit.
//!
//! Every GET goes through [`Client::get`]. A 429 waits for `Retry-After` (else `RateLimit-Reset`,
//! read as seconds or as an epoch), and makes every other thread of the same client wait too,
//! since Render's GETs share one bucket per user. A 5xx, a timeout or a dropped connection is
//! retried with exponential backoff and jitter, up to [`RetryPolicy::max_attempts`] tries. Every
//! single sleep is capped by [`RetryPolicy::max_sleep`] (tests set it low so that they never wait
//! long; the default honours Render's longest documented reset), and all the sleeps of a run
//! together by [`RetryPolicy::max_total_wait`]: a wait that would pass it is not begun, so a
//! server answering `Retry-After: 3600` costs one request, not minutes. A body is read up to
//! [`RetryPolicy::max_body_bytes`] and no further.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::blocking::Response;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::Url;
use serde_json::Value;

/// The environment variable Render's own CLI reads, and so does this tool.
pub const API_KEY_VAR: &str = "RENDER_API_KEY";

/// A Render API key. It can only leave this type as an `Authorization` header: `Debug` and
/// `Display` print `ApiKey(****)`, and it is never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// `RENDER_API_KEY` when it is set and not blank.
    pub fn from_env() -> Option<Self> {
        std::env::var(API_KEY_VAR)
            .ok()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(ApiKey)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Removes the key from text that came back from the server (an error body that echoes
    /// the request, say) before that text goes into an error or a note.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) {
            text.replace(&self.0, "****")
        } else {
            text.to_string()
        }
    }
}

impl ApiKey {
    /// Replaces the key where collected text (a log line, a commit message) contains it,
    /// counting the replacements as `render-api-key`.
    pub(crate) fn redact_in(
        &self,
        text: &mut String,
        counts: &mut std::collections::BTreeMap<String, u32>,
    ) {
        if self.0.len() >= 4 && text.contains(&self.0) {
            let n = text.matches(&self.0).count() as u32;
            *text = text.replace(
                &self.0,
                &crate::redact::marker(crate::redact::RENDER_API_KEY),
            );
            *counts
                .entry(crate::redact::RENDER_API_KEY.to_string())
                .or_default() += n;
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

/// How hard to try before calling a source unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request for 5xx, timeouts and connection failures (the first try included).
    pub max_attempts: u32,
    /// Waits on 429 per request before giving up on it.
    pub max_rate_limit_waits: u32,
    /// First backoff; doubles on each retry, with jitter.
    pub base_delay: Duration,
    /// Cap on any one sleep, `Retry-After` included.
    pub max_sleep: Duration,
    pub connect_timeout: Duration,
    /// Whole-request timeout (headers and body).
    pub request_timeout: Duration,
    /// Print each retry on stderr as it happens (off with --quiet).
    pub announce_retries: bool,
    /// All the sleeps of one client together (backoffs and rate-limit waits, every thread's
    /// counted): past it, a failing request gives up instead of waiting.
    pub max_total_wait: Duration,
    /// Largest response body read; a larger one is not read (Render's pages are at most a few
    /// hundred KB).
    pub max_body_bytes: u64,
}

/// The run's total wait budget is this many times the per-response timeout, so that
/// `--timeout` scales both: the default 30 s gives 90 s of waits, `--timeout 5` gives 15 s.
pub const WAIT_BUDGET_PER_TIMEOUT: u32 = 3;

impl RetryPolicy {
    /// The timeouts and the wait budget `--timeout SECS` (or `timeout:`) asks for: `timeout`
    /// to connect and for each response, [`WAIT_BUDGET_PER_TIMEOUT`] times it for all the
    /// waits of the run, and no single sleep longer than that budget.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        let budget = timeout * WAIT_BUDGET_PER_TIMEOUT;
        RetryPolicy {
            connect_timeout: timeout,
            request_timeout: timeout,
            max_total_wait: budget,
            max_sleep: self.max_sleep.min(budget),
            ..self
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_rate_limit_waits: 6,
            base_delay: Duration::from_millis(500),
            max_sleep: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            announce_retries: false,
            max_total_wait: Duration::from_secs(30) * WAIT_BUDGET_PER_TIMEOUT,
            max_body_bytes: 32 << 20,
        }
    }
}

/// Why a GET did not give a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// 401/403: the key is missing, wrong, or cannot see this resource. Stops collection.
    Rejected {
        status: u16,
        message: String,
    },
    NotFound {
        message: String,
    },
    /// Another 4xx: the request itself is wrong (a limit above the maximum, say).
    BadRequest {
        status: u16,
        message: String,
    },
    /// Still failing after every retry: `what` is the last failure ("HTTP 503", "timeout"),
    /// `url` what was asked for (without its query).
    Unavailable {
        what: String,
        tries: u32,
        url: String,
    },
    /// 2xx whose body is not JSON.
    BadBody {
        message: String,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Rejected { status, message } => write!(f, "HTTP {status}: {message}"),
            FetchError::NotFound { message } => write!(f, "HTTP 404: {message}"),
            FetchError::BadRequest { status, message } => write!(f, "HTTP {status}: {message}"),
            FetchError::Unavailable { what, tries, url } => {
                write!(
                    f,
                    "{what} after {tries} tr{} (GET {url})",
                    if *tries == 1 { "y" } else { "ies" }
                )
            }
            FetchError::BadBody { message } => write!(f, "unreadable response: {message}"),
        }
    }
}

/// Makes ring the process's TLS crypto provider: reqwest is built without one (aws-lc-rs doubled
/// the cold build) and refuses to build a client until one is installed. A provider already
/// installed, by us or by a program embedding the library, is kept.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    key: ApiKey,
    policy: RetryPolicy,
    /// Set by a 429 on any thread: no request leaves before it.
    paused_until: Mutex<Option<Instant>>,
    /// The sleeps begun so far, against [`RetryPolicy::max_total_wait`].
    waited: Mutex<Duration>,
}

impl Client {
    pub fn new(base_url: &str, key: ApiKey, policy: RetryPolicy) -> crate::Result<Self> {
        let base = base_url.trim_end_matches('/').to_string();
        Url::parse(&base)
            .map_err(|e| crate::Error::Usage(format!("invalid Render API URL {base:?}: {e}")))?;
        install_tls_provider();
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .build()
            .map_err(|e| crate::Error::Render(format!("cannot start the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            key,
            policy,
            paused_until: Mutex::new(None),
            waited: Mutex::new(Duration::ZERO),
        })
    }

    /// GET `{base}{path}?{query}` with retries; a repeated key (`resource=a&resource=b`) is
    /// given as repeated pairs.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, FetchError> {
        let mut url =
            Url::parse(&format!("{}{}", self.base, path)).map_err(|e| FetchError::BadRequest {
                status: 0,
                message: format!("invalid URL for {path}: {e}"),
            })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str()
                .map_or_else(String::new, |h| match url.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                }),
            url.path()
        );
        let mut failures = 0u32;
        let mut rate_limited = 0u32;
        loop {
            self.wait_while_paused();
            let sent = self
                .http
                .get(url.clone())
                .header(AUTHORIZATION, self.key.bearer())
                .header(ACCEPT, "application/json")
                .header(
                    USER_AGENT,
                    concat!("postmortem/", env!("CARGO_PKG_VERSION")),
                )
                .send();
            let failure = match sent {
                Ok(resp) => match self.answer(resp) {
                    Answer::Body(v) => return Ok(v),
                    Answer::Fatal(e) => return Err(e),
                    Answer::RateLimited(wait) => {
                        rate_limited += 1;
                        if rate_limited > self.policy.max_rate_limit_waits {
                            return Err(FetchError::Unavailable {
                                what: format!(
                                    "HTTP 429 (rate limited; still limited after {} waits, {} s of this run's wait budget of {} s spent)",
                                    self.policy.max_rate_limit_waits,
                                    self.waited().as_secs(),
                                    self.policy.max_total_wait.as_secs()
                                ),
                                tries: failures + rate_limited,
                                url: shown.clone(),
                            });
                        }
                        let asked = wait.unwrap_or_else(|| self.backoff(rate_limited));
                        // Waiting less than the server asked only earns another 429.
                        let wait = asked.min(self.policy.max_sleep);
                        if let Err(left) = self.reserve(asked.max(wait)) {
                            return Err(FetchError::Unavailable {
                                what: format!(
                                    "HTTP 429 (rate limited; the API asked for a wait of {} s, more than the {} s left of this run's wait budget of {} s; a larger --timeout gives a larger budget)",
                                    asked.as_secs(),
                                    left.as_secs(),
                                    self.policy.max_total_wait.as_secs()
                                ),
                                tries: failures + rate_limited,
                                url: shown.clone(),
                            });
                        }
                        self.pause_all(wait);
                        continue;
                    }
                    Answer::Transient(what) => what,
                },
                Err(e) => describe_send_error(&e),
            };
            failures += 1;
            let failure = self.key.scrub(&failure);
            if failures >= self.policy.max_attempts {
                return Err(FetchError::Unavailable {
                    what: failure,
                    tries: failures + rate_limited,
                    url: shown,
                });
            }
            let backoff = self.backoff(failures);
            if self.reserve(backoff).is_err() {
                return Err(FetchError::Unavailable {
                    what: format!(
                        "{failure} (no retry: this run's wait budget of {} s is spent; a larger --timeout gives a larger budget)",
                        self.policy.max_total_wait.as_secs()
                    ),
                    tries: failures + rate_limited,
                    url: shown,
                });
            }
            // Retries of an unreachable API take seconds: say so as they happen, not after.
            if self.policy.announce_retries {
                eprintln!(
                    "postmortem: GET {shown}: {failure} (try {failures} of {}); retrying in {:.1} s",
                    self.policy.max_attempts,
                    backoff.as_secs_f64()
                );
            }
            std::thread::sleep(backoff);
        }
    }

    /// The sleeps booked so far.
    fn waited(&self) -> Duration {
        match self.waited.lock() {
            Ok(w) => *w,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Books `wait` against the run's wait budget, or says how much of it is left.
    fn reserve(&self, wait: Duration) -> Result<(), Duration> {
        let mut waited = match self.waited.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let left = self.policy.max_total_wait.saturating_sub(*waited);
        if wait > left {
            return Err(left);
        }
        *waited += wait;
        Ok(())
    }

    fn answer(&self, resp: Response) -> Answer {
        let status = resp.status().as_u16();
        if status == 429 {
            let wait = rate_limit_wait(resp.headers(), Utc::now());
            return Answer::RateLimited(wait);
        }
        let headers_ok = (200..300).contains(&status);
        let cap = self.policy.max_body_bytes;
        let too_large = |size: u64| {
            Answer::Fatal(FetchError::BadBody {
                message: format!(
                    "HTTP {status} body of {size} bytes or more is over the limit of {cap} bytes; not read"
                ),
            })
        };
        if let Some(size) = resp.content_length().filter(|&n| n > cap) {
            return too_large(size);
        }
        let mut bytes = Vec::new();
        if let Err(e) =
            std::io::Read::read_to_end(&mut std::io::Read::take(resp, cap + 1), &mut bytes)
        {
            // The body timed out or the connection dropped mid-body: worth another try.
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>());
            return Answer::Transient(match inner {
                Some(e) => describe_send_error(e),
                None => format!("request failed: {e}"),
            });
        }
        if bytes.len() as u64 > cap {
            return too_large(cap + 1);
        }
        let body = String::from_utf8_lossy(&bytes);
        if headers_ok {
            return match serde_json::from_str(&body) {
                Ok(v) => Answer::Body(v),
                Err(e) => Answer::Fatal(FetchError::BadBody {
                    message: format!("HTTP {status} body is not JSON: {e}"),
                }),
            };
        }
        // Scrub the whole body before `error_message` shortens it: a key cut in two by the
        // shortening would no longer match.
        let message = error_message(&self.key.scrub(&body));
        match status {
            401 | 403 => Answer::Fatal(FetchError::Rejected { status, message }),
            404 | 410 => Answer::Fatal(FetchError::NotFound { message }),
            500..=599 => Answer::Transient(format!("HTTP {status}")),
            _ => Answer::Fatal(FetchError::BadRequest { status, message }),
        }
    }

    fn wait_while_paused(&self) {
        loop {
            let until = match self.paused_until.lock() {
                Ok(guard) => *guard,
                Err(poisoned) => *poisoned.into_inner(),
            };
            match until {
                Some(t) if t > Instant::now() => std::thread::sleep(t - Instant::now()),
                _ => return,
            }
        }
    }

    fn pause_all(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut guard = match self.paused_until.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.is_none_or(|t| t < until) {
            *guard = Some(until);
        }
        drop(guard);
        self.wait_while_paused();
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so that parallel
    /// workers that failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.policy.max_sleep);
        let half = capped / 2;
        let nanos = half.as_nanos().max(1) as u64;
        half + Duration::from_nanos(RandomState::new().hash_one(attempt) % nanos)
    }
}

enum Answer {
    Body(Value),
    Fatal(FetchError),
    RateLimited(Option<Duration>),
    Transient(String),
}

fn describe_send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        format!("request failed: {e}")
    }
}

/// Render's error body is `{"id"?, "message"?, "code"?}`; anything else is shown as is.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let text = message.unwrap_or_else(|| body.trim().to_string());
    let mut short: String = text.chars().take(200).collect();
    if short.is_empty() {
        short = "no message".to_string();
    }
    short
}

/// A `Retry-After` value (RFC 9110): seconds to wait (capped at a day), or an HTTP date, which
/// is waited for from `now`; `None` when it is neither. Shared with the ticket publishers.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    let millis = (at.with_timezone(&Utc) - now).num_milliseconds().max(0);
    Some(Duration::from_millis(millis as u64))
}

/// How long a 429 asks to wait: `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset`,
/// which Render documents as epoch seconds but shows as seconds-to-wait; values above 1e9 are
/// read as an epoch.
pub fn rate_limit_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(wait) = header("retry-after").and_then(|v| retry_after(v, now)) {
        return Some(wait);
    }
    let reset = header("ratelimit-reset")?.parse::<i64>().ok()?;
    if reset > 1_000_000_000 {
        let wait = (reset - now.timestamp()).max(0);
        Some(Duration::from_secs(wait as u64))
    } else {
        Some(Duration::from_secs(reset.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_wins_then_reset_as_seconds_or_epoch() {
        let now = Utc.with_ymd_and_hms(2025, 11, 10, 18, 0, 0).unwrap();
        let both = headers(&[("Retry-After", "2"), ("RateLimit-Reset", "45")]);
        assert_eq!(rate_limit_wait(&both, now), Some(Duration::from_secs(2)));
        let secs = headers(&[("RateLimit-Reset", "45")]);
        assert_eq!(rate_limit_wait(&secs, now), Some(Duration::from_secs(45)));
        let epoch = headers(&[("RateLimit-Reset", &(now.timestamp() + 7).to_string())]);
        assert_eq!(rate_limit_wait(&epoch, now), Some(Duration::from_secs(7)));
        let date = headers(&[("Retry-After", "Mon, 10 Nov 2025 18:00:03 GMT")]);
        assert_eq!(rate_limit_wait(&date, now), Some(Duration::from_secs(3)));
        assert_eq!(rate_limit_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn key_never_shows_in_debug_display_or_scrubbed_text() {
        let key = ApiKey::new("rnd_supersecret123");
        assert_eq!(format!("{key:?} {key}"), "ApiKey(****) ApiKey(****)");
        assert_eq!(key.scrub("bad key rnd_supersecret123"), "bad key ****");
    }

    #[test]
    fn unavailable_reads_like_a_note() {
        let e = FetchError::Unavailable {
            what: "HTTP 503".into(),
            tries: 4,
            url: "https://api.render.com/v1/services".into(),
        };
        assert_eq!(
            e.to_string(),
            "HTTP 503 after 4 tries (GET https://api.render.com/v1/services)"
        );
    }
}
