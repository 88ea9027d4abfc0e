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

Whole repositories, discovery on:

    python bench/compare_graph.py --repo REPO [--runs SPEC] [--postmortem BIN]

Alembic side: every `alembic.ini` section with a `script_location` (and `[tool.alembic]` of
pyproject.toml, and a Flask-Migrate `alembic.ini` whose folder is its script location) goes
through Alembic's own `Config` and `ScriptDirectory.from_config` (package resources resolved
with the repository root and `src/` on sys.path); its version locations are listed with
Alembic's own `Script._list_py_dir` (so `recursive_version_locations` and `__init__` rules are
Alembic's), and the graph is Alembic's `RevisionMap` over those files, read statically as above
(a `branch_labels` naming a constant is looked up in the repository's modules, else left out).
What a project sets at run time (neutron's `version_locations`, Prefect's per-dialect folder)
is given with `--runs 'INI=LOC[:LOC...][|LOC...]'`: locations relative to the script directory,
`*` allowed, `:` joins folders of one run, `|` separates runs (separate graphs). postmortem
side: `BIN migrations --repo REPO --format json` with default flags. Graphs are matched by
their revision files; prints one line per graph and exits 1 when any differs.
"""
import glob
import ast
import json
import os
import subprocess
import sys

from alembic.script.revision import Revision, RevisionMap


def static_revisions(folder, paths=None, repo=None):
    if paths is None:
        paths = [
            os.path.join(folder, name)
            for name in sorted(os.listdir(folder))
            if name.endswith(".py") and name != "__init__.py" and not name.startswith(".#")
        ]
    for path in paths:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
        names, imports = {}, {}
        for stmt in tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module:
                for a in stmt.names:
                    imports[a.asname or a.name] = f"{stmt.module}.{a.name}"
        values = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            else:
                continue
            for t in targets:
                if not isinstance(t, ast.Name):
                    continue
                if t.id in ("revision", "down_revision", "branch_labels", "depends_on"):
                    values[t.id] = evaluate(value, names, imports, repo)
                try:
                    names[t.id] = ast.literal_eval(value)
                except ValueError:
                    pass
        if "revision" not in values:
            continue
        yield Revision(
            values["revision"],
            values.get("down_revision"),
            dependencies=values.get("depends_on"),
            branch_labels=values.get("branch_labels"),
        )


def evaluate(value, names, imports, repo):
    """A literal, a name bound to one earlier in the file, or a constant of a repository module
    (`from pkg import mod` then `mod.NAME`); entries that cannot be read are left out."""
    try:
        return ast.literal_eval(value)
    except ValueError:
        pass
    if isinstance(value, (ast.Tuple, ast.List)):
        out = []
        for e in value.elts:
            v = evaluate(e, names, imports, repo)
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (tuple, list)):
                out.extend(v)
        return tuple(out)
    if isinstance(value, ast.Name):
        if value.id in names:
            return names[value.id]
        dotted = imports.get(value.id)
    elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
        base = imports.get(value.value.id)
        dotted = f"{base}.{value.attr}" if base else None
    else:
        dotted = None
    if dotted and repo:
        module, name = dotted.rsplit(".", 1)
        rel = module.replace(".", "/")
        for candidate in sorted(glob.glob(f"{repo}/**/{rel}.py", recursive=True) + glob.glob(f"{repo}/{rel}.py"), key=len):
            tree = ast.parse(open(candidate, "rb").read())
            for stmt in tree.body:
                if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                    try:
                        return ast.literal_eval(stmt.value)
                    except ValueError:
                        return None
            break
    return None


def summarize(rmap):
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


def alembic_runs(repo, runs_spec):
    """[(label, files)] for each graph Alembic reads in the repository."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.script.base import Script

    sys.path[:0] = [repo, os.path.join(repo, "src")]
    overrides = {}
    for item in runs_spec or []:
        ini, locs = item.split("=", 1)
        overrides[ini] = [run.split(":") for run in locs.split("|")]
    skip = {".git", "node_modules", ".venv", "venv", "site-packages", ".tox"}
    configs = []
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, repo)
            if name.endswith(".ini"):
                import configparser
                cp = configparser.ConfigParser()
                try:
                    cp.read(path)
                except Exception:
                    continue
                for section in cp.sections():
                    flask = name == "alembic.ini" and section == "alembic" and os.path.exists(os.path.join(root, "env.py"))
                    if cp.has_option(section, "script_location") or flask:
                        configs.append((rel, section, path, flask))
            elif name == "pyproject.toml" and "[tool.alembic]" in open(path, errors="replace").read():
                configs.append((rel, None, path, False))
    # A run keyed by a folder rather than a configuration file: Alembic configured in Python
    # with that folder as script_location (CTFd's plugins: script_location = version_locations
    # = the plugin's migrations folder).
    known = {c[0] for c in configs}
    for key in sorted(overrides):
        if key not in known:
            configs.append((key, "python", os.path.join(repo, key), False))
    out = []
    for rel, section, path, flask in configs:
        if section == "python":
            cfg = Config()
            cfg.set_main_option("script_location", path)
            old = os.getcwd()
            try:
                script = ScriptDirectory.from_config(cfg)
                for run in overrides[rel]:
                    locs = []
                    for loc in run:
                        locs.extend(sorted(glob.glob(os.path.join(path, loc))))
                    script.version_locations = locs
                    script.__dict__.pop("_version_locations", None)
                    files = [str(f) for v in script._version_locations if v.exists() for f in Script._list_py_dir(script, v)]
                    out.append((f"{rel} (configured in Python: {', '.join(run)})", files))
            except Exception as e:
                out.append((f"{rel}: {type(e).__name__}: {e}", []))
            continue
        if section is None:
            cfg = Config(toml_file=path)
        else:
            cfg = Config(path, ini_section=section)
        if flask and not cfg.get_main_option("script_location"):
            cfg.set_main_option("script_location", os.path.dirname(path))
        location = cfg.get_main_option("script_location") if section is not None else None
        if location and ":" in location and not os.path.isabs(location):
            # What coerce_resource_to_filename does (files(pkg) / sub / dir), with the package
            # found by find_spec, which does not run its __init__ (projects' imports need their
            # dependencies, not installed here).
            import importlib.util
            tokens = location.split(":")
            spec = importlib.util.find_spec(tokens[0])
            if spec is not None and spec.submodule_search_locations:
                cfg.set_main_option("script_location", os.path.join(list(spec.submodule_search_locations)[0], *tokens[1:]))
        old = os.getcwd()
        os.chdir(os.path.dirname(path))
        try:
            script = ScriptDirectory.from_config(cfg)
            script_dir = os.path.abspath(script.dir)
            runs = overrides.get(rel)
            if runs:
                for run in runs:
                    locs = []
                    for loc in run:
                        locs.extend(sorted(glob.glob(os.path.join(script_dir, loc))))
                    script.version_locations = locs
                    script.__dict__.pop("_version_locations", None)
                    files = [str(f) for v in script._version_locations if v.exists() for f in Script._list_py_dir(script, v)]
                    out.append((f"{rel} ({', '.join(run)})", files))
            else:
                files = [str(f) for v in script._version_locations if v.exists() for f in Script._list_py_dir(script, v)]
                out.append((f"{rel}" + (f" [{section}]" if section not in (None, "alembic") else ""), files))
        except Exception as e:  # a configuration Alembic itself cannot use
            out.append((f"{rel}: {type(e).__name__}: {e}", []))
        finally:
            os.chdir(old)
    return out


