//! What a migration folder is made of, independent of how it was read: revisions, the
//! operations each `upgrade()` performs, and the SQL types they name.
//!
//! The parser (`alembic.rs`) produces these; the graph (`graph.rs`) and the schema simulation
//! (`schema.rs`) consume them; the evidence snapshot stores them.

use serde::{Deserialize, Serialize};

/// One migration folder (an Alembic `versions` directory), analysed on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationSet {
    /// Folder, relative to the repository root, with `/` separators.
    pub path: String,
    /// Always `alembic` for now.
    pub framework: String,
    /// The commit whose tree was read, when read from git rather than the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Sorted by file name.
    pub revisions: Vec<Revision>,
    #[serde(default)]
    pub heads: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub branchpoints: Vec<String>,
    #[serde(default)]
    pub mergepoints: Vec<String>,
    /// Where the set's folders came from, when they were discovered or named by a flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<SetOrigin>,
    /// Files of the set that could not be parsed (an `unparseable-migration` finding each), with
    /// the revision ID their text declares where a line scan finds one: references to it are not
    /// dangling, only unread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<UnreadRevision>,
}

/// A revision file the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadRevision {
    pub file: String,
    /// From a `revision = "…"` line, or else a `<id>_slug.py` file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// A command the deploy runs that upgrades the database, and how the deploy reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeCommand {
    /// The file holding the command (`render:preDeployCommand` for the Render service's own).
    pub file: String,
    /// 1-based; 0 when not from a file.
    pub line: u32,
    /// The command line as written, shortened.
    pub command: String,
    /// `head`, `heads`, `label@head`, or a revision.
    pub target: String,
    /// The chain that runs it: `render.yaml:5 preDeployCommand -> scripts/migrate.sh`.
    pub via: String,
    /// The Render stage that runs it: `build`, `pre-deploy` or `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// How a migration set was found: what `postmortem migrations` shows per graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SetOrigin {
    /// `config` (an Alembic configuration declares the folders), `heuristic` or `flag`.
    pub kind: String,
    /// Every version folder of the graph, the set's `path` first.
    pub folders: Vec<String>,
    /// Subfolders are read too (`recursive_version_locations`, or the nested-folder heuristic).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
    /// Each declaration read, as `file:line key` (`alembic.ini:3 script_location`), or the
    /// heuristic that found the folders.
    pub sources: Vec<String>,
    /// What could not be read statically (a location computed at run time) and other caveats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl MigrationSet {
    /// An Alembic set of `revisions`, sorted by file, before its graph is computed
    /// ([`graph::compute`](crate::migrations::graph::compute) fills heads, bases and the rest).
    pub fn new(path: impl Into<String>, mut revisions: Vec<Revision>) -> Self {
        revisions.sort_by(|a, b| a.file.cmp(&b.file));
        MigrationSet {
            path: path.into(),
            framework: "alembic".to_string(),
            commit: None,
            revisions,
            heads: Vec::new(),
            bases: Vec::new(),
            branchpoints: Vec::new(),
            mergepoints: Vec::new(),
            origin: None,
            unread: Vec::new(),
        }
    }

    /// How far `revision` lies from the set's base (the longest path through its parents), which
    /// orders revisions as `alembic upgrade head` runs them; `None` for a revision not in the
    /// set. A cycle or a missing parent ends the walk instead of looping.
    pub fn upgrade_depth(&self, revision: &str) -> Option<usize> {
        self.revisions.iter().find(|r| r.id == revision)?;
        let mut depth: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut stack = vec![(revision, 0usize)];
        let mut best = 0;
        let mut steps = 0usize;
        while let Some((id, d)) = stack.pop() {
            steps += 1;
            if steps > 100_000 || depth.get(id).is_some_and(|&seen| seen >= d) {
                continue;
            }
            depth.insert(id, d);
            best = best.max(d);
            if let Some(rev) = self.revisions.iter().find(|r| r.id == id) {
                stack.extend(rev.parents.iter().map(|p| (p.as_str(), d + 1)));
            }
        }
        Some(best)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub id: String,
    /// `down_revision`: empty for a base, two or more for a merge.
    pub parents: Vec<String>,
    /// Path relative to the repository root.
    pub file: String,
    /// Line of the `revision = ...` assignment.
    pub line: u32,
    /// First line of the module docstring.
    pub message: String,
    #[serde(default)]
    pub branch_labels: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// What `upgrade()` does, in source order.
    #[serde(default)]
    pub upgrade: Vec<OperationAt>,
    /// Rules silenced in this file by `# postmortem: ignore[rule]`, with the comment's line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignores: Vec<IgnoreComment>,
    /// `branch_labels`/`depends_on` entries whose value could not be read statically, as
    /// `field: expression` (`branch_labels: cli.CONTRACT_BRANCH`): the revision is kept, these
    /// values are unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreComment {
    pub rule: String,
    pub line: u32,
}

