//! The schema rules' claims about PostgreSQL, checked against a real server: PostgreSQL must
//! reject exactly what `fk-type-mismatch` and `alter-referenced-column` flag.
//!
//! Needs PostgreSQL (see `support::postgres`); `.ci/run` provides it.

mod support;

use postmortem::check::rules::alter_referenced_column::AlterReferencedColumn;
use postmortem::check::rules::fk_type_mismatch::FkTypeMismatch;
use postmortem::check::{CheckContext, Finding, Rule};
use postmortem::evidence::{Evidence, Service};
use postmortem::migrations::model::{MigrationSet, Operation, OperationAt, SqlType, TypeKind};
use postmortem::migrations::{ddl, pgtypes, schema};
use postmortem::pipeline::load_dir;
use std::path::Path;

use support::postgres::{server, PgError};
use support::testkit::{self, alter_type, at, col, create_table, fk, pk_col, revision, set, ty};

const FK_REJECTED: &str = "42804";

/// The types the pairing table covers, with a label usable in identifiers.
fn types() -> Vec<(&'static str, SqlType)> {
    use TypeKind as T;
    vec![
        ("uuid", ty(T::Uuid, None, "sa.UUID()")),
        ("varchar36", ty(T::Varchar, Some(36), "sa.String(36)")),
        ("varchar255", ty(T::Varchar, Some(255), "sa.String(255)")),
        ("varchar", ty(T::Varchar, None, "sa.String()")),
        ("text", ty(T::Text, None, "sa.Text()")),
        ("char36", ty(T::Char, Some(36), "sa.CHAR(36)")),
        ("smallint", ty(T::SmallInt, None, "sa.SmallInteger()")),
        ("integer", ty(T::Integer, None, "sa.Integer()")),
        ("bigint", ty(T::BigInt, None, "sa.BigInteger()")),
        ("numeric", ty(T::Numeric, None, "sa.Numeric()")),
        ("numeric10", ty(T::Numeric, Some(10), "sa.Numeric(10)")),
        ("float", ty(T::Float, None, "sa.Float()")),
        ("boolean", ty(T::Boolean, None, "sa.Boolean()")),
        ("date", ty(T::Date, None, "sa.Date()")),
        ("time", ty(T::Time, None, "sa.Time()")),
        ("timestamp", ty(T::Timestamp, None, "sa.DateTime()")),
        (
            "timestamptz",
            ty(T::TimestampTz, None, "sa.DateTime(timezone=True)"),
        ),
        ("interval", ty(T::Interval, None, "sa.Interval()")),
        ("jsonb", ty(T::Jsonb, None, "postgresql.JSONB()")),
        ("bytea", ty(T::Bytea, None, "sa.LargeBinary()")),
        ("json", ty(T::Json, None, "sa.JSON()")),
    ]
}

/// json has no btree operator class: it can be neither a key nor referenced.
fn can_be_key(t: &SqlType) -> bool {
    t.kind != TypeKind::Json
}

fn run_rules(sets: Vec<MigrationSet>) -> Vec<Finding> {
    let mut evidence = Evidence::new(Service::default());
    evidence.migration_sets = sets;
    let ctx = CheckContext::new(&evidence, None);
    let mut findings = FkTypeMismatch.check(&ctx);
    findings.extend(AlterReferencedColumn.check(&ctx));
    findings
}

/// One revision doing `ops`, lines numbered 1, 2, 3...
fn one_revision(ops: Vec<Operation>) -> MigrationSet {
    let ops = ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| at(i as u32 + 1, i as u32 + 1, op))
        .collect();
    set("case", vec![revision("r1", None, "case.py", ops)])
}

fn sql_of(set: &MigrationSet) -> Vec<String> {
    set.revisions
        .iter()
        .flat_map(|r| &r.upgrade)
        .flat_map(|op| ddl::to_sql(&op.op).expect("hand-built ops translate"))
        .collect()
}

fn parent(t: &SqlType) -> Operation {
    create_table("p", vec![pk_col("id", t.clone(), 1)], Vec::new(), &[])
}

fn child(t: &SqlType) -> Operation {
    create_table(
        "c",
        vec![col("x", t.clone(), Some(true), 2)],
        vec![fk(&["x"], "p", &["id"], 2)],
        &[],
    )
}

fn describe(outcome: &Option<(usize, PgError)>) -> String {
    match outcome {
        None => "accepted".into(),
        Some((i, e)) => format!("statement {i} failed {} {}", e.sqlstate, e.message),
    }
}

