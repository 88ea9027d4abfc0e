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
//! A file past this tool's own bounds (8 MiB, one token per 3 bytes, nesting 1,000 deep) is
//! reported as skipped, a warning: the analysis has a gap there, but the file may be fine.
//!
//! Example: a merge conflict marker (`<<<<<<< HEAD`) left in a revision file.
//!
//! Fix: correct the file so that `python -c "import ast; ast.parse(open(F).read())"` succeeds.
//!
//! Loading records these files (`migrations::LoadFailure`, see `migrations::load`); [`findings`]
//! reports them and `check` only receives them, so the rule itself finds nothing in the evidence.
//! `data`: `{"column"}` when known.

use crate::check::{Category, CheckContext, Excerpt, Finding, Rule, RuleMeta, Severity};
use crate::migrations::alembic::ParseFailure;
use crate::migrations::LoadFailure;

pub struct UnparseableMigration;

pub static META: RuleMeta = RuleMeta {
    name: "unparseable-migration",
    severity: Severity::Error,
    summary: "a migration file the parser cannot read",
    help: "Fix the syntax error so that Alembic (and this tool) can load the file.",
    category: Category::Parse,
};

impl Rule for UnparseableMigration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// Loading produces these facts (a file that cannot be parsed has no revision in the
    /// evidence to check); `migrations::load` returns them, [`findings`] reports them and
    /// `check::run` filters them with the rest, as `prior`.
    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

/// The findings for what `migrations::load` could not load, in its order.
pub fn findings(failures: &[LoadFailure]) -> Vec<Finding> {
    failures
        .iter()
        .map(|f| match f {
            LoadFailure::Unreadable { path, why } => unreadable(path, why),
            LoadFailure::Unparseable {
                file,
                failure,
                source,
            } => finding(file, failure, source),
        })
        .collect()
}

/// The finding for a file the parser rejected, with the lines around the failure.
pub fn finding(file: &str, failure: &ParseFailure, source: &[u8]) -> Finding {
    if failure.over_limit {
        return skipped(file, failure);
    }
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

/// The finding for a file this tool skipped because it passes one of its own bounds: a gap in
/// the analysis, not a fault of the file (Python may well load it), so a warning and no claim
/// about Alembic, and no excerpt (its first line can be megabytes long).
fn skipped(file: &str, failure: &ParseFailure) -> Finding {
    Finding::new(
        &META,
        format!(
            "`{file}` was skipped as too large to analyse: {}; its revision is unknown to every other rule, and whether Alembic can load it was not checked",
            failure.message
        ),
    )
    .severity(Severity::Warning)
    .help("Check this file by hand, or move its data out of the revision file into a file the migration reads.")
    .file(file)
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
    use crate::migrations;
    use crate::source::WorkDir;

    const GOOD: &str = "revision = \"a\"\ndown_revision = None\n\ndef upgrade():\n    pass\n";

    fn load(
        files: &[(&str, &[u8])],
    ) -> (Vec<migrations::model::MigrationSet>, Vec<super::Finding>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("alembic/versions")).unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join("alembic/versions").join(name), body).unwrap();
        }
        let source = WorkDir::new(dir.path());
        let graphs = migrations::flag_graphs(&source, &["alembic/versions".to_string()]).unwrap();
        let (sets, failures) = migrations::load(&source, &graphs);
        (sets, super::findings(&failures))
    }

    #[test]
    fn err() {
        let broken: &[u8] = b"revision = \"b\"\ndown_revision = \"a\"\n\ndef upgrade(:\n    pass\n";
        let latin: &[u8] = b"revision = \"c\"\ndown_revision = \"a\"\n# caf\xe9\n";
        let (sets, findings) =
            load(&[("a.py", GOOD.as_bytes()), ("b.py", broken), ("c.py", latin)]);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        let syntax = &findings[0];
        assert_eq!(syntax.rule, "unparseable-migration");
        assert_eq!(syntax.file.as_deref(), Some("alembic/versions/b.py"));
        assert_eq!(syntax.line, Some(4));
        assert_eq!(syntax.excerpt.as_ref().map(|e| e.highlight), Some(4));
        assert_eq!(findings[1].file.as_deref(), Some("alembic/versions/c.py"));
        // The readable file is still analysed.
        assert_eq!(sets[0].revisions.len(), 1);
        assert_eq!(sets[0].revisions[0].id, "a");
    }

    #[test]
    fn a_file_past_the_bounds_is_skipped_not_condemned() {
        let deep = format!(
            "revision = \"d\"\ndown_revision = \"a\"\nx = {}1\n",
            "-".repeat(5_000)
        );
        let (sets, findings) = load(&[("a.py", GOOD.as_bytes()), ("d.py", deep.as_bytes())]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.severity, super::Severity::Warning);
        assert!(
            f.message.contains("was skipped as too large to analyse")
                && f.message.contains("nests deeper than 1000 levels")
                && !f.message.contains("Alembic fails"),
            "{}",
            f.message
        );
        assert!(f.excerpt.is_none());
        assert_eq!(sets[0].revisions.len(), 1);
    }

    /// The child of a skipped file names a revision that exists: `missing-parent` must not say
    /// that every Alembic command fails with KeyError.
    #[test]
    fn the_child_of_a_skipped_file_has_no_missing_parent() {
        let deep = format!(
            "revision: str = 'd'\ndown_revision = \"a\"\nx = {}1\n",
            "-".repeat(5_000)
        );
        let child: &[u8] = b"revision = \"e\"\ndown_revision = \"d\"\n";
        let orphan: &[u8] = b"revision = \"f\"\ndown_revision = \"zz\"\n";
        let (sets, _) = load(&[
            ("a.py", GOOD.as_bytes()),
            ("d.py", deep.as_bytes()),
            ("e.py", child),
            ("f.py", orphan),
        ]);
        let unread: Vec<_> = sets[0].unread.iter().map(|u| u.revision.clone()).collect();
        assert_eq!(unread, [Some("d".to_string())]);
        let missing = crate::check::rules::missing_parent::check_set(&sets[0]);
        let targets: Vec<_> = missing.iter().map(|f| f.revision.clone()).collect();
        assert_eq!(targets, [Some("f".to_string())], "{missing:#?}");
    }

    #[test]
    fn ok() {
        let (sets, findings) = load(&[("a.py", GOOD.as_bytes())]);
        assert!(findings.is_empty(), "{findings:#?}");
        assert_eq!(sets[0].revisions.len(), 1);
    }
}
