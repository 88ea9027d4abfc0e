//! The phantom check's workload against `git log`: index every commit of a generated
//! 50,000-commit history for migration mentions and migration file changes, and compare with
//! `git log --format=%H%x00%B` on the same repository. The target is a ratio of at most 1.5.
//!
//! `cargo bench --bench git_scan [-- <commits>]` generates the repository with
//! `git fast-import` in a temp dir, runs each side 3 times and prints the best of each and the
//! ratio. Exit status 1 when the ratio is above 1.5.
//!
//! `cargo bench --bench git_scan -- --generate DIR [<commits>]` only writes the repository,
//! non-bare and checked out, into DIR (for `bench/run.sh`, which times the `postmortem check`
//! binary on it).
//!
//! `cargo bench --bench git_scan -- --dump REPO [FOLDER...]` prints the history index of REPO
//! as JSON (the folders given, else those discovery finds in its working tree): two builds
//! that print the same bytes for a repository find the same mentions, revisions and lives there.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postmortem::collect::git::GitRepo;

const MIGRATION_DIR: &str = "app/migrations/versions";
const SOURCE_FILES: u64 = 300;
const RUNS: usize = 3;

/// A deterministic pseudo-random sequence (64-bit LCG), so every run builds the same history.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 16
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::new();
        while out.len() < len {
            let _ = write!(out, "{:012x}", self.next() & 0xffff_ffff_ffff);
        }
        out.truncate(len);
        out
    }
}

fn data(stream: &mut Vec<u8>, content: &str) {
    let _ = writeln!(stream, "data {}", content.len());
    stream.extend_from_slice(content.as_bytes());
    stream.push(b'\n');
}

