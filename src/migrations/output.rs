//! What `postmortem migrations` prints: the revision graph of each folder and the findings.
//!
//! The text form reads like `alembic history`, newest first (`parent -> child (head)`), with
//! heads, branch points and merge points marked, so the shape of the graph shows at a glance.
//! The JSON form is the contract in the design: `{"migration_sets": [...], "findings": [...]}`.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use crate::finding::Finding;
use crate::migrations::graph::topological_order;
use crate::migrations::model::{MigrationSet, SetOrigin};

pub fn text(sets: &[MigrationSet], findings: &[Finding]) -> String {
    let mut out = String::new();
    if sets.is_empty() {
        out.push_str("No Alembic migration folder found.\n");
    }
    for set in sets {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let _ = writeln!(
            out,
            "{} (alembic): {}, {}",
            set.path,
            plural(set.revisions.len(), "revision"),
            plural(set.heads.len(), "head")
        );
        for (label, ids) in [
            ("heads", &set.heads),
            ("bases", &set.bases),
            ("branch points", &set.branchpoints),
            ("merge points", &set.mergepoints),
        ] {
            let list = if ids.is_empty() {
                "-".to_string()
            } else {
                ids.join(", ")
            };
            let _ = writeln!(out, "  {:<15}{list}", format!("{label}:"));
        }
        if let Some(origin) = &set.origin {
            let folders = origin.folders.join(", ");
            let recursive = if origin.recursive {
                " (with subfolders)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {:<15}{folders}{recursive}", "folders:");
            let _ = writeln!(
                out,
                "  {:<15}{}: {}",
                "found by:",
                origin.kind,
                origin.sources.join("; ")
            );
            for note in &origin.notes {
                let _ = writeln!(out, "  {:<15}{note}", "note:");
            }
        }
        out.push('\n');
        for rev in topological_order(set).into_iter().rev() {
            let from = if rev.parents.is_empty() {
                "<base>".to_string()
            } else {
                rev.parents.join(", ")
            };
            let mut marks = String::new();
            for (is, mark) in [
                (set.heads.contains(&rev.id), " (head)"),
                (set.branchpoints.contains(&rev.id), " (branchpoint)"),
                (set.mergepoints.contains(&rev.id), " (mergepoint)"),
            ] {
                if is {
                    marks.push_str(mark);
                }
            }
            let mut extra = String::new();
            if !rev.branch_labels.is_empty() {
                let _ = write!(extra, " [labels: {}]", rev.branch_labels.join(", "));
            }
            if !rev.depends_on.is_empty() {
                let _ = write!(extra, " [depends on: {}]", rev.depends_on.join(", "));
            }
            if !rev.unknown.is_empty() {
                let _ = write!(extra, " [not read statically: {}]", rev.unknown.join(", "));
            }
            let message = if rev.message.is_empty() {
                String::new()
            } else {
                format!(", {}", rev.message)
            };
            let _ = writeln!(out, "  {from} -> {}{marks}{extra}{message}", rev.id);
            let _ = writeln!(out, "      {}:{}", rev.file, rev.line);
        }
        out.push('\n');
    }
    if findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        let _ = writeln!(
            out,
            "{} finding{}:",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        );
        for finding in findings {
            let place = match (&finding.file, finding.line) {
                (Some(file), Some(line)) => format!(" {file}:{line}"),
                (Some(file), None) => format!(" {file}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}[{}]{place}: {}",
                finding.severity.as_str(),
                finding.rule,
                finding.message
            );
            let _ = writeln!(out, "      help: {}", finding.help);
        }
    }
    out
}

/// The JSON document, borrowed from the sets. Fields are in alphabetical order, as the
/// `serde_json::Value` this used to be built as printed them; building that `Value` for 2,000
/// revisions was a sixth of the command's time.
#[derive(Serialize)]
pub struct Document<'a> {
    /// Converted through `Value` so that a finding's keys are sorted like `check`'s JSON.
    findings: Value,
    migration_sets: Vec<SetJson<'a>>,
}

#[derive(Serialize)]
struct SetJson<'a> {
    bases: &'a [String],
    branchpoints: &'a [String],
    framework: &'a str,
    heads: &'a [String],
    mergepoints: &'a [String],
    /// How the folders were found (new in this version; absent for sets built elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a SetOrigin>,
    path: &'a str,
    revisions: Vec<RevisionJson<'a>>,
}

#[derive(Serialize)]
struct RevisionJson<'a> {
    branch_labels: &'a [String],
    depends_on: &'a [String],
    file: &'a str,
    id: &'a str,
    line: u32,
    message: &'a str,
    parents: &'a [String],
    /// `field: expression` entries that could not be read statically.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    unknown: &'a [String],
}

pub fn json<'a>(sets: &'a [MigrationSet], findings: &[Finding]) -> Document<'a> {
    let migration_sets = sets
        .iter()
        .map(|set| SetJson {
            bases: &set.bases,
            branchpoints: &set.branchpoints,
            framework: &set.framework,
            heads: &set.heads,
            mergepoints: &set.mergepoints,
            origin: set.origin.as_ref(),
            path: &set.path,
            revisions: set
                .revisions
                .iter()
                .map(|rev| RevisionJson {
                    branch_labels: &rev.branch_labels,
                    depends_on: &rev.depends_on,
                    file: &rev.file,
                    id: &rev.id,
                    line: rev.line,
                    message: &rev.message,
                    parents: &rev.parents,
                    unknown: &rev.unknown,
                })
                .collect(),
        })
        .collect();
    Document {
        findings: serde_json::to_value(findings).unwrap_or(Value::Null),
        migration_sets,
    }
}
