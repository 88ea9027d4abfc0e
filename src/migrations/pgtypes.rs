//! Which column types PostgreSQL lets a foreign key pair, and how to spell a type in DDL.
//!
//! PostgreSQL decides when the constraint is declared (`CREATE TABLE ... REFERENCES`, `ALTER
//! TABLE ... ADD FOREIGN KEY`, and again when `ALTER COLUMN ... TYPE` rebuilds an existing
//! one), in `ATAddForeignKeyConstraint`: the referenced column's unique index has a btree
//! operator class; the pair is accepted when that class's operator family has an equality
//! operator between the opclass input type and the referencing type, or when the referencing
//! type casts *implicitly* to the opclass input type. Otherwise: SQLSTATE 42804, "foreign key
//! constraint ... cannot be implemented". Lengths and precisions never matter.
//!
//! The tables below are that rule written out for the types [`TypeKind`] knows, and
//! `tests/postgres_claims.rs` checks every pair against a real server.

use crate::migrations::model::{SqlType, TypeKind};

/// PostgreSQL's answer to "may a column of type A reference a column of type B?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    Accepted,
    /// SQLSTATE 42804 when the foreign key is declared or rebuilt.
    Rejected,
    /// A type this tool cannot judge (enums, arrays, unknown types, or a referenced type
    /// PostgreSQL cannot index); no rule guesses.
    Unknown,
}

/// btree operator families of the default operator classes, as far as they matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Uuid,
    /// `text_ops`: text (and name); varchar has no opclass of its own and uses it.
    Text,
    /// `bpchar_ops`: `char(n)` alone.
    Bpchar,
    /// `integer_ops`: int2, int4, int8 with all cross-type operators.
    Integer,
    Numeric,
    /// `float_ops`: float4, float8.
    Float,
    Bool,
    /// `datetime_ops`: date, timestamp, timestamptz with all cross-type operators.
    Datetime,
    Time,
    Interval,
    Jsonb,
    Bytea,
}

/// The default btree opclass of a referenced column's type: its family and input type.
fn default_opclass(referenced: TypeKind) -> Option<(Family, TypeKind)> {
    use TypeKind as T;
    Some(match referenced {
        T::Uuid => (Family::Uuid, T::Uuid),
        T::Varchar | T::Text => (Family::Text, T::Text),
        T::Char => (Family::Bpchar, T::Char),
        T::SmallInt | T::Integer | T::BigInt => (Family::Integer, referenced),
        T::Numeric => (Family::Numeric, T::Numeric),
        T::Float => (Family::Float, T::Float),
        T::Boolean => (Family::Bool, T::Boolean),
        T::Date | T::Timestamp | T::TimestampTz => (Family::Datetime, referenced),
        T::Time => (Family::Time, T::Time),
        T::Interval => (Family::Interval, T::Interval),
        T::Jsonb => (Family::Jsonb, T::Jsonb),
        T::Bytea => (Family::Bytea, T::Bytea),
        // json has no btree opclass (it cannot be a key); enums and arrays depend on the
        // exact enum / element type, which TypeKind does not carry.
        T::Json | T::Enum | T::Array | T::Unknown => return None,
    })
}

/// Types with an equality operator against every other member inside the family.
fn family_members(family: Family) -> &'static [TypeKind] {
    use TypeKind as T;
    match family {
        Family::Uuid => &[T::Uuid],
        Family::Text => &[T::Text],
        Family::Bpchar => &[T::Char],
        Family::Integer => &[T::SmallInt, T::Integer, T::BigInt],
        Family::Numeric => &[T::Numeric],
        Family::Float => &[T::Float],
        Family::Bool => &[T::Boolean],
        Family::Datetime => &[T::Date, T::Timestamp, T::TimestampTz],
        Family::Time => &[T::Time],
        Family::Interval => &[T::Interval],
        Family::Jsonb => &[T::Jsonb],
        Family::Bytea => &[T::Bytea],
    }
}

