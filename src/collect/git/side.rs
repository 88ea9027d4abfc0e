//! Everything the history scan does per commit besides reading the commit: the root tree's
//! key, the revision set of every new key, and the message's migration mentions.
//!
//! The commit walk is one chain of reads (each commit names the next ones), but this work only
//! needs what the walk hands over, so with more than one CPU it runs on a second thread with
//! its own `Repository`, in batches, while the walk goes on. With one CPU, or when a second
//! repository cannot be opened, the same code runs on the walk's thread, a batch at a time.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use git2::{Odb, Oid, Repository};

use super::folders::{heads_of, Folders, RevisionSet};
use super::keys::{KeyReader, Objects};
use super::mentions::{candidate_ids, may_mention, Candidate};
use crate::Result;

/// A message that names candidates: the commit's place in the walk, its summary line and the
/// candidates.
pub(super) type Mentioned = (u32, String, Vec<Candidate>);

/// What the side work found, for the walk's commits.
pub(super) struct SideOutput {
    /// The key index of each commit, by [`Node::seen`](super::walk::Node::seen).
    pub keys: Vec<u32>,
    /// The revision set of each key, by key index.
    pub sets: Vec<Arc<RevisionSet>>,
    /// The heads of the keys that commits with mentions have, by key index.
    pub heads: Vec<Option<Arc<Vec<String>>>>,
    /// In walk order.
    pub mentions: Vec<Mentioned>,
}

/// Commits handed over at a time: one channel message per commit made the channel's own
/// locking show in the profile.
const BATCH: usize = 512;

/// Commits after which the side thread opens its pack handles afresh (see [`own_odb`]).
const REOPEN: usize = if cfg!(test) { 600 } else { 4096 };

/// Batches the walk may run ahead of the side thread: bounds the memory they take (a batch
/// is 200-300 kB; 32 of them showed in nova's peak RSS). The side thread is the slower one on
/// real histories, so a longer queue would only stay full.
const AHEAD: usize = 4;

/// Consecutive commits of the walk: root trees, and messages end to end in one buffer.
#[derive(Default)]
struct Batch {
    trees: Vec<Oid>,
    text: Vec<u8>,
    /// Where each commit's message ends in `text`.
    ends: Vec<usize>,
}

impl Batch {
    fn add(&mut self, tree: Oid, message: &[u8]) {
        self.trees.push(tree);
        self.text.extend_from_slice(message);
        self.ends.push(self.text.len());
    }

    fn messages(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| self.text.get(start..end).unwrap_or_default())
    }

    fn clear(&mut self) {
        self.trees.clear();
        self.text.clear();
        self.ends.clear();
    }
}

struct Side<'r> {
    objects: Objects<'r>,
    /// Where [`own_odb`] reopens the objects from, when this side has its own pack handles.
    own: Option<PathBuf>,
    since_open: usize,
    keys: KeyReader<'r>,
    folders: Folders,
    /// Mentions are judged only against migration folders.
    judge: bool,
    ids: Vec<u32>,
    sets: Vec<Arc<RevisionSet>>,
    heads: Vec<Option<Arc<Vec<String>>>>,
    mentions: Vec<Mentioned>,
}

impl<'r> Side<'r> {
    fn new(objects: Objects<'r>, own: Option<PathBuf>, dirs: &'r [Vec<String>]) -> Self {
        Side {
            objects,
            own,
            since_open: 0,
            keys: KeyReader::new(dirs),
            folders: Folders::new(dirs),
            judge: !dirs.is_empty(),
            ids: Vec::new(),
            sets: Vec::new(),
            heads: Vec::new(),
            mentions: Vec::new(),
        }
    }

    fn batch(&mut self, batch: &Batch) -> Result<()> {
        if let Some(path) = &self.own {
            self.since_open += batch.trees.len();
            if self.since_open > REOPEN {
                // Closed first: while a handle is open, opening the same path again shares it.
                self.objects.odb = None;
                self.objects.odb = own_odb(path).or_else(|| self.objects.repo.odb().ok());
                // Its child folders too: nearly every one is met once (a new `nova/` each
                // commit), and 60,000 of them were 6 MB of the peak on openstack/nova.
                self.keys.forget_children();
                self.since_open = batch.trees.len();
            }
        }
        let first = self.ids.len();
        for tree in &batch.trees {
            let id = self.keys.key_id(&self.objects, *tree)?;
            if id as usize == self.sets.len() {
                let key = self.keys.key(id).cloned().unwrap_or_default();
                self.sets.push(self.folders.set(&self.objects, &key)?);
                self.heads.push(None);
            }
            self.ids.push(id);
        }
        if !self.judge {
            return Ok(());
        }
        for (i, message) in batch.messages().enumerate() {
            if !may_mention(message) {
                continue;
            }
            let text = String::from_utf8_lossy(message);
            let found = candidate_ids(&text);
            if found.is_empty() {
                continue;
            }
            let seen = first + i;
            let summary = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            self.mentions
                .push((seen as u32, summary.trim().to_string(), found));
            // What exists instead of a named ID: worked out here, beside the walk, once per key.
            let key = self.ids.get(seen).copied().unwrap_or_default() as usize;
            if let (Some(slot @ None), Some(set)) = (self.heads.get_mut(key), self.sets.get(key)) {
                *slot = Some(Arc::new(heads_of(set)));
            }
        }
        Ok(())
    }

