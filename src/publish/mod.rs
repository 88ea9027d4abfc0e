//! `postmortem publish`: the rendered postmortem onto the incident ticket, as one comment that
//! later runs update instead of adding another.
//!
//! Each comment starts with a hidden marker, `<!-- postmortem:KEY -->`; a re-run pages through
//! the ticket's comments, finds the ones that start with its marker and updates them. A report
//! over the system's size limit is split into numbered comments (`<!-- postmortem:KEY part=2/3
//! -->`) at line boundaries, fenced code closed and reopened across a split, so that nothing is
//! cut. Where the system can hold the whole file (a secret gist on GitHub with `--gist`, a
//! GitLab upload), that happens instead and the comment keeps the summary sections (`attach.rs`).
//! `--to github:owner/repo` (no number) opens a new issue first (`newissue.rs`). Every body passes
//! [`crate::redact::redact_document`] before it is sent.
//!
//! GitHub, GitLab, Linear (which marks its comments with a visible footer instead, see
//! `linear.rs`) and Jira ([`jira`]: a comment property instead of the marker, ADF or wiki markup
//! instead of markdown, an attachment over the size limit) are supported.
//!
//! Credentials come in as [`Credentials`], read from the environment by the binary; this module
//! never reads the environment, and a token leaves only as a header to the API's own origin.

pub mod adf;
mod attach;
mod github;
mod gitlab;
pub mod http;
pub mod jira;
mod linear;
mod markdown;
mod newissue;
pub mod ticket;
pub mod wiki;

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::Url;

pub use http::RetryPolicy;
pub use ticket::{System, Target, Ticket};

use crate::{Error, Result};

/// The environment variables each system's own CLI reads, in the order they are tried.
pub const GITHUB_TOKEN_VARS: &[&str] = &["GH_TOKEN", "GITHUB_TOKEN"];
/// gh's variables for a GitHub Enterprise Server host (any host but github.com, github.localhost
/// and a `*.ghe.com` tenancy).
pub const GITHUB_ENTERPRISE_TOKEN_VARS: &[&str] =
    &["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"];
pub const GITLAB_TOKEN_VARS: &[&str] = &["GITLAB_TOKEN", "GITLAB_ACCESS_TOKEN"];
pub const JIRA_TOKEN_VARS: &[&str] = &["JIRA_API_TOKEN", "JIRA_USER_EMAIL"];
pub const LINEAR_TOKEN_VARS: &[&str] = &["LINEAR_API_KEY"];

/// A token. It leaves this type only as a header value: `Debug` prints `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Removes the token from text a server sent back, before it goes into an error.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) {
            text.replace(&self.0, "****")
        } else {
            text.to_string()
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// A token and the variable it came from (named in errors, never the value).
#[derive(Debug, Clone)]
pub struct Token {
    pub secret: Secret,
    pub var: &'static str,
}

/// The credentials found in the environment, one per system.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub github: Option<Token>,
    /// For a GitHub Enterprise Server host, as gh reads it.
    pub github_enterprise: Option<Token>,
    /// `GH_HOST`: the GitHub host of a ticket given as `owner/repo#N`, as in gh.
    pub gh_host: Option<String>,
    pub gitlab: Option<Token>,
    pub jira_token: Option<Token>,
    pub jira_email: Option<String>,
    pub linear: Option<Token>,
}

impl Credentials {
    /// `get` reads one variable (the binary passes `std::env::var`); blank values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Credentials {
        let first = |vars: &[&'static str]| {
            vars.iter().find_map(|var| {
                get(var)
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .map(|v| Token {
                        secret: Secret(v),
                        var,
                    })
            })
        };
        Credentials {
            github: first(GITHUB_TOKEN_VARS),
            github_enterprise: first(GITHUB_ENTERPRISE_TOKEN_VARS),
            gh_host: get("GH_HOST").filter(|v| !v.trim().is_empty()),
            gitlab: first(GITLAB_TOKEN_VARS),
            jira_token: first(&["JIRA_API_TOKEN"]),
            jira_email: get("JIRA_USER_EMAIL").filter(|v| !v.trim().is_empty()),
            linear: first(LINEAR_TOKEN_VARS),
        }
    }
}

