//! One function per command. Each returns the exit status it ends with; errors go back to
//! `main.rs`, which prints them and exits 2.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::check;
use crate::ci::{self, CiEnv};
use crate::cli::{
    CheckArgs, CheckFormat, Cli, CollectArgs, ColorWhen, Command, CompletionsArgs, Diagrams,
    InitArgs, ManArgs, MigrationsArgs, MigrationsFormat, PublishArgs, RenderArgs, ReportArgs,
    ReportFormat,
};
use crate::config::{self, Config, FileConfig};
use crate::deploylog::LogFailure;
use crate::evidence::{Evidence, SCHEMA_VERSION};
use crate::report::{self, check_output};
use crate::source::WorkDir;
use crate::{pipeline, redact, Error, Result};

mod fix;

/// How a successful run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// `check` found something at or above --fail-on.
    Findings,
    /// The report was written, but a source was unavailable (see its notes).
    Partial,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Findings => 1,
            Status::Partial => 3,
        }
    }
}

/// What the binary hands over: the parsed command line, the wall clock and `RENDER_API_KEY`.
/// Nothing below reads the clock or the key from the environment by itself.
pub fn run(cli: Cli, clock: DateTime<Utc>, api_key: Option<String>) -> Result<Status> {
    run_with(cli, clock, api_key, crate::publish::Credentials::default())
}

/// [`run`], with the ticket systems' tokens (`publish`), which the binary reads from the
/// environment.
pub fn run_with(
    cli: Cli,
    clock: DateTime<Utc>,
    api_key: Option<String>,
    tokens: crate::publish::Credentials,
) -> Result<Status> {
    run_in(cli, clock, api_key, tokens, &CiEnv::default())
}

/// [`run_with`] inside a CI environment (`ci` holds the platform's variables): `check` then
/// reads the commits of the change under review.
pub fn run_in(
    cli: Cli,
    clock: DateTime<Utc>,
    api_key: Option<String>,
    tokens: crate::publish::Credentials,
    ci: &CiEnv,
) -> Result<Status> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Report(args) => report_cmd(args, clock, api_key, quiet, &tokens),
        Command::Collect(args) => collect_cmd(args, clock, api_key, quiet),
        Command::Render(args) => render_cmd(args, clock),
        Command::Check(args) => check_cmd(args, clock, cli.color, quiet, ci),
        Command::Migrations(args) => migrations_cmd(args),
        Command::Fix(args) => fix::fix_cmd(args, clock, quiet),
        Command::Init(args) => init_cmd(args, quiet),
        Command::Publish(args) => publish_cmd(args, clock, &tokens),
        Command::Completions(args) => completions_cmd(args),
        Command::Man(args) => man_cmd(args),
        Command::RenderTemplateChild { memory_limit } => {
            report::isolate::serve(
                memory_limit,
                &mut std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
            )
            .map_err(Error::Template)?;
            Ok(Status::Ok)
        }
    }
}

fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::io(path, e)),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is the reader's choice, not an error worth a message.
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(|e| Error::io("<stdout>", e)),
            }
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    // Every document passes the redactor once more before it leaves (defence in depth).
    serde_json::to_string_pretty(value)
        .map(|s| redact::redact_json_document(&s) + "\n")
        .map_err(|e| Error::Usage(format!("cannot serialise output: {e}")))
}

/// A template is untrusted input: read no more of it than the sandbox would accept.
fn read_template(path: &Path, limits: &report::Limits) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(limits.max_template_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() > limits.max_template_bytes {
        return Err(Error::Template(format!(
            "{}: the template is over the limit of {} bytes",
            path.display(),
            limits.max_template_bytes
        )));
    }
    String::from_utf8(bytes).map_err(|e| Error::Malformed {
        path: path.to_path_buf(),
        position: None,
        message: format!("the template is not UTF-8: {e}"),
    })
}

