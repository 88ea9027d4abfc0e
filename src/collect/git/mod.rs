//! Git collector (git2): commits, changed files, and migration files read from any commit's tree.
//!
//! [`GitRepo::open`] finds the repository around `--repo`; [`collect`] fills the evidence's
//! commits from the deploys' commits; [`GitRepo::tree`] reads a commit's tree as a
//! [`FileSource`](crate::source::FileSource); [`GitRepo::migration_history`] indexes the whole
//! history for `phantom-migration`.

mod anywhere;
mod folders;
mod history;
mod keys;
mod mentions;
mod sets;
mod tree;
mod walk;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository, Sort};

pub use crate::evidence::history::{
    CommitRef, IdShape, Mention, MigrationHistory, RevisionLife, Shallow,
};
pub use mentions::{candidate_ids, Candidate};
pub use tree::TreeSource;

use crate::evidence::{ChangeKind, Commit, Deploy, Evidence, FileChange};
use crate::{Error, Result};

/// When neither a last good deploy nor a window bounds the range, this many commits back from
/// the newest deploy are collected (and a note says so), so one missing bound cannot pull in
/// a whole history.
const UNBOUNDED_COMMIT_LIMIT: usize = 200;

pub struct GitRepo {
    repo: Repository,
    /// `--repo` relative to the work tree root, `/`-separated.
    prefix: String,
    /// The path `--repo` was given as, for messages.
    given: PathBuf,
}

