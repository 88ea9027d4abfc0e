//! `no-migrations-found`: the project uses Alembic, but no revision graph was found
//!
//! Flags a repository with Alembic markers (an `alembic.ini`, an `env.py` that calls
//! `context.configure`, `alembic` or Flask-Migrate in its requirements) in which discovery found
//! no folder of revision files: every declared location was empty, pointed outside the
//! repository, or was computed at run time, and no folder heuristic matched.
//!
//! Why it matters: every migration rule then checks nothing, and `check` would pass while
//! looking at nothing; a broken migration ships unnoticed and fails the deploy.
//!
//! Example: `script_location = myapp:db:migrations` where `myapp` is installed from another
//! repository, or `version_locations` built in Python from a setting.
//!
//! Fix: name the folders with `--migrations` (`a,b` for several folders of one graph) or in
//! `postmortem.yaml`'s `migrations:`.
//!
//! Discovery produces this finding (see `pipeline`), as loading produces
//! `unparseable-migration`: the rule itself finds nothing in the evidence.
//! `data`: `{"markers": [files], "looked_for": [what was tried]}`.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::migrations::Discovery;

pub struct NoMigrationsFound;

pub static META: RuleMeta = RuleMeta {
    name: "no-migrations-found",
    severity: Severity::Warning,
    summary: "the project uses Alembic, but no revision graph was found: nothing was checked",
    help: "Name the migration folders with --migrations (a,b for one graph of several folders).",
    category: Category::Parse,
};

impl Rule for NoMigrationsFound {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// Discovery produces these findings (a graph that was not found leaves nothing in the
    /// evidence to check); the pipeline passes them to `check::run` as `prior`.
    fn check(&self, _ctx: &CheckContext<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

/// The finding for a repository with Alembic markers and no graph.
pub fn finding(discovery: &Discovery) -> Finding {
    let tried = if discovery.looked_for.is_empty() {
        String::new()
    } else {
        format!("; declared or tried: {}", discovery.looked_for.join("; "))
    };
    let message = format!(
        "the project uses Alembic ({}) but no revision graph was found (looked for script_location and version_locations in alembic.ini, pyproject.toml and env.py, `*/alembic/versions`, `*migrations/versions` and revision files beside an env.py{tried}): no migration was checked",
        discovery.markers.join(", ")
    );
    let mut finding = Finding::new(&META, message).data(serde_json::json!({
        "markers": discovery.markers,
        "looked_for": discovery.looked_for,
    }));
    if let Some(first) = discovery.markers.first() {
        finding = finding.file(first);
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::discover;
    use crate::source::WorkDir;

    fn discovered(files: &[(&str, &str)]) -> Discovery {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        discover(&WorkDir::new(dir.path())).unwrap()
    }

    #[test]
    fn err() {
        let found = discovered(&[
            (
                "alembic.ini",
                "[alembic]\nscript_location = myapp:db:migrations\n",
            ),
            ("app.py", "print('hello')\n"),
        ]);
        assert!(found.graphs.is_empty());
        let f = finding(&found);
        assert_eq!(f.rule, "no-migrations-found");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.file.as_deref(), Some("alembic.ini"));
        assert!(
            f.message.contains("alembic.ini:2 script_location = myapp:db:migrations: package resource myapp/db/migrations not found"),
            "{}",
            f.message
        );
    }

    #[test]
    fn ok() {
        let found = discovered(&[
            ("alembic.ini", "[alembic]\nscript_location = migrations\n"),
            (
                "migrations/versions/a.py",
                "revision = 'a'\ndown_revision = None\n",
            ),
        ]);
        assert_eq!(found.graphs.len(), 1);
        assert_eq!(found.markers, vec!["alembic.ini"]);
    }
}
