//! Which commit of the range caused a failure: each commit is matched by what it changed
//! against what fails (dependency manifests for a build failure or an OOM, start and service
//! configuration for a health check or a start failure, the file a traceback ends in, the
//! migration file that fails).
//!
//! Only commits up to the first failed deploy's commit can have caused it: a later one (the
//! tip of the range, typically) was deployed after the failure had already happened, so it is
//! never named unless nothing earlier exists.

use crate::analyze::correlate::same_sha;
use crate::analyze::{CommitRange, LogFailure, RootCause, Suspect};
use crate::evidence::{ChangeKind, Commit, Evidence};

/// Dependency manifests and lock files: what a build resolves and what an image carries.
pub fn is_dependency_manifest(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    (name.starts_with("requirements") && name.ends_with(".txt"))
        || (name.starts_with("requirements") && name.ends_with(".in"))
        || matches!(
            name.as_str(),
            "pyproject.toml"
                | "poetry.lock"
                | "pipfile"
                | "pipfile.lock"
                | "uv.lock"
                | "setup.py"
                | "setup.cfg"
                | "package.json"
                | "package-lock.json"
                | "yarn.lock"
                | "pnpm-lock.yaml"
                | "gemfile"
                | "gemfile.lock"
                | "go.mod"
                | "go.sum"
                | "cargo.toml"
                | "cargo.lock"
                | "composer.json"
                | "composer.lock"
        )
}

/// What decides how the service starts and answers its health check: the start command,
/// the Blueprint, the Procfile, the Dockerfile, the server's own settings, a start script.
pub fn is_start_config(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    name == "render.yaml"
        || name == "procfile"
        || name.starts_with("dockerfile")
        || name.ends_with(".dockerfile")
        || name.starts_with("gunicorn")
        || name.starts_with("uvicorn")
        || name.starts_with("hypercorn")
        || name.starts_with("entrypoint")
        || name.starts_with("docker-entrypoint")
        || (name.starts_with("start") && name.ends_with(".sh"))
        || name == "runtime.txt"
        || name == ".python-version"
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The commits that can have caused the first failure: the range up to the first failed
/// deploy's commit, oldest first. Without that commit in the range, the whole range.
fn before_first_failure<'a>(evidence: &'a Evidence, range: &CommitRange) -> Vec<&'a Commit> {
    // Indexed once: a range can hold 200,000 commits. Reversed, so that the first of equal
    // SHAs wins, as the scan it replaces found it.
    let by_sha: std::collections::HashMap<&str, &Commit> = evidence
        .commits
        .iter()
        .rev()
        .map(|c| (c.sha.as_str(), c))
        .collect();
    let commits: Vec<&Commit> = range
        .commits
        .iter()
        .filter_map(|sha| by_sha.get(sha.as_str()).copied())
        .collect();
    match commits
        .iter()
        .position(|c| same_sha(&c.sha, &range.first_bad))
    {
        Some(i) => commits[..=i].to_vec(),
        None => commits,
    }
}

/// The log failure a cause rests on: its deploys' earliest, else the earliest of all.
fn cause_log<'a>(cause: &RootCause, log_failures: &'a [LogFailure]) -> Option<&'a LogFailure> {
    let cited: Vec<&str> = cause.evidence.iter().map(|c| c.source.as_str()).collect();
    let mut mine: Vec<&LogFailure> = log_failures
        .iter()
        .filter(|f| f.deploy_id.as_deref().is_some_and(|d| cited.contains(&d)))
        .collect();
    mine.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.log_id.cmp(&b.log_id))
    });
    mine.into_iter().next()
}

/// A path from a log (`/app/app/settings.py`) as the repository names it (`app/settings.py`):
/// the longest path of a changed file that ends the logged one.
pub fn repo_path(evidence: &Evidence, logged: &str) -> Option<String> {
    let logged = logged.replace('\\', "/");
    evidence
        .commits
        .iter()
        .flat_map(|c| &c.files)
        .map(|f| f.path.as_str())
        .filter(|p| logged == *p || logged.ends_with(&format!("/{p}")))
        .max_by_key(|p| p.len())
        .map(str::to_string)
}

/// The most likely commit behind a cause; else, when the range is known but no commit in it
/// changed anything the cause's class depends on, a note saying so (the cause may lie outside
/// the repository). Nothing when there is no range to look in.
pub fn attribute(
    evidence: &Evidence,
    range: Option<&CommitRange>,
    cause: &RootCause,
    log_failures: &[LogFailure],
) -> (Option<Suspect>, Option<String>) {
    let Some(range) = range else {
        return (None, None);
    };
    let mut what = None;
    let found = suspect(evidence, range, cause, log_failures, &mut what);
    let note = match (&found, what) {
        (None, Some(what)) => Some(format!(
            "no commit between the last good deploy and the first failed one changed {what}: the cause may lie outside the repository (an environment variable, the plan, the database, Render itself)"
        )),
        _ => None,
    };
    (found, note)
}

