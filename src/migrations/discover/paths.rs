//! Paths as Alembic reads them: the revision files of a folder, and a configured location
//! (a path or a package resource) resolved inside the repository.

use std::collections::BTreeSet;

/// The revision files of a graph, as Alembic lists them: `*.py` (not `__init__*`, not editor
/// lock files `.#*`) directly in each folder, or in every subfolder too when `recursive`
/// (skipping `__pycache__`); a file reached twice counts once. Sorted.
pub fn graph_files(all_files: &[String], folders: &[String], recursive: bool) -> Vec<String> {
    let mut out = BTreeSet::new();
    for folder in folders {
        let prefix = if folder == "." || folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let start = all_files.partition_point(|f| f.as_str() < prefix.as_str());
        for f in all_files[start..]
            .iter()
            .take_while(|f| f.starts_with(&prefix))
        {
            let rest = &f[prefix.len()..];
            if !recursive && rest.contains('/') {
                continue;
            }
            if rest.split('/').any(|c| c == "__pycache__") {
                continue;
            }
            let name = file_name(rest);
            if name.ends_with(".py") && !name.starts_with("__init__") && !name.starts_with(".#") {
                out.insert(f.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// The `*.py` files directly in `folder` that Alembic would load as revisions.
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
                && !rest.starts_with("__init__")
                && !rest.starts_with(".#")
        })
    })
}

/// Every folder that holds a file, with its ancestors (`.` excluded).
pub(super) fn directories(files: &[String]) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for file in files {
        let mut dir = parent(file);
        while !dir.is_empty() && dirs.insert(dir.to_string()) {
            dir = parent(dir);
        }
    }
    dirs
}

/// A location as Alembic's `coerce_resource_to_filename` reads it, inside the repository: a
/// relative path (against the configuration's folder, which is where Alembic is run from), or a
/// package resource (`pkg:sub:dir`, `pkg.sub:dir`), found where the package sits in the
/// repository (`src/pkg/...` included).
pub(super) fn locate(base: &str, value: &str, dirs: &BTreeSet<String>) -> Result<String, String> {
    let value = value.trim();
    let bytes = value.as_bytes();
    let drive = bytes.len() >= 2
        && bytes[1] == b':'
        && bytes[0].is_ascii_alphabetic()
        && (bytes.len() == 2 || matches!(bytes[2], b'/' | b'\\'));
    if value.starts_with('/') || value.starts_with('\\') || drive {
        return Err("an absolute path, which cannot be found in the repository".to_string());
    }
    let exists = |d: &String| d == "." || dirs.contains(d);
    if value.contains(':') {
        let mut tokens = value.split(':');
        let package = tokens.next().unwrap_or("").replace('.', "/");
        let parts: Vec<&str> = std::iter::once(package.as_str())
            .chain(tokens)
            .filter(|t| !t.is_empty())
            .collect();
        let rel = resolve("", &parts.join("/"))
            .ok_or_else(|| "a package resource that leaves the repository".to_string())?;
        if let Some(d) = resolve(base, &rel).filter(exists) {
            return Ok(d);
        }
        if exists(&rel) {
            return Ok(rel);
        }
        let suffix = format!("/{rel}");
        return dirs
            .iter()
            .filter(|d| d.ends_with(&suffix))
            .min_by_key(|d| (d.matches('/').count(), (*d).clone()))
            .cloned()
            .ok_or_else(|| format!("package resource {rel} not found in the repository"));
    }
    match resolve(base, value) {
        Some(d) if exists(&d) => Ok(d),
        Some(d) => Err(format!("{d} does not exist")),
        None => Err("a path outside the repository".to_string()),
    }
}

/// `base/relative` with `.` and `..` folded; `None` for paths that leave the repository.
fn resolve(base: &str, relative: &str) -> Option<String> {
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

pub(super) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

pub(super) fn dot(path: &str) -> String {
    if path.is_empty() {
        ".".to_string()
    } else {
        path.to_string()
    }
}

pub(super) fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

pub(super) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
