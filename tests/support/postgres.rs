//! A real PostgreSQL for tests, talked to through the `psql` client.
//!
//! Uses the server named by `POSTMORTEM_PG` (a libpq connection string; `.ci/postgres.sh`
//! exports it), else starts a throw-away cluster of its own from the binaries under
//! `/usr/lib/postgresql/*/bin`, stopped and removed when the test process exits. Without
//! PostgreSQL the test fails and says how to get it: a claim about PostgreSQL is never skipped.
//! Every test works in a fresh database of its own, so tests run in parallel.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

pub struct Server {
    conninfo: String,
    /// Our own cluster's watchdog: it stops the cluster when this pipe closes, that is when the
    /// test process exits, however it exits.
    _watchdog: Option<Mutex<(Child, ChildStdin)>>,
}

/// The shared server, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("POSTMORTEM_PG") {
        Ok(conninfo) if !conninfo.trim().is_empty() => Server {
            conninfo,
            _watchdog: None,
        },
        _ => start_own_cluster().unwrap_or_else(|e| panic!("{e}")),
    })
}

/// A PostgreSQL error as psql reports it with `VERBOSITY=verbose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    pub sqlstate: String,
    pub message: String,
}

pub struct Database {
    pub name: String,
    conninfo: String,
}

impl Server {
    /// A new, empty database whose name starts with `label`; dropped again on drop.
    pub fn database(&self, label: &str) -> Database {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "pm_{}_{}_{}",
            label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                })
                .collect::<String>(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = Database {
            name: "postgres".into(),
            conninfo: format!("{} dbname=postgres", self.conninfo),
        };
        if let Some(Some(e)) = admin
            .run_lines(&[format!("CREATE DATABASE {name}")], true)
            .first()
        {
            panic!(
                "cannot create database {name}: {} {}",
                e.sqlstate, e.message
            );
        }
        Database {
            conninfo: format!("{} dbname={name}", self.conninfo),
            name,
        }
    }

    fn drop_database(&self, name: &str) {
        let admin = Database {
            name: "postgres".into(),
            conninfo: format!("{} dbname=postgres", self.conninfo),
        };
        admin.run_lines(&[format!("DROP DATABASE IF EXISTS {name}")], true);
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.name != "postgres" {
            server().drop_database(&self.name);
        }
    }
}

impl Database {
    /// Runs one statement per line in one session and returns, per line, the error it
    /// raised. With `stop_on_error` psql stops at the first error (`ON_ERROR_STOP=1`) and the
    /// remaining lines are reported as not run (`None`); otherwise every line runs.
    pub fn run_lines(&self, lines: &[String], stop_on_error: bool) -> Vec<Option<PgError>> {
        let script: String = lines
            .iter()
            .map(|l| format!("{}\n", l.replace(['\n', '\r'], " ")))
            .collect();
        let mut child = Command::new(psql_binary())
            .args([
                "-X",
                "-q",
                "-t",
                "-v",
                "VERBOSITY=verbose",
                "-f",
                "/dev/stdin",
            ])
            .arg("-v")
            .arg(format!("ON_ERROR_STOP={}", u8::from(stop_on_error)))
            .arg(&self.conninfo)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}; {}", HOW_TO_GET_POSTGRES));
        let mut stdin = child.stdin.take().expect("psql stdin");
        let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        let output = child.wait_with_output().expect("psql output");
        writer.join().expect("writer").expect("write to psql");
        let stderr = String::from_utf8_lossy(&output.stderr);
        // 0: ran (errors or not, without ON_ERROR_STOP); 3: stopped at an error.
        match output.status.code() {
            Some(0) | Some(3) => {}
            _ => panic!(
                "psql failed ({}) on {}: {stderr}\n{}",
                output.status, self.name, HOW_TO_GET_POSTGRES
            ),
        }
        let mut errors = vec![None; lines.len()];
        for line in stderr.lines() {
            let Some(rest) = line.strip_prefix("psql:/dev/stdin:") else {
                continue;
            };
            let Some((number, rest)) = rest.split_once(':') else {
                continue;
            };
            let Some(rest) = rest.trim_start().strip_prefix("ERROR:") else {
                continue;
            };
            let rest = rest.trim_start();
            let (sqlstate, message) = rest.split_once(": ").unwrap_or(("", rest));
            let index = number.parse::<usize>().expect("psql line number") - 1;
            if let Some(slot) = errors.get_mut(index) {
                slot.get_or_insert(PgError {
                    sqlstate: sqlstate.to_string(),
                    message: message.to_string(),
                });
            }
        }
        errors
    }

    /// Runs statements in one transaction that is committed, stopping at the first error;
    /// returns the index of the failing statement and its error.
    pub fn run_transaction(&self, statements: &[String]) -> Result<(), (usize, PgError)> {
        let mut lines = vec!["BEGIN;".to_string()];
        lines.extend(statements.iter().map(|s| format!("{s};")));
        lines.push("COMMIT;".into());
        let errors = self.run_lines(&lines, true);
        match errors
            .into_iter()
            .enumerate()
            .find_map(|(i, e)| e.map(|e| (i, e)))
        {
            None => Ok(()),
            Some((i, e)) => Err((i.saturating_sub(1), e)),
        }
    }

    /// Runs independent cases, each in a transaction that is rolled back, in one session;
    /// returns per case the index of its first failing statement and the error.
    pub fn try_cases(&self, cases: &[Vec<String>]) -> Vec<Option<(usize, PgError)>> {
        let mut lines = Vec::new();
        let mut owner = Vec::new();
        for (c, statements) in cases.iter().enumerate() {
            lines.push("BEGIN;".to_string());
            owner.push(None);
            for (s, statement) in statements.iter().enumerate() {
                lines.push(format!("{statement};"));
                owner.push(Some((c, s)));
            }
            lines.push("ROLLBACK;".to_string());
            owner.push(None);
        }
        let mut outcome: Vec<Option<(usize, PgError)>> = vec![None; cases.len()];
        for (line, error) in self.run_lines(&lines, false).into_iter().enumerate() {
            if let (Some(error), Some(Some((c, s)))) = (error, owner.get(line)) {
                if let Some(slot) = outcome.get_mut(*c) {
                    slot.get_or_insert((*s, error));
                }
            }
        }
        outcome
    }
}

