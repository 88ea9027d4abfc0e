//! The database schema as the migrations build it, operation by operation.
//!
//! `alembic upgrade head` runs every revision, in dependency order, against one database; this
//! module replays the same operations on a [`Schema`] (tables, column types, nullability,
//! primary keys, unique sets, foreign keys) and reports, for each operation, the foreign-key
//! pairings PostgreSQL would refuse at that point ([`Conflict`]). Both schema rules read the
//! result of [`simulate`].
//!
//! What cannot be understood statically ([`Operation::Opaque`]) marks the tables it may touch
//! as unknown: no conflict is ever reported about an unknown table, because its real shape is
//! a guess.

use std::collections::BTreeMap;

use crate::migrations::model::{
    Column, ForeignKey, MigrationSet, Operation, OperationAt, Revision, SqlType,
};
use crate::migrations::pgtypes;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// In creation order, as PostgreSQL lists them.
    pub columns: Vec<ColumnState>,
    pub primary_key: Vec<String>,
    pub unique: Vec<Vec<String>>,
    /// Foreign keys declared on this (referencing) table.
    pub foreign_keys: Vec<ForeignKeyState>,
    /// An opaque operation may have changed this table: no rule reasons about it.
    pub unknown: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnState {
    pub name: String,
    pub sql_type: SqlType,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyState {
    /// The name given in the migration, if any.
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// Where it was declared.
    pub revision: String,
    pub file: String,
    pub line: u32,
}

impl ForeignKeyState {
    /// The name PostgreSQL gives it: the declared one, else `<table>_<columns>_fkey`.
    pub fn pg_name(&self, table: &str) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{table}_{}_fkey", self.columns.join("_")))
    }
}

/// One side of a foreign key, with the column types at a given moment.
#[derive(Debug, Clone, PartialEq)]
pub struct FkSide {
    pub table: String,
    pub columns: Vec<String>,
    pub types: Vec<SqlType>,
}

/// A foreign key whose column types PostgreSQL refuses to pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The referencing side.
    pub source: FkSide,
    /// The referenced side.
    pub target: FkSide,
    /// Index of the first column pair PostgreSQL refuses.
    pub rejected_pair: usize,
    /// The name PostgreSQL gives the constraint.
    pub fk_name: String,
    /// Where the foreign key was declared.
    pub fk_revision: String,
    pub fk_file: String,
    pub fk_line: u32,
}

impl Mismatch {
    /// The first refused pair: (referencing column, type, referenced column, type).
    pub fn rejected(&self) -> Option<(&str, &SqlType, &str, &SqlType)> {
        let i = self.rejected_pair;
        Some((
            self.source.columns.get(i)?,
            self.source.types.get(i)?,
            self.target.columns.get(i)?,
            self.target.types.get(i)?,
        ))
    }
}

/// What PostgreSQL would refuse at one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    /// The operation declares a foreign key between types that do not pair.
    FkTypeMismatch(Mismatch),
    /// The operation changes the type of a column an existing foreign key uses, and the
    /// foreign key's types no longer pair (PostgreSQL rebuilds the constraint and fails).
    AlterReferenced {
        table: String,
        column: String,
        from: SqlType,
        to: SqlType,
        /// With the types as they would be after the change.
        mismatch: Mismatch,
    },
}

/// Where an operation is: which revision, which file.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub revision: &'a str,
    pub file: &'a str,
}

impl Schema {
    pub fn new() -> Self {
        Schema::default()
    }

    /// True when the table is absent or an opaque operation may have changed it.
    pub fn is_unknown(&self, table: &str) -> bool {
        self.tables.get(table).is_none_or(|t| t.unknown)
    }

    /// The column's type, when the table is known and has it.
    pub fn column_type(&self, table: &str, column: &str) -> Option<&SqlType> {
        let t = self.tables.get(table).filter(|t| !t.unknown)?;
        t.column(column).map(|c| &c.sql_type)
    }