impl std::fmt::Debug for GitRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepo")
            .field("path", &self.repo.path())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl GitRepo {
    /// Opens the repository containing `path` (searching upwards, worktrees and bare
    /// repositories included).
    pub fn open(path: &Path) -> Result<GitRepo> {
        if !path.exists() {
            return Err(Error::Git(format!("{} does not exist", path.display())));
        }
        let repo = Repository::discover(path).map_err(|e| {
            if e.code() == git2::ErrorCode::NotFound {
                Error::Git(format!(
                    "{} is not inside a git repository (no .git in it or any parent folder); \
                     point --repo at a clone of the service's repository",
                    path.display()
                ))
            } else {
                Error::Git(format!("{}: {}", path.display(), e.message()))
            }
        })?;
        let prefix = match repo.workdir() {
            Some(workdir) => relative_prefix(workdir, path),
            None => String::new(),
        };
        Ok(GitRepo {
            repo,
            prefix,
            given: path.to_path_buf(),
        })
    }

    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// Path of `--repo` relative to the workdir root ("" at the root), so migration folders
    /// can be found under it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// Full SHA of the commit `rev` names (full or short SHA, or any revision git accepts),
    /// `None` when it is not in this clone or is ambiguous.
    pub fn resolve(&self, rev: &str) -> Option<String> {
        let rev = rev.trim();
        if rev.is_empty() {
            return None;
        }
        let object = self.repo.revparse_single(rev).ok()?;
        let commit = object.peel_to_commit().ok()?;
        Some(commit.id().to_string())
    }

    /// The whole tree of commit `sha` (full or short).
    pub fn tree(&self, sha: &str) -> Result<TreeSource<'_>> {
        self.tree_under(sha, "")
    }

    /// The tree of commit `sha` below folder `root` ("" for the whole tree), so paths read
    /// from it match the ones a [`WorkDir`](crate::source::WorkDir) at that folder gives.
    pub fn tree_under(&self, sha: &str, root: &str) -> Result<TreeSource<'_>> {
        let full = self
            .resolve(sha)
            .ok_or_else(|| Error::Git(format!("commit {sha} is not in {}", self.describe())))?;
        let commit = self.repo.find_commit(Oid::from_str(&full)?)?;
        let mut tree = commit.tree()?;
        let root = root.trim_matches('/').to_string();
        if !root.is_empty() {
            let entry = tree.get_path(Path::new(&root)).map_err(|_| {
                Error::Git(format!(
                    "{root} does not exist at commit {}",
                    crate::evidence::short_sha(&full)
                ))
            })?;
            let object = entry.to_object(&self.repo)?;
            tree = object.peel_to_tree().map_err(|_| {
                Error::Git(format!(
                    "{root} is a file at commit {}",
                    crate::evidence::short_sha(&full)
                ))
            })?;
        }
        Ok(TreeSource {
            repo: &self.repo,
            tree,
            sha: full,
            root,
        })
    }

    /// Paths (from the work tree root) that commit `sha` changed against its first parent,
    /// sorted; every path of its tree for a root commit.
    pub fn changed_paths(&self, sha: &str) -> Result<Vec<String>> {
        let full = self
            .resolve(sha)
            .ok_or_else(|| Error::Git(format!("commit {sha} is not in {}", self.describe())))?;
        let commit = self.repo.find_commit(Oid::from_str(&full)?)?;
        let parent = match commit.parents().next() {
            Some(p) => Some(p.tree()?),
            None => None,
        };
        let diff = self
            .repo
            .diff_tree_to_tree(parent.as_ref(), Some(&commit.tree()?), None)?;
        let mut paths: Vec<String> = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// Indexes the whole history reachable from HEAD: which commits name which migration IDs,
    /// and which commits added or removed which migration revisions in `migration_dirs`
    /// (folders relative to the repository root, searched recursively).
    pub fn migration_history(&self, migration_dirs: &[String]) -> Result<MigrationHistory> {
        history::build(&self.repo, migration_dirs)
    }

    /// SHAs of the commits `postmortem check --range/--since` looks at: `A..B` (or a single
    /// revision and its history; HEAD's history without a range), committed at or after `since`
    /// and at or before `until`.
    pub fn commits_in(
        &self,
        range: Option<&str>,
        since: Option<chrono::DateTime<chrono::Utc>>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<HashSet<String>> {
        let bad = |e: git2::Error| {
            crate::Error::Usage(format!(
                "--range {}: {} (use A..B with commits, branches or tags of {})",
                range.unwrap_or("HEAD"),
                e.message(),
                self.describe()
            ))
        };
        let (tips, hide) = match range {
            Some(spec) if spec.contains("..") => {
                let parsed = self.repo.revparse(spec).map_err(bad)?;
                let to = parsed.to().map(|o| o.peel_to_commit().map(|c| c.id()));
                let from = parsed.from().map(|o| o.peel_to_commit().map(|c| c.id()));
                let to = match to {
                    Some(t) => t.map_err(bad)?,
                    None => self.repo.head()?.peel_to_commit()?.id(),
                };
                let hide = match from {
                    Some(f) => vec![f.map_err(bad)?],
                    None => Vec::new(),
                };
                (vec![to], hide)
            }
            Some(spec) => {
                let obj = self.repo.revparse_single(spec).map_err(bad)?;
                (vec![obj.peel_to_commit().map_err(bad)?.id()], Vec::new())
            }
            None => (vec![self.repo.head()?.peel_to_commit()?.id()], Vec::new()),
        };
        let mut shas = HashSet::new();
        for oid in self.walk(&tips, &hide, None)? {
            if since.is_some() || until.is_some() {
                let at = utc(self.repo.find_commit(oid)?.time());
                if since.is_some_and(|s| at < s) || until.is_some_and(|u| at > u) {
                    continue;
                }
            }
            shas.insert(oid.to_string());
        }
        Ok(shas)
    }

    fn describe(&self) -> String {
        match self.repo.workdir() {
            Some(dir) => format!("the repository at {}", dir.display()),
            None => format!("the repository at {}", self.given.display()),
        }
    }

    /// Commits reachable from `tips` and not from `hide`, newest first.
    fn walk(&self, tips: &[Oid], hide: &[Oid], limit: Option<usize>) -> Result<Vec<Oid>> {
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
        for tip in tips {
            walk.push(*tip)?;
        }
        for oid in hide {
            walk.hide(*oid)?;
        }
        let mut out = Vec::new();
        for oid in walk {
            out.push(oid?);
            if limit.is_some_and(|n| out.len() >= n) {
                break;
            }
        }
        Ok(out)
    }

    fn commit_record(&self, oid: Oid, evidence: &mut Evidence) -> Result<Commit> {
        let commit = self.repo.find_commit(oid)?;
        let author = commit.author();
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let message = crate::redact::redact(&message, &mut evidence.redactions);
        let (summary, body) = split_message(&message);
        Ok(Commit {
            sha: oid.to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: Some(String::from_utf8_lossy(author.email_bytes()).into_owned())
                .filter(|e| !e.is_empty()),
            time: utc(author.when()),
            summary,
            body,
            parents: commit.parent_ids().map(|p| p.to_string()).collect(),
            files: self.changed_files(&commit)?,
            suspect: false,
        })
    }

    /// Files the commit changed against its first parent (everything, for a root commit),
    /// with renames detected.
    fn changed_files(&self, commit: &git2::Commit<'_>) -> Result<Vec<FileChange>> {
        let new_tree = commit.tree()?;
        let old_tree = match commit.parent(0) {
            Ok(parent) => Some(parent.tree()?),
            Err(_) => None,
        };
        let mut options = DiffOptions::new();
        options.ignore_submodules(true);
        let mut diff =
            self.repo
                .diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), Some(&mut options))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
        let mut files = Vec::new();
        for delta in diff.deltas() {
            let path = |file: git2::DiffFile<'_>| {
                file.path()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default()
            };
            let new_path = path(delta.new_file());
            let old_path = path(delta.old_file());
            let change = match delta.status() {
                Delta::Added | Delta::Copied => FileChange {
                    path: new_path,
                    change: ChangeKind::Added,
                    old_path: None,
                },
                Delta::Deleted => FileChange {
                    path: old_path,
                    change: ChangeKind::Deleted,
                    old_path: None,
                },
                Delta::Renamed => FileChange {
                    path: new_path,
                    change: ChangeKind::Renamed,
                    old_path: Some(old_path),
                },
                _ => FileChange {
                    path: new_path,
                    change: ChangeKind::Modified,
                    old_path: None,
                },
            };
            files.push(change);
        }
        files.sort();
        Ok(files)
    }
}

