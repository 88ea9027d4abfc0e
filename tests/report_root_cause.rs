//! The report names the analysis's top-ranked cause, not a finding it picks on its own.

use chrono::{TimeZone, Utc};
use postmortem::check::{rules::fk_type_mismatch, Finding};
use postmortem::evidence::{
    Deploy, DeployFailure, DeployStatus, Evidence, FailureReason, Phase, Service,
};

fn deploy(i: u32, status: DeployStatus, failure: Option<DeployFailure>) -> Deploy {
    Deploy {
        id: format!("dep-{i:020}"),
        status,
        trigger: Some("new_commit".into()),
        commit: None,
        image: None,
        created_at: Utc.with_ymd_and_hms(2025, 11, 10, 15, i, 0).single(),
        started_at: None,
        finished_at: Utc.with_ymd_and_hms(2025, 11, 10, 15, i, 30).single(),
        updated_at: None,
        failure,
    }
}

#[test]
fn an_oom_streak_is_not_blamed_on_a_migration_finding() {
    let mut evidence = Evidence::new(Service {
        id: "srv-aaaaaaaaaaaaaaaaaaaa".into(),
        name: Some("api".into()),
        ..Default::default()
    });
    let oom = || DeployFailure {
        phase: Phase::Start,
        exit_code: Some(137),
        event_id: None,
        reason: Some(FailureReason {
            oom_killed_memory_limit: Some("512Mi".into()),
            ..Default::default()
        }),
    };
    evidence.deploys = vec![
        deploy(0, DeployStatus::Live, None),
        deploy(1, DeployStatus::UpdateFailed, Some(oom())),
        deploy(2, DeployStatus::UpdateFailed, Some(oom())),
    ];
    // A schema finding in a migration that no failing deploy ran.
    evidence.findings.push(
        Finding::new(
            &fk_type_mismatch::META,
            "foreign key a.b -> c.d pairs integer with uuid",
        )
        .file("db/versions/0002_x.py")
        .line(12)
        .revision("0002"),
    );
    evidence.normalize();
    let context = postmortem::pipeline::context(evidence, None);
    let top = &context.analysis.root_causes[0];
    assert_eq!(top.kind, "oom", "{:#?}", context.analysis.root_causes);
    assert!(context.view.root_finding.is_none());
    let report = postmortem::report::render(&context, None).unwrap();
    assert!(!report.contains("The root cause: foreign key"), "{report}");
    assert!(!report.contains("### Migration File"), "{report}");
    assert!(report.contains("The most likely root cause"), "{report}");
}

fn revision(id: &str, parent: Option<&str>, file: &str) -> postmortem::migrations::model::Revision {
    postmortem::migrations::model::Revision {
        id: id.to_string(),
        parents: parent.map(str::to_string).into_iter().collect(),
        file: file.to_string(),
        line: 9,
        message: format!("revision {id}"),
        branch_labels: vec![],
        depends_on: vec![],
        upgrade: vec![],
        ignores: vec![],
        unknown: vec![],
    }
}

/// Issue 15, item 2: two revisions in sequence that a rule predicts will fail, and no Render
/// data. `alembic upgrade head` stops at the first one, so it is the root cause, whatever the
/// summaries' alphabetical order; and nothing ran, so the report says "predicted".
#[test]
fn without_deploy_data_the_first_failing_revision_in_upgrade_order_is_the_predicted_cause() {
    let mut evidence = Evidence::new(Service::default());
    // `ffff…` runs before `1111…`: by text the later one would sort first.
    evidence
        .migration_sets
        .push(postmortem::migrations::model::MigrationSet::new(
            "db/versions",
            vec![
                revision("aaaa00000001", None, "db/versions/0001_base.py"),
                revision(
                    "ffff00000002",
                    Some("aaaa00000001"),
                    "db/versions/0002_deals.py",
                ),
                revision(
                    "111100000003",
                    Some("ffff00000002"),
                    "db/versions/0003_invoices.py",
                ),
            ],
        ));
    for (rev, file, message) in [
        (
            "111100000003",
            "db/versions/0003_invoices.py",
            "foreign key invoices.deal_id -> deals.id pairs integer with uuid",
        ),
        (
            "ffff00000002",
            "db/versions/0002_deals.py",
            "foreign key deals.owner_id -> users.id pairs character varying with uuid",
        ),
    ] {
        evidence.findings.push(
            Finding::new(&fk_type_mismatch::META, message)
                .file(file)
                .line(12)
                .revision(rev),
        );
    }
    evidence.normalize();
    let context = postmortem::pipeline::context(evidence, None);
    let causes = &context.analysis.root_causes;
    assert_eq!(
        causes[0].revision.as_deref(),
        Some("ffff00000002"),
        "{causes:#?}"
    );
    assert!(!causes[0].observed);
    assert!(
        causes[0].summary.contains("predicted"),
        "{}",
        causes[0].summary
    );
    assert!(
        context.view.status.contains("Predicted"),
        "{}",
        context.view.status
    );
    let report = postmortem::report::render(&context, None).unwrap();
    assert!(report.contains("The predicted root cause"), "{report}");
    assert!(report.contains("deals.owner\\_id"), "{report}");
    assert!(!report.contains("Root Cause Identified"), "{report}");
    assert!(!report.contains("The root cause:"), "{report}");
}
