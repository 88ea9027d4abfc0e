//! `postmortem publish` against loopback servers that behave like GitHub's and GitLab's APIs:
//! the exact requests made, the comment found again and updated, parts over the size limit,
//! rate limits, the 401/403/404 messages, and a token that never follows a redirect.

#[path = "support/publish_options.rs"]
mod publish_options;
#[path = "support/tickets_api.rs"]
mod tickets_api;

use publish_options::{clock, options};
use std::time::Duration;

use postmortem::publish::{self, Credentials, Secret, Token};
use tickets_api::{Response, Ticket};

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

fn report(lines: usize, word: &str) -> String {
    let mut s = String::from("# Render Deployment Failure Analysis: api\n\n## Summary\n\n");
    for i in 0..lines {
        s.push_str(&format!(
            "- {word} fact {i}: the deploy failed because of a migration.\n"
        ));
    }
    s
}

#[test]
fn github_first_publish_creates_and_the_second_updates_the_same_comment() {
    let ticket = Ticket::with_others(3);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let opts = options("acme/api#7", &server.origin);

    let out = publish::publish(&report(3, "first"), &opts, &creds()).unwrap();
    assert_eq!(
        out.lines,
        ["created comment 1 of 1: https://github.com/acme/api/issues/7#issuecomment-5000"]
    );
    // Three colleagues' comments, served two a page: two GETs, then one POST.
    assert_eq!(
        server.lines(),
        [
            "GET /user",
            "GET /repos/acme/api/issues/7/comments?per_page=100",
            "GET /repos/acme/api/issues/7/comments?per_page=2&page=2",
            "POST /repos/acme/api/issues/7/comments",
        ]
    );
    for r in server.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {GH}").as_str())
        );
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(r.header("user-agent").unwrap().starts_with("postmortem/"));
    }
    let ours = ticket.lock().unwrap().by("postmortem-bot");
    assert_eq!(ours.len(), 1);
    assert!(ours[0]
        .body
        .starts_with("<!-- postmortem:incident-42 -->\n# Render"));

    server.clear();
    let out = publish::publish(&report(3, "second"), &opts, &creds()).unwrap();
    assert_eq!(
        out.lines,
        ["updated comment 1 of 1: https://github.com/acme/api/issues/7#issuecomment-5000"]
    );
    assert_eq!(
        server.lines(),
        [
            "GET /user",
            "GET /repos/acme/api/issues/7/comments?per_page=100",
            "GET /repos/acme/api/issues/7/comments?per_page=2&page=2",
            "PATCH /repos/acme/api/issues/comments/5000",
        ]
    );
    let t = ticket.lock().unwrap();
    let ours = t.by("postmortem-bot");
    assert_eq!(ours.len(), 1);
    assert!(ours[0].body.contains("second fact 2"));
    assert_eq!(
        t.comments.len(),
        4,
        "the colleagues' comments are untouched"
    );
    assert!(t.comments[..3]
        .iter()
        .all(|c| c.body.contains("by a colleague")));
}

#[test]
fn new_forces_a_second_comment_and_another_key_is_left_alone() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let mut opts = options("https://github.com/acme/api/issues/7", &server.origin);
    publish::publish(&report(2, "a"), &opts, &creds()).unwrap();
    opts.new = true;
    server.clear();
    publish::publish(&report(2, "b"), &opts, &creds()).unwrap();
    assert_eq!(server.lines(), ["POST /repos/acme/api/issues/7/comments"]);
    opts.new = false;
    opts.key = "another-incident".into();
    publish::publish(&report(2, "c"), &opts, &creds()).unwrap();
    let t = ticket.lock().unwrap();
    assert_eq!(t.by("postmortem-bot").len(), 3);
    assert!(
        t.comments[0].body.contains("a fact 1"),
        "the first key's comment is unchanged"
    );
}

