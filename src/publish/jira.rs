//! Jira: one comment per postmortem on the incident issue, found again by a comment property.
//!
//! Jira Cloud takes REST API v3 at `https://SITE.atlassian.net/rest/api/3`, the body in
//! Atlassian Document Format ([`super::adf`]), and Basic auth of `JIRA_USER_EMAIL` with
//! `JIRA_API_TOKEN`. Jira Data Center takes REST API v2 at `https://HOST[/CONTEXT]/rest/api/2`,
//! the body in wiki markup ([`super::wiki`]), and a personal access token as `Bearer`. Which
//! one: an `--api-url` ending in `/rest/api/3` or `/rest/api/2` says; otherwise an email in
//! `JIRA_USER_EMAIL` means Cloud and its absence Data Center (as jira-cli pairs `basic` with
//! Cloud logins and `bearer` with Data Center tokens).
//!
//! ADF has no hidden node, so instead of a marker each comment carries the property
//! `postmortem` = `{"key", "part", "parts"}`, set when it is created. A re-run reads the
//! token's own comments (`GET /myself`, every page of `GET …/comment`) with their properties
//! (`POST /comment/list?expand=properties`, or `expand=properties` on the listing where that
//! endpoint is missing) and updates the ones with its key, with `notifyUsers=false`.
//!
//! A body over 32,767 characters (Jira's limit; counted on the serialized body, since what
//! Jira counts for ADF is not documented) is not cut: the comment gets the report's opening
//! sections and a link to the whole report, uploaded as a markdown attachment whose name
//! carries a hash of its text, so an unchanged report is linked again rather than uploaded
//! twice. Where attachments are refused (403, 404 or 413), the report goes into numbered
//! comments that update together.

use std::collections::BTreeMap;

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::http::{status_error, Context, Http, Payload};
use super::{adf, wiki, Credentials, Error, Options, Outcome, Result};

/// A comment body's limit, in characters.
pub const LIMIT: usize = 32_767;
/// The comment property that says which postmortem, and which part of it, a comment holds.
pub const PROPERTY: &str = "postmortem";
/// Headroom for the part heading and the link lines added to a body.
const ROOM: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cloud,
    DataCenter,
}

/// A comment body as the API takes it.
#[derive(Debug, Clone)]
enum Body {
    Adf(Value),
    Wiki(String),
}

impl Body {
    fn convert(flavor: Flavor, markdown: &str) -> Body {
        match flavor {
            Flavor::Cloud => Body::Adf(adf::from_markdown(markdown)),
            Flavor::DataCenter => Body::Wiki(wiki::from_markdown(markdown)),
        }
    }

    fn value(&self) -> Value {
        match self {
            Body::Adf(v) => v.clone(),
            Body::Wiki(s) => Value::String(s.clone()),
        }
    }

    /// What the limit is measured on: the ADF as JSON text, or the wiki markup.
    fn size(&self) -> usize {
        match self {
            Body::Adf(v) => v.to_string().chars().count(),
            Body::Wiki(s) => s.chars().count(),
        }
    }

    fn shown(&self) -> String {
        match self {
            Body::Adf(v) => adf::lines(v),
            Body::Wiki(s) => s.trim_end().to_string(),
        }
    }
}

struct Jira {
    http: Option<Http>,
    api: String,
    site: String,
    issue: String,
    flavor: Flavor,
    token_var: &'static str,
}

/// Our comment: its id and current body.
struct Ours {
    id: String,
    body: Value,
}

