//! The Alembic parser on real revision files: the seed incident, its neighbours, and the
//! forms real projects write (annotations, tuples, batch mode, dialect types, helpers).

use postmortem::migrations::alembic::parse_revision;
use postmortem::migrations::model::{Operation, Revision, TypeKind};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migrations");

fn parse_fixture(rel: &str) -> Revision {
    let path = format!("{FIXTURES}/{rel}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_revision(rel, &bytes).unwrap_or_else(|f| panic!("{rel}: {f}"))
}

fn parse_str(source: &str) -> Revision {
    parse_revision("v/x.py", source.as_bytes()).unwrap_or_else(|f| panic!("{f}"))
}

#[test]
fn seed_wrong_order_operations_in_order() {
    let rev = parse_fixture(
        "seed-wrong-order/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py",
    );
    assert_eq!(rev.id, "36b3e62b4148");
    assert_eq!(rev.parents, vec!["a1b2c3d4e5f6"]);
    assert_eq!(rev.line, 10);
    assert_eq!(
        rev.message,
        "add deals and pipeline stages tables  (WRONG ORDER - reproduces the Render failure)"
    );
    let summary: Vec<(u32, u32, String)> = rev
        .upgrade
        .iter()
        .map(|o| (o.line, o.end_line, o.op.summary()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (18, 23, "CREATE TABLE organizations".to_string()),
            (24, 32, "CREATE TABLE pipeline_stages".to_string()),
            (33, 42, "CREATE TABLE deals".to_string()),
            (
                44,
                50,
                "ALTER TABLE users ALTER COLUMN id TYPE VARCHAR(36) (from UUID)".to_string()
            ),
            (
                51,
                57,
                "ALTER TABLE users ALTER COLUMN organization_id TYPE VARCHAR(36) (from UUID)"
                    .to_string()
            ),
        ]
    );
    let Some(Operation::CreateTable {
        table,
        columns,
        foreign_keys,
        primary_key,
        ..
    }) = rev.upgrade.get(2).map(|o| &o.op)
    else {
        panic!(
            "third operation is not create_table: {:?}",
            rev.upgrade.get(2)
        );
    };
    assert_eq!(table, "deals");
    assert_eq!(primary_key, &vec!["id".to_string()]);
    let owner = columns
        .iter()
        .find(|c| c.name == "owner_id")
        .expect("owner_id column");
    assert_eq!(
        (owner.sql_type.kind, owner.sql_type.length, owner.line),
        (TypeKind::Varchar, Some(36), 37)
    );
    assert_eq!(owner.sql_type.written, "sa.String(length=36)");
    assert_eq!(owner.nullable, Some(true));
    let fk = foreign_keys.first().expect("FK owner_id");
    assert_eq!(
        (
            fk.columns.clone(),
            fk.ref_table.as_str(),
            fk.ref_columns.clone(),
            fk.line
        ),
        (
            vec!["owner_id".to_string()],
            "users",
            vec!["id".to_string()],
            39
        )
    );
    assert_eq!(
        foreign_keys.get(1).map(|f| f.ref_table.as_str()),
        Some("pipeline_stages")
    );
    let Some(Operation::AlterColumn {
        table,
        column,
        new_type,
        existing_type,
        using,
        ..
    }) = rev.upgrade.get(3).map(|o| &o.op)
    else {
        panic!("fourth operation is not alter_column");
    };
    assert_eq!((table.as_str(), column.as_str()), ("users", "id"));
    assert_eq!(
        new_type.as_ref().map(|t| (t.kind, t.length)),
        Some((TypeKind::Varchar, Some(36)))
    );
    assert_eq!(
        existing_type.as_ref().map(|t| (t.kind, t.written.as_str())),
        Some((TypeKind::Uuid, "sa.UUID()"))
    );
    assert_eq!(using.as_deref(), Some("id::text"));
}

#[test]
fn seed_users_table() {
    let rev = parse_fixture("seed-wrong-order/versions/a1b2c3d4e5f6_create_users.py");
    assert!(rev.parents.is_empty());
    let Some(Operation::CreateTable {
        columns,
        primary_key,
        unique,
        ..
    }) = rev.upgrade.first().map(|o| &o.op)
    else {
        panic!("not create_table");
    };
    let id = &columns[0];
    assert_eq!(
        (
            id.name.as_str(),
            id.sql_type.kind,
            id.primary_key,
            id.nullable
        ),
        ("id", TypeKind::Uuid, true, Some(false))
    );
    assert_eq!(primary_key, &vec!["id".to_string()]);
    assert_eq!(unique, &vec![vec!["clerk_user_id".to_string()]]);
    let active = columns
        .iter()
        .find(|c| c.name == "is_active")
        .expect("is_active");
    assert!(active.has_default);
    assert_eq!(active.sql_type.kind, TypeKind::Boolean);
}

#[test]
fn every_reference_file_parses() {
    let mut count = 0;
    for dir in ["seed-wrong-order/versions", "seed-correct-order/versions"]
        .into_iter()
        .map(String::from)
        .chain((1..=8).filter_map(|n| {
            std::fs::read_dir(format!("{FIXTURES}/neighbours"))
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| format!("neighbours/{}", e.file_name().to_string_lossy()))
                .find(|name| name.starts_with(&format!("neighbours/n{n}_")))
        }))
    {
        for entry in std::fs::read_dir(format!("{FIXTURES}/{dir}")).expect("fixture dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let rev = parse_fixture(&format!("{dir}/{name}"));
            assert!(!rev.upgrade.is_empty(), "{dir}/{name}: no operations");
            count += 1;
        }
    }
    assert_eq!(count, 22);
}

