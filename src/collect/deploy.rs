//! What the deploy runs, as far as it touches the database: the `alembic upgrade` (or `flask
//! db upgrade`, `command.upgrade(...)`) commands, found by following what starts the deploy:
//! the Render service's own commands (from the API), `render.yaml` (`preDeployCommand`,
//! `startCommand`, `buildCommand`, `dockerCommand`), a `Procfile`, Dockerfile
//! `CMD`/`ENTRYPOINT`, and from there the shell scripts, Python scripts and `Makefile` targets
//! they call (three calls deep). Each command keeps the stage that runs it (build, pre-deploy,
//! start), so the analysis can name the line a failing stage ran. Read statically; nothing is
//! run. A script that cannot be read, or is over [`MAX_SCRIPT_BYTES`], is a note, never a
//! silent gap.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;

use crate::evidence::{Phase, Service};
use crate::migrations::model::UpgradeCommand;
use crate::source::FileSource;

/// How deep script calls are followed from a deploy command.
const MAX_DEPTH: usize = 3;
/// A deploy script or file bigger than this is not read: what starts a service is short, and
/// a file this big is generated or not a script.
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;

/// The upgrade commands the deploy runs, and what could not be read on the way.
#[derive(Debug, Default, PartialEq)]
pub struct DeployCommands {
    pub upgrades: Vec<UpgradeCommand>,
    /// `path: why` for each deploy file or script that was named but could not be read.
    pub notes: Vec<String>,
}

/// Every upgrade command the deploy runs: those the service's own commands lead to (from the
/// Render API, when collected), then those of the repository's deploy files (sorted by path).
pub fn collect(source: &dyn FileSource, service: &Service) -> DeployCommands {
    let files = match source.list_files() {
        Ok(files) => files,
        Err(e) => {
            return DeployCommands {
                upgrades: Vec::new(),
                notes: vec![format!("{}: cannot list files: {e}", source.describe())],
            }
        }
    };
    let mut finder = Finder {
        source,
        files: &files,
        visited: BTreeSet::new(),
        found: Vec::new(),
        notes: Vec::new(),
    };
    for (key, command) in [
        ("preDeployCommand", &service.pre_deploy_command),
        ("startCommand", &service.start_command),
    ] {
        if let Some(command) = command {
            // A Docker service's start command is its Docker command, as Render names it.
            let name = match (key, service.runtime.as_deref()) {
                ("startCommand", Some("docker" | "image")) => "dockerCommand",
                _ => key,
            };
            let file = format!("render:{name}");
            let via = format!("the Render service's {name}");
            finder.command(&file, 0, command, &via, stage_of(key), 0);
        }
    }
    for file in &files {
        let name = file_name(file);
        let roots = if name == "render.yaml" || name == "render.yml" {
            finder.read(file).map(|t| render_yaml_commands(&t))
        } else if name == "Procfile" {
            finder.read(file).map(|t| procfile_commands(&t))
        } else if name == "Dockerfile"
            || name.starts_with("Dockerfile.")
            || name.ends_with(".Dockerfile")
        {
            finder.read(file).map(|t| dockerfile_commands(&t))
        } else {
            None
        };
        for (line, key, command) in roots.unwrap_or_default() {
            let via = format!("{file}:{line} {key}");
            finder.command(file, line, &command, &via, stage_of(&key), 0);
        }
    }
    DeployCommands {
        upgrades: finder.found,
        notes: finder.notes,
    }
}

/// The Render stage that runs a command, from the key that names it.
fn stage_of(key: &str) -> Phase {
    match key {
        "preDeployCommand" | "Procfile release" => Phase::PreDeploy,
        "buildCommand" => Phase::Build,
        _ => Phase::Start,
    }
}

struct Finder<'a> {
    source: &'a dyn FileSource,
    files: &'a [String],
    visited: BTreeSet<String>,
    found: Vec<UpgradeCommand>,
    notes: Vec<String>,
}

