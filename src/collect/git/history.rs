//! The history index behind `phantom-migration`: which commits name which migration IDs, and
//! which commits added or removed which migration revisions.
//!
//! The walk (`walk`) reads every commit reachable from HEAD once, on two threads when there are
//! two CPUs: parents, tree, time, and the message's candidate IDs when it may hold any. That is
//! the whole cost on most histories, as close to `git log`'s as libgit2 reads objects.
//!
//! Trees are read only where a question is asked of them (`sets`): a commit's *key*, the
//! migration folders' tree OIDs (`keys`), gives its revision set (`folders`), memoised by key.
//! First the cheap path: the naming commits' folders (and their parents', for a revision the
//! commit deletes), then their whole trees (`anywhere`), and the oldest commits' folders only as
//! far as needed to tell whether a message is older than the first migration. Only when a
//! named ID is still missing is every commit's key read, each revision's life worked out
//! (oldest first, comparing each key with its parents'), and every tree of the history
//! searched: the case `phantom-migration` reports, where the answer needs the whole history.
//!
//! Measured on real clones (`bench/real_history.sh`, docs/benchmarks.md): CKAN, neutron and nova,
//! whose messages name only revisions their trees have, take the cheap path; before it existed
//! every commit's root tree and folders were read, two to three times `git log`'s CPU time.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use git2::Repository;

use super::anywhere::{changes, same_id, Search, TreeFacts};
use super::folders::{heads_of, RevisionFile, RevisionSet};
use super::mentions::Candidate;
use super::sets::Sets;
use super::walk::{read_commits, Mentioned, Node};
use crate::evidence::history::{
    CommitRef, IdShape, Mention, MigrationHistory, RevisionLife, Shallow,
};
use crate::Result;

impl IdShape {
    /// Whether a declared revision ID has this shape.
    pub fn matches_id(&self, id: &str) -> bool {
        self.matches(&Candidate {
            token: id.to_string(),
            strong: true,
        })
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

/// Compares the first `token.len()` hex digits of `id` with `token` (lowercase hex digits), as
/// comparing `id`'s hex string cut to that length would.
fn hex_cmp(id: &[u8; 20], token: &str) -> std::cmp::Ordering {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = id
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .filter_map(|n| DIGITS.get(n as usize).copied());
    digits.take(token.len()).cmp(token.bytes())
}

pub(super) fn build(repo: &Repository, migration_dirs: &[String]) -> Result<MigrationHistory> {
    // Every commit and root tree is read once and the folders are memoised here, so libgit2's
    // object cache would only store (and, at the end, free) 100,000 objects of a 50,000-commit
    // history. libgit2 also re-hashes every object it reads; git itself does not on reads, and
    // on a full-history scan the SHA-1 of every commit is a large share of the time. Both are
    // process-wide, so both are switched off for the scan only and back on (their defaults)
    // after, whatever reads the process does next (the scan's second thread has ended by then).
    let _settings = ScanSettings::enter();
    let threads = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    build_uncached(repo, migration_dirs, threads, Reading::AsNeeded)
}

/// How much of the history's trees the index reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The naming commits' trees, and every commit's only when a named ID is missing.
    AsNeeded,
    /// Every commit's, as if a named ID were missing: what the cheap path must agree with.
    #[cfg_attr(not(test), allow(dead_code))]
    Everything,
}

/// The scan's process-wide libgit2 settings, held while at least one scan runs: the first
/// scan to start sets them, the last to end (or unwind) puts back what was there before, so
/// that two scans at once (tests, a library caller) never leave them narrowed.
struct ScanSettings;

/// Scans running, and the pack windows as they were before the first of them.
static SCANS: std::sync::Mutex<(usize, Option<Windows>)> = std::sync::Mutex::new((0, None));

impl ScanSettings {
    fn enter() -> ScanSettings {
        let mut scans = SCANS.lock().unwrap_or_else(|e| e.into_inner());
        if scans.0 == 0 {
            git2::opts::enable_caching(false);
            git2::opts::strict_hash_verification(false);
            scans.1 = Some(Windows::narrow());
        }
        scans.0 += 1;
        ScanSettings
    }
}

impl Drop for ScanSettings {
    fn drop(&mut self) {
        let mut scans = SCANS.lock().unwrap_or_else(|e| e.into_inner());
        scans.0 -= 1;
        if scans.0 == 0 {
            if let Some(windows) = scans.1.take() {
                windows.restore();
            }
            git2::opts::strict_hash_verification(true);
            git2::opts::enable_caching(true);
        }
    }
}

/// How much of a pack file libgit2 maps at a time during the scan, and in all. The scan reads
/// a whole history's commits and root trees once each, so what it has read need not stay
/// mapped; libgit2 maps a whole pack (up to 1 GiB) by default, and every page touched counted
/// in the peak RSS: with two threads reading through two handles, 116 MB on openstack/nova,
/// 97 MB with these. Larger windows under the same limit cost more time in remapping them
/// (measured on ckan and nova: 32 MiB windows added a tenth of a second of system time).
const PACK_WINDOW: usize = 8 << 20;
const PACK_MAPPED_LIMIT: usize = 48 << 20;

/// libgit2's pack window settings as they were before the scan narrowed them.
struct Windows {
    size: Option<usize>,
    limit: Option<usize>,
}

impl Windows {
    fn narrow() -> Windows {
        // SAFETY: libgit2's global options are plain variables set without a lock; they are
        // set here before the scan starts its second thread and restored after it has ended.
        // A libgit2 call on another thread meanwhile reads one value or the other, both valid.
        unsafe {
            let before = Windows {
                size: git2::opts::get_mwindow_size().ok(),
                limit: git2::opts::get_mwindow_mapped_limit().ok(),
            };
            let _ = git2::opts::set_mwindow_size(PACK_WINDOW);
            let _ = git2::opts::set_mwindow_mapped_limit(PACK_MAPPED_LIMIT);
            before
        }
    }

