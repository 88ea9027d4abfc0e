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

use std::collections::HashMap;
use std::path::Path;

use crate::source::{FileSource, WorkDir};
use model::MigrationSet;

pub use discover::{discover, Discovery, GraphSpec};

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

/// Parses the revision files of each graph, builds its graph and fills its heads, bases,
/// branch points and merge points. A file that cannot be read or parsed becomes a
/// [`LoadFailure`] (an `unparseable-migration` finding once the rules read it); the other
/// files are still analysed.
pub fn load(
    source: &dyn FileSource,
    graphs: &[GraphSpec],
) -> (Vec<MigrationSet>, Vec<LoadFailure>) {
    let mut findings = Vec::new();
    let mut sets = Vec::with_capacity(graphs.len());
    let mut constants = Constants::new(source);
    for graph in graphs {
        let mut revisions = Vec::new();
        let mut sources = Vec::new();
        let paths: Vec<&str> = graph.files.iter().map(String::as_str).collect();
        for (file, read) in paths.iter().zip(source.read_many(&paths)) {
            match read {
                Ok(bytes) => sources.push((*file, bytes)),
                Err(e) => findings.push(LoadFailure::Unreadable {
                    path: file.to_string(),
                    why: format!("cannot read it: {e}"),
                }),
            }
        }
        let mut unread = Vec::new();
        for (file, bytes, parsed) in parse_all(sources) {
            match parsed {
                Ok((mut revision, unresolved)) => {
                    constants.resolve(&mut revision, &unresolved);
                    revisions.push(revision)
                }
                Err(failure) => {
                    unread.push(model::UnreadRevision {
                        file: file.to_string(),
                        revision: alembic::declared_revision(&bytes),
                    });
                    findings.push(LoadFailure::Unparseable {
                        file: file.to_string(),
                        failure,
                        source: bytes,
                    })
                }
            }
        }
        let mut set = MigrationSet::new(graph.path(), revisions);
        set.origin = Some(graph.origin.clone());
        set.unread = unread;
        graph::compute(&mut set);
        sets.push(set);
    }
    sets.sort_by(|a, b| a.path.cmp(&b.path));
    (sets, findings)
}

/// Module constants named by revision files (`branch_labels = cli.CONTRACT_BRANCH` with
/// `from neutron.db.migration import cli`), looked up in the repository's own modules without
/// running them; each module is read once.
struct Constants<'s> {
    source: &'s dyn FileSource,
    files: Option<Vec<String>>,
    modules: HashMap<String, Option<String>>,
}

impl<'s> Constants<'s> {
    fn new(source: &'s dyn FileSource) -> Self {
        Constants {
            source,
            files: None,
            modules: HashMap::new(),
        }
    }

    /// Adds each resolved value to its field; what cannot be resolved is listed in
    /// `revision.unknown`.
    fn resolve(&mut self, revision: &mut model::Revision, unresolved: &[alembic::Unresolved]) {
        for reference in unresolved {
            let value = reference
                .qualified
                .as_deref()
                .and_then(|q| self.constant(q));
            match (value, reference.field) {
                (Some(values), "branch_labels") => revision.branch_labels.extend(values),
                (Some(values), _) => revision.depends_on.extend(values),
                (None, field) => revision
                    .unknown
                    .push(format!("{field}: {}", reference.text)),
            }
        }
        revision.branch_labels.sort();
        revision.branch_labels.dedup();
        let mut seen = std::collections::HashSet::new();
        revision.depends_on.retain(|d| seen.insert(d.clone()));
    }

    /// `pkg.mod.NAME` -> the literal `NAME` is bound to in `pkg/mod.py` (or
    /// `pkg/mod/__init__.py`), wherever the package sits in the repository.
    fn constant(&mut self, qualified: &str) -> Option<Vec<String>> {
        let (module, name) = qualified.rsplit_once('.')?;
        if !self.modules.contains_key(module) {
            let text = self.module_text(module);
            self.modules.insert(module.to_string(), text);
        }
        let text = self.modules.get(module)?.as_deref()?;
        alembic::module_constant(text, name)
    }

    fn module_text(&mut self, module: &str) -> Option<String> {
        if self.files.is_none() {
            self.files = Some(self.source.list_files().unwrap_or_default());
        }
        let files = self.files.as_ref()?;
        let path = module.replace('.', "/");
        let candidates = [format!("{path}.py"), format!("{path}/__init__.py")];
        let found = files
            .iter()
            .filter(|f| {
                candidates
                    .iter()
                    .any(|c| *f == c || f.ends_with(&format!("/{c}")))
            })
            .min_by_key(|f| (f.matches('/').count(), (*f).clone()))?;
        let bytes = self.source.read(found).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The graphs named on the command line: each value is one graph, its folders separated by
/// commas (`a,b`), a folder ending in `/**` read with its subfolders.
pub fn flag_graphs(source: &dyn FileSource, values: &[String]) -> std::io::Result<Vec<GraphSpec>> {
    let files = source.list_files()?;
    Ok(values
        .iter()
        .map(|v| GraphSpec::from_flag(&files, &discover::flag_folders(v)))
        .collect())
}

type Parsed<'f> = (
    &'f str,
    Vec<u8>,
    Result<(model::Revision, Vec<alembic::Unresolved>), alembic::ParseFailure>,
);

/// Parses files on every core: each file is independent, and parsing is most of the work.
fn parse_all(sources: Vec<(&str, Vec<u8>)>) -> Vec<Parsed<'_>> {
    let parsed = crate::parallel::map_chunks(&sources, |(file, bytes)| {
        // A parser crash on one file is that file's finding, not a lost chunk of the set
        // (which would read as missing parents and extra heads).
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            alembic::parse_revision_refs(file, bytes)
        }))
        .unwrap_or_else(|_| {
            Err(alembic::ParseFailure {
                over_limit: false,
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
    let mut graphs = discover(&source)?.graphs;
    if graphs.is_empty() {
        graphs.extend(bare_folder(&source)?);
    }
    Ok(load(&source, &graphs))
}

/// A bare script directory (`versions/` without alembic.ini) or the versions folder itself,
/// for a folder in which discovery found nothing.
pub fn bare_folder(source: &dyn FileSource) -> std::io::Result<Option<GraphSpec>> {
    let files = source.list_files()?;
    for candidate in ["versions", "."] {
        if discover::revision_files(&files, candidate).next().is_some() {
            let mut graph = GraphSpec::from_flag(&files, &[candidate.to_string()]);
            graph.origin.kind = "heuristic".to_string();
            graph.origin.sources = vec![format!("revision files in {candidate}")];
            return Ok(Some(graph));
        }
    }
    Ok(None)
}
