//! A report template is untrusted: it can come from a repository's `postmortem.yaml`. It must
//! not read the environment or other files, and no template may abort or exhaust the process:
//! every violation is an error naming the template and the limit, exit 2.

use std::process::{Command, Output};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use postmortem::evidence::{Deploy, DeployStatus, Evidence, Service};
use postmortem::report::{self, Limits};

const KEY: &str = "rnd_PLANTEDkeyThatMustNeverBePrinted0000";

fn evidence(deploys: u32) -> Evidence {
    let mut evidence = Evidence::new(Service {
        id: "srv-aaaaaaaaaaaaaaaaaaaa".into(),
        name: Some("api".into()),
        ..Default::default()
    });
    let start = Utc.with_ymd_and_hms(2025, 11, 10, 0, 0, 0).unwrap();
    evidence.deploys = (0..deploys)
        .map(|i| Deploy {
            id: format!("dep-{i:020}"),
            status: if i == 0 {
                DeployStatus::Live
            } else {
                DeployStatus::UpdateFailed
            },
            trigger: Some("new_commit".into()),
            commit: None,
            image: None,
            created_at: Some(start + chrono::Duration::minutes(i.into())),
            started_at: None,
            finished_at: Some(
                start + chrono::Duration::minutes(i.into()) + chrono::Duration::seconds(30),
            ),
            updated_at: None,
            failure: None,
        })
        .collect();
    evidence.normalize();
    evidence
}

/// `postmortem render evidence.json --template t.tera`, with an API key in the environment.
fn render_cli(template: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("evidence.json"),
        serde_json::to_string(&evidence(3)).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("t.tera"), template).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(["render", "evidence.json", "--template", "t.tera"])
        .current_dir(dir.path())
        .env("RENDER_API_KEY", KEY)
        .env("POSTMORTEM_NOW", "2025-11-10T18:15:00Z")
        .output()
        .unwrap();
    (out, dir)
}

fn refused(template: &str, expected: &[&str]) {
    let (out, _dir) = render_cli(template);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("t.tera"),
        "the template is not named: {stderr}"
    );
    for part in expected {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
}

#[test]
fn a_template_cannot_read_the_environment() {
    refused(
        "key: {{ get_env(name=\"RENDER_API_KEY\") }}",
        &["get_env", "cannot read the environment"],
    );
    refused(
        "key: {{ get_env(name=\"NOT_SET_ANYWHERE\", default=\"x\") }}",
        &["get_env"],
    );
}

#[test]
fn a_recursive_macro_is_refused_before_rendering() {
    refused(
        "{% macro down(n) %}{{ self::down(n=n+1) }}{% endmacro %}{{ self::down(n=0) }}",
        &["cycle", "down -> down"],
    );
    refused(
        "{% macro ping() %}{{ self::pong() }}{% endmacro %}{% macro pong() %}{{ self::ping() }}{% endmacro %}",
        &["cycle", "ping -> pong -> ping"],
    );
}

#[test]
fn a_huge_range_is_refused() {
    refused(
        "{% for i in range(end=1000000) %}{% endfor %}",
        &["range", "1000000 numbers", "limit of 10000"],
    );
    refused(
        "{% for i in range(end=5, step_by=0) %}{% endfor %}",
        &["step_by=0"],
    );
}

#[test]
fn other_files_cannot_be_read() {
    for (template, word) in [
        ("{% include \"/etc/passwd\" %}", "include"),
        ("{% extends \"base.tera\" %}", "extends"),
        ("{% import \"macros.tera\" as m %}x", "import"),
    ] {
        refused(template, &[word, "reads no other"]);
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let depth = 10_000;
    let template = "{% if true %}".repeat(depth) + &"{% endif %}".repeat(depth);
    refused(&template, &["nest", "limit of 64"]);
    let template = format!("{{{{ {}1{} }}}}", "(".repeat(1000), ")".repeat(1000));
    refused(&template, &["nest"]);
}

fn render_with(template: &str, limits: &Limits) -> postmortem::Result<String> {
    let context = postmortem::pipeline::context(evidence(3), None);
    report::render_with(&context, Some(("t.tera", template)), limits)
}

#[test]
fn long_expressions_are_refused_and_the_longest_accepted_renders() {
    // Tera builds a left-deep tree for `1 + 1 + ...` and recurses over it to parse, evaluate and
    // drop it: 200,000 terms overflow any thread's stack. A tag is bounded; the longest one
    // accepted, all operators, renders.
    let limits = Limits::default();
    let terms = (limits.max_tag_bytes - 8) / 2;
    let (out, _dir) = render_cli(&format!("{{{{ 1{} }}}}", "+1".repeat(terms)));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        (terms + 1).to_string()
    );
    refused(
        &format!("{{{{ 1{} }}}}", " + 1".repeat(200_000)),
        &["tag is 800003 bytes", "limit of 16384 bytes"],
    );
}