/// `log_failures`: the deploy logs as the rules of this run parsed them, `None` when no rule
/// ran (`render`), so the analysis parses them itself.
#[allow(clippy::too_many_arguments)]
fn emit_report(
    evidence: Evidence,
    log_failures: Option<Vec<LogFailure>>,
    format: ReportFormat,
    template: Option<&Path>,
    diagrams: Diagrams,
    now: Option<DateTime<Utc>>,
    output: Option<&Path>,
) -> Result<String> {
    let style = match diagrams {
        Diagrams::Mermaid => report::DiagramStyle::Mermaid,
        Diagrams::None => report::DiagramStyle::None,
    };
    let context = |evidence, log_failures: Option<Vec<LogFailure>>| {
        match log_failures {
            Some(parsed) => pipeline::context_parsed(evidence, parsed, now),
            None => pipeline::context(evidence, now),
        }
        .with_diagrams(style)
    };
    let text = match format {
        ReportFormat::Json => to_json(&evidence)?,
        ReportFormat::Context => to_json(&context(evidence, log_failures))?,
        ReportFormat::Markdown => {
            let limits = report::Limits::default();
            let template = template
                .map(|path| {
                    Ok::<_, Error>((path.display().to_string(), read_template(path, &limits)?))
                })
                .transpose()?;
            let text = report::render_with(
                &context(evidence, log_failures),
                template.as_ref().map(|(n, s)| (n.as_str(), s.as_str())),
                &limits,
            )?;
            redact::redact_document(&text)
        }
    };
    write_output(output, &text)?;
    Ok(text)
}

fn report_cmd(
    args: ReportArgs,
    clock: DateTime<Utc>,
    api_key: Option<String>,
    quiet: bool,
    tokens: &crate::publish::Credentials,
) -> Result<Status> {
    let config = Config::resolve(&args.source, None, api_key, clock)?;
    let publishing = args.publish.publish.clone();
    if publishing.is_some() && args.format != ReportFormat::Markdown {
        return Err(Error::Usage(
            "--publish puts the markdown report on the ticket: drop --format, or publish a snapshot with `postmortem publish`".into(),
        ));
    }
    // A bad ticket fails before the collection, not after it.
    let target = publishing
        .as_deref()
        .map(|to| publish_target(to, &config.publish, "--publish"))
        .transpose()?;
    let diagrams = args.diagrams.unwrap_or(match &target {
        Some((t, _)) if !t.ticket.system().draws_mermaid() => Diagrams::None,
        _ => Diagrams::Mermaid,
    });
    let (evidence, log_failures) = pipeline::collect_parsed(&config, !quiet)?;
    let partial = pipeline::is_partial(&evidence);
    let template = args.template.as_deref().or(config.template.as_deref());
    let text = emit_report(
        evidence,
        Some(log_failures),
        args.format,
        template,
        diagrams,
        config.now,
        args.out.output.as_deref(),
    )?;
    if let Some(target) = target {
        let p = args.publish;
        let request = PublishRequest {
            target,
            api_url: p.api_url,
            key: p.key,
            new: p.new,
            gist: p.gist,
            dry_run: p.dry_run,
            max_wait: p.max_wait,
        };
        let outcome = publish_text(&text, request, &config.publish, clock, tokens)?;
        // stdout may hold the report itself: what publishing did goes to stderr.
        if !quiet || p.dry_run {
            eprintln!("{}", outcome.lines.join("\n"));
        }
    }
    Ok(if partial { Status::Partial } else { Status::Ok })
}

fn collect_cmd(
    args: CollectArgs,
    clock: DateTime<Utc>,
    api_key: Option<String>,
    quiet: bool,
) -> Result<Status> {
    let config = Config::resolve(&args.source, None, api_key, clock)?;
    let evidence = pipeline::collect(&config, !quiet)?;
    let partial = pipeline::is_partial(&evidence);
    write_output(args.out.output.as_deref(), &to_json(&evidence)?)?;
    Ok(if partial { Status::Partial } else { Status::Ok })
}

/// Reads a snapshot, refusing one from a newer format instead of misreading it.
pub fn read_evidence(path: &Path) -> Result<Evidence> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_evidence(path, &text)
}

/// An evidence snapshot from `text`, the content of `path` (named in errors).
fn parse_evidence(path: &Path, text: &str) -> Result<Evidence> {
    let malformed = |e: serde_json::Error| Error::Malformed {
        path: path.to_path_buf(),
        position: Some((e.line(), e.column())),
        message: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(SCHEMA_VERSION) => {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                position: None,
                message: format!(
                    "evidence schema_version {v} is newer than this postmortem understands ({SCHEMA_VERSION}): upgrade postmortem"
                ),
            })
        }
        Some(_) => {}
        None => {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                position: None,
                message: "not an evidence snapshot: no `schema_version` (write one with `postmortem collect -o FILE`)".into(),
            })
        }
    }
    serde_json::from_str(text).map_err(malformed)
}

