//! The `postmortem` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = postmortem::cli::Cli::parse();
    let api_key = std::env::var("RENDER_API_KEY").ok();
    match postmortem::app::run(cli, chrono::Utc::now(), api_key) {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("postmortem: error: {e}");
            ExitCode::from(2)
        }
    }
}
