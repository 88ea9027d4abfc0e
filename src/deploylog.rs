//! Log forensics: what a failed deploy's log lines say about how it failed.
//!
//! Render sends one log entry per printed line, so a Python traceback arrives as dozens of
//! separate [`LogLine`]s. Lines are grouped by deploy and read in timestamp order as one
//! stream. A crash-looping container prints the same failure again on every restart, so the
//! first failure block of a deploy is the one reported; what follows repeats it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::evidence::{Evidence, LogLine};

/// What one deploy's logs say about its failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogFailure {
    pub deploy_id: Option<String>,
    /// ID and timestamp of the log line that shows the error.
    pub log_id: String,
    pub timestamp: Option<DateTime<Utc>>,
    /// Alembic's `Running upgrade A -> B, message` at the time of the failure.
    pub revision: Option<String>,
    pub from_revision: Option<String>,
    pub revision_message: Option<String>,
    /// Last exception line: `sqlalchemy.exc.ProgrammingError`.
    pub exception: Option<String>,
    /// Database error class: `psycopg2.errors.DatatypeMismatch`.
    pub db_error: Option<String>,
    pub error_message: Option<String>,
    /// The `DETAIL:` line.
    pub detail: Option<String>,
    /// The `[SQL: ...]` statement.
    pub sql: Option<String>,
    /// Migration file and line from the last traceback frame inside a versions folder.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Alembic's own error (multiple heads, can't locate revision, KeyError).
    pub alembic_error: Option<String>,
    pub exit_code: Option<i64>,
    /// `entrypoint.sh: line N` when the shell said so.
    pub script: Option<String>,
    pub script_line: Option<u32>,
    /// Render's own `==> ` line that says the deploy failed (`Out of memory (used over 512Mi)`,
    /// `Exited with status 1`), which tells OOM, timeouts and build failures apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_error: Option<String>,
    /// The first real error, verbatim: a resolver's or compiler's complaint, a traceback's
    /// exception line, a failed health-check request, `Cannot find module`, `exec format
    /// error`. Render's own closing lines (`==> Deploy failed`) never stand here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// What kind of error `first_error` is: `resolver`, `compile`, `traceback`, `missing_env`,
    /// `module_not_found`, `exec_format`, `health_check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    /// The traceback's last frame outside installed packages and the interpreter (the
    /// application's own code), its line and the source line Python printed under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_source: Option<String>,
    /// The environment variable a `KeyError` from `os.environ[...]` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_var: Option<String>,
    /// The module `Cannot find module` / `No module named` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_module: Option<String>,
    /// pip's "The conflict is caused by:" lines, verbatim and trimmed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflict: Vec<String>,
    /// The requirements file and line of the pin the conflict names first (pip's
    /// `Collecting X (from -r requirements.txt (line 2))`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_line: Option<u32>,
    /// A failed request to the health-check path: its path and HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_status: Option<u16>,
    /// The source line Python printed under the migration frame (`file`, `line`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The port the server said it listens on (`Listening at: http://0.0.0.0:10000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
}

static RUNNING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Running (?:upgrade|downgrade) +(.*?) *-> *([0-9A-Za-z_]+)(?:, *(.*))?$")
        .expect("valid regex")
});
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*File "([^"]+)", line (\d+)(?:, in (\S+))?"#).expect("valid regex")
});
// A dotted exception name ending in a class name (`psycopg2.errors.DatatypeMismatch`,
// `sqlalchemy.exc.ProgrammingError`), or a bare one ending in Error/Exception (`KeyError`), at
// the start of the line. Logger names (`app.db: connected`) end in lowercase and do not match.
static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^((?:[A-Za-z_][A-Za-z0-9_]*\.)+[A-Z][A-Za-z0-9_]*|[A-Z][A-Za-z0-9_]*(?:Error|Exception|Exit))(?:: ?(.*))?$",
    )
    .expect("valid regex")
});
static WRAPPED_DB_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\(((?:[A-Za-z_][A-Za-z0-9_]*\.)+[A-Za-z_][A-Za-z0-9_]*)\) ?(.*)$")
        .expect("valid regex")
});
static ALEMBIC_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:FAILED: |ERROR \[alembic[^\]]*\] )(.*)$").expect("valid regex")
});
static MISSING_DOWN_REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Revision (\S+) referenced from \S+ -> (\S+)").expect("valid regex")
});
static EXIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^exit status:? (-?\d+)$|^exit=(-?\d+)$|exited with (?:status|code) (-?\d+))",
    )
    .expect("valid regex")
});
static SCRIPT_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\S*\.sh): line (\d+): ?(.*)$").expect("valid regex"));

