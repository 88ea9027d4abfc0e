//! The seed incident (`shared/reference/seed-postmortem.md`) as raw facts: a git repository
//! whose `backend/alembic/versions` creates `deals` with a foreign key to `users.id` before
//! converting `users.id` from UUID to VARCHAR(36), two "fix" commits that name six migrations
//! which were never committed, and what Render saw: 14 failed deploys, their events
//! (`nonZeroExit: 1`) and the deploy log of the real failure.
//!
//! Shared by `examples/render_outage.rs` and the end-to-end tests through
//! `#[path = "../tests/support/seed.rs"]`; it depends on nothing but std, chrono, git2 and
//! serde_json. Nothing here is a conclusion: the tool has to find the root cause itself.
#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

pub const SERVICE_ID: &str = "srv-d3ii9qk9c44c73aqsli0";
pub const SERVICE_NAME: &str = "ma-saas-backend";
pub const OWNER_ID: &str = "tea-d3ii8ak9c44c73aqrb10";
pub const API_KEY: &str = "rnd_SeedExampleKeyN0tReal0000000";

// Copies of `shared/reference/alembic-postgres/wrong-order/`, with the reproduction's give-away
// hints ("WRONG ORDER", "users.id is still UUID here!") taken out of the docstring, comments and
// the matching `Running upgrade` log line: the tool must find the bug without them. Line numbers
// are unchanged, so the traceback's `line 33` still points at `op.create_table("deals", ...)`.
const MIGRATION_OLD: &str = include_str!("../fixtures/seed/a1b2c3d4e5f6_create_users.py");
const MIGRATION_WRONG: &str =
    include_str!("../fixtures/seed/36b3e62b4148_add_deals_and_pipeline_stages_tables.py");
const ENTRYPOINT: &str = include_str!("../fixtures/seed/entrypoint.sh");
/// Verbatim output of the entrypoint running the wrong migration against PostgreSQL 15.
const DEPLOY_LOG: &str = include_str!("../fixtures/seed/deploy_log.txt");

const VERSIONS: &str = "backend/alembic/versions";

/// Render's view of the incident, as bare API objects.
pub struct RenderData {
    pub services: Vec<Value>,
    pub deploys: Vec<Value>,
    pub events: Vec<Value>,
    pub logs: Vec<Value>,
}

pub struct Seed {
    /// Full SHAs of the commits, oldest first.
    pub commits: Vec<String>,
    pub render: RenderData,
    /// When the engineer ran the tool (the seed's "root cause identified" time).
    pub now: DateTime<Utc>,
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 10, h, m, s)
        .single()
        .expect("valid seed time")
}

