//! The operations `upgrade()` performs, in source order.
//!
//! `op.*` calls (and `batch_op.*` inside `with op.batch_alter_table(...)`) with literal
//! arguments become typed operations. Anything else that may change the schema (`op.execute`,
//! a helper function, an `if`/`for` around operations) becomes `Opaque`, naming the tables it
//! may touch when that is knowable, so that the simulation stops trusting them.

use std::collections::BTreeSet;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::types::sql_type;
use super::{shorten, Module};
use crate::migrations::model::{Column, ForeignKey, Operation, OperationAt, SqlType, TypeKind};
use crate::migrations::schema::sql_changes_schema;

pub(super) fn read_upgrade(m: &Module<'_>, body: &[Stmt]) -> Vec<OperationAt> {
    let mut reader = Reader { m, out: Vec::new() };
    reader.body(body, None);
    reader.out
}

/// The table of an enclosing `with op.batch_alter_table("t") as batch_op:`.
#[derive(Clone)]
struct Batch {
    alias: String,
    /// `None` when the table name is not a literal.
    table: Option<String>,
}

struct Reader<'m, 'a> {
    m: &'m Module<'a>,
    out: Vec<OperationAt>,
}

impl Reader<'_, '_> {
    fn body(&mut self, body: &[Stmt], batch: Option<&Batch>) {
        for stmt in body {
            self.stmt(stmt, batch);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, batch: Option<&Batch>) {
        match stmt {
            Stmt::Expr(e) => self.value(&e.value, batch),
            Stmt::Assign(a) => self.value(&a.value, batch),
            Stmt::AnnAssign(ast::StmtAnnAssign {
                value: Some(value), ..
            }) => self.value(value, batch),
            Stmt::AugAssign(a) => self.value(&a.value, batch),
            Stmt::Return(ast::StmtReturn {
                value: Some(value), ..
            }) => self.value(value, batch),
            // `async with` / `async for` / `try ... except*` are flags on these in ruff's AST.
            Stmt::With(w) => self.with(&w.items, &w.body, batch),
            Stmt::If(s) => {
                let mut bodies: Vec<&[Stmt]> = vec![&s.body];
                bodies.extend(s.elif_else_clauses.iter().map(|c| c.body.as_slice()));
                self.block(stmt, &bodies, batch)
            }
            Stmt::For(s) => self.block(stmt, &[&s.body, &s.orelse], batch),
            Stmt::While(s) => self.block(stmt, &[&s.body, &s.orelse], batch),
            Stmt::Try(s) => {
                let mut bodies: Vec<&[Stmt]> = vec![&s.body, &s.orelse, &s.finalbody];
                bodies.extend(s.handlers.iter().map(|h| match h {
                    ast::ExceptHandler::ExceptHandler(h) => h.body.as_slice(),
                }));
                self.block(stmt, &bodies, batch)
            }
            Stmt::Match(s) => {
                let bodies: Vec<&[Stmt]> = s.cases.iter().map(|c| c.body.as_slice()).collect();
                self.block(stmt, &bodies, batch)
            }
            // Definitions, imports, `pass`, `assert`, ...: no schema change until called.
            _ => {}
        }
    }

    /// Operations under control flow may or may not run: they are reported as one opaque
    /// step over every table they touch (or any table, if one of them is unknown).
    fn block(&mut self, stmt: &Stmt, bodies: &[&[Stmt]], batch: Option<&Batch>) {
        let mut inner = Reader {
            m: self.m,
            out: Vec::new(),
        };
        for body in bodies {
            inner.body(body, batch);
        }
        if inner.out.is_empty() {
            return;
        }
        let mut tables = BTreeSet::new();
        let mut any_table = false;
        for op in &inner.out {
            match touched_tables(&op.op) {
                Some(list) => tables.extend(list),
                None => any_table = true,
            }
        }
        let header = self.m.text_of(stmt.range()).lines().next().unwrap_or("");
        self.push(
            stmt.range(),
            Operation::Opaque {
                call: shorten(header, 60),
                tables: if any_table {
                    Vec::new()
                } else {
                    tables.into_iter().collect()
                },
            },
        );
    }

    fn with(&mut self, items: &[ast::WithItem], body: &[Stmt], batch: Option<&Batch>) {
        let mut inner_batch = batch.cloned();
        for item in items {
            let Expr::Call(call) = &item.context_expr else {
                continue;
            };
            if self.m.qualify(&call.func).as_deref() == Some("alembic.op.batch_alter_table") {
                let alias = match item.optional_vars.as_deref() {
                    Some(Expr::Name(name)) => name.id.to_string(),
                    _ => continue,
                };
                let table = arg(call, 0, &["table_name"]).and_then(str_literal);
                inner_batch = Some(Batch { alias, table });
            } else {
                // `with op.get_context().autocommit_block():` and the like run their body.
                self.value(&item.context_expr, batch);
            }
        }
        self.body(body, inner_batch.as_ref());
    }

    /// An expression evaluated for its effect (or assigned): only calls can change the schema.
    fn value(&mut self, expr: &Expr, batch: Option<&Batch>) {
        match expr {
            Expr::Call(call) => self.call(call, batch),
            Expr::Await(a) => self.value(&a.value, batch),
            _ => {}
        }
    }

    fn call(&mut self, call: &ast::ExprCall, batch: Option<&Batch>) {
        if let (Some(batch), Expr::Attribute(attr)) = (batch, &*call.func) {
            if matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == batch.alias) {
                let op = self.batch_op(attr.attr.as_str(), call, batch);
                if let Some(op) = op {
                    self.push(call.range(), op);
                }
                return;
            }
        }
        let path = self.m.qualify(&call.func);
        if let Some(method) = path.as_deref().and_then(|p| p.strip_prefix("alembic.op.")) {
            if let Some(op) = self.op(method, call) {
                self.push(call.range(), op);
            }
            return;
        }
        if let Some(path) = &path {
            // Building SQLAlchemy objects (`sa.table(...)`, `sa.Column(...)`) changes nothing.
            if path == "sqlalchemy" || path.starts_with("sqlalchemy.") {
                return;
            }
        }
        if is_logging(&call.func) {
            return;
        }
        self.push(call.range(), self.opaque(call, Vec::new()));
    }