#[test]
fn over_the_limit_the_report_goes_in_numbered_comments_that_update_together() {
    let ticket = Ticket::with_others(1);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let opts = options("acme/api#7", &server.origin);
    let big = report(2_500, "long"); // ~150,000 characters
    assert!(big.chars().count() > 2 * tickets_api::GITHUB_LIMIT);

    let out = publish::publish(&big, &opts, &creds()).unwrap();
    assert_eq!(out.lines.len(), 3, "{:?}", out.lines);
    assert_eq!(
        server.lines()[2..],
        [
            "POST /repos/acme/api/issues/7/comments",
            "POST /repos/acme/api/issues/7/comments",
            "POST /repos/acme/api/issues/7/comments",
        ]
    );
    let ours = ticket.lock().unwrap().by("postmortem-bot");
    let mut rebuilt = String::new();
    for (i, c) in ours.iter().enumerate() {
        assert!(c.body.chars().count() <= tickets_api::GITHUB_LIMIT);
        let head = format!(
            "<!-- postmortem:incident-42 part={}/3 -->\n_Postmortem, part {} of 3._\n\n",
            i + 1,
            i + 1
        );
        rebuilt.push_str(c.body.strip_prefix(&head).expect("numbered marker"));
    }
    assert_eq!(rebuilt, big, "nothing cut, nothing added");

    server.clear();
    publish::publish(&report(2_400, "longer"), &opts, &creds()).unwrap();
    let lines = server.lines();
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "PATCH /repos/acme/api/issues/comments/5000",
            "PATCH /repos/acme/api/issues/comments/5001",
            "PATCH /repos/acme/api/issues/comments/5002",
        ]
    );

    // Short again: part 1 takes the whole report, the old parts say they are unused.
    server.clear();
    let out = publish::publish(&report(5, "short"), &opts, &creds()).unwrap();
    assert_eq!(out.lines.len(), 3, "{:?}", out.lines);
    let t = ticket.lock().unwrap();
    let ours = t.by("postmortem-bot");
    assert_eq!(ours.len(), 3);
    assert!(ours[0]
        .body
        .starts_with("<!-- postmortem:incident-42 -->\n"));
    assert!(ours[1]
        .body
        .contains("held part 2 of an earlier, longer version"));
}

#[test]
fn gitlab_first_publish_creates_and_the_second_updates_the_same_note() {
    let ticket = Ticket::with_others(2);
    ticket.lock().unwrap().comments.push(tickets_api::Comment {
        id: 1100,
        body: "<!-- postmortem:incident-42 --> changed the description".into(),
        author: "colleague".into(),
        system: true,
    });
    let server = tickets_api::gitlab(GL, "group/sub/project", 12, ticket.clone());
    let opts = options(
        "gitlab:group/sub/project#12",
        &format!("{}/api/v4", server.origin),
    );

    let out = publish::publish(&report(3, "first"), &opts, &creds()).unwrap();
    assert_eq!(out.lines, ["created note 1 of 1: id 5000"]);
    let notes = "/api/v4/projects/group%2Fsub%2Fproject/issues/12/notes";
    assert_eq!(
        server.lines(),
        [
            "GET /api/v4/user".to_string(),
            format!("GET {notes}?sort=asc&per_page=100"),
            format!("GET {notes}?sort=asc&per_page=100&page=2"),
            format!("POST {notes}"),
        ]
    );
    for r in server.requests() {
        assert_eq!(r.header("private-token"), Some(GL));
        assert_eq!(r.header("authorization"), None);
    }
    server.clear();
    let out = publish::publish(&report(3, "second"), &opts, &creds()).unwrap();
    assert_eq!(out.lines, ["updated note 1 of 1: id 5000"]);
    assert_eq!(
        server.lines(),
        [
            "GET /api/v4/user".to_string(),
            format!("GET {notes}?sort=asc&per_page=100"),
            format!("GET {notes}?sort=asc&per_page=100&page=2"),
            format!("PUT {notes}/5000"),
        ]
    );
    let t = ticket.lock().unwrap();
    assert!(t.by("postmortem-bot")[0].body.contains("second fact"));
    assert!(t.comments[2].system && t.comments[2].body.contains("changed the description"));
}

