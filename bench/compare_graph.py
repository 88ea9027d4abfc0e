#!/usr/bin/env python3
"""Compare postmortem's revision graph with the one Alembic's own RevisionMap builds.

    python bench/compare_graph.py VERSIONS_DIR [--postmortem BIN] [--import]

Alembic side: by default each file's module-level `revision`, `down_revision`,
`branch_labels` and `depends_on` are read with Python's own `ast` (literal_eval), because
real projects' revision files import the project itself (superset, airflow, ...), which is not
installed here. With `--import`, Alembic's `ScriptDirectory` imports the files itself (needs
their imports to work). Either way the graph (heads, bases, branch points, merge points,
every revision's parents and dependencies) is computed by `alembic.script.revision.RevisionMap`.

postmortem side: `BIN migrations --repo VERSIONS_DIR . --format json` (default BIN:
target/release/postmortem, else target/debug/postmortem).
Prints both summaries and the differences; exits 1 when they differ.
"""
import ast
import json
import os
import subprocess
import sys

from alembic.script.revision import Revision, RevisionMap


def static_revisions(folder):
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name == "__init__.py" or name.startswith(".#"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            tree = ast.parse(f.read(), name)
        values = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            else:
                continue
            for t in targets:
                if isinstance(t, ast.Name) and t.id in ("revision", "down_revision", "branch_labels", "depends_on"):
                    values[t.id] = ast.literal_eval(value)
        yield Revision(
            values["revision"],
            values.get("down_revision"),
            dependencies=values.get("depends_on"),
            branch_labels=values.get("branch_labels"),
        )


def alembic_graph(folder, use_import):
    if use_import:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(os.path.dirname(os.path.abspath(folder)), version_locations=[os.path.abspath(folder)])
        rmap = script.revision_map
    else:
        revisions = list(static_revisions(folder))
        rmap = RevisionMap(lambda: revisions)
    heads = rmap.heads  # builds the map; raises on a missing parent or a cycle
    revs = {r.revision: r for r in rmap._revision_map.values() if isinstance(r, Revision)}
    as_list = lambda v: [] if v is None else ([v] if isinstance(v, str) else list(v))
    return {
        "heads": sorted(set(heads)),
        "bases": sorted(set(rmap.bases)),
        "branchpoints": sorted(r.revision for r in revs.values() if r.is_branch_point),
        "mergepoints": sorted(r.revision for r in revs.values() if r.is_merge_point),
        "revisions": {
            rid: {"parents": as_list(r.down_revision), "depends_on": as_list(r.dependencies)}
            for rid, r in sorted(revs.items())
        },
    }


def postmortem_graph(binary, folder):
    cmd = [binary, "migrations", "--repo", folder, ".", "--format", "json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    sets = doc["migration_sets"]
    if len(sets) != 1:
        sys.exit(f"postmortem found {len(sets)} migration sets in {folder}, expected 1")
    s = sets[0]
    return {
        "heads": s["heads"],
        "bases": s["bases"],
        "branchpoints": s["branchpoints"],
        "mergepoints": s["mergepoints"],
        "revisions": {r["id"]: {"parents": r["parents"], "depends_on": r["depends_on"]} for r in sorted(s["revisions"], key=lambda r: r["id"])},
    }, doc["findings"]


def main():
    args = sys.argv[1:]
    use_import = "--import" in args
    binary = "target/release/postmortem"
    if not os.path.exists(binary):
        binary = "target/debug/postmortem"
    if "--postmortem" in args:
        binary = args[args.index("--postmortem") + 1]
    folder = [a for a in args if not a.startswith("--") and a != binary][0]
    ours, findings = postmortem_graph(binary, folder)
    theirs = alembic_graph(folder, use_import)
    diffs = []
    for key in ("heads", "bases", "branchpoints", "mergepoints"):
        if ours[key] != theirs[key]:
            diffs.append(f"{key}: postmortem {ours[key]} != alembic {theirs[key]}")
    for rid in sorted(set(ours["revisions"]) | set(theirs["revisions"])):
        a, b = ours["revisions"].get(rid), theirs["revisions"].get(rid)
        if a != b:
            diffs.append(f"revision {rid}: postmortem {a} != alembic {b}")
    summary = {k: len(theirs[k]) for k in ("heads", "bases", "branchpoints", "mergepoints")}
    print(f"{folder}: {len(theirs['revisions'])} revisions, alembic {summary}, postmortem findings: {len(findings)}")
    if diffs:
        print("DIFFERENT:")
        for d in diffs:
            print("  " + d)
        sys.exit(1)
    print("IDENTICAL: heads, bases, branch points, merge points and every revision's parents and dependencies")


if __name__ == "__main__":
    main()
