//! `postmortem publish` to Jira against a loopback server that behaves like Jira Cloud's REST
//! API v3 and Data Center's v2: the exact requests made, the comment found again by its
//! property and updated, the attachment over the size limit (or numbered comments when
//! attachments are refused), the 401/403/404/429 answers, and a token that never follows a
//! redirect. The seed report's ADF is validated against Atlassian's published JSON schema and
//! snapshotted with its wiki markup.

#[path = "support/jira_api.rs"]
mod jira_api;
#[path = "support/publish_options.rs"]
mod publish_options;
#[path = "support/render_api.rs"]
mod render_api;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/tickets_api.rs"]
mod tickets_api;

use publish_options::options;
use std::time::Duration;

use jira_api::{Flavor, Issue};
use postmortem::publish::{self, adf, wiki, Credentials, Options, Secret, Token};
use serde_json::Value;
use tickets_api::Response;

const EMAIL: &str = "oncall@example.com";
const TOKEN: &str = "ATATT3xFfGF0jiratesttoken0000000000";
const PAT: &str = "NjA5ODk1ODk0NzQ2OnBhdGRhdGFjZW50ZXI0";

fn cloud() -> Credentials {
    Credentials {
        jira_token: Some(Token {
            secret: Secret::new(TOKEN),
            var: "JIRA_API_TOKEN",
        }),
        jira_email: Some(EMAIL.into()),
        ..Credentials::default()
    }
}

fn data_center() -> Credentials {
    Credentials {
        jira_token: Some(Token {
            secret: Secret::new(PAT),
            var: "JIRA_API_TOKEN",
        }),
        ..Credentials::default()
    }
}

fn report(lines: usize, word: &str) -> String {
    let mut s = String::from(
        "# Render Deployment Failure Analysis: api\n**Date**: 2025-11-10\n\n## Executive Summary\n\nThe deploy failed.\n\n## Timeline\n\n",
    );
    for i in 0..lines {
        s.push_str(&format!(
            "- {word} fact {i}: the deploy failed because of a **migration**.\n"
        ));
    }
    s
}

fn property(c: &jira_api::Comment) -> Value {
    c.properties
        .iter()
        .find(|p| p["key"] == "postmortem")
        .map(|p| p["value"].clone())
        .unwrap_or_default()
}

#[test]
fn cloud_first_publish_creates_and_the_second_updates_the_same_comment() {
    let issue = Issue::with_others(3);
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    let opts = options("jira:OPS-7", &server.origin);

    let out = publish::publish(&report(3, "first"), &opts, &cloud()).unwrap();
    assert_eq!(
        out.lines,
        [format!(
            "created Jira comment 1 of 1 on OPS-7: id 20000 ({}/browse/OPS-7)",
            server.origin
        )]
    );
    // Three colleagues' comments, served two a page; none is ours, so no property lookup.
    assert_eq!(
        server.lines(),
        [
            "GET /rest/api/3/myself",
            "GET /rest/api/3/issue/OPS-7/comment?startAt=0&maxResults=100&orderBy=created",
            "GET /rest/api/3/issue/OPS-7/comment?startAt=2&maxResults=100&orderBy=created",
            "POST /rest/api/3/issue/OPS-7/comment",
        ]
    );
    let basic = format!(
        "Basic {}",
        jira_api::base64(format!("{EMAIL}:{TOKEN}").as_bytes())
    );
    for r in server.requests() {
        assert_eq!(r.header("authorization"), Some(basic.as_str()));
        assert!(r.header("user-agent").unwrap().starts_with("postmortem/"));
    }
    {
        let t = issue.lock().unwrap();
        let ours = t.ours();
        assert_eq!(ours.len(), 1);
        assert_eq!(
            property(&ours[0]),
            serde_json::json!({"key": "incident-42", "part": 1, "parts": 1})
        );
        assert_eq!(ours[0].body["type"], "doc");
        assert_eq!(ours[0].body["content"][0]["type"], "heading");
    }

    server.clear();
    let out = publish::publish(&report(3, "second"), &opts, &cloud()).unwrap();
    assert_eq!(
        out.lines,
        [format!(
            "updated Jira comment 1 of 1 on OPS-7: id 20000 ({}/browse/OPS-7)",
            server.origin
        )]
    );
    assert_eq!(
        server.lines(),
        [
            "GET /rest/api/3/myself",
            "GET /rest/api/3/issue/OPS-7/comment?startAt=0&maxResults=100&orderBy=created",
            "GET /rest/api/3/issue/OPS-7/comment?startAt=2&maxResults=100&orderBy=created",
            "POST /rest/api/3/comment/list?expand=properties",
            "PUT /rest/api/3/issue/OPS-7/comment/20000?notifyUsers=false",
        ]
    );
    // Only the token's own comment is looked up by id.
    assert_eq!(
        server.requests()[3].json(),
        serde_json::json!({"ids": [20000]})
    );
    let t = issue.lock().unwrap();
    assert_eq!(t.ours().len(), 1);
    assert!(t.ours()[0].body.to_string().contains("second fact 2"));
    assert_eq!(
        t.comments.len(),
        4,
        "the colleagues' comments are untouched"
    );
    assert!(t.comments[..3].iter().all(|c| c
        .body
        .as_str()
        .is_some_and(|b| b.contains("by a colleague"))));
}

