//! Where a repository keeps its Alembic revisions.
//!
//! Two signals, merged: every `alembic.ini`'s `script_location` (and `version_locations`),
//! resolved relative to the ini file; and any folder named `versions` that sits in an
//! `alembic` or `*migrations` folder or next to an `env.py`. Each folder found is one migration
//! set, analysed on its own.

use std::collections::BTreeSet;

use crate::source::FileSource;

/// Migration folders (`/`-separated, relative to the source's root; `.` for the root itself),
/// sorted, each holding at least one revision file.
pub fn discover(source: &dyn FileSource) -> std::io::Result<Vec<String>> {
    let files = source.list_files()?;
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    for file in &files {
        if file_name(file) == "alembic.ini" {
            // An unreadable or non-UTF-8 ini only loses its own hint; the folder heuristic
            // below still applies.
            if let Ok(bytes) = source.read(file) {
                let text = String::from_utf8_lossy(&bytes);
                candidates.extend(ini_locations(parent(file), &text));
            }
        }
        let dir = parent(file);
        if file_name(dir) == "versions" {
            let script_dir = parent(dir);
            let name = file_name(script_dir);
            let has_env = files.binary_search(&join(script_dir, "env.py")).is_ok();
            if name == "alembic" || name.ends_with("migrations") || has_env {
                candidates.insert(dir.to_string());
            }
        }
    }
    Ok(candidates
        .into_iter()
        .filter(|folder| revision_files(&files, folder).next().is_some())
        .collect())
}

/// The `*.py` files directly in `folder` that Alembic would load as revisions (not
/// `__init__.py`, not editor lock files), in `files`' (sorted) order.
pub fn revision_files<'f>(
    files: &'f [String],
    folder: &str,
) -> impl Iterator<Item = &'f String> + 'f {
    let prefix = if folder == "." || folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    files.iter().filter(move |f| {
        f.strip_prefix(prefix.as_str()).is_some_and(|rest| {
            !rest.contains('/')
                && rest.ends_with(".py")
                && rest != "__init__.py"
                && !rest.starts_with(".#")
        })
    })
}

/// Version folders an `alembic.ini` points at (every section, for multi-database setups).
fn ini_locations(ini_dir: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(':')) else {
            continue;
        };
        // Paths resolve against the ini's folder, which is what `%(here)s` names.
        let value = value.trim().replace("%(here)s", ".");
        match key.trim() {
            "script_location" => {
                if let Some(dir) = resolve(ini_dir, &package_path(&value)) {
                    out.push(join(&dir, "versions"));
                }
            }
            "version_locations" => {
                // Alembic splits on the configured separator; space and comma cover the defaults.
                for location in value.split([' ', ',']).filter(|s| !s.is_empty()) {
                    if let Some(dir) = resolve(ini_dir, &package_path(location)) {
                        out.push(dir);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `myapp.db:migrations` (a package resource) -> `myapp/db/migrations`.
fn package_path(value: &str) -> String {
    match value.split_once(':') {
        Some((package, path)) if !package.contains('/') && package.len() > 1 => {
            join(&package.replace('.', "/"), path)
        }
        _ => value.to_string(),
    }
}

/// `base/relative` with `.` and `..` folded; `None` for absolute paths or paths that leave
/// the repository.
fn resolve(base: &str, relative: &str) -> Option<String> {
    if relative.starts_with('/') || relative.starts_with('\\') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(relative.split(['/', '\\'])) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_location_is_relative_to_the_ini() {
        let text =
            "[alembic]\nscript_location = %(here)s/../db/alembic\n# script_location = nope\n";
        assert_eq!(
            ini_locations("backend/config", text),
            vec!["backend/db/alembic/versions"]
        );
        assert_eq!(
            ini_locations("", "[alembic]\nscript_location = migrations\n"),
            vec!["migrations/versions"]
        );
        assert_eq!(
            ini_locations("", "script_location = app:alembic\n"),
            vec!["app/alembic/versions"]
        );
        assert_eq!(
            ini_locations("", "script_location = ../../outside\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn revision_files_skip_init_and_subfolders() {
        let files: Vec<String> = [
            "m/versions/__init__.py",
            "m/versions/a.py",
            "m/versions/sub/b.py",
            "m/versions/notes.txt",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let found: Vec<&String> = revision_files(&files, "m/versions").collect();
        assert_eq!(found, vec!["m/versions/a.py"]);
    }
}
