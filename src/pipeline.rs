//! The stages wired together: collect → check → analyze → render. Each command in `app.rs`
//! runs the part of this it needs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::analyze;
use crate::check::rules::{no_migrations_found, unparseable_migration};
use crate::check::{self, CheckContext, CheckOptions};
use crate::collect::git::GitRepo;
use crate::collect::{self, render::RenderSettings};
use crate::config::Config;
use crate::deploylog::LogFailure;
use crate::evidence::history::MigrationHistory;
use crate::evidence::{Evidence, Service};
use crate::finding::{sort_findings, Category, Excerpt, Finding};
use crate::migrations::{self, model::MigrationSet, Discovery, GraphSpec};
use crate::report::{self, ReportContext};
use crate::source::{FileSource, WorkDir};
use crate::{Error, Result};

/// Lines shown before and after a finding's line in excerpts: enough to show the whole
/// `op.create_table(...)` call around a foreign key.
const EXCERPT_BEFORE: u32 = 6;
const EXCERPT_AFTER: u32 = 3;

/// Which note sources mean the evidence lacks something a complete report would have.
pub fn is_partial(evidence: &Evidence) -> bool {
    evidence
        .notes
        .iter()
        .filter(|n| {
            n.source != collect::render::EXPORT_NOTE && n.source != collect::render::WINDOW_NOTE
        })
        .any(|n| n.source.starts_with("render") || n.source.starts_with("git"))
}

/// What the Render collector is asked to do, from the merged configuration.
fn render_settings(config: &Config, progress: bool) -> RenderSettings {
    let mut settings = RenderSettings {
        api_url: config.render_api_url.clone(),
        api_key: config.api_key().map(collect::render::ApiKey::new),
        service: config.service.clone(),
        data_dir: config.render_data.clone(),
        since: config.since,
        until: config.until,
        progress,
        ..RenderSettings::default()
    };
    if let Some(timeout) = config.timeout {
        settings.retry = settings.retry.with_timeout(timeout);
    }
    settings
}

/// Everything `report` and `collect` gather: Render, git, migrations (at the code the failing
/// deploy ran), database facts, then the rules. The returned evidence is normalised.
pub fn collect(config: &Config, progress: bool) -> Result<Evidence> {
    collect_parsed(config, progress).map(|(evidence, _)| evidence)
}

/// [`collect()`], and the deploy logs as the rules parsed them, so that the analysis of the same
/// run ([`context_parsed`]) does not parse them again.
pub fn collect_parsed(config: &Config, progress: bool) -> Result<(Evidence, Vec<LogFailure>)> {
    let mut evidence = Evidence::new(Service::default());
    evidence.incident = config.incident.clone();
    evidence.window.since = config.since;
    evidence.window.until = config.until;

    if config.service.is_some() || config.render_data.is_some() {
        collect::render::collect(&render_settings(config, progress), &mut evidence)?;
    } else {
        evidence.note(
            "render",
            "no Render service given (--service, RENDER_SERVICE_ID or --render-data): deploys, events and logs were not collected",
        );
    }

    let repo = GitRepo::open(&config.repo)?;
    collect::git::collect(&repo, &mut evidence)?;

    // Describe the migrations the newest failed deploy ran, not whatever is checked out now.
    let failing_commit = evidence
        .deploys
        .iter()
        .filter(|d| d.status.is_failure())
        .find_map(|d| d.commit.as_ref().and_then(|c| repo.resolve(&c.sha)));
    // The rules parse the logs as the analysis will read them: in time order, each line once.
    evidence.normalize_logs();
    let log_failures = match &failing_commit {
        Some(sha) => examine(config, &repo, &repo.tree(sha)?, &mut evidence, None)?,
        None => examine(
            config,
            &repo,
            &working_tree(&repo, config),
            &mut evidence,
            None,
        )?,
    };
    evidence.normalize();
    Ok((evidence, log_failures))
}

/// `postmortem check`: the working tree's migrations and the history's commit messages.
pub fn check(config: &Config, range: Option<&str>) -> Result<Evidence> {
    let mut evidence = Evidence::new(Service::default());
    let repo = GitRepo::open(&config.repo)?;
    // The index still covers the whole history, so a revision named in the range is known to
    // have been removed or added elsewhere; only the messages checked are narrowed.
    let scope = if range.is_some() || config.since.is_some() || config.until.is_some() {
        Some(repo.commits_in(range, config.since, config.until)?)
    } else {
        None
    };
    examine(
        config,
        &repo,
        &working_tree(&repo, config),
        &mut evidence,
        scope.as_ref(),
    )?;
    evidence.normalize();
    Ok(evidence)
}

