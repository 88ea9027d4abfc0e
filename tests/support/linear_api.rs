//! A loopback stand-in for Linear's GraphQL API (`POST /graphql`), for `postmortem publish`
//! tests, on the HTTP server of `tickets_api.rs`.
//!
//! It behaves as `reference/tickets-api.md` records: a personal key is the whole `Authorization`
//! header, no `Bearer`; `issue(id:)` and `commentCreate.issueId` take the identifier (`ENG-42`)
//! or the UUID; `Issue.comments(first, after, filter)` honours `user.isMe` and `body.contains`
//! and pages with `pageInfo { hasNextPage endCursor }`; `commentCreate` / `commentUpdate` answer
//! `{success, comment {id url}}`. Errors carry `extensions.type` (`authentication error`,
//! `forbidden`, `invalid input`, `ratelimited`) and `userPresentableMessage` as Linear's SDK
//! reads them. The HTTP statuses follow the SDK's fallbacks (400 for an authentication error,
//! 403 forbidden, 429 rate limited); a missing entity is a 200 with `data: null` and an
//! `invalid input` error, as GraphQL answers a resolver error (UNVERIFIED against Linear).
//! Operations are told apart by `operationName`, which the client always sends; the server
//! checks that the query text names the fields it answers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::tickets_api::{Request, Response, Server, Ticket};

pub const ME: &str = "postmortem-bot";
pub const TEAM_URL: &str = "https://linear.app/acme/issue";

