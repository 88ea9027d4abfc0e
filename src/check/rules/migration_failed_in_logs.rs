//! `migration-failed-in-logs`: deploy logs show a migration failing
//!
//! **What it flags.** A migration that the deploy logs show failing: Alembic's `Running upgrade
//! A -> B` followed by a traceback (the database error class, the `DETAIL:` line, the SQL, the
//! migration file and line of the last frame), or Alembic refusing to run at all (multiple
//! heads, `Can't locate revision`, a `KeyError` on a missing `down_revision`). One finding per
//! failing revision, aggregating every deploy that failed on it.
//!
//! **Why it matters.** A migration that fails inside the start command or the Docker entrypoint
//! (`alembic upgrade head && uvicorn ...`) fails every deploy after it, and a restart of the
//! running instance re-runs it: the service goes down. The revision in the logs is the one to
//! fix, whatever the commit messages since say was fixed.
//!
//! **Example.** `revision 36b3e62b4148 failed in 14 deploys:
//! psycopg2.errors.DatatypeMismatch: foreign key constraint "deals_owner_id_fkey" cannot be
//! implemented`, at `backend/alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py:33`.
//!
//! **Fix.** Correct the failing revision (for the example: convert `users.id` before creating the
//! foreign key to it) and run `alembic upgrade head` against PostgreSQL before deploying.
//!
//! `file`/`line`: the revision's file in the repository when the evidence has that revision,
//! else the migration file whose path ends the logged one. `data`: the first failure's
//! [`LogFailure`] fields, `deploys` (IDs, oldest first) and `count`.

use crate::check::{Category, CheckContext, Finding, Rule, RuleMeta, Severity};
use crate::deploylog::{error_line, migration_failures_by_revision, repo_location, LogFailure};
use crate::evidence::{deploy_time, Evidence};

pub struct MigrationFailedInLogs;

pub static META: RuleMeta = RuleMeta {
    name: "migration-failed-in-logs",
    severity: Severity::Error,
    summary: "deploy logs show a migration failing",
    help: "Fix the failing revision and test it against PostgreSQL before deploying.",
    category: Category::Deploys,
};

fn deploys_oldest_first(evidence: &Evidence, failures: &[&LogFailure]) -> Vec<String> {
    let mut ids: Vec<&str> = failures
        .iter()
        .filter_map(|f| f.deploy_id.as_deref())
        .collect();
    ids.sort_by(|a, b| {
        let ta = evidence.deploy(a).and_then(deploy_time);
        let tb = evidence.deploy(b).and_then(deploy_time);
        ta.cmp(&tb).then_with(|| a.cmp(b))
    });
    ids.dedup();
    ids.into_iter().map(str::to_string).collect()
}

impl Rule for MigrationFailedInLogs {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let evidence = ctx.evidence;
        let mut groups = migration_failures_by_revision(ctx.log_failures());

