//! Text from commits, logs and the API cannot inject HTML, break a table or start a heading.

use chrono::{TimeZone, Utc};
use postmortem::evidence::{Deploy, DeployCommit, DeployStatus, Evidence, Service};

const HOSTILE: &str =
    "# pwned | <img src=x onerror=alert(1)> `code` [link](javascript:x)\n| a | b |";

#[test]
fn hostile_commit_messages_stay_text() {
    let mut evidence = Evidence::new(Service {
        id: "srv-aaaaaaaaaaaaaaaaaaaa".into(),
        name: Some("api | <b>x</b>".into()),
        ..Default::default()
    });
    for (i, status) in [
        DeployStatus::Live,
        DeployStatus::UpdateFailed,
        DeployStatus::UpdateFailed,
    ]
    .into_iter()
    .enumerate()
    {
        evidence.deploys.push(Deploy {
            id: format!("dep-{i:020}"),
            status,
            trigger: Some("new_commit | x".into()),
            commit: Some(DeployCommit {
                sha: format!("{i:040}"),
                message: Some(HOSTILE.into()),
                created_at: None,
            }),
            image: None,
            created_at: Utc.with_ymd_and_hms(2025, 11, 10, 15, i as u32, 0).single(),
            started_at: None,
            finished_at: None,
            updated_at: None,
            failure: None,
        });
    }
    evidence.normalize();
    let context = postmortem::pipeline::context(evidence, None);
    let report = postmortem::report::render(&context, None).unwrap();

    assert!(!report.contains("<img"), "{report}");
    assert!(!report.contains("<b>"), "{report}");
    assert!(
        !report.lines().any(|l| l.starts_with("# pwned")),
        "{report}"
    );
    // Every row of every table has as many unescaped pipes as its header.
    let mut header_cells = None;
    for line in report.lines() {
        if !line.starts_with('|') {
            header_cells = None;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        match header_cells {
            None => header_cells = Some(cells),
            Some(n) => assert_eq!(cells, n, "row breaks its table: {line}"),
        }
    }
}
