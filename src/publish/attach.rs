//! A report over the comment limit, stored whole where the system allows it (a secret gist on
//! GitHub with `--gist`, a project upload on GitLab, a file on Linear), with its summary
//! sections in the comment and a link to the whole. Nothing is cut: a section left out of the
//! comment is named there. (Jira's attachment has its own path, in `jira.rs`.)
//!
//! The comment carries a second hidden line, `<!-- postmortem-attachment:REF -->`, naming what
//! was stored (a gist id, an upload path), so that a re-run can replace that gist instead of
//! making another.

use super::{
    fence_of, find_ours, marker, split, write, Attached, Options, Outcome, Ticket, Tracker,
};
use crate::Result;

/// `## ` headings whose sections go in the comment, matched in lower case.
const SUMMARY: &[&str] = &[
    "summary",
    "impact",
    "root cause",
    "recommended fix",
    "follow-up",
];
/// Room kept for the marker lines, the link paragraph and the list of sections left out.
const ROOM: usize = 4_000;
/// Sections named in "only in the full report" before "and N more".
const NAMED: usize = 40;

pub(super) fn publish(
    tracker: &dyn Tracker,
    ticket: &Ticket,
    text: &str,
    key: &str,
    opts: &Options,
    plan: &str,
) -> Result<Outcome> {
    let noun = tracker.noun();
    let size = text.chars().count();
    if opts.dry_run {
        let [list, create, update] = tracker.describe();
        let placeholder = Attached {
            reference: "REF".into(),
            link: "LINK".into(),
            said: String::new(),
        };
        let body = tracker.framed(summary_body(tracker, ticket, text, key, &placeholder), key);
        let mut lines = vec![
            format!(
                "dry run: nothing is sent to {} ({ticket})",
                ticket.system().name()
            ),
            format!(
                "the report is {size} characters, over the {} limit of {}: {plan}; the {noun} holds its summary sections and links it",
                noun,
                tracker.limit()
            ),
        ];
        let how = if opts.new {
            lines.push(format!("--new: existing {noun}s are not looked up"));
            create
        } else {
            lines.push(format!(
                "first: {list}, every page, {}",
                tracker.lookup_note(key)
            ));
            format!("{update} if it exists, else {create}")
        };
        lines.push(format!(
            "{noun} 1 of 1: {how} ({} characters, limit {})",
            body.chars().count(),
            tracker.limit()
        ));
        lines.push(format!("----- {noun} 1 of 1 -----"));
        lines.push(body.trim_end_matches('\n').to_string());
        return Ok(super::Outcome { lines });
    }
    let ours = if opts.new {
        Default::default()
    } else {
        find_ours(tracker, key)?
    };
    let previous = ours.get(&1).and_then(|e| reference_in(&e.body));
    let attached = tracker.attach(text, previous.as_deref())?;
    let body = tracker.framed(summary_body(tracker, ticket, text, key, &attached), key);
    let mut outcome = write(
        tracker,
        key,
        &[body],
        ours.into_iter().map(|(part, e)| (part, e.id)).collect(),
    )?;
    outcome.lines.insert(0, attached.said);
    Ok(outcome)
}

fn reference_line(reference: &str) -> String {
    format!("<!-- postmortem-attachment:{reference} -->")
}

/// The reference an earlier run left in our comment, when it is one we could have written.
fn reference_in(body: &str) -> Option<String> {
    body.lines().take(3).find_map(|l| {
        let r = l
            .trim()
            .strip_prefix("<!-- postmortem-attachment:")?
            .strip_suffix(" -->")?;
        let ok = !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
        ok.then(|| r.to_string())
    })
}

fn summary_body(
    tracker: &dyn Tracker,
    ticket: &Ticket,
    text: &str,
    key: &str,
    attached: &Attached,
) -> String {
    let budget = tracker.limit().saturating_sub(ROOM);
    let (summary, left_out, cut) = summary(text, budget);
    let mut body = format!(
        "{}\n{}\n> **The whole postmortem is in {}**: at {} characters it is over the {}-character limit of a {} {}. Below are its summary sections.\n\n",
        marker(key, None),
        reference_line(&attached.reference),
        attached.link,
        text.chars().count(),
        tracker.limit(),
        ticket.system().name(),
        tracker.noun()
    );
    body.push_str(&summary);
    if !body.ends_with('\n') {
        body.push('\n');
    }
    if cut {
        body.push_str("\n_The summary is cut here to fit; the rest is in the whole postmortem, linked above._\n");
    }
    if !left_out.is_empty() {
        let mut names: Vec<String> = left_out.iter().take(NAMED).cloned().collect();
        if left_out.len() > NAMED {
            names.push(format!("and {} more", left_out.len() - NAMED));
        }
        body.push_str(&format!(
            "\n_Only in the whole postmortem: {}._\n",
            names.join(", ")
        ));
    }
    body
}

/// The part before the first `## ` heading, then each summary section that still fits, whole.
/// Returns the text, the headings left out, and whether the opening part itself had to be cut.
fn summary(text: &str, budget: usize) -> (String, Vec<String>, bool) {
    let mut sections: Vec<(Option<String>, String)> = vec![(None, String::new())];
    let mut fence: Option<(char, usize)> = None;
    for line in text.split_inclusive('\n') {
        match (fence, fence_of(line)) {
            (None, Some(f)) => fence = Some(f),
            (Some((c, n)), Some((c2, n2))) if c == c2 && n2 >= n => fence = None,
            (None, None) if line.starts_with("## ") => {
                let heading = line.trim_start_matches("## ").trim().to_string();
                sections.push((Some(heading), String::new()));
            }
            _ => {}
        }
        sections.last_mut().expect("one section").1.push_str(line);
    }
    let mut out = String::new();
    let mut left_out = Vec::new();
    let mut cut = false;
    for (heading, body) in sections {
        let size = body.chars().count();
        let used = out.chars().count();
        match heading {
            None if size > budget => {
                out.push_str(&split(&body, budget)[0]);
                cut = true;
            }
            None => out.push_str(&body),
            Some(h) => {
                let wanted = SUMMARY.iter().any(|w| h.to_lowercase().contains(w));
                if wanted && used + size <= budget {
                    out.push_str(&body);
                } else {
                    left_out.push(h);
                }
            }
        }
    }
    (out, left_out, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_keeps_the_opening_and_summary_sections_whole() {
        let text = "# T\nintro\n## Executive Summary\nshort\n## Failure Evidence\nlong\n```\n## not a heading\n```\n## Root Cause Analysis\nwhy\n## Timeline (UTC)\nt\n";
        let (s, left, cut) = summary(text, 1_000);
        assert_eq!(
            s,
            "# T\nintro\n## Executive Summary\nshort\n## Root Cause Analysis\nwhy\n"
        );
        assert_eq!(left, ["Failure Evidence", "Timeline (UTC)"]);
        assert!(!cut);
        // A summary section that does not fit is left out whole, and named.
        let (s, left, _) = summary(text, 40);
        assert_eq!(s, "# T\nintro\n## Executive Summary\nshort\n");
        assert_eq!(left.len(), 3);
    }

    #[test]
    fn the_reference_is_read_back_only_when_it_is_plain() {
        assert_eq!(
            reference_in("<!-- postmortem:k -->\n<!-- postmortem-attachment:aa12f -->\nx"),
            Some("aa12f".into())
        );
        assert_eq!(
            reference_in("<!-- postmortem:k -->\n<!-- postmortem-attachment:a b -->"),
            None
        );
        assert_eq!(reference_in("<!-- postmortem:k -->\nnothing"), None);
    }
}
