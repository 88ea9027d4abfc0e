//! `check --baseline FILE`: findings recorded once (`--write-baseline FILE`) no longer fail the
//! gate; only new ones do, as ruff's and squawk's users know the pattern.
//!
//! A finding is recognised by its fingerprint: the rule, the file, the revision, the commit and
//! the message with its line numbers taken out. Line numbers are left out because an unrelated
//! edit above a finding moves it without changing it; commits are kept because published
//! history does not change (a rebase makes new commits, and their findings are new).
//!
//! The file is JSON, sorted, one entry per finding with its fingerprint and what it was, so a
//! reviewer can read what was accepted in the diff that adds it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Finding;
use crate::{Error, Result};

const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub message: String,
}

/// `line 23`, `lines 4-9`, `file.py:20`: the numbers go, the words stay.
fn without_line_numbers(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let before = &message[..i];
        let numbered = before.ends_with("line ")
            || before.ends_with("lines ")
            || before.ends_with(".py:")
            || (before.ends_with('-') && out.ends_with("#-"));
        if c.is_ascii_digit() && numbered {
            while chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
                chars.next();
            }
            out.push('#');
        } else {
            out.push(c);
        }
    }
    out
}

/// FNV-1a, 64 bits: stable across platforms and Rust versions, unlike `DefaultHasher`.
fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

pub fn fingerprint(f: &Finding) -> String {
    let parts = [
        f.rule.as_str(),
        f.file.as_deref().unwrap_or(""),
        f.revision.as_deref().unwrap_or(""),
        f.commit.as_deref().unwrap_or(""),
        &without_line_numbers(&f.message),
    ];
    format!("{:016x}", fnv1a(&parts.join("\u{1f}")))
}

impl Baseline {
    pub fn of(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<Entry> = findings
            .iter()
            .map(|f| Entry {
                fingerprint: fingerprint(f),
                rule: f.rule.clone(),
                file: f.file.clone(),
                revision: f.revision.clone(),
                commit: f.commit.clone(),
                message: f.message.clone(),
            })
            .collect();
        entries.sort();
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline {
            version: VERSION,
            findings: entries,
        }
    }

    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| Error::Malformed {
            path: path.to_path_buf(),
            position: Some((e.line(), e.column())),
            message: format!(
                "not a postmortem baseline ({e}); write one with `postmortem check --write-baseline FILE`"
            ),
        })?;
        if baseline.version > VERSION {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                position: None,
                message: format!(
                    "baseline version {} is newer than this postmortem understands ({VERSION}): upgrade postmortem",
                    baseline.version
                ),
            });
        }
        Ok(baseline)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Splits `findings` into the new ones and how many were known; also how many baseline
    /// entries no longer occur (fixed since, and worth rewriting the baseline for).
    pub fn filter(&self, findings: Vec<Finding>) -> (Vec<Finding>, usize, usize) {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let mut seen = BTreeSet::new();
        let mut new = Vec::new();
        for f in findings {
            let print = fingerprint(&f);
            if known.contains(print.as_str()) {
                seen.insert(print);
            } else {
                new.push(f);
            }
        }
        let gone = known.len() - seen.len();
        (new, seen.len(), gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_do_not_count_and_revisions_do() {
        assert_eq!(
            without_line_numbers("users.id becomes VARCHAR(36) at line 23, lines 4-9, a.py:20"),
            "users.id becomes VARCHAR(36) at line #, lines #-#, a.py:#"
        );
        let meta = &crate::check::rules::fk_type_mismatch::META;
        let a = Finding::new(meta, "x at line 23").file("m.py").line(20);
        let moved = Finding::new(meta, "x at line 31").file("m.py").line(28);
        let other = Finding::new(meta, "x at line 23").file("n.py").line(20);
        assert_eq!(fingerprint(&a), fingerprint(&moved));
        assert_ne!(fingerprint(&a), fingerprint(&other));
        let (new, known, gone) = Baseline::of(&[a]).filter(vec![moved, other.clone()]);
        assert_eq!((new, known, gone), (vec![other], 1, 0));
    }
}