    fn restore(self) {
        // SAFETY: as in `narrow`.
        unsafe {
            if let Some(size) = self.size {
                let _ = git2::opts::set_mwindow_size(size);
            }
            if let Some(limit) = self.limit {
                let _ = git2::opts::set_mwindow_mapped_limit(limit);
            }
        }
    }
}

fn build_uncached(
    repo: &Repository,
    migration_dirs: &[String],
    threads: bool,
    reading: Reading,
) -> Result<MigrationHistory> {
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
    let components: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| {
            Path::new(d)
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let readers = if threads { 2 } else { 1 };
    // Without migration folders nothing can be said to exist: no message is judged.
    let (nodes, mentioned) = read_commits(repo, head, readers, !dirs.is_empty())?;
    history.commits_scanned = nodes.len() as u64;
    if repo.is_shallow() {
        // `shallow` lists the commits whose parents were not fetched.
        let listed = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
        let mut cut_at: Vec<String> = listed.split_whitespace().map(str::to_string).collect();
        cut_at.sort();
        history.shallow = Some(Shallow { cut_at });
    }
    let Some(tip) = nodes.last() else {
        return Ok(history);
    };
    if dirs.is_empty() {
        return Ok(history);
    }
    let mut sets = Sets::new(repo, &components);
    let at_head = sets.key(tip.tree)?;
    let at_head = sets.set(at_head).clone();
    history.head_revisions = at_head.keys().map(|id| id.to_string()).collect();
    history.heads = heads_of(&at_head);
    history.id_shape = IdShape::learn(at_head.keys().map(|id| &**id));
    let named = named_ids(&history.id_shape, &nodes, mentioned);
    if named.is_empty() {
        return Ok(history);
    }
    let full = history.clone();
    if reading == Reading::AsNeeded
        && at_naming_commits(repo, &nodes, &named, &mut sets, &mut history)?
    {
        return Ok(history);
    }
    // A named ID is in no tree of its naming commit: only the whole history tells whether it
    // was removed, added later, added on another branch or never committed.
    every_commit(repo, &nodes, &named, &mut sets, full)
}

/// A commit message's IDs: of the repository's ID shape, and not (prefixes of) commit SHAs.
struct Named {
    pos: u32,
    summary: String,
    ids: Vec<String>,
}

fn named_ids(shape: &IdShape, nodes: &[Node], mentioned: Vec<(u32, Mentioned)>) -> Vec<Named> {
    // Sorted raw IDs: 50,000 hex strings took a share of the time to format and sort.
    let mut shas: Vec<[u8; 20]> = nodes
        .iter()
        .filter_map(|n| n.oid.as_bytes().try_into().ok())
        .collect();
    shas.sort_unstable();
    let is_commit_prefix = |token: &str| {
        let at = shas.partition_point(|s| hex_cmp(s, token).is_lt());
        shas.get(at).is_some_and(|s| hex_cmp(s, token).is_eq())
    };
    mentioned
        .into_iter()
        .filter_map(|(pos, (summary, candidates))| {
            let ids: Vec<String> = candidates
                .into_iter()
                .filter(|c| shape.matches(c))
                .filter(|c| !is_commit_prefix(&c.token))
                .map(|c| c.token)
                .collect();
            (!ids.is_empty()).then_some(Named { pos, summary, ids })
        })
        .collect()
}

fn commit_ref(nodes: &[Node], pos: u32) -> CommitRef {
    let node = nodes.get(pos as usize);
    CommitRef {
        order: pos,
        sha: node.map(|n| n.oid.to_string()).unwrap_or_default(),
        time: DateTime::from_timestamp(node.map_or(0, |n| n.time), 0).unwrap_or_default(),
    }
}

/// The mentions, judged against their commits' migration folders: `key_of` gives a commit's
/// key.
fn mentions_of(
    nodes: &[Node],
    named: &[Named],
    sets: &mut Sets<'_, '_>,
    mut key_of: impl FnMut(&mut Sets<'_, '_>, u32) -> Result<u32>,
) -> Result<Vec<Mention>> {
    let mut out = Vec::with_capacity(named.len());
    for n in named {
        let key = key_of(sets, n.pos)?;
        let set = sets.set(key);
        let present = n.ids.iter().filter(|id| in_set(set, id)).cloned().collect();
        out.push(Mention {
            commit: commit_ref(nodes, n.pos),
            summary: n.summary.clone(),
            ids: n.ids.clone(),
            present,
            heads: sets.heads(key).as_ref().clone(),
        });
    }
    Ok(out)
}

/// The cheap path, for the usual history whose messages name revisions its trees have: each
/// naming commit's folders (and its parents', for a revision it deletes), then its whole tree,
/// are read; the rest of the history is not. Returns `false`, with `history` half-filled, when
/// a named ID is still unexplained.
fn at_naming_commits(
    repo: &Repository,
    nodes: &[Node],
    named: &[Named],
    sets: &mut Sets<'_, '_>,
    history: &mut MigrationHistory,
) -> Result<bool> {
    history.mentions = mentions_of(nodes, named, sets, |sets, pos| {
        match nodes.get(pos as usize) {
            Some(node) => sets.key(node.tree),
            // Not a commit of the walk (cannot be): an unknown key has no revisions.
            None => Ok(u32::MAX),
        }
    })?;
    let mut removed = Vec::with_capacity(history.mentions.len());
    for mention in &history.mentions {
        removed.push(removed_by(nodes, sets, mention)?);
    }
    let shape = history.id_shape;
    let mut first = FirstMigration::default();
    let mut before_folders =
        |order: u32| first.is_before(order, nodes, sets, |id| shape.matches_id(id));
    let (open, search) = look_in_own_trees(repo, nodes, history, removed, &mut before_folders)?;
    history.unreadable_objects = search.map_or(0, |(search, _)| search.unreadable());
    history.first_migration = first.found.map(|pos| commit_ref(nodes, pos));
    Ok(open.is_empty())
}

/// The named IDs of `mention` that its commit deletes from the folders: in every parent's set
/// and not in its own (as the whole-history pass records removals).
fn removed_by(nodes: &[Node], sets: &mut Sets<'_, '_>, mention: &Mention) -> Result<Vec<String>> {
    let missing: Vec<&String> = mention
        .ids
        .iter()
        .filter(|id| !mention.present.contains(id))
        .collect();
    let Some(node) = nodes.get(mention.commit.order as usize) else {
        return Ok(Vec::new());
    };
    if missing.is_empty() || node.parents.iter().next().is_none() {
        return Ok(Vec::new());
    }
    let key = sets.key(node.tree)?;
    let mut parent_keys = Vec::new();
    for parent in node.parents.iter() {
        if let Some(p) = nodes.get(parent as usize) {
            parent_keys.push(sets.key(p.tree)?);
        }
    }
    if parent_keys.is_empty() || parent_keys == [key] {
        return Ok(Vec::new());
    }
    let current = sets.set(key).clone();
    Ok(missing
        .into_iter()
        .filter(|id| !current.contains_key(id.as_str()))
        .filter(|id| {
            parent_keys
                .iter()
                .all(|k| sets.set(*k).contains_key(id.as_str()))
        })
        .cloned()
        .collect())
}

/// The oldest commit whose migration folders hold a revision of the repository's shape, looked
/// for oldest first and only as far as asked.
#[derive(Default)]
struct FirstMigration {
    /// Commits looked at so far, from the oldest.
    scanned: u32,
    found: Option<u32>,
    /// Whether each key's set holds a revision of the shape, across calls.
    known: HashMap<u32, bool>,
}

impl FirstMigration {
    /// Whether the commit at `order` is older than the first migration.
    fn is_before(
        &mut self,
        order: u32,
        nodes: &[Node],
        sets: &mut Sets<'_, '_>,
        of_shape: impl Fn(&str) -> bool,
    ) -> Result<bool> {
        while self.found.is_none() && self.scanned <= order {
            let Some(node) = nodes.get(self.scanned as usize) else {
                break;
            };
            let key = sets.key(node.tree)?;
            let has = *self
                .known
                .entry(key)
                .or_insert_with(|| sets.set(key).keys().any(|id| of_shape(id)));
            if has {
                self.found = Some(self.scanned);
            }
            self.scanned += 1;
        }
        Ok(self.found.is_none_or(|first| order < first))
    }
}

/// The whole-history pass: every commit's key, each revision's life (who added and removed it),
/// the mentions judged against their commits' folders, then beyond the folders.
fn every_commit(
    repo: &Repository,
    nodes: &[Node],
    named: &[Named],
    sets: &mut Sets<'_, '_>,
    mut history: MigrationHistory,
) -> Result<MigrationHistory> {
    let key_at = sets.keys_of(nodes)?;
    for (pos, node) in nodes.iter().enumerate() {
        let key = key_at.get(pos).copied().unwrap_or_default();
        let parent_keys: Vec<u32> = node
            .parents
            .iter()
            .filter_map(|p| key_at.get(p as usize).copied())
            .collect();
        let unchanged = parent_keys.len() == 1 && parent_keys.first() == Some(&key);
        if unchanged {
            continue;
        }
        let current = sets.set(key);
        let parent_sets: Vec<&Arc<RevisionSet>> =
            parent_keys.iter().map(|k| sets.set(*k)).collect();
        let here = commit_ref(nodes, pos as u32);
        let mut note = |id: &str, entry: &RevisionFile, added: bool| {
            let life = history.revisions.entry(id.to_string()).or_default();
            match added {
                true => life.added.push(here.clone()),
                false => life.removed.push(here.clone()),
            }
            if !life.files.contains(&entry.file) {
                life.files.push(entry.file.clone());
            }
        };
        if let [parent] = parent_sets.as_slice() {
            // One parent: both sets are sorted by ID, so one pass over them finds what one has
            // and the other does not (looking every ID up was most of this loop's time).
            let (mut new, mut old) = (current.iter().peekable(), parent.iter().peekable());
            loop {
                match (new.peek(), old.peek()) {
                    (Some((a, entry)), Some((b, _))) if a < b => {
                        note(a, entry, true);
                        new.next();
                    }
                    (Some((a, _)), Some((b, entry))) if a > b => {
                        note(b, entry, false);
                        old.next();
                    }
                    (Some(_), Some(_)) => {
                        new.next();
                        old.next();
                    }
                    (Some((a, entry)), None) => {
                        note(a, entry, true);
                        new.next();
                    }
                    (None, Some((b, entry))) => {
                        note(b, entry, false);
                        old.next();
                    }
                    (None, None) => break,
                }
            }
            continue;
        }
        for (id, entry) in current.iter() {
            if parent_sets.iter().all(|p| !p.contains_key(id)) {
                note(id, entry, true);
            }
        }
        if let Some(first) = parent_sets.first() {
            for (id, entry) in first.iter() {
                if !current.contains_key(id) && parent_sets.iter().all(|p| p.contains_key(id)) {
                    note(id, entry, false);
                }
            }
        }
    }
    history.mentions = mentions_of(nodes, named, sets, |_, pos| {
        Ok(key_at.get(pos as usize).copied().unwrap_or_default())
    })?;
    sets.close();
    history.first_migration = history
        .revisions
        .iter()
        .filter(|(id, _)| history.id_shape.matches_id(id))
        .filter_map(|(_, life)| life.added.first())
        .min()
        .cloned();
    look_beyond_the_folders(repo, nodes, &mut history)?;
    Ok(history)
}

/// Whether `set` holds `id`, exactly or as a revision that continues it with a non-hex
/// character (`ecb6985693c0_` is `ecb6985693c0`).
fn in_set(set: &RevisionSet, id: &str) -> bool {
    set.contains_key(id)
        || set
            .range::<str, _>((std::ops::Bound::Excluded(id), std::ops::Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(id))
            .any(|(key, _)| same_id(key, id))
}

/// The named IDs of `mention` that neither its folders hold nor it deletes (`removed`).
fn unexplained(mention: &Mention, removed: &[String]) -> Vec<String> {
    // A set: one message can name 100,000 IDs, and a scan of `present` per ID was quadratic.
    let present: HashSet<&String> = mention.present.iter().chain(removed).collect();
    mention
        .ids
        .iter()
        .filter(|id| !present.contains(id))
        .cloned()
        .collect()
}

/// A search beyond the folders, and the suspects it looked for (sorted).
type Searched<'r> = (Search<'r>, Vec<String>);

/// Step 1 of the search beyond the folders, for the mentions the folders do not explain
/// (`removed`: what each mention's commit deletes, in the order of `history.mentions`): the
/// naming commit's own tree, every folder of it. An ID found there is present. A commit older
/// than the folders' first migration (`before_folders`) whose tree holds no migration file
/// anywhere is older than the repository's first migration: its message names no revision of
/// it, and is not a mention. Returns the IDs still unexplained, and the search with what it read
/// (for the suspects, sorted), when there were suspects.
fn look_in_own_trees<'r>(
    repo: &'r Repository,
    nodes: &[Node],
    history: &mut MigrationHistory,
    removed: Vec<Vec<String>>,
    before_folders: &mut dyn FnMut(u32) -> Result<bool>,
) -> Result<(BTreeSet<String>, Option<Searched<'r>>)> {
    let suspects: BTreeSet<String> = history
        .mentions
        .iter()
        .zip(&removed)
        .flat_map(|(m, r)| unexplained(m, r))
        .collect();
    if suspects.is_empty() {
        return Ok((suspects, None));
    }
    let ids: Vec<String> = suspects.into_iter().collect();
    let mut search = Search::new(repo, ids.clone());
    let mut kept = Vec::with_capacity(history.mentions.len());
    let mut open = BTreeSet::new();
    for (mut mention, removed) in std::mem::take(&mut history.mentions)
        .into_iter()
        .zip(removed)
    {
        if unexplained(&mention, &removed).is_empty() {
            kept.push(mention);
            continue;
        }
        let Some(node) = nodes.get(mention.commit.order as usize) else {
            kept.push(mention);
            continue;
        };
        let facts = search.root(node.tree);
        if !facts.migrations && before_folders(mention.commit.order)? {
            continue;
        }
        mark_present(&mut mention, &ids, &facts);
        open.extend(unexplained(&mention, &removed));
        kept.push(mention);
    }
    history.mentions = kept;
    Ok((open, Some((search, ids))))
}

/// The named IDs the migration folders do not explain (not in the naming commit's folders, not
/// removed by it) are looked for beyond the folders, in two steps, the second only for what the
/// first left open:
///
/// 1. The naming commit's own tree ([`look_in_own_trees`]).
/// 2. Every commit's tree: where each ID existed, which replaces what the folders said of its
///    life, and the first commit with a migration file anywhere.
fn look_beyond_the_folders(
    repo: &Repository,
    nodes: &[Node],
    history: &mut MigrationHistory,
) -> Result<()> {
    let removed: Vec<Vec<String>> = history
        .mentions
        .iter()
        .map(|m| {
            m.ids
                .iter()
                .filter(|id| {
                    history
                        .revisions
                        .get(*id)
                        .is_some_and(|life| life.removed.iter().any(|r| r.sha == m.commit.sha))
                })
                .cloned()
                .collect()
        })
        .collect();
    let folders_first = history.first_migration.as_ref().map(|c| c.order);
    let mut before_folders = |order: u32| Ok(folders_first.is_none_or(|first| order < first));
    let (open, search) = look_in_own_trees(repo, nodes, history, removed, &mut before_folders)?;
    let Some((mut search, ids)) = search else {
        return Ok(());
    };
    if open.is_empty() {
        history.unreadable_objects = search.unreadable();
        return Ok(());
    }
    // The same search, its memo of the naming commits' trees kept: every suspect is looked
    // for, and only the open ones' lives are kept.
    let at = search.all(nodes);
    history.unreadable_objects = search.unreadable();
    let is_open: Vec<bool> = ids.iter().map(|id| open.contains(id)).collect();
    if let Some(first) = at.iter().position(|f| f.migrations) {
        let first = commit_ref(nodes, first as u32);
        history.first_migration = match history.first_migration.take() {
            Some(a) => Some(a.min(first)),
            None => Some(first),
        };
    }
    let mut lives: Vec<RevisionLife> = vec![RevisionLife::default(); ids.len()];
    changes(nodes, &at, |pos, i, added| {
        if !is_open.get(i).copied().unwrap_or(false) {
            return;
        }
        if let Some(life) = lives.get_mut(i) {
            match added {
                true => life.added.push(commit_ref(nodes, pos as u32)),
                false => life.removed.push(commit_ref(nodes, pos as u32)),
            }
        }
    });
    for (i, (id, mut life)) in ids.iter().zip(lives).enumerate() {
        if life.added.is_empty() {
            continue;
        }
        life.files = search
            .files()
            .get(i)
            .cloned()
            .flatten()
            .into_iter()
            .collect();
        history.revisions.insert(id.clone(), life);
    }
    Ok(())
}

/// Adds to the mention's present IDs those its commit's tree holds outside the folders, kept in
/// the order the message names them.
///
/// `ids` is sorted (the suspects, from a set): each of the mention's IDs is found in it by
/// binary search, so the cost follows the mention's IDs, not the product of the two lists (one
/// message can name 100,000 IDs).
fn mark_present(mention: &mut Mention, ids: &[String], facts: &TreeFacts) {
    let mut present: HashSet<&String> = mention.present.iter().collect();
    let mut found = Vec::new();
    for id in &mention.ids {
        if ids
            .binary_search(id)
            .is_ok_and(|i| facts.ids.has(i) && present.insert(id))
        {
            found.push(id.clone());
        }
    }
    mention.present.extend(found);
    let mut order: HashMap<&str, usize> = HashMap::new();
    for (k, id) in mention.ids.iter().enumerate() {
        order.entry(id.as_str()).or_insert(k);
    }
    mention
        .present
        .sort_by_key(|id| order.get(id.as_str()).copied());
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use git2::{Oid, Signature, Time};

    use super::*;

    /// Overlapping scans (parallel tests, a library caller) leave libgit2's pack windows as
    /// they found them; the last to end restores them.
    #[test]
    fn overlapping_scans_restore_the_pack_windows() {
        let size = || unsafe { git2::opts::get_mwindow_size().unwrap() };
        let first = ScanSettings::enter();
        let second = ScanSettings::enter();
        assert_eq!(size(), PACK_WINDOW);
        drop(first);
        assert_eq!(size(), PACK_WINDOW, "still narrowed while a scan runs");
        drop(second);
        // Other tests may scan at the same time, so what comes back is only checked when
        // nothing else holds the settings.
        let scans = SCANS.lock().unwrap();
        if scans.0 == 0 {
            assert_ne!(size(), PACK_WINDOW, "libgit2's own default is back");
        }
    }

    /// Writes the tree of `files` (path -> blob) and returns its OID.
    fn write_tree(repo: &Repository, files: &BTreeMap<String, Oid>) -> Oid {
        let mut here = repo.treebuilder(None).unwrap();
        let mut below: BTreeMap<&str, BTreeMap<String, Oid>> = BTreeMap::new();
        for (path, blob) in files {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    below
                        .entry(dir)
                        .or_default()
                        .insert(rest.to_string(), *blob);
                }
                None => {
                    here.insert(path, *blob, 0o100644).unwrap();
                }
            }
        }
        for (dir, files) in below {
            here.insert(dir, write_tree(repo, &files), 0o040000)
                .unwrap();
        }
        here.write().unwrap()
    }

    /// A history of `n` commits on two branches with merges, migrations added on both, one
    /// removed. With `phantoms`, messages name existing, removed and never-committed IDs;
    /// without, every named ID is in its commit's folders or deleted by it, or is named before
    /// the first migration.
    fn history_repo(n: u32, phantoms: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut files: BTreeMap<String, Oid> = BTreeMap::new();
        let mut side: Option<(Oid, BTreeMap<String, Oid>)> = None;
        let mut tip: Option<Oid> = None;
        let mut down = "None".to_string();
        let rev_of = |i: u32| format!("{:012x}", u64::from(i) * 0x9e37_79b9);
        for i in 1..=n {
            let blob = repo.blob(format!("VALUE = {i}\n").as_bytes()).unwrap();
            files.insert(format!("src/m{}.py", i % 7), blob);
            let rev = rev_of(i);
            let mut message = format!("Change {i}\n");
            if i % 50 == 0 {
                // One revision declared with a trailing underscore, named without it.
                let declared = match i {
                    450 => format!("{rev}_"),
                    _ => rev.clone(),
                };
                let text = format!("revision = '{declared}'\ndown_revision = {down}\n");
                let blob = repo.blob(text.as_bytes()).unwrap();
                files.insert(format!("db/versions/{declared}_m.py"), blob);
                down = format!("'{declared}'");
                if !phantoms {
                    message.push_str(&format!("\nAdd migration {rev}\n"));
                }
            }
            if phantoms && i % 30 == 0 {
                message.push_str(&format!("\nMigrations: {rev}, {:012x}\n", i * 7));
            }
            if !phantoms && i == 3 {
                // ckan/ckan 23887bb: a Mercurial changeset, years before the first migration.
                message.push_str("\nFollowing on from 873422abf3e4, fixed the migration script.\n");
            }
            if !phantoms && i == 400 {
                message.push_str(&format!("\nRemove migration {}\n", rev_of(50)));
            }
            if i == 400 {
                files.retain(|path, _| !path.contains(&rev_of(50)));
            }
            let time = Time::new(1_700_000_000 + i64::from(i) * 60, 0);
            let sig = Signature::new("A", "a@example.com", &time).unwrap();
            let tree = repo.find_tree(write_tree(&repo, &files)).unwrap();
            let mut parents = Vec::new();
            if let Some(tip) = tip {
                parents.push(repo.find_commit(tip).unwrap());
            }
            // Every 200 commits a branch starts; 120 commits later it is merged back.
            if i % 200 == 0 {
                side = Some((tip.unwrap(), files.clone()));
            }
            if i % 200 == 120 {
                if let Some((base, mut branch)) = side.take() {
                    let text = format!("revision = 'b{rev}'\ndown_revision = None\n");
                    branch.insert(
                        format!("db/versions/b{rev}.py"),
                        repo.blob(text.as_bytes()).unwrap(),
                    );
                    let branch_tree = repo.find_tree(write_tree(&repo, &branch)).unwrap();
                    let base = repo.find_commit(base).unwrap();
                    let on_branch = repo
                        .commit(None, &sig, &sig, "branch work", &branch_tree, &[&base])
                        .unwrap();
                    parents.push(repo.find_commit(on_branch).unwrap());
                    files.extend(branch);
                }
            }
            let tree = if parents.len() > 1 {
                repo.find_tree(write_tree(&repo, &files)).unwrap()
            } else {
                tree
            };
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            tip = Some(
                repo.commit(Some("HEAD"), &sig, &sig, &message, &tree, &refs)
                    .unwrap(),
            );
        }
        dir
    }

    /// Where every named ID is explained, the naming commits' trees decide: the same mentions
    /// as reading every commit, and none of the rest of the history is read.
    #[test]
    fn the_naming_commits_alone_judge_as_the_whole_history_does() {
        let dir = history_repo(700, false);
        let repo = Repository::open(dir.path()).unwrap();
        let dirs = ["db/versions".to_string()];
        let cheap = build_uncached(&repo, &dirs, true, Reading::AsNeeded).unwrap();
        let every = build_uncached(&repo, &dirs, true, Reading::Everything).unwrap();
        assert!(cheap.revisions.is_empty(), "the whole history was read");
        assert!(!every.revisions.is_empty());
        assert_eq!(cheap.mentions, every.mentions);
        assert_eq!(cheap.mentions.len(), 14, "{:#?}", cheap.mentions);
        assert!(cheap
            .mentions
            .iter()
            .all(|m| m.present == m.ids || m.summary == "Change 400"));
        assert!(
            !cheap
                .mentions
                .iter()
                .any(|m| m.ids.contains(&"873422abf3e4".to_string())),
            "named before the first migration"
        );
        assert_eq!(
            (&cheap.head_revisions, &cheap.heads, cheap.id_shape),
            (&every.head_revisions, &every.heads, every.id_shape)
        );
        let alone = build_uncached(&repo, &dirs, false, Reading::AsNeeded).unwrap();
        assert_eq!(cheap, alone);
    }

    /// A missing ID hands over to the whole-history pass: the result is the same as reading
    /// every commit from the start.
    #[test]
    fn a_missing_id_reads_the_whole_history() {
        let dir = history_repo(700, true);
        let repo = Repository::open(dir.path()).unwrap();
        let dirs = ["db/versions".to_string()];
        let cheap = build_uncached(&repo, &dirs, true, Reading::AsNeeded).unwrap();
        let every = build_uncached(&repo, &dirs, false, Reading::Everything).unwrap();
        assert_eq!(cheap, every);
        assert!(cheap.first_migration.is_some());
    }

    #[test]
    fn a_set_holds_an_id_a_revision_continues_with_a_non_hex_character() {
        let file = |name: &str| {
            Arc::new(RevisionFile {
                file: name.to_string(),
                parents: Vec::new(),
            })
        };
        let mut set = RevisionSet::new();
        // `0` sorts before `_`: the hex-continued ID stands between the two.
        set.insert(Arc::from("ecb6985693c00"), file("a.py"));
        set.insert(Arc::from("ecb6985693c0_"), file("b.py"));
        assert!(in_set(&set, "ecb6985693c0"));
        assert!(!in_set(&set, "ecb6985693c"));
        set.remove("ecb6985693c0_");
        assert!(!in_set(&set, "ecb6985693c0"));
    }

    #[test]
    fn hex_cmp_orders_as_the_cut_hex_string() {
        let id: [u8; 20] =
            *b"\xab\xcd\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99";
        let hex = "abcd0123456789abcdef00112233445566778899";
        for token in [
            "abcd0",
            "abcd01234567",
            hex,
            "abce",
            "abcc",
            "0",
            "f",
            "abcd012345678",
        ] {
            let cut = &hex[..token.len()];
            assert_eq!(hex_cmp(&id, token), cut.cmp(token), "{token}");
        }
    }

    #[test]
    fn two_readers_find_what_one_finds() {
        let dir = history_repo(700, true);
        let repo = Repository::open(dir.path()).unwrap();
        let dirs = ["db/versions".to_string()];
        let threaded = build_uncached(&repo, &dirs, true, Reading::AsNeeded).unwrap();
        let alone = build_uncached(&repo, &dirs, false, Reading::AsNeeded).unwrap();
        assert_eq!(threaded, alone);
        assert!(threaded.commits_scanned > 700);
        assert!(threaded
            .revisions
            .values()
            .any(|life| !life.removed.is_empty()));
        assert!(threaded.mentions.iter().any(|m| m.present.is_empty()));
        assert!(threaded.mentions.iter().any(|m| !m.present.is_empty()));
        assert!(threaded.heads.len() > 1);
    }
}
