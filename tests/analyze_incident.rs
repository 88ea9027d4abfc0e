//! The analysis of the seed incident, built as evidence in Rust: 14 failed deploys with
//! `deploy_ended` events carrying `nonZeroExit: 1`, each deploy's logs from the real entrypoint
//! capture, the commits since the last good deploy, the migration graph and the static
//! `fk-type-mismatch` finding. And the counter-cases: an OOM streak blames no migration.

use chrono::{DateTime, Duration, TimeZone, Utc};
use postmortem::analyze::{analyze, Analysis};
use postmortem::check::{Finding, Severity};
use postmortem::evidence::{
    ChangeKind, Commit, Deploy, DeployCommit, DeployFailure, DeployStatus, Event, Evidence,
    FailureReason, FileChange, LogLine, Phase, Service, StatusUpdate,
};
use postmortem::migrations::model::{MigrationSet, Revision};

const MIGRATION: &str =
    "backend/alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py";

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 10, h, m, 0)
        .single()
        .unwrap()
}

fn sha(n: u32) -> String {
    format!("{n:07x}{}", "a".repeat(33))
}

fn capture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/logs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn deploy(id: &str, status: DeployStatus, at: DateTime<Utc>, commit: &str) -> Deploy {
    Deploy {
        id: id.to_string(),
        status,
        trigger: Some("new_commit".to_string()),
        commit: Some(DeployCommit {
            sha: commit.to_string(),
            message: Some(format!("commit {}", &commit[..7])),
            created_at: None,
        }),
        image: None,
        created_at: Some(at),
        started_at: Some(at + Duration::seconds(5)),
        finished_at: Some(at + Duration::minutes(3)),
        updated_at: Some(at + Duration::minutes(3)),
        failure: None,
    }
}

fn failed_event(id: &str, deploy: &str, at: DateTime<Utc>, reason: FailureReason) -> Event {
    Event {
        id: id.to_string(),
        timestamp: at,
        kind: "deploy_ended".to_string(),
        deploy_id: Some(deploy.to_string()),
        build_id: None,
        status: Some("failed".to_string()),
        failure: Some(reason),
        details: serde_json::json!({"deployId": deploy, "deployStatus": "failed"}),
    }
}

fn exit1() -> FailureReason {
    FailureReason {
        non_zero_exit: Some(1),
        ..Default::default()
    }
}

fn log_lines(deploy: &str, text: &str, start: DateTime<Utc>) -> Vec<LogLine> {
    text.lines()
        .enumerate()
        .map(|(i, line)| LogLine {
            id: format!("{deploy}-{i:03}"),
            timestamp: start + Duration::milliseconds(20 * i as i64),
            message: line.to_string(),
            deploy_id: Some(deploy.to_string()),
            labels: Default::default(),
        })
        .collect()
}

fn commit(
    n: u32,
    parent: Option<u32>,
    at: DateTime<Utc>,
    summary: &str,
    files: Vec<FileChange>,
) -> Commit {
    Commit {
        sha: sha(n),
        author: "Dev".to_string(),
        email: None,
        time: at,
        summary: summary.to_string(),
        body: String::new(),
        parents: parent.map(sha).into_iter().collect(),
        files,
        suspect: false,
    }
}

fn revision(id: &str, parents: &[&str], file: &str, message: &str) -> Revision {
    Revision {
        id: id.to_string(),
        parents: parents.iter().map(|p| p.to_string()).collect(),
        file: file.to_string(),
        line: 9,
        message: message.to_string(),
        branch_labels: vec![],
        depends_on: vec![],
        upgrade: vec![],
        ignores: vec![],
        unknown: vec![],
    }
}

