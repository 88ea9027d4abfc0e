//! Git collector (git2): commits, changed files, and migration files read from any commit's tree.

use serde::{Deserialize, Serialize};

/// Which commits mention which migration IDs, and which commits added or removed which
/// migration files: what `phantom-migration` needs from the whole history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MigrationHistory {}
