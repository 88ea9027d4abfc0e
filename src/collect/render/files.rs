//! Offline import (`--render-data DIR`): what a user saved from Render, in any of the shapes
//! Render hands out.
//!
//! Every `*.json`, `*.jsonl` and `*.ndjson` file under DIR is read (sorted by path) as a stream
//! of JSON values, so all of these work, alone or mixed:
//! - raw API pages: `[{deploy, cursor}]`, `[{event, cursor}]`, `[{service, cursor}]`, a bare
//!   Service or Deploy object, and the `/logs` envelope `{hasMore, nextStartTime, nextEndTime, logs}`;
//! - Render CLI output: `render deploys list -o json` (a bare array of deploys),
//!   `render logs -o json` (log objects back to back, no separator), `render services -o json`;
//! - JSON lines of any of the above.
//!
//! A file that is not JSON, or holds something that is none of these, is an error naming the
//! file, line and column. YAML and text output of the CLI are not read.

use std::path::{Path, PathBuf};

use chrono::Duration;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::assemble;
use super::types::{WireDeploy, WireEvent, WireLog, WireService};
use super::{Collected, RenderSettings};
use crate::evidence::{Deploy, Evidence, Service, Window};
use crate::{Error, Result};

const EXTENSIONS: [&str; 3] = ["json", "jsonl", "ndjson"];

/// Everything read from the files, in file order.
#[derive(Debug, Default)]
pub struct Saved {
    pub services: Vec<WireService>,
    pub deploys: Vec<WireDeploy>,
    pub events: Vec<WireEvent>,
    pub logs: Vec<WireLog>,
}

pub fn read_dir(dir: &Path) -> Result<Saved> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--render-data {}: no such folder (save Render's JSON output in a folder and name it)",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    list_files(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(Error::Render(format!(
            "no saved Render data in {}: expected .json files (API responses, `render deploys list -o json`, `render logs -o json`)",
            dir.display()
        )));
    }
    let mut saved = Saved::default();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        read_text(&path, &text, &mut saved)?;
    }
    Ok(saved)
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if hidden {
            continue;
        }
        if kind.is_dir() {
            list_files(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads one file's text: any number of JSON values, back to back or one per line.
pub fn read_text(path: &Path, text: &str, saved: &mut Saved) -> Result<()> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut end_of_previous = 0;
    loop {
        let start = skip_whitespace(text, end_of_previous);
        match stream.next() {
            None => return Ok(()),
            Some(Err(e)) => {
                let message = e.to_string();
                let message = match message.rfind(" at line ") {
                    Some(i) => message[..i].to_string(),
                    None => message,
                };
                return Err(Error::Malformed {
                    path: path.to_path_buf(),
                    position: Some((e.line(), e.column())),
                    message: format!("not valid JSON: {message}"),
                });
            }
            Some(Ok(value)) => {
                let at = Place {
                    path,
                    position: line_column(text, start),
                };
                classify(value, &at, saved)?;
                end_of_previous = stream.byte_offset();
            }
        }
    }
}

struct Place<'a> {
    path: &'a Path,
    position: (usize, usize),
}

impl Place<'_> {
    fn error(&self, message: String) -> Error {
        Error::Malformed {
            path: self.path.to_path_buf(),
            position: Some(self.position),
            message,
        }
    }
}

fn classify(value: Value, at: &Place<'_>, saved: &mut Saved) -> Result<()> {
    match value {
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                classify_item(item, &format!("element {i} of the array"), at, saved)?;
            }
            Ok(())
        }
        Value::Object(mut obj) if obj.get("logs").is_some_and(Value::is_array) => {
            let Some(Value::Array(logs)) = obj.remove("logs") else {
                return Ok(());
            };
            for (i, line) in logs.into_iter().enumerate() {
                let what = format!("logs[{i}]");
                saved.logs.push(typed(line, &what, "log line", at)?);
            }
            Ok(())
        }
        obj @ Value::Object(_) => classify_item(obj, "the object", at, saved),
        other => Err(at.error(format!(
            "expected a JSON array or object of Render data, found {}",
            kind_of(&other)
        ))),
    }
}