/// pip's (and uv's) resolver and build-backend complaints: the first real error of a build.
static PIP_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:ERROR: (?:Cannot install|ResolutionImpossible|Could not find a version|No matching distribution|Failed building wheel|Could not build wheels|Failed to build)|error: (?:subprocess-exited-with-error|resolution-too-deep|failed-wheel-build)|(?:×|x) No solution found when resolving)",
    )
    .expect("valid regex")
});
/// A compiler's own error line (`fastcrc.c:2:10: fatal error: zlib_ng.h: No such file or
/// directory`), which pip's wrapper lines only announce.
static COMPILER_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\S+\.(?:c|cc|cpp|cxx|h|hpp|pyx|rs|go):\d+(?::\d+)?: (?:fatal )?error: ")
        .expect("valid regex")
});
/// `Collecting starlette==0.27.0 (from -r requirements.txt (line 2))`.
static PIP_COLLECTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Collecting (\S+) \(from -r (\S+) \(line (\d+)\)\)").expect("valid regex")
});
/// pip's `The user requested starlette==0.27.0`.
static PIP_REQUESTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^The user requested (\S+)").expect("valid regex"));
/// An access-log request line, gunicorn's (`"GET /health HTTP/1.1" 404 22`) or uvicorn's
/// (`"GET /health HTTP/1.1" 404 Not Found`).
static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(?:GET|HEAD) (\S+) HTTP/[0-9.]+" (\d{3})\b"#).expect("valid regex")
});
/// `Listening at: http://0.0.0.0:10000` (gunicorn), `Uvicorn running on http://0.0.0.0:10000`.
static LISTEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:listening at:?|running on) https?://[^\s:/]+:(\d+)").expect("valid regex")
});
static NODE_MODULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Error: Cannot find module '([^']+)'").expect("valid regex"));
static NO_MODULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"No module named '([^']+)'").expect("valid regex"));
static EXEC_FORMAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)exec format error").expect("valid regex"));

/// Lines that say the migrations are over and the application itself is starting: an exception
/// after one of these is the application's, not a migration's.
static APP_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)migrations? (?:complete|done|finished)|starting (?:uvicorn|gunicorn|server|app)|uvicorn running|booting worker|listening at|application startup",
    )
    .expect("valid regex")
});

/// Render's own `==> ` pipeline lines that say a deploy failed, and what kind of failure.
static PIPELINE_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)out of memory|\boom\b|oom[ -]?killed|build failed|pre-deploy (?:has )?failed|timed out|timeout|health ?checks? fail|unhealthy|exited with status|exited early|deploy failed|no open ports",
    )
    .expect("valid regex")
});

static OOM_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\boom\b|oom[ -]?killed").expect("valid regex"));

/// How a pipeline line classifies a failure: `oom`, `timeout`, `health_check`, `build`,
/// `pre_deploy`, or `None` for a generic failure line.
pub fn pipeline_kind(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    if t.contains("out of memory") || OOM_WORD.is_match(&t) {
        Some("oom")
    } else if t.contains("timed out") || t.contains("timeout") || t.contains("no open ports") {
        Some("timeout")
    } else if t.contains("health") || t.contains("unhealthy") {
        Some("health_check")
    } else if t.contains("build failed") {
        Some("build")
    } else if t.contains("pre-deploy") {
        Some("pre_deploy")
    } else {
        None
    }
}

