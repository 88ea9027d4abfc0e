//! `duplicate-revision`: two files declare the same revision ID
//!
//! Flags every file that declares a revision ID another file in the same folder already
//! declares (usually a copied migration whose `revision` line was not changed).
//!
//! Why it breaks deploys: Alembic only warns ("Revision X is present more than once") and keeps
//! one of the files; the other file's `upgrade()` silently never runs, and the children of the
//! ID follow whichever file won, so the schema drifts from what the code expects.
//!
//! Example: `1a2b_add_users.py` and `1a2b_add_users_copy.py` both say `revision = "1a2b"`.
//!
//! Fix: give one file a fresh ID (`alembic revision` generates one) and re-point its children.
//!
//! `data`: `{"id", "files": [...]}`.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::graph::duplicates;
use crate::migrations::model::MigrationSet;

pub struct DuplicateRevision;

pub static META: RuleMeta = RuleMeta {
    name: "duplicate-revision",
    severity: Severity::Error,
    summary: "two files declare the same revision ID",
    help: "Give one of the files a new revision ID and re-point its children.",
    category: Category::Graph,
};

impl Rule for DuplicateRevision {
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
    let mut findings = Vec::new();
    for (id, revisions) in duplicates(set) {
        let files: Vec<&str> = revisions.iter().map(|r| r.file.as_str()).collect();
        let Some((first, others)) = revisions.split_first() else {
            continue;
        };
        for rev in others {
            let message = format!(
                "`{}` declares revision `{id}`, already declared by `{}`: Alembic keeps only one of them, so one file's upgrade() never runs",
                rev.file, first.file
            );
            findings.push(
                Finding::new(&META, message)
                    .file(&rev.file)
                    .line(rev.line)
                    .revision(&id)
                    .data(serde_json::json!({"id": id, "files": files})),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::graph::{revision_source, set_from_sources};

    #[test]
    fn err() {
        let a = revision_source("1a2b", "None");
        let copy = revision_source("1a2b", "None");
        let set = set_from_sources(
            "versions",
            &[("1a2b_add_users.py", &a), ("1a2b_copy.py", &copy)],
        );
        let findings = check_set(&set);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].file.as_deref(), Some("versions/1a2b_copy.py"));
        assert!(findings[0]
            .message
            .contains("already declared by `versions/1a2b_add_users.py`"));
    }

    #[test]
    fn ok() {
        let a = revision_source("1a2b", "None");
        let b = revision_source("3c4d", "\"1a2b\"");
        let set = set_from_sources("versions", &[("a.py", &a), ("b.py", &b)]);
        assert!(check_set(&set).is_empty());
    }
}
