//! The tool on a small repository of a user's own (tests/support/userrepo.rs), run as the
//! binary the way a new user runs it: with saved Render CLI output, and without Render data.

#[path = "support/userrepo.rs"]
mod userrepo;

use std::path::Path;
use std::process::Output;

fn postmortem(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(args)
        .current_dir(dir)
        .env_remove("RENDER_SERVICE_ID")
        .env_remove("RENDER_API_KEY")
        .env_remove("RENDER_API_URL")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env("POSTMORTEM_NOW", "2026-11-05T12:00:00Z")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn section<'a>(report: &'a str, heading: &str) -> &'a str {
    let start = report
        .find(heading)
        .unwrap_or_else(|| panic!("no section {heading}:\n{report}"));
    let rest = &report[start..];
    let end = rest[heading.len()..]
        .find("\n## ")
        .map_or(rest.len(), |i| i + heading.len());
    &rest[..end]
}

fn setup() -> (tempfile::TempDir, userrepo::UserRepo) {
    let dir = tempfile::tempdir().unwrap();
    let u = userrepo::build(dir.path());
    (dir, u)
}

/// The deploy log names the failing revision but has no traceback line with a file and line:
/// the `migration-failed-in-logs` finding has a file and no line, and the report is written.
#[test]
fn a_log_failure_without_a_traceback_line_still_gives_a_report() {
    let (_d, u) = setup();
    let out = u.repo.join("postmortem.md");
    let run = postmortem(
        &u.repo,
        &[
            "report",
            "--render-data",
            u.export.to_str().unwrap(),
            "-o",
            "postmortem.md",
        ],
    );
    assert_ne!(run.status.code(), Some(2), "{}", stderr(&run));
    let report = std::fs::read_to_string(out).unwrap();
    // The logged failure is the root cause's own (same revision): the Root Cause Analysis
    // shows it with the migration file, and no findings table repeats it.
    let root = section(&report, "## Root Cause Analysis");
    assert!(root.contains("### What the Logs Show"), "{root}");
    assert!(
        root.contains(&format!(
            "### Migration File: `{}`",
            userrepo::BAD_MIGRATION
        )),
        "{root}"
    );
    assert!(!report.contains("## Other Findings"), "{report}");
}

#[path = "support/github_sarif.rs"]
mod github_sarif;

