//! Log forensics on real Alembic/PostgreSQL output (tests/fixtures/logs, copied from the
//! reference captures): each capture becomes one LogLine per line, as Render sends them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use postmortem::analyze::logs::{is_migration_failure, parse_deploy_logs};
use postmortem::analyze::LogFailure;
use postmortem::evidence::{Evidence, LogLine, Service};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 10, 15, 43, 0)
        .single()
        .unwrap()
}

fn capture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/logs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn lines(deploy: &str, text: &str, start: DateTime<Utc>) -> Vec<LogLine> {
    text.lines()
        .enumerate()
        .map(|(i, line)| LogLine {
            id: format!("{deploy}-log-{i:04}"),
            timestamp: start + Duration::milliseconds(10 * i as i64),
            message: line.to_string(),
            deploy_id: Some(deploy.to_string()),
            labels: Default::default(),
        })
        .collect()
}

fn parse(name: &str) -> Option<LogFailure> {
    let mut evidence = Evidence::new(Service::default());
    evidence.logs = lines("dep-1", &capture(name), t0());
    let mut failures = parse_deploy_logs(&evidence);
    assert!(failures.len() <= 1);
    failures.pop()
}

#[test]
fn entrypoint_wrong_order_shows_the_revision_the_db_error_and_the_frame() {
    let f = parse("entrypoint_wrong.txt").expect("a failure");
    assert_eq!(f.deploy_id.as_deref(), Some("dep-1"));
    assert_eq!(f.revision.as_deref(), Some("36b3e62b4148"));
    assert_eq!(f.from_revision.as_deref(), Some("a1b2c3d4e5f6"));
    assert!(f
        .revision_message
        .as_deref()
        .unwrap()
        .starts_with("add deals and pipeline stages tables"));
    assert_eq!(
        f.exception.as_deref(),
        Some("sqlalchemy.exc.ProgrammingError")
    );
    assert_eq!(
        f.db_error.as_deref(),
        Some("psycopg2.errors.DatatypeMismatch")
    );
    assert_eq!(
        f.error_message.as_deref(),
        Some("foreign key constraint \"deals_owner_id_fkey\" cannot be implemented")
    );
    assert_eq!(
        f.detail.as_deref(),
        Some("Key columns \"owner_id\" and \"id\" are of incompatible types: character varying and uuid.")
    );
    let sql = f.sql.as_deref().unwrap();
    assert!(sql.starts_with("CREATE TABLE deals ("), "{sql}");
    assert!(
        sql.contains("FOREIGN KEY(owner_id) REFERENCES users (id)"),
        "{sql}"
    );
    assert!(sql.ends_with(')'), "{sql}");
    assert_eq!(
        f.file.as_deref(),
        Some(
            "/app/backend/migrations/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py"
        )
    );
    assert_eq!(f.line, Some(33));
    assert_eq!(f.exit_code, Some(1));
    assert_eq!(f.alembic_error, None);
    // The cited line is the final exception of the chained traceback.
    let text = capture("entrypoint_wrong.txt");
    let index = text
        .lines()
        .position(|l| l.starts_with("sqlalchemy.exc.ProgrammingError"))
        .unwrap();
    assert_eq!(f.log_id, format!("dep-1-log-{index:04}"));
    assert!(is_migration_failure(&f));
}

#[test]
fn entrypoint_correct_shows_no_failure() {
    assert_eq!(parse("entrypoint_correct.txt"), None);
}

#[test]
fn fk_int_varchar_after_a_successful_first_command() {
    let f = parse("n1_fk_int_varchar.txt").unwrap();
    assert_eq!(f.revision.as_deref(), Some("bbbb00000002"));
    assert_eq!(f.from_revision.as_deref(), Some("aaaa00000001"));
    assert_eq!(
        f.db_error.as_deref(),
        Some("psycopg2.errors.DatatypeMismatch")
    );
    assert_eq!(
        f.file.as_deref(),
        Some("/app/n1_fk_int_varchar/migrations/versions/bbbb00000002_case.py")
    );
    assert_eq!(f.line, Some(17));
    assert_eq!(f.exit_code, Some(1));
    assert!(f.sql.unwrap().starts_with("CREATE TABLE deal_tags ("));
}

