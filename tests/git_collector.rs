//! The git collector and `phantom-migration` against real repositories built with git2 in temp
//! dirs, with fixed signatures and times.

use std::path::Path;

use chrono::{DateTime, Utc};
use git2::{Signature, Time};
use postmortem::check::rules::phantom_migration::PhantomMigration;
use postmortem::check::{CheckContext, Finding, Rule};
use postmortem::collect::git::{collect, GitRepo};
use postmortem::evidence::{ChangeKind, Deploy, DeployCommit, DeployStatus, Evidence, Service};
use postmortem::source::FileSource;

mod support;
use support::git::{migration, TestRepo, T0};

fn deploy(id: &str, status: DeployStatus, sha: &str, minute: i64) -> Deploy {
    Deploy {
        id: id.to_string(),
        status,
        trigger: None,
        commit: Some(DeployCommit {
            sha: sha.to_string(),
            message: None,
            created_at: None,
        }),
        image: None,
        created_at: DateTime::<Utc>::from_timestamp(T0 + minute * 3600, 0),
        started_at: None,
        finished_at: None,
        updated_at: None,
        failure: None,
    }
}

#[test]
fn commits_list_added_modified_deleted_and_renamed_files() {
    let mut t = TestRepo::new();
    let base = t.commit(
        "initial",
        &[
            ("a.txt", Some("a\n")),
            ("b.txt", Some("b\n")),
            ("c.txt", Some("a long enough file to be seen as renamed\n")),
        ],
    );
    let change = t.commit(
        "change things\n\nThe body says why.\nSecond line.",
        &[
            ("a.txt", Some("a changed\n")),
            ("b.txt", None),
            ("c.txt", None),
            (
                "d/c.txt",
                Some("a long enough file to be seen as renamed\n"),
            ),
            ("e.txt", Some("new\n")),
        ],
    );
    let repo = GitRepo::open(t.path()).unwrap();
    let mut evidence = Evidence::new(Service::default());
    evidence.deploys = vec![
        deploy("dep-good", DeployStatus::Live, &base, 1),
        deploy("dep-bad", DeployStatus::UpdateFailed, &change, 2),
    ];
    collect(&repo, &mut evidence).unwrap();
    let commit = evidence.commits.iter().find(|c| c.sha == change).unwrap();
    assert_eq!(commit.summary, "change things");
    assert_eq!(commit.body, "The body says why.\nSecond line.");
    assert_eq!(commit.author, "Ada Lovelace");
    assert_eq!(commit.email.as_deref(), Some("ada@example.com"));
    assert_eq!(commit.time.timestamp(), T0 + 120);
    assert_eq!(commit.parents, vec![base.clone()]);
    let files: Vec<(&str, ChangeKind, Option<&str>)> = commit
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.change, f.old_path.as_deref()))
        .collect();
    assert_eq!(
        files,
        [
            ("a.txt", ChangeKind::Modified, None),
            ("b.txt", ChangeKind::Deleted, None),
            ("d/c.txt", ChangeKind::Renamed, Some("c.txt")),
            ("e.txt", ChangeKind::Added, None),
        ]
    );
}

#[test]
fn range_runs_from_last_good_to_newest_deploy_and_marks_suspects() {
    let mut t = TestRepo::new();
    let c1 = t.commit("c1", &[("f", Some("1"))]);
    let c2 = t.commit("c2 deployed fine", &[("f", Some("2"))]);
    let c3 = t.commit("c3", &[("f", Some("3"))]);
    let c4 = t.commit("c4 first failure", &[("f", Some("4"))]);
    let c5 = t.commit("c5 second failure", &[("f", Some("5"))]);
    let c6 = t.commit("c6 never deployed", &[("f", Some("6"))]);
    let repo = GitRepo::open(t.path()).unwrap();
    let mut evidence = Evidence::new(Service::default());
    evidence.deploys = vec![
        deploy("dep-5", DeployStatus::UpdateFailed, &c5[..7], 5),
        deploy("dep-1", DeployStatus::Deactivated, &c1, 1),
        deploy("dep-2", DeployStatus::Live, &c2, 2),
        deploy("dep-4", DeployStatus::UpdateFailed, &c4, 4),
    ];
    collect(&repo, &mut evidence).unwrap();
    evidence.normalize();
    let got: Vec<(&str, bool)> = evidence
        .commits
        .iter()
        .map(|c| (c.summary.as_str(), c.suspect))
        .collect();
    assert_eq!(
        got,
        [
            ("c2 deployed fine", false),
            ("c3", true),
            ("c4 first failure", true),
            ("c5 second failure", false),
        ]
    );
    assert!(!evidence
        .commits
        .iter()
        .any(|c| c.sha == c6 || c.sha == c1 || c.sha == c3 && !c.suspect));
    // The short SHA the deploy named is now the full one.
    assert_eq!(
        evidence
            .deploy("dep-5")
            .unwrap()
            .commit
            .as_ref()
            .unwrap()
            .sha,
        c5
    );
    assert!(evidence.notes.is_empty(), "{:?}", evidence.notes);
}

