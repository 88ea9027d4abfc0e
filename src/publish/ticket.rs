//! What `--to` names: a ticket as a person would paste it, read into the system, the ticket and,
//! for a URL, the API base that host serves.

use std::fmt;

use reqwest::Url;

/// The tracking systems `--to` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    GitHub,
    GitLab,
    Jira,
    Linear,
}

impl System {
    /// Whether the system draws Mermaid blocks (Jira shows them as source): a report meant for
    /// it leaves the diagrams out.
    pub fn draws_mermaid(self) -> bool {
        self != System::Jira
    }

    pub fn name(self) -> &'static str {
        match self {
            System::GitHub => "GitHub",
            System::GitLab => "GitLab",
            System::Jira => "Jira",
            System::Linear => "Linear",
        }
    }

    /// `publish: {tracker: …}` in postmortem.yaml.
    pub fn from_config(name: &str) -> Option<System> {
        match name.trim().to_ascii_lowercase().as_str() {
            "github" => Some(System::GitHub),
            "gitlab" => Some(System::GitLab),
            "jira" => Some(System::Jira),
            "linear" => Some(System::Linear),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    /// An issue or a pull request: both take comments through the issue-comment endpoints.
    GitHub {
        owner: String,
        repo: String,
        number: u64,
    },
    /// `project` is the full path (`group/sub/project`); `iid` the number shown in the UI.
    GitLab {
        project: String,
        iid: u64,
    },
    Jira {
        key: String,
    },
    Linear {
        key: String,
    },
    /// `github:owner/repo`: a new issue, titled from the report.
    GitHubNew {
        owner: String,
        repo: String,
    },
    /// `gitlab:group/project`: a new issue, titled from the report.
    GitLabNew {
        project: String,
    },
}

impl Ticket {
    pub fn system(&self) -> System {
        match self {
            Ticket::GitHub { .. } => System::GitHub,
            Ticket::GitLab { .. } => System::GitLab,
            Ticket::Jira { .. } => System::Jira,
            Ticket::Linear { .. } => System::Linear,
            Ticket::GitHubNew { .. } => System::GitHub,
            Ticket::GitLabNew { .. } => System::GitLab,
        }
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ticket::GitHub {
                owner,
                repo,
                number,
            } => write!(f, "{owner}/{repo}#{number}"),
            Ticket::GitLab { project, iid } => write!(f, "gitlab:{project}#{iid}"),
            Ticket::Jira { key } => write!(f, "jira:{key}"),
            Ticket::Linear { key } => write!(f, "linear:{key}"),
            Ticket::GitHubNew { owner, repo } => write!(f, "a new issue in github:{owner}/{repo}"),
            Ticket::GitLabNew { project } => write!(f, "a new issue in gitlab:{project}"),
        }
    }
}

/// A parsed `--to`: the ticket, and the API base its URL implies (GitHub Enterprise,
/// self-managed GitLab, a Jira site), when it was given as a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub ticket: Ticket,
    pub api_url: Option<String>,
}

const FORMS: &str = "owner/repo#123, a GitHub issue or pull-request URL, gitlab:group/project#12, \
a GitLab issue URL, jira:PROJ-123, a Jira browse URL, linear:ENG-42 or a Linear issue URL; \
github:owner/repo or gitlab:group/project for a new issue";

