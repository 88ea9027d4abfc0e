//! `phantom-migration` on histories shaped like real ones: revisions outside the migration
//! folders found at HEAD (a plugin's folder, a folder that moved), revision IDs written with a
//! suffix, messages older than the first migration, and shallow clones. Real git repositories
//! built with git2 in temp dirs; the messages are quoted from the histories named.

use std::path::Path;

use postmortem::check::rules::phantom_migration::PhantomMigration;
use postmortem::check::{CheckContext, Finding, Rule};
use postmortem::collect::git::GitRepo;
use postmortem::evidence::{Evidence, Service};

mod support;
use support::git::{migration, TestRepo};

fn findings(path: &Path, dirs: &[&str]) -> Vec<Finding> {
    let repo = GitRepo::open(path).unwrap();
    let dirs: Vec<String> = dirs.iter().map(|d| d.to_string()).collect();
    let history = repo.migration_history(&dirs).unwrap();
    let evidence = Evidence::new(Service::default());
    PhantomMigration.check(&CheckContext::new(&evidence, Some(&history)))
}

fn statuses(finding: &Finding) -> Vec<(String, String)> {
    finding.data["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn for_commit<'a>(findings: &'a [Finding], sha: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.commit.as_deref() == Some(sha))
}

const CORE: &str = "app/migrations/versions";

#[test]
fn a_revision_in_a_plugins_folder_edited_by_the_naming_commit_is_not_a_phantom() {
    let mut t = TestRepo::new();
    t.commit(
        "Initial schema",
        &[(
            "app/migrations/versions/4e4a8f3d1b2c_init.py",
            Some(&migration("4e4a8f3d1b2c", None)),
        )],
    );
    let plugin = "app/plugins/dynamic_challenges/migrations/eb68f277ab61_add_func_column_to_dynamic_challenges.py";
    t.commit(
        "Add the func column",
        &[(
            plugin,
            Some(&migration("eb68f277ab61", Some("4e4a8f3d1b2c"))),
        )],
    );
    // CTFd/CTFd a3051a0 (2023-07-11): the plugin's folder is not the one discovery reads.
    let fix = t.commit(
        "Fix down revision ID in eb68f277ab61_add_func_column_to_dynamic_challenges.py (#2362)",
        &[(
            plugin,
            Some(&migration("eb68f277ab61", Some("4e4a8f3d1b2c"))),
        )],
    );
    let found = findings(t.path(), &[CORE]);
    assert!(for_commit(&found, &fix).is_none(), "{found:#?}");
    assert!(found.is_empty(), "{found:#?}");
}

/// mwdb-core's history: `malwarecage/` became `mwdb/` after the migration was added.
struct Moved {
    repo: TestRepo,
    names_old_path: String,
    names_before_adding: String,
    adds: String,
    phantom_after_move: String,
}

fn moved_folder() -> Moved {
    let mut t = TestRepo::new();
    let old = "malwarecage/model/migrations/versions";
    let new = "mwdb/model/migrations/versions";
    let init = migration("2e1d1e3fbc2e", None);
    let quick = migration("43b78a070936", Some("2e1d1e3fbc2e"));
    let later = migration("c5b2a6f1d9e0", Some("43b78a070936"));
    t.commit(
        "Initial schema",
        &[(&format!("{old}/2e1d1e3fbc2e_init.py"), Some(&init))],
    );
    let names_before_adding = t.commit(
        "Prepare the tag model for migration c5b2a6f1d9e0",
        &[("malwarecage/app.py", Some("print('prep')\n"))],
    );
    // mwdb-core 766f1a6 (2020-08-18), a squash merge whose body lists the PR's commits.
    let names_old_path = t.commit(
        "Quick query feature (#115)\n\n* Beta version of back-end for queries\n\n\
         * Update malwarecage/model/migrations/versions/43b78a070936_add_quick_query_model.py\n\n\
         Co-authored-by: Paweł Srokosz <pawel.srokosz@cert.pl>\n",
        &[(
            &format!("{old}/43b78a070936_add_quick_query_model.py"),
            Some(&quick),
        )],
    );
    t.commit(
        "Rename malwarecage to mwdb",
        &[
            (&format!("{old}/2e1d1e3fbc2e_init.py"), None),
            (
                &format!("{old}/43b78a070936_add_quick_query_model.py"),
                None,
            ),
            (&format!("{new}/2e1d1e3fbc2e_init.py"), Some(&init)),
            (
                &format!("{new}/43b78a070936_add_quick_query_model.py"),
                Some(&quick),
            ),
        ],
    );
    let adds = t.commit(
        "Add the tag model",
        &[(&format!("{new}/c5b2a6f1d9e0_tags.py"), Some(&later))],
    );
    let phantom_after_move = t.commit(
        "fix(migrations): add migration 9d4e7a3c2b1f for the tag index",
        &[("mwdb/app.py", Some("print('index')\n"))],
    );
    Moved {
        repo: t,
        names_old_path,
        names_before_adding,
        adds,
        phantom_after_move,
    }
}

#[test]
fn a_revision_that_existed_under_a_folders_old_path_is_not_a_phantom() {
    let case = moved_folder();
    let found = findings(case.repo.path(), &["mwdb/model/migrations/versions"]);
    assert!(
        for_commit(&found, &case.names_old_path).is_none(),
        "{found:#?}"
    );
    // Not merely left out as older than the folder: present in that commit's tree.
    let repo = GitRepo::open(case.repo.path()).unwrap();
    let history = repo
        .migration_history(&["mwdb/model/migrations/versions".to_string()])
        .unwrap();
    let mention = history
        .mentions
        .iter()
        .find(|m| m.commit.sha == case.names_old_path)
        .expect("a mention");
    assert_eq!(mention.present, ["43b78a070936"]);
}

#[test]
fn phantoms_in_a_repository_whose_folder_moved_are_still_found() {
    let case = moved_folder();
    let found = findings(case.repo.path(), &["mwdb/model/migrations/versions"]);
    let never = for_commit(&found, &case.phantom_after_move).expect("never committed");
    assert_eq!(
        statuses(never),
        [("9d4e7a3c2b1f".to_string(), "never_committed".to_string())]
    );
    // Added after the move: "added later" names the commit that added it, not the move.
    let later = for_commit(&found, &case.names_before_adding).expect("added later");
    assert_eq!(later.data["ids"][0]["status"], "added_later");
    assert_eq!(later.data["ids"][0]["by_commit"], case.adds.as_str());
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn an_id_a_revision_continues_with_a_non_hex_character_is_that_revision() {
    let mut t = TestRepo::new();
    t.commit(
        "Initial schema",
        &[(
            "app/migrations/versions/4e4a8f3d1b2c_init.py",
            Some(&migration("4e4a8f3d1b2c", None)),
        )],
    );
    t.commit(
        "Add the hash reset",
        &[(
            "app/migrations/versions/ecb6985693c0_hash_reset.py",
            Some(&migration("ecb6985693c0_", Some("4e4a8f3d1b2c"))),
        )],
    );
    let names = t.commit(
        "Make the hash reset migration ecb6985693c0 more explicit",
        &[("app/main.py", Some("print('x')\n"))],
    );
    // A longer hex run is another ID.
    let other = t.commit(
        "Fix migration ecb6985693c1",
        &[("app/main.py", Some("print('y')\n"))],
    );
    let found = findings(t.path(), &[CORE]);
    assert!(for_commit(&found, &names).is_none(), "{found:#?}");
    assert!(for_commit(&found, &other).is_some(), "{found:#?}");
}

#[test]
fn messages_older_than_the_first_migration_name_no_revision_but_later_ones_do() {
    let mut t = TestRepo::new();
    // ckan/ckan 23887bb (2009-11-17), a Mercurial-era message, years before CKAN's Alembic.
    let old = t.commit(
        "[model]: (ticket:175) Following on from 873422abf3e4, deleted unnecessary line in migration script.",
        &[("ckan/model/package.py", Some("x = 1\n"))],
    );
    t.commit(
        "Switch to Alembic",
        &[(
            "ckan/migration/versions/001_103676e0a497_create_existing_tables.py",
            Some(&migration("103676e0a497", None)),
        )],
    );
    let after = t.commit(
        "fix(migrations): add migration 873422abf3e4 for the package index",
        &[("ckan/model/package.py", Some("x = 2\n"))],
    );
    let found = findings(t.path(), &["ckan/migration/versions"]);
    assert!(for_commit(&found, &old).is_none(), "{found:#?}");
    let flagged = for_commit(&found, &after).expect("named after the first migration");
    assert_eq!(
        statuses(flagged),
        [("873422abf3e4".to_string(), "never_committed".to_string())]
    );
}

#[test]
fn an_id_in_its_commits_folders_is_present_and_the_rest_of_the_history_is_not_read() {
    // The common path: every named ID is in its commit's folders, so neither the history of
    // every revision nor the first migration is needed, and neither is worked out.
    let mut t = TestRepo::new();
    t.commit("Initial", &[("README", Some("x\n"))]);
    t.commit(
        "Add migration 4e4a8f3d1b2c",
        &[(
            "app/migrations/versions/4e4a8f3d1b2c_init.py",
            Some(&migration("4e4a8f3d1b2c", None)),
        )],
    );
    t.commit("Docs", &[("README", Some("y\n"))]);
    let repo = GitRepo::open(t.path()).unwrap();
    let history = repo.migration_history(&[CORE.to_string()]).unwrap();
    assert_eq!(history.mentions.len(), 1);
    assert_eq!(history.mentions[0].present, ["4e4a8f3d1b2c"]);
    assert_eq!(history.head_revisions, ["4e4a8f3d1b2c"]);
    assert_eq!(history.commits_scanned, 3);
    assert_eq!(history.first_migration, None);
    assert!(history.revisions.is_empty(), "{:?}", history.revisions);
}

#[test]
fn a_shallow_clone_says_what_it_scanned_instead_of_never_committed() {
    let mut t = TestRepo::new();
    t.commit(
        "Initial schema",
        &[(
            "app/migrations/versions/4e4a8f3d1b2c_init.py",
            Some(&migration("4e4a8f3d1b2c", None)),
        )],
    );
    for i in 0..3 {
        t.commit(
            &format!("Change {i}"),
            &[("app/main.py", Some(&format!("{i}\n")))],
        );
    }
    let phantom = t.commit(
        "fix(migrations): add migration 3a15202c7dc2 (convert users.id)",
        &[("app/main.py", Some("print('uuid')\n"))],
    );
    let clone = tempfile::tempdir().unwrap();
    let target = clone.path().join("shallow");
    let url = format!("file://{}", t.path().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "2", &url])
        .arg(&target)
        .status()
        .expect("git runs");
    assert!(status.success());
    let found = findings(&target, &[CORE]);
    let f = for_commit(&found, &phantom).expect("still flagged: the tree lacks it");
    let entry = &f.data["ids"][0];
    assert_eq!(entry["status"], "not_in_shallow_history");
    assert_eq!(entry["commits_scanned"], 2);
    assert_eq!(entry["cut_at"].as_array().map(Vec::len), Some(1));
    assert!(f.message.contains("shallow clone"), "{}", f.message);
    assert!(f.message.contains("git fetch --unshallow"), "{}", f.message);
    assert!(!f.message.contains("never committed"), "{}", f.message);
    // The full history says it plainly.
    let full = findings(t.path(), &[CORE]);
    assert_eq!(
        for_commit(&full, &phantom).unwrap().data["ids"][0]["status"],
        "never_committed"
    );
}
