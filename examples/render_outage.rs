//! The seed incident, reproduced end to end, offline: builds the service's repository in a temp
//! dir, serves Render's API for it from a loopback server (14 failed deploys, their events and
//! deploy logs), runs the real `postmortem report` against both, and prints the postmortem.
//!
//!     cargo run --release --example render_outage
//!
//! Nothing in the report is typed in: the failed deploys, the broken migration, the operation
//! order, the phantom "fix" migrations and the timeline are all found by the tool.

#[path = "../tests/support/render_api.rs"]
mod render_api;
#[path = "../tests/support/seed.rs"]
mod seed;

use std::process::ExitCode;

use clap::Parser;

/// What only the engineer knows, as they would write it in postmortem.yaml.
const INCIDENT_YAML: &str = "\
incident:
  impact: Backend is completely down. Frontend is live but cannot communicate with the API.
  status_updates:
    - at: 2025-11-10T18:15:00Z
      text: Root cause identified, fix strategy documented
";

fn main() -> ExitCode {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("render_outage: cannot create a temp dir: {e}");
            return ExitCode::from(2);
        }
    };
    let seed = seed::build(dir.path());
    let config = dir.path().join("postmortem.yaml");
    if let Err(e) = std::fs::write(&config, INCIDENT_YAML) {
        eprintln!("render_outage: cannot write {}: {e}", config.display());
        return ExitCode::from(2);
    }
    let server = render_api::FakeRender {
        api_key: seed::API_KEY.to_string(),
        services: seed.render.services,
        deploys: seed.render.deploys,
        events: seed.render.events,
        logs: seed.render.logs,
        faults: Default::default(),
    }
    .start();
    eprintln!(
        "render_outage: repository in {}, Render API on {}",
        dir.path().display(),
        server.url()
    );
    let now = seed.now.to_rfc3339();
    let args = [
        "postmortem",
        "report",
        "--repo",
        &dir.path().to_string_lossy(),
        "--config",
        &config.to_string_lossy(),
        // A name, as an engineer would type it: resolved through the services list.
        "--service",
        seed::SERVICE_NAME,
        "--render-api-url",
        &server.url(),
        "--now",
        &now,
        "--quiet",
    ]
    .map(String::from);
    let cli = postmortem::cli::Cli::parse_from(args);
    match postmortem::app::run(cli, seed.now, Some(seed::API_KEY.to_string())) {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("postmortem: error: {e}");
            ExitCode::from(2)
        }
    }
}