fn render_cmd(args: RenderArgs, clock: DateTime<Utc>) -> Result<Status> {
    let mut evidence = read_evidence(&args.evidence)?;
    if let Some(path) = &args.config {
        evidence.incident = FileConfig::load(path)?.incident;
    }
    evidence.normalize();
    let now = args
        .now
        .as_deref()
        .map(|s| config::parse_time(s, clock, "--now"))
        .transpose()?;
    emit_report(
        evidence,
        None,
        args.format,
        args.template.as_deref(),
        args.diagrams,
        now,
        args.out.output.as_deref(),
    )?;
    Ok(Status::Ok)
}

fn check_cmd(
    args: CheckArgs,
    clock: DateTime<Utc>,
    color: ColorWhen,
    quiet: bool,
    ci: &CiEnv,
) -> Result<Status> {
    if args.list_rules {
        let mut text = String::new();
        for rule in crate::check::REGISTRY {
            let m = rule.meta();
            text.push_str(&format!(
                "{:<26} {:<8} {}\n",
                m.name,
                m.severity.as_str(),
                m.summary
            ));
        }
        let m = &crate::check::UNUSED_IGNORE;
        text.push_str(&format!(
            "{:<26} {:<8} {}\n",
            m.name,
            m.severity.as_str(),
            m.summary
        ));
        write_output(args.out.output.as_deref(), &text)?;
        return Ok(Status::Ok);
    }
    let source: crate::cli::SourceArgs = args.source.clone().into();
    let config = Config::resolve(&source, args.fail_on.as_deref(), None, clock)?;
    let range = match &args.range {
        Some(range) => Some(range.clone()),
        // An explicit window says which commits; so does a change under review in CI.
        None if config.since.is_some() || config.until.is_some() => None,
        None => review_range(&config, ci, quiet)?,
    };
    let mut evidence = pipeline::check(&config, range.as_deref())?;
    // A gate that checked no migration says so, whatever the output format.
    for note in evidence.notes.iter().filter(|n| n.source == "migrations") {
        eprintln!("postmortem: {}", note.message);
    }
    if let Some(path) = &args.write_baseline {
        write_baseline(path, &evidence.findings, quiet)?;
        return Ok(Status::Ok);
    }
    if let Some(path) = &args.baseline {
        evidence.findings = apply_baseline(path, std::mem::take(&mut evidence.findings), quiet)?;
    }
    let findings = &evidence.findings;
    let text = match args.format {
        CheckFormat::Text => {
            use std::io::IsTerminal;
            let terminal = args.out.output.is_none() && std::io::stdout().is_terminal();
            let no_color = std::env::var("NO_COLOR").ok();
            let text = check_output::text(findings, color.enabled(terminal, no_color.as_deref()));
            redact::redact_document(&text)
        }
        CheckFormat::Json => to_json(&check_output::json(findings))?,
        CheckFormat::Github => redact::redact_document(&check_output::github(findings)),
        CheckFormat::Sarif => to_json(&check_output::sarif(
            findings,
            &pipeline::sarif_places(&config, &evidence)?,
        ))?,
    };
    write_output(args.out.output.as_deref(), &text)?;
    let failing = findings.iter().any(|f| f.severity >= config.fail_on);
    Ok(if failing {
        Status::Findings
    } else {
        Status::Ok
    })
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// `check --write-baseline FILE`: every current finding, recorded for `--baseline`.
fn write_baseline(path: &Path, findings: &[crate::finding::Finding], quiet: bool) -> Result<()> {
    let baseline = check::baseline::Baseline::of(findings);
    write_output(
        Some(path),
        &redact::redact_json_document(&baseline.to_json()),
    )?;
    if !quiet {
        let n = baseline.findings.len();
        eprintln!(
            "postmortem: recorded {n} finding{} in {}: `check --baseline {}` fails only on new ones",
            plural(n, "", "s"),
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// `check --baseline FILE`: the findings not recorded in FILE; stderr says how many were.
fn apply_baseline(
    path: &Path,
    findings: Vec<crate::finding::Finding>,
    quiet: bool,
) -> Result<Vec<crate::finding::Finding>> {
    let baseline = check::baseline::Baseline::load(path)?;
    let (new, known, gone) = baseline.filter(findings);
    if !quiet && (known > 0 || gone > 0) {
        let fixed = if gone > 0 {
            format!(
                "; {gone} recorded there no longer occur{} (rewrite it with --write-baseline)",
                plural(gone, "s", "")
            )
        } else {
            String::new()
        };
        eprintln!(
            "postmortem: {known} finding{} recorded in {} not shown{fixed}",
            plural(known, "", "s"),
            path.display(),
        );
    }
    Ok(new)
}

/// In CI, the `A..HEAD` range of the change under review. A base the clone does not hold (a
/// shallow checkout) cannot narrow anything: every commit present is read, and stderr says so.
fn review_range(config: &Config, ci: &CiEnv, quiet: bool) -> Result<Option<String>> {
    let Some(change) = ci::change_under_review(ci)? else {
        return Ok(None);
    };
    let repo = crate::collect::git::GitRepo::open(&config.repo)?;
    match repo.resolve(&change.base) {
        Some(sha) => {
            if !quiet {
                eprintln!(
                "postmortem: {}: reading the commit messages of {}..HEAD (--range HEAD reads them all)",
                change.describe,
                crate::evidence::short_sha(&sha)
                );
            }
            Ok(Some(format!("{sha}..HEAD")))
        }
        None => {
            if !quiet {
                eprintln!(
                    "postmortem: {}: its base {} is not in this clone (check out with `fetch-depth: 0`): reading every commit present",
                    change.describe, change.base
                );
            }
            Ok(None)
        }
    }
}

fn migrations_cmd(args: MigrationsArgs) -> Result<Status> {
    // One DIR argument is one graph: `a,b` names two folders of it, `dir/**` reads subfolders.
    let given: Vec<(PathBuf, bool, usize)> = args
        .dirs
        .iter()
        .enumerate()
        .flat_map(|(graph, d)| {
            split_graph_arg(d).into_iter().map(move |part| {
                match part.to_str().and_then(|p| p.strip_suffix("/**")) {
                    Some(rest) => (PathBuf::from(rest), true, graph),
                    None => (part, false, graph),
                }
            })
        })
        .collect();
    let (base, dirs) = match &args.repo {
        Some(repo) => (repo.clone(), given.iter().map(|g| g.0.clone()).collect()),
        None => {
            // Without --repo, DIRs are relative to the current folder, wherever base ends up.
            let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
            let dirs: Vec<PathBuf> = given.iter().map(|g| cwd.join(&g.0)).collect();
            (migrations_base(&dirs)?, dirs)
        }
    };
    if !base.is_dir() {
        return Err(Error::Usage(format!(
            "--repo {}: no such folder",
            base.display()
        )));
    }
    let source = WorkDir::new(&base);
    let graphs = if dirs.is_empty() {
        let mut found = crate::migrations::discover(&source).map_err(|e| Error::io(&base, e))?;
        if found.graphs.is_empty() {
            found
                .graphs
                .extend(crate::migrations::bare_folder(&source).map_err(|e| Error::io(&base, e))?);
        }
        if found.graphs.is_empty() {
            let looked = if found.looked_for.is_empty() {
                String::new()
            } else {
                format!(
                    "; declared but empty or unreadable: {}",
                    found.looked_for.join("; ")
                )
            };
            return Err(Error::Usage(format!(
                "no migration folder found under {} (looked for alembic.ini and pyproject.toml script_location and version_locations, env.py settings, */alembic/versions and */migrations{looked}): pass the folder as an argument",
                base.display()
            )));
        }
        found.graphs
    } else {
        let mut values: Vec<Vec<String>> = vec![Vec::new(); args.dirs.len()];
        for (dir, (given, recursive, graph)) in dirs.iter().zip(&given) {
            let full = base.join(dir);
            if !full.is_dir() {
                let shown = if args.repo.is_some() { &full } else { given };
                return Err(Error::Usage(format!(
                    "{}: no such migration folder",
                    shown.display()
                )));
            }
            // Folders are read relative to --repo; an absolute one must be inside it.
            let candidate = if dir.is_absolute() { dir.clone() } else { full };
            let folder = pipeline::inside(&candidate, &base, "migration folder")?;
            values[*graph].push(if *recursive {
                format!("{folder}/**")
            } else {
                folder
            });
        }
        let values: Vec<String> = values.iter().map(|v| v.join(",")).collect();
        crate::migrations::flag_graphs(&source, &values).map_err(|e| Error::io(&base, e))?
    };
    let (sets, findings) = pipeline::migrations_only(&source, &graphs);
    let text = match args.format {
        MigrationsFormat::Text => {
            redact::redact_document(&crate::migrations::output::text(&sets, &findings))
        }
        MigrationsFormat::Json => to_json(&crate::migrations::output::json(&sets, &findings))?,
    };
    write_output(args.out.output.as_deref(), &text)?;
    Ok(Status::Ok)
}

/// `a,b` (one graph of two folders) as `[a, b]`; a path without a comma as itself.
fn split_graph_arg(path: &Path) -> Vec<PathBuf> {
    match path.to_str() {
        Some(text) if text.contains(',') => crate::migrations::discover::flag_folders(text)
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        _ => vec![path.to_path_buf()],
    }
}

/// Where `migrations DIR…` reads from without `--repo`: the current folder when it holds every
/// DIR, otherwise the project that holds them (the nearest folder above them with `alembic.ini`
/// or `.git`), so that `postmortem migrations /elsewhere/migrations/versions` works from anywhere
/// and names files as they sit in their project.
fn migrations_base(dirs: &[PathBuf]) -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    let mut common: Option<PathBuf> = None;
    for dir in dirs {
        let Ok(full) = cwd.join(dir).canonicalize() else {
            // Reported as a missing folder by the caller, with the name as given.
            return Ok(".".into());
        };
        common = Some(match common {
            None => full,
            Some(prev) => prev
                .ancestors()
                .find(|a| full.starts_with(a))
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/")),
        });
    }
    let cwd = cwd
        .canonicalize()
        .map_err(|e| Error::io(Path::new("."), e))?;
    let Some(common) = common.filter(|c| !c.starts_with(&cwd)) else {
        return Ok(".".into());
    };
    let project = common
        .ancestors()
        .find(|a| a.join("alembic.ini").is_file() || a.join(".git").exists())
        .or_else(|| common.parent())
        .unwrap_or(&common);
    Ok(project.to_path_buf())
}

fn write_new(path: &Path, text: &str, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} already exists: pass --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn init_cmd(args: InitArgs, quiet: bool) -> Result<Status> {
    let config_path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG));
    let say = |text: String| {
        if !quiet {
            eprintln!("{text}");
        }
    };
    // `--force` applies to what was asked for: `init --template` asks for the template, and
    // writes a starter configuration beside it only where there is none.
    let config_asked = args.template.is_none() || args.output.is_some();
    if config_asked {
        write_new(&config_path, config::STARTER, args.force)?;
        say(format!("wrote {}", config_path.display()));
    } else if config_path.exists() {
        say(format!("kept {} as it is", config_path.display()));
    } else {
        write_new(&config_path, config::STARTER, false)?;
        say(format!("wrote {}", config_path.display()));
    }
    if let Some(template) = &args.template {
        write_new(template, report::BUILTIN_TEMPLATE, args.force)?;
        if quiet {
            return Ok(Status::Ok);
        }
        eprintln!(
            "wrote {}: edit it, then pass --template {} (or set `template:` in {})",
            template.display(),
            template.display(),
            config_path.display()
        );
    }
    Ok(Status::Ok)
}

fn completions_cmd(args: CompletionsArgs) -> Result<Status> {
    use clap::CommandFactory;
    // The generators list hidden subcommands too (`__render-template`, which only the binary
    // itself runs): complete from a copy of the command without them.
    let full = Cli::command();
    let mut public = clap::Command::new("postmortem")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut public, "postmortem", &mut buf);
    write_output(args.out.output.as_deref(), &String::from_utf8_lossy(&buf))?;
    Ok(Status::Ok)
}