/// One [`LogFailure`] per deploy (and one for lines attributed to no deploy) whose logs show a
/// failure, ordered by deploy then time. Lines are read in timestamp order whatever order the
/// evidence holds them in.
pub fn parse_deploy_logs(evidence: &Evidence) -> Vec<LogFailure> {
    let health = evidence.service.health_check_path.as_deref();
    let mut groups: BTreeMap<Option<&str>, Vec<&LogLine>> = BTreeMap::new();
    for line in &evidence.logs {
        groups
            .entry(line.deploy_id.as_deref())
            .or_default()
            .push(line);
    }
    let mut out = Vec::new();
    for (deploy_id, mut lines) in groups {
        lines.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
        if let Some(failure) = parse_lines_checking(deploy_id, &lines, health) {
            out.push(failure);
        }
    }
    out
}

/// Whether the failure is a migration's: Alembic refused to run, a traceback went through a
/// migration file, or an exception was raised while a revision was being applied.
pub fn is_migration_failure(failure: &LogFailure) -> bool {
    failure.alembic_error.is_some()
        || failure.file.is_some()
        || (failure.revision.is_some()
            && (failure.exception.is_some() || failure.db_error.is_some()))
}

/// Migration failures grouped by the revision that failed (or, when Alembic refused to run at
/// all, by its complaint), for the rule and the root-cause analysis alike.
pub fn migration_failures_by_revision<'a>(
    failures: impl IntoIterator<Item = &'a LogFailure>,
) -> BTreeMap<String, Vec<&'a LogFailure>> {
    let mut groups: BTreeMap<String, Vec<&LogFailure>> = BTreeMap::new();
    for failure in failures.into_iter().filter(|f| is_migration_failure(f)) {
        let key = failure
            .revision
            .clone()
            .or_else(|| failure.alembic_error.clone())
            .unwrap_or_default();
        groups.entry(key).or_default().push(failure);
    }
    groups
}

/// The error a failure shows, as one line: the database error and its message, else Alembic's
/// complaint, else the exception and its message.
pub fn error_line(failure: &LogFailure) -> Option<String> {
    match (
        &failure.db_error,
        &failure.error_message,
        &failure.alembic_error,
        &failure.exception,
    ) {
        (Some(db), Some(msg), _, _) => Some(format!("{db}: {msg}")),
        (Some(db), None, _, _) => Some(db.clone()),
        (None, _, Some(alembic), _) => Some(alembic.clone()),
        (None, Some(msg), None, Some(exc)) => Some(format!("{exc}: {msg}")),
        (None, None, None, Some(exc)) => Some(exc.clone()),
        (None, Some(msg), None, None) => Some(msg.clone()),
        (None, None, None, None) => None,
    }
}

/// Whether the logs show the error itself, not only Render's account of it (`==> Deploy
/// failed`, an exit status): Render's closing lines are context, never the error shown.
pub fn shows_real_error(log: &LogFailure) -> bool {
    log.first_error.is_some() || error_line(log).is_some()
}

/// Reads one deploy's lines, oldest first, and returns what its first failure shows, or `None`
/// when nothing in them looks like a failure.
pub fn parse_lines(deploy_id: Option<&str>, lines: &[&LogLine]) -> Option<LogFailure> {
    parse_lines_checking(deploy_id, lines, None)
}

/// [`parse_lines`], knowing the service's health-check path: a request to it that fails is the
/// deploy's error.
pub fn parse_lines_checking(
    deploy_id: Option<&str>,
    lines: &[&LogLine],
    health_path: Option<&str>,
) -> Option<LogFailure> {
    let mut parser = Parser {
        health_path: health_path.map(str::to_string),
        ..Parser::default()
    };
    for line in lines {
        // Lines are single log entries; a message with embedded newlines is still read line by line.
        for text in line.message.lines() {
            if parser.feed(line, text) {
                return parser.finish(deploy_id);
            }
        }
    }
    parser.finish(deploy_id)
}

