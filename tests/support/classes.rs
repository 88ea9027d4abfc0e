//! Failed deploys of every common kind, as raw facts: a git repository (git2) whose commits
//! change what each kind depends on, and what Render saw (deploys, events and logs shaped as
//! `reference/render-api.md` describes), with log text from real tool output captured in
//! `tests/fixtures/logs/` (see its README). Nothing here is a conclusion: the tool has to find
//! the cause commit, the first real error, the recovery and the fix itself.
//!
//! Include it next to `seed.rs` (`#[path = "support/seed.rs"] mod seed;`): it reuses its git
//! and ID helpers.
#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::seed::{commit_files, iso, render_id, RenderData};

pub const SERVICE_ID: &str = "srv-cls0000000000000000a";
pub const SERVICE_NAME: &str = "billing-api";
pub const OWNER_ID: &str = "tea-cls0000000000000000b";
pub const API_KEY: &str = "rnd_ClassesExampleKeyN0tReal00";

const PIP_CONFLICT: &str = include_str!("../fixtures/logs/build_pip_resolution_impossible.txt");
const GUNICORN_404: &str = include_str!("../fixtures/logs/health_gunicorn_404.txt");
const KEYERROR: &str = include_str!("../fixtures/logs/start_keyerror_env.txt");
const NOT_NULL: &str = include_str!("../fixtures/logs/n3_notnull_nodefault.txt");
const N3_BASE: &str =
    include_str!("../fixtures/migrations/neighbours/n3_notnull_nodefault/aaaa00000001_base.py");
const N3_CASE: &str =
    include_str!("../fixtures/migrations/neighbours/n3_notnull_nodefault/bbbb00000002_case.py");

/// The failure classes the end-to-end tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    BuildConflict,
    Oom,
    HealthCheck,
    MissingEnv,
    NotNull,
    /// The missing-env failure, then a rollback to the last good deploy.
    Rollback,
}

/// How one deploy ends.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Live,
    BuildFailed,
    /// `update_failed` with `nonZeroExit`.
    Exit(i64),
    /// `update_failed`, the new instance OOM-killed at this limit.
    Oom(&'static str),
    /// `update_failed` after Render's start timeout (no healthy answer).
    TimedOut(i64),
}

struct Plan {
    commit: usize,
    at: DateTime<Utc>,
    trigger: &'static str,
    outcome: Outcome,
    /// `(type label, text)` of the deploy's log lines.
    logs: Option<(&'static str, String)>,
    rollback_to: Option<usize>,
}

pub struct Scenario {
    pub commits: Vec<String>,
    pub render: RenderData,
    pub now: DateTime<Utc>,
    /// Render's deploy IDs, in plan order (the last good deploy first).
    pub deploys: Vec<String>,
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, m, s)
        .single()
        .expect("valid time")
}