def compare_repo(binary, repo, runs_spec, summary=None):
    summary = {} if summary is None else summary
    repo = os.path.abspath(repo)
    doc = json.loads(subprocess.run([binary, "migrations", "--repo", repo, "--format", "json"], check=True, capture_output=True, text=True).stdout)
    ours = {}
    for s in doc["migration_sets"]:
        files = frozenset(os.path.join(repo, r["file"]) for r in s["revisions"])
        ours[files] = s
    failed = False
    matched = set()
    theirs_count = 0
    for label, files in alembic_runs(repo, runs_spec):
        py = [f for f in files if f.endswith(".py") and not os.path.basename(f).startswith(("__init__", ".#"))]
        if not py:
            print(f"  alembic {label}: no revision file")
            continue
        theirs_count += 1
        revisions = list(static_revisions(None, py, repo))
        try:
            theirs = summarize(RevisionMap(lambda: revisions))
        except Exception as e:
            print(f"  alembic {label}: {len(revisions)} revisions, RevisionMap fails: {type(e).__name__}: {e}")
            failed = True
            continue
        key = frozenset(py)
        mine = None
        for files_ours, s in ours.items():
            if {os.path.realpath(f) for f in files_ours} >= {os.path.realpath(f) for f in py} - {f for f in py if not any(r.revision for r in revisions)}:
                mine = s
                break
        if mine is None:
            print(f"  alembic {label}: {len(theirs['revisions'])} revisions, heads {theirs['heads']}; postmortem: NOT FOUND")
            failed = True
            continue
        matched.add(mine["path"])
        mine_revs = {r["id"]: {"parents": r["parents"], "depends_on": r["depends_on"]} for r in mine["revisions"]}
        same = sorted(mine["heads"]) == theirs["heads"] and mine_revs == theirs["revisions"]
        failed |= not same
        print(f"  alembic {label}: {len(theirs['revisions'])} revisions, heads {theirs['heads']}; postmortem {mine['path']}: {len(mine_revs)} revisions, heads {sorted(mine['heads'])}: {'SAME' if same else 'DIFFERENT'}")
        summary.setdefault("graphs", []).append((len(theirs["revisions"]), len(theirs["heads"]), len(mine_revs), len(mine["heads"])))
    extra = 0
    for s in doc["migration_sets"]:
        if s["path"] not in matched:
            extra += 1
            print(f"  postmortem only: {s['path']} ({len(s['revisions'])} revisions, found by {s.get('origin', {}).get('kind')})")
    verdict = "DIFFERENT" if failed else "SAME"
    if extra and not failed:
        verdict += f" for every Alembic graph; {extra} more found by postmortem only"
    print(f"{repo}: alembic {theirs_count} graphs, postmortem {len(doc['migration_sets'])} graphs: {verdict}")
    summary.update(alembic=theirs_count, postmortem=len(doc["migration_sets"]), verdict=verdict)
    return failed


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
    binary = os.path.abspath(binary)
    if "--repo" in args:
        repo = args[args.index("--repo") + 1]
        runs = [args[i + 1] for i, a in enumerate(args) if a == "--runs"]
        summary = {}
        failed = compare_repo(binary, repo, runs, summary)
        if "--summary" in args:
            with open(args[args.index("--summary") + 1], "w") as f:
                json.dump(summary, f)
        sys.exit(1 if failed else 0)
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
