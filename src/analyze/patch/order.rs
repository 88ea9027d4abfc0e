//! Which order of a revision's operations to offer: one searched for when the rule proposes
//! none, and only orders that use nothing before it exists and leave opaque calls in place.

use std::collections::BTreeSet;

use crate::migrations::model::{Operation, OperationAt, Revision};
use crate::migrations::schema::{replay_ops, Conflict, Origin, Schema};

/// Past this many operations in one revision, the search for an order is not attempted.
const MAX_SEARCHED_OPS: usize = 60;

/// An order with no conflict, found by moving one later operation in front of an earlier one
/// at a time, as long as each move lowers the number of conflicts.
pub(super) fn searched_order(before: &Schema, revision: &Revision) -> Option<Vec<usize>> {
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
pub(super) fn admissible(
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
pub(super) fn dangling(
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

pub(super) fn conflict_text(conflict: &Conflict) -> String {
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
pub(super) fn why_no_order(revision: &Revision, conflicts: &[(usize, Conflict)]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::testkit;

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
}
