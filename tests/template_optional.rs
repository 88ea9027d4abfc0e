//! The builtin template never loses a report to a missing optional value.
//!
//! The contexts are built from the context type itself: a full context (the documented seed
//! context with the few optional values it lacks filled in) is stripped of one key at a time, and
//! of every key at once, keeping each removal the type still accepts (`ReportContext` still
//! deserialises). Whatever the type allows to be absent, the template must render without.

use std::collections::BTreeSet;
use std::path::Path;

use postmortem::report::{self, ReportContext};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    /// Every element of an array.
    Each,
}

fn show(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => format!(".{k}"),
            Seg::Each => "[]".to_string(),
        })
        .collect()
}

/// The seed's documented context, with every optional value it leaves empty given one.
fn full_context() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/template-context.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    c["evidence"]["incident"] = json!({
        "title": "Deals outage",
        "status": "Resolved",
        "impact": "The API was down.",
        "summary": "A migration failed.",
        "lessons": ["Test migrations against PostgreSQL"],
        "status_updates": [{"at": "2025-11-10T18:15:00Z", "text": "Fixed"}],
        "follow_ups": [{"what": "Add a CI check", "owner": "dana", "due": "2025-11-20"}],
        "verification": ["The deals page loads"],
    });
    c["evidence"]["service"]["pre_deploy_command"] = json!("alembic upgrade head");
    c["evidence"]["notes"] =
        json!([{"source": "render.events", "message": "HTTP 503 after 4 tries"}]);
    let lf = &mut c["view"]["log_failure"];
    lf["script"] = json!("entrypoint.sh");
    lf["script_line"] = json!(39);
    lf["alembic_error"] = json!("Can't locate revision identified by 'x'");
    // A finding of every kind the template shows, with every optional field.
    let root = c["view"]["root_finding"].clone();
    let phantom = c["view"]["phantoms"][0].clone();
    for f in [root.clone(), phantom] {
        c["view"]["other_findings"].as_array_mut().unwrap().push(f);
    }
    c["view"]["test_engine_findings"]
        .as_array_mut()
        .unwrap()
        .push(root);
    c
}

fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut BTreeSet<Vec<Seg>>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                prefix.push(Seg::Key(k.clone()));
                out.insert(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            prefix.push(Seg::Each);
            for x in items {
                paths(x, prefix, out);
            }
            prefix.pop();
        }
        _ => {}
    }
}

/// Removes the key at `path` (in every element where the path crosses an array); true when
/// something was removed.
fn remove(v: &mut Value, path: &[Seg]) -> bool {
    match path {
        [] => false,
        [Seg::Key(k)] => v.as_object_mut().is_some_and(|m| m.remove(k).is_some()),
        [Seg::Key(k), rest @ ..] => v.get_mut(k).is_some_and(|x| remove(x, rest)),
        [Seg::Each, rest @ ..] => {
            // Every element, not just the first that has it.
            let mut removed = false;
            for x in v.as_array_mut().into_iter().flatten() {
                removed |= remove(x, rest);
            }
            removed
        }
    }
}

/// The context the type makes of `v`, or `None` when the type requires something removed.
fn typed(v: &Value) -> Option<ReportContext> {
    serde_json::from_value(v.clone()).ok()
}

#[test]
fn the_full_context_renders_every_section() {
    let ctx = typed(&full_context()).expect("the full context is a ReportContext");
    let out = report::render(&ctx, None).unwrap();
    for heading in [
        "## Executive Summary",
        "## Failure Evidence",
        "## Root Cause Analysis",
        "## Why Local Tests Passed",
        "## Previous Fix Attempts",
        "## Timeline (UTC)",
        "## Recommended Fix",
        "## Verification Checklist",
        "## Other Findings",
        "## Lessons Learned",
        "## Follow-ups",
        "## Related Files",
        "## Status Updates",
        "## Gaps and Redactions",
    ] {
        assert!(out.contains(heading), "{heading} missing:\n{out}");
    }
}

#[test]
fn each_optional_value_absent_alone_still_renders() {
    let full = full_context();
    let mut all = BTreeSet::new();
    paths(&full, &mut Vec::new(), &mut all);
    let mut failures = Vec::new();
    let mut optional = 0;
    for path in &all {
        let mut v = full.clone();
        if !remove(&mut v, path) {
            continue;
        }
        let Some(ctx) = typed(&v) else { continue };
        optional += 1;
        if let Err(e) = report::render(&ctx, None) {
            failures.push(format!("{}: {e}", show(path)));
        }
    }
    assert!(optional > 100, "only {optional} optional keys found");
    assert!(
        failures.is_empty(),
        "the template needs values the context type makes optional:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_optional_value_absent_at_once_still_renders() {
    let full = full_context();
    let mut all = BTreeSet::new();
    paths(&full, &mut Vec::new(), &mut all);
    // Deepest first, so that leaves go before the objects holding them.
    let mut order: Vec<&Vec<Seg>> = all.iter().collect();
    order.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut v = full.clone();
    for path in order {
        let mut next = v.clone();
        if remove(&mut next, path) && typed(&next).is_some() {
            v = next;
        }
    }
    let ctx = typed(&v).unwrap();
    let out = report::render(&ctx, None).unwrap();
    assert!(out.starts_with("# "), "{out}");
}