fn url(s: &str) -> Result<Url> {
    Url::parse(s).map_err(|e| Error::Publish(format!("Jira: bad URL {s:?}: {e}")))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// FNV-1a: a stable hash (std's hasher may change between Rust releases) for file names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Jira {
    fn ctx(&self) -> Context<'_> {
        Context {
            system: "Jira",
            token_var: self.token_var,
            ticket: &self.issue,
            permission: "the user needs Browse projects and Add comments on the issue's project, Edit own comments to update, and Create attachments for a report over 32,767 characters",
        }
    }

    fn http(&self) -> Result<&Http> {
        self.http
            .as_ref()
            .ok_or_else(|| Error::Publish("Jira: no token to send".into()))
    }

    fn comments_url(&self) -> String {
        format!("{}/issue/{}/comment", self.api, self.issue)
    }

    fn id_field(&self) -> &'static str {
        match self.flavor {
            Flavor::Cloud => "accountId",
            Flavor::DataCenter => "key",
        }
    }

    /// The token's own user: Cloud's `accountId`, Data Center's user `key`.
    fn me(&self) -> Result<Option<String>> {
        self.http()?.user_name(
            &url(&format!("{}/myself", self.api))?,
            self.id_field(),
            &self.ctx(),
        )
    }

    /// The token's comments on the issue (everyone's when `me` is unknown), every page, with
    /// their properties when `expand`.
    fn list(&self, me: Option<&str>, expand: bool) -> Result<Vec<Value>> {
        let http = self.http()?;
        let mut out = Vec::new();
        let mut start = 0usize;
        loop {
            let page = format!(
                "{}?startAt={start}&maxResults=100&orderBy=created{}",
                self.comments_url(),
                if expand { "&expand=properties" } else { "" }
            );
            let value = http
                .send(Method::GET, &url(&page)?, None, &self.ctx())?
                .json("Jira comments")?;
            let comments = value
                .get("comments")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            start += comments.len();
            let total = value.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
            let last = comments.is_empty() || start >= total;
            out.extend(comments.into_iter().filter(|c| {
                let author = c.get("author").and_then(|a| a.get(self.id_field()));
                me.is_none() || author.and_then(Value::as_str) == me
            }));
            if last {
                return Ok(out);
            }
        }
    }

    /// Our comments on the issue, by part: the token's comments whose property has our key.
    /// Their properties come from `POST /comment/list?expand=properties`; a Jira without that
    /// endpoint (404 or 405: an older Data Center) is asked for the comments again with
    /// `expand=properties`.
    fn ours(&self, key: &str, me: Option<&str>) -> Result<BTreeMap<usize, Ours>> {
        let http = self.http()?;
        let ids: Vec<i64> = self
            .list(me, false)?
            .iter()
            .filter_map(|c| match c.get("id") {
                Some(Value::String(s)) => s.parse().ok(),
                Some(other) => other.as_i64(),
                None => None,
            })
            .collect();
        let mut found = Vec::new();
        for chunk in ids.chunks(1000) {
            let reply = http.send_allowing(
                Method::POST,
                &url(&format!("{}/comment/list?expand=properties", self.api))?,
                Some(&json!({ "ids": chunk })),
                &self.ctx(),
                &[404, 405],
            )?;
            if reply.status != 200 {
                found = self.list(me, true)?;
                break;
            }
            let value = reply.json("Jira comments by id")?;
            found.extend(
                value
                    .get("values")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        let number = |c: &Value| match c.get("id") {
            Some(Value::String(s)) => s.parse::<i64>().unwrap_or(i64::MAX),
            Some(other) => other.as_i64().unwrap_or(i64::MAX),
            None => i64::MAX,
        };
        // The oldest wins when there are duplicates: ids grow with time.
        found.sort_by_key(number);
        let mut ours = BTreeMap::new();
        for c in found {
            let Some(prop) = c
                .get("properties")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|p| p.get("key").and_then(Value::as_str) == Some(PROPERTY))
            else {
                continue;
            };
            let value = prop.get("value").cloned().unwrap_or_default();
            if value.get("key").and_then(Value::as_str) != Some(key) {
                continue;
            }
            let part = value.get("part").and_then(Value::as_u64).unwrap_or(1) as usize;
            let id = match c.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => continue,
            };
            ours.entry(part.max(1)).or_insert(Ours {
                id,
                body: c.get("body").cloned().unwrap_or_default(),
            });
        }
        Ok(ours)
    }

    fn create(&self, body: &Body, key: &str, part: usize, parts: usize) -> Result<String> {
        let request = json!({
            "body": body.value(),
            "properties": [{"key": PROPERTY, "value": {"key": key, "part": part, "parts": parts}}],
        });
        let reply = self.http()?.send(
            Method::POST,
            &url(&self.comments_url())?,
            Some(&request),
            &self.ctx(),
        )?;
        comment_id(&reply.json("Jira comment")?)
    }

    fn update(&self, id: &str, body: &Body) -> Result<String> {
        let target = url(&format!("{}/{id}?notifyUsers=false", self.comments_url()))?;
        let reply = self.http()?.send_allowing(
            Method::PUT,
            &target,
            Some(&json!({ "body": body.value() })),
            &self.ctx(),
            &[400],
        )?;
        if reply.status == 400 {
            let e = status_error(&Method::PUT, &target, &reply, &self.ctx());
            return Err(Error::Publish(format!(
                "{e}: Jira answers 400 when the user may not edit the comment (Edit own comments) as well as for a body it refuses"
            )));
        }
        comment_id(&reply.json("Jira comment")?)
    }

    /// Uploads the report; `Err` holds why Jira refused it (no permission, attachments off,
    /// too large), for the fallback to numbered comments.
    fn upload(&self, filename: &str, text: &str) -> Result<std::result::Result<String, String>> {
        let mut boundary = format!("postmortem-{:016x}", fnv(text.as_bytes()));
        while text.contains(&boundary) {
            boundary.push('x');
        }
        let mut bytes = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/markdown; charset=utf-8\r\n\r\n"
        )
        .into_bytes();
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let target = url(&format!("{}/issue/{}/attachments", self.api, self.issue))?;
        let reply = self.http()?.send_payload(
            Method::POST,
            &target,
            Payload::Raw {
                content_type: &content_type,
                bytes: &bytes,
            },
            &[("x-atlassian-token", "no-check")],
            &self.ctx(),
            &[403, 404, 413],
        )?;
        if reply.status != 200 {
            let e = status_error(&Method::POST, &target, &reply, &self.ctx());
            return Ok(Err(e.to_string()));
        }
        let value = reply.json("Jira attachment")?;
        let first = value.as_array().and_then(|a| a.first()).cloned();
        let link = first.as_ref().and_then(|a| {
            a.get("content")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    let id = a.get("id")?;
                    let id = id.as_str().map(str::to_string).unwrap_or(id.to_string());
                    Some(format!("{}/secure/attachment/{id}/{filename}", self.site))
                })
        });
        link.map(Ok)
            .ok_or_else(|| Error::Publish("Jira: the attachment answer has no link".into()))
    }
}

