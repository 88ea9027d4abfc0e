//! Which tokens of a commit message name a migration revision.
//!
//! Real histories are full of hex runs that are not migrations: commit SHAs, UUIDs, hashes in
//! pasted output, IDs inside URLs, phone numbers. A token counts only when it stands on its own
//! (not inside a UUID, URL, e-mail address, fenced code block, path or dotted name) *and* in
//! migration context: its line names migrations/revisions, it sits in a list under a line or
//! heading that does, or it is the start of a `<id>_<slug>.py` file name. The ID shape and the
//! "is a commit SHA" exclusion are applied later, by the history index, which knows the
//! repository's revision IDs and commits.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// A token that may name a migration revision.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub token: String,
    /// Stated as an ID beyond doubt: `Revision ID: X`, `Revises: X`, `down_revision = 'X'`,
    /// or an `X_slug.py` file name. Only strong mentions may be all digits.
    pub strong: bool,
}

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9a-f]{8,40}|[0-9]{4,16}").expect("static regex"));
/// Text that may contain hex runs that are never migration IDs; blanked before tokenising.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)[a-z][a-z0-9+.-]*://\S+",
        r"|www\.\S+",
        r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        r"|[\w.+-]+@[\w-]+(\.[\w-]+)+",
        r"|\b(sha1|sha256|sha512|md5|sha)[:=]\s*[0-9a-f]+",
    ))
    .expect("static regex")
});
static CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(migrations?|revisions?|revises|down_revision|alembic|merge[ds]? heads?|migrate[ds]?)\b",
    )
    .expect("static regex")
});
static STRONG_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(revision id|revises|down_revision|revision)\s*[:=]\s*[\(\[]?\s*['"`]?$"#)
        .expect("static regex")
});
/// A token preceded by these words is a commit, not a migration.
static COMMIT_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(commits?|sha|cherry[- ]picked from commit|reverts? commit|fixup!?|squash!?|change-id:?)\s*[:#]?\s*['`]?$")
        .expect("static regex")
});
static FILE_AFTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^_[A-Za-z0-9_]*\.py\b").expect("static regex"));
static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([-*+•]|\d+[.)])\s+").expect("static regex"));

/// Cheap test on the raw message: can it contain a candidate at all?
pub fn may_mention(message: &[u8]) -> bool {
    let mut run = 0usize;
    for &b in message {
        if b.is_ascii_digit() || (b'a'..=b'f').contains(&b) {
            run += 1;
            if run >= 8 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Tokens of `message` that may name migration revisions, in order of appearance, deduplicated.
pub fn candidate_ids(message: &str) -> Vec<Candidate> {
    if !may_mention(message.as_bytes()) {
        return Vec::new();
    }
    let summary_context = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| CONTEXT.is_match(l));
    let mut out: Vec<Candidate> = Vec::new();
    // Where each token sits in `out`: a message can hold 100,000 distinct IDs.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut in_fence = false;
    // Set by a line that names migrations and introduces a list (ends with ':' or is a heading);
    // kept through the list's items and blank lines, dropped at the next ordinary line.
    let mut list_context = false;
    for line in message.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let is_item = LIST_ITEM.is_match(line);
        let line_context = CONTEXT.is_match(line);
        if trimmed.is_empty() {
            continue;
        }
        if !is_item && !line.starts_with([' ', '\t']) {
            list_context = false;
        }
        let item_context = is_item && (list_context || summary_context);
        scan_line(line, line_context || item_context, &mut out, &mut index);
        if line_context && (trimmed.ends_with(':') || trimmed.starts_with('#')) {
            list_context = true;
        }
    }
    out
}

fn scan_line(
    line: &str,
    context: bool,
    out: &mut Vec<Candidate>,
    index: &mut HashMap<String, usize>,
) {
    let masked = NOISE.replace_all(line, |c: &regex::Captures<'_>| " ".repeat(c[0].len()));
    for m in TOKEN.find_iter(&masked) {
        let before = masked.get(..m.start()).unwrap_or_default();
        let after = masked.get(m.end()..).unwrap_or_default();
        let prev = before.chars().next_back();
        let next = after.chars().next();
        // Part of a longer word or number.
        if prev.is_some_and(|c| c.is_ascii_alphanumeric())
            || next.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        let file_name = FILE_AFTER.is_match(after);
        if !file_name && next == Some('_') {
            continue;
        }
        // Inside a dotted name, a path, a dashed identifier, an anchor or a $VAR.
        let glued = |c: Option<char>| {
            matches!(
                c,
                Some('-' | '.' | '/' | '\\' | '@' | '#' | '$' | '%' | '&' | '=')
            )
        };
        let next_glued = next.is_some_and(|c| matches!(c, '-' | '/' | '\\' | '@'))
            || (next == Some('.')
                && after
                    .chars()
                    .nth(1)
                    .is_some_and(|c| c.is_ascii_alphanumeric()));
        if !file_name && (glued(prev) || next_glued) {
            continue;
        }
        if COMMIT_BEFORE.is_match(before) {
            continue;
        }
        let strong = file_name || STRONG_BEFORE.is_match(before);
        if !(context || strong) {
            continue;
        }
        match index.get(m.as_str()) {
            Some(&at) => out[at].strong |= strong,
            None => {
                index.insert(m.as_str().to_string(), out.len());
                out.push(Candidate {
                    token: m.as_str().to_string(),
                    strong,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(message: &str) -> Vec<String> {
        candidate_ids(message)
            .into_iter()
            .map(|c| c.token)
            .collect()
    }

    #[test]
    fn migration_phrasings_are_found() {
        let msg = "fix(migrations): restructure\n\nMigrations: 3a15202c7dc2 (convert users.id), 0cbf1e0e3ab5\n\
                   Created migrations:\n- dc2c0f69c1b1: convert org\n- 9a3aba324f7f\n\n\
                   Revision ID: e19f4551fcb0\nRevises: f5b6c2c9d4f2\nadds versions/aaaabbbbcccc_add_users.py\n\
                   merge heads 111122223333 and 444455556666";
        assert_eq!(
            tokens(msg),
            [
                "3a15202c7dc2",
                "0cbf1e0e3ab5",
                "dc2c0f69c1b1",
                "9a3aba324f7f",
                "e19f4551fcb0",
                "f5b6c2c9d4f2",
                "aaaabbbbcccc",
                "111122223333",
                "444455556666"
            ]
        );
    }

    #[test]
    fn noise_is_not_found() {
        let msg = "fix migration for tenant 123e4567-e89b-12d3-a456-426614174000\n\
                   migration docs at https://example.com/rev/abcdef123456\n\
                   migration revert commit abcdef012345\n\
                   migration: call 555123456789 for help\n\
                   migration path app/abcdef123456/x and obj.abcdef123456.attr\n\
                   unrelated abcdef123456 without context\n\
                   ```\nmigration abcdef654321\n```\n";
        // The phone number stays a weak all-digit candidate: `IdShape` drops those.
        let found = candidate_ids(msg);
        assert_eq!(
            found,
            [Candidate {
                token: "555123456789".to_string(),
                strong: false
            }]
        );
    }

    #[test]
    fn strong_mentions_may_be_digits() {
        let found = candidate_ids("Revision ID: 000000000042");
        assert_eq!(found.len(), 1);
        assert!(found.iter().all(|c| c.strong));
    }
}
