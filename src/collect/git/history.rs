//! The history index behind `phantom-migration`: which commits name which migration IDs, and
//! which commits added or removed which migration revisions.
//!
//! Built in two passes over the commits reachable from HEAD. The first reads each commit once
//! (parents, tree, time, and the message only when it may hold an ID). The second goes oldest
//! first and compares the migration folders' tree OIDs with the parents': only when they differ
//! are the folders read, and every folder version and blob is read once, memoised by OID.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::rc::Rc;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use git2::{ObjectType, Oid, Repository};
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use super::mentions::{candidate_ids, may_mention, Candidate};
use crate::Result;

/// What `phantom-migration` needs from the whole history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MigrationHistory {
    /// Migration folders indexed, relative to the repository root.
    pub dirs: Vec<String>,
    /// The commit the walk started from.
    #[serde(default)]
    pub head: Option<String>,
    pub commits_scanned: u64,
    /// The shape of the repository's own revision IDs; mentions are tokens of this shape.
    pub id_shape: IdShape,
    /// Revision IDs in the migration folders at HEAD, sorted.
    #[serde(default)]
    pub head_revisions: Vec<String>,
    /// Heads of the revision graph at HEAD (revisions no other revision names as parent).
    #[serde(default)]
    pub heads: Vec<String>,
    /// Every revision ID that was ever in a migration folder, with who added and removed it.
    #[serde(default)]
    pub revisions: BTreeMap<String, RevisionLife>,
    /// Commits whose messages name IDs of [`id_shape`](Self::id_shape) in migration context,
    /// oldest first.
    #[serde(default)]
    pub mentions: Vec<Mention>,
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

    pub fn matches(&self, candidate: &Candidate) -> bool {
        let token = candidate.token.as_str();
        let digits = token.bytes().all(|b| b.is_ascii_digit());
        match *self {
            IdShape::Hex { len } => {
                token.len() == len
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    && (!digits || candidate.strong)
            }
            IdShape::Digits { len } => token.len() == len && digits,
        }
    }
}

/// A migration file's revision and parents, read with a regex (the full parser is elsewhere).
#[derive(Debug, Clone)]
struct BlobRevision {
    id: Rc<str>,
    parents: Vec<String>,
    /// The entry for each path the blob was found at, shared by every folder version.
    files: Vec<Rc<RevisionFile>>,
}

static REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^revision\s*(?::[^=\n]*)?=\s*[rRuUbB]?['"]([^'"\n]+)['"]"#)
        .expect("static regex")
});
static DOWN_REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^down_revision\s*(?::[^=\n]*)?=\s*(\([^)]*\)|\[[^\]]*\]|[^\n]*)"#)
        .expect("static regex")
});
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"['"]([^'"\n]+)['"]"#).expect("static regex"));

fn read_revision(content: &[u8], file_name: &str) -> Option<BlobRevision> {
    let id = match REVISION.captures(content).and_then(|c| c.get(1)) {
        Some(m) => String::from_utf8_lossy(m.as_bytes()).into_owned(),
        // Without a readable `revision =` line the default file template's prefix is the ID.
        None => file_name
            .split('_')
            .next()
            .filter(|s| s.len() >= 4)?
            .to_string(),
    };
    let parents = DOWN_REVISION
        .captures(content)
        .and_then(|c| c.get(1))
        .map(|m| {
            QUOTED
                .captures_iter(m.as_bytes())
                .filter_map(|c| c.get(1))
                .map(|q| String::from_utf8_lossy(q.as_bytes()).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(BlobRevision {
        id: Rc::from(id),
        parents,
        files: Vec::new(),
    })
}

/// Object IDs are SHA-1 output already: their first 8 bytes are a good hash, and SipHash over
/// 20 bytes per lookup shows in the profile of a full-history scan.
#[derive(Default, Clone, Copy)]
struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.iter_mut().zip(chunk).for_each(|(w, b)| *w = *b);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type OidMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<OidHasher>>;

/// One revision file as found in a folder version: where it is and what it names as parents.
#[derive(Debug)]
struct RevisionFile {
    file: String,
    parents: Vec<String>,
}

/// Revision ID -> its file in one version of the migration folders. Every migration commit
/// makes a new version holding all the earlier files, so the entries are shared (`Rc`), not
/// copied: copies made the scan quadratic in the number of revisions, in time and memory.
type RevisionSet = BTreeMap<Rc<str>, Rc<RevisionFile>>;

struct Node {
    oid: Oid,
    parents: Vec<u32>,
    tree: Oid,
    time: i64,
    mention: Option<Box<(String, Vec<Candidate>)>>,
}

struct Indexer<'r> {
    repo: &'r Repository,
    /// For reading root trees raw; `None` falls back to libgit2's tree objects.
    odb: Option<git2::Odb<'r>>,
    dirs: Vec<Vec<String>>,
    /// (tree, folder index, depth) -> the child tree named by that folder's component there.
    children: OidMap<(Oid, usize, usize), Option<Oid>>,
    folders: OidMap<Oid, Rc<RevisionSet>>,
    keys: OidMap<Vec<Option<Oid>>, Rc<RevisionSet>>,
    blobs: OidMap<Oid, Option<BlobRevision>>,
    /// Heads per revision set (by address: the sets live in `folders`/`keys` as long as this).
    heads: HashMap<*const RevisionSet, Rc<Vec<String>>>,
}

/// The subfolder `name` of a tree, from the tree object's bytes (`<mode> <name>\0<20-byte id>`
/// entries): building libgit2's tree object for every commit's root tree showed in the profile.
/// `Some(None)` when there is no such subfolder; `None` when the bytes are malformed.
fn subtree_in_raw(mut data: &[u8], name: &str) -> Option<Option<Oid>> {
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ')?;
        let nul = data.iter().position(|&b| b == 0)?;
        let (mode, entry_name) = (data.get(..space)?, data.get(space + 1..nul)?);
        let id = data.get(nul + 1..nul + 21)?;
        if entry_name == name.as_bytes() {
            // Trees are mode 40000; anything else by that name is not a folder.
            return Some(
                (mode == b"40000")
                    .then(|| Oid::from_bytes(id).ok())
                    .flatten(),
            );
        }
        data = data.get(nul + 21..)?;
    }
    Some(None)
}

impl Indexer<'_> {
    fn child(&mut self, tree: Oid, dir: usize, depth: usize) -> Result<Option<Oid>> {
        if let Some(found) = self.children.get(&(tree, dir, depth)) {
            return Ok(*found);
        }
        let Some(name) = self.dirs.get(dir).and_then(|c| c.get(depth)) else {
            return Ok(None);
        };
        let raw = self.odb.as_ref().and_then(|odb| odb.read(tree).ok());
        let found = match raw.as_ref().and_then(|o| subtree_in_raw(o.data(), name)) {
            Some(found) => found,
            // Not readable raw: libgit2's own reader decides (and reports the error).
            None => self
                .repo
                .find_tree(tree)?
                .get_name(name)
                .filter(|e| e.kind() == Some(ObjectType::Tree))
                .map(|e| e.id()),
        };
        self.children.insert((tree, dir, depth), found);
        Ok(found)
    }

    /// The tree OIDs of the migration folders in `root`, one per folder.
    fn key(&mut self, root: Oid) -> Result<Vec<Option<Oid>>> {
        let mut key = Vec::with_capacity(self.dirs.len());
        for d in 0..self.dirs.len() {
            let mut at = Some(root);
            let depth = self.dirs.get(d).map_or(0, Vec::len);
            for level in 0..depth {
                at = match at {
                    Some(tree) => self.child(tree, d, level)?,
                    None => None,
                };
            }
            key.push(at);
        }
        Ok(key)
    }

    fn revisions(&mut self, key: &[Option<Oid>]) -> Result<Rc<RevisionSet>> {
        if let Some(found) = self.keys.get(key) {
            return Ok(found.clone());
        }
        let mut sets = Vec::new();
        for (d, folder) in key.iter().enumerate() {
            if let Some(folder) = folder {
                let base = self.dirs.get(d).map(|c| c.join("/")).unwrap_or_default();
                sets.push(self.folder(*folder, &base)?);
            }
        }
        // One folder (the usual case) is its own set.
        let all = match sets.as_slice() {
            [one] => one.clone(),
            _ => {
                let mut all = RevisionSet::new();
                for set in &sets {
                    for (id, value) in set.iter() {
                        all.entry(id.clone()).or_insert_with(|| value.clone());
                    }
                }
                Rc::new(all)
            }
        };
        self.keys.insert(key.to_vec(), all.clone());
        Ok(all)
    }

    fn folder(&mut self, oid: Oid, path: &str) -> Result<Rc<RevisionSet>> {
        if let Some(found) = self.folders.get(&oid) {
            return Ok(found.clone());
        }
        let tree = self.repo.find_tree(oid)?;
        let mut set = RevisionSet::new();
        for entry in tree.iter() {
            let Ok(name) = entry.name() else { continue };
            match entry.kind() {
                Some(ObjectType::Tree) if !crate::source::is_skipped_dir(name) => {
                    let sub = self.folder(entry.id(), &format!("{path}/{name}"))?;
                    for (id, value) in sub.iter() {
                        set.entry(id.clone()).or_insert_with(|| value.clone());
                    }
                }
                Some(ObjectType::Blob) if name.ends_with(".py") && name != "__init__.py" => {
                    if !self.blobs.contains_key(&entry.id()) {
                        let blob = self.repo.find_blob(entry.id())?;
                        let read = read_revision(blob.content(), name);
                        self.blobs.insert(entry.id(), read);
                    }
                    if let Some(Some(rev)) = self.blobs.get_mut(&entry.id()) {
                        let at = |f: &&Rc<RevisionFile>| {
                            f.file.strip_prefix(path).and_then(|r| r.strip_prefix('/'))
                                == Some(name)
                        };
                        let file = match rev.files.iter().find(at) {
                            Some(file) => file.clone(),
                            None => {
                                let file = Rc::new(RevisionFile {
                                    file: format!("{path}/{name}"),
                                    parents: rev.parents.clone(),
                                });
                                rev.files.push(file.clone());
                                file
                            }
                        };
                        set.entry(rev.id.clone()).or_insert(file);
                    }
                }
                _ => {}
            }
        }
        let set = Rc::new(set);
        self.folders.insert(oid, set.clone());
        Ok(set)
    }
}

fn heads_of(set: &RevisionSet) -> Vec<String> {
    let named: BTreeSet<&str> = set
        .values()
        .flat_map(|f| f.parents.iter().map(String::as_str))
        .collect();
    set.keys()
        .filter(|id| !named.contains(&***id))
        .map(|id| id.to_string())
        .collect()
}

impl Indexer<'_> {
    fn heads(&mut self, set: &Rc<RevisionSet>) -> Rc<Vec<String>> {
        self.heads
            .entry(Rc::as_ptr(set))
            .or_insert_with(|| Rc::new(heads_of(set)))
            .clone()
    }
}

/// What the index needs of a commit, read from the object's bytes: building libgit2's commit
/// object (every header parsed and copied, signatures allocated) was a tenth of a
/// full-history scan.
struct RawCommit<'a> {
    tree: Oid,
    parents: Vec<Oid>,
    author_time: i64,
    /// Without leading newlines, as `git2::Commit::message_bytes` gives it.
    message: &'a [u8],
}

