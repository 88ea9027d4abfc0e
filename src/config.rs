//! One place where postmortem.yaml, flags and the environment become a [`Config`]:
//! a flag (or its environment variable) wins over the file, the file over the defaults.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::cli::SourceArgs;
use crate::evidence::Incident;
use crate::finding::Severity;
use crate::{Error, Result};

mod bounds;
pub use bounds::{MAX_ALIASES, MAX_CONFIG_BYTES};

pub const DEFAULT_API_URL: &str = "https://api.render.com/v1";
/// Read when no --config is given and the file exists.
pub const DEFAULT_CONFIG: &str = "postmortem.yaml";

/// postmortem.yaml as written. Unknown keys are errors, so a typo never silently does nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub service: Option<String>,
    pub repo: Option<PathBuf>,
    pub render_api_url: Option<String>,
    pub render_data: Option<PathBuf>,
    /// Seconds; see `--timeout`.
    pub timeout: Option<u64>,
    pub since: Option<String>,
    pub until: Option<String>,
    #[serde(default)]
    pub migrations: Vec<PathBuf>,
    #[serde(default)]
    pub disable: Vec<String>,
    pub fail_on: Option<String>,
    pub template: Option<PathBuf>,
    #[serde(default)]
    pub incident: Incident,
    #[serde(default)]
    pub publish: PublishFile,
}

/// `publish:` in postmortem.yaml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishFile {
    /// `github`, `gitlab`, `jira` or `linear`: what a bare `--to PROJ-123` means.
    pub tracker: Option<String>,
    /// The API base, as `--api-url`; with `tracker` set, for that tracker's tickets only.
    pub api_url: Option<String>,
}

impl FileConfig {
    /// Reads and parses `path`; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<FileConfig> {
        let text = bounds::read(path)?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<FileConfig> {
        if text.trim().is_empty() {
            return Ok(FileConfig::default());
        }
        bounds::check(text, path)?;
        let mut file: FileConfig = serde_yaml::from_str(text).map_err(|e| {
            let position = e.location().map(|l| (l.line(), l.column()));
            // serde_yaml ends its message with the position the error already starts with.
            let mut message = e.to_string();
            if let Some((line, column)) = position {
                let suffix = format!(" at line {line} column {column}");
                if let Some(stripped) = message.strip_suffix(&suffix) {
                    message = stripped.to_string();
                }
            }
            Error::Malformed {
                path: path.to_path_buf(),
                position,
                message,
            }
        })?;
        // Paths in the file are relative to the file, not to wherever the tool runs.
        let base = path.parent().unwrap_or(Path::new(""));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        file.repo.as_mut().map(rebase);
        file.render_data.as_mut().map(rebase);
        file.template.as_mut().map(rebase);
        Ok(file)
    }
}