fn utc(time: git2::Time) -> DateTime<Utc> {
    DateTime::from_timestamp(time.seconds(), 0).unwrap_or_default()
}

/// `--repo` relative to the work tree, `/`-separated; "" when it is the root or outside it.
fn relative_prefix(workdir: &Path, path: &Path) -> String {
    let (Ok(workdir), Ok(path)) = (workdir.canonicalize(), path.canonicalize()) else {
        return String::new();
    };
    let dir = if path.is_file() {
        path.parent().map(Path::to_path_buf).unwrap_or(path)
    } else {
        path
    };
    match dir.strip_prefix(&workdir) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => String::new(),
    }
}

/// Summary (first line) and body (the rest, trimmed), as `git log` shows them.
fn split_message(message: &str) -> (String, String) {
    let message = message.trim_start_matches(['\n', '\r']);
    let mut parts = message.splitn(2, '\n');
    let summary = parts.next().unwrap_or_default().trim_end().to_string();
    let body = parts.next().unwrap_or_default().trim().to_string();
    (summary, body)
}

/// A deploy whose commit is in the clone.
struct Resolved<'a> {
    deploy: &'a Deploy,
    oid: Oid,
}

/// Fills `evidence.commits` from the deploys already in `evidence.deploys`: resolves each
/// deploy's commit (a note for each one not in the clone), takes last-good-deploy commit ..
/// newest deploy commit (or the window when there are no deploys), marks `suspect` on
/// last-good .. first-failed (first-failed included), lists each commit's changed files, and
/// redacts messages.
pub fn collect(repo: &GitRepo, evidence: &mut Evidence) -> Result<()> {
    let mut notes = Vec::new();
    let mut full_shas = Vec::new();
    let mut resolved = Vec::new();
    // Oldest first, so "last good before the first failure" reads in deploy order.
    let mut deploys: Vec<&Deploy> = evidence.deploys.iter().collect();
    deploys.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    for deploy in deploys {
        let Some(commit) = &deploy.commit else {
            continue;
        };
        match repo
            .resolve(&commit.sha)
            .and_then(|s| Oid::from_str(&s).ok())
        {
            Some(oid) => {
                full_shas.push((deploy.id.clone(), oid.to_string()));
                resolved.push(Resolved { deploy, oid });
            }
            None => notes.push(absent_commit_note(repo, deploy, &commit.sha)),
        }
    }

    let (last_good, first_failed) = incident_bounds(&resolved);
    let since = evidence.window.since;
    let until = evidence.window.until;

    // Commits of the range, and whether the window filters them.
    let mut range: Vec<Oid> = Vec::new();
    let mut windowed = false;
    let mut suspect: HashSet<Oid> = HashSet::new();
    let tips: Vec<Oid> = resolved.iter().map(|r| r.oid).collect();
    if let Some(good) = last_good {
        range = repo.walk(&tips, &[good.oid], None)?;
        // The last good commit is what ran fine: listed for reference, never suspect.
        range.push(good.oid);
    } else if !tips.is_empty() && since.is_some() {
        range = repo.walk(&tips, &[], None)?;
        windowed = true;
    } else if !tips.is_empty() && first_failed.is_none() {
        // No failure to explain: the deployed commits themselves are the whole story.
        range = tips.clone();
    } else if !tips.is_empty() {
        range = repo.walk(&tips, &[], Some(UNBOUNDED_COMMIT_LIMIT))?;
        notes.push((
            "git".to_string(),
            format!(
                "no successful deploy precedes the failures and no --since was given: only the \
                 {UNBOUNDED_COMMIT_LIMIT} newest commits up to the newest deploy were collected"
            ),
        ));
    } else if since.is_some() || until.is_some() {
        if let Ok(head) = repo.repo.head().and_then(|h| h.peel_to_commit()) {
            range = repo.walk(&[head.id()], &[], None)?;
            windowed = true;
        }
    }
    if let Some(failed) = first_failed {
        let hide: Vec<Oid> = last_good.map(|g| vec![g.oid]).unwrap_or_default();
        let limit = last_good.is_none().then_some(UNBOUNDED_COMMIT_LIMIT);
        suspect = repo
            .walk(&[failed.oid], &hide, limit)?
            .into_iter()
            .collect();
    }

    let mut seen = BTreeSet::new();
    let mut commits = Vec::new();
    for oid in range {
        if !seen.insert(oid) {
            continue;
        }
        if windowed {
            let time = utc(repo.repo.find_commit(oid)?.author().when());
            if since.is_some_and(|s| time < s) || until.is_some_and(|u| time > u) {
                continue;
            }
        }
        let mut commit = repo.commit_record(oid, evidence)?;
        commit.suspect = suspect.contains(&oid);
        commits.push(commit);
    }

    for deploy in &mut evidence.deploys {
        if let (Some(commit), Some((_, full))) = (
            deploy.commit.as_mut(),
            full_shas.iter().find(|(id, _)| *id == deploy.id),
        ) {
            commit.sha = full.clone();
        }
    }
    let known: HashSet<String> = evidence.commits.iter().map(|c| c.sha.clone()).collect();
    evidence
        .commits
        .extend(commits.into_iter().filter(|c| !known.contains(&c.sha)));
    for (source, message) in notes {
        evidence.note(&source, message);
    }
    Ok(())
}