/// An operation and where it stands in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationAt {
    /// First line of the call.
    pub line: u32,
    /// Last line of the call.
    pub end_line: u32,
    pub op: Operation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operation {
    CreateTable {
        table: String,
        columns: Vec<Column>,
        /// Table-level `ForeignKeyConstraint`s and inline `sa.ForeignKey`s alike.
        foreign_keys: Vec<ForeignKey>,
        primary_key: Vec<String>,
        /// Table-level `UniqueConstraint`s; a column's `unique=True` is on the column.
        unique: Vec<Vec<String>>,
    },
    AddColumn {
        table: String,
        column: Column,
        /// Inline `sa.ForeignKey`s of the column: Alembic adds each as its own
        /// `ALTER TABLE ... ADD FOREIGN KEY` right after the column.
        #[serde(default)]
        foreign_keys: Vec<ForeignKey>,
    },
    DropColumn {
        table: String,
        column: String,
    },
    AlterColumn {
        table: String,
        column: String,
        /// The new type, when the type changes.
        new_type: Option<SqlType>,
        existing_type: Option<SqlType>,
        /// `postgresql_using`.
        using: Option<String>,
        nullable: Option<bool>,
        new_name: Option<String>,
    },
    CreateForeignKey {
        table: String,
        /// Its name (`constraint_name`) is the foreign key's own `name`.
        foreign_key: ForeignKey,
    },
    DropConstraint {
        name: String,
        table: String,
        /// `foreignkey`, `unique`, `primary`, `check`, or absent.
        constraint_type: Option<String>,
    },
    DropTable {
        table: String,
    },
    RenameTable {
        from: String,
        to: String,
    },
    CreateIndex {
        name: Option<String>,
        table: String,
        columns: Vec<String>,
        unique: bool,
    },
    DropIndex {
        name: String,
        table: Option<String>,
    },
    /// Something that cannot be understood statically (`op.execute`, a helper function, a
    /// loop). The tables it may touch become unknown to the simulation; `tables` empty means
    /// it may touch any table.
    Opaque {
        /// The call as written, shortened: `op.execute(...)`, `upgrade_helper()`.
        call: String,
        tables: Vec<String>,
    },
}

impl Operation {
    /// The table the operation acts on, if there is a single one.
    pub fn table(&self) -> Option<&str> {
        match self {
            Operation::CreateTable { table, .. }
            | Operation::AddColumn { table, .. }
            | Operation::DropColumn { table, .. }
            | Operation::AlterColumn { table, .. }
            | Operation::CreateForeignKey { table, .. }
            | Operation::DropConstraint { table, .. }
            | Operation::DropTable { table }
            | Operation::CreateIndex { table, .. } => Some(table),
            Operation::RenameTable { from, .. } => Some(from),
            Operation::DropIndex { table, .. } => table.as_deref(),
            Operation::Opaque { .. } => None,
        }
    }