    /// Applies one operation and returns what PostgreSQL would refuse in it, judged on the
    /// schema as it stands. The operation is applied even when it conflicts, as its author
    /// meant it, so that later operations are judged against the intended schema.
    pub fn apply(&mut self, op: &Operation, origin: Origin<'_>) -> Vec<Conflict> {
        let mut conflicts = Vec::new();
        match op {
            Operation::CreateTable {
                table,
                columns,
                foreign_keys,
                primary_key,
                unique,
            } => {
                let mut created = Table {
                    columns: columns.iter().map(ColumnState::from_column).collect(),
                    primary_key: primary_key_of(primary_key, columns),
                    unique: unique.clone(),
                    ..Table::default()
                };
                created.unique.extend(
                    columns
                        .iter()
                        .filter(|c| c.unique)
                        .map(|c| vec![c.name.clone()]),
                );
                // PostgreSQL creates the table first and then adds its foreign keys, which is
                // why a self-reference works.
                self.tables.insert(table.clone(), created);
                for fk in foreign_keys {
                    conflicts.extend(self.add_foreign_key(table, fk, origin));
                }
            }
            Operation::AddColumn {
                table,
                column,
                foreign_keys,
            } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.retain(|c| c.name != column.name);
                    t.columns.push(ColumnState::from_column(column));
                    if column.primary_key {
                        t.primary_key = vec![column.name.clone()];
                    }
                    if column.unique {
                        t.unique.push(vec![column.name.clone()]);
                    }
                }
                for fk in foreign_keys {
                    conflicts.extend(self.add_foreign_key(table, fk, origin));
                }
            }
            Operation::DropColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.retain(|c| &c.name != column);
                    // PostgreSQL drops the table's own constraints on the column with it.
                    t.foreign_keys.retain(|fk| !fk.columns.contains(column));
                    t.unique.retain(|set| !set.contains(column));
                    t.primary_key.retain(|c| c != column);
                }
            }
            Operation::AlterColumn {
                table,
                column,
                new_type,
                nullable,
                new_name,
                ..
            } => {
                if let Some(to) = new_type {
                    conflicts.extend(self.change_type(table, column, to));
                }
                if let Some(t) = self.tables.get_mut(table) {
                    if let (Some(nullable), Some(c)) = (nullable, t.column_mut(column)) {
                        c.nullable = *nullable;
                    }
                }
                if let Some(to) = new_name {
                    self.rename_column(table, column, to);
                }
            }
            Operation::CreateForeignKey {
                table, foreign_key, ..
            } => conflicts.extend(self.add_foreign_key(table, foreign_key, origin)),
            Operation::DropConstraint {
                name,
                table,
                constraint_type,
            } => self.drop_constraint(table, name, constraint_type.as_deref()),
            Operation::DropTable { table } => {
                self.tables.remove(table);
            }
            Operation::RenameTable { from, to } => {
                if let Some(t) = self.tables.remove(from) {
                    self.tables.insert(to.clone(), t);
                    for t in self.tables.values_mut() {
                        for fk in &mut t.foreign_keys {
                            if &fk.ref_table == from {
                                fk.ref_table.clone_from(to);
                            }
                        }
                    }
                }
            }
            Operation::CreateIndex {
                table,
                columns,
                unique,
                ..
            } => {
                if let (true, Some(t)) = (*unique, self.tables.get_mut(table)) {
                    t.unique.push(columns.clone());
                }
            }
            // Index names do not say which columns they covered; only uniqueness is lost,
            // which no rule here depends on.
            Operation::DropIndex { .. } => {}
            Operation::Opaque { tables, .. } => self.mark_unknown(tables),
        }
        conflicts
    }

    fn mark_unknown(&mut self, tables: &[String]) {
        if tables.is_empty() {
            self.tables.values_mut().for_each(|t| t.unknown = true);
        } else {
            for name in tables {
                self.tables.entry(name.clone()).or_default().unknown = true;
            }
        }
    }

    fn add_foreign_key(
        &mut self,
        table: &str,
        fk: &ForeignKey,
        origin: Origin<'_>,
    ) -> Option<Conflict> {
        let ref_columns = if fk.ref_columns.is_empty() {
            // `REFERENCES t` without columns means t's primary key.
            self.tables
                .get(&fk.ref_table)
                .map(|t| t.primary_key.clone())
                .unwrap_or_default()
        } else {
            fk.ref_columns.clone()
        };
        let state = ForeignKeyState {
            name: fk.name.clone(),
            columns: fk.columns.clone(),
            ref_table: fk.ref_table.clone(),
            ref_columns,
            revision: origin.revision.to_string(),
            file: origin.file.to_string(),
            line: fk.line,
        };
        let conflict = self.mismatch(table, &state).map(Conflict::FkTypeMismatch);
        if let Some(t) = self.tables.get_mut(table) {
            t.foreign_keys.push(state);
        }
        conflict
    }

    /// The foreign key's refused pair, when both tables are known, every column exists with a
    /// judgeable type and PostgreSQL certainly refuses one pair.
    pub fn mismatch(&self, table: &str, fk: &ForeignKeyState) -> Option<Mismatch> {
        if fk.columns.len() != fk.ref_columns.len() || fk.columns.is_empty() {
            return None;
        }
        let source = self.side(table, &fk.columns)?;
        let target = self.side(&fk.ref_table, &fk.ref_columns)?;
        let rejected_pair = source
            .types
            .iter()
            .zip(&target.types)
            .position(|(a, b)| pgtypes::fk_rejected(a.kind, b.kind))?;
        Some(Mismatch {
            source,
            target,
            rejected_pair,
            fk_name: fk.pg_name(table),
            fk_revision: fk.revision.clone(),
            fk_file: fk.file.clone(),
            fk_line: fk.line,
        })
    }

    /// The columns with their current types, when the table is known and has them all.
    pub fn side(&self, table: &str, columns: &[String]) -> Option<FkSide> {
        let types = columns
            .iter()
            .map(|c| self.column_type(table, c).cloned())
            .collect::<Option<Vec<_>>>()?;
        Some(FkSide {
            table: table.to_string(),
            columns: columns.to_vec(),
            types,
        })
    }

    fn change_type(&mut self, table: &str, column: &str, to: &SqlType) -> Vec<Conflict> {
        let Some(from) = self.column_type(table, column).cloned() else {
            return Vec::new();
        };
        // A foreign key that already did not pair was reported where it was declared;
        // PostgreSQL never got this far, so judging it again would only echo that finding.
        let pairing_before: Vec<(String, ForeignKeyState)> = self
            .foreign_keys_using(table, column)
            .into_iter()
            .filter(|(fk_table, fk)| self.mismatch(fk_table, fk).is_none())
            .collect();
        if let Some(c) = self
            .tables
            .get_mut(table)
            .and_then(|t| t.column_mut(column))
        {
            c.sql_type = to.clone();
        }
        let mut conflicts = Vec::new();
        for (fk_table, fk) in pairing_before {
            if let Some(mismatch) = self.mismatch(&fk_table, &fk) {
                conflicts.push(Conflict::AlterReferenced {
                    table: table.to_string(),
                    column: column.to_string(),
                    from: from.clone(),
                    to: to.clone(),
                    mismatch,
                });
            }
        }
        conflicts
    }

    /// Every foreign key that uses the column, on either side, with its table.
    pub fn foreign_keys_using(&self, table: &str, column: &str) -> Vec<(String, ForeignKeyState)> {
        let column = column.to_string();
        self.tables
            .iter()
            .flat_map(|(name, t)| t.foreign_keys.iter().map(move |fk| (name, fk)))
            .filter(|(name, fk)| {
                (name.as_str() == table && fk.columns.contains(&column))
                    || (fk.ref_table == table && fk.ref_columns.contains(&column))
            })
            .map(|(name, fk)| (name.clone(), fk.clone()))
            .collect()
    }

    fn rename_column(&mut self, table: &str, from: &str, to: &str) {
        let rename = |cols: &mut Vec<String>| {
            cols.iter_mut()
                .filter(|c| c.as_str() == from)
                .for_each(|c| *c = to.to_string())
        };
        for (name, t) in &mut self.tables {
            if name == table {
                if let Some(c) = t.column_mut(from) {
                    c.name = to.to_string();
                }
                rename(&mut t.primary_key);
                t.unique.iter_mut().for_each(rename);
            }
            for fk in &mut t.foreign_keys {
                if name == table {
                    rename(&mut fk.columns);
                }
                if fk.ref_table == table {
                    rename(&mut fk.ref_columns);
                }
            }
        }
    }

    fn drop_constraint(&mut self, table: &str, name: &str, kind: Option<&str>) {
        let Some(t) = self.tables.get_mut(table) else {
            return;
        };
        let before = t.foreign_keys.len();
        t.foreign_keys.retain(|fk| fk.pg_name(table) != name);
        if t.foreign_keys.len() != before {
            return;
        }
        let primary = format!("{table}_pkey");
        if name == primary || kind == Some("primary") {
            t.primary_key.clear();
            return;
        }
        let unique_index = t
            .unique
            .iter()
            .position(|cols| format!("{table}_{}_key", cols.join("_")) == name);
        match (unique_index, kind) {
            (Some(i), _) => {
                t.unique.remove(i);
            }
            (None, Some("unique" | "check")) => {}
            // A foreign key under a name we cannot match (a naming convention, a truncated
            // default): which one went is unknown, so the table is.
            (None, _) => t.unknown = true,
        }
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&ColumnState> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut ColumnState> {
        self.columns.iter_mut().find(|c| c.name == name)
    }
}

