//! The reorder as text: whole statements (with the comments and blank lines before them)
//! moved, and the statements of `downgrade()` that undo moved ones put in reverse order.

use crate::migrations::alembic::statements::Statement;
use crate::migrations::model::{Operation, OperationAt};

/// No two statements share a line.
pub(super) fn statements_apart(statements: &[Statement]) -> bool {
    statements
        .windows(2)
        .all(|w| w[0].end_line < w[1].first_line)
}

/// The statement order that puts the operations in `order`: statements keep the position of
/// their first moved operation; statements without operations stay where they are. An error
/// says why the operations cannot be moved as whole statements.
pub(super) fn statements_in(
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
/// `statements` per slot); everything around the body stays, and the line count too.
pub(super) fn permute(text: &str, statements: &[Statement], order: &[usize]) -> String {
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
pub(super) fn reversed_downgrade(
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

    fn python_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                python_files(&path, out);
            } else if path.extension().is_some_and(|x| x == "py") {
                out.push(path);
            }
        }
    }

    /// Every Python file of the fixtures, each function body reversed: no panic, the same
    /// lines (as a multiset) and the same line count.
    #[test]
    fn reversing_any_fixture_body_keeps_its_lines() {
        let mut files = Vec::new();
        python_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            &mut files,
        );
        files.sort();
        let mut reversed = 0;
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for name in ["upgrade", "downgrade"] {
                let Ok(Some((_, statements))) =
                    crate::migrations::alembic::statements::function_statements(&text, name)
                else {
                    continue;
                };
                if statements.len() < 2 || !statements_apart(&statements) {
                    continue;
                }
                let order: Vec<usize> = (0..statements.len()).rev().collect();
                let out = permute(&text, &statements, &order);
                let mut a: Vec<&str> = text.lines().collect();
                let mut b: Vec<&str> = out.lines().collect();
                assert_eq!(a.len(), b.len(), "{}", file.display());
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{}", file.display());
                reversed += 1;
            }
        }
        assert!(reversed >= 5, "only {reversed} bodies reversed");
    }
}
