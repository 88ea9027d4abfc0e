//! How a revision whose foreign key PostgreSQL refuses could have worked: the later operation
//! that came too late, and an order of the revision's operations that a replay confirms.

use std::collections::BTreeSet;

use crate::migrations::model::{Operation, OperationAt};
use crate::migrations::schema::{
    replay_ops, Conflict, ForeignKeyState, Mismatch, Origin, RevisionRun,
};

/// For an FK refused at `failing` (an index into the revision's operations): the first later
/// operation of the same revision after which the FK's types pair, if any.
pub fn late_fix(run: &RevisionRun<'_>, failing: usize, mismatch: &Mismatch) -> Option<usize> {
    let mut schema = run.before.clone()?;
    let origin = Origin {
        revision: &run.revision.id,
        file: &run.revision.file,
    };
    let fk = ForeignKeyState {
        name: None,
        columns: mismatch.source.columns.clone(),
        ref_table: mismatch.target.table.clone(),
        ref_columns: mismatch.target.columns.clone(),
        revision: mismatch.fk_revision.clone(),
        file: mismatch.fk_file.clone(),
        line: mismatch.fk_line,
    };
    for (i, op) in run.revision.upgrade.iter().enumerate() {
        schema.apply(&op.op, origin);
        let changes_a_type = match &op.op {
            Operation::AlterColumn {
                table,
                column,
                new_type: Some(_),
                ..
            } => {
                (table == &mismatch.source.table && mismatch.source.columns.contains(column))
                    || (table == &mismatch.target.table && mismatch.target.columns.contains(column))
            }
            _ => false,
        };
        if i > failing && changes_a_type && schema.mismatch(&mismatch.source.table, &fk).is_none() {
            // Only a fix if the columns are still there to pair.
            let paired = schema.side(&fk.ref_table, &fk.ref_columns).is_some()
                && schema.side(&mismatch.source.table, &fk.columns).is_some();
            if paired {
                return Some(i);
            }
        }
    }
    None
}

/// An order of the revision's operations in which no foreign key is refused: every type
/// change of a column that a refused FK uses moves as early as it can (right after whatever in
/// the revision creates its table or column), everything else keeps its order. `None` when
/// there is nothing to move or the moved order still conflicts when replayed.
pub fn proposed_order(run: &RevisionRun<'_>) -> Option<Vec<usize>> {
    let ops = &run.revision.upgrade;
    let mut fk_columns: BTreeSet<(String, String)> = BTreeSet::new();
    let mut first_failing = usize::MAX;
    for (i, conflict) in &run.conflicts {
        if let Conflict::FkTypeMismatch(m) = conflict {
            first_failing = first_failing.min(*i);
            for side in [&m.source, &m.target] {
                for c in &side.columns {
                    fk_columns.insert((side.table.clone(), c.clone()));
                }
            }
        }
    }
    let movable: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(i, op)| {
            *i > first_failing
                && match &op.op {
                    Operation::AlterColumn {
                        table,
                        column,
                        new_type: Some(_),
                        ..
                    } => fk_columns.contains(&(table.clone(), column.clone())),
                    _ => false,
                }
        })
        .map(|(i, _)| i)
        .collect();
    if movable.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..ops.len()).filter(|i| !movable.contains(i)).collect();
    // Moved operations keep their relative order.
    let mut next_slot = 0;
    for &m in &movable {
        let Some(target) = ops.get(m).and_then(|op| op.op.table()) else {
            continue;
        };
        // After the last earlier op that creates or reshapes the altered table.
        let after_dependency = order
            .iter()
            .rposition(|&i| {
                i < m
                    && ops.get(i).is_some_and(|op| match &op.op {
                        Operation::CreateTable { table, .. }
                        | Operation::AddColumn { table, .. } => table == target,
                        Operation::RenameTable { to, .. } => to == target,
                        _ => false,
                    })
            })
            .map_or(0, |p| p + 1);
        let slot = after_dependency.max(next_slot);
        order.insert(slot, m);
        next_slot = slot + 1;
    }
    let reordered: Vec<&OperationAt> = order.iter().filter_map(|&i| ops.get(i)).collect();
    let conflicts = replay_ops(run.before.as_ref()?, run.revision, &reordered);
    let before_alters = run
        .conflicts
        .iter()
        .filter(|(_, c)| matches!(c, Conflict::AlterReferenced { .. }))
        .count();
    let fk_free = !conflicts
        .iter()
        .any(|c| matches!(c, Conflict::FkTypeMismatch(_)));
    let alters = conflicts
        .iter()
        .filter(|c| matches!(c, Conflict::AlterReferenced { .. }))
        .count();
    (fk_free && alters <= before_alters).then_some(order)
}
