//! Runs `phantom-migration` over a whole repository's history and prints each finding, one line
//! per commit, then the counts: the tool behind docs/phantom-false-positives.md.
//!
//! `cargo run --example phantom_scan -- <repo> <migration dir> [<migration dir>...]`

use std::path::PathBuf;
use std::time::Instant;

use postmortem::check::{rules::phantom_migration::PhantomMigration, CheckContext, Rule};
use postmortem::collect::git::GitRepo;
use postmortem::evidence::{Evidence, Service};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let repo = PathBuf::from(
        args.next()
            .ok_or("usage: phantom_scan <repo> <migration dir>...")?,
    );
    let mut dirs: Vec<String> = args.collect();
    // `--mentions` also prints every commit that names IDs, flagged or not, for review by hand.
    let all_mentions = dirs.iter().any(|d| d == "--mentions");
    dirs.retain(|d| d != "--mentions");
    let started = Instant::now();
    let repo = GitRepo::open(&repo)?;
    let history = repo.migration_history(&dirs)?;
    let elapsed = started.elapsed();
    let evidence = Evidence::new(Service::default());
    let findings = PhantomMigration.check(&CheckContext::new(&evidence, Some(&history)));
    for f in &findings {
        println!(
            "{}\t{}",
            f.commit.as_deref().unwrap_or(""),
            serde_json::to_string(&f.data)?
        );
    }
    if all_mentions {
        for m in &history.mentions {
            println!(
                "mention\t{}\t{}\tids={:?}\tpresent={:?}",
                &m.commit.sha[..8],
                m.summary,
                m.ids,
                m.present
            );
        }
    }
    let ids: usize = history.mentions.iter().map(|m| m.ids.len()).sum();
    eprintln!(
        "commits scanned: {}  revisions ever: {}  id shape: {:?}  commits naming IDs: {} ({} IDs)  flagged commits: {}  first migration: {}  shallow: {}  unreadable objects: {}  index time: {:.2?}",
        history.commits_scanned,
        history.revisions.len(),
        history.id_shape,
        history.mentions.len(),
        ids,
        findings.len(),
        history
            .first_migration
            .as_ref()
            .map_or("none".to_string(), |c| format!("{} {}", &c.sha[..10], c.time.date_naive())),
        history.shallow.is_some(),
        history.unreadable_objects,
        elapsed
    );
    Ok(())
}