fn comment_id(value: &Value) -> Result<String> {
    match value.get("id") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(Error::Publish("Jira: the answer has no comment id".into())),
    }
}

/// The link to `filename` in one of our bodies (ADF link mark or wiki `[name|url]`).
fn find_link(body: &Value, filename: &str) -> Option<String> {
    match body {
        Value::String(s) => {
            let open = format!("[{}|", wiki::escape(filename));
            let rest = &s[s.find(&open)? + open.len()..];
            Some(rest[..rest.find(']')?].to_string())
        }
        Value::Object(m) => {
            if m.get("text").and_then(Value::as_str) == Some(filename) {
                if let Some(href) = m
                    .get("marks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find_map(|mk| mk.get("attrs")?.get("href")?.as_str())
                {
                    return Some(href.to_string());
                }
            }
            m.values().find_map(|v| find_link(v, filename))
        }
        Value::Array(a) => a.iter().find_map(|v| find_link(v, filename)),
        _ => None,
    }
}

/// Where the report's sections start: `## ` headings outside fenced code, with their line.
fn sections(report: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    let mut at = 0;
    for line in report.split_inclusive('\n') {
        match (fence, super::fence_of(line)) {
            (None, Some(f)) => fence = Some(f),
            (Some((c, n)), Some((c2, n2)))
                if c == c2 && n2 >= n && line.trim().chars().all(|x| x == c) =>
            {
                fence = None
            }
            (None, None) => {
                if let Some(title) = line.strip_prefix("## ") {
                    out.push((at, title.trim().to_string()));
                }
            }
            _ => {}
        }
        at += line.len();
    }
    out
}

/// The comment that stands for a report too long for one: its opening (title, header and
/// first section), a link to the whole report, and the names of the sections only there.
fn summary(report: &str, filename: &str, link: &str) -> String {
    let sections = sections(report);
    let cut = sections.get(1).map_or(report.len(), |(at, _)| *at);
    let mut text = report[..cut].trim_end().to_string();
    let rest: Vec<&str> = sections.iter().skip(1).map(|(_, t)| t.as_str()).collect();
    text.push_str(&format!(
        "\n\n---\n\n**The whole postmortem ({} characters) is over Jira's {}-character comment limit, so it is attached:** [{filename}]({link})\n",
        report.chars().count(),
        LIMIT
    ));
    if !rest.is_empty() {
        text.push_str(&format!("\nIt also holds: {}.\n", rest.join(", ")));
    }
    text
}

/// The report in numbered parts, each of which converts to a body within the limit.
fn split_parts(report: &str, flavor: Flavor) -> Result<Vec<Body>> {
    let mut budget = LIMIT - ROOM;
    loop {
        let chunks = super::split(report, budget);
        let n = chunks.len();
        let bodies: Vec<Body> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Body::convert(
                    flavor,
                    &format!("_Postmortem, part {} of {n}._\n\n{c}", i + 1),
                )
            })
            .collect();
        if bodies.iter().all(|b| b.size() <= LIMIT) {
            return Ok(bodies);
        }
        // The conversion adds markup (ADF far more than wiki): smaller chunks until each fits.
        budget = budget * 3 / 4;
        if budget < 1_000 {
            return Err(Error::Publish(
                "Jira: the report cannot be split into comments within 32,767 characters".into(),
            ));
        }
    }
}