/// The seed incident: a good deploy at 15:00 on commit 1, the migration added in commit 2,
/// 14 failed deploys from 15:43 on commits 2..=15 (one canceled deploy in between).
fn seed() -> Evidence {
    let mut e = Evidence::new(Service {
        id: "srv-d3ii9qk9c44c73aqsli0".to_string(),
        name: Some("ma-saas-backend".to_string()),
        ..Default::default()
    });
    e.deploys
        .push(deploy("dep-good", DeployStatus::Live, t(15, 0), &sha(1)));
    e.commits
        .push(commit(1, None, t(14, 50), "feat: pipeline UI", vec![]));
    e.commits.push(commit(
        2,
        Some(1),
        t(15, 40),
        "feat: deals and pipeline stages",
        vec![FileChange {
            path: MIGRATION.to_string(),
            change: ChangeKind::Added,
            old_path: None,
        }],
    ));
    let wrong = capture("entrypoint_wrong.txt");
    for i in 0..14u32 {
        let n = i + 2;
        let at = t(15, 43) + Duration::minutes(10 * i as i64);
        let id = format!("dep-f{i:02}");
        if n > 2 {
            e.commits.push(commit(
                n,
                Some(n - 1),
                at - Duration::minutes(2),
                &format!("fix attempt {i}"),
                vec![],
            ));
        }
        let mut d = deploy(&id, DeployStatus::UpdateFailed, at, &sha(n));
        d.failure = Some(DeployFailure {
            phase: Phase::Start,
            exit_code: Some(1),
            event_id: Some(format!("evt-{i:02}")),
            reason: Some(exit1()),
        });
        e.deploys.push(d);
        e.events.push(failed_event(
            &format!("evt-{i:02}"),
            &id,
            at + Duration::minutes(3),
            exit1(),
        ));
        e.logs
            .extend(log_lines(&id, &wrong, at + Duration::minutes(1)));
    }
    e.deploys.push(deploy(
        "dep-canceled",
        DeployStatus::Canceled,
        t(16, 44),
        &sha(9),
    ));
    e.migration_sets.push(MigrationSet {
        path: "backend/alembic/versions".to_string(),
        framework: "alembic".to_string(),
        commit: None,
        revisions: vec![
            revision(
                "a1b2c3d4e5f6",
                &[],
                "backend/alembic/versions/a1b2c3d4e5f6_users.py",
                "create users table",
            ),
            revision(
                "36b3e62b4148",
                &["a1b2c3d4e5f6"],
                MIGRATION,
                "add deals and pipeline stages tables",
            ),
        ],
        heads: vec!["36b3e62b4148".to_string()],
        bases: vec!["a1b2c3d4e5f6".to_string()],
        branchpoints: vec![],
        mergepoints: vec![],
        origin: None,
        unread: vec![],
    });
    e.findings.push(Finding {
        rule: "fk-type-mismatch".to_string(),
        severity: Severity::Error,
        message: "deals.owner_id VARCHAR(36) references users.id, which is UUID at this point"
            .to_string(),
        help: "Convert the referenced column's type before creating the foreign key.".to_string(),
        file: Some(MIGRATION.to_string()),
        line: Some(50),
        commit: None,
        revision: Some("36b3e62b4148".to_string()),
        excerpt: None,
        data: serde_json::Value::Null,
    });
    e.incident.status_updates.push(StatusUpdate {
        at: t(18, 15),
        text: "Root cause identified, fix strategy documented".to_string(),
    });
    e.normalize();
    e
}

fn run(e: &Evidence) -> Analysis {
    analyze(e, Some(t(20, 0)))
}

#[test]
fn streak_and_commit_range() {
    let a = run(&seed());
    let s = a.streak.as_ref().unwrap();
    assert_eq!(s.count, 14);
    assert_eq!(s.first_failed, "dep-f00");
    assert_eq!(s.first_failed_at, Some(t(15, 43)));
    assert_eq!(s.last_failed, "dep-f13");
    assert_eq!(s.last_good.as_deref(), Some("dep-good"));
    assert_eq!(s.recovered_by, None);

    let r = a.commit_range.as_ref().unwrap();
    assert_eq!(r.from.as_deref(), Some(sha(1).as_str()));
    assert_eq!(r.first_bad, sha(2));
    assert_eq!(r.to, sha(15));
    assert_eq!(r.commits.len(), 14);
    assert_eq!(r.commits.first(), Some(&sha(2)));
    assert_eq!(r.migration_changes.len(), 1);
    assert_eq!(r.migration_changes[0].file, MIGRATION);
    assert_eq!(r.migration_changes[0].commit, sha(2));
}