impl ColumnState {
    fn from_column(column: &Column) -> Self {
        ColumnState {
            name: column.name.clone(),
            sql_type: column.sql_type.clone(),
            // SQLAlchemy's default: nullable unless primary key.
            nullable: column.nullable.unwrap_or(!column.primary_key),
        }
    }
}

/// The table's primary key: the `PrimaryKeyConstraint`, or the columns flagged
/// `primary_key=True`.
pub fn primary_key_of(declared: &[String], columns: &[Column]) -> Vec<String> {
    if !declared.is_empty() {
        return declared.to_vec();
    }
    columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.clone())
        .collect()
}

/// Whether a literal SQL string (`op.execute("...")`) may change the schema. Statements that
/// only read or write rows cannot, and data never changes what a foreign key may pair; the
/// parser drops those. Anything else is treated as a schema change.
pub fn sql_changes_schema(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let words = || {
        upper
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
    };
    let first = words().next().unwrap_or("");
    if !matches!(first, "INSERT" | "UPDATE" | "DELETE" | "SELECT") {
        return true;
    }
    words().any(|word| {
        matches!(
            word,
            "ALTER" | "CREATE" | "DROP" | "RENAME" | "TRUNCATE" | "EXECUTE" | "DO" | "CALL"
        )
    })
}

