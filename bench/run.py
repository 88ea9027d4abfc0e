#!/usr/bin/env python3
"""Times each workload of bench/run.sh and prints the table (see docs/benchmarks.md).

Each command runs RUNS times, alternating ours and the reference so that load from other
processes falls on both; wall time is measured around the process (start to exit), peak RSS is
the child's ru_maxrss from wait4 (what GNU `time -f %M` prints). Best of N is compared; the
spread (worst / best) is shown so that a noisy machine is visible.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time


def run_once(cmd, cwd=None, ok=(0,)):
    started = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"{' '.join(cmd)} exited {code}:\n{err}")
    return elapsed, usage.ru_maxrss


def compare(ours, reference, runs, cwd=None, ours_ok=(0,)):
    o, r = [], []
    o_rss = r_rss = 0
    for _ in range(runs):
        t, rss = run_once(ours, cwd, ours_ok)
        o.append(t)
        o_rss = max(o_rss, rss)
        t, rss = run_once(reference, cwd)
        r.append(t)
        r_rss = max(r_rss, rss)
    return o, r, o_rss, r_rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--render", required=True)
    ap.add_argument("--markdown")
    a = ap.parse_args()

    rows = []
    # check: exit 1 is expected (the history names migrations that were never committed).
    repo = os.path.join(a.work, "history")
    o, r, o_rss, r_rss = compare(
        [a.bin, "check", "--repo", repo, "--format", "json"],
        ["git", "log", "--format=%H%x00%B"],
        a.runs, cwd=repo, ours_ok=(0, 1),
    )
    rows.append(dict(workload="check, 50,000 commits", ours_cmd="postmortem check",
                     ref_cmd="git log --format=%H%x00%B", ours=o, ref=r,
                     ours_rss=o_rss, ref_rss=r_rss, kind="slower", target=1.5,
                     rss_target_mb=100))

    project = os.path.join(a.work, "alembic")
    o, r, o_rss, r_rss = compare(
        [a.bin, "migrations", "migrations/versions", "--format", "json"],
        [os.path.join(a.venv, "bin", "alembic"), "-c", os.path.join(project, "alembic.ini"), "heads"],
        a.runs, cwd=project,
    )
    rows.append(dict(workload="migrations, 2,000 files", ours_cmd="postmortem migrations",
                     ref_cmd="alembic heads", ours=o, ref=r, ours_rss=o_rss, ref_rss=r_rss,
                     kind="faster", target=20.0))

    render = None
    with open(a.render) as f:
        for line in f:
            if line.startswith("{"):
                render = json.loads(line)
    if render is None:
        sys.exit("render_collect printed no result line")
    rows.append(dict(workload="collect, 1,000 deploys", ours_cmd="postmortem collect",
                     ref_cmd=f"ideal client ({render['round_trips']} round trips x 20 ms = "
                             f"{render['computed_bound']:.2f} s)",
                     ours=render["ours"], ref=render["reference"],
                     ours_rss=render.get("rss_kb") or 0, ref_rss=None,
                     kind="slower", target=1.3))

    header = ["workload", "postmortem", "reference", "ratio", "target", "result",
              "peak RSS ours", "peak RSS ref", "spread ours/ref"]
    table = []
    for row in rows:
        ob, rb = min(row["ours"]), min(row["ref"])
        if row["kind"] == "slower":
            ratio = ob / rb
            ratio_s, target_s, ok = f"{ratio:.2f}x", f"<= {row['target']}x", ratio <= row["target"]
        else:
            ratio = rb / ob
            ratio_s, target_s, ok = f"{ratio:.1f}x faster", f">= {row['target']:.0f}x", ratio >= row["target"]
        rss_mb = row["ours_rss"] / 1024
        result = "pass" if ok else "FAIL"
        if "rss_target_mb" in row:
            target_s += f", < {row['rss_target_mb']} MB"
            if rss_mb >= row["rss_target_mb"]:
                result = "FAIL (memory)" if ok else "FAIL (time, memory)"
        spread = (f"{max(row['ours']) / ob:.2f} / {max(row['ref']) / rb:.2f}")
        table.append([
            row["workload"],
            f"{ob:.3f} s",
            f"{rb:.3f} s ({row['ref_cmd']})",
            ratio_s, target_s, result,
            f"{rss_mb:.0f} MB",
            "-" if row["ref_rss"] is None else f"{row['ref_rss'] / 1024:.0f} MB",
            spread,
        ])

    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))
    print()
    print(f"best of {a.runs} runs; {platform.node()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(line(header))
    for r in table:
        print(line(r))
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("| " + " | ".join(header) + " |\n")
            f.write("|" + "|".join("---" for _ in header) + "|\n")
            for r in table:
                f.write("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |\n")


if __name__ == "__main__":
    main()
