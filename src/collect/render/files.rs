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
    /// Gaps: files or parts of files not read, each naming the file and where it broke off.
    pub skipped: Vec<String>,
}

/// Reads every saved file under `dir`. A file that cannot be opened, or breaks off or turns
/// into something else part way, is a gap in [`Saved::skipped`] naming the file and the
/// position; what it held before that point is kept and the other files are still read.
pub fn read_dir(dir: &Path) -> Result<Saved> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--render-data {}: no such folder (save Render's JSON output in a folder and name it)",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let mut links = Vec::new();
    list_files(dir, &mut files, &mut links)?;
    files.sort();
    if files.is_empty() {
        return Err(Error::Render(format!(
            "no saved Render data in {}: expected .json files (API responses, `render deploys list -o json`, `render logs -o json`)",
            dir.display()
        )));
    }
    let mut saved = Saved::default();
    if !links.is_empty() {
        links.sort();
        saved.skipped.push(format!(
            "symbolic links under {} not followed: {}",
            dir.display(),
            links
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for path in files {
        let read = std::fs::File::open(&path)
            .map_err(|e| Error::io(&path, e))
            .and_then(|file| read_stream(&path, std::io::BufReader::new(file), &mut saved));
        if let Err(e) = read {
            saved
                .skipped
                .push(format!("{e}; the rest of this file was skipped"));
        }
    }
    Ok(saved)
}

/// Symbolic links are not followed (a loop, or a link out of the folder, would read what the
/// user did not save); they are listed in `links` so that the skip is said once.
fn list_files(dir: &Path, out: &mut Vec<PathBuf>, links: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if hidden {
            continue;
        }
        if kind.is_symlink() {
            links.push(path);
        } else if kind.is_dir() {
            list_files(&path, out, links)?;
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
    read_stream(path, text.as_bytes(), saved)
}

/// Reads one file as a stream: the elements of a top-level array (and of a `/logs` envelope's
/// `logs`) are classified one at a time, so a saved export takes the memory of the typed
/// records it holds, not of a JSON tree of the whole file.
pub fn read_stream(path: &Path, reader: impl std::io::Read, saved: &mut Saved) -> Result<()> {
    let position = std::rc::Rc::new(std::cell::Cell::new((1, 0)));
    let mut de = serde_json::Deserializer::from_reader(Counting {
        inner: reader,
        position: position.clone(),
    });
    loop {
        // `end` peeks at the next byte: past it, the counter stands on the value's first byte.
        if de.end().is_ok() {
            return Ok(());
        }
        let mut top = Top {
            at: Place {
                path,
                position: position.get(),
            },
            saved: &mut *saved,
            failure: None,
        };
        if let Err(e) = serde::de::DeserializeSeed::deserialize(&mut top, &mut de) {
            if let Some(failure) = top.failure.take() {
                return Err(failure);
            }
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
    }
}

/// Line and column (1-based, in bytes) of the last byte read.
struct Counting<R> {
    inner: R,
    position: std::rc::Rc<std::cell::Cell<(usize, usize)>>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let (mut line, mut column) = self.position.get();
        for &b in &buf[..n] {
            if b == b'\n' {
                line += 1;
                column = 0;
            } else if b & 0xC0 != 0x80 {
                column += 1;
            }
        }
        self.position.set((line, column));
        Ok(n)
    }
}

/// One top-level value of a file, classified as it is read. A classification error is kept in
/// `failure` (serde's error type cannot carry it) and the read stops there.
struct Top<'a, 'p> {
    at: Place<'p>,
    saved: &'a mut Saved,
    failure: Option<Error>,
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut Top<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Top<'_, '_> {
    fn keep<E: serde::de::Error>(&mut self, result: Result<()>) -> std::result::Result<(), E> {
        result.map_err(|failure| {
            let message = failure.to_string();
            self.failure = Some(failure);
            E::custom(message)
        })
    }

    fn not_data<E: serde::de::Error>(&mut self, kind: &str) -> std::result::Result<(), E> {
        let failure = self.at.error(format!(
            "expected a JSON array or object of Render data, found {kind}"
        ));
        self.keep(Err(failure))
    }
}

impl<'de> serde::de::Visitor<'de> for &mut Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array or object of Render data")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        let mut i = 0;
        while let Some(item) = seq.next_element::<Value>()? {
            let result = classify_item(
                item,
                &format!("element {i} of the array"),
                &self.at,
                self.saved,
            );
            self.keep(result)?;
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        let mut obj = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "logs" && !streamed {
                let logs = map.next_value_seed(Logs {
                    at: &self.at,
                    saved: &mut *self.saved,
                    failure: &mut self.failure,
                })?;
                match logs {
                    Some(other) => {
                        obj.insert(key, other);
                    }
                    None => streamed = true,
                }
            } else {
                let value: Value = map.next_value()?;
                obj.insert(key, value);
            }
        }
        if streamed {
            return Ok(());
        }
        let result = classify_item(Value::Object(obj), "the object", &self.at, self.saved);
        self.keep(result)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<(), E> {
        self.not_data("a boolean")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<(), E> {
        self.not_data("a number")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<(), E> {
        self.not_data("a number")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<(), E> {
        self.not_data("a number")
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<(), E> {
        self.not_data("a string")
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        self.not_data("null")
    }
}

/// The `logs` of a `/logs` envelope, read line by line into `saved`; `Some(value)` when the
/// key holds no array, for the object to be classified whole.
struct Logs<'a, 'p> {
    at: &'a Place<'p>,
    saved: &'a mut Saved,
    failure: &'a mut Option<Error>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Logs<'_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! logs_scalar {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<E: serde::de::Error>(self, v: $t) -> std::result::Result<Option<Value>, E> {
            Ok(Some(Value::from(v)))
        }
    )*};
}

impl<'de> serde::de::Visitor<'de> for Logs<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Option<Value>, A::Error> {
        let mut i = 0;
        while let Some(line) = seq.next_element::<Value>()? {
            match typed(line, &format!("logs[{i}]"), "log line", self.at) {
                Ok(log) => self.saved.logs.push(log),
                Err(failure) => {
                    let message = failure.to_string();
                    *self.failure = Some(failure);
                    return Err(serde::de::Error::custom(message));
                }
            }
            i += 1;
        }
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        map: A,
    ) -> std::result::Result<Option<Value>, A::Error> {
        use serde::Deserialize;
        Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    logs_scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::Null))
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

pub(crate) fn collect(
    settings: &RenderSettings,
    dir: &Path,
    evidence: &mut Evidence,
) -> Result<Collected> {
    let mut saved = read_dir(dir)?;
    for gap in std::mem::take(&mut saved.skipped) {
        evidence.note("render.files", gap);
    }
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