#[test]
fn every_failed_deploy_is_a_start_failure_with_a_migration() {
    let a = run(&seed());
    let failed: Vec<_> = a
        .classifications
        .iter()
        .filter(|c| c.kind == "start")
        .collect();
    assert_eq!(failed.len(), 14);
    assert!(failed.iter().all(|c| c.migration && c.exit_code == Some(1)));
    let canceled = a
        .classifications
        .iter()
        .find(|c| c.deploy_id == "dep-canceled")
        .unwrap();
    assert_eq!(canceled.kind, "canceled");
    assert_eq!(a.log_failures.len(), 14);
}

#[test]
fn the_logged_and_predicted_migration_ranks_first_with_its_evidence() {
    let a = run(&seed());
    let top = &a.root_causes[0];
    assert_eq!(top.rank, 1);
    assert_eq!(top.kind, "migration");
    assert_eq!(top.revision.as_deref(), Some("36b3e62b4148"));
    assert_eq!(top.file.as_deref(), Some(MIGRATION));
    assert_eq!(top.line, Some(33));
    assert_eq!(top.finding_rule.as_deref(), Some("fk-type-mismatch"));
    assert!(top.summary.contains("in 14 deploys"), "{}", top.summary);
    assert!(
        top.summary.contains("psycopg2.errors.DatatypeMismatch"),
        "{}",
        top.summary
    );
    // The prediction is cited, not appended to the summary: a candidate reads as one fact.
    assert!(!top.summary.contains("predicted"), "{}", top.summary);
    assert!(
        top.evidence[0]
            .text
            .starts_with("the analysis predicted this: fk-type-mismatch: "),
        "{:?}",
        top.evidence[0]
    );
    assert_eq!(top.evidence[0].source, format!("{MIGRATION}:50"));
    let sources: Vec<&str> = top.evidence.iter().map(|c| c.source.as_str()).collect();
    for expected in [
        "dep-f00",
        "dep-f13",
        "evt-00",
        "evt-13",
        &format!("{MIGRATION}:50"),
        &format!("{MIGRATION}:33"),
        "0000002",
    ] {
        assert!(
            sources.contains(&expected),
            "missing {expected} in {sources:?}"
        );
    }
    assert!(
        sources
            .iter()
            .any(|s| s.starts_with("log 2025-11-10T15:44:")),
        "{sources:?}"
    );
    // No other cause outranks it, and no OOM/health/build cause is invented.
    assert!(a.root_causes.iter().all(|c| !matches!(
        c.kind.as_str(),
        "oom" | "health_check" | "build" | "timeout"
    )));
}

