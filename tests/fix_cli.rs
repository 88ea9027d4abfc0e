//! `postmortem fix`: the seed migration's computed fix as a diff, `--write` on a copy of the
//! seed's repository, the refusal to write over a file that changed since the evidence was
//! collected, and a finding that no reorder fixes (alternatives, no diff).

#[path = "support/seed.rs"]
mod seed;

use std::path::Path;
use std::process::Output;

const MIGRATION: &str =
    "backend/alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py";

fn postmortem(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(args)
        .current_dir(dir)
        .env_remove("RENDER_SERVICE_ID")
        .env_remove("RENDER_API_KEY")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn seed_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    seed::build(dir.path());
    dir
}

#[test]
fn the_seed_migration_gets_a_diff_that_passes_the_schema_rules() {
    let repo = seed_repo();
    let out = postmortem(repo.path(), &["fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("re-simulated: passes every schema rule"),
        "{}",
        stderr(&out)
    );
    insta::assert_snapshot!("seed_fix_diff", stdout(&out));
    // Naming the revision gives the same diff.
    let named = postmortem(repo.path(), &["fix", "36b3e62b4148"]);
    assert_eq!(stdout(&named), stdout(&out));
}

#[test]
fn write_applies_the_fix_and_the_gate_then_passes_the_schema_rules() {
    let repo = seed_repo();
    let before = std::fs::read_to_string(repo.path().join(MIGRATION)).unwrap();
    let out = postmortem(repo.path(), &["fix", "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let after = std::fs::read_to_string(repo.path().join(MIGRATION)).unwrap();
    assert_ne!(before, after);
    // Only lines moved: the same lines, another order.
    let mut a: Vec<&str> = before.lines().collect();
    let mut b: Vec<&str> = after.lines().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    let check = postmortem(repo.path(), &["check", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"fk-type-mismatch"), "{rules:?}");
    assert!(!rules.contains(&"alter-referenced-column"), "{rules:?}");

    // The printed diff is a patch git applies, to the same file `--write` writes.
    let other = seed_repo();
    let diff = postmortem(other.path(), &["fix"]).stdout;
    let git = git2::Repository::open(other.path()).unwrap();
    git.apply(
        &git2::Diff::from_buffer(&diff).unwrap(),
        git2::ApplyLocation::WorkDir,
        None,
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(other.path().join(MIGRATION)).unwrap(),
        after
    );

    let again = postmortem(repo.path(), &["fix"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stdout(&again), "");
    assert!(
        stderr(&again).contains("nothing to fix"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn write_refuses_a_file_changed_since_the_evidence_was_collected() {
    let repo = seed_repo();
    let evidence = repo.path().join("evidence.json");
    let collected = postmortem(repo.path(), &["collect", "-o", &evidence.to_string_lossy()]);
    // No Render service: the evidence is partial (exit 3), its repository side complete.
    assert_eq!(collected.status.code(), Some(3), "{}", stderr(&collected));

    let file = repo.path().join(MIGRATION);
    let edited = std::fs::read_to_string(&file).unwrap() + "# edited after the evidence\n";
    std::fs::write(&file, &edited).unwrap();
    let out = postmortem(
        repo.path(),
        &["fix", "--evidence", &evidence.to_string_lossy(), "--write"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("changed since the evidence was collected"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    // Printing only: the fix of the text the evidence recorded, said to be stale.
    let printed = postmortem(
        repo.path(),
        &["fix", "--evidence", &evidence.to_string_lossy()],
    );
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    assert!(
        stderr(&printed).contains(
            "changed since the evidence was collected: the diff below is against the text then"
        ),
        "{}",
        stderr(&printed)
    );
    let from_repo = postmortem(seed_repo().path(), &["fix"]);
    assert_eq!(stdout(&printed), stdout(&from_repo));

    // Unchanged, the same evidence's fix is written.
    let original = edited.trim_end_matches("# edited after the evidence\n");
    std::fs::write(&file, original).unwrap();
    let out = postmortem(
        repo.path(),
        &["fix", "--evidence", &evidence.to_string_lossy(), "--write"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(std::fs::read_to_string(&file).unwrap(), original);
}

/// A repository holding `files` (path, text) under `alembic/versions/`, with an alembic.ini.
fn alembic_repo(files: Vec<(String, String)>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    let mut files: Vec<(String, String)> = files
        .into_iter()
        .map(|(name, text)| (format!("alembic/versions/{name}"), text))
        .collect();
    files.sort();
    files.push((
        "alembic.ini".into(),
        "[alembic]\nscript_location = alembic\n".into(),
    ));
    seed::commit_files(&repo, &files, chrono::DateTime::UNIX_EPOCH, "migrations");
    dir
}

fn neighbour(name: &str) -> Vec<(String, String)> {
    fixture_folder(&format!("neighbours/{name}"))
}

fn fixture_folder(name: &str) -> Vec<(String, String)> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrations")
        .join(name);
    std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect()
}

/// The n2 neighbour: the foreign key comes from an earlier revision, so no order of the
/// failing revision's statements helps.
#[test]
fn a_finding_no_reorder_fixes_gets_alternatives_and_no_diff() {
    let dir = alembic_repo(neighbour("n2_alter_referenced"));
    let out = postmortem(dir.path(), &["fix"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("+++"), "{text}");
    insta::assert_snapshot!("n2_fix_alternatives", text);

    // The report says the same offline, from the evidence: no diff, the alternatives.
    let evidence = dir.path().join("evidence.json");
    let collected = postmortem(dir.path(), &["collect", "-o", &evidence.to_string_lossy()]);
    assert_eq!(collected.status.code(), Some(3), "{}", stderr(&collected));
    let report = postmortem(dir.path(), &["render", &evidence.to_string_lossy()]);
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let report = stdout(&report);
    let section = report
        .split("## Recommended Fix")
        .nth(1)
        .and_then(|s| s.split("\n---").next())
        .unwrap_or_default();
    assert!(!section.contains("```diff"), "{section}");
    insta::assert_snapshot!("n2_report_recommended_fix", section);
}

/// The n2 neighbour (`fix-drop-too-late/`), with a revision that does drop and re-create the
/// key, but drops it after the type change: moving the drop first fixes it (the order is searched, then re-checked),
/// and `downgrade()` follows.
#[test]
fn a_constraint_dropped_too_late_moves_before_the_type_change() {
    let files = fixture_folder("fix-drop-too-late");
    let dir = alembic_repo(files);
    let check = postmortem(dir.path(), &["check", "--format", "json"]);
    assert!(
        stdout(&check).contains("alter-referenced-column"),
        "{}",
        stdout(&check)
    );
    let out = postmortem(dir.path(), &["fix", "cccc00000003"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("drop_constraint_moved_diff", stdout(&out));

    // The report shows the same diff, from the evidence alone.
    let evidence = dir.path().join("evidence.json");
    postmortem(dir.path(), &["collect", "-o", &evidence.to_string_lossy()]);
    let report = stdout(&postmortem(
        dir.path(),
        &["render", &evidence.to_string_lossy()],
    ));
    assert!(
        report.contains("(revision `cccc00000003`) so that no column changes type while a foreign key uses it; re-simulated: passes every schema rule"),
        "{report}"
    );
    assert!(
        report.contains(&format!("```diff\n{}", stdout(&out))),
        "{report}"
    );
}

#[test]
fn several_flagged_revisions_and_none_named_is_an_error_listing_them() {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    let mut files = Vec::new();
    for (app, case) in [("one", "n1_fk_int_varchar"), ("two", "n2_alter_referenced")] {
        for (name, text) in neighbour(case) {
            files.push((format!("{app}/alembic/versions/{name}"), text));
        }
    }
    files.sort();
    seed::commit_files(&repo, &files, chrono::DateTime::UNIX_EPOCH, "two apps");
    let out = postmortem(dir.path(), &["fix"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "postmortem: error: several revisions have schema findings; name one: \
         bbbb00000002 (one/alembic/versions/bbbb00000002_case.py), \
         cccc00000003 (two/alembic/versions/cccc00000003_case.py)\n"
    );
    assert_eq!(stdout(&out), "");

    // n1: an integer column references a varchar key, and nothing in the revision changes
    // either type. Putting `tags` after `deal_tags` would hide the mismatch from the simulation
    // (the referenced table is not there yet) and is not offered.
    let n1 = postmortem(dir.path(), &["fix", "bbbb00000002"]);
    assert_eq!(n1.status.code(), Some(1), "{}", stderr(&n1));
    let text = stdout(&n1);
    assert!(text.starts_with("one/alembic/versions/bbbb00000002_case.py: revision bbbb00000002 (fk-type-mismatch): no order of `upgrade()` fixes it: a foreign key pairs deal_tags.tag_code (integer) with tags.code (character varying) (line 17), and no statement of the revision changes either column to a type that pairs"), "{text}");
    assert!(
        text.contains("Declare the foreign key's columns with types that pair"),
        "{text}"
    );
}

/// The report offers the patch only for the revision its top cause names: an outage whose top
/// cause is another revision (or no revision: an OOM, a build) keeps its own fix, even when a
/// schema rule flags this one. With no cause at all, the only flagged revision is patched.
#[test]
fn the_reports_patch_follows_the_top_cause_only() {
    let repo = seed_repo();
    let evidence = repo.path().join("evidence.json");
    postmortem(repo.path(), &["collect", "-o", &evidence.to_string_lossy()]);
    let text = std::fs::read_to_string(&evidence).unwrap();
    let evidence: postmortem::evidence::Evidence = serde_json::from_str(&text).unwrap();
    use postmortem::analyze::patch::for_report;
    let patched = |blamed| for_report(&evidence, blamed).map(|p| p.revision);
    assert_eq!(
        patched(Some("36b3e62b4148")).as_deref(),
        Some("36b3e62b4148")
    );
    assert_eq!(patched(None).as_deref(), Some("36b3e62b4148"));
    assert_eq!(
        patched(Some("a1b2c3d4e5f6")),
        None,
        "not the flagged revision's patch"
    );
}
