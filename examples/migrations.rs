//! `cargo run --example migrations -- DIR [--format json]`: the migration graph of a folder
//! (discovered under DIR, or DIR itself as a versions folder) and its graph findings, the way
//! `postmortem migrations` prints them. Used by `bench/` to compare with Alembic.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut dirs = Vec::new();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--format" => json = args.next().as_deref() == Some("json"),
            "--format=json" => json = true,
            other => dirs.push(PathBuf::from(other)),
        }
    }
    if dirs.is_empty() {
        dirs.push(PathBuf::from("."));
    }
    let mut sets = Vec::new();
    let mut findings = Vec::new();
    for dir in &dirs {
        match postmortem::migrations::load_dir(dir) {
            Ok((s, f)) => {
                sets.extend(s);
                findings.extend(f);
            }
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        }
    }
    if json {
        let value = postmortem::migrations::output::json(&sets, &findings);
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        print!("{}", postmortem::migrations::output::text(&sets, &findings));
    }
    ExitCode::SUCCESS
}