#[derive(Default)]
struct Parser<'a> {
    /// The last `Running upgrade` seen while migrations were running.
    running: Option<(String, String, Option<String>)>,
    in_migration: bool,
    /// Set once something failed; details are gathered until the block ends.
    started: bool,
    failure: LogFailure,
    /// The line that best shows the error, with its rank (higher is more telling).
    key_line: Option<(&'a LogLine, u8)>,
    sql: Option<Vec<String>>,
    sql_done: bool,
    missing_parent: Option<(String, String)>,
    health_path: Option<String>,
    /// Rank of the line `first_error` holds (the same ranks as `key_line`).
    first_rank: Option<u8>,
    /// The previous line was a frame of the application's own code (or of a migration): this
    /// one is its source.
    expect_source: bool,
    expect_migration_source: bool,
    in_conflict: bool,
    /// pip's `Collecting` lines: requirement, file, line.
    pins: Vec<(String, String, u32)>,
}

impl<'a> Parser<'a> {
    /// Takes one line; returns true when the failure block is complete.
    fn feed(&mut self, line: &'a LogLine, raw: &str) -> bool {
        let text = raw.trim_end();
        let trimmed = text.trim_start();
        let expect_source = std::mem::take(&mut self.expect_source);
        let expect_migration_source = std::mem::take(&mut self.expect_migration_source);

        if self.in_conflict {
            if !trimmed.is_empty() && text.len() != trimmed.len() {
                self.failure.conflict.push(trimmed.to_string());
                if let Some(c) = PIP_REQUESTED.captures(trimmed) {
                    let wanted = c.get(1).map(|m| m.as_str()).unwrap_or_default();
                    if self.failure.manifest.is_none() {
                        if let Some((_, file, n)) = self.pins.iter().find(|(r, _, _)| r == wanted) {
                            self.failure.manifest = Some(file.clone());
                            self.failure.manifest_line = Some(*n);
                        }
                    }
                }
                return false;
            }
            self.in_conflict = false;
        }
        if let Some(c) = LISTEN.captures(trimmed) {
            self.failure.listen_port = c.get(1).and_then(|m| m.as_str().parse().ok());
        }
        if let Some(c) = PIP_COLLECTING.captures(trimmed) {
            if let (Some(r), Some(f), Some(n)) = (c.get(1), c.get(2), c.get(3)) {
                if let Ok(n) = n.as_str().parse() {
                    self.pins
                        .push((r.as_str().to_string(), f.as_str().to_string(), n));
                }
            }
            return false;
        }
        if COMPILER_ERROR.is_match(trimmed) {
            self.real_error(line, trimmed, 6, "compile");
            return false;
        }
        if PIP_ERROR.is_match(trimmed) {
            // The first complaint is the one that says what conflicts; the rest restate it.
            let rank = if self.first_rank.is_some() { 2 } else { 5 };
            self.real_error(line, trimmed, rank, "resolver");
            return false;
        }
        if trimmed == "The conflict is caused by:" {
            self.in_conflict = true;
            return false;
        }
        if let Some(c) = ACCESS.captures(trimmed) {
            let path = c.get(1).map(|m| m.as_str()).unwrap_or_default();
            let status: u16 = c.get(2).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
            // Only the service's own health-check path: without one, Render checks nothing and
            // a 404 is just a request.
            let is_health = self
                .health_path
                .as_deref()
                .is_some_and(|h| path.split('?').next() == Some(h));
            if is_health && status >= 400 {
                self.failure.request_path = Some(path.to_string());
                self.failure.request_status = Some(status);
                self.real_error(line, trimmed, 4, "health_check");
                return true;
            }
            return false;
        }
        if let Some(c) = NODE_MODULE.captures(trimmed) {
            self.failure.missing_module = c.get(1).map(|m| m.as_str().to_string());
            self.failure.exception = Some("Error".to_string());
            self.failure.error_message = trimmed.strip_prefix("Error: ").map(str::to_string);
            self.real_error(line, trimmed, 4, "module_not_found");
            return false;
        }
        let is_source = text.len() != trimmed.len() && !trimmed.starts_with('^');
        if expect_source && is_source {
            self.failure.app_source = Some(trimmed.to_string());
        }
        if expect_migration_source && is_source && !FRAME.is_match(text) {
            self.failure.source = Some(trimmed.to_string());
        }

        if let Some(sql) = self.sql.as_mut() {
            if !self.sql_done {
                if trimmed == "]" {
                    self.sql_done = true;
                } else if let Some(last) = trimmed.strip_suffix(']') {
                    sql.push(last.to_string());
                    self.sql_done = true;
                } else {
                    sql.push(text.to_string());
                }
                return false;
            }
        }

        if let Some(c) = RUNNING.captures(trimmed) {
            if self.started {
                // A new migration run after a failure is a restart repeating it.
                return true;
            }
            let from = c
                .get(1)
                .map(|m| m.as_str().trim().to_string())
                .unwrap_or_default();
            let to = c.get(2).map(|m| m.as_str().to_string()).unwrap_or_default();
            // Alembic pads the message; runs of spaces carry nothing.
            let message = c
                .get(3)
                .map(|m| m.as_str().split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|m| !m.is_empty());
            self.running = Some((from, to, message));
            self.in_migration = true;
            return false;
        }
        if trimmed.contains("Context impl ") {
            if self.started {
                return true;
            }
            // A new Alembic invocation: what an earlier one was running is over.
            self.in_migration = true;
            self.running = None;
            return false;
        }
        if !self.started && APP_START.is_match(trimmed) {
            self.in_migration = false;
            self.running = None;
            return false;
        }

        if let Some(rest) = trimmed.strip_prefix("==> ") {
            if PIPELINE_ERROR.is_match(rest) {
                if self.failure.pipeline_error.is_none() {
                    self.failure.pipeline_error = Some(rest.to_string());
                }
                self.start(line, 1);
                if let Some(code) = exit_code(rest) {
                    self.set_exit(code);
                    return code != 0;
                }
            }
            return false;
        }

        if let Some(code) = exit_code(trimmed) {
            if code != 0 {
                self.start(line, 1);
                self.set_exit(code);
                return true;
            }
            if !self.started {
                // A command that succeeded: whatever it was running is over.
                self.in_migration = false;
                self.running = None;
            }
            return self.started;
        }

        if let Some(c) = SCRIPT_LINE.captures(trimmed) {
            self.failure.script = c.get(1).map(|m| m.as_str().to_string());
            self.failure.script_line = c.get(2).and_then(|m| m.as_str().parse().ok());
            let message = c.get(3).map(|m| m.as_str().trim()).unwrap_or_default();
            if !message.is_empty() && self.failure.error_message.is_none() {
                self.failure.error_message = Some(message.to_string());
            }
            self.start(line, 2);
            return false;
        }

        if trimmed.starts_with("Traceback (most recent call last)") {
            self.start(line, 0);
            return false;
        }

        if let Some(c) = MISSING_DOWN_REVISION.captures(trimmed) {
            let missing = c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default();
            let from = c.get(2).map(|m| m.as_str().to_string()).unwrap_or_default();
            self.missing_parent = Some((missing, from));
            return false;
        }

        if let Some(c) = ALEMBIC_ERROR.captures(trimmed) {
            let message = c.get(1).map(|m| m.as_str().trim().to_string());
            if self.failure.alembic_error.is_none() {
                self.failure.alembic_error = message;
            }
            self.start(line, 3);
            return false;
        }

        if let Some(c) = FRAME.captures(text) {
            let path = c.get(1).map(|m| m.as_str()).unwrap_or_default();
            if is_migration_path(path) {
                self.failure.file = Some(path.to_string());
                self.failure.line = c.get(2).and_then(|m| m.as_str().parse().ok());
                self.failure.source = None;
                self.expect_migration_source = true;
                self.in_migration = true;
            }
            if is_app_path(path) {
                self.failure.app_file = Some(path.to_string());
                self.failure.app_line = c.get(2).and_then(|m| m.as_str().parse().ok());
                self.failure.app_source = None;
                self.expect_source = true;
            }
            return false;
        }

        if let Some(rest) = trimmed.strip_prefix("DETAIL:") {
            if self.started {
                self.failure.detail = Some(rest.trim().to_string());
            }
            return false;
        }

        if let Some(rest) = text.strip_prefix("[SQL:") {
            if self.started && self.sql.is_none() {
                let rest = rest.trim_start();
                match rest.strip_suffix(']') {
                    Some(one_line) => {
                        self.sql = Some(vec![one_line.to_string()]);
                        self.sql_done = true;
                    }
                    None => self.sql = Some(vec![rest.to_string()]),
                }
            }
            return false;
        }

        // Exception lines start at column 0; indented lines are source excerpts of frames.
        if text.len() == trimmed.len() {
            if let Some(c) = EXCEPTION.captures(text) {
                let name = c.get(1).map(|m| m.as_str()).unwrap_or_default();
                let message = c.get(2).map(|m| m.as_str().trim()).unwrap_or_default();
                self.exception(line, name, message);
                let class = if EXEC_FORMAT.is_match(trimmed) {
                    "exec_format"
                } else if let Some(m) = NO_MODULE.captures(message) {
                    self.failure.missing_module = m.get(1).map(|m| m.as_str().to_string());
                    "module_not_found"
                } else {
                    "traceback"
                };
                self.real_error(line, trimmed, 4, class);
                return false;
            }
        }
        if EXEC_FORMAT.is_match(trimmed) {
            self.real_error(line, trimmed, 4, "exec_format");
        }
        false
    }