/// Everything `publish` needs besides the report and the credentials.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// `--api-url` (flag, env or config file): wins over the base a URL ticket implies.
    pub api_url: Option<String>,
    /// Tells this postmortem's comments from any other on the ticket.
    pub key: String,
    /// Create new comments even when ours exist.
    pub new: bool,
    /// GitHub, over the comment limit: the whole report in a secret gist, not split.
    pub gist: bool,
    pub dry_run: bool,
    pub policy: RetryPolicy,
    /// The wall clock at start (rate-limit resets are epochs).
    pub clock: DateTime<Utc>,
}

/// What one run did (or, with `--dry-run`, would do), printed by the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub lines: Vec<String>,
}

/// A comment already on the ticket.
#[derive(Debug, Clone)]
pub(crate) struct Existing {
    pub id: String,
    pub body: String,
    /// The author's user name.
    pub author: Option<String>,
}

/// The whole report stored outside the comment.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    /// What a later run passes back as `previous`: a gist id, an upload's URL.
    pub reference: String,
    /// The markdown link to put in the comment.
    pub link: String,
    /// What was done, for the outcome ("created secret gist …").
    pub said: String,
}

/// A comment written: its id and, where the API gives one, its web address.
#[derive(Debug, Clone)]
pub(crate) struct Posted {
    pub id: String,
    pub url: Option<String>,
}

/// One system's comment endpoints.
pub(crate) trait Tracker {
    /// Size limit of a comment, in characters.
    fn limit(&self) -> usize;
    /// "comment" or "note".
    fn noun(&self) -> &'static str;
    /// The token's user name, so that only our own comments are taken for ours; `None` when
    /// the token cannot say (a GitHub Actions token cannot read `/user`).
    fn me(&self) -> Result<Option<String>>;
    /// Every comment on the ticket, oldest first, every page.
    fn list(&self) -> Result<Vec<Existing>>;
    fn create(&self, body: &str) -> Result<Posted>;
    fn update(&self, id: &str, body: &str) -> Result<Posted>;
    /// For `--dry-run`: the list request, the create request, the update request (with `{id}`).
    fn describe(&self) -> [String; 3];
    /// The bodies to send: by default each starts with the hidden marker.
    fn bodies(&self, report: &str, key: &str) -> Vec<String> {
        bodies(report, key, self.limit())
    }
    /// Which part of ours `body` holds, if it is ours.
    fn part_of(&self, body: &str, key: &str) -> Option<usize> {
        our_part(body, key)
    }
    /// How `--dry-run` says ours are told apart.
    fn lookup_note(&self, key: &str) -> String {
        format!(
            "for {}s by the token's user starting with {}",
            self.noun(),
            marker(key, None).replace(" -->", " [part=I/N] -->")
        )
    }
    /// Where a report over the limit can go whole instead of being split (a secret gist with
    /// `--gist`, a GitLab upload), for `--dry-run`; `None` when nowhere.
    fn attach_plan(&self) -> Option<String> {
        None
    }
    /// Stores the whole report where [`Tracker::attach_plan`] says, replacing `previous` (what
    /// an earlier run stored, read back from our comment) when the system allows it.
    fn attach(&self, _report: &str, _previous: Option<&str>) -> Result<Attached> {
        Err(Error::Publish(format!(
            "{}s cannot carry an attachment here",
            self.noun()
        )))
    }
    /// A single body built elsewhere (the summary of an attached report), which starts with the
    /// hidden marker, as this system carries the marker: by default as it is.
    fn framed(&self, body: String, _key: &str) -> String {
        body
    }
    /// The body left in a comment that held part `part` of an earlier, longer version.
    fn unused_body(&self, key: &str, part: usize, n: usize) -> String {
        format!(
            "{}\n_This {} held part {part} of an earlier, longer version of this postmortem; it now fits in {n} {}(s)._",
            marker(key, Some((part, n))),
            self.noun(),
            self.noun()
        )
    }
}

