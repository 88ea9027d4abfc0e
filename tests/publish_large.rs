//! Reports over the comment limit stored whole instead of split: a secret gist on GitHub with
//! `--gist`, a project upload on GitLab; the comment holds the summary sections and the link.

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
        gist: true,
        ..publish_options::options(to, api_url)
    }
}

/// A report shaped like the builtin one, with `evidence` lines of failure evidence.
fn report(evidence: usize, word: &str) -> String {
    let mut s = String::from(
        "# Render Deployment Failure Analysis: api\n\n**Status:** resolved\n\n## Executive Summary\n\nThe migration broke the deploy.\n\n## Failure Evidence\n\n",
    );
    for i in 0..evidence {
        s.push_str(&format!(
            "- {word} deploy {i} failed: exit status 1 after the migration ran.\n"
        ));
    }
    s.push_str("\n## Root Cause Analysis\n\n```python\n## not a heading: inside code\nop.create_table(\"deals\")\n```\n\n## Timeline (UTC)\n\n- 15:43 first failure\n");
    s
}

#[test]
fn github_gist_holds_the_whole_report_and_the_comment_its_summary() {
    let ticket = Ticket::with_others(1);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let opts = options("acme/api#7", &server.origin);
    let big = report(2_500, "first");
    assert!(big.chars().count() > 2 * tickets_api::GITHUB_LIMIT);

    let out = publish::publish(&big, &opts, &creds()).unwrap();
    let id = format!("{:032x}", 0xa1b2c3);
    assert_eq!(
        out.lines,
        [
            format!("created secret gist https://gist.github.com/postmortem-bot/{id} with the whole report ({} characters)", big.chars().count()),
            "created comment 1 of 1: https://github.com/acme/api/issues/7#issuecomment-5000".into(),
        ]
    );
    assert_eq!(
        server.lines(),
        [
            "GET /user",
            "GET /repos/acme/api/issues/7/comments?per_page=100",
            "POST /gists",
            "POST /repos/acme/api/issues/7/comments",
        ]
    );
    let gist = server.requests()[2].json();
    assert_eq!(gist["public"], false);
    assert_eq!(gist["description"], "Postmortem for acme/api#7");
    {
        let t = ticket.lock().unwrap();
        assert_eq!(t.gists.len(), 1);
        assert_eq!(t.gists[0].2, big, "the gist holds the whole report");
        let comment = &t.by("postmortem-bot")[0].body;
        let expected_head = format!(
            "<!-- postmortem:incident-42 -->\n<!-- postmortem-attachment:{id} -->\n> **The whole postmortem is in [a secret gist](https://gist.github.com/postmortem-bot/{id})**: at {} characters it is over the 65536-character limit of a GitHub comment. Below are its summary sections.\n\n# Render Deployment Failure Analysis: api\n\n**Status:** resolved\n\n## Executive Summary\n\nThe migration broke the deploy.\n\n## Root Cause Analysis\n\n```python\n## not a heading: inside code\nop.create_table(\"deals\")\n```\n\n",
            big.chars().count()
        );
        assert!(comment.starts_with(&expected_head), "{comment}");
        assert!(comment
            .ends_with("\n_Only in the whole postmortem: Failure Evidence, Timeline (UTC)._\n"));
    }

    // Again: the same gist and the same comment are updated.
    server.clear();
    let bigger = report(2_600, "second");
    let out = publish::publish(&bigger, &opts, &creds()).unwrap();
    assert!(
        out.lines[0].starts_with("updated secret gist"),
        "{:?}",
        out.lines
    );
    assert_eq!(
        server.lines(),
        [
            "GET /user".to_string(),
            "GET /repos/acme/api/issues/7/comments?per_page=100".into(),
            format!("PATCH /gists/{id}"),
            "PATCH /repos/acme/api/issues/comments/5000".into(),
        ]
    );
    let t = ticket.lock().unwrap();
    assert_eq!(t.gists.len(), 1);
    assert_eq!(t.gists[0].2, bigger);
    assert_eq!(t.by("postmortem-bot").len(), 1);
}

