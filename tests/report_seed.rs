//! The seed incident end to end: a real git repository, a loopback Render API, the real
//! pipeline. The report is snapshotted; the facts the seed postmortem got wrong are asserted.

#[path = "support/render_api.rs"]
mod render_api;
#[path = "support/seed.rs"]
mod seed;

use std::path::Path;

use clap::Parser;
use postmortem::app::{self, Status};
use postmortem::cli::Cli;

struct Run {
    _dir: tempfile::TempDir,
    _server: render_api::RunningFake,
    repo: std::path::PathBuf,
    url: String,
    now: chrono::DateTime<chrono::Utc>,
}

fn setup() -> Run {
    setup_with(render_api::Faults::default())
}

fn setup_with(faults: render_api::Faults) -> Run {
    setup_full(faults, |_| {})
}

fn setup_full(faults: render_api::Faults, edit: impl FnOnce(&mut seed::Seed)) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let mut seed = seed::build(&repo);
    edit(&mut seed);
    let server = render_api::FakeRender {
        api_key: seed::API_KEY.to_string(),
        services: seed.render.services,
        deploys: seed.render.deploys,
        events: seed.render.events,
        logs: seed.render.logs,
        faults,
    }
    .start();
    Run {
        url: server.url(),
        _server: server,
        repo,
        now: seed.now,
        _dir: dir,
    }
}

