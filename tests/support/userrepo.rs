//! A small repository of a user's own, as a new user tries the tool on it: `alembic.ini`, four
//! migrations (the third creates a foreign key to `users.id` before converting `users.id` from
//! UUID to VARCHAR(36)), a "fix" commit naming a migration that was never committed, and what
//! the Render CLI saves for it (`render deploys list -o json`, `render logs -o json`: no events,
//! no service object, and a deploy log without a traceback line).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

pub const SERVICE_ID: &str = "srv-userapp0000000000000";
pub const PHANTOM: &str = "9f8e7d6c5b4a";
pub const BAD_MIGRATION: &str = "migrations/versions/3c4d5e6f7a8b_add_projects.py";

const MIGRATIONS: [(&str, &str, &str); 4] = [
    (
        "1a2b3c4d5e6f_create_users.py",
        include_str!("../fixtures/userrepo/1a2b3c4d5e6f_create_users.py"),
        "add users table",
    ),
    (
        "2b3c4d5e6f7a_add_teams.py",
        include_str!("../fixtures/userrepo/2b3c4d5e6f7a_add_teams.py"),
        "add teams",
    ),
    (
        "3c4d5e6f7a8b_add_projects.py",
        include_str!("../fixtures/userrepo/3c4d5e6f7a8b_add_projects.py"),
        "add projects",
    ),
    (
        "4d5e6f7a8b9c_add_tags.py",
        include_str!("../fixtures/userrepo/4d5e6f7a8b9c_add_tags.py"),
        "add team tags",
    ),
];

/// The lines Alembic and SQLAlchemy print for the failure (as in
/// `shared/reference/alembic-postgres/captures/entrypoint_wrong.txt`), with the traceback cut
/// away: the log shows the failing revision and the database error, but no `File "…", line N`.
const DEPLOY_LOG: [&str; 7] = [
    "==> Running database migrations (alembic upgrade head)",
    "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
    "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
    "INFO  [alembic.runtime.migration] Running upgrade 2b3c4d5e6f7a -> 3c4d5e6f7a8b, add projects",
    "sqlalchemy.exc.ProgrammingError: (psycopg2.errors.DatatypeMismatch) foreign key constraint \"projects_owner_id_fkey\" cannot be implemented",
    "DETAIL:  Key columns \"owner_id\" and \"id\" are of incompatible types: character varying and uuid.",
    "==> Exited with status 1",
];

pub struct UserRepo {
    pub repo: PathBuf,
    /// Saved Render CLI output.
    pub export: PathBuf,
    /// Full SHAs, oldest first: users, teams, projects, tags, the "fix".
    pub commits: Vec<String>,
    /// When the user runs the tool.
    pub now: DateTime<Utc>,
}

pub fn day(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, s).single().unwrap()
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn commit(
    repo: &git2::Repository,
    files: &[(String, String)],
    time: DateTime<Utc>,
    message: &str,
) -> String {
    let workdir = repo.workdir().unwrap().to_path_buf();
    let mut index = repo.index().unwrap();
    for (path, content) in files {
        let full = workdir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, content).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let parents: Vec<git2::Commit> = match repo.head() {
        Ok(head) => vec![head.peel_to_commit().unwrap()],
        Err(_) => Vec::new(),
    };
    let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
    let sig = git2::Signature::new(
        "User",
        "user@example.com",
        &git2::Time::new(time.timestamp(), 0),
    )
    .unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)
        .unwrap()
        .to_string()
}

/// Builds the repository in `dir/repo` and the CLI export in `dir/export`.
pub fn build(dir: &Path) -> UserRepo {
    let repo_dir = dir.join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    let mut commits = Vec::new();
    for (i, (name, source, message)) in MIGRATIONS.iter().enumerate() {
        let mut files = vec![(format!("migrations/versions/{name}"), source.to_string())];
        if i == 0 {
            files.push((
                "alembic.ini".into(),
                "[alembic]\nscript_location = migrations\n".into(),
            ));
            files.push((
                "migrations/env.py".into(),
                "from alembic import context\n".into(),
            ));
        }
        commits.push(commit(&repo, &files, day(1 + i as u32, 10, 0, 0), message));
    }
    let fix = format!("fix(migrations): add users.id type fix in migration {PHANTOM}");
    commits.push(commit(
        &repo,
        &[("README.md".into(), "# app\n".into())],
        day(5, 10, 0, 0),
        &fix,
    ));

    // (commit index, day, status): one good deploy, then three failures.
    let deploys_at = [
        (1usize, 2u32, "live"),
        (2, 3, "update_failed"),
        (3, 4, "update_failed"),
        (4, 5, "update_failed"),
    ];
    let mut deploys = Vec::new();
    let mut logs = String::new();
    let mut n = 0;
    for (i, d, status) in deploys_at.iter().rev() {
        let created = day(*d, 10, 10, 0);
        let finished = created + Duration::seconds(if *status == "live" { 131 } else { 16 });
        deploys.push(json!({
            "commit": {"createdAt": iso(created - Duration::minutes(4)), "id": commits[*i], "message": MIGRATIONS.get(*i).map_or(fix.as_str(), |m| m.2)},
            "createdAt": iso(created),
            "finishedAt": iso(finished),
            "id": format!("dep-user{d:02}00000000000000"),
            "startedAt": iso(created + Duration::seconds(1)),
            "status": status,
            "trigger": "new_commit",
            "updatedAt": iso(finished),
        }));
        if *status == "live" {
            continue;
        }
        for (j, line) in DEPLOY_LOG.iter().enumerate() {
            n += 1;
            let log: Value = json!({
                "id": format!("log-user{n:04}"),
                "labels": [
                    {"name": "resource", "value": SERVICE_ID},
                    {"name": "instance", "value": format!("{SERVICE_ID}-abcde")},
                    {"name": "type", "value": "app"},
                    {"name": "level", "value": "info"},
                ],
                "message": line,
                "timestamp": iso(created + Duration::seconds(8 + j as i64)),
            });
            // `render logs -o json`: indented objects back to back, no separator.
            logs.push_str(&serde_json::to_string_pretty(&log).unwrap());
        }
    }
    let export = dir.join("export");
    std::fs::create_dir_all(&export).unwrap();
    std::fs::write(
        export.join("deploys.json"),
        serde_json::to_string_pretty(&deploys).unwrap(),
    )
    .unwrap();
    std::fs::write(export.join("logs.json"), logs).unwrap();
    UserRepo {
        repo: repo_dir,
        export,
        commits,
        now: day(5, 12, 0, 0),
    }
}