#[test]
fn short_and_full_shas_resolve_and_unknown_ones_do_not() {
    let mut t = TestRepo::new();
    let sha = t.commit("only", &[("f", Some("1"))]);
    let repo = GitRepo::open(t.path()).unwrap();
    assert_eq!(repo.resolve(&sha).as_deref(), Some(sha.as_str()));
    assert_eq!(repo.resolve(&sha[..7]).as_deref(), Some(sha.as_str()));
    assert_eq!(
        repo.resolve("0123456789abcdef0123456789abcdef01234567"),
        None
    );
    assert_eq!(repo.resolve(""), None);
}

#[test]
fn deploy_commit_absent_from_the_clone_becomes_a_note() {
    let mut t = TestRepo::new();
    let good = t.commit("good", &[("f", Some("1"))]);
    let repo = GitRepo::open(t.path()).unwrap();
    let mut evidence = Evidence::new(Service::default());
    evidence.deploys = vec![
        deploy("dep-good", DeployStatus::Live, &good, 1),
        deploy(
            "dep-gone",
            DeployStatus::BuildFailed,
            "fedcba9876543210fedcba9876543210fedcba98",
            2,
        ),
    ];
    collect(&repo, &mut evidence).unwrap();
    assert_eq!(evidence.notes.len(), 1);
    let note = &evidence.notes[0];
    assert_eq!(note.source, "git");
    assert!(note.message.contains("dep-gone"), "{}", note.message);
    assert!(note.message.contains("fedcba9"), "{}", note.message);
    assert!(
        note.message.contains("git fetch --unshallow"),
        "{}",
        note.message
    );
}

#[test]
fn repo_may_point_into_a_subdirectory() {
    let mut t = TestRepo::new();
    t.commit("api", &[("services/api/app.py", Some("x = 1\n"))]);
    let repo = GitRepo::open(&t.path().join("services/api")).unwrap();
    assert_eq!(repo.prefix(), "services/api");
    assert_eq!(
        repo.workdir().unwrap().canonicalize().unwrap(),
        t.path().canonicalize().unwrap()
    );
    let at_root = GitRepo::open(t.path()).unwrap();
    assert_eq!(at_root.prefix(), "");
}

#[test]
fn repo_may_be_a_worktree() {
    let mut t = TestRepo::new();
    let sha = t.commit("main", &[("f", Some("1"))]);
    let outside = tempfile::tempdir().unwrap();
    let wt_path = outside.path().join("wt");
    t.repo.worktree("wt", &wt_path, None).unwrap();
    let repo = GitRepo::open(&wt_path).unwrap();
    assert_eq!(
        repo.workdir().unwrap().canonicalize().unwrap(),
        wt_path.canonicalize().unwrap()
    );
    assert_eq!(repo.resolve(&sha[..8]).as_deref(), Some(sha.as_str()));
}

