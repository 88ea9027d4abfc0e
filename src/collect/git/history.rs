//! The history index behind `phantom-migration`: which commits name which migration IDs, and
//! which commits added or removed which migration revisions.
//!
//! Built in three steps over the commits reachable from HEAD. The walk (`walk`) reads each
//! commit once: parents, tree, time, and the message when it may hold an ID. Beside it (`side`,
//! on a second thread when there is a CPU for it), each root tree gives the migration folders'
//! tree OIDs, the commit's *key* (`keys`); the folders of every new key are read (`folders`),
//! each folder version and blob once, memoised by OID; and the messages are scanned for
//! mentions. Last, oldest first, each commit's key is compared with its parents': only where
//! they differ are the revision sets compared.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use git2::Repository;

use super::anywhere::{changes, same_id, Search, TreeFacts};
use super::folders::{heads_of, RevisionFile, RevisionSet};
use super::mentions::Candidate;
use super::side::walk_with_side;
use super::walk::{read_commits, Node};
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
    build_uncached(repo, migration_dirs, threads)
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
    let (nodes, side) = walk_with_side(repo, &components, threads, |on_commit| {
        read_commits(repo, head, on_commit)
    })?;
    history.commits_scanned = nodes.len() as u64;
    if repo.is_shallow() {
        // `shallow` lists the commits whose parents were not fetched.
        let listed = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
        let mut cut_at: Vec<String> = listed.split_whitespace().map(str::to_string).collect();
        cut_at.sort();
        history.shallow = Some(Shallow { cut_at });
    }
    let empty = Arc::new(RevisionSet::new());
    let set_of = |key: u32| side.sets.get(key as usize).unwrap_or(&empty);
    let commit_ref = |pos: usize, node: &Node| CommitRef {
        order: pos as u32,
        sha: node.oid.to_string(),
        time: DateTime::from_timestamp(node.time, 0).unwrap_or_default(),
    };
    // The key of each commit, oldest first.
    let key_at: Vec<u32> = nodes
        .iter()
        .map(|n| side.keys.get(n.seen as usize).copied().unwrap_or_default())
        .collect();

    for (pos, node) in nodes.iter().enumerate() {
        let key = key_at.get(pos).copied().unwrap_or_default();
        let parent_keys: Vec<u32> = node
            .parents
            .iter()
            .filter_map(|p| key_at.get(p as usize).copied())
            .collect();
        let unchanged = parent_keys.len() == 1 && parent_keys.first() == Some(&key);
        if unchanged || dirs.is_empty() {
            continue;
        }
        let current = set_of(key);
        let parent_sets: Vec<&Arc<RevisionSet>> = parent_keys.iter().map(|k| set_of(*k)).collect();
        let here = commit_ref(pos, node);
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

    history.id_shape = IdShape::learn(history.revisions.keys().map(String::as_str));
    if let Some(key) = key_at.last() {
        let at_head = set_of(*key);
        history.head_revisions = at_head.keys().map(|id| id.to_string()).collect();
        history.heads = heads_of(at_head);
    }
    if dirs.is_empty() {
        // Without migration folders nothing can be said to exist: no mention is judged.
        return Ok(history);
    }
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
    // Walk order -> place oldest first.
    let mut pos_of = vec![0u32; nodes.len()];
    for (pos, node) in nodes.iter().enumerate() {
        if let Some(slot) = pos_of.get_mut(node.seen as usize) {
            *slot = pos as u32;
        }
    }
    let mut mentioned: Vec<(u32, &String, &Vec<Candidate>)> = side
        .mentions
        .iter()
        .filter_map(|(seen, summary, found)| Some((*pos_of.get(*seen as usize)?, summary, found)))
        .collect();
    mentioned.sort_unstable_by_key(|m| m.0);
    for (pos, summary, candidates) in mentioned {
        let Some(node) = nodes.get(pos as usize) else {
            continue;
        };
        let ids: Vec<String> = candidates
            .iter()
            .filter(|c| history.id_shape.matches(c))
            .filter(|c| !is_commit_prefix(&c.token))
            .map(|c| c.token.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let key = key_at.get(pos as usize).copied().unwrap_or_default();
        let set = set_of(key);
        let heads = match side.heads.get(key as usize) {
            Some(Some(heads)) => heads.as_ref().clone(),
            _ => heads_of(set),
        };
        history.mentions.push(Mention {
            commit: commit_ref(pos as usize, node),
            summary: summary.clone(),
            present: ids.iter().filter(|id| in_set(set, id)).cloned().collect(),
            ids,
            heads,
        });
    }
    history.first_migration = history
        .revisions
        .iter()
        .filter(|(id, _)| history.id_shape.matches_id(id))
        .filter_map(|(_, life)| life.added.first())
        .min()
        .cloned();
    look_beyond_the_folders(repo, &nodes, &mut history)?;
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

/// The named IDs the migration folders do not explain (not in the naming commit's folders, not
/// removed by it) are looked for beyond the folders, in three steps, each only for what the one
/// before left open, so a history whose mentions the folders explain pays nothing:
///
/// 1. The naming commit's own tree, every folder of it: an ID found there is present. A commit
///    older than the folders' first migration whose tree holds no migration file anywhere is
///    older than the repository's first migration: its message names no revision of it, and is
///    not a mention.
/// 2. Only if IDs are still unexplained, every commit's tree: where each ID existed, which
///    replaces what the folders said of its life, and the first commit with a migration file
///    anywhere.
fn look_beyond_the_folders(
    repo: &Repository,
    nodes: &[Node],
    history: &mut MigrationHistory,
) -> Result<()> {
    let unexplained = |history: &MigrationHistory, m: &Mention| -> Vec<String> {
        // A set: one message can name 100,000 IDs, and a scan of `present` per ID was quadratic.
        let present: HashSet<&String> = m.present.iter().collect();
        m.ids
            .iter()
            .filter(|id| !present.contains(id))
            .filter(|id| {
                !history
                    .revisions
                    .get(*id)
                    .is_some_and(|life| life.removed.iter().any(|r| r.sha == m.commit.sha))
            })
            .cloned()
            .collect()
    };
    let suspects: BTreeSet<String> = history
        .mentions
        .iter()
        .flat_map(|m| unexplained(history, m))
        .collect();
    if suspects.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = suspects.into_iter().collect();
    let mut search = Search::new(repo, ids.clone());
    let folders_first = history.first_migration.as_ref().map(|c| c.order);
    let mut kept = Vec::with_capacity(history.mentions.len());
    for mut mention in std::mem::take(&mut history.mentions) {
        if unexplained(history, &mention).is_empty() {
            kept.push(mention);
            continue;
        }
        let Some(node) = nodes.get(mention.commit.order as usize) else {
            kept.push(mention);
            continue;
        };
        let facts = search.root(node.tree);
        let before_folders = folders_first.is_none_or(|first| mention.commit.order < first);
        if before_folders && !facts.migrations {
            continue;
        }
        mark_present(&mut mention, &ids, &facts);
        kept.push(mention);
    }
    history.mentions = kept;
    let open: BTreeSet<String> = history
        .mentions
        .iter()
        .flat_map(|m| unexplained(history, m))
        .collect();
    if open.is_empty() {
        history.unreadable_objects = search.unreadable;
        return Ok(());
    }
    let at = search.all(nodes);
    history.unreadable_objects = search.unreadable;
    let commit_ref = |pos: usize| {
        nodes.get(pos).map(|node| CommitRef {
            order: pos as u32,
            sha: node.oid.to_string(),
            time: DateTime::from_timestamp(node.time, 0).unwrap_or_default(),
        })
    };
    if let Some(first) = at.iter().position(|f| f.migrations) {
        let first = commit_ref(first);
        history.first_migration = match (history.first_migration.take(), first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut lives: Vec<RevisionLife> = vec![RevisionLife::default(); ids.len()];
    let is_open: Vec<bool> = ids.iter().map(|id| open.contains(id)).collect();
    changes(nodes, &at, |pos, i, added| {
        if !is_open.get(i).copied().unwrap_or(false) {
            return;
        }
        if let Some(life) = lives.get_mut(i) {
            match added {
                true => life.added.extend(commit_ref(pos)),
                false => life.removed.extend(commit_ref(pos)),
            }
        }
    });
    for (i, (id, mut life)) in ids.iter().zip(lives).enumerate() {
        if life.added.is_empty() {
            continue;
        }
        life.files = search.files.get(i).cloned().flatten().into_iter().collect();
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
    /// removed, and messages that name existing, removed and never-committed IDs.
    fn history_repo(n: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut files: BTreeMap<String, Oid> = BTreeMap::new();
        let mut side: Option<(Oid, BTreeMap<String, Oid>)> = None;
        let mut tip: Option<Oid> = None;
        let mut down = "None".to_string();
        for i in 1..=n {
            let blob = repo.blob(format!("VALUE = {i}\n").as_bytes()).unwrap();
            files.insert(format!("src/m{}.py", i % 7), blob);
            let rev = format!("{:012x}", u64::from(i) * 0x9e37_79b9);
            let mut message = format!("Change {i}\n");
            if i % 50 == 0 {
                let text = format!("revision = '{rev}'\ndown_revision = {down}\n");
                let blob = repo.blob(text.as_bytes()).unwrap();
                files.insert(format!("db/versions/{rev}_m.py"), blob);
                down = format!("'{rev}'");
            }
            if i % 30 == 0 {
                message.push_str(&format!("\nMigrations: {rev}, {:012x}\n", i * 7));
            }
            if i == 400 {
                files.retain(|path, _| !path.contains(&format!("{:012x}", 50u64 * 0x9e37_79b9)));
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
    fn the_side_thread_finds_what_the_walking_thread_finds() {
        let dir = history_repo(700);
        let repo = Repository::open(dir.path()).unwrap();
        let dirs = ["db/versions".to_string()];
        let threaded = build_uncached(&repo, &dirs, true).unwrap();
        let alone = build_uncached(&repo, &dirs, false).unwrap();
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
