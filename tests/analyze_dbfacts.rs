//! Database facts from a real directory tree (WorkDir over a temp dir) and from deploy logs,
//! redacted before storage, feeding `sqlite-tests-postgres-prod`.

use chrono::{TimeZone, Utc};
use postmortem::check::rules::sqlite_tests_postgres_prod::SqliteTestsPostgresProd;
use postmortem::check::{CheckContext, Rule, Severity};
use postmortem::collect::dbfacts;
use postmortem::evidence::{DatabaseRole, Evidence, LogLine, Service};
use postmortem::source::WorkDir;

fn write(root: &std::path::Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "backend/tests/conftest.py",
        "import os\n# os.environ['DATABASE_URL'] = 'postgresql://x@h/db'\nos.environ[\"DATABASE_URL\"] = \"sqlite:///./test.db\"\n",
    );
    write(
        root,
        "backend/.env",
        "DATABASE_URL=postgresql://app:hunter2@dpg-abc.oregon-postgres.render.com/app\n",
    );
    write(
        root,
        "backend/alembic/versions/36b3e62b4148_add_deals.py",
        "import sqlalchemy as sa\nfrom alembic import op\n\ndef upgrade():\n    op.alter_column('users', 'id', type_=sa.String(36), postgresql_using='id::text')\n",
    );
    write(root, "backend/app/main.py", "DATABASE = 'sqlite://'\n");
    write(root, "render.yaml", "services:\n  - type: web\n    envVars:\n      - key: DATABASE_URL\n        fromDatabase:\n          name: db\n");
    dir
}

#[test]
fn facts_from_files_and_logs_are_role_tagged_cited_and_redacted() {
    let dir = repo();
    let mut evidence = Evidence::new(Service::default());
    evidence.logs.push(LogLine {
        id: "log-8".to_string(),
        timestamp: Utc
            .with_ymd_and_hms(2025, 11, 10, 15, 44, 0)
            .single()
            .unwrap(),
        message: "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.".to_string(),
        deploy_id: Some("dep-1".to_string()),
        labels: Default::default(),
    });
    dbfacts::collect(&WorkDir::new(dir.path()), &mut evidence);
    let facts: Vec<(DatabaseRole, &str, &str)> = evidence
        .database_facts
        .iter()
        .map(|f| (f.role, f.engine.as_str(), f.source.as_str()))
        .collect();
    assert_eq!(
        facts,
        vec![
            (DatabaseRole::Test, "sqlite", "backend/tests/conftest.py:3"),
            (DatabaseRole::Deployed, "postgresql", "backend/.env:1"),
            (
                DatabaseRole::Deployed,
                "postgresql",
                "backend/alembic/versions/36b3e62b4148_add_deals.py:5"
            ),
            (DatabaseRole::Deployed, "postgresql", "log log-8"),
            (DatabaseRole::Deployed, "postgresql", "render.yaml:5"),
        ]
    );
    let env = evidence
        .database_facts
        .iter()
        .find(|f| f.source == "backend/.env:1")
        .unwrap();
    assert_eq!(
        env.text,
        "DATABASE_URL=postgresql://app:[REDACTED:database-url-password]@dpg-abc.oregon-postgres.render.com/app"
    );
    assert_eq!(evidence.redactions.get("database-url-password"), Some(&1));
    assert!(evidence.notes.is_empty());

    let findings = SqliteTestsPostgresProd.check(&CheckContext::new(&evidence, None));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert_eq!(
        findings[0].file.as_deref(),
        Some("backend/tests/conftest.py")
    );
    assert_eq!(findings[0].line, Some(3));
    assert!(!findings[0].message.contains("hunter2"));
}

#[test]
fn an_unreadable_tree_becomes_a_note() {
    let mut evidence = Evidence::new(Service::default());
    dbfacts::collect(
        &WorkDir::new("/nonexistent/postmortem-test-dir"),
        &mut evidence,
    );
    assert!(evidence.database_facts.is_empty());
    assert_eq!(evidence.notes.len(), 1);
    assert_eq!(evidence.notes[0].source, "dbfacts");
}
