//! How the analysis and the mention scan grow with their input: the incident's commit range
//! (timeline, commit range, ancestry) up to 200,000 commits, and one commit message naming up
//! to 100,000 distinct migration IDs. Each size is twice the one before, so a linear step keeps
//! the time per item flat and a quadratic one doubles it.
//!
//! `cargo bench --bench scaling` (or `bench/scaling.sh`) generates every input in memory,
//! deterministically, runs each size 3 times and prints the best time and the time per item.
//! Nothing is asserted: CI does not gate on wall time.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use postmortem::evidence::{
    ChangeKind, Commit, Deploy, DeployCommit, DeployStatus, Evidence, FileChange, Service,
};

const RUNS: usize = 3;

/// Deterministic 40-hex-digit SHA for commit `i` (a 64-bit mix, twice).
fn sha(i: u64) -> String {
    let mix = |mut x: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    };
    format!(
        "{:016x}{:016x}{:08x}",
        mix(i),
        mix(i + (1 << 40)),
        mix(i) as u32
    )
}

/// A linear history of `n` commits, the last good deploy on the first and the failing streak
/// on the last: all `n` commits are in the incident's range.
fn incident(n: u64) -> Evidence {
    let mut e = Evidence::new(Service {
        id: "srv-aaaaaaaaaaaaaaaaaaaa".into(),
        name: Some("api".into()),
        ..Default::default()
    });
    let start = Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap();
    e.commits = (0..n)
        .map(|i| Commit {
            sha: sha(i),
            author: "Dev".into(),
            email: None,
            time: start + chrono::Duration::seconds(i as i64),
            summary: format!("change {i}"),
            body: String::new(),
            parents: if i == 0 { vec![] } else { vec![sha(i - 1)] },
            files: if i % 100 == 0 {
                vec![FileChange {
                    path: format!("app/migrations/versions/{:012x}_m.py", i),
                    change: ChangeKind::Added,
                    old_path: None,
                }]
            } else {
                vec![]
            },
            suspect: i > 0,
        })
        .collect();
    let end = start + chrono::Duration::seconds(n as i64);
    let deploy = |id: &str, status, commit: u64, at: chrono::DateTime<Utc>| Deploy {
        id: id.into(),
        status,
        trigger: Some("new_commit".into()),
        commit: Some(DeployCommit {
            sha: sha(commit),
            message: Some(format!("change {commit}")),
            created_at: None,
        }),
        image: None,
        created_at: Some(at),
        started_at: None,
        finished_at: Some(at + chrono::Duration::seconds(30)),
        updated_at: None,
        failure: None,
    };
    e.deploys = vec![
        deploy("dep-good", DeployStatus::Live, 0, start),
        deploy("dep-fail-1", DeployStatus::UpdateFailed, n - 1, end),
        deploy(
            "dep-fail-2",
            DeployStatus::UpdateFailed,
            n - 1,
            end + chrono::Duration::minutes(5),
        ),
    ];
    e.normalize();
    e
}

/// [`incident`], resolved: the first failure on the second commit, the second on the one before
/// last, and the newest commit deployed live. The recovery check walks the ancestry of the
/// live commit back to the first failed one, through all `n` commits.
fn resolved(n: u64) -> Evidence {
    let mut e = incident(n);
    let at = |e: &Evidence, id: &str| e.deploys.iter().position(|d| d.id == id).unwrap();
    let (first, second) = (at(&e, "dep-fail-1"), at(&e, "dep-fail-2"));
    let end = e.deploys[second].created_at.unwrap();
    if let Some(c) = e.deploys[first].commit.as_mut() {
        c.sha = sha(1);
    }
    if let Some(c) = e.deploys[second].commit.as_mut() {
        c.sha = sha(n - 2);
    }
    let mut fix = e.deploys[second].clone();
    fix.id = "dep-fix".into();
    fix.status = DeployStatus::Live;
    fix.commit = Some(DeployCommit {
        sha: sha(n - 1),
        message: Some(format!("change {}", n - 1)),
        created_at: None,
    });
    fix.created_at = Some(end + chrono::Duration::minutes(5));
    fix.finished_at = Some(end + chrono::Duration::minutes(6));
    e.deploys.push(fix);
    e.normalize();
    e
}

