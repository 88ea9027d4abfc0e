//! A loopback stand-in for Jira's issue-comment API, Cloud (REST v3, ADF bodies, Basic auth of
//! email and API token) or Data Center (REST v2, wiki-markup bodies, Bearer personal access
//! token), built on the HTTP server in tickets_api.rs.
//!
//! It behaves as `reference/tickets-api.md` records: `GET /myself`; comments paged with
//! `startAt`/`maxResults` (served two at a time, whatever is asked, so that paging happens)
//! as `{startAt, maxResults, total, comments}`; comment properties set on create and read back
//! with `POST /comment/list?expand=properties` `{"ids": [...]}` (or, with `comment_list` off,
//! 404 there and the properties on the listing with `expand=properties`); `PUT …/comment/{id}` (400 for
//! someone else's comment); attachments as multipart `file` with `X-Atlassian-Token:
//! no-check` (403 `XSRF check failed` without it) answering `[{id, filename, size, mimeType,
//! content}]`; a body over 32,767 characters refused with 400 and Jira's message; 401 for bad
//! credentials (Cloud's plain-text "Client must be authenticated to access this resource.");
//! 404 for an issue that does not exist or cannot be seen. Queued one-off answers (429 with
//! `Retry-After` and `X-RateLimit-Reset`) come from the underlying server.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::tickets_api::{Response, Server};

pub const LIMIT: usize = 32_767;
pub const ME: &str = "557058:postmortem-bot";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cloud,
    DataCenter,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub author: String,
    pub body: Value,
    pub properties: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: i64,
    pub filename: String,
    pub content: String,
}

pub struct Issue {
    pub comments: Vec<Comment>,
    pub attachments: Vec<Attachment>,
    pub next_id: i64,
    /// Create attachments permission (off: 403, as with attachments disabled).
    pub can_attach: bool,
    /// Add comments permission.
    pub can_comment: bool,
    /// Serves `POST /comment/list` (off: 404, as a Jira without the endpoint answers).
    pub comment_list: bool,
}

impl Issue {
    /// `others` comments by a colleague first, as on a real incident issue.
    pub fn with_others(others: usize) -> Arc<Mutex<Issue>> {
        let comments = (0..others)
            .map(|i| Comment {
                id: 10_000 + i as i64,
                author: "557058:colleague".into(),
                body: Value::String(format!("comment {i} by a colleague")),
                properties: Vec::new(),
            })
            .collect();
        Arc::new(Mutex::new(Issue {
            comments,
            attachments: Vec::new(),
            next_id: 20_000,
            can_attach: true,
            can_comment: true,
            comment_list: true,
        }))
    }