#[test]
fn alter_referenced_column_one_line_sql() {
    let f = parse("n2_alter_referenced.txt").unwrap();
    assert_eq!(f.revision.as_deref(), Some("cccc00000003"));
    assert_eq!(f.line, Some(16));
    assert_eq!(
        f.sql.as_deref(),
        Some("ALTER TABLE users ALTER COLUMN id TYPE VARCHAR(36) USING id::text")
    );
    assert_eq!(
        f.detail.as_deref(),
        Some("Key columns \"owner_id\" and \"id\" are of incompatible types: uuid and character varying.")
    );
}

#[test]
fn not_null_table_exists_and_missing_column_errors() {
    let n3 = parse("n3_notnull_nodefault.txt").unwrap();
    assert_eq!(
        n3.exception.as_deref(),
        Some("sqlalchemy.exc.IntegrityError")
    );
    assert_eq!(
        n3.db_error.as_deref(),
        Some("psycopg2.errors.NotNullViolation")
    );
    assert_eq!(n3.detail, None);
    assert_eq!(
        n3.sql.as_deref(),
        Some("ALTER TABLE users ADD COLUMN tenant_id VARCHAR(36) NOT NULL")
    );

    let n4 = parse("n4_table_exists.txt").unwrap();
    assert_eq!(
        n4.db_error.as_deref(),
        Some("psycopg2.errors.DuplicateTable")
    );
    assert_eq!(
        n4.error_message.as_deref(),
        Some("relation \"users\" already exists")
    );

    let n5 = parse("n5_drop_missing_column.txt").unwrap();
    assert_eq!(
        n5.db_error.as_deref(),
        Some("psycopg2.errors.UndefinedColumn")
    );
    assert_eq!(n5.revision.as_deref(), Some("bbbb00000002"));
    assert_eq!(n5.exit_code, Some(1));
}

#[test]
fn two_heads_is_an_alembic_error_with_exit_255() {
    let f = parse("n6_two_heads.txt").unwrap();
    assert!(f
        .alembic_error
        .as_deref()
        .unwrap()
        .starts_with("Multiple head revisions are present for given argument 'head'"));
    assert_eq!(f.exit_code, Some(255));
    assert_eq!(f.revision, None);
    assert_eq!(f.exception, None);
    assert!(is_migration_failure(&f));
}

#[test]
fn missing_down_revision_names_the_broken_revision() {
    let f = parse("n7_missing_down_revision.txt").unwrap();
    assert_eq!(f.exception.as_deref(), Some("KeyError"));
    assert_eq!(f.revision.as_deref(), Some("cccc00000003"));
    let err = f.alembic_error.as_deref().unwrap();
    assert!(
        err.contains("deadbeef0000") && err.contains("cccc00000003"),
        "{err}"
    );
    assert_eq!(f.exit_code, Some(1));
    // Frames inside alembic's own package are not migration files.
    assert_eq!(f.file, None);
}

#[test]
fn database_at_unknown_revision() {
    let f = parse("n8_db_revision_not_in_scripts.txt").unwrap();
    assert_eq!(
        f.alembic_error.as_deref(),
        Some("Can't locate revision identified by 'ffff99999999'")
    );
    assert_eq!(f.exit_code, Some(255));
}

#[test]
fn lines_are_grouped_per_deploy_and_read_in_time_order() {
    let mut evidence = Evidence::new(Service::default());
    let mut a = lines("dep-a", &capture("entrypoint_wrong.txt"), t0());
    let b = lines(
        "dep-b",
        &capture("n6_two_heads.txt"),
        t0() + Duration::minutes(5),
    );
    // Shuffled: the parser must not rely on the evidence's order.
    a.reverse();
    evidence.logs.extend(a);
    evidence.logs.extend(b);
    let failures = parse_deploy_logs(&evidence);
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].deploy_id.as_deref(), Some("dep-a"));
    assert_eq!(failures[0].revision.as_deref(), Some("36b3e62b4148"));
    assert_eq!(failures[1].deploy_id.as_deref(), Some("dep-b"));
    assert!(failures[1].alembic_error.is_some());
}