fn classify_item(item: Value, what: &str, at: &Place<'_>, saved: &mut Saved) -> Result<()> {
    let Value::Object(mut obj) = item else {
        return Err(at.error(format!(
            "{what}: expected an object, found {}",
            kind_of(&item)
        )));
    };
    if let Some(inner) = take_object(&mut obj, "deploy") {
        saved.deploys.push(typed(inner, what, "deploy", at)?);
    } else if let Some(inner) = take_object(&mut obj, "event") {
        saved.events.push(typed(inner, what, "event", at)?);
    } else if let Some(inner) = take_object(&mut obj, "service") {
        saved.services.push(typed(inner, what, "service", at)?);
    } else if ["postgres", "keyValue", "redis", "project", "environment"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        // `render services -o json` lists databases alongside services; they hold no deploys.
    } else if has(&obj, &["message", "timestamp"]) {
        saved
            .logs
            .push(typed(Value::Object(obj), what, "log line", at)?);
    } else if has(&obj, &["type", "timestamp"]) {
        saved
            .events
            .push(typed(Value::Object(obj), what, "event", at)?);
    } else if obj.contains_key("serviceDetails") || has(&obj, &["ownerId", "name"]) {
        saved
            .services
            .push(typed(Value::Object(obj), what, "service", at)?);
    } else if ["status", "commit", "trigger", "image"]
        .iter()
        .any(|k| obj.contains_key(*k))
        || obj
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with("dep-"))
    {
        saved
            .deploys
            .push(typed(Value::Object(obj), what, "deploy", at)?);
    } else {
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.truncate(8);
        return Err(at.error(format!(
            "{what} is not a Render deploy, event, log line or service (keys: {})",
            keys.join(", ")
        )));
    }
    Ok(())
}

fn take_object(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if obj.get(key).is_some_and(Value::is_object) {
        obj.remove(key)
    } else {
        None
    }
}

fn has(obj: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter().all(|k| obj.contains_key(*k))
}