#[test]
fn timeline_is_sorted_cites_sources_and_flags_impossible_orderings() {
    let mut e = seed();
    // A deploy that "finished" before it started: kept, and flagged.
    if let Some(d) = e.deploys.iter_mut().find(|d| d.id == "dep-f05") {
        d.finished_at = d.created_at.map(|c| c - Duration::minutes(1));
    }
    let a = run(&e);
    let tl = &a.timeline;
    assert!(tl.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(tl.iter().all(|row| !row.source.is_empty()));
    let kinds = |k: &str| tl.iter().filter(|r| r.kind == k).count();
    // The good deploy and the canceled one stand alone; the canceled one splits the fourteen
    // identical failures into two runs, each one row holding its deploys' events.
    assert_eq!(kinds("deploy"), 2, "good + canceled");
    assert_eq!(kinds("deploys"), 2, "{tl:#?}");
    let grouped: Vec<&str> = tl
        .iter()
        .flat_map(|r| r.deploys.iter().map(String::as_str))
        .collect();
    assert_eq!(grouped.len(), 14, "{grouped:?}");
    assert_eq!(kinds("event"), 0, "every event is on its deploy's row");
    // Only the commit that started the failures keeps a row (with the migration it added);
    // the others are listed with the deploys that ran them.
    assert_eq!(kinds("commit"), 1);
    assert!(tl.iter().any(|r| r.kind == "commit"
        && r.text.contains("first failed deploy's commit")
        && r.text
            .contains("36b3e62b4148_add_deals_and_pipeline_stages_tables.py added")));
    assert_eq!(kinds("log"), 1, "one distinct log error");
    assert_eq!(kinds("status"), 1);
    let first = tl.iter().find(|r| r.kind == "deploys").unwrap();
    assert_eq!(
        (first.source.as_str(), first.also.as_slice(), first.until),
        ("dep-f00", &["dep-f06".to_string()][..], Some(t(16, 43)))
    );
    assert!(
        first.text.starts_with(
            "7 deploys of 7 commits failed the same way: deploy update failed at start, exit 1"
        ),
        "{}",
        first.text
    );
    // The impossible ordering is kept on the row that holds the deploy, naming it.
    let flagged: Vec<_> = tl.iter().filter(|r| r.flag.is_some()).collect();
    assert_eq!(flagged.len(), 1);
    assert!(flagged[0].deploys.contains(&"dep-f05".to_string()));
    assert!(flagged[0]
        .flag
        .as_deref()
        .unwrap()
        .starts_with("dep-f05: finished"));
    assert!(flagged[0]
        .flag
        .as_deref()
        .unwrap()
        .contains("before it started"));
    assert_eq!(tl[0].source, "dep-good");
}

#[test]
fn unresolved_duration_runs_to_now_or_the_newest_fact() {
    let e = seed();
    let d = run(&e).duration.unwrap();
    assert_eq!(d.start, t(15, 43));
    assert_eq!(d.end, t(20, 0));
    assert!(!d.resolved);
    assert_eq!(d.human, "4h 17m");

    // Clock-free: the newest fact (the 18:15 status update) stands in for now.
    let d = analyze(&e, None).duration.unwrap();
    assert_eq!(d.end, t(18, 15));
    assert_eq!(d.human, "2h 32m");
}

#[test]
fn recovery_ends_the_incident() {
    let mut e = seed();
    e.deploys
        .push(deploy("dep-fixed", DeployStatus::Live, t(18, 30), &sha(16)));
    e.normalize();
    let a = run(&e);
    assert_eq!(
        a.streak.as_ref().unwrap().recovered_by.as_deref(),
        Some("dep-fixed")
    );
    let d = a.duration.unwrap();
    assert!(d.resolved);
    assert_eq!(d.end, t(18, 33));
    assert_eq!(d.human, "2h 50m");
}

#[test]
fn diagrams_show_the_history_and_the_failing_revision() {
    let a = run(&seed());
    let deploys = a.diagrams.deploys.unwrap();
    assert!(deploys.starts_with("flowchart LR\n"));
    assert!(deploys.contains("classDef failed"));
    assert!(deploys.contains("dep-good"));
    assert!(deploys.contains("class d0 ok"), "{deploys}");
    assert!(deploys.contains("-->"));
    let migrations = a.diagrams.migrations.unwrap();
    assert!(migrations.starts_with("flowchart TD\n"));
    assert!(
        migrations.contains("r_a1b2c3d4e5f6 --> r_36b3e62b4148"),
        "{migrations}"
    );
    assert!(migrations.contains("class r_36b3e62b4148 failed"));
}

#[test]
fn analysis_is_deterministic() {
    let a = serde_json::to_string(&run(&seed())).unwrap();
    let b = serde_json::to_string(&run(&seed())).unwrap();
    assert_eq!(a, b);
}

#[test]
fn an_oom_streak_blames_no_migration() {
    let mut e = Evidence::new(Service::default());
    e.deploys.push(deploy(
        "dep-good",
        DeployStatus::Deactivated,
        t(9, 0),
        &sha(1),
    ));
    for i in 0..3u32 {
        let id = format!("dep-oom{i}");
        let at = t(10, 10 * i);
        e.deploys
            .push(deploy(&id, DeployStatus::UpdateFailed, at, &sha(2)));
        let reason = FailureReason {
            oom_killed_memory_limit: Some("512Mi".to_string()),
            ..Default::default()
        };
        e.events.push(failed_event(
            &format!("evt-oom{i}"),
            &id,
            at + Duration::minutes(2),
            reason,
        ));
        e.logs.extend(log_lines(
            &id,
            "==> Deploying...\n==> Out of memory (used over 512Mi)",
            at,
        ));
    }
    // A static finding exists, but the deploys did not fail on a migration.
    e.findings.push(Finding {
        rule: "fk-type-mismatch".to_string(),
        severity: Severity::Error,
        message: "x".to_string(),
        help: String::new(),
        file: Some("m.py".to_string()),
        line: Some(1),
        commit: None,
        revision: Some("abc".to_string()),
        excerpt: None,
        data: serde_json::Value::Null,
    });
    e.normalize();
    let a = run(&e);
    assert_eq!(a.root_causes.len(), 1, "{:?}", a.root_causes);
    let cause = &a.root_causes[0];
    assert_eq!(cause.kind, "oom");
    assert!(
        cause
            .summary
            .starts_with("3 deploys killed for running out of memory (memory limit 512Mi)"),
        "{}",
        cause.summary
    );
    assert!(cause.evidence.iter().any(|c| c.source == "evt-oom0"));
    assert!(a.classifications.iter().filter(|c| c.kind == "oom").count() == 3);
    assert!(a.diagrams.migrations.is_none());
}

#[test]
fn build_and_health_check_failures_are_their_own_kinds() {
    let mut e = Evidence::new(Service::default());
    e.deploys.push(deploy(
        "dep-b",
        DeployStatus::BuildFailed,
        t(10, 0),
        &sha(1),
    ));
    let mut h = deploy("dep-h", DeployStatus::UpdateFailed, t(11, 0), &sha(2));
    h.failure = Some(DeployFailure {
        phase: Phase::HealthCheck,
        exit_code: None,
        event_id: None,
        reason: Some(FailureReason {
            unhealthy: Some("GET /health returned 503".to_string()),
            ..Default::default()
        }),
    });
    e.deploys.push(h);
    e.normalize();
    let a = run(&e);
    let kinds: Vec<&str> = a.root_causes.iter().map(|c| c.kind.as_str()).collect();
    assert!(
        kinds.contains(&"build") && kinds.contains(&"health_check"),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k.starts_with("migration")));
    let health = a
        .root_causes
        .iter()
        .find(|c| c.kind == "health_check")
        .unwrap();
    assert!(health.summary.contains("GET /health returned 503"));
}