    /// A line that shows the error itself, not Render's account of it. Equal ranks: the later
    /// line wins, as for `key_line`, so a chained traceback shows its final exception.
    fn real_error(&mut self, line: &'a LogLine, text: &str, rank: u8, class: &str) {
        self.start(line, rank);
        if self.first_rank.is_none_or(|r| rank >= r) {
            self.first_rank = Some(rank);
            self.failure.first_error = Some(text.to_string());
            self.failure.error_class = Some(class.to_string());
        }
    }

    fn exception(&mut self, line: &'a LogLine, name: &str, message: &str) {
        self.start(line, 4);
        self.failure.exception = Some(name.to_string());
        let message = match WRAPPED_DB_ERROR.captures(message) {
            Some(c) => {
                if let Some(db) = c.get(1) {
                    self.failure.db_error = Some(db.as_str().to_string());
                }
                c.get(2).map(|m| m.as_str()).unwrap_or_default()
            }
            None => {
                if is_db_error(name) {
                    self.failure.db_error = Some(name.to_string());
                }
                message
            }
        };
        if !message.is_empty() {
            self.failure.error_message = Some(message.to_string());
        }
        if name.ends_with("CommandError") && !message.is_empty() {
            self.failure.alembic_error = Some(message.to_string());
        }
        if name == "KeyError" {
            if let Some((missing, from)) = &self.missing_parent {
                self.failure.alembic_error = Some(format!(
                    "revision {from} has down_revision {missing}, which does not exist (KeyError: '{missing}')"
                ));
            }
        }
    }

