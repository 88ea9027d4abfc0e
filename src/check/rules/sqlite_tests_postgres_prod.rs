//! `sqlite-tests-postgres-prod`: the test suite runs on SQLite while the deployed database is PostgreSQL
//!
//! **What it flags.** Test configuration (`conftest.py`, `pytest.ini`, `[tool.pytest]`,
//! `setup.cfg`, `tox.ini`, test env/settings files) pointing at SQLite, while the deployment's
//! configuration, its migrations (`postgresql_using`, `postgresql.UUID`) or its logs (`Context
//! impl PostgresqlImpl`, `psycopg2`) show PostgreSQL. It reads
//! [`Evidence::database_facts`](crate::evidence::Evidence), which `collect::dbfacts` fills.
//!
//! **Why it matters.** SQLite does not check that a foreign key's column types match, and Alembic's
//! batch mode rebuilds tables instead of running `ALTER COLUMN`: a migration that creates a
//! foreign key from `VARCHAR(36)` to a `UUID` column passes every SQLite test and fails on
//! PostgreSQL with `DatatypeMismatch`. This is the "why local tests passed" of the postmortem.
//!
//! **Example.** `tests/conftest.py:8: os.environ["DATABASE_URL"] = "sqlite:///./test.db"` while the
//! deploy logs say `Context impl PostgresqlImpl.`
//!
//! **Fix.** Run the migrations and the tests that touch the schema against PostgreSQL (a service
//! container in CI, or a local `docker run postgres`).
//!
//! Severity: `warning`; `info` when some test configuration also points at PostgreSQL (the suite
//! may already run there in CI). `data`: `test` and `deployed` facts.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::evidence::{DatabaseFact, DatabaseRole};

pub struct SqliteTestsPostgresProd;

pub static META: RuleMeta = RuleMeta {
    name: "sqlite-tests-postgres-prod",
    severity: Severity::Warning,
    summary: "the test suite runs on SQLite while the deployed database is PostgreSQL",
    help: "Run the migration tests against PostgreSQL, the engine production uses.",
    category: Category::Database,
};

/// `path:line` of a fact whose source is a file, `None` for log or service facts.
fn file_line(fact: &DatabaseFact) -> Option<(String, u32)> {
    if fact.source.starts_with("log ") {
        return None;
    }
    let (file, line) = fact.source.rsplit_once(':')?;
    Some((file.to_string(), line.parse().ok()?))
}

/// Facts from files before facts from logs: a file is where the fix goes.
fn best<'a>(facts: &[&'a DatabaseFact]) -> Option<&'a DatabaseFact> {
    facts
        .iter()
        .find(|f| file_line(f).is_some())
        .or_else(|| facts.first())
        .copied()
}

impl Rule for SqliteTestsPostgresProd {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let facts = &ctx.evidence.database_facts;
        let pick = |role: DatabaseRole, engine: &str| -> Vec<&DatabaseFact> {
            facts
                .iter()
                .filter(|f| f.role == role && f.engine == engine)
                .collect()
        };
        let test_sqlite = pick(DatabaseRole::Test, "sqlite");
        let deployed_pg = pick(DatabaseRole::Deployed, "postgresql");
        let test_pg = pick(DatabaseRole::Test, "postgresql");
        let (Some(test), Some(deployed)) = (best(&test_sqlite), best(&deployed_pg)) else {
            return Vec::new();
        };

        let mut message = format!(
            "the tests run on SQLite ({}: `{}`) while the deployed database is PostgreSQL ({}: `{}`): SQLite does not check foreign key types or alter columns like PostgreSQL, so a migration that passes the tests can fail the deploy",
            test.source, test.text, deployed.source, deployed.text
        );
        let severity = match best(&test_pg) {
            Some(pg) => {
                message.push_str(&format!(
                    "; {} also points the tests at PostgreSQL, so some runs may already use it",
                    pg.source
                ));
                Severity::Info
            }
            None => Severity::Warning,
        };
        let mut finding = Finding::new(&META, message)
            .severity(severity)
            .data(serde_json::json!({
                "test": test_sqlite,
                "deployed": deployed_pg,
                "test_postgresql": test_pg,
            }));
        if let Some((file, line)) = file_line(test) {
            finding = finding.file(file).line(line);
        }
        vec![finding]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Evidence, Service};

    fn fact(role: DatabaseRole, engine: &str, source: &str, text: &str) -> DatabaseFact {
        DatabaseFact {
            role,
            engine: engine.to_string(),
            source: source.to_string(),
            text: text.to_string(),
        }
    }

    fn run(facts: Vec<DatabaseFact>) -> Vec<Finding> {
        let mut evidence = Evidence::new(Service::default());
        evidence.database_facts = facts;
        SqliteTestsPostgresProd.check(&CheckContext::new(&evidence, None))
    }

    #[test]
    fn err() {
        let findings = run(vec![
            fact(
                DatabaseRole::Test,
                "sqlite",
                "backend/tests/conftest.py:8",
                "os.environ[\"DATABASE_URL\"] = \"sqlite:///./test.db\"",
            ),
            fact(
                DatabaseRole::Deployed,
                "postgresql",
                "log dep-1-log-0008",
                "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
            ),
        ]);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.file.as_deref(), Some("backend/tests/conftest.py"));
        assert_eq!(f.line, Some(8));
        assert!(f
            .message
            .starts_with("the tests run on SQLite (backend/tests/conftest.py:8"));
        assert!(f.message.contains("log dep-1-log-0008"));
    }

    #[test]
    fn ok() {
        assert!(run(vec![
            fact(
                DatabaseRole::Test,
                "postgresql",
                "tests/conftest.py:3",
                "postgresql://t@localhost/t"
            ),
            fact(
                DatabaseRole::Deployed,
                "postgresql",
                "render.yaml:12",
                "fromDatabase:"
            ),
        ])
        .is_empty());
        // SQLite everywhere is consistent.
        assert!(run(vec![
            fact(DatabaseRole::Test, "sqlite", "pytest.ini:4", "sqlite://"),
            fact(
                DatabaseRole::Deployed,
                "sqlite",
                ".env:1",
                "DATABASE_URL=sqlite:///app.db"
            ),
        ])
        .is_empty());
    }
}