#[test]
fn without_gist_github_still_splits_and_a_later_gist_run_retires_the_parts() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let mut opts = options("acme/api#7", &server.origin);
    opts.gist = false;
    let big = report(2_500, "x");
    let out = publish::publish(&big, &opts, &creds()).unwrap();
    assert_eq!(out.lines.len(), 3);
    assert!(ticket.lock().unwrap().gists.is_empty());

    opts.gist = true;
    let out = publish::publish(&big, &opts, &creds()).unwrap();
    assert_eq!(out.lines.len(), 4, "{:?}", out.lines);
    assert!(out.lines[2].starts_with("marked comment 5001 (old part 2) unused"));
    let t = ticket.lock().unwrap();
    let ours = t.by("postmortem-bot");
    assert!(ours[0].body.contains("postmortem-attachment:"));
    assert!(ours[2]
        .body
        .contains("held part 3 of an earlier, longer version"));
}

#[test]
fn a_token_without_the_gist_scope_is_told_so() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    server.push_once(
        "POST",
        "/gists",
        tickets_api::Response::json(
            404,
            serde_json::json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/gists/gists#create-a-gist", "status": "404"}),
        ),
    );
    let e = publish::publish(
        &report(2_500, "x"),
        &options("acme/api#7", &server.origin),
        &creds(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("GitHub found no a secret gist (404"), "{e}");
    assert!(ticket.lock().unwrap().by("postmortem-bot").is_empty());
}

#[test]
fn gitlab_uploads_a_report_over_its_limit_and_links_it_from_the_note() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::gitlab(GL, "ops/app", 3, ticket.clone());
    let api = format!("{}/api/v4", server.origin);
    let huge = report(16_000, "long");
    assert!(huge.chars().count() > tickets_api::GITLAB_LIMIT);
    let mut opts = options("gitlab:ops/app#3", &api);
    opts.gist = false;
    let out = publish::publish(&huge, &opts, &creds()).unwrap();
    let secret = format!("{:032x}", 0x5ec7 + 1);
    assert_eq!(
        out.lines,
        [
            format!("uploaded the whole report ({} characters) to the project: /-/project/3/uploads/{secret}/postmortem.md", huge.chars().count()),
            "created note 1 of 1: id 5000".into(),
        ]
    );
    let notes = "/api/v4/projects/ops%2Fapp/issues/3/notes";
    assert_eq!(
        server.lines(),
        [
            "GET /api/v4/user".to_string(),
            format!("GET {notes}?sort=asc&per_page=100"),
            "POST /api/v4/projects/ops%2Fapp/uploads".into(),
            format!("POST {notes}"),
        ]
    );
    let upload = &server.requests()[2];
    assert_eq!(upload.header("private-token"), Some(GL));
    let t = ticket.lock().unwrap();
    assert_eq!(t.uploads.len(), 1);
    assert_eq!(t.uploads[0], huge, "the upload is the whole report");
    let note = &t.by("postmortem-bot")[0].body;
    assert!(note.contains(&format!(
        "> **The whole postmortem is in [postmortem.md](/uploads/{secret}/postmortem.md)**"
    )));
    assert!(note.chars().count() < 5_000);
    drop(t);

    // Again: a new upload (GitLab keeps files), the same note updated.
    server.clear();
    publish::publish(&huge, &opts, &creds()).unwrap();
    assert_eq!(
        server.lines()[2..],
        [
            "POST /api/v4/projects/ops%2Fapp/uploads".to_string(),
            format!("PUT {notes}/5000"),
        ]
    );
    assert_eq!(ticket.lock().unwrap().by("postmortem-bot").len(), 1);
}

#[test]
fn dry_run_with_gist_shows_the_plan_and_the_summary_comment() {
    let server = tickets_api::github(GH, "acme/api", 7, Ticket::with_others(0), true);
    let mut opts = options("acme/api#7", &server.origin);
    opts.dry_run = true;
    let out = publish::publish(&report(2_500, "dry"), &opts, &Credentials::default()).unwrap();
    assert!(server.requests().is_empty());
    insta::assert_snapshot!(
        "publish_gist_dry_run",
        out.lines.join("\n").replace(&server.origin, "http://API")
    );
}

#[test]
fn gist_is_refused_for_a_tracker_without_gists() {
    let mut opts = options("gitlab:ops/app#3", "http://127.0.0.1:9/api/v4");
    opts.dry_run = true;
    let e = publish::publish("# T\n", &opts, &creds())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "--gist is for GitHub tickets, not GitLab (gitlab:ops/app#3): GitLab, Jira and Linear store a report over their limit as a file by themselves"
    );
}
