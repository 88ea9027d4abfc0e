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
    let other = section(&report, "## Other Findings");
    assert!(
        other.contains(&format!(
            "| `migration-failed-in-logs` | `{}` |",
            userrepo::BAD_MIGRATION
        )),
        "{other}"
    );
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
