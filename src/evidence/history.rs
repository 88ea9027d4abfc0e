//! The history facts the rules read: which commits name which migration IDs, and which
//! commits added or removed which migration revisions. `collect::git` fills them from the
//! repository; `phantom-migration` reads them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What `phantom-migration` needs from the whole history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MigrationHistory {
    /// Migration folders indexed, relative to the repository root.
    pub dirs: Vec<String>,
    /// The commit the walk started from.
    #[serde(default)]
    pub head: Option<String>,
    pub commits_scanned: u64,
    /// The shape of the repository's own revision IDs, learnt from the revisions at HEAD;
    /// mentions are tokens of this shape.
    pub id_shape: IdShape,
    /// Revision IDs in the migration folders at HEAD, sorted.
    #[serde(default)]
    pub head_revisions: Vec<String>,
    /// Heads of the revision graph at HEAD (revisions no other revision names as parent).
    #[serde(default)]
    pub heads: Vec<String>,
    /// Every revision ID that was ever in a migration folder, with who added and removed it,
    /// and the named IDs found beyond the folders. Filled only when a named ID is missing from
    /// its commit's tree (the whole history is read then, and only then); empty when every
    /// named ID was found where its message was committed.
    #[serde(default)]
    pub revisions: BTreeMap<String, RevisionLife>,
    /// Commits whose messages name IDs of [`id_shape`](Self::id_shape) in migration context,
    /// oldest first.
    #[serde(default)]
    pub mentions: Vec<Mention>,
    /// The oldest commit whose tree held an Alembic migration file: in any folder when the
    /// search beyond the migration folders read the whole history, else in the migration
    /// folders. A message older than that cannot name one of this repository's revisions.
    /// `None` when no question needed it (every named ID was found in its commit's tree), or
    /// when no commit has one.
    #[serde(default)]
    pub first_migration: Option<CommitRef>,
    /// Set when the clone is shallow: the history stops there, so no ID can be said to have
    /// never been committed.
    #[serde(default)]
    pub shallow: Option<Shallow>,
    /// Objects the search beyond the migration folders could not read (a partial clone).
    #[serde(default)]
    pub unreadable_objects: u64,
}

/// Where a shallow clone's history is cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shallow {
    /// The commits whose parents the clone does not have, sorted.
    pub cut_at: Vec<String>,
}

/// A commit, with its place in the history: `order` counts from the oldest commit, parents
/// always before children, so "earlier" and "later" compare orders.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommitRef {
    pub order: u32,
    pub sha: String,
    /// Author time, UTC.
    pub time: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RevisionLife {
    /// Files that declared this revision, relative to the repository root.
    pub files: Vec<String>,
    /// Commits whose tree gained the revision (absent from every parent), oldest first.
    pub added: Vec<CommitRef>,
    /// Commits whose tree lost it (present in every parent), oldest first.
    pub removed: Vec<CommitRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    pub commit: CommitRef,
    pub summary: String,
    /// IDs the message names, in order of appearance.
    pub ids: Vec<String>,
    /// Those of `ids` that are migration revisions in this commit's own tree.
    pub present: Vec<String>,
    /// Heads of the revision graph in this commit's tree: what exists instead.
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdShape {
    /// Lowercase hex of this length (Alembic's default is 12).
    Hex { len: usize },
    /// All digits of this length (`0001`, `0042`).
    Digits { len: usize },
}

impl Default for IdShape {
    fn default() -> Self {
        IdShape::Hex { len: 12 }
    }
}

impl IdShape {
    /// The dominant shape among `ids`, or 12-hex when there is none.
    pub fn learn<'a>(ids: impl IntoIterator<Item = &'a str>) -> IdShape {
        let mut counts: BTreeMap<(bool, usize), usize> = BTreeMap::new();
        let mut total = 0usize;
        for id in ids {
            total += 1;
            let digits = id.bytes().all(|b| b.is_ascii_digit());
            let hex = id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if id.len() >= 4 && (digits || hex && id.len() >= 8) {
                *counts.entry((digits, id.len())).or_default() += 1;
            }
        }
        // All-digit IDs also look like hex: count them with the hex ones of their length.
        let mut hex_counts: BTreeMap<usize, usize> = BTreeMap::new();
        for ((_, len), n) in &counts {
            *hex_counts.entry(*len).or_default() += n;
        }
        let best_hex = hex_counts.iter().max_by_key(|(len, n)| (**n, **len));
        let best_digits = counts
            .iter()
            .filter(|((digits, _), _)| *digits)
            .max_by_key(|(_, n)| **n);
        match (best_digits, best_hex) {
            (Some(((_, len), n)), _) if *n * 2 > total => IdShape::Digits { len: *len },
            (_, Some((len, n))) if *n * 2 > total && *len >= 8 => IdShape::Hex { len: *len },
            _ => IdShape::default(),
        }
    }
}