#[test]
fn a_multi_day_incident_keeps_its_dates() {
    let mut e = seed();
    e.deploys.push(deploy(
        "dep-late",
        DeployStatus::UpdateFailed,
        t(15, 0) + Duration::days(2),
        &sha(15),
    ));
    e.normalize();
    let a = run(&e);
    assert!(postmortem::analyze::timeline::spans_several_days(
        &a.timeline
    ));
    let deploys = a.diagrams.deploys.unwrap();
    assert!(deploys.contains("11-12 15:00"), "{deploys}");
}

#[test]
fn a_deploy_carrying_the_failed_commits_resolves_a_deploy_of_the_old_commit_mitigates() {
    // A fix commit on top of the failed ones: resolved, naming the fix.
    let mut e = seed();
    e.commits.push(commit(
        16,
        Some(15),
        t(18, 25),
        "fix: reorder the deals migration",
        vec![],
    ));
    e.deploys
        .push(deploy("dep-fixed", DeployStatus::Live, t(18, 30), &sha(16)));
    e.normalize();
    let r = run(&e).recovery.unwrap();
    assert_eq!(r.status, "resolved");
    assert_eq!(r.deploy.as_deref(), Some("dep-fixed"));
    assert!(
        r.text.contains("fix: reorder the deals migration"),
        "{}",
        r.text
    );

    // A manual deploy of the last good commit: mitigated, the fault still on the branch.
    let mut e = seed();
    let mut old = deploy("dep-old", DeployStatus::Live, t(18, 30), &sha(1));
    old.trigger = Some("manual".to_string());
    e.deploys.push(old);
    e.normalize();
    let r = run(&e).recovery.unwrap();
    assert_eq!(r.status, "mitigated", "{}", r.text);
    assert!(r.text.contains("still on the branch"), "{}", r.text);
    assert!(!r.text.contains("Resolved"), "{}", r.text);

    // A commit the history read does not hold: neither a fix nor a mitigation can be claimed
    // (it used to read "Resolved by a fix" because it differs from the last good commit).
    let mut e = seed();
    e.deploys.push(deploy(
        "dep-unknown",
        DeployStatus::Live,
        t(18, 30),
        &sha(99),
    ));
    e.normalize();
    let analysis = run(&e);
    let r = analysis.recovery.clone().unwrap();
    assert_eq!(r.status, "recovered", "{}", r.text);
    assert!(
        r.text.starts_with("Live again: deploy dep-unknown"),
        "{}",
        r.text
    );
    assert!(r.text.contains("may be a fix, or older code"), "{}", r.text);
    assert!(!r.text.contains("Resolved"), "{}", r.text);
}

