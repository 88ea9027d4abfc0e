//! Correlation: the failing streak, the last good deploy, and the commits between them.
//!
//! Pure functions of the evidence. The streak and deploy times are the evidence's own helpers
//! (`evidence::deploys`), so that rules (which run before the analysis) reach the same answer
//! the report shows.

use std::collections::{HashMap, HashSet};

use crate::analyze::{CommitRange, MigrationChange, Streak};
use crate::evidence::{Commit, Evidence};

pub use crate::evidence::{deploy_time, oldest_first, short_sha, streak};

/// Whether two SHAs name the same commit, one possibly abbreviated.
pub fn same_sha(a: &str, b: &str) -> bool {
    let n = a.len().min(b.len());
    n >= 7
        && a.get(..n)
            .is_some_and(|x| b.get(..n).is_some_and(|y| x.eq_ignore_ascii_case(y)))
}

fn deploy_sha(evidence: &Evidence, id: &str) -> Option<String> {
    evidence
        .deploy(id)
        .and_then(|d| d.commit.as_ref())
        .map(|c| c.sha.clone())
}

/// The commits from the last good deploy's commit (excluded) to the newest failed deploy's
/// commit (included), oldest first, with the migration files they touched.
///
/// Ancestry comes from the commits' parents when the evidence holds the newest commit;
/// otherwise the git collector's `suspect` marks, and failing that the commit times, stand in.
pub fn commit_range(evidence: &Evidence, streak: &Streak) -> Option<CommitRange> {
    let first_bad = deploy_sha(evidence, &streak.first_failed)?;
    let to = deploy_sha(evidence, &streak.last_failed).unwrap_or_else(|| first_bad.clone());
    let from = streak
        .last_good
        .as_deref()
        .and_then(|id| deploy_sha(evidence, id));

    let index = ShaIndex::new(&evidence.commits);
    let find = |sha: &str| index.find(sha);
    let in_range: Vec<&Commit> = match find(&to) {
        Some(tip) => {
            let excluded = from
                .as_deref()
                .and_then(find)
                .map(|c| ancestors(&index, c))
                .unwrap_or_default();
            let reachable = ancestors(&index, tip);
            evidence
                .commits
                .iter()
                .filter(|c| {
                    reachable.contains(c.sha.as_str()) && !excluded.contains(c.sha.as_str())
                })
                .collect()
        }
        None if evidence.commits.iter().any(|c| c.suspect) => {
            evidence.commits.iter().filter(|c| c.suspect).collect()
        }
        None => {
            let lower = from.as_deref().and_then(find).map(|c| c.time);
            let upper = streak.last_failed_at;
            evidence
                .commits
                .iter()
                .filter(|c| lower.is_none_or(|t| c.time > t) && upper.is_none_or(|t| c.time <= t))
                .collect()
        }
    };
    let mut in_range = in_range;
    in_range.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.sha.cmp(&b.sha)));

    let migration_dirs: Vec<&str> = evidence
        .migration_sets
        .iter()
        .map(|s| s.path.as_str())
        .collect();
    let mut migration_changes = Vec::new();
    for commit in &in_range {
        for change in &commit.files {
            if is_migration_file(&change.path, &migration_dirs) {
                migration_changes.push(MigrationChange {
                    file: change.path.clone(),
                    change: change.change,
                    commit: commit.sha.clone(),
                });
            }
        }
    }
    Some(CommitRange {
        from,
        first_bad,
        to,
        commits: in_range.iter().map(|c| c.sha.clone()).collect(),
        migration_changes,
    })
}

/// The commit and every ancestor of it that the evidence holds.
fn ancestors<'a>(index: &ShaIndex<'a>, tip: &'a Commit) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut stack = vec![tip];
    while let Some(commit) = stack.pop() {
        if !seen.insert(commit.sha.as_str()) {
            continue;
        }
        for parent in &commit.parents {
            if let Some(p) = index.find(parent) {
                stack.push(p);
            }
        }
    }
    seen
}

/// Commits by the first seven characters of their SHA, the shortest that [`same_sha`] compares:
/// a range of 200,000 commits is walked by parent lookups, each of which scanned every commit.
pub(crate) struct ShaIndex<'a> {
    by_prefix: HashMap<String, Vec<&'a Commit>>,
}

impl<'a> ShaIndex<'a> {
    pub(crate) fn new(commits: &'a [Commit]) -> Self {
        let mut by_prefix: HashMap<String, Vec<&'a Commit>> = HashMap::new();
        for commit in commits {
            if let Some(prefix) = commit.sha.get(..7) {
                by_prefix
                    .entry(prefix.to_ascii_lowercase())
                    .or_default()
                    .push(commit);
            }
        }
        ShaIndex { by_prefix }
    }

    /// The first commit, in evidence order, that `sha` names.
    pub(crate) fn find(&self, sha: &str) -> Option<&'a Commit> {
        let prefix = sha.get(..7)?;
        let bucket = match self.by_prefix.get(prefix) {
            Some(bucket) => bucket,
            None => self.by_prefix.get(&prefix.to_ascii_lowercase())?,
        };
        bucket.iter().copied().find(|c| same_sha(&c.sha, sha))
    }
}

/// A Python file in a known migration folder, or in any `versions` folder under a
/// `migrations`/`alembic` directory when no folder is known.
pub fn is_migration_file(path: &str, migration_dirs: &[&str]) -> bool {
    if !path.ends_with(".py") || path.ends_with("__init__.py") {
        return false;
    }
    if migration_dirs
        .iter()
        .any(|dir| path.starts_with(&format!("{}/", dir.trim_end_matches('/'))))
    {
        return true;
    }
    path.contains("/versions/") || path.starts_with("versions/")
}