fn man_cmd(args: ManArgs) -> Result<Status> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::io(Path::new("<man page>"), e))?;
    write_output(args.out.output.as_deref(), &String::from_utf8_lossy(&buf))?;
    Ok(Status::Ok)
}

fn publish_cmd(
    args: PublishArgs,
    clock: DateTime<Utc>,
    tokens: &crate::publish::Credentials,
) -> Result<Status> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None if Path::new(config::DEFAULT_CONFIG).is_file() => {
            FileConfig::load(Path::new(config::DEFAULT_CONFIG))?
        }
        None => FileConfig::default(),
    };
    // The ticket is read before the report, so that a bad --to fails first.
    let target = publish_target(&args.to, &file.publish, "--to")?;
    let text = std::fs::read_to_string(&args.report).map_err(|e| Error::io(&args.report, e))?;
    if text.trim().is_empty() {
        return Err(Error::Malformed {
            path: args.report.clone(),
            position: None,
            message: "the file is empty: nothing to publish".into(),
        });
    }
    // No markdown document starts with `{`; an evidence snapshot always does.
    let report = if text.trim_start().starts_with('{') {
        let mut evidence = parse_evidence(&args.report, &text)?;
        evidence.normalize();
        let now = args
            .now
            .as_deref()
            .map(|s| config::parse_time(s, clock, "--now"))
            .transpose()?;
        let diagrams = if target.0.ticket.system().draws_mermaid() {
            report::DiagramStyle::Mermaid
        } else {
            report::DiagramStyle::None
        };
        report::render(
            &pipeline::context(evidence, now).with_diagrams(diagrams),
            None,
        )?
    } else {
        text
    };
    let request = PublishRequest {
        target,
        api_url: args.api_url,
        key: args.key,
        new: args.new,
        gist: args.gist,
        dry_run: args.dry_run,
        max_wait: args.max_wait,
    };
    let outcome = publish_text(&report, request, &file.publish, clock, tokens)?;
    write_output(None, &(outcome.lines.join("\n") + "\n"))?;
    Ok(Status::Ok)
}

