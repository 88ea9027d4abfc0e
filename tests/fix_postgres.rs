//! The computed fix of the seed migration, replayed on a real PostgreSQL the way `alembic`
//! runs it (each revision's SQL in one transaction, as `tests/postgres_claims.rs` does): the
//! patched file upgrades, downgrades and upgrades again; the file as it was fails at
//! `CREATE TABLE deals` with SQLSTATE 42804, as in the reference capture
//! `alembic-postgres/captures/wrong_pg_fresh.txt`; and the old `downgrade()` would fail after
//! the patched `upgrade()`, which is why the patch reverses it too.
//!
//! Needs PostgreSQL (see `support::postgres`); `.ci/run` provides it.

mod support;

use std::path::Path;

use postmortem::analyze::patch;
use postmortem::check::{self, Category, CheckContext};
use postmortem::evidence::{Evidence, Service};
use postmortem::migrations::alembic::parse_revision;
use postmortem::migrations::alembic::statements::function_statements;
use postmortem::migrations::ddl;
use postmortem::migrations::model::{MigrationSet, OperationAt};
use postmortem::pipeline::load_dir;

use support::postgres::{server, Database};

const SEED: &str = "36b3e62b4148";

fn seed_folder() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrations/seed-wrong-order")
}

fn seed_evidence() -> Evidence {
    evidence_of(&seed_folder())
}

fn evidence_of(folder: &Path) -> Evidence {
    let (sets, failures) = load_dir(folder).expect("fixture folder reads");
    assert_eq!(failures, Vec::new());
    let mut evidence = Evidence::new(Service::default());
    evidence.migration_sets = sets;
    let ctx = CheckContext::new(&evidence, None);
    let findings: Vec<_> = check::rules_of(Category::Schema)
        .flat_map(|r| r.check(&ctx))
        .collect();
    evidence.findings = findings;
    evidence
}

fn sql(ops: &[OperationAt]) -> Vec<String> {
    ops.iter()
        .flat_map(|op| ddl::to_sql(&op.op).expect("seed ops translate"))
        .collect()
}

fn downgrade_ops(text: &str) -> Vec<OperationAt> {
    let (_, statements) = function_statements(text, "downgrade")
        .expect("parses")
        .expect("has downgrade()");
    statements.into_iter().flat_map(|s| s.ops).collect()
}

/// A database at the seed's parent revision, with rows in `users`, as production had.
fn at_parent(set: &MigrationSet, label: &str) -> Database {
    let db = server().database(label);
    let base = set
        .revisions
        .iter()
        .find(|r| r.id == "a1b2c3d4e5f6")
        .expect("parent revision");
    db.run_transaction(&sql(&base.upgrade))
        .expect("base upgrade");
    db.run_transaction(&[
        "INSERT INTO users (id, email, organization_id, is_active, role) VALUES ('c4f6a651-a5d0-4250-81be-e77f1744a7f7', 'a@x.io', 'ce43a63c-b84f-470d-8345-0134c2c77a9c', true, 'member')".to_string(),
        "INSERT INTO users (id, email, is_active, role) VALUES ('646829c3-924c-4d5f-8376-f2ddab449a41', 'b@x.io', true, 'member')".to_string(),
    ])
    .expect("rows");
    db
}

#[test]
fn the_patched_seed_migration_upgrades_downgrades_and_upgrades_on_postgres() {
    let evidence = seed_evidence();
    let set = &evidence.migration_sets[0];
    let revision = set.revisions.iter().find(|r| r.id == SEED).unwrap();
    let text = std::fs::read_to_string(
        seed_folder()
            .join("versions")
            .join(Path::new(&revision.file).file_name().expect("a file name")),
    )
    .unwrap();
    let fix = patch::build(&evidence, SEED, &text).expect("a patch");
    assert!(fix.passes, "{}", fix.verdict);
    let patched = fix.patched.expect("patched text");
    let fixed = parse_revision(&revision.file, patched.as_bytes()).expect("parses");

    let db = at_parent(set, "fix_seed_patched");
    let up = sql(&fixed.upgrade);
    let down = sql(&downgrade_ops(&patched));
    assert_eq!(db.run_transaction(&up), Ok(()), "upgrade");
    assert_eq!(db.run_transaction(&down), Ok(()), "downgrade");
    assert_eq!(db.run_transaction(&up), Ok(()), "upgrade again");

    // The file as it was: PostgreSQL refuses the foreign key of `deals`, as Alembic showed.
    let db = at_parent(set, "fix_seed_unpatched");
    let (index, error) = db
        .run_transaction(&sql(&revision.upgrade))
        .expect_err("the wrong order fails");
    assert_eq!(error.sqlstate, "42804", "{error:?}");
    assert!(error.message.contains("deals_owner_id_fkey"), "{error:?}");
    assert!(sql(&revision.upgrade)[index].starts_with("CREATE TABLE deals"));

    // The old downgrade after the new upgrade: users.id goes back to uuid while deals.owner_id
    // (varchar) still references it.
    let db = at_parent(set, "fix_seed_old_downgrade");
    assert_eq!(db.run_transaction(&up), Ok(()));
    let (_, error) = db
        .run_transaction(&sql(&downgrade_ops(&text)))
        .expect_err("the old downgrade fails after the new upgrade");
    assert_eq!(error.sqlstate, "42804", "{error:?}");
}

/// `fix-drop-too-late/`: the key from an earlier revision is dropped after the type change it
/// guards; the patch drops it first. With a row on each side of the key, the casts run too.
#[test]
fn the_patched_drop_too_late_revision_round_trips_on_postgres() {
    let folder =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrations/fix-drop-too-late");
    let evidence = evidence_of(&folder);
    let set = &evidence.migration_sets[0];
    let revision = set
        .revisions
        .iter()
        .find(|r| r.id == "cccc00000003")
        .unwrap();
    let text = std::fs::read_to_string(folder.join("cccc00000003_case.py")).unwrap();
    let fix = patch::build(&evidence, "cccc00000003", &text).expect("a patch");
    assert!(fix.passes, "{}", fix.verdict);
    let patched = fix.patched.expect("patched text");
    let fixed = parse_revision(&revision.file, patched.as_bytes()).expect("parses");

    let at_parent = |label: &str| {
        let db = server().database(label);
        for r in set.revisions.iter().filter(|r| r.id != "cccc00000003") {
            db.run_transaction(&sql(&r.upgrade))
                .expect("earlier revisions");
        }
        db.run_transaction(&[
            "INSERT INTO users (id, email, is_active, role) VALUES ('c4f6a651-a5d0-4250-81be-e77f1744a7f7', 'a@x.io', true, 'member')".to_string(),
            "INSERT INTO deals (id, owner_id) VALUES ('d1', 'c4f6a651-a5d0-4250-81be-e77f1744a7f7')".to_string(),
        ])
        .expect("rows");
        db
    };
    let db = at_parent("fix_drop_patched");
    let up = sql(&fixed.upgrade);
    let down = sql(&downgrade_ops(&patched));
    assert_eq!(db.run_transaction(&up), Ok(()), "upgrade");
    assert_eq!(db.run_transaction(&down), Ok(()), "downgrade");
    assert_eq!(db.run_transaction(&up), Ok(()), "upgrade again");

    let db = at_parent("fix_drop_unpatched");
    let (_, error) = db
        .run_transaction(&sql(&revision.upgrade))
        .expect_err("the type change under the key fails");
    assert_eq!(error.sqlstate, "42804", "{error:?}");
}
