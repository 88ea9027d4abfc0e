//! SQLAlchemy type expressions to the PostgreSQL type they create.
//!
//! A type is recognised only when its name resolves, through the file's imports, to
//! `sqlalchemy` (any submodule, dialects included): `sa.UUID()`, `postgresql.UUID(as_uuid=True)`,
//! `String(36)` after `from sqlalchemy import String`. Anything else (a project's own type, a
//! `sqlalchemy_utils` type) is `Unknown`, which no rule pairs or compares.

use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use super::ops::{arg, int_literal};
use super::{shorten, Module};
use crate::migrations::model::{SqlType, TypeKind};

pub(super) fn sql_type(m: &Module<'_>, expr: &Expr) -> SqlType {
    let written = shorten(m.text_of(expr.range()), 120);
    let (kind, length) = kind_and_length(m, expr);
    SqlType {
        kind,
        length,
        written,
    }
}

fn kind_and_length(m: &Module<'_>, expr: &Expr) -> (TypeKind, Option<u32>) {
    let (callee, call) = match expr {
        Expr::Call(call) => {
            // `sa.String(36).with_variant(sa.Text(), "mysql")`: PostgreSQL gets the receiver.
            if let Expr::Attribute(attr) = &*call.func {
                if attr.attr.as_str() == "with_variant" {
                    return kind_and_length(m, &attr.value);
                }
            }
            (&*call.func, Some(call))
        }
        other => (other, None),
    };
    let Some(path) = m.qualify(callee) else {
        return (TypeKind::Unknown, None);
    };
    if !(path == "sqlalchemy" || path.starts_with("sqlalchemy.")) {
        return (TypeKind::Unknown, None);
    }
    let name = path.rsplit('.').next().unwrap_or("");
    let kind = match name {
        "Uuid" | "UUID" => TypeKind::Uuid,
        "String" | "VARCHAR" | "Unicode" | "NVARCHAR" => TypeKind::Varchar,
        "CHAR" | "NCHAR" => TypeKind::Char,
        "Text" | "TEXT" | "UnicodeText" | "CLOB" => TypeKind::Text,
        "SmallInteger" | "SMALLINT" => TypeKind::SmallInt,
        "Integer" | "INTEGER" | "INT" => TypeKind::Integer,
        "BigInteger" | "BIGINT" => TypeKind::BigInt,
        "Numeric" | "NUMERIC" | "DECIMAL" => TypeKind::Numeric,
        "Float" | "FLOAT" | "Double" | "DOUBLE" | "DOUBLE_PRECISION" | "REAL" => TypeKind::Float,
        "Boolean" | "BOOLEAN" => TypeKind::Boolean,
        "Date" | "DATE" => TypeKind::Date,
        "Time" | "TIME" => TypeKind::Time,
        "DateTime" | "DATETIME" | "TIMESTAMP" => {
            let tz = call
                .and_then(|c| arg(c, 0, &["timezone"]))
                .is_some_and(is_true);
            if tz {
                TypeKind::TimestampTz
            } else {
                TypeKind::Timestamp
            }
        }
        "Interval" | "INTERVAL" => TypeKind::Interval,
        "JSON" => TypeKind::Json,
        "JSONB" => TypeKind::Jsonb,
        "LargeBinary" | "BYTEA" | "BLOB" | "BINARY" | "VARBINARY" => TypeKind::Bytea,
        "Enum" | "ENUM" => TypeKind::Enum,
        "ARRAY" => TypeKind::Array,
        _ => TypeKind::Unknown,
    };
    let length = match kind {
        TypeKind::Varchar | TypeKind::Char => call.and_then(|c| arg(c, 0, &["length"])),
        TypeKind::Numeric => call.and_then(|c| arg(c, 0, &["precision"])),
        _ => None,
    }
    .and_then(int_literal);
    (kind, length)
}

fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::BooleanLiteral(b) if b.value)
}