#[test]
fn a_path_outside_any_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = GitRepo::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("is not inside a git repository"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    let missing = dir.path().join("nope");
    let err = GitRepo::open(&missing).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn migration_folder_is_read_from_the_commit_tree_not_the_working_dir() {
    let mut t = TestRepo::new();
    let old = t.commit(
        "first migration",
        &[(
            "alembic/versions/aaaaaaaaaaa1_init.py",
            Some(&migration("aaaaaaaaaaa1", None)),
        )],
    );
    t.commit(
        "second migration",
        &[(
            "alembic/versions/bbbbbbbbbbb2_next.py",
            Some(&migration("bbbbbbbbbbb2", Some("aaaaaaaaaaa1"))),
        )],
    );
    // Uncommitted edit: the working dir differs from both commits.
    std::fs::write(
        t.path().join("alembic/versions/aaaaaaaaaaa1_init.py"),
        "edited",
    )
    .unwrap();
    let repo = GitRepo::open(t.path()).unwrap();
    let tree = repo.tree_under(&old[..7], "alembic").unwrap();
    assert_eq!(
        tree.list_files().unwrap(),
        ["versions/aaaaaaaaaaa1_init.py"]
    );
    let content = tree.read("versions/aaaaaaaaaaa1_init.py").unwrap();
    assert_eq!(
        String::from_utf8(content).unwrap(),
        migration("aaaaaaaaaaa1", None)
    );
    assert!(tree
        .describe()
        .starts_with(&format!("commit {}", &old[..7])));
    assert!(tree.read("versions/bbbbbbbbbbb2_next.py").is_err());
    let whole = repo.tree(&old).unwrap();
    assert_eq!(
        whole.list_files().unwrap(),
        ["alembic/versions/aaaaaaaaaaa1_init.py"]
    );
}

/// The history of the seed incident, plus the other cases the rule must tell apart.
struct PhantomCase {
    repo: TestRepo,
    seed_1: String,
    seed_2: String,
    removed_by: String,
    after_removal: String,
    names_future: String,
    adds_future: String,
    deletes_named: String,
    noise: String,
}

fn phantom_history() -> PhantomCase {
    let mut t = TestRepo::new();
    let base = t.commit(
        "Add deals and pipeline stages tables\n\nRevision ID: 36b3e62b4148",
        &[
            ("app/main.py", Some("print('hi')\n")),
            (
                "alembic/versions/36b3e62b4148_add_deals.py",
                Some(&migration("36b3e62b4148", None)),
            ),
            (
                "alembic/versions/77aa88bb99cc_add_notes.py",
                Some(&migration("77aa88bb99cc", Some("36b3e62b4148"))),
            ),
            (
                "alembic/versions/5e5e5e5e5e5e_temp.py",
                Some(&migration("5e5e5e5e5e5e", Some("77aa88bb99cc"))),
            ),
        ],
    );
    let removed_by = t.commit(
        "Drop the temporary migration",
        &[("alembic/versions/5e5e5e5e5e5e_temp.py", None)],
    );
    let after_removal = t.commit(
        "fix: rely on migration 5e5e5e5e5e5e for the notes column",
        &[("app/main.py", Some("print('notes')\n"))],
    );
    let seed_2 = t.commit(
        "fix(migrations): add users.id type fix and additional UUID migration fixes\n\n\
         - e19f4551fcb0_fix_users_id_type.py: convert users.id to String(36)\n\
         - f5b6c2c9d4f2_additional_uuid_fixes.py: convert the remaining FK columns\n",
        &[("app/main.py", Some("print('uuid')\n"))],
    );
    let seed_1 = t.commit(
        "fix(migrations): restructure UUID to String migrations and eliminate circular dependencies\n\n\
         Migrations: 3a15202c7dc2 (convert users.id), 0cbf1e0e3ab5 (convert organizations.id)\n\n\
         New migrations:\n\
         - dc2c0f69c1b1: convert deal foreign keys\n\
         - 9a3aba324f7f: merge heads\n",
        &[("app/main.py", Some("print('restructure')\n"))],
    );
    let names_future = t.commit(
        "Prepare for revision c0ffee123456 (lands next)",
        &[("app/main.py", Some("print('prep')\n"))],
    );
    let adds_future = t.commit(
        "Add the c0ffee123456 migration",
        &[(
            "alembic/versions/c0ffee123456_coffee.py",
            Some(&migration("c0ffee123456", Some("77aa88bb99cc"))),
        )],
    );
    let deletes_named = t.commit(
        "Remove migration 77aa88bb99cc, superseded",
        &[("alembic/versions/77aa88bb99cc_add_notes.py", None)],
    );
    let base_prefix = &base[..12];
    let noise_message = format!(
        "fix migration for tenant 123e4567-e89b-12d3-a456-426614174000\n\n\
         The migration regressed in {base_prefix}; details in the migration thread at\n\
         https://example.com/issues/abcdef123456 and revision abcdef987654.html.\n\
         Migration hotline: 555123456789\n\
         ```\n$ alembic upgrade head\nRunning upgrade 36b3e62b4148 -> deadbeef0001, migration\n```\n"
    );
    let noise = t.commit(&noise_message, &[("app/main.py", Some("print('noise')\n"))]);
    PhantomCase {
        repo: t,
        seed_1,
        seed_2,
        removed_by,
        after_removal,
        names_future,
        adds_future,
        deletes_named,
        noise,
    }
}

fn phantom_findings(case: &PhantomCase, evidence: &Evidence) -> Vec<Finding> {
    let repo = GitRepo::open(case.repo.path()).unwrap();
    let history = repo
        .migration_history(&["alembic/versions".to_string()])
        .unwrap();
    PhantomMigration.check(&CheckContext::new(evidence, Some(&history)))
}

fn finding_for<'a>(findings: &'a [Finding], sha: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.commit.as_deref() == Some(sha))
}