pub const HOW_TO_GET_POSTGRES: &str = "these tests need a real PostgreSQL: run `.ci/run` (it \
    installs and starts one), or `apt-get install postgresql`, or set POSTMORTEM_PG to a libpq \
    connection string of a server where databases may be created";

fn psql_binary() -> PathBuf {
    bin_dir()
        .map(|d| d.join("psql"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("psql"))
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// initdb + pg_ctl in a temporary directory, as `postgres` when root (they refuse root).
fn start_own_cluster() -> Result<Server, String> {
    let bin = bin_dir().ok_or_else(|| {
        format!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): {HOW_TO_GET_POSTGRES}")
    })?;
    let dir = std::env::temp_dir().join(format!(
        "postmortem-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let as_owner = if is_root() {
        let status = Command::new("chown")
            .arg("postgres:")
            .arg(&dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !status.success() {
            return Err(format!("chown postgres {} failed", dir.display()));
        }
        "runuser -u postgres --"
    } else {
        ""
    };
    let port = free_port()?;
    // The watchdog: starts the cluster, says `ready`, waits for its stdin to close, stops
    // and removes the cluster.
    let script = r#"
        set -u
        dir=$1; bin=$2; port=$3; as_owner=$4
        $as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 \
            || { echo "initdb failed: $(cat "$dir/initdb.log")"; rm -rf "$dir"; exit 1; }
        $as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null 2>&1 \
            || { echo "pg_ctl start failed: $(cat "$dir/server.log")"; rm -rf "$dir"; exit 1; }
        echo ready
        cat >/dev/null
        $as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
        rm -rf "$dir"
    "#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&dir)
        .arg(&bin)
        .arg(port.to_string())
        .arg(as_owner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the PostgreSQL watchdog: {e}"))?;
    let stdin = child.stdin.take().ok_or("watchdog stdin")?;
    let stdout = child.stdout.take().ok_or("watchdog stdout")?;
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| format!("watchdog: {e}"))?;
    if first.trim() != "ready" {
        let _ = child.wait();
        return Err(format!(
            "could not start a throw-away PostgreSQL in {}: {first}\n{HOW_TO_GET_POSTGRES}",
            dir.display()
        ));
    }
    Ok(Server {
        conninfo: format!("host=127.0.0.1 port={port} user=postgres"),
        _watchdog: Some(Mutex::new((child, stdin))),
    })
}
