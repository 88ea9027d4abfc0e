//! GitHub (and GitHub Enterprise Server at `https://HOST/api/v3`): issue and pull-request
//! comments through the issue-comment endpoints.

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::http::{next_link, Context, Http, Pages};
use super::{
    api_base, need, Attached, Credentials, Existing, Options, Posted, Token, Tracker,
    GITHUB_ENTERPRISE_TOKEN_VARS, GITHUB_TOKEN_VARS,
};
use crate::{Error, Result};

pub const DEFAULT_API: &str = "https://api.github.com";
/// Not documented by GitHub (UNVERIFIED); it is the figure in its 422 "Body is too long
/// (maximum is 65536 characters)".
pub const LIMIT: usize = 65_536;
/// The file name of the whole report in a gist.
const GIST_FILE: &str = "postmortem.md";

pub struct GitHub {
    http: Http,
    token_var: &'static str,
    /// `--gist`: the API root, where `/gists` is.
    gist: Option<String>,
    comments: String,
    comment_base: String,
    user: String,
    ticket: String,
}

impl GitHub {
    pub fn new(
        base: &Url,
        owner: &str,
        repo: &str,
        number: u64,
        token: Token,
        opts: &Options,
    ) -> Result<GitHub> {
        let root = base.as_str().trim_end_matches('/').to_string();
        let http = http(base, &token, opts)?;
        Ok(GitHub {
            http,
            token_var: token_label(&token),
            gist: opts.gist.then(|| root.clone()),
            comments: format!("{root}/repos/{owner}/{repo}/issues/{number}/comments"),
            comment_base: format!("{root}/repos/{owner}/{repo}/issues/comments"),
            user: format!("{root}/user"),
            ticket: format!("{owner}/{repo}#{number}"),
        })
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            system: "GitHub",
            token_var: self.token_var,
            ticket: &self.ticket,
            permission: "a fine-grained token needs Issues: Read and write, or Pull requests for a pull request; a classic token needs the repo scope, or public_repo",
        }
    }

    fn posted(&self, value: Value) -> Result<Posted> {
        let id = value
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::Publish("GitHub: the answer has no comment id".into()))?;
        Ok(Posted {
            id: id.to_string(),
            url: value
                .get("html_url")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// Whether gh takes `host` for GitHub Enterprise Server (go-gh `IsEnterprise`): not github.com
/// or a subdomain of it (`api.github.com`), not github.localhost, not a `*.ghe.com` tenancy.
pub fn is_enterprise(host: &str) -> bool {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let under = |domain: &str| h == domain || h.ends_with(&format!(".{domain}"));
    !(under("github.com") || under("github.localhost") || h.ends_with(".ghe.com"))
}

/// The REST API base for a GitHub host, as gh derives it: api.github.com, `api.TENANT.ghe.com`,
/// or `https://HOST/api/v3` for Enterprise Server.
pub fn api_for_host(host: &str) -> String {
    let h = host.trim().trim_end_matches('/').to_ascii_lowercase();
    if h.ends_with(".ghe.com") {
        let tenant = h.strip_prefix("api.").unwrap_or(&h);
        format!("https://api.{tenant}")
    } else if is_enterprise(&h) {
        format!("https://{h}/api/v3")
    } else {
        DEFAULT_API.to_string()
    }
}

/// The token and API base for a GitHub ticket. The host is the one the ticket's URL named, else
/// `GH_HOST`, else github.com; it picks the token as gh does (`GH_ENTERPRISE_TOKEN` /
/// `GITHUB_ENTERPRISE_TOKEN` for Enterprise Server, so that a github.com token never goes to
/// another host by default) and, unless `--api-url` or the ticket's URL says otherwise, the API.
/// `--api-url` moves the requests only: the token stays the one of the ticket's host.
pub(super) fn access(opts: &Options, creds: &Credentials) -> Result<(Token, Url)> {
    let from_url = opts
        .target
        .api_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    let host = match (from_url, creds.gh_host.as_deref()) {
        (Some(h), _) => h,
        (None, Some(raw)) => {
            let h = raw
                .trim()
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            let plain = h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if h.is_empty() || !plain {
                return Err(Error::Usage(format!(
                    "GH_HOST {raw:?} is not a host name (like ghe.example.com)"
                )));
            }
            h.to_string()
        }
        (None, None) => "github.com".to_string(),
    };
    let base = api_base(opts, &api_for_host(&host))?;
    let token = if is_enterprise(&host) {
        need(
            creds.github_enterprise.as_ref(),
            &format!("GitHub Enterprise Server ({host})"),
            GITHUB_ENTERPRISE_TOKEN_VARS,
            opts.dry_run,
        )?
    } else {
        need(
            creds.github.as_ref(),
            "GitHub",
            GITHUB_TOKEN_VARS,
            opts.dry_run,
        )?
    };
    Ok((token, base))
}

/// The variables a token came from, for errors.
pub(super) fn token_label(token: &Token) -> &'static str {
    if GITHUB_ENTERPRISE_TOKEN_VARS.contains(&token.var) {
        "GH_ENTERPRISE_TOKEN/GITHUB_ENTERPRISE_TOKEN"
    } else {
        "GH_TOKEN/GITHUB_TOKEN"
    }
}

/// A client for GitHub's REST API at `base`, with its headers.
pub(super) fn http(base: &Url, token: &Token, opts: &Options) -> Result<Http> {
    Http::new(
        base,
        "authorization",
        format!("Bearer {}", token.secret.expose()),
        token.secret.clone(),
        &[
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
        ],
        opts.policy,
        opts.clock,
    )
}

fn url(s: &str) -> Result<Url> {
    Url::parse(s).map_err(|e| Error::Publish(format!("GitHub: bad URL {s:?}: {e}")))
}

impl Tracker for GitHub {
    fn limit(&self) -> usize {
        LIMIT
    }

    fn noun(&self) -> &'static str {
        "comment"
    }

    fn me(&self) -> Result<Option<String>> {
        self.http.user_name(&url(&self.user)?, "login", &self.ctx())
    }

    fn list(&self) -> Result<Vec<Existing>> {
        let mut out = Vec::new();
        let mut pages = Pages::default();
        let mut next = pages.follow(Some(format!("{}?per_page=100", self.comments)), "GitHub")?;
        while let Some(page) = next {
            let reply = self
                .http
                .send(Method::GET, &url(&page)?, None, &self.ctx())?;
            let value = reply.json("GitHub comments")?;
            for c in value.as_array().into_iter().flatten() {
                if let (Some(id), Some(body)) = (
                    c.get("id").and_then(Value::as_i64),
                    c.get("body").and_then(Value::as_str),
                ) {
                    out.push(Existing {
                        id: id.to_string(),
                        body: body.to_string(),
                        author: c
                            .get("user")
                            .and_then(|u| u.get("login"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    });
                }
            }
            next = pages.follow(next_link(&reply.headers), "GitHub")?;
        }
        Ok(out)
    }

    fn create(&self, body: &str) -> Result<Posted> {
        let reply = self.http.send(
            Method::POST,
            &url(&self.comments)?,
            Some(&json!({ "body": body })),
            &self.ctx(),
        )?;
        self.posted(reply.json("GitHub comment")?)
    }

    fn update(&self, id: &str, body: &str) -> Result<Posted> {
        let reply = self.http.send(
            Method::PATCH,
            &url(&format!("{}/{id}", self.comment_base))?,
            Some(&json!({ "body": body })),
            &self.ctx(),
        )?;
        self.posted(reply.json("GitHub comment")?)
    }

    fn attach_plan(&self) -> Option<String> {
        let root = self.gist.as_ref()?;
        Some(format!(
            "--gist: the whole report goes to a secret gist (POST {root}/gists, or PATCH {root}/gists/{{id}} for the one an earlier run made)"
        ))
    }

    fn attach(&self, report: &str, previous: Option<&str>) -> Result<Attached> {
        let root = self
            .gist
            .as_ref()
            .ok_or_else(|| Error::Publish("GitHub: --gist was not given".into()))?;
        let ctx = Context {
            system: "GitHub",
            token_var: self.token_var,
            ticket: "a secret gist",
            permission: "a classic token needs the gist scope; a fine-grained token the Gists: Read and write account permission",
        };
        let files = json!({ GIST_FILE: { "content": report } });
        let description = format!("Postmortem for {}", self.ticket);
        let mut verb = "updated";
        let mut reply = None;
        if let Some(id) = previous {
            // A gist deleted since, or the token's user changed: make a new one.
            let r = self.http.send_allowing(
                Method::PATCH,
                &url(&format!("{root}/gists/{id}"))?,
                Some(&json!({ "description": description, "files": files })),
                &ctx,
                &[404],
            )?;
            if r.status != 404 {
                reply = Some(r);
            }
        }
        let reply = match reply {
            Some(r) => r,
            None => {
                verb = "created";
                self.http.send(
                    Method::POST,
                    &url(&format!("{root}/gists"))?,
                    Some(&json!({ "description": description, "public": false, "files": files })),
                    &ctx,
                )?
            }
        };
        let gist = reply.json("GitHub gist")?;
        let (Some(id), Some(html)) = (
            gist.get("id").and_then(Value::as_str),
            gist.get("html_url").and_then(Value::as_str),
        ) else {
            return Err(Error::Publish(
                "GitHub: the gist answer has no id or html_url".into(),
            ));
        };
        Ok(Attached {
            reference: id.to_string(),
            link: format!("[a secret gist]({html})"),
            said: format!(
                "{verb} secret gist {html} with the whole report ({} characters)",
                report.chars().count()
            ),
        })
    }

    fn describe(&self) -> [String; 3] {
        [
            format!(
                "GET {} (who the token is), then GET {}?per_page=100 (following Link rel=\"next\")",
                self.user, self.comments
            ),
            format!("POST {}", self.comments),
            format!("PATCH {}/{{id}}", self.comment_base),
        ]
    }
}