    fn push(&mut self, range: TextRange, op: Operation) {
        self.out.push(OperationAt {
            line: self.m.line_of(range),
            end_line: self.m.end_line_of(range),
            op,
        });
    }

    fn opaque(&self, call: &ast::ExprCall, tables: Vec<String>) -> Operation {
        let func = shorten(self.m.text_of(call.func.range()), 50);
        let args = if call.arguments.args.is_empty() && call.arguments.keywords.is_empty() {
            "()"
        } else {
            "(...)"
        };
        Operation::Opaque {
            call: format!("{func}{args}"),
            tables,
        }
    }

    /// `op.<method>(...)`. `None` for calls that cannot change the schema.
    fn op(&self, method: &str, call: &ast::ExprCall) -> Option<Operation> {
        let table_at = |pos: usize, names: &[&str]| arg(call, pos, names).and_then(str_literal);
        if method == "execute" && literal_sql(call).is_some_and(|sql| !sql_changes_schema(&sql)) {
            return None;
        }
        let known = match method {
            "create_table" => self.create_table(call),
            "add_column" => (|| {
                let table = table_at(0, &["table_name"])?;
                let (column, foreign_keys) = self.column(arg(call, 1, &["column"])?)?;
                Some(Operation::AddColumn {
                    table,
                    column,
                    foreign_keys,
                })
            })(),
            "drop_column" => (|| {
                Some(Operation::DropColumn {
                    table: table_at(0, &["table_name"])?,
                    column: table_at(1, &["column_name"])?,
                })
            })(),
            "alter_column" => {
                table_at(0, &["table_name"]).and_then(|table| self.alter_column(table, call, 1))
            }
            "create_foreign_key" => table_at(1, &["source_table", "source"])
                .and_then(|table| self.create_foreign_key(table, call, 2)),
            "drop_constraint" => (|| {
                Some(Operation::DropConstraint {
                    name: table_at(0, &["constraint_name", "name"])?,
                    table: table_at(1, &["table_name", "table"])?,
                    constraint_type: arg(call, 2, &["type_", "type"]).and_then(str_literal),
                })
            })(),
            "drop_table" => {
                table_at(0, &["table_name", "name"]).map(|table| Operation::DropTable { table })
            }
            "rename_table" => (|| {
                Some(Operation::RenameTable {
                    from: table_at(0, &["old_table_name"])?,
                    to: table_at(1, &["new_table_name"])?,
                })
            })(),
            "create_index" => {
                table_at(1, &["table_name"]).and_then(|table| self.create_index(table, call, 0, 2))
            }
            "drop_index" => table_at(0, &["index_name", "name"]).map(|name| Operation::DropIndex {
                name,
                table: table_at(1, &["table_name"]),
            }),
            // Data only, or no effect on the schema.
            "bulk_insert"
            | "get_bind"
            | "get_context"
            | "f"
            | "inline_literal"
            | "create_table_comment"
            | "drop_table_comment"
            | "invoke" => return None,
            // Constraints and the like the model does not describe: the table becomes unknown.
            "create_unique_constraint"
            | "create_primary_key"
            | "create_check_constraint"
            | "create_exclude_constraint" => {
                let tables = table_at(1, &["table_name", "source", "table"])
                    .into_iter()
                    .collect();
                return Some(self.opaque(call, tables));
            }
            _ => None,
        };
        Some(known.unwrap_or_else(|| {
            // Not understood: name the table when the usual first argument is a literal.
            let table = match method {
                "create_foreign_key" | "create_index" => {
                    table_at(1, &["table_name", "source_table"])
                }
                "execute" => None,
                _ => table_at(0, &["table_name"]),
            };
            self.opaque(call, table.into_iter().collect())
        }))
    }

