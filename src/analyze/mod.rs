//! Analysis: from raw facts to what happened, in order, and why.
//!
//! A pure function of the evidence (and an optional injected "now"), so `render` recomputes it
//! offline and gets the same answer as `report` did.

pub mod attribution;
pub mod causes;
pub mod correlate;
pub mod diagrams;
pub mod failure_point;
pub mod fix;
pub mod lessons;
pub mod migration_cause;
pub mod patch;
pub mod recovery;
pub mod timeline;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;

// The analysis's vocabulary includes facts that lie beneath it: the parsed deploy logs and the
// failing streak. Re-exported so that `analyze::LogFailure`, `analyze::Streak` and
// `analyze::logs` keep naming them.
pub use crate::deploylog as logs;
pub use crate::deploylog::LogFailure;
pub use crate::evidence::Streak;

/// What the analysis concluded; part of the report's template context.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The newest run of consecutive failed deploys.
    pub streak: Option<Streak>,
    /// Last good deploy's commit .. newest failed deploy's commit.
    pub commit_range: Option<CommitRange>,
    /// One entry per failed deploy whose logs show how it failed.
    pub log_failures: Vec<LogFailure>,
    /// Most likely first.
    pub root_causes: Vec<RootCause>,
    pub timeline: Vec<TimelineEntry>,
    pub duration: Option<IncidentDuration>,
    pub diagrams: Diagrams,
    /// How each failed (or superseded) deploy failed, from its status, events and logs together;
    /// newest first, like `Evidence::deploys`.
    #[serde(default)]
    pub classifications: Vec<DeployClassification>,
    /// How the streak ended: fixed, rolled back, or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Whether users were served while deploys failed, from deploy statuses and events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    /// What to change, for the top cause's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<RecommendedFix>,
    /// The failing revision's file, corrected: a reorder re-checked by the schema rules, or
    /// why there is none and what else can be done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<patch::MigrationPatch>,
    /// The deploy script line that ran the failing command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_point: Option<failure_point::FailurePoint>,
    /// Lessons the findings suggest: what would have caught the failure, what made it last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lessons: Vec<String>,
}

/// How the streak ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// `resolved` (a deploy carrying the failed commits went live: a fix), `mitigated` (a
    /// rollback or a deploy of an older commit went live: the fault is still on the branch),
    /// `recovered` (a deploy went live whose commit the history read does not place: fix or
    /// older code, not known), `failing` (nothing went live since).
    pub status: String,
    /// The deploy that went live, and its commit.
    pub deploy: Option<String>,
    pub commit: Option<String>,
    /// For a rollback: the deploy it brought back.
    pub target_deploy: Option<String>,
    pub text: String,
    pub evidence: Vec<Citation>,
}

/// Whether users were served while deploys failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    /// `previous_deploy_serving`, `down`, `unknown`.
    pub state: String,
    pub text: String,
    pub evidence: Vec<Citation>,
}

/// The recommended fix for the top cause's class: computed where the evidence allows,
/// else a checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedFix {
    /// The failure class it fixes: `not_null`, `build_conflict`, `health_check`, `oom`,
    /// `missing_env`, `migration`, `start`, ...
    pub kind: String,
    pub summary: String,
    pub steps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// False for the checklist given when the evidence allows no computed fix.
    #[serde(default)]
    pub computed: bool,
}

/// The commit of the range most likely to have caused a failure, with what ties it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspect {
    pub sha: String,
    pub summary: String,
    /// The file it changed that ties it to the failure.
    pub file: String,
    /// The line the logs name in that file, when they name one.
    pub line: Option<u32>,
    /// What it changed against what fails, in words.
    pub reason: String,
    /// `high` (the only commit before the first failure that changed what fails), `medium`
    /// (one of several), `low`.
    pub confidence: String,
    /// Other commits of the range that changed the same kind of file (short SHAs).
    #[serde(default)]
    pub others: Vec<String>,
}