    pub fn ours(&self) -> Vec<Comment> {
        self.comments
            .iter()
            .filter(|c| c.author == ME)
            .cloned()
            .collect()
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ABC[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn errors(status: u16, messages: &[&str], fields: Value) -> Response {
    Response::json(status, json!({"errorMessages": messages, "errors": fields}))
}

fn not_found() -> Response {
    errors(
        404,
        &["Issue does not exist or you do not have permission to see it."],
        json!({}),
    )
}

fn size(body: &Value) -> usize {
    match body {
        Value::String(s) => s.chars().count(),
        other => other.to_string().chars().count(),
    }
}

/// The uploaded file of a `multipart/form-data` body: its name and content.
fn multipart(req: &crate::tickets_api::Request) -> Option<(String, String)> {
    let ct = req.header("content-type")?;
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"');
    let part = req.body.split(&format!("--{boundary}")).nth(1)?;
    let (head, content) = part.split_once("\r\n\r\n")?;
    if !head.contains("name=\"file\"") {
        return None;
    }
    let filename = head.split("filename=\"").nth(1)?.split('"').next()?;
    Some((
        filename.to_string(),
        content.strip_suffix("\r\n").unwrap_or(content).to_string(),
    ))
}

/// Jira for one issue, `KEY`, holding `issue`. `email` is Cloud's login; Data Center takes
/// `token` as a Bearer personal access token.
pub fn jira(
    flavor: Flavor,
    email: &str,
    token: &str,
    key: &str,
    issue: Arc<Mutex<Issue>>,
) -> Server {
    let auth = match flavor {
        Flavor::Cloud => format!("Basic {}", base64(format!("{email}:{token}").as_bytes())),
        Flavor::DataCenter => format!("Bearer {token}"),
    };
    let api = match flavor {
        Flavor::Cloud => "/rest/api/3",
        Flavor::DataCenter => "/rest/api/2",
    };
    let key = key.to_string();
    let comments_path = format!("{api}/issue/{key}/comment");
    let attach_path = format!("{api}/issue/{key}/attachments");
    Server::start(Box::new(move |req, origin| {
        if req.header("authorization") != Some(auth.as_str()) {
            return Response {
                status: 401,
                headers: vec![
                    ("content-type".into(), "text/plain;charset=UTF-8".into()),
                    (
                        "www-authenticate".into(),
                        "Basic realm=\"protected-area\"".into(),
                    ),
                ],
                body: "Client must be authenticated to access this resource.".into(),
            };
        }
        let author = |id: &str| match flavor {
            Flavor::Cloud => json!({"accountId": id, "displayName": id}),
            Flavor::DataCenter => json!({"key": id, "name": id}),
        };
        let view = |c: &Comment, expand: bool| {
            let mut v = json!({
                "self": format!("{origin}{api}/issue/{key}/comment/{}", c.id),
                "id": c.id.to_string(),
                "author": author(&c.author),
                "body": c.body,
                "created": "2026-12-02T12:00:00.000+0000",
                "updated": "2026-12-02T12:00:00.000+0000",
            });
            if expand {
                v["properties"] = Value::Array(c.properties.clone());
            }
            v
        };
        if req.path == format!("{api}/myself") && req.method == "GET" {
            return Response::json(200, author(ME));
        }
        let mut t = issue.lock().unwrap();
        let too_long = || {
            errors(
                400,
                &[],
                json!({"comment": "The entered text is too long. It exceeds the allowed limit of 32,767 characters."}),
            )
        };
        let valid = |body: &Value| match flavor {
            Flavor::Cloud => {
                body.get("type") == Some(&json!("doc")) && body.get("version") == Some(&json!(1))
            }
            Flavor::DataCenter => body.is_string(),
        };
        if req.path == comments_path && req.method == "GET" {
            let expand = req
                .param("expand")
                .is_some_and(|e| e.split(',').any(|x| x == "properties"));
            let start: usize = req
                .param("startAt")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let max = req
                .param("maxResults")
                .and_then(|s| s.parse().ok())
                .unwrap_or(5000usize)
                .min(2);
            let page: Vec<Value> = t
                .comments
                .iter()
                .skip(start)
                .take(max)
                .map(|c| view(c, expand))
                .collect();
            return Response::json(
                200,
                json!({"startAt": start, "maxResults": max, "total": t.comments.len(), "comments": page}),
            );
        }
        if req.path == format!("{api}/comment/list") && req.method == "POST" && t.comment_list {
            let expand = req
                .param("expand")
                .is_some_and(|e| e.split(',').any(|x| x == "properties"));
            let ids: Vec<i64> = req
                .json()
                .get("ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            if ids.is_empty() {
                return errors(400, &[], json!({"ids": "The ids must not be empty."}));
            }
            let values: Vec<Value> = t
                .comments
                .iter()
                .filter(|c| ids.contains(&c.id))
                .map(|c| view(c, expand))
                .collect();
            return Response::json(
                200,
                json!({"maxResults": 1000, "startAt": 0, "total": values.len(), "isLast": true, "values": values}),
            );
        }
        if req.path == comments_path && req.method == "POST" {
            if !t.can_comment {
                return errors(
                    403,
                    &["You do not have the permission to comment on this issue."],
                    json!({}),
                );
            }
            let request = req.json();
            let body = request.get("body").cloned().unwrap_or_default();
            if !valid(&body) {
                return errors(
                    400,
                    &[],
                    json!({"comment": "Comment body can not be empty!"}),
                );
            }
            if size(&body) > LIMIT {
                return too_long();
            }
            let id = t.next_id;
            t.next_id += 1;
            let c = Comment {
                id,
                author: ME.into(),
                body,
                properties: request
                    .get("properties")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            };
            let v = view(&c, false);
            t.comments.push(c);
            return Response::json(201, v);
        }
        if let Some(id) = req.path.strip_prefix(&format!("{comments_path}/")) {
            let Some(at) = id
                .parse::<i64>()
                .ok()
                .and_then(|id| t.comments.iter().position(|c| c.id == id))
            else {
                return errors(404, &["Can not find a comment for the id."], json!({}));
            };
            if req.method != "PUT" {
                return not_found();
            }
            if t.comments[at].author != ME {
                return errors(
                    400,
                    &["You do not have the permission to edit this comment."],
                    json!({}),
                );
            }
            let body = req.json().get("body").cloned().unwrap_or_default();
            if !valid(&body) {
                return errors(
                    400,
                    &[],
                    json!({"comment": "Comment body can not be empty!"}),
                );
            }
            if size(&body) > LIMIT {
                return too_long();
            }
            t.comments[at].body = body;
            return Response::json(200, view(&t.comments[at], false));
        }
        if req.path == attach_path && req.method == "POST" {
            if req.header("x-atlassian-token") != Some("no-check") {
                return Response {
                    status: 403,
                    headers: vec![("content-type".into(), "text/plain".into())],
                    body: "XSRF check failed".into(),
                };
            }
            if !t.can_attach {
                return errors(
                    403,
                    &["You do not have permission to create attachments for this issue."],
                    json!({}),
                );
            }
            let Some((filename, content)) = multipart(req) else {
                return errors(400, &["No file was attached."], json!({}));
            };
            let id = t.next_id;
            t.next_id += 1;
            let size = content.len();
            t.attachments.push(Attachment {
                id,
                filename: filename.clone(),
                content,
            });
            return Response::json(
                200,
                json!([{
                    "self": format!("{origin}{api}/attachment/{id}"),
                    "id": id.to_string(),
                    "filename": filename,
                    "author": author(ME),
                    "created": "2026-12-02T12:00:00.000+0000",
                    "size": size,
                    "mimeType": "text/markdown",
                    "content": format!("{origin}{api}/attachment/content/{id}"),
                }]),
            );
        }
        not_found()
    }))
}