/// What one run sends: the bodies, and the attachment when the report is too long.
enum Plan {
    Whole(Body),
    Attach { filename: String },
    Parts(Vec<Body>),
}

fn plan(report: &str, key: &str, flavor: Flavor, site: &str) -> Result<Plan> {
    let whole = Body::convert(flavor, report);
    if whole.size() <= LIMIT {
        return Ok(Plan::Whole(whole));
    }
    let filename = format!("postmortem-{key}-{:08x}.md", fnv(report.as_bytes()) as u32);
    // A link as long as any Jira gives, to be sure the summary fits with the real one.
    let probe = format!("{site}/rest/api/3/attachment/content/{}", "9".repeat(24));
    if Body::convert(flavor, &summary(report, &filename, &probe)).size() <= LIMIT {
        return Ok(Plan::Attach { filename });
    }
    Ok(Plan::Parts(split_parts(report, flavor)?))
}

/// Publishes `report` (already redacted) to Jira issue `issue`, as the postmortem `key`.
pub(crate) fn publish(
    report: &str,
    key: &str,
    issue: &str,
    opts: &Options,
    creds: &Credentials,
) -> Result<Outcome> {
    let (jira, auth) = client(issue, opts, creds)?;
    let plan = plan(report, key, jira.flavor, &jira.site)?;
    if opts.dry_run {
        return Ok(dry_run(&jira, &auth, report, key, &plan, opts.new));
    }
    let mut lines = Vec::new();
    let ours = if opts.new {
        BTreeMap::new()
    } else {
        let me = jira.me()?;
        jira.ours(key, me.as_deref())?
    };
    let bodies = match plan {
        Plan::Whole(b) => vec![b],
        Plan::Parts(parts) => parts,
        Plan::Attach { filename } => {
            let linked = ours.get(&1).and_then(|o| find_link(&o.body, &filename));
            let link = match linked.clone() {
                Some(link) => {
                    lines.push(format!(
                        "attachment {filename} is already on {issue} and linked: not uploaded again"
                    ));
                    Ok(link)
                }
                None => jira.upload(&filename, report)?,
            };
            match link {
                Ok(link) => {
                    if linked.is_none() {
                        lines.push(format!(
                            "attached {filename} ({} bytes) to {issue}: {link}",
                            report.len()
                        ));
                    }
                    vec![Body::convert(
                        jira.flavor,
                        &summary(report, &filename, &link),
                    )]
                }
                Err(why) => {
                    let parts = split_parts(report, jira.flavor)?;
                    lines.push(format!(
                        "the report is over {LIMIT} characters and the attachment was refused ({why}): it goes in {} numbered comments instead",
                        parts.len()
                    ));
                    parts
                }
            }
        }
    };
    let n = bodies.len();
    let mut ours = ours;
    for (i, body) in bodies.iter().enumerate() {
        let (verb, id) = match ours.remove(&(i + 1)) {
            Some(o) => ("updated", jira.update(&o.id, body)?),
            None => ("created", jira.create(body, key, i + 1, n)?),
        };
        lines.push(format!(
            "{verb} Jira comment {} of {n} on {issue}: id {id} ({}/browse/{issue})",
            i + 1,
            jira.site
        ));
    }
    for (part, o) in ours {
        let note = Body::convert(
            jira.flavor,
            &format!("_This comment held part {part} of an earlier, longer version of this postmortem; it now fits in {n} comment(s)._"),
        );
        jira.update(&o.id, &note)?;
        lines.push(format!(
            "marked Jira comment {} (old part {part}) unused",
            o.id
        ));
    }
    Ok(Outcome { lines })
}