/// The marker key from the report's first `# ` heading, or `report`: lower-case letters, digits
/// and dashes only, so that it can never close the HTML comment it sits in.
pub fn default_key(report: &str) -> String {
    let title = report
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("report");
    sanitize_key(title)
}

/// The longest key kept: the marker of a part must fit the room each system's splitter keeps
/// for it, whatever the report's title or `--key`.
const MAX_KEY: usize = 80;

/// Keeps `[a-z0-9._-]`, folds the rest into single dashes, at most [`MAX_KEY`] characters.
pub fn sanitize_key(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.trim().chars() {
        if out.len() >= MAX_KEY {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "report".into()
    } else {
        out
    }
}

fn marker(key: &str, part: Option<(usize, usize)>) -> String {
    match part {
        None => format!("<!-- postmortem:{key} -->"),
        Some((i, n)) => format!("<!-- postmortem:{key} part={i}/{n} -->"),
    }
}

/// Which part of ours a comment is (1 for a single comment), when it starts with our marker.
fn our_part(body: &str, key: &str) -> Option<usize> {
    let rest = body.trim_start().strip_prefix("<!-- postmortem:")?;
    let (inner, _) = rest.split_once("-->")?;
    let inner = inner.trim();
    if inner == key {
        return Some(1);
    }
    let part = inner
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix("part=")?;
    let (i, _) = part.split_once('/')?;
    i.parse().ok().filter(|i| *i > 0)
}

/// Room kept in each part for its marker and heading line.
const HEADER_ROOM: usize = 200;

/// The bodies to send: one when the report fits, else numbered parts.
pub fn bodies(report: &str, key: &str, limit: usize) -> Vec<String> {
    let single = format!("{}\n{report}", marker(key, None));
    if single.chars().count() <= limit {
        return vec![single];
    }
    let chunks = split(report, limit - HEADER_ROOM);
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            format!(
                "{}\n_Postmortem, part {} of {n}._\n\n{chunk}",
                marker(key, Some((i + 1, n))),
                i + 1
            )
        })
        .collect()
}

/// The opening line of a fenced code block (` ``` ` or `~~~`, up to three spaces in).
fn fence_of(line: &str) -> Option<(char, usize)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run = trimmed.chars().take_while(|x| *x == c).count();
    (run >= 3).then_some((c, run))
}

