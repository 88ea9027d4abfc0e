//! The SQL an operation sends to PostgreSQL, close to what Alembic emits.
//!
//! Used to replay migrations on a real server (the schema rules' claims are tested that way)
//! and to spell out fixes. Server defaults are left out: their values are not in the model and
//! no foreign-key or type rule depends on them.

use crate::migrations::model::{Column, ForeignKey, Operation};
use crate::migrations::pgtypes::ddl_type;
use crate::migrations::schema::primary_key_of;

/// The statements for one operation, or why it cannot be written as SQL.
pub fn to_sql(op: &Operation) -> Result<Vec<String>, String> {
    Ok(match op {
        Operation::CreateTable {
            table,
            columns,
            foreign_keys,
            primary_key,
            unique,
        } => {
            let mut parts = columns
                .iter()
                .map(column_sql)
                .collect::<Result<Vec<_>, _>>()?;
            let pk = primary_key_of(primary_key, columns);
            if !pk.is_empty() {
                parts.push(format!("PRIMARY KEY ({})", idents(&pk)));
            }
            for set in unique {
                parts.push(format!("UNIQUE ({})", idents(set)));
            }
            parts.extend(foreign_keys.iter().map(foreign_key_sql));
            vec![format!(
                "CREATE TABLE {} ({})",
                ident(table),
                parts.join(", ")
            )]
        }
        Operation::AddColumn {
            table,
            column,
            foreign_keys,
        } => {
            // What Alembic emits: the column, then each of its foreign keys on its own.
            let mut out = vec![format!(
                "ALTER TABLE {} ADD COLUMN {}",
                ident(table),
                column_sql(column)?
            )];
            out.extend(
                foreign_keys
                    .iter()
                    .map(|fk| format!("ALTER TABLE {} ADD {}", ident(table), foreign_key_sql(fk))),
            );
            out
        }
        Operation::DropColumn { table, column } => vec![format!(
            "ALTER TABLE {} DROP COLUMN {}",
            ident(table),
            ident(column)
        )],
        Operation::AlterColumn {
            table,
            column,
            new_type,
            using,
            nullable,
            new_name,
            ..
        } => {
            let mut out = Vec::new();
            if let Some(to) = new_type {
                let ty = ddl_type(to)
                    .ok_or_else(|| format!("type {} has no SQL spelling", to.written))?;
                let using = using
                    .as_ref()
                    .map(|u| format!(" USING {u}"))
                    .unwrap_or_default();
                out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} TYPE {ty}{using}",
                    ident(table),
                    ident(column)
                ));
            }
            match nullable {
                Some(true) => out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL",
                    ident(table),
                    ident(column)
                )),
                Some(false) => out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL",
                    ident(table),
                    ident(column)
                )),
                None => {}
            }
            if let Some(to) = new_name {
                out.push(format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    ident(table),
                    ident(column),
                    ident(to)
                ));
            }
            out
        }
        Operation::CreateForeignKey {
            table, foreign_key, ..
        } => vec![format!(
            "ALTER TABLE {} ADD {}",
            ident(table),
            foreign_key_sql(foreign_key)
        )],
        Operation::DropConstraint { name, table, .. } => vec![format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            ident(table),
            ident(name)
        )],
        Operation::DropTable { table } => vec![format!("DROP TABLE {}", ident(table))],
        Operation::RenameTable { from, to } => {
            vec![format!(
                "ALTER TABLE {} RENAME TO {}",
                ident(from),
                ident(to)
            )]
        }
        Operation::CreateIndex {
            name,
            table,
            columns,
            unique,
        } => vec![format!(
            "CREATE {}INDEX {}ON {} ({})",
            if *unique { "UNIQUE " } else { "" },
            name.as_deref()
                .map(|n| format!("{} ", ident(n)))
                .unwrap_or_default(),
            ident(table),
            idents(columns)
        )],
        Operation::DropIndex { name, .. } => vec![format!("DROP INDEX {}", ident(name))],
        Operation::Opaque { call, .. } => {
            return Err(format!("`{call}` cannot be understood statically"))
        }
    })
}

fn column_sql(column: &Column) -> Result<String, String> {
    let ty = ddl_type(&column.sql_type).ok_or_else(|| {
        format!(
            "column {}: type {} has no SQL spelling",
            column.name, column.sql_type.written
        )
    })?;
    let not_null = if column.nullable == Some(false) {
        " NOT NULL"
    } else {
        ""
    };
    let unique = if column.unique { " UNIQUE" } else { "" };
    Ok(format!("{} {ty}{not_null}{unique}", ident(&column.name)))
}

/// `[CONSTRAINT name] FOREIGN KEY (a) REFERENCES t (b)`.
pub fn foreign_key_sql(fk: &ForeignKey) -> String {
    let name = fk
        .name
        .as_deref()
        .map(|n| format!("CONSTRAINT {} ", ident(n)))
        .unwrap_or_default();
    let refs = if fk.ref_columns.is_empty() {
        String::new()
    } else {
        format!(" ({})", idents(&fk.ref_columns))
    };
    format!(
        "{name}FOREIGN KEY ({}) REFERENCES {}{refs}",
        idents(&fk.columns),
        ident(&fk.ref_table)
    )
}

/// An identifier, quoted only when PostgreSQL would otherwise fold or reject it.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !is_reserved(name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn idents(names: &[String]) -> String {
    names
        .iter()
        .map(|n| ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reserved words a migration plausibly uses as a table or column name.
fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "user"
            | "order"
            | "group"
            | "table"
            | "column"
            | "check"
            | "default"
            | "primary"
            | "references"
            | "select"
            | "where"
            | "from"
            | "to"
            | "end"
            | "limit"
            | "offset"
            | "all"
            | "and"
            | "or"
            | "not"
            | "null"
            | "true"
            | "false"
            | "unique"
            | "window"
    )
}