    /// `batch_op.<method>(...)`: the same operations with the table given by the `with`.
    fn batch_op(&self, method: &str, call: &ast::ExprCall, batch: &Batch) -> Option<Operation> {
        let lit = |pos: usize, names: &[&str]| arg(call, pos, names).and_then(str_literal);
        let Some(table) = batch.table.clone() else {
            return Some(self.opaque(call, Vec::new()));
        };
        let known = match method {
            "add_column" => {
                self.column(arg(call, 0, &["column"])?)
                    .map(|(column, foreign_keys)| Operation::AddColumn {
                        table: table.clone(),
                        column,
                        foreign_keys,
                    })
            }
            "drop_column" => lit(0, &["column_name"]).map(|column| Operation::DropColumn {
                table: table.clone(),
                column,
            }),
            "alter_column" => self.alter_column(table.clone(), call, 0),
            "create_foreign_key" => self.create_foreign_key(table.clone(), call, 1),
            "drop_constraint" => {
                lit(0, &["constraint_name", "name"]).map(|name| Operation::DropConstraint {
                    name,
                    table: table.clone(),
                    constraint_type: lit(1, &["type_", "type"]),
                })
            }
            "create_index" => self.create_index(table.clone(), call, 0, 1),
            "drop_index" => lit(0, &["index_name", "name"]).map(|name| Operation::DropIndex {
                name,
                table: Some(table.clone()),
            }),
            "bulk_insert"
            | "get_bind"
            | "get_context"
            | "f"
            | "inline_literal"
            | "create_table_comment"
            | "drop_table_comment" => return None,
            "execute" => return Some(self.opaque(call, Vec::new())),
            _ => None,
        };
        Some(known.unwrap_or_else(|| self.opaque(call, vec![table])))
    }

