//! The commit walk behind the history index: every commit reachable from HEAD, read once from
//! its raw object bytes, parents before children.

use git2::{ObjectType, Oid, Repository};

use super::keys::OidMap;
use crate::Result;

pub(super) struct Node {
    pub oid: Oid,
    /// Places of the parents in the returned order.
    pub parents: Few<u32>,
    pub time: i64,
    /// The root tree: the search for revisions outside the migration folders reads it again.
    pub tree: Oid,
    /// Place in the walk (newest first): the order commits were handed to `on_commit`.
    pub seen: u32,
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

/// Every commit reachable from HEAD, parents before children. `on_commit` gets each commit's
/// root tree and message as soon as the commit is read (in walk order, [`Node::seen`]), so
/// another thread can work on them while this one reads the next commits.
pub(super) fn read_commits(
    repo: &Repository,
    head: Oid,
    on_commit: &mut dyn FnMut(Oid, &[u8]),
) -> Result<Vec<Node>> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: OidMap<Oid, u32> = OidMap::default();
    let mut order: Vec<u32> = Vec::new();
    // (node, next parent to visit, parent oids)
    let mut stack: Vec<(u32, usize, Few<Oid>)> = Vec::new();
    let odb = repo.odb()?;
    let mut visit = |oid: Oid,
                     nodes: &mut Vec<Node>,
                     index: &mut OidMap<Oid, u32>|
     -> std::result::Result<(u32, Few<Oid>), git2::Error> {
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
        let id = nodes.len() as u32;
        on_commit(raw.tree, raw.message);
        nodes.push(Node {
            oid,
            parents: Few::default(),
            time: raw.author_time,
            tree: raw.tree,
            seen: id,
        });
        index.insert(oid, id);
        Ok((id, raw.parents))
    };
    let (root, parents) = visit(head, &mut nodes, &mut index)?;
    stack.push((root, 0, parents));
    while let Some(top) = stack.last_mut() {
        let (id, next, parents) = (top.0, top.1, &top.2);
        let Some(parent) = parents.get(next) else {
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
    drop(index);
    // Reorder so that a node's index is its place oldest-first.
    let mut place = vec![0u32; nodes.len()];
    for (pos, id) in order.iter().enumerate() {
        if let Some(slot) = place.get_mut(*id as usize) {
            *slot = pos as u32;
        }
    }
    // In place: a second list of every commit showed in the peak RSS of a large history.
    for node in nodes.iter_mut() {
        node.parents = node
            .parents
            .iter()
            .filter_map(|p| place.get(p as usize).copied())
            .collect();
    }
    nodes.sort_unstable_by_key(|node| place.get(node.seen as usize).copied());
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    const PARENT: &str = "1111111111111111111111111111111111111111";

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
