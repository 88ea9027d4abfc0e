//! `postmortem publish --to linear:ENG-42` against a loopback server that behaves like Linear's
//! GraphQL API: the exact operations sent, the comment found again by its footer and updated,
//! paging, parts over the limit, rate limits and the authentication/permission/not-found
//! messages.

#[path = "support/publish_options.rs"]
mod publish_options;
#[path = "support/tickets_api.rs"]
mod tickets_api;

#[path = "support/linear_api.rs"]
mod linear_api;

use publish_options::clock;
use std::time::Duration;

use linear_api::comment_id;
use postmortem::publish::{self, Credentials, Options, Secret, Token};
use serde_json::json;
use tickets_api::{Comment, Response, Server, Ticket};

const KEY: &str = "lin_api_test0000000000000000000000000000000key";
const UUID: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";

fn creds() -> Credentials {
    Credentials {
        linear: Some(Token {
            secret: Secret::new(KEY),
            var: "LINEAR_API_KEY",
        }),
        ..Credentials::default()
    }
}

fn options(to: &str, server: &Server) -> Options {
    publish_options::options(to, &format!("{}/graphql", server.origin))
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

/// Each request as `operation variables`, the body of a create/update left out.
fn ops(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            let body = r.json();
            let mut vars = body["variables"].clone();
            if let Some(input) = vars.get_mut("input").and_then(|i| i.as_object_mut()) {
                if input.contains_key("body") {
                    input.insert("body".into(), json!("…"));
                }
            }
            format!(
                "{} {} {}",
                r.method,
                body["operationName"].as_str().unwrap_or("?"),
                vars
            )
        })
        .collect()
}

fn lookup(after: Option<&str>) -> String {
    format!(
        "POST PostmortemComments {}",
        json!({"after": after, "filter": {"body": {"contains": "postmortem:incident-42"}, "user": {"isMe": {"eq": true}}}, "id": "ENG-42"})
    )
}

fn others(ticket: &std::sync::Arc<std::sync::Mutex<Ticket>>) {
    let mut t = ticket.lock().unwrap();
    // A colleague quoting our footer, and our own comment for another postmortem whose key
    // starts with ours: neither is ours.
    t.comments.push(Comment {
        id: 1100,
        body: "see below\n\n---\n`postmortem:incident-42` · pasted".into(),
        author: "colleague".into(),
        system: false,
    });
    t.comments.push(Comment {
        id: 1101,
        body: "older\n\n---\n`postmortem:incident-42-retro` · x\n".into(),
        author: linear_api::ME.into(),
        system: false,
    });
}

#[test]
fn first_publish_creates_and_the_second_updates_the_same_comment() {
    let ticket = Ticket::with_others(2);
    others(&ticket);
    let server = linear_api::linear(KEY, "ENG-42", UUID, ticket.clone(), true);
    let opts = options("linear:ENG-42", &server);

    let out = publish::publish(&report(3, "first"), &opts, &creds()).unwrap();
    assert_eq!(
        out.lines,
        ["created comment 1 of 1: https://linear.app/acme/issue/ENG-42/deploy-failed#comment-00001388"]
    );
    let create = format!(
        "POST PostmortemCommentCreate {}",
        json!({"input": {"issueId": "ENG-42", "body": "…"}})
    );
    assert_eq!(ops(&server), [lookup(None), create.clone()]);
    for r in server.requests() {
        // A personal key is the whole header: no Bearer.
        assert_eq!(r.header("authorization"), Some(KEY));
        assert_eq!(r.path, "/graphql");
        assert!(r.header("user-agent").unwrap().starts_with("postmortem/"));
    }
    let sent = server.requests()[1].json();
    let body = sent["variables"]["input"]["body"].as_str().unwrap();
    assert!(body.starts_with("# Render Deployment Failure Analysis: api\n"));
    assert!(
        body.ends_with("\n\n---\n`postmortem:incident-42` · `postmortem publish` updates this comment when it runs again\n"),
        "{body}"
    );

    server.clear();
    let url = https_comment(5000);
    let out = publish::publish(&report(3, "second"), &opts, &creds()).unwrap();
    assert_eq!(out.lines, [format!("updated comment 1 of 1: {url}")]);
    let update = format!(
        "POST PostmortemCommentUpdate {}",
        json!({"id": comment_id(5000), "input": {"body": "…"}})
    );
    assert_eq!(ops(&server), [lookup(None), update]);
    let t = ticket.lock().unwrap();
    let ours = t.by(linear_api::ME);
    assert_eq!(ours.len(), 2, "the other key's comment and ours");
    assert!(ours[1].body.contains("second fact 2"));
    assert!(
        t.comments[2].body.contains("pasted"),
        "the colleague's is untouched"
    );
    assert!(ours[0].body.contains("incident-42-retro"));

    // --new: no lookup, a second comment.
    drop(t);
    server.clear();
    let mut new = opts.clone();
    new.new = true;
    publish::publish(&report(3, "third"), &new, &creds()).unwrap();
    assert_eq!(ops(&server), [create]);
    assert_eq!(ticket.lock().unwrap().by(linear_api::ME).len(), 3);
}

