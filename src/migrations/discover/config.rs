//! What an Alembic configuration declares, read without running anything: `alembic.ini` (every
//! section with a `script_location`, as `alembic -n NAME` would select it), `[tool.alembic]` in
//! `pyproject.toml` (Alembic 1.16+), and the literal settings Python code makes (`env.py`,
//! Flask-Migrate's `Migrate(directory=...)`). Values Python computes at run time are reported
//! as such, never guessed.

use std::collections::BTreeMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

/// One setting and the line it was read from (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub line: u32,
}

/// One Alembic configuration: what `Config` would hand to `ScriptDirectory.from_config`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlembicConfig {
    /// The file it was read from, relative to the repository root.
    pub file: String,
    /// The ini section (`alembic` unless `-n NAME`); empty for pyproject.toml.
    pub section: String,
    pub script_location: Option<Setting>,
    /// Already split with the configured separator, `%(here)s` substituted.
    pub version_locations: Option<(Vec<String>, u32)>,
    pub recursive: Option<Setting>,
}

/// Parses an ini file the way Python's `configparser` does for Alembic's keys: `[section]`
/// headers, `key = value` or `key: value`, full-line `#`/`;` comments, indented continuation
/// lines, a `[DEFAULT]` section inherited by the others, `%(here)s` and `%%` interpolation.
pub fn parse_ini(file: &str, here: &str, text: &str) -> Vec<AlembicConfig> {
    // section -> key -> (raw value, line)
    let mut sections: BTreeMap<String, BTreeMap<String, (String, u32)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut section: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index as u32 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if indented {
            if let (Some(sec), Some(key)) = (&section, &last_key) {
                if let Some(entry) = sections.get_mut(sec).and_then(|s| s.get_mut(key)) {
                    entry.0.push('\n');
                    entry.0.push_str(trimmed);
                }
                continue;
            }
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            let name = trimmed[1..trimmed.len() - 1].trim().to_string();
            if !sections.contains_key(&name) {
                order.push(name.clone());
            }
            sections.entry(name.clone()).or_default();
            section = Some(name);
            last_key = None;
            continue;
        }
        let Some(sec) = &section else { continue };
        let split = match (trimmed.find('='), trimmed.find(':')) {
            (Some(e), Some(c)) => Some(e.min(c)),
            (Some(e), None) => Some(e),
            (None, Some(c)) => Some(c),
            (None, None) => None,
        };
        let Some(at) = split else { continue };
        let key = trimmed[..at].trim().to_ascii_lowercase();
        let value = trimmed[at + 1..].trim().to_string();
        if let Some(s) = sections.get_mut(sec) {
            s.insert(key.clone(), (value, line_no));
        }
        last_key = Some(key);
    }
    let defaults = sections.get("DEFAULT").cloned().unwrap_or_default();
    let mut out = Vec::new();
    for name in order.iter().filter(|n| n.as_str() != "DEFAULT") {
        let Some(own) = sections.get(name) else {
            continue;
        };
        let get = |key: &str| own.get(key).or_else(|| defaults.get(key)).cloned();
        let mut vars: BTreeMap<String, String> = defaults
            .iter()
            .chain(own.iter())
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        vars.insert("here".to_string(), here.to_string());
        let interpolate = |value: &str| interpolate(value, &vars);
        let script_location = get("script_location").map(|(v, line)| Setting {
            value: interpolate(&v),
            line,
        });
        let separator = get("path_separator")
            .or_else(|| get("version_path_separator"))
            .map(|(v, _)| v);
        let version_locations = get("version_locations")
            .filter(|(v, _)| !v.trim().is_empty())
            .map(|(v, line)| {
                (
                    split_locations(&interpolate(&v), separator.as_deref()),
                    line,
                )
            });
        let recursive = get("recursive_version_locations").map(|(v, line)| Setting {
            value: interpolate(&v),
            line,
        });
        let is_alembic = script_location.is_some()
            || version_locations.is_some()
            || (name == "alembic" && file_name(file) == "alembic.ini");
        if is_alembic {
            out.push(AlembicConfig {
                file: file.to_string(),
                section: name.clone(),
                script_location,
                version_locations,
                recursive,
            });
        }
    }
    out
}

