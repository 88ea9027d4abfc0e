//! Where, in the whole history, a few revision IDs existed: in any folder, under any path, before
//! and after renames. The history index reads only the migration folders found at HEAD; a
//! revision can also live in a plugin's folder discovery does not read, or under the path its
//! folder had before a move. Before a named ID is called missing, this search looks for it
//! everywhere.
//!
//! It reads every distinct tree of the history once (memoised by tree OID, as `git rev-list
//! --objects` does), so it costs seconds on a large history: it runs only for the few IDs the
//! index could not find in the naming commit's tree, and not at all when there are none.
//!
//! An ID exists in a tree when a `.py` file there is named after it (`<id>_slug.py`,
//! `2022_01_20_115236_<id>_slug.py`), or when a `.py` file in a migration-looking folder (a path
//! component `versions`, `alembic` or containing `migrat`) declares it (`revision = "<id>"`).
//! A declared revision or a file name that continues the ID with a character that is not a hex
//! digit (`ecb6985693c0_`) is that ID. A tree "has migrations" when such a folder holds a file
//! that declares a revision and its `down_revision`.

use std::sync::Arc;

use git2::{ObjectType, Oid, Repository};

use super::folders::{declared_revision, raw_entries, Folders, Kind, RawEntry};
use super::keys::{Objects, OidMap};
use super::walk::Node;

/// A set of suspect IDs, by their index in the search's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Bits(Vec<u64>);

impl Bits {
    fn set(&mut self, i: usize) {
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        if let Some(word) = self.0.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }

    pub fn has(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn union(&mut self, other: &Bits) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= *b;
        }
    }
}

/// For each commit of `nodes` (oldest first), with `at` the facts of each one's tree: calls
/// `each(place, suspect, added)` for every suspect its tree gained (`true`: held by no parent) or
/// lost (`false`: held by every parent; a commit without parents loses nothing), places in
/// order. A suspect per pass over the history took a share of the time with a thousand suspects.
pub(super) fn changes(
    nodes: &[Node],
    at: &[Arc<TreeFacts>],
    mut each: impl FnMut(usize, usize, bool),
) {
    let empty = Bits::default();
    let bits = |p: usize| at.get(p).map_or(&empty, |f| &f.ids);
    let word = |b: &Bits, w: usize| b.0.get(w).copied().unwrap_or(0);
    for (pos, node) in nodes.iter().enumerate() {
        let here = bits(pos);
        let parents: Vec<&Bits> = node.parents.iter().map(|p| bits(p as usize)).collect();
        if let [only] = parents.as_slice() {
            if std::ptr::eq(*only, here) || *only == here {
                continue;
            }
        }
        let words = parents
            .iter()
            .map(|p| p.0.len())
            .chain([here.0.len()])
            .max()
            .unwrap_or(0);
        for w in 0..words {
            let now = word(here, w);
            let any = parents.iter().fold(0, |acc, p| acc | word(p, w));
            let all = match parents.is_empty() {
                true => 0,
                false => parents.iter().fold(u64::MAX, |acc, p| acc & word(p, w)),
            };
            let (gained, lost) = (now & !any, all & !now);
            for bit in 0..64 {
                if gained & (1 << bit) != 0 {
                    each(pos, w * 64 + bit, true);
                } else if lost & (1 << bit) != 0 {
                    each(pos, w * 64 + bit, false);
                }
            }
        }
    }
}

/// What one tree holds, below it at any depth.
#[derive(Debug, Default)]
pub(super) struct TreeFacts {
    /// Which suspect IDs it declares or names.
    pub ids: Bits,
    /// Whether it holds an Alembic migration file.
    pub migrations: bool,
}

/// Whether `text` continues `id` as the same ID: `id` itself, or `id` followed by a character
/// that is not a hex digit.
pub(super) fn same_id(text: &str, id: &str) -> bool {
    text.strip_prefix(id)
        .is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_ascii_hexdigit()))
}

/// Whether the `.py` file `name` is named after `id`: `id` stands at the start of the name or
/// after an `_`, and is not continued by a hex digit.
#[cfg(test)]
fn named_after(name: &str, id: &str) -> bool {
    let stem = name.strip_suffix(".py").unwrap_or(name);
    stem.match_indices(id).any(|(at, _)| {
        let before = stem.get(..at).and_then(|b| b.chars().next_back());
        before.is_none_or(|c| c == '_' || c == '-')
            && stem.get(at..).is_some_and(|rest| same_id(rest, id))
    })
}

