//! The fix as code: the failing revision's file with the statements of `upgrade()` reordered
//! (whole statements, with the comments above them, so the file keeps its formatting), the
//! statements of `downgrade()` that undo them put in the reverse order, and the result as a
//! unified diff. The patched file is parsed again and every schema rule re-run on it before the
//! patch is offered; where no order passes, the patch is withheld and the alternatives say what
//! else can be done, with their trade-offs.

mod order;
mod text;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::check::{self, Category, CheckContext};
use crate::evidence::{Evidence, Service};
use crate::finding::Finding;
use crate::migrations::alembic::parse_revision;
use crate::migrations::alembic::statements::function_statements;
use crate::migrations::fix_order::proposed_order;
use crate::migrations::model::{MigrationSet, Operation, Revision};
use crate::migrations::schema::{self, Conflict, Origin, Schema};
use crate::source::blob_id;

use order::{admissible, conflict_text, dangling, searched_order, why_no_order};
use text::{permute, reversed_downgrade, statements_apart, statements_in};

/// A computed patch of one revision file, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationPatch {
    pub revision: String,
    pub file: String,
    /// Git blob ID of the text the patch applies to.
    pub blob: String,
    /// The schema rules whose findings in the file it answers.
    pub rules: Vec<String>,
    /// Unified diff (`a/FILE`, `b/FILE`), when a reorder passes every schema rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The whole patched file, for `postmortem fix --write`.
    #[serde(skip)]
    pub patched: Option<String>,
    /// The patched file passes every schema rule.
    pub passes: bool,
    /// What the re-simulation found, or why no reorder fixes the finding.
    pub verdict: String,
    /// What became of `downgrade()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<String>,
    pub alternatives: Vec<Alternative>,
}

/// Another way out, with what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub title: String,
    pub how: String,
    pub tradeoff: String,
}

fn schema_rule_names() -> Vec<&'static str> {
    check::rules_of(Category::Schema)
        .map(|r| r.meta().name)
        .collect()
}

/// The revisions a schema rule flags, as `(revision, file)`, each once, sorted by file: what a
/// patch can be computed for.
pub fn candidates(evidence: &Evidence) -> Vec<(String, String)> {
    let rules = schema_rule_names();
    let mut out: Vec<(String, String)> = evidence
        .findings
        .iter()
        .filter(|f| rules.contains(&f.rule.as_str()))
        .filter_map(|f| Some((f.revision.clone()?, f.file.clone()?)))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    out.dedup();
    out
}

/// The revision to patch: `blamed` (the analysis's root cause) when a schema rule flags it,
/// else the only flagged one.
pub fn default_revision(evidence: &Evidence, blamed: Option<&str>) -> Option<String> {
    let candidates = candidates(evidence);
    if let Some(blamed) = blamed {
        if candidates.iter().any(|(r, _)| r == blamed) {
            return Some(blamed.to_string());
        }
    }
    match candidates.as_slice() {
        [(only, _)] => Some(only.clone()),
        _ => None,
    }
}

/// The patch the report shows, from the file's text recorded in the evidence: for `blamed`
/// (the revision of the top root cause) when a schema rule flags it, and nothing for another
/// revision; with no root cause at all, for the only flagged revision.
pub fn for_report(evidence: &Evidence, blamed: Option<&str>) -> Option<MigrationPatch> {
    let revision = match blamed {
        Some(blamed) => candidates(evidence)
            .into_iter()
            .map(|(r, _)| r)
            .find(|r| r == blamed)?,
        None => default_revision(evidence, None)?,
    };
    let file = revision_of(evidence, &revision)?.1.file.clone();
    let text = evidence.migration_sources.iter().find(|s| s.file == file)?;
    build(evidence, &revision, &text.text)
}

fn revision_of<'e>(evidence: &'e Evidence, id: &str) -> Option<(&'e MigrationSet, &'e Revision)> {
    evidence
        .migration_sets
        .iter()
        .find_map(|set| Some((set, set.revisions.iter().find(|r| r.id == id)?)))
}