/// Each case must be flagged exactly when PostgreSQL rejects its statement `failing` (0-based)
/// as a foreign-key type mismatch; any other failure is a broken case.
fn assert_agrees(
    labels: &[String],
    flagged: &[bool],
    outcomes: &[Option<(usize, PgError)>],
    failing: usize,
) {
    let mut wrong = Vec::new();
    for ((label, flagged), outcome) in labels.iter().zip(flagged).zip(outcomes) {
        let pg_rejects = match outcome {
            None => false,
            Some((i, e)) if *i == failing && e.sqlstate == FK_REJECTED => true,
            other => {
                wrong.push(format!("{label}: unexpected {}", describe(other)));
                continue;
            }
        };
        if pg_rejects != *flagged {
            wrong.push(format!(
                "{label}: rule says {}, PostgreSQL {}",
                if *flagged { "rejected" } else { "accepted" },
                describe(outcome)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases disagree:\n{}",
        wrong.len(),
        outcomes.len(),
        wrong.join("\n")
    );
}

#[test]
fn fk_type_pairs_match_postgresql() {
    let db = server().database("fk_pairs");
    let mut cases = Vec::new();
    let mut labels = Vec::new();
    let mut flagged = Vec::new();
    for (referenced_label, referenced) in types().into_iter().filter(|(_, t)| can_be_key(t)) {
        for (referencing_label, referencing) in types() {
            let case = one_revision(vec![parent(&referenced), child(&referencing)]);
            let findings = run_rules(vec![case.clone()]);
            let rejected = pgtypes::fk_rejected(referencing.kind, referenced.kind);
            assert_ne!(
                pgtypes::fk_pairing(referencing.kind, referenced.kind),
                pgtypes::Pairing::Unknown,
                "{referencing_label} -> {referenced_label} should be judged"
            );
            assert_eq!(
                findings.len(),
                usize::from(rejected),
                "{referencing_label} -> {referenced_label}: {findings:#?}"
            );
            cases.push(sql_of(&case));
            labels.push(format!("{referencing_label} -> {referenced_label}"));
            flagged.push(rejected);
        }
    }
    let outcomes = db.try_cases(&cases);
    assert_agrees(&labels, &flagged, &outcomes, 1);
    // The pairs the reference captures show (nb_fk_types_psql.txt), as a sanity floor.
    let rejected: usize = flagged.iter().filter(|f| **f).count();
    assert!(
        rejected > 100 && rejected < cases.len() - 50,
        "{rejected} of {}",
        cases.len()
    );
}

#[test]
fn altering_a_column_an_fk_uses_matches_postgresql() {
    let db = server().database("alter_referenced");
    let all = types();
    let by_label = |label: &str| {
        all.iter()
            .find(|(l, _)| *l == label)
            .map(|(_, t)| t.clone())
            .expect("label in table")
    };
    // One accepted pair per way of pairing: same type, same family, implicit cast.
    let pairs = [
        ("uuid", "uuid"),
        ("varchar36", "varchar36"),
        ("text", "varchar36"),
        ("varchar36", "char36"),
        ("char36", "text"),
        ("integer", "integer"),
        ("integer", "bigint"),
        ("smallint", "numeric"),
        ("bigint", "float"),
        ("numeric", "float"),
        ("date", "timestamptz"),
        ("timestamp", "timestamp"),
        ("time", "interval"),
        ("boolean", "boolean"),
        ("jsonb", "jsonb"),
        ("bytea", "bytea"),
    ];
    let mut cases = Vec::new();
    let mut labels = Vec::new();
    let mut flagged = Vec::new();
    for (referencing_label, referenced_label) in pairs {
        let (referencing, referenced) = (by_label(referencing_label), by_label(referenced_label));
        assert!(!pgtypes::fk_rejected(referencing.kind, referenced.kind));
        for (new_label, new_type) in &all {
            for (side, table, column, from) in [
                ("referenced", "p", "id", &referenced),
                ("referencing", "c", "x", &referencing),
            ] {
                if side == "referenced" && !can_be_key(new_type) {
                    continue;
                }
                let alter = alter_type(table, column, from.clone(), new_type.clone(), Some("NULL"));
                let case = one_revision(vec![parent(&referenced), child(&referencing), alter]);
                let findings = run_rules(vec![case.clone()]);
                assert!(
                    findings
                        .iter()
                        .all(|f| f.rule == "alter-referenced-column" && f.line == Some(3)),
                    "{findings:#?}"
                );
                cases.push(sql_of(&case));
                labels.push(format!(
                    "{referencing_label} -> {referenced_label}, {side} side becomes {new_label}"
                ));
                flagged.push(!findings.is_empty());
            }
        }
    }
    let outcomes = db.try_cases(&cases);
    assert_agrees(&labels, &flagged, &outcomes, 2);
    assert!(flagged.iter().any(|f| *f) && flagged.iter().any(|f| !*f));
}

/// (revision id, index of the operation in its `upgrade()`) for every finding.
fn flagged_ops(set: &MigrationSet, findings: &[Finding]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = findings
        .iter()
        .filter_map(|f| {
            let rev = set
                .revisions
                .iter()
                .find(|r| Some(&r.id) == f.revision.as_ref())?;
            let line = f.line?;
            let index = rev
                .upgrade
                .iter()
                .position(|op| op.line <= line && line <= op.end_line)?;
            Some((rev.id.clone(), index))
        })
        .collect();
    out.sort();
    out
}

/// Replays the set revision by revision, one transaction each, as `alembic upgrade head`
/// does; returns the first operation PostgreSQL rejects, with its error.
fn replay_on_postgres(set: &MigrationSet, label: &str) -> Option<((String, usize), PgError)> {
    let db = server().database(label);
    for rev in schema::upgrade_order(set) {
        let (statements, owners) = statements_of(rev.upgrade.iter().enumerate());
        if let Err((i, e)) = db.run_transaction(&statements) {
            let op = owners
                .get(i)
                .copied()
                .expect("failing statement belongs to an op");
            return Some(((rev.id.clone(), op), e));
        }
    }
    None
}

/// The SQL of `ops`, with the index of the operation each statement comes from.
fn statements_of<'a>(
    ops: impl Iterator<Item = (usize, &'a OperationAt)>,
) -> (Vec<String>, Vec<usize>) {
    let mut statements = Vec::new();
    let mut owners = Vec::new();
    for (i, op) in ops {
        for s in ddl::to_sql(&op.op).expect("fixture ops translate") {
            statements.push(s);
            owners.push(i);
        }
    }
    (statements, owners)
}

/// A folder of `tests/fixtures/migrations/` (copies of the reference fixtures), parsed.
fn parsed(folder: &str) -> MigrationSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrations")
        .join(folder);
    let (mut sets, findings) = load_dir(&dir).expect("fixture folder reads");
    assert_eq!(findings, Vec::new(), "{folder}");
    assert_eq!(sets.len(), 1, "{folder}");
    sets.remove(0)
}

/// The first four have hand-built twins in `testkit` (compared below).
const FIXTURES: [&str; 5] = [
    "seed-wrong-order",
    "seed-correct-order",
    "neighbours/n1_fk_int_varchar",
    "neighbours/n2_alter_referenced",
    "add-column-fk",
];

#[test]
fn reference_fixtures_fail_exactly_where_the_rules_say() {
    for folder in FIXTURES {
        let set = parsed(folder);
        let label = folder.replace(['/', '-'], "_");
        let label = label.as_str();
        let flagged = flagged_ops(&set, &run_rules(vec![set.clone()]));
        let rejected = replay_on_postgres(&set, label);
        match (&rejected, flagged.first()) {
            (None, None) => {}
            (Some((op, e)), Some(first)) => {
                assert_eq!(e.sqlstate, FK_REJECTED, "{label}: {e:?}");
                assert_eq!(
                    op, first,
                    "{label}: PostgreSQL rejects {op:?}, the rules flag {flagged:?}"
                );
                assert_eq!(flagged.len(), 1, "{label}: {flagged:?}");
            }
            _ => panic!("{label}: PostgreSQL: {rejected:?}; rules: {flagged:?}"),
        }
    }
}

#[test]
fn the_seed_fails_at_create_table_deals_and_the_proposed_order_applies() {
    let set = parsed("seed-wrong-order");
    let rejected = replay_on_postgres(&set, "seed_wrong");
    let ((rev, op), e) = rejected.expect("the wrong order fails");
    assert_eq!((rev.as_str(), op), ("36b3e62b4148", 2));
    assert!(e.message.contains("deals_owner_id_fkey"), "{e:?}");

    let findings = run_rules(vec![set.clone()]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].line, Some(39));
    let proposed: Vec<u64> = findings[0].data["proposed_order"]
        .as_array()
        .expect("a proposed order")
        .iter()
        .filter_map(|o| o["line"].as_u64())
        .collect();
    let mut reordered = set.clone();
    let seed = reordered
        .revisions
        .iter_mut()
        .find(|r| r.id == "36b3e62b4148")
        .expect("seed revision");
    let ops = std::mem::take(&mut seed.upgrade);
    seed.upgrade = proposed
        .iter()
        .filter_map(|line| ops.iter().find(|op| u64::from(op.line) == *line).cloned())
        .collect();
    assert_eq!(seed.upgrade.len(), ops.len());
    assert_eq!(run_rules(vec![reordered.clone()]), Vec::new());
    assert_eq!(replay_on_postgres(&reordered, "seed_reordered"), None);
}

#[test]
fn the_alter_referenced_fix_applies() {
    let set = parsed("neighbours/n2_alter_referenced");
    let findings = run_rules(vec![set.clone()]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let fix: Vec<String> = findings[0].data["fix"]
        .as_array()
        .expect("fix statements")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    let db = server().database("n2_fix");
    for rev in schema::upgrade_order(&set)
        .into_iter()
        .filter(|r| r.id != "cccc00000003")
    {
        let (statements, _) = statements_of(rev.upgrade.iter().enumerate());
        db.run_transaction(&statements)
            .expect("base revisions apply");
    }
    db.run_lines(
        &["INSERT INTO users (id, email) VALUES (gen_random_uuid(), 'a@x.io');".into()],
        true,
    );
    db.run_lines(
        &["INSERT INTO deals SELECT 'd1', id FROM users;".into()],
        true,
    );
    assert_eq!(db.run_transaction(&fix), Ok(()));
}

/// The hand-built fixtures the unit tests use say what the parser reads from the real files.
#[test]
fn hand_built_fixtures_match_the_parsed_files() {
    let hand_built = [
        testkit::wrong_order(),
        testkit::correct_order(),
        testkit::n1_fk_int_varchar(),
        testkit::n2_alter_referenced(),
    ];
    for (folder, hand) in FIXTURES.iter().zip(hand_built) {
        let parsed = parsed(folder);
        let shape = |set: &MigrationSet| {
            let mut revisions: Vec<_> = set
                .revisions
                .iter()
                .map(|r| {
                    let ops: Vec<_> = r
                        .upgrade
                        .iter()
                        .map(|op| (op.line, op.end_line, op.op.summary(), fk_lines(&op.op)))
                        .collect();
                    (r.id.clone(), r.parents.clone(), ops)
                })
                .collect();
            revisions.sort();
            revisions
        };
        assert_eq!(shape(&parsed), shape(&hand), "{folder}");
        let conflicts = |set: &MigrationSet| {
            schema::simulate(set)
                .iter()
                .map(|run| run.conflicts.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(conflicts(&parsed), conflicts(&hand), "{folder}");
    }
}

fn fk_lines(op: &Operation) -> Vec<(u32, String)> {
    match op {
        Operation::CreateTable {
            columns,
            foreign_keys,
            ..
        } => foreign_keys
            .iter()
            .map(|fk| (fk.line, fk.ref_table.clone()))
            .chain(columns.iter().map(|c| (c.line, c.sql_type.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn an_inline_foreign_key_in_add_column_is_judged_like_any_other() {
    let set = parsed("add-column-fk");
    let rev = set
        .revisions
        .iter()
        .find(|r| r.id == "bbbb00000002")
        .expect("revision");
    let fks: Vec<_> = rev
        .upgrade
        .iter()
        .flat_map(|op| match &op.op {
            Operation::AddColumn { foreign_keys, .. } => foreign_keys.clone(),
            _ => Vec::new(),
        })
        .map(|fk| (fk.line, fk.columns, fk.ref_table, fk.name))
        .collect();
    assert_eq!(
        fks,
        vec![
            (18, vec!["stage_id".to_string()], "stages".to_string(), None),
            (
                25,
                vec!["owner_id".to_string()],
                "users".to_string(),
                Some("deals_owner_id_fkey".to_string())
            ),
        ]
    );
    // PostgreSQL takes the integer one and refuses the varchar -> uuid one, where the rule says.
    let ((rev, op), e) = replay_on_postgres(&set, "add_column_fk").expect("rejected");
    assert_eq!(
        (rev.as_str(), op, e.sqlstate.as_str()),
        ("bbbb00000002", 1, FK_REJECTED)
    );
    let findings = run_rules(vec![set]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].line, Some(25));
}