/// What `publish` and `report --publish` both take from their flags.
struct PublishRequest {
    /// The ticket, and the tracker `publish.tracker` names ([`publish_target`]).
    target: (crate::publish::Target, Option<crate::publish::System>),
    api_url: Option<String>,
    key: Option<String>,
    new: bool,
    gist: bool,
    dry_run: bool,
    max_wait: u64,
}

/// `--to` (or `flag`), read with `publish.tracker` from the file deciding a bare key.
fn publish_target(
    to: &str,
    file: &config::PublishFile,
    flag: &str,
) -> Result<(crate::publish::Target, Option<crate::publish::System>)> {
    use crate::publish::ticket;
    let tracker = match file.tracker.as_deref() {
        Some(name) => Some(ticket::System::from_config(name).ok_or_else(|| {
            Error::Usage(format!(
                "publish.tracker: {name:?} is not one of github, gitlab, jira, linear"
            ))
        })?),
        None => None,
    };
    let target = ticket::parse(to, tracker)
        .map_err(|e| Error::Usage(e.replacen("--to ", &format!("{flag} "), 1)))?;
    Ok((target, tracker))
}

/// Publishes the rendered `report` as `postmortem publish` does.
fn publish_text(
    report: &str,
    request: PublishRequest,
    file: &config::PublishFile,
    clock: DateTime<Utc>,
    tokens: &crate::publish::Credentials,
) -> Result<crate::publish::Outcome> {
    use crate::publish::{self, Options, RetryPolicy};
    let (target, tracker) = request.target;
    // The file's API base belongs to the tracker it names, and without one never outranks the
    // host a ticket URL names: a GitHub token must not go to the GitLab host configured for
    // other tickets.
    let file_api_url = file.api_url.clone().filter(|_| match tracker {
        Some(t) => t == target.ticket.system(),
        None => target.api_url.is_none(),
    });
    let options = Options {
        target,
        api_url: request.api_url.or(file_api_url),
        key: request.key.unwrap_or_else(|| publish::default_key(report)),
        new: request.new,
        gist: request.gist,
        dry_run: request.dry_run,
        policy: RetryPolicy {
            max_total_wait: std::time::Duration::from_secs(request.max_wait),
            ..RetryPolicy::default()
        },
        clock,
    };
    publish::publish(report, &options, tokens)
}
