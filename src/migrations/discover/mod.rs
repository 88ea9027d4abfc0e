//! Which revision graphs a repository holds, read the way Alembic reads them.
//!
//! Declarations first: every Alembic configuration (`alembic.ini` sections, `[tool.alembic]` in
//! `pyproject.toml`, Flask-Migrate's `alembic.ini` without `script_location`, a literal
//! `Migrate(directory=...)`) gives one script directory, and its version locations
//! (`version_locations` from the ini or a literal in `env.py`, else `versions/`) form ONE graph,
//! read recursively when `recursive_version_locations` says so. Settings that Python computes
//! at run time cannot be read; they become notes on the graph, and the nested-folder rules
//! below decide what is read instead.
//!
//! Folder heuristics only for folders no configuration covers: a `versions` folder in an
//! `alembic` or `*migrations` folder or beside an `env.py`, and revision files directly in such a
//! folder (Flask-Migrate projects pointed elsewhere, plugin `migrations/` folders).
//!
//! A `versions/` folder whose revision files sit in subfolders: one folder per SQLAlchemy
//! dialect (`versions/postgresql`, `versions/sqlite`) is one graph per dialect; other
//! subfolders (`2024.1/expand`, `2024.1/contract`) are read with their parent as one graph when
//! the parent holds no revision of its own or a run-time `version_locations` is seen, which is
//! how those projects point Alembic at them.

mod config;
mod folders;
mod paths;

use folders::{expand_versions, heuristic_graphs};
use paths::{directories, dot, file_name, join, locate, parent};
pub use paths::{graph_files, revision_files};

use std::collections::{BTreeMap, BTreeSet};

use crate::migrations::model::SetOrigin;
use crate::source::FileSource;
use config::AlembicConfig;

/// One graph to load: its origin (folders, how they were found) and its revision files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphSpec {
    pub origin: SetOrigin,
    /// Sorted, relative to the source's root.
    pub files: Vec<String>,
}

impl GraphSpec {
    /// The set's `path`: its first version folder.
    pub fn path(&self) -> &str {
        self.origin.folders.first().map_or(".", String::as_str)
    }

    /// A graph named on the command line: `a,b` is one graph of two folders, `dir/**` reads
    /// `dir` with its subfolders.
    pub fn from_flag(all_files: &[String], folders: &[String]) -> GraphSpec {
        let mut recursive = false;
        let folders: Vec<String> = folders
            .iter()
            .map(|f| match f.strip_suffix("/**").or(f.strip_suffix("**")) {
                Some(rest) => {
                    recursive = true;
                    let rest = rest.trim_end_matches('/');
                    if rest.is_empty() {
                        ".".to_string()
                    } else {
                        rest.to_string()
                    }
                }
                None => f.clone(),
            })
            .collect();
        let files = graph_files(all_files, &folders, recursive);
        GraphSpec {
            origin: SetOrigin {
                kind: "flag".to_string(),
                folders,
                recursive,
                sources: vec!["named on the command line".to_string()],
                notes: Vec::new(),
            },
            files,
        }
    }
}

/// Splits a `--migrations` value into the folders of one graph: `a,b` -> `[a, b]`.
pub fn flag_folders(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What discovery found: the graphs, and for a repository without any, what it looked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Sorted by path.
    pub graphs: Vec<GraphSpec>,
    /// Files that say the project uses Alembic (`alembic.ini`, an `env.py` that calls
    /// `context.configure`, `alembic` or `Flask-Migrate` in its requirements).
    pub markers: Vec<String>,
    /// Locations declared or tried that held no revision file, and settings that could not be
    /// read (`file:line key = value: why`).
    pub looked_for: Vec<String>,
}

