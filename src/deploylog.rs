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
        if let Some(failure) = parse_lines(deploy_id, &lines) {
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

/// Reads one deploy's lines, oldest first, and returns what its first failure shows, or `None`
/// when nothing in them looks like a failure.
pub fn parse_lines(deploy_id: Option<&str>, lines: &[&LogLine]) -> Option<LogFailure> {
    let mut parser = Parser::default();
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
}

impl<'a> Parser<'a> {
    /// Takes one line; returns true when the failure block is complete.
    fn feed(&mut self, line: &'a LogLine, raw: &str) -> bool {
        let text = raw.trim_end();
        let trimmed = text.trim_start();

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
                self.in_migration = true;
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
            }
        }
        false
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
