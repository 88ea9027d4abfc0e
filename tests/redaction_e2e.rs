//! No planted credential survives into anything the tool writes. Every kind in
//! `tests/fixtures/secrets/planted.tsv` is planted in the seed incident's deploy logs (as single
//! lines and a private key spread over lines), in a commit message of the incident range (git
//! and Render's copy), in the service's start command and in an event's details; then the
//! evidence JSON, the template context and the markdown report are searched for each secret.
//! The look-alikes (SHAs, revision IDs, UUIDs, Render IDs), planted in the logs beside them,
//! must come through untouched.

#[path = "support/render_api.rs"]
mod render_api;
#[path = "support/seed.rs"]
mod seed;

use clap::Parser;
use postmortem::app;
use postmortem::cli::Cli;
use serde_json::{json, Value};

const PLANTED: &str = include_str!("fixtures/secrets/planted.tsv");
const LOOK_ALIKES: &str = include_str!("fixtures/secrets/look_alikes.txt");

fn rows(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.replace('⏎', "\n"))
        .collect()
}

/// (text with the secret in place, the secret's parts that must not survive).
fn planted() -> Vec<(String, Vec<String>)> {
    rows(PLANTED)
        .iter()
        .map(|row| {
            let mut parts = row.splitn(3, '\t');
            let (_kind, around, secret) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let pieces = secret
                .split(['\n', '\\'])
                .filter(|p| p.len() >= 8)
                .map(String::from)
                .collect();
            (around.replace('§', secret), pieces)
        })
        .collect()
}

fn amend_with_message(repo: &std::path::Path, message: &str) -> String {
    let repo = git2::Repository::open(repo).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let sig = head.author();
    let id = repo
        .commit(
            Some("HEAD"),
            &sig,
            &sig,
            message,
            &head.tree().unwrap(),
            &[&head],
        )
        .unwrap();
    id.to_string()
}

#[test]
fn no_planted_credential_reaches_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let mut seed = seed::build(&repo);
    let planted = planted();
    let all_text: Vec<String> = planted.iter().map(|(t, _)| t.clone()).collect();

    // A commit on top of the range, deployed (and failing) last: its message carries them all.
    let message = format!("fix: rotate credentials\n\n{}\n", all_text.join("\n"));
    let sha = amend_with_message(&repo, &message);
    let newest = seed
        .render
        .deploys
        .iter_mut()
        .max_by_key(|d| d["createdAt"].as_str().unwrap().to_string())
        .unwrap();
    newest["commit"]["id"] = json!(sha);
    newest["commit"]["message"] = json!(message);

    // Log lines: each text line by line, as a deploy script would print it; the look-alikes too.
    let template = seed.render.logs.last().unwrap().clone();
    let look_alikes = rows(LOOK_ALIKES);
    let mut n = 0;
    for text in all_text.iter().chain(&look_alikes) {
        for line in text.lines() {
            let mut log = template.clone();
            n += 1;
            log["id"] = json!(format!("log-planted-{n:04}"));
            log["message"] = json!(line);
            seed.render.logs.push(log);
        }
    }
    seed.render.services[0]["serviceDetails"]["envSpecificDetails"]["dockerCommand"] =
        json!(format!("./entrypoint.sh --token {}", all_text[0]));
    let event = seed
        .render
        .events
        .iter_mut()
        .find(|e| e["type"] == "deploy_ended")
        .unwrap();
    event["details"]["planted"] = json!(all_text.clone());

    let server = render_api::FakeRender {
        api_key: seed::API_KEY.to_string(),
        services: seed.render.services,
        deploys: seed.render.deploys,
        events: seed.render.events,
        logs: seed.render.logs,
        faults: render_api::Faults::default(),
    }
    .start();

    let mut outputs = Vec::new();
    for format in ["json", "context", "markdown"] {
        let out = dir.path().join(format!("out.{format}"));
        let args = [
            "postmortem",
            "report",
            "--format",
            format,
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
        app::run(Cli::parse_from(args), seed.now, Some(seed::API_KEY.into())).unwrap();
        outputs.push((format, std::fs::read_to_string(out).unwrap()));
    }
    let (_, evidence) = &outputs[0];
    let evidence: Value = serde_json::from_str(evidence).unwrap();
    assert!(
        evidence["logs"].as_array().unwrap().len() > 40,
        "the planted log lines were collected"
    );
    let mut leaks = Vec::new();
    for (format, text) in &outputs {
        for (planted_text, pieces) in &planted {
            for piece in pieces {
                if text.contains(piece.as_str()) {
                    leaks.push(format!("{format}: {piece:?} (from {planted_text:?})"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "credentials survived:\n{}",
        leaks.join("\n")
    );
    let stored: Vec<&str> = evidence["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    for text in &look_alikes {
        for line in text.lines() {
            assert!(
                stored.contains(&line),
                "look-alike changed or lost: {line:?}"
            );
        }
    }
    // It was hidden, not dropped: the counts say what was there.
    let redactions = evidence["redactions"].as_object().unwrap();
    for kind in [
        "github-token",
        "private-key",
        "slack-webhook",
        "url-password",
    ] {
        assert!(
            redactions.contains_key(kind),
            "{kind} not counted: {redactions:?}"
        );
    }
}