/// Reads `--to`. `default_tracker` (`publish: {tracker: …}` in postmortem.yaml) decides what a
/// bare `PROJ-123` means; without it a bare key is an error that says how to choose.
pub fn parse(input: &str, default_tracker: Option<System>) -> Result<Target, String> {
    let s = input.trim();
    let bad = |why: &str| format!("--to {input:?}: {why} (write one of: {FORMS})");
    if s.is_empty() {
        return Err(bad("no ticket given"));
    }
    if s.starts_with("http://") || s.starts_with("https://") {
        return parse_url(s).map_err(|why| bad(&why));
    }
    let plain = |ticket| {
        Ok(Target {
            ticket,
            api_url: None,
        })
    };
    if let Some((scheme, rest)) = s.split_once(':') {
        let ticket = match scheme.to_ascii_lowercase().as_str() {
            "github" if !rest.contains('#') => github_repo(rest),
            "gitlab" if !rest.contains('#') => gitlab_project(rest),
            "github" => github_path(rest),
            "gitlab" => gitlab_path(rest),
            "jira" => issue_key(rest, "Jira").map(|key| Ticket::Jira { key }),
            "linear" => issue_key(rest, "Linear").map(|key| Ticket::Linear { key }),
            other => Err(format!(
                "unknown tracker {other:?}: use github:, gitlab:, jira: or linear:"
            )),
        };
        return ticket.map_err(|why| bad(&why)).and_then(plain);
    }
    if s.contains('#') {
        return github_path(s).map_err(|why| bad(&why)).and_then(plain);
    }
    if let Ok(key) = issue_key(s, "") {
        return match default_tracker {
            Some(System::Jira) => plain(Ticket::Jira { key }),
            Some(System::Linear) => plain(Ticket::Linear { key }),
            _ => Err(format!(
                "--to {input:?}: a bare key does not say which tracker it belongs to: write \
jira:{key} or linear:{key}, or set `publish: {{tracker: jira}}` (or linear) in postmortem.yaml"
            )),
        };
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad(
            "a number alone does not name a repository: write owner/repo#NUMBER",
        ));
    }
    Err(bad("not a ticket"))
}

fn number(text: &str, what: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{what} {text:?} is not a positive number"))
}

fn valid_name(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn owner_repo(path: &str) -> Result<(&str, &str), String> {
    path.split_once('/')
        .filter(|(o, r)| valid_name(o) && valid_name(r))
        .ok_or_else(|| format!("{path:?} is not owner/repo"))
}

/// `github:owner/repo`, no number: a new issue.
fn github_repo(path: &str) -> Result<Ticket, String> {
    let (owner, repo) = owner_repo(path)?;
    Ok(Ticket::GitHubNew {
        owner: owner.to_string(),
        repo: repo.to_string(),
    })
}

fn gitlab_project(path: &str) -> Result<Ticket, String> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 || !parts.iter().all(|p| valid_name(p)) {
        return Err(format!(
            "{path:?} is not a GitLab project path (group/project)"
        ));
    }
    Ok(Ticket::GitLabNew {
        project: path.to_string(),
    })
}

fn github_path(s: &str) -> Result<Ticket, String> {
    let (path, num) = s.split_once('#').ok_or_else(|| {
        "no issue number: write owner/repo#NUMBER, or github:owner/repo for a new issue".to_string()
    })?;
    let (owner, repo) = owner_repo(path)?;
    Ok(Ticket::GitHub {
        owner: owner.to_string(),
        repo: repo.to_string(),
        number: number(num, "issue number")?,
    })
}

fn gitlab_path(s: &str) -> Result<Ticket, String> {
    let (path, num) = s.split_once('#').ok_or_else(|| {
        "no issue number: write gitlab:group/project#NUMBER, or gitlab:group/project for a new issue"
            .to_string()
    })?;
    let Ticket::GitLabNew { project } = gitlab_project(path)? else {
        unreachable!("gitlab_project gives GitLabNew")
    };
    Ok(Ticket::GitLab {
        project,
        iid: number(num, "issue number")?,
    })
}

/// `PROJ-123` / `ENG-42`: letters first, then letters, digits or `_`, a dash, a number.
fn issue_key(s: &str, system: &str) -> Result<String, String> {
    let ok = s.split_once('-').is_some_and(|(project, num)| {
        project
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && number(num, "").is_ok()
    });
    if ok {
        Ok(s.to_ascii_uppercase())
    } else {
        Err(format!("{s:?} is not a {system} issue key like PROJ-123"))
    }
}

fn origin(url: &Url) -> String {
    let mut origin = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        origin.push_str(&format!(":{port}"));
    }
    origin
}

