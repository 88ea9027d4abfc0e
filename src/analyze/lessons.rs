//! Lessons suggested by the findings and the analysis: what would have caught the failure
//! before it reached a deploy, and what made it last. A lesson generalises; it never repeats
//! the Recommended Fix (which says what to change in this incident), so it names no line,
//! operation or value of the fix.

use crate::analyze::{LogFailure, RootCause, Streak};
use crate::check::{rules_of, Category};
use crate::evidence::{short_sha, Evidence};

/// Rules `postmortem check` runs on the migration files alone (the graph and the simulated
/// schema): a CI gate would have stopped the commit before it deployed.
fn static_rules() -> impl Iterator<Item = &'static str> {
    rules_of(Category::Graph)
        .chain(rules_of(Category::Schema))
        .map(|r| r.meta().name)
}

/// The suggested lessons, "what would have caught it" first, then "what made it last".
pub fn suggest(
    evidence: &Evidence,
    streak: Option<&Streak>,
    causes: &[RootCause],
    log_failures: &[LogFailure],
) -> Vec<String> {
    let mut out = Vec::new();
    let fired = |rule: &str| evidence.findings.iter().any(|f| f.rule == rule);
    let top = causes.first();

    // What would have caught it.
    let static_rules: Vec<&str> = static_rules().filter(|r| fired(r)).collect();
    let caught_statically = top
        .and_then(|c| c.finding_rule.as_deref())
        .is_some_and(|r| static_rules.contains(&r));
    if caught_statically || (top.is_none() && !static_rules.is_empty()) {
        let rules = static_rules
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(format!(
            "What would have caught it: `postmortem check` in CI. It reports {rules} from the migration files alone, before anything deploys."
        ));
    }
    let migration_failed = top.is_some_and(|c| c.kind == "migration" && c.observed);
    // SQLite under the tests explains a migration that passed them, not an OOM or a build.
    let migration_cause = top.is_none_or(|c| c.kind == "migration");
    if fired("sqlite-tests-postgres-prod") && migration_cause {
        out.push(
            "What would have caught it: a migration test on PostgreSQL in CI. The tests run on SQLite, which accepts schema changes PostgreSQL rejects.".to_string(),
        );
    } else if migration_failed && !caught_statically {
        out.push(
            "What would have caught it: running the migrations in CI on PostgreSQL, with data like production's. The deploy was the first place this migration met such a database.".to_string(),
        );
    }
    match top.map(|c| c.kind.as_str()) {
        Some("build") => out.push(
            "What would have caught it: the same install in CI as in Render's build. The build failed on Render first, after the commit was merged.".to_string(),
        ),
        Some("health_check") => out.push(
            "What would have caught it: a smoke test that starts the service as Render does and requests its health check path. Nothing exercised that path before the deploy.".to_string(),
        ),
        Some("start") if log_failures.iter().any(|f| f.env_var.is_some()) => out.push(
            "What would have caught it: starting the app in CI with only the environment variables the Render service defines. The code reads one the service does not set.".to_string(),
        ),
        Some("oom") => out.push(
            "What would have caught it: measuring the new version's memory at start against the plan's limit. The limit was first met in production.".to_string(),
        ),
        _ => {}
    }

    // What made it last.
    let mut dated: Vec<(Option<&str>, &str)> = evidence
        .findings
        .iter()
        .filter(|f| f.rule == "phantom-migration")
        .filter_map(|f| {
            let date = f.data.get("date").and_then(|d| d.as_str());
            Some((date, f.commit.as_deref()?))
        })
        .collect();
    dated.sort();
    dated.dedup();
    let phantoms: Vec<&str> = dated.into_iter().map(|(_, sha)| sha).collect();
    if !phantoms.is_empty() {
        let shas = phantoms
            .iter()
            .map(|s| format!("`{}`", short_sha(s)))
            .collect::<Vec<_>>()
            .join(", ");
        let n = match phantoms.len() {
            1 => "A \"fix\" commit".to_string(),
            n => format!("{n} \"fix\" commits"),
        };
        out.push(format!(
            "What made it last: {n} ({shas}) described migrations they did not contain, so every redeploy ran the same failing revision. Review a fix by its diff, not its message."
        ));
    }
    if let Some(s) = streak.filter(|s| s.count >= 3) {
        let over = match (s.first_failed_at, s.last_failed_at) {
            (Some(a), Some(b)) if b > a => format!(
                " over {}",
                crate::analyze::timeline::human_duration((b - a).num_seconds())
            ),
            _ => String::new(),
        };
        let first_logged = log_failures
            .iter()
            .any(|f| f.deploy_id.as_deref() == Some(s.first_failed.as_str()));
        let named = if first_logged {
            ", whose log already named the cause"
        } else {
            ""
        };
        out.push(format!(
            "What made it last: {} more deploys{over} failed as the first did{named}. Read a failed deploy's log before pushing again.",
            s.count - 1
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::rules::sqlite_tests_postgres_prod;
    use crate::check::Finding;
    use crate::evidence::Service;

    fn cause(kind: &str) -> RootCause {
        RootCause {
            rank: 1,
            kind: kind.into(),
            summary: String::new(),
            revision: None,
            file: None,
            line: None,
            finding_rule: None,
            evidence: Vec::new(),
            suspect: None,
            unattributed: None,
            observed: true,
        }
    }

    /// SQLite under the tests explains a migration that passed them; an OOM keeps its own lesson.
    #[test]
    fn the_sqlite_lesson_is_for_migration_outages_only() {
        let mut evidence = Evidence::new(Service::default());
        evidence.findings.push(Finding::new(
            &sqlite_tests_postgres_prod::META,
            "tests on SQLite",
        ));
        let sqlite = |kind: &str| {
            suggest(&evidence, None, &[cause(kind)], &[])
                .iter()
                .any(|l| l.contains("SQLite"))
        };
        assert!(sqlite("migration"));
        assert!(!sqlite("oom"));
        assert!(!sqlite("build"));
    }

    #[test]
    fn static_rules_come_from_the_registry() {
        let rules: Vec<&str> = static_rules().collect();
        for rule in [
            "fk-type-mismatch",
            "missing-parent",
            "duplicate-branch-label",
        ] {
            assert!(rules.contains(&rule), "{rule}");
        }
        assert!(!rules.contains(&"phantom-migration"));
    }
}