/// How the token goes: for `--dry-run`, which never sends it.
struct Auth {
    describe: String,
}

fn client(issue: &str, opts: &Options, creds: &Credentials) -> Result<(Jira, Auth)> {
    let (raw, explicit) = match (&opts.api_url, &opts.target.api_url) {
        (Some(u), _) => (u.clone(), true),
        (None, Some(u)) => (u.clone(), false),
        (None, None) => {
            return Err(Error::Usage(
                "Jira has no default site: pass --api-url https://SITE.atlassian.net (Cloud) or https://HOST[/CONTEXT] (Data Center), set publish.api_url in postmortem.yaml, or give the ticket as its browse URL".into(),
            ))
        }
    };
    let raw = raw.trim_end_matches('/').to_string();
    let parsed = Url::parse(&raw)
        .map_err(|e| Error::Usage(format!("--api-url {raw:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Usage(format!(
            "--api-url {raw:?}: only http and https are supported"
        )));
    }
    let (site, said) = if let Some(site) = raw.strip_suffix("/rest/api/3") {
        (site.to_string(), Some(Flavor::Cloud))
    } else if let Some(site) = raw.strip_suffix("/rest/api/2") {
        (site.to_string(), Some(Flavor::DataCenter))
    } else {
        (raw.clone(), None)
    };
    // A browse URL implies the site, not which Jira serves it.
    let said = said.filter(|_| explicit);
    let email = creds.jira_email.as_deref().map(str::trim);
    let flavor = said.unwrap_or(if email.is_some() {
        Flavor::Cloud
    } else {
        Flavor::DataCenter
    });
    let version = match flavor {
        Flavor::Cloud => 3,
        Flavor::DataCenter => 2,
    };
    let api = format!("{site}/rest/api/{version}");
    let (token_var, describe) = match email {
        Some(_) => (
            "JIRA_API_TOKEN (with JIRA_USER_EMAIL, Basic auth)",
            "Basic auth: JIRA_USER_EMAIL and JIRA_API_TOKEN",
        ),
        None => (
            "JIRA_API_TOKEN (a personal access token, Bearer)",
            "Bearer auth: JIRA_API_TOKEN as a personal access token",
        ),
    };
    if flavor == Flavor::Cloud && email.is_none() {
        return Err(Error::Usage(
            "Jira Cloud takes JIRA_USER_EMAIL (your Atlassian account email) with JIRA_API_TOKEN: set both (a Data Center personal access token goes alone, with an API URL ending in /rest/api/2 or none)".into(),
        ));
    }
    let http = match &creds.jira_token {
        Some(token) => {
            let value = match email {
                Some(email) => format!(
                    "Basic {}",
                    base64(format!("{email}:{}", token.secret.expose()).as_bytes())
                ),
                None => format!("Bearer {}", token.secret.expose()),
            };
            let base = url(&api)?;
            Some(Http::new(
                &base,
                "authorization",
                value,
                token.secret.clone(),
                &[("accept", "application/json")],
                opts.policy,
                opts.clock,
            )?)
        }
        None if opts.dry_run => None,
        None => {
            return Err(Error::Usage(
                "publishing to Jira needs a token: set JIRA_API_TOKEN, with JIRA_USER_EMAIL for Jira Cloud (alone, it is a Data Center personal access token)".into(),
            ))
        }
    };
    Ok((
        Jira {
            http,
            api,
            site,
            issue: issue.to_string(),
            flavor,
            token_var,
        },
        Auth {
            describe: describe.to_string(),
        },
    ))
}

