//! Which database engine the tests use and which one the deployment uses, with where each was
//! seen: what `sqlite-tests-postgres-prod` and the report's "why local tests passed" need.
//!
//! Test side: pytest configuration (`conftest.py`, `pytest.ini`, `[tool.pytest...]` in
//! `pyproject.toml`, `[tool:pytest]` in `setup.cfg`, `tox.ini`) and test-named env, settings and
//! compose files. Deployed side: `render.yaml`, the other `.env*`, `settings*.py`,
//! `docker-compose*.yml`, `alembic.ini` and Alembic's `env.py`; migrations written with
//! PostgreSQL-only constructs (`postgresql_using`, `postgresql.UUID`); and the deploy logs,
//! where Alembic says `Context impl PostgresqlImpl` and drivers name themselves in errors.
//!
//! Commented-out lines are skipped: a `# DATABASE_URL=sqlite://` is not a configuration.

use std::sync::LazyLock;

use regex::Regex;

use crate::evidence::{DatabaseFact, DatabaseRole, Evidence};
use crate::redact::redact;
use crate::source::FileSource;

const SOURCE: &str = "dbfacts";
const MAX_TEXT: usize = 200;

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(sqlite|postgresql|postgres|pgsql|mysql|mariadb)(?:\+[a-z0-9_]+)?:/{2}")
        .expect("valid regex")
});
static COMPOSE_IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\s*image:\s*["']?(?:[\w.-]+/)*(postgres|postgis|mysql|mariadb)\b"#)
        .expect("valid regex")
});
static PG_DIALECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"postgresql_using|postgresql_where|postgresql\.[A-Z]|dialects\.postgresql|dialects import postgresql")
        .expect("valid regex")
});
static CONTEXT_IMPL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Context impl (\w+)Impl").expect("valid regex"));
static DRIVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(psycopg2|psycopg|asyncpg|pymysql|MySQLdb|sqlite3)\.").expect("valid regex")
});

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scope {
    /// Every line of the file.
    Whole,
    /// Only lines inside INI/TOML sections whose header starts with this.
    Section(&'static str),
    /// Only PostgreSQL dialect constructs (a migration file).
    Dialect,
}

fn normalize_engine(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "pgsql" | "postgis" | "psycopg2" | "psycopg" | "asyncpg" => {
            "postgresql".to_string()
        }
        "mariadb" | "mysql" | "pymysql" | "mysqldb" => "mysql".to_string(),
        "sqlite" | "sqlite3" => "sqlite".to_string(),
        other => other.to_string(),
    }
}

/// Which side a file speaks for, and which of its lines count; `None` for files that say
/// nothing about the database.
fn role_of(path: &str) -> Option<(DatabaseRole, Scope)> {
    let lower = path.to_ascii_lowercase();
    let mut parts: Vec<&str> = lower.split('/').collect();
    let name = parts.pop()?;
    let is_test_word = |w: &str| matches!(w, "test" | "tests" | "testing");
    let test_named =
        parts.iter().any(|p| is_test_word(p)) || name.split(['.', '_', '-']).any(is_test_word);
    let side = if test_named {
        DatabaseRole::Test
    } else {
        DatabaseRole::Deployed
    };
    let in_migrations = parts
        .iter()
        .any(|p| p.contains("alembic") || p.contains("migrations"));
    match name {
        "conftest.py" | "pytest.ini" | "tox.ini" => Some((DatabaseRole::Test, Scope::Whole)),
        "pyproject.toml" => Some((DatabaseRole::Test, Scope::Section("[tool.pytest"))),
        "setup.cfg" => Some((DatabaseRole::Test, Scope::Section("[tool:pytest"))),
        "render.yaml" | "render.yml" => Some((DatabaseRole::Deployed, Scope::Whole)),
        "alembic.ini" => Some((side, Scope::Whole)),
        "env.py" if in_migrations => Some((side, Scope::Whole)),
        n if n.starts_with(".env") => Some((side, Scope::Whole)),
        n if n.starts_with("settings") && n.ends_with(".py") => Some((side, Scope::Whole)),
        n if n.starts_with("docker-compose") && (n.ends_with(".yml") || n.ends_with(".yaml")) => {
            Some((side, Scope::Whole))
        }
        n if n.ends_with(".py") && parts.last() == Some(&"versions") && !test_named => {
            Some((DatabaseRole::Deployed, Scope::Dialect))
        }
        _ => None,
    }
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with(';') || t.starts_with("//")
}

fn clip(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() <= MAX_TEXT {
        return t.to_string();
    }
    let cut: String = t.chars().take(MAX_TEXT - 1).collect();
    format!("{cut}…")
}

/// The engine facts in one file's text.
fn scan(path: &str, text: &str, role: DatabaseRole, scope: Scope) -> Vec<(DatabaseFact, String)> {
    let mut facts = Vec::new();
    let mut section = String::new();
    let is_render_yaml = path.ends_with("render.yaml") || path.ends_with("render.yml");
    let is_compose = path
        .rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with("docker-compose"));
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            section = trimmed.to_string();
        }
        if is_comment(line) {
            continue;
        }
        if let Scope::Section(prefix) = scope {
            if !section.starts_with(prefix) {
                continue;
            }
        }
        let engine = match scope {
            Scope::Dialect => PG_DIALECT.is_match(line).then(|| "postgresql".to_string()),
            _ => URL
                .captures(line)
                .and_then(|c| c.get(1))
                .map(|m| normalize_engine(m.as_str()))
                .or_else(|| {
                    // Render's managed databases are PostgreSQL.
                    (is_render_yaml && trimmed.starts_with("fromDatabase:"))
                        .then(|| "postgresql".to_string())
                })
                .or_else(|| {
                    is_compose
                        .then(|| COMPOSE_IMAGE.captures(line))
                        .flatten()
                        .and_then(|c| c.get(1))
                        .map(|m| normalize_engine(m.as_str()))
                }),
        };
        if let Some(engine) = engine {
            facts.push((
                DatabaseFact {
                    role,
                    engine,
                    source: format!("{path}:{}", i + 1),
                    text: String::new(),
                },
                line.to_string(),
            ));
            // One dialect construct is enough to say which engine a migration targets.
            if scope == Scope::Dialect {
                break;
            }
        }
    }
    facts
}