    fn create_table(&self, call: &ast::ExprCall) -> Option<Operation> {
        let table = arg(call, 0, &["table_name", "name"]).and_then(str_literal)?;
        let mut columns = Vec::new();
        let mut foreign_keys = Vec::new();
        let mut primary_key = Vec::new();
        let mut unique = Vec::new();
        for item in call.arguments.args.iter().skip(1) {
            let Expr::Call(item_call) = item else {
                // `*columns`, a variable: the table's shape is not known.
                return None;
            };
            let kind = self
                .m
                .qualify(&item_call.func)
                .filter(|p| p.starts_with("sqlalchemy."))
                .and_then(|p| p.rsplit('.').next().map(str::to_string));
            match kind.as_deref() {
                Some("Column") => {
                    let (column, fks) = self.column(item)?;
                    if column.primary_key {
                        primary_key.push(column.name.clone());
                    }
                    // `unique=True` stays the column's own fact (`Column::unique`); `unique`
                    // holds the table-level `UniqueConstraint`s only.
                    foreign_keys.extend(fks);
                    columns.push(column);
                }
                Some("ForeignKeyConstraint") => {
                    foreign_keys.push(self.foreign_key_constraint(item_call)?);
                }
                Some("PrimaryKeyConstraint") => {
                    primary_key = str_args(item_call)?;
                }
                Some("UniqueConstraint") => unique.push(str_args(item_call)?),
                Some("Index" | "CheckConstraint" | "Identity" | "Computed") => {}
                _ => return None,
            }
        }
        for column in &mut columns {
            if primary_key.contains(&column.name) {
                column.primary_key = true;
                column.nullable.get_or_insert(false);
            }
        }
        Some(Operation::CreateTable {
            table,
            columns,
            foreign_keys,
            primary_key,
            unique,
        })
    }

    /// `sa.Column("name", type, sa.ForeignKey("t.c"), nullable=..., ...)`.
    fn column(&self, expr: &Expr) -> Option<(Column, Vec<ForeignKey>)> {
        let Expr::Call(call) = expr else { return None };
        let path = self.m.qualify(&call.func)?;
        if !(path.starts_with("sqlalchemy.") && path.ends_with(".Column")) {
            return None;
        }
        let name = arg(call, 0, &["name"]).and_then(str_literal)?;
        let line = self.m.line_of(call.range());
        let mut written_type = None;
        let mut foreign_keys = Vec::new();
        let mut has_default = false;
        for item in call.arguments.args.iter().skip(1) {
            let schema_item = match item {
                Expr::Call(c) => self
                    .m
                    .qualify(&c.func)
                    .and_then(|p| p.rsplit('.').next().map(str::to_string)),
                _ => None,
            };
            match (schema_item.as_deref(), item) {
                (Some("ForeignKey"), Expr::Call(fk)) => {
                    if let Some(fk) = self.inline_foreign_key(&name, fk) {
                        foreign_keys.push(fk);
                    }
                }
                (Some("Identity" | "Sequence" | "Computed"), _) => has_default = true,
                (Some("CheckConstraint"), _) => {}
                _ if written_type.is_none() => written_type = Some(sql_type(self.m, item)),
                _ => {}
            }
        }
        if let Some(t) = keyword(call, "type_") {
            written_type = Some(sql_type(self.m, t));
        }
        let flag = |name: &str| keyword(call, name).and_then(bool_literal);
        for key in ["default", "server_default"] {
            if keyword(call, key).is_some_and(|v| !is_none(v)) {
                has_default = true;
            }
        }
        let primary_key = flag("primary_key").unwrap_or(false);
        let nullable = flag("nullable").or(primary_key.then_some(false));
        Some((
            Column {
                name,
                sql_type: written_type.unwrap_or_else(unknown_type),
                nullable,
                primary_key,
                unique: flag("unique").unwrap_or(false),
                has_default,
                line,
            },
            foreign_keys,
        ))
    }

    fn inline_foreign_key(&self, column: &str, call: &ast::ExprCall) -> Option<ForeignKey> {
        let target = arg(call, 0, &["column"]).and_then(str_literal)?;
        let (ref_table, ref_column) = split_column_ref(&target)?;
        Some(ForeignKey {
            name: keyword(call, "name").and_then(str_literal),
            columns: vec![column.to_string()],
            ref_table,
            ref_columns: vec![ref_column],
            line: self.m.line_of(call.range()),
        })
    }