#[test]
fn new_forces_a_second_comment_and_another_key_is_left_alone() {
    let issue = Issue::with_others(0);
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    let mut opts = options("https://acme.atlassian.net/browse/OPS-7", &server.origin);
    publish::publish(&report(2, "a"), &opts, &cloud()).unwrap();
    opts.new = true;
    server.clear();
    publish::publish(&report(2, "b"), &opts, &cloud()).unwrap();
    assert_eq!(server.lines(), ["POST /rest/api/3/issue/OPS-7/comment"]);
    opts.new = false;
    opts.key = "another-incident".into();
    server.clear();
    publish::publish(&report(2, "c"), &opts, &cloud()).unwrap();
    assert_eq!(
        server.lines().last().unwrap(),
        "POST /rest/api/3/issue/OPS-7/comment"
    );
    let t = issue.lock().unwrap();
    assert_eq!(t.ours().len(), 3);
    assert!(t.comments[0].body.to_string().contains("a fact 1"));
}

#[test]
fn over_the_limit_the_whole_report_is_attached_and_linked_from_a_summary() {
    let issue = Issue::with_others(1);
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    let opts = options("jira:OPS-7", &server.origin);
    let big = report(600, "long");
    assert!(adf::from_markdown(&big).to_string().len() > jira_api::LIMIT);

    let out = publish::publish(&big, &opts, &cloud()).unwrap();
    assert_eq!(out.lines.len(), 2, "{:?}", out.lines);
    assert!(
        out.lines[0].starts_with("attached postmortem-incident-42-"),
        "{:?}",
        out.lines
    );
    assert_eq!(
        server.lines()[2..],
        [
            "POST /rest/api/3/issue/OPS-7/attachments",
            "POST /rest/api/3/issue/OPS-7/comment",
        ]
    );
    let upload = &server.requests()[2];
    assert_eq!(upload.header("x-atlassian-token"), Some("no-check"));
    assert!(upload
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let (filename, link) = {
        let t = issue.lock().unwrap();
        assert_eq!(t.attachments.len(), 1);
        assert_eq!(
            t.attachments[0].content, big,
            "the whole report, byte for byte"
        );
        let ours = t.ours();
        assert_eq!(ours.len(), 1);
        let body = ours[0].body.to_string();
        assert!(body.len() <= jira_api::LIMIT);
        assert!(body.contains("Executive Summary") && body.contains("The deploy failed."));
        assert!(
            !body.contains("long fact 599"),
            "the rest is in the attachment"
        );
        assert!(body.contains("It also holds: Timeline."), "{body}");
        let link = format!(
            "{}/rest/api/3/attachment/content/{}",
            server.origin, t.attachments[0].id
        );
        assert!(body.contains(&link), "{body}");
        (t.attachments[0].filename.clone(), link)
    };
    assert!(filename.ends_with(".md"));

    // The same report again: linked already, so not uploaded twice.
    server.clear();
    let out = publish::publish(&big, &opts, &cloud()).unwrap();
    assert!(
        out.lines[0].contains("already on OPS-7 and linked"),
        "{:?}",
        out.lines
    );
    assert_eq!(
        server.lines().last().unwrap(),
        "PUT /rest/api/3/issue/OPS-7/comment/20001?notifyUsers=false"
    );
    assert!(!server.lines().iter().any(|l| l.contains("attachments")));
    assert!(issue.lock().unwrap().ours()[0]
        .body
        .to_string()
        .contains(&link));

    // A changed report: a new file, the same comment.
    server.clear();
    publish::publish(&report(650, "longer"), &opts, &cloud()).unwrap();
    let t = issue.lock().unwrap();
    assert_eq!(t.attachments.len(), 2);
    assert_ne!(t.attachments[1].filename, filename);
    assert_eq!(t.ours().len(), 1);
    assert!(t.ours()[0]
        .body
        .to_string()
        .contains(&format!("attachment/content/{}", t.attachments[1].id)));
}

#[test]
fn attachments_refused_means_numbered_comments_that_update_together() {
    let issue = Issue::with_others(0);
    issue.lock().unwrap().can_attach = false;
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    let opts = options("jira:OPS-7", &server.origin);
    let big = report(600, "long");

    let out = publish::publish(&big, &opts, &cloud()).unwrap();
    assert!(
        out.lines[0].contains("the attachment was refused")
            && out.lines[0].contains("You do not have permission to create attachments"),
        "{:?}",
        out.lines
    );
    let n = out.lines.len() - 1;
    assert!(n >= 2, "{:?}", out.lines);
    {
        let t = issue.lock().unwrap();
        let ours = t.ours();
        assert_eq!(ours.len(), n);
        let mut all = String::new();
        for (i, c) in ours.iter().enumerate() {
            assert!(c.body.to_string().len() <= jira_api::LIMIT);
            assert_eq!(
                property(c),
                serde_json::json!({"key": "incident-42", "part": i + 1, "parts": n})
            );
            all.push_str(&c.body.to_string());
        }
        for i in [0, 299, 599] {
            assert!(all.contains(&format!("long fact {i}:")), "fact {i} lost");
        }
    }

    server.clear();
    publish::publish(&report(590, "again"), &opts, &cloud()).unwrap();
    let puts = server
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("PUT"))
        .count();
    assert_eq!(puts, n, "{:?}", server.lines());
    assert_eq!(issue.lock().unwrap().ours().len(), n);
}

