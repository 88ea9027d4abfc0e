//! Loopback stand-ins for GitHub's issue-comment API and GitLab's notes API, speaking real
//! HTTP/1.1 (one request per connection, `Connection: close`), for `postmortem publish` tests.
//!
//! They behave as `reference/tickets-api.md` records: GitHub checks `Authorization: Bearer`
//! (401 `Bad credentials` / `Requires authentication`), pages comments with `per_page` (default
//! 30, max 100) and `Link: rel="next"`, answers 201 with `Location` on create, 422 `Body is too
//! long (maximum is 65536 characters)`, 403 `Resource not accessible by personal access token`
//! for a read-only token and 404 `Not Found` for an unknown issue. GitLab checks `PRIVATE-TOKEN`
//! (401 `401 Unauthorized`), takes the URL-encoded project path, pages notes with `per_page`
//! (default 20) and `x-next-page`/`Link`, sorts by `sort=asc|desc` (default desc) and includes
//! system notes. Both create an issue (`POST …/issues`, GitHub `title`+`body` → 201 with
//! `number` and `html_url`; GitLab `title`+`description` → 201 with `iid` and `web_url`), handing
//! out the number they serve. GitHub keeps gists (`POST /gists` → 201 `id`, `html_url`;
//! `PATCH /gists/{id}`), GitLab project uploads (`POST …/uploads`, multipart field `file` → 201
//! `url`, `full_path`, `markdown`) and refuses a note over 1,000,000 characters. Both record every request, and serve queued one-off answers (429 with the
//! real headers, say) before the normal ones.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// As sent, percent-encoding kept.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// `GET /path?query`, for asserting the exact requests made.
    pub fn line(&self) -> String {
        let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if q.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, q.join("&"))
        }
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string(),
        }
    }
    pub fn with(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = Box<dyn Fn(&Request, &str) -> Response + Send + Sync>;

/// A one-off answer: the first request whose method and path match gets it instead.
#[derive(Clone)]
pub struct Once {
    pub method: &'static str,
    pub path_contains: String,
    pub response: Response,
}

pub struct Server {
    pub origin: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub once: Arc<Mutex<VecDeque<Once>>>,
}

impl Server {
    pub fn start(handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let once: Arc<Mutex<VecDeque<Once>>> = Arc::default();
        let handler = Arc::new(handler);
        let (r, o, h, base) = (requests.clone(), once.clone(), handler, origin.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (r, o, h, base) = (r.clone(), o.clone(), h.clone(), base.clone());
                std::thread::spawn(move || serve(stream, &r, &o, &*h, &base));
            }
        });
        Server {
            origin,
            requests,
            once,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn lines(&self) -> Vec<String> {
        self.requests().iter().map(Request::line).collect()
    }

    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }

    pub fn push_once(&self, method: &'static str, path_contains: &str, response: Response) {
        self.once.lock().unwrap().push_back(Once {
            method,
            path_contains: path_contains.into(),
            response,
        });
    }
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<Request>>,
    once: &Mutex<VecDeque<Once>>,
    handler: &(dyn Fn(&Request, &str) -> Response + Send + Sync),
    origin: &str,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let request = Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let queued = {
        let mut once = once.lock().unwrap();
        let at = once
            .iter()
            .position(|o| o.method == request.method && request.path.contains(&o.path_contains));
        at.and_then(|i| once.remove(i))
    };
    let response = match queued {
        Some(o) => o.response,
        None => handler(&request, origin),
    };
    requests.lock().unwrap().push(request);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.body.len()
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(response.body.as_bytes());
    let _ = stream.flush();
}

/// A comment or note on the fake ticket.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub body: String,
    pub author: String,
    /// GitLab system notes ("changed the description").
    pub system: bool,
}

pub struct Ticket {
    pub comments: Vec<Comment>,
    pub next_id: i64,
    /// Title and description of the issues created (`POST …/issues`): the server hands out the
    /// number it serves.
    pub created: Vec<(String, String)>,
    /// GitHub gists made with `POST /gists`: id, description, `postmortem.md`'s content, public.
    pub gists: Vec<(String, String, String, bool)>,
    /// GitLab uploads: the file's content, as sent in the multipart body.
    pub uploads: Vec<String>,
}

