//! Rules and their findings.
//!
//! Every rule lives in its own file under `rules/` and is listed once, in [`REGISTRY`]. A rule
//! reads the evidence (and, for history rules, the git history index) and returns findings; it
//! never prints. Filtering (disabled rules, inline ignores, `--fail-on`) happens here, once, for
//! all rules.

pub mod rules;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::collect::git::MigrationHistory;
use crate::evidence::Evidence;
use crate::migrations::schema::RevisionRun;
use std::sync::OnceLock;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity `{other}` (expected error, warning or info)"
            )),
        }
    }
}

/// A few lines of source around a finding, kept in the evidence so that `render` can show
/// them without the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    pub start_line: u32,
    pub lines: Vec<String>,
    /// The line the finding points at, within `lines`' numbering (absolute line number).
    pub highlight: u32,
}

impl Excerpt {
    /// Lines `line - before ..= line + after` of `source` (1-based), clamped to the file.
    pub fn around(source: &str, line: u32, before: u32, after: u32) -> Option<Excerpt> {
        if line == 0 {
            return None;
        }
        let start = line.saturating_sub(before).max(1);
        let lines: Vec<String> = source
            .lines()
            .skip(start as usize - 1)
            .take((line + after + 1 - start) as usize)
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return None;
        }
        Some(Excerpt {
            start_line: start,
            lines,
            highlight: line,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule name.
    pub rule: String,
    pub severity: Severity,
    /// What is wrong and its effect.
    pub message: String,
    /// One imperative sentence: what to do about it.
    pub help: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<Excerpt>,
    /// Rule-specific detail, documented in each rule's file.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Finding {
    pub fn new(meta: &RuleMeta, message: impl Into<String>) -> Finding {
        Finding {
            rule: meta.name.to_string(),
            severity: meta.severity,
            message: message.into(),
            help: meta.help.to_string(),
            file: None,
            line: None,
            commit: None,
            revision: None,
            excerpt: None,
            data: serde_json::Value::Null,
        }
    }

    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    pub fn commit(mut self, sha: impl Into<String>) -> Self {
        self.commit = Some(sha.into());
        self
    }

    pub fn revision(mut self, id: impl Into<String>) -> Self {
        self.revision = Some(id.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn excerpt(mut self, excerpt: Option<Excerpt>) -> Self {
        self.excerpt = excerpt;
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Most severe first, then by rule, place and message: the order every output uses.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.line.cmp(&b.line))
            .then_with(|| a.revision.cmp(&b.revision))
            .then_with(|| a.commit.cmp(&b.commit))
            .then_with(|| a.message.cmp(&b.message))
    });
    findings.dedup();
}

/// What a rule is, for `--help`, the report and SARIF's rule table.
#[derive(Debug)]
pub struct RuleMeta {
    pub name: &'static str,
    pub severity: Severity,
    /// What it flags, one line.
    pub summary: &'static str,
    /// What to do, one imperative sentence.
    pub help: &'static str,
}

/// Everything a rule may read. Rules that need log forensics call `crate::analyze::logs`
/// themselves: analysis runs after the checks, because root-cause ranking uses the findings.
pub struct CheckContext<'a> {
    pub evidence: &'a Evidence,
    /// The git history's migration mentions and migration file changes, when a repository was read.
    pub history: Option<&'a MigrationHistory>,
    /// The schema simulation of each migration set, run once for every rule that reads it.
    schema_runs: OnceLock<Vec<Vec<RevisionRun<'a>>>>,
}

impl<'a> CheckContext<'a> {
    pub fn new(evidence: &'a Evidence, history: Option<&'a MigrationHistory>) -> Self {
        CheckContext {
            evidence,
            history,
            schema_runs: OnceLock::new(),
        }
    }