#[test]
fn crash_loop_reports_the_first_failure_block() {
    let mut evidence = Evidence::new(Service::default());
    let text = capture("entrypoint_wrong.txt");
    evidence.logs = lines("dep-1", &format!("{text}\n{text}"), t0());
    let failures = parse_deploy_logs(&evidence);
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0]
            .timestamp
            .map(|t| t < t0() + Duration::seconds(1)),
        Some(true)
    );
}

#[test]
fn render_pipeline_lines_and_shell_errors() {
    let text = "==> Deploying...\n==> Running 'sh entrypoint.sh'\n/app/entrypoint.sh: line 40: alembic: not found\n==> Exited with status 127\n";
    let mut evidence = Evidence::new(Service::default());
    evidence.logs = lines("dep-1", text, t0());
    let f = parse_deploy_logs(&evidence).pop().unwrap();
    assert_eq!(f.script.as_deref(), Some("/app/entrypoint.sh"));
    assert_eq!(f.script_line, Some(40));
    assert_eq!(f.error_message.as_deref(), Some("alembic: not found"));
    assert_eq!(f.exit_code, Some(127));
    assert_eq!(f.pipeline_error.as_deref(), Some("Exited with status 127"));
    assert!(!is_migration_failure(&f));

    let oom = "==> Deploying...\n==> Out of memory (used over 512Mi)\n";
    evidence.logs = lines("dep-2", oom, t0());
    let f = parse_deploy_logs(&evidence).pop().unwrap();
    assert_eq!(
        f.pipeline_error.as_deref(),
        Some("Out of memory (used over 512Mi)")
    );
    assert!(!is_migration_failure(&f));
}

#[test]
fn an_exception_after_the_migrations_is_the_applications() {
    let text = "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Running upgrade a -> b, add x\n==> Migrations complete\n==> Starting uvicorn\nTraceback (most recent call last):\n  File \"/app/app/main.py\", line 3, in <module>\nModuleNotFoundError: No module named 'stripe'\nexit status: 1\n";
    let mut evidence = Evidence::new(Service::default());
    evidence.logs = lines("dep-1", text, t0());
    let f = parse_deploy_logs(&evidence).pop().unwrap();
    assert_eq!(f.revision, None);
    assert_eq!(f.exception.as_deref(), Some("ModuleNotFoundError"));
    assert!(!is_migration_failure(&f));
}

