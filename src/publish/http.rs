//! HTTP for publishing: one origin, a token that never leaves it, rate limits honoured within
//! a bounded wait, and failures that say which of bad token, missing permission or wrong ticket.
//!
//! The token is sent only to the origin of the API base. Redirects to another origin are not
//! followed (reqwest drops `Authorization` across hosts, but not GitLab's `PRIVATE-TOKEN`), and
//! a pagination link to another origin is refused, so a hostile or misconfigured server cannot
//! collect it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, USER_AGENT};
use reqwest::{Method, Url};
use serde_json::Value;

use super::Secret;
use crate::Error;

/// How long to wait for rate limits before giving up, and how many times.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The sum of all waits; a wait that would go past it is an error at once.
    pub max_total_wait: Duration,
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_total_wait: Duration::from_secs(120),
            max_attempts: 5,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// What one request is about, for error messages.
pub struct Context<'a> {
    pub system: &'static str,
    /// The environment variable the token came from.
    pub token_var: &'static str,
    pub ticket: &'a str,
    /// Names the permission a write needs, for a 403.
    pub permission: &'static str,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self, what: &str) -> Result<Value, Error> {
        serde_json::from_str(&self.body)
            .map_err(|e| Error::Publish(format!("{what}: the answer is not JSON: {e}")))
    }
}

