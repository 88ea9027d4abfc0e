//! The GitHub Action and the pre-commit hooks shipped at the repository root: well-formed, and
//! calling the binary with flags it accepts.

use clap::Parser;
use postmortem::cli::Cli;
use serde_yaml::Value;

fn root_file(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_action_runs_check_with_flags_the_binary_accepts() {
    let action = root_file("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let check = steps
        .iter()
        .find_map(|s| {
            s["run"]
                .as_str()
                .filter(|r| r.contains("check --format github"))
        })
        .expect("a step runs postmortem check --format github");
    // Every input the script reads arrives through env, never spliced into it.
    assert!(
        !check.contains("${{"),
        "inputs spliced into the script:\n{check}"
    );
    for input in action["inputs"].as_mapping().unwrap().keys() {
        let input = input.as_str().unwrap();
        assert!(
            action["inputs"][input]["description"].as_str().is_some(),
            "input {input} has no description"
        );
    }
    for default in ["error", "warning", "info"] {
        Cli::try_parse_from([
            "postmortem",
            "check",
            "--format",
            "github",
            "--fail-on",
            default,
            "--range",
            "origin/main..HEAD",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn pre_commit_hooks_call_commands_that_exist() {
    let hooks = root_file(".pre-commit-hooks.yaml");
    let hooks = hooks.as_sequence().unwrap();
    assert!(!hooks.is_empty());
    for hook in hooks {
        assert_eq!(hook["language"], "rust");
        assert_eq!(hook["pass_filenames"], false);
        let entry = hook["entry"].as_str().unwrap();
        let args: Vec<&str> = entry.split_whitespace().collect();
        assert_eq!(args[0], "postmortem");
        Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{entry}: {e}"));
    }
}
