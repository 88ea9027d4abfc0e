//! `revision-cycle`: the revision graph has a cycle
//!
//! Flags revisions that, through `down_revision` or `depends_on`, end up depending on
//! themselves (`a` revises `c`, `c` revises `b`, `b` revises `a`; or a revision that names
//! itself).
//!
//! Why it breaks deploys: no upgrade order exists. Alembic detects it while loading the folder
//! and every command fails with `CycleDetected` (or `DependencyCycleDetected`).
//!
//! Example: `down_revision = "a1"` in revision `b2`, and `down_revision = "b2"` in `a1`.
//!
//! Fix: re-point one `down_revision` (usually the most recent edit) at an earlier revision.
//!
//! `data`: `{"revisions": [IDs in the cycle]}`.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::graph::cycles;
use crate::migrations::model::MigrationSet;

pub struct RevisionCycle;

pub static META: RuleMeta = RuleMeta {
    name: "revision-cycle",
    severity: Severity::Error,
    summary: "the revision graph has a cycle",
    help: "Break the cycle by re-pointing one down_revision at an earlier revision.",
    category: Category::Graph,
};

impl Rule for RevisionCycle {
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
    cycles(set)
        .into_iter()
        .map(|ids| {
            let message = if ids.len() == 1 {
                format!("revision `{}` names itself as its parent: Alembic fails with CycleDetected and no migration runs", ids.join(""))
            } else {
                format!(
                    "revisions {} depend on each other in a cycle: no upgrade order exists, Alembic fails with CycleDetected and no migration runs",
                    ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
                )
            };
            let mut finding = Finding::new(&META, message).data(serde_json::json!({"revisions": ids}));
            if let Some(first) = ids.first().and_then(|id| set.revisions.iter().find(|r| &r.id == id)) {
                finding = finding.file(&first.file).line(first.line).revision(&first.id);
            }
            finding
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::graph::{revision_source, set_from_sources};

    #[test]
    fn err() {
        let a = revision_source("a1", "\"b2\"");
        let b = revision_source("b2", "\"a1\"");
        let set = set_from_sources("versions", &[("a.py", &a), ("b.py", &b)]);
        let findings = check_set(&set);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("`a1`, `b2`"),
            "{}",
            findings[0].message
        );
        assert_eq!(findings[0].file.as_deref(), Some("versions/a.py"));
    }

    #[test]
    fn ok() {
        let a = revision_source("a1", "None");
        let b = revision_source("b2", "\"a1\"");
        let set = set_from_sources("versions", &[("a.py", &a), ("b.py", &b)]);
        assert!(check_set(&set).is_empty());
    }
}