#[test]
fn data_center_takes_wiki_markup_through_v2_with_a_bearer_token() {
    let issue = Issue::with_others(1);
    let server = jira_api::jira(Flavor::DataCenter, "", PAT, "OPS-7", issue.clone());
    let opts = options(
        "https://jira.example.com/browse/OPS-7",
        &format!("{}/rest/api/2", server.origin),
    );
    publish::publish(&report(2, "dc"), &opts, &data_center()).unwrap();
    server.clear();
    publish::publish(&report(2, "dc2"), &opts, &data_center()).unwrap();
    assert_eq!(
        server.lines(),
        [
            "GET /rest/api/2/myself",
            "GET /rest/api/2/issue/OPS-7/comment?startAt=0&maxResults=100&orderBy=created",
            "POST /rest/api/2/comment/list?expand=properties",
            "PUT /rest/api/2/issue/OPS-7/comment/20000?notifyUsers=false",
        ]
    );
    let bearer = format!("Bearer {PAT}");
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(bearer.as_str())));
    // A Jira without POST /comment/list: the properties come with the comments instead.
    issue.lock().unwrap().comment_list = false;
    server.clear();
    publish::publish(&report(2, "dc3"), &opts, &data_center()).unwrap();
    assert_eq!(
        server.lines()[2..],
        [
            "POST /rest/api/2/comment/list?expand=properties",
            "GET /rest/api/2/issue/OPS-7/comment?startAt=0&maxResults=100&orderBy=created&expand=properties",
            "PUT /rest/api/2/issue/OPS-7/comment/20000?notifyUsers=false",
        ]
    );
    let t = issue.lock().unwrap();
    assert_eq!(t.ours().len(), 1);
    let body = t.ours()[0].body.as_str().unwrap().to_string();
    assert!(
        body.starts_with("h1. Render Deployment Failure Analysis: api\n"),
        "{body}"
    );
    assert!(
        body.contains("* dc3 fact 1: the deploy failed because of a *migration*."),
        "{body}"
    );

    // Without JIRA_USER_EMAIL and without /rest/api/N, a token is a Data Center PAT.
    let out = publish::publish(
        &report(1, "x"),
        &Options {
            dry_run: true,
            ..options("jira:OPS-7", "https://jira.example.com")
        },
        &data_center(),
    )
    .unwrap();
    assert!(
        out.lines[1]
            .starts_with("Jira Data Center: REST API v2 at https://jira.example.com/rest/api/2"),
        "{:?}",
        out.lines
    );
}