    fn start(&mut self, line: &'a LogLine, rank: u8) {
        self.started = true;
        match self.key_line {
            // Equal rank: the later line wins, so a chained traceback cites its final exception.
            Some((_, r)) if r > rank => {}
            _ => self.key_line = Some((line, rank)),
        }
    }

    fn set_exit(&mut self, code: i64) {
        if self.failure.exit_code.is_none() || self.failure.exit_code == Some(0) {
            self.failure.exit_code = Some(code);
        }
    }

    fn finish(mut self, deploy_id: Option<&str>) -> Option<LogFailure> {
        let (line, _) = self.key_line?;
        self.failure.deploy_id = deploy_id.map(str::to_string);
        self.failure.log_id = line.id.clone();
        self.failure.timestamp = Some(line.timestamp);
        if self.in_migration || self.failure.file.is_some() {
            if let Some((from, to, message)) = self.running.take() {
                self.failure.from_revision = Some(from).filter(|f| !f.is_empty());
                self.failure.revision = Some(to);
                self.failure.revision_message = message;
            }
        }
        if self.failure.revision.is_none() {
            if let Some((_, from)) = &self.missing_parent {
                self.failure.revision = Some(from.clone());
            }
        }
        if self.failure.exception.as_deref() == Some("KeyError")
            && self.failure.alembic_error.is_none()
        {
            let reads_env = self
                .failure
                .app_source
                .as_deref()
                .is_some_and(|s| s.contains("environ") || s.contains("getenv"));
            if reads_env {
                self.failure.env_var = self
                    .failure
                    .error_message
                    .as_deref()
                    .map(|m| m.trim_matches(|c| c == '\'' || c == '"').to_string());
                self.failure.error_class = Some("missing_env".to_string());
            }
        }
        if let Some(sql) = self.sql {
            let text = sql
                .iter()
                .map(|l| l.trim_end())
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_string();
            if !text.is_empty() {
                self.failure.sql = Some(text);
            }
        }
        Some(self.failure)
    }
}