impl<'a> RawCommit<'a> {
    /// `None` when a header the index needs is missing or malformed.
    fn parse(data: &'a [u8]) -> Option<Self> {
        let hex = |b: &[u8]| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| Oid::from_str(s).ok())
        };
        let (mut tree, mut parents, mut author_time) = (None, Vec::new(), None);
        let mut rest = data;
        let message = loop {
            let (line, after) = match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => (rest.get(..nl)?, rest.get(nl + 1..)?),
                None => (rest, &b""[..]),
            };
            if line.is_empty() {
                break after;
            }
            if let Some(id) = line.strip_prefix(b"tree ") {
                tree = Some(hex(id)?);
            } else if let Some(id) = line.strip_prefix(b"parent ") {
                parents.push(hex(id)?);
            } else if let Some(signature) = line.strip_prefix(b"author ") {
                // `Name <email> 1600000000 +0000`: the time follows the last `>`.
                let close = signature.iter().rposition(|&b| b == b'>')?;
                let when = std::str::from_utf8(signature.get(close + 1..)?).ok()?;
                author_time = Some(when.split_whitespace().next()?.parse().ok()?);
            }
            if after.is_empty() {
                break after;
            }
            rest = after;
        };
        let start = message
            .iter()
            .position(|&b| b != b'\n')
            .unwrap_or(message.len());
        Some(RawCommit {
            tree: tree?,
            parents,
            author_time: author_time?,
            message: message.get(start..)?,
        })
    }
}

