//! The template context: one serialisable value holding the evidence, the analysis, and a
//! `view` of conveniences derived from both. `postmortem report --format context` prints it, and
//! `docs/template-context.json` (kept in sync by a test) documents it for custom templates.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analyze::{Analysis, LogFailure};
use crate::evidence::{DatabaseRole, Deploy, DeployStatus, Evidence, Phase};
use crate::finding::{Finding, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportContext {
    pub tool: Tool,
    pub evidence: Evidence,
    pub analysis: Analysis,
    pub view: View,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Derived facts the builtin template needs and custom templates may use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub title: String,
    /// `YYYY-MM-DD` of the first failure (or of the newest deploy).
    pub date: Option<String>,
    pub status: String,
    /// `name (srv-…)`, or the ID alone.
    pub service_label: String,
    /// The failed deploys of the streak (or all failed deploys), newest first.
    pub failed_deploys: Vec<DeployRow>,
    /// How many of them carry each exit code, as `(code, count)`, most frequent first.
    pub exit_codes: Vec<(i64, usize)>,
    /// How many failed in each phase.
    pub phases: Vec<(String, usize)>,
    /// How many of the failed deploys got past the build.
    pub builds_succeeded: usize,
    /// How many of the failed deploys failed at the build (`build_failed`).
    #[serde(default)]
    pub builds_failed: usize,
    /// Whether the top root cause was seen happening (logs, events), not only predicted by a
    /// static finding.
    #[serde(default)]
    pub cause_observed: bool,
    /// The log failure that best explains the streak (most frequent failing revision).
    pub log_failure: Option<LogFailure>,
    /// How many failed deploys' logs show that same failure.
    pub log_failure_deploys: usize,
    /// The static finding behind the root cause (`fk-type-mismatch`, ...), when there is one.
    pub root_finding: Option<Finding>,
    /// Phantom-migration findings, oldest commit first.
    pub phantoms: Vec<Finding>,
    /// `sqlite-tests-postgres-prod` findings.
    pub test_engine_findings: Vec<Finding>,
    /// Findings not shown in a section of their own.
    pub other_findings: Vec<Finding>,
    /// Head revision(s) of each migration set, for the verification checklist.
    pub heads: Vec<String>,
    pub related_files: Vec<String>,
    /// The human's lessons, or else the help of each rule that fired.
    pub lessons: Vec<String>,
    pub lessons_are_suggested: bool,
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub deploys: usize,
    pub failed: usize,
    pub errors: usize,
    pub warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployRow {
    pub id: String,
    pub sha: Option<String>,
    pub short_sha: Option<String>,
    pub summary: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub created: Option<String>,
    pub trigger: Option<String>,
    pub status: String,
    /// `succeeded` / `failed`, inferred from the status (a deploy that failed after the build
    /// got past it), or `unknown`.
    pub build: String,
    pub phase: Option<String>,
    pub exit_code: Option<i64>,
    pub event_id: Option<String>,
}

const TIME: &str = "%Y-%m-%d %H:%M:%S";

/// Which diagrams the report draws. Mermaid is shown as a diagram by GitHub, GitLab and most
/// markdown viewers, and as source text by others (Jira): a publisher for those asks for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiagramStyle {
    #[default]
    Mermaid,
    None,
}

impl ReportContext {
    /// The context with the diagrams `style` allows: `None` leaves them out of every template.
    pub fn with_diagrams(mut self, style: DiagramStyle) -> Self {
        if style == DiagramStyle::None {
            self.analysis.diagrams = crate::analyze::Diagrams::default();
        }
        self
    }
}

pub fn build(evidence: Evidence, analysis: Analysis) -> ReportContext {
    let view = View::from_parts(&evidence, &analysis);
    ReportContext {
        tool: Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        evidence,
        analysis,
        view,
    }
}

fn fmt_time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.format(TIME).to_string())
}

fn row(deploy: &Deploy) -> DeployRow {
    let build = match deploy.status {
        DeployStatus::BuildFailed => "failed",
        DeployStatus::UpdateFailed
        | DeployStatus::PreDeployFailed
        | DeployStatus::Live
        | DeployStatus::Deactivated => "succeeded",
        _ => "unknown",
    };
    let sha = deploy.commit.as_ref().map(|c| c.sha.clone());
    DeployRow {
        id: deploy.id.clone(),
        short_sha: sha
            .as_deref()
            .map(|s| crate::evidence::short_sha(s).to_string()),
        sha,
        summary: deploy
            .commit
            .as_ref()
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.lines().next())
            .map(str::to_string),
        created: fmt_time(deploy.created_at),
        trigger: deploy.trigger.clone(),
        status: deploy.status.as_str().to_string(),
        build: build.to_string(),
        phase: deploy.failure.as_ref().map(|f| f.phase.label().to_string()),
        exit_code: deploy.failure.as_ref().and_then(|f| f.exit_code),
        event_id: deploy.failure.as_ref().and_then(|f| f.event_id.clone()),
    }
}

