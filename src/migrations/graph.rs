//! The revision graph, computed the way Alembic's `RevisionMap` computes it.
//!
//! - a head is a revision no other revision names in its `down_revision` (`depends_on` does
//!   not make a revision stop being a head, as in Alembic);
//! - a base has no `down_revision`;
//! - a branch point has two or more children through `down_revision`;
//! - a merge point has two or more `down_revision`s.
//!
//! As in Alembic, a `down_revision` or `depends_on` may name a branch label instead of an ID,
//! and when two files declare the same ID the later file (by name) is the one others resolve to.
//! The upgrade order follows `down_revision` and `depends_on` alike.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::migrations::model::{MigrationSet, Revision};

/// Fills `heads`, `bases`, `branchpoints` and `mergepoints` (each sorted) from the revisions.
pub fn compute(set: &mut MigrationSet) {
    let index = Index::new(set);
    let mut children: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut not_heads: BTreeSet<&str> = BTreeSet::new();
    for rev in &set.revisions {
        for parent in &rev.parents {
            if let Some(target) = index.resolve(parent) {
                let target_id = set.revisions.get(target).map_or("", |r| r.id.as_str());
                not_heads.insert(target_id);
                // Alembic counts a child only when the parent is named by its exact ID.
                if target_id == parent {
                    children
                        .entry(target_id)
                        .or_default()
                        .insert(rev.id.as_str());
                }
            }
        }
    }
    let ids: BTreeSet<&str> = set.revisions.iter().map(|r| r.id.as_str()).collect();
    let heads = ids.iter().filter(|id| !not_heads.contains(*id));
    let bases = set
        .revisions
        .iter()
        .filter(|r| r.parents.is_empty())
        .map(|r| r.id.as_str());
    let branchpoints = children
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(id, _)| *id);
    let mergepoints = set
        .revisions
        .iter()
        .filter(|r| r.parents.len() > 1)
        .map(|r| r.id.as_str());
    let sorted = |it: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        let set: BTreeSet<&str> = it.collect();
        set.into_iter().map(str::to_string).collect()
    };
    let heads = sorted(&mut heads.copied());
    let bases = sorted(&mut { bases });
    let branchpoints = sorted(&mut { branchpoints });
    let mergepoints = sorted(&mut { mergepoints });
    set.heads = heads;
    set.bases = bases;
    set.branchpoints = branchpoints;
    set.mergepoints = mergepoints;
}

/// Every revision, parents (`down_revision` and `depends_on`) before children; among
/// revisions ready at the same time, by file name. Revisions on or above a cycle come last,
/// in file order, since no order satisfies them.
pub fn topological_order(set: &MigrationSet) -> Vec<&Revision> {
    let (ordered, unorderable) = kahn(set, &Index::new(set));
    ordered
        .into_iter()
        .chain(unorderable)
        .filter_map(|i| set.revisions.get(i))
        .collect()
}

/// What `alembic upgrade head` may run, in that order: as [`topological_order`], without the
/// revisions on or above a cycle (Alembic cannot run them) and, of two files declaring one ID,
/// only the one the others resolve to.
pub fn upgrade_order(set: &MigrationSet) -> Vec<&Revision> {
    let index = Index::new(set);
    let (ordered, _) = kahn(set, &index);
    ordered
        .into_iter()
        .filter_map(|i| set.revisions.get(i).map(|rev| (i, rev)))
        .filter(|(i, rev)| index.resolve(&rev.id) == Some(*i))
        .map(|(_, rev)| rev)
        .collect()
}

/// Kahn's algorithm over revision indexes: the ones that can be ordered, parents first, ties
/// by file name; then the ones that cannot (on or above a cycle), in file order.
fn kahn(set: &MigrationSet, index: &Index<'_>) -> (Vec<usize>, Vec<usize>) {
    let count = set.revisions.len();
    let mut pending_parents = vec![0usize; count];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (child, parents) in index.edges(set).into_iter().enumerate() {
        for parent in parents {
            if let (Some(slot), Some(list)) =
                (pending_parents.get_mut(child), children.get_mut(parent))
            {
                *slot += 1;
                list.push(child);
            }
        }
    }
    // Revisions are sorted by file name, so the smallest index is the first file.
    let mut ready: BTreeSet<usize> = (0..count)
        .filter(|&i| pending_parents.get(i) == Some(&0))
        .collect();
    let mut order = Vec::with_capacity(count);
    let mut placed = vec![false; count];
    while let Some(next) = ready.pop_first() {
        order.push(next);
        if let Some(slot) = placed.get_mut(next) {
            *slot = true;
        }
        for &child in children.get(next).map(Vec::as_slice).unwrap_or_default() {
            if let Some(slot) = pending_parents.get_mut(child) {
                *slot -= 1;
                if *slot == 0 {
                    ready.insert(child);
                }
            }
        }
    }
    let unorderable = (0..count)
        .filter(|&i| !placed.get(i).copied().unwrap_or(true))
        .collect();
    (order, unorderable)
}