fn parse_url(s: &str) -> Result<Target, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let segments: Vec<&str> = url
        .path_segments()
        .map(|p| p.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    // GitLab first: its `/-/issues/` separator is unambiguous, whatever the host.
    if let Some(dash) = segments.iter().position(|s| *s == "-") {
        if segments.get(dash + 1) == Some(&"issues") && dash >= 2 {
            let iid = number(
                segments.get(dash + 2).copied().unwrap_or_default(),
                "issue number",
            )?;
            let project = segments[..dash].join("/");
            let api_url = (host != "gitlab.com").then(|| format!("{}/api/v4", origin(&url)));
            return Ok(Target {
                ticket: gitlab_path(&format!("{project}#{iid}"))?,
                api_url,
            });
        }
    }
    if let Some(i) = segments.iter().position(|s| *s == "browse") {
        let key = segments
            .get(i + 1)
            .ok_or("a Jira browse URL ends with the issue key")?;
        let site = format!(
            "{}{}",
            origin(&url),
            segments[..i]
                .iter()
                .map(|s| format!("/{s}"))
                .collect::<String>()
        );
        return Ok(Target {
            ticket: Ticket::Jira {
                key: issue_key(key, "Jira")?,
            },
            api_url: Some(format!("{site}/rest/api/3")),
        });
    }
    if host == "linear.app" {
        return match segments.as_slice() {
            [_, "issue", key, ..] => Ok(Target {
                ticket: Ticket::Linear {
                    key: issue_key(key, "Linear")?,
                },
                api_url: None,
            }),
            _ => Err("a Linear URL looks like https://linear.app/WORKSPACE/issue/ENG-42".into()),
        };
    }
    // Anything else with GitHub's shape is GitHub, or GitHub Enterprise Server on its own host.
    if let [owner, repo, kind, num, ..] = segments.as_slice() {
        if matches!(*kind, "issues" | "pull") {
            let ticket = github_path(&format!("{owner}/{repo}#{num}"))?;
            let api_url = match host.as_str() {
                // Named, so that GH_HOST (for short forms) does not apply to a github.com URL.
                "github.com" | "www.github.com" => Some("https://api.github.com".to_string()),
                // A GHE.com tenancy serves its API on a subdomain, as gh knows it.
                h if h.ends_with(".ghe.com") => Some(format!("https://api.{h}")),
                _ => Some(format!("{}/api/v3", origin(&url))),
            };
            return Ok(Target { ticket, api_url });
        }
    }
    Err("not an issue URL that this tool recognises".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Target {
        parse(s, None).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn gh(owner: &str, repo: &str, number: u64) -> Ticket {
        Ticket::GitHub {
            owner: owner.into(),
            repo: repo.into(),
            number,
        }
    }

    #[test]
    fn github_short_forms() {
        assert_eq!(ok("acme/api#123").ticket, gh("acme", "api", 123));
        assert_eq!(ok(" github:acme/api.rs#7 ").ticket, gh("acme", "api.rs", 7));
        assert_eq!(ok("acme/api#123").api_url, None);
    }

    #[test]
    fn github_urls() {
        let t = ok("https://github.com/acme/api/issues/123");
        assert_eq!(
            t,
            Target {
                ticket: gh("acme", "api", 123),
                api_url: Some("https://api.github.com".into())
            }
        );
        let t = ok("https://github.com/acme/api/pull/45/files#diff-1");
        assert_eq!(t.ticket, gh("acme", "api", 45));
        let t = ok("https://github.com/acme/api/issues/9#issuecomment-1");
        assert_eq!(t.ticket, gh("acme", "api", 9));
        let t = ok("https://ghe.example.com/acme/api/issues/3");
        assert_eq!(t.api_url.as_deref(), Some("https://ghe.example.com/api/v3"));
        let t = ok("https://octo.ghe.com/acme/api/issues/3");
        assert_eq!(t.api_url.as_deref(), Some("https://api.octo.ghe.com"));
    }

    #[test]
    fn gitlab_forms() {
        let t = ok("gitlab:group/sub/project#12");
        assert_eq!(
            t.ticket,
            Ticket::GitLab {
                project: "group/sub/project".into(),
                iid: 12
            }
        );
        let t = ok("https://gitlab.com/group/sub/project/-/issues/12");
        assert_eq!(
            t.ticket,
            Ticket::GitLab {
                project: "group/sub/project".into(),
                iid: 12
            }
        );
        assert_eq!(t.api_url, None);
        let t = ok("https://git.example.org:8443/ops/app/-/issues/4#note_9");
        assert_eq!(
            t.ticket,
            Ticket::GitLab {
                project: "ops/app".into(),
                iid: 4
            }
        );
        assert_eq!(
            t.api_url.as_deref(),
            Some("https://git.example.org:8443/api/v4")
        );
    }

    #[test]
    fn a_repository_without_a_number_is_a_new_issue() {
        assert_eq!(
            ok("github:acme/api").ticket,
            Ticket::GitHubNew {
                owner: "acme".into(),
                repo: "api".into()
            }
        );
        assert_eq!(
            ok("gitlab:group/sub/project").ticket,
            Ticket::GitLabNew {
                project: "group/sub/project".into()
            }
        );
        // A bare owner/repo stays an error: it may be a typo for owner/repo#N.
        assert!(parse("acme/api", None).is_err());
    }

    #[test]
    fn jira_forms() {
        assert_eq!(
            ok("jira:PROJ-123").ticket,
            Ticket::Jira {
                key: "PROJ-123".into()
            }
        );
        let t = ok("https://acme.atlassian.net/browse/OPS-7");
        assert_eq!(
            t.ticket,
            Ticket::Jira {
                key: "OPS-7".into()
            }
        );
        assert_eq!(
            t.api_url.as_deref(),
            Some("https://acme.atlassian.net/rest/api/3")
        );
        let t = ok("https://jira.example.com/jira/browse/OPS-7");
        assert_eq!(
            t.api_url.as_deref(),
            Some("https://jira.example.com/jira/rest/api/3")
        );
    }

    #[test]
    fn linear_forms() {
        assert_eq!(
            ok("linear:ENG-42").ticket,
            Ticket::Linear {
                key: "ENG-42".into()
            }
        );
        let t = ok("https://linear.app/acme/issue/ENG-42/deploy-failed");
        assert_eq!(
            t.ticket,
            Ticket::Linear {
                key: "ENG-42".into()
            }
        );
    }

    #[test]
    fn bare_key_uses_the_configured_tracker_or_says_how_to_choose() {
        let err = parse("PROJ-123", None).unwrap_err();
        assert!(err.contains("jira:PROJ-123 or linear:PROJ-123"), "{err}");
        assert!(err.contains("postmortem.yaml"), "{err}");
        assert_eq!(
            parse("PROJ-123", Some(System::Jira)).unwrap().ticket,
            Ticket::Jira {
                key: "PROJ-123".into()
            }
        );
        assert_eq!(
            parse("eng-42", Some(System::Linear)).unwrap().ticket,
            Ticket::Linear {
                key: "ENG-42".into()
            }
        );
        assert!(parse("PROJ-123", Some(System::GitHub)).is_err());
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        for (input, says) in [
            ("", "no ticket given"),
            ("123", "owner/repo#NUMBER"),
            ("acme/api", "not a ticket"),
            ("github:acme", "not owner/repo"),
            ("gitlab:acme", "not a GitLab project path"),
            ("acme/api#0", "not a positive number"),
            ("acme/api#x", "not a positive number"),
            ("acme#3", "not owner/repo"),
            ("../x#3", "not owner/repo"),
            ("gitlab:project#3", "not a GitLab project path"),
            ("jira:123", "not a Jira issue key"),
            ("bugzilla:5", "unknown tracker"),
            ("https://example.com/nothing", "not an issue URL"),
            (
                "https://linear.app/acme/project/x",
                "linear.app/WORKSPACE/issue",
            ),
        ] {
            let err = parse(input, None).unwrap_err();
            assert!(err.contains(says), "{input:?}: {err}");
            assert!(err.contains("--to"), "{input:?}: {err}");
        }
    }
}