/// How one deploy failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployClassification {
    pub deploy_id: String,
    /// `build`, `pre_deploy`, `start`, `health_check`, `oom`, `timeout`, `superseded`,
    /// `canceled`, `unknown`.
    pub kind: String,
    pub exit_code: Option<i64>,
    /// The deploy's logs show a migration failing.
    pub migration: bool,
    pub evidence: Vec<Citation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitRange {
    /// Last good deploy's commit (excluded from the range).
    pub from: Option<String>,
    /// First failed deploy's commit.
    pub first_bad: String,
    /// Newest deploy's commit.
    pub to: String,
    /// SHAs in the range, oldest first.
    pub commits: Vec<String>,
    pub migration_changes: Vec<MigrationChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationChange {
    pub file: String,
    pub change: crate::evidence::ChangeKind,
    pub commit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    pub rank: u32,
    /// `migration`, `oom`, `health_check`, `build`, `timeout`, `unknown`, ...
    pub kind: String,
    pub summary: String,
    pub revision: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The static finding that predicted it, when there is one.
    pub finding_rule: Option<String>,
    pub evidence: Vec<Citation>,
    /// The commit most likely to have introduced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspect: Option<Suspect>,
    /// Why no commit is named, when the range was searched and none fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unattributed: Option<String>,
    /// False when nothing that ran shows it: a static finding predicts it, no deploy or log
    /// observed it.
    #[serde(default = "observed_default")]
    pub observed: bool,
}

fn observed_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub text: String,
    /// Deploy ID, event ID, SHA, `file:line` or `log <timestamp>`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// Where a row that stands for several facts ends (`deploys`: the last deploy's creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// `deploy`, `deploys` (a run of deploys that failed the same way), `event`, `commit`,
    /// `log`, `status`.
    pub kind: String,
    pub text: String,
    pub source: String,
    /// The row's other sources: a deploy's own events, a group's last deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// The deploys a `deploys` row stands for, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploys: Vec<String>,
    /// Set when the entry is inconsistent (a deploy finishing before it starts, ...).
    pub flag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDuration {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// False when `end` is "now" (or the newest fact seen) because nothing recovered.
    pub resolved: bool,
    /// `3h 12m`.
    pub human: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagrams {
    /// Mermaid source of the deploy history.
    pub deploys: Option<String>,
    /// Mermaid source of the migration graph around the failing revision.
    pub migrations: Option<String>,
}

/// Runs every analysis over the evidence. `now` is only used for an unresolved incident's
/// duration; without it the newest fact in the evidence stands in.
pub fn analyze(evidence: &Evidence, now: Option<DateTime<Utc>>) -> Analysis {
    analyze_parsed(evidence, logs::parse_deploy_logs(evidence), now)
}

/// [`analyze`] with the deploy logs already parsed (by the checks, in the same run).
pub fn analyze_parsed(
    evidence: &Evidence,
    log_failures: Vec<LogFailure>,
    now: Option<DateTime<Utc>>,
) -> Analysis {
    let streak = correlate::streak(&evidence.deploys);
    let commit_range = streak
        .as_ref()
        .and_then(|s| correlate::commit_range(evidence, s));

    let mut classifications = Vec::new();
    for deploy in &evidence.deploys {
        let log = log_failures
            .iter()
            .find(|f| f.deploy_id.as_deref() == Some(deploy.id.as_str()));
        if let Some(class) = causes::classify(evidence, deploy, log) {
            classifications.push(class);
        }
    }

    let mut root_causes = causes::root_causes(
        evidence,
        streak.as_ref(),
        commit_range.as_ref(),
        &classifications,
        &log_failures,
    );
    for cause in &mut root_causes {
        (cause.suspect, cause.unattributed) =
            attribution::attribute(evidence, commit_range.as_ref(), cause, &log_failures);
    }
    let recovery = streak
        .as_ref()
        .map(|s| recovery::recovery(evidence, s, commit_range.as_ref()));
    let impact = streak.as_ref().map(|s| recovery::impact(evidence, s));
    let fix = root_causes
        .first()
        .map(|c| fix::recommended_fix(evidence, c, &log_failures));
    let timeline = timeline::build(
        evidence,
        streak.as_ref(),
        commit_range.as_ref(),
        &log_failures,
    );
    let duration = streak
        .as_ref()
        .and_then(|s| timeline::duration(evidence, s, now));

    let failure_point = failure_point::failure_point(evidence, streak.as_ref(), &root_causes);
    let lessons = lessons::suggest(evidence, streak.as_ref(), &root_causes, &log_failures);
    let failing_revision = root_causes.iter().find_map(|c| c.revision.clone());
    // The patch is the fix only when the top cause is that revision: an OOM or a build failure
    // keeps its own fix even when a schema rule flags some migration too.
    let patch = match root_causes.first() {
        Some(top) => top
            .revision
            .as_deref()
            .and_then(|r| patch::for_report(evidence, Some(r))),
        None => patch::for_report(evidence, None),
    };
    let diagrams = Diagrams {
        deploys: diagrams::deploy_history(evidence, streak.as_ref()),
        migrations: failing_revision.and_then(|rev| diagrams::migration_graph(evidence, &rev)),
    };

    Analysis {
        streak,
        commit_range,
        log_failures,
        root_causes,
        timeline,
        duration,
        diagrams,
        classifications,
        recovery,
        impact,
        fix,
        patch,
        failure_point,
        lessons,
    }
}