#[test]
fn gitlab_takes_a_large_report_in_one_note() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::gitlab(GL, "ops/app", 3, ticket.clone());
    let opts = options("gitlab:ops/app#3", &format!("{}/api/v4", server.origin));
    publish::publish(&report(2_500, "long"), &opts, &creds()).unwrap();
    assert_eq!(ticket.lock().unwrap().by("postmortem-bot").len(), 1);
}

fn error(to: &str, server_url: &str, creds: &Credentials) -> String {
    publish::publish(&report(2, "x"), &options(to, server_url), creds)
        .unwrap_err()
        .to_string()
}

#[test]
fn rejected_token_missing_permission_and_wrong_ticket_are_told_apart() {
    let ticket = Ticket::with_others(0);
    let rw = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let ro = tickets_api::github(GH, "acme/api", 7, ticket, false);

    let mut bad = creds();
    bad.github.as_mut().unwrap().secret = Secret::new("ghp_wrongwrongwrongwrong");
    let e = error("acme/api#7", &rw.origin, &bad);
    assert!(
        e.contains("rejected the token in GH_TOKEN/GITHUB_TOKEN (401"),
        "{e}"
    );
    assert!(e.contains("Bad credentials"), "{e}");
    assert!(!e.contains("ghp_wrong"), "{e}");

    let e = error("acme/api#7", &ro.origin, &creds());
    assert!(e.contains("lacks permission"), "{e}");
    assert!(e.contains("403 Forbidden"), "{e}");
    assert!(
        e.contains("Resource not accessible by personal access token"),
        "{e}"
    );

    let e = error("acme/api#8", &rw.origin, &creds());
    assert!(e.contains("404 Not Found"), "{e}");
    assert!(e.contains("GitHub answers 404 for both"), "{e}");

    let gl = tickets_api::gitlab(GL, "ops/app", 3, Ticket::with_others(0));
    let e = error(
        "gitlab:ops/other#3",
        &format!("{}/api/v4", gl.origin),
        &creds(),
    );
    assert!(e.contains("GitLab answers 404 for both"), "{e}");
    assert!(e.contains("404 Project Not Found"), "{e}");

    assert!(!e.contains(GH) && !e.contains(GL));
}

#[test]
fn a_missing_token_names_the_variables() {
    let e = publish::publish(
        "# T\n",
        &options("acme/api#7", "http://127.0.0.1:9"),
        &Credentials::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "publishing to GitHub needs a token: set GH_TOKEN or GITHUB_TOKEN"
    );
}

#[test]
fn a_validation_failure_says_what_the_server_said() {
    let server = tickets_api::github(GH, "acme/api", 7, Ticket::with_others(0), true);
    server.push_once(
        "POST",
        "/comments",
        Response::json(
            422,
            serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": "Body is too long (maximum is 65536 characters)"}]}),
        ),
    );
    let e = error("acme/api#7", &server.origin, &creds());
    assert!(e.contains("refused POST"), "{e}");
    assert!(
        e.contains("Validation Failed; Body is too long (maximum is 65536 characters)"),
        "{e}"
    );
}