fn typed<T: DeserializeOwned>(value: Value, what: &str, kind: &str, at: &Place<'_>) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| at.error(format!("{what}: not a valid Render {kind}: {e}")))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn skip_whitespace(text: &str, from: usize) -> usize {
    let rest = text.get(from..).unwrap_or("");
    from + (rest.len() - rest.trim_start().len())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

pub(crate) fn collect(
    settings: &RenderSettings,
    dir: &Path,
    evidence: &mut Evidence,
) -> Result<Collected> {
    let saved = read_dir(dir)?;
    let service = choose_service(settings, dir, &saved, evidence)?;
    let service_id = service.id.clone();

    // Redactions count only what is stored: the window is worked out on throw-away copies,
    // and only the deploys inside it are converted for keeps.
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<WireDeploy> = saved
        .deploys
        .into_iter()
        .filter(|d| seen.insert(d.id.clone()))
        .collect();
    let explicit = Window {
        since: settings.since,
        until: settings.until,
    };
    let mut scratch = std::collections::BTreeMap::new();
    let in_explicit: Vec<Deploy> = unique
        .iter()
        .filter(|d| assemble::in_window(d.created_at, &explicit, Duration::zero()))
        .map(|d| d.clone().into_evidence(&mut scratch))
        .collect();
    let computed = assemble::default_window(&in_explicit);
    let window = Window {
        since: explicit.since.or(computed.since),
        until: explicit.until.or(computed.until),
    };
    let deploys = unique
        .into_iter()
        .filter(|d| assemble::in_window(d.created_at, &window, Duration::zero()))
        .map(|d| d.into_evidence(&mut evidence.redactions))
        .collect();

    let saved_events = saved.events.len();
    let mut seen = std::collections::HashSet::new();
    let events = saved
        .events
        .into_iter()
        .filter(|e| e.service_id.as_deref().is_none_or(|s| s == service_id))
        .filter(|e| seen.insert(e.id.clone()))
        .map(WireEvent::into_evidence)
        .filter(|e| assemble::in_window(Some(e.timestamp), &window, assemble::GRACE))
        .collect();

    // Logs were chosen by whoever saved them: all of this service's lines are kept.
    let mut seen = std::collections::HashSet::new();
    let logs = saved
        .logs
        .into_iter()
        .filter(|l| seen.insert(l.id.clone()))
        .filter(|l| {
            let resource = l.labels.iter().find(|label| label.name == "resource");
            resource.is_none_or(|r| r.value == service_id)
        })
        .map(|l| l.into_evidence(&mut evidence.redactions))
        .collect();

    if saved_events == 0 {
        evidence.note(
            super::EXPORT_NOTE,
            format!(
                "no events in {}: Render's CLI cannot export them, so exit codes and failure reasons are unknown (the API has them: --service with RENDER_API_KEY)",
                dir.display()
            ),
        );
    }

    Ok(Collected {
        service,
        window,
        deploys,
        events,
        logs,
    })
}

fn choose_service(
    settings: &RenderSettings,
    dir: &Path,
    saved: &Saved,
    evidence: &mut Evidence,
) -> Result<Service> {
    let mut candidates: Vec<&WireService> = Vec::new();
    for s in &saved.services {
        if !candidates.iter().any(|c| c.id == s.id) {
            candidates.push(s);
        }
    }
    let listing = |list: &[&WireService]| {
        let mut names: Vec<String> = list
            .iter()
            .map(|s| format!("{} ({})", s.name.as_deref().unwrap_or("(no name)"), s.id))
            .collect();
        names.sort();
        names.join(", ")
    };
    let wanted = settings
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let matching: Vec<&WireService> = match wanted {
        Some(w) => candidates
            .iter()
            .copied()
            .filter(|s| s.id == w || s.name.as_deref() == Some(w))
            .collect(),
        None => candidates.clone(),
    };
    match (matching.as_slice(), wanted) {
        ([one], _) => return Ok((*one).clone().into_evidence()),
        ([], Some(w)) if !w.starts_with("srv-") => {
            return Err(Error::Render(if candidates.is_empty() {
                format!(
                    "cannot resolve the service name {w:?} offline: {} holds no service object; pass the srv-… ID",
                    dir.display()
                )
            } else {
                format!(
                    "no saved service is named {w:?}; services in {}: {}",
                    dir.display(),
                    listing(&candidates)
                )
            }));
        }
        ([_, _, ..], _) => {
            return Err(Error::Render(format!(
                "{} saved services match; pass one with --service: {}",
                matching.len(),
                listing(&matching)
            )));
        }
        _ => {}
    }
    // No saved service object for it: the id comes from the flag, the events or the log labels.
    let id = match wanted {
        Some(w) => w.to_string(),
        None => inferred_service_id(saved).ok_or_else(|| {
            Error::Render(format!(
                "no service in {}: pass --service with the srv-… ID",
                dir.display()
            ))
        })?,
    };
    evidence.note(
        super::EXPORT_NOTE,
        format!(
            "no saved service object for {id} in {}: its name, owner, commands and health check path are unknown (save `render services -o json` there too to have them)",
            dir.display()
        ),
    );
    Ok(Service {
        id,
        ..Service::default()
    })
}

fn inferred_service_id(saved: &Saved) -> Option<String> {
    let mut ids: Vec<String> = saved
        .events
        .iter()
        .filter_map(|e| e.service_id.clone())
        .chain(saved.logs.iter().filter_map(|l| {
            l.labels
                .iter()
                .find(|lab| lab.name == "resource")
                .map(|lab| lab.value.clone())
        }))
        .collect();
    ids.sort();
    ids.dedup();
    match ids.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_back_objects_and_positions() {
        let text = "{\"id\":\"a\",\"message\":\"x\",\"timestamp\":\"2025-11-10T18:06:14Z\",\"labels\":[]}{\n  \"id\": \"b\", \"message\": \"y\", \"timestamp\": \"2025-11-10T18:06:15Z\"\n}";
        let mut saved = Saved::default();
        read_text(Path::new("logs.json"), text, &mut saved).unwrap();
        assert_eq!(saved.logs.len(), 2);
        let bad = "[\n  {\"id\": \"dep-1\", \"status\": \"live\"},\n  {\"id\": oops}\n]";
        let err = read_text(Path::new("d.json"), bad, &mut Saved::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "d.json:3:10: not valid JSON: expected value"
        );
    }

    #[test]
    fn element_that_is_nothing_known_names_its_position() {
        let text = "\n\n  [{\"foo\": 1}]";
        let err = read_text(Path::new("x.json"), text, &mut Saved::default()).unwrap_err();
        assert!(
            err.to_string().starts_with("x.json:3:3: element 0"),
            "{err}"
        );
    }
}
