//! Where in the deploy the failure happened: the line of the deploy's own scripts that ran the
//! failing command (`backend/entrypoint.sh:39: alembic upgrade head`), matched from the stage
//! the deploys failed in and what failed there. The collector (`collect::deploy`) read the
//! scripts and recorded each upgrade command with its stage; this only matches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::{RootCause, Streak};
use crate::evidence::{Evidence, Phase};
use crate::migrations::model::UpgradeCommand;

/// The command line that failed, in the file that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailurePoint {
    /// The file holding the command; absent for the Render service's own command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The command as written there, shortened.
    pub command: String,
    /// What runs that file (`backend/Dockerfile:10 ENTRYPOINT`), or the service's own
    /// command (`the Render service's startCommand`); absent when the file is itself the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_by: Option<String>,
    /// The Render stage: `build`, `pre-deploy`, `start`.
    pub stage: String,
}

/// The failure point of a migration failure: the upgrade command run by the stage most of the
/// failed deploys failed in. `None` when the top cause is not a migration's, when the stage is
/// unknown, or when no deploy file of that stage runs an upgrade.
pub fn failure_point(
    evidence: &Evidence,
    streak: Option<&Streak>,
    causes: &[RootCause],
) -> Option<FailurePoint> {
    let top = causes.first()?;
    if !top.observed || !matches!(top.kind.as_str(), "migration" | "migration_graph") {
        return None;
    }
    let stage = failing_stage(evidence, streak)?;
    let label = stage.label();
    let candidates: Vec<&UpgradeCommand> = evidence
        .upgrade_commands
        .iter()
        .filter(|c| c.stage.as_deref().is_none_or(|s| s == label))
        .collect();
    // What Render runs is the service's own command when it has one; a blueprint or a
    // Dockerfile only says what it would run otherwise.
    let chosen = candidates
        .iter()
        .find(|c| c.file.starts_with("render:"))
        .or_else(|| candidates.first())?;
    Some(point(chosen, label))
}

fn point(command: &UpgradeCommand, stage: &str) -> FailurePoint {
    if command.file.starts_with("render:") {
        return FailurePoint {
            file: None,
            line: None,
            command: command.command.trim().to_string(),
            run_by: Some(command.via.clone()),
            stage: stage.to_string(),
        };
    }
    let run_by = command
        .via
        .rsplit_once(" -> ")
        .map(|(before, _)| before.rsplit(" -> ").next().unwrap_or(before).to_string());
    FailurePoint {
        file: Some(command.file.clone()),
        line: (command.line > 0).then_some(command.line),
        command: command.command.trim().to_string(),
        run_by,
        stage: stage.to_string(),
    }
}

/// The stage most of the streak's failed deploys failed in (all failed deploys without a
/// streak); ties go to the earlier stage, which ran first.
fn failing_stage(evidence: &Evidence, streak: Option<&Streak>) -> Option<Phase> {
    let mut counts: BTreeMap<Phase, usize> = BTreeMap::new();
    for deploy in &evidence.deploys {
        let in_scope = match streak {
            Some(s) => s.deploys.contains(&deploy.id),
            None => deploy.status.is_failure(),
        };
        if let Some(f) = deploy.failure.as_ref().filter(|_| in_scope) {
            if f.phase != Phase::Unknown {
                *counts.entry(f.phase).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(file: &str, line: u32, via: &str, stage: &str) -> UpgradeCommand {
        UpgradeCommand {
            file: file.to_string(),
            line,
            command: "alembic upgrade head".to_string(),
            target: "head".to_string(),
            via: via.to_string(),
            stage: Some(stage.to_string()),
        }
    }

    fn cause(kind: &str) -> RootCause {
        RootCause {
            rank: 1,
            kind: kind.to_string(),
            summary: String::new(),
            revision: Some("36b3e62b4148".to_string()),
            file: None,
            line: None,
            finding_rule: None,
            evidence: Vec::new(),
            suspect: None,
            unattributed: None,
            observed: true,
        }
    }

    fn failing(phase: Phase) -> Evidence {
        use crate::evidence::{Deploy, DeployFailure, DeployStatus};
        let mut e = Evidence::new(crate::evidence::Service::default());
        for id in ["dep-a", "dep-b"] {
            e.deploys.push(Deploy {
                id: id.to_string(),
                status: DeployStatus::UpdateFailed,
                trigger: None,
                commit: None,
                image: None,
                created_at: None,
                started_at: None,
                finished_at: None,
                updated_at: None,
                failure: Some(DeployFailure {
                    phase,
                    exit_code: Some(1),
                    event_id: None,
                    reason: None,
                }),
            });
        }
        e.upgrade_commands = vec![
            upgrade(
                "bin/release.sh",
                4,
                "render.yaml:3 preDeployCommand -> bin/release.sh",
                "pre-deploy",
            ),
            upgrade(
                "backend/entrypoint.sh",
                39,
                "backend/Dockerfile:13 ENTRYPOINT -> backend/entrypoint.sh",
                "start",
            ),
            upgrade(
                "render:startCommand",
                0,
                "the Render service's startCommand",
                "start",
            ),
        ];
        e
    }

    #[test]
    fn the_stage_that_failed_picks_the_line() {
        let pre = failure_point(&failing(Phase::PreDeploy), None, &[cause("migration")]).unwrap();
        assert_eq!(
            (pre.file.as_deref(), pre.line, pre.stage.as_str()),
            (Some("bin/release.sh"), Some(4), "pre-deploy")
        );
        // At start, what Render runs is the service's own command, not the Dockerfile's.
        let start = failure_point(&failing(Phase::Start), None, &[cause("migration")]).unwrap();
        assert_eq!(
            (start.file, start.run_by.as_deref()),
            (None, Some("the Render service's startCommand"))
        );
        // A build failure runs no upgrade here; an OOM is not a command's failure.
        assert_eq!(
            failure_point(&failing(Phase::Build), None, &[cause("migration")]),
            None
        );
        assert_eq!(
            failure_point(&failing(Phase::Start), None, &[cause("oom")]),
            None
        );
    }

    #[test]
    fn a_script_line_names_what_runs_the_script() {
        let p = point(
            &upgrade(
                "backend/entrypoint.sh",
                39,
                "backend/Dockerfile:10 ENTRYPOINT -> backend/entrypoint.sh",
                "start",
            ),
            "start",
        );
        assert_eq!(p.file.as_deref(), Some("backend/entrypoint.sh"));
        assert_eq!(p.line, Some(39));
        assert_eq!(
            p.run_by.as_deref(),
            Some("backend/Dockerfile:10 ENTRYPOINT")
        );

        let nested = point(
            &upgrade(
                "bin/migrate.sh",
                3,
                "render.yaml:5 preDeployCommand -> bin/release.sh -> bin/migrate.sh",
                "pre-deploy",
            ),
            "pre-deploy",
        );
        assert_eq!(nested.run_by.as_deref(), Some("bin/release.sh"));

        let root = point(
            &upgrade(
                "render.yaml",
                5,
                "render.yaml:5 preDeployCommand",
                "pre-deploy",
            ),
            "pre-deploy",
        );
        assert_eq!(
            (root.file.as_deref(), root.run_by),
            (Some("render.yaml"), None)
        );

        let own = point(
            &upgrade(
                "render:startCommand",
                0,
                "the Render service's startCommand",
                "start",
            ),
            "start",
        );
        assert_eq!((own.file, own.line), (None, None));
        assert_eq!(
            own.run_by.as_deref(),
            Some("the Render service's startCommand")
        );
    }
}
