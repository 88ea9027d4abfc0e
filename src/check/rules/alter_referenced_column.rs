//! `alter-referenced-column`: a column's type is changed while a foreign key still uses it
//!
//! **What it flags.** An `op.alter_column(..., type_=...)` on a column that an existing foreign
//! key uses, on either side, when the new type no longer pairs with the other side's type
//! (judged on the schema as the earlier revisions and operations leave it).
//!
//! **Why it breaks deploys.** PostgreSQL rebuilds the foreign key when one of its columns
//! changes type and checks the pair again: `ALTER TABLE users ALTER COLUMN id TYPE
//! VARCHAR(36)` while `deals.owner_id uuid` references it fails with SQLSTATE 42804, even on
//! empty tables, and `alembic upgrade head` exits 1. A change that still pairs (`integer` to
//! `bigint`) is fine and not flagged.
//!
//! **Example.** Revision `bbbb00000002` creates `deals.owner_id UUID REFERENCES users(id)`;
//! revision `cccc00000003` runs `op.alter_column("users", "id", type_=sa.String(36))`.
//!
//! **Fix.** Drop the foreign key, alter both columns, re-create the foreign key, in one
//! revision. `data.fix` spells out the statements.
//!
//! `data`: `altered` (`table`, `column`, `from`, `to`), `source` / `target` (the foreign key's
//! sides with their types after the change), `foreign_key` (`name`, and the `revision`,
//! `file`, `line` that declared it), `fix` (the statements, in order).

use serde_json::json;

use crate::check::rules::fk_type_mismatch::side_json;
use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::ddl::ident;
use crate::migrations::model::{Operation, SqlType};
use crate::migrations::pgtypes::ddl_type;
use crate::migrations::schema::{Conflict, Mismatch, RevisionRun};

pub struct AlterReferencedColumn;

pub static META: RuleMeta = RuleMeta {
    name: "alter-referenced-column",
    severity: Severity::Error,
    summary: "a column's type is changed while a foreign key still uses it",
    help: "Drop the foreign key, alter both columns, then re-create the foreign key.",
    category: Category::Schema,
};

impl Rule for AlterReferencedColumn {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for runs in ctx.schema_runs() {
            for run in runs {
                for (index, conflict) in &run.conflicts {
                    if let Conflict::AlterReferenced {
                        table,
                        column,
                        from,
                        to,
                        mismatch,
                    } = conflict
                    {
                        let altered = Altered {
                            table,
                            column,
                            from,
                            to,
                        };
                        findings.extend(finding(run, *index, &altered, mismatch));
                    }
                }
            }
        }
        findings
    }
}

struct Altered<'a> {
    table: &'a str,
    column: &'a str,
    from: &'a SqlType,
    to: &'a SqlType,
}