/// The root of the repository's working tree, which evidence paths are relative to.
pub fn repo_root(config: &Config) -> Result<PathBuf> {
    let repo = GitRepo::open(&config.repo)?;
    Ok(repo
        .workdir()
        .map(Path::to_path_buf)
        .unwrap_or(config.repo.clone()))
}

fn working_tree(repo: &GitRepo, config: &Config) -> WorkDir {
    WorkDir::new(
        repo.workdir()
            .map(Path::to_path_buf)
            .unwrap_or(config.repo.clone()),
    )
}

/// The repository side of the evidence, read from `source` (a commit's tree or the working
/// tree): migration sets, database facts, the history index, then every rule. `scope`, when
/// given, limits the commit messages the phantom check reads. Returns the parsed deploy logs.
fn examine(
    config: &Config,
    repo: &GitRepo,
    source: &dyn FileSource,
    evidence: &mut Evidence,
    scope: Option<&HashSet<String>>,
) -> Result<Vec<LogFailure>> {
    let discovery = migration_graphs(config, repo, source)?;
    let (sets, load_failures) = migrations::load(source, &discovery.graphs);
    let mut parse_findings = unparseable_migration::findings(&load_failures);
    evidence.migration_sets = sets;
    if discovery.graphs.is_empty() {
        report_nothing_found(&discovery, evidence, &mut parse_findings);
    }
    collect::dbfacts::collect(source, evidence);
    evidence.upgrade_commands = upgrade_commands(source, evidence);
    // The walk over every commit is for the history rules only: with all of them disabled
    // (`--disable phantom-migration`) it is skipped.
    let history = match check::rules_of(Category::History)
        .any(|r| !config.disabled.contains(r.meta().name))
    {
        true => {
            let mut history = repo.migration_history(&discovery.folders())?;
            if let Some(scope) = scope {
                history.mentions.retain(|m| scope.contains(&m.commit.sha));
            }
            Some(history)
        }
        false => None,
    };
    let links = source.skipped_links();
    if !links.is_empty() {
        evidence.note(
            "repository",
            format!(
                "{} symbolic link(s) in the {} not followed: {}",
                links.len(),
                source.describe(),
                links.join(", ")
            ),
        );
    }
    Ok(run_checks(
        evidence,
        history.as_ref(),
        config,
        parse_findings,
        source,
    ))
}

fn run_checks(
    evidence: &mut Evidence,
    history: Option<&MigrationHistory>,
    config: &Config,
    prior: Vec<Finding>,
    source: &dyn FileSource,
) -> Vec<LogFailure> {
    let options = CheckOptions {
        disabled: config.disabled.clone(),
    };
    let ctx = CheckContext::new(evidence, history);
    let mut findings = check::run(&ctx, &options, prior);
    let log_failures = ctx.into_log_failures();
    attach_excerpts(&mut findings, source);
    evidence.findings = findings;
    attach_sources(evidence, source);
    log_failures
}

/// The text of every migration file a schema rule flags travels with the evidence, so that the
/// fix (a patch of that file) is computed offline too.
pub fn attach_sources(evidence: &mut Evidence, source: &dyn FileSource) {
    let schema: Vec<&str> = check::rules_of(Category::Schema)
        .map(|r| r.meta().name)
        .collect();
    let mut files: Vec<String> = evidence
        .findings
        .iter()
        .filter(|f| schema.contains(&f.rule.as_str()))
        .filter_map(|f| f.file.clone())
        .collect();
    files.sort();
    files.dedup();
    for file in files {
        if evidence.migration_sources.iter().any(|s| s.file == file) {
            continue;
        }
        if let Ok(bytes) = source.read(&file) {
            evidence
                .migration_sources
                .push(crate::evidence::SourceText {
                    blob: crate::source::blob_id(&bytes),
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                    file,
                });
        }
    }
}

/// Findings point at file:line; the excerpt travels with them so `render` needs no repository.
pub fn attach_excerpts(findings: &mut [Finding], source: &dyn FileSource) {
    for f in findings.iter_mut().filter(|f| f.excerpt.is_none()) {
        let (Some(file), Some(line)) = (&f.file, f.line) else {
            continue;
        };
        if let Ok(bytes) = source.read(file) {
            let text = String::from_utf8_lossy(&bytes);
            f.excerpt = Excerpt::around(&text, line, EXCERPT_BEFORE, EXCERPT_AFTER);
        }
    }
}

