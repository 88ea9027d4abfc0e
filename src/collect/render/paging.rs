//! Render's two ways of paging: cursor lists (deploys, events, services) and the time windows
//! of `/logs`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::client::{Client, FetchError};
use super::progress::Progress;
use super::types::LogsPage;

/// Render's maximum page size for cursor lists.
pub const PAGE_LIMIT: usize = 100;

/// What a paged fetch brought back, and why it stopped early if it did.
#[derive(Debug, Default)]
pub struct Listed {
    pub items: Vec<Value>,
    pub pages: usize,
    /// The fetch of page `pages + 1` failed; the items before it are kept.
    pub error: Option<FetchError>,
    /// Paging stopped for a reason other than reaching the end (a repeated or missing cursor).
    pub stopped: Option<String>,
    /// Rows without the expected item inside.
    pub empty_rows: usize,
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Pages through a cursor list with `limit=100` until a short page, a repeated cursor, or
/// `enough` says the items so far suffice. `key` is the wrapper's field (`deploy`, `event`).
pub fn list_all(
    client: &Client,
    path: &str,
    query: &[(&str, String)],
    key: &str,
    progress: &Progress,
    source: &'static str,
    enough: &mut dyn FnMut(&[Value]) -> bool,
) -> Listed {
    let mut listed = Listed::default();
    let mut cursor: Option<String> = None;
    let mut seen_cursors = HashSet::new();
    loop {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("limit", PAGE_LIMIT.to_string()));
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page = match client.get(path, &q) {
            Ok(v) => v,
            Err(e) => {
                listed.error = Some(e);
                return listed;
            }
        };
        let Value::Array(rows) = page else {
            listed.error = Some(FetchError::BadBody {
                message: format!("{path} answered something other than a JSON array"),
            });
            return listed;
        };
        listed.pages += 1;
        let row_count = rows.len();
        progress.page(source, row_count);
        let mut last_cursor = None;
        for mut row in rows {
            if let Some(c) = row.get("cursor").and_then(Value::as_str) {
                last_cursor = Some(c.to_string());
            }
            match row.get_mut(key).map(Value::take) {
                Some(item) if item.is_object() => listed.items.push(item),
                _ => listed.empty_rows += 1,
            }
        }
        if row_count < PAGE_LIMIT || enough(&listed.items) {
            return listed;
        }
        match last_cursor {
            None => {
                listed.stopped = Some(format!(
                    "page {} has no cursor, so the rows after it could not be asked for",
                    listed.pages
                ));
                return listed;
            }
            Some(c) if !seen_cursors.insert(c.clone()) => {
                listed.stopped = Some(format!(
                    "the API repeated cursor {c:?} on page {}; paging stopped there",
                    listed.pages
                ));
                return listed;
            }
            Some(c) => cursor = Some(c),
        }
    }
}

/// `/logs` page size: the CLI asks for 1000, the schema says 100; shared by all workers so
/// that one 400 teaches them all.
pub struct LogLimit(AtomicUsize);

impl Default for LogLimit {
    fn default() -> Self {
        Self::new()
    }
}

impl LogLimit {
    pub const HIGH: usize = 1000;
    pub const LOW: usize = 100;

    pub fn new() -> Self {
        LogLimit(AtomicUsize::new(Self::HIGH))
    }

    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn lower(&self) {
        self.0.store(Self::LOW, Ordering::Relaxed);
    }
}

/// Every log line of `resource` between `start` and `end`, following `hasMore` with
/// `nextStartTime`/`nextEndTime`. Ids already seen (windows share their boundary) are skipped.
pub fn fetch_logs(
    client: &Client,
    owner_id: &str,
    resource: &str,
    span: (DateTime<Utc>, DateTime<Utc>),
    limit: &LogLimit,
    progress: &Progress,
) -> Listed {
    let mut listed = Listed::default();
    let mut seen = HashSet::new();
    let (mut start, mut end) = span;
    loop {
        let page_limit = limit.get();
        let q = [
            ("ownerId", owner_id.to_string()),
            ("resource", resource.to_string()),
            ("startTime", rfc3339(start)),
            ("endTime", rfc3339(end)),
            ("direction", "backward".to_string()),
            ("limit", page_limit.to_string()),
        ];
        let body = match client.get("/logs", &q) {
            Ok(v) => v,
            Err(FetchError::BadRequest { status: 400, .. }) if page_limit > LogLimit::LOW => {
                limit.lower();
                continue;
            }
            Err(e) => {
                listed.error = Some(e);
                return listed;
            }
        };
        let page: LogsPage = match serde_json::from_value(body) {
            Ok(p) => p,
            Err(e) => {
                listed.error = Some(FetchError::BadBody {
                    message: format!("/logs answered an unexpected shape: {e}"),
                });
                return listed;
            }
        };
        listed.pages += 1;
        progress.page("logs", page.logs.len());
        let mut new_lines = 0;
        for line in page.logs {
            let id = line.get("id").and_then(Value::as_str).map(str::to_string);
            if id.is_none_or(|id| seen.insert(id)) {
                new_lines += 1;
                listed.items.push(line);
            }
        }
        if !page.has_more {
            return listed;
        }
        let next = (
            page.next_start_time.unwrap_or(start),
            page.next_end_time.unwrap_or(end),
        );
        if next == (start, end) && new_lines == 0 {
            listed.stopped = Some(format!(
                "more than {page_limit} lines share the window {} – {}; paging stalled there",
                rfc3339(start),
                rfc3339(end)
            ));
            return listed;
        }
        (start, end) = next;
    }
}