impl Ticket {
    /// `others` comments by someone else first, as on a real incident ticket.
    pub fn with_others(others: usize) -> Arc<Mutex<Ticket>> {
        let comments = (0..others)
            .map(|i| Comment {
                id: 1000 + i as i64,
                body: format!("comment {i} by a colleague"),
                author: "colleague".into(),
                system: false,
            })
            .collect();
        Arc::new(Mutex::new(Ticket {
            comments,
            next_id: 5000,
            created: Vec::new(),
            gists: Vec::new(),
            uploads: Vec::new(),
        }))
    }

    pub fn by(&self, author: &str) -> Vec<Comment> {
        self.comments
            .iter()
            .filter(|c| c.author == author)
            .cloned()
            .collect()
    }
}

pub const GITHUB_LIMIT: usize = 65_536;
pub const GITLAB_LIMIT: usize = 1_000_000;

/// GitHub for one issue, `owner/repo#number`. `writable: false` is a read-only token.
pub fn github(
    token: &str,
    repo: &str,
    number: u64,
    ticket: Arc<Mutex<Ticket>>,
    writable: bool,
) -> Server {
    let token = token.to_string();
    let repo = repo.to_string();
    let comments_path = format!("/repos/{repo}/issues/{number}/comments");
    let comment_prefix = format!("/repos/{repo}/issues/comments/");
    let html = format!("https://github.com/{repo}/issues/{number}");
    Server::start(Box::new(move |req, origin| {
        match req.header("authorization") {
            None => {
                return Response::json(
                    401,
                    json!({"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
                )
            }
            Some(a) if a != format!("Bearer {token}") && a != format!("token {token}") => {
                return Response::json(
                    401,
                    json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
                )
            }
            _ => {}
        }
        let not_found = || {
            Response::json(
                404,
                json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/issues/comments", "status": "404"}),
            )
        };
        let forbidden = || {
            Response::json(
                403,
                json!({"message": "Resource not accessible by personal access token", "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment", "status": "403"}),
            )
        };
        let too_long = || {
            Response::json(
                422,
                json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": "Body is too long (maximum is 65536 characters)"}], "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment", "status": "422"}),
            )
        };
        let view = |c: &Comment| json!({"id": c.id, "node_id": format!("IC_{}", c.id), "html_url": format!("{html}#issuecomment-{}", c.id), "body": c.body, "user": {"login": c.author}});
        if req.path == "/user" && req.method == "GET" {
            return Response::json(
                200,
                json!({"login": "postmortem-bot", "id": 1, "type": "User"}),
            );
        }
        let mut t = ticket.lock().unwrap();
        if req.path == "/gists" && req.method == "POST" {
            let v = req.json();
            let content = v["files"]["postmortem.md"]["content"].as_str();
            let Some(content) = content.filter(|c| !c.is_empty()) else {
                return Response::json(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "Gist", "code": "missing_field", "field": "files"}]}),
                );
            };
            let id = format!("{:032x}", 0xa1b2c3 + t.gists.len());
            t.gists.push((
                id.clone(),
                v["description"].as_str().unwrap_or_default().to_string(),
                content.to_string(),
                v["public"].as_bool().unwrap_or(false),
            ));
            return Response::json(
                201,
                json!({"id": id, "html_url": format!("https://gist.github.com/postmortem-bot/{id}"), "public": v["public"], "files": {"postmortem.md": {"filename": "postmortem.md", "size": content.len()}}}),
            )
            .with("location", &format!("{origin}/gists/{id}"));
        }
        if let Some(id) = req.path.strip_prefix("/gists/") {
            let Some(at) = t.gists.iter().position(|g| g.0 == id) else {
                return not_found();
            };
            if req.method != "PATCH" {
                return not_found();
            }
            let v = req.json();
            if let Some(c) = v["files"]["postmortem.md"]["content"].as_str() {
                t.gists[at].2 = c.to_string();
            }
            if let Some(d) = v["description"].as_str() {
                t.gists[at].1 = d.to_string();
            }
            let g = t.gists[at].clone();
            return Response::json(
                200,
                json!({"id": g.0, "html_url": format!("https://gist.github.com/postmortem-bot/{}", g.0), "public": g.3}),
            );
        }
        if req.path == format!("/repos/{repo}/issues") && req.method == "POST" {
            if !writable {
                return forbidden();
            }
            let v = req.json();
            let Some(title) = v
                .get("title")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            else {
                return Response::json(
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}], "status": "422"}),
                );
            };
            let body = v.get("body").and_then(Value::as_str).unwrap_or_default();
            t.created.push((title.to_string(), body.to_string()));
            return Response::json(
                201,
                json!({"id": 9000, "node_id": "I_1", "number": number, "title": title, "body": body, "state": "open", "html_url": html, "user": {"login": "postmortem-bot"}}),
            )
            .with("location", &format!("{origin}/repos/{repo}/issues/{number}"));
        }
        if req.path == comments_path && req.method == "GET" {
            let per_page = req
                .param("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30usize)
                .clamp(1, 100);
            // A smaller page than asked for, to make paging happen with few comments.
            let per_page = per_page.min(2);
            let page = req
                .param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1usize)
                .max(1);
            let items: Vec<Value> = t
                .comments
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(view)
                .collect();
            let pages = t.comments.len().div_ceil(per_page).max(1);
            let mut r = Response::json(200, Value::Array(items));
            let link = |p: usize, rel: &str| {
                format!("<{origin}{comments_path}?per_page={per_page}&page={p}>; rel=\"{rel}\"")
            };
            let mut links = Vec::new();
            if page < pages {
                links.push(link(page + 1, "next"));
                links.push(link(pages, "last"));
            }
            if page > 1 {
                links.push(link(page - 1, "prev"));
                links.push(link(1, "first"));
            }
            if !links.is_empty() {
                r = r.with("link", &links.join(", "));
            }
            return r
                .with("x-ratelimit-remaining", "4990")
                .with("x-ratelimit-limit", "5000");
        }
        if req.path == comments_path && req.method == "POST" {
            if !writable {
                return forbidden();
            }
            let Some(body) = req
                .json()
                .get("body")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return Response::json(
                    422,
                    json!({"message": "Invalid request.\n\n\"body\" wasn't supplied.", "status": "422"}),
                );
            };
            if body.chars().count() > GITHUB_LIMIT {
                return too_long();
            }
            let id = t.next_id;
            t.next_id += 1;
            let c = Comment {
                id,
                body,
                author: "postmortem-bot".into(),
                system: false,
            };
            let v = view(&c);
            t.comments.push(c);
            return Response::json(201, v)
                .with("location", &format!("{origin}{comment_prefix}{id}"));
        }
        if let Some(id) = req.path.strip_prefix(&comment_prefix) {
            let Some(at) = id
                .parse::<i64>()
                .ok()
                .and_then(|id| t.comments.iter().position(|c| c.id == id))
            else {
                return not_found();
            };
            if req.method != "PATCH" {
                return Response::json(404, json!({"message": "Not Found"}));
            }
            if !writable {
                return forbidden();
            }
            let body = req
                .json()
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if body.chars().count() > GITHUB_LIMIT {
                return too_long();
            }
            t.comments[at].body = body;
            return Response::json(200, view(&t.comments[at]));
        }
        not_found()
    }))
}