impl Finder<'_> {
    /// A deploy file or script as text, or a note saying why not.
    fn read(&mut self, file: &str) -> Option<String> {
        match self.source.read_prefix(file, MAX_SCRIPT_BYTES) {
            Ok(bytes) if bytes.len() > MAX_SCRIPT_BYTES => {
                self.notes.push(format!(
                    "{file}: not read, over {} KiB: the commands it runs are not known",
                    MAX_SCRIPT_BYTES / 1024
                ));
                None
            }
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => {
                self.notes.push(format!(
                    "{file}: cannot be read ({e}): the commands it runs are not known"
                ));
                None
            }
        }
    }

    /// One command line found at `file:line`: its upgrades, then the scripts it calls.
    fn command(
        &mut self,
        file: &str,
        line: u32,
        command: &str,
        via: &str,
        stage: Phase,
        depth: usize,
    ) {
        for target in upgrades_in(command) {
            self.found.push(UpgradeCommand {
                file: file.to_string(),
                line,
                command: crate::migrations::alembic::shorten(command, 120),
                target,
                via: via.to_string(),
                stage: Some(stage.label().to_string()),
            });
        }
        if depth >= MAX_DEPTH {
            return;
        }
        for (callee, target) in self.callees(file, command) {
            let key = format!("{callee}#{}", target.as_deref().unwrap_or(""));
            if !self.visited.insert(key) {
                continue;
            }
            let Some(text) = self.read(&callee) else {
                continue;
            };
            let lines: Vec<(u32, String)> = match &target {
                Some(target) => make_recipe(&text, target),
                None => text
                    .lines()
                    .enumerate()
                    .map(|(i, l)| (i as u32 + 1, l.to_string()))
                    .collect(),
            };
            let shown = match &target {
                Some(t) => format!("{callee} ({t})"),
                None => callee.clone(),
            };
            for (n, l) in lines {
                if l.trim_start().starts_with('#') {
                    continue;
                }
                self.command(
                    &callee,
                    n,
                    &l,
                    &format!("{via} -> {shown}"),
                    stage,
                    depth + 1,
                );
            }
        }
    }

    /// Repository files a command runs: scripts named by path (`./scripts/migrate.sh`,
    /// `python release.py`, `/docker-entrypoint.sh` copied into the image), and `make TARGET`.
    fn callees(&mut self, from: &str, command: &str) -> Vec<(String, Option<String>)> {
        let tokens: Vec<&str> = command
            .split(|c: char| c.is_whitespace() || ";&|()'\"`,[]".contains(c))
            .filter(|t| !t.is_empty())
            .collect();
        let mut out = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            if *token == "make" {
                let target = tokens
                    .iter()
                    .skip(i + 1)
                    .find(|t| !t.starts_with('-') && !t.contains('='));
                if let (Some(target), Some(makefile)) = (target, self.nearby(from, "Makefile")) {
                    out.push((makefile, Some(target.to_string())));
                }
                continue;
            }
            let script =
                token.ends_with(".sh") || token.ends_with(".py") || token.ends_with(".bash");
            if !script {
                continue;
            }
            match self.resolve_script(from, token) {
                Some(path) => out.push((path, None)),
                // `./x.sh` is a file of the checkout: its absence is a gap, not an image's own
                // script (`/docker-entrypoint.sh`) the repository never holds.
                None if token.starts_with("./") => {
                    let note = format!(
                        "{from}: runs `{token}`, which is not in the repository: the commands it runs are not known"
                    );
                    if !self.notes.contains(&note) {
                        self.notes.push(note);
                    }
                }
                None => {}
            }
        }
        out
    }

    /// A file named `name` beside `from`, else at the root.
    fn nearby(&self, from: &str, name: &str) -> Option<String> {
        [join(parent(from), name), name.to_string()]
            .into_iter()
            .find(|c| self.files.binary_search(c).is_ok())
    }

    /// `./x.sh`, `scripts/x.sh` (from the root or the calling file's folder), or an absolute
    /// path inside an image (`/app/bin/start.sh`): the repository file whose path ends with it.
    fn resolve_script(&self, from: &str, token: &str) -> Option<String> {
        let rel = token.trim_start_matches("./");
        if !token.starts_with('/') {
            for candidate in [join(parent(from), rel), rel.to_string()] {
                if self.files.binary_search(&candidate).is_ok() {
                    return Some(candidate);
                }
            }
        }
        // Copied into the image under another prefix: match the longest unique tail.
        let parts: Vec<&str> = rel.trim_start_matches('/').split('/').collect();
        for start in 0..parts.len() {
            let tail = parts[start..].join("/");
            let matches: Vec<&String> = self
                .files
                .iter()
                .filter(|f| *f == &tail || f.ends_with(&format!("/{tail}")))
                .collect();
            if matches.len() == 1 {
                return Some(matches[0].clone());
            }
            if matches.len() > 1 {
                return None;
            }
        }
        None
    }
}

