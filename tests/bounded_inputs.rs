//! Inputs from other people (a committed config) are bounded before they are read: a clear
//! error naming the file and the limit, never gigabytes of memory.

use std::process::{Command, Output};

fn render_with_config(config: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let evidence = postmortem::evidence::Evidence::new(postmortem::evidence::Service {
        id: "srv-aaaaaaaaaaaaaaaaaaaa".into(),
        ..Default::default()
    });
    std::fs::write(
        dir.path().join("evidence.json"),
        serde_json::to_string(&evidence).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("incident.yaml"), config).unwrap();
    Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(["render", "evidence.json", "--config", "incident.yaml"])
        .current_dir(dir.path())
        .env_remove("RENDER_API_KEY")
        .env("POSTMORTEM_NOW", "2025-11-10T18:15:00Z")
        .output()
        .unwrap()
}

#[test]
fn a_yaml_alias_bomb_is_refused_with_its_position() {
    // One long anchored string and thousands of aliases to it: serde_yaml 0.9 copies the anchor
    // once per alias (a 960 KB file of this shape took 14.8 GB).
    let anchor = "x".repeat(100_000);
    let aliases = "*a, ".repeat(2_000);
    let config = format!("incident:\n  title: &a \"{anchor}\"\n  lessons: [{aliases}]\n");
    let out = render_with_config(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("incident.yaml:3:") && stderr.contains("more than 100 YAML aliases"),
        "{stderr}"
    );
}

#[test]
fn a_few_aliases_are_fine() {
    let config = "incident:\n  title: &t \"Deploys failed\"\n  lessons: [*t, *t]\n";
    let out = render_with_config(config);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_oversized_config_is_refused_without_reading_it_whole() {
    let config = format!("incident:\n  title: \"{}\"\n", "x".repeat(300 * 1024));
    let out = render_with_config(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("incident.yaml") && stderr.contains("larger than 256 KiB"),
        "{stderr}"
    );
}