/// The patch of revision `id`, computed from `text` (the content of its file), judged against
/// the evidence's migration sets. `None` when no schema rule flags the revision or it is not in
/// the evidence.
pub fn build(evidence: &Evidence, id: &str, text: &str) -> Option<MigrationPatch> {
    let (set, recorded) = revision_of(evidence, id)?;
    let rule_names = schema_rule_names();
    let findings: Vec<&Finding> = evidence
        .findings
        .iter()
        .filter(|f| rule_names.contains(&f.rule.as_str()))
        .filter(|f| {
            f.revision.as_deref() == Some(id) || f.file.as_deref() == Some(recorded.file.as_str())
        })
        .collect();
    let mut rules: Vec<String> = findings.iter().map(|f| f.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    if rules.is_empty() {
        return None;
    }
    let mut patch = MigrationPatch {
        revision: id.to_string(),
        file: recorded.file.clone(),
        blob: blob_id(text.as_bytes()),
        rules,
        diff: None,
        patched: None,
        passes: false,
        verdict: String::new(),
        downgrade: None,
        alternatives: Vec::new(),
    };
    match reorder(set, recorded, text) {
        Ok(done) => {
            patch.diff = Some(unified_diff(&recorded.file, text, &done.text));
            patch.patched = Some(done.text);
            patch.passes = true;
            patch.verdict = format!(
                "re-simulated: passes every schema rule ({})",
                rule_names.join(", ")
            );
            patch.downgrade = done.downgrade;
        }
        Err(why) => {
            patch.verdict = format!("no order of `upgrade()` fixes it: {why}");
        }
    }
    patch.alternatives = alternatives(set, recorded, patch.passes, &findings);
    Some(patch)
}

/// A reordered file that passed the rules.
struct Reordered {
    text: String,
    downgrade: Option<String>,
}

fn reorder(set: &MigrationSet, recorded: &Revision, text: &str) -> Result<Reordered, String> {
    let original = parse_revision(&recorded.file, text.as_bytes())
        .map_err(|e| format!("the file does not parse ({e})"))?;
    let original_set = with_revision(set, &original);
    let runs = schema::simulate(&original_set);
    let run = runs
        .iter()
        .find(|r| r.revision.id == original.id)
        .ok_or("the revision is not reached from a base (a cycle or a missing parent)")?;
    if run.conflicts.is_empty() {
        return Err("the simulation finds no conflict in this text of the file".to_string());
    }
    // The order the fk-type-mismatch rule proposes (what the report lists), else one searched
    // for; the first whose file passes the rules is kept.
    let mut failed = None;
    let Some(before) = run.before.as_ref() else {
        return Err("the schema before the revision is not known".to_string());
    };
    let identity: Vec<usize> = (0..original.upgrade.len()).collect();
    let dangling_before = dangling(before, &original, &identity);
    if let Some(order) =
        proposed_order(run).filter(|order| admissible(before, &original, order, &dangling_before))
    {
        match apply_order(set, recorded, text, &original, &original_set, &order) {
            Ok(done) => return Ok(done),
            Err(why) => failed = Some(why),
        }
    }
    if let Some(order) = searched_order(before, &original) {
        match apply_order(set, recorded, text, &original, &original_set, &order) {
            Ok(done) => return Ok(done),
            Err(why) => failed = failed.or(Some(why)),
        }
    }
    Err(failed.unwrap_or_else(|| why_no_order(&original, &run.conflicts)))
}

/// The file with `upgrade()`'s operations in `order` (and `downgrade()` to match), if it
/// passes every schema rule.
fn apply_order(
    set: &MigrationSet,
    recorded: &Revision,
    text: &str,
    original: &Revision,
    original_set: &MigrationSet,
    order: &[usize],
) -> Result<Reordered, String> {
    let (_, ups) = function_statements(text, "upgrade")
        .map_err(|e| format!("the file does not parse ({e})"))?
        .ok_or("the file has no `upgrade()`")?;
    if !statements_apart(&ups) {
        return Err("statements of `upgrade()` share a line, so they cannot be moved as lines; move them by hand".to_string());
    }
    let statement_order = statements_in(&ups, &original.upgrade, order)?;
    let mut patched = permute(text, &ups, &statement_order);

    let mut reversed = false;
    if let Some((_, downs)) = function_statements(text, "downgrade").ok().flatten() {
        if statements_apart(&downs) {
            if let Some(down_order) = reversed_downgrade(&ups, &statement_order, &downs) {
                // Each permutation keeps the line count, so the upgrade's line numbers still
                // hold in the text with the downgrade permuted.
                patched = permute(&permute(text, &downs, &down_order), &ups, &statement_order);
                reversed = true;
            }
        }
    }

    let fixed = parse_revision(&recorded.file, patched.as_bytes())
        .map_err(|e| format!("the reordered file does not parse ({e})"))?;
    let fixed_set = with_revision(set, &fixed);
    let before = schema_findings(original_set);
    let after = schema_findings(&fixed_set);
    let known: BTreeSet<(String, Option<String>, Option<u32>)> = before
        .iter()
        .filter(|f| f.file.as_deref() != Some(recorded.file.as_str()))
        .map(|f| (f.rule.clone(), f.file.clone(), f.line))
        .collect();
    if let Some(left) = after.iter().find(|f| {
        f.file.as_deref() == Some(recorded.file.as_str())
            || !known.contains(&(f.rule.clone(), f.file.clone(), f.line))
    }) {
        return Err(format!(
            "the best order found still fails {} ({})",
            left.rule, left.message
        ));
    }
    let conflict = downgrade_conflicts(&fixed_set, &fixed, &patched)
        .first()
        .map(conflict_text);
    let downgrade = match (reversed, conflict) {
        (true, None) => Some("`downgrade()` undoes the moved statements in the reverse order; its replay on the patched schema conflicts nowhere".to_string()),
        (true, Some(c)) => Some(format!("`downgrade()` undoes the moved statements in the reverse order, but its replay on the patched schema still conflicts ({c}): reorder it by hand")),
        (false, Some(c)) => Some(format!("`downgrade()` was left as it is, and its replay on the patched schema conflicts ({c}): reorder it by hand")),
        (false, None) => None,
    };
    Ok(Reordered {
        text: patched,
        downgrade,
    })
}

fn with_revision(set: &MigrationSet, revision: &Revision) -> MigrationSet {
    let mut set = set.clone();
    for r in set.revisions.iter_mut().filter(|r| r.id == revision.id) {
        *r = revision.clone();
    }
    set
}

/// Every schema rule, run on `set` alone.
fn schema_findings(set: &MigrationSet) -> Vec<Finding> {
    let mut evidence = Evidence::new(Service::default());
    evidence.migration_sets = vec![set.clone()];
    let ctx = CheckContext::new(&evidence, None);
    check::rules_of(Category::Schema)
        .flat_map(|rule| rule.check(&ctx))
        .collect()
}

/// The foreign-key conflicts of `downgrade()` replayed on the schema the patched set leaves
/// after `revision`.
fn downgrade_conflicts(set: &MigrationSet, revision: &Revision, text: &str) -> Vec<Conflict> {
    let Some((_, downs)) = function_statements(text, "downgrade").ok().flatten() else {
        return Vec::new();
    };
    let mut schema = Schema::new();
    for r in schema::upgrade_order(set) {
        let origin = Origin {
            revision: &r.id,
            file: &r.file,
        };
        for op in &r.upgrade {
            schema.apply(&op.op, origin);
        }
        if r.id == revision.id {
            break;
        }
    }
    let origin = Origin {
        revision: &revision.id,
        file: &revision.file,
    };
    downs
        .iter()
        .flat_map(|s| &s.ops)
        .flat_map(|op| schema.apply(&op.op, origin))
        .collect()
}

/// A diff as `git diff` prints it: `git apply`, libgit2 (which wants the `diff --git` line)
/// and `patch -p1` all take it.
fn unified_diff(file: &str, old: &str, new: &str) -> String {
    // Patience matches the unique lines (the calls) first, so a moved statement reads as one
    // block removed and one added rather than as shifted closing parentheses.
    let hunks = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string();
    format!("diff --git a/{file} b/{file}\n{hunks}")
}

/// The other ways out, as the hand-written postmortem weighed them: what the findings
/// themselves prescribe when no reorder does, splitting the revision when it changes a type
/// itself, and the manual repair.
fn alternatives(
    set: &MigrationSet,
    revision: &Revision,
    reordered: bool,
    findings: &[&Finding],
) -> Vec<Alternative> {
    let mut out = Vec::new();
    if !reordered {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for f in findings {
            if !seen.insert(f.rule.as_str()) {
                continue;
            }
            let help = f.help.clone();
            match f.rule.as_str() {
                "alter-referenced-column" => {
                    let statements: Vec<String> = f.data["fix"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str())
                                .map(|s| format!("`{s}`"))
                                .collect()
                        })
                        .unwrap_or_default();
                    out.push(Alternative {
                        title: "Drop the foreign key, change both columns, re-create the key"
                            .to_string(),
                        how: if statements.is_empty() {
                            help
                        } else {
                            // The title says what; the finding's help says it again.
                            format!("In this order: {}.", statements.join("; "))
                        },
                        tradeoff: "Fixes the file for every database; both tables are rewritten, and locked, while their column types change.".to_string(),
                    });
                }
                _ => out.push(Alternative {
                    title: "Declare the foreign key's columns with types that pair".to_string(),
                    how: help,
                    tradeoff: "Fixes the file for every database; changing the referenced column instead changes every table that references it.".to_string(),
                }),
            }
        }
    }
    // Splitting helps when the revision declares the key and changes the type itself; a key
    // from an earlier revision is in place whichever revision changes the type.
    let declares_the_key = reordered || findings.iter().any(|f| f.rule == "fk-type-mismatch");
    let changes_a_type = revision.upgrade.iter().any(|op| {
        matches!(
            op.op,
            Operation::AlterColumn {
                new_type: Some(_),
                ..
            }
        )
    });
    if declares_the_key && changes_a_type {
        let parent = revision
            .parents
            .first()
            .map(|p| format!("`{p}`"))
            .unwrap_or_else(|| "its parent".to_string());
        out.push(Alternative {
            title: "Split into two revisions".to_string(),
            how: format!(
                "Move the type changes into a new revision between {parent} and `{}` (`alembic revision -m \"...\"`), and point `{}`'s `down_revision` at it.",
                revision.id, revision.id
            ),
            tradeoff: format!(
                "Each step runs, and can be retried, on its own; one more file in {}, and a database already past {parent} runs both.",
                set.path
            ),
        });
    }
    out.push(Alternative {
        title: format!("Fix the database by hand, then `alembic stamp {}`", revision.id),
        how: "Run the corrected DDL in psql on the production database, then record the revision as applied so that Alembic skips it.".to_string(),
        tradeoff: "The quickest way to unblock deploys, but the file stays wrong: every other database (CI, staging, a new environment) still fails, and the history no longer says what ran.".to_string(),
    });
    out
}
