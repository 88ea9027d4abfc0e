//! The evidence snapshot: everything collected about an incident, and the only thing that
//! crosses from collection to rendering.
//!
//! `postmortem collect -o evidence.json` writes it, `postmortem render evidence.json` reads it back
//! on any machine, with no repository and no network. The format is versioned by
//! [`SCHEMA_VERSION`]; a reader refuses a snapshot from a newer major version instead of
//! misreading it.
//!
//! Every timestamp is UTC, every list is sorted (see [`Evidence::normalize`]), so the same
//! inputs give the same bytes.
//!
//! Beside the snapshot, the other facts beneath the rules: [`history`], the git history index
//! `collect::git` fills for `phantom-migration` (not part of the snapshot), and the helpers over
//! deploys that rules, collectors and the analysis share ([`streak`], [`deploy_time`],
//! [`oldest_first`], [`short_sha`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::migrations::model::MigrationSet;

mod deploys;
pub mod history;

pub use deploys::{deploy_time, oldest_first, streak, Streak};

/// Version of the snapshot format. Bump on any change a reader of an older version would
/// misread; adding an optional field is not such a change.
pub const SCHEMA_VERSION: u32 = 1;

/// A file's text as read, and the git blob ID of its bytes (what `git hash-object FILE` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    /// Relative to the repository root, `/`-separated.
    pub file: String,
    pub blob: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub schema_version: u32,
    /// The human side of the incident, from postmortem.yaml (`incident:`), rendered as written.
    #[serde(default)]
    pub incident: Incident,
    pub service: Service,
    pub window: Window,
    #[serde(default)]
    pub deploys: Vec<Deploy>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub logs: Vec<LogLine>,
    #[serde(default)]
    pub commits: Vec<Commit>,
    #[serde(default)]
    pub migration_sets: Vec<MigrationSet>,
    /// Facts about which database engine the tests and the deployment use.
    #[serde(default)]
    pub database_facts: Vec<DatabaseFact>,
    /// The upgrade commands the deploy runs (`alembic upgrade heads` in a pre-deploy script),
    /// which decide whether several heads break it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_commands: Vec<crate::migrations::model::UpgradeCommand>,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// The text of each migration file a schema rule flags, as it was read: the fix is computed
    /// from it as a patch offline (`render`), and `postmortem fix --write` compares its blob ID
    /// with the file on disk to refuse a file that changed since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migration_sources: Vec<SourceText>,
    /// What could not be collected and why: a gap is never silent.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// How many secrets of each kind were replaced before storage.
    #[serde(default)]
    pub redactions: BTreeMap<String, u32>,
}

impl Evidence {
    pub fn new(service: Service) -> Self {
        Evidence {
            schema_version: SCHEMA_VERSION,
            incident: Incident::default(),
            service,
            window: Window::default(),
            deploys: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            commits: Vec::new(),
            migration_sets: Vec::new(),
            database_facts: Vec::new(),
            upgrade_commands: Vec::new(),
            findings: Vec::new(),
            migration_sources: Vec::new(),
            notes: Vec::new(),
            redactions: BTreeMap::new(),
        }
    }

    /// Sorts every list into its canonical order so that serialisation is deterministic
    /// whatever order the sources answered in.
    pub fn normalize(&mut self) {
        // Newest first, as Render lists them and as the report's tables read.
        self.deploys.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        self.events
            .sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
        self.normalize_logs();
        self.commits
            .sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.sha.cmp(&b.sha)));
        self.migration_sets.sort_by(|a, b| a.path.cmp(&b.path));
        self.database_facts.sort();
        self.database_facts.dedup();
        crate::finding::sort_findings(&mut self.findings);
        self.migration_sources.sort_by(|a, b| a.file.cmp(&b.file));
        self.migration_sources.dedup_by(|a, b| a.file == b.file);
        self.notes.sort();
        self.notes.dedup();
    }

    /// The log lines in time order, each once: what the log parser reads, so [`normalize`]
    /// calls it, and so does the pipeline before the rules parse the logs.
    ///
    /// [`normalize`]: Evidence::normalize
    pub fn normalize_logs(&mut self) {
        self.logs
            .sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
        self.logs.dedup_by(|a, b| a.id == b.id);
    }

    pub fn deploy(&self, id: &str) -> Option<&Deploy> {
        self.deploys.iter().find(|d| d.id == id)
    }

    pub fn note(&mut self, source: &str, message: impl Into<String>) {
        self.notes.push(Note {
            source: source.to_string(),
            message: message.into(),
        });
    }
}

