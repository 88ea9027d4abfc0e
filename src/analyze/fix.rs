//! The recommended fix for the top cause's class, computed from what the logs and the
//! analysis say (NOT NULL without a default, duplicate or missing objects, build conflicts and
//! compile errors, health checks, OOM, missing environment variables and modules, exec format
//! errors); a checklist where nothing can be computed.

use crate::analyze::correlate::short_sha;
use crate::analyze::{LogFailure, RecommendedFix, RootCause};
use crate::evidence::Evidence;

fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// The fix for the top cause's class: computed where the logs or the analysis allow it, else
/// a checklist of what to look at.
pub fn recommended_fix(
    evidence: &Evidence,
    cause: &RootCause,
    log_failures: &[LogFailure],
) -> RecommendedFix {
    let cited: Vec<&str> = cause.evidence.iter().map(|c| c.source.as_str()).collect();
    let mut logs: Vec<&LogFailure> = log_failures
        .iter()
        .filter(|f| f.deploy_id.as_deref().is_some_and(|d| cited.contains(&d)))
        .collect();
    logs.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.log_id.cmp(&b.log_id))
    });
    let log = logs.first().copied();
    let suspect = cause.suspect.as_ref().map(|s| {
        format!(
            "commit {} (\"{}\", {})",
            short_sha(&s.sha),
            s.summary,
            s.file
        )
    });
    let db = log.and_then(|l| l.db_error.as_deref()).unwrap_or_default();
    let message = log
        .and_then(|l| l.error_message.as_deref())
        .unwrap_or_default();

    if cause.kind == "migration" && db.ends_with("NotNullViolation") {
        // `column "tenant_id" of relation "users" contains null values`
        let names = quoted(message);
        let (column, table) = match names.as_slice() {
            [c, t, ..] => (c.clone(), t.clone()),
            _ => ("COLUMN".to_string(), "TABLE".to_string()),
        };
        let file = cause.file.clone().unwrap_or_default();
        let source = log
            .and_then(|l| l.sql.clone())
            .map(|s| format!("the migration runs `{s}`"))
            .unwrap_or_default();
        // The failing line as the traceback printed it, when it says `nullable=False`: the
        // fix keeps everything else of it (the type, the other arguments).
        let logged = log
            .and_then(|l| l.source.clone())
            .filter(|s| s.contains("nullable=False") && s.contains(&format!("\"{column}\"")));
        let (nullable, with_default) = match &logged {
            Some(line) => (
                line.replacen("nullable=False", "nullable=True", 1),
                line.replacen("nullable=False", "nullable=False, server_default=<value>", 1),
            ),
            None => (
                format!("op.add_column(\"{table}\", sa.Column(\"{column}\", <type>, nullable=True))"),
                format!("op.add_column(\"{table}\", sa.Column(\"{column}\", <type>, nullable=False, server_default=<value>))"),
            ),
        };
        let at = cause
            .line
            .map(|l| format!(", line {l}"))
            .unwrap_or_default();
        let code = format!(
            "# {file}{at}, upgrade(): add the column nullable, fill it, then make it NOT NULL\n{nullable}\nop.execute(\"UPDATE {table} SET {column} = <value> WHERE {column} IS NULL\")\nop.alter_column(\"{table}\", \"{column}\", nullable=False)\n\n# or, when one constant fits every existing row:\n{with_default}"
        );
        return RecommendedFix {
            kind: "not_null".to_string(),
            summary: format!(
                "{table} already has rows, so PostgreSQL cannot add {table}.{column} as NOT NULL without a value for them (SQLSTATE 23502){}. Add it in three steps (nullable, backfill, set NOT NULL) or give it a server_default.",
                if source.is_empty() { String::new() } else { format!("; {source}") }
            ),
            steps: vec![
                format!("Change revision {} in {file} as above.", cause.revision.as_deref().unwrap_or("?")),
                "Run `alembic upgrade head` against a copy of the production database (with rows), not an empty one.".to_string(),
                format!("Reverse it in `downgrade()`: `op.drop_column(\"{table}\", \"{column}\")`."),
            ],
            code: Some(code),
            lang: Some("python".to_string()),
            computed: true,
        };
    }
    if cause.kind == "migration"
        && (db.ends_with("DuplicateTable")
            || db.ends_with("DuplicateColumn")
            || db.ends_with("DuplicateObject")
            || db.ends_with("UndefinedColumn")
            || db.ends_with("UndefinedTable")
            || db.ends_with("UndefinedObject"))
    {
        let exists = db.contains("Duplicate");
        let statement = log
            .and_then(|l| l.sql.as_deref())
            .and_then(|s| s.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or_default()
            .to_string();
        return RecommendedFix {
            kind: if exists { "duplicate_object" } else { "missing_object" }.to_string(),
            summary: format!(
                "Revision {} runs `{statement}` but the database {} ({db}: {message}).",
                cause.revision.as_deref().unwrap_or("?"),
                if exists { "already has that object" } else { "does not have that object" }
            ),
            steps: vec![
                format!("Change that operation in {}{}: {}.", cause.file.as_deref().unwrap_or("the revision"), cause.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
                    if exists { "drop the duplicate creation, or guard it (`if not inspector.has_table(...)`), or stamp the revision the database already has" } else { "create the object first in an earlier revision, or remove the operation that assumes it" }),
                "Compare `alembic current` on the production database with the revision chain before deploying again.".to_string(),
            ],
            code: None,
            lang: None,
            computed: true,
        };
    }
    match cause.kind.as_str() {
        "build" if log.is_some_and(|l| l.error_class.as_deref() == Some("compile")) => {
            let l = log.expect("checked above");
            let error = l.first_error.clone().unwrap_or_default();
            RecommendedFix {
                kind: "compile".to_string(),
                summary: format!(
                    "A package is built from source during the build and its compiler fails{}.",
                    suspect
                        .as_deref()
                        .map(|s| format!(" since {s}"))
                        .unwrap_or_default()
                ),
                steps: vec![
                    "Pin a version of the package that ships a prebuilt wheel for the build's Python version and platform, so nothing is compiled.".to_string(),
                    "Or install what the compiler is missing (the header or library the error names) before the install, e.g. in the Dockerfile.".to_string(),
                    "Reproduce with the build command in a clean container of the same image.".to_string(),
                ],
                code: Some(error),
                lang: Some("text".to_string()),
                computed: true,
            }
        }
        "build" if log.is_some_and(|l| !l.conflict.is_empty()) => {
            let l = log.expect("checked above");
            let pin = l
                .manifest
                .as_deref()
                .map(|m| format!(" in {m}{}", l.manifest_line.map(|n| format!(" line {n}")).unwrap_or_default()))
                .unwrap_or_default();
            RecommendedFix {
                kind: "build_conflict".to_string(),
                summary: format!(
                    "pip cannot install the pinned versions together{}: change the pin{pin} so that it satisfies what the other package requires.",
                    suspect.as_deref().map(|s| format!(" since {s}")).unwrap_or_default()
                ),
                steps: vec![
                    format!("Change the pin{pin} to a version inside the range pip reports, or move the other package to a version that accepts it."),
                    "Run `pip install -r requirements.txt` in a fresh virtualenv (the build's command) until it resolves.".to_string(),
                ],
                code: Some(l.conflict.join("\n")),
                lang: Some("text".to_string()),
                computed: true,
            }
        }
        "health_check" | "timeout" if log.is_some_and(|l| l.request_path.is_some()) => {
            let l = log.expect("checked above");
            let path = evidence
                .service
                .health_check_path
                .clone()
                .or_else(|| l.request_path.clone())
                .unwrap_or_default();
            let port = l
                .listen_port
                .map(|p| format!("port {p} (the one it listens on; Render routes to the PORT variable)"))
                .unwrap_or_else(|| "the port in the PORT environment variable".to_string());
            RecommendedFix {
                kind: "health_check".to_string(),
                summary: format!(
                    "The new deploy answered {} on the health-check path `{path}`, and a Render deploy goes live only once its health check passes.",
                    l.request_status.unwrap_or_default()
                ),
                steps: vec![
                    format!("Serve `{path}` with a 200 on {port}{}.", suspect.as_deref().map(|s| format!(", as before {s}")).unwrap_or_default()),
                    format!("Or set the service's health-check path to where the app now serves it (render.yaml `healthCheckPath`, currently `{path}`)."),
                    format!("Check locally: start the service with its start command{} and `curl -i http://localhost:<port>{path}`.", evidence.service.start_command.as_deref().map(|c| format!(" (`{c}`)")).unwrap_or_default()),
                ],
                code: None,
                lang: None,
                computed: true,
            }
        }
        "oom" => {
            let limit = evidence
                .deploys
                .iter()
                .filter(|d| cited.contains(&d.id.as_str()))
                .filter_map(|d| d.failure.as_ref()?.reason.as_ref()?.oom_killed_memory_limit.clone())
                .next()
                .or_else(|| {
                    evidence
                        .events
                        .iter()
                        .filter(|e| cited.contains(&e.id.as_str()))
                        .find_map(|e| e.failure.as_ref()?.oom_killed_memory_limit.clone())
                });
            let limit_text = limit
                .as_deref()
                .map(|l| format!("the plan's memory limit of {l}"))
                .unwrap_or_else(|| "the plan's memory limit".to_string());
            RecommendedFix {
                kind: "oom".to_string(),
                summary: format!(
                    "The new instances were killed for exceeding {limit_text}{}.",
                    suspect.as_deref().map(|s| format!(" after {s}")).unwrap_or_default()
                ),
                steps: vec![
                    format!("Measure the start-up memory of the new version locally (e.g. `/usr/bin/time -v` on the start command) against {limit_text}."),
                    "Load the heavy dependency lazily, or use fewer workers (each gunicorn/uvicorn worker loads the app again), or move to a plan with more memory.".to_string(),
                ],
                code: None,
                lang: None,
                computed: true,
            }
        }
        _ if log.is_some_and(|l| l.error_class.as_deref() == Some("missing_env")) => {
            let l = log.expect("checked above");
            let var = l.env_var.clone().unwrap_or_default();
            let at = cause
                .suspect
                .as_ref()
                .map(|s| format!("{}{}", s.file, s.line.map(|n| format!(":{n}")).unwrap_or_default()))
                .or_else(|| l.app_file.clone())
                .unwrap_or_default();
            RecommendedFix {
                kind: "missing_env".to_string(),
                summary: format!(
                    "The app reads the environment variable {var} at start ({at}) and the service does not set it."
                ),
                steps: vec![
                    format!("Set {var} in the service's environment (the dashboard's Environment tab, or `envVars` in render.yaml) and redeploy."),
                    format!("Or give it a default where it is read: `os.environ.get(\"{var}\")` at {at}, and fail with a clear message only where it is used."),
                ],
                code: l
                    .app_source
                    .as_ref()
                    .map(|line| format!("# {at}: the line that fails\n{line}")),
                lang: Some("python".to_string()),
                computed: true,
            }
        }
        _ if log.is_some_and(|l| l.error_class.as_deref() == Some("module_not_found")) => {
            let l = log.expect("checked above");
            let module = l.missing_module.clone().unwrap_or_default();
            RecommendedFix {
                kind: "missing_module".to_string(),
                summary: format!("The start command cannot load `{module}`: it is not installed in the image the build produced."),
                steps: vec![
                    format!("Add `{module}` to the dependency manifest (requirements.txt / package.json) or fix the import path."),
                    "Check that the build command installs the manifest the start command relies on.".to_string(),
                ],
                code: None,
                lang: None,
                computed: true,
            }
        }
        _ if log.is_some_and(|l| l.error_class.as_deref() == Some("exec_format")) => RecommendedFix {
            kind: "exec_format".to_string(),
            summary: "The start command's executable is not one this machine can run (an image built for another CPU architecture, or a script without a `#!` line).".to_string(),
            steps: vec![
                "Build the image for linux/amd64 (`docker build --platform linux/amd64`).".to_string(),
                "Give start scripts a `#!/bin/sh` line and Unix line endings.".to_string(),
            ],
            code: None,
            lang: None,
            computed: true,
        },
        _ => RecommendedFix {
            kind: cause.kind.clone(),
            summary: "The evidence does not allow a computed fix; check, in order:".to_string(),
            steps: vec![
                format!("The first error in the failed deploys' logs{}.", log.and_then(|l| l.first_error.clone()).map(|e| format!(" (`{e}`)")).unwrap_or_default()),
                format!("What the suspect change did{}.", suspect.as_deref().map(|s| format!(": {s}")).unwrap_or_default()),
                "Whether the failing step passes locally with the same command and environment variables as on Render.".to_string(),
                "Whether a rollback to the last good deploy restores the service while the fix is prepared.".to_string(),
            ],
            code: None,
            lang: None,
            computed: false,
        },
    }
}