/// Graphs named in the config or by `--migrations` (each value one graph, `a,b` for several
/// folders of one graph; relative to the working directory or the repository), else discovered
/// under the repository path the user pointed at.
fn migration_graphs(config: &Config, repo: &GitRepo, source: &dyn FileSource) -> Result<Discovery> {
    if config.migrations.is_empty() {
        let mut all = migrations::discover(source).map_err(|e| Error::io(&config.repo, e))?;
        let prefix = repo.prefix();
        let under: Vec<GraphSpec> = all
            .graphs
            .iter()
            .filter(|g| {
                prefix.is_empty()
                    || g.path().starts_with(&format!("{prefix}/"))
                    || g.path() == prefix
            })
            .cloned()
            .collect();
        if !under.is_empty() {
            all.graphs = under;
        }
        return Ok(all);
    }
    let root = repo.workdir().map(Path::to_path_buf);
    let mut values = Vec::new();
    for value in &config.migrations {
        let text = value.to_string_lossy();
        let mut folders = Vec::new();
        for folder in migrations::discover::flag_folders(&text) {
            let (folder, recursive) = match folder.strip_suffix("/**") {
                Some(rest) => (rest.to_string(), "/**"),
                None => (folder, ""),
            };
            folders.push(format!(
                "{}{recursive}",
                repo_relative(Path::new(&folder), root.as_deref())?
            ));
        }
        values.push(folders.join(","));
    }
    let graphs =
        migrations::flag_graphs(source, &values).map_err(|e| Error::io(&config.repo, e))?;
    Ok(Discovery {
        graphs,
        ..Discovery::default()
    })
}

/// The upgrade commands the deploy runs: the Render service's own commands (when collected)
/// and those the repository's deploy files lead to; unreadable scripts become notes.
fn upgrade_commands(
    source: &dyn FileSource,
    evidence: &mut Evidence,
) -> Vec<migrations::model::UpgradeCommand> {
    let found = collect::deploy::collect(source, &evidence.service);
    for note in found.notes {
        evidence.note("deploy-scripts", note);
    }
    found.upgrades
}

/// No graph: with Alembic markers, a `no-migrations-found` finding naming what was looked
/// for; without, a note that no migration was checked. Both also reach stderr (`app`).
fn report_nothing_found(
    discovery: &Discovery,
    evidence: &mut Evidence,
    findings: &mut Vec<Finding>,
) {
    if discovery.markers.is_empty() {
        evidence.note(
            "migrations",
            "no Alembic migrations found (no alembic.ini, env.py with context.configure, or alembic in the requirements): no migrations were checked",
        );
    } else {
        let finding = no_migrations_found::finding(discovery);
        evidence.note("migrations", finding.message.clone());
        findings.push(finding);
    }
}

fn repo_relative(dir: &Path, root: Option<&Path>) -> Result<String> {
    match root {
        Some(root) => inside(dir, root, "--migrations"),
        None => Ok(slashes(dir)),
    }
}

/// `path` (absolute, or relative to the working directory) as a `/`-separated path inside
/// `root`, `.` for the root itself; an error naming `what` when it lies outside.
pub(crate) fn inside(path: &Path, root: &Path, what: &str) -> Result<String> {
    let absolute: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(path, e))?
            .join(path)
    };
    let canonical = absolute.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::Usage(format!("{what} {}: no such folder", path.display()))
        }
        _ => Error::Usage(format!("{what} {}: {e}", path.display())),
    })?;
    let root_abs = root.canonicalize().map_err(|e| Error::io(root, e))?;
    match canonical.strip_prefix(&root_abs) {
        Ok(rel) if rel.as_os_str().is_empty() => Ok(".".to_string()),
        Ok(rel) => Ok(slashes(rel)),
        Err(_) => Err(Error::Usage(format!(
            "{what} {}: not inside {} (pass --repo with a folder that holds it)",
            path.display(),
            root.display()
        ))),
    }
}

