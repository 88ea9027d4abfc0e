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
        service,
        window,
        mut deploys,
        events,
        mut logs,
    } = collected;
    // Belt and braces: whatever the redactor knows, the key in hand never reaches the evidence.
    if let Some(key) = &settings.api_key {
        for line in &mut logs {
            key.redact_in(&mut line.message, &mut evidence.redactions);
        }
        for message in deploys
            .iter_mut()
            .filter_map(|d| d.commit.as_mut()?.message.as_mut())
        {
            key.redact_in(message, &mut evidence.redactions);
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
    Ok(())
}
