//! Every common kind of failed deploy end to end: a git repository built with git2, a loopback
//! Render API serving deploys, events and logs (log text from real tool output), the real
//! pipeline. Each report must name the commit that caused the failure, show the first real
//! error (never Render's closing line), say how it ended, recommend the fix, and not say what
//! the evidence contradicts. Each report is snapshotted.

#[path = "support/classes.rs"]
mod classes;
#[path = "support/render_api.rs"]
mod render_api;
#[path = "support/seed.rs"]
mod seed;

use clap::Parser;
use classes::Class;
use postmortem::app::{self, Status};
use postmortem::cli::Cli;

struct Run {
    report: String,
    commits: Vec<String>,
    deploys: Vec<String>,
}

fn short(sha: &str) -> &str {
    &sha[..7]
}

fn report(class: Class) -> Run {
    run_as(class, "markdown")
}

fn run_as(class: Class, format: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let scenario = classes::build(class, &repo);
    let server = render_api::FakeRender {
        api_key: classes::API_KEY.to_string(),
        services: scenario.render.services,
        deploys: scenario.render.deploys,
        events: scenario.render.events,
        logs: scenario.render.logs,
        faults: render_api::Faults::default(),
    }
    .start();
    let out = dir.path().join("report.md");
    let cli = Cli::parse_from([
        "postmortem",
        "report",
        "--repo",
        repo.to_str().unwrap(),
        "--service",
        classes::SERVICE_NAME,
        "--render-api-url",
        &server.url(),
        "--now",
        "2026-11-30T11:00:00Z",
        "--quiet",
        "--format",
        format,
        "-o",
        out.to_str().unwrap(),
    ]);
    let status = app::run(cli, scenario.now, Some(classes::API_KEY.into())).unwrap();
    let report = std::fs::read_to_string(&out).unwrap();
    assert_eq!(status, Status::Ok, "{report}");
    assert!(!report.contains(classes::API_KEY));
    Run {
        report,
        commits: scenario.commits,
        deploys: scenario.deploys,
    }
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

/// The executive summary names the cause commit (not the innocent tip) with its file.
fn assert_cause(r: &Run, file: &str) {
    let summary = section(&r.report, "## Executive Summary");
    let cause = format!("`{}`", short(&r.commits[1]));
    assert!(
        summary.contains(&cause),
        "cause {cause} not named:\n{summary}"
    );
    assert!(summary.contains(file), "{file} not cited:\n{summary}");
    let tip = format!("`{}`", short(&r.commits[2]));
    assert!(
        !summary.contains(&tip),
        "innocent tip {tip} named:\n{summary}"
    );
}

/// The innocent tip of the build and OOM cases adds a migration: it is a timeline row and the
/// head to check afterwards, never the cause.
fn assert_no_migration_blamed(report: &str) {
    for heading in ["## Executive Summary", "## Root Cause Analysis"] {
        let text = section(report, heading);
        assert!(
            !text.contains("cccc00000003"),
            "a migration blamed:\n{text}"
        );
    }
    assert!(!report.contains("### Migration File"), "{report}");
}

fn first_log_error(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| l.contains("first log error"))
        .collect()
}

#[test]
fn build_conflict() {
    let r = report(Class::BuildConflict);
    let report = &r.report;
    assert_cause(&r, "requirements.txt");
    assert!(report.contains("ERROR: Cannot install -r requirements.txt (line 1) and starlette==0.27.0 because these package versions have conflicting dependencies."), "{report}");
    // The conflicting pins, as pip reported them, in the fix.
    let fix = section(report, "## Recommended Fix");
    assert!(
        fix.contains("The user requested starlette==0.27.0"),
        "{fix}"
    );
    assert!(
        fix.contains("fastapi 0.115.0 depends on starlette<0.39.0 and >=0.37.2"),
        "{fix}"
    );
    assert!(!report.contains("succeeded in 0 of 2"), "{report}");
    for l in first_log_error(report) {
        assert!(l.contains("ERROR: Cannot install"), "{l}");
    }
    assert!(report.contains("has been failing to deploy"), "{report}");
    assert_no_migration_blamed(report);
    insta::assert_snapshot!("build_conflict", report);
}

#[test]
fn out_of_memory() {
    let r = report(Class::Oom);
    let report = &r.report;
    assert_cause(&r, "requirements.txt");
    assert!(report.contains("512Mi"), "{report}");
    // No migration is blamed for an OOM, and Render's closing line is not the error.
    assert_no_migration_blamed(report);
    assert!(!report.contains("### Migration File"), "{report}");
    assert!(first_log_error(report).is_empty(), "{report}");
    assert!(!report.contains("error: Deploy failed"), "{report}");
    let fix = section(report, "## Recommended Fix");
    assert!(fix.contains("memory limit of 512Mi"), "{fix}");
    assert!(
        report.contains("kept being served by the previous deploy"),
        "{report}"
    );
    insta::assert_snapshot!("oom", report);
}

#[test]
fn health_check() {
    let r = report(Class::HealthCheck);
    let report = &r.report;
    assert_cause(&r, "render.yaml");
    let summary = section(report, "## Executive Summary");
    assert!(summary.contains("`/health` answered 404"), "{summary}");
    assert!(report.contains(r#""GET /health HTTP/1.1" 404"#), "{report}");
    let fix = section(report, "## Recommended Fix");
    assert!(fix.contains("`/health`"), "{fix}");
    assert!(fix.contains("port 10000"), "{fix}");
    insta::assert_snapshot!("health_check", report);
}

#[test]
fn missing_env_var() {
    let r = report(Class::MissingEnv);
    let report = &r.report;
    assert_cause(&r, "app/settings.py");
    assert!(report.contains("KeyError: 'STRIPE_API_KEY'"), "{report}");
    assert!(report.contains("app/settings.py:4"), "{report}");
    let fix = section(report, "## Recommended Fix");
    assert!(fix.contains("STRIPE_API_KEY"), "{fix}");
    assert!(
        !report.contains("Worker failed to boot"),
        "shown as the error:\n{report}"
    );
    insta::assert_snapshot!("missing_env", report);
}

#[test]
fn not_null_migration() {
    let r = report(Class::NotNull);
    let report = &r.report;
    assert_cause(&r, "bbbb00000002_case.py");
    assert!(report.contains("NotNullViolation"), "{report}");
    let fix = section(report, "## Recommended Fix");
    assert!(fix.contains("nullable=True"), "{fix}");
    assert!(
        fix.contains("op.alter_column(\"users\", \"tenant_id\", nullable=False)"),
        "{fix}"
    );
    assert!(fix.contains("server_default"), "{fix}");
    insta::assert_snapshot!("not_null", report);
}

#[test]
fn rollback_is_a_mitigation_not_a_fix() {
    let r = report(Class::Rollback);
    let report = &r.report;
    assert_cause(&r, "app/settings.py");
    assert!(!report.contains("Resolved"), "{report}");
    assert!(!report.contains("recovered the service"), "{report}");
    assert!(report.contains("**Status**: Mitigated"), "{report}");
    let summary = section(report, "## Executive Summary");
    let rollback = &r.deploys[3];
    let target = &r.deploys[0];
    assert!(summary.contains(rollback.as_str()), "{summary}");
    assert!(summary.contains(target.as_str()), "{summary}");
    assert!(summary.contains("still on the branch"), "{summary}");
    insta::assert_snapshot!("rollback", report);
}