/// The "fix" commit changed only README.md: its phantom-migration result is placed there,
/// since GitHub refuses a result without a location.
#[test]
fn sarif_places_every_result_where_github_accepts_it() {
    let (_d, u) = setup();
    let o = postmortem(&u.repo, &["check", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = github_sarif::problems(&sarif, &u.repo);
    assert!(problems.is_empty(), "{problems:#?}");
    let phantom = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "phantom-migration")
        .unwrap();
    assert_eq!(
        phantom["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "README.md"
    );
}

/// `check` is the CI gate on the repository: Render's flags are refused, not ignored, and the
/// window flags narrow the commit messages it reads.
#[test]
fn check_refuses_render_flags_and_honours_the_window() {
    let (_d, u) = setup();
    let export = u.export.to_str().unwrap();
    for args in [
        vec!["check", "--render-data", export],
        vec!["check", "--service", "srv-x"],
        vec!["check", "--render-api-url", "http://127.0.0.1:9"],
    ] {
        let o = postmortem(&u.repo, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(args[1]), "{args:?}: {}", stderr(&o));
    }
    let rules = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["check", "--format", "json"];
        all.extend(args);
        let o = postmortem(&u.repo, &all);
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    // The "fix" commit is from 2026-11-05 10:00.
    assert_eq!(rules(&[]), ["fk-type-mismatch", "phantom-migration"]);
    assert_eq!(
        rules(&["--until", "2026-11-04T00:00:00Z"]),
        ["fk-type-mismatch"]
    );
    assert_eq!(
        rules(&["--since", "2026-11-06T00:00:00Z"]),
        ["fk-type-mismatch"]
    );
    assert_eq!(
        rules(&[
            "--since",
            "2026-11-05T00:00:00Z",
            "--until",
            "2026-11-05T23:00:00Z"
        ]),
        ["fk-type-mismatch", "phantom-migration"]
    );
}

fn report(u: &userrepo::UserRepo, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "report",
        "--render-data",
        u.export.to_str().unwrap(),
        "-o",
        "out.md",
    ];
    args.extend(extra);
    let o = postmortem(&u.repo, &args);
    let text = std::fs::read_to_string(u.repo.join("out.md"))
        .unwrap_or_else(|_| panic!("no report: {}", stderr(&o)));
    (o.status.code(), text)
}

/// Saved CLI output has no events: the report does not claim "Render API Events", says what
/// the export cannot hold, and the run is not partial for it (the README's offline recipe).
#[test]
fn a_cli_export_says_what_it_lacks_without_claiming_api_events() {
    let (_d, u) = setup();
    let (code, text) = report(&u, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("Render API Events"), "{text}");
    assert!(!text.contains("events cited per deploy"), "{text}");
    let evidence = section(&text, "## Failure Evidence");
    assert!(evidence.contains("### Render Deploys"), "{evidence}");
    assert!(evidence.contains("exit codes are unknown"), "{evidence}");
    let gaps = section(&text, "## Gaps and Redactions");
    assert!(gaps.contains("`render.export`: no events in"), "{gaps}");
    // Code spans in notes stay code, not backslash-escaped backticks.
    assert!(
        gaps.contains("(save `render services -o json` there too"),
        "{gaps}"
    );
    assert!(!gaps.contains("\\`"), "{gaps}");
}

/// A window with no deploy in it says so in the Gaps instead of giving a clean report.
#[test]
fn a_window_without_deploys_says_so() {
    let (_d, u) = setup();
    let (code, text) = report(&u, &["--since", "2026-11-05T11:00:00Z"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("## Failure Evidence"), "{text}");
    let gaps = section(&text, "## Gaps and Redactions");
    assert!(
        gaps.contains("`render.window`: no deploys of srv-userapp0000000000000 between 2026-11-05T11:00:00Z and"),
        "{gaps}"
    );
}

/// The good deploy went live when it finished (10:12:11), not when it was created (10:10:00).
#[test]
fn the_timeline_places_went_live_at_the_finish() {
    let (_d, u) = setup();
    let (_, text) = report(&u, &[]);
    let timeline = section(&text, "## Timeline (UTC)");
    let row = timeline
        .lines()
        .find(|l| l.contains("went live"))
        .unwrap_or_else(|| panic!("{timeline}"));
    assert!(
        row.starts_with("| 2026-11-02 10:12:11 | deploy went live"),
        "{row}"
    );
    assert!(row.contains("created 10:10:00"), "{row}");
}

/// Notes carry code spans (`git fetch --unshallow`); the Gaps show them as code.
#[test]
fn gap_notes_keep_their_code_spans() {
    let (_d, u) = setup();
    let o = postmortem(
        &u.repo,
        &[
            "collect",
            "--render-data",
            u.export.to_str().unwrap(),
            "-o",
            "ev.json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let path = u.repo.join("ev.json");
    let mut ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    ev["notes"].as_array_mut().unwrap().push(serde_json::json!({
        "source": "git",
        "message": "the clone is shallow; run `git fetch --unshallow` and re-run"
    }));
    std::fs::write(&path, ev.to_string()).unwrap();
    let o = postmortem(&u.repo, &["render", "ev.json"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("- `git`: the clone is shallow; run `git fetch --unshallow` and re-run"),
        "{text}"
    );
}

/// The repository's postmortem.yaml applies from a subfolder and with --repo from elsewhere;
/// one above the repository root does not.
#[test]
fn the_config_at_the_repository_root_is_found_from_anywhere() {
    let (d, u) = setup();
    let rules = |dir: &Path, args: &[&str]| -> Vec<String> {
        let mut all = vec!["check", "--format", "json"];
        all.extend(args);
        let o = postmortem(dir, &all);
        let json: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    // Above the repository: never read.
    std::fs::write(
        d.path().join("postmortem.yaml"),
        "disable: [fk-type-mismatch]\n",
    )
    .unwrap();
    let versions = u.repo.join("migrations/versions");
    assert_eq!(
        rules(&versions, &[]),
        ["fk-type-mismatch", "phantom-migration"]
    );

    std::fs::write(
        u.repo.join("postmortem.yaml"),
        "disable: [phantom-migration]\n",
    )
    .unwrap();
    assert_eq!(rules(&u.repo, &[]), ["fk-type-mismatch"]);
    assert_eq!(rules(&versions, &[]), ["fk-type-mismatch"]);
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(
        rules(elsewhere.path(), &["--repo", u.repo.to_str().unwrap()]),
        ["fk-type-mismatch"]
    );
    assert_eq!(
        rules(elsewhere.path(), &["--repo", versions.to_str().unwrap()]),
        ["fk-type-mismatch"]
    );
}

fn postmortem_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RENDER_SERVICE_ID")
        .env_remove("RENDER_API_KEY")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_EVENT_NAME")
        .env_remove("GITHUB_BASE_REF")
        .env_remove("GITLAB_CI")
        .env_remove("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        .env_remove("CI_COMMIT_BEFORE_SHA")
        .env("POSTMORTEM_NOW", "2026-11-05T12:00:00Z");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn check_rules(o: &Output) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(o)));
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

fn add_commit(u: &userrepo::UserRepo, files: &[(&str, &str)], day: u32, message: &str) -> String {
    let repo = git2::Repository::open(&u.repo).unwrap();
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    userrepo::commit(&repo, &files, userrepo::day(day, 9, 0, 0), message)
}

/// In a pull request on GitHub Actions, history rules read the pull request's commits: the
/// phantom "fix" already on the base branch no longer fails every pull request, and one the
/// pull request adds does.
#[test]
fn github_pull_requests_are_judged_on_their_own_commits() {
    let (d, u) = setup();
    let base = u.commits[4].clone();
    add_commit(
        &u,
        &[("docs/setup.md", "# setup\n")],
        6,
        "docs: setup notes",
    );
    let event = d.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": 12, "base": {"sha": base}, "head": {"sha": "x"}}}).to_string(),
    )
    .unwrap();
    let gh = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ];
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &gh);
    assert_eq!(check_rules(&o), ["fk-type-mismatch"], "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "GitHub Actions pull request #12: reading the commit messages of {}..HEAD",
            &base[..7]
        )),
        "{}",
        stderr(&o)
    );
    // --range HEAD still reads everything.
    let all = postmortem_in(
        &u.repo,
        &["check", "--format", "json", "--range", "HEAD"],
        &gh,
    );
    assert_eq!(check_rules(&all), ["fk-type-mismatch", "phantom-migration"]);

    // The pull request adds a phantom of its own: that one fails.
    add_commit(
        &u,
        &[("app.py", "x = 1\n")],
        7,
        "fix(migrations): add migration 7a7a7a7a7a7a",
    );
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &gh);
    assert_eq!(check_rules(&o), ["fk-type-mismatch", "phantom-migration"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["findings"][1]["revision"], "7a7a7a7a7a7a");
}

