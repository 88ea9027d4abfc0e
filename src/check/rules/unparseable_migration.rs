//! `unparseable-migration`: a migration file the parser cannot read
//!
//! Flags a revision file that is not valid Python (a syntax error, bytes that are not UTF-8
//! without an encoding declaration), that declares no `revision`, or whose `revision` /
//! `down_revision` is not a literal. The finding carries the file and line; every other file
//! is still analysed.
//!
//! Why it breaks deploys: Alembic imports every file of the folder before it runs anything, so
//! one broken file makes `alembic upgrade head` fail with a `SyntaxError` (or "Could not
//! determine revision id") on every deploy, even when that migration was already applied.
//!
//! Example: a merge conflict marker (`<<<<<<< HEAD`) left in a revision file.
//!
//! Fix: correct the file so that `python -c "import ast; ast.parse(open(F).read())"` succeeds.
//!
//! The parser produces these findings while loading (see `migrations::load`); `check` only
//! receives them, so the rule itself finds nothing in the evidence.
//! `data`: `{"column"}` when known.

use crate::check::{CheckContext, Excerpt, Finding, Rule, RuleMeta, Severity};
use crate::migrations::alembic::ParseFailure;

pub struct UnparseableMigration;

pub static META: RuleMeta = RuleMeta {
    name: "unparseable-migration",
    severity: Severity::Error,
    summary: "a migration file the parser cannot read",
    help: "Fix the syntax error so that Alembic (and this tool) can load the file.",
};

impl Rule for UnparseableMigration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

/// The finding for a file the parser rejected, with the lines around the failure.
pub fn finding(file: &str, failure: &ParseFailure, source: &[u8]) -> Finding {
    let text = String::from_utf8_lossy(source);
    let message = format!(
        "`{file}` cannot be parsed ({failure}): Alembic fails to load the folder, so every migration command fails"
    );
    let mut finding = Finding::new(&META, message);
    if failure.message.starts_with("not valid UTF-8") {
        finding =
            finding.help("Save the file as UTF-8, or declare its encoding on its first line.");
    }
    finding
        .file(file)
        .line(failure.line)
        .excerpt(Excerpt::around(&text, failure.line, 2, 2))
        .data(serde_json::json!({"column": failure.column}))
}

/// The finding for a file (or folder) that could not be read at all.
pub fn unreadable(path: &str, why: &str) -> Finding {
    Finding::new(
        &META,
        format!(
            "`{path}` could not be analysed, {why}: its migrations are unknown to every other rule"
        ),
    )
    .file(path)
    .help("Make the file readable (permissions, encoding) and run again.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::alembic::parse_revision;

    #[test]
    fn err() {
        let source = b"revision = \"a\"\ndown_revision = None\n\ndef upgrade(:\n    pass\n";
        let failure = parse_revision("v/a.py", source).expect_err("syntax error");
        let f = finding("v/a.py", &failure, source);
        assert_eq!(f.rule, "unparseable-migration");
        assert_eq!(f.line, Some(4));
        assert!(f.message.contains("line 4"), "{}", f.message);
        assert_eq!(f.excerpt.map(|e| e.highlight), Some(4));
    }

    #[test]
    fn ok() {
        let source = b"revision = \"a\"\ndown_revision = None\n\ndef upgrade():\n    pass\n";
        assert!(parse_revision("v/a.py", source).is_ok());
        let evidence = crate::evidence::Evidence::new(Default::default());
        let ctx = CheckContext {
            evidence: &evidence,
            history: None,
        };
        assert!(UnparseableMigration.check(&ctx).is_empty());
    }
}