fn https_comment(n: i64) -> String {
    format!("https://linear.app/acme/issue/ENG-42/deploy-failed#comment-{n:08x}")
}

/// Over the limit the whole report goes up as a file (Linear's `fileUpload`, then a PUT to the
/// signed URL, which never carries the key), and one comment holds the summary and the link;
/// a re-run uploads again and updates that comment.
#[test]
fn a_large_report_goes_up_as_a_file_linked_from_one_comment() {
    let ticket = Ticket::with_others(1);
    let storage = linear_api::storage();
    let server = linear_api::linear_with_storage(
        KEY,
        "ENG-42",
        UUID,
        ticket.clone(),
        true,
        Some(storage.origin.clone()),
    );
    let opts = options(
        "https://linear.app/acme/issue/ENG-42/deploy-failed",
        &server,
    );
    let big = report(2_500, "long"); // ~150,000 characters, over the 65,536 assumed
    let out = publish::publish(&big, &opts, &creds()).unwrap();
    assert!(
        out.lines[0].starts_with("uploaded the whole report (")
            && out.lines[0].ends_with("https://uploads.linear.app/acme/1/postmortem.md"),
        "{:?}",
        out.lines
    );
    let upload = format!(
        "POST PostmortemFileUpload {}",
        json!({"contentType": "text/markdown; charset=utf-8", "filename": "postmortem.md", "size": big.len()})
    );
    let create = format!(
        "POST PostmortemCommentCreate {}",
        json!({"input": {"issueId": "ENG-42", "body": "…"}})
    );
    assert_eq!(ops(&server), [lookup(None), upload.clone(), create]);

    // The PUT went to the storage host with Linear's header, without the key.
    let puts = storage.requests();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].method, "PUT");
    assert_eq!(puts[0].path, "/upload/1");
    assert_eq!(puts[0].param("signature"), Some("s1"));
    assert_eq!(puts[0].header("authorization"), None);
    assert_eq!(
        puts[0].header(linear_api::UPLOAD_HEADER.0),
        Some(linear_api::UPLOAD_HEADER.1)
    );
    assert_eq!(
        puts[0].header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(puts[0].body, big, "the whole report, nothing cut");

    let ours = ticket.lock().unwrap().by(linear_api::ME);
    assert_eq!(ours.len(), 1);
    let body = &ours[0].body;
    assert!(body.chars().count() <= 65_536);
    assert!(body.contains("[postmortem.md](https://uploads.linear.app/acme/1/postmortem.md)"));
    assert!(
        !body.contains("<!--"),
        "no hidden line for Linear's rich text: {body}"
    );
    assert!(body.ends_with(
        "`postmortem:incident-42` · `postmortem publish` updates this comment when it runs again\n"
    ));

    // The re-run finds that comment by its footer, uploads anew and updates it.
    server.clear();
    publish::publish(&report(2_400, "longer"), &opts, &creds()).unwrap();
    let update = format!(
        "POST PostmortemCommentUpdate {}",
        json!({"id": comment_id(ours[0].id), "input": {"body": "…"}})
    );
    let ops = ops(&server);
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert_eq!(ops[0], lookup(None));
    assert!(ops[1].starts_with("POST PostmortemFileUpload"));
    assert_eq!(ops[2], update);
    let ours = ticket.lock().unwrap().by(linear_api::ME);
    assert_eq!(ours.len(), 1);
    assert!(ours[0]
        .body
        .contains("https://uploads.linear.app/acme/2/postmortem.md"));
}