#[test]
fn impact_down_when_the_running_instance_fails_outside_the_failed_deploys() {
    let mut e = seed();
    // Deploys of the seed fail within 3 minutes of creation; 15:50 falls outside every one.
    let at = t(15, 50) + Duration::seconds(30);
    e.events.push(Event {
        id: "evt-running".to_string(),
        timestamp: at,
        kind: "server_failed".to_string(),
        deploy_id: None,
        build_id: None,
        status: None,
        failure: Some(FailureReason {
            oom_killed_memory_limit: Some("512Mi".to_string()),
            ..Default::default()
        }),
        details: serde_json::json!({"instanceID": "srv-d3ii9qk9c44c73aqsli0-abcde"}),
    });
    e.normalize();
    let impact = run(&e).impact.unwrap();
    assert_eq!(impact.state, "down", "{}", impact.text);
    assert_eq!(impact.evidence[0].source, "evt-running");

    // Without it, the previous deploy kept serving.
    let impact = run(&seed()).impact.unwrap();
    assert_eq!(impact.state, "previous_deploy_serving");
    assert!(impact.text.contains("dep-good"), "{}", impact.text);
}

#[test]
fn impact_down_when_the_service_is_suspended() {
    // Suspended during the incident, never resumed: down, citing the event.
    let mut e = seed();
    let suspended = |id: &str, kind: &str, at| Event {
        id: id.to_string(),
        timestamp: at,
        kind: kind.to_string(),
        deploy_id: None,
        build_id: None,
        status: None,
        failure: None,
        details: serde_json::json!({}),
    };
    e.events
        .push(suspended("evt-suspended", "service_suspended", t(16, 30)));
    e.normalize();
    let impact = run(&e).impact.unwrap();
    assert_eq!(impact.state, "down", "{}", impact.text);
    assert_eq!(impact.evidence[0].source, "evt-suspended");
    assert!(impact.text.contains("suspended"), "{}", impact.text);

    // Resumed afterwards: the suspension no longer decides.
    e.events
        .push(suspended("evt-resumed", "service_resumed", t(16, 40)));
    e.normalize();
    assert_eq!(run(&e).impact.unwrap().state, "previous_deploy_serving");

    // Suspended when collected (the service object says so), with no event in the window.
    let mut e = seed();
    e.service.suspended = true;
    let impact = run(&e).impact.unwrap();
    assert_eq!(impact.state, "down", "{}", impact.text);
    assert!(impact
        .text
        .contains("suspended when the evidence was collected"));
}

/// A migration that fails on an object the database already has (or lacks): the fix names the
/// revision and the operation, from the real Alembic + PostgreSQL captures.
#[test]
fn duplicate_and_missing_objects_get_a_fix_naming_the_revision_and_the_operation() {
    for (capture_name, kind, statement) in [
        (
            "n4_table_exists.txt",
            "duplicate_object",
            "CREATE TABLE users (",
        ),
        (
            "n5_drop_missing_column.txt",
            "missing_object",
            "ALTER TABLE users DROP COLUMN legacy_org_uuid",
        ),
    ] {
        let mut e = Evidence::new(Service::default());
        e.deploys
            .push(deploy("dep-good", DeployStatus::Live, t(15, 0), &sha(1)));
        let mut d = deploy("dep-bad", DeployStatus::UpdateFailed, t(16, 0), &sha(2));
        d.failure = Some(DeployFailure {
            phase: Phase::Start,
            exit_code: Some(1),
            event_id: None,
            reason: Some(exit1()),
        });
        e.deploys.push(d);
        e.logs = log_lines("dep-bad", &capture(capture_name), t(16, 1));
        e.normalize();
        let a = run(&e);
        let fix = a.fix.expect("a fix");
        assert_eq!(fix.kind, kind, "{fix:#?}");
        assert!(fix.summary.contains("bbbb00000002"), "{}", fix.summary);
        assert!(fix.summary.contains(statement), "{}", fix.summary);
        assert!(fix.computed);
    }
}