impl Discovery {
    /// Every folder of every graph (the history scan reads them recursively).
    pub fn folders(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .graphs
            .iter()
            .flat_map(|g| g.origin.folders.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Files with these names can say a project uses Alembic.
fn is_dependency_file(name: &str) -> bool {
    (name.starts_with("requirements") && name.ends_with(".txt"))
        || matches!(
            name,
            "pyproject.toml" | "setup.py" | "setup.cfg" | "Pipfile" | "poetry.lock" | "uv.lock"
        )
}

/// Finds every graph under the source's root (see the module documentation).
pub fn discover(source: &dyn FileSource) -> std::io::Result<Discovery> {
    let files = source.list_files()?;
    let dirs = directories(&files);
    let read = |path: &str| {
        source
            .read(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let mut out = Discovery::default();
    let mut configs: Vec<AlembicConfig> = Vec::new();
    for file in &files {
        let name = file_name(file);
        let depth = file.matches('/').count();
        if name.ends_with(".ini") {
            if name == "alembic.ini" {
                out.markers.push(file.clone());
            }
            // An unreadable ini only loses its own declarations.
            if let Some(text) = read(file) {
                configs.extend(config::parse_ini(file, ".", &text));
            }
        } else if name == "pyproject.toml" {
            if let Some(text) = read(file) {
                configs.extend(config::parse_pyproject(file, ".", &text));
                if depth <= 1 && mentions_alembic(&text) {
                    out.markers.push(file.clone());
                }
            }
        } else if name == "env.py" {
            if read(file).is_some_and(|t| t.contains("context.configure")) {
                out.markers.push(file.clone());
            }
        } else if depth <= 1
            && is_dependency_file(name)
            && read(file).is_some_and(|t| mentions_alembic(&t))
        {
            out.markers.push(file.clone());
        }
    }
    let mut graphs: Vec<GraphSpec> = Vec::new();
    for config in &configs {
        graphs.extend(config_graphs(
            config,
            &files,
            &dirs,
            &read,
            &mut out.looked_for,
        ));
    }
    graphs.extend(migrate_directory_graphs(
        &files,
        &dirs,
        &read,
        &mut out.looked_for,
    ));
    let covered: Vec<String> = graphs
        .iter()
        .flat_map(|g| g.origin.folders.iter().cloned())
        .chain(
            configs
                .iter()
                .filter_map(|c| script_dir_of(c, &files, &dirs).ok()),
        )
        .collect();
    let mut found = heuristic_graphs(&files, &dirs, &covered, &read);
    // A configuration beside a folder found by heuristic that could not be read (a templated
    // `script_location = {alembic_dir}`) is said on that graph.
    for graph in &mut found {
        for why in &out.looked_for {
            let config = why.split(':').next().unwrap_or("");
            let is_config = config.ends_with(".ini") || config.ends_with(".toml");
            let here = parent(config);
            if is_config && (here.is_empty() || graph.path().starts_with(&format!("{here}/"))) {
                graph.origin.notes.push(format!("not read: {why}"));
            }
        }
    }
    graphs.extend(found);
    out.graphs = merge_duplicates(graphs);
    out.looked_for.sort();
    out.looked_for.dedup();
    Ok(out)
}

fn mentions_alembic(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("alembic") || lower.contains("flask-migrate") || lower.contains("flask_migrate")
}

/// The same folders found twice (two ini files, an ini and pyproject.toml) are one graph with
/// both sources.
fn merge_duplicates(graphs: Vec<GraphSpec>) -> Vec<GraphSpec> {
    let mut by_folders: BTreeMap<(Vec<String>, bool), GraphSpec> = BTreeMap::new();
    for graph in graphs {
        let key = (graph.origin.folders.clone(), graph.origin.recursive);
        match by_folders.get_mut(&key) {
            Some(existing) => {
                for s in graph.origin.sources {
                    if !existing.origin.sources.contains(&s) {
                        existing.origin.sources.push(s);
                    }
                }
                for n in graph.origin.notes {
                    if !existing.origin.notes.contains(&n) {
                        existing.origin.notes.push(n);
                    }
                }
            }
            None => {
                by_folders.insert(key, graph);
            }
        }
    }
    let mut out: Vec<GraphSpec> = by_folders.into_values().collect();
    out.sort_by(|a, b| {
        a.path()
            .cmp(b.path())
            .then(a.origin.folders.cmp(&b.origin.folders))
    });
    out
}

/// The script directory a configuration names: `script_location`, or for Flask-Migrate's
/// `alembic.ini` (which has none: `Migrate` sets it to the ini's folder) the ini's folder when an
/// `env.py` sits beside it.
fn script_dir_of(
    config: &AlembicConfig,
    files: &[String],
    dirs: &BTreeSet<String>,
) -> Result<String, String> {
    let base = parent(&config.file);
    match &config.script_location {
        // Alembic resolves a relative path against the working directory: the ini's folder
        // (`cd backend && alembic upgrade`), else the repository root (`alembic -c
        // backend/alembic.ini upgrade` run from there).
        Some(s) => locate(base, &s.value, dirs)
            .or_else(|why| match locate("", &s.value, dirs) {
                Ok(dir) if !base.is_empty() && !s.value.contains(':') => Ok(dir),
                _ => Err(why),
            })
            .map_err(|why| {
                format!(
                    "{}:{} script_location = {}: {why}",
                    config.file, s.line, s.value
                )
            }),
        None if files.binary_search(&join(base, "env.py")).is_ok() => Ok(dot(base)),
        None => Err(format!(
            "{}: no script_location, and no env.py beside it",
            config.file
        )),
    }
}

fn config_graphs(
    config: &AlembicConfig,
    files: &[String],
    dirs: &BTreeSet<String>,
    read: &dyn Fn(&str) -> Option<String>,
    looked_for: &mut Vec<String>,
) -> Vec<GraphSpec> {
    let base = parent(&config.file);
    let shown = if config.section.is_empty() || config.section == "alembic" {
        config.file.clone()
    } else {
        format!("{} [{}]", config.file, config.section)
    };
    let script_dir = match script_dir_of(config, files, dirs) {
        Ok(dir) => dir,
        Err(why) => {
            if config.script_location.is_some() || config.version_locations.is_some() {
                looked_for.push(why);
            }
            return Vec::new();
        }
    };
    let mut sources = vec![match &config.script_location {
        Some(s) => format!("{shown}:{} script_location", s.line),
        None => {
            format!("{shown} (no script_location: Flask-Migrate runs Alembic in the ini's folder)")
        }
    }];
    let mut notes = Vec::new();
    let mut recursive = config.recursive.as_ref().is_some_and(|r| r.value == "true");
    if let Some(r) = config.recursive.as_ref().filter(|_| recursive) {
        sources.push(format!("{shown}:{} recursive_version_locations", r.line));
    }
    // env.py is Python, but its literal settings are what Alembic will use.
    let env = join(&script_dir, "env.py");
    let mut env_locations: Option<(Vec<String>, u32)> = None;
    let mut run_time = false;
    if files.binary_search(&env).is_ok() {
        for setting in read(&env)
            .map(|t| config::python_settings(&t))
            .unwrap_or_default()
        {
            match (setting.key.as_str(), &setting.literal) {
                ("version_locations", Some(list)) => {
                    let list = if list.len() == 1 {
                        config::split_locations(&list[0], None)
                    } else {
                        list.clone()
                    };
                    env_locations = Some((list, setting.line));
                }
                ("recursive_version_locations", Some(v))
                    if v.first().is_some_and(|v| v.eq_ignore_ascii_case("true")) =>
                {
                    recursive = true;
                    sources.push(format!(
                        "{env}:{} recursive_version_locations",
                        setting.line
                    ));
                }
                ("version_locations" | "recursive_version_locations", None) => {
                    run_time = true;
                    notes.push(format!(
                        "{env}:{} sets {} at run time (`{}`): not read",
                        setting.line, setting.key, setting.text
                    ));
                }
                _ => {}
            }
        }
    }
    // Project code next to (or above) the script directory that points Alembic at its folders
    // (`config.set_main_option('version_locations', ...)` in a management command).
    for file in ancestor_python_files(files, &script_dir) {
        if file == env {
            continue;
        }
        let Some(text) = read(&file).filter(|t| t.contains("version_locations")) else {
            continue;
        };
        for setting in config::python_settings(&text) {
            if setting.key.ends_with("version_locations") {
                run_time = true;
                notes.push(format!(
                    "{file}:{} sets {} at run time (`{}`): not read",
                    setting.line, setting.key, setting.text
                ));
            }
        }
    }
    let declared = match (&config.version_locations, env_locations) {
        (Some((list, line)), _) => {
            Some((list.clone(), format!("{shown}:{line} version_locations")))
        }
        (None, Some((list, line))) => Some((list, format!("{env}:{line} version_locations"))),
        (None, None) => None,
    };
    let mut groups: Vec<(Vec<String>, bool, Vec<String>)> = Vec::new();
    match declared {
        Some((list, source)) => {
            sources.push(source);
            let mut folders = Vec::new();
            for location in &list {
                match locate(base, location, dirs) {
                    Ok(dir) => folders.push(dir),
                    // Alembic skips a version location that does not exist.
                    Err(why) => notes.push(format!("version location {location}: {why}")),
                }
            }
            if !folders.is_empty() {
                groups.push((folders, recursive, Vec::new()));
            }
        }
        None => {
            for (folders, rec, note) in
                expand_versions(files, &join(&script_dir, "versions"), recursive, run_time)
            {
                groups.push((folders, rec, note.into_iter().collect()));
            }
        }
    }
    let mut out = Vec::new();
    for (folders, rec, extra) in groups {
        let graph_files = graph_files(files, &folders, rec);
        if graph_files.is_empty() {
            looked_for.push(format!(
                "{} (from {}): no revision file",
                folders.join(", "),
                sources.join(", ")
            ));
            continue;
        }
        let mut all_notes = notes.clone();
        all_notes.extend(extra);
        out.push(GraphSpec {
            origin: SetOrigin {
                kind: "config".to_string(),
                folders,
                recursive: rec,
                sources: sources.clone(),
                notes: all_notes,
            },
            files: graph_files,
        });
    }
    out
}

/// Flask-Migrate's `Migrate(app, db, directory="...")` with a literal folder: Alembic runs in
/// that folder (`script_location`), with its `versions/`. Read in the project's top levels.
fn migrate_directory_graphs(
    files: &[String],
    dirs: &BTreeSet<String>,
    read: &dyn Fn(&str) -> Option<String>,
    looked_for: &mut Vec<String>,
) -> Vec<GraphSpec> {
    let mut out = Vec::new();
    for file in files {
        if !file.ends_with(".py") || file.matches('/').count() > 2 || file_name(file) == "env.py" {
            continue;
        }
        let Some(text) = read(file).filter(|t| t.contains("Migrate(")) else {
            continue;
        };
        for setting in config::python_settings(&text) {
            if setting.key != "script_location" {
                continue;
            }
            let Some(dir) = setting.literal.as_ref().and_then(|l| l.first()) else {
                looked_for.push(format!(
                    "{file}:{} Migrate(directory=`{}`) is computed at run time: not read",
                    setting.line, setting.text
                ));
                continue;
            };
            let found = locate("", dir, dirs).or_else(|_| locate(parent(file), dir, dirs));
            let script_dir = match found {
                Ok(d) => d,
                Err(why) => {
                    looked_for.push(format!(
                        "{file}:{} Migrate(directory={dir:?}): {why}",
                        setting.line
                    ));
                    continue;
                }
            };
            let source = format!("{file}:{} Migrate(directory=)", setting.line);
            for (folders, rec, note) in
                expand_versions(files, &join(&script_dir, "versions"), false, false)
            {
                let graph_files = graph_files(files, &folders, rec);
                if graph_files.is_empty() {
                    looked_for.push(format!(
                        "{} (from {source}): no revision file",
                        folders.join(", ")
                    ));
                    continue;
                }
                out.push(GraphSpec {
                    origin: SetOrigin {
                        kind: "config".to_string(),
                        folders,
                        recursive: rec,
                        sources: vec![source.clone()],
                        notes: note.into_iter().collect(),
                    },
                    files: graph_files,
                });
            }
        }
    }
    out
}

/// The `.py` files directly in `dir` and in each folder above it.
fn ancestor_python_files(files: &[String], dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = dir.to_string();
    loop {
        out.extend(graph_files(files, std::slice::from_ref(&current), false));
        if current == "." || current.is_empty() {
            break;
        }
        current = dot(parent(&current));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(list: &[&str]) -> BTreeSet<String> {
        let files: Vec<String> = list.iter().map(|d| format!("{d}/x.py")).collect();
        directories(&files)
    }

    #[test]
    fn locations_in_path_and_package_resource_form() {
        let d = dirs(&["backend/db/alembic", "src/app/server/db/_migrations"]);
        assert_eq!(
            locate("backend/config", "../db/alembic", &d),
            Ok("backend/db/alembic".into())
        );
        assert_eq!(
            locate("backend", "./db/alembic", &d),
            Ok("backend/db/alembic".into())
        );
        // `pkg:sub:dir`, `pkg.sub:dir` and `pkg/sub:dir`, found under src/.
        for value in [
            "app:server:db:_migrations",
            "app.server.db:_migrations",
            "app/server:db/_migrations",
        ] {
            assert_eq!(
                locate("", value, &d),
                Ok("src/app/server/db/_migrations".into()),
                "{value}"
            );
        }
        assert!(locate("", "/srv/app/alembic", &d).is_err());
        assert!(locate("", "C:\\app\\alembic", &d).is_err());
        assert!(locate("", "../../outside", &d).is_err());
        assert_eq!(
            locate("", "missing:migrations", &d),
            Err("package resource missing/migrations not found in the repository".into())
        );
    }

    #[test]
    fn a_relative_script_location_from_the_root_or_the_ini() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "backend/alembic.ini",
            "[alembic]\nscript_location = backend/alembic\n",
        );
        write(
            "backend/alembic/versions/a.py",
            "revision = 'a'\ndown_revision = None\n",
        );
        write(
            "tools/alembic.ini",
            "[alembic]\nscript_location = migrations\n",
        );
        write(
            "tools/migrations/versions/b.py",
            "revision = 'b'\ndown_revision = None\n",
        );
        let found = discover(&crate::source::WorkDir::new(dir.path())).unwrap();
        let kinds: Vec<(&str, &str)> = found
            .graphs
            .iter()
            .map(|g| (g.path(), g.origin.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("backend/alembic/versions", "config"),
                ("tools/migrations/versions", "config")
            ]
        );
    }

    #[test]
    fn graph_files_follow_alembics_listing() {
        let files: Vec<String> = [
            "m/versions/.#a.py",
            "m/versions/__init__.py",
            "m/versions/__init__x.py",
            "m/versions/a.py",
            "m/versions/__pycache__/a.cpython-312.py",
            "m/versions/sub/b.py",
            "m/versions/notes.txt",
            "m/versionsx/c.py",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut sorted = files.clone();
        sorted.sort();
        let folder = ["m/versions".to_string()];
        assert_eq!(graph_files(&sorted, &folder, false), ["m/versions/a.py"]);
        assert_eq!(
            graph_files(&sorted, &folder, true),
            ["m/versions/a.py", "m/versions/sub/b.py"]
        );
    }

    #[test]
    fn nested_versions_folders() {
        let files = |list: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        // Subfolders beside root revisions, without a run-time setting: not read, said so.
        let f = files(&["v/a.py", "v/old/b.py"]);
        let out = expand_versions(&f, "v", false, false);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].0.clone(), out[0].1), (vec!["v".to_string()], false));
        assert!(out[0].2.as_deref().unwrap().contains("not read"));
        // The same with a run-time version_locations: one recursive graph.
        assert!(expand_versions(&f, "v", false, true)[0].1);
        // Dialect folders only: one graph each.
        let f = files(&["v/postgresql/a.py", "v/sqlite/b.py"]);
        let out = expand_versions(&f, "v", false, false);
        let folders: Vec<Vec<String>> = out.iter().map(|o| o.0.clone()).collect();
        assert_eq!(
            folders,
            [
                vec!["v/postgresql".to_string()],
                vec!["v/sqlite".to_string()]
            ]
        );
    }
}