/// Groups of revisions that depend on each other in a circle (through `down_revision` or
/// `depends_on`), each sorted by ID, the groups sorted by their first ID.
pub fn cycles(set: &MigrationSet) -> Vec<Vec<String>> {
    let index = Index::new(set);
    let edges = index.edges(set);
    let mut groups: Vec<Vec<String>> = strongly_connected(&edges)
        .into_iter()
        .filter(|group| match group.as_slice() {
            [only] => edges.get(*only).is_some_and(|e| e.contains(only)),
            _ => true,
        })
        .map(|group| {
            let ids: BTreeSet<String> = group
                .iter()
                .filter_map(|&i| set.revisions.get(i).map(|r| r.id.clone()))
                .collect();
            ids.into_iter().collect()
        })
        .collect();
    groups.sort();
    groups
}

/// How a revision names another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    DownRevision,
    DependsOn,
}

impl Reference {
    pub fn field(self) -> &'static str {
        match self {
            Reference::DownRevision => "down_revision",
            Reference::DependsOn => "depends_on",
        }
    }
}

/// A `down_revision` or `depends_on` entry that names neither a revision nor a branch label.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingReference<'a> {
    pub revision: &'a Revision,
    pub target: String,
    pub reference: Reference,
}

/// A reference to a revision whose file could not be parsed is not counted: it is unread, not
/// missing, and that file's `unparseable-migration` finding says why.
pub fn missing_references(set: &MigrationSet) -> Vec<MissingReference<'_>> {
    let index = Index::new(set);
    let mut out = Vec::new();
    for rev in &set.revisions {
        let named = rev
            .parents
            .iter()
            .map(|p| (p, Reference::DownRevision))
            .chain(rev.depends_on.iter().map(|d| (d, Reference::DependsOn)));
        for (target, reference) in named {
            let unread = set
                .unread
                .iter()
                .any(|u| u.revision.as_deref() == Some(target.as_str()));
            if index.resolve(target).is_none() && !unread {
                out.push(MissingReference {
                    revision: rev,
                    target: target.clone(),
                    reference,
                });
            }
        }
    }
    out
}

/// IDs declared by more than one file, with those files' revisions (in file order).
pub fn duplicates(set: &MigrationSet) -> Vec<(String, Vec<&Revision>)> {
    let mut by_id: BTreeMap<&str, Vec<&Revision>> = BTreeMap::new();
    for rev in &set.revisions {
        by_id.entry(rev.id.as_str()).or_default().push(rev);
    }
    by_id
        .into_iter()
        .filter(|(_, revs)| revs.len() > 1)
        .map(|(id, revs)| (id.to_string(), revs))
        .collect()
}

/// Name -> revision position, as Alembic resolves names: IDs first (the last file wins on a
/// duplicate), then branch labels.
struct Index<'a> {
    by_name: HashMap<&'a str, usize>,
}

impl<'a> Index<'a> {
    fn new(set: &'a MigrationSet) -> Self {
        let mut by_name = HashMap::with_capacity(set.revisions.len());
        for (i, rev) in set.revisions.iter().enumerate() {
            for label in &rev.branch_labels {
                by_name.entry(label.as_str()).or_insert(i);
            }
        }
        for (i, rev) in set.revisions.iter().enumerate() {
            by_name.insert(rev.id.as_str(), i);
        }
        Index { by_name }
    }

