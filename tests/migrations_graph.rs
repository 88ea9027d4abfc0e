//! Discovery, loading and the revision graph over fixture folders, and what
//! `postmortem migrations` prints for them.

use std::path::Path;

use postmortem::migrations::{self, graph, output};
use postmortem::source::WorkDir;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migrations");

fn load_dir(
    rel: &str,
) -> (
    Vec<migrations::model::MigrationSet>,
    Vec<postmortem::check::Finding>,
) {
    postmortem::pipeline::load_dir(&Path::new(FIXTURES).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn discovery_finds_ini_locations_and_conventional_folders_separately() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let rev = "revision = 'a'\ndown_revision = None\n";
    write(
        root,
        "backend/alembic.ini",
        "[alembic]\nscript_location = %(here)s/db\n",
    );
    write(root, "backend/db/versions/a.py", rev);
    write(root, "backend/db/versions/__init__.py", "");
    write(root, "services/billing/alembic/versions/a.py", rev);
    write(root, "plugins/x/migrations/versions/a.py", rev);
    write(root, "tools/versions/not_migrations.py", rev);
    write(root, "empty/alembic/versions/README", "");
    write(root, ".venv/lib/alembic/versions/a.py", rev);
    let source = WorkDir::new(root);
    let found = migrations::discover(&source).expect("discover");
    let folders: Vec<&str> = found.graphs.iter().map(|g| g.path()).collect();
    assert_eq!(
        folders,
        vec![
            "backend/db/versions",
            "plugins/x/migrations/versions",
            "services/billing/alembic/versions"
        ]
    );
    let (sets, findings) = migrations::load(&source, &found.graphs);
    assert!(findings.is_empty());
    assert_eq!(sets.len(), 3);
    assert!(sets
        .iter()
        .all(|s| s.revisions.len() == 1 && s.heads == vec!["a"]));
    assert_eq!(sets[0].revisions[0].file, "backend/db/versions/a.py");
}

#[test]
fn seed_graph_is_a_line() {
    let (sets, findings) = load_dir("seed-wrong-order");
    assert!(findings.is_empty(), "{findings:?}");
    let set = &sets[0];
    assert_eq!(set.path, "versions");
    assert_eq!(set.heads, vec!["36b3e62b4148"]);
    assert_eq!(set.bases, vec!["a1b2c3d4e5f6"]);
    let order: Vec<&str> = graph::topological_order(set)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(order, vec!["a1b2c3d4e5f6", "36b3e62b4148"]);
}

#[test]
fn two_heads_and_missing_down_revision_from_the_reference_runs() {
    let (sets, findings) = load_dir("neighbours/n6_two_heads");
    assert_eq!(sets[0].heads, vec!["bbbb00000002", "cccc00000002"]);
    assert_eq!(sets[0].branchpoints, vec!["aaaa00000001"]);
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, vec!["multiple-heads"]);

    let (sets, findings) = load_dir("neighbours/n7_missing_down_revision");
    assert_eq!(sets[0].revisions.len(), 3);
    let missing: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "missing-parent")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].revision.as_deref(), Some("cccc00000003"));
    assert!(missing[0].message.contains("`deadbeef0000`"));
}

#[test]
fn merge_heavy_graph() {
    let (sets, findings) = load_dir("merge-heavy");
    assert!(findings.is_empty(), "{findings:?}");
    let set = &sets[0];
    assert_eq!(set.path, "app/migrations/versions");
    assert_eq!(set.heads, vec!["8000cdcd0008"]);
    assert_eq!(set.branchpoints, vec!["1000aaaa0001", "4000dddd0004"]);
    assert_eq!(set.mergepoints, vec!["4000dddd0004", "7000abab0007"]);
    let order: Vec<&str> = graph::topological_order(set)
        .iter()
        .map(|r| &r.id[..4])
        .collect();
    assert_eq!(
        order,
        vec!["1000", "2000", "3000", "4000", "5000", "6000", "7000", "8000"]
    );
}

#[test]
fn broken_files_become_findings_and_the_rest_is_analysed() {
    let (sets, findings) = load_dir("broken/versions");
    assert_eq!(sets[0].revisions.len(), 6, "every parseable file is kept");
    let found: Vec<(&str, Option<&str>, Option<u32>)> = findings
        .iter()
        .map(|f| (f.rule.as_str(), f.file.as_deref(), f.line))
        .collect();
    assert_eq!(
        found,
        vec![
            ("duplicate-revision", Some("dup_two.py"), Some(2)),
            ("missing-parent", Some("def456_add_teams.py"), Some(2)),
            ("multiple-heads", Some("dup_two.py"), Some(2)),
            ("revision-cycle", Some("cycle_one.py"), Some(2)),
            ("unparseable-migration", Some("latin1_bytes.py"), Some(1)),
            ("unparseable-migration", Some("syntax_error.py"), Some(7)),
        ]
    );
    let file_name = findings
        .iter()
        .find(|f| f.rule == "missing-parent")
        .expect("missing-parent");
    assert!(file_name
        .message
        .contains("file name, not a revision ID (the file declares `abc123`)"));
}

#[test]
fn text_output_seed() {
    let (sets, findings) = load_dir("seed-wrong-order");
    insta::assert_snapshot!("seed_text", output::text(&sets, &findings));
}

#[test]
fn text_output_merge_heavy() {
    let (sets, findings) = load_dir("merge-heavy");
    insta::assert_snapshot!("merge_heavy_text", output::text(&sets, &findings));
}

#[test]
fn text_output_broken() {
    let (sets, findings) = load_dir("broken/versions");
    insta::assert_snapshot!("broken_text", output::text(&sets, &findings));
}

#[test]
fn json_output_follows_the_contract() {
    let (sets, findings) = load_dir("neighbours/n6_two_heads");
    let value = serde_json::to_value(output::json(&sets, &findings)).unwrap();
    let set = &value["migration_sets"][0];
    assert_eq!(set["framework"], "alembic");
    assert_eq!(
        set["heads"],
        serde_json::json!(["bbbb00000002", "cccc00000002"])
    );
    let rev = &set["revisions"][1];
    let keys: Vec<&str> = rev
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec![
            "branch_labels",
            "depends_on",
            "file",
            "id",
            "line",
            "message",
            "parents"
        ]
    );
    assert_eq!(rev["parents"], serde_json::json!(["aaaa00000001"]));
    assert_eq!(value["findings"][0]["rule"], "multiple-heads");
    // Same input, same bytes.
    let again = load_dir("neighbours/n6_two_heads").0;
    let again = serde_json::to_value(output::json(&again, &findings)).unwrap();
    assert_eq!(value.to_string(), again.to_string());
}
