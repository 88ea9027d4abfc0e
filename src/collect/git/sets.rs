//! The migration folders' revision set at a commit: its key (the folders' tree OIDs), then the
//! revisions of each new key, read on demand and memoised, so that a question asked of a few
//! commits reads only their trees.

use std::path::PathBuf;
use std::sync::Arc;

use git2::{Oid, Repository};

use super::folders::{heads_of, Folders, RevisionSet};
use super::keys::{own_odb, KeyReader, Objects};
use super::walk::Node;
use crate::Result;

/// Commits after which a scan of every commit opens its pack handles afresh: a handle keeps
/// every delta base it resolved until it is closed, and on openstack/nova that took the peak
/// RSS past 100 MB.
const REOPEN: usize = if cfg!(test) { 600 } else { 4096 };

pub(super) struct Sets<'r, 'd> {
    objects: Objects<'r>,
    /// The objects folder, when the handles are this reader's own and can be reopened.
    own: Option<PathBuf>,
    keys: KeyReader<'d>,
    folders: Folders,
    /// By key index.
    sets: Vec<Arc<RevisionSet>>,
    heads: Vec<Option<Arc<Vec<String>>>>,
    empty: Arc<RevisionSet>,
}

impl<'r, 'd> Sets<'r, 'd> {
    pub fn new(repo: &'r Repository, dirs: &'d [Vec<String>]) -> Self {
        let path = repo.commondir().join("objects").join(".");
        let (odb, own) = match own_odb(&path) {
            Some(odb) => (Some(odb), Some(path)),
            None => (repo.odb().ok(), None),
        };
        Sets {
            objects: Objects { repo, odb },
            own,
            keys: KeyReader::new(dirs),
            folders: Folders::new(dirs),
            sets: Vec::new(),
            heads: Vec::new(),
            empty: Arc::new(RevisionSet::new()),
        }
    }

    /// The key index of the root tree `tree`; its set is read when the key is new.
    pub fn key(&mut self, tree: Oid) -> Result<u32> {
        let id = self.keys.key_id(&self.objects, tree)?;
        if id as usize == self.sets.len() {
            let key = self.keys.key(id).cloned().unwrap_or_default();
            self.sets.push(self.folders.set(&self.objects, &key)?);
            self.heads.push(None);
        }
        Ok(id)
    }

    /// The revisions of key `key`.
    pub fn set(&self, key: u32) -> &Arc<RevisionSet> {
        self.sets.get(key as usize).unwrap_or(&self.empty)
    }

    /// The heads of key `key`'s revisions, worked out once per key.
    pub fn heads(&mut self, key: u32) -> Arc<Vec<String>> {
        match (
            self.heads.get_mut(key as usize),
            self.sets.get(key as usize),
        ) {
            (Some(Some(heads)), _) => heads.clone(),
            (Some(slot @ None), Some(set)) => slot.insert(Arc::new(heads_of(set))).clone(),
            _ => Arc::new(Vec::new()),
        }
    }

    /// The key index of every commit, in their order.
    pub fn keys_of(&mut self, nodes: &[Node]) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 && i % REOPEN == 0 {
                self.reopen();
            }
            out.push(self.key(node.tree)?);
        }
        Ok(out)
    }

    /// Closes the pack handles, when they are this reader's own: after a scan of every commit
    /// the sets are known, and the handles' delta bases (10 MB of the generated history's peak)
    /// would stay mapped through the search that follows.
    pub fn close(&mut self) {
        if self.own.is_some() {
            self.objects.odb = None;
        }
    }

    /// Closes the pack handles and opens them again, and forgets the child folders (only a
    /// cache: nearly every one is met once, a new `nova/` each commit, and 60,000 of them were
    /// 6 MB of the peak on openstack/nova).
    fn reopen(&mut self) {
        if let Some(path) = &self.own {
            // Closed first: while a handle is open, opening the same path again shares it.
            self.objects.odb = None;
            self.objects.odb = own_odb(path).or_else(|| self.objects.repo.odb().ok());
        }
        self.keys.forget_children();
    }
}