#[test]
fn phantom_seed_commits_name_migrations_never_committed() {
    let case = phantom_history();
    let findings = phantom_findings(&case, &Evidence::new(Service::default()));
    let seed_1 = finding_for(&findings, &case.seed_1).expect("seed commit ded9734 flagged");
    let ids: Vec<(&str, &str)> = seed_1.data["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("3a15202c7dc2", "never_committed"),
            ("0cbf1e0e3ab5", "never_committed"),
            ("dc2c0f69c1b1", "never_committed"),
            ("9a3aba324f7f", "never_committed"),
        ]
    );
    assert_eq!(seed_1.revision.as_deref(), Some("3a15202c7dc2"));
    assert_eq!(seed_1.data["existing"], serde_json::json!(["77aa88bb99cc"]));
    assert_eq!(
        seed_1.data["summary"],
        "fix(migrations): restructure UUID to String migrations and eliminate circular dependencies"
    );
    assert!(
        seed_1
            .message
            .contains("never committed anywhere in history"),
        "{}",
        seed_1.message
    );
    let seed_2 = finding_for(&findings, &case.seed_2).expect("seed commit e956184 flagged");
    let ids: Vec<&str> = seed_2.data["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e19f4551fcb0", "f5b6c2c9d4f2"]);
}

#[test]
fn phantom_says_which_commit_removed_or_later_added_the_migration() {
    let case = phantom_history();
    let findings = phantom_findings(&case, &Evidence::new(Service::default()));
    let removed = finding_for(&findings, &case.after_removal).expect("removed case flagged");
    assert_eq!(removed.data["ids"][0]["status"], "removed");
    assert_eq!(
        removed.data["ids"][0]["by_commit"],
        case.removed_by.as_str()
    );
    assert!(
        removed.message.contains(&case.removed_by[..7]),
        "{}",
        removed.message
    );
    let later = finding_for(&findings, &case.names_future).expect("added-later case flagged");
    assert_eq!(later.data["ids"][0]["id"], "c0ffee123456");
    assert_eq!(later.data["ids"][0]["status"], "added_later");
    assert_eq!(later.data["ids"][0]["by_commit"], case.adds_future.as_str());
}

#[test]
fn phantom_ignores_consistent_commits_and_noise() {
    let case = phantom_history();
    let findings = phantom_findings(&case, &Evidence::new(Service::default()));
    assert!(
        finding_for(&findings, &case.deletes_named).is_none(),
        "{findings:#?}"
    );
    assert!(
        finding_for(&findings, &case.noise).is_none(),
        "{findings:#?}"
    );
    assert!(
        finding_for(&findings, &case.adds_future).is_none(),
        "{findings:#?}"
    );
    assert_eq!(findings.len(), 4, "{findings:#?}");
}

#[test]
fn phantom_scope_is_the_collected_commits_when_there_are_any() {
    let case = phantom_history();
    let repo = GitRepo::open(case.repo.path()).unwrap();
    let mut evidence = Evidence::new(Service::default());
    evidence.deploys = vec![
        deploy("dep-good", DeployStatus::Live, &case.after_removal, 1),
        deploy("dep-bad", DeployStatus::UpdateFailed, &case.seed_1, 2),
    ];
    collect(&repo, &mut evidence).unwrap();
    let findings = phantom_findings(&case, &evidence);
    let flagged: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.commit.as_deref())
        .collect();
    // The last good deploy's commit is listed for reference, so it is in scope too; the commits
    // before it and after the newest deploy are not.
    let mut expected = vec![
        case.after_removal.as_str(),
        case.seed_2.as_str(),
        case.seed_1.as_str(),
    ];
    expected.sort();
    let mut flagged = flagged;
    flagged.sort();
    assert_eq!(flagged, expected);
}

