//! `multiple-heads`: more than one head revision: `alembic upgrade head` exits 255
//!
//! Flags a migration folder whose revision graph ends in two or more heads (revisions no other
//! revision names as its `down_revision`). This happens when two branches each add a migration
//! on top of the same parent and both are merged.
//!
//! Why it breaks deploys: `alembic upgrade head` refuses to choose and exits 255 with
//! "Multiple head revisions are present for given argument 'head'", so a start or pre-deploy
//! command that runs it fails every deploy until the heads are merged.
//!
//! Example: `bbbb00000002` and `cccc00000002` both have `down_revision = "aaaa00000001"`.
//!
//! Fix: `alembic merge heads -m "merge"` and commit the merge revision (or re-point one
//! branch's `down_revision` at the other's head).
//!
//! `data`: `{"path": folder, "heads": [{"id", "file", "line"}]}`.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::model::MigrationSet;

pub struct MultipleHeads;

pub static META: RuleMeta = RuleMeta {
    name: "multiple-heads",
    severity: Severity::Error,
    summary: "more than one head revision: `alembic upgrade head` exits 255",
    help: "Merge the heads with `alembic merge heads` and commit the merge revision.",
    category: Category::Graph,
};

impl Rule for MultipleHeads {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        ctx.evidence
            .migration_sets
            .iter()
            .flat_map(check_set)
            .collect()
    }
}

pub fn check_set(set: &MigrationSet) -> Vec<Finding> {
    if set.heads.len() < 2 {
        return Vec::new();
    }
    let heads: Vec<_> = set
        .heads
        .iter()
        .filter_map(|id| set.revisions.iter().rev().find(|r| &r.id == id))
        .collect();
    let listed: Vec<String> = heads
        .iter()
        .map(|r| format!("`{}` ({})", r.id, r.file))
        .collect();
    let message = format!(
        "`{}` has {} head revisions, {}: `alembic upgrade head` exits 255 (\"Multiple head revisions are present\") and no migration runs",
        set.path,
        set.heads.len(),
        listed.join(", ")
    );
    let data = serde_json::json!({
        "path": set.path,
        "heads": heads.iter().map(|r| serde_json::json!({"id": r.id, "file": r.file, "line": r.line})).collect::<Vec<_>>(),
    });
    let mut finding = Finding::new(&META, message).data(data);
    // Point at the newest-looking head: the last file by name.
    if let Some(last) = heads.iter().max_by(|a, b| a.file.cmp(&b.file)) {
        finding = finding.file(&last.file).line(last.line).revision(&last.id);
    }
    vec![finding]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::graph::{revision_source, set_from_sources};

    #[test]
    fn err() {
        let a = revision_source("aaaa", "None");
        let b = revision_source("bbbb", "\"aaaa\"");
        let c = revision_source("cccc", "\"aaaa\"");
        let set = set_from_sources("versions", &[("a.py", &a), ("b.py", &b), ("c.py", &c)]);
        let findings = check_set(&set);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("2 head revisions"),
            "{}",
            findings[0].message
        );
        assert_eq!(findings[0].file.as_deref(), Some("versions/c.py"));
    }

    #[test]
    fn ok() {
        let a = revision_source("aaaa", "None");
        let b = revision_source("bbbb", "\"aaaa\"");
        let c = revision_source("cccc", "\"aaaa\"");
        let m = revision_source("mmmm", "(\"bbbb\", \"cccc\")");
        let set = set_from_sources(
            "versions",
            &[("a.py", &a), ("b.py", &b), ("c.py", &c), ("m.py", &m)],
        );
        assert!(check_set(&set).is_empty());
    }
}