struct SeedCommit {
    time: DateTime<Utc>,
    message: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// Files of the first commit: the service as it last deployed successfully.
fn initial_files() -> Vec<(String, String)> {
    vec![
        ("backend/alembic.ini".into(), "[alembic]\nscript_location = alembic\nsqlalchemy.url = driver://user:pass@localhost/dbname\n".into()),
        ("backend/alembic/env.py".into(), "from alembic import context\nfrom app.db import metadata\n\ntarget_metadata = metadata\n".into()),
        (format!("{VERSIONS}/a1b2c3d4e5f6_create_users.py"), MIGRATION_OLD.into()),
        ("backend/entrypoint.sh".into(), ENTRYPOINT.into()),
        ("backend/app/__init__.py".into(), String::new()),
        ("backend/app/main.py".into(), "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/health\")\ndef health():\n    return {\"status\": \"ok\"}\n".into()),
        ("backend/app/db.py".into(), "import os\n\nimport sqlalchemy as sa\n\nengine = sa.create_engine(os.environ[\"DATABASE_URL\"])\nmetadata = sa.MetaData()\n".into()),
        ("backend/tests/conftest.py".into(), "import os\n\nimport pytest\n\n# Fast, file-less test database.\nos.environ.setdefault(\"DATABASE_URL\", \"sqlite:///./test.db\")\n\n\n@pytest.fixture\ndef client():\n    from fastapi.testclient import TestClient\n    from app.main import app\n\n    return TestClient(app)\n".into()),
        ("backend/pytest.ini".into(), "[pytest]\ntestpaths = tests\n".into()),
        ("backend/.env.example".into(), "DATABASE_URL=postgresql://ma_saas:changeme-s3cret@localhost:5432/ma_saas\n".into()),
        ("render.yaml".into(), "services:\n  - type: web\n    name: ma-saas-backend\n    runtime: docker\n    rootDir: backend\n    envVars:\n      - key: DATABASE_URL\n        fromDatabase:\n          name: ma-saas-db\n          property: connectionString\ndatabases:\n  - name: ma-saas-db\n    databaseName: ma_saas\n    plan: basic-256mb\n".into()),
    ]
}

fn later_commits() -> Vec<SeedCommit> {
    vec![
        SeedCommit {
            time: at(15, 38, 2),
            message: "feat(deals): add deals and pipeline stages tables\n\nAdds the deal pipeline: organizations, pipeline_stages and deals, and moves\nusers.id to String(36) so that every key is a string.\n",
            files: &[
                ("backend/alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py", MIGRATION_WRONG),
                ("backend/app/models/deal.py", "class Deal:\n    __tablename__ = \"deals\"\n"),
                ("backend/tests/test_migrations/test_user_foreign_keys.py", "def test_deal_owner_fk(client):\n    assert client is not None\n"),
            ],
        },
        SeedCommit {
            time: at(15, 57, 40),
            message: "fix(deals): correct relationship names\n",
            files: &[("backend/app/models/deal.py", "class Deal:\n    __tablename__ = \"deals\"\n    owner = None\n")],
        },
        SeedCommit {
            time: at(16, 19, 51),
            message: "fix(migrations): add users.id type fix and additional UUID migration fixes\n\nAdded migrations:\n- e19f4551fcb0_fix_users_id_type.py: convert users.id UUID -> String(36)\n  before the deals FK is created\n- f5b6c2c9d4f2_fix_remaining_uuid_columns.py: convert the remaining UUID\n  foreign keys\n\nTested locally: 677/677 passing.\n",
            files: &[("backend/app/models/user.py", "class User:\n    __tablename__ = \"users\"\n    id = \"String(36)\"\n")],
        },
        SeedCommit {
            time: at(16, 41, 9),
            message: "chore(deps): bump uvicorn to 0.32.0\n",
            files: &[("backend/requirements.txt", "fastapi==0.115.0\nuvicorn==0.32.0\nalembic==1.13.3\npsycopg2-binary==2.9.9\n")],
        },
        SeedCommit {
            time: at(16, 58, 30),
            message: "fix(api): deal schema accepts string owner ids\n\nSee https://github.com/example/ma-saas/issues/3a15202c7dc2 for context;\nrequest id 0cbf1e0e-3ab5-4d2c-9a3a-ba324f7f0001.\n",
            files: &[("backend/app/schemas/deal.py", "class DealIn:\n    owner_id: str\n")],
        },
        SeedCommit {
            time: at(17, 17, 12),
            message: "fix(migrations): restructure UUID to String migrations and eliminate circular dependencies\n\nNew migration chain:\n- 3a15202c7dc2: convert users.id and users.organization_id to String(36)\n- 0cbf1e0e3ab5: create organizations table\n- dc2c0f69c1b1: create deals and pipeline_stages tables\n- 9a3aba324f7f: merge heads\n\nRevises: 36b3e62b4148\n",
            files: &[("backend/app/models/organization.py", "class Organization:\n    __tablename__ = \"organizations\"\n")],
        },
        SeedCommit {
            time: at(17, 28, 45),
            message: "fix(entrypoint): print the alembic revision before upgrading\n",
            files: &[("backend/app/version.py", "VERSION = \"0.4.1\"\n")],
        },
        SeedCommit {
            time: at(17, 47, 20),
            message: "fix(deploy): retry database connection on startup\n",
            files: &[("backend/app/db.py", "import os\n\nimport sqlalchemy as sa\n\nengine = sa.create_engine(os.environ[\"DATABASE_URL\"], pool_pre_ping=True)\nmetadata = sa.MetaData()\n")],
        },
        SeedCommit {
            time: at(17, 54, 3),
            message: "fix(models): use String(36) for all foreign keys to users\n",
            files: &[("backend/app/models/deal.py", "class Deal:\n    __tablename__ = \"deals\"\n    owner_id = \"String(36)\"\n")],
        },
        SeedCommit {
            time: at(18, 1, 37),
            message: "debug: log DATABASE_URL host on startup\n",
            files: &[("backend/app/version.py", "VERSION = \"0.4.2\"\n")],
        },
        SeedCommit {
            time: at(18, 3, 55),
            message: "fix(migrations): set pool_pre_ping for alembic env\n",
            files: &[("backend/alembic/env.py", "from alembic import context\nfrom app.db import metadata\n\ntarget_metadata = metadata\n# pool_pre_ping\n")],
        },
        SeedCommit {
            time: at(18, 5, 20),
            message: "fix(deploy): run migrations with verbose logging\n",
            files: &[("backend/app/version.py", "VERSION = \"0.4.3\"\n")],
        },
    ]
}

fn signature(time: DateTime<Utc>) -> git2::Signature<'static> {
    git2::Signature::new(
        "Dana Developer",
        "dana@example.com",
        &git2::Time::new(time.timestamp(), 0),
    )
    .expect("valid signature")
}