#[test]
fn rate_limits_are_waited_out_within_the_budget_then_a_clear_error() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    // GitHub's secondary limit: 403 with retry-after.
    server.push_once(
        "POST",
        "/comments",
        Response::json(
            403,
            serde_json::json!({"message": "You have exceeded a secondary rate limit."}),
        )
        .with("retry-after", "1"),
    );
    publish::publish(
        &report(2, "x"),
        &options("acme/api#7", &server.origin),
        &creds(),
    )
    .unwrap();
    assert_eq!(
        server.lines(),
        [
            "GET /user",
            "GET /repos/acme/api/issues/7/comments?per_page=100",
            "POST /repos/acme/api/issues/7/comments",
            "POST /repos/acme/api/issues/7/comments",
        ]
    );
    assert_eq!(ticket.lock().unwrap().by("postmortem-bot").len(), 1);

    // Primary limit exhausted for an hour: more than the 5 s budget, so no wait at all.
    let reset = (clock().timestamp() + 3600).to_string();
    server.push_once(
        "GET",
        "/comments",
        Response::json(
            403,
            serde_json::json!({"message": "API rate limit exceeded for user ID 1."}),
        )
        .with("x-ratelimit-remaining", "0")
        .with("x-ratelimit-reset", &reset),
    );
    let started = std::time::Instant::now();
    let e = error("acme/api#7", &server.origin, &creds());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(e.contains("rate limited (403)"), "{e}");
    assert!(e.contains("--max-wait 5"), "{e}");

    // GitLab: 429 with RateLimit-Reset and Retry-After, as its rack-attack throttle answers.
    let gl = tickets_api::gitlab(GL, "ops/app", 3, Ticket::with_others(0));
    gl.push_once(
        "POST",
        "/notes",
        Response {
            status: 429,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: "Retry later\n".into(),
        }
        .with("retry-after", "1")
        .with("ratelimit-reset", &(clock().timestamp() + 1).to_string()),
    );
    publish::publish(
        &report(2, "x"),
        &options("gitlab:ops/app#3", &format!("{}/api/v4", gl.origin)),
        &creds(),
    )
    .unwrap();
    assert_eq!(
        gl.lines().iter().filter(|l| l.starts_with("POST")).count(),
        2
    );
}

#[test]
fn a_redirect_to_another_host_does_not_carry_the_token() {
    let elsewhere = tickets_api::github(GH, "acme/api", 7, Ticket::with_others(0), true);
    for (to, base, path) in [
        ("acme/api#7", "", "/repos/acme/api/issues/7/comments"),
        (
            "gitlab:acme/api#7",
            "/api/v4",
            "/api/v4/projects/acme%2Fapi/issues/7/notes",
        ),
    ] {
        let target = format!("{}{path}", elsewhere.origin);
        let redirecting = tickets_api::Server::start(Box::new(move |_, _| Response {
            status: 307,
            headers: vec![("location".into(), target.clone())],
            body: String::new(),
        }));
        let e = error(to, &format!("{}{base}", redirecting.origin), &creds());
        assert!(e.contains("was redirected (307)"), "{e}");
        assert!(e.contains("the token was not sent there"), "{e}");
        assert_eq!(redirecting.requests().len(), 1);
    }
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.lines());
}

#[test]
fn a_next_page_link_to_another_host_is_refused() {
    let elsewhere = tickets_api::github(GH, "acme/api", 7, Ticket::with_others(0), true);
    let next = format!("<{}/steal?page=2>; rel=\"next\"", elsewhere.origin);
    let server = tickets_api::Server::start(Box::new(move |_, _| {
        Response::json(200, serde_json::json!([])).with("link", &next)
    }));
    let e = error("acme/api#7", &server.origin, &creds());
    assert!(e.contains("refusing to send the token"), "{e}");
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn every_body_is_redacted_before_it_is_sent() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let planted = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let text = format!("# T\n\nThe log said GITHUB_TOKEN={planted} at boot.\n");
    publish::publish(&text, &options("acme/api#7", &server.origin), &creds()).unwrap();
    let sent = server.requests().last().unwrap().body.clone();
    assert!(!sent.contains(planted), "{sent}");
    assert!(sent.contains("[REDACTED:github-token]"), "{sent}");
}

