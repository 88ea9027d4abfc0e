//! `postmortem check` as CI runs it, on the seed's repository (no Render): exit codes, every
//! output format, disabling rules and inline ignores.

#[path = "support/seed.rs"]
mod seed;

use std::path::Path;
use std::process::Output;

const MIGRATION: &str =
    "backend/alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py";

fn check(repo: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .arg("check")
        .args(args)
        .current_dir(repo)
        .env_remove("RENDER_SERVICE_ID")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn seed_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    seed::build(dir.path());
    dir
}

fn rules(o: &Output) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_seed_fails_the_gate_with_every_format() {
    let repo = seed_repo();
    let text = check(repo.path(), &[]);
    assert_eq!(
        text.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    insta::assert_snapshot!("seed_check_text", stdout(&text));

    let json = check(repo.path(), &["--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let rules = rules(&json);
    assert_eq!(
        rules,
        [
            "fk-type-mismatch",
            "phantom-migration",
            "phantom-migration",
            "sqlite-tests-postgres-prod"
        ],
    );

    let github = stdout(&check(repo.path(), &["--format", "github"]));
    assert!(
        github.lines().any(|l| l.starts_with(&format!(
            "::error file={MIGRATION},line=39,title=fk-type-mismatch::"
        ))),
        "{github}"
    );
    assert_eq!(github.lines().count(), 4, "{github}");

    let sarif: serde_json::Value =
        serde_json::from_slice(&check(repo.path(), &["--format", "sarif"]).stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        MIGRATION
    );
}

#[test]
fn fail_on_sets_the_threshold() {
    let repo = seed_repo();
    // Only the warning is left once the errors' rules are off.
    let args = [
        "--disable",
        "fk-type-mismatch",
        "--disable",
        "phantom-migration",
    ];
    let o = check(repo.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("sqlite-tests-postgres-prod"));
    let o = check(
        repo.path(),
        &[&args[..], &["--fail-on", "warning"]].concat(),
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn an_inline_ignore_silences_its_rule_and_a_stale_one_is_reported() {
    let repo = seed_repo();
    let path = repo.path().join(MIGRATION);
    let source = std::fs::read_to_string(&path).unwrap();
    let silenced = source.replacen(
        "from alembic import op",
        "from alembic import op  # postmortem: ignore[fk-type-mismatch]",
        1,
    );
    std::fs::write(&path, &silenced).unwrap();
    let o = check(repo.path(), &["--format", "json"]);
    assert!(
        !rules(&o).contains(&"fk-type-mismatch".to_string()),
        "{}",
        stdout(&o)
    );
    assert!(!rules(&o).contains(&"unused-ignore".to_string()));

    let stale = source.replacen(
        "from alembic import op",
        "from alembic import op  # postmortem: ignore[multiple-heads]",
        1,
    );
    std::fs::write(&path, stale).unwrap();
    let o = check(repo.path(), &["--format", "json"]);
    let found = rules(&o);
    assert!(found.contains(&"fk-type-mismatch".to_string()));
    assert!(found.contains(&"unused-ignore".to_string()), "{found:?}");

    // An ignore for a disabled rule is kept for when the rule is back on; and the stale-ignore
    // report can itself be disabled.
    for disabled in ["multiple-heads", "unused-ignore"] {
        let o = check(repo.path(), &["--format", "json", "--disable", disabled]);
        assert!(
            !rules(&o).contains(&"unused-ignore".to_string()),
            "--disable {disabled}"
        );
    }
}

#[test]
fn a_disabled_rule_must_exist() {
    let repo = seed_repo();
    let o = check(repo.path(), &["--disable", "fk-type-mismach"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fk-type-mismach"));
}

#[test]
fn range_and_since_narrow_the_messages_checked() {
    let repo = seed_repo();
    let phantoms = |args: &[&str]| {
        let o = check(repo.path(), &[&["--format", "json"], args].concat());
        rules(&o)
            .iter()
            .filter(|r| *r == "phantom-migration")
            .count()
    };
    assert_eq!(phantoms(&[]), 2);
    // The last three commits name no migration.
    assert_eq!(phantoms(&["--range", "HEAD~3..HEAD"]), 0);
    // Only the 17:17 "restructure" commit is after 17:00.
    assert_eq!(phantoms(&["--since", "2025-11-10T17:00:00Z"]), 1);
    assert_eq!(phantoms(&["--range", "HEAD~9..HEAD~5"]), 1);

    let o = check(repo.path(), &["--range", "nope..HEAD"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--range nope..HEAD"));
}

/// The SARIF output validates against the official SARIF 2.1.0 schema (Draft 4), checked by
/// Python's `jsonschema`, an independent validator that ships with the machine's Python.
#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let repo = seed_repo();
    let sarif = repo.path().join("out.sarif");
    let o = check(
        repo.path(),
        &["--format", "sarif", "-o", sarif.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-2.1.0-rtm.5.json");
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        doc = json.load(open(sys.argv[2]))\n\
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)\n\
        for e in errors: print(list(e.absolute_path), e.message)\n\
        sys.exit(1 if errors else 0)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(&sarif)
        .output()
        .expect("python3 runs the schema validation (with its jsonschema package)");
    assert!(
        out.status.success(),
        "SARIF does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[path = "support/github_sarif.rs"]
mod github_sarif;

/// What GitHub's code scanning refuses beyond the schema: results without a location (the
/// phantom-migration results had none), empty or absolute URIs, links that lead nowhere.
#[test]
fn sarif_output_meets_github_code_scanning_requirements() {
    let repo = seed_repo();
    let o = check(repo.path(), &["--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = github_sarif::problems(&sarif, repo.path());
    assert!(problems.is_empty(), "{problems:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let phantoms: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "phantom-migration")
        .collect();
    assert_eq!(phantoms.len(), 2);
    for p in phantoms {
        // A file the commit changed.
        let uri = p["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("backend/"), "{uri}");
    }
    // Each rule's help names the file that documents it, and that file exists.
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
    {
        let markdown = rule["help"]["markdown"].as_str().unwrap();
        let doc = markdown.rsplit('`').nth(1).unwrap();
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(doc).is_file(),
            "{doc} (rule {})",
            rule["id"]
        );
        if let Some(uri) = rule.get("helpUri") {
            assert!(uri.as_str().unwrap().ends_with(doc), "{uri}");
        }
    }
}

/// The walk over every commit serves the history rule alone: with it disabled, a history git
/// cannot read does not stop the other rules (and is not read at all).
#[test]
fn disabling_phantom_migration_skips_the_history() {
    let dir = seed_repo();
    let repo = git2::Repository::open(dir.path()).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let odb = repo.odb().unwrap();
    let broken = odb
        .write(git2::ObjectType::Commit, b"this is not a commit\n")
        .unwrap();
    let raw = format!(
        "tree {}\nparent {}\nparent {broken}\nauthor A <a@b.c> 1700000000 +0000\n\
         committer A <a@b.c> 1700000000 +0000\n\nMerge a commit git cannot read\n",
        head.tree_id(),
        head.id()
    );
    let top = odb.write(git2::ObjectType::Commit, raw.as_bytes()).unwrap();
    repo.set_head_detached(top).unwrap();

    let read = check(dir.path(), &["--format", "json"]);
    assert_eq!(read.status.code(), Some(2), "{}", stdout(&read));
    let stderr = String::from_utf8_lossy(&read.stderr);
    assert!(stderr.contains(&format!("commit {broken}")), "{stderr}");

    let skipped = check(
        dir.path(),
        &["--format", "json", "--disable", "phantom-migration"],
    );
    assert_eq!(
        skipped.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&skipped.stderr)
    );
    let found = rules(&skipped);
    assert!(!found.is_empty());
    assert!(!found.iter().any(|r| r == "phantom-migration"), "{found:?}");
}
