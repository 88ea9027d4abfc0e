#!/usr/bin/env python3
"""Precision of `phantom-migration` on real histories (issue 13).

Runs `postmortem check --format json` over the full history of every clone in
bench/phantom_corpus.txt, in two modes:

  default      the folders `check` discovers itself (what a new user gets)
  all-folders  every folder that holds an Alembic file at HEAD (`down_revision` in a .py file),
               given with --migrations: what a wider discovery would scan

and compares each phantom-migration finding (repository, mode, commit, ID, status) with the
verdicts judged by hand in bench/phantom_verdicts.tsv. Prints one row per repository and mode,
then every finding with its verdict; exits 1 when a finding is judged false or not judged yet
(judge it, add it to the verdicts file, run again).

  bench/phantom_judge.py --bin target/release/postmortem --clones /path/to/clones
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus(path):
    for line in open(path):
        line = line.split("#", 1)[0].split()
        if line:
            yield line[0], (line[1] if len(line) > 1 else None)


def verdicts(path):
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        repo, mode, commit, rev, status, verdict, reason = line.rstrip("\n").split("\t")
        out[(repo, mode, commit, rev, status)] = (verdict, reason)
    return out


def git(clone, *args):
    return subprocess.run(["git", "-C", clone, *args], capture_output=True, text=True,
                          check=True).stdout


def alembic_folders(clone):
    """Folders holding an Alembic migration at HEAD, outermost only (check reads them recursively)."""
    listed = subprocess.run(["git", "-C", clone, "grep", "-l", "-E", "^down_revision", "HEAD",
                             "--", "*.py"], capture_output=True, text=True).stdout
    dirs = sorted({os.path.dirname(l.split(":", 1)[1]) for l in listed.splitlines() if ":" in l})
    return [d for d in dirs if not any(d.startswith(o + "/") for o in dirs if o != d)]


def run(binary, clone, extra):
    started = time.monotonic()
    done = subprocess.run([binary, "check", "--repo", clone, "--format", "json", *extra],
                          capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        return None, seconds, done.stderr.strip()
    found = []
    for f in json.loads(done.stdout).get("findings", []):
        if f.get("rule") != "phantom-migration":
            continue
        for entry in f["data"]["ids"]:
            found.append((f["data"]["commit"], entry["id"], entry["status"],
                          f["data"]["summary"]))
    return found, seconds, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--clones", required=True, help="folder of owner+name clones")
    parser.add_argument("--corpus", default=os.path.join(HERE, "phantom_corpus.txt"))
    parser.add_argument("--verdicts", default=os.path.join(HERE, "phantom_verdicts.tsv"))
    parser.add_argument("--only", help="one owner/name")
    args = parser.parse_args()
    known = verdicts(args.verdicts)
    totals = collections.Counter()
    rows, details = [], []
    for repo, head in corpus(args.corpus):
        if args.only and repo != args.only:
            continue
        clone = os.path.join(args.clones, repo.replace("/", "+"))
        if not os.path.isdir(clone):
            print(f"{repo}: no clone at {clone}", file=sys.stderr)
            totals["missing"] += 1
            continue
        at = git(clone, "rev-parse", "HEAD").strip()
        note = "" if head in (None, at) else f" (HEAD {at[:12]}, judged at {head[:12]})"
        commits = git(clone, "rev-list", "--count", "HEAD").strip()
        folders = alembic_folders(clone)
        extra_all = [a for d in folders for a in ("--migrations", os.path.join(clone, d))]
        for mode, extra in (("default", []), ("all-folders", extra_all)):
            found, seconds, error = run(args.bin, clone, extra)
            if error is not None:
                rows.append((repo, mode, commits, "error", "", "", "", f"{seconds:.1f}", error))
                totals["error"] += 1
                continue
            counts = collections.Counter()
            for commit, rev, status, summary in found:
                verdict, reason = known.get((repo, mode, commit, rev, status), ("unjudged", ""))
                counts[verdict] += 1
                totals[verdict] += 1
                details.append((repo, mode, commit, rev, status, verdict, reason or summary))
            rows.append((repo, mode, commits, len(found), counts["true"], counts["false"],
                         counts["unjudged"], f"{seconds:.1f}", note))
    print("| repository | mode | commits | findings (IDs) | true | false | unjudged | seconds | |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    for d in details:
        print("\t".join(d))
    print(f"total: {totals['true']} true, {totals['false']} false, {totals['unjudged']} unjudged, "
          f"{totals['error']} errors, {totals['missing']} clones missing", file=sys.stderr)
    return 1 if totals["false"] or totals["unjudged"] or totals["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