fn binary(args: &[&str], cwd: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"));
    cmd.args(args).current_dir(cwd);
    for var in [
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "GH_ENTERPRISE_TOKEN",
        "GITHUB_ENTERPRISE_TOKEN",
        "GH_HOST",
        "GITLAB_TOKEN",
        "GITLAB_ACCESS_TOKEN",
        "LINEAR_API_KEY",
        "POSTMORTEM_PUBLISH_API_URL",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn dry_run_prints_the_requests_and_bodies_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("REPORT.md"), report(3, "dry")).unwrap();
    let server = tickets_api::github(GH, "acme/api", 7, Ticket::with_others(0), true);
    let api = server.origin.clone();
    let out = binary(
        &[
            "publish",
            "REPORT.md",
            "--to",
            "acme/api#7",
            "--dry-run",
            "--api-url",
            &api,
        ],
        dir.path(),
        &[("GH_TOKEN", GH)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains(GH));
    assert!(server.requests().is_empty());
    insta::assert_snapshot!("publish_dry_run", stdout.replace(&api, "http://API"));
}

#[test]
fn the_config_file_names_the_tracker_for_a_bare_key_and_the_api_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("REPORT.md"), "# T\n").unwrap();
    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "publish:\n  tracker: jira\n",
    )
    .unwrap();
    let out = binary(&["publish", "REPORT.md", "--to", "OPS-7"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Jira is chosen; it has no default site to send to.
    assert!(stderr.contains("Jira has no default site"), "{stderr}");

    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "publish:\n  tracker: gitlab\n  api_url: https://gitlab.example.com/api/v4\n",
    )
    .unwrap();
    let out = binary(
        &[
            "publish",
            "REPORT.md",
            "--to",
            "gitlab:ops/app#3",
            "--dry-run",
        ],
        dir.path(),
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("POST https://gitlab.example.com/api/v4/projects/ops%2Fapp/issues/3/notes"),
        "{stdout}"
    );
    // The GitLab host is not where a GitHub ticket's token goes.
    let out = binary(
        &["publish", "REPORT.md", "--to", "acme/api#7", "--dry-run"],
        dir.path(),
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("POST https://api.github.com/repos/acme/api/issues/7/comments"),
        "{stdout}"
    );

    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "publish:\n  tracker: bugzilla\n",
    )
    .unwrap();
    let out = binary(&["publish", "REPORT.md", "--to", "OPS-7"], dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("publish.tracker: \"bugzilla\" is not one of"),
        "{stderr}"
    );

    std::fs::remove_file(dir.path().join("postmortem.yaml")).unwrap();
    let out = binary(&["publish", "REPORT.md", "--to", "OPS-7"], dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("write jira:OPS-7 or linear:OPS-7"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("EMPTY.md"), "\n").unwrap();
    let out = binary(
        &["publish", "EMPTY.md", "--to", "acme/api#7"],
        dir.path(),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("EMPTY.md: the file is empty: nothing to publish"),
        "{stderr}"
    );
}

#[test]
fn help_lists_the_token_variables() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(&["publish", "--help"], dir.path(), &[]);
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "GITLAB_TOKEN",
        "GITLAB_ACCESS_TOKEN",
        "JIRA_API_TOKEN",
        "JIRA_USER_EMAIL",
        "LINEAR_API_KEY",
        "GH_ENTERPRISE_TOKEN",
        "GITHUB_ENTERPRISE_TOKEN",
        "GH_HOST",
        "POSTMORTEM_PUBLISH_API_URL",
    ] {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
}

#[test]
fn a_colleagues_comment_with_our_marker_is_never_updated() {
    let ticket = Ticket::with_others(1);
    ticket.lock().unwrap().comments[0].body =
        "<!-- postmortem:incident-42 -->\nmy own notes, pasted from the last postmortem".into();
    let server = tickets_api::github(GH, "acme/api", 7, ticket.clone(), true);
    let opts = options("acme/api#7", &server.origin);
    publish::publish(&report(2, "x"), &opts, &creds()).unwrap();
    assert_eq!(
        server.lines().last().unwrap(),
        "POST /repos/acme/api/issues/7/comments"
    );
    let t = ticket.lock().unwrap();
    assert!(t.comments[0].body.contains("my own notes"));

    // A token that cannot read /user (GitHub Actions' GITHUB_TOKEN): the marker alone decides.
    drop(t);
    server.push_once(
        "GET",
        "/user",
        Response::json(
            403,
            serde_json::json!({"message": "Resource not accessible by integration"}),
        ),
    );
    server.clear();
    publish::publish(&report(2, "y"), &opts, &creds()).unwrap();
    assert_eq!(
        server.lines().last().unwrap(),
        "PATCH /repos/acme/api/issues/comments/1000"
    );
}