/// A fast-import stream: each commit edits one source file; every 100th adds a migration,
/// every 40th names migrations in its message (a few of them phantoms), others carry SHAs,
/// URLs, UUIDs and long bodies like real histories.
fn generate(commits: u64) -> Vec<u8> {
    let mut rng = Lcg(42);
    let mut stream = Vec::with_capacity(commits as usize * 400);
    let mut revisions: Vec<String> = Vec::new();
    let mut time = 1_600_000_000u64;
    for n in 1..=commits {
        time += 60 + rng.next() % 3600;
        let mut message = format!("Change {n}: adjust module {}\n\n", n % SOURCE_FILES);
        for line in 0..(rng.next() % 6) {
            let _ = writeln!(
                message,
                "Line {line} explains the change in more words than needed, as commit bodies do."
            );
        }
        match n % 40 {
            0 if !revisions.is_empty() => {
                let known = &revisions[(rng.next() as usize) % revisions.len()];
                let phantom = rng.hex(12);
                let _ = writeln!(message, "\nMigrations: {known} (existing), {phantom} (new)");
            }
            7 => {
                let _ = writeln!(
                    message,
                    "\nSee https://example.com/x/{} and {}-{}-4{}-8{}-{}",
                    rng.hex(12),
                    rng.hex(8),
                    rng.hex(4),
                    rng.hex(3),
                    rng.hex(3),
                    rng.hex(12)
                );
            }
            13 => {
                let _ = writeln!(message, "\nReverts commit {}.", rng.hex(40));
            }
            _ => {}
        }
        let _ = writeln!(stream, "commit refs/heads/main\nmark :{n}");
        let _ = writeln!(stream, "author Bench <bench@example.com> {time} +0000");
        let _ = writeln!(stream, "committer Bench <bench@example.com> {time} +0000");
        data(&mut stream, &message);
        if n > 1 {
            let _ = writeln!(stream, "from :{}", n - 1);
        }
        let _ = writeln!(stream, "M 100644 inline src/module_{}.py", n % SOURCE_FILES);
        data(
            &mut stream,
            &format!(
                "VALUE = {n}\n{}\n",
                "# padding line\n".repeat((n % 20) as usize)
            ),
        );
        if n % 100 == 0 {
            let rev = rng.hex(12);
            let down = revisions
                .last()
                .map_or("None".to_string(), |d| format!("'{d}'"));
            let _ = writeln!(
                stream,
                "M 100644 inline {MIGRATION_DIR}/{rev}_migration_{n}.py"
            );
            data(
                &mut stream,
                &format!("\"\"\"migration {n}\"\"\"\nrevision = '{rev}'\ndown_revision = {down}\n\ndef upgrade():\n    pass\n"),
            );
            revisions.push(rev);
        }
        stream.push(b'\n');
    }
    stream
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("git {args:?}: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or(format!("git {args:?} failed: {status}"))
}

fn time_git_log(dir: &Path) -> Result<(Duration, usize), String> {
    let started = Instant::now();
    let mut child = Command::new("git")
        .args(["log", "--format=%H%x00%B"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git log: {e}"))?;
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .ok_or("git log: no stdout")?
        .read_to_end(&mut out)
        .map_err(|e| format!("git log: {e}"))?;
    child.wait().map_err(|e| format!("git log: {e}"))?;
    Ok((started.elapsed(), out.len()))
}

/// Feeds the generated history to `git fast-import` in `path` (an initialised repository).
fn import(path: &Path, commits: u64) -> Result<(), String> {
    git(path, &["symbolic-ref", "HEAD", "refs/heads/main"])?;
    let stream = generate(commits);
    let started = Instant::now();
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(path)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git fast-import: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(&stream)
        .map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("git fast-import failed: {status}"));
    }
    println!(
        "generated {commits} commits with git fast-import in {:.2?}",
        started.elapsed()
    );
    Ok(())
}

/// `--dump REPO [FOLDER...]`: the history index as JSON.
fn dump(args: &[String]) -> Result<(), String> {
    let repo_path = Path::new(args.first().ok_or("--dump needs a repository")?);
    let repo = GitRepo::open(repo_path).map_err(|e| e.to_string())?;
    let folders: Vec<String> = match args.get(1..) {
        Some(given) if !given.is_empty() => given.to_vec(),
        _ => {
            let root = repo.workdir().unwrap_or(repo_path).to_path_buf();
            postmortem::migrations::discover(&postmortem::source::WorkDir::new(root))
                .map_err(|e| e.to_string())?
                .folders()
        }
    };
    let history = repo
        .migration_history(&folders)
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&history).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--dump") {
        return dump(args.get(1..).unwrap_or_default());
    }
    let commits: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(50_000);
    if let Some(i) = args.iter().position(|a| a == "--generate") {
        let target = args.get(i + 1).ok_or("--generate needs a directory")?;
        let path = Path::new(target);
        std::fs::create_dir_all(path).map_err(|e| format!("{target}: {e}"))?;
        git(path, &["init", "--quiet"])?;
        import(path, commits)?;
        return git(path, &["checkout", "--quiet", "--force", "main"]);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path();
    git(path, &["init", "--quiet", "--bare"])?;
    import(path, commits)?;

    let mut git_best = Duration::MAX;
    let mut ours_best = Duration::MAX;
    let mut summary = String::new();
    for _ in 0..RUNS {
        let (elapsed, bytes) = time_git_log(path)?;
        git_best = git_best.min(elapsed);
        let started = Instant::now();
        let repo = GitRepo::open(path).map_err(|e| e.to_string())?;
        let history = repo
            .migration_history(&[MIGRATION_DIR.to_string()])
            .map_err(|e| e.to_string())?;
        ours_best = ours_best.min(started.elapsed());
        summary = format!(
            "git log printed {bytes} bytes; index: {} commits, {} revisions, {} commits naming IDs",
            history.commits_scanned,
            history.revisions.len(),
            history.mentions.len()
        );
    }
    let ratio = ours_best.as_secs_f64() / git_best.as_secs_f64();
    println!("{summary}");
    println!(
        "git log --format=%H%x00%B : {:>8.3} s (best of {RUNS})",
        git_best.as_secs_f64()
    );
    println!(
        "migration_history         : {:>8.3} s (best of {RUNS})",
        ours_best.as_secs_f64()
    );
    println!("ratio                     : {ratio:>8.2} (target <= 1.50)");
    if ratio > 1.5 {
        std::process::exit(1);
    }
    Ok(())
}
