//! Rules and their findings.
//!
//! Every rule lives in its own file under `rules/` and is listed once, in [`REGISTRY`]. A rule
//! reads the evidence (and, for history rules, the git history index) and returns findings; it
//! never prints. Filtering (disabled rules, inline ignores, `--fail-on`) happens here, once, for
//! all rules.

pub mod rules;

use std::collections::BTreeSet;

use crate::deploylog::{self, LogFailure};
use crate::evidence::history::MigrationHistory;
use crate::evidence::Evidence;
use crate::migrations::schema::RevisionRun;
use std::sync::OnceLock;

// Rules keep naming these `check::…`; they live beneath every stage.
pub use crate::finding::{sort_findings, Category, Excerpt, Finding, RuleMeta, Severity};

/// Everything a rule may read. The deploy logs are parsed once, here, and handed on to the
/// analysis (which runs after the checks, because root-cause ranking uses the findings).
pub struct CheckContext<'a> {
    pub evidence: &'a Evidence,
    /// The git history's migration mentions and migration file changes, when a repository was read.
    pub history: Option<&'a MigrationHistory>,
    /// The schema simulation of each migration set, run once for every rule that reads it.
    schema_runs: OnceLock<Vec<Vec<RevisionRun<'a>>>>,
    /// What the deploy logs say, parsed once for every rule that reads them and the analysis.
    log_failures: OnceLock<Vec<LogFailure>>,
}

impl<'a> CheckContext<'a> {
    pub fn new(evidence: &'a Evidence, history: Option<&'a MigrationHistory>) -> Self {
        CheckContext {
            evidence,
            history,
            schema_runs: OnceLock::new(),
            log_failures: OnceLock::new(),
        }
    }

    /// `deploylog::parse_deploy_logs` of the evidence, parsed on first use.
    pub fn log_failures(&self) -> &[LogFailure] {
        self.log_failures
            .get_or_init(|| deploylog::parse_deploy_logs(self.evidence))
    }

    /// The parsed deploy logs, for the analysis that follows the checks.
    pub fn into_log_failures(self) -> Vec<LogFailure> {
        self.log_failures();
        self.log_failures.into_inner().unwrap_or_default()
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

/// The rules of one category, in registry order.
pub fn rules_of(category: Category) -> impl Iterator<Item = &'static dyn Rule> {
    REGISTRY
        .iter()
        .copied()
        .filter(move |r| r.meta().category == category)
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
    category: Category::Ignores,
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
