//! The folder rules: how a `versions/` folder is split or read with its subfolders, and the
//! heuristics for folders no configuration covers (see the parent module).

use std::collections::BTreeSet;

use super::{dot, file_name, graph_files, join, parent, GraphSpec};
use crate::migrations::model::SetOrigin;

/// SQLAlchemy dialect names: subfolders of `versions/` named so are one graph each.
const DIALECTS: [&str; 8] = [
    "postgresql",
    "postgres",
    "sqlite",
    "mysql",
    "mariadb",
    "mssql",
    "oracle",
    "duckdb",
];

/// How a `versions/` folder that no configuration splits further is read: as itself; one graph
/// per dialect subfolder; or with all its subfolders as one graph (see the module docs).
pub(super) fn expand_versions(
    files: &[String],
    versions: &str,
    recursive: bool,
    run_time: bool,
) -> Vec<(Vec<String>, bool, Option<String>)> {
    let whole = vec![versions.to_string()];
    if recursive {
        return vec![(whole, true, None)];
    }
    let direct = !graph_files(files, &whole, false).is_empty();
    let nested: BTreeSet<String> = graph_files(files, &whole, true)
        .iter()
        .filter_map(|f| {
            let rest = f.strip_prefix(versions)?.strip_prefix('/')?;
            rest.split_once('/').map(|(dir, _)| dir.to_string())
        })
        .collect();
    if nested.is_empty() {
        return vec![(whole, false, None)];
    }
    let listed = nested.iter().cloned().collect::<Vec<_>>().join(", ");
    if !direct && nested.iter().all(|s| DIALECTS.contains(&s.as_str())) {
        return nested
            .iter()
            .map(|sub| {
                (
                    vec![join(versions, sub)],
                    true,
                    Some(format!(
                        "heuristic: {versions} holds one folder per database dialect ({listed}): each is its own graph"
                    )),
                )
            })
            .collect();
    }
    if !direct || run_time {
        return vec![(
            whole,
            true,
            Some(format!(
                "heuristic: the revision files in subfolders of {versions} ({listed}) are read with it as one graph, as Alembic reads them through version_locations set at run time"
            )),
        )];
    }
    vec![(
        whole,
        false,
        Some(format!(
            "subfolders of {versions} ({listed}) hold .py files that Alembic does not read without version_locations: not read"
        )),
    )]
}

/// Folders no configuration covers: `versions` folders in an `alembic`/`*migrations` folder or
/// beside an `env.py`, and such folders holding revision files directly.
pub(super) fn heuristic_graphs(
    files: &[String],
    dirs: &BTreeSet<String>,
    covered: &[String],
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<GraphSpec> {
    let is_covered = |dir: &str| {
        covered
            .iter()
            .any(|c| c == "." || dir == c || dir.starts_with(&format!("{c}/")))
    };
    let looks_like_script_dir = |dir: &str| {
        let name = file_name(dir);
        name == "alembic"
            || name.ends_with("migrations")
            || name == "migration"
            || files.binary_search(&join(dir, "env.py")).is_ok()
    };
    let mut out = Vec::new();
    for dir in dirs {
        if is_covered(dir) {
            continue;
        }
        if file_name(dir) == "versions" {
            let script_dir = parent(dir);
            if !looks_like_script_dir(script_dir) {
                continue;
            }
            for (folders, rec, note) in expand_versions(files, dir, false, false) {
                let graph_files = graph_files(files, &folders, rec);
                if graph_files.is_empty() {
                    continue;
                }
                out.push(GraphSpec {
                    origin: SetOrigin {
                        kind: "heuristic".to_string(),
                        folders,
                        recursive: rec,
                        sources: vec![format!("versions folder of {}", dot(script_dir))],
                        notes: note.into_iter().collect(),
                    },
                    files: graph_files,
                });
            }
        } else if looks_like_script_dir(dir) && !dirs.contains(&join(dir, "versions")) {
            // Revision files directly in the folder (no versions/): only files that declare a
            // revision, so env.py and helpers are not read as broken revisions.
            let whole = vec![dir.clone()];
            let revisions: Vec<String> = graph_files(files, &whole, false)
                .into_iter()
                .filter(|f| file_name(f) != "env.py")
                .filter(|f| read(f).is_some_and(|t| declares_revision(&t)))
                .collect();
            if revisions.is_empty() {
                continue;
            }
            out.push(GraphSpec {
                origin: SetOrigin {
                    kind: "heuristic".to_string(),
                    folders: whole,
                    recursive: false,
                    sources: vec![format!("revision files directly in {}", dot(dir))],
                    notes: Vec::new(),
                },
                files: revisions,
            });
        }
    }
    out
}

/// A module-level `revision = ...` and `down_revision = ...`.
fn declares_revision(text: &str) -> bool {
    let starts = |key: &str| {
        text.lines().any(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', ':']))
        })
    };
    starts("revision") && starts("down_revision")
}
