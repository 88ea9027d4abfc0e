//! One file per rule; the registry in `check/mod.rs` is the only list of them.

pub mod alter_referenced_column;
pub mod duplicate_branch_label;
pub mod duplicate_revision;
pub mod failed_deploy_streak;
pub mod fk_type_mismatch;
pub mod migration_failed_in_logs;
pub mod missing_parent;
pub mod multiple_heads;
pub mod no_migrations_found;
pub mod phantom_migration;
pub mod revision_cycle;
pub mod sqlite_tests_postgres_prod;
pub mod unparseable_migration;