/// Every commit reachable from HEAD, parents before children.
fn read_commits(repo: &Repository, head: Oid) -> Result<Vec<Node>> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: OidMap<Oid, u32> = OidMap::default();
    let mut order: Vec<u32> = Vec::new();
    // (node, next parent to visit, parent oids)
    let mut stack: Vec<(u32, usize, Vec<Oid>)> = Vec::new();
    let odb = repo.odb()?;
    let visit = |oid: Oid,
                 nodes: &mut Vec<Node>,
                 index: &mut OidMap<Oid, u32>|
     -> std::result::Result<(u32, Vec<Oid>), git2::Error> {
        let object = odb.read(oid)?;
        let raw = match object.kind() {
            ObjectType::Commit => RawCommit::parse(object.data()),
            _ => None,
        };
        // Anything the raw reader does not understand goes through libgit2's own parser
        // (which also gives the error for what is not a commit at all).
        let commit;
        let raw = match raw {
            Some(raw) => raw,
            None => {
                commit = repo.find_commit(oid)?;
                RawCommit {
                    tree: commit.tree_id(),
                    parents: commit.parent_ids().collect(),
                    author_time: commit.author().when().seconds(),
                    message: commit.message_bytes(),
                }
            }
        };
        let message = raw.message;
        let mention = if may_mention(message) {
            let text = String::from_utf8_lossy(message);
            let found = candidate_ids(&text);
            (!found.is_empty()).then(|| {
                let summary = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                Box::new((summary.trim().to_string(), found))
            })
        } else {
            None
        };
        let id = nodes.len() as u32;
        nodes.push(Node {
            oid,
            parents: Vec::new(),
            tree: raw.tree,
            time: raw.author_time,
            mention,
        });
        index.insert(oid, id);
        Ok((id, raw.parents))
    };
    let (root, parents) = visit(head, &mut nodes, &mut index)?;
    stack.push((root, 0, parents));
    while let Some(top) = stack.last_mut() {
        let (id, next, parents) = (top.0, top.1, &top.2);
        let Some(&parent) = parents.get(next) else {
            order.push(id);
            stack.pop();
            continue;
        };
        top.1 += 1;
        let parent_id = match index.get(&parent) {
            Some(&p) => p,
            None => match visit(parent, &mut nodes, &mut index) {
                Ok((p, grand)) => {
                    stack.push((p, 0, grand));
                    p
                }
                // A shallow clone's boundary: the parent is not here.
                Err(e) if e.code() == git2::ErrorCode::NotFound => continue,
                Err(e) => return Err(e.into()),
            },
        };
        if let Some(node) = nodes.get_mut(id as usize) {
            node.parents.push(parent_id);
        }
    }
    // Reorder so that a node's index is its place oldest-first.
    let mut place = vec![0u32; nodes.len()];
    for (pos, id) in order.iter().enumerate() {
        if let Some(slot) = place.get_mut(*id as usize) {
            *slot = pos as u32;
        }
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let mut sorted = Vec::with_capacity(slots.len());
    for id in order {
        if let Some(mut node) = slots.get_mut(id as usize).and_then(Option::take) {
            node.parents = node
                .parents
                .iter()
                .filter_map(|p| place.get(*p as usize).copied())
                .collect();
            sorted.push(node);
        }
    }
    Ok(sorted)
}