fn exit_code(text: &str) -> Option<i64> {
    let c = EXIT.captures(text)?;
    (1..=3)
        .filter_map(|i| c.get(i))
        .find_map(|m| m.as_str().parse().ok())
}

/// A file inside a migrations `versions` folder, not an installed package's.
fn is_migration_path(path: &str) -> bool {
    let p = path.replace('\\', "/");
    p.contains("/versions/") && !p.contains("site-packages/") && p.ends_with(".py")
}

/// A frame of the application's own code: not an installed package, not the interpreter's
/// standard library, not a frozen or generated module.
fn is_app_path(path: &str) -> bool {
    let p = path.replace('\\', "/");
    !(p.starts_with('<')
        || p.contains("site-packages/")
        || p.contains("dist-packages/")
        || p.contains("/lib/python")
        || p.starts_with("node:")
        || is_migration_path(&p))
        && p.ends_with(".py")
}

fn is_db_error(name: &str) -> bool {
    name.contains(".errors.")
        || name.starts_with("psycopg")
        || name.starts_with("asyncpg.")
        || name.starts_with("pymysql.")
        || name.starts_with("MySQLdb.")
        || name.starts_with("sqlite3.")
}

/// The repository path and line of a failure's migration frame: the revision's own file when
/// the evidence has a revision with the failing ID, else a migration file whose path ends the
/// logged one (`/app/backend/migrations/versions/x.py` ends with `backend/migrations/versions/x.py`).
pub fn repo_location(evidence: &Evidence, failure: &LogFailure) -> Option<(String, Option<u32>)> {
    let revisions = evidence
        .migration_sets
        .iter()
        .flat_map(|set| &set.revisions);
    if let Some(id) = &failure.revision {
        if let Some(rev) = revisions.clone().find(|r| &r.id == id) {
            return Some((rev.file.clone(), failure.line));
        }
    }
    let logged = failure.file.as_deref()?.replace('\\', "/");
    revisions
        .filter(|r| logged.ends_with(&format!("/{}", r.file)) || logged == r.file)
        .map(|r| (r.file.clone(), failure.line))
        .next()
}
