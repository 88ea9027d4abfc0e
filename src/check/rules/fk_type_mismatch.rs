//! `fk-type-mismatch`: a foreign key between columns whose types PostgreSQL will not pair
//!
//! **What it flags.** A foreign key (in `op.create_table`, `sa.ForeignKey`, or
//! `op.create_foreign_key`) whose referencing and referenced columns have types PostgreSQL
//! refuses to pair, judged on the schema *as it stands at that operation* after replaying every
//! earlier revision and operation (see `migrations::schema`).
//!
//! **Why it breaks deploys.** PostgreSQL checks the pair when the constraint is declared, data
//! or no data: `varchar -> uuid`, `integer -> varchar`, `uuid -> varchar` fail with SQLSTATE
//! 42804 ("foreign key constraint ... cannot be implemented"), the revision's transaction rolls
//! back and `alembic upgrade head` exits 1, so a container that migrates on start never
//! starts. `int <-> bigint` and `varchar/text -> varchar` pair fine (see `migrations::pgtypes`).
//!
//! **Example.** The seed incident: `op.create_table("deals", ...,
//! sa.ForeignKeyConstraint(["owner_id"], ["users.id"]))` with `owner_id` `String(36)` while
//! `users.id` is still `UUID`; the `op.alter_column("users", "id", type_=sa.String(36))` that
//! would make them pair comes later in the same `upgrade()`.
//!
//! **Fix.** Convert the column first: move the type change before the operation that declares
//! the foreign key. `data.proposed_order` gives an order of the revision's operations that a
//! replay confirms raises no mismatch.
//!
//! `data`: `source` / `target` (`table`, `columns`, `types`), `fixed_by` (the later operation of
//! the same revision that would have made the pair work, or null), `operations` (this
//! revision's operations with a `mark`: `ok`, `fails`, `too_late`), `proposed_order` (or null).

use serde_json::{json, Value};

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::fix_order;
use crate::migrations::model::{Operation, OperationAt};
use crate::migrations::schema::{Conflict, FkSide, Mismatch, RevisionRun};

pub struct FkTypeMismatch;

pub static META: RuleMeta = RuleMeta {
    name: "fk-type-mismatch",
    severity: Severity::Error,
    summary: "a foreign key between columns whose types PostgreSQL will not pair",
    help: "Convert the referenced column's type before creating the foreign key.",
    category: Category::Schema,
};

impl Rule for FkTypeMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        for runs in ctx.schema_runs() {
            for run in runs {
                for (index, conflict) in &run.conflicts {
                    if let Conflict::FkTypeMismatch(mismatch) = conflict {
                        findings.extend(finding(run, *index, mismatch));
                    }
                }
            }
        }
        findings
    }
}

fn finding(run: &RevisionRun<'_>, index: usize, mismatch: &Mismatch) -> Option<Finding> {
    let ops = &run.revision.upgrade;
    let failing = ops.get(index)?;
    let (src_col, src_type, dst_col, dst_type) = mismatch.rejected()?;
    let (src, dst) = (&mismatch.source.table, &mismatch.target.table);
    let fix = fix_order::late_fix(run, index, mismatch);
    let fix_op = fix.and_then(|i| ops.get(i));
    let mut message = format!(
        "foreign key {src}.{src_col} -> {dst}.{dst_col} pairs {} with {}: PostgreSQL rejects {} (SQLSTATE 42804)",
        src_type.kind.pg_name(),
        dst_type.kind.pg_name(),
        failing.op.summary(),
    );
    if let Some(OperationAt {
        line,
        op:
            Operation::AlterColumn {
                table,
                column,
                new_type: Some(to),
                ..
            },
        ..
    }) = fix_op
    {
        let after = match failing.op {
            Operation::CreateTable { .. } => "the table is created",
            _ => "the foreign key is declared",
        };
        message.push_str(&format!(
            "; {table}.{column} only becomes {to} at line {line}, after {after}"
        ));
    } else {
        message.push_str(", and the whole revision rolls back");
    }

    let proposed = fix.and_then(|_| fix_order::proposed_order(run));
    let help = match (&proposed, fix_op) {
        (Some(_), Some(fix_op)) => format!(
            "Move `{}` (line {}) before line {}, so that both columns already have pairing types when the foreign key is declared.",
            fix_op.op.summary(),
            fix_op.line,
            failing.line
        ),
        _ => format!(
            "Give {src}.{src_col} and {dst}.{dst_col} types PostgreSQL pairs (the same type is safest) before declaring the foreign key."
        ),
    };
    let failing_ops: Vec<usize> = run
        .conflicts
        .iter()
        .filter(|(_, c)| matches!(c, Conflict::FkTypeMismatch(_)))
        .map(|(i, _)| *i)
        .collect();
    let operations: Vec<Value> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mark = if failing_ops.contains(&i) {
                "fails"
            } else if Some(i) == fix {
                "too_late"
            } else {
                "ok"
            };
            json!({"line": op.line, "end_line": op.end_line, "summary": op.op.summary(), "mark": mark})
        })
        .collect();
    let proposed_order = proposed.map(|order| {
        order
            .iter()
            .filter_map(|&i| ops.get(i))
            .map(|op| json!({"line": op.line, "summary": op.op.summary()}))
            .collect::<Vec<_>>()
    });
    let data = json!({
        "source": side_json(&mismatch.source),
        "target": side_json(&mismatch.target),
        "fixed_by": fix_op.map(|op| json!({"line": op.line, "summary": op.op.summary()})),
        "operations": operations,
        "proposed_order": proposed_order,
    });
    Some(
        Finding::new(&META, message)
            .help(help)
            .file(&run.revision.file)
            .line(mismatch.fk_line)
            .revision(&run.revision.id)
            .data(data),
    )
}