/// The last successful deploy before the newest failure streak, and that streak's first
/// failure, among the deploys whose commits are in the clone. The streak is the analysis's own
/// (`evidence::streak`), so the commit range and the report never disagree on it.
fn incident_bounds<'a>(
    resolved: &'a [Resolved<'a>],
) -> (Option<&'a Resolved<'a>>, Option<&'a Resolved<'a>>) {
    let deploys: Vec<Deploy> = resolved.iter().map(|r| r.deploy.clone()).collect();
    let Some(streak) = crate::evidence::streak(&deploys) else {
        return (None, None);
    };
    let find = |id: &str| resolved.iter().find(|r| r.deploy.id == id);
    (
        streak.last_good.as_deref().and_then(find),
        find(&streak.first_failed),
    )
}

fn absent_commit_note(repo: &GitRepo, deploy: &Deploy, sha: &str) -> (String, String) {
    let why = if repo.is_shallow() {
        "this is a shallow clone"
    } else {
        "it may be on a branch that was not fetched, or the clone is shallow"
    };
    (
        "git".to_string(),
        format!(
            "deploy {} ran commit {}, which is not in {} ({why}): its changes are missing from \
             the commit list; run `git fetch --unshallow` (or `git fetch origin {}`) and re-run",
            deploy.id,
            crate::evidence::short_sha(sha),
            repo.describe(),
            sha
        ),
    )
}
