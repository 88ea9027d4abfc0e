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