    fn resolve(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// For each revision, the positions it depends on (down_revision and depends_on).
    fn edges(&self, set: &MigrationSet) -> Vec<Vec<usize>> {
        set.revisions
            .iter()
            .map(|rev| {
                let targets: BTreeSet<usize> = rev
                    .parents
                    .iter()
                    .chain(&rev.depends_on)
                    .filter_map(|name| self.resolve(name))
                    .collect();
                targets.into_iter().collect()
            })
            .collect()
    }
}

/// Tarjan's algorithm without recursion: real histories are thousands of revisions deep.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let count = edges.len();
    let mut index_of = vec![usize::MAX; count];
    let mut low = vec![0usize; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut groups = Vec::new();
    for root in 0..count {
        if index_of.get(root) != Some(&usize::MAX) {
            continue;
        }
        // (node, next edge to look at)
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index_of[node] == usize::MAX {
                index_of[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            let targets = &edges[node];
            if let Some(&target) = targets.get(*edge) {
                *edge += 1;
                if index_of[target] == usize::MAX {
                    work.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(index_of[target]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index_of[node] {
                let mut group = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    group.push(member);
                    if member == node {
                        break;
                    }
                }
                groups.push(group);
            }
        }
    }
    groups
}

/// Builds a set from `(file name, source)` pairs with the real parser, for unit tests.
#[cfg(test)]
pub(crate) fn set_from_sources(folder: &str, files: &[(&str, &str)]) -> MigrationSet {
    let revisions: Vec<Revision> = files
        .iter()
        .map(|(name, text)| {
            crate::migrations::alembic::parse_revision(&format!("{folder}/{name}"), text.as_bytes())
                .unwrap_or_else(|f| panic!("{name}: {f}"))
        })
        .collect();
    let mut set = MigrationSet::new(folder, revisions);
    compute(&mut set);
    set
}

/// A minimal revision file.
#[cfg(test)]
pub(crate) fn revision_source(id: &str, down: &str) -> String {
    format!("\"\"\"revision {id}\n\nRevision ID: {id}\n\"\"\"\nrevision = \"{id}\"\ndown_revision = {down}\n\n\ndef upgrade():\n    pass\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_branch_heads_and_order() {
        let a = revision_source("a", "None");
        let b = revision_source("b", "\"a\"");
        let c = revision_source("c", "\"a\"");
        let m = revision_source("m", "(\"b\", \"c\")");
        let d = revision_source("d", "\"a\"");
        let set = set_from_sources(
            "v",
            &[
                ("1_m.py", &m),
                ("2_a.py", &a),
                ("3_b.py", &b),
                ("4_c.py", &c),
                ("5_d.py", &d),
            ],
        );
        assert_eq!(set.heads, vec!["d", "m"]);
        assert_eq!(set.bases, vec!["a"]);
        assert_eq!(set.branchpoints, vec!["a"]);
        assert_eq!(set.mergepoints, vec!["m"]);
        let order: Vec<&str> = topological_order(&set)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(order, vec!["a", "b", "c", "m", "d"]);
        assert!(cycles(&set).is_empty());
    }

    #[test]
    fn depends_on_orders_but_keeps_heads() {
        let a = revision_source("a", "None");
        let x = revision_source("x", "None");
        let b = format!("{}depends_on = \"x\"\n", revision_source("b", "\"a\""));
        let set = set_from_sources("v", &[("a.py", &a), ("b.py", &b), ("x.py", &x)]);
        // As in Alembic, `x` stays a head: only down_revision makes a revision a parent.
        assert_eq!(set.heads, vec!["b", "x"]);
        let order: Vec<&str> = topological_order(&set)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(order, vec!["a", "x", "b"]);
    }

    #[test]
    fn cycles_and_self_loops() {
        let a = revision_source("a", "\"c\"");
        let b = revision_source("b", "\"a\"");
        let c = revision_source("c", "\"b\"");
        let s = revision_source("s", "\"s\"");
        let set = set_from_sources(
            "v",
            &[("a.py", &a), ("b.py", &b), ("c.py", &c), ("s.py", &s)],
        );
        assert_eq!(cycles(&set), vec![vec!["a", "b", "c"], vec!["s"]]);
        assert_eq!(topological_order(&set).len(), 4);
    }
}

#[cfg(test)]
mod upgrade_order_tests {
    use super::*;

    fn rev(file: &str, id: &str, parents: &[&str], labels: &[&str]) -> Revision {
        Revision {
            id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            file: file.into(),
            line: 1,
            message: String::new(),
            branch_labels: labels.iter().map(|l| l.to_string()).collect(),
            depends_on: Vec::new(),
            upgrade: Vec::new(),
            ignores: Vec::new(),
            unknown: Vec::new(),
        }
    }

    fn set(revisions: Vec<Revision>) -> MigrationSet {
        MigrationSet {
            path: "v".into(),
            framework: "alembic".into(),
            commit: None,
            revisions,
            heads: Vec::new(),
            bases: Vec::new(),
            branchpoints: Vec::new(),
            mergepoints: Vec::new(),
            origin: None,
            unread: Vec::new(),
        }
    }

    /// A parent named by its branch label runs first, even when its file sorts later; of two
    /// files declaring one ID only the later one (the one Alembic resolves to) runs.
    #[test]
    fn labels_and_duplicates_resolve_as_in_the_graph() {
        let s = set(vec![
            rev("v/1_base.py", "a", &[], &[]),
            rev("v/2_child.py", "c", &["core"], &[]),
            rev("v/3_dup_old.py", "d", &["c"], &[]),
            rev("v/4_dup_new.py", "d", &["c"], &[]),
            rev("v/9_core.py", "b", &["a"], &["core"]),
        ]);
        let order: Vec<&str> = upgrade_order(&s).iter().map(|r| r.file.as_str()).collect();
        assert_eq!(
            order,
            [
                "v/1_base.py",
                "v/9_core.py",
                "v/2_child.py",
                "v/4_dup_new.py"
            ]
        );
    }

    #[test]
    fn a_cycle_is_left_out_of_the_upgrade_but_not_of_the_order() {
        let s = set(vec![
            rev("v/1.py", "a", &[], &[]),
            rev("v/2.py", "b", &["c"], &[]),
            rev("v/3.py", "c", &["b"], &[]),
        ]);
        assert_eq!(upgrade_order(&s).len(), 1);
        assert_eq!(topological_order(&s).len(), 3);
    }
}