/// A request body.
pub enum Payload<'a> {
    None,
    Json(&'a Value),
    Raw {
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

pub struct Http {
    client: Client,
    origin: String,
    auth: (HeaderName, HeaderValue),
    token: Secret,
    /// The credential as the header carries it, when that differs from the token (Jira
    /// Cloud's base64 `email:token`): scrubbed from answers too.
    credential: Option<Secret>,
    extra: Vec<(HeaderName, HeaderValue)>,
    policy: RetryPolicy,
    /// The wall clock at start, given by the caller; epoch resets are measured from it.
    clock: DateTime<Utc>,
    started: Instant,
}

pub fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

impl Http {
    /// `auth` is the header name and its full value (`Bearer …`); it is marked sensitive so
    /// that reqwest never shows it in `Debug`.
    pub fn new(
        base: &Url,
        auth_name: &'static str,
        auth_value: String,
        token: Secret,
        extra: &[(&'static str, &str)],
        policy: RetryPolicy,
        clock: DateTime<Utc>,
    ) -> Result<Http, Error> {
        crate::collect::render::client::install_tls_provider();
        let start = origin_of(base);
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            let same = attempt
                .previous()
                .first()
                .is_some_and(|first| origin_of(first) == origin_of(attempt.url()));
            if same && attempt.previous().len() < 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = Client::builder()
            .redirect(redirect)
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .build()
            .map_err(|e| Error::Publish(format!("cannot start the HTTP client: {e}")))?;
        let mut value = HeaderValue::from_str(&auth_value)
            .map_err(|_| Error::Publish("the token holds characters a header cannot".into()))?;
        value.set_sensitive(true);
        let extra = extra
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_static(k),
                    HeaderValue::from_str(v).expect("static header value"),
                )
            })
            .collect();
        let credential = auth_value
            .rsplit(' ')
            .next()
            .filter(|c| *c != token.expose())
            .map(Secret::new);
        Ok(Http {
            client,
            origin: start,
            auth: (HeaderName::from_static(auth_name), value),
            token,
            credential,
            extra,
            policy,
            clock,
            started: Instant::now(),
        })
    }

    /// Removes the token, and the credential built from it, from text a server sent back.
    fn scrub(&self, text: &str) -> String {
        let text = self.token.scrub(text);
        match &self.credential {
            Some(credential) => credential.scrub(&text),
            None => text,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }

    /// Sends one request, waiting out rate limits. Any answer other than 2xx is an error that
    /// says what it means for this ticket.
    pub fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        ctx: &Context<'_>,
    ) -> Result<Reply, Error> {
        self.send_allowing(method, url, body, ctx, &[])
    }

    /// The token's own user name (`field` of the user object at `url`), or `None` when the
    /// token may not read it (403/404: an Actions, App or job token): then a comment is ours
    /// by its marker alone.
    pub fn user_name(
        &self,
        url: &Url,
        field: &str,
        ctx: &Context<'_>,
    ) -> Result<Option<String>, Error> {
        let reply = self.send_allowing(Method::GET, url, None, ctx, &[403, 404])?;
        if reply.status != 200 {
            return Ok(None);
        }
        Ok(reply
            .json(&format!("{} user", ctx.system))?
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// [`Http::send`], with the statuses in `allow` handed back as answers, not errors.
    pub fn send_allowing(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        ctx: &Context<'_>,
        allow: &[u16],
    ) -> Result<Reply, Error> {
        let payload = match body {
            Some(json) => Payload::Json(json),
            None => Payload::None,
        };
        self.send_payload(method, url, payload, &[], ctx, allow)
    }

    /// POSTs one file as `multipart/form-data` in the form field `field` (GitLab's uploads).
    pub fn send_file(
        &self,
        url: &Url,
        field: &str,
        filename: &str,
        content: &str,
        ctx: &Context<'_>,
    ) -> Result<Reply, Error> {
        // A boundary that the content does not contain.
        let mut boundary = String::from("postmortem-boundary");
        while content.contains(&boundary) {
            boundary.push('x');
        }
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: text/markdown; charset=utf-8\r\n\r\n{content}\r\n--{boundary}--\r\n"
        );
        let kind = format!("multipart/form-data; boundary={boundary}");
        let payload = Payload::Raw {
            content_type: &kind,
            bytes: body.as_bytes(),
        };
        self.send_payload(Method::POST, url, payload, &[], ctx, &[])
    }

    /// PUTs `bytes` to a pre-signed upload URL that an API handed back (Linear's `fileUpload`:
    /// a storage host, not the API). The URL itself is the permission, so the token is never
    /// sent: this request carries only `headers` (those the API said to send, minus any
    /// `Authorization`), its content type and the user agent, and follows no redirect.
    pub fn put_signed(
        &self,
        url: &Url,
        headers: &[(String, String)],
        content_type: &str,
        bytes: &[u8],
        ctx: &Context<'_>,
    ) -> Result<Reply, Error> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(Error::Publish(format!(
                "{}: the upload URL {} is not HTTP",
                ctx.system,
                origin_of(url)
            )));
        }
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.policy.connect_timeout)
            .timeout(self.policy.request_timeout)
            .build()
            .map_err(|e| Error::Publish(format!("cannot start the HTTP client: {e}")))?;
        let mut request = client
            .put(url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(
                USER_AGENT,
                concat!("postmortem/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes()).ok();
            let value = HeaderValue::from_str(v).ok();
            if let (Some(name), Some(value)) = (name, value) {
                let ours = name == reqwest::header::AUTHORIZATION
                    || name == reqwest::header::CONTENT_TYPE
                    || name == reqwest::header::HOST;
                if !ours {
                    request = request.header(name, value);
                }
            }
        }
        let response = request.body(bytes.to_vec()).send().map_err(|e| {
            Error::Publish(format!(
                "{}: PUT {} (the upload): {}",
                ctx.system,
                origin_of(url),
                self.scrub(&e.to_string())
            ))
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = self.scrub(&response.text().unwrap_or_default());
        if !(200..300).contains(&status) {
            return Err(Error::Publish(format!(
                "{}: the upload to {} answered {status}: {}",
                ctx.system,
                origin_of(url),
                body.trim().chars().take(300).collect::<String>()
            )));
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// [`Http::send_allowing`] for any body (a multipart upload), with `headers` added to
    /// this request only.
    pub fn send_payload(
        &self,
        method: Method,
        url: &Url,
        payload: Payload<'_>,
        headers: &[(&'static str, &str)],
        ctx: &Context<'_>,
        allow: &[u16],
    ) -> Result<Reply, Error> {
        if origin_of(url) != self.origin {
            return Err(Error::Publish(format!(
                "{}: refusing to send the token to {} (the API is at {}): a link in an answer pointed elsewhere",
                ctx.system,
                origin_of(url),
                self.origin
            )));
        }
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .client
                .request(method.clone(), url.clone())
                .header(self.auth.0.clone(), self.auth.1.clone())
                .header(
                    USER_AGENT,
                    concat!("postmortem/", env!("CARGO_PKG_VERSION")),
                );
            for (k, v) in &self.extra {
                request = request.header(k.clone(), v.clone());
            }
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            match &payload {
                Payload::None => {}
                Payload::Json(body) => request = request.json(body),
                Payload::Raw {
                    content_type,
                    bytes,
                } => {
                    request = request
                        .header(reqwest::header::CONTENT_TYPE, *content_type)
                        .body(bytes.to_vec())
                }
            }
            let response = request.send().map_err(|e| {
                // reqwest's message names the URL, never the headers.
                Error::Publish(format!(
                    "{}: {method} {url}: {}",
                    ctx.system,
                    self.scrub(&e.to_string())
                ))
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().unwrap_or_default();
            let reply = Reply {
                status,
                headers,
                body: self.scrub(&text),
            };
            if (200..300).contains(&status) {
                return Ok(reply);
            }
            let limited = rate_limit_wait(&reply, self.now());
            if limited.is_none() && allow.contains(&status) {
                return Ok(reply);
            }
            if (300..400).contains(&status) {
                let to = reply
                    .headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(no Location)");
                return Err(Error::Publish(format!(
                    "{}: {method} {url} was redirected ({status}) to {to}, another host: not followed, so the token was not sent there. If that is the right API, pass it with --api-url",
                    ctx.system
                )));
            }
            if let Some(wait) = limited {
                let left = self.policy.max_total_wait.saturating_sub(waited);
                if wait > left || attempt >= self.policy.max_attempts {
                    // Jira names the limit that was hit (`jira-per-issue-on-write`, …).
                    let reason = header(&reply, "ratelimit-reason")
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    return Err(Error::Publish(format!(
                        "{}: rate limited ({status}){reason}; the server asks to wait {} s, beyond the {} s this run may still wait (--max-wait {}): try again later",
                        ctx.system,
                        wait.as_secs(),
                        left.as_secs(),
                        self.policy.max_total_wait.as_secs()
                    )));
                }
                std::thread::sleep(wait);
                waited += wait;
                continue;
            }
            return Err(status_error(&method, url, &reply, ctx));
        }
    }
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

/// When the answer is a rate limit: how long to wait. 429 always is; GitHub also answers 403
/// with `x-ratelimit-remaining: 0` (primary limit) or a `retry-after` (secondary limit); a 503
/// with `Retry-After` is a pause too. `Retry-After` (seconds) wins, then the epoch resets
/// (GitHub's `x-ratelimit-reset`, GitLab's `RateLimit-Reset`); GitHub's secondary limit
/// without either asks for at least a minute.
pub fn rate_limit_wait(reply: &Reply, now: DateTime<Utc>) -> Option<Duration> {
    // Seconds or an HTTP date (RFC 9110), as the Render client reads it.
    let retry_after = header(reply, "retry-after")
        .and_then(|v| crate::collect::render::client::retry_after(v, now));
    let exhausted = header(reply, "x-ratelimit-remaining").is_some_and(|v| v.trim() == "0");
    let limited = match reply.status {
        429 => true,
        // GitHub's secondary limit may come with neither header, only its message.
        403 => {
            retry_after.is_some()
                || exhausted
                || reply
                    .body
                    .to_ascii_lowercase()
                    .contains("secondary rate limit")
        }
        503 => retry_after.is_some(),
        // Linear (GraphQL) names a rate limit in the body: `errors[].extensions.type`.
        400..=499 => graphql_ratelimited(&reply.body),
        _ => false,
    };
    if !limited {
        return None;
    }
    if let Some(wait) = retry_after {
        return Some(wait);
    }
    // An epoch (GitHub, GitLab, Linear) or an ISO-8601 time (Jira's X-RateLimit-Reset).
    let reset = header(reply, "x-ratelimit-reset")
        .or_else(|| header(reply, "ratelimit-reset"))
        .or_else(|| header(reply, "x-ratelimit-requests-reset"))
        .or_else(|| header(reply, "x-ratelimit-complexity-reset"))
        .and_then(|v| {
            let v = v.trim();
            v.parse::<i64>()
                .ok()
                // Linear's resets may be epoch milliseconds: no epoch in seconds is that large.
                .map(|r| if r > 100_000_000_000 { r / 1000 } else { r })
                .or_else(|| DateTime::parse_from_rfc3339(v).ok().map(|t| t.timestamp()))
        });
    if let Some(reset) = reset {
        let secs = (reset - now.timestamp()).max(0) as u64;
        // A reset in the past, or a clock a little off: one second, not a busy loop.
        return Some(Duration::from_secs(secs.max(1)));
    }
    Some(Duration::from_secs(60))
}

/// Whether a GraphQL answer's errors include Linear's `ratelimited` type (or its
/// `RATELIMITED` code).
pub fn graphql_ratelimited(body: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    value
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("extensions"))
        .any(|x| {
            x.get("type").and_then(Value::as_str) == Some("ratelimited")
                || x.get("code").and_then(Value::as_str) == Some("RATELIMITED")
        })
}

/// The server's own message, short, for the end of an error.
fn server_message(reply: &Reply) -> String {
    let message = serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| {
            let mut parts = Vec::new();
            for key in ["message", "error", "error_description"] {
                match v.get(key) {
                    Some(Value::String(s)) => parts.push(s.clone()),
                    Some(other @ Value::Object(_)) => parts.push(other.to_string()),
                    _ => {}
                }
            }
            if let Some(errors) = v.get("errors").and_then(Value::as_array) {
                for e in errors {
                    if let Some(m) = e.get("message").and_then(Value::as_str) {
                        parts.push(m.to_string());
                    }
                }
            }
            // Jira: {"errorMessages": [...], "errors": {"field": "message"}}.
            for m in v
                .get("errorMessages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(m) = m.as_str() {
                    parts.push(m.to_string());
                }
            }
            for (field, m) in v
                .get("errors")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(m) = m.as_str() {
                    parts.push(format!("{field}: {m}"));
                }
            }
            (!parts.is_empty()).then(|| parts.join("; "))
        })
        .unwrap_or_else(|| reply.body.trim().to_string());
    let message = crate::redact::redact_document(&message);
    let short: String = message.chars().take(300).collect();
    if short.is_empty() {
        String::new()
    } else {
        format!(" (the server said: {short})")
    }
}

pub fn status_error(method: &Method, url: &Url, reply: &Reply, ctx: &Context<'_>) -> Error {
    let said = server_message(reply);
    let (system, var, ticket) = (ctx.system, ctx.token_var, ctx.ticket);
    let text = match reply.status {
        401 => format!(
            "{system} rejected the token in {var} (401 Unauthorized): it is wrong, expired or revoked{said}"
        ),
        403 => format!(
            "{system} accepted the token in {var} but refused {method} on {ticket} (403 Forbidden): the token lacks permission ({}){said}",
            ctx.permission
        ),
        404 => format!(
            "{system} found no {ticket} (404 Not Found): either the ticket does not exist, or the token in {var} may not see it ({system} answers 404 for both): check the ticket, and that the token can read it{said}"
        ),
        410 => format!("{system}: {ticket} was deleted (410 Gone){said}"),
        413 => format!(
            "{system} refused {method} {url} (413 Payload Too Large): the body is too large, or {ticket} has reached its limit of comments or attachments{said}"
        ),
        422 | 400 => format!(
            "{system} refused {method} {url} ({}){said}",
            reply.status
        ),
        status => format!("{system}: {method} {url} answered {status}{said}"),
    };
    Error::Publish(text)
}

/// `Link: <url>; rel="next", …` → the next URL.
/// The pages of a listing already asked for, so that a server whose "next" link repeats a page
/// (or never ends) cannot keep a run reading: a repeated page ends the listing, and more than
/// [`Pages::MAX`] pages is an error.
#[derive(Default)]
pub struct Pages {
    seen: std::collections::HashSet<String>,
}

impl Pages {
    pub const MAX: usize = 10_000;

    /// `next` unless it was asked for already; an error past [`Pages::MAX`] pages.
    pub fn follow(&mut self, next: Option<String>, system: &str) -> Result<Option<String>, Error> {
        let Some(next) = next else { return Ok(None) };
        if self.seen.len() >= Self::MAX {
            return Err(Error::Publish(format!(
                "{system}: the ticket has more than {} pages of comments: stopped",
                Self::MAX
            )));
        }
        Ok(self.seen.insert(next.clone()).then_some(next))
    }
}

pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)]) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Reply {
            status,
            headers: map,
            body: String::new(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-02T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_repeated_next_page_ends_the_listing() {
        let mut pages = Pages::default();
        let a = Some("https://api.github.com/c?page=2".to_string());
        assert_eq!(pages.follow(a.clone(), "GitHub").unwrap(), a);
        assert_eq!(pages.follow(a, "GitHub").unwrap(), None);
        assert_eq!(pages.follow(None, "GitHub").unwrap(), None);
        let mut endless = Pages::default();
        let e = (0..=Pages::MAX)
            .map(|i| endless.follow(Some(format!("p{i}")), "GitLab"))
            .find_map(Result::err)
            .expect("an endless listing is stopped");
        assert!(e.to_string().contains("more than 10000 pages"), "{e}");
    }

    /// A server that echoes the Authorization header back (a debugging proxy, a verbose error
    /// page) must not put Jira Cloud's base64 `email:token` into our error.
    #[test]
    fn the_header_credential_is_scrubbed_as_well_as_the_token() {
        let basic = "b25jYWxsQGV4YW1wbGUuY29tOnNlY3JldC10b2tlbg==";
        let http = Http::new(
            &Url::parse("https://acme.atlassian.net/rest/api/3").unwrap(),
            "authorization",
            format!("Basic {basic}"),
            Secret::new("secret-token"),
            &[],
            RetryPolicy::default(),
            now(),
        )
        .unwrap();
        let echoed = format!("got Authorization: Basic {basic} and secret-token");
        assert_eq!(
            http.scrub(&echoed),
            "got Authorization: Basic **** and ****"
        );
        let bearer = Http::new(
            &Url::parse("https://api.github.com").unwrap(),
            "authorization",
            "Bearer ghp_x1".into(),
            Secret::new("ghp_x1"),
            &[],
            RetryPolicy::default(),
            now(),
        )
        .unwrap();
        assert!(bearer.credential.is_none());
    }

    #[test]
    fn rate_limit_waits_follow_the_headers() {
        let epoch = now().timestamp();
        let secs = |r: Reply| rate_limit_wait(&r, now()).map(|d| d.as_secs());
        assert_eq!(secs(reply(429, &[("retry-after", "7")])), Some(7));
        // An HTTP date: GitLab and proxies in front of Jira Data Center send one.
        let date = (now() + chrono::Duration::seconds(42)).to_rfc2822();
        assert_eq!(secs(reply(429, &[("retry-after", &date)])), Some(42));
        assert_eq!(secs(reply(503, &[("retry-after", &date)])), Some(42));
        // Neither seconds nor a date: the other headers decide.
        assert_eq!(secs(reply(429, &[("retry-after", "soon")])), Some(60));
        let reset = (epoch + 30).to_string();
        assert_eq!(
            secs(reply(
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", &reset)
                ]
            )),
            Some(30)
        );
        assert_eq!(secs(reply(429, &[("ratelimit-reset", &reset)])), Some(30));
        assert_eq!(secs(reply(429, &[])), Some(60));
        let past = (epoch - 5).to_string();
        assert_eq!(secs(reply(429, &[("ratelimit-reset", &past)])), Some(1));
        // A 403 that is not a rate limit is a permission problem.
        assert_eq!(secs(reply(403, &[("x-ratelimit-remaining", "4999")])), None);
        assert_eq!(secs(reply(503, &[])), None);
        let mut secondary = reply(403, &[]);
        secondary.body = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#.into();
        assert_eq!(secs(secondary), Some(60));
        assert_eq!(secs(reply(503, &[("retry-after", "2")])), Some(2));
        // Linear: the reset in epoch milliseconds, and a ratelimited error on a 400.
        let ms = ((epoch + 12) * 1000).to_string();
        assert_eq!(
            secs(reply(429, &[("x-ratelimit-requests-reset", &ms)])),
            Some(12)
        );
        let mut linear = reply(400, &[]);
        linear.body = r#"{"errors":[{"message":"Rate limit exceeded","extensions":{"type":"ratelimited","code":"RATELIMITED"}}]}"#.into();
        assert_eq!(secs(linear), Some(60));
        let mut invalid = reply(400, &[]);
        invalid.body =
            r#"{"errors":[{"message":"x","extensions":{"type":"invalid input"}}]}"#.into();
        assert_eq!(secs(invalid), None);
    }

    #[test]
    fn next_link_reads_rel_next() {
        let r = reply(
            200,
            &[(
                "link",
                "<https://api.github.com/x?page=3>; rel=\"next\", <https://api.github.com/x?page=9>; rel=\"last\"",
            )],
        );
        assert_eq!(
            next_link(&r.headers).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        let r = reply(
            200,
            &[("link", "<https://api.github.com/x?page=1>; rel=\"prev\"")],
        );
        assert_eq!(next_link(&r.headers), None);
    }
}