/// A capture as Render would send it: the capture script's `exit=N` and `$ command` lines are
/// not program output.
fn program(name: &str) -> String {
    capture(name)
        .lines()
        .filter(|l| !l.starts_with("exit=") && !l.starts_with("$ "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_text(text: &str, health: Option<&str>) -> LogFailure {
    let mut evidence = Evidence::new(Service {
        health_check_path: health.map(str::to_string),
        ..Default::default()
    });
    evidence.logs = lines("dep-1", text, t0());
    parse_deploy_logs(&evidence).pop().expect("a failure")
}

#[test]
fn pip_resolution_impossible_shows_pips_first_complaint_and_the_conflict() {
    let f = parse_text(&program("build_pip_resolution_impossible.txt"), None);
    assert_eq!(f.error_class.as_deref(), Some("resolver"));
    assert_eq!(
        f.first_error.as_deref(),
        Some("ERROR: Cannot install -r requirements.txt (line 1) and starlette==0.27.0 because these package versions have conflicting dependencies.")
    );
    assert_eq!(
        f.conflict,
        [
            "The user requested starlette==0.27.0",
            "fastapi 0.115.0 depends on starlette<0.39.0 and >=0.37.2"
        ]
    );
    assert_eq!(f.manifest.as_deref(), Some("requirements.txt"));
    assert_eq!(f.manifest_line, Some(2));
}

#[test]
fn a_404_on_the_health_path_is_the_error_for_gunicorn_and_uvicorn() {
    for name in ["health_gunicorn_404.txt", "health_uvicorn_404.txt"] {
        let f = parse_text(&program(name), Some("/health"));
        assert_eq!(f.error_class.as_deref(), Some("health_check"), "{name}");
        assert_eq!(f.request_path.as_deref(), Some("/health"), "{name}");
        assert_eq!(f.request_status, Some(404), "{name}");
        assert_eq!(f.listen_port, Some(10000), "{name}");
        assert!(f
            .first_error
            .unwrap()
            .contains("\"GET /health HTTP/1.1\" 404"));
    }
    // A 404 elsewhere is not the health check's.
    let text = "127.0.0.1 - - [02/Dec/2026:12:05:41 +0000] \"GET /favicon.ico HTTP/1.1\" 404 22 \"-\" \"curl/7.88.1\"";
    let mut evidence = Evidence::new(Service {
        health_check_path: Some("/health".into()),
        ..Default::default()
    });
    evidence.logs = lines("dep-1", text, t0());
    assert!(parse_deploy_logs(&evidence).is_empty());
}

#[test]
fn a_missing_environment_variable_names_the_variable_and_the_apps_frame() {
    let f = parse_text(&program("start_keyerror_env.txt"), None);
    assert_eq!(f.error_class.as_deref(), Some("missing_env"));
    assert_eq!(f.env_var.as_deref(), Some("STRIPE_API_KEY"));
    assert_eq!(f.first_error.as_deref(), Some("KeyError: 'STRIPE_API_KEY'"));
    assert_eq!(f.app_file.as_deref(), Some("/app/app/settings.py"));
    assert_eq!(f.app_line, Some(4));
    assert_eq!(
        f.app_source.as_deref(),
        Some("STRIPE_API_KEY = os.environ[\"STRIPE_API_KEY\"]")
    );
    assert_eq!(f.exit_code, Some(3));
    assert!(!is_migration_failure(&f));
}

#[test]
fn node_missing_module_and_exec_format_error() {
    let f = parse_text(&program("start_node_cannot_find_module.txt"), None);
    assert_eq!(f.error_class.as_deref(), Some("module_not_found"));
    assert_eq!(f.missing_module.as_deref(), Some("express"));
    assert_eq!(
        f.first_error.as_deref(),
        Some("Error: Cannot find module 'express'")
    );

    let f = parse_text(&program("start_exec_format_error.txt"), None);
    assert_eq!(f.error_class.as_deref(), Some("exec_format"));
    assert_eq!(
        f.first_error.as_deref(),
        Some("OSError: [Errno 8] Exec format error")
    );
}

#[test]
fn renders_closing_lines_are_never_the_first_error() {
    // The closing lines after a real error, and alone.
    let text = format!(
        "{}\n==> Build failed 😞",
        program("build_pip_resolution_impossible.txt")
    );
    let f = parse_text(&text, None);
    assert!(f.first_error.unwrap().starts_with("ERROR: Cannot install"));
    for closing in [
        "==> Build failed 😞",
        "==> Deploy failed",
        "==> Exited with status 1",
    ] {
        let f = parse_text(closing, None);
        assert_eq!(f.first_error, None, "{closing}");
        assert!(!postmortem::deploylog::shows_real_error(&f), "{closing}");
    }
}

#[test]
fn the_not_null_migration_keeps_its_failing_source_line() {
    let f = parse("n3_notnull_nodefault.txt").expect("a failure");
    assert_eq!(f.revision.as_deref(), Some("bbbb00000002"));
    assert_eq!(
        f.db_error.as_deref(),
        Some("psycopg2.errors.NotNullViolation")
    );
    assert_eq!(
        f.source.as_deref(),
        Some("op.add_column(\"users\", sa.Column(\"tenant_id\", sa.String(length=36), nullable=False))")
    );
}

#[test]
fn a_c_extension_that_does_not_compile_shows_the_compilers_error() {
    let f = parse_text(&program("build_pip_compile_error.txt"), None);
    assert_eq!(f.error_class.as_deref(), Some("compile"));
    assert_eq!(
        f.first_error.as_deref(),
        Some("fastcrc.c:2:10: fatal error: zlib_ng.h: No such file or directory")
    );
}