/// Comments over two pages: the re-run follows `endCursor` to find ours.
#[test]
fn our_comment_is_found_beyond_the_first_page() {
    let ticket = Ticket::with_others(1);
    others(&ticket);
    let server = linear_api::linear(KEY, "ENG-42", UUID, ticket.clone(), true);
    let opts = options(
        "https://linear.app/acme/issue/ENG-42/deploy-failed",
        &server,
    );
    // Ours for two other postmortems whose keys contain this one's come first (the server
    // matches `contains`, two a page), then this one's.
    for other in ["incident-42-a", "incident-42-b"] {
        let mut o = options("linear:ENG-42", &server);
        o.key = other.into();
        publish::publish(&report(3, other), &o, &creds()).unwrap();
    }
    publish::publish(&report(3, "first"), &opts, &creds()).unwrap();
    server.clear();
    publish::publish(&report(3, "second"), &opts, &creds()).unwrap();
    let ops = ops(&server);
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert_eq!(ops[0], lookup(None));
    assert!(ops[1].starts_with("POST PostmortemComments") && ops[1].contains("\"after\":\"0"));
    assert!(
        ops[2].starts_with("POST PostmortemCommentUpdate"),
        "{ops:?}"
    );
    // The colleague's quote and the -retro comment are untouched; ours was updated in place.
    let t = ticket.lock().unwrap();
    assert_eq!(t.by(linear_api::ME).len(), 4);
    assert!(t.by(linear_api::ME)[3].body.contains("second fact"));
}

fn error(to: &str, server: &Server, creds: &Credentials) -> String {
    publish::publish(&report(2, "x"), &options(to, server), creds)
        .unwrap_err()
        .to_string()
}

#[test]
fn rejected_key_missing_permission_and_unknown_issue_are_told_apart() {
    let rw = linear_api::linear(KEY, "ENG-42", UUID, Ticket::with_others(0), true);
    let ro = linear_api::linear(KEY, "ENG-42", UUID, Ticket::with_others(0), false);

    let mut bad = creds();
    bad.linear.as_mut().unwrap().secret = Secret::new("lin_api_wrongwrongwrongwrong");
    let e = error("linear:ENG-42", &rw, &bad);
    assert_eq!(
        e,
        "publish: Linear rejected the key in LINEAR_API_KEY (authentication error, 400): it is wrong, expired or revoked (the server said: You need to authenticate to access this operation.)"
    );

    let e = error("linear:ENG-42", &ro, &creds());
    assert_eq!(
        e,
        "publish: Linear accepted the key in LINEAR_API_KEY but refused to create a comment on ENG-42 (forbidden): the key lacks permission (a personal API key needs write access (or \"Create comments\") and access to the issue's team) (the server said: You don't have permission to create comments.)"
    );

    let e = error("linear:ENG-43", &rw, &creds());
    assert_eq!(
        e,
        "publish: Linear found no issue ENG-43: either it does not exist, or the key in LINEAR_API_KEY may not see its team (check the identifier, and the key's team access) (the server said: Could not find referenced Issue.)"
    );

    let e = publish::publish(
        &report(2, "x"),
        &options("linear:ENG-42", &rw),
        &Credentials::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(e, "publishing to Linear needs a token: set LINEAR_API_KEY");

    // --api-url without /graphql: the fake answers 404 with no GraphQL error.
    let mut wrong = options("linear:ENG-42", &rw);
    wrong.api_url = Some(format!("{}/v1", rw.origin));
    let e = publish::publish(&report(2, "x"), &wrong, &creds())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("publish: Linear: {}/v1 answered 404 without a GraphQL error: it is not Linear's GraphQL endpoint (check --api-url; Linear's is https://api.linear.app/graphql)", rw.origin)
    );
    assert!(rw.requests().iter().all(|r| !r.body.contains(KEY)));
}

