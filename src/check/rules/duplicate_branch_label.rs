//! `duplicate-branch-label`: two revisions declare the same branch label
//!
//! Flags a revision whose `branch_labels` names a label that another revision of the same graph
//! already declares, or that is another revision's ID.
//!
//! Why it breaks deploys: Alembic refuses to build the revision map ("RevisionError: Branch name
//! 'xy1' in revision c already used by revision e", checked with Alembic 1.20's `RevisionMap`),
//! so every Alembic command fails, `upgrade` included, whatever its target. The graph may look like it has several heads, but the cause is
//! the label, not the heads.
//!
//! Example: a migration copied from `e.py` to start a new branch keeps
//! `branch_labels = ("xy1",)`.
//!
//! Fix: give the new branch its own label (or `branch_labels = None` when it is not a branch).
//!
//! `data`: `{"label", "revisions": [{"id", "file", "line"}]}`.

use std::collections::BTreeMap;

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::model::{MigrationSet, Revision};

pub struct DuplicateBranchLabel;

pub static META: RuleMeta = RuleMeta {
    name: "duplicate-branch-label",
    severity: Severity::Error,
    summary: "two revisions declare the same branch label: every Alembic command fails",
    help: "Give each branch its own label in `branch_labels`.",
    category: Category::Graph,
};

impl Rule for DuplicateBranchLabel {
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

/// One finding per label declared twice, pointing at the second declaration by file path.
pub fn check_set(set: &MigrationSet) -> Vec<Finding> {
    let mut by_label: BTreeMap<&str, Vec<&Revision>> = BTreeMap::new();
    for rev in &set.revisions {
        for label in &rev.branch_labels {
            by_label.entry(label.as_str()).or_default().push(rev);
        }
    }
    let mut findings = Vec::new();
    for (label, mut declaring) in by_label {
        // A label that is a revision ID collides with that revision (Alembic maps both).
        let named = set
            .revisions
            .iter()
            .find(|r| r.id == label && !declaring.iter().any(|d| d.id == r.id));
        if let Some(named) = named {
            declaring.insert(0, named);
        }
        if declaring.len() < 2 {
            continue;
        }
        let second = declaring[1];
        let listed: Vec<String> = declaring
            .iter()
            .map(|r| format!("`{}` ({})", r.id, r.file))
            .collect();
        // Alembic checks the labels in set order, so which two revisions its message names
        // varies from run to run: the message names the label, not an order.
        let message = format!(
            "branch label `{label}` is declared by {}: Alembic refuses to load `{}` (\"RevisionError: Branch name '{label}' in revision ... already used by revision ...\"), so every Alembic command fails",
            listed.join(" and "),
            set.path,
        );
        let data = serde_json::json!({
            "label": label,
            "revisions": declaring.iter().map(|r| serde_json::json!({"id": r.id, "file": r.file, "line": r.line})).collect::<Vec<_>>(),
        });
        findings.push(
            Finding::new(&META, message)
                .file(&second.file)
                .line(second.line)
                .revision(&second.id)
                .data(data),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::graph::set_from_sources;

    fn labelled(id: &str, down: &str, labels: &str) -> String {
        format!("revision = \"{id}\"\ndown_revision = {down}\nbranch_labels = {labels}\n")
    }

    #[test]
    fn err() {
        // The case from Alembic's own test suite that the graph alone got wrong.
        let a = labelled("a", "None", "None");
        let c = labelled("c", "\"a\"", "(\"xy1\",)");
        let e = labelled("e", "\"a\"", "(\"xy1\",)");
        let set = set_from_sources("versions", &[("a.py", &a), ("c.py", &c), ("e.py", &e)]);
        let findings = check_set(&set);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].rule, "duplicate-branch-label");
        assert_eq!(findings[0].file.as_deref(), Some("versions/e.py"));
        assert!(
            findings[0].message.contains(
                "branch label `xy1` is declared by `c` (versions/c.py) and `e` (versions/e.py)"
            ),
            "{}",
            findings[0].message
        );
        // A label equal to a revision ID collides with it too.
        let b = labelled("b", "\"a\"", "(\"a\",)");
        let set = set_from_sources("versions", &[("a.py", &a), ("b.py", &b)]);
        assert_eq!(check_set(&set).len(), 1);
    }

    #[test]
    fn ok() {
        let a = labelled("a", "None", "None");
        let c = labelled("c", "\"a\"", "(\"expand\",)");
        let e = labelled("e", "\"a\"", "(\"contract\",)");
        let set = set_from_sources("versions", &[("a.py", &a), ("c.py", &c), ("e.py", &e)]);
        assert!(check_set(&set).is_empty());
    }
}