    /// One line in the words of SQL, for reports: `CREATE TABLE deals`,
    /// `ALTER TABLE users ALTER COLUMN id TYPE VARCHAR(36)`.
    pub fn summary(&self) -> String {
        match self {
            Operation::CreateTable { table, .. } => format!("CREATE TABLE {table}"),
            Operation::AddColumn {
                table,
                column,
                foreign_keys,
            } => {
                let mut sql = format!(
                    "ALTER TABLE {table} ADD COLUMN {} {}",
                    column.name, column.sql_type
                );
                for fk in foreign_keys {
                    sql.push_str(&format!(
                        " REFERENCES {} ({})",
                        fk.ref_table,
                        fk.ref_columns.join(", ")
                    ));
                }
                sql
            }
            Operation::DropColumn { table, column } => {
                format!("ALTER TABLE {table} DROP COLUMN {column}")
            }
            Operation::AlterColumn {
                table,
                column,
                new_type,
                existing_type,
                new_name,
                nullable,
                ..
            } => match (new_type, new_name, nullable) {
                (Some(to), _, _) => match existing_type {
                    Some(from) => {
                        format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {to} (from {from})")
                    }
                    None => format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {to}"),
                },
                (None, Some(name), _) => {
                    format!("ALTER TABLE {table} RENAME COLUMN {column} TO {name}")
                }
                (None, None, Some(true)) => {
                    format!("ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
                }
                (None, None, Some(false)) => {
                    format!("ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")
                }
                (None, None, None) => format!("ALTER TABLE {table} ALTER COLUMN {column}"),
            },
            Operation::CreateForeignKey {
                table, foreign_key, ..
            } => format!(
                "ALTER TABLE {table} ADD FOREIGN KEY ({}) REFERENCES {} ({})",
                foreign_key.columns.join(", "),
                foreign_key.ref_table,
                foreign_key.ref_columns.join(", ")
            ),
            Operation::DropConstraint { name, table, .. } => {
                format!("ALTER TABLE {table} DROP CONSTRAINT {name}")
            }
            Operation::DropTable { table } => format!("DROP TABLE {table}"),
            Operation::RenameTable { from, to } => format!("ALTER TABLE {from} RENAME TO {to}"),
            Operation::CreateIndex {
                name,
                table,
                columns,
                unique,
            } => format!(
                "CREATE {}INDEX {}ON {table} ({})",
                if *unique { "UNIQUE " } else { "" },
                name.as_deref().map(|n| format!("{n} ")).unwrap_or_default(),
                columns.join(", ")
            ),
            Operation::DropIndex { name, .. } => format!("DROP INDEX {name}"),
            Operation::Opaque { call, .. } => call.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub sql_type: SqlType,
    #[serde(default)]
    pub nullable: Option<bool>,
    #[serde(default)]
    pub primary_key: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub has_default: bool,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    #[serde(default)]
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// Line of the `ForeignKeyConstraint(...)` or `sa.ForeignKey(...)` call.
    pub line: u32,
}

/// A column type as PostgreSQL will create it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SqlType {
    pub kind: TypeKind,
    /// `length` of String/VARCHAR/CHAR, precision of NUMERIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// As written in the migration: `sa.String(length=36)`, `postgresql.UUID(as_uuid=True)`.
    pub written: String,
}

/// The PostgreSQL type a SQLAlchemy type becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeKind {
    Uuid,
    Varchar,
    Char,
    Text,
    SmallInt,
    Integer,
    BigInt,
    Numeric,
    Float,
    Boolean,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Json,
    Jsonb,
    Bytea,
    Enum,
    Array,
    /// A type this tool does not know; never paired or compared.
    Unknown,
}

impl TypeKind {
    /// PostgreSQL's own name, as it prints it in error messages (`character varying`, `uuid`).
    pub fn pg_name(self) -> &'static str {
        match self {
            TypeKind::Uuid => "uuid",
            TypeKind::Varchar => "character varying",
            TypeKind::Char => "character",
            TypeKind::Text => "text",
            TypeKind::SmallInt => "smallint",
            TypeKind::Integer => "integer",
            TypeKind::BigInt => "bigint",
            TypeKind::Numeric => "numeric",
            TypeKind::Float => "double precision",
            TypeKind::Boolean => "boolean",
            TypeKind::Date => "date",
            TypeKind::Time => "time without time zone",
            TypeKind::Timestamp => "timestamp without time zone",
            TypeKind::TimestampTz => "timestamp with time zone",
            TypeKind::Interval => "interval",
            TypeKind::Json => "json",
            TypeKind::Jsonb => "jsonb",
            TypeKind::Bytea => "bytea",
            TypeKind::Enum => "enum",
            TypeKind::Array => "array",
            TypeKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for SqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.kind {
            TypeKind::Varchar => "VARCHAR",
            TypeKind::Char => "CHAR",
            TypeKind::Numeric => "NUMERIC",
            other => return f.write_str(&other.pg_name().to_uppercase()),
        };
        match self.length {
            Some(n) => write!(f, "{name}({n})"),
            None => f.write_str(name),
        }
    }
}
