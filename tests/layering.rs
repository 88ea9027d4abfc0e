//! The layers of `src/` stay one-way: every `crate::<module>` path a file names (in `use` lines,
//! `use crate::{a, b}` groups and inline paths, test modules included) must point at its own
//! layer or one beneath it. `super::` paths stay inside a module and are not checked; comments
//! are not code and are skipped.
//!
//! The declared order lives here, and only here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. Modules in one layer may import each other; a module may import any layer
/// beneath its own, never one above.
const LAYERS: &[(&str, &[&str])] = &[
    ("utilities", &["error", "redact", "parallel", "source"]),
    ("finding vocabulary", &["finding"]),
    ("migration files, read statically", &["migrations"]),
    (
        "evidence (facts, history facts, helpers over them)",
        &["evidence"],
    ),
    ("deploy-log parsing", &["deploylog"]),
    ("collectors", &["collect"]),
    ("rules", &["check"]),
    ("analysis", &["analyze"]),
    ("report", &["report"]),
    ("publishing to tickets", &["publish"]),
    // `config` merges the flags `cli` declares, so the flag definitions lie beneath it.
    ("command line", &["cli"]),
    ("configuration", &["config"]),
    ("pipeline", &["pipeline"]),
    ("commands", &["app"]),
    ("crate root and binary", &["lib", "main"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `evidence/history.rs` and `evidence.rs` are both `evidence`; `lib.rs` is `lib`.
fn top_module(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .expect("a path under src/")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// What `lib.rs` re-exports at the crate root (`pub use error::{Error, Result};`), so that
/// `crate::Result` counts as an import of `error`.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.split(" as ").last().unwrap_or(item).trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

/// The file with comments blanked (so that doc links are not taken for imports), line breaks
/// kept so that offsets still give line numbers.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                String::new()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every `crate::<name>` the code names: `(byte offset, name)`, group members one by one.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        from = at + "crate::".len();
        let before = at.checked_sub(1).map(|i| bytes[i] as char);
        // `$crate::` in macros, `my_crate::`: not this crate's module paths.
        if before.is_some_and(|c| c == '$' || c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, self}`: the first segment of each top-level member.
            let mut depth = 0usize;
            let mut start = 0;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let member = &group[start..i];
                        let offset = from + 1 + start + (member.len() - member.trim_start().len());
                        out.push((offset, ident_at(member.trim_start()).to_string()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            let member = &group[start..end];
            if !member.trim().is_empty() {
                let offset = from + 1 + start + (member.len() - member.trim_start().len());
                out.push((offset, ident_at(member.trim_start()).to_string()));
            }
        } else {
            out.push((at, ident_at(rest).to_string()));
        }
    }
    out.retain(|(_, name)| !name.is_empty() && name != "self");
    out
}

fn line_of(code: &str, offset: usize) -> usize {
    code[..offset].matches('\n').count() + 1
}

/// `(file, line, from module, to module)` for every import of another top-level module.
fn imports() -> Vec<(String, usize, String, String)> {
    let root = src();
    let lib = std::fs::read_to_string(root.join("lib.rs")).expect("src/lib.rs");
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 20,
        "found only {} files under src/",
        files.len()
    );
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under src/");
        let shown = format!("src/{}", relative.display());
        let from = top_module(relative);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let code = code_only(&text);
        for (offset, name) in crate_paths(&code) {
            let to = reexports.get(&name).cloned().unwrap_or(name);
            if to != from {
                out.push((shown.clone(), line_of(&code, offset), from.clone(), to));
            }
        }
    }
    out
}

#[test]
fn every_import_points_down_the_layers() {
    let mut problems = Vec::new();
    let mut unplaced = BTreeSet::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in &files {
        let module = top_module(file.strip_prefix(src()).expect("under src/"));
        if layer_of(&module).is_none() {
            unplaced.insert(module);
        }
    }
    for (file, line, from, to) in imports() {
        let (Some(from_layer), Some(to_layer)) = (layer_of(&from), layer_of(&to)) else {
            unplaced.insert(if layer_of(&from).is_none() { from } else { to });
            continue;
        };
        if to_layer > from_layer {
            problems.push(format!(
                "{file}:{line}: `{from}` ({}) imports `crate::{to}` ({}), a layer above it",
                LAYERS[from_layer].0, LAYERS[to_layer].0
            ));
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules with no layer in tests/layering.rs's LAYERS: {unplaced:?}; add each to the layer it belongs to"
    );
    assert!(
        problems.is_empty(),
        "imports that point up the layers (bottom to top: {}):\n{}\nmove the code the import needs beneath the importer, or the importer above it",
        LAYERS
            .iter()
            .map(|(_, m)| m.join("/"))
            .collect::<Vec<_>>()
            .join(" < "),
        problems.join("\n")
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, _, from, to) in imports() {
        graph.entry(from).or_default().insert(to);
    }
    // Depth-first search for a back edge; the path to it names the cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle among src/ modules: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_scanner_reads_groups_and_inline_paths() {
    let code = "use crate::{a, b::{c, d}, self};\nlet x = crate::e::f();\nmacro $crate::g\n";
    let names: Vec<(usize, String)> = crate_paths(code)
        .into_iter()
        .map(|(offset, name)| (line_of(code, offset), name))
        .collect();
    assert_eq!(
        names,
        vec![
            (1, "a".to_string()),
            (1, "b".to_string()),
            (2, "e".to_string())
        ]
    );
}
