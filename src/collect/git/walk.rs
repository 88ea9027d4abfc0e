//! The commit walk behind the history index: every commit reachable from HEAD, read once from
//! its raw object bytes (on two threads when there are two CPUs), parents before children, and
//! the messages that may name migrations scanned as they are read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use git2::{ObjectType, Oid, Repository};

use super::keys::{own_odb, Objects, OidMap};
use super::mentions::{candidate_ids, may_mention, Candidate};
use crate::Result;

pub(super) struct Node {
    pub oid: Oid,
    /// Places of the parents in the returned order.
    pub parents: Few<u32>,
    pub time: i64,
    /// The root tree: the migration folders' key and the search beyond them read it.
    pub tree: Oid,
}

/// A short list, usually of one: a commit's parents. One needs no allocation (one per commit
/// showed in the profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Few<T> {
    first: Option<T>,
    more: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few {
            first: None,
            more: Vec::new(),
        }
    }
}

impl<T: Copy> Few<T> {
    fn push(&mut self, item: T) {
        match self.first {
            None => self.first = Some(item),
            Some(_) => self.more.push(item),
        }
    }

    fn get(&self, i: usize) -> Option<T> {
        match i {
            0 => self.first,
            _ => self.more.get(i - 1).copied(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

impl<T: Copy> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut few = Few::default();
        items.into_iter().for_each(|item| few.push(item));
        few
    }
}

/// Hex digit -> its value; 0xff for anything else.
static HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The object ID written as 40 hex digits (git2's parser goes through a C call and a UTF-8
/// check, and accepts shorter input, padding it).
fn oid_from_hex(hex: &[u8]) -> Option<Oid> {
    let hex: &[u8; 40] = hex.try_into().ok()?;
    let mut raw = [0u8; 20];
    let mut bad = 0u8;
    for (byte, pair) in raw.iter_mut().zip(hex.chunks_exact(2)) {
        let [high, low] = *pair else { return None };
        let (high, low) = (HEX[usize::from(high)], HEX[usize::from(low)]);
        bad |= high | low;
        *byte = (high << 4) | low;
    }
    // Any digit that was not one set the high bits.
    (bad < 0x10).then(|| Oid::from_bytes(&raw).ok()).flatten()
}

/// The first `\n` in `bytes`, eight bytes at a time: the byte-by-byte search over every
/// commit's headers showed in the walk's profile.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_le_bytes([b'\n'; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().ok()?) ^ NEWLINES;
        // The lowest byte flagged is the first zero byte of `word`, the first newline.
        let zero = word.wrapping_sub(ONES) & !word & HIGHS;
        if zero != 0 {
            return Some(at + zero.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = words.remainder().iter().position(|&b| b == b'\n');
    tail.map(|i| at + i)
}

/// What the index needs of a commit, read from the object's bytes: building libgit2's commit
/// object (every header parsed and copied, signatures allocated) was a tenth of a
/// full-history scan.
struct RawCommit<'a> {
    tree: Oid,
    parents: Few<Oid>,
    author_time: i64,
    /// Without leading newlines, as `git2::Commit::message_bytes` gives it.
    message: &'a [u8],
}

impl<'a> RawCommit<'a> {
    /// `None` when a header the index needs is missing or malformed.
    fn parse(data: &'a [u8]) -> Option<Self> {
        let (mut tree, mut parents, mut author_time) = (None, Few::default(), None);
        let mut rest = data;
        let message = loop {
            let (line, after) = match find_newline(rest) {
                Some(nl) => (rest.get(..nl)?, rest.get(nl + 1..)?),
                None => (rest, &b""[..]),
            };
            if line.is_empty() {
                break after;
            }
            if let Some(id) = line.strip_prefix(b"tree ") {
                tree = Some(oid_from_hex(id)?);
            } else if let Some(id) = line.strip_prefix(b"parent ") {
                parents.push(oid_from_hex(id)?);
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

/// A message that names candidates: its summary line and the candidates.
pub(super) type Mentioned = (String, Vec<Candidate>);

/// Every commit, oldest first, and the messages that name candidates by their commit's place.
pub(super) type Commits = (Vec<Node>, Vec<(u32, Mentioned)>);

/// A commit as a reader found it.
struct Read {
    oid: Oid,
    parents: Few<Oid>,
    tree: Oid,
    time: i64,
    mentioned: Option<Mentioned>,
}

/// What the readers share: which commits have been found (so each is read once), and the
/// commits one reader gave away for another to read.
///
/// Each commit names the next ones (its parents), so there is no list to split up front: each
/// reader follows the parents it finds on a stack of its own, and gives the bottom half of that
/// stack away when another reader has nothing to do. In histories with merges two branches
/// can be read at once (the first-parent chain is a fifth to a half of CKAN's, neutron's and
/// nova's commits); a history without merges is read one commit at a time whatever the number
/// of readers.
struct Frontier {
    state: Mutex<Pending>,
    ready: Condvar,
    /// Readers waiting for work: read without the lock, to decide whether to give any.
    hungry: AtomicUsize,
}

struct Pending {
    found: OidMap<Oid, ()>,
    given: Vec<Oid>,
    /// Readers at work or about to be: the walk has ended when all of them wait.
    readers: usize,
    waiting: usize,
    done: bool,
}

/// Commits a reader keeps before it gives half of them away: handing over one commit at a time
/// woke the other reader once per merge (28,000 times on nova), and the wake-ups cost more CPU
/// time than the reads they shared.
const GIVE_FROM: usize = if cfg!(test) { 4 } else { 32 };

impl Frontier {
    fn new(head: Oid, readers: usize) -> Self {
        let mut found = OidMap::default();
        found.insert(head, ());
        Frontier {
            state: Mutex::new(Pending {
                found,
                given: Vec::new(),
                readers,
                waiting: 0,
                done: false,
            }),
            ready: Condvar::new(),
            hungry: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A reader that panicked holding the lock left the state as it was: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts the `parents` no reader has found yet on `mine`, the first parent on top (read
    /// next, as git walks: consecutive commits sit together in the pack), and gives half of
    /// `mine` away when another reader waits.
    fn found(&self, parents: &Few<Oid>, mine: &mut Vec<Oid>) {
        let mut pending = self.lock();
        let before = mine.len();
        for parent in parents.iter() {
            if pending.found.insert(parent, ()).is_none() {
                mine.push(parent);
            }
        }
        if let Some(added) = mine.get_mut(before..) {
            added.reverse();
        }
        if mine.len() >= GIVE_FROM && self.hungry.load(Ordering::Relaxed) > 0 {
            let half = mine.len() / 2;
            pending.given.extend(mine.drain(..half));
            self.ready.notify_one();
        }
    }

    /// Fills the empty `mine` with commits another reader gave; `false` when every commit has
    /// been read (or a reader stopped on an error).
    fn take(&self, mine: &mut Vec<Oid>) -> bool {
        let mut pending = self.lock();
        loop {
            if pending.done {
                return false;
            }
            if !pending.given.is_empty() {
                mine.append(&mut pending.given);
                return true;
            }
            pending.waiting += 1;
            if pending.waiting >= pending.readers {
                pending.done = true;
                self.ready.notify_all();
                return false;
            }
            self.hungry.fetch_add(1, Ordering::Relaxed);
            pending = self.ready.wait(pending).unwrap_or_else(|e| e.into_inner());
            self.hungry.fetch_sub(1, Ordering::Relaxed);
            pending.waiting -= 1;
        }
    }

    /// One reader less: it could not start, or stopped on an error (then the walk stops).
    fn leave(&self, failed: bool) {
        let mut pending = self.lock();
        pending.readers -= 1;
        pending.done |= failed || pending.waiting >= pending.readers;
        self.ready.notify_all();
    }
}

/// Reads commits until there are none left, starting from `first` (HEAD, for one reader).
fn read_from(
    objects: &Objects<'_>,
    frontier: &Frontier,
    first: Option<Oid>,
    scan: bool,
) -> Result<Vec<Read>> {
    let mut out = Vec::new();
    let mut mine: Vec<Oid> = first.into_iter().collect();
    loop {
        let oid = match mine.pop() {
            Some(oid) => oid,
            None if frontier.take(&mut mine) => continue,
            None => break,
        };
        let read = match read_one(objects, oid, scan) {
            Ok(read) => read,
            // A shallow clone's boundary: the parent is not here. (HEAD itself was found
            // before the walk started.)
            Err(e) if e.code() == git2::ErrorCode::NotFound && first != Some(oid) => continue,
            Err(e) => {
                frontier.leave(true);
                return Err(crate::Error::Git(format!(
                    "commit {oid} of HEAD's history: {} (the history index reads every commit; \
                     `--disable phantom-migration`, or `disable: [phantom-migration]` in \
                     postmortem.yaml, skips it)",
                    e.message()
                )));
            }
        };
        frontier.found(&read.parents, &mut mine);
        out.push(read);
    }
    frontier.leave(false);
    Ok(out)
}

fn read_one(objects: &Objects<'_>, oid: Oid, scan: bool) -> std::result::Result<Read, git2::Error> {
    let object = match &objects.odb {
        Some(odb) => Some(odb.read(oid)?),
        None => None,
    };
    let raw = object
        .as_ref()
        .filter(|o| o.kind() == ObjectType::Commit)
        .and_then(|o| RawCommit::parse(o.data()));
    // Anything the raw reader does not understand goes through libgit2's own parser (which
    // also gives the error for what is not a commit at all).
    let commit;
    let raw = match raw {
        Some(raw) => raw,
        None => {
            commit = objects.repo.find_commit(oid)?;
            RawCommit {
                tree: commit.tree_id(),
                parents: commit.parent_ids().collect(),
                author_time: commit.author().when().seconds(),
                message: commit.message_bytes(),
            }
        }
    };
    let mentioned = match scan && may_mention(raw.message) {
        true => {
            let text = String::from_utf8_lossy(raw.message);
            let found = candidate_ids(&text);
            let summary = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            (!found.is_empty()).then(|| (summary.trim().to_string(), found))
        }
        false => None,
    };
    Ok(Read {
        oid,
        parents: raw.parents,
        tree: raw.tree,
        time: raw.author_time,
        mentioned,
    })
}

/// Every commit reachable from `head`, parents before children, and the messages that name
/// candidates (when `scan`), by place in that order.
///
/// `readers` commits are read at once, each reader with pack handles of its own (see
/// [`own_odb`]). The order does not depend on who read what: it is the post-order of a
/// depth-first walk from `head` that follows each commit's parents in their order, worked out
/// once every commit is read.
pub(super) fn read_commits(
    repo: &Repository,
    head: Oid,
    readers: usize,
    scan: bool,
) -> Result<Commits> {
    let readers = readers.max(1);
    let frontier = Frontier::new(head, readers);
    let mine = Objects {
        repo,
        odb: repo.odb().ok(),
    };
    // libgit2 repositories cannot be shared between threads: each helper opens its own.
    let seconds: Vec<Repository> = (1..readers)
        .filter_map(|_| Repository::open(repo.path()).ok())
        .collect();
    for _ in seconds.len() + 1..readers {
        // A repository that could not be opened twice: one reader less.
        frontier.leave(false);
    }
    let objects_dir = repo.commondir().join("objects").join(".");
    let reads = std::thread::scope(|scope| {
        let mut helpers = Vec::new();
        for second in seconds {
            let (frontier, objects_dir) = (&frontier, &objects_dir);
            let spawned = std::thread::Builder::new()
                .name("history-reader".to_string())
                .spawn_scoped(scope, move || {
                    let objects = Objects {
                        repo: &second,
                        odb: own_odb(objects_dir).or_else(|| second.odb().ok()),
                    };
                    read_from(&objects, frontier, None, scan)
                });
            match spawned {
                Ok(handle) => helpers.push(handle),
                // A container's process limit can refuse the thread: the others read it all.
                Err(_) => frontier.leave(false),
            }
        }
        let mut all = vec![read_from(&mine, &frontier, Some(head), scan)];
        for helper in helpers {
            match helper.join() {
                Ok(read) => all.push(read),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    let mut all: Vec<Read> = Vec::new();
    for read in reads {
        all.extend(read?);
    }
    Ok(in_order(all, head))
}

/// The commits ordered oldest first: the post-order of a depth-first walk from `head` that
/// follows each commit's parents in their order. Parents that were not read (beyond a shallow
/// clone's boundary) are left out.
fn in_order(reads: Vec<Read>, head: Oid) -> Commits {
    let mut index: OidMap<Oid, u32> = OidMap::default();
    index.reserve(reads.len());
    for (i, read) in reads.iter().enumerate() {
        index.insert(read.oid, i as u32);
    }
    let parents_of = |i: u32| -> Few<u32> {
        reads
            .get(i as usize)
            .map(|r| {
                r.parents
                    .iter()
                    .filter_map(|p| index.get(&p).copied())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut place = vec![u32::MAX; reads.len()];
    let mut placed = 0u32;
    let mut entered = vec![false; reads.len()];
    // (commit, its parents, next parent to visit)
    let mut stack: Vec<(u32, Few<u32>, usize)> = Vec::new();
    if let Some(&root) = index.get(&head) {
        entered[root as usize] = true;
        stack.push((root, parents_of(root), 0));
    }
    while let Some(top) = stack.last_mut() {
        let (id, next) = (top.0, top.2);
        let Some(parent) = top.1.get(next) else {
            if let Some(slot) = place.get_mut(id as usize) {
                *slot = placed;
                placed += 1;
            }
            stack.pop();
            continue;
        };
        top.2 += 1;
        if let Some(seen @ false) = entered.get_mut(parent as usize) {
            *seen = true;
            stack.push((parent, parents_of(parent), 0));
        }
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(reads.len());
    let mut mentioned = Vec::new();
    // Commits read but not reached from `head` cannot be; kept out all the same.
    let mut by_place: Vec<(u32, u32)> = place
        .iter()
        .enumerate()
        .filter(|(_, p)| **p != u32::MAX)
        .map(|(i, p)| (*p, i as u32))
        .collect();
    by_place.sort_unstable();
    let parents: Vec<Few<u32>> = by_place
        .iter()
        .map(|(_, i)| {
            parents_of(*i)
                .iter()
                .filter_map(|p| place.get(p as usize).copied())
                .collect()
        })
        .collect();
    drop(index);
    let mut reads: Vec<Option<Read>> = reads.into_iter().map(Some).collect();
    for ((pos, i), parents) in by_place.into_iter().zip(parents) {
        let Some(read) = reads.get_mut(i as usize).and_then(Option::take) else {
            continue;
        };
        if let Some(found) = read.mentioned {
            mentioned.push((pos, found));
        }
        nodes.push(Node {
            oid: read.oid,
            parents,
            time: read.time,
            tree: read.tree,
        });
    }
    (nodes, mentioned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    const PARENT: &str = "1111111111111111111111111111111111111111";

    /// A history shaped like OpenStack's: every change merged from a short branch off an
    /// earlier merge, so the readers share the work and hand commits to each other.
    fn merge_heavy_repo(changes: u32) -> (tempfile::TempDir, Oid) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let tree = repo.treebuilder(None).unwrap().write().unwrap();
        let tree = repo.find_tree(tree).unwrap();
        let mut merges: Vec<Oid> = Vec::new();
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize
        };
        for i in 0..changes {
            let sig = git2::Signature::new(
                "A",
                "a@b.c",
                &git2::Time::new(1_600_000_000 + i64::from(i), 0),
            )
            .unwrap();
            let commit = |message: &str, parents: &[Oid]| {
                let parents: Vec<git2::Commit<'_>> = parents
                    .iter()
                    .map(|p| repo.find_commit(*p).unwrap())
                    .collect();
                let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
                repo.commit(None, &sig, &sig, message, &tree, &refs)
                    .unwrap()
            };
            let Some(&last) = merges.last() else {
                merges.push(commit("root", &[]));
                continue;
            };
            let base = merges[merges.len() - 1 - next() % merges.len().min(5)];
            let mut branch = base;
            for k in 0..1 + next() % 3 {
                branch = commit(
                    &format!("change {i}.{k}\n\nmigration {:012x}", i),
                    &[branch],
                );
            }
            merges.push(commit(&format!("Merge change {i}"), &[last, branch]));
        }
        let head = *merges.last().unwrap();
        (dir, head)
    }

    #[test]
    fn two_readers_give_the_order_one_gives() {
        let (dir, head) = merge_heavy_repo(400);
        let repo = Repository::open(dir.path()).unwrap();
        let (one, one_named) = read_commits(&repo, head, 1, true).unwrap();
        let expected: Vec<(Oid, Vec<u32>)> = one
            .iter()
            .map(|n| (n.oid, n.parents.iter().collect()))
            .collect();
        assert!(one.len() > 800, "{}", one.len());
        assert_eq!(one.last().map(|n| n.oid), Some(head));
        for (pos, node) in one.iter().enumerate() {
            assert!(
                node.parents.iter().all(|p| (p as usize) < pos),
                "parents first"
            );
        }
        for _ in 0..5 {
            let (two, two_named) = read_commits(&repo, head, 2, true).unwrap();
            let got: Vec<(Oid, Vec<u32>)> = two
                .iter()
                .map(|n| (n.oid, n.parents.iter().collect()))
                .collect();
            assert_eq!(got, expected);
            assert_eq!(two_named, one_named);
        }
        // More readers than the history keeps busy: the same again.
        let (many, _) = read_commits(&repo, head, 6, true).unwrap();
        assert_eq!(many.len(), one.len());
    }

    #[test]
    fn find_newline_finds_the_first() {
        let text = b"0123456789abcdef\n\n\x8a\x0b\n";
        for start in 0..text.len() {
            let rest = &text[start..];
            assert_eq!(find_newline(rest), rest.iter().position(|&b| b == b'\n'));
        }
        for byte in 0..=255u8 {
            for len in 0..20 {
                let mut bytes = vec![byte; len];
                bytes.extend_from_slice(&[b'\n', byte, b'\n']);
                assert_eq!(find_newline(&bytes), bytes.iter().position(|&b| b == b'\n'));
            }
        }
        assert_eq!(find_newline(b"no newline at all here"), None);
    }

    #[test]
    fn raw_commit_reads_headers_past_a_signature_and_strips_leading_newlines() {
        let data = format!(
            "tree {TREE}\nparent {PARENT}\nparent {TREE}\nauthor A B <a@b.c> 1600000000 +0200\ncommitter C <c@d.e> 1700000000 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n author fake <x> 1 +0000\n -----END PGP SIGNATURE-----\n\n\nFix 0001\n\nbody\n"
        );
        let raw = RawCommit::parse(data.as_bytes()).unwrap();
        assert_eq!(raw.tree.to_string(), TREE);
        assert_eq!(raw.parents.iter().count(), 2);
        assert_eq!(raw.parents.get(1), Oid::from_str(TREE).ok());
        assert_eq!(raw.author_time, 1_600_000_000);
        assert_eq!(raw.message, b"Fix 0001\n\nbody\n");
    }

    #[test]
    fn raw_commit_without_message_or_with_a_bad_author_is_left_to_libgit2() {
        let bare = format!("tree {TREE}\nauthor A <a> 5 +0000\ncommitter A <a> 5 +0000\n");
        let raw = RawCommit::parse(bare.as_bytes()).unwrap();
        assert!(raw.parents.iter().next().is_none() && raw.message.is_empty());
        let bad = format!("tree {TREE}\nauthor A <a> soon +0000\n\nmsg\n");
        assert!(RawCommit::parse(bad.as_bytes()).is_none());
        assert!(RawCommit::parse(b"parent nothex\n\nmsg\n").is_none());
        assert!(RawCommit::parse(format!("tree {}\n\nmsg\n", &TREE[..39]).as_bytes()).is_none());
    }
}
