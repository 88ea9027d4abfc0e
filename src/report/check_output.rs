//! What `postmortem check` prints: text for people, JSON for scripts, workflow annotations for
//! GitHub Actions, SARIF 2.1.0 for code-scanning tools.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::check::{REGISTRY, UNUSED_IGNORE};
use crate::finding::{Finding, Severity};

/// ruff/rustc style: the rule and message, where, the source excerpt, the help.
/// With `color`, the severity and the pointers are coloured as rustc and ruff colour theirs;
/// the words are the same either way, so a log that strips colour reads the same.
pub fn text(findings: &[Finding], color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let arrow = paint("1;34", "-->");
    let eq = paint("1;34", "=");
    let mut out = String::new();
    for f in findings {
        let severity = match f.severity {
            Severity::Error => paint("1;31", f.severity.as_str()),
            Severity::Warning => paint("1;33", f.severity.as_str()),
            Severity::Info => paint("1;36", f.severity.as_str()),
        };
        let _ = writeln!(out, "{severity}[{}]: {}", f.rule, f.message);
        match (&f.file, f.line, &f.commit) {
            (Some(file), Some(line), _) => {
                let _ = writeln!(out, "  {arrow} {file}:{line}");
            }
            (Some(file), None, _) => {
                let _ = writeln!(out, "  {arrow} {file}");
            }
            (None, _, Some(sha)) => {
                let _ = writeln!(out, "  {arrow} commit {}", sha.get(..12).unwrap_or(sha));
            }
            _ => {}
        }
        if let Some(rev) = &f.revision {
            let _ = writeln!(out, "   {eq} revision: {rev}");
        }
        if let Some(excerpt) = &f.excerpt {
            out.push_str(&super::number_lines(excerpt));
        }
        let _ = writeln!(out, "   {eq} help: {}", f.help);
        out.push('\n');
    }
    out.push_str(&summary(findings));
    out.push('\n');
    out
}

/// `Found 2 errors and 1 warning.` / `No findings.`
pub fn summary(findings: &[Finding]) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let parts: Vec<String> = [
        (count(Severity::Error), "error"),
        (count(Severity::Warning), "warning"),
        (count(Severity::Info), "note"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}{}", if n == 1 { "" } else { "s" }))
    .collect();
    match parts.as_slice() {
        [] => "No findings.".to_string(),
        [one] => format!("Found {one}."),
        [init @ .., last] => format!("Found {} and {last}.", init.join(", ")),
    }
}

pub fn json(findings: &[Finding]) -> Value {
    json!({ "findings": findings })
}

/// GitHub Actions workflow commands, one per finding.
pub fn github(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(file) = &f.file {
            props.push(format!("file={}", escape_property(file)));
        }
        if let Some(line) = f.line {
            props.push(format!("line={line}"));
        }
        props.push(format!("title={}", escape_property(&f.rule)));
        let mut message = f.message.clone();
        if let Some(sha) = &f.commit {
            message.push_str(&format!(" (commit {})", sha.get(..12).unwrap_or(sha)));
        }
        message.push_str(&format!("\n{}", f.help));
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            escape_data(&message)
        );
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// SARIF 2.1.0: the registry becomes the driver's rule table; each finding a result.
pub fn sarif(findings: &[Finding]) -> Value {
    let metas: Vec<&crate::finding::RuleMeta> = REGISTRY
        .iter()
        .map(|r| r.meta())
        .chain(std::iter::once(&UNUSED_IGNORE))
        .collect();
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    let rules: Vec<Value> = metas
        .iter()
        .map(|m| {
            json!({
                "id": m.name,
                "shortDescription": {"text": m.summary},
                "help": {"text": m.help},
                "defaultConfiguration": {"level": level(m.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": format!("{} {}", f.message, f.help)},
            });
            if let Some(index) = metas.iter().position(|m| m.name == f.rule) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(file) = &f.file {
                let mut location =
                    json!({"artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"}});
                if let Some(line) = f.line.filter(|l| *l > 0) {
                    location["region"] = json!({"startLine": line});
                }
                result["locations"] = json!([{"physicalLocation": location}]);
            }
            let mut props = serde_json::Map::new();
            if let Some(c) = &f.commit {
                props.insert("commit".into(), json!(c));
            }
            if let Some(r) = &f.revision {
                props.insert("revision".into(), json!(r));
            }
            if !props.is_empty() {
                result["properties"] = Value::Object(props);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": env!("CARGO_PKG_NAME"),
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/postmortem-tool/postmortem",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Excerpt;

    fn finding() -> Finding {
        Finding::new(
            &crate::check::rules::fk_type_mismatch::META,
            "foreign key deals.owner_id -> users.id pairs character varying with uuid",
        )
        .file("backend/alembic/versions/36b3e62b4148_x.py")
        .line(39)
        .revision("36b3e62b4148")
        .excerpt(Some(Excerpt {
            start_line: 38,
            lines: vec!["a".into(), "b".into()],
            highlight: 39,
        }))
    }

    #[test]
    fn summary_counts() {
        assert_eq!(summary(&[]), "No findings.");
        assert_eq!(summary(&[finding(), finding()]), "Found 2 errors.");
        let warning = finding().severity(Severity::Warning);
        assert_eq!(
            summary(&[finding(), warning]),
            "Found 1 error and 1 warning."
        );
    }

    #[test]
    fn github_escapes_newlines_and_property_separators() {
        let mut f = finding();
        f.message = "50% done\nnext, line".into();
        f.file = Some("a,b:c.py".into());
        let out = github(&[f]);
        assert!(out.starts_with("::error file=a%2Cb%3Ac.py,line=39,title=fk-type-mismatch::50%25 done%0Anext, line%0A"), "{out}");
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn sarif_results_point_into_the_rule_table() {
        let out = sarif(&[finding()]);
        let run = &out["runs"][0];
        let index = run["results"][0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][index]["id"],
            "fk-type-mismatch"
        );
        assert_eq!(
            run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            39
        );
    }
}
