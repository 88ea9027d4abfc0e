//! A user's template renders in a child process of the binary under an address-space limit:
//! memory a template fills without writing output (a string doubled in a loop, a filter that
//! multiplies its input) ends in an error naming the template and the limit, exit 2, never in
//! an abort of `postmortem` or the machine's OOM killer.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use postmortem::report::{self, isolate, Limits};

fn evidence_json() -> String {
    r#"{"schema_version":1,"service":{"id":"srv-aaaaaaaaaaaaaaaaaaaa","name":"api"},"window":{},
        "deploys":[],"events":[],"logs":[],"commits":[],"migration_sets":[],"findings":[],"notes":[]}"#
        .into()
}

fn render_cli(template: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evidence.json"), evidence_json()).unwrap();
    std::fs::write(dir.path().join("t.tera"), template).unwrap();
    Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(["render", "evidence.json", "--template", "t.tera"])
        .current_dir(dir.path())
        .env("POSTMORTEM_NOW", "2025-11-10T18:15:00Z")
        .output()
        .unwrap()
}

fn assert_memory_refused(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("t.tera: rendering needed more memory than the limit of")
            && stderr.contains(" MiB"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// `set_global s = s ~ s` forty times: 2^40 bytes if nothing stopped it.
const DOUBLING: &str = "{% set s = \"x\" %}{% for i in range(end=40) %}{% set_global s = s ~ s %}{% endfor %}{{ s | length }}";

#[test]
fn a_string_doubled_in_a_loop_is_stopped_by_the_memory_limit() {
    assert_memory_refused(&render_cli(DOUBLING));
}

#[test]
fn a_filter_that_multiplies_its_input_is_stopped_by_the_memory_limit() {
    // Each `replace` multiplies the length by 10: 10^10 bytes after nine.
    let template = format!(
        "{{% set s = \"xxxxxxxxxx\" %}}{{{{ s{} | length }}}}",
        " | replace(from=\"x\", to=s)".repeat(9)
    );
    assert_memory_refused(&render_cli(&template));
}

/// The library, told to use the binary, renders a user's template through it.
fn in_child() {
    isolate::render_templates_in(PathBuf::from(env!("CARGO_BIN_EXE_postmortem")));
}

/// A streak of failed deploys after a live one, so that the builtin template fills its tables.
fn context() -> report::ReportContext {
    let mut evidence: postmortem::evidence::Evidence =
        serde_json::from_str(&evidence_json()).unwrap();
    let deploys: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            serde_json::json!({
                "id": format!("dep-{i:020}"),
                "status": if i == 0 { "live" } else { "update_failed" },
                "trigger": "new_commit",
                "created_at": format!("2025-11-10T{:02}:{:02}:00Z", i / 60, i % 60),
                "finished_at": format!("2025-11-10T{:02}:{:02}:30Z", i / 60, i % 60),
            })
        })
        .collect();
    evidence.deploys = serde_json::from_value(serde_json::Value::Array(deploys)).unwrap();
    evidence.normalize();
    postmortem::pipeline::context(evidence, None)
}

#[test]
fn the_limits_given_reach_the_child() {
    in_child();
    let small = Limits {
        max_memory_bytes: 160 << 20,
        ..Limits::default()
    };
    let err = report::render_with(&context(), Some(("t.tera", DOUBLING)), &small)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t.tera: rendering needed more memory than the limit of 16"),
        "{err}"
    );

    let quick = Limits {
        time_budget: Duration::from_millis(300),
        ..Limits::default()
    };
    let spin = "{% for i in range(end=10000) %}{% for j in range(end=10000) %}{% for k in range(end=10000) %}{% endfor %}{% endfor %}{% endfor %}";
    let err = report::render_with(&context(), Some(("t.tera", spin)), &quick)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t.tera") && err.contains("time budget of 0.3 s"),
        "{err}"
    );
}