/// The `postmortem.yaml` that applies to `start` (the --repo folder, or the working directory):
/// the nearest one in `start` or a parent, up to the root of the git work tree that holds it,
/// as ruff and git-cliff find theirs. Outside a repository only `start` itself is looked at, so
/// a stray file higher up never applies.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    let in_repo = start.ancestors().any(|d| d.join(".git").exists());
    for dir in start.ancestors() {
        let candidate = dir.join(DEFAULT_CONFIG);
        if candidate.is_file() {
            return Some(candidate);
        }
        if !in_repo || dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// Everything a run needs, merged and validated.
#[derive(Clone)]
pub struct Config {
    pub repo: PathBuf,
    pub service: Option<String>,
    pub render_api_url: String,
    pub render_data: Option<PathBuf>,
    /// Render API connect and response timeout, when set (`--timeout`, `timeout:`).
    pub timeout: Option<std::time::Duration>,
    /// From `RENDER_API_KEY`; kept out of `Debug` and never written anywhere.
    api_key: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Migration folders as given (relative to the working directory or absolute).
    pub migrations: Vec<PathBuf>,
    pub disabled: BTreeSet<String>,
    pub fail_on: Severity,
    pub template: Option<PathBuf>,
    pub incident: Incident,
    /// Given with --now; otherwise the report uses the newest fact it has.
    pub now: Option<DateTime<Utc>>,
    /// `publish:` from the file, for `report --publish`.
    pub publish: PublishFile,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("repo", &self.repo)
            .field("service", &self.service)
            .field("render_api_url", &self.render_api_url)
            .field("render_data", &self.render_data)
            .field("api_key", &self.api_key.as_ref().map(|_| "****"))
            .field("since", &self.since)
            .field("until", &self.until)
            .field("migrations", &self.migrations)
            .field("disabled", &self.disabled)
            .field("fail_on", &self.fail_on)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Merges flags (with their environment variables, already applied by clap), the config
    /// file, and the defaults. `api_key` is `RENDER_API_KEY`; `clock` is the wall clock, used
    /// only when neither --now nor POSTMORTEM_NOW is given and a relative time needs a base.
    pub fn resolve(
        args: &SourceArgs,
        fail_on: Option<&str>,
        api_key: Option<String>,
        clock: DateTime<Utc>,
    ) -> Result<Config> {
        let found = match &args.config {
            Some(path) => Some(path.clone()),
            None => find_config(args.repo.as_deref().unwrap_or(Path::new("."))),
        };
        let file = match &found {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let now = args
            .now
            .as_deref()
            .map(|s| parse_time(s, clock, "--now"))
            .transpose()?;
        let base = now.unwrap_or(clock);
        let since = args.since.clone().or(file.since);
        let until = args.until.clone().or(file.until);
        let since = since
            .as_deref()
            .map(|s| parse_time(s, base, "--since"))
            .transpose()?;
        let until = until
            .as_deref()
            .map(|s| parse_time(s, base, "--until"))
            .transpose()?;
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                return Err(Error::Usage(format!(
                    "--since ({s}) is after --until ({u}): the window would be empty"
                )));
            }
        }
        // Values from the file name the file in their errors; flags name themselves.
        let in_file = |key: &str| match &found {
            Some(path) => format!("{}: {key}", path.display()),
            None => key.to_string(),
        };
        let mut disabled = BTreeSet::new();
        let named = file
            .disable
            .iter()
            .map(|n| (n, in_file("disable")))
            .chain(args.disable.iter().map(|n| (n, "--disable".to_string())));
        for (name, whence) in named {
            if crate::check::rule(name).is_none() && name != crate::check::UNUSED_IGNORE.name {
                return Err(Error::Usage(format!(
                    "{whence}: unknown rule `{name}`: see `postmortem check --list-rules`"
                )));
            }
            disabled.insert(name.clone());
        }
        let fail_on = match (fail_on, file.fail_on) {
            (Some(s), _) => s
                .parse()
                .map_err(|e| Error::Usage(format!("--fail-on: {e}")))?,
            (None, Some(s)) => s
                .parse()
                .map_err(|e| Error::Usage(format!("{}: {e}", in_file("fail_on"))))?,
            (None, None) => Severity::Error,
        };
        let service = args.service.clone().or(file.service);
        if let Some(s) = &service {
            if s.trim().is_empty() {
                return Err(Error::Usage(
                    "--service is empty: give srv-… or a service name".into(),
                ));
            }
        }
        Ok(Config {
            repo: args
                .repo
                .clone()
                .or(file.repo)
                .unwrap_or_else(|| PathBuf::from(".")),
            service,
            render_api_url: args
                .render_api_url
                .clone()
                .or(file.render_api_url)
                .unwrap_or_else(|| DEFAULT_API_URL.to_string()),
            render_data: args.render_data.clone().or(file.render_data),
            // The file's value gets the bounds the flag has (a huge one would overflow the
            // wait budget's arithmetic).
            timeout: match args.timeout.or(file.timeout) {
                Some(t) if !(1..=3600).contains(&t) => {
                    return Err(Error::Usage(format!(
                        "timeout: {t} seconds is outside 1..=3600 (0 would fail every request)"
                    )))
                }
                t => t.map(std::time::Duration::from_secs),
            },
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            since,
            until,
            migrations: if args.migrations.is_empty() {
                file.migrations
            } else {
                args.migrations.clone()
            },
            disabled,
            fail_on,
            template: file.template,
            incident: file.incident,
            now,
            publish: file.publish,
        })
    }

    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }
}

/// RFC 3339 (`2025-11-10T15:43:00Z`), a bare date (`2025-11-10`, midnight UTC), or a span back
/// from `now`: `90m`, `48h`, `7d`, `2w`.
pub fn parse_time(text: &str, now: DateTime<Utc>, what: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits.parse().map_err(|_| bad_time(text, what))?;
    let span = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        "w" => Duration::try_weeks(amount),
        _ => None,
    }
    .ok_or_else(|| bad_time(text, what))?;
    now.checked_sub_signed(span)
        .ok_or_else(|| bad_time(text, what))
}

fn bad_time(text: &str, what: &str) -> Error {
    Error::Usage(format!(
        "{what}: `{text}` is not a time: use RFC 3339 (2025-11-10T15:43:00Z), a date (2025-11-10) or a span back from now (90m, 48h, 7d, 2w)"
    ))
}

