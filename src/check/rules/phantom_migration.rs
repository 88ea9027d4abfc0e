//! `phantom-migration`: a commit message names a migration revision that does not exist in the repository
//!
//! **What it flags.** A commit whose message names migration revisions (in migration context:
//! "migration X", "Revision ID: X", "Revises: X", `X_slug.py`, a list under a "Migrations:"
//! line, "merge heads X Y") while its own tree has no migration file with that revision. Each
//! missing ID gets its case: never committed anywhere in history, committed earlier and removed
//! (by which commit), added only later (by which commit), or added on a branch this commit does
//! not contain. A commit that deletes the migration it names is consistent and not flagged.
//!
//! **Why it breaks deploys.** The message says the fix is in; the deploy runs the tree, and the
//! tree does not have it. In the seed incident, two "fix(migrations)" commits described six new
//! migrations that were never committed: each deploy of them failed exactly like the one before.
//!
//! **Example.** `fix(migrations): restructure UUID migrations` with body
//! `Migrations: 3a15202c7dc2 (convert users.id)` while no file declares `revision = "3a15202c7dc2"`.
//!
//! **Fix.** Commit the migration files the message describes (`git add` the `versions/` files),
//! or correct the message; then check `alembic heads` at that commit.
//!
//! Scope: the commits in `evidence.commits` when there are any (the incident's range), else every
//! commit the history index read. IDs are tokens of the repository's own revision-ID shape;
//! commit SHAs (and their prefixes), other systems' hashes (`cset:`, "changeset", `sha`), a
//! tool's own revision, UUIDs, URLs, fenced or indented code, diff and traceback excerpts and
//! all-digit runs are not IDs (see `collect::git::mentions`, `Foreign`). A named ID is present
//! when the commit's tree has it in any folder (not only the migration folders found at HEAD),
//! also as a revision that continues it with a non-hex character (`ecb6985693c0_`). A commit
//! older than the repository's first migration file names none of its revisions. In a shallow
//! clone "never committed" is not claimed: the status says how much history was scanned.
//!
//! One finding per commit. `data`:
//! ```json
//! {"commit": "<full sha>", "date": "2025-11-10T17:17:00Z", "summary": "<first line>",
//!  "ids": [{"id": "3a15202c7dc2", "status": "never_committed"},
//!          {"id": "...", "status": "not_in_shallow_history", "commits_scanned": 2,
//!           "cut_at": ["<sha of a commit whose parents the clone lacks>"]},
//!          {"id": "...", "status": "removed", "by_commit": "<sha>"},
//!          {"id": "...", "status": "added_later", "by_commit": "<sha>"},
//!          {"id": "...", "status": "on_other_branch", "by_commit": "<sha that added it>"}],
//!  "present": ["<named IDs that do exist at that commit>"],
//!  "existing": ["<head revisions in that commit's tree: what exists instead>"]}
//! ```

use std::collections::BTreeSet;

use serde_json::json;

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::evidence::history::{CommitRef, Mention, MigrationHistory};

pub struct PhantomMigration;

pub static META: RuleMeta = RuleMeta {
    name: "phantom-migration",
    severity: Severity::Error,
    summary: "a commit message names a migration revision that does not exist in the repository",
    help: "Commit the migration the message describes, or correct the message.",
    category: Category::History,
};

/// Why a named revision is not in the commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Missing {
    NeverCommitted,
    /// Not in a shallow clone's history: whether it was ever committed cannot be told.
    NotInShallowHistory {
        commits: u64,
        cut_at: Vec<String>,
    },
    Removed(Option<CommitRef>),
    AddedLater(CommitRef),
    OnOtherBranch(CommitRef),
}

