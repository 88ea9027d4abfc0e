//! Mermaid diagrams for the report: the deploy history (green and red over time) and the
//! migration graph around the failing revision.
//!
//! The syntax is kept to the plain core of Mermaid (`flowchart`, quoted labels, `classDef` and
//! `class`) so every renderer that shows Mermaid at all shows these; labels are escaped with
//! Mermaid's `#code;` entities so quotes and brackets in commit or migration messages cannot
//! break the source.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::correlate::{deploy_time, oldest_first};
use crate::analyze::Streak;
use crate::evidence::{Deploy, Evidence};
use crate::migrations::model::Revision;

/// Deploys shown before a long history is collapsed in the middle.
const MAX_DEPLOYS: usize = 24;
const KEEP_EACH_END: usize = 10;
/// Identical failures in a row drawn as one node from this many on.
const RUN_FROM: usize = 3;

const CLASS_DEFS: &str = "  classDef ok fill:#d4edda,stroke:#28a745,color:#155724\n  classDef failed fill:#f8d7da,stroke:#dc3545,color:#721c24\n  classDef other fill:#eeeeee,stroke:#999999,color:#333333\n";

/// Escapes text for a quoted Mermaid label.
pub fn escape_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

fn class_of(deploy: &Deploy) -> &'static str {
    if deploy.status.is_success() {
        "ok"
    } else if deploy.status.is_failure() {
        "failed"
    } else {
        "other"
    }
}

/// The deploy history from the last good deploy before the streak to the newest deploy, as a
/// left-to-right flowchart of green (live/deactivated), red (failed) and grey (other) nodes.
pub fn deploy_history(evidence: &Evidence, streak: Option<&Streak>) -> Option<String> {
    let ordered = oldest_first(&evidence.deploys);
    let start = streak
        .and_then(|s| s.last_good.as_deref().or(Some(s.first_failed.as_str())))
        .and_then(|id| ordered.iter().position(|d| d.id == id))
        .unwrap_or(0);
    let shown: Vec<&Deploy> = ordered.get(start..).unwrap_or_default().to_vec();
    if shown.is_empty() {
        return None;
    }
    let multi_day = {
        let days: BTreeSet<_> = shown
            .iter()
            .filter_map(|d| deploy_time(d).map(|t| t.date_naive()))
            .collect();
        days.len() > 1
    };
    let fmt_time = |deploy: &Deploy| {
        deploy_time(deploy)
            .map(|t| {
                if multi_day {
                    t.format("%m-%d %H:%M").to_string()
                } else {
                    t.format("%H:%M").to_string()
                }
            })
            .unwrap_or_else(|| "time unknown".to_string())
    };
    let mut out = String::from("flowchart LR\n");
    out.push_str(CLASS_DEFS);
    let mut node_ids: Vec<String> = Vec::new();
    let mut classes: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();

    let items = runs(&shown);
    let collapse = items.len() > MAX_DEPLOYS;
    for (i, item) in items.iter().enumerate() {
        if collapse && i == KEEP_EACH_END {
            let hidden: Vec<&Deploy> = items
                .get(KEEP_EACH_END..items.len() - KEEP_EACH_END)
                .unwrap_or_default()
                .iter()
                .flatten()
                .copied()
                .collect();
            let failed = hidden.iter().filter(|d| d.status.is_failure()).count();
            let node = "more".to_string();
            out.push_str(&format!(
                "  {node}[\"… {} more deploys ({failed} failed) …\"]\n",
                hidden.len()
            ));
            classes
                .entry(if failed == hidden.len() {
                    "failed"
                } else {
                    "other"
                })
                .or_default()
                .push(node.clone());
            node_ids.push(node);
        }
        if collapse && i >= KEEP_EACH_END && i < items.len() - KEEP_EACH_END {
            continue;
        }
        let node = format!("d{i}");
        let (first, last) = (item[0], item[item.len() - 1]);
        let commit = |d: &Deploy| {
            d.commit
                .as_ref()
                .map(|c| escape_label(super::correlate::short_sha(&c.sha)))
        };
        if item.len() == 1 {
            out.push_str(&format!(
                "  {node}[\"{}<br/>{} UTC<br/>{}{}\"]\n",
                escape_label(&shorten(&first.id, 16)),
                fmt_time(first),
                escape_label(first.status.as_str()),
                commit(first)
                    .map(|c| format!("<br/>{c}"))
                    .unwrap_or_default(),
            ));
        } else {
            let commits = match (commit(first), commit(last)) {
                (Some(a), Some(b)) if a != b => format!("<br/>{a} … {b}"),
                (Some(a), _) => format!("<br/>{a}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {node}[\"{} deploys {}<br/>{}–{} UTC{commits}\"]\n",
                item.len(),
                escape_label(first.status.as_str()),
                fmt_time(first),
                fmt_time(last),
            ));
        }
        classes
            .entry(class_of(first))
            .or_default()
            .push(node.clone());
        node_ids.push(node);
    }
    if node_ids.len() > 1 {
        out.push_str(&format!("  {}\n", node_ids.join(" --> ")));
    }
    for (class, nodes) in classes {
        out.push_str(&format!("  class {} {class}\n", nodes.join(",")));
    }
    Some(out)
}