    fn finish(self) -> SideOutput {
        SideOutput {
            keys: self.ids,
            sets: self.sets,
            heads: self.heads,
            mentions: self.mentions,
        }
    }
}

/// An object database of its own on the objects folder `objects/.`.
///
/// libgit2 keeps one handle per pack file for the whole process, and holds that handle's mutex
/// through every pack-index search: the two threads reading through one handle waited on each
/// other (8,000 context switches on 50,000 commits, and no gain in wall time over one thread).
/// The handles are keyed by path, so the objects folder reached as `objects/.` gets the side
/// thread handles of its own. (Should a later libgit2 normalise the path, the threads only
/// wait on each other again.) A handle maps the whole pack and keeps every delta base it
/// resolved until it is closed, so the side thread opens it afresh every [`REOPEN`] commits:
/// otherwise the two mappings of the pack alone took the peak RSS past 100 MB.
fn own_odb<'a>(objects: &Path) -> Option<Odb<'a>> {
    let odb = Odb::new().ok()?;
    odb.add_disk_alternate(objects.to_str()?).ok()?;
    Some(odb)
}

/// Runs `walk`, which hands each commit's root tree and message to its callback in walk order,
/// and does the side work for those commits. `threads`: whether a second thread may do it
/// (there is nothing to do beside the walk without migration folders).
pub(super) fn walk_with_side<T>(
    repo: &Repository,
    dirs: &[Vec<String>],
    threads: bool,
    walk: impl FnOnce(&mut dyn FnMut(Oid, &[u8])) -> Result<T>,
) -> Result<(T, SideOutput)> {
    // libgit2 repositories cannot be shared between threads: the side thread has its own.
    let second = if threads && !dirs.is_empty() {
        Repository::open(repo.path()).ok()
    } else {
        None
    };
    let Some(second) = second else {
        return on_one_thread(repo, dirs, walk);
    };
    let path = repo.commondir().join("objects").join(".");
    let ran = std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Batch>(AHEAD);
        let spawned = std::thread::Builder::new()
            .name("history-side".to_string())
            .spawn_scoped(scope, move || -> Result<SideOutput> {
                let (odb, own) = match own_odb(&path) {
                    Some(odb) => (Some(odb), Some(path)),
                    None => (second.odb().ok(), None),
                };
                let objects = Objects { repo: &second, odb };
                let mut side = Side::new(objects, own, dirs);
                for batch in receiver {
                    side.batch(&batch)?;
                }
                Ok(side.finish())
            });
        // A container's process limit can refuse the thread: then the walk's thread does it all.
        let Ok(worker) = spawned else {
            return Err(walk);
        };
        let mut batch = Batch::default();
        let out = walk(&mut |tree, message| {
            batch.add(tree, message);
            if batch.trees.len() == BATCH {
                // A send fails only when the thread has stopped on an error, which its join
                // reports.
                let _ = sender.send(std::mem::take(&mut batch));
            }
        });
        if !batch.trees.is_empty() {
            let _ = sender.send(batch);
        }
        drop(sender);
        Ok((out, worker.join()))
    });
    let (out, joined) = match ran {
        Ok(both) => both,
        Err(walk) => return on_one_thread(repo, dirs, walk),
    };
    let out = out?;
    match joined {
        Ok(side) => Ok((out, side?)),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The side work on the walk's own thread: each batch is worked through as soon as it is full.
fn on_one_thread<T>(
    repo: &Repository,
    dirs: &[Vec<String>],
    walk: impl FnOnce(&mut dyn FnMut(Oid, &[u8])) -> Result<T>,
) -> Result<(T, SideOutput)> {
    let objects = Objects {
        repo,
        odb: repo.odb().ok(),
    };
    let mut side = Side::new(objects, None, dirs);
    let mut batch = Batch::default();
    let mut failed = Ok(());
    let out = walk(&mut |tree, message| {
        batch.add(tree, message);
        if batch.trees.len() == BATCH {
            // After a failure only the walk goes on, as on the side thread.
            if failed.is_ok() {
                failed = side.batch(&batch);
            }
            batch.clear();
        }
    })?;
    failed?;
    side.batch(&batch)?;
    Ok((out, side.finish()))
}
