//! GitLab (gitlab.com, self-managed and Dedicated at `https://HOST/api/v4`): issue notes.
//!
//! The hidden HTML-comment marker is UNVERIFIED on GitLab: its sanitizer lets raw HTML through
//! an allowlist, and HTML comments are expected to stay hidden, but that was not confirmed in
//! GitLab's documentation.

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::http::{next_link, Context, Http, Pages};
use super::{
    api_base, need, Attached, Credentials, Existing, Options, Posted, Token, Tracker,
    GITLAB_TOKEN_VARS,
};
use crate::{Error, Result};

pub const DEFAULT_API: &str = "https://gitlab.com/api/v4";
/// A note's body is at most 1,000,000 characters (GitLab's notes API).
pub const LIMIT: usize = 1_000_000;

/// The token and API base for a GitLab ticket: `GITLAB_TOKEN` (or `GITLAB_ACCESS_TOKEN`), and
/// `--api-url` or gitlab.com.
pub(super) fn access(opts: &Options, creds: &Credentials) -> Result<(Token, Url)> {
    let token = need(
        creds.gitlab.as_ref(),
        "GitLab",
        GITLAB_TOKEN_VARS,
        opts.dry_run,
    )?;
    Ok((token, api_base(opts, DEFAULT_API)?))
}

pub struct GitLab {
    http: Http,
    /// `POST` here stores a file in the project (`/projects/:id/uploads`).
    uploads: String,
    notes: String,
    user: String,
    ticket: String,
}

impl GitLab {
    pub fn new(
        base: &Url,
        project: &str,
        iid: u64,
        token: Token,
        opts: &Options,
    ) -> Result<GitLab> {
        let root = base.as_str().trim_end_matches('/').to_string();
        let http = http(base, &token, opts)?;
        let encoded = encode(project);
        Ok(GitLab {
            http,
            uploads: format!("{root}/projects/{encoded}/uploads"),
            notes: format!("{root}/projects/{encoded}/issues/{iid}/notes"),
            user: format!("{root}/user"),
            ticket: format!("{project}#{iid}"),
        })
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            system: "GitLab",
            token_var: "GITLAB_TOKEN/GITLAB_ACCESS_TOKEN",
            ticket: &self.ticket,
            permission:
                "it needs the api scope and at least the Reporter role, or Planner, on the project",
        }
    }
}

/// A client for GitLab's REST API at `base`, with `PRIVATE-TOKEN`.
pub(super) fn http(base: &Url, token: &Token, opts: &Options) -> Result<Http> {
    Http::new(
        base,
        "private-token",
        token.secret.expose().to_string(),
        token.secret.clone(),
        &[],
        opts.policy,
        opts.clock,
    )
}

/// The project path, URL-encoded as one segment; `ticket::parse` allows only `[A-Za-z0-9._-]`
/// and `/` in it.
pub(super) fn encode(project: &str) -> String {
    project.replace('/', "%2F")
}

fn url(s: &str) -> Result<Url> {
    Url::parse(s).map_err(|e| Error::Publish(format!("GitLab: bad URL {s:?}: {e}")))
}

fn posted(value: Value) -> Result<Posted> {
    let id = value
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::Publish("GitLab: the answer has no note id".into()))?;
    // Notes carry no web_url.
    Ok(Posted {
        id: id.to_string(),
        url: None,
    })
}

impl Tracker for GitLab {
    fn limit(&self) -> usize {
        LIMIT
    }

    fn noun(&self) -> &'static str {
        "note"
    }

    fn me(&self) -> Result<Option<String>> {
        self.http
            .user_name(&url(&self.user)?, "username", &self.ctx())
    }

    fn list(&self) -> Result<Vec<Existing>> {
        let mut out = Vec::new();
        let first = format!("{}?sort=asc&per_page=100", self.notes);
        let mut pages = Pages::default();
        let mut next = pages.follow(Some(first.clone()), "GitLab")?;
        while let Some(page) = next {
            let reply = self
                .http
                .send(Method::GET, &url(&page)?, None, &self.ctx())?;
            let value = reply.json("GitLab notes")?;
            for n in value.as_array().into_iter().flatten() {
                if n.get("system").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let (Some(id), Some(body)) = (
                    n.get("id").and_then(Value::as_i64),
                    n.get("body").and_then(Value::as_str),
                ) {
                    out.push(Existing {
                        id: id.to_string(),
                        body: body.to_string(),
                        author: n
                            .get("author")
                            .and_then(|u| u.get("username"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    });
                }
            }
            // `x-next-page` is empty on the last page; `Link` is the fallback.
            let link = match reply
                .headers
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
            {
                Some(p) if !p.is_empty() => Some(format!("{first}&page={p}")),
                Some(_) => None,
                None => next_link(&reply.headers),
            };
            next = pages.follow(link, "GitLab")?;
        }
        Ok(out)
    }

    fn create(&self, body: &str) -> Result<Posted> {
        let reply = self.http.send(
            Method::POST,
            &url(&self.notes)?,
            Some(&json!({ "body": body })),
            &self.ctx(),
        )?;
        posted(reply.json("GitLab note")?)
    }

    fn update(&self, id: &str, body: &str) -> Result<Posted> {
        let reply = self.http.send(
            Method::PUT,
            &url(&format!("{}/{id}", self.notes))?,
            Some(&json!({ "body": body })),
            &self.ctx(),
        )?;
        posted(reply.json("GitLab note")?)
    }

    fn attach_plan(&self) -> Option<String> {
        Some(format!(
            "the whole report is uploaded to the project (POST {} multipart file postmortem.md; each run uploads anew, GitLab keeps earlier uploads)",
            self.uploads
        ))
    }

    fn attach(&self, report: &str, _previous: Option<&str>) -> Result<Attached> {
        let reply = self.http.send_file(
            &url(&self.uploads)?,
            "file",
            "postmortem.md",
            report,
            &self.ctx(),
        )?;
        let upload = reply.json("GitLab upload")?;
        let (Some(markdown), Some(path)) = (
            upload.get("markdown").and_then(Value::as_str),
            upload
                .get("full_path")
                .or_else(|| upload.get("url"))
                .and_then(Value::as_str),
        ) else {
            return Err(Error::Publish(
                "GitLab: the upload answer has no markdown or full_path".into(),
            ));
        };
        Ok(Attached {
            reference: path.to_string(),
            link: markdown.to_string(),
            said: format!(
                "uploaded the whole report ({} characters) to the project: {path}",
                report.chars().count()
            ),
        })
    }

    fn describe(&self) -> [String; 3] {
        [
            format!(
                "GET {} (who the token is), then GET {}?sort=asc&per_page=100 (following x-next-page)",
                self.user, self.notes
            ),
            format!("POST {}", self.notes),
            format!("PUT {}/{{id}}", self.notes),
        ]
    }
}