impl Missing {
    fn status(&self) -> &'static str {
        match self {
            Missing::NeverCommitted => "never_committed",
            Missing::NotInShallowHistory { .. } => "not_in_shallow_history",
            Missing::Removed(_) => "removed",
            Missing::AddedLater(_) => "added_later",
            Missing::OnOtherBranch(_) => "on_other_branch",
        }
    }

    fn by_commit(&self) -> Option<&CommitRef> {
        match self {
            Missing::NeverCommitted | Missing::NotInShallowHistory { .. } => None,
            Missing::Removed(by) => by.as_ref(),
            Missing::AddedLater(by) | Missing::OnOtherBranch(by) => Some(by),
        }
    }

    fn describe(&self) -> String {
        match self {
            Missing::NeverCommitted => "never committed anywhere in history".to_string(),
            Missing::NotInShallowHistory { commits, cut_at } => {
                let cut: Vec<&str> = cut_at
                    .iter()
                    .map(|sha| crate::evidence::short_sha(sha))
                    .collect();
                format!(
                    "not in the {commits} commits of this shallow clone, cut at {}: fetch the \
                     full history (`fetch-depth: 0`, or `git fetch --unshallow`) to tell whether \
                     it was ever committed",
                    match cut.as_slice() {
                        [] => "an unknown commit".to_string(),
                        _ => cut.join(", "),
                    }
                )
            }
            Missing::Removed(Some(by)) => format!(
                "removed earlier by commit {}",
                crate::evidence::short_sha(&by.sha)
            ),
            Missing::Removed(None) => "removed earlier".to_string(),
            Missing::AddedLater(by) => format!(
                "added only later, by commit {}",
                crate::evidence::short_sha(&by.sha)
            ),
            Missing::OnOtherBranch(by) => format!(
                "added by commit {} on a branch this commit does not contain",
                crate::evidence::short_sha(&by.sha)
            ),
        }
    }
}

/// Whether the mention can name one of this repository's revisions at all: a commit older
/// than the repository's first migration file names something else (in CKAN's history,
/// Mercurial changesets of 2009–2011, years before its first Alembic revision).
fn may_name_revisions(history: &MigrationHistory, mention: &Mention) -> bool {
    history
        .first_migration
        .as_ref()
        .is_some_and(|first| mention.commit.order >= first.order)
}

/// What "no such revision anywhere" means in this clone.
fn nowhere(history: &MigrationHistory) -> Missing {
    match &history.shallow {
        Some(shallow) => Missing::NotInShallowHistory {
            commits: history.commits_scanned,
            cut_at: shallow.cut_at.clone(),
        },
        None => Missing::NeverCommitted,
    }
}

/// `None` when the ID is consistent with the commit (present, or deleted by it).
fn classify(history: &MigrationHistory, mention: &Mention, id: &str) -> Option<Missing> {
    if mention.present.iter().any(|p| p == id) {
        return None;
    }
    let at = mention.commit.order;
    let Some(life) = history.revisions.get(id) else {
        return Some(nowhere(history));
    };
    if life.removed.iter().any(|r| r.sha == mention.commit.sha) {
        return None;
    }
    let last_add_before = life.added.iter().filter(|a| a.order < at).max();
    if let Some(added) = last_add_before {
        let removal = life
            .removed
            .iter()
            .filter(|r| r.order > added.order && r.order <= at)
            .max();
        return Some(match removal {
            Some(r) => Missing::Removed(Some(r.clone())),
            None => Missing::OnOtherBranch(added.clone()),
        });
    }
    match life.added.iter().filter(|a| a.order > at).min() {
        Some(later) => Some(Missing::AddedLater(later.clone())),
        None if !life.removed.is_empty() => Some(Missing::Removed(life.removed.first().cloned())),
        None => Some(nowhere(history)),
    }
}

