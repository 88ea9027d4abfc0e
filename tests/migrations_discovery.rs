//! Discovery on fixture repositories shaped like real layouts (tests/fixtures/discovery, built
//! with the real Alembic and Flask-Migrate by bench/make_discovery_fixtures.sh): the graphs,
//! their revisions and heads, and the findings, as `postmortem migrations` and `check` give
//! them. Revisions and heads are those Alembic's own RevisionMap gives for the same folders
//! (`python bench/compare_graph.py --repo tests/fixtures/discovery/NAME`, see
//! docs/discovery-bench.md).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/discovery");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn postmortem(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(args)
        .current_dir(dir)
        .env_remove("RENDER_SERVICE_ID")
        .output()
        .unwrap()
}

fn migrations_json(name: &str) -> Value {
    let dir = fixture(name);
    let out = postmortem(
        &dir,
        &[
            "migrations",
            "--repo",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(path, revision count, heads)` per graph.
fn graphs(doc: &Value) -> Vec<(String, usize, Vec<String>)> {
    doc["migration_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["revisions"].as_array().unwrap().len(),
                s["heads"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// `(rule, severity)` per finding.
fn findings(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn nested_expand_contract_folders_are_one_graph_with_labelled_heads() {
    // neutron's layout: release/{expand,contract} subfolders that cli.py adds to
    // version_locations at run time, and branch_labels naming cli's constants.
    let doc = migrations_json("nested");
    let v = "proj/db/migration/alembic_migrations/versions";
    assert_eq!(
        graphs(&doc),
        vec![(
            v.to_string(),
            7,
            vec!["5c85685d616d".to_string(), "a1b2c3d4e5f6".to_string()]
        )]
    );
    let set = &doc["migration_sets"][0];
    assert_eq!(set["origin"]["kind"], "config");
    assert_eq!(set["origin"]["recursive"], true);
    assert_eq!(
        strings(&set["origin"]["sources"]),
        ["proj/db/migration/alembic.ini:8 script_location"]
    );
    assert!(strings(&set["origin"]["notes"])[0]
        .starts_with("proj/db/migration/cli.py:23 sets version_locations at run time"));
    // The constants were read from proj/db/migration/cli.py, not left unknown.
    let labels: Vec<(String, Vec<String>)> = set["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["branch_labels"].as_array().unwrap().is_empty())
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                strings(&r["branch_labels"]),
            )
        })
        .collect();
    assert_eq!(
        labels,
        vec![
            ("30018084ec99".to_string(), vec!["contract".to_string()]),
            ("354db87e3225".to_string(), vec!["expand".to_string()]),
        ]
    );
    // render.yaml -> tools/migrate.sh runs `upgrade heads`: branches by design.
    assert_eq!(findings(&doc), [("multiple-heads".into(), "info".into())]);
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "(tools/migrate.sh:4, via render.yaml:6 preDeployCommand -> tools/migrate.sh)"
        ),
        "{message}"
    );
}

#[test]
fn nested_text_output_says_where_the_folders_came_from() {
    let dir = fixture("nested");
    let out = postmortem(&dir, &["migrations", "--repo", dir.to_str().unwrap()]);
    insta::assert_snapshot!("nested_text", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn flask_migrate_layout_and_a_deploy_that_runs_upgrade_head() {
    let doc = migrations_json("flask");
    assert_eq!(
        graphs(&doc),
        vec![(
            "migrations/versions".to_string(),
            3,
            vec!["2b3c4d5e6f70".to_string(), "3c4d5e6f7081".to_string()]
        )]
    );
    assert!(strings(&doc["migration_sets"][0]["origin"]["sources"])[0]
        .starts_with("migrations/alembic.ini (no script_location"));
    assert_eq!(findings(&doc), [("multiple-heads".into(), "error".into())]);
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`flask --app app db upgrade && gunicorn app:app` (Dockerfile:6 CMD)"),
        "{message}"
    );
}

#[test]
fn package_resource_script_location_with_one_graph_per_dialect() {
    let doc = migrations_json("dialects");
    let v = "src/app/server/database/_migrations/versions";
    assert_eq!(
        graphs(&doc),
        vec![
            (
                format!("{v}/postgresql"),
                2,
                vec!["postgresql_0002".to_string()]
            ),
            (format!("{v}/sqlite"), 2, vec!["sqlite_0002".to_string()]),
        ]
    );
    let notes = strings(&doc["migration_sets"][0]["origin"]["notes"]);
    assert!(
        notes[0].starts_with(
            "src/app/server/database/_migrations/env.py:58 sets version_locations at run time"
        ),
        "{notes:?}"
    );
    assert!(findings(&doc).is_empty());
}

#[test]
fn migrate_directory_and_plugin_folders_are_separate_graphs() {
    let doc = migrations_json("plugins");
    assert_eq!(
        graphs(&doc),
        vec![
            (
                "app/plugins/audit/migrations/versions".to_string(),
                1,
                vec!["a1110000cccc".to_string()]
            ),
            (
                "app/plugins/billing/migrations".to_string(),
                2,
                vec!["b2220000bbbb".to_string()]
            ),
            (
                "db/migrations/versions".to_string(),
                3,
                vec!["2b3c4d5e6f70".to_string(), "3c4d5e6f7081".to_string()]
            ),
        ]
    );
    let kinds: Vec<&str> = doc["migration_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["origin"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["heuristic", "heuristic", "config"]);
    assert_eq!(
        strings(&doc["migration_sets"][2]["origin"]["sources"]),
        ["app/__init__.py:7 Migrate(directory=)"]
    );
    // No deploy command, unlabelled heads: an error as before.
    assert_eq!(findings(&doc), [("multiple-heads".into(), "error".into())]);
}

#[test]
fn pyproject_version_locations_are_one_recursive_graph_upgraded_by_label() {
    let doc = migrations_json("pyproject");
    assert_eq!(
        graphs(&doc),
        vec![(
            "db/versions".to_string(),
            8,
            vec!["5c85685d616d".to_string(), "a0d1700000aa".to_string()]
        )]
    );
    let origin = &doc["migration_sets"][0]["origin"];
    assert_eq!(
        strings(&origin["folders"]),
        ["db/versions", "plugins/audit/versions"]
    );
    assert_eq!(origin["recursive"], true);
    // Procfile release -> make migrate -> expand@head and contract@head.
    assert_eq!(findings(&doc), [("multiple-heads".into(), "info".into())]);
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("via Procfile:1 Procfile release -> Makefile (migrate)"),
        "{message}"
    );
}

#[test]
fn several_folders_named_as_one_graph_on_the_command_line() {
    let dir = fixture("pyproject");
    let run = |args: &[&str]| {
        let mut all = vec![
            "migrations",
            "--repo",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ];
        all.extend(args);
        let out = postmortem(&dir, &all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    // Each argument is a graph: the plugin alone misses its parent.
    let apart = run(&["db/versions/**", "plugins/audit/versions"]);
    assert_eq!(graphs(&apart).len(), 2);
    assert!(findings(&apart).contains(&("missing-parent".into(), "error".into())));
    // `a,b` is one graph: the same as discovery reads.
    let together = run(&["db/versions/**,plugins/audit/versions"]);
    assert_eq!(graphs(&together), graphs(&migrations_json("pyproject")));
    assert_eq!(together["migration_sets"][0]["origin"]["kind"], "flag");
}

/// A git repository holding a copy of the fixture, for `check`.
fn git_copy(name: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(name) = name {
        copy_dir(&fixture(name), dir.path());
    }
    std::fs::write(dir.path().join("README.md"), "fixture\n").unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig =
        git2::Signature::new("t", "t@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "fixture", &tree, &[])
        .unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn check_warns_when_alembic_is_used_but_no_graph_is_found() {
    let repo = git_copy(Some("no-graph"));
    let out = postmortem(repo.path(), &["check", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&doc),
        [("no-migrations-found".into(), "warning".into())]
    );
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("alembic.ini:3 script_location = billing_core:db:migrations: package resource billing_core/db/migrations not found in the repository"),
        "{message}"
    );
    assert!(stderr.contains("no migration was checked"), "{stderr}");
    let gate = postmortem(repo.path(), &["check", "--fail-on", "warning"]);
    assert_eq!(gate.status.code(), Some(1));
}

#[test]
fn check_says_on_stderr_when_there_is_nothing_to_check() {
    let repo = git_copy(None);
    let out = postmortem(repo.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "No findings.\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "postmortem: no Alembic migrations found (no alembic.ini, env.py with context.configure, or alembic in the requirements): no migrations were checked\n"
    );
}

#[test]
fn check_judges_heads_against_the_deploy_in_a_git_repository() {
    let nested = git_copy(Some("nested"));
    let out = postmortem(nested.path(), &["check", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&doc), [("multiple-heads".into(), "info".into())]);
    let flask = git_copy(Some("flask"));
    let out = postmortem(flask.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_takes_one_graph_of_several_folders_from_the_flag() {
    let repo = git_copy(Some("pyproject"));
    let run = |value: &str| {
        let out = postmortem(
            repo.path(),
            &["check", "--format", "json", "--migrations", value],
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        findings(&doc)
    };
    // The plugin folder alone: its parent is in the other folder.
    assert_eq!(
        run("plugins/audit/versions"),
        [("missing-parent".into(), "error".into())]
    );
    // Both as one graph, the application's read with its subfolders: as Alembic reads them.
    assert_eq!(
        run("db/versions/**,plugins/audit/versions"),
        [("multiple-heads".into(), "info".into())]
    );
}
