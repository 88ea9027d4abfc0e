//! Command-line definitions. Values here are raw; `config.rs` merges them with postmortem.yaml
//! and the defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "postmortem",
    version,
    about = "Write the postmortem of a failed Render deploy from the facts",
    long_about = "Write the postmortem of a failed Render deploy from the facts: what Render saw \
(deploys, events, logs), what changed in git between the last good deploy and the first bad one, \
and which migration broke and why (read statically, without running Python or a database).\n\n\
Run `postmortem report` in the service's repository after an outage; run `postmortem check` in CI \
so the next bad migration never ships.",
    after_help = "Exit codes: 0 success; 1 `check` found something at or above --fail-on, or \
`fix` found no reorder that passes the schema rules (it prints the alternatives); 2 error (bad flag or config, unreadable file, rejected API key, not a git repository); \
3 report written but partial (a source was unreachable or unavailable: see its Gaps section)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output: `auto` colours a terminal unless NO_COLOR is set
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t)]
    pub color: ColorWhen,

    /// Print nothing on stderr but errors: no progress, no notes
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorWhen {
    /// Colour when writing to a terminal and NO_COLOR is not set
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether to colour a stream. `NO_COLOR` (any non-empty value, no-color.org) turns `auto`
    /// off; an explicit `always` still wins, as in ripgrep.
    pub fn enabled(self, is_terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => is_terminal && no_color.is_none_or(str::is_empty),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect, analyse, check and write the postmortem in one go (the main job)
    Report(ReportArgs),
    /// Write the evidence snapshot (JSON) and nothing else
    Collect(CollectArgs),
    /// Render a saved evidence snapshot to markdown, offline (no network, no repository)
    Render(RenderArgs),
    /// Run the rules as a CI gate: exit 0 when clean, 1 on findings at/above --fail-on, 2 on errors
    #[command(
        after_help = "`check` reads the repository only. The deploy rules (failed-deploy-streak, \
migration-failed-in-logs) need Render's deploys and logs: run `postmortem report --service …` or \
`--render-data DIR` for them."
    )]
    Check(CheckArgs),
    /// Show the migration graph (heads, merges) and its findings
    Migrations(MigrationsArgs),
    /// Print the computed fix of a failing migration as a diff; --write applies it
    #[command(
        after_help = "The fix reorders the statements of the revision's upgrade() (and the \
matching ones of downgrade()) and is offered only when the reordered file passes every schema \
rule. Exit codes: 0 the diff was printed (or written), or nothing to fix; 1 no reorder passes: \
the alternatives are printed instead; 2 error (no revision to pick, or the file changed since it \
was read: --write never writes over a file it did not analyse)."
    )]
    Fix(FixArgs),
    /// Write a starter postmortem.yaml, or with --template the builtin report template
    Init(InitArgs),
    /// Put a rendered postmortem on the incident ticket, as one comment that re-runs update
    Publish(PublishArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `postmortem man > /usr/local/share/man/man1/postmortem.1`
    Man(ManArgs),
    /// Internal: render a template sent on stdin, in a process of its own under the
    /// address-space limit given (bytes). The parent `postmortem` runs it; never run by hand.
    #[command(name = "__render-template", hide = true)]
    RenderTemplateChild {
        /// Address-space limit in bytes
        memory_limit: u64,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "bash: postmortem completions bash > ~/.local/share/bash-completion/completions/postmortem\n\
zsh:  postmortem completions zsh > ~/.zfunc/_postmortem  (with fpath+=~/.zfunc before compinit)\n\
fish: postmortem completions fish > ~/.config/fish/completions/postmortem.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Options every collecting command shares; each can also be set in postmortem.yaml.
#[derive(Debug, Args, Default, Clone)]
pub struct SourceArgs {
    /// Config file to read [default: postmortem.yaml in --repo or a parent, up to the repository root]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Git repository (or a folder inside one) [default: .]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,

    /// Render service: an ID (srv-…) or a name, resolved through the API
    #[arg(long, value_name = "ID", env = "RENDER_SERVICE_ID")]
    pub service: Option<String>,

    /// Render API base URL [default: https://api.render.com/v1]
    #[arg(long, value_name = "URL", env = "RENDER_API_URL")]
    pub render_api_url: Option<String>,

    /// Read Render data from saved files instead of the API: raw API pages or Render CLI
    /// `-o json` output (deploys, events, logs)
    #[arg(long, value_name = "DIR")]
    pub render_data: Option<PathBuf>,

    /// Start of the incident window: RFC 3339 or relative to now (48h, 7d)
    /// [default: the last good deploy before the first failure]
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// End of the incident window: RFC 3339 or relative to now [default: the newest deploy]
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Migration graph (repeatable: one graph each): a folder, `a,b` for several folders of one
    /// graph, `DIR/**` to read subfolders too [default: discovered like Alembic: alembic.ini,
    /// [tool.alembic], env.py literals, Flask-Migrate; else */alembic/versions, */migrations]
    #[arg(long = "migrations", value_name = "DIR")]
    pub migrations: Vec<PathBuf>,

    /// Disable a rule (repeatable); see `postmortem check --list-rules`
    #[arg(long, value_name = "RULE")]
    pub disable: Vec<String>,

    /// The time to treat as "now" (RFC 3339): the end of an unresolved incident, and the base
    /// of relative --since/--until [default: the clock]
    #[arg(long, value_name = "TIME", env = "POSTMORTEM_NOW")]
    pub now: Option<String>,

    /// Seconds to wait for the Render API to connect, and again for each response, before
    /// retrying; all the run's waits for retries and rate limits together get three times
    /// this [default: 10 to connect, 30 for a response, 90 for all waits]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
}

/// The options of `check`: the repository side of [`SourceArgs`]. `check` judges the change in
/// the repository, so Render's flags are not accepted (clap rejects them instead of ignoring
/// them): deploy history would make the gate depend on production rather than on the change.
/// The repository and its migration graphs, as `check` and `fix` read them.
#[derive(Debug, Args, Default, Clone)]
pub struct GraphArgs {
    /// Config file to read [default: postmortem.yaml in --repo or a parent, up to the repository root]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Git repository (or a folder inside one), which file paths are relative to [default: .]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,

    /// Migration graph (repeatable: one graph each): a folder, `a,b` for several folders of one
    /// graph, `DIR/**` to read subfolders too [default: discovered like Alembic: alembic.ini,
    /// [tool.alembic], env.py literals, Flask-Migrate; else */alembic/versions, */migrations]
    #[arg(long = "migrations", value_name = "DIR")]
    pub migrations: Vec<PathBuf>,

    /// Disable a rule (repeatable); see `postmortem check --list-rules`
    #[arg(long, value_name = "RULE")]
    pub disable: Vec<String>,
}

impl From<GraphArgs> for SourceArgs {
    fn from(a: GraphArgs) -> SourceArgs {
        SourceArgs {
            config: a.config,
            repo: a.repo,
            migrations: a.migrations,
            disable: a.disable,
            ..SourceArgs::default()
        }
    }
}

/// The options of `check`: the repository side of [`SourceArgs`]. `check` judges the change in
/// the repository, so Render's flags are not accepted (clap rejects them instead of ignoring
/// them): deploy history would make the gate depend on production rather than on the change.
#[derive(Debug, Args, Default, Clone)]
pub struct RepoArgs {
    #[command(flatten)]
    pub graph: GraphArgs,

    /// Only check commit messages committed at or after TIME: RFC 3339 or relative to now
    /// (48h, 7d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only check commit messages committed at or before TIME: RFC 3339 or relative to now
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// The time to treat as "now" (RFC 3339), the base of relative --since/--until
    /// [default: the clock]
    #[arg(long, value_name = "TIME", env = "POSTMORTEM_NOW")]
    pub now: Option<String>,
}

impl From<RepoArgs> for SourceArgs {
    fn from(a: RepoArgs) -> SourceArgs {
        SourceArgs {
            since: a.since,
            until: a.until,
            now: a.now,
            ..a.graph.into()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    /// The postmortem document
    #[default]
    Markdown,
    /// The evidence snapshot, findings included (same as `collect`)
    Json,
    /// The template context: what a custom --template can use
    Context,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write there instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Render with this Tera template instead of the builtin one (`postmortem init --template`
    /// writes the builtin one out to start from)
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Diagrams in the markdown: `mermaid` (GitHub, GitLab and Linear render it) or `none`
    /// [default: none when --publish goes to Jira, which shows Mermaid as source; else mermaid]
    #[arg(long, value_enum)]
    pub diagrams: Option<Diagrams>,
    #[command(flatten)]
    pub publish: ReportPublishArgs,
}

/// `report --publish`: the options of `postmortem publish`, for the report just written.
#[derive(Debug, Args, Default)]
pub struct ReportPublishArgs {
    /// Also put the report on this ticket, as `postmortem publish REPORT.md --to TICKET` does
    /// (markdown only; the tokens are those `postmortem publish --help` lists)
    #[arg(long, value_name = "TICKET")]
    pub publish: Option<String>,
    /// With --publish: the ticket system's API base URL (see `postmortem publish --help`)
    #[arg(long, value_name = "URL", env = "POSTMORTEM_PUBLISH_API_URL")]
    pub api_url: Option<String>,
    /// With --publish: add new comments even when this postmortem's are already on the ticket
    #[arg(long, requires = "publish")]
    pub new: bool,
    /// With --publish: over GitHub's comment limit, the whole report in a secret gist
    #[arg(long, requires = "publish")]
    pub gist: bool,
    /// With --publish: write the report, but only print the requests publishing would make
    #[arg(long, requires = "publish")]
    pub dry_run: bool,
    /// With --publish: what tells this postmortem's comments apart [default: from the title]
    #[arg(long, value_name = "KEY", requires = "publish")]
    pub key: Option<String>,
    /// With --publish: seconds to wait in all for rate limits before giving up
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub max_wait: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Diagrams {
    /// Mermaid flowcharts of the deploy history and the migration graph
    #[default]
    Mermaid,
    /// No diagrams
    None,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Evidence snapshot written by `postmortem collect` or `report --format json`
    #[arg(value_name = "EVIDENCE.json")]
    pub evidence: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Output format (`json` re-emits the snapshot normalised)
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Render with this Tera template instead of the builtin one
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Diagrams in the markdown: `mermaid` (GitHub and GitLab render it) or `none`
    #[arg(long, value_enum, default_value_t)]
    pub diagrams: Diagrams,
    /// postmortem.yaml whose narrative (impact, status updates, lessons) replaces the snapshot's
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The time to treat as "now" for an unresolved incident (RFC 3339)
    #[arg(long, value_name = "TIME", env = "POSTMORTEM_NOW")]
    pub now: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum CheckFormat {
    /// file:line, rule, message, an excerpt and the help
    #[default]
    Text,
    /// {"findings": [...]}
    Json,
    /// GitHub Actions workflow annotations (::error file=…,line=…::)
    Github,
    /// SARIF 2.1.0, for code-scanning uploads
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: RepoArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: CheckFormat,
    /// Lowest severity that fails the check (exit 1) [default: error]
    #[arg(long, value_name = "SEVERITY", value_parser = ["error", "warning", "info"])]
    pub fail_on: Option<String>,
    /// Only read the commit messages in this range (`A..B`; `HEAD` for all of HEAD's history)
    /// [default: in GitHub Actions and GitLab CI, the commits of the pull or merge request (or
    /// of the push); elsewhere all of HEAD's history]
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Findings recorded in FILE (by --write-baseline) are not shown and do not fail; only new
    /// ones do
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE, for --baseline, and exit 0
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// List the rules and exit
    #[arg(long)]
    pub list_rules: bool,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// The revision to fix [default: the one the evidence's root cause names, else the only
    /// revision a schema rule flags]
    #[arg(value_name = "REVISION")]
    pub revision: Option<String>,
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Write the fix into the file, like `ruff --fix`; refused when the file is not the one
    /// analysed (its git blob ID differs)
    #[arg(long, conflicts_with = "output")]
    pub write: bool,
    /// Compute the fix from an evidence snapshot (`postmortem collect`) instead of reading
    /// the repository's migrations; --write then refuses a file that changed since the
    /// snapshot was taken
    #[arg(long, value_name = "EVIDENCE.json")]
    pub evidence: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum MigrationsFormat {
    /// The graph drawn as text, then the findings
    #[default]
    Text,
    /// {"migration_sets": [...], "findings": [...]}
    Json,
}

#[derive(Debug, Args)]
pub struct MigrationsArgs {
    /// Migration graphs, one per argument: a folder, `a,b` for several folders of one graph,
    /// `DIR/**` to read subfolders too [default: discovered under --repo like Alembic]
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Folder to discover migrations in when no DIR is given [default: .]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: MigrationsFormat,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the starter configuration [default: postmortem.yaml]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the builtin report template to this file, to customise and pass to --template
    /// (the starter configuration too, unless it already exists)
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "postmortem.md.tera")]
    pub template: Option<PathBuf>,
    /// Overwrite what was asked for if it exists: the template with --template, the
    /// configuration without it (or when -o names it)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Tickets: owner/repo#123 or a GitHub issue/PR URL; gitlab:group/project#12 or a \
GitLab issue URL; linear:ENG-42 or a Linear issue URL; jira:PROJ-123 (with --api-url) or a \
Jira browse URL.\n\n\
New ticket: github:owner/repo or gitlab:group/project (no number) opens a new issue titled with \
the report's first heading and puts the report in its first comment. It opens another issue on \
every run: to update the report later, pass the number it printed (owner/repo#N).\n\n\
Tokens, read as each system's own CLI reads them (never printed, logged or stored, and sent only \
to the API's own host):\n  \
GitHub: GH_TOKEN, else GITHUB_TOKEN (github.com and *.ghe.com)\n  \
GitHub Enterprise Server: GH_ENTERPRISE_TOKEN, else GITHUB_ENTERPRISE_TOKEN\n  \
GitHub host of owner/repo#N: GH_HOST [default: github.com]\n  \
GitLab: GITLAB_TOKEN, else GITLAB_ACCESS_TOKEN\n  \
Jira:   JIRA_USER_EMAIL with JIRA_API_TOKEN for Jira Cloud (Basic auth; REST v3, ADF),\n          \
JIRA_API_TOKEN alone for a Data Center personal access token (Bearer; REST v2, wiki)\n  \
Linear: LINEAR_API_KEY (a personal API key, sent as is; for an OAuth token, set it to `Bearer <token>`)"
)]
pub struct PublishArgs {
    /// The rendered postmortem (markdown), e.g. written by `postmortem report -o REPORT.md`, or
    /// an evidence snapshot (JSON, from `postmortem collect`), rendered first with the builtin
    /// template
    #[arg(value_name = "REPORT.md")]
    pub report: PathBuf,
    /// The ticket: owner/repo#123, a GitHub issue or PR URL, gitlab:group/project#12, a GitLab
    /// issue URL, linear:ENG-42, a Linear issue URL, jira:PROJ-123, a Jira browse URL;
    /// github:owner/repo or gitlab:group/project opens a new issue
    #[arg(long, value_name = "TICKET")]
    pub to: String,
    /// API base URL, for GitHub Enterprise (https://HOST/api/v3), self-managed GitLab
    /// (https://HOST/api/v4), a Jira site (https://SITE.atlassian.net; ending in /rest/api/2 or
    /// /rest/api/3 it also says Data Center or Cloud); for Linear the GraphQL endpoint [default:
    /// the ticket URL's host, else api.github.com / gitlab.com / api.linear.app/graphql]
    #[arg(long, value_name = "URL", env = "POSTMORTEM_PUBLISH_API_URL")]
    pub api_url: Option<String>,
    /// Add new comments even when this postmortem's comments are already on the ticket
    #[arg(long)]
    pub new: bool,
    /// GitHub: a report over the comment limit goes whole into a secret gist (the token needs
    /// the gist scope), with its summary sections in the comment, instead of numbered comments
    #[arg(long)]
    pub gist: bool,
    /// Print the requests it would make (method, URL, size; no token) and the bodies; send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// What tells this postmortem's comments apart on the ticket [default: from the report's title]
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Seconds to wait in all for rate limits before giving up
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub max_wait: u64,
    /// incident.yaml whose `publish:` section to read; ./postmortem.yaml is read when present
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// For an evidence snapshot: the time to treat as "now" for an unresolved incident (RFC 3339)
    #[arg(long, value_name = "TIME", env = "POSTMORTEM_NOW")]
    pub now: Option<String>,
}