/// `%(name)s` from the section (and `here`), `%%` as `%`, as `ConfigParser`'s
/// `BasicInterpolation` does; an unknown name is left as written.
fn interpolate(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(close) = tail.strip_prefix("%(").and_then(|t| t.find(")s")) {
            let name = &tail[2..2 + close];
            match vars.get(&name.to_ascii_lowercase()) {
                Some(v) => out.push_str(v),
                None => out.push_str(&tail[..2 + close + 2]),
            }
            rest = &tail[2 + close + 2..];
        } else {
            out.push('%');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Alembic's `Config.get_version_locations_list`: with `path_separator` (or the deprecated
/// `version_path_separator`) one of space, newline, os (`:` here, as on the Linux machines that
/// deploy), `:` or `;`, split on it and strip; without one, the legacy split on `, *| +`. An
/// unknown separator makes Alembic raise, so nothing is split (the value is one location).
pub fn split_locations(value: &str, separator: Option<&str>) -> Vec<String> {
    let parts: Vec<String> = match separator.map(str::trim) {
        None => {
            // `re.split(r", *|(?: +)")`: commas (with following spaces) and runs of spaces;
            // newlines are not separators in the legacy form.
            value
                .split(',')
                .flat_map(|p| p.trim_start_matches(' ').split(' '))
                .map(str::to_string)
                .collect()
        }
        Some(sep) => {
            let ch = match sep {
                "space" => Some(' '),
                "newline" => Some('\n'),
                "os" | ":" => Some(':'),
                ";" => Some(';'),
                _ => None,
            };
            match ch {
                Some(c) => value.split(c).map(|p| p.trim().to_string()).collect(),
                None => vec![value.trim().to_string()],
            }
        }
    };
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// `[tool.alembic]` of a `pyproject.toml`: `script_location` (a string), `version_locations`
/// (an array of strings), `recursive_version_locations` (a boolean), with `%(here)s`.
pub fn parse_pyproject(file: &str, here: &str, text: &str) -> Option<AlembicConfig> {
    let mut in_table = false;
    let mut found = false;
    let mut config = AlembicConfig {
        file: file.to_string(),
        ..AlembicConfig::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i as u32 + 1;
        let line = strip_toml_comment(lines[i]).trim().to_string();
        i += 1;
        if line.starts_with('[') {
            in_table = line.trim_start_matches('[').trim_end_matches(']').trim() == "tool.alembic";
            found |= in_table;
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        let mut value = value.trim().to_string();
        // Arrays may span lines: read until the brackets balance.
        while value.starts_with('[') && bracket_depth(&value) > 0 && i < lines.len() {
            value.push(' ');
            value.push_str(strip_toml_comment(lines[i]).trim());
            i += 1;
        }
        let here_sub = |s: &str| s.replace("%(here)s", here).replace("%%", "%");
        match key {
            "script_location" => {
                if let Some(s) = toml_strings(&value).into_iter().next() {
                    config.script_location = Some(Setting {
                        value: here_sub(&s),
                        line: line_no,
                    });
                }
            }
            "version_locations" => {
                let list: Vec<String> = toml_strings(&value).iter().map(|s| here_sub(s)).collect();
                config.version_locations = Some((list, line_no));
            }
            "recursive_version_locations" => {
                config.recursive = Some(Setting {
                    value: value.trim().to_string(),
                    line: line_no,
                });
            }
            _ => {}
        }
    }
    (found && (config.script_location.is_some() || config.version_locations.is_some()))
        .then_some(config)
}

fn strip_toml_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn bracket_depth(value: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in value.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '[') => depth += 1,
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// The quoted strings of a TOML string or array of strings (no escapes beyond `\"`).
fn toml_strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let mut s = String::new();
            while let Some(d) = chars.next() {
                if d == '\\' && c == '"' {
                    if let Some(e) = chars.next() {
                        s.push(e);
                    }
                } else if d == c {
                    break;
                } else {
                    s.push(d);
                }
            }
            out.push(s);
        }
    }
    out
}

/// A location-related setting made in Python code, as found by [`python_settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PySetting {
    /// `version_locations`, `recursive_version_locations` or `script_location` (Flask-Migrate's
    /// `Migrate(directory=...)` counts as the latter).
    pub key: String,
    pub line: u32,
    /// The literal value, when it is one: each string of a list, or the one string.
    pub literal: Option<Vec<String>>,
    /// The source text of the value (for the note when it is not a literal).
    pub text: String,
}

