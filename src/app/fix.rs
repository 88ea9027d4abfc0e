//! `postmortem fix`: the computed fix of a failing revision, printed as a diff or written.

use chrono::{DateTime, Utc};

use super::{read_evidence, write_output, Status};
use crate::cli::FixArgs;
use crate::config::Config;
use crate::{pipeline, Error, Result};

/// `postmortem fix`: the patch of one revision, printed or written. The file is only written
/// when its blob ID is still the one the analysis read (from the repository, or recorded in
/// the evidence snapshot): a file edited since would be overwritten with a patch of old text.
pub(super) fn fix_cmd(args: FixArgs, clock: DateTime<Utc>, quiet: bool) -> Result<Status> {
    use crate::analyze::patch;
    let source: crate::cli::SourceArgs = args.graph.clone().into();
    let config = Config::resolve(&source, None, None, clock)?;
    let root = pipeline::repo_root(&config)?;
    let (evidence, read_when) = match &args.evidence {
        Some(path) => {
            let mut evidence = read_evidence(path)?;
            evidence.normalize();
            (evidence, "the evidence was collected")
        }
        None => (pipeline::check(&config, None)?, "it was analysed"),
    };
    let revision = match args.revision {
        Some(revision) => revision,
        None => {
            // Only a cause the deploys showed blames a revision; a finding's prediction is one
            // of the candidates, not a choice among them.
            let blamed = crate::analyze::analyze(&evidence, None)
                .root_causes
                .iter()
                .filter(|c| c.observed)
                .find_map(|c| c.revision.clone());
            match patch::default_revision(&evidence, blamed.as_deref()) {
                Some(revision) => revision,
                None => {
                    let candidates = patch::candidates(&evidence);
                    if candidates.is_empty() {
                        if !quiet {
                            eprintln!(
                                "postmortem: no schema rule flags any revision: nothing to fix"
                            );
                        }
                        return Ok(Status::Ok);
                    }
                    let list: Vec<String> = candidates
                        .iter()
                        .map(|(r, f)| format!("{r} ({f})"))
                        .collect();
                    return Err(Error::Usage(format!(
                        "several revisions have schema findings; name one: {}",
                        list.join(", ")
                    )));
                }
            }
        }
    };
    let Some(file) = evidence
        .migration_sets
        .iter()
        .flat_map(|s| &s.revisions)
        .find(|r| r.id == revision)
        .map(|r| r.file.clone())
    else {
        return Err(Error::Usage(format!(
            "revision {revision} is not among the migrations read"
        )));
    };
    let path = root.join(&file);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let on_disk = crate::source::blob_id(&bytes);
    let recorded = evidence.migration_sources.iter().find(|s| s.file == file);
    let changed = recorded.is_some_and(|r| r.blob != on_disk);
    if args.write && args.evidence.is_some() && recorded.is_none() {
        return Err(Error::Usage(format!(
            "the evidence records no text of {file}, so whether it changed since cannot be told: not written; run `postmortem fix` without --evidence"
        )));
    }
    if changed && args.write {
        return Err(Error::Usage(format!(
            "{file} changed since {read_when} (blob {} then, {on_disk} now): not written; run `postmortem fix` on the current file",
            recorded.map(|r| r.blob.as_str()).unwrap_or_default()
        )));
    }
    let text = match recorded.filter(|_| changed) {
        // Printing only: the fix of the text that was analysed, said to be stale.
        Some(r) => {
            if !quiet {
                eprintln!("postmortem: {file} changed since {read_when}: the diff below is against the text then, not the file now");
            }
            r.text.clone()
        }
        None => String::from_utf8(bytes).map_err(|_| Error::Malformed {
            path: path.clone(),
            position: None,
            message: "not UTF-8: the fix cannot be applied as text; edit it by hand".to_string(),
        })?,
    };
    let Some(patch) = patch::build(&evidence, &revision, &text) else {
        if !quiet {
            eprintln!("postmortem: no schema rule flags revision {revision}: nothing to fix");
        }
        return Ok(Status::Ok);
    };
    match (&patch.diff, &patch.patched) {
        (Some(diff), Some(patched)) => {
            if args.write {
                // Once more, right before writing: an editor may have saved in between.
                let now = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                if crate::source::blob_id(&now) != patch.blob {
                    return Err(Error::Usage(format!(
                        "{file} changed while the fix was computed: not written"
                    )));
                }
                std::fs::write(&path, patched).map_err(|e| Error::io(&path, e))?;
                if !quiet {
                    eprintln!("postmortem: fixed {file} ({})", patch.verdict);
                }
            } else {
                write_output(args.out.output.as_deref(), diff)?;
                if !quiet {
                    eprintln!("postmortem: {}", patch.verdict);
                }
            }
            if let (Some(down), false) = (&patch.downgrade, quiet) {
                eprintln!("postmortem: {down}");
            }
            Ok(Status::Ok)
        }
        _ => {
            let mut text = format!(
                "{file}: revision {revision} ({}): {}\n\nAlternatives:\n",
                patch.rules.join(", "),
                patch.verdict
            );
            for (i, alt) in patch.alternatives.iter().enumerate() {
                text.push_str(&format!(
                    "{}. {}: {}\n   Trade-off: {}\n",
                    i + 1,
                    alt.title,
                    alt.how,
                    alt.tradeoff
                ));
            }
            write_output(args.out.output.as_deref(), &text)?;
            Ok(Status::Findings)
        }
    }
}
