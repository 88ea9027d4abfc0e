//! `--to github:owner/repo` and `--to gitlab:group/project`: a new issue titled with the
//! report's first `# ` heading, the report in its first comment (note).
//!
//! The report goes in a comment, not in the issue's description, so that it is found and updated
//! like any other: a later run with the issue's number (`--to owner/repo#N`) updates that
//! comment. A later run with the repository alone opens another issue, as a person filing a
//! ticket would: nothing on the repository says which issue an earlier run opened, and guessing
//! from titles could write onto someone else's issue.

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::http::Context;
use super::{github, gitlab, send, Credentials, Options, Outcome, Ticket, Tracker};
use crate::{Error, Result};

/// GitHub's web form stops at 256 characters (UNVERIFIED for the API); the whole title stays in
/// the report's heading.
const TITLE_MAX: usize = 255;

/// The report's first `# ` heading, or `Postmortem`.
pub fn title(report: &str) -> String {
    let title = report
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("Postmortem");
    if title.chars().count() <= TITLE_MAX {
        title.to_string()
    } else {
        let cut: String = title.chars().take(TITLE_MAX - 1).collect();
        format!("{cut}…")
    }
}

fn description(again: &str) -> String {
    format!(
        "Postmortem written by `postmortem`: the report is in the comment below. Publishing again with `--to {again}` updates that comment instead of adding another."
    )
}

/// The tracker for the issue once it exists, the request that creates it, and what the answer
/// calls its number and web address.
struct Plan {
    create_url: String,
    payload: Value,
    number_field: &'static str,
    web_field: &'static str,
    ctx_ticket: String,
    system: &'static str,
    token_var: &'static str,
    permission: &'static str,
}

pub(super) fn publish(
    text: &str,
    key: &str,
    opts: &Options,
    creds: &Credentials,
) -> Result<Outcome> {
    let title = title(text);
    let (plan, token, base) = match &opts.target.ticket {
        Ticket::GitHubNew { owner, repo } => {
            let (token, base) = github::access(opts, creds)?;
            let root = base.as_str().trim_end_matches('/').to_string();
            let plan = Plan {
                create_url: format!("{root}/repos/{owner}/{repo}/issues"),
                payload: json!({
                    "title": title,
                    "body": description(&format!("{owner}/{repo}#<this issue's number>")),
                }),
                number_field: "number",
                web_field: "html_url",
                ctx_ticket: format!("github:{owner}/{repo}"),
                system: "GitHub",
                token_var: github::token_label(&token),
                permission: "a fine-grained token needs Issues: Read and write; a classic token the repo scope, or public_repo",
            };
            (plan, token, base)
        }
        Ticket::GitLabNew { project } => {
            let (token, base) = gitlab::access(opts, creds)?;
            let root = base.as_str().trim_end_matches('/').to_string();
            let plan = Plan {
                create_url: format!("{root}/projects/{}/issues", gitlab::encode(project)),
                payload: json!({
                    "title": title,
                    "description": description(&format!("gitlab:{project}#<this issue's number>")),
                }),
                number_field: "iid",
                web_field: "web_url",
                ctx_ticket: format!("gitlab:{project}"),
                system: "GitLab",
                token_var: "GITLAB_TOKEN/GITLAB_ACCESS_TOKEN",
                permission: "it needs the api scope and at least the Planner or Reporter role on the project",
            };
            (plan, token, base)
        }
        other => {
            return Err(Error::Publish(format!(
                "{other} is an existing ticket, not a new one"
            )))
        }
    };
    let tracker_for = |number: u64| -> Result<Box<dyn Tracker>> {
        Ok(match &opts.target.ticket {
            Ticket::GitHubNew { owner, repo } => Box::new(github::GitHub::new(
                &base,
                owner,
                repo,
                number,
                token.clone(),
                opts,
            )?),
            Ticket::GitLabNew { project } => Box::new(gitlab::GitLab::new(
                &base,
                project,
                number,
                token.clone(),
                opts,
            )?),
            _ => unreachable!("checked above"),
        })
    };
    let again = match &opts.target.ticket {
        Ticket::GitHubNew { owner, repo } => format!("{owner}/{repo}"),
        Ticket::GitLabNew { project } => format!("gitlab:{project}"),
        _ => unreachable!("checked above"),
    };

    // A new issue has no comments of ours: nothing to look up.
    let fresh = Options {
        new: true,
        ..opts.clone()
    };
    if opts.dry_run {
        // The comments go to the issue about to be made: its number stands in the URLs.
        let tracker = tracker_for(1)?;
        let plan_line = format!(
            "first: POST {} (a new issue titled {title:?}, {} characters of description); then, on the new issue:",
            plan.create_url,
            description(&again).chars().count()
        );
        let mut outcome = send(tracker.as_ref(), &opts.target.ticket, text, key, &fresh)?;
        for line in &mut outcome.lines {
            *line = if line.starts_with("--new: ") {
                format!("a new issue has no {}s: none are looked up", tracker.noun())
            } else {
                line.replace("/issues/1/", "/issues/{number}/")
            };
        }
        outcome.lines.insert(1, plan_line);
        return Ok(outcome);
    }

    let http = match &opts.target.ticket {
        Ticket::GitHubNew { .. } => github::http(&base, &token, opts)?,
        _ => gitlab::http(&base, &token, opts)?,
    };
    let ctx = Context {
        system: plan.system,
        token_var: plan.token_var,
        ticket: &plan.ctx_ticket,
        permission: plan.permission,
    };
    let url = Url::parse(&plan.create_url)
        .map_err(|e| Error::Publish(format!("{}: bad URL: {e}", plan.system)))?;
    let reply = http.send(Method::POST, &url, Some(&plan.payload), &ctx)?;
    let issue = reply.json(&format!("{} issue", plan.system))?;
    let number = issue
        .get(plan.number_field)
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            Error::Publish(format!(
                "{}: the new issue's answer has no {}",
                plan.system, plan.number_field
            ))
        })?;
    let web = issue
        .get(plan.web_field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{again}#{number}"));
    // The issue exists from here on: a failure to comment must still say which, or a re-run
    // with the repository alone would open another.
    let opened = |e: Error| {
        let e = match e {
            Error::Publish(message) => message,
            other => other.to_string(),
        };
        Error::Publish(format!(
            "created issue {web}, but the postmortem did not reach it: {e}; publish again with --to {again}#{number}"
        ))
    };
    let tracker = tracker_for(number).map_err(opened)?;
    let mut outcome =
        send(tracker.as_ref(), &opts.target.ticket, text, key, &fresh).map_err(opened)?;
    outcome.lines.insert(
        0,
        format!(
            "created issue {web} ({title:?}); to update its {} later, publish with --to {again}#{number} (--to {} alone opens another issue)",
            tracker.noun(),
            plan.ctx_ticket
        ),
    );
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_the_first_heading() {
        assert_eq!(
            title("intro\n# Render Deployment Failure Analysis: api \n## x"),
            "Render Deployment Failure Analysis: api"
        );
        assert_eq!(title("no heading\n"), "Postmortem");
        assert_eq!(title("#  \n"), "Postmortem");
        let long = format!("# {}\n", "é".repeat(400));
        assert_eq!(title(&long).chars().count(), 255);
        assert!(title(&long).ends_with('…'));
    }
}