        let mut findings = Vec::new();
        for group in groups.values_mut() {
            group.sort_by(|a, b| {
                a.timestamp
                    .cmp(&b.timestamp)
                    .then_with(|| a.log_id.cmp(&b.log_id))
            });
            let Some(first) = group.first().copied() else {
                continue;
            };
            let deploys = deploys_oldest_first(evidence, group);
            let count = deploys.len();
            let where_ = match count {
                0 => "in the deploy logs".to_string(),
                1 => "in 1 deploy".to_string(),
                n => format!("in {n} deploys"),
            };
            let what = match &first.revision {
                Some(rev) => format!("revision {rev} failed"),
                None => "Alembic failed".to_string(),
            };
            let error = error_line(first).unwrap_or_else(|| "the migration failed".to_string());
            let message = format!("{what} {where_}: {error}");

            let mut data = serde_json::to_value(first).unwrap_or_default();
            if let Some(obj) = data.as_object_mut() {
                obj.insert("deploys".to_string(), serde_json::json!(deploys));
                obj.insert("count".to_string(), serde_json::json!(count));
            }
            let mut finding = Finding::new(&META, message).data(data);
            if let Some(rev) = &first.revision {
                finding = finding.revision(rev.clone());
            }
            if let Some((file, line)) = repo_location(evidence, first) {
                finding = finding.file(file);
                if let Some(line) = line {
                    finding = finding.line(line);
                }
            }
            if let Some(sha) = deploys
                .first()
                .and_then(|id| evidence.deploy(id))
                .and_then(|d| d.commit.as_ref())
            {
                finding = finding.commit(sha.sha.clone());
            }
            findings.push(finding);
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{LogLine, Service};
    use crate::migrations::model::{MigrationSet, Revision};
    use chrono::{Duration, TimeZone, Utc};

    const LOG: &str = "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Running upgrade a1b2c3d4e5f6 -> 36b3e62b4148, add deals
Traceback (most recent call last):
  File \"/app/backend/alembic/versions/36b3e62b4148_add_deals.py\", line 33, in upgrade
    op.create_table(
sqlalchemy.exc.ProgrammingError: (psycopg2.errors.DatatypeMismatch) foreign key constraint \"deals_owner_id_fkey\" cannot be implemented
DETAIL:  Key columns \"owner_id\" and \"id\" are of incompatible types: character varying and uuid.
exit status: 1";

    fn evidence_with(log: &str, deploys: &[&str]) -> Evidence {
        let mut evidence = Evidence::new(Service::default());
        let t0 = Utc
            .with_ymd_and_hms(2025, 11, 10, 15, 43, 0)
            .single()
            .unwrap_or_default();
        for (d, deploy) in deploys.iter().enumerate() {
            for (i, line) in log.lines().enumerate() {
                evidence.logs.push(LogLine {
                    id: format!("{deploy}-{i}"),
                    timestamp: t0 + Duration::minutes(d as i64) + Duration::seconds(i as i64),
                    message: line.to_string(),
                    deploy_id: Some(deploy.to_string()),
                    labels: Default::default(),
                });
            }
        }
        evidence.migration_sets.push(MigrationSet {
            path: "backend/alembic/versions".to_string(),
            framework: "alembic".to_string(),
            commit: None,
            revisions: vec![Revision {
                id: "36b3e62b4148".to_string(),
                parents: vec!["a1b2c3d4e5f6".to_string()],
                file: "backend/alembic/versions/36b3e62b4148_add_deals.py".to_string(),
                line: 9,
                message: "add deals".to_string(),
                branch_labels: vec![],
                depends_on: vec![],
                upgrade: vec![],
                ignores: vec![],
                unknown: vec![],
            }],
            heads: vec![],
            bases: vec![],
            branchpoints: vec![],
            mergepoints: vec![],
            origin: None,
            unread: vec![],
        });
        evidence
    }

    fn run(evidence: &Evidence) -> Vec<Finding> {
        MigrationFailedInLogs.check(&CheckContext::new(evidence, None))
    }

    #[test]
    fn err() {
        let evidence = evidence_with(LOG, &["dep-1", "dep-2", "dep-3"]);
        let findings = run(&evidence);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            f.message,
            "revision 36b3e62b4148 failed in 3 deploys: psycopg2.errors.DatatypeMismatch: foreign key constraint \"deals_owner_id_fkey\" cannot be implemented"
        );
        assert_eq!(f.revision.as_deref(), Some("36b3e62b4148"));
        assert_eq!(
            f.file.as_deref(),
            Some("backend/alembic/versions/36b3e62b4148_add_deals.py")
        );
        assert_eq!(f.line, Some(33));
        assert_eq!(
            f.data["deploys"],
            serde_json::json!(["dep-1", "dep-2", "dep-3"])
        );
        assert_eq!(f.data["db_error"], "psycopg2.errors.DatatypeMismatch");
    }

    #[test]
    fn ok() {
        let clean = "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Running upgrade a1b2c3d4e5f6 -> 36b3e62b4148, add deals
==> Migrations complete
exit status: 0";
        assert!(run(&evidence_with(clean, &["dep-1"])).is_empty());
        // A crash of the application after the migrations is not a migration failure.
        let app = "INFO  [alembic.runtime.migration] Running upgrade a -> b, x
==> Starting uvicorn
ModuleNotFoundError: No module named 'stripe'
exit status: 1";
        assert!(run(&evidence_with(app, &["dep-1"])).is_empty());
    }
}
