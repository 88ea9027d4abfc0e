//! Hand-built migrations for tests: small builders, and the reference fixtures of
//! `/work/shared/reference/alembic-postgres/` written out operation by operation, with the
//! line numbers of the real files.
//!
//! Included by the unit tests (`crate::migrations::testkit`) and, through `#[path]`, by the
//! integration tests; it only names `super::model`, which both places provide.

#![allow(dead_code)]

use super::model::{
    Column, ForeignKey, MigrationSet, Operation, OperationAt, Revision, SqlType, TypeKind,
};

pub fn ty(kind: TypeKind, length: Option<u32>, written: &str) -> SqlType {
    SqlType {
        kind,
        length,
        written: written.to_string(),
    }
}

pub fn uuid() -> SqlType {
    ty(TypeKind::Uuid, None, "sa.UUID()")
}

pub fn varchar(n: u32) -> SqlType {
    ty(
        TypeKind::Varchar,
        Some(n),
        &format!("sa.String(length={n})"),
    )
}

pub fn integer() -> SqlType {
    ty(TypeKind::Integer, None, "sa.Integer()")
}

pub fn bigint() -> SqlType {
    ty(TypeKind::BigInt, None, "sa.BigInteger()")
}

pub fn boolean() -> SqlType {
    ty(TypeKind::Boolean, None, "sa.Boolean()")
}

pub fn col(name: &str, sql_type: SqlType, nullable: Option<bool>, line: u32) -> Column {
    Column {
        name: name.to_string(),
        sql_type,
        nullable,
        primary_key: false,
        unique: false,
        has_default: false,
        line,
    }
}

pub fn pk_col(name: &str, sql_type: SqlType, line: u32) -> Column {
    Column {
        primary_key: true,
        ..col(name, sql_type, None, line)
    }
}