/// GitLab for one issue: `project` as a path (`group/sub/project`), served under `/api/v4`.
pub fn gitlab(token: &str, project: &str, iid: u64, ticket: Arc<Mutex<Ticket>>) -> Server {
    let token = token.to_string();
    let notes_path = format!(
        "/api/v4/projects/{}/issues/{iid}/notes",
        project.replace('/', "%2F")
    );
    let issues_path = format!("/api/v4/projects/{}/issues", project.replace('/', "%2F"));
    let uploads_path = format!("/api/v4/projects/{}/uploads", project.replace('/', "%2F"));
    let web_url = format!("https://gitlab.example.com/{project}/-/issues/{iid}");
    let project = project.to_string();
    Server::start(Box::new(move |req, origin| {
        match req.header("private-token").or_else(|| {
            req.header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
        }) {
            Some(t) if t == token => {}
            _ => return Response::json(401, json!({"message": "401 Unauthorized"})),
        }
        let view = |c: &Comment| json!({"id": c.id, "type": null, "body": c.body, "author": {"id": 1, "username": c.author}, "system": c.system, "noteable_iid": iid});
        if req.path == "/api/v4/user" && req.method == "GET" {
            return Response::json(200, json!({"id": 1, "username": "postmortem-bot"}));
        }
        let mut t = ticket.lock().unwrap();
        if req.path == uploads_path && req.method == "POST" {
            let kind = req.header("content-type").unwrap_or_default();
            let Some(boundary) = kind
                .strip_prefix("multipart/form-data; boundary=")
                .map(str::to_string)
            else {
                return Response::json(400, json!({"error": "file is missing"}));
            };
            // One part, field `file`: its headers end at the blank line.
            let body = &req.body;
            let part = body
                .strip_prefix(&format!("--{boundary}\r\n"))
                .and_then(|b| b.strip_suffix(&format!("\r\n--{boundary}--\r\n")));
            let Some((head, content)) = part.and_then(|p| p.split_once("\r\n\r\n")) else {
                return Response::json(400, json!({"error": "file is invalid"}));
            };
            if !head.contains("name=\"file\"; filename=\"postmortem.md\"") {
                return Response::json(400, json!({"error": "file is missing"}));
            }
            t.uploads.push(content.to_string());
            let secret = format!("{:032x}", 0x5ec7 + t.uploads.len());
            return Response::json(
                201,
                json!({"id": t.uploads.len(), "alt": "postmortem", "url": format!("/uploads/{secret}/postmortem.md"), "full_path": format!("/-/project/3/uploads/{secret}/postmortem.md"), "markdown": format!("[postmortem.md](/uploads/{secret}/postmortem.md)")}),
            );
        }
        if req.path == issues_path && req.method == "POST" {
            let v = req.json();
            let Some(title) = v
                .get("title")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            else {
                return Response::json(400, json!({"error": "title is missing"}));
            };
            let description = v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            t.created.push((title.to_string(), description.to_string()));
            return Response::json(
                201,
                json!({"id": 84, "iid": iid, "project_id": 3, "title": title, "description": description, "state": "opened", "web_url": web_url, "references": {"short": format!("#{iid}"), "full": format!("{project}#{iid}")}}),
            );
        }
        if req.path == notes_path && req.method == "GET" {
            let per_page = req
                .param("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(20usize)
                .clamp(1, 100)
                .min(2);
            let page = req
                .param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1usize)
                .max(1);
            let mut all: Vec<&Comment> = t.comments.iter().collect();
            if req.param("sort") != Some("asc") {
                all.reverse();
            }
            let items: Vec<Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|c| view(c))
                .collect();
            let pages = all.len().div_ceil(per_page).max(1);
            let next = if page < pages {
                (page + 1).to_string()
            } else {
                String::new()
            };
            let mut r = Response::json(200, Value::Array(items))
                .with("x-page", &page.to_string())
                .with("x-per-page", &per_page.to_string())
                .with("x-total", &all.len().to_string())
                .with("x-total-pages", &pages.to_string())
                .with("x-next-page", &next);
            if page < pages {
                r = r.with(
                    "link",
                    &format!(
                        "<{origin}{notes_path}?page={}&per_page={per_page}&sort=asc>; rel=\"next\"",
                        page + 1
                    ),
                );
            }
            return r;
        }
        if req.path == notes_path && req.method == "POST" {
            let body = req
                .json()
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if body.is_empty() {
                return Response::json(
                    400,
                    json!({"message": "400 Bad request - Note {:note=>[\"can't be blank\"]}"}),
                );
            }
            if body.chars().count() > GITLAB_LIMIT {
                return Response::json(
                    400,
                    json!({"message": {"note": ["is too long (maximum is 1000000 characters)"]}}),
                );
            }
            let id = t.next_id;
            t.next_id += 1;
            let c = Comment {
                id,
                body,
                author: "postmortem-bot".into(),
                system: false,
            };
            let v = view(&c);
            t.comments.push(c);
            return Response::json(201, v);
        }
        if let Some(id) = req.path.strip_prefix(&format!("{notes_path}/")) {
            let at = id
                .parse::<i64>()
                .ok()
                .and_then(|id| t.comments.iter().position(|c| c.id == id));
            return match (at, req.method.as_str()) {
                (Some(at), "PUT") => {
                    t.comments[at].body = req
                        .json()
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    Response::json(200, view(&t.comments[at]))
                }
                _ => Response::json(404, json!({"message": "404 Not found"})),
            };
        }
        Response::json(404, json!({"message": "404 Project Not Found"}))
    }))
}