/// Revisions in an order `alembic upgrade head` may run them, as the graph resolves labels,
/// duplicates and cycles.
pub use crate::migrations::graph::upgrade_order;

/// One revision's replay: the schema before it and what each operation would hit.
#[derive(Debug, Clone)]
pub struct RevisionRun<'a> {
    pub revision: &'a Revision,
    /// The schema before the revision, kept only for revisions with conflicts (the fixes a
    /// rule proposes replay from it): a copy per revision made 2,000 revisions quadratic.
    pub before: Option<Schema>,
    /// `(index into revision.upgrade, conflict)`, in operation order.
    pub conflicts: Vec<(usize, Conflict)>,
}

/// Replays a migration set from an empty database.
pub fn simulate(set: &MigrationSet) -> Vec<RevisionRun<'_>> {
    let mut schema = Schema::new();
    let mut runs: Vec<RevisionRun<'_>> = upgrade_order(set)
        .into_iter()
        .map(|revision| RevisionRun {
            revision,
            before: None,
            conflicts: replay(&mut schema, revision, revision.upgrade.iter()),
        })
        .collect();
    // The replay is deterministic: a second pass reaches the same states, and copies only the
    // ones before a conflict.
    if runs.iter().any(|run| !run.conflicts.is_empty()) {
        let mut schema = Schema::new();
        for run in &mut runs {
            if !run.conflicts.is_empty() {
                run.before = Some(schema.clone());
            }
            replay(&mut schema, run.revision, run.revision.upgrade.iter());
        }
    }
    runs
}