fn slashes(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Where the SARIF results of findings without a file go (see [`report::check_output::SarifPlaces`]):
/// a commit's result at a file it changed, preferring one in a migration folder; anything else
/// at the newest migration head's file, or the first migration folder.
pub fn sarif_places(
    config: &Config,
    evidence: &Evidence,
) -> Result<report::check_output::SarifPlaces> {
    let folders: Vec<&str> = evidence
        .migration_sets
        .iter()
        .map(|s| s.path.as_str())
        .collect();
    let in_folder = |p: &str| folders.iter().any(|f| p.starts_with(&format!("{f}/")));
    let mut places = report::check_output::SarifPlaces {
        repository: evidence
            .migration_sets
            .iter()
            .find_map(|s| {
                let head = s.heads.first()?;
                s.revisions
                    .iter()
                    .find(|r| &r.id == head)
                    .map(|r| r.file.clone())
            })
            .or_else(|| folders.first().map(|f| f.to_string()))
            .unwrap_or_default(),
        ..Default::default()
    };
    let commits: std::collections::BTreeSet<&String> = evidence
        .findings
        .iter()
        .filter(|f| f.file.is_none())
        .filter_map(|f| f.commit.as_ref())
        .collect();
    if commits.is_empty() {
        return Ok(places);
    }
    let repo = GitRepo::open(&config.repo)?;
    for sha in commits {
        let Ok(paths) = repo.changed_paths(sha) else {
            continue;
        };
        let pick = paths.iter().find(|p| in_folder(p)).or(paths.first());
        if let Some(path) = pick {
            places.commits.insert(sha.clone(), path.clone());
        }
    }
    Ok(places)
}

/// Analysis and the template context, from evidence alone (what `render` does offline).
pub fn context(evidence: Evidence, now: Option<DateTime<Utc>>) -> ReportContext {
    let analysis = analyze::analyze(&evidence, now);
    report::context::build(evidence, analysis)
}

/// [`context`] with the deploy logs the rules parsed in the same run ([`collect_parsed`]).
pub fn context_parsed(
    evidence: Evidence,
    log_failures: Vec<LogFailure>,
    now: Option<DateTime<Utc>>,
) -> ReportContext {
    let analysis = analyze::analyze_parsed(&evidence, log_failures, now);
    report::context::build(evidence, analysis)
}

/// The analysis and checks of a set of migration graphs, for `postmortem migrations`.
pub fn migrations_only(
    source: &dyn FileSource,
    graphs: &[GraphSpec],
) -> (Vec<MigrationSet>, Vec<Finding>) {
    let mut evidence = Evidence::new(Service::default());
    let (sets, load_failures) = migrations::load(source, graphs);
    let prior = unparseable_migration::findings(&load_failures);
    evidence.migration_sets = sets;
    evidence.upgrade_commands = upgrade_commands(source, &mut evidence);
    let ctx = CheckContext::new(&evidence, None);
    let mut findings = check::run(&ctx, &CheckOptions::default(), prior);
    attach_excerpts(&mut findings, source);
    (evidence.migration_sets, findings)
}

/// The graph rules (`multiple-heads`, `missing-parent`, `duplicate-revision`,
/// `revision-cycle`: the registry's [`Category::Graph`]) over the given sets, sorted, for
/// [`load_dir`]. The commands run the same rules through `check::run` ([`migrations_only`],
/// [`check()`]).
pub fn graph_findings(sets: Vec<MigrationSet>) -> (Vec<MigrationSet>, Vec<Finding>) {
    let mut evidence = Evidence::new(Service::default());
    evidence.migration_sets = sets;
    let ctx = CheckContext::new(&evidence, None);
    let mut findings: Vec<Finding> = check::rules_of(Category::Graph)
        .flat_map(|rule| rule.check(&ctx))
        .collect();
    sort_findings(&mut findings);
    (evidence.migration_sets, findings)
}

/// `postmortem migrations DIR`: the sets discovered under `dir`, or `dir` itself when it is a
/// folder of revision files; with the parse findings and the graph findings, sorted.
/// Paths in the result are relative to `dir`.
pub fn load_dir(dir: &Path) -> std::io::Result<(Vec<MigrationSet>, Vec<Finding>)> {
    let (sets, load_failures) = migrations::load_folder(dir)?;
    let mut findings = unparseable_migration::findings(&load_failures);
    let (sets, graph) = graph_findings(sets);
    findings.extend(graph);
    sort_findings(&mut findings);
    Ok((sets, findings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SourceArgs;

    fn config(args: SourceArgs) -> Config {
        let clock = "2025-11-10T18:15:00Z".parse().unwrap();
        Config::resolve(&args, None, None, clock).unwrap()
    }

    #[test]
    fn timeout_reaches_both_render_timeouts_and_the_wait_budget() {
        let settings = render_settings(
            &config(SourceArgs {
                timeout: Some(7),
                ..SourceArgs::default()
            }),
            false,
        );
        assert_eq!(
            settings.retry.connect_timeout,
            std::time::Duration::from_secs(7)
        );
        assert_eq!(
            settings.retry.request_timeout,
            std::time::Duration::from_secs(7)
        );
        assert_eq!(
            settings.retry.max_total_wait,
            std::time::Duration::from_secs(21)
        );
        assert_eq!(settings.retry.max_sleep, std::time::Duration::from_secs(21));
    }

    #[test]
    fn without_timeout_render_keeps_its_defaults() {
        let settings = render_settings(&config(SourceArgs::default()), false);
        assert_eq!(settings.retry, collect::render::RetryPolicy::default());
    }
}