/// The starter postmortem.yaml written by `postmortem init`.
pub const STARTER: &str = r#"# postmortem configuration: every key is optional. Flags win over this file.
# Paths are relative to this file.

# Render service: an ID (srv-...) or its name. The API key comes from RENDER_API_KEY only.
# service: srv-xxxxxxxxxxxxxxxxxxxx
# repo: .
# render_api_url: https://api.render.com/v1
# render_data: ./render-export        # offline: saved API pages or `render ... -o json` output
# timeout: 30                          # seconds to wait for the Render API (connect, each response; 3x for all retry waits)
# since: 48h                          # default: the last good deploy before the first failure
# until: 2025-11-10T18:15:00Z
# migrations: [backend/alembic/versions]
# disable: [sqlite-tests-postgres-prod]
# fail_on: error                      # postmortem check: error, warning or info
# template: ./postmortem.md.tera      # your own report template

# What only a human knows; rendered as written.
incident:
  # title: Backend deploys failing
  # status: Root Cause Identified
  # impact: Backend is completely down. Frontend is live but cannot reach the API.
  # summary: One paragraph, if you want to say it in your own words.
  lessons: []
  #  - Always test migrations against PostgreSQL before deploying.
  status_updates: []
  #  - at: 2025-11-10T18:15:00Z
  #    text: Root cause identified, fix strategy documented
  follow_ups: []
  #  - what: Run migration tests against PostgreSQL in CI
  #    owner: dana
  #    due: 2025-11-17
  verification: []
  #  - New deals can be created via the API

# `postmortem publish`: what a bare --to PROJ-123 means, and the API base (GitHub Enterprise,
# self-managed GitLab). Tokens come from GH_TOKEN, GITLAB_TOKEN, ... only.
# publish:
#   tracker: github
#   api_url: https://gitlab.example.com/api/v4
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-11-10T18:15:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn publish_section() {
        let path = Path::new("postmortem.yaml");
        let file = FileConfig::parse(
            "publish:\n  tracker: gitlab\n  api_url: https://git.example.com/api/v4\n",
            path,
        )
        .unwrap();
        assert_eq!(file.publish.tracker.as_deref(), Some("gitlab"));
        assert_eq!(
            file.publish.api_url.as_deref(),
            Some("https://git.example.com/api/v4")
        );
        let err = FileConfig::parse("publish:\n  token: x\n", path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `token`"), "{err}");
    }

    #[test]
    fn relative_and_absolute_times() {
        assert_eq!(
            parse_time("48h", now(), "--since").unwrap().to_rfc3339(),
            "2025-11-08T18:15:00+00:00"
        );
        assert_eq!(
            parse_time("2025-11-10", now(), "--since")
                .unwrap()
                .to_rfc3339(),
            "2025-11-10T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("2025-11-10T17:00:00+02:00", now(), "x")
                .unwrap()
                .to_rfc3339(),
            "2025-11-10T15:00:00+00:00"
        );
        let err = parse_time("yesterday", now(), "--since")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--since") && err.contains("yesterday"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_position() {
        let err = FileConfig::parse("service: srv-a\nservise: b\n", Path::new("postmortem.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("postmortem.yaml:2:"), "{err}");
        assert!(err.contains("servise"), "{err}");
    }

    #[test]
    fn starter_parses() {
        let file = FileConfig::parse(STARTER, Path::new("postmortem.yaml")).unwrap();
        assert!(file.service.is_none());
        assert!(file.incident.lessons.is_empty());
    }

    #[test]
    fn flags_win_over_file_and_key_is_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postmortem.yaml");
        std::fs::write(
            &path,
            "service: srv-fromfile\nsince: 7d\nfail_on: warning\n",
        )
        .unwrap();
        let args = SourceArgs {
            config: Some(path),
            service: Some("srv-fromflag".into()),
            ..Default::default()
        };
        let config = Config::resolve(&args, None, Some("rnd_secret".into()), now()).unwrap();
        assert_eq!(config.service.as_deref(), Some("srv-fromflag"));
        assert_eq!(
            config.since.unwrap().to_rfc3339(),
            "2025-11-03T18:15:00+00:00"
        );
        assert_eq!(config.fail_on, Severity::Warning);
        assert!(!format!("{config:?}").contains("rnd_secret"));
    }

    #[test]
    fn unknown_rule_in_disable_is_an_error() {
        let args = SourceArgs {
            disable: vec!["no-such-rule".into()],
            ..Default::default()
        };
        let err = Config::resolve(&args, None, None, now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no-such-rule"), "{err}");
    }
}
