//! `--to github:owner/repo` / `gitlab:group/project` (no number): a new issue titled from the
//! report, the report in its first comment, against the loopback GitHub and GitLab servers.

#[path = "support/publish_options.rs"]
mod publish_options;
#[path = "support/tickets_api.rs"]
mod tickets_api;

use postmortem::publish::{self, Credentials, Options, Secret, Token};
use tickets_api::Ticket;

const GH: &str = "ghp_test0000000000000000000000000000token";
const GL: &str = "glpat-test000000000000token";

fn creds() -> Credentials {
    Credentials {
        github: Some(Token {
            secret: Secret::new(GH),
            var: "GH_TOKEN",
        }),
        gitlab: Some(Token {
            secret: Secret::new(GL),
            var: "GITLAB_TOKEN",
        }),
        ..Credentials::default()
    }
}

fn options(to: &str, api_url: &str) -> Options {
    Options {
        key: publish::default_key(REPORT),
        ..publish_options::options(to, api_url)
    }
}

const REPORT: &str =
    "# Render Deployment Failure Analysis: api\n\n## Summary\n\nThe deploy failed.\n";

#[test]
fn github_repo_alone_opens_an_issue_whose_comment_later_runs_update() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 8, ticket.clone(), true);
    let out = publish::publish(
        REPORT,
        &options("github:acme/api", &server.origin),
        &creds(),
    )
    .unwrap();
    assert_eq!(
        out.lines,
        [
            "created issue https://github.com/acme/api/issues/8 (\"Render Deployment Failure Analysis: api\"); to update its comment later, publish with --to acme/api#8 (--to github:acme/api alone opens another issue)",
            "created comment 1 of 1: https://github.com/acme/api/issues/8#issuecomment-5000",
        ]
    );
    // No lookup on a brand-new issue: create it, then comment.
    assert_eq!(
        server.lines(),
        [
            "POST /repos/acme/api/issues",
            "POST /repos/acme/api/issues/8/comments"
        ]
    );
    let create = server.requests()[0].json();
    assert_eq!(create["title"], "Render Deployment Failure Analysis: api");
    assert_eq!(
        create["body"],
        "Postmortem written by `postmortem`: the report is in the comment below. Publishing again with `--to acme/api#<this issue's number>` updates that comment instead of adding another."
    );
    assert_eq!(
        create.as_object().unwrap().len(),
        2,
        "nothing else set: {create}"
    );
    for r in server.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {GH}").as_str())
        );
    }

    // The number given: the comment is found and updated.
    server.clear();
    let out = publish::publish(REPORT, &options("acme/api#8", &server.origin), &creds()).unwrap();
    assert_eq!(
        out.lines,
        ["updated comment 1 of 1: https://github.com/acme/api/issues/8#issuecomment-5000"]
    );
    // The repository alone again: another issue.
    publish::publish(
        REPORT,
        &options("github:acme/api", &server.origin),
        &creds(),
    )
    .unwrap();
    let t = ticket.lock().unwrap();
    assert_eq!(t.created.len(), 2);
    assert_eq!(t.by("postmortem-bot").len(), 2);
}

#[test]
fn gitlab_project_alone_opens_an_issue_with_the_report_in_a_note() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::gitlab(GL, "group/sub/project", 4, ticket.clone());
    let api = format!("{}/api/v4", server.origin);
    let out =
        publish::publish(REPORT, &options("gitlab:group/sub/project", &api), &creds()).unwrap();
    assert_eq!(
        out.lines,
        [
            "created issue https://gitlab.example.com/group/sub/project/-/issues/4 (\"Render Deployment Failure Analysis: api\"); to update its note later, publish with --to gitlab:group/sub/project#4 (--to gitlab:group/sub/project alone opens another issue)",
            "created note 1 of 1: id 5000",
        ]
    );
    assert_eq!(
        server.lines(),
        [
            "POST /api/v4/projects/group%2Fsub%2Fproject/issues",
            "POST /api/v4/projects/group%2Fsub%2Fproject/issues/4/notes"
        ]
    );
    let t = ticket.lock().unwrap();
    assert_eq!(t.created[0].0, "Render Deployment Failure Analysis: api");
    assert!(t.created[0]
        .1
        .contains("--to gitlab:group/sub/project#<this issue's number>"));
    assert!(t.by("postmortem-bot")[0]
        .body
        .ends_with("## Summary\n\nThe deploy failed.\n"));
}

#[test]
fn a_read_only_token_is_told_before_anything_is_made() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 8, ticket.clone(), false);
    let e = publish::publish(
        REPORT,
        &options("github:acme/api", &server.origin),
        &creds(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("refused POST on github:acme/api (403 Forbidden)"),
        "{e}"
    );
    assert!(ticket.lock().unwrap().created.is_empty());
}

#[test]
fn dry_run_shows_the_new_issue_then_its_comment() {
    let server = tickets_api::github(GH, "acme/api", 8, Ticket::with_others(0), true);
    let mut opts = options("github:acme/api", &server.origin);
    opts.dry_run = true;
    let out = publish::publish(REPORT, &opts, &Credentials::default()).unwrap();
    assert!(server.requests().is_empty());
    insta::assert_snapshot!(
        "publish_new_issue_dry_run",
        out.lines.join("\n").replace(&server.origin, "http://API")
    );
}

/// The issue is made, then its comment fails: the error names the issue and how to reach it,
/// so the next run updates it instead of opening another.
#[test]
fn a_failed_comment_on_the_new_issue_names_the_issue() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 8, ticket.clone(), true);
    server.push_once(
        "POST",
        "/comments",
        tickets_api::Response::json(422, serde_json::json!({"message": "Validation Failed"})),
    );
    let e = publish::publish(
        REPORT,
        &options("github:acme/api", &server.origin),
        &creds(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        ticket.lock().unwrap().created.len(),
        1,
        "the issue was made"
    );
    assert!(
        e.starts_with("publish: created issue https://github.com/acme/api/issues/8, but"),
        "{e}"
    );
    assert!(e.contains("publish again with --to acme/api#"), "{e}");
}
