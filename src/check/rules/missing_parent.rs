//! `missing-parent`: a down_revision or depends_on that names no revision
//!
//! Flags a `down_revision` or `depends_on` entry that is neither the ID nor a branch label of
//! any revision in the folder. A common variant is a file name written instead of an ID
//! (`down_revision = "abc123_add_users.py"`); the finding then names the ID that file declares.
//!
//! Why it breaks deploys: Alembic builds the whole revision map before doing anything, and a
//! dangling reference makes every command (`upgrade`, `heads`, `current`) fail with `KeyError`.
//!
//! Example: `down_revision = "deadbeef0000"` when no file declares `revision = "deadbeef0000"`.
//!
//! Fix: point the reference at an existing revision ID, or commit the missing revision file.
//!
//! `data`: `{"target", "field": "down_revision"|"depends_on", "file_of": ID or null}`.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::graph::{missing_references, MissingReference};
use crate::migrations::model::{MigrationSet, Revision};

pub struct MissingParent;

pub static META: RuleMeta = RuleMeta {
    name: "missing-parent",
    severity: Severity::Error,
    summary: "a down_revision or depends_on that names no revision",
    help: "Point down_revision at an existing revision ID, or commit the missing revision.",
    category: Category::Graph,
};

impl Rule for MissingParent {
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
    missing_references(set)
        .into_iter()
        .map(|missing| finding(set, &missing))
        .collect()
}

fn finding(set: &MigrationSet, missing: &MissingReference<'_>) -> Finding {
    let rev = missing.revision;
    let field = missing.reference.field();
    let target = &missing.target;
    let named_file = revision_of_file(set, target);
    let looks_like_file = target.ends_with(".py") || named_file.is_some();
    let message = match (named_file, looks_like_file) {
        (Some(owner), _) => format!(
            "revision `{}` names `{target}` as its {field}: that is a file name, not a revision ID (the file declares `{}`); every Alembic command fails with KeyError",
            rev.id, owner.id
        ),
        (None, true) => format!(
            "revision `{}` names `{target}` as its {field}: that is a file name, not a revision ID, and no such file is in `{}`; every Alembic command fails with KeyError",
            rev.id, set.path
        ),
        (None, false) => format!(
            "revision `{}` names `{target}` as its {field}, but no revision in `{}` has that ID: every Alembic command fails with KeyError",
            rev.id, set.path
        ),
    };
    let mut finding = Finding::new(&META, message)
        .file(&rev.file)
        .line(rev.line)
        .revision(&rev.id)
        .data(serde_json::json!({
            "target": target,
            "field": field,
            "file_of": named_file.map(|r| r.id.clone()),
        }));
    if let Some(owner) = named_file {
        finding = finding.help(format!(
            "Set {field} to the revision ID `{}` instead of the file name.",
            owner.id
        ));
    }
    finding
}

/// The revision whose file is `target` (`abc_add_users.py`, with or without `.py` or folder).
fn revision_of_file<'s>(set: &'s MigrationSet, target: &str) -> Option<&'s Revision> {
    let wanted = target.rsplit(['/', '\\']).next().unwrap_or(target);
    let wanted = wanted.strip_suffix(".py").unwrap_or(wanted);
    set.revisions.iter().find(|r| {
        let name = r.file.rsplit('/').next().unwrap_or(&r.file);
        name.strip_suffix(".py").unwrap_or(name) == wanted
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::graph::{revision_source, set_from_sources};

    #[test]
    fn err() {
        let a = revision_source("abc123", "None");
        let b = revision_source("def456", "\"abc123_add_users.py\"");
        let c = revision_source("fff000", "\"deadbeef0000\"");
        let set = set_from_sources(
            "versions",
            &[
                ("abc123_add_users.py", &a),
                ("def456_more.py", &b),
                ("fff000_x.py", &c),
            ],
        );
        let findings = check_set(&set);
        assert_eq!(findings.len(), 2);
        assert!(
            findings[0]
                .message
                .contains("file name, not a revision ID (the file declares `abc123`)"),
            "{}",
            findings[0].message
        );
        assert_eq!(
            findings[0].help,
            "Set down_revision to the revision ID `abc123` instead of the file name."
        );
        assert!(findings[1]
            .message
            .contains("no revision in `versions` has that ID"));
        assert_eq!(findings[1].revision.as_deref(), Some("fff000"));
    }

    #[test]
    fn ok() {
        let a = format!(
            "{}branch_labels = (\"core\",)\n",
            revision_source("abc123", "None")
        );
        let b = format!(
            "{}depends_on = \"core\"\n",
            revision_source("def456", "\"abc123\"")
        );
        let set = set_from_sources("versions", &[("a.py", &a), ("b.py", &b)]);
        assert!(check_set(&set).is_empty());
    }
}