#[test]
fn output_is_capped_while_it_is_written() {
    let limits = Limits {
        max_output_bytes: 64 << 10,
        ..Limits::default()
    };
    // 10,000 x 10,000 x 100 bytes: 10 GB if nothing stopped it.
    let template = format!(
        "{{% for i in range(end=10000) %}}{{% for j in range(end=10000) %}}{}{{% endfor %}}{{% endfor %}}",
        "x".repeat(100)
    );
    let err = render_with(&template, &limits).unwrap_err().to_string();
    assert!(
        err.contains("t.tera") && err.contains("limit of 65536 bytes"),
        "{err}"
    );
}

#[test]
fn a_render_over_the_time_budget_is_stopped() {
    let limits = Limits {
        time_budget: Duration::from_millis(200),
        ..Limits::default()
    };
    // 10^12 iterations and no output: only the budget ends it. The worker stops at its next
    // `range` call once the budget is spent.
    let template = "{% for i in range(end=10000) %}{% for j in range(end=10000) %}{% for k in range(end=10000) %}{% endfor %}{% endfor %}{% endfor %}";
    let err = render_with(template, &limits).unwrap_err().to_string();
    assert!(
        err.contains("t.tera") && err.contains("time budget of 0.2 s"),
        "{err}"
    );
}

#[test]
fn the_builtin_template_renders_within_the_limits() {
    // A long streak: every table row and section the builtin template has, many times over.
    let context = postmortem::pipeline::context(evidence(2_000), None);
    let limits = Limits::default();
    let report = report::render_with(&context, None, &limits).unwrap();
    assert!(report.contains("dep-00000000000000001999"));
    assert!(
        report.len() < limits.max_output_bytes / 4,
        "{}",
        report.len()
    );
    assert!(report::BUILTIN_TEMPLATE.len() < limits.max_template_bytes / 10);
}

#[test]
fn a_plain_template_still_renders() {
    let (out, _dir) = render_cli(
        "{% macro row(d) %}| {{ d.id }} |{% endmacro %}{% for d in evidence.deploys %}{{ self::row(d=d) }}\n{% endfor %}{% for i in range(end=3) %}{{ i }}{% endfor %}",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| dep-00000000000000000002 |") && stdout.contains("012"),
        "{stdout}"
    );
}

/// The binary renders in a child process (`src/report/isolate.rs`); this test binary, which
/// never asks for one, renders in-process: the same bytes, the builtin template and a user's.
#[test]
fn the_child_process_renders_what_the_library_renders() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = evidence(50);
    std::fs::write(
        dir.path().join("evidence.json"),
        serde_json::to_string(&evidence).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("copy.tera"), report::BUILTIN_TEMPLATE).unwrap();
    let now = "2025-11-10T18:15:00Z".parse().unwrap();
    let here = postmortem::redact::redact_document(
        &report::render_with(
            &postmortem::pipeline::context(evidence, Some(now)),
            None,
            &Limits::default(),
        )
        .unwrap(),
    );
    assert!(here.contains("dep-00000000000000000049"), "{here}");
    for extra in [&[][..], &["--template", "copy.tera"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_postmortem"))
            .args(["render", "evidence.json"])
            .args(extra)
            .current_dir(dir.path())
            .env("POSTMORTEM_NOW", "2025-11-10T18:15:00Z")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), here, "{extra:?}");
    }
}