fn finding(
    run: &RevisionRun<'_>,
    index: usize,
    altered: &Altered<'_>,
    mismatch: &Mismatch,
) -> Option<Finding> {
    let op = run.revision.upgrade.get(index)?;
    let (src_col, src_type, dst_col, dst_type) = mismatch.rejected()?;
    let (src, dst) = (&mismatch.source.table, &mismatch.target.table);
    let (table, column, to) = (altered.table, altered.column, altered.to);
    let message = format!(
        "{table}.{column} changes type from {} to {to} while foreign key {} ({src}.{src_col} -> {dst}.{dst_col}) uses it: PostgreSQL rebuilds the constraint, cannot pair {} with {} and rejects the ALTER TABLE (SQLSTATE 42804)",
        altered.from,
        mismatch.fk_name,
        src_type.kind.pg_name(),
        dst_type.kind.pg_name(),
    );
    // The other side of the refused pair gets the new type too.
    let altered_is_source = src == table && src_col == column;
    let (other_table, other_column) = if altered_is_source {
        (dst, dst_col)
    } else {
        (src, src_col)
    };
    let using = match &op.op {
        Operation::AlterColumn { using: Some(u), .. } => format!(" USING {u}"),
        _ => String::new(),
    };
    let new_type = ddl_type(to).unwrap_or_else(|| to.to_string());
    let fk_table = ident(src);
    let fix = vec![
        format!(
            "ALTER TABLE {fk_table} DROP CONSTRAINT {}",
            ident(&mismatch.fk_name)
        ),
        format!(
            "ALTER TABLE {} ALTER COLUMN {} TYPE {new_type}{using}",
            ident(table),
            ident(column)
        ),
        format!(
            "ALTER TABLE {} ALTER COLUMN {} TYPE {new_type} USING {}::{new_type}",
            ident(other_table),
            ident(other_column),
            ident(other_column)
        ),
        format!(
            "ALTER TABLE {fk_table} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            ident(&mismatch.fk_name),
            mismatch
                .source
                .columns
                .iter()
                .map(|c| ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            ident(dst),
            mismatch
                .target
                .columns
                .iter()
                .map(|c| ident(c))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    let help = format!(
        "Drop foreign key {} first, change {table}.{column} and {other_table}.{other_column} to {to}, then re-create the foreign key.",
        mismatch.fk_name
    );
    let data = json!({
        "altered": {"table": table, "column": column, "from": altered.from.to_string(), "to": to.to_string()},
        "source": side_json(&mismatch.source),
        "target": side_json(&mismatch.target),
        "foreign_key": {
            "name": mismatch.fk_name,
            "revision": mismatch.fk_revision,
            "file": mismatch.fk_file,
            "line": mismatch.fk_line,
        },
        "fix": fix,
    });
    Some(
        Finding::new(&META, message)
            .help(help)
            .file(&run.revision.file)
            .line(op.line)
            .revision(&run.revision.id)
            .data(data),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Evidence, Service};
    use crate::migrations::model::MigrationSet;
    use crate::migrations::testkit::{self, at};

    fn check(sets: Vec<MigrationSet>) -> Vec<Finding> {
        let mut evidence = Evidence::new(Service::default());
        evidence.migration_sets = sets;
        AlterReferencedColumn.check(&CheckContext::new(&evidence, None))
    }

    #[test]
    fn err() {
        let findings = check(vec![testkit::n2_alter_referenced()]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.line, Some(16));
        assert_eq!(f.revision.as_deref(), Some("cccc00000003"));
        assert_eq!(
            f.message,
            "users.id changes type from UUID to VARCHAR(36) while foreign key deals_owner_id_fkey \
             (deals.owner_id -> users.id) uses it: PostgreSQL rebuilds the constraint, cannot \
             pair uuid with character varying and rejects the ALTER TABLE (SQLSTATE 42804)"
        );
        assert_eq!(f.data["foreign_key"]["revision"], "bbbb00000002");
        assert_eq!(f.data["foreign_key"]["line"], 19);
        assert_eq!(
            f.data["fix"],
            json!([
                "ALTER TABLE deals DROP CONSTRAINT deals_owner_id_fkey",
                "ALTER TABLE users ALTER COLUMN id TYPE VARCHAR(36) USING id::text",
                "ALTER TABLE deals ALTER COLUMN owner_id TYPE VARCHAR(36) USING owner_id::VARCHAR(36)",
                "ALTER TABLE deals ADD CONSTRAINT deals_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id)"
            ])
        );
    }

    #[test]
    fn the_neighbour_files_as_parsed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/migrations/neighbours/n2_alter_referenced");
        let (sets, _) = crate::migrations::load_folder(&dir).unwrap();
        let findings = check(sets);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].file.as_deref(), Some("cccc00000003_case.py"));
        assert_eq!(findings[0].line, Some(16));
    }

    #[test]
    fn ok() {
        // The seed's late conversion makes its (mis-declared) FK pair: nothing to report here.
        assert_eq!(check(vec![testkit::wrong_order()]), Vec::new());
        assert_eq!(check(vec![testkit::correct_order()]), Vec::new());
        // Dropping the FK first is the documented fix.
        let mut set = testkit::n2_alter_referenced();
        let last = set
            .revisions
            .iter_mut()
            .find(|r| r.id == "cccc00000003")
            .unwrap();
        last.upgrade.insert(
            0,
            at(
                15,
                15,
                Operation::DropConstraint {
                    name: "deals_owner_id_fkey".into(),
                    table: "deals".into(),
                    constraint_type: Some("foreignkey".into()),
                },
            ),
        );
        assert_eq!(check(vec![set]), Vec::new());
    }
}
