//! Which version of the migration folders each commit has: the folders' tree OIDs in the
//! commit's root tree (its *key*). Commits with equal keys have the same migration files, so
//! the history index reads the folders only where the key changes.
//!
//! Finding the key costs a root-tree read and one read per folder level, so it is done only
//! for the commits a question is asked of (see `history`).

use std::collections::HashMap;
use std::path::Path;

use git2::{ObjectType, Odb, OdbObject, Oid, Repository};

use crate::Result;

/// Object IDs are SHA-1 output already: their first 8 bytes are a good hash, and SipHash over
/// 20 bytes per lookup shows in the profile of a full-history scan.
#[derive(Default, Clone, Copy)]
pub(super) struct OidHasher(u64);

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

pub(super) type OidMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<OidHasher>>;

/// The tree OID of each migration folder (in the order of the folder list), `None` where the
/// folder does not exist.
pub(super) type Key = Vec<Option<Oid>>;

/// Where the side work reads objects: raw from `odb` when it can (building libgit2's objects
/// showed in the profile), as libgit2's objects of `repo` when the raw bytes are not understood.
pub(super) struct Objects<'r> {
    pub repo: &'r Repository,
    pub odb: Option<Odb<'r>>,
}

impl Objects<'_> {
    /// The raw object `oid` when it is of `kind`.
    pub fn read(&self, oid: Oid, kind: ObjectType) -> Option<OdbObject<'_>> {
        let object = self.odb.as_ref()?.read(oid).ok()?;
        (object.kind() == kind).then_some(object)
    }
}

/// An object database of its own on the objects folder `objects/.`.
///
/// libgit2 keeps one handle per pack file for the whole process, and holds that handle's mutex
/// through every pack-index search: two threads reading through one handle waited on each
/// other (8,000 context switches on 50,000 commits, and no gain in wall time over one thread).
/// The handles are keyed by path, so the objects folder reached as `objects/.` gets handles of
/// its own. (Should a later libgit2 normalise the path, the threads only wait on each other
/// again.) A handle maps the whole pack and keeps every delta base it resolved until it is
/// closed, so a long scan opens it afresh now and then.
pub(super) fn own_odb<'a>(objects: &Path) -> Option<Odb<'a>> {
    let odb = Odb::new().ok()?;
    odb.add_disk_alternate(objects.to_str()?).ok()?;
    Some(odb)
}

/// Reads root trees and follows the migration folders' components down from them, giving each
/// distinct key an index (first seen first).
pub(super) struct KeyReader<'d> {
    dirs: &'d [Vec<String>],
    /// The index of each folder's component at each depth in `names`.
    name_at: Vec<Vec<u32>>,
    /// The distinct path components of the folders.
    names: Vec<&'d str>,
    /// (tree, component) -> the child tree of that name, below the root (every commit has its
    /// own root tree; the folders below it rarely change). By name, not by folder: folders
    /// that share a parent (`nova/db/api/...`, `nova/db/main/...`) read it once.
    children: OidMap<(Oid, u32), Option<Oid>>,
    ids: HashMap<Key, u32>,
    table: Vec<Key>,
    /// The last root tree and its key: a commit whose tree is its parent's (the walk visits a
    /// first parent right after its child) costs no read.
    last: Option<(Oid, u32)>,
    scratch: Key,
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
            // Trees are mode 40000 (old tools wrote it zero-padded, `040000`, which libgit2
            // and `raw_entries` read as the same octal number); anything else by that name is
            // not a folder.
            let tree = mode
                .strip_suffix(b"40000")
                .is_some_and(|pad| pad.iter().all(|&b| b == b'0'));
            return Some(tree.then(|| Oid::from_bytes(id).ok()).flatten());
        }
        data = data.get(nul + 21..)?;
    }
    Some(None)
}

impl<'d> KeyReader<'d> {
    pub fn new(dirs: &'d [Vec<String>]) -> Self {
        let mut names: Vec<&'d str> = Vec::new();
        let name_at = dirs
            .iter()
            .map(|components| {
                components
                    .iter()
                    .map(|c| match names.iter().position(|n| *n == c.as_str()) {
                        Some(at) => at as u32,
                        None => {
                            names.push(c.as_str());
                            (names.len() - 1) as u32
                        }
                    })
                    .collect()
            })
            .collect();
        KeyReader {
            dirs,
            name_at,
            names,
            children: OidMap::default(),
            ids: HashMap::new(),
            table: Vec::new(),
            last: None,
            scratch: Vec::with_capacity(dirs.len()),
        }
    }

    /// Drops the memoised child folders (only a cache: they are read again when needed).
    pub fn forget_children(&mut self) {
        self.children = OidMap::default();
    }

    pub fn key(&self, id: u32) -> Option<&Key> {
        self.table.get(id as usize)
    }

    /// The child folder `name` of `tree`, read raw from `object` when given.
    fn lookup(
        objects: &Objects<'_>,
        object: Option<&OdbObject<'_>>,
        tree: Oid,
        name: &str,
    ) -> Result<Option<Oid>> {
        match object.and_then(|o| subtree_in_raw(o.data(), name)) {
            Some(found) => Ok(found),
            // Not readable raw: libgit2's own reader decides (and reports the error).
            None => Ok(objects
                .repo
                .find_tree(tree)?
                .get_name(name)
                .filter(|e| e.kind() == Some(ObjectType::Tree))
                .map(|e| e.id())),
        }
    }