/// GitLab merge request pipelines (CI_MERGE_REQUEST_DIFF_BASE_SHA) and branch pipelines
/// (CI_COMMIT_BEFORE_SHA; forty zeros for a new branch) read the change's commits.
#[test]
fn gitlab_merge_requests_and_pushes_are_judged_on_their_own_commits() {
    let (_d, u) = setup();
    let base = u.commits[4].clone();
    add_commit(
        &u,
        &[("docs/setup.md", "# setup\n")],
        6,
        "docs: setup notes",
    );
    let mr = [
        ("GITLAB_CI", "true"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.as_str()),
    ];
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &mr);
    assert_eq!(check_rules(&o), ["fk-type-mismatch"], "{}", stderr(&o));
    let push = [
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_BEFORE_SHA", base.as_str()),
    ];
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &push);
    assert_eq!(check_rules(&o), ["fk-type-mismatch"], "{}", stderr(&o));
    let zeros = "0".repeat(40);
    let first = [
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_BEFORE_SHA", zeros.as_str()),
    ];
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &first);
    assert_eq!(check_rules(&o), ["fk-type-mismatch", "phantom-migration"]);
    // A base the clone does not have (a shallow checkout): every commit present, and it says so.
    let missing = [
        ("GITLAB_CI", "true"),
        (
            "CI_MERGE_REQUEST_DIFF_BASE_SHA",
            "1234567890abcdef1234567890abcdef12345678",
        ),
    ];
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &missing);
    assert_eq!(check_rules(&o), ["fk-type-mismatch", "phantom-migration"]);
    assert!(
        stderr(&o).contains("is not in this clone (check out with `fetch-depth: 0`)"),
        "{}",
        stderr(&o)
    );
}

