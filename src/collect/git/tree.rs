//! A commit's tree as a [`FileSource`], so migrations are read as a deploy actually ran them.

use std::path::Path;

use git2::{ObjectType, Repository, Tree, TreeWalkMode, TreeWalkResult};

use crate::source::{is_skipped_dir, FileSource};

/// The files of one commit's tree, below `root` (a `/`-separated folder, "" for the whole tree).
pub struct TreeSource<'r> {
    pub(crate) repo: &'r Repository,
    pub(crate) tree: Tree<'r>,
    pub(crate) sha: String,
    pub(crate) root: String,
}

fn not_found(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, what)
}

impl FileSource for TreeSource<'_> {
    fn list_files(&self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut failure = None;
        let walked = self.tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let Ok(name) = entry.name() else {
                return TreeWalkResult::Skip;
            };
            match entry.kind() {
                Some(ObjectType::Tree) if is_skipped_dir(name) => TreeWalkResult::Skip,
                Some(ObjectType::Blob) => {
                    out.push(format!("{dir}{name}"));
                    TreeWalkResult::Ok
                }
                _ => TreeWalkResult::Ok,
            }
        });
        if let Err(e) = walked {
            failure = Some(std::io::Error::other(format!(
                "{}: {}",
                self.describe(),
                e.message()
            )));
        }
        if let Some(e) = failure {
            return Err(e);
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        let entry = self
            .tree
            .get_path(Path::new(path))
            .map_err(|_| not_found(format!("{path} is not in {}", self.describe())))?;
        let object = entry
            .to_object(self.repo)
            .map_err(|e| std::io::Error::other(format!("{path}: {}", e.message())))?;
        let blob = object.as_blob().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{path} is a folder in {}", self.describe()),
            )
        })?;
        Ok(blob.content().to_vec())
    }

    fn describe(&self) -> String {
        let short = &self.sha[..self.sha.len().min(7)];
        if self.root.is_empty() {
            format!("commit {short}")
        } else {
            format!("commit {short}:{}", self.root)
        }
    }
}