    fn child(
        &mut self,
        objects: &Objects<'_>,
        tree: Oid,
        dir: usize,
        depth: usize,
    ) -> Result<Option<Oid>> {
        let Some(&at) = self.name_at.get(dir).and_then(|n| n.get(depth)) else {
            return Ok(None);
        };
        if let Some(found) = self.children.get(&(tree, at)) {
            return Ok(*found);
        }
        let Some(name) = self.names.get(at as usize) else {
            return Ok(None);
        };
        let object = objects.read(tree, ObjectType::Tree);
        let found = Self::lookup(objects, object.as_ref(), tree, name)?;
        self.children.insert((tree, at), found);
        Ok(found)
    }

    /// The index of `root`'s key in the table, added when new.
    pub fn key_id(&mut self, objects: &Objects<'_>, root: Oid) -> Result<u32> {
        if let Some((last, id)) = self.last {
            if last == root {
                return Ok(id);
            }
        }
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        // The root tree is read once for all folders (and not at all without folders).
        if !self.dirs.is_empty() {
            let object = objects.read(root, ObjectType::Tree);
            for components in self.dirs {
                key.push(match components.first() {
                    Some(name) => Self::lookup(objects, object.as_ref(), root, name)?,
                    None => Some(root),
                });
            }
        }
        for (d, components) in self.dirs.iter().enumerate() {
            let Some(slot) = key.get_mut(d) else { break };
            for depth in 1..components.len() {
                *slot = match *slot {
                    Some(tree) => self.child(objects, tree, d, depth)?,
                    None => None,
                };
            }
        }
        let id = match self.ids.get(key.as_slice()) {
            Some(id) => *id,
            None => {
                let id = self.table.len() as u32;
                self.table.push(key.clone());
                self.ids.insert(key.clone(), id);
                id
            }
        };
        self.scratch = key;
        self.last = Some((root, id));
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the tree of `files` (path -> content) and returns its OID.
    fn write_tree(repo: &Repository, files: &[(&str, &str)]) -> Oid {
        let mut here = repo.treebuilder(None).unwrap();
        let mut below: std::collections::BTreeMap<&str, Vec<(&str, &str)>> = Default::default();
        for (path, content) in files {
            match path.split_once('/') {
                Some((dir, rest)) => below.entry(dir).or_default().push((rest, content)),
                None => {
                    let blob = repo.blob(content.as_bytes()).unwrap();
                    here.insert(path, blob, 0o100644).unwrap();
                }
            }
        }
        for (dir, files) in below {
            here.insert(dir, write_tree(repo, &files), 0o040000)
                .unwrap();
        }
        here.write().unwrap()
    }

    /// Folders that share parents (`app/db/api/versions`, `app/db/main/versions`) get the tree
    /// OIDs libgit2's own path lookup gives, in trees where either, both or none exist.
    #[test]
    fn keys_of_folders_that_share_parents_are_their_tree_ids() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let folders = [
            "app/db/api/versions",
            "app/db/main/versions",
            "app/db",
            "other/versions",
        ];
        let dirs: Vec<Vec<String>> = folders
            .iter()
            .map(|f| f.split('/').map(str::to_string).collect())
            .collect();
        let trees = [
            write_tree(&repo, &[("README", "x")]),
            write_tree(&repo, &[("app/db/api/versions/a.py", "1")]),
            write_tree(
                &repo,
                &[
                    ("app/db/api/versions/a.py", "1"),
                    ("app/db/main/versions/b.py", "2"),
                ],
            ),
            write_tree(
                &repo,
                &[
                    ("app/db/api/versions/a.py", "3"),
                    ("app/db/main/versions/b.py", "2"),
                ],
            ),
            write_tree(
                &repo,
                &[("app/db/main", "a file"), ("other/versions/c.py", "4")],
            ),
            write_tree(&repo, &[("app/db/api/versions/a.py", "1")]),
        ];
        let objects = Objects {
            repo: &repo,
            odb: repo.odb().ok(),
        };
        let mut reader = KeyReader::new(&dirs);
        for root in trees {
            let id = reader.key_id(&objects, root).unwrap();
            let tree = repo.find_tree(root).unwrap();
            let expected: Key = folders
                .iter()
                .map(|f| {
                    tree.get_path(std::path::Path::new(f))
                        .ok()
                        .filter(|e| e.kind() == Some(ObjectType::Tree))
                        .map(|e| e.id())
                })
                .collect();
            assert_eq!(reader.key(id), Some(&expected));
        }
    }

    #[test]
    fn raw_tree_finds_only_folders() {
        let id = [7u8; 20];
        let mut data = Vec::new();
        for (mode, name) in [
            ("100644", "app.py"),
            ("40000", "app"),
            ("040000", "old"),
            ("140000", "odd"),
            ("100644", "zeta"),
        ] {
            data.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            data.extend_from_slice(&id);
        }
        let oid = Oid::from_bytes(&id).unwrap();
        assert_eq!(subtree_in_raw(&data, "app"), Some(Some(oid)));
        assert_eq!(
            subtree_in_raw(&data, "old"),
            Some(Some(oid)),
            "zero-padded mode"
        );
        assert_eq!(subtree_in_raw(&data, "odd"), Some(None));
        assert_eq!(subtree_in_raw(&data, "zeta"), Some(None));
        assert_eq!(subtree_in_raw(&data, "missing"), Some(None));
        assert_eq!(subtree_in_raw(&data[..data.len() - 3], "missing"), None);
    }
}