/// `pg_cast` entries with `castcontext = 'i'` (or binary coercions) between known types.
fn casts_implicitly(from: TypeKind, to: TypeKind) -> bool {
    use TypeKind as T;
    matches!(
        (from, to),
        (T::Varchar | T::Char, T::Text)
            | (T::Text | T::Varchar, T::Char)
            | (T::SmallInt | T::Integer | T::BigInt, T::Numeric)
            | (T::SmallInt | T::Integer | T::BigInt | T::Numeric, T::Float)
            | (T::Time, T::Interval)
    )
}

/// Whether PostgreSQL accepts a foreign key from a `referencing` column to a `referenced` one.
pub fn fk_pairing(referencing: TypeKind, referenced: TypeKind) -> Pairing {
    if matches!(
        referencing,
        TypeKind::Enum | TypeKind::Array | TypeKind::Unknown
    ) {
        return Pairing::Unknown;
    }
    let Some((family, input_type)) = default_opclass(referenced) else {
        return Pairing::Unknown;
    };
    if referencing == input_type
        || family_members(family).contains(&referencing)
        || casts_implicitly(referencing, input_type)
    {
        Pairing::Accepted
    } else {
        Pairing::Rejected
    }
}

/// True only when PostgreSQL certainly refuses the pair (SQLSTATE 42804).
pub fn fk_rejected(referencing: TypeKind, referenced: TypeKind) -> bool {
    fk_pairing(referencing, referenced) == Pairing::Rejected
}

/// The type as it would appear in `CREATE TABLE`, or `None` for types that cannot be written
/// without more than the model knows (enums, arrays, unknown types).
pub fn ddl_type(sql_type: &SqlType) -> Option<String> {
    use TypeKind as T;
    let with_length = |name: &str| match sql_type.length {
        Some(n) => format!("{name}({n})"),
        None => name.to_string(),
    };
    Some(match sql_type.kind {
        T::Uuid => "UUID".into(),
        T::Varchar => with_length("VARCHAR"),
        T::Char => with_length("CHAR"),
        T::Text => "TEXT".into(),
        T::SmallInt => "SMALLINT".into(),
        T::Integer => "INTEGER".into(),
        T::BigInt => "BIGINT".into(),
        T::Numeric => with_length("NUMERIC"),
        T::Float => "DOUBLE PRECISION".into(),
        T::Boolean => "BOOLEAN".into(),
        T::Date => "DATE".into(),
        T::Time => "TIME WITHOUT TIME ZONE".into(),
        T::Timestamp => "TIMESTAMP WITHOUT TIME ZONE".into(),
        T::TimestampTz => "TIMESTAMP WITH TIME ZONE".into(),
        T::Interval => "INTERVAL".into(),
        T::Json => "JSON".into(),
        T::Jsonb => "JSONB".into(),
        T::Bytea => "BYTEA".into(),
        T::Enum | T::Array | T::Unknown => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use TypeKind as T;

    #[test]
    fn the_pairs_the_captures_show() {
        // nb_fk_types_psql.txt
        assert!(!fk_rejected(T::Integer, T::BigInt));
        assert!(!fk_rejected(T::BigInt, T::Integer));
        assert!(fk_rejected(T::Integer, T::Varchar));
        assert!(fk_rejected(T::Varchar, T::Integer));
        assert!(fk_rejected(T::Varchar, T::Uuid));
        assert!(fk_rejected(T::Text, T::Uuid));
        assert!(fk_rejected(T::Uuid, T::Varchar));
        assert!(!fk_rejected(T::Varchar, T::Varchar));
        assert!(!fk_rejected(T::Text, T::Varchar));
    }

    #[test]
    fn unknowable_types_are_never_judged() {
        assert_eq!(fk_pairing(T::Enum, T::Enum), Pairing::Unknown);
        assert_eq!(fk_pairing(T::Integer, T::Json), Pairing::Unknown);
        assert_eq!(fk_pairing(T::Unknown, T::Uuid), Pairing::Unknown);
        assert_eq!(fk_pairing(T::Uuid, T::Array), Pairing::Unknown);
    }
}