pub(super) fn build(repo: &Repository, migration_dirs: &[String]) -> Result<MigrationHistory> {
    // Every commit and root tree is read once and the folders are memoised here, so libgit2's
    // object cache would only store (and, at the end, free) 100,000 objects of a 50,000-commit
    // history. libgit2 also re-hashes every object it reads; git itself does not on reads, and
    // on a full-history scan the SHA-1 of every commit is a large share of the time. Both are
    // process-wide, so both are switched off for the scan only and back on (their defaults)
    // after, whatever reads the process does next.
    git2::opts::enable_caching(false);
    git2::opts::strict_hash_verification(false);
    let history = build_uncached(repo, migration_dirs);
    git2::opts::strict_hash_verification(true);
    git2::opts::enable_caching(true);
    history
}

fn build_uncached(repo: &Repository, migration_dirs: &[String]) -> Result<MigrationHistory> {
    let dirs: Vec<String> = migration_dirs
        .iter()
        .map(|d| d.trim_matches('/').to_string())
        .filter(|d| !d.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut history = MigrationHistory {
        dirs: dirs.clone(),
        ..MigrationHistory::default()
    };
    let head = match repo.head().and_then(|h| h.peel_to_commit()) {
        Ok(commit) => commit.id(),
        // An empty repository has no history to index.
        Err(_) => return Ok(history),
    };
    history.head = Some(head.to_string());
    let nodes = read_commits(repo, head)?;
    history.commits_scanned = nodes.len() as u64;
    let mut indexer = Indexer {
        repo,
        odb: repo.odb().ok(),
        dirs: dirs
            .iter()
            .map(|d| {
                Path::new(d)
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect()
            })
            .collect(),
        children: OidMap::default(),
        folders: OidMap::default(),
        keys: OidMap::default(),
        blobs: OidMap::default(),
        heads: HashMap::new(),
    };
    let commit_ref = |pos: usize, node: &Node| CommitRef {
        order: pos as u32,
        sha: node.oid.to_string(),
        time: DateTime::from_timestamp(node.time, 0).unwrap_or_default(),
    };

    let mut keys: Vec<Rc<Vec<Option<Oid>>>> = Vec::with_capacity(nodes.len());
    for (pos, node) in nodes.iter().enumerate() {
        let key = match node.parents.first().and_then(|p| nodes.get(*p as usize)) {
            // Same root tree as the first parent: same folders, no lookup.
            Some(parent) if parent.tree == node.tree => keys
                .get(node.parents.first().copied().unwrap_or_default() as usize)
                .cloned()
                .unwrap_or_default(),
            _ => Rc::new(indexer.key(node.tree)?),
        };
        let parent_keys: Vec<Rc<Vec<Option<Oid>>>> = node
            .parents
            .iter()
            .filter_map(|p| keys.get(*p as usize).cloned())
            .collect();
        let unchanged = parent_keys.len() == 1 && parent_keys.first().is_some_and(|p| *p == key);
        if !unchanged && !dirs.is_empty() {
            let current = indexer.revisions(&key)?;
            let mut parent_sets = Vec::new();
            for parent_key in &parent_keys {
                parent_sets.push(indexer.revisions(parent_key)?);
            }
            let here = commit_ref(pos, node);
            for (id, entry) in current.iter() {
                if parent_sets.iter().all(|p| !p.contains_key(id)) {
                    let life = history.revisions.entry(id.to_string()).or_default();
                    life.added.push(here.clone());
                    if !life.files.contains(&entry.file) {
                        life.files.push(entry.file.clone());
                    }
                }
            }
            if let Some(first) = parent_sets.first() {
                for (id, entry) in first.iter() {
                    if !current.contains_key(id) && parent_sets.iter().all(|p| p.contains_key(id)) {
                        let life = history.revisions.entry(id.to_string()).or_default();
                        life.removed.push(here.clone());
                        if !life.files.contains(&entry.file) {
                            life.files.push(entry.file.clone());
                        }
                    }
                }
            }
        }
        keys.push(key);
    }

    history.id_shape = IdShape::learn(history.revisions.keys().map(String::as_str));
    if let Some(key) = keys.last() {
        let at_head = indexer.revisions(key)?;
        history.head_revisions = at_head.keys().map(|id| id.to_string()).collect();
        history.heads = heads_of(&at_head);
    }
    if dirs.is_empty() {
        // Without migration folders nothing can be said to exist: no mention is judged.
        return Ok(history);
    }
    let mut shas: Vec<String> = nodes.iter().map(|n| n.oid.to_string()).collect();
    shas.sort_unstable();
    let is_commit_prefix = |token: &str| {
        let at = shas.partition_point(|s| s.as_str() < token);
        shas.get(at).is_some_and(|s| s.starts_with(token))
    };
    for (pos, node) in nodes.iter().enumerate() {
        let Some(mention) = &node.mention else {
            continue;
        };
        let (summary, candidates) = mention.as_ref();
        let ids: Vec<String> = candidates
            .iter()
            .filter(|c| history.id_shape.matches(c))
            .filter(|c| !is_commit_prefix(&c.token))
            .map(|c| c.token.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let key = keys.get(pos).cloned().unwrap_or_default();
        let set = indexer.revisions(&key)?;
        history.mentions.push(Mention {
            commit: commit_ref(pos, node),
            summary: summary.clone(),
            present: ids
                .iter()
                .filter(|id| set.contains_key(id.as_str()))
                .cloned()
                .collect(),
            ids,
            heads: indexer.heads(&set).as_ref().clone(),
        });
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    const PARENT: &str = "1111111111111111111111111111111111111111";

    #[test]
    fn raw_commit_reads_headers_past_a_signature_and_strips_leading_newlines() {
        let data = format!(
            "tree {TREE}\nparent {PARENT}\nparent {TREE}\nauthor A B <a@b.c> 1600000000 +0200\ncommitter C <c@d.e> 1700000000 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n author fake <x> 1 +0000\n -----END PGP SIGNATURE-----\n\n\nFix 0001\n\nbody\n"
        );
        let raw = RawCommit::parse(data.as_bytes()).unwrap();
        assert_eq!(raw.tree.to_string(), TREE);
        assert_eq!(raw.parents.len(), 2);
        assert_eq!(raw.author_time, 1_600_000_000);
        assert_eq!(raw.message, b"Fix 0001\n\nbody\n");
    }

    #[test]
    fn raw_commit_without_message_or_with_a_bad_author_is_left_to_libgit2() {
        let bare = format!("tree {TREE}\nauthor A <a> 5 +0000\ncommitter A <a> 5 +0000\n");
        let raw = RawCommit::parse(bare.as_bytes()).unwrap();
        assert!(raw.parents.is_empty() && raw.message.is_empty());
        let bad = format!("tree {TREE}\nauthor A <a> soon +0000\n\nmsg\n");
        assert!(RawCommit::parse(bad.as_bytes()).is_none());
        assert!(RawCommit::parse(b"parent nothex\n\nmsg\n").is_none());
    }

    #[test]
    fn raw_tree_finds_only_folders() {
        let id = [7u8; 20];
        let mut data = Vec::new();
        for (mode, name) in [("100644", "app.py"), ("40000", "app"), ("100644", "zeta")] {
            data.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            data.extend_from_slice(&id);
        }
        let oid = Oid::from_bytes(&id).unwrap();
        assert_eq!(subtree_in_raw(&data, "app"), Some(Some(oid)));
        assert_eq!(subtree_in_raw(&data, "zeta"), Some(None));
        assert_eq!(subtree_in_raw(&data, "missing"), Some(None));
        assert_eq!(subtree_in_raw(&data[..data.len() - 3], "missing"), None);
    }
}