fn migration_looking(folder: &str) -> bool {
    let lower = folder.to_ascii_lowercase();
    lower == "versions" || lower == "alembic" || lower.contains("migrat")
}

/// The search, memoised across calls: the naming commits' own trees first, the whole history
/// only when needed.
pub(super) struct Search<'r> {
    objects: Objects<'r>,
    found: Found,
}

/// What the search has learnt, apart from where it reads: the tree reader holds a tree's bytes
/// while it reads the trees below it, and needs the rest mutable meanwhile.
struct Found {
    /// The suspects by ID, and their distinct lengths: a file is matched by looking up each of
    /// its possible ID prefixes, not by trying every suspect on it (thousands of files in each
    /// of thousands of trees, times every suspect, took minutes on a 50,000-commit history).
    by_id: std::collections::HashMap<String, Vec<usize>>,
    lengths: Vec<usize>,
    trees: OidMap<(Oid, bool), Arc<TreeFacts>>,
    /// Blob -> the revision it declares, when it is a migration file.
    blobs: OidMap<Oid, Option<Arc<str>>>,
    /// For each suspect, a file it was found in (the first met).
    files: Vec<Option<String>>,
    /// Objects that could not be read (a partial clone): "never committed" is then not proven.
    unreadable: u64,
    /// The facts of a tree without IDs or migrations, shared (most trees are such).
    empty: Arc<TreeFacts>,
    /// The suspects one file names, reused from file to file.
    hits: Vec<usize>,
}

impl<'r> Search<'r> {
    pub fn new(repo: &'r Repository, ids: Vec<String>) -> Self {
        let mut by_id: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, id) in ids.iter().enumerate() {
            by_id.entry(id.clone()).or_default().push(i);
        }
        let mut lengths: Vec<usize> = ids.iter().map(String::len).collect();
        lengths.sort_unstable();
        lengths.dedup();
        Search {
            objects: Objects {
                repo,
                odb: repo.odb().ok(),
            },
            found: Found::new(by_id, lengths, ids.len()),
        }
    }

    /// For each suspect, a file it was found in (the first met).
    pub fn files(&self) -> &[Option<String>] {
        &self.found.files
    }

    /// Objects that could not be read (a partial clone): "never committed" is then not proven.
    pub fn unreadable(&self) -> u64 {
        self.found.unreadable
    }

    /// What the root tree `oid` holds.
    pub fn root(&mut self, oid: Oid) -> Arc<TreeFacts> {
        self.found.tree(&self.objects, oid, "", false)
    }

    /// The facts of every commit of `nodes`, in their order.
    pub fn all(&mut self, nodes: &[Node]) -> Vec<Arc<TreeFacts>> {
        nodes.iter().map(|node| self.root(node.tree)).collect()
    }
}

impl Found {
    fn new(
        by_id: std::collections::HashMap<String, Vec<usize>>,
        lengths: Vec<usize>,
        suspects: usize,
    ) -> Self {
        Found {
            by_id,
            lengths,
            files: vec![None; suspects],
            trees: OidMap::default(),
            blobs: OidMap::default(),
            unreadable: 0,
            empty: Arc::new(TreeFacts::default()),
            hits: Vec::new(),
        }
    }