pub fn comment_id(n: i64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn number_of(id: &str) -> Option<i64> {
    id.strip_prefix("00000000-0000-4000-8000-")?.parse().ok()
}

fn error(status: u16, kind: &str, code: &str, message: &str, presentable: &str) -> Response {
    Response::json(
        status,
        json!({"errors": [{"message": message, "extensions": {"type": kind, "code": code, "statusCode": status, "userError": true, "userPresentableMessage": presentable}}], "data": null}),
    )
}

pub fn auth_error() -> Response {
    error(
        400,
        "authentication error",
        "AUTHENTICATION_ERROR",
        "Authentication required, not authenticated",
        "You need to authenticate to access this operation.",
    )
}

pub fn ratelimited() -> Response {
    error(
        400,
        "ratelimited",
        "RATELIMITED",
        "Rate limit exceeded",
        "Too many requests, please try again later.",
    )
}

/// What Linear's SDK reads as `ratelimited` from the status alone.
pub fn ratelimited_429() -> Response {
    error(
        429,
        "ratelimited",
        "RATELIMITED",
        "Rate limit exceeded",
        "Too many requests, please try again later.",
    )
}

fn not_found(what: &str) -> Response {
    error(
        200,
        "invalid input",
        "INPUT_ERROR",
        &format!("Entity not found: {what}"),
        &format!("Could not find referenced {what}."),
    )
}

/// Linear for one issue, `identifier` (`ENG-42`) with `uuid`. `writable: false` is a read-only
/// key; comments authored by [`ME`] are the key's own.
pub fn linear(
    key: &str,
    identifier: &str,
    uuid: &str,
    ticket: Arc<Mutex<Ticket>>,
    writable: bool,
) -> Server {
    linear_with_storage(key, identifier, uuid, ticket, writable, None)
}

/// The header `fileUpload` tells the client to send with its PUT, as Linear's signed uploads do.
pub const UPLOAD_HEADER: (&str, &str) = ("x-goog-content-length-range", "0,104857600");

/// A storage host for signed uploads, as `fileUpload` hands out: it takes any `PUT /upload/…`
/// (the URL is the permission) and refuses the rest.
pub fn storage() -> Server {
    Server::start(Box::new(|req: &Request, _origin| {
        if req.method == "PUT" && req.path.starts_with("/upload/") {
            Response {
                status: 200,
                headers: vec![],
                body: String::new(),
            }
        } else {
            Response {
                status: 403,
                headers: vec![("content-type".into(), "application/xml".into())],
                body: "<Error><Code>AccessDenied</Code></Error>".into(),
            }
        }
    }))
}

/// [`linear`], answering `fileUpload` with an upload URL on `storage` (an origin from
/// [`storage`]); without one, `fileUpload` is an unknown operation.
pub fn linear_with_storage(
    key: &str,
    identifier: &str,
    uuid: &str,
    ticket: Arc<Mutex<Ticket>>,
    writable: bool,
    storage: Option<String>,
) -> Server {
    let uploads = Arc::new(Mutex::new(0u32));
    let key = key.to_string();
    let identifier = identifier.to_string();
    let uuid = uuid.to_string();
    let issue_url = format!("{TEAM_URL}/{identifier}/deploy-failed");
    Server::start(Box::new(move |req: &Request, _origin| {
        if req.path != "/graphql" || req.method != "POST" {
            return Response {
                status: 404,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: format!("Cannot {} {}", req.method, req.path),
            };
        }
        if req.header("authorization") != Some(key.as_str()) {
            return auth_error();
        }
        if !req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
        {
            return error(
                400,
                "invalid input",
                "BAD_REQUEST",
                "Expected a JSON body",
                "Bad request",
            );
        }
        let body = req.json();
        let query = body
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let vars = body.get("variables").cloned().unwrap_or(Value::Null);
        let op = body
            .get("operationName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !query.contains(op) || op.is_empty() {
            return error(
                400,
                "graphql error",
                "GRAPHQL_VALIDATION_FAILED",
                "Unknown operation",
                "Bad request",
            );
        }
        let is_issue = |v: &Value| {
            v.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&identifier) || s == uuid)
        };
        let view = |c: &crate::tickets_api::Comment| json!({"id": comment_id(c.id), "url": format!("{issue_url}#comment-{:08x}", c.id), "body": c.body});
        let mut t = ticket.lock().unwrap();
        match op {
            "PostmortemComments" => {
                for field in ["comments(", "pageInfo", "hasNextPage", "endCursor", "body"] {
                    assert!(query.contains(field), "query lacks {field}: {query}");
                }
                if !is_issue(&vars["id"]) {
                    return not_found("Issue");
                }
                let filter = &vars["filter"];
                let mine = filter["user"]["isMe"]["eq"] == json!(true);
                let contains = filter["body"]["contains"].as_str().map(str::to_string);
                let matching: Vec<&crate::tickets_api::Comment> = t
                    .comments
                    .iter()
                    .filter(|c| !mine || c.author == ME)
                    .filter(|c| contains.as_ref().is_none_or(|s| c.body.contains(s)))
                    .collect();
                let start = match vars["after"].as_str() {
                    Some(cursor) => {
                        match matching.iter().position(|c| comment_id(c.id) == cursor) {
                            Some(at) => at + 1,
                            None => {
                                return error(
                                    400,
                                    "invalid input",
                                    "INPUT_ERROR",
                                    "Invalid cursor",
                                    "Bad request",
                                )
                            }
                        }
                    }
                    None => 0,
                };
                // Two a page, whatever `first` asks, so that paging happens with few comments.
                let page: Vec<_> = matching.iter().skip(start).take(2).collect();
                let has_next = start + page.len() < matching.len();
                let nodes: Vec<Value> = page.iter().map(|c| view(c)).collect();
                let end = page.last().map(|c| comment_id(c.id));
                Response::json(
                    200,
                    json!({"data": {"issue": {"id": uuid, "identifier": identifier, "url": issue_url, "comments": {"nodes": nodes, "pageInfo": {"hasNextPage": has_next, "endCursor": end}}}}}),
                )
                .with("x-ratelimit-requests-remaining", "1499")
            }
            "PostmortemCommentCreate" => {
                let input = &vars["input"];
                if !is_issue(&input["issueId"]) {
                    return not_found("Issue");
                }
                if !writable {
                    return error(
                        403,
                        "forbidden",
                        "FORBIDDEN",
                        "Forbidden",
                        "You don't have permission to create comments.",
                    );
                }
                let Some(body) = input["body"].as_str().filter(|b| !b.is_empty()) else {
                    return error(
                        400,
                        "invalid input",
                        "INPUT_ERROR",
                        "Argument Validation Error",
                        "Comment body can't be empty.",
                    );
                };
                let id = t.next_id;
                t.next_id += 1;
                let c = crate::tickets_api::Comment {
                    id,
                    body: body.to_string(),
                    author: ME.into(),
                    system: false,
                };
                let v = view(&c);
                t.comments.push(c);
                Response::json(
                    200,
                    json!({"data": {"commentCreate": {"success": true, "comment": v}}}),
                )
            }
            "PostmortemCommentUpdate" => {
                let at = vars["id"]
                    .as_str()
                    .and_then(number_of)
                    .and_then(|n| t.comments.iter().position(|c| c.id == n));
                let Some(at) = at else {
                    return not_found("Comment");
                };
                if !writable || t.comments[at].author != ME {
                    return error(
                        403,
                        "forbidden",
                        "FORBIDDEN",
                        "Forbidden",
                        "You can only edit your own comments.",
                    );
                }
                t.comments[at].body = vars["input"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let v = view(&t.comments[at]);
                Response::json(
                    200,
                    json!({"data": {"commentUpdate": {"success": true, "comment": v}}}),
                )
            }
            "PostmortemFileUpload" if storage.is_some() => {
                let ok = vars["filename"].is_string()
                    && vars["contentType"].is_string()
                    && vars["size"].as_u64().is_some_and(|n| n > 0);
                if !ok {
                    return error(
                        400,
                        "invalid input",
                        "INPUT_ERROR",
                        "Argument Validation Error",
                        "filename, contentType and size are required.",
                    );
                }
                let mut n = uploads.lock().unwrap();
                *n += 1;
                let storage = storage.as_deref().unwrap();
                Response::json(
                    200,
                    json!({"data": {"fileUpload": {"success": true, "uploadFile": {
                        "uploadUrl": format!("{storage}/upload/{n}?signature=s{n}"),
                        "assetUrl": format!("https://uploads.linear.app/acme/{n}/postmortem.md"),
                        "headers": [{"key": UPLOAD_HEADER.0, "value": UPLOAD_HEADER.1}],
                    }}}}),
                )
            }
            _ => error(
                400,
                "graphql error",
                "GRAPHQL_VALIDATION_FAILED",
                "Unknown operation",
                "Bad request",
            ),
        }
    }))
}