/// A capture's lines as a deploy log: the capture script's `$ command` and `exit=N` lines are
/// not program output, and Render prints none of them.
fn program_output(capture: &str) -> String {
    capture
        .lines()
        .filter(|l| !l.starts_with("exit=") && !l.starts_with("$ "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

const MAIN_PY: &str = "from app import settings\n\n\ndef app(environ, start_response):\n    if environ.get(\"PATH_INFO\") == \"/health\":\n        start_response(\"200 OK\", [(\"Content-Type\", \"application/json\")])\n        return [b'{\"status\":\"ok\"}']\n    start_response(\"404 Not Found\", [])\n    return [b\"\"]\n";
const SETTINGS_PY: &str = "import os\n\nDATABASE_URL = os.environ[\"DATABASE_URL\"]\n";
const RENDER_YAML: &str = "services:\n  - type: web\n    name: billing-api\n    runtime: python\n    buildCommand: pip install -r requirements.txt\n    startCommand: gunicorn app.main:app --bind 0.0.0.0:$PORT --access-logfile -\n    healthCheckPath: /health\n";
const REQUIREMENTS: &str = "fastapi==0.115.0\ngunicorn==23.0.0\n";

fn initial_files(class: Class) -> Vec<(String, String)> {
    let mut out = files(&[
        ("app/__init__.py", ""),
        ("app/main.py", MAIN_PY),
        ("app/settings.py", SETTINGS_PY),
        ("render.yaml", RENDER_YAML),
        ("requirements.txt", REQUIREMENTS),
        ("README.md", "# billing-api\n"),
    ]);
    if class == Class::NotNull {
        out.extend(files(&[
            ("alembic.ini", "[alembic]\nscript_location = migrations\n"),
            ("migrations/env.py", "from alembic import context\n"),
            ("migrations/versions/aaaa00000001_base.py", N3_BASE),
        ]));
    }
    out
}

/// Later commits: `(minutes after 09:00, message, files)`; the first changes what fails, the
/// last is an innocent tip (for the build and OOM cases, a migration: it must not be blamed).
/// Minutes after 09:00, message, files.
type LaterCommit = (u32, &'static str, Vec<(String, String)>);

fn later_commits(class: Class) -> Vec<LaterCommit> {
    let innocent_migration = (
        40,
        "Add invoices.note column\n",
        files(&[(
            "migrations/versions/cccc00000003_invoice_note.py",
            "\"\"\"invoice note\n\nRevision ID: cccc00000003\nRevises:\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = \"cccc00000003\"\ndown_revision = None\n\n\ndef upgrade() -> None:\n    op.add_column(\"invoices\", sa.Column(\"note\", sa.Text(), nullable=True))\n",
        )]),
    );
    match class {
        Class::BuildConflict => vec![
            (
                10,
                "Pin starlette 0.27 for the websocket fix\n",
                files(&[("requirements.txt", "fastapi==0.115.0\nstarlette==0.27.0\n")]),
            ),
            innocent_migration,
        ],
        Class::Oom => vec![
            (
                10,
                "Semantic search with sentence-transformers\n",
                files(&[
                    ("requirements.txt", "fastapi==0.115.0\ngunicorn==23.0.0\nsentence-transformers==3.3.1\n"),
                    ("app/search.py", "from sentence_transformers import SentenceTransformer\n\nmodel = SentenceTransformer(\"all-MiniLM-L6-v2\")\n"),
                ]),
            ),
            innocent_migration,
        ],
        Class::HealthCheck => vec![
            (
                10,
                "Serve the API under /api\n",
                files(&[(
                    "render.yaml",
                    "services:\n  - type: web\n    name: billing-api\n    runtime: python\n    buildCommand: pip install -r requirements.txt\n    startCommand: gunicorn app.main:app --bind 0.0.0.0:$PORT --access-logfile - --env SCRIPT_NAME=/api\n    healthCheckPath: /health\n",
                )]),
            ),
            (40, "Fix a typo in the README\n", files(&[("README.md", "# billing-api\n\nThe billing API.\n")])),
        ],
        Class::MissingEnv | Class::Rollback => vec![
            (
                10,
                "Charge cards through Stripe\n",
                files(&[
                    ("app/settings.py", "import os\n\nDATABASE_URL = os.environ[\"DATABASE_URL\"]\nSTRIPE_API_KEY = os.environ[\"STRIPE_API_KEY\"]\n"),
                    ("app/billing.py", "from app import settings\n\n\ndef charge(amount):\n    return settings.STRIPE_API_KEY, amount\n"),
                ]),
            ),
            (40, "Bump the version to 1.4.1\n", files(&[("app/version.py", "VERSION = \"1.4.1\"\n")])),
        ],
        Class::NotNull => vec![
            (
                10,
                "Tenants: users.tenant_id\n",
                files(&[("migrations/versions/bbbb00000002_case.py", N3_CASE)]),
            ),
            (40, "Log requests at INFO\n", files(&[("app/logging.py", "LEVEL = \"INFO\"\n")])),
        ],
    }
}

fn plan(class: Class) -> Vec<Plan> {
    let good = Plan {
        commit: 0,
        at: at(8, 0, 0),
        trigger: "new_commit",
        outcome: Outcome::Live,
        logs: None,
        rollback_to: None,
    };
    let failing =
        |commit: usize, m: u32, outcome: Outcome, logs: Option<(&'static str, String)>| Plan {
            commit,
            at: at(9, m + 2, 0),
            trigger: "new_commit",
            outcome,
            logs,
            rollback_to: None,
        };
    let both = |outcome: Outcome, logs: Option<(&'static str, String)>| {
        vec![
            failing(1, 10, outcome.clone(), logs.clone()),
            failing(2, 40, outcome, logs),
        ]
    };
    let mut out = vec![good];
    match class {
        Class::BuildConflict => out.extend(both(
            Outcome::BuildFailed,
            Some(("build", program_output(PIP_CONFLICT))),
        )),
        Class::Oom => {
            // The server starts (gunicorn's real start-up lines), then Render's closing line;
            // Render's reference gives no OOM log text, so the OOM is in the events only.
            let startup: Vec<&str> = GUNICORN_404.lines().take(4).collect();
            let text = format!("{}\n==> Deploy failed", startup.join("\n"));
            out.extend(both(Outcome::Oom("512Mi"), Some(("app", text))));
        }
        Class::HealthCheck => {
            let text: Vec<&str> = GUNICORN_404
                .lines()
                .filter(|l| {
                    !l.contains("Handling signal")
                        && !l.contains("exiting")
                        && !l.contains("Shutting down")
                })
                .collect();
            out.extend(both(Outcome::TimedOut(900), Some(("app", text.join("\n")))));
        }
        Class::MissingEnv => out.extend(both(
            Outcome::Exit(3),
            Some(("app", program_output(KEYERROR))),
        )),
        Class::Rollback => {
            out.extend(both(
                Outcome::Exit(3),
                Some(("app", program_output(KEYERROR))),
            ));
            out.push(Plan {
                commit: 0,
                at: at(10, 5, 0),
                trigger: "rollback",
                outcome: Outcome::Live,
                logs: None,
                rollback_to: Some(0),
            });
        }
        Class::NotNull => {
            // The second run of the capture: `alembic upgrade head` failing at bbbb00000002.
            let second = NOT_NULL
                .split("$ alembic upgrade head")
                .nth(1)
                .unwrap_or(NOT_NULL);
            out.extend(both(
                Outcome::Exit(1),
                Some(("app", program_output(second))),
            ));
        }
    }
    out
}

/// Builds the class's repository in `dir` (which must be empty) and Render's data for it.
pub fn build(class: Class, dir: &Path) -> Scenario {
    let repo = git2::Repository::init(dir).expect("git init");
    let mut shas = vec![commit_files(
        &repo,
        &initial_files(class),
        at(7, 30, 0),
        "billing-api: invoices and health check\n",
    )
    .to_string()];
    let mut messages = vec!["billing-api: invoices and health check\n".to_string()];
    for (minute, message, changed) in later_commits(class) {
        shas.push(commit_files(&repo, &changed, at(9, minute, 0), message).to_string());
        messages.push(message.to_string());
    }

    let key = format!("{class:?}");
    let mut deploys = Vec::new();
    let mut events = Vec::new();
    let mut logs = Vec::new();
    let mut ids = Vec::new();
    let plans = plan(class);
    for n in 0..plans.len() {
        ids.push(render_id("dep-", &format!("{key}-deploy-{n}")));
    }
    for (n, p) in plans.iter().enumerate() {
        let deploy_id = ids[n].clone();
        let build_id = render_id("bld-", &format!("{key}-build-{n}"));
        let sha = &shas[p.commit];
        let started = p.at + Duration::seconds(1);
        let built = p.at + Duration::seconds(70);
        let finished = match p.outcome {
            Outcome::BuildFailed => built,
            Outcome::TimedOut(s) => built + Duration::seconds(s + 1),
            Outcome::Oom(_) => built + Duration::seconds(40),
            Outcome::Exit(_) => built + Duration::seconds(20),
            Outcome::Live => built + Duration::seconds(60),
        };
        let status = match p.outcome {
            Outcome::Live => "live",
            Outcome::BuildFailed => "build_failed",
            _ => "update_failed",
        };
        // Only the newest live deploy stays live; older ones were superseded.
        let superseded =
            p.outcome == Outcome::Live && plans[n + 1..].iter().any(|q| q.outcome == Outcome::Live);
        deploys.push(json!({
            "id": deploy_id,
            "commit": {"id": sha, "message": messages[p.commit], "createdAt": iso(p.at - Duration::seconds(60))},
            "status": if superseded { "deactivated" } else { status },
            "trigger": p.trigger,
            "createdAt": iso(p.at),
            "startedAt": iso(started),
            "updatedAt": iso(finished),
            "finishedAt": iso(finished),
        }));
        let mut trigger = json!({
            "firstBuild": false, "envUpdated": false, "manual": false,
            "deployedByRender": false, "clearCache": false,
            "rollback": p.rollback_to.is_some(),
        });
        if p.trigger == "new_commit" {
            trigger["newCommit"] = json!(sha);
        }
        if let Some(target) = p.rollback_to {
            trigger["rollbackTargetDeployId"] = json!(ids[target]);
        }
        let event = |kind: &str, t: DateTime<Utc>, details: Value| {
            json!({
                "id": render_id("evt-", &format!("{key}-{kind}-{n}")),
                "timestamp": iso(t),
                "serviceId": SERVICE_ID,
                "type": kind,
                "details": details,
            })
        };
        events.push(event(
            "build_started",
            started,
            json!({"buildId": build_id, "trigger": trigger}),
        ));
        if p.outcome == Outcome::BuildFailed {
            events.push(event(
                "build_ended",
                built,
                json!({"buildId": build_id, "buildStatus": "failed", "reason": {"failure": {"evicted": false, "nonZeroExit": 1}}, "status": 3}),
            ));
        } else {
            events.push(event(
                "build_ended",
                built,
                json!({"buildId": build_id, "buildStatus": "succeeded", "reason": {}, "status": 2}),
            ));
            events.push(event(
                "deploy_started",
                built + Duration::seconds(1),
                json!({"deployId": deploy_id, "trigger": trigger}),
            ));
            let instance = format!(
                "{SERVICE_ID}-{}",
                &render_id("", &format!("{key}-inst-{n}"))[..5]
            );
            let failure = match p.outcome {
                Outcome::Exit(code) => Some(json!({"evicted": false, "nonZeroExit": code})),
                Outcome::Oom(limit) => {
                    events.push(event(
                        "server_failed",
                        finished - Duration::seconds(5),
                        json!({"instanceID": instance, "reason": {"evicted": false, "oomKilled": {"memoryLimit": limit}}}),
                    ));
                    Some(json!({"evicted": false, "oomKilled": {"memoryLimit": limit}}))
                }
                Outcome::TimedOut(s) => Some(json!({"evicted": false, "timedOutSeconds": s})),
                _ => None,
            };
            match failure {
                Some(f) => events.push(event(
                    "deploy_ended",
                    finished,
                    json!({"deployId": deploy_id, "deployStatus": "failed", "reason": {"failure": f}, "status": 3}),
                )),
                None => events.push(event(
                    "deploy_ended",
                    finished,
                    json!({"deployId": deploy_id, "deployStatus": "succeeded", "reason": {}, "status": 2}),
                )),
            }
        }
        if let Some((kind, text)) = &p.logs {
            let start = if *kind == "build" {
                started + Duration::seconds(2)
            } else {
                built + Duration::seconds(3)
            };
            let lines: Vec<&str> = text.lines().collect();
            let span = (finished - start).num_milliseconds().max(1);
            let step = (span / (lines.len() as i64 + 1)).clamp(1, 20_000);
            let instance = format!(
                "{SERVICE_ID}-{}",
                &render_id("", &format!("{key}-inst-{n}"))[..5]
            );
            for (i, line) in lines.iter().enumerate() {
                let mut labels = vec![json!({"name": "resource", "value": SERVICE_ID})];
                if *kind == "app" && !line.starts_with("==> ") {
                    labels.push(json!({"name": "instance", "value": instance}));
                }
                labels.push(json!({"name": "type", "value": kind}));
                logs.push(json!({
                    "id": render_id("log-", &format!("{key}-{n}-{i}")),
                    "message": line,
                    "timestamp": iso(start + Duration::milliseconds(step * i as i64)),
                    "labels": labels,
                }));
            }
        }
    }

    let services = vec![json!({
        "id": SERVICE_ID,
        "name": SERVICE_NAME,
        "ownerId": OWNER_ID,
        "type": "web_service",
        "createdAt": "2026-10-01T12:00:00Z",
        "updatedAt": iso(at(10, 30, 0)),
        "dashboardUrl": format!("https://dashboard.render.com/web/{SERVICE_ID}"),
        "suspended": "not_suspended",
        "suspenders": [],
        "autoDeploy": "yes",
        "notifyOnFail": "default",
        "slug": SERVICE_NAME,
        "rootDir": "",
        "repo": "https://github.com/example/billing-api",
        "branch": "main",
        "serviceDetails": {
            "env": "python",
            "runtime": "python",
            "plan": "starter",
            "region": "oregon",
            "numInstances": 1,
            "url": format!("https://{SERVICE_NAME}.onrender.com"),
            "healthCheckPath": "/health",
            "envSpecificDetails": {
                "buildCommand": "pip install -r requirements.txt",
                "startCommand": "gunicorn app.main:app --bind 0.0.0.0:$PORT --access-logfile -",
            },
        },
    })];

    Scenario {
        commits: shas,
        render: RenderData {
            services,
            deploys,
            events,
            logs,
        },
        now: at(11, 0, 0),
        deploys: ids,
    }
}