#[test]
fn rate_limits_are_waited_out_within_the_budget_then_a_clear_error() {
    let ticket = Ticket::with_others(0);
    let server = linear_api::linear(KEY, "ENG-42", UUID, ticket.clone(), true);
    // HTTP 429, as Linear's SDK reads it, with the reset in epoch milliseconds.
    let reset_ms = ((clock().timestamp() + 1) * 1000).to_string();
    server.push_once(
        "POST",
        "/graphql",
        linear_api::ratelimited_429()
            .with("x-ratelimit-requests-remaining", "0")
            .with("x-ratelimit-requests-reset", &reset_ms),
    );
    publish::publish(
        &report(2, "x"),
        &options("linear:ENG-42", &server),
        &creds(),
    )
    .unwrap();
    let ops = ops(&server);
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert_eq!(ops[0], ops[1], "the lookup is sent again after the wait");
    assert_eq!(ticket.lock().unwrap().by(linear_api::ME).len(), 1);

    // A `ratelimited` error on a 400 with a reset an hour away: beyond the 5 s budget, no wait.
    let reset = (clock().timestamp() + 3600).to_string();
    server.push_once(
        "POST",
        "/graphql",
        linear_api::ratelimited().with("x-ratelimit-complexity-reset", &reset),
    );
    let started = std::time::Instant::now();
    let e = error("linear:ENG-42", &server, &creds());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(e.contains("Linear: rate limited (400)"), "{e}");
    assert!(e.contains("--max-wait 5"), "{e}");
}

#[test]
fn a_redirect_to_another_host_does_not_carry_the_key() {
    let elsewhere = linear_api::linear(KEY, "ENG-42", UUID, Ticket::with_others(0), true);
    let target = format!("{}/graphql", elsewhere.origin);
    let redirecting = Server::start(Box::new(move |_, _| Response {
        status: 308,
        headers: vec![("location".into(), target.clone())],
        body: String::new(),
    }));
    let e = error("linear:ENG-42", &redirecting, &creds());
    assert!(e.contains("was redirected (308)"), "{e}");
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn dry_run_prints_the_operations_and_the_body_and_sends_nothing() {
    let server = linear_api::linear(KEY, "ENG-42", UUID, Ticket::with_others(0), true);
    let mut opts = options("linear:ENG-42", &server);
    opts.dry_run = true;
    let out = publish::publish(&report(2, "dry"), &opts, &Credentials::default()).unwrap();
    assert!(server.requests().is_empty());
    let text = out.lines.join("\n").replace(&server.origin, "http://API");
    insta::assert_snapshot!("publish_linear_dry_run", text);
}

#[test]
fn the_binary_reads_linear_api_key_and_prints_what_it_did() {
    let ticket = Ticket::with_others(0);
    let server = linear_api::linear(KEY, "ENG-42", UUID, ticket.clone(), true);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("REPORT.md"), report(2, "bin")).unwrap();
    let api = format!("{}/graphql", server.origin);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"))
        .args([
            "publish",
            "REPORT.md",
            "--to",
            "linear:eng-42",
            "--api-url",
            &api,
        ])
        .current_dir(dir.path())
        .env_remove("POSTMORTEM_PUBLISH_API_URL")
        .env("LINEAR_API_KEY", KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!("created comment 1 of 1: {}\n", https_comment(5000))
    );
    assert!(!stdout.contains(KEY));
    assert_eq!(ticket.lock().unwrap().by(linear_api::ME).len(), 1);
}