/// The simple commands of one shell line: split at `;`, `&`, `|` and newlines outside quotes,
/// and ending at an unquoted `#` that starts a word (a comment). Quotes stay in the segments, so
/// `sh -c "alembic upgrade head"` is still read, while `echo "a; alembic upgrade head"` stays one
/// `echo`.
fn shell_segments(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if previous.is_whitespace() => {
                out.push(&line[start..i]);
                return out;
            }
            (None, ';' | '&' | '|' | '\n') => {
                out.push(&line[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
        previous = c;
    }
    out.push(&line[start..]);
    out
}

/// The targets of the upgrades in one command line: `alembic ... upgrade TARGET`,
/// `flask db upgrade [TARGET]` (default `head`), `command.upgrade(cfg, "TARGET")`.
pub fn upgrades_in(command: &str) -> Vec<String> {
    static ALEMBIC: OnceLock<Regex> = OnceLock::new();
    static FLASK: OnceLock<Regex> = OnceLock::new();
    static API: OnceLock<Regex> = OnceLock::new();
    let alembic = ALEMBIC.get_or_init(|| {
        Regex::new(r"\balembic\b[^;&|\n]*?\bupgrade\b((?:\s+-[-\w]+(?:[= ][^\s-][^\s;&|]*)?)*)\s+([^\s;&|'\x22)]+)")
            .expect("static regex")
    });
    let flask = FLASK.get_or_init(|| {
        Regex::new(r"\b(?:flask|manage\.py)\b[^;&|\n]*?\bdb\s+upgrade\b(?:\s+([^\s;&|'\x22)-][^\s;&|'\x22)]*))?")
            .expect("static regex")
    });
    let api = API.get_or_init(|| {
        Regex::new(r#"\bcommand\.upgrade\(\s*[^,()]+,\s*["']([^"']+)["']"#).expect("static regex")
    });
    // A message about the upgrade (`echo "==> Running migrations (alembic upgrade head)"`)
    // is not the upgrade: shell segments that only print are left out.
    let command = &shell_segments(command)
        .into_iter()
        .filter(|segment| {
            let first = segment
                .split_whitespace()
                .find(|w| !matches!(*w, "then" | "do" | "else" | "!" | "{" | "(" | "if"))
                .unwrap_or("");
            !(matches!(first, "echo" | "printf" | ":") || first.starts_with("print("))
        })
        .collect::<Vec<_>>()
        .join(" ; ");
    let mut out = Vec::new();
    for c in alembic.captures_iter(command) {
        if let Some(t) = c.get(2) {
            out.push(t.as_str().to_string());
        }
    }
    if out.is_empty() {
        for c in flask.captures_iter(command) {
            out.push(c.get(1).map_or("head", |m| m.as_str()).to_string());
        }
    }
    for c in api.captures_iter(command) {
        if let Some(t) = c.get(1) {
            out.push(t.as_str().to_string());
        }
    }
    out
}

/// `(line, key, command)` for each command key of a Render blueprint, block scalars included.
fn render_yaml_commands(text: &str) -> Vec<(u32, String, String)> {
    const KEYS: [&str; 4] = [
        "preDeployCommand",
        "startCommand",
        "buildCommand",
        "dockerCommand",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let trimmed = raw.trim_start().trim_start_matches("- ").trim_start();
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        if !KEYS.contains(&key.trim()) {
            continue;
        }
        let value = value.trim();
        let indent = raw.len() - raw.trim_start().len();
        if value.starts_with('|') || value.starts_with('>') {
            for (j, next) in lines.iter().enumerate().skip(i + 1) {
                let next_indent = next.len() - next.trim_start().len();
                if !next.trim().is_empty() && next_indent <= indent {
                    break;
                }
                if !next.trim().is_empty() {
                    out.push((
                        j as u32 + 1,
                        key.trim().to_string(),
                        next.trim().to_string(),
                    ));
                }
            }
        } else {
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            out.push((i as u32 + 1, key.trim().to_string(), value.to_string()));
        }
    }
    out
}

/// `(line, "Procfile PROCESS", command)` per process.
fn procfile_commands(text: &str) -> Vec<(u32, String, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (name, command) = l.split_once(':')?;
            let name = name.trim();
            (!name.is_empty() && !name.starts_with('#')).then(|| {
                (
                    i as u32 + 1,
                    format!("Procfile {name}"),
                    command.trim().to_string(),
                )
            })
        })
        .collect()
}

/// `(line, CMD|ENTRYPOINT, command)`, continuation lines joined, exec form as words.
fn dockerfile_commands(text: &str) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let mut joined = lines[i].trim().to_string();
        while joined.ends_with('\\') && i + 1 < lines.len() {
            joined.pop();
            i += 1;
            joined.push(' ');
            joined.push_str(lines[i].trim());
        }
        i += 1;
        let mut words = joined.splitn(2, char::is_whitespace);
        let instruction = words.next().unwrap_or("").to_ascii_uppercase();
        if instruction != "CMD" && instruction != "ENTRYPOINT" {
            continue;
        }
        let rest = words.next().unwrap_or("").trim();
        let command = match serde_json::from_str::<Vec<String>>(rest) {
            Ok(list) => list.join(" "),
            Err(_) => rest.to_string(),
        };
        out.push((start as u32 + 1, instruction, command));
    }
    out
}

