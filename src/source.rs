//! Where files are read from: the working directory, or the tree of a commit.
//!
//! Migration discovery and parsing take a [`FileSource`] so that the same code describes the
//! migrations on disk (`postmortem check`) and the ones a failed deploy actually ran
//! (`postmortem report`, read from that deploy's commit).

use std::path::PathBuf;

/// A read-only tree of files addressed by `/`-separated paths relative to its root.
pub trait FileSource {
    /// Every file below the root, sorted, skipping folders no migration lives in
    /// (`.git`, `node_modules`, virtualenvs, build output).
    fn list_files(&self) -> std::io::Result<Vec<String>>;
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>>;
    /// Reads several files, in order. Sources that can read from several threads at once
    /// override this: thousands of small reads are a large part of loading a migration folder.
    fn read_many(&self, paths: &[&str]) -> Vec<std::io::Result<Vec<u8>>> {
        paths.iter().map(|p| self.read(p)).collect()
    }
    /// For messages: `working directory /repo`, `commit 1a2b3c4`.
    fn describe(&self) -> String;
    /// Symbolic links met by [`list_files`](Self::list_files) and not followed (a loop, or a
    /// link out of the tree, would read what is not the repository's), each once, sorted.
    fn skipped_links(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The git blob ID of `bytes` (`git hash-object`): names a file's content the way git does,
/// so a recorded ID can be checked by hand.
pub fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|oid| oid.to_string())
        .unwrap_or_default()
}

/// Folders never worth walking into when looking for migrations or test configuration.
pub fn is_skipped_dir(name: &str) -> bool {
    matches!(
        name,
        ".git"
            | "node_modules"
            | ".venv"
            | "venv"
            | "env"
            | "__pycache__"
            | "target"
            | ".tox"
            | ".mypy_cache"
            | ".pytest_cache"
            | "site-packages"
            | "dist"
            | "build"
    )
}

pub struct WorkDir {
    root: PathBuf,
    /// Filled by every listing: discovery, the database facts and the parser each list.
    links: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl WorkDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        WorkDir {
            root: root.into(),
            links: Default::default(),
        }
    }
}

impl FileSource for WorkDir {
    fn list_files(&self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut stack = vec![(self.root.clone(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                // An unreadable subfolder must not hide the rest of the tree.
                Err(e)
                    if !prefix.is_empty() && e.kind() == std::io::ErrorKind::PermissionDenied =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    if !is_skipped_dir(&name) {
                        stack.push((entry.path(), rel));
                    }
                } else if kind.is_file() {
                    out.push(rel);
                } else if kind.is_symlink() && !is_skipped_dir(&name) {
                    let mut links = match self.links.lock() {
                        Ok(g) => g,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    links.insert(rel);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.root.join(path))
    }

    fn read_many(&self, paths: &[&str]) -> Vec<std::io::Result<Vec<u8>>> {
        crate::parallel::map_chunks(paths, |p| self.read(p))
    }

    fn describe(&self) -> String {
        format!("working directory {}", self.root.display())
    }

    fn skipped_links(&self) -> Vec<String> {
        match self.links.lock() {
            Ok(g) => g.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn symlinks_are_not_followed_and_are_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("app/versions")).unwrap();
        std::fs::write(root.join("app/versions/a.py"), "x").unwrap();
        // A loop back to the root and a link out of the repository.
        std::os::unix::fs::symlink(root, root.join("app/loop")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("outside")).unwrap();
        let source = WorkDir::new(root);
        assert_eq!(source.list_files().unwrap(), ["app/versions/a.py"]);
        assert_eq!(source.list_files().unwrap(), ["app/versions/a.py"]);
        assert_eq!(source.skipped_links(), ["app/loop", "outside"]);
    }
}