/// `{"table", "columns", "types"}`, types as a migration writer reads them (`VARCHAR(36)`).
pub fn side_json(side: &FkSide) -> Value {
    json!({
        "table": side.table,
        "columns": side.columns,
        "types": side.types.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckContext;
    use crate::evidence::{Evidence, Service};
    use crate::migrations::model::MigrationSet;
    use crate::migrations::testkit;

    fn check(sets: Vec<MigrationSet>) -> Vec<Finding> {
        let mut evidence = Evidence::new(Service::default());
        evidence.migration_sets = sets;
        FkTypeMismatch.check(&CheckContext::new(&evidence, None))
    }

    #[test]
    fn err() {
        let findings = check(vec![testkit::wrong_order()]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.line, Some(39));
        assert_eq!(f.revision.as_deref(), Some("36b3e62b4148"));
        assert_eq!(
            f.file.as_deref(),
            Some("wrong-order/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py")
        );
        assert_eq!(
            f.message,
            "foreign key deals.owner_id -> users.id pairs character varying with uuid: PostgreSQL \
             rejects CREATE TABLE deals (SQLSTATE 42804); users.id only becomes VARCHAR(36) at \
             line 44, after the table is created"
        );
        assert_eq!(f.data["source"]["types"][0], "VARCHAR(36)");
        assert_eq!(f.data["target"]["types"][0], "UUID");
        assert_eq!(f.data["fixed_by"]["line"], 44);
        let marks: Vec<&str> = f.data["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["mark"].as_str().unwrap())
            .collect();
        assert_eq!(marks, ["ok", "ok", "fails", "too_late", "ok"]);
        let order: Vec<u64> = f.data["proposed_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["line"].as_u64().unwrap())
            .collect();
        assert_eq!(order, [44, 18, 24, 33, 51]);
        assert!(f.help.contains("line 44) before line 33"), "{}", f.help);
    }

    #[test]
    fn ok() {
        assert_eq!(check(vec![testkit::correct_order()]), Vec::new());
    }

    fn parsed(folder: &str) -> MigrationSet {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/migrations")
            .join(folder);
        let (mut sets, _) = crate::migrations::load_folder(&dir).unwrap();
        sets.remove(0)
    }

    #[test]
    fn the_seed_files_as_parsed() {
        let findings = check(vec![parsed("seed-wrong-order")]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].line, Some(39));
        assert_eq!(
            findings[0].file.as_deref(),
            Some("versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py")
        );
        assert_eq!(check(vec![parsed("seed-correct-order")]), Vec::new());
    }

    #[test]
    fn int_referencing_varchar_has_no_late_fix() {
        let findings = check(vec![testkit::n1_fk_int_varchar()]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].line, Some(20));
        assert!(findings[0].data["proposed_order"].is_null());
        assert!(findings[0]
            .message
            .ends_with("and the whole revision rolls back"));
    }

    #[test]
    fn opaque_ddl_makes_the_table_unknown() {
        let mut set = testkit::wrong_order();
        let base = set
            .revisions
            .iter_mut()
            .find(|r| r.id == "a1b2c3d4e5f6")
            .unwrap();
        base.upgrade.push(testkit::at(
            28,
            28,
            Operation::Opaque {
                call: "op.execute(\"ALTER TABLE users ALTER COLUMN id TYPE varchar(36)\")".into(),
                tables: vec!["users".into()],
            },
        ));
        assert_eq!(check(vec![set]), Vec::new());
    }
}