/// Splits `text` into chunks of at most `budget` characters at line ends. A chunk that ends
/// inside fenced code gets a closing fence and the next one reopens it with the same opening
/// line, so that each comment renders; nothing else is added or dropped. A single line longer
/// than a chunk is cut at character boundaries.
pub fn split(text: &str, budget: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut count = 0usize;
    // The open fence: its opening line, character and length.
    let mut open: Option<(String, char, usize)> = None;
    let close_of = |open: &Option<(String, char, usize)>| {
        open.as_ref()
            .map(|(_, c, n)| format!("{}\n", c.to_string().repeat(*n)))
    };
    for line in text.split_inclusive('\n') {
        let len = line.chars().count();
        let reserve = close_of(&open).map_or(0, |c| c.chars().count() + 1);
        if count > 0 && count + len + reserve > budget {
            if let Some(close) = close_of(&open) {
                if !current.ends_with('\n') {
                    current.push('\n');
                }
                current.push_str(&close);
            }
            chunks.push(std::mem::take(&mut current));
            count = 0;
            if let Some((opening, _, _)) = &open {
                current.push_str(opening);
                count = opening.chars().count();
            }
        }
        if count + len > budget {
            // One line longer than a whole chunk: cut it, keeping every character.
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(budget.saturating_sub(count).max(1)) {
                if count > 0 && count + piece.len() > budget {
                    chunks.push(std::mem::take(&mut current));
                    count = 0;
                }
                current.extend(piece);
                count += piece.len();
            }
        } else {
            current.push_str(line);
            count += len;
        }
        match (&open, fence_of(line)) {
            (None, Some((c, n))) => open = Some((line.to_string(), c, n)),
            (Some((_, c, n)), Some((c2, n2)))
                if *c == c2 && n2 >= *n && line.trim().chars().all(|x| x == c2) =>
            {
                open = None
            }
            _ => {}
        }
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn api_base(opts: &Options, default: &str) -> Result<Url> {
    let base = opts
        .api_url
        .clone()
        .or_else(|| opts.target.api_url.clone())
        .unwrap_or_else(|| default.to_string());
    let base = base.trim_end_matches('/').to_string();
    let url = Url::parse(&base)
        .map_err(|e| Error::Usage(format!("--api-url {base:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Usage(format!(
            "--api-url {base:?}: only http and https are supported"
        )));
    }
    Ok(url)
}

fn need(token: Option<&Token>, system: &str, vars: &[&str], dry_run: bool) -> Result<Token> {
    match token {
        Some(t) => Ok(t.clone()),
        // A dry run sends nothing, so it needs no token.
        None if dry_run => Ok(Token {
            secret: Secret::new(""),
            var: "",
        }),
        None => Err(Error::Usage(format!(
            "publishing to {system} needs a token: set {}",
            vars.join(" or ")
        ))),
    }
}

/// Publishes `report` (markdown) to the ticket in `opts`. The text is redacted first.
pub fn publish(report: &str, opts: &Options, creds: &Credentials) -> Result<Outcome> {
    let text = crate::redact::redact_document(report);
    let key = sanitize_key(&opts.key);
    if opts.gist && opts.target.ticket.system() != System::GitHub {
        return Err(Error::Usage(format!(
            "--gist is for GitHub tickets, not {} ({}): GitLab, Jira and Linear store a report over their limit as a file by themselves",
            opts.target.ticket.system().name(),
            opts.target.ticket
        )));
    }
    let tracker: Box<dyn Tracker> = match &opts.target.ticket {
        Ticket::GitHubNew { .. } | Ticket::GitLabNew { .. } => {
            return newissue::publish(&text, &key, opts, creds)
        }
        Ticket::GitHub {
            owner,
            repo,
            number,
        } => {
            let (token, base) = github::access(opts, creds)?;
            Box::new(github::GitHub::new(
                &base, owner, repo, *number, token, opts,
            )?)
        }
        Ticket::GitLab { project, iid } => {
            let (token, base) = gitlab::access(opts, creds)?;
            Box::new(gitlab::GitLab::new(&base, project, *iid, token, opts)?)
        }
        Ticket::Linear { key: issue } => {
            let token = need(
                creds.linear.as_ref(),
                "Linear",
                LINEAR_TOKEN_VARS,
                opts.dry_run,
            )?;
            let endpoint = api_base(opts, linear::DEFAULT_API)?;
            Box::new(linear::Linear::new(&endpoint, issue, token, opts)?)
        }
        Ticket::Jira { key: issue } => {
            return jira::publish(&text, &key, issue, opts, creds);
        }
    };
    send(tracker.as_ref(), &opts.target.ticket, &text, &key, opts)
}

/// The bodies of `text` onto the ticket (or, with `--dry-run`, the plan): split, or over the
/// limit the whole report attached where the tracker can, with its summary in the comment.
fn send(
    tracker: &dyn Tracker,
    ticket: &Ticket,
    text: &str,
    key: &str,
    opts: &Options,
) -> Result<Outcome> {
    let bodies = tracker.bodies(text, key);
    if bodies.len() > 1 {
        if let Some(plan) = tracker.attach_plan() {
            return attach::publish(tracker, ticket, text, key, opts, &plan);
        }
    }
    if opts.dry_run {
        return Ok(dry_run(tracker, ticket, key, &bodies, opts.new));
    }
    run(tracker, key, &bodies, opts.new)
}

fn dry_run(
    tracker: &dyn Tracker,
    ticket: &Ticket,
    key: &str,
    bodies: &[String],
    new: bool,
) -> Outcome {
    let [list, create, update] = tracker.describe();
    let noun = tracker.noun();
    let n = bodies.len();
    let mut lines = vec![format!(
        "dry run: nothing is sent to {} ({ticket})",
        ticket.system().name()
    )];
    if new {
        lines.push(format!("--new: existing {noun}s are not looked up"));
    } else {
        lines.push(format!(
            "first: {list}, every page, {}",
            tracker.lookup_note(key)
        ));
    }
    for (i, body) in bodies.iter().enumerate() {
        let size = body.chars().count();
        let how = if new {
            create.clone()
        } else {
            format!("{update} if part {} exists, else {create}", i + 1)
        };
        lines.push(format!(
            "{noun} {} of {n}: {how} ({size} characters, limit {})",
            i + 1,
            tracker.limit()
        ));
    }
    for (i, body) in bodies.iter().enumerate() {
        lines.push(format!("----- {noun} {} of {n} -----", i + 1));
        lines.push(body.trim_end_matches('\n').to_string());
    }
    Outcome { lines }
}

fn run(tracker: &dyn Tracker, key: &str, bodies: &[String], new: bool) -> Result<Outcome> {
    let ours = if new {
        Default::default()
    } else {
        find_ours(tracker, key)?
    };
    write(
        tracker,
        key,
        bodies,
        ours.into_iter().map(|(part, e)| (part, e.id)).collect(),
    )
}

/// Our comments on the ticket by part number; the oldest wins when there are duplicates.
fn find_ours(
    tracker: &dyn Tracker,
    key: &str,
) -> Result<std::collections::BTreeMap<usize, Existing>> {
    let mut ours = std::collections::BTreeMap::new();
    // Someone else's comment that starts with our marker (pasted, or planted) is not ours:
    // updating it would change what another person wrote.
    let me = tracker.me()?;
    for existing in tracker.list()? {
        if me.is_some() && existing.author != me {
            continue;
        }
        if let Some(part) = tracker.part_of(&existing.body, key) {
            ours.entry(part).or_insert(existing);
        }
    }
    Ok(ours)
}

/// Writes `bodies`, updating the comments in `ours` (part number → id) and creating the rest.
fn write(
    tracker: &dyn Tracker,
    key: &str,
    bodies: &[String],
    mut ours: std::collections::BTreeMap<usize, String>,
) -> Result<Outcome> {
    let noun = tracker.noun();
    let n = bodies.len();
    let mut lines = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let (verb, posted) = match ours.remove(&(i + 1)) {
            Some(id) => ("updated", tracker.update(&id, body)?),
            None => ("created", tracker.create(body)?),
        };
        lines.push(format!(
            "{verb} {noun} {} of {n}: {}",
            i + 1,
            posted.url.unwrap_or_else(|| format!("id {}", posted.id))
        ));
    }
    // Parts of an earlier, longer version: kept (publishing deletes nothing), marked as unused.
    for (part, id) in ours {
        let body = tracker.unused_body(key, part, n);
        let posted = tracker.update(&id, &body)?;
        lines.push(format!(
            "marked {noun} {} (old part {part}) unused: {}",
            posted.id,
            posted.url.unwrap_or_default()
        ));
    }
    Ok(Outcome { lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_safe_inside_an_html_comment() {
        assert_eq!(
            default_key("intro\n# Render Deployment Failure Analysis: ma-saas-backend\n"),
            "render-deployment-failure-analysis-ma-saas-backend"
        );
        assert_eq!(sanitize_key("a --> b"), "a-b");
        assert_eq!(sanitize_key("-->"), "report");
        let long = sanitize_key(&"Outage of the payments API ".repeat(20));
        assert!(long.len() <= MAX_KEY && !long.ends_with('-'), "{long}");
        // Every part of a long report, under a long title, stays within the limit.
        let report = "line of the report\n".repeat(2_000);
        for body in bodies(&report, &long, 4_000) {
            assert!(body.chars().count() <= 4_000, "{}", body.chars().count());
        }
        assert_eq!(default_key("no heading"), "report");
    }

    #[test]
    fn markers_are_recognised_by_key_and_part() {
        assert_eq!(our_part("<!-- postmortem:k -->\nbody", "k"), Some(1));
        assert_eq!(our_part("<!-- postmortem:k part=3/4 -->\nx", "k"), Some(3));
        assert_eq!(our_part("<!-- postmortem:k2 -->\n", "k"), None);
        assert_eq!(our_part("<!-- postmortem:kx part=1/2 -->", "k"), None);
        assert_eq!(our_part("> <!-- postmortem:k -->", "k"), None);
        assert_eq!(our_part("a quote of <!-- postmortem:k -->", "k"), None);
    }

    #[test]
    fn a_report_that_fits_is_one_body() {
        let b = bodies("# T\ntext\n", "t", 65_536);
        assert_eq!(b, vec!["<!-- postmortem:t -->\n# T\ntext\n".to_string()]);
    }

    #[test]
    fn split_keeps_every_character_at_line_ends() {
        let text: String = (0..500)
            .map(|i| format!("line {i} of the report\n"))
            .collect();
        let chunks = split(&text, 1_000);
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.chars().count() <= 1_000));
        assert!(chunks.iter().all(|c| c.ends_with('\n')));
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn split_closes_and_reopens_fenced_code() {
        let mut text = String::from("# T\n```mermaid\n");
        for i in 0..100 {
            text.push_str(&format!("  A{i} --> B{i}\n"));
        }
        text.push_str("```\nafter\n");
        let chunks = split(&text, 300);
        assert!(chunks.len() > 2);
        for c in &chunks {
            assert!(c.chars().count() <= 300, "{c}");
            let fences = c.lines().filter(|l| l.starts_with("```")).count();
            assert_eq!(fences % 2, 0, "unbalanced fences in {c:?}");
        }
        // Removing the added fences gives the text back.
        let mut joined = String::new();
        for (i, c) in chunks.iter().enumerate() {
            let mut c = c.as_str();
            if i > 0 && c.starts_with("```mermaid\n") {
                c = &c["```mermaid\n".len()..];
            }
            if i + 1 < chunks.len() && c.ends_with("```\n") && !c.ends_with("```\nafter\n") {
                c = &c[..c.len() - 4];
            }
            joined.push_str(c);
        }
        assert_eq!(joined, text);
    }

    #[test]
    fn split_cuts_an_overlong_line_without_losing_characters() {
        let text = format!("{}\nend\n", "é".repeat(2_500));
        let chunks = split(&text, 1_000);
        assert!(chunks.iter().all(|c| c.chars().count() <= 1_000));
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn credentials_follow_each_cli_order_and_never_print() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = Credentials::from_lookup(env(&[
            ("GITHUB_TOKEN", "ghp_second"),
            ("GH_TOKEN", "ghp_first"),
            ("GITLAB_TOKEN", " "),
            ("GITLAB_ACCESS_TOKEN", "glpat-x"),
        ]));
        let gh = c.github.as_ref().unwrap();
        assert_eq!((gh.secret.expose(), gh.var), ("ghp_first", "GH_TOKEN"));
        assert_eq!(c.gitlab.as_ref().unwrap().var, "GITLAB_ACCESS_TOKEN");
        assert!(c.linear.is_none());
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("ghp_first") && !shown.contains("glpat-x"),
            "{shown}"
        );
    }
}