pub fn fk(columns: &[&str], ref_table: &str, ref_columns: &[&str], line: u32) -> ForeignKey {
    ForeignKey {
        name: None,
        columns: strings(columns),
        ref_table: ref_table.to_string(),
        ref_columns: strings(ref_columns),
        line,
    }
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn at(line: u32, end_line: u32, op: Operation) -> OperationAt {
    OperationAt { line, end_line, op }
}

pub fn create_table(
    table: &str,
    columns: Vec<Column>,
    foreign_keys: Vec<ForeignKey>,
    primary_key: &[&str],
) -> Operation {
    Operation::CreateTable {
        table: table.to_string(),
        columns,
        foreign_keys,
        primary_key: strings(primary_key),
        unique: Vec::new(),
    }
}

pub fn alter_type(
    table: &str,
    column: &str,
    from: SqlType,
    to: SqlType,
    using: Option<&str>,
) -> Operation {
    Operation::AlterColumn {
        table: table.to_string(),
        column: column.to_string(),
        new_type: Some(to),
        existing_type: Some(from),
        using: using.map(str::to_string),
        nullable: None,
        new_name: None,
    }
}

pub fn revision(id: &str, parent: Option<&str>, file: &str, upgrade: Vec<OperationAt>) -> Revision {
    Revision {
        id: id.to_string(),
        parents: parent.map(|p| vec![p.to_string()]).unwrap_or_default(),
        file: file.to_string(),
        line: 9,
        message: String::new(),
        branch_labels: Vec::new(),
        depends_on: Vec::new(),
        upgrade,
        ignores: Vec::new(),
        unknown: Vec::new(),
    }
}

pub fn set(path: &str, revisions: Vec<Revision>) -> MigrationSet {
    MigrationSet::new(path, revisions)
}

/// `users` as the seed's first revision creates it; `first` is the `op.create_table` line.
fn users_table(first: u32) -> Operation {
    let mut role = col("role", varchar(32), Some(false), first + 7);
    role.has_default = true;
    let mut is_active = col("is_active", boolean(), Some(false), first + 6);
    is_active.has_default = true;
    Operation::CreateTable {
        table: "users".into(),
        columns: vec![
            col("id", uuid(), Some(false), first + 2),
            col("email", varchar(255), Some(false), first + 3),
            col("organization_id", uuid(), Some(true), first + 4),
            col("clerk_user_id", varchar(255), Some(true), first + 5),
            is_active,
            role,
        ],
        foreign_keys: Vec::new(),
        primary_key: strings(&["id"]),
        unique: vec![strings(&["clerk_user_id"])],
    }
}

fn seed_base(folder: &str) -> Revision {
    revision(
        "a1b2c3d4e5f6",
        None,
        &format!("{folder}/versions/a1b2c3d4e5f6_create_users.py"),
        vec![at(17, 27, users_table(17))],
    )
}

fn organizations(first: u32) -> Operation {
    create_table(
        "organizations",
        vec![
            col("id", varchar(36), Some(false), first + 2),
            col("name", varchar(255), Some(false), first + 3),
        ],
        Vec::new(),
        &["id"],
    )
}

fn pipeline_stages(first: u32) -> Operation {
    create_table(
        "pipeline_stages",
        vec![
            col("id", varchar(36), Some(false), first + 2),
            col("organization_id", varchar(36), Some(true), first + 3),
            col("name", varchar(100), Some(false), first + 4),
            col("position", integer(), Some(false), first + 5),
        ],
        vec![fk(
            &["organization_id"],
            "organizations",
            &["id"],
            first + 6,
        )],
        &["id"],
    )
}

fn deals(first: u32) -> Operation {
    create_table(
        "deals",
        vec![
            col("id", varchar(36), Some(false), first + 2),
            col("title", varchar(255), Some(false), first + 3),
            col("owner_id", varchar(36), Some(true), first + 4),
            col("stage_id", varchar(36), Some(true), first + 5),
        ],
        vec![
            fk(&["owner_id"], "users", &["id"], first + 6),
            fk(&["stage_id"], "pipeline_stages", &["id"], first + 7),
        ],
        &["id"],
    )
}

fn users_to_varchar(column: &str) -> Operation {
    alter_type(
        "users",
        column,
        uuid(),
        varchar(36),
        Some(&format!("{column}::text")),
    )
}

pub const SEED_FILE: &str = "36b3e62b4148_add_deals_and_pipeline_stages_tables.py";

/// `wrong-order/`: the seed incident.
pub fn wrong_order() -> MigrationSet {
    let ops = vec![
        at(18, 23, organizations(18)),
        at(24, 32, pipeline_stages(24)),
        at(33, 42, deals(33)),
        at(44, 50, users_to_varchar("id")),
        at(51, 57, users_to_varchar("organization_id")),
    ];
    set(
        "wrong-order/versions",
        vec![
            seed_base("wrong-order"),
            revision(
                "36b3e62b4148",
                Some("a1b2c3d4e5f6"),
                &format!("wrong-order/versions/{SEED_FILE}"),
                ops,
            ),
        ],
    )
}

/// `correct-order/`: the fixed migration.
pub fn correct_order() -> MigrationSet {
    let ops = vec![
        at(18, 24, users_to_varchar("id")),
        at(25, 31, users_to_varchar("organization_id")),
        at(33, 38, organizations(33)),
        at(39, 47, pipeline_stages(39)),
        at(48, 57, deals(48)),
    ];
    set(
        "correct-order/versions",
        vec![
            seed_base("correct-order"),
            revision(
                "36b3e62b4148",
                Some("a1b2c3d4e5f6"),
                &format!("correct-order/versions/{SEED_FILE}"),
                ops,
            ),
        ],
    )
}

/// The neighbours' shared base: `users`, then an `op.execute` that inserts a row, which the
/// parser drops (data never changes the schema).
fn neighbour_base(folder: &str) -> Revision {
    revision(
        "aaaa00000001",
        None,
        &format!("neighbours/{folder}/aaaa00000001_base.py"),
        vec![at(16, 26, users_table(16))],
    )
}

/// `neighbours/n1_fk_int_varchar/`: an integer column referencing a varchar key.
pub fn n1_fk_int_varchar() -> MigrationSet {
    let tag_code = col("tag_code", integer(), Some(false), 20);
    set(
        "neighbours/n1_fk_int_varchar",
        vec![
            neighbour_base("n1_fk_int_varchar"),
            revision(
                "bbbb00000002",
                Some("aaaa00000001"),
                "neighbours/n1_fk_int_varchar/bbbb00000002_case.py",
                vec![
                    at(
                        16,
                        16,
                        create_table(
                            "tags",
                            vec![pk_col("code", varchar(36), 16)],
                            Vec::new(),
                            &[],
                        ),
                    ),
                    at(
                        17,
                        21,
                        create_table(
                            "deal_tags",
                            vec![pk_col("id", integer(), 19), tag_code],
                            vec![fk(&["tag_code"], "tags", &["code"], 20)],
                            &[],
                        ),
                    ),
                ],
            ),
        ],
    )
}

/// `neighbours/n2_alter_referenced/`: `users.id` converted while `deals.owner_id` references it.
pub fn n2_alter_referenced() -> MigrationSet {
    set(
        "neighbours/n2_alter_referenced",
        vec![
            neighbour_base("n2_alter_referenced"),
            revision(
                "bbbb00000002",
                Some("aaaa00000001"),
                "neighbours/n2_alter_referenced/bbbb00000002_case.py",
                vec![at(
                    16,
                    20,
                    create_table(
                        "deals",
                        vec![
                            pk_col("id", varchar(36), 18),
                            col("owner_id", uuid(), Some(true), 19),
                        ],
                        vec![fk(&["owner_id"], "users", &["id"], 19)],
                        &[],
                    ),
                )],
            ),
            revision(
                "cccc00000003",
                Some("bbbb00000002"),
                "neighbours/n2_alter_referenced/cccc00000003_case.py",
                vec![at(16, 16, users_to_varchar("id"))],
            ),
        ],
    )
}