/// A repository of two commits: the first adds a migration to `alembic/versions` and `n` empty
/// revision files named after `n` distinct IDs in a plugin's folder the history index does not
/// read; the second's message names all `n` IDs under a migrations heading. The history scan
/// finds each ID in the naming commit's tree beyond the folders (present, not phantom).
fn named_repo(dir: &std::path::Path, n: u64) {
    let repo = git2::Repository::init(dir).unwrap();
    let sig =
        git2::Signature::new("Dev", "dev@example.com", &git2::Time::new(1_762_000_000, 0)).unwrap();
    let blob = |text: &str| repo.blob(text.as_bytes()).unwrap();
    let base = blob("revision = \"a00000000001\"\ndown_revision = None\n");
    let empty = blob("");
    let ids: Vec<String> = (0..n).map(|i| sha(i)[..12].to_string()).collect();
    let mut plugin = repo.treebuilder(None).unwrap();
    for id in &ids {
        plugin
            .insert(format!("{id}_data.py"), empty, 0o100644)
            .unwrap();
    }
    let plugin = plugin.write().unwrap();
    let tree_of = |entries: &[(&str, git2::Oid, i32)]| {
        let mut b = repo.treebuilder(None).unwrap();
        for (name, oid, mode) in entries {
            b.insert(name, *oid, *mode).unwrap();
        }
        b.write().unwrap()
    };
    let versions = tree_of(&[("a00000000001_base.py", base, 0o100644)]);
    let alembic = tree_of(&[("versions", versions, 0o040000)]);
    let plugins = tree_of(&[("data", plugin, 0o040000)]);
    let root = tree_of(&[
        ("alembic", alembic, 0o040000),
        ("plugins", plugins, 0o040000),
    ]);
    let root = repo.find_tree(root).unwrap();
    let first = repo
        .commit(Some("HEAD"), &sig, &sig, "add migrations", &root, &[])
        .unwrap();
    let first = repo.find_commit(first).unwrap();
    let message = format!(
        "fix migrations\n\nMigrations:\n{}",
        ids.iter().map(|id| format!("- {id}\n")).collect::<String>()
    );
    repo.commit(Some("HEAD"), &sig, &sig, &message, &root, &[&first])
        .unwrap();
}

/// One message naming `n` distinct 12-hex-digit IDs: a list under a migrations heading, and
/// the same IDs on one line.
fn message(n: u64, one_line: bool) -> String {
    let ids: Vec<String> = (0..n).map(|i| sha(i)[..12].to_string()).collect();
    if one_line {
        format!("fix migrations: {}\n", ids.join(", "))
    } else {
        format!(
            "fix migrations\n\nMigrations:\n{}",
            ids.iter().map(|id| format!("- {id}\n")).collect::<String>()
        )
    }
}

fn best(mut run: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn row(what: &str, n: u64, took: Duration) {
    println!(
        "| {what} | {n} | {:.3} | {:.0} |",
        took.as_secs_f64(),
        took.as_nanos() as f64 / n as f64
    );
}

fn main() {
    println!("| workload | items | best of {RUNS} (s) | ns per item |");
    println!("|---|---:|---:|---:|");
    // `cargo bench --bench scaling -- 50000` stops at that many commits (cargo adds `--bench`).
    let max: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    for n in [25_000u64, 50_000, 100_000, 200_000] {
        if n > max {
            break;
        }
        let evidence = resolved(n);
        let mut status = String::new();
        let took = best(|| {
            let context = postmortem::pipeline::context(evidence.clone(), None);
            status = context
                .analysis
                .recovery
                .as_ref()
                .map(|r| r.status.clone())
                .unwrap_or_default();
        });
        assert!(
            !status.is_empty() && status != "failing",
            "not resolved: {status}"
        );
        row(
            "analysis of an n-commit range, resolved by a later commit (recovery walk)",
            n,
            took,
        );
    }
    for n in [25_000u64, 50_000, 100_000, 200_000] {
        if n > max {
            break;
        }
        let evidence = incident(n);
        let mut entries = 0;
        let took = best(|| {
            let context = postmortem::pipeline::context(evidence.clone(), None);
            entries = context.analysis.timeline.len();
        });
        assert!(entries as u64 >= n - 1, "the range lost commits: {entries}");
        row(
            "analysis (commit range, timeline) of an n-commit range",
            n,
            took,
        );
    }
    for n in [12_500u64, 25_000, 50_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        named_repo(dir.path(), n);
        let repo = postmortem::collect::git::GitRepo::open(dir.path()).unwrap();
        let (mut named, mut present) = (0, 0);
        let took = best(|| {
            let history = repo
                .migration_history(&["alembic/versions".to_string()])
                .unwrap();
            named = history.mentions.iter().map(|m| m.ids.len()).sum::<usize>();
            present = history.mentions.iter().map(|m| m.present.len()).sum();
        });
        // All but the all-digit IDs (0.4%), which a list names too weakly to count.
        assert!(named as u64 > n * 99 / 100, "{named} of {n} IDs named");
        assert_eq!(present, named, "the named IDs were not found in the tree");
        row(
            "history scan: one message naming n IDs found beyond the folders",
            n,
            took,
        );
    }
    for one_line in [false, true] {
        for n in [12_500u64, 25_000, 50_000, 100_000] {
            let text = message(n, one_line);
            let mut found = 0;
            let took = best(|| found = postmortem::collect::git::candidate_ids(&text).len());
            assert_eq!(found as u64, n);
            let shape = if one_line { "one line" } else { "a list" };
            row(&format!("mention scan: n distinct IDs in {shape}"), n, took);
        }
    }
}
