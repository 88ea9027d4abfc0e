//! The fix as code: the failing revision's file with the statements of `upgrade()` reordered
//! (whole statements, with the comments above them, so the file keeps its formatting), the
//! statements of `downgrade()` that undo them put in the reverse order, and the result as a
//! unified diff. The patched file is parsed again and every schema rule re-run on it before the
//! patch is offered; where no order passes, the patch is withheld and the alternatives say what
//! else can be done, with their trade-offs.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::check::{self, Category, CheckContext};
use crate::evidence::{Evidence, Service};
use crate::finding::Finding;
use crate::migrations::alembic::parse_revision;
use crate::migrations::alembic::statements::{function_statements, Statement};
use crate::migrations::fix_order::proposed_order;
use crate::migrations::model::{MigrationSet, Operation, OperationAt, Revision};
use crate::migrations::schema::{self, replay_ops, Conflict, Origin, Schema};
use crate::source::blob_id;

/// Past this many operations in one revision, the search for an order is not attempted.
const MAX_SEARCHED_OPS: usize = 60;

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

/// The patch the report shows: for the blamed (or only flagged) revision, from the file's text
/// recorded in the evidence.
pub fn for_report(evidence: &Evidence, blamed: Option<&str>) -> Option<MigrationPatch> {
    let revision = default_revision(evidence, blamed)?;
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

    let mut downgrade = None;
    if let Some((_, downs)) = function_statements(text, "downgrade").ok().flatten() {
        if statements_apart(&downs) {
            if let Some(down_order) = reversed_downgrade(&ups, &statement_order, &downs) {
                // Each permutation keeps the line count, so the upgrade's line numbers still
                // hold in the text with the downgrade permuted.
                patched = permute(&permute(text, &downs, &down_order), &ups, &statement_order);
                downgrade = Some(
                    "`downgrade()` undoes the moved statements in the reverse order".to_string(),
                );
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
    if downgrade.is_some() {
        let conflicts = downgrade_conflicts(&fixed_set, &fixed, &patched);
        if let Some(c) = conflicts.first() {
            downgrade = Some(format!(
                "`downgrade()` was reordered to undo the moved statements in reverse, but its replay still conflicts: {}",
                conflict_text(c)
            ));
        } else {
            downgrade = Some(
                "`downgrade()` undoes the moved statements in the reverse order; its replay on the patched schema conflicts nowhere".to_string(),
            );
        }
    }
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

/// An order with no conflict, found by moving one later operation in front of an earlier one
/// at a time, as long as each move lowers the number of conflicts.
fn searched_order(before: &Schema, revision: &Revision) -> Option<Vec<usize>> {
    let ops = &revision.upgrade;
    if ops.len() > MAX_SEARCHED_OPS {
        return None;
    }
    let identity: Vec<usize> = (0..ops.len()).collect();
    let dangling_before = dangling(before, revision, &identity);
    // Orders that use a table or column before it exists are not candidates: the simulation
    // does not judge what it cannot see, PostgreSQL would.
    let count = |order: &[usize]| {
        if !admissible(before, revision, order, &dangling_before) {
            return usize::MAX;
        }
        let list: Vec<&OperationAt> = order.iter().filter_map(|&i| ops.get(i)).collect();
        replay_ops(before, revision, &list).len()
    };
    let mut order = identity.clone();
    let mut best = count(&order);
    while best > 0 {
        let mut improved: Option<(usize, Vec<usize>)> = None;
        for from in 1..order.len() {
            for to in 0..from {
                let mut candidate = order.clone();
                let moved = candidate.remove(from);
                candidate.insert(to, moved);
                let n = count(&candidate);
                if n < improved.as_ref().map_or(best, |(m, _)| *m) {
                    improved = Some((n, candidate));
                }
            }
        }
        let (n, next) = improved?;
        best = n;
        order = next;
    }
    Some(order)
}

/// Whether an order may be offered at all: it uses no table or column before it exists (beyond
/// what the file's own order already does), and no operation changes sides with an opaque one
/// (`op.execute` of DDL, a helper): what those do is not known, so neither is what they need.
fn admissible(
    before: &Schema,
    revision: &Revision,
    order: &[usize],
    dangling_before: &BTreeSet<(usize, String, Option<String>)>,
) -> bool {
    let opaque_in_place = order.iter().enumerate().all(|(slot, &i)| {
        let is_opaque = revision
            .upgrade
            .get(i)
            .is_some_and(|op| matches!(op.op, Operation::Opaque { .. }));
        if !is_opaque {
            return true;
        }
        let mut earlier: Vec<usize> = order.get(..slot).unwrap_or_default().to_vec();
        earlier.sort_unstable();
        earlier == (0..i).collect::<Vec<_>>()
    });
    opaque_in_place && dangling(before, revision, order).is_subset(dangling_before)
}

/// What an operation needs to exist before it runs: tables, and `(table, column)` pairs.
fn references(op: &Operation) -> Vec<(&str, Option<&str>)> {
    use Operation as O;
    let mut out: Vec<(&str, Option<&str>)> = Vec::new();
    match op {
        O::CreateTable {
            table,
            foreign_keys,
            ..
        } => {
            for fk in foreign_keys.iter().filter(|fk| &fk.ref_table != table) {
                out.extend(
                    fk.ref_columns
                        .iter()
                        .map(|c| (fk.ref_table.as_str(), Some(c.as_str()))),
                );
            }
        }
        O::AddColumn {
            table,
            foreign_keys,
            ..
        } => {
            out.push((table, None));
            for fk in foreign_keys {
                out.extend(
                    fk.ref_columns
                        .iter()
                        .map(|c| (fk.ref_table.as_str(), Some(c.as_str()))),
                );
            }
        }
        O::DropColumn { table, column } | O::AlterColumn { table, column, .. } => {
            out.push((table, Some(column)))
        }
        O::CreateForeignKey { table, foreign_key } => {
            out.extend(
                foreign_key
                    .columns
                    .iter()
                    .map(|c| (table.as_str(), Some(c.as_str()))),
            );
            out.extend(
                foreign_key
                    .ref_columns
                    .iter()
                    .map(|c| (foreign_key.ref_table.as_str(), Some(c.as_str()))),
            );
        }
        O::DropConstraint { table, .. } | O::DropTable { table } | O::CreateIndex { table, .. } => {
            out.push((table, None))
        }
        O::RenameTable { from, .. } => out.push((from, None)),
        O::DropIndex { table, .. } => out.extend(table.as_deref().map(|t| (t, None))),
        O::Opaque { .. } => {}
    }
    out
}

/// `(operation index, table, column)` for every reference of the operations, run in `order`
/// from `before`, to a table or column that does not exist (or is unknown) when it runs.
fn dangling(
    before: &Schema,
    revision: &Revision,
    order: &[usize],
) -> BTreeSet<(usize, String, Option<String>)> {
    let origin = Origin {
        revision: &revision.id,
        file: &revision.file,
    };
    let mut schema = before.clone();
    let mut out = BTreeSet::new();
    for &i in order {
        let Some(op) = revision.upgrade.get(i) else {
            continue;
        };
        for (table, column) in references(&op.op) {
            let missing = schema.is_unknown(table)
                || column.is_some_and(|c| schema.column_type(table, c).is_none());
            if missing {
                out.insert((i, table.to_string(), column.map(str::to_string)));
            }
        }
        schema.apply(&op.op, origin);
    }
    out
}

fn conflict_text(conflict: &Conflict) -> String {
    match conflict {
        Conflict::FkTypeMismatch(m) => match m.rejected() {
            Some((a, at, b, bt)) => format!(
                "a foreign key pairs {}.{a} ({}) with {}.{b} ({})",
                m.source.table,
                at.kind.pg_name(),
                m.target.table,
                bt.kind.pg_name()
            ),
            None => "a foreign key pairs types PostgreSQL refuses".to_string(),
        },
        Conflict::AlterReferenced {
            table,
            column,
            from,
            to,
            ..
        } => format!("{table}.{column} changes from {from} to {to} while a foreign key uses it"),
    }
}

/// Why no reorder helps, from the first conflict.
fn why_no_order(revision: &Revision, conflicts: &[(usize, Conflict)]) -> String {
    let Some((index, conflict)) = conflicts.first() else {
        return "nothing conflicts".to_string();
    };
    let line = revision
        .upgrade
        .get(*index)
        .map(|op| format!(" (line {})", op.line))
        .unwrap_or_default();
    match conflict {
        Conflict::AlterReferenced { mismatch, .. } if mismatch.fk_revision != revision.id => {
            format!(
                "{}{line}, and the foreign key was declared by revision {} ({}:{}), before this one: whatever the order, the key exists when the type changes",
                conflict_text(conflict),
                mismatch.fk_revision,
                mismatch.fk_file,
                mismatch.fk_line
            )
        }
        _ => format!(
            "{}{line}, and no statement of the revision changes either column to a type that pairs",
            conflict_text(conflict)
        ),
    }
}

/// No two statements share a line.
fn statements_apart(statements: &[Statement]) -> bool {
    statements
        .windows(2)
        .all(|w| w[0].end_line < w[1].first_line)
}

/// The statement order that puts the operations in `order`: statements keep the position of
/// their first moved operation; statements without operations stay where they are. An error
/// says why the operations cannot be moved as whole statements.
fn statements_in(
    statements: &[Statement],
    ops: &[OperationAt],
    order: &[usize],
) -> Result<Vec<usize>, String> {
    let split = "a statement of `upgrade()` does several of the operations to move (a loop or a batch block); split it by hand";
    let mut owner = Vec::with_capacity(ops.len());
    for (s, statement) in statements.iter().enumerate() {
        owner.extend(std::iter::repeat_n(s, statement.ops.len()));
    }
    let same_ops = statements
        .iter()
        .flat_map(|s| s.ops.iter().map(|o| (o.line, o.end_line)))
        .eq(ops.iter().map(|o| (o.line, o.end_line)));
    if !same_ops {
        return Err("the file's `upgrade()` reads differently from the recorded revision".into());
    }
    let mut moved: Vec<usize> = Vec::new();
    for &i in order {
        let s = *owner.get(i).ok_or(split)?;
        if moved.last() != Some(&s) {
            if moved.contains(&s) {
                return Err(split.into());
            }
            moved.push(s);
        }
    }
    let mut next = moved.into_iter();
    let result: Vec<usize> = statements
        .iter()
        .enumerate()
        .map(|(s, statement)| {
            if statement.ops.is_empty() {
                Some(s)
            } else {
                next.next()
            }
        })
        .collect::<Option<_>>()
        .ok_or(split)?;
    // A statement that is not a schema operation (a data update, `bind = op.get_bind()`)
    // keeps its place; no statement may cross it, since it may depend on what ran before.
    for (slot, statement) in statements.iter().enumerate() {
        if statement.ops.is_empty() && !statement.inert {
            let mut now: Vec<usize> = result.get(..slot).unwrap_or_default().to_vec();
            now.sort_unstable();
            if now != (0..slot).collect::<Vec<_>>() {
                return Err(format!(
                    "the statements to move would cross line {}, which is not a schema operation (data or a connection may depend on the order); reorder by hand",
                    statement.line
                ));
            }
        }
    }
    if result.iter().enumerate().all(|(i, &s)| i == s) {
        return Err("the order found is the file's own".into());
    }
    Ok(result)
}

/// `text`'s lines, each with its line ending.
fn lines_of(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The text with the statements of one function body put in `order` (an index into
/// `statements` per slot); the lines between statements stay where they were.
fn permute(text: &str, statements: &[Statement], order: &[usize]) -> String {
    let lines = lines_of(text);
    let block = |s: &Statement| -> String {
        let from = s.first_line as usize - 1;
        let to = (s.end_line as usize).min(lines.len());
        let mut b: String = lines.get(from..to).unwrap_or_default().concat();
        if !b.ends_with('\n') {
            b.push('\n');
        }
        b
    };
    let mut out = String::new();
    let Some(first) = statements.first() else {
        return text.to_string();
    };
    out.push_str(
        &lines
            .get(..first.first_line as usize - 1)
            .unwrap_or_default()
            .concat(),
    );
    // The blank lines before a statement travel with it, so paragraphs stay paragraphs; the
    // statement moved to the top trades its blank lines with the one it displaced, so no
    // function starts with a blank line and the line count stays.
    let lead = |k: usize| -> String {
        match (
            k.checked_sub(1).and_then(|p| statements.get(p)),
            statements.get(k),
        ) {
            (Some(previous), Some(statement)) => lines
                .get(previous.end_line as usize..statement.first_line as usize - 1)
                .unwrap_or_default()
                .concat(),
            _ => String::new(),
        }
    };
    let first_placed = order.first().copied().unwrap_or(0);
    for &moved in order {
        let gap = if moved == first_placed {
            0
        } else if moved == 0 {
            first_placed
        } else {
            moved
        };
        out.push_str(&lead(gap));
        if let Some(statement) = statements.get(moved) {
            out.push_str(&block(statement));
        }
    }
    let last = statements.last().map_or(0, |s| s.end_line as usize);
    out.push_str(&lines.get(last..).unwrap_or_default().concat());
    if !text.ends_with('\n') && out.ends_with('\n') && !text.is_empty() {
        out.pop();
    }
    out
}

/// Whether downgrade operation `down` undoes upgrade operation `up`.
fn undoes(down: &Operation, up: &Operation) -> bool {
    use Operation as O;
    match (up, down) {
        (O::CreateTable { table: a, .. }, O::DropTable { table: b })
        | (O::DropTable { table: a }, O::CreateTable { table: b, .. }) => a == b,
        (
            O::AddColumn { table, column, .. },
            O::DropColumn {
                table: t,
                column: c,
            },
        ) => table == t && &column.name == c,
        (
            O::DropColumn { table, column },
            O::AddColumn {
                table: t,
                column: c,
                ..
            },
        ) => table == t && column == &c.name,
        (
            O::AlterColumn {
                table,
                column,
                new_name,
                ..
            },
            O::AlterColumn {
                table: t,
                column: c,
                ..
            },
        ) => table == t && new_name.as_ref().unwrap_or(column) == c,
        (O::CreateForeignKey { table, foreign_key }, O::DropConstraint { name, table: t, .. }) => {
            table == t && foreign_key.name.as_ref() == Some(name)
        }
        (
            O::DropConstraint { name, table, .. },
            O::CreateForeignKey {
                table: t,
                foreign_key,
            },
        ) => table == t && foreign_key.name.as_ref() == Some(name),
        (O::CreateIndex { name: Some(a), .. }, O::DropIndex { name: b, .. }) => a == b,
        (O::DropIndex { name: a, .. }, O::CreateIndex { name: Some(b), .. }) => a == b,
        (O::RenameTable { from, to }, O::RenameTable { from: f, to: t }) => from == t && to == f,
        _ => false,
    }
}

/// The downgrade order in which the statements that undo upgrade statements run in the
/// reverse of the new upgrade order, in the slots they already hold; the others stay. `None`
/// when nothing changes.
fn reversed_downgrade(
    ups: &[Statement],
    up_order: &[usize],
    downs: &[Statement],
) -> Option<Vec<usize>> {
    let mut claimed = vec![false; ups.len()];
    // (slot in downgrade, position of the undone statement in the new upgrade order)
    let mut matched: Vec<(usize, usize)> = Vec::new();
    for (d, down) in downs.iter().enumerate() {
        let [down_op] = down.ops.as_slice() else {
            continue;
        };
        let found = ups.iter().enumerate().find(|(u, up)| {
            !claimed[*u] && up.ops.len() == 1 && up.ops.iter().any(|o| undoes(&down_op.op, &o.op))
        });
        if let Some((u, _)) = found {
            claimed[u] = true;
            let position = up_order.iter().position(|&s| s == u)?;
            matched.push((d, position));
        }
    }
    let mut by_position = matched.clone();
    by_position.sort_by_key(|m| std::cmp::Reverse(m.1));
    let mut order: Vec<usize> = (0..downs.len()).collect();
    for ((slot, _), (statement, _)) in matched.iter().zip(&by_position) {
        order[*slot] = *statement;
    }
    let identity = order.iter().enumerate().all(|(i, &s)| i == s);
    (!identity).then_some(order)
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

fn unified_diff(file: &str, old: &str, new: &str) -> String {
    // Patience matches the unique lines (the calls) first, so a moved statement reads as one
    // block removed and one added rather than as shifted closing parentheses.
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::testkit;

    fn statement(first_line: u32, end_line: u32, ops: Vec<OperationAt>) -> Statement {
        Statement {
            first_line,
            line: first_line,
            end_line,
            ops,
            inert: false,
        }
    }

    fn drop_table(t: &str) -> Operation {
        Operation::DropTable { table: t.into() }
    }

    fn create(t: &str) -> Operation {
        testkit::create_table(t, vec![], vec![], &[])
    }

    fn one(line: u32, op: Operation) -> Statement {
        statement(line, line, vec![testkit::at(line, line, op)])
    }

    #[test]
    fn downgrade_statements_that_undo_moved_ones_run_in_reverse() {
        // upgrade: a, b, c; moved to c, a, b. downgrade: drop a, unrelated, drop b, drop c.
        let ups = [
            one(1, create("a")),
            one(2, create("b")),
            one(3, create("c")),
        ];
        let downs = [
            one(10, drop_table("a")),
            one(11, drop_table("x")),
            one(12, drop_table("b")),
            one(13, drop_table("c")),
        ];
        // New upgrade order c, a, b: undo b, then a, then c; `x` keeps its slot.
        assert_eq!(
            reversed_downgrade(&ups, &[2, 0, 1], &downs),
            Some(vec![2, 1, 0, 3])
        );
        // Already the reverse: nothing to change.
        let downs = [
            one(10, drop_table("c")),
            one(11, drop_table("b")),
            one(12, drop_table("a")),
        ];
        assert_eq!(reversed_downgrade(&ups, &[0, 1, 2], &downs), None);
    }

    #[test]
    fn operations_map_onto_whole_statements_or_not_at_all() {
        let a = testkit::at(1, 1, create("a"));
        let b = testkit::at(2, 2, create("b"));
        let c = testkit::at(3, 3, create("c"));
        let ops = [a.clone(), b.clone(), c.clone()];
        let apart = [
            statement(1, 1, vec![a.clone()]),
            statement(2, 2, vec![b.clone()]),
            statement(3, 3, vec![c.clone()]),
        ];
        assert_eq!(statements_in(&apart, &ops, &[2, 0, 1]), Ok(vec![2, 0, 1]));
        assert!(statements_in(&apart, &ops, &[0, 1, 2]).is_err());
        // A data statement between them stays, and nothing crosses it.
        let with_data = [
            statement(1, 1, vec![a.clone()]),
            statement(2, 2, vec![b.clone()]),
            statement(3, 3, vec![]),
            statement(4, 4, vec![c.clone()]),
        ];
        assert_eq!(
            statements_in(&with_data, &ops, &[1, 0, 2]),
            Ok(vec![1, 0, 2, 3])
        );
        let crossing = statements_in(&with_data, &ops, &[2, 0, 1]).unwrap_err();
        assert!(crossing.contains("cross line 3"), "{crossing}");
        // `a` and `b` in one statement (a loop, a batch block): `c` cannot go between them.
        let joined = [statement(1, 2, vec![a, b]), statement(3, 3, vec![c])];
        assert!(statements_in(&joined, &ops, &[0, 2, 1]).is_err());
        assert_eq!(statements_in(&joined, &ops, &[2, 0, 1]), Ok(vec![1, 0]));
    }

    #[test]
    fn orders_that_use_what_is_not_there_yet_or_cross_opaque_calls_are_refused() {
        let users = testkit::create_table(
            "users",
            vec![testkit::pk_col("id", testkit::uuid(), 2)],
            vec![],
            &[],
        );
        let deals = testkit::create_table(
            "deals",
            vec![testkit::col("owner_id", testkit::uuid(), Some(true), 4)],
            vec![testkit::fk(&["owner_id"], "users", &["id"], 4)],
            &[],
        );
        let opaque = Operation::Opaque {
            call: "op.execute(...)".into(),
            tables: vec![],
        };
        let before = Schema::new();
        let plain = testkit::revision(
            "r1",
            None,
            "r1.py",
            vec![
                testkit::at(1, 1, users.clone()),
                testkit::at(3, 3, deals.clone()),
            ],
        );
        let base = dangling(&before, &plain, &[0, 1]);
        assert!(admissible(&before, &plain, &[0, 1], &base));
        // `deals` before `users`: its foreign key names a table that is not there yet.
        assert!(!admissible(&before, &plain, &[1, 0], &base));

        let with_call = testkit::revision(
            "r1",
            None,
            "r1.py",
            vec![
                testkit::at(1, 1, users),
                testkit::at(2, 2, opaque),
                testkit::at(3, 3, deals),
            ],
        );
        let base = dangling(&before, &with_call, &[0, 1, 2]);
        assert!(admissible(&before, &with_call, &[0, 1, 2], &base));
        // `users` after the opaque call: what the call needs is unknown.
        assert!(!admissible(&before, &with_call, &[1, 0, 2], &base));
    }

    #[test]
    fn undo_pairs() {
        assert!(undoes(&drop_table("a"), &create("a")));
        assert!(!undoes(&drop_table("a"), &create("b")));
        let to_text =
            testkit::alter_type("users", "id", testkit::uuid(), testkit::varchar(36), None);
        let back = testkit::alter_type("users", "id", testkit::varchar(36), testkit::uuid(), None);
        assert!(undoes(&back, &to_text));
        assert!(!undoes(
            &back,
            &testkit::alter_type("users", "org", testkit::uuid(), testkit::varchar(36), None)
        ));
    }

    #[test]
    fn permuting_moves_whole_blocks_with_the_blank_lines_before_them() {
        let text = "def f():\n    # a\n    a()\n\n    b()\n    c()\nend\n";
        let stmts = [
            statement(2, 3, vec![]),
            statement(5, 5, vec![]),
            statement(6, 6, vec![]),
        ];
        assert_eq!(
            permute(text, &stmts, &[2, 0, 1]),
            "def f():\n    c()\n    # a\n    a()\n\n    b()\nend\n"
        );
    }
}