/// The recipe lines of `target` in a Makefile, with their line numbers.
fn make_recipe(text: &str, target: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('\t') {
            if inside {
                out.push((
                    i as u32 + 1,
                    line.trim().trim_start_matches(['@', '-']).to_string(),
                ));
            }
            continue;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        inside = line
            .split_once(':')
            .filter(|(_, rest)| !rest.starts_with('='))
            .is_some_and(|(names, _)| names.split_whitespace().any(|n| n == target));
    }
    out
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
    fn targets_of_each_command_form() {
        assert_eq!(upgrades_in("alembic upgrade head"), ["head"]);
        assert_eq!(
            upgrades_in("cd backend && alembic -c db/alembic.ini upgrade heads && gunicorn app"),
            ["heads"]
        );
        assert_eq!(
            upgrades_in("python -m alembic upgrade --sql expand@head"),
            ["expand@head"]
        );
        assert_eq!(upgrades_in("flask db upgrade"), ["head"]);
        assert_eq!(upgrades_in("flask --app x db upgrade heads"), ["heads"]);
        assert_eq!(upgrades_in("command.upgrade(cfg, \"heads\")"), ["heads"]);
        assert!(upgrades_in("alembic downgrade -1").is_empty());
        // The seed's entrypoint announces the upgrade on the line before it runs it.
        assert!(
            upgrades_in(r#"echo "==> Running database migrations (alembic upgrade head)""#)
                .is_empty()
        );
        assert_eq!(
            upgrades_in(r#"echo "migrating" && alembic upgrade head; printf 'alembic upgrade x'"#),
            ["head"]
        );
        // Separators inside quotes, messages after `then`, and trailing comments are not runs.
        assert!(upgrades_in(r#"echo "step 2; alembic upgrade head""#).is_empty());
        assert_eq!(
            upgrades_in(
                r#"if ! alembic upgrade head; then echo "alembic upgrade head failed"; fi"#
            ),
            ["head"]
        );
        assert!(upgrades_in("gunicorn app  # after alembic upgrade head").is_empty());
        assert!(upgrades_in(r#"print("running alembic upgrade head")"#).is_empty());
        // A quoted command that runs it still counts.
        assert_eq!(upgrades_in(r#"sh -c "alembic upgrade head""#), ["head"]);
        assert_eq!(upgrades_in("alembic upgrade head#1"), ["head#1"]);
    }

    #[test]
    fn render_yaml_block_scalars() {
        let text = "services:\n  - type: web\n    preDeployCommand: \"./bin/migrate.sh\"\n    startCommand: |\n      alembic upgrade heads\n      gunicorn app\n";
        assert_eq!(
            render_yaml_commands(text),
            vec![
                (
                    3,
                    "preDeployCommand".to_string(),
                    "./bin/migrate.sh".to_string()
                ),
                (
                    5,
                    "startCommand".to_string(),
                    "alembic upgrade heads".to_string()
                ),
                (6, "startCommand".to_string(), "gunicorn app".to_string()),
            ]
        );
    }

    #[test]
    fn dockerfile_exec_form_and_make_recipes() {
        let text = "FROM python\nCMD [\"sh\", \"-c\", \\\n  \"make migrate && gunicorn\"]\n";
        assert_eq!(
            dockerfile_commands(text),
            vec![(
                2,
                "CMD".to_string(),
                "sh -c make migrate && gunicorn".to_string()
            )]
        );
        let make = "run:\n\tgunicorn\nmigrate: deps\n\t@alembic upgrade heads\n";
        assert_eq!(
            make_recipe(make, "migrate"),
            vec![(4, "alembic upgrade heads".to_string())]
        );
    }

    fn write(dir: &std::path::Path, rel: &str, text: &[u8]) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The seed's service: Render's Docker command runs `./entrypoint.sh` from `backend`, whose
    /// line 39 runs the upgrade right after a line that only announces it.
    #[test]
    fn the_services_own_command_leads_into_the_entrypoint() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "backend/entrypoint.sh",
            include_bytes!("../../tests/fixtures/seed/entrypoint.sh"),
        );
        write(
            dir.path(),
            "render.yaml",
            b"services:\n  - type: web\n    name: api\n    runtime: docker\n    rootDir: backend\n",
        );
        let service = Service {
            runtime: Some("docker".to_string()),
            start_command: Some("./entrypoint.sh".to_string()),
            ..Service::default()
        };
        let found = collect(&crate::source::WorkDir::new(dir.path()), &service);
        assert!(found.notes.is_empty(), "{:?}", found.notes);
        assert_eq!(found.upgrades.len(), 1, "{:#?}", found.upgrades);
        let u = &found.upgrades[0];
        assert_eq!(
            (
                u.file.as_str(),
                u.line,
                u.command.as_str(),
                u.stage.as_deref()
            ),
            (
                "backend/entrypoint.sh",
                39,
                "alembic upgrade head",
                Some("start")
            )
        );
        assert_eq!(
            u.via,
            "the Render service's dockerCommand -> backend/entrypoint.sh"
        );
    }

    /// A blueprint's pre-deploy script and a Procfile's web process: each upgrade keeps the
    /// stage that runs it.
    #[test]
    fn each_upgrade_keeps_its_stage() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "render.yaml",
            b"services:\n  - type: web\n    preDeployCommand: ./bin/release.sh\n    startCommand: gunicorn app:app\n",
        );
        write(
            dir.path(),
            "bin/release.sh",
            b"#!/usr/bin/env bash\nset -euo pipefail\necho \"Migrating (alembic upgrade heads)\"\nalembic -c db/alembic.ini upgrade heads\n",
        );
        write(
            dir.path(),
            "Procfile",
            b"web: flask db upgrade && gunicorn app:app\n",
        );
        let found = collect(
            &crate::source::WorkDir::new(dir.path()),
            &Service::default(),
        );
        let got: Vec<(&str, u32, &str, Option<&str>)> = found
            .upgrades
            .iter()
            .map(|u| {
                (
                    u.file.as_str(),
                    u.line,
                    u.target.as_str(),
                    u.stage.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Procfile", 1, "head", Some("start")),
                ("bin/release.sh", 4, "heads", Some("pre-deploy")),
            ]
        );
        assert_eq!(
            found.upgrades[1].via,
            "render.yaml:3 preDeployCommand -> bin/release.sh"
        );
    }

    /// A script over the size limit, and one the command names that the repository lacks:
    /// each is a note, and the rest is still followed.
    #[test]
    fn oversized_and_missing_scripts_are_notes() {
        let dir = tempfile::tempdir().unwrap();
        let mut big = b"#!/bin/sh\n".to_vec();
        while big.len() <= MAX_SCRIPT_BYTES {
            big.extend_from_slice(b"echo 'generated line'\n");
        }
        big.extend_from_slice(b"alembic upgrade head\n");
        write(dir.path(), "scripts/generated.sh", &big);
        write(
            dir.path(),
            "scripts/migrate.sh",
            b"#!/bin/sh\nalembic upgrade head\n",
        );
        write(
            dir.path(),
            "render.yaml",
            b"services:\n  - type: web\n    preDeployCommand: ./scripts/generated.sh && ./scripts/migrate.sh\n    startCommand: ./scripts/start.sh\n",
        );
        let found = collect(
            &crate::source::WorkDir::new(dir.path()),
            &Service::default(),
        );
        assert_eq!(
            found.notes,
            [
                "scripts/generated.sh: not read, over 256 KiB: the commands it runs are not known",
                "render.yaml: runs `./scripts/start.sh`, which is not in the repository: the commands it runs are not known",
            ]
        );
        assert_eq!(found.upgrades.len(), 1, "{:#?}", found.upgrades);
        assert_eq!(found.upgrades[0].file, "scripts/migrate.sh");
    }

    #[test]
    fn scripts_copied_into_the_image_and_the_services_own_command() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "docker/Dockerfile",
            "FROM python:3.12\nCOPY bin/ /app/bin/\nENTRYPOINT [\"/app/bin/entrypoint.sh\"]\n",
        );
        write(
            "bin/entrypoint.sh",
            "#!/bin/sh\n# alembic upgrade head (commented out)\npython -m alembic upgrade heads\nexec \"$@\"\n",
        );
        let found = collect(
            &crate::source::WorkDir::new(dir.path()),
            &Service::default(),
        );
        assert!(found.notes.is_empty(), "{:?}", found.notes);
        let found = found.upgrades;
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            (
                found[0].file.as_str(),
                found[0].line,
                found[0].target.as_str(),
                found[0].stage.as_deref()
            ),
            ("bin/entrypoint.sh", 3, "heads", Some("start"))
        );
        assert_eq!(
            found[0].via,
            "docker/Dockerfile:3 ENTRYPOINT -> bin/entrypoint.sh"
        );
        let service = Service {
            pre_deploy_command: Some("alembic upgrade head".to_string()),
            ..Service::default()
        };
        let own = collect(&crate::source::WorkDir::new(dir.path()), &service).upgrades;
        assert_eq!(
            (
                own[0].file.as_str(),
                own[0].target.as_str(),
                own[0].stage.as_deref()
            ),
            ("render:preDeployCommand", "head", Some("pre-deploy"))
        );
    }
}
