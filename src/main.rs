//! The `postmortem` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = postmortem::cli::Cli::parse();
    // Templates render in a child process of this binary, under a memory limit.
    if let Ok(program) = std::env::current_exe() {
        postmortem::report::isolate::render_templates_in(program);
    }
    let api_key = std::env::var("RENDER_API_KEY").ok();
    let tokens = postmortem::publish::Credentials::from_lookup(|var| std::env::var(var).ok());
    let ci = postmortem::ci::CiEnv::from_env();
    match postmortem::app::run_in(cli, chrono::Utc::now(), api_key, tokens, &ci) {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("postmortem: error: {e}");
            ExitCode::from(2)
        }
    }
}