fn finding(history: &MigrationHistory, mention: &Mention) -> Option<Finding> {
    if !may_name_revisions(history, mention) {
        return None;
    }
    let missing: Vec<(&str, Missing)> = mention
        .ids
        .iter()
        .filter_map(|id| classify(history, mention, id).map(|m| (id.as_str(), m)))
        .collect();
    let (first, _) = missing.first()?;
    // Group IDs by case so the message reads as a sentence per case.
    let mut cases: Vec<(String, Vec<&str>)> = Vec::new();
    for (id, case) in &missing {
        let text = case.describe();
        match cases.iter_mut().find(|(t, _)| *t == text) {
            Some((_, ids)) => ids.push(id),
            None => cases.push((text, vec![id])),
        }
    }
    let parts: Vec<String> = cases
        .iter()
        .map(|(text, ids)| format!("{} ({text})", ids.join(", ")))
        .collect();
    let noun = if missing.len() == 1 {
        "migration"
    } else {
        "migrations"
    };
    let message = format!(
        "commit {} ({}) \"{}\" names {noun} that its tree does not contain: {}; deploying it \
         does not run what the message describes",
        crate::evidence::short_sha(&mention.commit.sha),
        mention.commit.time.format("%Y-%m-%d %H:%M"),
        mention.summary,
        parts.join("; ")
    );
    let ids: Vec<serde_json::Value> = missing
        .iter()
        .map(|(id, case)| {
            let mut entry = json!({"id": id, "status": case.status()});
            if let (Some(by), Some(obj)) = (case.by_commit(), entry.as_object_mut()) {
                obj.insert("by_commit".to_string(), json!(by.sha));
            }
            if let (Missing::NotInShallowHistory { commits, cut_at }, Some(obj)) =
                (case, entry.as_object_mut())
            {
                obj.insert("commits_scanned".to_string(), json!(commits));
                obj.insert("cut_at".to_string(), json!(cut_at));
            }
            entry
        })
        .collect();
    let data = json!({
        "commit": mention.commit.sha,
        "date": mention.commit.time,
        "summary": mention.summary,
        "ids": ids,
        "present": mention.present,
        "existing": mention.heads,
    });
    Some(
        Finding::new(&META, message)
            .commit(mention.commit.sha.clone())
            .revision(*first)
            .data(data),
    )
}

impl Rule for PhantomMigration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let Some(history) = ctx.history else {
            return Vec::new();
        };
        let scope: BTreeSet<&str> = ctx
            .evidence
            .commits
            .iter()
            .map(|c| c.sha.as_str())
            .collect();
        history
            .mentions
            .iter()
            .filter(|m| scope.is_empty() || scope.contains(m.commit.sha.as_str()))
            .filter_map(|m| finding(history, m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::history::RevisionLife;
    use crate::evidence::{Evidence, Service};

    fn at(order: u32, sha: &str) -> CommitRef {
        CommitRef {
            order,
            sha: sha.repeat(40 / sha.len()),
            time: chrono::DateTime::from_timestamp(1_762_795_020 + i64::from(order) * 60, 0)
                .unwrap_or_default(),
        }
    }

    fn history() -> MigrationHistory {
        let mut history = MigrationHistory {
            dirs: vec!["alembic/versions".to_string()],
            first_migration: Some(at(1, "a")),
            ..MigrationHistory::default()
        };
        history.revisions.insert(
            "36b3e62b4148".to_string(),
            RevisionLife {
                files: vec!["alembic/versions/36b3e62b4148_deals.py".to_string()],
                added: vec![at(1, "a")],
                removed: vec![],
            },
        );
        history
    }

    fn run(history: &MigrationHistory) -> Vec<Finding> {
        let evidence = Evidence::new(Service::default());
        let ctx = CheckContext::new(&evidence, Some(history));
        PhantomMigration.check(&ctx)
    }

    #[test]
    fn err() {
        let mut history = history();
        history.mentions.push(Mention {
            commit: at(5, "d"),
            summary: "fix(migrations): restructure UUID to String migrations".to_string(),
            ids: vec!["3a15202c7dc2".to_string(), "36b3e62b4148".to_string()],
            present: vec!["36b3e62b4148".to_string()],
            heads: vec!["36b3e62b4148".to_string()],
        });
        let findings = run(&history);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.revision.as_deref(), Some("3a15202c7dc2"));
        assert!(f
            .message
            .contains("3a15202c7dc2 (never committed anywhere in history)"));
        assert_eq!(f.data["ids"][0]["status"], "never_committed");
        assert_eq!(f.data["existing"][0], "36b3e62b4148");
    }

    #[test]
    fn ok() {
        let mut history = history();
        history.mentions.push(Mention {
            commit: at(5, "d"),
            summary: "add migration 36b3e62b4148".to_string(),
            ids: vec!["36b3e62b4148".to_string()],
            present: vec!["36b3e62b4148".to_string()],
            heads: vec!["36b3e62b4148".to_string()],
        });
        assert!(run(&history).is_empty());
        assert!(PhantomMigration
            .check(&CheckContext::new(&Evidence::new(Service::default()), None))
            .is_empty());
    }
}