#[test]
fn a_redirect_on_the_same_host_is_followed_with_the_token() {
    // GitHub answers a renamed or transferred repository with a redirect on its own host.
    let server = tickets_api::Server::start(Box::new(|req, origin| {
        if req.path.starts_with("/repos/old/api/") {
            // The whole target, query included, moved to the new name.
            let target = req
                .line()
                .split_once(' ')
                .unwrap()
                .1
                .replacen("/old/", "/acme/", 1);
            return Response {
                status: 307,
                headers: vec![("location".into(), format!("{origin}{target}"))],
                body: String::new(),
            };
        }
        match req.method.as_str() {
            "POST" => Response::json(
                201,
                serde_json::json!({"id": 1, "html_url": "https://github.com/acme/api/issues/7#issuecomment-1"}),
            ),
            _ => Response::json(200, serde_json::json!([])),
        }
    }));
    let out = publish::publish(
        &report(2, "x"),
        &options("old/api#7", &server.origin),
        &creds(),
    )
    .unwrap();
    assert_eq!(
        out.lines,
        ["created comment 1 of 1: https://github.com/acme/api/issues/7#issuecomment-1"]
    );
    let requests = server.requests();
    assert_eq!(
        server.lines(),
        [
            "GET /user",
            "GET /repos/old/api/issues/7/comments?per_page=100",
            "GET /repos/acme/api/issues/7/comments?per_page=100",
            "POST /repos/old/api/issues/7/comments",
            "POST /repos/acme/api/issues/7/comments",
        ]
    );
    let auth = format!("Bearer {GH}");
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == Some(auth.as_str())));
    assert!(requests
        .last()
        .unwrap()
        .body
        .contains("postmortem:incident-42"));
}

/// `publish.api_url` without `publish.tracker` is for tickets that name no host: a GitHub
/// issue URL keeps its own API, so the GitHub token never goes to the configured GitLab host.
#[test]
fn the_config_api_url_never_outranks_a_ticket_urls_host() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("R.md"), "# Outage\n\ntext\n").unwrap();
    std::fs::write(
        dir.path().join("postmortem.yaml"),
        "publish:\n  api_url: http://127.0.0.1:9/api/v4\n",
    )
    .unwrap();
    let env = [("GH_TOKEN", GH)];
    let url_ticket = binary(
        &[
            "publish",
            "R.md",
            "--to",
            "https://github.com/acme/api/issues/7",
            "--dry-run",
        ],
        dir.path(),
        &env,
    );
    let shown = String::from_utf8_lossy(&url_ticket.stdout);
    assert!(
        url_ticket.status.success(),
        "{}",
        String::from_utf8_lossy(&url_ticket.stderr)
    );
    assert!(
        shown.contains("https://api.github.com/repos/acme/api/issues/7/comments"),
        "{shown}"
    );
    assert!(!shown.contains("127.0.0.1:9"), "{shown}");

    // A ticket without a host of its own still takes the configured base.
    let bare = binary(
        &["publish", "R.md", "--to", "acme/api#7", "--dry-run"],
        dir.path(),
        &env,
    );
    let shown = String::from_utf8_lossy(&bare.stdout);
    assert!(
        shown.contains("http://127.0.0.1:9/api/v4/repos/acme/api/issues/7/comments"),
        "{shown}"
    );
}