fn replay<'o>(
    schema: &mut Schema,
    revision: &Revision,
    ops: impl Iterator<Item = &'o OperationAt>,
) -> Vec<(usize, Conflict)> {
    let origin = Origin {
        revision: &revision.id,
        file: &revision.file,
    };
    ops.enumerate()
        .flat_map(|(i, op)| {
            schema
                .apply(&op.op, origin)
                .into_iter()
                .map(move |c| (i, c))
        })
        .collect()
}

/// Replays `ops` (a revision's operations, perhaps reordered) from `before`.
pub fn replay_ops(before: &Schema, revision: &Revision, ops: &[&OperationAt]) -> Vec<Conflict> {
    let mut schema = before.clone();
    replay(&mut schema, revision, ops.iter().copied())
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::testkit::{self, at};

    #[test]
    fn data_only_sql_changes_no_schema() {
        assert!(!sql_changes_schema(
            "INSERT INTO users (id) VALUES (gen_random_uuid())"
        ));
        assert!(!sql_changes_schema("  update users set role = 'member'"));
        assert!(sql_changes_schema(
            "ALTER TABLE users ALTER COLUMN id TYPE text"
        ));
        assert!(sql_changes_schema(
            "UPDATE users SET x = 1; DROP TABLE deals"
        ));
        assert!(sql_changes_schema("CREATE INDEX ix ON users (email)"));
    }

    #[test]
    fn an_opaque_call_makes_every_table_unknown_when_it_names_none() {
        let mut set = testkit::n2_alter_referenced();
        let middle = set
            .revisions
            .iter_mut()
            .find(|r| r.id == "bbbb00000002")
            .unwrap();
        middle.upgrade.push(at(
            21,
            21,
            Operation::Opaque {
                call: "upgrade_helper()".into(),
                tables: Vec::new(),
            },
        ));
        let runs = simulate(&set);
        assert!(runs
            .iter()
            .all(|run| run.conflicts.is_empty() && run.before.is_none()));
        let mut before_last = Schema::new();
        for run in &runs[..runs.len() - 1] {
            replay(&mut before_last, run.revision, run.revision.upgrade.iter());
        }
        assert!(before_last.is_unknown("users") && before_last.is_unknown("deals"));
    }

    /// The n2 neighbour's schema before its failing revision: users.id referenced by deals.
    fn n2_before_the_alter() -> (Schema, Origin<'static>) {
        let mut schema = Schema::new();
        let origin = Origin {
            revision: "r",
            file: "f.py",
        };
        for rev in upgrade_order(&testkit::n2_alter_referenced()) {
            if rev.id != "cccc00000003" {
                for op in &rev.upgrade {
                    schema.apply(&op.op, origin);
                }
            }
        }
        (schema, origin)
    }

    #[test]
    fn dropping_the_fk_by_its_default_name_forgets_it() {
        let (mut schema, origin) = n2_before_the_alter();
        assert_eq!(schema.foreign_keys_using("users", "id").len(), 1);
        schema.apply(
            &Operation::DropConstraint {
                name: "deals_owner_id_fkey".into(),
                table: "deals".into(),
                constraint_type: Some("foreignkey".into()),
            },
            origin,
        );
        assert!(schema.foreign_keys_using("users", "id").is_empty());
        assert!(!schema.is_unknown("deals"));
    }

    #[test]
    fn renames_follow_foreign_keys() {
        let (mut schema, origin) = n2_before_the_alter();
        schema.apply(
            &Operation::RenameTable {
                from: "users".into(),
                to: "accounts".into(),
            },
            origin,
        );
        let conflicts = schema.apply(
            &testkit::alter_type("accounts", "id", testkit::uuid(), testkit::integer(), None),
            origin,
        );
        assert_eq!(conflicts.len(), 1);
    }

    #[test]
    fn revisions_run_parents_first_and_cycles_are_left_out() {
        let mut set = testkit::wrong_order();
        set.revisions.reverse();
        let ids: Vec<&str> = upgrade_order(&set).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a1b2c3d4e5f6", "36b3e62b4148"]);
        set.revisions.iter_mut().for_each(|r| {
            r.parents = vec![if r.id == "a1b2c3d4e5f6" {
                "36b3e62b4148"
            } else {
                "a1b2c3d4e5f6"
            }
            .into()]
        });
        assert!(upgrade_order(&set).is_empty());
    }
}
