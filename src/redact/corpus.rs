//! Planted credentials, one per kind, and look-alikes that must survive.
//!
//! Every planted value is made up but has its issuer's documented shape (prefix, alphabet,
//! length), which is all the redactor can know. Shared with the end-to-end test through
//! `planted()` and `look_alikes()`.

use std::collections::BTreeMap;

use super::{redact, redact_json_document, redact_key_blocks};

const PLANTED: &str = include_str!("../../tests/fixtures/secrets/planted.tsv");
const LOOK_ALIKES: &str = include_str!("../../tests/fixtures/secrets/look_alikes.txt");

fn lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.replace('⏎', "\n"))
}

/// (kind expected, text around it, the secret that must disappear).
fn planted() -> Vec<(String, String, String)> {
    lines(PLANTED)
        .map(|line| {
            let mut parts = line.splitn(3, '\t').map(String::from);
            let (kind, around, secret) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            assert!(
                around.contains('§') && !secret.is_empty(),
                "malformed: {line}"
            );
            (kind, around.replace('§', &secret), secret)
        })
        .collect()
}

/// What the report needs and no redaction may touch.
fn look_alikes() -> Vec<String> {
    lines(LOOK_ALIKES).collect()
}

#[test]
fn every_planted_credential_is_hidden_and_named() {
    let mut missed = Vec::new();
    for (kind, text, secret) in planted() {
        let mut counts = BTreeMap::new();
        let out = redact(&text, &mut counts);
        let survivors: Vec<&str> = secret
            .split(['\n', '\\'])
            .filter(|part| part.len() >= 8 && out.contains(part))
            .collect();
        if !survivors.is_empty() || !counts.contains_key(&kind) {
            missed.push(format!("{kind}: {text:?} -> {out:?} counts {counts:?}"));
        }
    }
    assert!(
        missed.is_empty(),
        "not redacted as expected:\n{}",
        missed.join("\n")
    );
}

#[test]
fn look_alikes_survive_untouched() {
    for text in look_alikes() {
        let mut counts = BTreeMap::new();
        assert_eq!(redact(&text, &mut counts), text);
        assert!(counts.is_empty(), "{text}: {counts:?}");
    }
}

#[test]
fn redacting_twice_changes_nothing() {
    let all: Vec<String> = planted()
        .into_iter()
        .map(|(_, text, _)| text)
        .chain(look_alikes())
        .collect();
    let mut counts = BTreeMap::new();
    let once = redact(&all.join("\n"), &mut counts);
    let mut again = BTreeMap::new();
    assert_eq!(redact(&once, &mut again), once);
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_private_key_printed_line_by_line_is_hidden_whole() {
    let mut lines: Vec<String> = [
        "==> Starting service",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        "QyNTUxOQAAACDtYnVzaW5lc3Mga2V5IGZvciB0ZXN0aW5nIG9ubHkgbm90IHJlYWwAAAA=",
        "-----END OPENSSH PRIVATE KEY-----",
        "password=hunter2",
    ]
    .map(String::from)
    .to_vec();
    let mut counts = BTreeMap::new();
    redact_key_blocks(lines.iter_mut(), &mut counts);
    assert_eq!(lines[0], "==> Starting service");
    for line in &lines[1..5] {
        assert_eq!(line, "[REDACTED:private-key]");
    }
    assert_eq!(
        lines[5], "password=hunter2",
        "single lines are redact()'s job"
    );
    // One key, counted once, whatever its length.
    assert_eq!(counts.get("private-key"), Some(&1));
}

#[test]
fn json_documents_stay_valid_and_keep_their_layout() {
    let text = r#"{
  "z_first": "DB_PASSWORD=\"x y\" then \\ and \"quotes\"",
  "a_second": ["ghp_0123456789abcdefghijABCDEFGHIJ012345", 1, null],
  "plain": "commit 9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
}"#;
    let out = redact_json_document(text);
    let back: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
    assert_eq!(
        back["z_first"],
        "DB_PASSWORD=\"[REDACTED:password]\" then \\ and \"quotes\""
    );
    assert_eq!(back["a_second"][0], "[REDACTED:github-token]");
    // Only the redacted literals differ: order, layout and the rest stay byte for byte.
    assert_eq!(
        out,
        text.replace(r#"\"x y\""#, r#"\"[REDACTED:password]\""#)
            .replace(
                "ghp_0123456789abcdefghijABCDEFGHIJ012345",
                "[REDACTED:github-token]"
            )
    );
    assert_eq!(redact_json_document(&out), out);
}