fn error(to: &str, api: &str, creds: &Credentials) -> String {
    publish::publish(&report(2, "x"), &options(to, api), creds)
        .unwrap_err()
        .to_string()
}

#[test]
fn rejected_token_missing_permission_and_wrong_issue_are_told_apart() {
    let issue = Issue::with_others(0);
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());

    let mut bad = cloud();
    bad.jira_token.as_mut().unwrap().secret = Secret::new("ATATTwrongwrongwrongwrong");
    let e = error("jira:OPS-7", &server.origin, &bad);
    assert!(
        e.contains("Jira rejected the token in JIRA_API_TOKEN (with JIRA_USER_EMAIL, Basic auth) (401 Unauthorized)"),
        "{e}"
    );
    assert!(e.contains("Client must be authenticated"), "{e}");
    assert!(!e.contains("ATATTwrong"), "{e}");

    let e = error("jira:OPS-8", &server.origin, &cloud());
    assert!(e.contains("Jira found no OPS-8 (404 Not Found)"), "{e}");
    assert!(e.contains("Jira answers 404 for both"), "{e}");
    assert!(
        e.contains("Issue does not exist or you do not have permission to see it."),
        "{e}"
    );

    issue.lock().unwrap().can_comment = false;
    let e = error("jira:OPS-7", &server.origin, &cloud());
    assert!(e.contains("refused POST on OPS-7 (403 Forbidden)"), "{e}");
    assert!(e.contains("Add comments"), "{e}");
    assert!(!e.contains(TOKEN));

    // Cloud without an email, and no token at all.
    let e = error(
        "jira:OPS-7",
        &format!("{}/rest/api/3", server.origin),
        &data_center(),
    );
    assert!(e.contains("Jira Cloud takes JIRA_USER_EMAIL"), "{e}");
    let e = error("jira:OPS-7", &server.origin, &Credentials::default());
    assert!(
        e.contains("publishing to Jira needs a token: set JIRA_API_TOKEN"),
        "{e}"
    );
    // No site at all.
    let e = publish::publish(
        "# T\n",
        &Options {
            api_url: None,
            ..options("jira:OPS-7", "")
        },
        &cloud(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Jira has no default site"), "{e}");
}

#[test]
fn rate_limits_are_waited_out_within_the_budget_then_a_clear_error() {
    let issue = Issue::with_others(0);
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    let limited = |retry: &str, reset: &str| {
        Response::json(429, serde_json::json!({}))
            .with("retry-after", retry)
            .with("x-ratelimit-limit", "350")
            .with("x-ratelimit-remaining", "0")
            .with("x-ratelimit-reset", reset)
            .with("ratelimit-reason", "jira-per-issue-on-write")
    };
    server.push_once("POST", "/comment", limited("1", "2026-12-02T12:00:01Z"));
    publish::publish(
        &report(2, "x"),
        &options("jira:OPS-7", &server.origin),
        &cloud(),
    )
    .unwrap();
    assert_eq!(
        server
            .lines()
            .iter()
            .filter(|l| l.starts_with("POST /rest/api/3/issue/OPS-7/comment"))
            .count(),
        2
    );
    assert_eq!(issue.lock().unwrap().ours().len(), 1);

    let started = std::time::Instant::now();
    server.push_once("GET", "/myself", limited("3600", "2026-12-02T13:00:00Z"));
    let e = error("jira:OPS-7", &server.origin, &cloud());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        e.contains("Jira: rate limited (429) (jira-per-issue-on-write)"),
        "{e}"
    );
    assert!(e.contains("asks to wait 3600 s"), "{e}");

    // Without Retry-After, the ISO-8601 X-RateLimit-Reset says how long.
    server.push_once(
        "GET",
        "/myself",
        Response::json(429, serde_json::json!({}))
            .with("x-ratelimit-reset", "2026-12-02T12:30:00Z"),
    );
    let e = error("jira:OPS-7", &server.origin, &cloud());
    assert!(e.contains("asks to wait 1800 s"), "{e}");
}