/// `--write-baseline` records today's findings; `--baseline` then fails only on new ones, and
/// the record survives unrelated commits, lines moving above a finding included.
#[test]
fn a_baseline_lets_the_gate_go_green_and_catches_what_is_new() {
    let (d, u) = setup();
    let baseline = d.path().join("baseline.json");
    let b = baseline.to_str().unwrap();
    let o = postmortem_in(&u.repo, &["check", "--write-baseline", b], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(
        written.contains("\"rule\": \"phantom-migration\""),
        "{written}"
    );
    let o = postmortem_in(&u.repo, &["check", "--baseline", b], &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("No findings."));
    assert!(
        stderr(&o).contains("2 findings recorded in"),
        "{}",
        stderr(&o)
    );

    // Unrelated commits: three lines above the foreign key, a new clean migration.
    let bad = std::fs::read_to_string(u.repo.join(userrepo::BAD_MIGRATION)).unwrap();
    let shifted = bad.replacen(
        "from alembic import op",
        "# projects\n# owned by users\n#\nfrom alembic import op",
        1,
    );
    add_commit(
        &u,
        &[(userrepo::BAD_MIGRATION, &shifted)],
        6,
        "style: header comment",
    );
    let clean = "\"\"\"add labels\n\nRevision ID: 5e6f7a8b9c0d\nRevises: 4d5e6f7a8b9c\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = \"5e6f7a8b9c0d\"\ndown_revision = \"4d5e6f7a8b9c\"\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    op.add_column(\"teams\", sa.Column(\"label\", sa.String(length=20), nullable=True))\n\n\ndef downgrade() -> None:\n    op.drop_column(\"teams\", \"label\")\n";
    add_commit(
        &u,
        &[("migrations/versions/5e6f7a8b9c0d_add_labels.py", clean)],
        7,
        "add labels",
    );
    let o = postmortem_in(&u.repo, &["check", "--format", "json"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["findings"][0]["line"], 23, "the foreign key moved");
    let o = postmortem_in(&u.repo, &["check", "--baseline", b], &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Something new fails, alone.
    add_commit(
        &u,
        &[("app.py", "x = 1\n")],
        8,
        "fix(migrations): add migration 7a7a7a7a7a7a",
    );
    let o = postmortem_in(
        &u.repo,
        &["check", "--format", "json", "--baseline", b],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(check_rules(&o), ["phantom-migration"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("7a7a7a7a7a7a"));
}

/// Symbolic links are not followed, in the working tree or in `--render-data`, and each run
/// lists the skipped ones in one note: a loop back into the repository, a link out of it, and
/// a saved file that is a link to a file outside the export.
#[test]
fn skipped_symlinks_are_listed_once_in_the_report() {
    let (d, u) = setup();
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.json"), "[]").unwrap();
    std::os::unix::fs::symlink(&u.repo, u.repo.join("loop")).unwrap();
    std::os::unix::fs::symlink(&outside, u.repo.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.json"), u.export.join("extra.json")).unwrap();
    std::os::unix::fs::symlink(&u.export, u.export.join("again")).unwrap();

    // Without Render data the working tree is what is read.
    let run = postmortem(&u.repo, &["report", "-o", "tree.md"]);
    assert_ne!(run.status.code(), Some(2), "{}", stderr(&run));
    let report = std::fs::read_to_string(u.repo.join("tree.md")).unwrap();
    let gaps = section(&report, "## Gaps and Redactions");
    assert_eq!(report.matches("symbolic link").count(), 1, "{report}");
    assert!(
        gaps.contains("2 symbolic link(s)") && gaps.contains("elsewhere, loop"),
        "{gaps}"
    );

    let run = postmortem(
        &u.repo,
        &[
            "collect",
            "--render-data",
            u.export.to_str().unwrap(),
            "-o",
            "evidence.json",
        ],
    );
    assert_ne!(run.status.code(), Some(2), "{}", stderr(&run));
    let evidence: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(u.repo.join("evidence.json")).unwrap())
            .unwrap();
    let notes: Vec<String> = evidence["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .filter(|n| n.contains("symbolic link"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("again") && notes[0].contains("extra.json"),
        "{notes:?}"
    );
    assert!(!evidence.to_string().contains("secret.json"));
}