/// Narrative that only a human knows. Every field is optional; absent ones leave their section out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Incident {
    pub title: Option<String>,
    /// Overrides the computed status ("Root Cause Identified", "Resolved", ...).
    pub status: Option<String>,
    pub impact: Option<String>,
    pub summary: Option<String>,
    pub lessons: Vec<String>,
    pub status_updates: Vec<StatusUpdate>,
    pub follow_ups: Vec<FollowUp>,
    /// Extra verification steps appended to the computed checklist.
    pub verification: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    pub at: DateTime<Utc>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub what: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// `srv-...`; empty when no Render service was involved (`postmortem check`).
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    /// `web_service`, `background_worker`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub dashboard_url: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    /// `docker`, `python`, ...
    #[serde(default)]
    pub runtime: Option<String>,
    /// Where migrations run when they run before the deploy (Render's preDeployCommand).
    #[serde(default)]
    pub pre_deploy_command: Option<String>,
    /// The start command, or the Docker command override.
    #[serde(default)]
    pub start_command: Option<String>,
    #[serde(default)]
    pub health_check_path: Option<String>,
    /// Suspended when collected: nothing serves, whatever the deploys did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Render's deploy status enum, exactly as the API spells it; values Render adds later are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    Created,
    Queued,
    BuildInProgress,
    UpdateInProgress,
    Live,
    Deactivated,
    BuildFailed,
    UpdateFailed,
    Canceled,
    PreDeployInProgress,
    PreDeployFailed,
    #[serde(untagged)]
    Other(String),
}

impl DeployStatus {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            DeployStatus::BuildFailed | DeployStatus::UpdateFailed | DeployStatus::PreDeployFailed
        )
    }

    /// `deactivated` is an older deploy that went live and was later superseded.
    pub fn is_success(&self) -> bool {
        matches!(self, DeployStatus::Live | DeployStatus::Deactivated)
    }

    pub fn as_str(&self) -> &str {
        match self {
            DeployStatus::Created => "created",
            DeployStatus::Queued => "queued",
            DeployStatus::BuildInProgress => "build_in_progress",
            DeployStatus::UpdateInProgress => "update_in_progress",
            DeployStatus::Live => "live",
            DeployStatus::Deactivated => "deactivated",
            DeployStatus::BuildFailed => "build_failed",
            DeployStatus::UpdateFailed => "update_failed",
            DeployStatus::Canceled => "canceled",
            DeployStatus::PreDeployInProgress => "pre_deploy_in_progress",
            DeployStatus::PreDeployFailed => "pre_deploy_failed",
            DeployStatus::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub id: String,
    pub status: DeployStatus,
    #[serde(default)]
    pub trigger: Option<String>,
    #[serde(default)]
    pub commit: Option<DeployCommit>,
    /// Image reference for image-backed deploys.
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// What is known of the failure, for failed deploys: filled from events and logs.
    #[serde(default)]
    pub failure: Option<DeployFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployCommit {
    pub sha: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// Where in Render's pipeline a deploy failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Build,
    PreDeploy,
    /// The start command or Docker entrypoint (where `alembic upgrade head` often runs).
    Start,
    HealthCheck,
    Unknown,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Build => "build",
            Phase::PreDeploy => "pre-deploy",
            Phase::Start => "start",
            Phase::HealthCheck => "health check",
            Phase::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployFailure {
    pub phase: Phase,
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// The event that says how it failed (`deploy_ended`, `pre_deploy_ended`, ...).
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub reason: Option<FailureReason>,
}

/// Render's `FailureReason`, flattened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailureReason {
    pub evicted: bool,
    pub non_zero_exit: Option<i64>,
    pub early_exit: Option<bool>,
    pub oom_killed_memory_limit: Option<String>,
    pub timed_out_seconds: Option<i64>,
    pub timed_out_reason: Option<String>,
    pub unhealthy: Option<String>,
    pub eviction_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    /// Render's event type (`deploy_ended`, `server_failed`, ...); unknown types are kept as is.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub deploy_id: Option<String>,
    #[serde(default)]
    pub build_id: Option<String>,
    /// `succeeded` / `failed` / `canceled` for *_ended events.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub failure: Option<FailureReason>,
    /// The raw `details` object, kept whole for types this tool does not interpret.
    #[serde(default)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    /// ANSI escapes stripped, secrets redacted.
    pub message: String,
    /// The deploy whose time span this line falls in.
    #[serde(default)]
    pub deploy_id: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub sha: String,
    pub author: String,
    #[serde(default)]
    pub email: Option<String>,
    pub time: DateTime<Utc>,
    pub summary: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default)]
    pub files: Vec<FileChange>,
    /// Between the last good deploy's commit (excluded) and the first failed one (included).
    #[serde(default)]
    pub suspect: bool,
}

impl Commit {
    pub fn short(&self) -> &str {
        short_sha(&self.sha)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    pub change: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    Renamed,
}

/// A fact about which database engine something uses, with where it was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DatabaseFact {
    pub role: DatabaseRole,
    /// `sqlite`, `postgresql`, `mysql`, ...
    pub engine: String,
    /// `file:line`, or `log <id>`, or `service`.
    pub source: String,
    /// The line that says so, redacted.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseRole {
    Test,
    Deployed,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Note {
    /// Which collector or stage: `render.deploys`, `render.events`, `git`, `migrations`, ...
    pub source: String,
    pub message: String,
}

/// The first seven characters of a SHA, as git and the report print it. SHAs of deploys come
/// from outside, so the cut never falls inside a character.
pub fn short_sha(sha: &str) -> &str {
    sha.char_indices()
        .nth(7)
        .map_or(sha, |(at, _)| sha.get(..at).unwrap_or(sha))
}