/// Scans the repository's configuration and migrations, and the deploy logs already in the
/// evidence, for the database engine of the tests and of the deployment. Unreadable files
/// become notes; the rest of the scan goes on.
pub fn collect(source: &dyn FileSource, evidence: &mut Evidence) {
    match source.list_files() {
        Ok(files) => {
            for path in files {
                let Some((role, scope)) = role_of(&path) else {
                    continue;
                };
                let bytes = match source.read(&path) {
                    Ok(b) => b,
                    Err(e) => {
                        evidence.note(SOURCE, format!("{path} in {}: {e}", source.describe()));
                        continue;
                    }
                };
                let text = String::from_utf8_lossy(&bytes);
                for (mut fact, line) in scan(&path, &text, role, scope) {
                    // Redact the whole line, then clip: a cut inside a URL would hide its
                    // password from the pattern and keep half of it.
                    fact.text = clip(&redact(&line, &mut evidence.redactions));
                    evidence.database_facts.push(fact);
                }
            }
        }
        Err(e) => evidence.note(
            SOURCE,
            format!("cannot list files of {}: {e}", source.describe()),
        ),
    }
    from_logs(evidence);
    evidence.database_facts.sort();
    evidence.database_facts.dedup();
}

/// Deployed-engine facts from the deploy logs: the first line of each kind (Alembic's
/// `Context impl`, a driver's name) per engine, oldest first. Log messages are already redacted.
pub fn from_logs(evidence: &mut Evidence) {
    let mut logs: Vec<_> = evidence.logs.iter().collect();
    logs.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
    let mut seen: Vec<(String, &'static str)> = Vec::new();
    let mut facts = Vec::new();
    for line in logs {
        let found = CONTEXT_IMPL
            .captures(&line.message)
            .and_then(|c| c.get(1))
            .map(|m| (normalize_engine(m.as_str()), "context"))
            .or_else(|| {
                DRIVER
                    .captures(&line.message)
                    .and_then(|c| c.get(1))
                    .map(|m| (normalize_engine(m.as_str()), "driver"))
            });
        let Some((engine, marker)) = found else {
            continue;
        };
        if seen.iter().any(|(e, m)| *e == engine && *m == marker) {
            continue;
        }
        seen.push((engine.clone(), marker));
        facts.push(DatabaseFact {
            role: DatabaseRole::Deployed,
            engine,
            source: format!("log {}", line.id),
            text: clip(&line.message),
        });
    }
    evidence.database_facts.extend(facts);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clip comes after redaction: a password that straddles the clip is still replaced.
    #[test]
    fn long_lines_are_redacted_before_they_are_clipped() {
        let dir = tempfile::tempdir().unwrap();
        // The clip falls inside the password.
        let password = format!("Sup3r{}", "s".repeat(MAX_TEXT));
        std::fs::write(
            dir.path().join(".env"),
            format!("DATABASE_URL=postgresql://app:{password}@db.internal:5432/app\n"),
        )
        .unwrap();
        let mut evidence = Evidence::new(Default::default());
        collect(&crate::source::WorkDir::new(dir.path()), &mut evidence);
        let fact = &evidence.database_facts[0];
        assert!(!fact.text.contains("Sup3r"), "{}", fact.text);
        assert_eq!(
            evidence
                .redactions
                .get(crate::redact::DATABASE_URL_PASSWORD),
            Some(&1)
        );
    }

    #[test]
    fn roles_by_file() {
        assert_eq!(
            role_of("backend/tests/conftest.py").map(|r| r.0),
            Some(DatabaseRole::Test)
        );
        assert_eq!(role_of(".env.test").map(|r| r.0), Some(DatabaseRole::Test));
        assert_eq!(role_of(".env").map(|r| r.0), Some(DatabaseRole::Deployed));
        assert_eq!(
            role_of("render.yaml").map(|r| r.0),
            Some(DatabaseRole::Deployed)
        );
        assert_eq!(
            role_of("backend/alembic/versions/36b3_add.py").map(|r| r.1),
            Some(Scope::Dialect)
        );
        assert_eq!(role_of("backend/app/main.py"), None);
        assert_eq!(
            role_of("backend/alembic/env.py").map(|r| r.0),
            Some(DatabaseRole::Deployed)
        );
    }

    #[test]
    fn pyproject_only_counts_the_pytest_section() {
        let text = "[tool.poetry]\nurl = \"postgresql://x@h/db\"\n[tool.pytest.ini_options]\nenv = [\"DATABASE_URL=sqlite:///./test.db\"]\n";
        let facts = scan(
            "pyproject.toml",
            text,
            DatabaseRole::Test,
            Scope::Section("[tool.pytest"),
        );
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].0.engine, "sqlite");
        assert_eq!(facts[0].0.source, "pyproject.toml:4");
    }

    #[test]
    fn comments_do_not_count() {
        let facts = scan(
            ".env",
            "# DATABASE_URL=sqlite://\n",
            DatabaseRole::Deployed,
            Scope::Whole,
        );
        assert!(facts.is_empty());
    }
}