/// Which failure a log shows: the revision that was running and the error it hit.
fn failure_key(f: &LogFailure) -> (String, String) {
    let error = f.db_error.as_ref().or(f.alembic_error.as_ref());
    (
        f.revision.clone().unwrap_or_default(),
        error.cloned().unwrap_or_default(),
    )
}

fn count_sorted<K: Ord + Clone>(items: impl Iterator<Item = K>) -> Vec<(K, usize)> {
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for k in items {
        *counts.entry(k).or_default() += 1;
    }
    let mut v: Vec<(K, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

impl View {
    fn from_parts(evidence: &Evidence, analysis: &Analysis) -> View {
        let streak_ids: BTreeSet<&str> = analysis
            .streak
            .as_ref()
            .map(|s| s.deploys.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let failed: Vec<&Deploy> = evidence
            .deploys
            .iter()
            .filter(|d| {
                if streak_ids.is_empty() {
                    d.status.is_failure()
                } else {
                    streak_ids.contains(d.id.as_str())
                }
            })
            .collect();
        let failed_deploys: Vec<DeployRow> = failed.iter().map(|d| row(d)).collect();
        let exit_codes = count_sorted(failed_deploys.iter().filter_map(|r| r.exit_code));
        let phases = count_sorted(
            failed
                .iter()
                .map(|d| d.failure.as_ref().map_or(Phase::Unknown, |f| f.phase))
                .map(|p| p.label().to_string()),
        );
        let builds_succeeded = failed_deploys
            .iter()
            .filter(|r| r.build == "succeeded")
            .count();
        let builds_failed = failed_deploys
            .iter()
            .filter(|r| r.build == "failed")
            .count();

        // The logs shown are those of the top cause's revision when it has one; among them, the
        // failure most deploys share is the one that explains the streak.
        let top_cause = analysis.root_causes.first();
        let failing: BTreeSet<&str> = failed.iter().map(|d| d.id.as_str()).collect();
        let relevant: Vec<&LogFailure> = analysis
            .log_failures
            .iter()
            .filter(|f| {
                f.deploy_id
                    .as_deref()
                    .is_none_or(|id| failing.is_empty() || failing.contains(id))
            })
            .filter(|f| crate::deploylog::shows_real_error(f))
            .filter(|f| match top_cause.and_then(|rc| rc.revision.as_ref()) {
                Some(rev) => f.revision.as_ref() == Some(rev),
                None => true,
            })
            .collect();
        let by_revision = count_sorted(relevant.iter().map(|f| failure_key(f)));
        let (log_failure, log_failure_deploys) = match by_revision.first() {
            // The earliest occurrence: where the failure was first seen.
            Some((key, n)) => (
                relevant
                    .iter()
                    .filter(|f| failure_key(f) == *key)
                    .min_by(|a, b| {
                        a.timestamp
                            .cmp(&b.timestamp)
                            .then_with(|| a.log_id.cmp(&b.log_id))
                    })
                    .map(|f| (*f).clone()),
                *n,
            ),
            None => (None, 0),
        };

        let findings = &evidence.findings;
        // Only the analysis ranks causes: the report's root finding is the one its top cause
        // names, never a schema finding picked on its own (an OOM stays an OOM).
        let root_finding = top_cause.and_then(|rc| {
            let rule = rc.finding_rule.as_deref()?;
            findings
                .iter()
                .find(|f| {
                    f.rule == rule
                        && (rc.revision.is_none() || f.revision == rc.revision)
                        && (rc.revision.is_some() || f.file == rc.file)
                })
                .cloned()
        });
        let mut phantoms: Vec<Finding> = findings
            .iter()
            .filter(|f| f.rule == "phantom-migration")
            .cloned()
            .collect();
        phantoms.sort_by(|a, b| {
            let date = |f: &Finding| {
                f.data
                    .get("date")
                    .and_then(|d| d.as_str())
                    .map(str::to_string)
            };
            date(a).cmp(&date(b)).then_with(|| a.commit.cmp(&b.commit))
        });
        let test_engine_findings: Vec<Finding> = findings
            .iter()
            .filter(|f| f.rule == "sqlite-tests-postgres-prod")
            .cloned()
            .collect();
        // The summary states the streak, and the root cause section the logs of the revision
        // it explains: a table row repeating them would say the same fact twice.
        let shown_elsewhere = |f: &Finding| {
            f.rule == "phantom-migration"
                || f.rule == "sqlite-tests-postgres-prod"
                || Some(f) == root_finding.as_ref()
                || (f.rule == "failed-deploy-streak" && analysis.streak.is_some())
                || (f.rule == "migration-failed-in-logs"
                    && f.revision.is_some()
                    && (root_finding
                        .as_ref()
                        .is_some_and(|r| r.revision == f.revision)
                        || log_failure
                            .as_ref()
                            .is_some_and(|l| l.revision == f.revision)))
        };
        let other_findings: Vec<Finding> = findings
            .iter()
            .filter(|f| !shown_elsewhere(f))
            .cloned()
            .collect();

        let heads: Vec<String> = evidence
            .migration_sets
            .iter()
            .flat_map(|s| s.heads.iter().cloned())
            .collect();

        let mut related: BTreeSet<String> = BTreeSet::new();
        if let Some(f) = &root_finding {
            related.extend(f.file.clone());
        }
        if let Some(f) = &log_failure {
            if let Some(script) = &f.script {
                related.insert(script.clone());
            }
        }
        if let Some(file) = analysis.failure_point.as_ref().and_then(|p| p.file.clone()) {
            related.insert(file);
        }
        for fact in &evidence.database_facts {
            if fact.role == DatabaseRole::Test {
                if let Some((file, _)) = fact.source.rsplit_once(':') {
                    related.insert(file.to_string());
                }
            }
        }
        for f in findings.iter().filter(|f| f.severity == Severity::Error) {
            related.extend(f.file.clone());
        }

        let (lessons, lessons_are_suggested) = if evidence.incident.lessons.is_empty() {
            (analysis.lessons.clone(), true)
        } else {
            (evidence.incident.lessons.clone(), false)
        };

        let service_label = match &evidence.service.name {
            Some(name) if !evidence.service.id.is_empty() => {
                format!("{name} ({})", evidence.service.id)
            }
            Some(name) => name.clone(),
            None => evidence.service.id.clone(),
        };
        let title =
            evidence
                .incident
                .title
                .clone()
                .unwrap_or_else(|| match &evidence.service.name {
                    Some(name) => format!("Render Deployment Failure Analysis: {name}"),
                    None if evidence.deploys.is_empty() => "Migration Check".to_string(),
                    None => "Render Deployment Failure Analysis".to_string(),
                });
        let first_failure = analysis
            .streak
            .as_ref()
            .and_then(|s| s.first_failed_at)
            .or_else(|| failed.iter().filter_map(|d| d.created_at).min())
            .or_else(|| evidence.deploys.iter().filter_map(|d| d.created_at).max());
        let status = evidence.incident.status.clone().unwrap_or_else(|| {
            let recovered = analysis
                .streak
                .as_ref()
                .is_some_and(|s| s.recovered_by.is_some());
            let recovery = analysis.recovery.as_ref().map(|r| r.status.as_str());
            if recovery == Some("mitigated") {
                "Mitigated (rolled back; the fault is still on the branch)".to_string()
            } else if recovery == Some("recovered") {
                "Recovered (live again; whether the fault is fixed is not known)".to_string()
            } else if recovered {
                "Resolved".to_string()
            } else if top_cause.is_some_and(|c| !c.observed) {
                "Root Cause Predicted (not observed in any deploy)".to_string()
            } else if !analysis.root_causes.is_empty() {
                "Root Cause Identified".to_string()
            } else {
                "Investigating".to_string()
            }
        });
        View {
            title,
            date: first_failure.map(|t| t.format("%Y-%m-%d").to_string()),
            status,
            service_label,
            counts: Counts {
                deploys: evidence.deploys.len(),
                failed: failed_deploys.len(),
                errors: findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count(),
                warnings: findings
                    .iter()
                    .filter(|f| f.severity == Severity::Warning)
                    .count(),
            },
            failed_deploys,
            exit_codes,
            phases,
            builds_succeeded,
            builds_failed,
            cause_observed: top_cause.is_some_and(|c| c.observed),
            log_failure,
            log_failure_deploys,
            root_finding,
            phantoms,
            test_engine_findings,
            other_findings,
            heads,
            related_files: related.into_iter().collect(),
            lessons,
            lessons_are_suggested,
        }
    }
}
