//! Root causes a migration explains: the failure the deploy logs show for a revision, tied to
//! the static finding that predicted it, the traceback's frame and the commit that added the
//! file; and the findings that predict a migration failure at all.

use crate::analyze::causes::{cite, describe_event, events_of, log_source, log_summary};
use crate::analyze::correlate::{deploy_time, short_sha};
use crate::analyze::{CommitRange, LogFailure, RootCause};
use crate::deploylog::repo_location;
use crate::evidence::{Deploy, Evidence};
use crate::finding::{Finding, Severity};

/// Rules whose findings can predict that a migration fails when it runs. `phantom-migration` is
/// not one: a revision that was never committed cannot fail; it explains why a "fix" did not.
const MIGRATION_RULES: &[&str] = &[
    "fk-type-mismatch",
    "alter-referenced-column",
    "missing-parent",
    "multiple-heads",
    "duplicate-revision",
    "revision-cycle",
    "unparseable-migration",
];

pub(crate) fn location_of(finding: &Finding) -> Option<String> {
    match (&finding.file, finding.line) {
        (Some(f), Some(l)) => Some(format!("{f}:{l}")),
        (Some(f), None) => Some(f.clone()),
        _ => None,
    }
}

/// Error-level findings of rules that predict a migration failure, most severe first.
pub(crate) fn predicting_findings(evidence: &Evidence) -> Vec<&Finding> {
    let mut found: Vec<&Finding> = evidence
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && MIGRATION_RULES.contains(&f.rule.as_str()))
        .collect();
    found.sort_by_key(|f| {
        (
            MIGRATION_RULES
                .iter()
                .position(|r| *r == f.rule)
                .unwrap_or(usize::MAX),
            f.file.clone(),
            f.line,
        )
    });
    found
}

/// The static finding that predicted a failure seen in the logs: same revision (or, for
/// Alembic's own errors, the revision it names), most specific rule first.
fn predicting_finding<'a>(
    evidence: &'a Evidence,
    failure: &LogFailure,
    file: Option<&str>,
) -> Option<&'a Finding> {
    let named: Option<String> = failure.alembic_error.as_deref().and_then(|e| {
        let start = e.find('\'')? + 1;
        let len = e.get(start..)?.find('\'')?;
        e.get(start..start + len).map(str::to_string)
    });
    let multiple_heads = failure
        .alembic_error
        .as_deref()
        .is_some_and(|e| e.contains("Multiple head"));
    predicting_findings(evidence).into_iter().find(|f| {
        let same_rev = f.revision.is_some() && f.revision == failure.revision;
        let same_file = file.is_some() && f.file.as_deref() == file;
        let names_it = named.is_some()
            && (f.revision == named || f.message.contains(named.as_deref().unwrap_or("\u{0}")));
        same_rev || same_file || names_it || (multiple_heads && f.rule == "multiple-heads")
    })
}

pub(crate) fn migration_cause(
    evidence: &Evidence,
    range: Option<&CommitRange>,
    failures: &[&LogFailure],
) -> Option<(u32, RootCause)> {
    let mut failures = failures.to_vec();
    failures.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.log_id.cmp(&b.log_id))
    });
    let first = *failures.first()?;
    let location = repo_location(evidence, first);
    let file = location.as_ref().map(|(f, _)| f.clone());
    let line = location.as_ref().and_then(|(_, l)| *l);
    let finding = predicting_finding(evidence, first, file.as_deref());

    let mut citations = Vec::new();
    if let Some(f) = finding {
        citations.push(cite(
            format!("the analysis predicted this: {}: {}", f.rule, f.message),
            location_of(f).unwrap_or_else(|| f.rule.clone()),
        ));
    }
    if let (Some(file), Some(line)) = (&file, line) {
        citations.push(cite(
            "the traceback's last frame in a migration file".to_string(),
            format!("{file}:{line}"),
        ));
    }
    if let Some(rev) = &first.revision {
        let from = first.from_revision.as_deref().unwrap_or("");
        citations.push(cite(
            format!("Running upgrade {from} -> {rev}"),
            log_source(first),
        ));
    }
    citations.push(cite(log_summary(first), log_source(first)));
    if let Some(detail) = &first.detail {
        citations.push(cite(format!("DETAIL: {detail}"), log_source(first)));
    }
    let mut deploys: Vec<&str> = failures
        .iter()
        .filter_map(|f| f.deploy_id.as_deref())
        .collect();
    deploys.dedup();
    let mut ordered: Vec<&Deploy> = deploys
        .iter()
        .filter_map(|id| evidence.deploy(id))
        .collect();
    ordered.sort_by(|a, b| {
        deploy_time(a)
            .cmp(&deploy_time(b))
            .then_with(|| a.id.cmp(&b.id))
    });
    for deploy in &ordered {
        let code = failures
            .iter()
            .find(|f| f.deploy_id.as_deref() == Some(deploy.id.as_str()))
            .and_then(|f| f.exit_code);
        let text = match code {
            Some(c) => format!("{}, exit {c}", deploy.status.as_str()),
            None => deploy.status.as_str().to_string(),
        };
        citations.push(cite(text, deploy.id.clone()));
        for event in events_of(evidence, deploy) {
            if event
                .failure
                .as_ref()
                .is_some_and(|r| r.non_zero_exit.is_some())
            {
                citations.push(cite(describe_event(event), event.id.clone()));
            }
        }
    }
    if let (Some(range), Some(file)) = (range, &file) {
        // A file changed by many commits of a long range: one lookup each, not a scan each.
        let mut summaries: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for c in evidence.commits.iter().rev() {
            summaries.insert(c.sha.as_str(), c.summary.as_str());
        }
        for change in range.migration_changes.iter().filter(|m| &m.file == file) {
            let subject = summaries
                .get(change.commit.as_str())
                .map(|summary| format!(": {summary}"))
                .unwrap_or_default();
            citations.push(cite(
                format!(
                    "{} {file}{subject}",
                    format!("{:?}", change.change).to_lowercase()
                ),
                short_sha(&change.commit).to_string(),
            ));
        }
    }

    let count = deploys.len().max(1);
    let what = match &first.revision {
        Some(rev) => {
            let message = first
                .revision_message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            format!("migration {rev}{message} fails")
        }
        None => "Alembic refuses to run the migrations".to_string(),
    };
    let summary = format!(
        "{what} in {count} deploy{}: {}",
        if count == 1 { "" } else { "s" },
        log_summary(first).trim_start_matches(&format!(
            "revision {}: ",
            first.revision.as_deref().unwrap_or("")
        ))
    );
    // The prediction is the first citation and `finding_rule`: the summary stays one fact.
    let kind = if first.revision.is_some() && first.alembic_error.is_none() {
        "migration"
    } else {
        "migration_graph"
    };
    let score = 100 + if finding.is_some() { 50 } else { 0 } + count as u32;
    Some((
        score,
        RootCause {
            rank: 0,
            kind: kind.to_string(),
            summary,
            revision: first.revision.clone(),
            file: file.or_else(|| finding.and_then(|f| f.file.clone())),
            line: line.or_else(|| finding.and_then(|f| f.line)),
            finding_rule: finding.map(|f| f.rule.clone()),
            evidence: citations,
            suspect: None,
            unattributed: None,
            observed: true,
        },
    ))
}