#[test]
fn without_deploys_the_window_selects_commits() {
    let mut t = TestRepo::new();
    t.commit("before", &[("f", Some("1"))]);
    t.commit("inside", &[("f", Some("2"))]);
    t.commit("after", &[("f", Some("3"))]);
    let repo = GitRepo::open(t.path()).unwrap();
    let mut evidence = Evidence::new(Service::default());
    evidence.window.since = DateTime::<Utc>::from_timestamp(T0 + 120, 0);
    evidence.window.until = DateTime::<Utc>::from_timestamp(T0 + 150, 0);
    collect(&repo, &mut evidence).unwrap();
    let got: Vec<&str> = evidence
        .commits
        .iter()
        .map(|c| c.summary.as_str())
        .collect();
    assert_eq!(got, ["inside"]);
    assert!(evidence.commits.iter().all(|c| !c.suspect));
}

#[test]
fn a_migration_folder_nested_thousands_deep_is_scanned_not_a_crash() {
    // Git accepts trees 4,096 deep; walking one recursed past a thread's stack and aborted.
    let mut t = TestRepo::new();
    t.commit(
        "add base",
        &[(
            "alembic/versions/aaaa00000001_base.py",
            Some(&migration("aaaa00000001", None)),
        )],
    );
    let repo = &t.repo;
    let blob = repo
        .blob(migration("bbbb00000002", Some("aaaa00000001")).as_bytes())
        .unwrap();
    let mut builder = repo.treebuilder(None).unwrap();
    builder
        .insert("bbbb00000002_deep.py", blob, 0o100644)
        .unwrap();
    let mut tree = builder.write().unwrap();
    for _ in 0..5_000 {
        let mut builder = repo.treebuilder(None).unwrap();
        builder.insert("d", tree, 0o040000).unwrap();
        tree = builder.write().unwrap();
    }
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let versions = head
        .tree()
        .unwrap()
        .get_path(Path::new("alembic/versions"))
        .unwrap()
        .id();
    let mut builder = repo
        .treebuilder(Some(&repo.find_tree(versions).unwrap()))
        .unwrap();
    builder.insert("d", tree, 0o040000).unwrap();
    let versions = builder.write().unwrap();
    let mut builder = repo.treebuilder(None).unwrap();
    builder.insert("versions", versions, 0o040000).unwrap();
    let alembic = builder.write().unwrap();
    let mut builder = repo.treebuilder(None).unwrap();
    builder.insert("alembic", alembic, 0o040000).unwrap();
    let root = repo.find_tree(builder.write().unwrap()).unwrap();
    let sig = Signature::new("Ada", "ada@example.com", &Time::new(T0 + 3600, 0)).unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "bury a revision", &root, &[&head])
        .unwrap();

    let history = GitRepo::open(t.path())
        .unwrap()
        .migration_history(&["alembic/versions".to_string()])
        .unwrap();
    assert_eq!(history.head_revisions, vec!["aaaa00000001", "bbbb00000002"]);
}

#[test]
fn a_renamed_migration_folder_keeps_each_revision_at_the_path_it_was_added_at() {
    let mut t = TestRepo::new();
    t.commit(
        "add base",
        &[(
            "a/versions/aaaa00000001_base.py",
            Some(&migration("aaaa00000001", None)),
        )],
    );
    t.commit(
        "move the folder",
        &[
            ("a/versions/aaaa00000001_base.py", None),
            (
                "b/versions/aaaa00000001_base.py",
                Some(&migration("aaaa00000001", None)),
            ),
        ],
    );
    // A message naming a revision no tree has: the history of every revision is then read.
    t.commit(
        "fix(migrations): add migration cccc00000003",
        &[("README", Some("notes"))],
    );
    let history = GitRepo::open(t.path())
        .unwrap()
        .migration_history(&["a/versions".to_string(), "b/versions".to_string()])
        .unwrap();
    // The move neither adds nor removes the revision; the same folder tree now stands at
    // `b/versions`, which must not rewrite where it was added.
    let life = &history.revisions["aaaa00000001"];
    assert_eq!(
        life.files,
        vec!["a/versions/aaaa00000001_base.py".to_string()]
    );
    assert_eq!(history.head_revisions, vec!["aaaa00000001"]);
}
