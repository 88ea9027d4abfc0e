//! The binary as a user runs it: exit codes, error messages, help.

use std::path::Path;
use std::process::{Command, Output};

fn postmortem(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RENDER_API_KEY")
        .env_remove("RENDER_SERVICE_ID")
        .env_remove("RENDER_API_URL")
        .env("POSTMORTEM_NOW", "2025-11-10T18:15:00Z")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_and_help_list_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let v = postmortem(&["--version"], dir.path());
    assert_eq!(v.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("postmortem "));
    let help = String::from_utf8_lossy(&postmortem(&["--help"], dir.path()).stdout).into_owned();
    for cmd in [
        "report",
        "collect",
        "render",
        "check",
        "migrations",
        "init",
        "publish",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from --help:\n{help}");
    }
    let report_help =
        String::from_utf8_lossy(&postmortem(&["report", "--help"], dir.path()).stdout).into_owned();
    for flag in [
        "--config",
        "--repo",
        "--service",
        "--render-api-url",
        "--render-data",
        "--since",
        "--until",
        "--migrations",
        "--output",
        "--format",
        "RENDER_SERVICE_ID",
    ] {
        assert!(
            report_help.contains(flag),
            "{flag} missing from report --help"
        );
    }
}

#[test]
fn a_bad_flag_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = postmortem(&["report", "--no-such-flag"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_malformed_config_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "service: srv-a\nrepo: [unclosed\n",
    )
    .unwrap();
    let o = postmortem(&["report"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("postmortem.yaml:"), "{err}");
}

#[test]
fn an_unknown_config_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "incident:\n  impact: down\n  impakt: typo\n",
    )
    .unwrap();
    let o = postmortem(&["check", "--config", "postmortem.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("impakt") && err.contains("postmortem.yaml:3:"),
        "{err}"
    );
}

