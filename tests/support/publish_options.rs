//! What every ticket test publishes with: a fixed clock, and at most 5 s of rate-limit waiting.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use postmortem::publish::{ticket, Options, RetryPolicy};

pub fn clock() -> DateTime<Utc> {
    "2026-12-02T12:00:00Z".parse().unwrap()
}

/// Options for the ticket `to` with the API at `api_url`, keyed `incident-42`.
pub fn options(to: &str, api_url: &str) -> Options {
    Options {
        target: ticket::parse(to, None).unwrap(),
        api_url: Some(api_url.to_string()),
        key: "incident-42".into(),
        new: false,
        gist: false,
        dry_run: false,
        policy: RetryPolicy {
            max_total_wait: Duration::from_secs(5),
            ..RetryPolicy::default()
        },
        clock: clock(),
    }
}
