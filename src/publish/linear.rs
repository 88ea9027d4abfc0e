//! Linear (GraphQL at `https://api.linear.app/graphql`): issue comments through `commentCreate`
//! and `commentUpdate`.
//!
//! A personal API key goes as `Authorization: <KEY>`, without `Bearer` (an OAuth token is passed
//! as `Bearer …` by whoever sets `LINEAR_API_KEY` to it). Linear stores a comment as a rich-text
//! document and gives the markdown back from it, so an HTML-comment marker would not survive the
//! round trip (UNVERIFIED either way): our marker is a visible footer in inline code,
//! `` `postmortem:KEY` `` (`` `postmortem:KEY part=2/3` `` for a part), which no markdown
//! serialiser escapes. A re-run finds it with the issue's comments filtered to the key's own user
//! (`user.isMe`) and to bodies containing `postmortem:KEY`, paging by `endCursor`; the exact
//! footer is then checked here, since `contains` also matches a longer key.
//!
//! Errors come as GraphQL `errors[].extensions.type` (`authentication error`, `forbidden`,
//! `ratelimited`, `invalid input`), on whatever HTTP status; without one, the status decides as
//! in Linear's SDK (403 forbidden, 429 rate limited, other 4xx authentication).

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::http::{Context, Http};
use super::{sanitize_key, split, Attached, Existing, Options, Posted, Token, Tracker};
use crate::{Error, Result};

pub const DEFAULT_API: &str = "https://api.linear.app/graphql";
/// Linear documents no size limit for a comment (UNVERIFIED); GitHub's 65,536 characters is
/// used so that a very large report goes up as a file, its summary in the comment.
pub const LIMIT: usize = 65_536;
/// Comments per page; Linear's connections default to 50.
const PAGE: usize = 50;

const COMMENTS: &str = "query PostmortemComments($id: String!, $after: String, $filter: CommentFilter) { issue(id: $id) { id identifier url comments(first: 50, after: $after, filter: $filter) { nodes { id url body } pageInfo { hasNextPage endCursor } } } }";
const CREATE: &str = "mutation PostmortemCommentCreate($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id url } } }";
const FILE_UPLOAD: &str = "mutation PostmortemFileUpload($contentType: String!, $filename: String!, $size: Int!) { fileUpload(contentType: $contentType, filename: $filename, size: $size) { success uploadFile { uploadUrl assetUrl headers { key value } } } }";
const UPLOAD_TYPE: &str = "text/markdown; charset=utf-8";
const UPDATE: &str = "mutation PostmortemCommentUpdate($id: String!, $input: CommentUpdateInput!) { commentUpdate(id: $id, input: $input) { success comment { id url } } }";

pub struct Linear {
    http: Http,
    endpoint: Url,
    /// The identifier, `ENG-42`: `issue(id:)` and `commentCreate.issueId` take it as well as
    /// the UUID.
    issue: String,
    key: String,
}

