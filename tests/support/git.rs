//! A real git repository in a temp dir, committed to with git2 at fixed times.

use std::path::Path;

use git2::{Repository, Signature, Time};

/// 2025-11-10T12:00:00Z; every commit is one minute after the previous one.
pub const T0: i64 = 1_762_776_000;

pub struct TestRepo {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
    pub clock: i64,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        TestRepo {
            dir,
            repo,
            clock: T0,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (`Some`) or deletes (`None`) files, then commits them all. Returns the full SHA.
    pub fn commit(&mut self, message: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut index = self.repo.index().unwrap();
        for (path, content) in changes {
            let full = self.dir.path().join(path);
            match content {
                Some(text) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, text).unwrap();
                    index.add_path(Path::new(path)).unwrap();
                }
                None => {
                    std::fs::remove_file(&full).unwrap();
                    index.remove_path(Path::new(path)).unwrap();
                }
            }
        }
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        self.clock += 60;
        let sig =
            Signature::new("Ada Lovelace", "ada@example.com", &Time::new(self.clock, 0)).unwrap();
        let parents: Vec<git2::Commit<'_>> = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)
            .unwrap()
            .to_string()
    }
}

/// An Alembic migration file declaring `rev` with parent `down`.
pub fn migration(rev: &str, down: Option<&str>) -> String {
    let down = down.map_or("None".to_string(), |d| format!("'{d}'"));
    format!("\"\"\"{rev}\"\"\"\nrevision = '{rev}'\ndown_revision = {down}\n\ndef upgrade():\n    pass\n")
}
