//! Migration analysis: read revision files statically, build the graph, simulate the schema.

pub mod alembic;
pub mod ddl;
pub mod discover;
pub mod fix_order;
pub mod graph;
pub mod model;
pub mod output;
pub mod pgtypes;
pub mod schema;
#[cfg(test)]
pub(crate) mod testkit;

use std::path::Path;

use crate::source::{FileSource, WorkDir};
use model::MigrationSet;

pub use discover::discover;

/// A revision file (or folder) that loading could not turn into revisions: the facts the
/// `unparseable-migration` rule reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadFailure {
    /// A folder that could not be listed or a file that could not be read, and why.
    Unreadable { path: String, why: String },
    /// A file the parser rejected, with its bytes for the excerpt.
    Unparseable {
        file: String,
        failure: alembic::ParseFailure,
        source: Vec<u8>,
    },
}

/// Parses every revision file of each folder (not `__init__.py`), builds each set's graph and
/// fills its heads, bases, branch points and merge points. A file that cannot be read or
/// parsed becomes a [`LoadFailure`] (an `unparseable-migration` finding once the rules read
/// it); the other files are still analysed.
pub fn load(source: &dyn FileSource, folders: &[String]) -> (Vec<MigrationSet>, Vec<LoadFailure>) {
    let mut findings = Vec::new();
    let files = match source.list_files() {
        Ok(files) => files,
        Err(e) => {
            for folder in folders {
                findings.push(LoadFailure::Unreadable {
                    path: folder.clone(),
                    why: format!("cannot list {}: {e}", source.describe()),
                });
            }
            return (Vec::new(), findings);
        }
    };
    let mut sets = Vec::with_capacity(folders.len());
    for folder in folders {
        let mut revisions = Vec::new();
        let mut sources = Vec::new();
        let paths: Vec<&str> = discover::revision_files(&files, folder)
            .map(String::as_str)
            .collect();
        for (file, read) in paths.iter().zip(source.read_many(&paths)) {
            match read {
                Ok(bytes) => sources.push((*file, bytes)),
                Err(e) => findings.push(LoadFailure::Unreadable {
                    path: file.to_string(),
                    why: format!("cannot read it: {e}"),
                }),
            }
        }
        for (file, bytes, parsed) in parse_all(sources) {
            match parsed {
                Ok(revision) => revisions.push(revision),
                Err(failure) => findings.push(LoadFailure::Unparseable {
                    file: file.to_string(),
                    failure,
                    source: bytes,
                }),
            }
        }
        let mut set = MigrationSet::new(folder.clone(), revisions);
        graph::compute(&mut set);
        sets.push(set);
    }
    sets.sort_by(|a, b| a.path.cmp(&b.path));
    (sets, findings)
}

type Parsed<'f> = (
    &'f str,
    Vec<u8>,
    Result<model::Revision, alembic::ParseFailure>,
);

/// Parses files on every core: each file is independent, and parsing is most of the work.
fn parse_all(sources: Vec<(&str, Vec<u8>)>) -> Vec<Parsed<'_>> {
    let parsed = crate::parallel::map_chunks(&sources, |(file, bytes)| {
        // A parser crash on one file is that file's finding, not a lost chunk of the set
        // (which would read as missing parents and extra heads).
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            alembic::parse_revision(file, bytes)
        }))
        .unwrap_or_else(|_| {
            Err(alembic::ParseFailure {
                line: 1,
                column: 1,
                message: "the Python parser crashed on this file".to_string(),
            })
        })
    });
    sources
        .into_iter()
        .zip(parsed)
        .map(|((file, bytes), parsed)| (file, bytes, parsed))
        .collect()
}

/// The sets discovered under `dir`, or `dir` itself when it is a folder of revision files, with
/// what could not be loaded. Paths in the result are relative to `dir`. `pipeline::load_dir`
/// adds the graph rules' findings.
pub fn load_folder(dir: &Path) -> std::io::Result<(Vec<MigrationSet>, Vec<LoadFailure>)> {
    let source = WorkDir::new(dir);
    let mut folders = discover(&source)?;
    if folders.is_empty() {
        let files = source.list_files()?;
        // A bare script directory (`versions/` without alembic.ini) or the versions folder itself.
        for candidate in ["versions", "."] {
            if discover::revision_files(&files, candidate).next().is_some() {
                folders.push(candidate.to_string());
                break;
            }
        }
    }
    Ok(load(&source, &folders))
}