impl Linear {
    pub fn new(endpoint: &Url, issue: &str, token: Token, opts: &Options) -> Result<Linear> {
        let http = Http::new(
            endpoint,
            "authorization",
            token.secret.expose().to_string(),
            token.secret.clone(),
            &[],
            opts.policy,
            opts.clock,
        )?;
        Ok(Linear {
            http,
            endpoint: endpoint.clone(),
            issue: issue.to_string(),
            key: sanitize_key(&opts.key),
        })
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            system: "Linear",
            token_var: "LINEAR_API_KEY",
            ticket: &self.issue,
            permission: PERMISSION,
        }
    }

    /// One GraphQL operation; `data` on success, else an error that says what went wrong.
    fn call(&self, operation: &str, query: &str, variables: Value, doing: &str) -> Result<Value> {
        let body = json!({ "operationName": operation, "query": query, "variables": variables });
        // Every 4xx is read here: Linear's own error type says more than the status.
        let allow: Vec<u16> = (400..500).collect();
        let reply = self.http.send_allowing(
            Method::POST,
            &self.endpoint,
            Some(&body),
            &self.ctx(),
            &allow,
        )?;
        let value: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let errors = value
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty());
        if let Some(errors) = errors {
            return Err(self.graphql_error(reply.status, errors, doing));
        }
        if !(200..300).contains(&reply.status) {
            return Err(self.graphql_error(reply.status, &[], doing));
        }
        value.get("data").cloned().ok_or_else(|| {
            Error::Publish(format!(
                "Linear: {doing}: the answer has no data ({} {})",
                reply.status,
                short(&reply.body)
            ))
        })
    }

    fn graphql_error(&self, status: u16, errors: &[Value], doing: &str) -> Error {
        let first = errors.first();
        let ext = first.and_then(|e| e.get("extensions"));
        let kind = ext
            .and_then(|x| x.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| match status {
                // No GraphQL error at all: not Linear's endpoint.
                404 | 405 => "not the endpoint".into(),
                403 => "forbidden".into(),
                429 => "ratelimited".into(),
                400..=499 => "authentication error".into(),
                _ => "unknown".into(),
            });
        let said: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                e.get("extensions")
                    .and_then(|x| x.get("userPresentableMessage"))
                    .or_else(|| e.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(
                " (the server said: {})",
                short(&crate::redact::redact_document(&said.join("; ")))
            )
        };
        let issue = &self.issue;
        let not_found = errors.iter().any(|e| {
            let m = e.get("message").and_then(Value::as_str).unwrap_or_default();
            m.contains("not found") || m.contains("Entity not found")
        });
        let text = match kind.as_str() {
            "authentication error" => format!(
                "Linear rejected the key in LINEAR_API_KEY (authentication error, {status}): it is wrong, expired or revoked{said}"
            ),
            "forbidden" => format!(
                "Linear accepted the key in LINEAR_API_KEY but refused to {doing} on {issue} (forbidden): the key lacks permission ({PERMISSION}){said}"
            ),
            "ratelimited" => format!(
                "Linear: rate limited (ratelimited) and the wait was not given or is over --max-wait: try again later{said}"
            ),
            "invalid input" if not_found => format!(
                "Linear found no issue {issue}: either it does not exist, or the key in LINEAR_API_KEY may not see its team (check the identifier, and the key's team access){said}"
            ),
            "not the endpoint" => format!(
                "Linear: {} answered {status} without a GraphQL error: it is not Linear's GraphQL endpoint (check --api-url; Linear's is {DEFAULT_API})",
                self.endpoint
            ),
            other => format!("Linear refused to {doing} on {issue} ({other}, {status}){said}"),
        };
        Error::Publish(text)
    }

    fn posted(data: &Value, field: &str, doing: &str) -> Result<Posted> {
        let result = data.get(field).unwrap_or(&Value::Null);
        let comment = result.get("comment").unwrap_or(&Value::Null);
        let id = comment.get("id").and_then(Value::as_str);
        match (result.get("success").and_then(Value::as_bool), id) {
            (Some(true), Some(id)) => Ok(Posted {
                id: id.to_string(),
                url: comment
                    .get("url")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
            _ => Err(Error::Publish(format!(
                "Linear: {doing}: the answer reports no success or no comment id: {}",
                short(&result.to_string())
            ))),
        }
    }
}

const PERMISSION: &str =
    "a personal API key needs write access (or \"Create comments\") and access to the issue's team";

fn short(text: &str) -> String {
    text.trim().chars().take(300).collect()
}

/// `` `postmortem:KEY` `` or `` `postmortem:KEY part=I/N` ``.
fn footer_marker(key: &str, part: Option<(usize, usize)>) -> String {
    match part {
        None => format!("`postmortem:{key}`"),
        Some((i, n)) => format!("`postmortem:{key} part={i}/{n}`"),
    }
}

fn with_footer(text: &str, key: &str, part: Option<(usize, usize)>) -> String {
    let mut body = text.to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    // The blank line keeps `---` a rule, not the underline of a heading.
    body.push_str(&format!(
        "\n---\n{} · `postmortem publish` updates this comment when it runs again\n",
        footer_marker(key, part)
    ));
    body
}

/// Which part of ours a Linear comment is: its last marker line, exactly for `key`.
fn footer_part(body: &str, key: &str) -> Option<usize> {
    let line = body
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("`postmortem:"))?;
    let inner = line.trim_start().strip_prefix('`')?.split('`').next()?;
    let inner = inner.strip_prefix("postmortem:")?;
    if inner == key {
        return Some(1);
    }
    let (i, _) = inner
        .strip_prefix(key)?
        .strip_prefix(" part=")?
        .split_once('/')?;
    i.parse().ok().filter(|i| *i > 0)
}