/// Deploys in a row that failed the same way (status, phase, exit code) are one node from
/// [`RUN_FROM`] on: fourteen identical red boxes say less than one that counts them.
fn runs<'a>(deploys: &[&'a Deploy]) -> Vec<Vec<&'a Deploy>> {
    let key = |d: &Deploy| {
        d.status.is_failure().then(|| {
            (
                d.status.as_str().to_string(),
                d.failure.as_ref().map(|f| (f.phase, f.exit_code)),
            )
        })
    };
    let mut out: Vec<Vec<&Deploy>> = Vec::new();
    for deploy in deploys {
        let joins = out.last().is_some_and(|run| {
            let k = key(run[0]);
            k.is_some() && k == key(deploy)
        });
        match out.last_mut() {
            Some(run) if joins => run.push(deploy),
            _ => out.push(vec![deploy]),
        }
    }
    // Short runs stay deploy by deploy.
    out.into_iter()
        .flat_map(|run| {
            if run.len() >= RUN_FROM {
                vec![run]
            } else {
                run.into_iter().map(|d| vec![d]).collect()
            }
        })
        .collect()
}

fn node_id(revision: &str) -> String {
    let clean: String = revision
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("r_{clean}")
}

/// The migration graph two levels up and down from `revision`, parents above children, the
/// failing revision in red and parents that do not exist drawn dashed.
pub fn migration_graph(evidence: &Evidence, revision: &str) -> Option<String> {
    let revisions: Vec<&Revision> = evidence
        .migration_sets
        .iter()
        .flat_map(|s| &s.revisions)
        .collect();
    let by_id: BTreeMap<&str, &Revision> = revisions.iter().map(|r| (r.id.as_str(), *r)).collect();
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &revisions {
        for p in r.parents.iter().chain(&r.depends_on) {
            children.entry(p.as_str()).or_default().push(r.id.as_str());
        }
    }
    if !by_id.contains_key(revision) && !children.contains_key(revision) {
        return None;
    }

    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    let mut edges: BTreeSet<(&str, &str)> = BTreeSet::new();
    nodes.insert(revision);
    let mut frontier = vec![revision];
    for _ in 0..2 {
        let mut next = Vec::new();
        for id in frontier {
            if let Some(r) = by_id.get(id) {
                for p in &r.parents {
                    edges.insert((p.as_str(), id));
                    if nodes.insert(p.as_str()) {
                        next.push(p.as_str());
                    }
                }
            }
        }
        frontier = next;
    }
    let mut frontier = vec![revision];
    for _ in 0..2 {
        let mut next = Vec::new();
        for id in frontier {
            for child in children.get(id).into_iter().flatten() {
                edges.insert((id, child));
                if nodes.insert(child) {
                    next.push(*child);
                }
            }
        }
        frontier = next;
    }

    let mut out = String::from("flowchart TD\n");
    out.push_str(CLASS_DEFS);
    out.push_str(
        "  classDef missing fill:#fff3cd,stroke:#856404,color:#856404,stroke-dasharray: 5 5\n",
    );
    let mut missing = Vec::new();
    for id in &nodes {
        let label = match by_id.get(id) {
            Some(r) if !r.message.is_empty() => {
                format!(
                    "{}<br/>{}",
                    escape_label(id),
                    escape_label(&shorten(&r.message, 40))
                )
            }
            Some(_) => escape_label(id),
            None => {
                missing.push(node_id(id));
                format!("{}<br/>(missing)", escape_label(id))
            }
        };
        out.push_str(&format!("  {}[\"{label}\"]\n", node_id(id)));
    }
    for (parent, child) in &edges {
        out.push_str(&format!("  {} --> {}\n", node_id(parent), node_id(child)));
    }
    out.push_str(&format!("  class {} failed\n", node_id(revision)));
    if !missing.is_empty() {
        out.push_str(&format!("  class {} missing\n", missing.join(",")));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_labels() {
        assert_eq!(
            escape_label("a \"b\" <c> #1"),
            "a #quot;b#quot; #lt;c#gt; #35;1"
        );
    }
}