    /// `schema::simulate` of each migration set, in `evidence.migration_sets` order.
    pub fn schema_runs(&self) -> &[Vec<RevisionRun<'a>>] {
        self.schema_runs.get_or_init(|| {
            self.evidence
                .migration_sets
                .iter()
                .map(crate::migrations::schema::simulate)
                .collect()
        })
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding>;
}

/// Every rule, once. The order here is the order of `postmortem check --list-rules`.
pub static REGISTRY: &[&dyn Rule] = &[
    &rules::phantom_migration::PhantomMigration,
    &rules::multiple_heads::MultipleHeads,
    &rules::missing_parent::MissingParent,
    &rules::duplicate_revision::DuplicateRevision,
    &rules::duplicate_branch_label::DuplicateBranchLabel,
    &rules::revision_cycle::RevisionCycle,
    &rules::no_migrations_found::NoMigrationsFound,
    &rules::fk_type_mismatch::FkTypeMismatch,
    &rules::alter_referenced_column::AlterReferencedColumn,
    &rules::unparseable_migration::UnparseableMigration,
    &rules::failed_deploy_streak::FailedDeployStreak,
    &rules::migration_failed_in_logs::MigrationFailedInLogs,
    &rules::sqlite_tests_postgres_prod::SqliteTestsPostgresProd,
];

pub fn rule(name: &str) -> Option<&'static dyn Rule> {
    REGISTRY.iter().copied().find(|r| r.meta().name == name)
}

/// Which rules run and which findings count.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub disabled: BTreeSet<String>,
}

/// Runs every enabled rule and applies inline ignores. Findings that parsing produced earlier
/// (`unparseable-migration`) are passed in `prior` and go through the same filters.
pub fn run(ctx: &CheckContext<'_>, options: &CheckOptions, prior: Vec<Finding>) -> Vec<Finding> {
    let mut findings = prior;
    for rule in REGISTRY {
        if options.disabled.contains(rule.meta().name) {
            continue;
        }
        findings.extend(rule.check(ctx));
    }
    // After the ignores, so that `unused-ignore` itself can be disabled.
    let mut findings = apply_ignores(ctx.evidence, findings, options);
    findings.retain(|f| !options.disabled.contains(&f.rule));
    sort_findings(&mut findings);
    findings
}

/// Meta of the finding that reports an inline ignore that silenced nothing.
pub static UNUSED_IGNORE: RuleMeta = RuleMeta {
    name: "unused-ignore",
    severity: Severity::Warning,
    summary: "a `# postmortem: ignore[rule]` comment that silences no finding",
    help: "Remove the ignore comment, or fix its rule name.",
};

/// Drops findings silenced by `# postmortem: ignore[rule]` in their file and reports every
/// ignore that silenced nothing, so stale ignores do not pile up.
fn apply_ignores(
    evidence: &Evidence,
    findings: Vec<Finding>,
    options: &CheckOptions,
) -> Vec<Finding> {
    let mut used: BTreeSet<(String, String, u32)> = BTreeSet::new();
    let ignores: Vec<(&str, &str, u32)> = evidence
        .migration_sets
        .iter()
        .flat_map(|set| &set.revisions)
        .flat_map(|rev| {
            rev.ignores
                .iter()
                .map(move |ig| (rev.file.as_str(), ig.rule.as_str(), ig.line))
        })
        .collect();
    let mut kept = Vec::with_capacity(findings.len());
    for finding in findings {
        let silenced_by = finding.file.as_deref().and_then(|file| {
            ignores
                .iter()
                .find(|(f, rule, _)| *f == file && (*rule == finding.rule || *rule == "all"))
        });
        match silenced_by {
            Some((file, rule, line)) => {
                used.insert((file.to_string(), rule.to_string(), *line));
            }
            None => kept.push(finding),
        }
    }
    for (file, rule, line) in ignores {
        // An ignore for a disabled rule is not stale: it is needed again once the rule is on.
        if options.disabled.contains(rule) {
            continue;
        }
        if !used.contains(&(file.to_string(), rule.to_string(), line)) {
            let known = rule == "all" || self::rule(rule).is_some();
            let message = if known {
                format!("`# postmortem: ignore[{rule}]` silences nothing in this file: it only hides the next real finding")
            } else {
                format!("`# postmortem: ignore[{rule}]` names no rule: nothing is silenced")
            };
            kept.push(Finding::new(&UNUSED_IGNORE, message).file(file).line(line));
        }
    }
    kept
}
