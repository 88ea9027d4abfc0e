//! The revisions in one version of the migration folders: every `.py` file's `revision` and
//! `down_revision`, read with regexes (the full parser is elsewhere), memoised per folder tree
//! and per blob, so each folder version and each file is read once over the whole history.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock};

use git2::{ObjectType, Oid};
use regex::bytes::Regex;

use super::keys::{Key, Objects, OidMap};
use crate::Result;

/// One revision file as found in a folder version: where it is and what it names as parents.
#[derive(Debug)]
pub(super) struct RevisionFile {
    pub file: String,
    pub parents: Vec<String>,
}

/// Revision ID -> its file in one version of the migration folders. Every migration commit
/// makes a new version holding all the earlier files, so the entries are shared, not copied:
/// copies made the scan quadratic in the number of revisions, in time and memory. (`Arc`: the
/// sets are built on the scan's second thread.)
pub(super) type RevisionSet = BTreeMap<Arc<str>, Arc<RevisionFile>>;

/// A migration file's revision and parents.
#[derive(Debug, Clone)]
struct BlobRevision {
    id: Arc<str>,
    parents: Vec<String>,
    /// The entry for each path the blob was found at, shared by every folder version.
    files: Vec<Arc<RevisionFile>>,
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

/// The revision a file declares (`revision = "..."`) when it also names its parents
/// (`down_revision`): an Alembic migration, wherever it lies.
pub(super) fn declared_revision(content: &[u8]) -> Option<String> {
    let id = REVISION.captures(content)?.get(1)?;
    DOWN_REVISION
        .is_match(content)
        .then(|| String::from_utf8_lossy(id.as_bytes()).into_owned())
}

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
        id: Arc::from(id),
        parents,
        files: Vec::new(),
    })
}

/// A tree entry as libgit2 classifies it (by the type bits of its mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Tree,
    Blob,
    Submodule,
}

/// A tree entry read in place: its kind, its name and its 20-byte ID.
pub(super) type RawEntry<'a> = (Kind, &'a [u8], &'a [u8]);

/// The entries of a tree object's bytes (`<octal mode> <name>\0<20-byte id>` each), in stored
/// order; `None` when the bytes are malformed, so that libgit2's own parser decides.
///
/// The IDs are the 20 raw bytes: a search of every tree of a history turns only the folders'
/// and the `.py` files' into `Oid`s (each a call into libgit2).
pub(super) fn raw_entries(mut data: &[u8]) -> Option<Vec<RawEntry<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ')?;
        let nul = data.iter().position(|&b| b == 0)?;
        let (mode, name) = (data.get(..space)?, data.get(space + 1..nul)?);
        let id = data.get(nul + 1..nul + 21)?;
        if id.len() != 20 {
            return None;
        }
        // libgit2 reads the mode as a 16-bit octal number.
        let mut value = 0u32;
        for &digit in mode {
            if !(b'0'..=b'7').contains(&digit) {
                return None;
            }
            value = value * 8 + u32::from(digit - b'0');
            if value > 0xffff {
                return None;
            }
        }
        if mode.is_empty() {
            return None;
        }
        let kind = match value & 0o170000 {
            0o160000 => Kind::Submodule,
            0o040000 => Kind::Tree,
            _ => Kind::Blob,
        };
        out.push((kind, name, id));
        data = data.get(nul + 21..)?;
    }
    Some(out)
}

/// Builds and memoises revision sets.
pub(super) struct Folders {
    /// Each migration folder as `a/b/c`, in key order.
    paths: Vec<String>,
    /// By tree and path: the sets name their files, and after a rename the same tree stands
    /// at another path.
    folders: OidMap<(Oid, String), Arc<RevisionSet>>,
    blobs: OidMap<Oid, Option<BlobRevision>>,
}

impl Folders {
    pub fn new(dirs: &[Vec<String>]) -> Self {
        Folders {
            paths: dirs.iter().map(|c| c.join("/")).collect(),
            folders: OidMap::default(),
            blobs: OidMap::default(),
        }
    }

    /// The revisions in the folders of `key` (the first folder's file wins a duplicate ID).
    pub fn set(&mut self, objects: &Objects<'_>, key: &Key) -> Result<Arc<RevisionSet>> {
        let mut sets = Vec::new();
        for (d, folder) in key.iter().enumerate() {
            if let Some(folder) = folder {
                let base = self.paths.get(d).cloned().unwrap_or_default();
                sets.push(self.folder(objects, *folder, &base)?);
            }
        }
        // One folder (the usual case) is its own set.
        Ok(match sets.as_slice() {
            [one] => one.clone(),
            _ => {
                let mut all = RevisionSet::new();
                for set in &sets {
                    for (id, value) in set.iter() {
                        all.entry(id.clone()).or_insert_with(|| value.clone());
                    }
                }
                Arc::new(all)
            }
        })
    }

