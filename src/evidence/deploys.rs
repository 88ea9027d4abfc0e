//! Pure helpers over the deploys: when each happened, their order, and the newest run of
//! failures. Rules, collectors and the analysis all read them, so all reach the same answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::Deploy;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Streak {
    pub count: usize,
    /// Deploy IDs, oldest first.
    pub deploys: Vec<String>,
    pub first_failed: String,
    pub first_failed_at: Option<DateTime<Utc>>,
    pub last_failed: String,
    pub last_failed_at: Option<DateTime<Utc>>,
    pub last_good: Option<String>,
    pub last_good_at: Option<DateTime<Utc>>,
    /// The deploy that went live after the streak, if any.
    pub recovered_by: Option<String>,
}

/// When a deploy happened, for ordering: created, else started, else finished.
pub fn deploy_time(deploy: &Deploy) -> Option<DateTime<Utc>> {
    deploy
        .created_at
        .or(deploy.started_at)
        .or(deploy.finished_at)
}

/// Deploys oldest first; undated ones sort first (they cannot be placed, and must not be taken
/// for the newest), ties by ID.
pub fn oldest_first(deploys: &[Deploy]) -> Vec<&Deploy> {
    let mut ordered: Vec<&Deploy> = deploys.iter().collect();
    ordered.sort_by(|a, b| {
        deploy_time(a)
            .cmp(&deploy_time(b))
            .then_with(|| a.id.cmp(&b.id))
    });
    ordered
}

/// The newest run of consecutive failed deploys. Canceled and still-running deploys are
/// neither failures nor successes: they neither break the run nor count in it.
pub fn streak(deploys: &[Deploy]) -> Option<Streak> {
    let ordered = oldest_first(deploys);
    let newest_failure = ordered.iter().rposition(|d| d.status.is_failure())?;
    let mut members = Vec::new();
    let mut last_good = None;
    for deploy in ordered[..=newest_failure].iter().rev() {
        if deploy.status.is_failure() {
            members.push(*deploy);
        } else if deploy.status.is_success() {
            last_good = Some(*deploy);
            break;
        }
    }
    members.reverse();
    let first = members.first()?;
    let last = members.last()?;
    let recovered_by = ordered[newest_failure..]
        .iter()
        .find(|d| d.status.is_success());
    Some(Streak {
        count: members.len(),
        deploys: members.iter().map(|d| d.id.clone()).collect(),
        first_failed: first.id.clone(),
        first_failed_at: deploy_time(first),
        last_failed: last.id.clone(),
        last_failed_at: deploy_time(last),
        last_good: last_good.map(|d| d.id.clone()),
        last_good_at: last_good.and_then(|d| d.finished_at.or(deploy_time(d))),
        recovered_by: recovered_by.map(|d| d.id.clone()),
    })
}