fn suspect(
    evidence: &Evidence,
    range: &CommitRange,
    cause: &RootCause,
    log_failures: &[LogFailure],
    looked_for: &mut Option<String>,
) -> Option<Suspect> {
    let candidates = before_first_failure(evidence, range);
    let log = cause_log(cause, log_failures);

    // (matches the file, what it means, the file and line the logs name)
    type Matcher<'m> = Box<dyn Fn(&str) -> bool + 'm>;
    let (matcher, what, line): (Matcher, String, Option<(String, u32)>) = match cause.kind.as_str()
    {
        "migration" | "migration_graph" => {
            let file = cause.file.clone()?;
            let f2 = file.clone();
            (
                Box::new(move |p: &str| p == f2),
                "the migration that fails".to_string(),
                None,
            )
        }
        "build" | "oom" => {
            let manifest = log.and_then(|l| l.manifest.clone());
            let line = log.and_then(|l| Some((l.manifest.clone()?, l.manifest_line?)));
            let what = if cause.kind == "oom" {
                "a dependency manifest (what the new instance loads into memory)".to_string()
            } else {
                "a dependency manifest (what the build resolves)".to_string()
            };
            match manifest {
                // pip named the file the conflicting pin is in: that file first.
                Some(m) => {
                    let m2 = m.clone();
                    (
                        Box::new(move |p: &str| {
                            p == m2 || p.ends_with(&format!("/{m2}")) || is_dependency_manifest(p)
                        }),
                        format!("{what}; pip names {m}"),
                        line,
                    )
                }
                None => (Box::new(is_dependency_manifest), what, None),
            }
        }
        _ => {
            let app = log.and_then(|l| {
                let file = repo_path(evidence, l.app_file.as_deref()?)?;
                Some((file, l.app_line, l.error_class.clone()))
            });
            match app {
                Some((file, line, class)) => {
                    let f2 = file.clone();
                    let what = match class.as_deref() {
                        Some("missing_env") => format!(
                            "the traceback ends there, reading the environment variable {}",
                            log.and_then(|l| l.env_var.clone()).unwrap_or_default()
                        ),
                        _ => "the traceback ends there".to_string(),
                    };
                    let at = line.map(|n| (file.clone(), n));
                    (Box::new(move |p: &str| p == f2), what, at)
                }
                None => (
                    Box::new(is_start_config),
                    "how the service starts (start command, render.yaml, Procfile, Dockerfile, server settings)".to_string(),
                    None,
                ),
            }
        }
    };

    *looked_for = Some(match &line {
        Some((file, _)) if !matches!(cause.kind.as_str(), "build" | "oom") => file.clone(),
        _ => what.clone(),
    });
    let hits: Vec<(&Commit, &str, ChangeKind)> = candidates
        .iter()
        .filter_map(|c| {
            c.files
                .iter()
                .filter(|f| f.change != ChangeKind::Deleted)
                .find(|f| matcher(&f.path))
                .map(|f| (*c, f.path.as_str(), f.change))
        })
        .collect();
    // A migration is caused by the commit that added it; otherwise the newest change before
    // the first failure is the one that made the deploy differ from the last good one.
    let chosen = match cause.kind.as_str() {
        "migration" | "migration_graph" => hits
            .iter()
            .find(|(_, _, k)| *k == ChangeKind::Added)
            .or(hits.first()),
        _ => hits.last(),
    }?;
    let (commit, file, _) = *chosen;
    let others: Vec<String> = hits
        .iter()
        .filter(|(c, _, _)| c.sha != commit.sha)
        .map(|(c, _, _)| c.short().to_string())
        .collect();
    let confidence = if others.is_empty() { "high" } else { "medium" };
    let mut reason = format!("changed {file}: {what}");
    if others.is_empty() {
        reason.push_str("; no other commit before the first failure changed it");
    } else {
        reason.push_str(&format!(
            "; {} also changed such files before the first failure",
            others.join(", ")
        ));
    }
    Some(Suspect {
        sha: commit.sha.clone(),
        summary: commit.summary.clone(),
        file: file.to_string(),
        line: line
            .filter(|(f, _)| file == f || file.ends_with(&format!("/{f}")))
            .map(|(_, n)| n),
        reason,
        confidence: confidence.to_string(),
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_start_config() {
        assert!(is_dependency_manifest("backend/requirements.txt"));
        assert!(is_dependency_manifest("requirements-prod.txt"));
        assert!(is_dependency_manifest("web/package-lock.json"));
        assert!(!is_dependency_manifest("app/requirements.py"));
        assert!(is_start_config("render.yaml"));
        assert!(is_start_config("backend/gunicorn.conf.py"));
        assert!(is_start_config("Dockerfile.prod"));
        assert!(!is_start_config("app/main.py"));
    }
}