/// Room kept in each part for its heading line and footer.
fn room(key: &str) -> usize {
    200 + key.len()
}

impl Tracker for Linear {
    fn limit(&self) -> usize {
        LIMIT
    }

    fn noun(&self) -> &'static str {
        "comment"
    }

    /// The `isMe` filter keeps other people's comments out of the list already.
    fn me(&self) -> Result<Option<String>> {
        Ok(None)
    }

    fn list(&self) -> Result<Vec<Existing>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let filter = json!({
            "user": { "isMe": { "eq": true } },
            "body": { "contains": format!("postmortem:{}", self.key) },
        });
        // A server that always says there is a next page must not keep us here forever.
        for _ in 0..10_000 {
            let data = self.call(
                "PostmortemComments",
                COMMENTS,
                json!({ "id": self.issue, "after": after, "filter": filter }),
                "read the comments",
            )?;
            let issue = data.get("issue").filter(|i| !i.is_null()).ok_or_else(|| {
                Error::Publish(format!(
                    "Linear found no issue {}: either it does not exist, or the key in LINEAR_API_KEY may not see its team (check the identifier, and the key's team access)",
                    self.issue
                ))
            })?;
            let comments = issue.get("comments").unwrap_or(&Value::Null);
            for c in comments
                .get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(id), Some(body)) = (
                    c.get("id").and_then(Value::as_str),
                    c.get("body").and_then(Value::as_str),
                ) {
                    out.push(Existing {
                        id: id.to_string(),
                        body: body.to_string(),
                        author: None,
                    });
                }
            }
            let info = comments.get("pageInfo").unwrap_or(&Value::Null);
            let next = info
                .get("endCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if info.get("hasNextPage").and_then(Value::as_bool) != Some(true)
                || next.is_none()
                || next == after
            {
                return Ok(out);
            }
            after = next;
        }
        Err(Error::Publish(format!(
            "Linear: {} has more than {} pages of comments carrying this key: stopped",
            self.issue, 10_000
        )))
    }

    fn create(&self, body: &str) -> Result<Posted> {
        let data = self.call(
            "PostmortemCommentCreate",
            CREATE,
            json!({ "input": { "issueId": self.issue, "body": body } }),
            "create a comment",
        )?;
        Self::posted(&data, "commentCreate", "create a comment")
    }

    fn update(&self, id: &str, body: &str) -> Result<Posted> {
        let data = self.call(
            "PostmortemCommentUpdate",
            UPDATE,
            json!({ "id": id, "input": { "body": body } }),
            "update a comment",
        )?;
        Self::posted(&data, "commentUpdate", "update a comment")
    }

    fn describe(&self) -> [String; 3] {
        let url = self.endpoint.as_str();
        [
            format!(
                "POST {url} query PostmortemComments (issue {:?}, comments {PAGE} a page by the key's own user whose body contains \"postmortem:{}\", following pageInfo.endCursor)",
                self.issue, self.key
            ),
            format!(
                "POST {url} mutation PostmortemCommentCreate (issueId {:?})",
                self.issue
            ),
            format!("POST {url} mutation PostmortemCommentUpdate (id {{id}})"),
        ]
    }

    fn bodies(&self, report: &str, key: &str) -> Vec<String> {
        let single = with_footer(report, key, None);
        if single.chars().count() <= self.limit() {
            return vec![single];
        }
        let chunks = split(report, self.limit() - room(key));
        let n = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                with_footer(
                    &format!("_Postmortem, part {} of {n}._\n\n{chunk}", i + 1),
                    key,
                    Some((i + 1, n)),
                )
            })
            .collect()
    }

    fn part_of(&self, body: &str, key: &str) -> Option<usize> {
        footer_part(body, key)
    }

    /// The hidden marker lines would not survive Linear's rich text: the footer replaces them.
    fn framed(&self, body: String, key: &str) -> String {
        let rest: Vec<&str> = body
            .split_inclusive('\n')
            .skip_while(|l| l.trim_start().starts_with("<!-- postmortem"))
            .collect();
        with_footer(&rest.concat(), key, None)
    }

    fn attach_plan(&self) -> Option<String> {
        Some(format!(
            "the whole report is uploaded as a file (POST {} mutation PostmortemFileUpload, then PUT to the signed URL it returns, without the API key; each run uploads anew)",
            self.endpoint
        ))
    }

    fn attach(&self, report: &str, _previous: Option<&str>) -> Result<Attached> {
        let doing = "ask for a file upload";
        let data = self.call(
            "PostmortemFileUpload",
            FILE_UPLOAD,
            json!({ "contentType": UPLOAD_TYPE, "filename": "postmortem.md", "size": report.len() }),
            doing,
        )?;
        let file = data
            .pointer("/fileUpload/uploadFile")
            .unwrap_or(&Value::Null);
        let text = |field: &str| file.get(field).and_then(Value::as_str).map(str::to_string);
        let (Some(upload), Some(asset)) = (text("uploadUrl"), text("assetUrl")) else {
            return Err(Error::Publish(format!(
                "Linear: {doing}: the answer has no uploadUrl or assetUrl"
            )));
        };
        let upload = Url::parse(&upload)
            .map_err(|e| Error::Publish(format!("Linear: the upload URL is not a URL: {e}")))?;
        let headers: Vec<(String, String)> = file
            .get("headers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| {
                Some((
                    h.get("key")?.as_str()?.to_string(),
                    h.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect();
        self.http.put_signed(
            &upload,
            &headers,
            UPLOAD_TYPE,
            report.as_bytes(),
            &self.ctx(),
        )?;
        Ok(Attached {
            reference: asset.clone(),
            link: format!("[postmortem.md]({asset})"),
            said: format!(
                "uploaded the whole report ({} characters) to Linear: {asset}",
                report.chars().count()
            ),
        })
    }

    fn lookup_note(&self, key: &str) -> String {
        format!("for comments whose footer is `postmortem:{key}` (or `postmortem:{key} part=I/N`)")
    }

    fn unused_body(&self, key: &str, part: usize, n: usize) -> String {
        with_footer(
            &format!("_This comment held part {part} of an earlier, longer version of this postmortem; it now fits in {n} comment(s)._"),
            key,
            Some((part, n)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_is_found_again_exactly() {
        let body = with_footer("# T\ntext", "incident-42", None);
        assert!(body.ends_with(
            "text\n\n---\n`postmortem:incident-42` · `postmortem publish` updates this comment when it runs again\n"
        ));
        assert_eq!(footer_part(&body, "incident-42"), Some(1));
        assert_eq!(footer_part(&body, "incident-4"), None);
        assert_eq!(footer_part(&body, "incident-42-b"), None);
        let part = with_footer("x", "k", Some((3, 4)));
        assert_eq!(footer_part(&part, "k"), Some(3));
        assert_eq!(footer_part("`postmortem:k part=0/2`", "k"), None);
        assert_eq!(footer_part("quoting `postmortem:k` inline", "k"), None);
    }
}