/// When no commit of the range changed what the cause's class depends on, none is named (the
/// tip least of all) and the cause says where else to look.
#[test]
fn an_oom_without_a_dependency_change_names_no_commit() {
    let mut e = Evidence::new(Service::default());
    e.deploys
        .push(deploy("dep-good", DeployStatus::Live, t(9, 0), &sha(1)));
    e.commits.push(commit(1, None, t(8, 50), "base", vec![]));
    let readme = |n| FileChange {
        path: format!("docs/page{n}.md"),
        change: ChangeKind::Modified,
        old_path: None,
    };
    e.commits.push(commit(
        2,
        Some(1),
        t(9, 50),
        "docs: page two",
        vec![readme(2)],
    ));
    e.commits.push(commit(
        3,
        Some(2),
        t(9, 55),
        "docs: page three",
        vec![readme(3)],
    ));
    let mut d = deploy("dep-oom", DeployStatus::UpdateFailed, t(10, 0), &sha(3));
    d.failure = Some(DeployFailure {
        phase: Phase::Start,
        exit_code: None,
        event_id: Some("evt-oom".to_string()),
        reason: Some(FailureReason {
            oom_killed_memory_limit: Some("512Mi".to_string()),
            ..Default::default()
        }),
    });
    e.deploys.push(d);
    e.normalize();
    let a = run(&e);
    let cause = &a.root_causes[0];
    assert_eq!(cause.kind, "oom");
    assert_eq!(cause.suspect, None);
    let note = cause.unattributed.as_deref().unwrap();
    assert!(note.contains("dependency manifest"), "{note}");
    assert!(note.contains("outside the repository"), "{note}");
}

/// A C extension that does not compile (real pip + gcc output): the fix quotes the compiler.
#[test]
fn a_compile_failure_gets_a_fix_quoting_the_compiler() {
    let mut e = Evidence::new(Service::default());
    e.deploys
        .push(deploy("dep-good", DeployStatus::Live, t(15, 0), &sha(1)));
    e.deploys.push(deploy(
        "dep-bad",
        DeployStatus::BuildFailed,
        t(16, 0),
        &sha(2),
    ));
    let text: String = capture("build_pip_compile_error.txt")
        .lines()
        .filter(|l| !l.starts_with("exit="))
        .collect::<Vec<_>>()
        .join("\n");
    e.logs = log_lines("dep-bad", &text, t(16, 1));
    e.normalize();
    let a = run(&e);
    assert_eq!(a.root_causes[0].kind, "build");
    let fix = a.fix.expect("a fix");
    assert_eq!(fix.kind, "compile", "{fix:#?}");
    assert_eq!(
        fix.code.as_deref(),
        Some("fastcrc.c:2:10: fatal error: zlib_ng.h: No such file or directory")
    );
}

/// One failed deploy is its own row, with its event's ID beside its own; an event that says
/// more than the deploy's failure (it was not read into it) adds its words.
#[test]
fn a_single_failure_is_one_row_with_its_events() {
    let mut e = Evidence::new(Service {
        id: "srv-one".to_string(),
        ..Service::default()
    });
    e.deploys
        .push(deploy("dep-good", DeployStatus::Live, t(15, 0), &sha(1)));
    let mut bad = deploy("dep-bad", DeployStatus::UpdateFailed, t(16, 0), &sha(2));
    bad.failure = Some(DeployFailure {
        phase: Phase::Start,
        exit_code: Some(1),
        event_id: Some("evt-ended".to_string()),
        reason: None,
    });
    e.deploys.push(bad);
    e.events
        .push(failed_event("evt-ended", "dep-bad", t(16, 2), exit1()));
    let mut other = failed_event("evt-server", "dep-bad", t(16, 1), FailureReason::default());
    other.kind = "server_failed".to_string();
    e.events.push(other);
    e.normalize();
    let a = run(&e);
    let rows: Vec<_> = a.timeline.iter().filter(|r| r.kind == "deploy").collect();
    assert_eq!(rows.len(), 2, "{:#?}", a.timeline);
    let bad = rows.iter().find(|r| r.source == "dep-bad").unwrap();
    assert_eq!(bad.also, ["evt-server", "evt-ended"]);
    assert!(bad.deploys.is_empty() && bad.until.is_none());
    assert!(
        bad.text
            .starts_with("deploy update failed at start, exit 1 (commit"),
        "{}",
        bad.text
    );
    assert_eq!(bad.text.matches("; event ").count(), 1, "{}", bad.text);
    assert!(bad.text.contains("; event server_failed"), "{}", bad.text);
    assert!(a.timeline.iter().all(|r| r.kind != "event"));
}