/// Location settings in one Python file, read statically: keyword arguments
/// (`version_locations=...`, and `directory=...` of a `Migrate(...)` call), attribute
/// assignments (`context.script.version_locations = [...]`) and
/// `set_main_option("version_locations", ...)` calls.
pub fn python_settings(text: &str) -> Vec<PySetting> {
    crate::migrations::alembic::within_bounds(text, || python_settings_unbounded(text))
        .unwrap_or_default()
}

fn python_settings_unbounded(text: &str) -> Vec<PySetting> {
    let Ok(parsed) = ruff_python_parser::parse_module(text) else {
        return Vec::new();
    };
    let mut finder = SettingFinder {
        text,
        lines: crate::migrations::alembic::LineIndex::new(text),
        found: Vec::new(),
    };
    for stmt in &parsed.syntax().body {
        finder.visit_stmt(stmt);
    }
    finder.found
}

const KEYS: [&str; 2] = ["version_locations", "recursive_version_locations"];

struct SettingFinder<'t> {
    text: &'t str,
    lines: crate::migrations::alembic::LineIndex,
    found: Vec<PySetting>,
}

impl SettingFinder<'_> {
    fn record(&mut self, key: &str, value: &Expr) {
        let start = u32::from(value.range().start()) as usize;
        let end = u32::from(value.range().end()) as usize;
        let literal = match value {
            Expr::StringLiteral(s) => Some(vec![s.value.to_string()]),
            Expr::BooleanLiteral(b) => Some(vec![b.value.to_string()]),
            Expr::List(l) => l
                .elts
                .iter()
                .map(|e| match e {
                    Expr::StringLiteral(s) => Some(s.value.to_string()),
                    _ => None,
                })
                .collect(),
            Expr::Tuple(t) => t
                .elts
                .iter()
                .map(|e| match e {
                    Expr::StringLiteral(s) => Some(s.value.to_string()),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        self.found.push(PySetting {
            key: key.to_string(),
            line: self.lines.line(start),
            literal,
            text: crate::migrations::alembic::shorten(self.text.get(start..end).unwrap_or(""), 60),
        });
    }
}

impl<'a> Visitor<'a> for SettingFinder<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        let (targets, value): (Vec<&Expr>, Option<&Expr>) = match stmt {
            Stmt::Assign(a) => (a.targets.iter().collect(), Some(&*a.value)),
            Stmt::AnnAssign(a) => (vec![&*a.target], a.value.as_deref()),
            _ => (Vec::new(), None),
        };
        if let Some(value) = value {
            for target in targets {
                if let Expr::Attribute(attr) = target {
                    if let Some(key) = KEYS.iter().find(|k| attr.attr.as_str() == **k) {
                        self.record(key, value);
                    }
                }
            }
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            let callee = match &*call.func {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.as_str(),
                _ => "",
            };
            for keyword in &call.arguments.keywords {
                let Some(arg) = &keyword.arg else { continue };
                if let Some(key) = KEYS.iter().find(|k| arg.as_str() == **k) {
                    self.record(key, &keyword.value);
                }
                if callee == "Migrate" && arg.as_str() == "directory" {
                    self.record("script_location", &keyword.value);
                }
            }
            if callee == "Migrate" {
                // Migrate(app, db, directory): the third positional argument.
                if let Some(dir) = call.arguments.args.get(2) {
                    self.record("script_location", dir);
                }
            }
            if matches!(callee, "set_main_option" | "set_section_option") {
                let args = &call.arguments.args;
                let key_at = usize::from(callee == "set_section_option");
                if let (Some(Expr::StringLiteral(k)), Some(v)) =
                    (args.get(key_at), args.get(key_at + 1))
                {
                    let k = k.value.to_str();
                    if KEYS.contains(&k) || k == "script_location" {
                        self.record(k, v);
                    }
                }
            }
        }
        visitor::walk_expr(self, expr);
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile module (one level of nesting per byte) is skipped, not a stack overflow:
    /// `env.py` and the modules that hold branch-label constants get a revision file's bounds.
    #[test]
    fn hostile_python_is_skipped_not_a_crash() {
        let deep = format!("CONTRACT_BRANCH = {}1\n", "-".repeat(200_000));
        assert!(python_settings(&deep).is_empty());
        assert_eq!(
            crate::migrations::alembic::module_constant(&deep, "CONTRACT_BRANCH"),
            None
        );
        let plain = "CONTRACT_BRANCH = \"contract\"\n";
        assert_eq!(
            crate::migrations::alembic::module_constant(plain, "CONTRACT_BRANCH"),
            Some(vec!["contract".to_string()])
        );
    }

    #[test]
    fn ini_sections_continuations_and_here() {
        let text = "[DEFAULT]\nbase = db\n\n[alembic]\nscript_location = %(here)s/%(base)s\npath_separator = newline\nversion_locations =\n    %(here)s/a\n    %(here)s/b\n; comment\nrecursive_version_locations = true\n\n[loggers]\nkeys = root\n\n[second]\nscript_location: other\n";
        let configs = parse_ini("x/alembic.ini", "x", text);
        assert_eq!(configs.len(), 2);
        let c = &configs[0];
        assert_eq!(c.section, "alembic");
        assert_eq!(c.script_location.as_ref().unwrap().value, "x/db");
        assert_eq!(c.script_location.as_ref().unwrap().line, 5);
        assert_eq!(
            c.version_locations,
            Some((vec!["x/a".to_string(), "x/b".to_string()], 7))
        );
        assert_eq!(c.recursive.as_ref().unwrap().value, "true");
        assert_eq!(configs[1].section, "second");
        assert_eq!(configs[1].script_location.as_ref().unwrap().value, "other");
    }

    #[test]
    fn every_separator_alembic_accepts() {
        assert_eq!(split_locations("a, b  c,d", None), ["a", "b", "c", "d"]);
        assert_eq!(split_locations("a b  c", Some("space")), ["a", "b", "c"]);
        assert_eq!(split_locations("a b\nc", Some("newline")), ["a b", "c"]);
        assert_eq!(split_locations("a:b c", Some("os")), ["a", "b c"]);
        assert_eq!(split_locations("a: b", Some(":")), ["a", "b"]);
        assert_eq!(split_locations("a;b", Some(";")), ["a", "b"]);
        assert_eq!(split_locations("a;b", Some("bogus")), ["a;b"]);
    }

    #[test]
    fn pyproject_tool_alembic() {
        let text = "[project]\nname = \"x\"\n\n[tool.alembic]\nscript_location = \"%(here)s/alembic\"\nversion_locations = [\n  \"%(here)s/alembic/versions\", # main\n  \"%(here)s/plugins/versions\",\n]\nrecursive_version_locations = true\n\n[tool.other]\nscript_location = \"no\"\n";
        let c = parse_pyproject("pyproject.toml", ".", text).unwrap();
        assert_eq!(c.script_location.unwrap().value, "./alembic");
        assert_eq!(
            c.version_locations,
            Some((
                vec![
                    "./alembic/versions".to_string(),
                    "./plugins/versions".to_string()
                ],
                6
            ))
        );
        assert_eq!(c.recursive.unwrap().value, "true");
        assert!(parse_pyproject("pyproject.toml", ".", "[tool.black]\nx = 1\n").is_none());
    }

    #[test]
    fn python_literals_and_run_time_values() {
        let text = "from alembic import context\nconfig = context.config\nconfig.set_main_option('version_locations', 'a b')\ncontext.script.version_locations = [db.versions_dir]\ndef run():\n    context.configure(version_locations=['x', 'y'], recursive_version_locations=True)\nmigrate = Migrate(app, db, directory='db/migrations')\n";
        let found = python_settings(text);
        let summary: Vec<(String, u32, Option<Vec<String>>)> = found
            .iter()
            .map(|s| (s.key.clone(), s.line, s.literal.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("version_locations".into(), 3, Some(vec!["a b".into()])),
                ("version_locations".into(), 4, None),
                (
                    "version_locations".into(),
                    6,
                    Some(vec!["x".into(), "y".into()])
                ),
                (
                    "recursive_version_locations".into(),
                    6,
                    Some(vec!["true".into()])
                ),
                (
                    "script_location".into(),
                    7,
                    Some(vec!["db/migrations".into()])
                ),
            ]
        );
        assert_eq!(found[1].text, "[db.versions_dir]");
    }
}
