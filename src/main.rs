//! The `postmortem` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = postmortem::cli::Cli::parse();
    let api_key = std::env::var("RENDER_API_KEY").ok();
    let tokens = postmortem::publish::Credentials::from_lookup(|var| std::env::var(var).ok());
    match postmortem::app::run_with(cli, chrono::Utc::now(), api_key, tokens) {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("postmortem: error: {e}");
            ExitCode::from(2)
        }
    }
}