#[test]
fn neighbour_inline_foreign_key_and_opaque_execute() {
    let rev = parse_fixture("neighbours/n1_fk_int_varchar/bbbb00000002_case.py");
    let Some(Operation::CreateTable {
        table,
        foreign_keys,
        columns,
        ..
    }) = rev.upgrade.get(1).map(|o| &o.op)
    else {
        panic!("not create_table");
    };
    assert_eq!(table, "deal_tags");
    assert_eq!(columns[1].sql_type.kind, TypeKind::Integer);
    assert_eq!(foreign_keys[0].ref_table, "tags");
    assert_eq!(foreign_keys[0].columns, vec!["tag_code"]);
    assert_eq!(foreign_keys[0].line, 20);
    let base = parse_fixture("neighbours/n1_fk_int_varchar/aaaa00000001_base.py");
    // `op.execute("INSERT ...")` only writes rows: it changes no schema, so it is dropped.
    assert_eq!(base.upgrade.len(), 1);
    let ddl = parse_str("revision = 'a'\ndown_revision = None\ndef upgrade():\n    op.execute(sa.text(\"ALTER TABLE users ADD x int\"))\n");
    assert!(
        matches!(&ddl.upgrade[0].op, Operation::Opaque { call, tables } if call == "op.execute(...)" && tables.is_empty())
    );
}

#[test]
fn down_revision_forms_and_annotations() {
    let rev = parse_fixture("merge-heavy/app/migrations/versions/0001_base.py");
    assert_eq!((rev.id.as_str(), rev.line), ("1000aaaa0001", 13));
    assert!(rev.parents.is_empty());
    assert_eq!(rev.branch_labels, vec!["core"]);
    let tuple = parse_fixture("merge-heavy/app/migrations/versions/0004_merge.py");
    assert_eq!(tuple.parents, vec!["2000bbbb0002", "3000cccc0003"]);
    let list = parse_fixture("merge-heavy/app/migrations/versions/0007_merge.py");
    assert_eq!(list.parents, vec!["5000eeee0005", "6000ffff0006"]);
    let dep = parse_fixture("merge-heavy/app/migrations/versions/0005_audit.py");
    assert_eq!(dep.depends_on, vec!["core"]);
    let rev = parse_str("\"\"\"x\n\nRevises: b\n\"\"\"\nrevision = 'a'\ndown_revision = ('b', 'b')\nbranch_labels = ['one', 'two']\ndepends_on = ('c', 'd')\n");
    assert_eq!(rev.parents, vec!["b"]);
    assert_eq!(rev.branch_labels, vec!["one", "two"]);
    assert_eq!(rev.depends_on, vec!["c", "d"]);
    assert_eq!(rev.message, "x");
}