    fn tree(
        &mut self,
        objects: &Objects<'_>,
        oid: Oid,
        path: &str,
        in_migrations: bool,
    ) -> Arc<TreeFacts> {
        if let Some(found) = self.trees.get(&(oid, in_migrations)) {
            return found.clone();
        }
        let mut facts = TreeFacts::default();
        // The tree's bytes are read in place, names and IDs alike: a copy of every entry's
        // name, in every tree of the history, was most of this search's time.
        let object = objects.read(oid, ObjectType::Tree);
        let fallback;
        let entries: Vec<RawEntry<'_>> = match object.as_ref().and_then(|o| raw_entries(o.data())) {
            Some(raw) => raw,
            None => {
                fallback = match Folders::entries(objects, oid) {
                    Ok(entries) => entries,
                    Err(_) => {
                        self.unreadable += 1;
                        Vec::new()
                    }
                };
                fallback
                    .iter()
                    .map(|(kind, name, id)| (*kind, name.as_bytes(), id.as_bytes()))
                    .collect()
            }
        };
        for (kind, name, id) in entries {
            match kind {
                Kind::Tree => {
                    // Names that are not UTF-8 are skipped, as libgit2's `name()` refuses them.
                    let (Ok(name), Ok(id)) = (std::str::from_utf8(name), Oid::from_bytes(id))
                    else {
                        continue;
                    };
                    if crate::source::is_skipped_dir(name) {
                        continue;
                    }
                    let below = in_migrations || migration_looking(name);
                    let sub = match self.trees.get(&(id, below)) {
                        Some(known) => known.clone(),
                        None => {
                            let sub_path = match path {
                                "" => name.to_string(),
                                _ => format!("{path}/{name}"),
                            };
                            stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                                self.tree(objects, id, &sub_path, below)
                            })
                        }
                    };
                    facts.ids.union(&sub.ids);
                    facts.migrations |= sub.migrations;
                }
                // Outside migration folders only a `.py` file's name can hold an ID: most files
                // of most trees are passed over before their name is checked or their ID built.
                Kind::Blob if name.ends_with(b".py") => {
                    let declared = match in_migrations && std::str::from_utf8(name).is_ok() {
                        true => match Oid::from_bytes(id) {
                            Ok(id) => self.blob(objects, id),
                            Err(_) => None,
                        },
                        false => None,
                    };
                    let mut hits = std::mem::take(&mut self.hits);
                    hits.clear();
                    self.named_after_any(name, &mut hits);
                    if let Some(d) = declared.as_deref() {
                        self.starting(d.as_bytes(), &mut hits);
                    }
                    // Names that are not UTF-8 are skipped, as libgit2's `name()` refuses them.
                    let name = match std::str::from_utf8(name) {
                        Ok(name) => name,
                        Err(_) => {
                            self.hits = hits;
                            continue;
                        }
                    };
                    facts.migrations |= declared.is_some();
                    hits.sort_unstable();
                    hits.dedup();
                    for &i in &hits {
                        facts.ids.set(i);
                        if let Some(slot @ None) = self.files.get_mut(i) {
                            *slot = Some(match path {
                                "" => name.to_string(),
                                _ => format!("{path}/{name}"),
                            });
                        }
                    }
                    self.hits = hits;
                }
                _ => {}
            }
        }
        let facts = match facts.migrations || facts.ids.0.iter().any(|w| *w != 0) {
            true => Arc::new(facts),
            false => self.empty.clone(),
        };
        self.trees.insert((oid, in_migrations), facts.clone());
        facts
    }

    /// The suspects `text` starts with as the same ID ([`same_id`]).
    fn starting(&self, text: &[u8], hits: &mut Vec<usize>) {
        for &len in &self.lengths {
            let Some(prefix) = text.get(..len) else {
                break;
            };
            // Suspects are ASCII: a prefix that is not cannot be one.
            let Ok(prefix) = std::str::from_utf8(prefix) else {
                continue;
            };
            if text.get(len).is_none_or(|c| !c.is_ascii_hexdigit()) {
                if let Some(found) = self.by_id.get(prefix) {
                    hits.extend(found);
                }
            }
        }
    }

    /// The suspects the `.py` file `name` is named after ([`named_after`]).
    fn named_after_any(&self, name: &[u8], hits: &mut Vec<usize>) {
        let stem = name.strip_suffix(b".py").unwrap_or(name);
        let starts = std::iter::once(0).chain(
            stem.iter()
                .enumerate()
                .filter(|(_, c)| **c == b'_' || **c == b'-')
                .map(|(at, _)| at + 1),
        );
        for at in starts {
            if let Some(rest) = stem.get(at..) {
                self.starting(rest, hits);
            }
        }
    }

    fn blob(&mut self, objects: &Objects<'_>, oid: Oid) -> Option<Arc<str>> {
        if let Some(known) = self.blobs.get(&oid) {
            return known.clone();
        }
        let declared = match objects.read(oid, ObjectType::Blob) {
            Some(object) => declared_revision(object.data()),
            None => match objects.repo.find_blob(oid) {
                Ok(blob) => declared_revision(blob.content()),
                Err(_) => {
                    self.unreadable += 1;
                    None
                }
            },
        };
        let declared: Option<Arc<str>> = declared.map(Arc::from);
        self.blobs.insert(oid, declared.clone());
        declared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_the_revision_it_starts_up_to_a_non_hex_character() {
        assert!(same_id("ecb6985693c0", "ecb6985693c0"));
        assert!(same_id("ecb6985693c0_", "ecb6985693c0"));
        assert!(!same_id("ecb6985693c0a", "ecb6985693c0"));
        assert!(!same_id("ecb6985693c", "ecb6985693c0"));
    }

    /// The indexed lookup finds exactly the suspects the one-by-one test finds.
    #[test]
    fn the_index_agrees_with_named_after_and_same_id() {
        let repo_dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(repo_dir.path()).unwrap();
        let ids: Vec<String> = [
            "eb68f277ab61",
            "9725c1cbee35",
            "ecb6985693c0",
            "2024_1_expand01",
            "ab12",
        ]
        .map(String::from)
        .to_vec();
        let search = Search::new(&repo, ids.clone());
        for name in [
            "eb68f277ab61_add_func_column.py",
            "2022_01_20_115236_9725c1cbee35_initial_migration.py",
            "x-ecb6985693c0_.py",
            "aeb68f277ab61_x.py",
            "eb68f277ab610_x.py",
            "2024_1_expand01_add_cache_tables.py",
            "ab12_ab12.py",
            "plain.py",
        ] {
            let mut hits = Vec::new();
            search.found.named_after_any(name.as_bytes(), &mut hits);
            hits.sort_unstable();
            hits.dedup();
            let expected: Vec<usize> = (0..ids.len())
                .filter(|&i| named_after(name, &ids[i]))
                .collect();
            assert_eq!(hits, expected, "{name}");
        }
        for declared in [
            "ecb6985693c0_",
            "ecb6985693c0a",
            "2024_1_expand01",
            "ab12",
            "ab1",
        ] {
            let mut hits = Vec::new();
            search.found.starting(declared.as_bytes(), &mut hits);
            let expected: Vec<usize> = (0..ids.len())
                .filter(|&i| same_id(declared, &ids[i]))
                .collect();
            assert_eq!(hits, expected, "{declared}");
        }
    }

    /// `changes` reports what the one-suspect-at-a-time reading of the rule reports: gained
    /// where no parent has it, lost where every parent has it, over merges and roots.
    #[test]
    fn changes_agree_with_a_pass_per_suspect() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            seed >> 33
        };
        let suspects = 130;
        let mut nodes = Vec::new();
        let mut at: Vec<Arc<TreeFacts>> = Vec::new();
        for pos in 0..300u32 {
            let parents: Vec<u32> = match (pos, next() % 10) {
                (0, _) | (_, 0) => Vec::new(),
                (_, 1..=2) if pos > 2 => vec![pos - 1, (next() % u64::from(pos - 1)) as u32],
                _ => vec![pos - 1],
            };
            let mut ids = match parents.first() {
                Some(&p) if next() % 3 > 0 => at[p as usize].ids.clone(),
                _ => Bits::default(),
            };
            for _ in 0..(next() % 4) {
                ids.set((next() % suspects) as usize);
            }
            if next() % 2 == 0 {
                ids = Bits(ids.0.iter().map(|w| w & !(1 << (next() % 64))).collect());
            }
            nodes.push(Node {
                oid: Oid::ZERO_SHA1,
                parents: parents.iter().copied().collect(),
                time: 0,
                tree: Oid::ZERO_SHA1,
            });
            at.push(Arc::new(TreeFacts {
                ids,
                migrations: false,
            }));
        }
        let mut fast = Vec::new();
        changes(&nodes, &at, |pos, i, added| fast.push((i, pos, added)));
        let mut slow = Vec::new();
        for i in 0..suspects as usize {
            for (pos, node) in nodes.iter().enumerate() {
                let has = |p: usize| at[p].ids.has(i);
                let orphan = node.parents.iter().next().is_none();
                if has(pos) && !node.parents.iter().any(|p| has(p as usize)) {
                    slow.push((i, pos, true));
                } else if !has(pos) && !orphan && node.parents.iter().all(|p| has(p as usize)) {
                    slow.push((i, pos, false));
                }
            }
        }
        fast.sort_unstable();
        assert_eq!(fast, slow);
        assert!(slow.iter().any(|c| c.2) && slow.iter().any(|c| !c.2));
    }

    #[test]
    fn files_named_after_an_id() {
        assert!(named_after(
            "eb68f277ab61_add_func_column.py",
            "eb68f277ab61"
        ));
        assert!(named_after(
            "2022_01_20_115236_9725c1cbee35_initial_migration.py",
            "9725c1cbee35"
        ));
        assert!(named_after(
            "001_103676e0a497_create_existing_tables.py",
            "103676e0a497"
        ));
        assert!(named_after("eb68f277ab61.py", "eb68f277ab61"));
        assert!(!named_after("aeb68f277ab61_x.py", "eb68f277ab61"));
        assert!(!named_after("eb68f277ab610_x.py", "eb68f277ab61"));
    }
}