fn run(r: &Run, extra: &[&str]) -> (Status, String) {
    let out = r.repo.parent().unwrap().join(format!(
        "out-{}",
        extra.join("_").replace(['/', '-', '.'], "")
    ));
    let mut args: Vec<String> = vec!["postmortem".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(
        [
            "--repo",
            r.repo.to_str().unwrap(),
            "--service",
            seed::SERVICE_NAME,
            "--render-api-url",
            &r.url,
            "--now",
            "2025-11-10T18:15:00Z",
            "--quiet",
            "-o",
            out.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let status = app::run(Cli::parse_from(args), r.now, Some(seed::API_KEY.into())).unwrap();
    (status, std::fs::read_to_string(out).unwrap())
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

#[test]
fn seed_report_finds_the_facts_itself() {
    let r = setup();
    let (status, report) = run(&r, &["report"]);
    assert_eq!(status, Status::Ok, "{report}");

    // 14 failed deploys, all exit 1, in the table.
    let evidence = section(&report, "## Failure Evidence");
    let rows: Vec<&str> = evidence
        .lines()
        .filter(|l| l.starts_with("| `dep-"))
        .collect();
    assert_eq!(rows.len(), 14, "{evidence}");
    assert!(
        rows.iter()
            .all(|r| r.contains(r"update\_failed (start) | 1 | `evt-")),
        "{evidence}"
    );
    assert!(
        evidence.contains("14 with `\"nonZeroExit\": 1`"),
        "{evidence}"
    );

    // The root cause, at the foreign key's line, with the conversion that came too late.
    let root = section(&report, "## Root Cause Analysis");
    assert!(
        root.contains("36b3e62b4148_add_deals_and_pipeline_stages_tables.py"),
        "{root}"
    );
    assert!(root.contains("DatatypeMismatch"), "{root}");
    assert!(root.contains(":39"), "{root}");

    // The six phantom migrations, and nothing else, from the two "fix" commits.
    let attempts = section(&report, "## Previous Fix Attempts");
    for id in [
        "3a15202c7dc2",
        "0cbf1e0e3ab5",
        "dc2c0f69c1b1",
        "9a3aba324f7f",
        "e19f4551fcb0",
        "f5b6c2c9d4f2",
    ] {
        assert!(attempts.contains(id), "{id} missing:\n{attempts}");
    }
    assert!(!attempts.contains("36b3e62b4148`: never"), "{attempts}");

    // Where the seed was wrong: the checklist names the real head, never a phantom.
    let checklist = section(&report, "## Verification Checklist");
    assert!(checklist.contains("`36b3e62b4148 (head)`"), "{checklist}");
    assert!(!checklist.contains("dc2c0f69c1b1"), "{checklist}");

    // The failure point in the deploy: the entrypoint line that ran the upgrade, found from
    // the Dockerfile's ENTRYPOINT, and the script among the related files.
    assert!(
        evidence.contains(
            "**Failure point**: `backend/entrypoint.sh:39`: `alembic upgrade head` (run by the Render service's dockerCommand)"
        ),
        "{evidence}"
    );
    assert!(
        section(&report, "## Related Files").contains("- `backend/entrypoint.sh`"),
        "{report}"
    );

    assert!(!report.contains(seed::API_KEY));
    insta::assert_snapshot!("seed_report", report);
}

/// Words a reader meets before opening any collapsed section.
fn words_outside_details(report: &str) -> usize {
    let mut words = 0;
    let mut rest = report;
    while let Some(open) = rest.find("<details>") {
        words += rest[..open].split_whitespace().count();
        rest = rest[open..]
            .find("</details>")
            .map_or("", |close| &rest[open + close + "</details>".len()..]);
    }
    words + rest.split_whitespace().count()
}

/// The hand-written seed postmortem (`shared/reference/seed-postmortem.md`) has 1,305 words
/// (`wc -w`). Ours says more facts and corrects two of its mistakes; outside the collapsed
/// sections it must not be longer, and the first screen is the summary and the fix.
#[test]
fn seed_report_is_no_longer_than_the_hand_written_one() {
    const HAND_WRITTEN_WORDS: usize = 1_305;
    let r = setup();
    let (_, report) = run(&r, &["report"]);
    let words = words_outside_details(&report);
    assert!(
        words <= HAND_WRITTEN_WORDS,
        "{words} words outside <details>, more than the hand-written {HAND_WRITTEN_WORDS}:\n{report}"
    );
    let headings: Vec<&str> = report.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings[..3],
        [
            "## Executive Summary",
            "## Recommended Fix",
            "## Verification Checklist"
        ],
        "{headings:?}"
    );

    // Fourteen identical failures are one timeline row; each deploy's event is on its row.
    let timeline = section(&report, "## Timeline (UTC)");
    let rows: Vec<&str> = timeline.lines().filter(|l| l.starts_with("| 20")).collect();
    assert!(rows.len() <= 6, "{timeline}");
    let group = rows
        .iter()
        .find(|r| r.contains("14 deploys of 12 commits failed the same way"))
        .unwrap_or_else(|| panic!("{timeline}"));
    assert!(
        group.starts_with("| 2025-11-10 15:43:08–18:06:14 |"),
        "{group}"
    );
    assert!(!timeline.contains("event deploy\\_ended"), "{timeline}");

    // Each phantom commit's SHA, date and message once; no table repeating the summary.
    assert_eq!(report.matches("2025-11-10 16:19:51").count(), 1, "{report}");
    assert!(!report.contains("## Other Findings"), "{report}");

    // Lessons generalise and never restate the fix (no line numbers, no operations).
    let lessons = section(&report, "## Lessons Learned");
    assert!(lessons.contains("`postmortem check` in CI"), "{lessons}");
    assert!(lessons.contains("PostgreSQL in CI"), "{lessons}");
    assert!(lessons.contains("`2b4c371`, `42a89ce`"), "{lessons}");
    for restated in ["line ", "ALTER TABLE", "Move "] {
        assert!(!lessons.contains(restated), "{restated}: {lessons}");
    }
}

#[test]
fn words_outside_details_skip_every_collapsed_section() {
    assert_eq!(
        words_outside_details("a b <details>c d</details> e\n<details>\nf\n</details>\ng"),
        4
    );
    assert_eq!(words_outside_details("a <details> b c"), 1);
}

#[test]
fn collect_then_render_offline_gives_the_same_report() {
    let r = setup();
    let (_, direct) = run(&r, &["report"]);
    let (_, evidence) = run(&r, &["collect"]);
    assert!(!evidence.contains(seed::API_KEY));
    let snapshot = r.repo.parent().unwrap().join("evidence.json");
    std::fs::write(&snapshot, &evidence).unwrap();
    let out = r.repo.parent().unwrap().join("rendered.md");
    let cli = Cli::parse_from([
        "postmortem",
        "render",
        snapshot.to_str().unwrap(),
        "--now",
        "2025-11-10T18:15:00Z",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(app::run(cli, r.now, None).unwrap(), Status::Ok);
    assert_eq!(std::fs::read_to_string(out).unwrap(), direct);

    // `publish` takes the snapshot too, and sends what `report` wrote (here: what it would send).
    let publish = std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args([
            "publish",
            snapshot.to_str().unwrap(),
            "--to",
            "acme/api#7",
            "--dry-run",
            "--now",
            "2025-11-10T18:15:00Z",
        ])
        .env_remove("POSTMORTEM_PUBLISH_API_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(publish.stdout).unwrap();
    let body = stdout
        .split_once("<!-- postmortem:render-deployment-failure-analysis-ma-saas-backend -->\n")
        .expect("one marked body")
        .1;
    assert_eq!(body, direct);

    // The snapshot round-trips through the model unchanged.
    let parsed = app::read_evidence(Path::new(&snapshot)).unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&parsed).unwrap() + "\n",
        evidence
    );
}

#[test]
fn same_inputs_same_bytes() {
    let a = setup();
    let b = setup();
    assert_eq!(run(&a, &["report"]).1, run(&b, &["report"]).1);
}

/// `docs/template-context.json` documents what a custom template can use; it is the seed's
/// context, regenerated with `UPDATE_DOCS=1 cargo test --test report_seed`.
#[test]
fn documented_template_context_is_current() {
    let r = setup();
    let (_, context) = run(&r, &["report", "--format", "context"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/template-context.json");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &context).unwrap();
    }
    let documented = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        documented == context,
        "docs/template-context.json is stale: run `UPDATE_DOCS=1 cargo test --test report_seed`"
    );
}

#[test]
fn a_custom_template_renders_against_the_same_context() {
    let r = setup();
    let template = r.repo.parent().unwrap().join("mine.md.tera");
    std::fs::write(
        &template,
        "{{ view.counts.failed }} failed; root cause {{ view.root_finding.rule }} at \
         {{ view.root_finding.file }}:{{ view.root_finding.line }}; {{ view.phantoms | length }} phantom commits\n",
    )
    .unwrap();
    let (_, out) = run(&r, &["report", "--template", template.to_str().unwrap()]);
    assert_eq!(
        out,
        "14 failed; root cause fk-type-mismatch at \
         backend/alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py:39; 2 phantom commits\n"
    );

    std::fs::write(&template, "{{ view.no_such_field }}").unwrap();
    let out = r.repo.parent().unwrap().join("never.md");
    let cli = Cli::parse_from([
        "postmortem",
        "report",
        "--repo",
        r.repo.to_str().unwrap(),
        "--service",
        seed::SERVICE_NAME,
        "--render-api-url",
        &r.url,
        "--quiet",
        "--template",
        template.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = app::run(cli, r.now, Some(seed::API_KEY.into()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_field"), "{err}");
}

/// A server that answers 429 with `Retry-After: 1` forever: `--timeout 1` gives the run 3 s of
/// waits in all, the report is written after them, and its gaps name the spent budget.
#[test]
fn a_429_forever_is_waited_out_within_the_budget_timeout_sets() {
    let r = setup_with(render_api::Faults {
        rate_limit_always: vec![format!("/v1/services/{}/events", seed::SERVICE_ID)],
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let (status, report) = run(&r, &["report", "--timeout", "1"]);
    let took = started.elapsed();
    assert_eq!(status, Status::Partial);
    let gaps = section(&report, "## Gaps and Redactions");
    assert!(
        gaps.contains("render.events")
            && gaps.contains("HTTP 429")
            && gaps.contains("wait budget of 3 s")
            && gaps.contains("--timeout"),
        "{gaps}"
    );
    // Three waits of 1 s, then the fourth would pass the budget: not begun.
    assert!(
        took >= std::time::Duration::from_secs(3) && took < std::time::Duration::from_secs(20),
        "{took:?}"
    );
}

/// Render's events stay unavailable: the report is still written, says what is missing and
/// why, and the exit status says it is partial.
#[test]
fn an_unavailable_source_gives_a_partial_report_that_says_so() {
    let r = setup_with(render_api::Faults {
        always_unavailable: vec![format!("/v1/services/{}/events", seed::SERVICE_ID)],
        ..Default::default()
    });
    let (status, report) = run(&r, &["report"]);
    assert_eq!(status, Status::Partial);
    assert_eq!(status.code(), 3);
    let gaps = section(&report, "## Gaps and Redactions");
    assert!(
        gaps.contains("render.events") && gaps.contains("503"),
        "{gaps}"
    );
    // The logs and the migration analysis still carry the root cause.
    assert!(report.contains("DatatypeMismatch"));
    assert!(report.contains("fk-type-mismatch"));
}

/// Credentials in collected logs and deploy commit messages are replaced before anything is
/// stored, and the report says how many of each kind.
#[test]
fn secrets_in_logs_and_messages_never_reach_the_evidence() {
    const DB_PASSWORD: &str = "hunter2-Sup3rSecret";
    const LEAKED_KEY: &str = "rnd_LeakedKeyInALogLine0000000";
    let r = setup_full(Default::default(), |seed| {
        let log = seed.render.logs[3].as_object_mut().unwrap();
        log.insert(
            "message".into(),
            serde_json::json!(format!(
                "==> DATABASE_URL=postgresql://app:{DB_PASSWORD}@db.internal:5432/app key={LEAKED_KEY}"
            )),
        );
        seed.render.services[0]["serviceDetails"]["envSpecificDetails"]["dockerCommand"] = serde_json::json!(
            format!("sh -c 'DATABASE_URL=postgresql://app:{DB_PASSWORD}@db/app ./entrypoint.sh'")
        );
        seed.render.events[5]["details"]["note"] =
            serde_json::json!(format!("retried with token {LEAKED_KEY}"));
        let deploy = seed.render.deploys[2].as_object_mut().unwrap();
        deploy["commit"]["message"] =
            serde_json::json!(format!("hotfix\n\nAuthorization: Bearer {LEAKED_KEY}"));
    });
    let (_, evidence) = run(&r, &["collect"]);
    let (_, report) = run(&r, &["report"]);
    for secret in [DB_PASSWORD, LEAKED_KEY, seed::API_KEY] {
        assert!(
            !evidence.contains(secret),
            "{secret} stored in the evidence"
        );
        assert!(!report.contains(secret), "{secret} printed in the report");
    }
    let json: serde_json::Value = serde_json::from_str(&evidence).unwrap();
    assert!(
        json["redactions"]["database-url-password"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert!(json["redactions"]["render-api-key"].as_u64().unwrap() >= 2);
    assert!(section(&report, "## Gaps and Redactions").contains("`render-api-key`"));
}

/// The paging spinner draws only when stderr is a terminal, and erases its line when done.
/// util-linux `script` (Debian's essential bsdutils) gives the binary a pseudo-terminal.
#[test]
fn progress_draws_only_on_a_terminal_and_erases_itself() {
    let r = setup();
    let out = r.repo.parent().unwrap().join("evidence-tty.json");
    let args = [
        "collect",
        "--repo",
        r.repo.to_str().unwrap(),
        "--service",
        seed::SERVICE_ID,
        "--render-api-url",
        &r.url,
        "-o",
        out.to_str().unwrap(),
    ];
    let bin = env!("CARGO_BIN_EXE_postmortem");
    let piped = std::process::Command::new(bin)
        .args(args)
        .env("RENDER_API_KEY", seed::API_KEY)
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("Render:"));

    let command = std::iter::once(bin)
        .chain(args)
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let tty = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("RENDER_API_KEY", seed::API_KEY)
        .output()
        .expect("util-linux `script` runs");
    assert_eq!(
        tty.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&tty.stdout)
    );
    let screen = String::from_utf8_lossy(&tty.stdout);
    let drawn = screen
        .rfind("Render: ")
        .expect("the spinner was drawn on the terminal");
    assert!(
        screen[drawn..].contains("\r\x1b[2K"),
        "the spinner line was not erased: {screen:?}"
    );
    assert!(!screen.contains(seed::API_KEY));
}

/// `--diagrams none` leaves Mermaid out, for trackers that show it as source (Jira); the
/// default draws it, and `render` takes the same option.
#[test]
fn diagrams_can_be_left_out() {
    let r = setup();
    let (_, with) = run(&r, &["report"]);
    assert_eq!(with.matches("```mermaid").count(), 2, "{with}");
    let (_, without) = run(&r, &["report", "--diagrams", "none"]);
    assert!(!without.contains("mermaid"), "{without}");
    assert!(!without.contains("## Migration Graph"), "{without}");
    // Nothing else changes.
    assert!(
        without.contains("## Failure Evidence") && without.contains("14 deploys of 12 commits")
    );

    let (_, evidence) = run(&r, &["collect"]);
    let snapshot = r.repo.parent().unwrap().join("evidence-diagrams.json");
    std::fs::write(&snapshot, &evidence).unwrap();
    let out = r.repo.parent().unwrap().join("rendered-none.md");
    let cli = Cli::parse_from([
        "postmortem",
        "render",
        snapshot.to_str().unwrap(),
        "--diagrams",
        "none",
        "--now",
        "2025-11-10T18:15:00Z",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(app::run(cli, r.now, None).unwrap(), Status::Ok);
    assert_eq!(std::fs::read_to_string(out).unwrap(), without);
}

/// The service's command names a script the repository does not hold: the report says so in
/// its gaps and names no script line, instead of guessing one.
#[test]
fn a_start_script_missing_from_the_repository_is_a_gap() {
    let r = setup_full(Default::default(), |seed| {
        seed.render.services[0]["serviceDetails"]["envSpecificDetails"]["dockerCommand"] =
            serde_json::json!("./start.sh");
    });
    let (_, report) = run(&r, &["report"]);
    let gaps = section(&report, "## Gaps and Redactions");
    assert!(
        gaps.contains("- `deploy-scripts`: render:dockerCommand: runs `./start.sh`, which is not in the repository: the commands it runs are not known"),
        "{gaps}"
    );
    assert!(!report.contains("entrypoint.sh:39"), "{report}");
    assert!(
        report.contains("- **Failure point**: `alembic upgrade` of `a1b2c3d4e5f6 -> 36b3e62b4148`"),
        "{report}"
    );
}