#[test]
fn types_however_imported() {
    let base = parse_fixture("merge-heavy/app/migrations/versions/0001_base.py");
    let Operation::CreateTable {
        columns, unique, ..
    } = &base.upgrade[0].op
    else {
        panic!()
    };
    assert_eq!(columns[0].sql_type.kind, TypeKind::Uuid);
    assert_eq!(columns[0].sql_type.written, "postgresql.UUID(as_uuid=True)");
    assert_eq!(columns[2].sql_type.kind, TypeKind::TimestampTz);
    // `unique=True` is the column's fact, not repeated as a table-level constraint.
    assert!(columns[1].unique);
    assert_eq!(unique, &Vec::<Vec<String>>::new());
    let sql = postmortem::migrations::ddl::to_sql(&base.upgrade[0].op)
        .unwrap()
        .join("; ");
    assert_eq!(sql.matches("UNIQUE").count(), 1, "{sql}");
    let teams = parse_fixture("merge-heavy/app/migrations/versions/0002_teams.py");
    let Operation::CreateTable { columns, .. } = &teams.upgrade[0].op else {
        panic!()
    };
    assert_eq!(
        (
            columns[0].sql_type.kind,
            columns[1].sql_type.kind,
            columns[1].sql_type.length
        ),
        (TypeKind::BigInt, TypeKind::Varchar, Some(100))
    );
    let Operation::AddColumn { column, .. } = &teams.upgrade[1].op else {
        panic!()
    };
    assert_eq!(column.sql_type.kind, TypeKind::BigInt);
    let profiles = parse_fixture("merge-heavy/app/migrations/versions/0003_profiles.py");
    let Operation::CreateTable {
        columns,
        foreign_keys,
        ..
    } = &profiles.upgrade[0].op
    else {
        panic!()
    };
    assert_eq!(columns[2].sql_type.kind, TypeKind::Text);
    assert_eq!(foreign_keys[0].name.as_deref(), Some("fk_profiles_user"));
    assert!(
        matches!(&profiles.upgrade[1].op, Operation::CreateIndex { unique: true, columns, .. } if columns == &vec!["user_id".to_string()])
    );
    // A type that is not SQLAlchemy's is unknown, never guessed.
    let custom = parse_str("from myapp.types import GUID\nfrom alembic import op\nimport sqlalchemy as sa\nrevision = 'a'\ndown_revision = None\ndef upgrade():\n    op.add_column('t', sa.Column('x', GUID()))\n");
    let Operation::AddColumn { column, .. } = &custom.upgrade[0].op else {
        panic!()
    };
    assert_eq!(column.sql_type.kind, TypeKind::Unknown);
}

#[test]
fn batch_mode_helpers_and_conditionals() {
    let rev = parse_fixture("merge-heavy/app/migrations/versions/0006_settings.py");
    let ops: Vec<String> = rev
        .upgrade
        .iter()
        .map(|o| format!("{}: {}", o.line, o.op.summary()))
        .collect();
    assert_eq!(
        ops,
        vec![
            "19: ALTER TABLE teams ADD COLUMN flags JSON",
            "20: ALTER TABLE teams ALTER COLUMN name TYPE VARCHAR(200) (from VARCHAR(100))",
            "21: ALTER TABLE teams ADD FOREIGN KEY (owner_id) REFERENCES users (id)",
            "22: ALTER TABLE teams DROP CONSTRAINT uq_teams_name",
            "23: _backfill(...)",
            "24: if op.get_context().dialect.name == \"postgresql\":",
        ]
    );
    assert!(matches!(&rev.upgrade[4].op, Operation::Opaque { tables, .. } if tables.is_empty()));
    assert!(
        matches!(&rev.upgrade[5].op, Operation::Opaque { tables, .. } if tables == &vec!["teams".to_string()])
    );
    let ignores: Vec<(&str, u32)> = rev
        .ignores
        .iter()
        .map(|i| (i.rule.as_str(), i.line))
        .collect();
    assert_eq!(
        ignores,
        vec![("fk-type-mismatch", 22), ("alter-referenced-column", 22)]
    );
    let ids = parse_fixture("merge-heavy/app/migrations/versions/0008_ids.py");
    let kinds: Vec<&str> = ids
        .upgrade
        .iter()
        .map(|o| match &o.op {
            Operation::DropConstraint {
                constraint_type, ..
            } => {
                assert_eq!(constraint_type.as_deref(), Some("foreignkey"));
                "drop_constraint"
            }
            Operation::AlterColumn { using, .. } => {
                assert_eq!(using.as_deref(), Some("id::text"));
                "alter_column"
            }
            Operation::RenameTable { from, to } => {
                assert_eq!((from.as_str(), to.as_str()), ("audit", "audit_log"));
                "rename_table"
            }
            Operation::DropIndex { table, .. } => {
                assert_eq!(table.as_deref(), Some("profiles"));
                "drop_index"
            }
            Operation::DropTable { .. } => "drop_table",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "drop_constraint",
            "alter_column",
            "rename_table",
            "drop_index",
            "drop_table"
        ]
    );
}

#[test]
fn syntax_error_has_its_line() {
    let bytes =
        std::fs::read(format!("{FIXTURES}/broken/versions/syntax_error.py")).expect("fixture");
    let failure = parse_revision("syntax_error.py", &bytes).expect_err("must fail");
    assert_eq!(failure.line, 7);
    assert!(
        failure.message.contains("syntax error"),
        "{}",
        failure.message
    );
}

#[test]
fn non_utf8_bytes_fail_with_their_position_unless_declared() {
    let bytes =
        std::fs::read(format!("{FIXTURES}/broken/versions/latin1_bytes.py")).expect("fixture");
    let failure = parse_revision("latin1_bytes.py", &bytes).expect_err("must fail");
    assert_eq!((failure.line, failure.column), (1, 7));
    assert!(failure.message.contains("0xe9"));
    let mut declared = b"# -*- coding: latin-1 -*-\n".to_vec();
    declared.extend_from_slice(&bytes);
    let rev =
        parse_revision("latin1_bytes.py", &declared).expect("declared latin-1 is valid Python");
    assert_eq!(rev.message, "caf\u{e9} table");
}