    /// `sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=...)`.
    fn foreign_key_constraint(&self, call: &ast::ExprCall) -> Option<ForeignKey> {
        let columns = str_list(arg(call, 0, &["columns"])?)?;
        let targets = str_list(arg(call, 1, &["refcolumns"])?)?;
        let mut ref_table = None;
        let mut ref_columns = Vec::new();
        for target in &targets {
            let (table, column) = split_column_ref(target)?;
            if ref_table.get_or_insert_with(|| table.clone()) != &table {
                return None;
            }
            ref_columns.push(column);
        }
        Some(ForeignKey {
            name: arg(call, 2, &["name"]).and_then(str_literal),
            columns,
            ref_table: ref_table?,
            ref_columns,
            line: self.m.line_of(call.range()),
        })
    }

    /// `alter_column(table, column, type_=..., existing_type=..., postgresql_using=...)`;
    /// `column_at` is the column name's position (1 for `op`, 0 for `batch_op`).
    fn alter_column(
        &self,
        table: String,
        call: &ast::ExprCall,
        column_at: usize,
    ) -> Option<Operation> {
        let column = arg(call, column_at, &["column_name"]).and_then(str_literal)?;
        let type_of = |name: &str| {
            keyword(call, name)
                .filter(|v| !is_none(v))
                .map(|v| sql_type(self.m, v))
        };
        Some(Operation::AlterColumn {
            table,
            column,
            new_type: type_of("type_"),
            existing_type: type_of("existing_type"),
            using: keyword(call, "postgresql_using").and_then(str_literal),
            nullable: keyword(call, "nullable").and_then(bool_literal),
            new_name: keyword(call, "new_column_name").and_then(str_literal),
        })
    }

    /// `create_foreign_key(name, source, referent, local_cols, remote_cols)`; `referent_at`
    /// is the referent table's position (2 for `op`, 1 for `batch_op`).
    fn create_foreign_key(
        &self,
        table: String,
        call: &ast::ExprCall,
        referent_at: usize,
    ) -> Option<Operation> {
        let ref_table =
            arg(call, referent_at, &["referent_table", "referent"]).and_then(str_literal)?;
        let columns = str_list(arg(call, referent_at + 1, &["local_cols"])?)?;
        let ref_columns = str_list(arg(call, referent_at + 2, &["remote_cols"])?)?;
        Some(Operation::CreateForeignKey {
            table,
            foreign_key: ForeignKey {
                name: arg(call, 0, &["constraint_name", "name"]).and_then(str_literal),
                columns,
                ref_table,
                ref_columns,
                line: self.m.line_of(call.range()),
            },
        })
    }

    fn create_index(
        &self,
        table: String,
        call: &ast::ExprCall,
        name_at: usize,
        columns_at: usize,
    ) -> Option<Operation> {
        let columns =
            match arg(call, columns_at, &["columns"])? {
                Expr::List(ast::ExprList { elts, .. })
                | Expr::Tuple(ast::ExprTuple { elts, .. }) => elts
                    .iter()
                    .map(|e| {
                        str_literal(e).unwrap_or_else(|| shorten(self.m.text_of(e.range()), 60))
                    })
                    .collect(),
                other => vec![str_literal(other)
                    .unwrap_or_else(|| shorten(self.m.text_of(other.range()), 60))],
            };
        Some(Operation::CreateIndex {
            name: arg(call, name_at, &["index_name", "name"]).and_then(str_literal),
            table,
            columns,
            unique: keyword(call, "unique")
                .and_then(bool_literal)
                .unwrap_or(false),
        })
    }
}