    /// The entries of tree `oid`, read raw, or through libgit2 when that fails.
    pub(super) fn entries(objects: &Objects<'_>, oid: Oid) -> Result<Vec<(Kind, String, Oid)>> {
        let object = objects.read(oid, ObjectType::Tree);
        let raw = object.as_ref().and_then(|o| raw_entries(o.data()));
        let owned = |name: &[u8]| std::str::from_utf8(name).ok().map(str::to_string);
        if let Some(raw) = raw {
            // Names that are not UTF-8 are skipped, as libgit2's `name()` refuses them.
            return Ok(raw
                .into_iter()
                .filter_map(|(kind, name, id)| {
                    Some((kind, owned(name)?, Oid::from_bytes(id).ok()?))
                })
                .collect());
        }
        let tree = objects.repo.find_tree(oid)?;
        Ok(tree
            .iter()
            .filter_map(|e| {
                let kind = match e.kind()? {
                    ObjectType::Tree => Kind::Tree,
                    ObjectType::Commit => Kind::Submodule,
                    _ => Kind::Blob,
                };
                Some((kind, owned(e.name_bytes())?, e.id()))
            })
            .collect())
    }

    fn read_blob(objects: &Objects<'_>, oid: Oid, name: &str) -> Result<Option<BlobRevision>> {
        if let Some(object) = objects.read(oid, ObjectType::Blob) {
            return Ok(read_revision(object.data(), name));
        }
        let blob = objects.repo.find_blob(oid)?;
        Ok(read_revision(blob.content(), name))
    }

    fn folder(&mut self, objects: &Objects<'_>, oid: Oid, path: &str) -> Result<Arc<RevisionSet>> {
        let memo_key = (oid, path.to_string());
        if let Some(found) = self.folders.get(&memo_key) {
            return Ok(found.clone());
        }
        let mut set = RevisionSet::new();
        for (kind, name, id) in Self::entries(objects, oid)? {
            match kind {
                Kind::Tree if !crate::source::is_skipped_dir(&name) => {
                    // Git allows folders thousands deep; the side thread's stack is small.
                    let sub_path = format!("{path}/{name}");
                    let sub = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                        self.folder(objects, id, &sub_path)
                    })?;
                    for (rev, value) in sub.iter() {
                        set.entry(rev.clone()).or_insert_with(|| value.clone());
                    }
                }
                Kind::Blob if name.ends_with(".py") && name != "__init__.py" => {
                    let rev = match self.blobs.entry(id) {
                        Entry::Occupied(known) => known.into_mut(),
                        Entry::Vacant(new) => new.insert(Self::read_blob(objects, id, &name)?),
                    };
                    if let Some(rev) = rev {
                        let at = |f: &&Arc<RevisionFile>| {
                            f.file.strip_prefix(path).and_then(|r| r.strip_prefix('/'))
                                == Some(name.as_str())
                        };
                        let file = match rev.files.iter().find(at) {
                            Some(file) => file.clone(),
                            None => {
                                let file = Arc::new(RevisionFile {
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
        let set = Arc::new(set);
        self.folders.insert(memo_key, set.clone());
        Ok(set)
    }
}

/// Revisions no other revision of the set names as parent, in ID order.
pub(super) fn heads_of(set: &RevisionSet) -> Vec<String> {
    let named: HashSet<&str> = set
        .values()
        .flat_map(|f| f.parents.iter().map(String::as_str))
        .collect();
    set.keys()
        .filter(|id| !named.contains(&***id))
        .map(|id| id.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_entries_classify_modes_as_libgit2_does() {
        let id = [9u8; 20];
        let mut data = Vec::new();
        for (mode, name) in [
            ("100644", "a.py"),
            ("40000", "sub"),
            ("120000", "link.py"),
            ("160000", "module"),
        ] {
            data.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            data.extend_from_slice(&id);
        }
        let kinds: Vec<(Kind, &[u8])> = raw_entries(&data)
            .unwrap()
            .into_iter()
            .map(|(k, n, _)| (k, n))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Blob, &b"a.py"[..]),
                (Kind::Tree, &b"sub"[..]),
                (Kind::Blob, &b"link.py"[..]),
                (Kind::Submodule, &b"module"[..]),
            ]
        );
        assert!(raw_entries(b"10x644 a\0").is_none());
        assert!(raw_entries(&data[..data.len() - 1]).is_none());
    }
}
