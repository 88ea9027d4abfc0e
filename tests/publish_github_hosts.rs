//! GitHub hosts as gh reads them: `GH_HOST` for a short ticket, a ticket URL's host otherwise,
//! and `GH_ENTERPRISE_TOKEN` / `GITHUB_ENTERPRISE_TOKEN` for an Enterprise Server host, so that
//! a github.com token is never sent to another host unasked.

#[path = "support/tickets_api.rs"]
mod tickets_api;

use std::time::Duration;

use postmortem::publish::{self, ticket, Credentials, Options, RetryPolicy, Secret, Token};
use tickets_api::Ticket;

const GHE: &str = "ghp_enterprise000000000000000000000token";
const DOTCOM: &str = "ghp_dotcom000000000000000000000000token";

fn options(to: &str, api_url: Option<&str>) -> Options {
    Options {
        target: ticket::parse(to, None).unwrap(),
        api_url: api_url.map(str::to_string),
        key: "incident-42".into(),
        new: false,
        gist: false,
        dry_run: false,
        policy: RetryPolicy {
            max_total_wait: Duration::from_secs(5),
            ..RetryPolicy::default()
        },
        clock: "2026-12-02T12:00:00Z".parse().unwrap(),
    }
}

fn env(pairs: &'static [(&'static str, &'static str)]) -> Credentials {
    Credentials::from_lookup(|k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
}

/// The comment-creating line of a dry run.
fn create_line(to: &str, creds: &Credentials) -> String {
    let mut opts = options(to, None);
    opts.dry_run = true;
    let out = publish::publish("# T\n", &opts, creds).unwrap();
    out.lines
        .into_iter()
        .find(|l| l.starts_with("comment 1 of 1"))
        .unwrap()
}

#[test]
fn gh_host_names_the_host_of_a_short_ticket_and_a_url_wins_over_it() {
    let ghes = env(&[("GH_HOST", "ghe.example.com")]);
    assert!(create_line("acme/api#7", &ghes)
        .contains("POST https://ghe.example.com/api/v3/repos/acme/api/issues/7/comments"));
    let tenancy = env(&[("GH_HOST", "octo.ghe.com")]);
    assert!(create_line("acme/api#7", &tenancy)
        .contains("POST https://api.octo.ghe.com/repos/acme/api/issues/7/comments"));
    assert!(create_line("https://github.com/acme/api/issues/7", &ghes)
        .contains("POST https://api.github.com/repos/acme/api/issues/7/comments"));
    assert!(create_line("acme/api#7", &Credentials::default())
        .contains("POST https://api.github.com/repos/acme/api/issues/7/comments"));
    let bad = env(&[("GH_HOST", "ghe.example.com/evil path")]);
    let e = publish::publish("# T\n", &options("acme/api#7", None), &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("GH_HOST \"ghe.example.com/evil path\" is not a host name"),
        "{e}"
    );
}

#[test]
fn credentials_follow_gh_order_for_enterprise_tokens() {
    let c = env(&[
        ("GITHUB_ENTERPRISE_TOKEN", "second"),
        ("GH_ENTERPRISE_TOKEN", "first"),
        ("GH_TOKEN", "dotcom"),
        ("GH_HOST", "ghe.example.com"),
    ]);
    assert_eq!(
        c.github_enterprise.as_ref().unwrap().var,
        "GH_ENTERPRISE_TOKEN"
    );
    assert_eq!(c.github.as_ref().unwrap().var, "GH_TOKEN");
    assert_eq!(c.gh_host.as_deref(), Some("ghe.example.com"));
    let c = env(&[("GITHUB_ENTERPRISE_TOKEN", "only")]);
    assert_eq!(
        c.github_enterprise.as_ref().unwrap().var,
        "GITHUB_ENTERPRISE_TOKEN"
    );
    assert!(!format!("{c:?}").contains("only"));
}

#[test]
fn an_enterprise_host_gets_the_enterprise_token_and_never_the_github_com_one() {
    let ticket = Ticket::with_others(0);
    let server = tickets_api::github(GHE, "acme/api", 7, ticket.clone(), true);
    let to = "https://ghe.example.com/acme/api/issues/7";
    let both = Credentials {
        github: Some(Token {
            secret: Secret::new(DOTCOM),
            var: "GH_TOKEN",
        }),
        github_enterprise: Some(Token {
            secret: Secret::new(GHE),
            var: "GH_ENTERPRISE_TOKEN",
        }),
        ..Credentials::default()
    };
    publish::publish("# T\n", &options(to, Some(&server.origin)), &both).unwrap();
    let auth = format!("Bearer {GHE}");
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(auth.as_str())));
    assert_eq!(ticket.lock().unwrap().by("postmortem-bot").len(), 1);

    // Only a github.com token: refused before anything is sent.
    server.clear();
    let dotcom_only = Credentials {
        github_enterprise: None,
        ..both.clone()
    };
    let e = publish::publish("# T\n", &options(to, Some(&server.origin)), &dotcom_only)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "publishing to GitHub Enterprise Server (ghe.example.com) needs a token: set GH_ENTERPRISE_TOKEN or GITHUB_ENTERPRISE_TOKEN"
    );
    assert!(server.requests().is_empty());

    // A rejected enterprise token names its own variables.
    let wrong = Credentials {
        github_enterprise: Some(Token {
            secret: Secret::new("ghp_wrongwrongwrongwrongwrong"),
            var: "GITHUB_ENTERPRISE_TOKEN",
        }),
        ..Credentials::default()
    };
    let e = publish::publish("# T\n", &options(to, Some(&server.origin)), &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rejected the token in GH_ENTERPRISE_TOKEN/GITHUB_ENTERPRISE_TOKEN (401"),
        "{e}"
    );
}
