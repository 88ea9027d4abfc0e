//! `postmortem report --publish TICKET`: the seed incident collected from a real git repository
//! and a loopback Render API, rendered, and put on a loopback ticket in one run.

#[path = "support/linear_api.rs"]
mod linear_api;
#[path = "support/render_api.rs"]
mod render_api;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/tickets_api.rs"]
mod tickets_api;

use clap::Parser;
use postmortem::app::{self, Status};
use postmortem::cli::Cli;
use postmortem::publish::{Credentials, Secret, Token};
use tickets_api::Ticket;

const LINEAR_KEY: &str = "lin_api_test0000000000000000000000000000000key";
const GH: &str = "ghp_test0000000000000000000000000000token";

struct Run {
    dir: tempfile::TempDir,
    _server: render_api::RunningFake,
    repo: std::path::PathBuf,
    url: String,
    now: chrono::DateTime<chrono::Utc>,
}

fn setup() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let seed = seed::build(&repo);
    let server = render_api::FakeRender {
        api_key: seed::API_KEY.to_string(),
        services: seed.render.services,
        deploys: seed.render.deploys,
        events: seed.render.events,
        logs: seed.render.logs,
        faults: render_api::Faults::default(),
    }
    .start();
    Run {
        url: server.url(),
        _server: server,
        repo,
        now: seed.now,
        dir,
    }
}

fn creds() -> Credentials {
    Credentials {
        linear: Some(Token {
            secret: Secret::new(LINEAR_KEY),
            var: "LINEAR_API_KEY",
        }),
        github: Some(Token {
            secret: Secret::new(GH),
            var: "GH_TOKEN",
        }),
        jira_token: Some(Token {
            secret: Secret::new("jira-test-token-0000"),
            var: "JIRA_API_TOKEN",
        }),
        jira_email: Some("oncall@example.com".into()),
        ..Credentials::default()
    }
}

/// `postmortem report … EXTRA -o OUT`; the report written, or the error.
fn report(r: &Run, extra: &[&str]) -> Result<(Status, String), String> {
    let out = r.dir.path().join("REPORT.md");
    let _ = std::fs::remove_file(&out);
    let mut args: Vec<String> = ["postmortem", "report"].map(String::from).to_vec();
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
    args.extend(extra.iter().map(|s| s.to_string()));
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    let status = app::run_with(cli, r.now, Some(seed::API_KEY.into()), creds())
        .map_err(|e| e.to_string())?;
    Ok((status, std::fs::read_to_string(out).unwrap_or_default()))
}

#[test]
fn report_publish_renders_and_publishes_then_updates_on_the_next_run() {
    let r = setup();
    let ticket = Ticket::with_others(1);
    let linear = linear_api::linear(LINEAR_KEY, "ENG-42", "uuid-1", ticket.clone(), true);
    let api = format!("{}/graphql", linear.origin);
    let publish = ["--publish", "linear:ENG-42", "--api-url", api.as_str()];

    let (status, written) = report(&r, &publish).unwrap();
    assert_eq!(status, Status::Ok);
    assert!(written.starts_with("# "), "{written}");
    let ours = ticket.lock().unwrap().by(linear_api::ME);
    assert_eq!(ours.len(), 1);
    // The comment is the report written to -o, then the footer.
    let (body, footer) = ours[0].body.rsplit_once("\n---\n").unwrap();
    assert_eq!(format!("{body}\n"), format!("{written}\n"));
    assert!(footer.starts_with("`postmortem:render-deployment-failure-analysis-ma-saas-backend`"));

    report(&r, &publish).unwrap();
    let ops: Vec<String> = linear
        .requests()
        .iter()
        .map(|q| {
            q.json()["operationName"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(
        ops,
        [
            "PostmortemComments",
            "PostmortemCommentCreate",
            "PostmortemComments",
            "PostmortemCommentUpdate"
        ]
    );
    assert_eq!(ticket.lock().unwrap().by(linear_api::ME).len(), 1);

    // --new adds one; --dry-run writes the report and sends nothing.
    let mut new = publish.to_vec();
    new.push("--new");
    report(&r, &new).unwrap();
    assert_eq!(ticket.lock().unwrap().by(linear_api::ME).len(), 2);
    linear.clear();
    let mut dry = publish.to_vec();
    dry.push("--dry-run");
    let (_, written) = report(&r, &dry).unwrap();
    assert!(written.starts_with("# "));
    assert!(linear.requests().is_empty());
}

#[test]
fn report_publish_refuses_what_it_cannot_publish_before_collecting() {
    let r = setup();
    let e = report(&r, &["--publish", "acme/api#7", "--format", "json"]).unwrap_err();
    assert!(
        e.contains("--publish puts the markdown report on the ticket"),
        "{e}"
    );
    let e = report(&r, &["--publish", "acme"]).unwrap_err();
    assert!(e.contains("--publish \"acme\": not a ticket"), "{e}");
    let e = report(&r, &["--new"]).unwrap_err();
    assert!(e.contains("--publish <TICKET>"), "{e}");
}

/// Jira shows a Mermaid block as source: `report --publish jira:…` leaves diagrams out unless
/// `--diagrams` says otherwise; the trackers that draw Mermaid keep them.
#[test]
fn report_publish_to_jira_leaves_the_diagrams_out_by_default() {
    let r = setup();
    let mermaid = "```mermaid";
    let jira = [
        "--publish",
        "jira:OPS-7",
        "--api-url",
        "http://127.0.0.1:9/rest/api/3",
        "--dry-run",
    ];
    let (_, written) = report(&r, &jira).unwrap();
    assert!(written.starts_with("# ") && !written.contains(mermaid));

    let mut forced = jira.to_vec();
    forced.extend(["--diagrams", "mermaid"]);
    let (_, written) = report(&r, &forced).unwrap();
    assert!(written.contains(mermaid));

    let linear = ["--publish", "linear:ENG-42", "--dry-run"];
    let (_, written) = report(&r, &linear).unwrap();
    assert!(written.contains(mermaid));
}