#[test]
fn a_redirect_to_another_host_does_not_carry_the_token() {
    let elsewhere = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", Issue::with_others(0));
    let target = format!("{}/rest/api/3/myself", elsewhere.origin);
    let redirecting = tickets_api::Server::start(Box::new(move |_, _| Response {
        status: 302,
        headers: vec![("location".into(), target.clone())],
        body: String::new(),
    }));
    let e = error("jira:OPS-7", &redirecting.origin, &cloud());
    assert!(e.contains("was redirected (302)"), "{e}");
    assert!(e.contains("the token was not sent there"), "{e}");
    assert!(elsewhere.requests().is_empty());
}

fn binary(args: &[&str], cwd: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postmortem"));
    cmd.args(args).current_dir(cwd);
    for var in [
        "JIRA_API_TOKEN",
        "JIRA_USER_EMAIL",
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
fn dry_run_prints_the_requests_and_the_adf_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("REPORT.md"),
        "<!-- postmortem:incident-42 -->\n# Outage\n\n## Executive Summary\n\nThe *deploy* failed: see `dep-1`.\n\n| a | b |\n|---|---|\n| 1 | |\n",
    )
    .unwrap();
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", Issue::with_others(0));
    let api = server.origin.clone();
    let out = binary(
        &[
            "publish",
            "REPORT.md",
            "--to",
            "jira:OPS-7",
            "--dry-run",
            "--api-url",
            &api,
        ],
        dir.path(),
        &[("JIRA_API_TOKEN", TOKEN), ("JIRA_USER_EMAIL", EMAIL)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains(TOKEN));
    assert!(
        !stdout.contains("postmortem:incident-42"),
        "the hidden marker never shows"
    );
    assert!(server.requests().is_empty());
    insta::assert_snapshot!("publish_jira_dry_run", stdout.replace(&api, "http://API"));

    // Over the limit: the plan names the upload, and the comment links a placeholder.
    std::fs::write(dir.path().join("BIG.md"), report(600, "long")).unwrap();
    let out = binary(
        &[
            "publish",
            "BIG.md",
            "--to",
            "jira:OPS-7",
            "--dry-run",
            "--new",
            "--api-url",
            &api,
        ],
        dir.path(),
        &[("JIRA_API_TOKEN", TOKEN), ("JIRA_USER_EMAIL", EMAIL)],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let upload = format!("POST {api}/rest/api/3/issue/OPS-7/attachments (X-Atlassian-Token: no-check, multipart, postmortem-render-deployment-failure-analysis-api-");
    assert!(stdout.contains(&upload), "{stdout}");
    assert!(
        stdout.contains("--new: existing comments are not looked up"),
        "{stdout}"
    );
    assert!(stdout.contains(r#""href":"ATTACHMENT-URL""#), "{stdout}");
    assert!(server.requests().is_empty());
}

fn validator() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/adf/full.json")).expect("ADF schema JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let loc = "https://unpkg.com/@atlaskit/adf-schema/dist/json-schema/v1/full.json";
    compiler.add_resource(loc, schema).unwrap();
    let index = compiler.compile(loc, &mut schemas).unwrap();
    (schemas, index)
}

/// The seed incident's report, produced as tests/report_seed.rs produces it: a real git
/// repository, a loopback Render API, the real pipeline.
fn seed_report() -> String {
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
    let out = dir.path().join("report.md");
    let args = [
        "postmortem",
        "report",
        "--repo",
        repo.to_str().unwrap(),
        "--service",
        seed::SERVICE_NAME,
        "--render-api-url",
        &server.url(),
        "--now",
        "2025-11-10T18:15:00Z",
        "--quiet",
        "-o",
        out.to_str().unwrap(),
    ];
    use clap::Parser;
    postmortem::app::run(
        postmortem::cli::Cli::parse_from(args),
        seed.now,
        Some(seed::API_KEY.into()),
    )
    .unwrap();
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn the_seed_reports_adf_is_valid_by_atlassians_schema_and_snapshotted() {
    let report = seed_report();
    let doc = adf::from_markdown(&report);
    let (schemas, index) = validator();
    if let Err(e) = schemas.validate(&doc, index) {
        panic!("the seed report's ADF is not valid ADF: {e:#}");
    }
    // What the report holds, each as ADF writes it.
    let kinds: std::collections::BTreeSet<String> = doc["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect();
    for kind in [
        "heading",
        "paragraph",
        "bulletList",
        "orderedList",
        "table",
        "codeBlock",
        "rule",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    let text = doc.to_string();
    assert!(text.contains(adf::MERMAID_NOTE));
    assert!(text.contains(r#""attrs":{"language":"mermaid"}"#));
    assert!(text.contains(r#""attrs":{"language":"python"}"#));
    // Over 32,767 characters as ADF: published as its opening with the whole report attached,
    // and that comment is valid ADF too.
    let issue = Issue::with_others(0);
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    let out = publish::publish(&report, &options("jira:OPS-7", &server.origin), &cloud()).unwrap();
    assert!(
        out.lines[0].starts_with("attached postmortem-incident-42-"),
        "{:?}",
        out.lines
    );
    {
        let t = issue.lock().unwrap();
        assert_eq!(t.attachments[0].content, report);
        let body = &t.ours()[0].body;
        if let Err(e) = schemas.validate(body, index) {
            panic!("the seed report's summary comment is not valid ADF: {e:#}");
        }
        let body = body.to_string();
        assert!(body.contains("Executive Summary") && !body.contains("Timeline (UTC)\""));
    }

    // With attachments refused: numbered comments, each valid ADF within the limit.
    let issue = Issue::with_others(0);
    issue.lock().unwrap().can_attach = false;
    let server = jira_api::jira(Flavor::Cloud, EMAIL, TOKEN, "OPS-7", issue.clone());
    publish::publish(&report, &options("jira:OPS-7", &server.origin), &cloud()).unwrap();
    let parts = issue.lock().unwrap().ours();
    assert!(parts.len() >= 2, "{} parts", parts.len());
    for p in &parts {
        assert!(p.body.to_string().chars().count() <= jira_api::LIMIT);
        if let Err(e) = schemas.validate(&p.body, index) {
            panic!("a part of the seed report is not valid ADF: {e:#}");
        }
    }
    eprintln!("seed report without attachments: {} comments", parts.len());

    let shown = adf::lines(&doc);
    assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), doc);
    insta::assert_snapshot!("seed_report_adf", shown);
    eprintln!(
        "seed report: {} characters of markdown, {} of ADF, {} of wiki markup",
        report.chars().count(),
        doc.to_string().chars().count(),
        wiki::from_markdown(&report).chars().count()
    );
    insta::assert_snapshot!("seed_report_wiki", wiki::from_markdown(&report));
}

#[test]
fn the_schema_check_refuses_what_atlassian_refuses() {
    let (schemas, index) = validator();
    for bad in [
        r#"{"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}"#,
        r#"{"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"code"},{"type":"strong"}]}]}]}"#,
        r#"{"version":1,"type":"doc","content":[{"type":"blockquote","content":[{"type":"codeBlock"}]}]}"#,
    ] {
        let v: Value = serde_json::from_str(bad).unwrap();
        assert!(schemas.validate(&v, index).is_err(), "accepted {bad}");
    }
    // And what this writer makes of such markdown passes.
    for md in [
        "> quoted\n>\n> ```sh\n> ls\n> ```\n",
        "**`code in bold`** and ~~gone~~\n",
        "1. # heading in a list\n2. | a |\n   |---|\n   | b |\n3. ---\n",
        "<details>\n<summary>Raw logs</summary>\n\n```\nlog\n```\n\n- a\n  > quote in a list\n\n</details>\n",
        "- \n-\n  - nested first\n\n>\n",
        "Line one<br>line two  \nthree <!-- hidden --> ![img](https://e.x/i.png)\n",
        "<details>\n\nnever closed\n\n## heading in it\n",
        "</details>\n<summary>stray</summary>\n\n<!-- unclosed\ncomment\n",
        "> - a\n>   > deeper\n> - b\n>\n> | t |\n> |---|\n> | u |\n",
        "1. a\n\n   ---\n\n   <details><summary>in a list</summary>\n\n   text\n\n   </details>\n2. b\n",
        "| a | b |\n|---|---|\n| x<br>y | [l **b** `c`](https://e.x) |\n",
        "```\n```\n\n~~~mermaid\n~~~\n\n    indented\n",
        "é ünïcödé — ✓\n\n* * *\n\n<div align=\"center\">html kept as text</div>\n",
    ] {
        let doc = adf::from_markdown(md);
        if let Err(e) = schemas.validate(&doc, index) {
            panic!("{md:?} gave invalid ADF: {e:#}\n{doc:#}");
        }
        assert!(!doc.to_string().contains("hidden"));
    }
}

#[test]
fn details_content_is_kept_in_an_expand() {
    let doc =
        adf::from_markdown("<details>\n<summary>Raw logs</summary>\n\nline one\n\n</details>\n");
    assert_eq!(
        doc["content"][0],
        serde_json::json!({"type": "expand", "attrs": {"title": "Raw logs"}, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "line one"}]}
        ]})
    );
}

#[test]
fn every_markdown_file_of_this_repository_converts_to_valid_adf() {
    // Real markdown written by people (README, docs, templates): the converter's output must be
    // ADF that Atlassian's schema accepts, whatever the input holds.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "templates"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy();
            if name.ends_with(".md") || name.ends_with(".md.tera") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (schemas, index) = validator();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = adf::from_markdown(&text);
        if let Err(e) = schemas.validate(&doc, index) {
            panic!("{}: invalid ADF: {e:#}", path.display());
        }
        assert!(!wiki::from_markdown(&text).is_empty());
    }
}

#[test]
fn nothing_visible_is_lost_in_either_format() {
    for (md, words) in [
        ("<details>\n\nnever closed\n", &["never closed"][..]),
        (
            "<div align=\"center\">html kept as text</div>\n",
            &["html kept as text"][..],
        ),
        ("> - a\n>   > deeper\n", &["deeper"][..]),
        (
            "1. a\n\n   | t |\n   |---|\n   | cell |\n2. b\n",
            &["cell", "b"][..],
        ),
    ] {
        let adf = adf::from_markdown(md).to_string();
        let wiki = wiki::from_markdown(md);
        for w in words {
            assert!(adf.contains(w), "{w:?} lost from the ADF of {md:?}: {adf}");
            assert!(
                wiki.contains(w),
                "{w:?} lost from the wiki markup of {md:?}: {wiki}"
            );
        }
    }
}

#[test]
fn generated_markdown_always_converts_to_valid_adf() {
    // Fragments that nest in every order: 500 documents from a fixed-seed generator.
    const PIECES: &[&str] = &[
        "# H\n",
        "para *em* **strong** ~~s~~ `c` [l](https://e.x)\n",
        "- a\n",
        "  - nested\n",
        "1. one\n",
        "   ```sh\n   code\n   ```\n",
        "> quote\n",
        "> - q list\n",
        ">\n> > deeper\n",
        "| a | b |\n|---|---|\n| 1 | |\n",
        "```mermaid\nA-->B\n```\n",
        "---\n",
        "<details>\n",
        "<summary>S</summary>\n",
        "</details>\n",
        "<!-- hidden -->\n",
        "line<br>break  \nnext\n",
        "\n",
        "    indented code\n",
        "<div>raw</div>\n",
        "- [ ] task\n",
        "## H2 `code`\n",
        "   > quote in item\n",
        "   | t |\n   |---|\n   | u |\n",
        "![i](https://e.x/i.png)\n",
    ];
    let (schemas, index) = validator();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..500 {
        let n = 1 + next() % 12;
        let md: String = (0..n)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        let doc = adf::from_markdown(&md);
        if let Err(e) = schemas.validate(&doc, index) {
            panic!("{md:?} gave invalid ADF: {e:#}\n{doc:#}");
        }
        assert!(!doc.to_string().contains("hidden"), "{md:?}");
        let _ = wiki::from_markdown(&md);
    }
}

/// An evidence snapshot published to Jira is rendered without diagrams (Jira would show their
/// Mermaid source); the same snapshot to a tracker that draws Mermaid keeps them.
#[test]
fn a_snapshot_published_to_jira_is_rendered_without_diagrams() {
    let dir = tempfile::tempdir().unwrap();
    seed::build(dir.path());
    let evidence = dir.path().join("evidence.json");
    let collected = binary(
        &["collect", "-o", evidence.to_str().unwrap(), "--quiet"],
        dir.path(),
        &[],
    );
    assert!(
        evidence.is_file(),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let snapshot = evidence.to_str().unwrap();
    let jira = binary(
        &[
            "publish",
            snapshot,
            "--to",
            "jira:OPS-7",
            "--dry-run",
            "--api-url",
            "http://127.0.0.1:9/rest/api/3",
        ],
        dir.path(),
        &[("JIRA_API_TOKEN", TOKEN), ("JIRA_USER_EMAIL", EMAIL)],
    );
    let shown = String::from_utf8_lossy(&jira.stdout);
    assert!(
        jira.status.success(),
        "{}",
        String::from_utf8_lossy(&jira.stderr)
    );
    assert!(
        shown.contains("\"type\": \"doc\"") || shown.contains("\"type\":\"doc\""),
        "{shown}"
    );
    assert!(!shown.contains("Mermaid diagram"), "{shown}");

    let github = binary(
        &["publish", snapshot, "--to", "acme/api#7", "--dry-run"],
        dir.path(),
        &[("GH_TOKEN", "ghp_test0000000000000000000000000000token")],
    );
    let shown = String::from_utf8_lossy(&github.stdout);
    assert!(
        github.status.success(),
        "{}",
        String::from_utf8_lossy(&github.stderr)
    );
    assert!(shown.contains("```mermaid"), "{shown}");
}