#[test]
fn render_refuses_what_is_not_evidence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.json"), "{\"a\": 1}").unwrap();
    std::fs::write(
        dir.path().join("broken.json"),
        "{\n  \"schema_version\": 1,\n  oops\n}",
    )
    .unwrap();
    let o = postmortem(&["render", "x.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("schema_version"), "{}", stderr(&o));
    let o = postmortem(&["render", "broken.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("broken.json:3:"), "{}", stderr(&o));
    let o = postmortem(&["render", "missing.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.json"), "{}", stderr(&o));
}

#[test]
fn report_outside_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = postmortem(&["report", "--quiet"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("git"), "{}", stderr(&o));
}

#[test]
fn init_writes_config_and_template_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let o = postmortem(&["init", "--template"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let template = std::fs::read_to_string(dir.path().join("postmortem.md.tera")).unwrap();
    assert_eq!(template, postmortem::report::BUILTIN_TEMPLATE);
    assert!(dir.path().join("postmortem.yaml").is_file());
    let again = postmortem(&["init"], dir.path());
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"));
}

#[test]
fn list_rules_names_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let o = postmortem(&["check", "--list-rules"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    for rule in postmortem::check::REGISTRY {
        assert!(out.contains(rule.meta().name));
    }
}

#[test]
fn migrations_prints_the_graph_and_its_findings_as_json() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrations");
    let o = postmortem(
        &["migrations", "neighbours/n6_two_heads", "--format", "json"],
        &fixtures,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let set = &json["migration_sets"][0];
    assert_eq!(set["path"], "neighbours/n6_two_heads");
    assert_eq!(set["framework"], "alembic");
    assert_eq!(
        set["heads"],
        serde_json::json!(["bbbb00000002", "cccc00000002"])
    );
    assert_eq!(json["findings"][0]["rule"], "multiple-heads");

    // An absolute folder inside the current one reads the same set.
    let absolute = fixtures.join("neighbours/n6_two_heads");
    let o = postmortem(
        &["migrations", absolute.to_str().unwrap(), "--format", "json"],
        &fixtures,
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["migration_sets"][0]["path"], "neighbours/n6_two_heads");

    // One elsewhere is read from its own project (the folder above it with alembic.ini), so
    // `postmortem migrations /elsewhere/versions` works from anywhere.
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("alembic.ini"), "[alembic]\n").unwrap();
    let versions = project.path().join("db/versions");
    std::fs::create_dir_all(&versions).unwrap();
    for entry in std::fs::read_dir(&absolute).unwrap() {
        let entry = entry.unwrap().path();
        std::fs::copy(&entry, versions.join(entry.file_name().unwrap())).unwrap();
    }
    let o = postmortem(
        &["migrations", versions.to_str().unwrap(), "--format", "json"],
        &fixtures,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["migration_sets"][0]["path"], "db/versions");
    assert_eq!(
        json["migration_sets"][0]["heads"],
        serde_json::json!(["bbbb00000002", "cccc00000002"])
    );

    // With --repo, a folder outside it is an error.
    let outside = postmortem(
        &["migrations", env!("CARGO_MANIFEST_DIR"), "--repo", "."],
        &fixtures,
    );
    assert_eq!(outside.status.code(), Some(2));
    assert!(
        stderr(&outside).contains("not inside"),
        "{}",
        stderr(&outside)
    );

    let missing = postmortem(&["migrations", "no/such/dir"], &fixtures);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no/such/dir"),
        "{}",
        stderr(&missing)
    );
}

/// `--force` overwrites only what was asked for: `init --template --force` leaves an edited
/// postmortem.yaml alone, `init --force` leaves an edited template alone.
#[test]
fn init_force_touches_only_what_was_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("postmortem.yaml");
    let template = dir.path().join("postmortem.md.tera");
    std::fs::write(&config, "service: srv-mine\n").unwrap();
    // --template alone: the existing configuration is kept, not an error.
    let o = postmortem(&["init", "--template"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "service: srv-mine\n"
    );
    assert!(
        stderr(&o).contains("kept postmortem.yaml"),
        "{}",
        stderr(&o)
    );

    std::fs::write(&template, "mine").unwrap();
    let o = postmortem(&["init", "--template", "--force"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "service: srv-mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(&template).unwrap(),
        postmortem::report::BUILTIN_TEMPLATE
    );

    std::fs::write(&template, "mine").unwrap();
    let o = postmortem(&["init", "--force"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        postmortem::config::STARTER
    );
    assert_eq!(std::fs::read_to_string(&template).unwrap(), "mine");
}

/// Help and the report say postmortem.yaml, the file the tool reads.
#[test]
fn help_names_the_config_file_the_tool_reads() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["init", "--help"],
        &["report", "--help"],
        &["render", "--help"],
    ] {
        let o = postmortem(args, dir.path());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.contains("incident.yaml"), "{args:?}: {out}");
    }
}

/// Errors name their subject: the flag, the config file (once, with its position once).
#[test]
fn errors_name_the_flag_or_file_they_are_about() {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let o = postmortem(&["check", "--migrations", "nosuchdir"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--migrations nosuchdir: no such folder"),
        "{}",
        stderr(&o)
    );
    let o = postmortem(
        &["report", "-q", "--render-data", "/nonexistent"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--render-data /nonexistent: no such folder"),
        "{}",
        stderr(&o)
    );

    std::fs::write(dir.path().join("postmortem.yaml"), "fail_on: fatal\n").unwrap();
    let o = postmortem(&["check"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("postmortem.yaml: fail_on: unknown severity `fatal`"),
        "{}",
        stderr(&o)
    );
    std::fs::write(dir.path().join("postmortem.yaml"), "service: [a]\n").unwrap();
    let o = postmortem(&["check"], dir.path());
    let err = stderr(&o);
    assert!(
        err.contains("postmortem.yaml:1:10: service: invalid type"),
        "{err}"
    );
    assert!(!err.contains("at line 1 column 10"), "{err}");
}

/// An unreachable Render API: each retry is announced as it happens, naming the URL; the note
/// names the URL and the number of requests actually sent; the exit code is the one the help
/// gives for it.
#[test]
fn an_unreachable_api_says_where_and_how_often_and_exits_as_the_help_says() {
    use std::io::{BufRead, BufReader};
    use std::sync::{Arc, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let path = line
                .split(' ')
                .nth(1)
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("");
            log.lock().unwrap().push(path.to_string());
            // Closed without an answer: the connection fails every time.
        }
    });
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let url = format!("http://127.0.0.1:{port}/v1");
    let o = Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args([
            "report",
            "--service",
            "srv-x",
            "--render-api-url",
            &url,
            "-o",
            "out.md",
        ])
        .current_dir(dir.path())
        .env("RENDER_API_KEY", "rnd_test")
        .env_remove("RENDER_SERVICE_ID")
        .env("POSTMORTEM_NOW", "2025-11-10T18:15:00Z")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let service = format!("GET {url}/services/srv-x");
    assert!(
        err.contains(&format!("{service}: ")) && err.contains("(try 1 of 4); retrying"),
        "{err}"
    );
    let sent = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| *p == "/v1/services/srv-x")
        .count();
    assert_eq!(sent, 4);
    let report = std::fs::read_to_string(dir.path().join("out.md")).unwrap();
    assert!(
        report.contains(&format!("after 4 tries ({service})")),
        "{report}"
    );

    let help = postmortem(&["--help"], dir.path());
    let help = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("3 report written but partial (a source was unreachable"),
        "{help}"
    );
    assert!(!help.contains("unreachable source"), "{help}");
}

#[test]
fn completions_and_man_page_come_from_the_command_line_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = postmortem(&["completions", shell], dir.path());
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        for word in ["postmortem", "check", "fail-on", "render-data", "quiet"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
        // The binary's internal renderer is not a command for people.
        assert!(!script.contains("render-template"), "{shell}: {script}");
    }
    let o = postmortem(&["completions", "tcsh"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = postmortem(&["man"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH postmortem 1"),
        "{page}"
    );
    for word in ["report", "check", "\\-\\-color", "\\-\\-quiet"] {
        assert!(page.contains(word), "man page lacks {word}:\n{page}");
    }
    assert!(!page.contains("render\\-template"), "{page}");
}

/// A migration folder whose single revision names a parent that does not exist: one error.
fn repo_with_one_finding() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let versions = dir.path().join("alembic/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(
        versions.join("a1_add_users.py"),
        "revision = 'a1'\ndown_revision = 'zz'\n\ndef upgrade():\n    pass\n",
    )
    .unwrap();
    git2::Repository::init(dir.path()).unwrap();
    dir
}

#[test]
fn check_colours_only_when_asked_or_on_a_terminal() {
    let dir = repo_with_one_finding();
    let run = |args: &[&str], no_color: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_postmortem"));
        cmd.args(args)
            .current_dir(dir.path())
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let plain = run(&["check"], None);
    assert!(plain.contains("error[missing-parent]"), "{plain}");
    assert!(
        !plain.contains('\x1b'),
        "a pipe is not a terminal: {plain:?}"
    );
    let always = run(&["check", "--color", "always"], None);
    assert!(
        always.contains("\x1b[1;31merror\x1b[0m[missing-parent]"),
        "{always:?}"
    );
    // `always` beats NO_COLOR; `never` beats everything; the words never change.
    assert_eq!(run(&["check", "--color=always"], Some("1")), always);
    assert_eq!(run(&["--color", "never", "check"], None), plain);
    let stripped = always
        .replace("\x1b[1;31m", "")
        .replace("\x1b[1;34m", "")
        .replace("\x1b[0m", "");
    assert_eq!(stripped, plain);
}

#[test]
fn color_auto_follows_the_terminal_and_no_color() {
    use postmortem::cli::ColorWhen;
    assert!(ColorWhen::Auto.enabled(true, None));
    assert!(ColorWhen::Auto.enabled(true, Some("")));
    assert!(!ColorWhen::Auto.enabled(true, Some("1")));
    assert!(!ColorWhen::Auto.enabled(false, None));
    assert!(ColorWhen::Always.enabled(false, Some("1")));
    assert!(!ColorWhen::Never.enabled(true, None));
}

#[test]
fn quiet_is_accepted_by_every_command_and_silences_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let o = postmortem(&["init", "-q"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    for cmd in [
        "report",
        "collect",
        "render",
        "check",
        "migrations",
        "init",
        "man",
    ] {
        let o = postmortem(&[cmd, "--quiet", "--help"], dir.path());
        assert_eq!(o.status.code(), Some(0), "{cmd} -q: {}", stderr(&o));
    }
}

#[test]
fn timeout_is_validated_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = postmortem(&["collect", "--timeout", "0"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--timeout"), "{}", stderr(&o));
    std::fs::write(dir.path().join("postmortem.yaml"), "timeout: 0\n").unwrap();
    let o = postmortem(&["collect"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("timeout"), "{}", stderr(&o));
    // A huge value in the file is refused like the flag's, not an overflow panic.
    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "timeout: 18446744073709551615\n",
    )
    .unwrap();
    let o = postmortem(&["collect"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("outside 1..=3600"), "{}", stderr(&o));
}