fn dry_run(jira: &Jira, auth: &Auth, report: &str, key: &str, plan: &Plan, new: bool) -> Outcome {
    let issue = &jira.issue;
    let (what, format) = match jira.flavor {
        Flavor::Cloud => ("Jira Cloud: REST API v3", "Atlassian Document Format"),
        Flavor::DataCenter => ("Jira Data Center: REST API v2", "wiki markup"),
    };
    let mut lines = vec![
        format!("dry run: nothing is sent to Jira (jira:{issue})"),
        format!(
            "{what} at {}, comment bodies in {format}, {}",
            jira.api, auth.describe
        ),
    ];
    if new {
        lines.push("--new: existing comments are not looked up".into());
    } else {
        lines.push(format!(
            "first: GET {api}/myself (who the token is), GET {c}?startAt=0&maxResults=100&orderBy=created (every page), then POST {api}/comment/list?expand=properties for the token's comments whose property {PROPERTY:?} has key {key:?}",
            api = jira.api,
            c = jira.comments_url()
        ));
    }
    let bodies = match plan {
        Plan::Whole(b) => vec![b.clone()],
        Plan::Parts(parts) => {
            lines.push(format!(
                "the report is over {LIMIT} characters in {format}: it goes in {} numbered comments",
                parts.len()
            ));
            parts.clone()
        }
        Plan::Attach { filename } => {
            lines.push(format!(
                "the report is over {LIMIT} characters in {format}: POST {}/issue/{issue}/attachments (X-Atlassian-Token: no-check, multipart, {filename}, {} bytes) unless our comment already links it; if Jira refuses the attachment, numbered comments instead",
                jira.api,
                report.len()
            ));
            vec![Body::convert(
                jira.flavor,
                &summary(report, filename, "ATTACHMENT-URL"),
            )]
        }
    };
    let n = bodies.len();
    for (i, body) in bodies.iter().enumerate() {
        let create = format!("POST {}", jira.comments_url());
        let how = if new {
            create
        } else {
            format!(
                "PUT {}/{{id}}?notifyUsers=false if part {} exists, else {create} with property {PROPERTY:?} = {}",
                jira.comments_url(),
                i + 1,
                json!({"key": key, "part": i + 1, "parts": n})
            )
        };
        lines.push(format!(
            "comment {} of {n}: {how} ({} characters, limit {LIMIT})",
            i + 1,
            body.size()
        ));
    }
    for (i, body) in bodies.iter().enumerate() {
        lines.push(format!("----- comment {} of {n} ({format}) -----", i + 1));
        lines.push(body.shown());
    }
    Outcome { lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn the_summary_keeps_the_opening_and_names_the_rest() {
        let report = "# T\nhead\n\n## Executive Summary\n\nsum\n\n```\n## not a section\n```\n\n## Timeline\n\nt\n\n## Fix\n\nf\n";
        let s = summary(report, "p.md", "https://x/a/1");
        assert!(
            s.starts_with(
                "# T\nhead\n\n## Executive Summary\n\nsum\n\n```\n## not a section\n```\n\n---"
            ),
            "{s}"
        );
        assert!(s.contains("[p.md](https://x/a/1)"), "{s}");
        assert!(s.ends_with("It also holds: Timeline, Fix.\n"), "{s}");
    }

    #[test]
    fn links_are_found_in_adf_and_wiki_bodies() {
        let adf = adf::from_markdown("see [p-1.md](https://x/content/10)\n");
        assert_eq!(
            find_link(&adf, "p-1.md").as_deref(),
            Some("https://x/content/10")
        );
        let wiki = Value::String(wiki::from_markdown("see [p-1.md](https://x/content/10)\n"));
        assert_eq!(
            find_link(&wiki, "p-1.md").as_deref(),
            Some("https://x/content/10")
        );
        assert_eq!(find_link(&wiki, "other.md"), None);
    }
}
