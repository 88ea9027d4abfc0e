//! Render collector: deploys, events and logs, from the API or from saved files.
//!
//! Online, [`collect`] resolves the service, pages its deploys (stopping at the last good deploy
//! before the newest failure streak when no `--since` is given), then fetches the window's events
//! and the logs of each failed deploy in parallel. A source that stays unavailable becomes a note
//! (source `render.deploys`, `render.events`, `render.logs` or `render.service`) and the run goes
//! on; only a missing or rejected key, an unknown or ambiguous service, or a malformed saved file
//! stops it.

pub mod assemble;
pub mod client;
pub mod files;
mod online;
pub mod paging;
pub mod progress;
pub mod types;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use client::{ApiKey, RetryPolicy, API_KEY_VAR};

use crate::evidence::{Deploy, Event, Evidence, LogLine, Service, Window};

pub const DEFAULT_API_URL: &str = "https://api.render.com/v1";

#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// Default [`DEFAULT_API_URL`].
    pub api_url: String,
    /// From `RENDER_API_KEY` ([`ApiKey::from_env`]); required online.
    pub api_key: Option<ApiKey>,
    /// `srv-…` or a service name.
    pub service: Option<String>,
    /// Offline mode when set: read saved Render data from this directory instead of the API.
    pub data_dir: Option<PathBuf>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Draw a spinner on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Retries, backoff, the cap on any single sleep, and timeouts.
    pub retry: RetryPolicy,
    /// How many log windows are fetched at once.
    pub concurrency: usize,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            api_url: DEFAULT_API_URL.to_string(),
            api_key: None,
            service: None,
            data_dir: None,
            since: None,
            until: None,
            progress: false,
            retry: RetryPolicy::default(),
            concurrency: 4,
        }
    }
}

/// What a collector gathered, before failures are attributed and logs attached.
pub(crate) struct Collected {
    service: Service,
    window: Window,
    deploys: Vec<Deploy>,
    events: Vec<Event>,
    logs: Vec<LogLine>,
}

/// Fills `evidence.service`, `window`, `deploys` (with their failures), `events`, `logs`,
/// `redactions` and `notes` from the Render API, or from `settings.data_dir` when set.
pub fn collect(settings: &RenderSettings, evidence: &mut Evidence) -> crate::Result<()> {
    let collected = match &settings.data_dir {
        Some(dir) => files::collect(settings, dir, evidence)?,
        None => online::collect(settings, evidence)?,
    };
    let Collected {
        mut service,
        window,
        mut deploys,
        mut events,
        mut logs,
    } = collected;
    // Logs and commit messages were redacted as they were parsed; the service's commands and
    // the events' free text were not, and the key in hand is removed from every stored text,
    // whatever the redactor's patterns know.
    let counts = &mut evidence.redactions;
    for command in [&mut service.start_command, &mut service.pre_deploy_command]
        .into_iter()
        .flatten()
    {
        *command = crate::redact::redact(command, counts);
    }
    for event in &mut events {
        crate::redact::redact_json(&mut event.details, counts);
        if let Some(reason) = &mut event.failure {
            for text in [&mut reason.unhealthy, &mut reason.timed_out_reason]
                .into_iter()
                .flatten()
            {
                *text = crate::redact::redact(text, counts);
            }
        }
    }
    if let Some(key) = &settings.api_key {
        let texts = logs
            .iter_mut()
            .map(|l| &mut l.message)
            .chain(
                deploys
                    .iter_mut()
                    .filter_map(|d| d.commit.as_mut()?.message.as_mut()),
            )
            .chain(
                [&mut service.start_command, &mut service.pre_deploy_command]
                    .into_iter()
                    .flatten(),
            );
        for text in texts {
            key.redact_in(text, counts);
        }
        for event in &mut events {
            key_in_json(key, &mut event.details, counts);
        }
    }
    assemble::attribute_failures(&mut deploys, &events);
    assemble::attach_logs(&mut logs, &deploys);
    evidence.service = service;
    evidence.window = window;
    evidence.deploys = deploys;
    evidence.events = events;
    evidence.logs = logs;
    evidence.normalize();
    // In time order, so that the lines of a key printed by one script run are consecutive.
    crate::redact::redact_key_blocks(
        evidence.logs.iter_mut().map(|l| &mut l.message),
        &mut evidence.redactions,
    );
    Ok(())
}

fn key_in_json(
    key: &ApiKey,
    value: &mut serde_json::Value,
    counts: &mut std::collections::BTreeMap<String, u32>,
) {
    match value {
        serde_json::Value::String(s) => key.redact_in(s, counts),
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| key_in_json(key, v, counts))
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(|v| key_in_json(key, v, counts))
        }
        _ => {}
    }
}