#[test]
fn missing_or_computed_revision_is_a_failure() {
    let none = parse_revision("a.py", b"down_revision = None\n").expect_err("no revision");
    assert!(none.message.contains("declares no `revision"));
    let computed = parse_revision(
        "a.py",
        b"import os\nrevision = os.environ['REV']\ndown_revision = None\n",
    )
    .expect_err("computed");
    assert_eq!(computed.line, 2);
    assert!(
        computed.message.contains("not a literal"),
        "{}",
        computed.message
    );
}

#[test]
fn deeply_nested_files_are_refused_before_parsing() {
    // Each of these nests once per few bytes: parsing, walking and dropping such a tree
    // recursed once per level (a 7 MB file of minus signs took 6.6 GB, most of it stack).
    // CPython cannot compile them either, so they are refused from their tokens.
    const DEPTH: usize = 200_000;
    let header = "revision = \"dddd00000001\"\ndown_revision = None\n";
    for body in [
        format!("x = {}1\n", "-".repeat(DEPTH)),
        format!("x = {}1\n", "1+".repeat(DEPTH)),
        format!("x = f{}\n", "()".repeat(DEPTH)),
        format!("def upgrade():\n    x{}()\n", ".a".repeat(DEPTH)),
        format!("x = {}1\n", "not ".repeat(DEPTH)),
        format!("x = {}1\n", "lambda: ".repeat(DEPTH)),
        format!("x = {}\n", "1 if x else ".repeat(DEPTH) + "1"),
    ] {
        let failure = parse_revision("v/x.py", format!("{header}{body}").as_bytes()).unwrap_err();
        assert!(
            failure.message.contains("nests deeper than 1000 levels"),
            "{failure}"
        );
    }
    // Worker threads have small stacks: the same file refused there.
    let source = format!("{header}x = {}1\n", "-".repeat(DEPTH));
    let on_thread =
        std::thread::spawn(move || parse_revision("v/x.py", source.as_bytes()).is_err());
    assert!(on_thread.join().unwrap());
    // As deep as a real file gets, and deeper, still reads.
    let fine = format!(
        "{header}x = {}1\ny = f{}\n",
        "-".repeat(900),
        "()".repeat(400)
    );
    assert_eq!(parse_str(&fine).id, "dddd00000001");
}

#[test]
fn a_file_too_large_to_read_is_a_failure_not_a_crash() {
    let source = format!(
        "revision = \"a\"\ndown_revision = None\n#{}\n",
        "x".repeat(9 * 1024 * 1024)
    );
    let failure = parse_revision("v/big.py", source.as_bytes()).unwrap_err();
    assert!(failure.message.contains("MiB"), "{failure}");
    assert!(
        failure.over_limit,
        "a bound of this tool, not a fault of the file"
    );
}

#[test]
fn brackets_nested_deeper_than_cpython_allows_are_a_syntax_error() {
    // CPython's tokenizer stops at 200 levels ("too many nested parentheses"), so Alembic
    // cannot import such a file; 200 levels still import.
    let header = "revision = \"eeee00000001\"\ndown_revision = None\n";
    let nested = |n: usize| {
        format!(
            "{header}x = {}1{}\n",
            "([".repeat(n / 2),
            "])".repeat(n / 2)
        )
    };
    assert_eq!(parse_str(&nested(200)).id, "eeee00000001");
    let failure = parse_revision("v/x.py", nested(202).as_bytes()).unwrap_err();
    assert_eq!(
        (failure.line, failure.column, failure.message.as_str()),
        (3, 205, "Python syntax error: too many nested parentheses")
    );
}

#[test]
fn non_literal_labels_keep_the_revision() {
    // A name bound earlier in the file is read; a constant from a module is unknown here (the
    // loader looks it up in the repository); revision and down_revision still make the graph.
    let source = "from neutron.db.migration import cli\n\nLABEL = 'expand'\nPARENT = 'kilo'\nrevision = '354db87e3225'\ndown_revision = PARENT\nbranch_labels = (LABEL, cli.CONTRACT_BRANCH)\ndepends_on = None\n";
    let rev = parse_str(source);
    assert_eq!(rev.parents, ["kilo"]);
    assert_eq!(rev.branch_labels, ["expand"]);
    assert_eq!(rev.unknown, ["branch_labels: cli.CONTRACT_BRANCH"]);
    // revision itself computed: the file cannot be placed in the graph.
    let err = postmortem::migrations::alembic::parse_revision(
        "x.py",
        b"import uuid\nrevision = uuid.uuid4().hex\ndown_revision = None\n",
    )
    .unwrap_err();
    assert!(err.message.contains("is not a literal"), "{err}");
}
