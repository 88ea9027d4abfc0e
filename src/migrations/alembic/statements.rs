//! The top-level statements of `upgrade()` and `downgrade()` as line ranges of the source, each
//! with the operations it performs: what a patch that reorders a migration moves. A statement's
//! range starts at the comment lines directly above it, so a comment travels with the call it
//! explains.

use ruff_python_ast::Stmt;
use ruff_text_size::Ranged;

use super::{ops, parse_failure_at, Module, ParseFailure};
use crate::migrations::model::OperationAt;

/// One statement of a function body.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// 1-based; the first of the comment lines directly above the statement, or `line`.
    pub first_line: u32,
    /// 1-based first line of the statement itself.
    pub line: u32,
    /// 1-based last line of the statement (a trailing comment on it included).
    pub end_line: u32,
    /// What it does to the schema, as `Revision::upgrade` records it for `upgrade()`.
    pub ops: Vec<OperationAt>,
    /// `pass`, a docstring or `...`: nothing that depends on where it runs. A statement with no
    /// schema operation that is not inert (`op.execute("UPDATE ...")`, `bind = op.get_bind()`)
    /// may depend on the statements around it.
    pub inert: bool,
}

/// The statements of the module-level function `name` (`upgrade`, `downgrade`); `Ok(None)`
/// when the file defines no such function. Statements that share a line (`a; b`) cannot be
/// moved by lines: the caller sees it from their ranges.
pub fn function_statements(
    text: &str,
    name: &str,
) -> Result<Option<(u32, Vec<Statement>)>, ParseFailure> {
    // As deep as the parser of the whole file may need (see `parse_revision_refs`).
    let need = text.len() * super::STACK_PER_BYTE + super::STACK_BASE;
    match stacker::remaining_stack() {
        Some(left) if left >= need => statements_on_this_stack(text, name),
        _ => stacker::grow(need, || statements_on_this_stack(text, name)),
    }
}

/// The returned line is the `def`'s.
fn statements_on_this_stack(
    text: &str,
    name: &str,
) -> Result<Option<(u32, Vec<Statement>)>, ParseFailure> {
    if let Some(message) = super::depth::refuse(text) {
        return Err(ParseFailure {
            over_limit: true,
            line: 1,
            column: 1,
            message,
        });
    }
    let parsed = ruff_python_parser::parse_module(text)
        .map_err(|e| parse_failure_at(text, e.location.start(), &e.error.to_string()))?;
    let mut module = Module::new(text, &parsed.syntax().body);
    let Some(def) = parsed.syntax().body.iter().find_map(|stmt| match stmt {
        Stmt::FunctionDef(def) if def.name.as_str() == name => Some(def),
        _ => None,
    }) else {
        return Ok(None);
    };
    // Imports inside `downgrade()` name types just as those in `upgrade()` do.
    module.add_imports(&def.body);
    let lines: Vec<&str> = text.lines().collect();
    let def_line = module.line_of(def.range());
    let mut out: Vec<Statement> = Vec::new();
    for stmt in &def.body {
        let line = module.line_of(stmt.range());
        let end_line = module.end_line_of(stmt.range());
        let floor = out.last().map_or(def_line, |s: &Statement| s.end_line);
        let mut first_line = line;
        while first_line > floor + 1
            && lines
                .get(first_line as usize - 2)
                .is_some_and(|l| l.trim_start().starts_with('#'))
        {
            first_line -= 1;
        }
        out.push(Statement {
            first_line,
            line,
            end_line,
            ops: ops::read_upgrade(&module, std::slice::from_ref(stmt)),
            inert: match stmt {
                Stmt::Pass(_) => true,
                Stmt::Expr(e) => matches!(
                    *e.value,
                    ruff_python_ast::Expr::StringLiteral(_)
                        | ruff_python_ast::Expr::EllipsisLiteral(_)
                ),
                _ => false,
            },
        });
    }
    Ok(Some((def_line, out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
from alembic import op
import sqlalchemy as sa


def upgrade():
    # first
    # still first
    op.drop_table(\"a\")

    # second
    op.create_table(
        \"b\",
        sa.Column(\"id\", sa.Integer()),
    )  # trailing
    x = 1; op.drop_table(\"c\")


def downgrade():
    pass
";

    #[test]
    fn statements_carry_their_leading_comments() {
        let (def, stmts) = function_statements(SOURCE, "upgrade").unwrap().unwrap();
        assert_eq!(def, 5);
        let spans: Vec<(u32, u32, u32, usize)> = stmts
            .iter()
            .map(|s| (s.first_line, s.line, s.end_line, s.ops.len()))
            .collect();
        assert_eq!(
            spans,
            [
                (6, 8, 8, 1),
                (10, 11, 14, 1),
                (15, 15, 15, 0),
                (15, 15, 15, 1)
            ]
        );
        let (_, down) = function_statements(SOURCE, "downgrade").unwrap().unwrap();
        assert_eq!(down.len(), 1);
        assert!(function_statements(SOURCE, "other").unwrap().is_none());
    }
}