pub fn commit_files(
    repo: &git2::Repository,
    files: &[(String, String)],
    time: DateTime<Utc>,
    message: &str,
) -> git2::Oid {
    let workdir = repo
        .workdir()
        .expect("non-bare seed repository")
        .to_path_buf();
    let mut index = repo.index().expect("index");
    for (path, content) in files {
        let full = workdir.join(path);
        std::fs::create_dir_all(full.parent().expect("file in a folder")).expect("mkdir");
        std::fs::write(&full, content).expect("write seed file");
        index.add_path(Path::new(path)).expect("git add");
    }
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("write tree"))
        .expect("tree");
    let parents: Vec<git2::Commit> = match repo.head() {
        Ok(head) => vec![head.peel_to_commit().expect("head commit")],
        Err(_) => Vec::new(),
    };
    let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
    let sig = signature(time);
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)
        .expect("commit")
}

/// Deterministic Render-style ID: `prefix` + 20 characters of [a-z0-9].
pub fn render_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // FNV-1a, stretched: stable across platforms and Rust versions, unlike DefaultHasher.
    let mut hash: u64 = 0xcbf29ce484222325;
    let mut out = String::from(prefix);
    for round in 0..20u64 {
        for byte in seed.bytes().chain(round.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
        out.push(ALPHABET[(hash % ALPHABET.len() as u64) as usize] as char);
    }
    out
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Builds the seed's repository in `dir` (which must be empty) and Render's data for it.
pub fn build(dir: &Path) -> Seed {
    let repo = git2::Repository::init(dir).expect("git init");
    let mut shas = Vec::new();
    let initial_time = Utc
        .with_ymd_and_hms(2025, 11, 7, 9, 12, 0)
        .single()
        .expect("valid time");
    shas.push(
        commit_files(
            &repo,
            &initial_files(),
            initial_time,
            "feat: backend with users and Clerk auth\n",
        )
        .to_string(),
    );
    for c in later_commits() {
        let files: Vec<(String, String)> = c
            .files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        shas.push(commit_files(&repo, &files, c.time, c.message).to_string());
    }
    let messages: Vec<String> =
        std::iter::once("feat: backend with users and Clerk auth\n".to_string())
            .chain(later_commits().iter().map(|c| c.message.to_string()))
            .collect();

    // (commit index, created_at, trigger): the last good deploy, then the 14 failures.
    // The 16:10 deploy is a manual redeploy of the same commit: the same failure again.
    let plan: Vec<(usize, DateTime<Utc>, &str)> = vec![
        (
            0,
            Utc.with_ymd_and_hms(2025, 11, 7, 9, 14, 31)
                .single()
                .expect("time"),
            "new_commit",
        ),
        (1, at(15, 43, 8), "new_commit"),
        (2, at(16, 1, 55), "new_commit"),
        (2, at(16, 10, 30), "manual"),
        (3, at(16, 24, 2), "new_commit"),
        (4, at(16, 45, 17), "new_commit"),
        (5, at(17, 2, 44), "new_commit"),
        (6, at(17, 20, 36), "new_commit"),
        (7, at(17, 31, 50), "new_commit"),
        (7, at(17, 38, 12), "manual"),
        (8, at(17, 51, 11), "new_commit"),
        (9, at(17, 56, 59), "new_commit"),
        (10, at(18, 4, 22), "new_commit"),
        (11, at(18, 4, 42), "new_commit"),
        (12, at(18, 6, 14), "new_commit"),
    ];

    let log_lines: Vec<&str> = DEPLOY_LOG.lines().collect();
    let mut deploys = Vec::new();
    let mut events = Vec::new();
    let mut logs = Vec::new();
    for (n, (commit_index, created, trigger)) in plan.iter().enumerate() {
        let good = n == 0;
        let deploy_id = render_id("dep-", &format!("deploy-{n}"));
        let build_id = render_id("bld-", &format!("build-{n}"));
        let sha = &shas[*commit_index];
        let started = *created + Duration::seconds(1);
        // A cached Docker build; failed deploys end as soon as the entrypoint exits, so two
        // pushes 20 seconds apart (18:04:22, 18:04:42) still fail one after the other.
        let built = *created + Duration::seconds(if good { 48 } else { 7 });
        let finished = *created + Duration::seconds(if good { 131 } else { 16 });
        deploys.push(json!({
            "id": deploy_id,
            "commit": {"id": sha, "message": messages[*commit_index], "createdAt": iso(*created - Duration::seconds(240))},
            "status": if good { "live" } else { "update_failed" },
            "trigger": trigger,
            "createdAt": iso(*created),
            "startedAt": iso(started),
            "updatedAt": iso(finished),
            "finishedAt": iso(finished),
        }));
        let trigger_details = json!({
            "firstBuild": false, "envUpdated": false, "manual": *trigger == "manual",
            "deployedByRender": false, "clearCache": false, "rollback": false,
            "newCommit": if *trigger == "new_commit" { json!(sha) } else { Value::Null },
        });
        let event = |kind: &str, t: DateTime<Utc>, details: Value| {
            json!({
                "id": render_id("evt-", &format!("{kind}-{n}")),
                "timestamp": iso(t),
                "serviceId": SERVICE_ID,
                "type": kind,
                "details": details,
            })
        };
        events.push(event(
            "build_started",
            started,
            json!({"buildId": build_id, "trigger": trigger_details}),
        ));
        events.push(event(
            "build_ended",
            built,
            json!({"buildId": build_id, "buildStatus": "succeeded", "reason": {}, "status": 2}),
        ));
        events.push(event(
            "deploy_started",
            built + Duration::seconds(1),
            json!({"deployId": deploy_id, "trigger": trigger_details}),
        ));
        if good {
            events.push(event("deploy_ended", finished, json!({"deployId": deploy_id, "deployStatus": "succeeded", "reason": {}, "status": 2})));
            continue;
        }
        events.push(event(
            "deploy_ended",
            finished,
            json!({"deployId": deploy_id, "deployStatus": "failed", "reason": {"failure": {"evicted": false, "nonZeroExit": 1}}, "status": 3}),
        ));
        let instance = format!("{SERVICE_ID}-{}", &render_id("", &format!("inst-{n}"))[..5]);
        let log_start = built + Duration::seconds(3);
        for (i, line) in log_lines.iter().enumerate() {
            logs.push(json!({
                "id": render_id("log-", &format!("{n}-{i}")),
                "message": line,
                "timestamp": iso(log_start + Duration::milliseconds(40 * i as i64)),
                "labels": [
                    {"name": "resource", "value": SERVICE_ID},
                    {"name": "instance", "value": instance},
                    {"name": "type", "value": "app"},
                ],
            }));
        }
    }

    let services = vec![json!({
        "id": SERVICE_ID,
        "name": SERVICE_NAME,
        "ownerId": OWNER_ID,
        "type": "web_service",
        "createdAt": "2025-09-30T12:00:00Z",
        "updatedAt": iso(at(18, 6, 14)),
        "dashboardUrl": format!("https://dashboard.render.com/web/{SERVICE_ID}"),
        "suspended": "not_suspended",
        "suspenders": [],
        "autoDeploy": "yes",
        "notifyOnFail": "default",
        "slug": SERVICE_NAME,
        "rootDir": "backend",
        "repo": "https://github.com/example/ma-saas",
        "branch": "main",
        "serviceDetails": {
            "env": "docker",
            "runtime": "docker",
            "plan": "starter",
            "region": "oregon",
            "numInstances": 1,
            "url": format!("https://{SERVICE_NAME}.onrender.com"),
            "healthCheckPath": "/health",
            // The Docker command override starts the entrypoint, which runs the migrations.
            "envSpecificDetails": {"dockerCommand": "./entrypoint.sh", "dockerContext": ".", "dockerfilePath": "./Dockerfile"},
        },
    })];

    Seed {
        commits: shas,
        render: RenderData {
            services,
            deploys,
            events,
            logs,
        },
        now: at(18, 15, 0),
    }
}