/// Tables an operation may touch; `None` when it may touch any.
fn touched_tables(op: &Operation) -> Option<Vec<String>> {
    match op {
        Operation::Opaque { tables, .. } if tables.is_empty() => None,
        Operation::Opaque { tables, .. } => Some(tables.clone()),
        Operation::RenameTable { from, to } => Some(vec![from.clone(), to.clone()]),
        Operation::CreateForeignKey {
            table, foreign_key, ..
        } => Some(vec![table.clone(), foreign_key.ref_table.clone()]),
        Operation::CreateTable {
            table,
            foreign_keys,
            ..
        } => {
            let mut tables = vec![table.clone()];
            tables.extend(foreign_keys.iter().map(|fk| fk.ref_table.clone()));
            Some(tables)
        }
        other => other.table().map(|t| vec![t.to_string()]),
    }
}

fn unknown_type() -> SqlType {
    SqlType {
        kind: TypeKind::Unknown,
        length: None,
        written: String::new(),
    }
}

/// `print(...)`, `logger.info(...)`, `log.warning(...)`: output, not schema.
fn is_logging(func: &Expr) -> bool {
    let mut root = func;
    while let Expr::Attribute(attr) = root {
        root = &attr.value;
    }
    matches!(root, Expr::Name(n) if matches!(n.id.as_str(), "print" | "logger" | "log" | "logging" | "LOG" | "_logger"))
}

/// `"schema.table.column"` -> (`table`, `column`).
fn split_column_ref(target: &str) -> Option<(String, String)> {
    let (table, column) = target.rsplit_once('.')?;
    let table = table.rsplit('.').next().unwrap_or(table);
    if table.is_empty() || column.is_empty() {
        return None;
    }
    Some((table.to_string(), column.to_string()))
}

/// Positional argument `pos`, or the first of `names` given as a keyword. A `*args` before
/// `pos` makes positions unknowable.
pub(super) fn arg<'e>(call: &'e ast::ExprCall, pos: usize, names: &[&str]) -> Option<&'e Expr> {
    let positional = call
        .arguments
        .args
        .iter()
        .take(pos + 1)
        .position(|a| matches!(a, Expr::Starred(_)));
    if positional.is_none() {
        if let Some(a) = call.arguments.args.get(pos) {
            return Some(a);
        }
    }
    names.iter().find_map(|name| keyword(call, name))
}

pub(super) fn keyword<'e>(call: &'e ast::ExprCall, name: &str) -> Option<&'e Expr> {
    call.arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == name))
        .map(|k| &k.value)
}

/// The SQL of `op.execute("...")` or `op.execute(sa.text("..."))`, when it is a literal.
fn literal_sql(call: &ast::ExprCall) -> Option<String> {
    let sql = arg(call, 0, &["sqltext"])?;
    match sql {
        Expr::Call(inner) if inner.arguments.args.len() == 1 => {
            let is_text = match inner.func.as_ref() {
                Expr::Name(name) => name.id.as_str() == "text",
                Expr::Attribute(attr) => attr.attr.as_str() == "text",
                _ => false,
            };
            inner
                .arguments
                .args
                .first()
                .filter(|_| is_text)
                .and_then(str_literal)
        }
        other => str_literal(other),
    }
}

pub(super) fn str_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_string()),
        _ => None,
    }
}

pub(super) fn int_literal(expr: &Expr) -> Option<u32> {
    match expr {
        Expr::NumberLiteral(ast::ExprNumberLiteral {
            value: ast::Number::Int(i),
            ..
        }) => i.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

fn bool_literal(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::BooleanLiteral(b) => Some(b.value),
        _ => None,
    }
}

fn is_none(expr: &Expr) -> bool {
    matches!(expr, Expr::NoneLiteral(_))
}

/// A list or tuple of string literals (a lone string counts as a one-element list).
fn str_list(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
            elts.iter().map(str_literal).collect()
        }
        other => str_literal(other).map(|s| vec![s]),
    }
}

/// Every positional argument as a string literal: `PrimaryKeyConstraint("a", "b")`.
fn str_args(call: &ast::ExprCall) -> Option<Vec<String>> {
    call.arguments.args.iter().map(str_literal).collect()
}
