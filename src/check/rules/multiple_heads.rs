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
//! Judged against the deploy: the upgrade commands found in `render.yaml`, a Procfile,
//! Dockerfile `CMD`/`ENTRYPOINT` and the scripts and Makefile targets they call. Error when the
//! deploy runs `upgrade head`, or when no command says how it upgrades and the heads carry no
//! branch labels. Heads that each carry their own branch label, with a deploy that runs
//! `upgrade heads` or `LABEL@head` for every head, are branches by design (expand/contract,
//! per-backend): info, naming the command. The cases between (labelled heads and no deploy
//! command found; `upgrade heads` over unlabelled heads; `LABEL@head` commands that leave a
//! head out) are warnings.
//!
//! `data`: `{"path": folder, "heads": [{"id", "file", "line", "labels"}], "deploy":
//! [{"file", "line", "target"}]}`.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::model::{MigrationSet, Revision, UpgradeCommand};

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
            .flat_map(|set| check_set(set, &ctx.evidence.upgrade_commands))
            .collect()
    }
}

pub fn check_set(set: &MigrationSet, deploy: &[UpgradeCommand]) -> Vec<Finding> {
    if set.heads.len() < 2 {
        return Vec::new();
    }
    let heads: Vec<_> = set
        .heads
        .iter()
        .filter_map(|id| set.revisions.iter().rev().find(|r| &r.id == id))
        .collect();
    let labels: Vec<BTreeSet<String>> = heads.iter().map(|h| inherited_labels(set, h)).collect();
    // A head is labelled when one of its labels is carried by no other head.
    let own_label = |i: usize| -> Option<&String> {
        labels[i].iter().find(|l| {
            labels
                .iter()
                .enumerate()
                .all(|(j, other)| j == i || !other.contains(*l))
        })
    };
    let labelled = (0..heads.len()).all(|i| own_label(i).is_some());
    let runs_head: Vec<&UpgradeCommand> = deploy.iter().filter(|c| c.target == "head").collect();
    let runs_heads: Vec<&UpgradeCommand> = deploy.iter().filter(|c| c.target == "heads").collect();
    let by_label: Vec<&UpgradeCommand> = deploy
        .iter()
        .filter(|c| c.target.ends_with("@head") && c.target != "@head")
        .collect();
    let uncovered: Vec<&str> = (0..heads.len())
        .filter(|&i| {
            !by_label.iter().any(|c| {
                let label = c.target.trim_end_matches("@head");
                labels[i].contains(label)
            })
        })
        .map(|i| heads[i].id.as_str())
        .collect();
    let listed: Vec<String> = heads
        .iter()
        .zip(&labels)
        .map(|(r, l)| {
            if l.is_empty() {
                format!("`{}` ({})", r.id, r.file)
            } else {
                let l: Vec<&str> = l.iter().map(String::as_str).collect();
                format!("`{}` ({}, branch {})", r.id, r.file, l.join("/"))
            }
        })
        .collect();
    let base = format!(
        "`{}` has {} head revisions, {}",
        set.path,
        set.heads.len(),
        listed.join(", ")
    );
    let shown = |cs: &[&UpgradeCommand]| -> String {
        cs.iter()
            .map(|c| format!("`{}` ({})", c.command, place(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (severity, message, help) = if !runs_head.is_empty() {
        (
            Severity::Error,
            format!(
                "{base}: the deploy runs {}, which exits 255 (\"Multiple head revisions are present\") and no migration runs",
                shown(&runs_head)
            ),
            None,
        )
    } else if !runs_heads.is_empty() && labelled {
        (
            Severity::Info,
            format!(
                "{base}: labelled branches by design, and the deploy upgrades them all with {}",
                shown(&runs_heads)
            ),
            Some("Nothing to do; keep upgrading with `upgrade heads` (or `LABEL@head`)."),
        )
    } else if !by_label.is_empty() && labelled && uncovered.is_empty() {
        (
            Severity::Info,
            format!(
                "{base}: labelled branches by design, and the deploy upgrades each with {}",
                shown(&by_label)
            ),
            Some("Nothing to do; keep upgrading each branch with `LABEL@head`."),
        )
    } else if !by_label.is_empty() && runs_heads.is_empty() {
        (
            Severity::Warning,
            format!(
                "{base}: the deploy runs {}, which never upgrades {}",
                shown(&by_label),
                uncovered.join(", ")
            ),
            Some("Upgrade every branch in the deploy (`upgrade heads`), or merge the heads."),
        )
    } else if !runs_heads.is_empty() {
        (
            Severity::Warning,
            format!(
                "{base}: the deploy runs {}, so it does not fail, but the heads carry no branch labels of their own: an accidental divergence whose migrations run in no defined order",
                shown(&runs_heads)
            ),
            None,
        )
    } else if labelled {
        (
            Severity::Warning,
            format!(
                "{base}: the heads are labelled branches, but no deploy command (render.yaml, Procfile, Dockerfile, the scripts they call) says how they are upgraded; `alembic upgrade head` would exit 255"
            ),
            Some("Upgrade with `alembic upgrade heads` (or `LABEL@head` per branch) in the deploy."),
        )
    } else {
        (
            Severity::Error,
            format!(
                "{base}: `alembic upgrade head` exits 255 (\"Multiple head revisions are present\") and no migration runs"
            ),
            None,
        )
    };
    let data = serde_json::json!({
        "path": set.path,
        "heads": heads.iter().zip(&labels).map(|(r, l)| serde_json::json!({"id": r.id, "file": r.file, "line": r.line, "labels": l})).collect::<Vec<_>>(),
        "deploy": deploy.iter().map(|c| serde_json::json!({"file": c.file, "line": c.line, "target": c.target})).collect::<Vec<_>>(),
    });
    let mut finding = Finding::new(&META, message).data(data);
    finding.severity = severity;
    if let Some(help) = help {
        finding = finding.help(help);
    }
    // Point at the newest-looking head: the last file by name.
    if let Some(last) = heads.iter().max_by(|a, b| a.file.cmp(&b.file)) {
        finding = finding.file(&last.file).line(last.line).revision(&last.id);
    }
    vec![finding]
}

fn place(c: &UpgradeCommand) -> String {
    // A command written in the deploy file itself: its place is the whole chain.
    if c.line == 0 || c.via.starts_with(&format!("{}:{} ", c.file, c.line)) {
        c.via.clone()
    } else {
        format!("{}:{}, via {}", c.file, c.line, c.via)
    }
}

/// The branch labels a revision carries in Alembic: its own and every ancestor's (a label
/// spreads to all descendants of the revision that declares it).
fn inherited_labels(set: &MigrationSet, head: &Revision) -> BTreeSet<String> {
    let by_id: HashMap<&str, &Revision> =
        set.revisions.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut labels = BTreeSet::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![head];
    while let Some(rev) = stack.pop() {
        if !seen.insert(rev.id.as_str()) {
            continue;
        }
        labels.extend(rev.branch_labels.iter().cloned());
        for parent in &rev.parents {
            if let Some(p) = by_id.get(parent.as_str()) {
                stack.push(p);
            }
        }
    }
    labels
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
        let findings = check_set(&set, &[]);
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
        assert!(check_set(&set, &[]).is_empty());
    }

    fn command(target: &str) -> UpgradeCommand {
        UpgradeCommand {
            file: "bin/migrate.sh".to_string(),
            line: 3,
            command: format!("alembic upgrade {target}"),
            target: target.to_string(),
            via: "render.yaml:4 preDeployCommand -> bin/migrate.sh".to_string(),
            stage: Some("pre-deploy".to_string()),
        }
    }

    fn labelled_set() -> MigrationSet {
        let a = revision_source("aaaa", "None");
        let e = format!(
            "{}branch_labels = (\"expand\",)\n",
            revision_source("eeee", "\"aaaa\"")
        );
        let c = format!(
            "{}branch_labels = (\"contract\",)\n",
            revision_source("cccc", "\"aaaa\"")
        );
        let c2 = revision_source("cc22", "\"cccc\"");
        set_from_sources(
            "versions",
            &[("a.py", &a), ("c.py", &c), ("c2.py", &c2), ("e.py", &e)],
        )
    }

    #[test]
    fn err_when_the_deploy_runs_upgrade_head() {
        let findings = check_set(&labelled_set(), &[command("head")]);
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(
            findings[0]
                .message
                .contains("bin/migrate.sh:3, via render.yaml:4 preDeployCommand"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn ok_labelled_heads_upgraded_by_the_deploy() {
        for targets in [vec!["heads"], vec!["expand@head", "contract@head"]] {
            let commands: Vec<UpgradeCommand> = targets.iter().map(|t| command(t)).collect();
            let findings = check_set(&labelled_set(), &commands);
            assert_eq!(findings[0].severity, Severity::Info, "{targets:?}");
            assert!(
                findings[0].message.contains("by design"),
                "{}",
                findings[0].message
            );
            // `cc22` inherits `contract` from its parent.
            assert!(findings[0]
                .message
                .contains("`cc22` (versions/c2.py, branch contract)"));
        }
        // Only one branch upgraded: the other never is.
        let findings = check_set(&labelled_set(), &[command("expand@head")]);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].message.contains("never upgrades cc22"));
        // Labelled, but nothing says how the deploy upgrades.
        assert_eq!(
            check_set(&labelled_set(), &[])[0].severity,
            Severity::Warning
        );
    }
}
