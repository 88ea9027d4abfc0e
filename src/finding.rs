//! The vocabulary of findings: what a rule reports ([`Finding`], its [`Severity`], the source
//! [`Excerpt`] it points at) and what a rule is ([`RuleMeta`]). It lies beneath every stage:
//! rules produce findings, the evidence stores them, the analysis and the report read them.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity `{other}` (expected error, warning or info)"
            )),
        }
    }
}

/// A few lines of source around a finding, kept in the evidence so that `render` can show
/// them without the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    pub start_line: u32,
    pub lines: Vec<String>,
    /// The line the finding points at, within `lines`' numbering (absolute line number).
    pub highlight: u32,
}

impl Excerpt {
    /// Lines `line - before ..= line + after` of `source` (1-based), clamped to the file.
    pub fn around(source: &str, line: u32, before: u32, after: u32) -> Option<Excerpt> {
        if line == 0 {
            return None;
        }
        let start = line.saturating_sub(before).max(1);
        let lines: Vec<String> = source
            .lines()
            .skip(start as usize - 1)
            .take((line + after + 1 - start) as usize)
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return None;
        }
        Some(Excerpt {
            start_line: start,
            lines,
            highlight: line,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule name.
    pub rule: String,
    pub severity: Severity,
    /// What is wrong and its effect.
    pub message: String,
    /// One imperative sentence: what to do about it.
    pub help: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<Excerpt>,
    /// Rule-specific detail, documented in each rule's file.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Finding {
    pub fn new(meta: &RuleMeta, message: impl Into<String>) -> Finding {
        Finding {
            rule: meta.name.to_string(),
            severity: meta.severity,
            message: message.into(),
            help: meta.help.to_string(),
            file: None,
            line: None,
            commit: None,
            revision: None,
            excerpt: None,
            data: serde_json::Value::Null,
        }
    }

    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    pub fn commit(mut self, sha: impl Into<String>) -> Self {
        self.commit = Some(sha.into());
        self
    }

    pub fn revision(mut self, id: impl Into<String>) -> Self {
        self.revision = Some(id.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn excerpt(mut self, excerpt: Option<Excerpt>) -> Self {
        self.excerpt = excerpt;
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Most severe first, then by rule, place and message: the order every output uses.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.line.cmp(&b.line))
            .then_with(|| a.revision.cmp(&b.revision))
            .then_with(|| a.commit.cmp(&b.commit))
            .then_with(|| a.message.cmp(&b.message))
    });
    findings.dedup();
}

/// What a rule is, for `--help`, the report and SARIF's rule table.
#[derive(Debug)]
pub struct RuleMeta {
    pub name: &'static str,
    pub severity: Severity,
    /// What it flags, one line.
    pub summary: &'static str,
    /// What to do, one imperative sentence.
    pub help: &'static str,
    /// What the rule reads, so a command can ask the registry for a kind of rule.
    pub category: Category,
}

/// What a rule reads. `postmortem migrations` runs the [`Graph`](Category::Graph) rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The revision graph of one migration set (heads, parents, duplicates, cycles).
    Graph,
    /// The schema the migrations build, simulated.
    Schema,
    /// The migration files as the parser read them.
    Parse,
    /// The git history's migration changes and commit messages.
    History,
    /// The deploys, their events and logs.
    Deploys,
    /// Which database engines the tests and the deployment use.
    Database,
    /// The inline `# postmortem: ignore[rule]` comments.
    Ignores,
}
