//! The credential formats the redactor knows, each from its issuer's documented shape.
//!
//! Order matters: specific formats come before the generic `NAME=value` assignment, so a
//! GitHub token in `GITHUB_TOKEN=ghp_…` is named `github-token`, not `secret`. Every pattern
//! names the part to hide with a `secret` group; what surrounds it (a user name, a host, the
//! variable's name) stays, because it says which credential leaked without being one.
//!
//! What must never match: commit SHAs and revision IDs (bare hex), UUIDs, Render's
//! `srv-`/`dep-`/`evt-` IDs, timestamps. No pattern here matches bare hex or a UUID unless a
//! name in front of it says it is a secret (`private_key_id`, `HEROKU_API_KEY=`).

use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

pub const PRIVATE_KEY: &str = "private-key";

pub struct Pattern {
    pub re: Regex,
    /// The kind from the definition; `url` and `assignment` are refined per match.
    kind: &'static str,
    /// Generic assignments skip values that hide nothing (`password: str`, `$DB_PASSWORD`).
    pub skip_placeholders: bool,
}

impl Pattern {
    /// The part to hide: `secret`, or for an assignment whichever form its value took.
    pub fn secret<'t>(&self, c: &Captures<'t>) -> Option<regex::Match<'t>> {
        c.name("secret")
            .or_else(|| c.name("dq"))
            .or_else(|| c.name("sq"))
            .or_else(|| c.name("bare"))
    }

    /// The kind a match is counted and marked as.
    pub fn kind(&self, c: &Captures<'_>) -> &'static str {
        match self.kind {
            "url" => url_kind(c),
            "assignment" => assignment_kind(c),
            fixed => fixed,
        }
    }
}

/// (kind, regex, skip placeholders). Kinds are stable: they appear in markers and counts.
const DEFINITIONS: &[(&str, &str, bool)] = &[
    // PEM private keys, whole, also with their newlines escaped inside JSON
    // (a GCP service-account file) or cut off before the END line. A BEGIN line with no key
    // material after it is left for `redact_key_blocks`, which hides the lines that follow.
    (
        PRIVATE_KEY,
        r"(?P<secret>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\s*[A-Za-z0-9+/=]{16,}[A-Za-z0-9+/=\s]*))",
        false,
    ),
    // Credentials inside any URL: `scheme://user:password@host`, the password possibly with
    // `/` or an unencoded `@`; the user and host stay visible.
    (
        "url",
        r"(?i)\b(?P<scheme>[a-z][a-z0-9+.-]{1,30})://[^\s:/@?#\[\]]*:(?P<secret>[^\s@]+(?:@[^\s@/]+)*)@[^\s@/?#:]+",
        false,
    ),
    // A token as the whole userinfo (`https://ghp_…@github.com`, a Sentry DSN's public key).
    (
        "url-token",
        r"(?i)\b[a-z][a-z0-9+.-]{1,30}://(?P<secret>[A-Za-z0-9_-]{16,})@[^\s@/?#:]+",
        false,
    ),
    (
        "render-api-key",
        r"\b(?P<secret>rnd_[A-Za-z0-9]{12,})\b",
        false,
    ),
    (
        "github-token",
        r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})\b",
        false,
    ),
    (
        "github-token",
        r"\b(?P<secret>github_pat_[A-Za-z0-9_]{22,255})\b",
        false,
    ),
    (
        "gitlab-token",
        r"\b(?P<secret>gl(?:pat|dt|rt|ptt|ft|imt|soat|cbt|oas|agent|ffct|wt)-[A-Za-z0-9_-]{20,})",
        false,
    ),
    (
        "gitlab-token",
        r"\b(?P<secret>GR1348941[A-Za-z0-9_-]{20,})",
        false,
    ),
    (
        "slack-token",
        r"\b(?P<secret>xox[abposr]-[0-9]+-[A-Za-z0-9-]{10,})",
        false,
    ),
    (
        "slack-token",
        r"\b(?P<secret>xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+)",
        false,
    ),
    (
        "slack-webhook",
        r"(?i)https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{20,})",
        false,
    ),
    (
        "jwt",
        r"\b(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
        false,
    ),
    // `Authorization: Basic …`, `Bearer …`, `token …` (GitHub's own scheme).
    (
        "authorization",
        r#"(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:basic|bearer|token|digest|negotiate|ntlm)\s+(?P<secret>[A-Za-z0-9._~+/=-]{4,})"#,
        false,
    ),
    (
        "bearer-token",
        r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
        false,
    ),
    (
        "stripe-key",
        r"\b(?P<secret>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,})\b",
        false,
    ),
    (
        "stripe-key",
        r"\b(?P<secret>whsec_[A-Za-z0-9+/=]{20,})",
        false,
    ),
    (
        "sendgrid-key",
        r"\b(?P<secret>SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64})",
        false,
    ),
    (
        "google-api-key",
        r"\b(?P<secret>AIza[0-9A-Za-z_-]{35})",
        false,
    ),
    (
        "google-oauth-secret",
        r"\b(?P<secret>GOCSPX-[A-Za-z0-9_-]{20,})",
        false,
    ),
    ("npm-token", r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b", false),
    (
        "anthropic-key",
        r"\b(?P<secret>sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{20,})",
        false,
    ),
    (
        "openai-key",
        r"\b(?P<secret>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,})",
        false,
    ),
    (
        "openai-key",
        r"\b(?P<secret>sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{48})\b",
        false,
    ),
    ("twilio-key", r"\b(?P<secret>SK[0-9a-fA-F]{32})\b", false),
    ("mailgun-key", r"\b(?P<secret>key-[0-9a-zA-Z]{32})\b", false),
    (
        "heroku-key",
        r"\b(?P<secret>HRKU-[A-Za-z0-9_-]{20,})",
        false,
    ),
    (
        "aws-access-key",
        r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        false,
    ),
    (
        "aws-secret-key",
        r#"(?i)aws_?secret_?access_?key["']?\s*[=:]\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})"#,
        false,
    ),
    // Azure storage and service-bus connection strings, and SAS signatures in URLs.
    (
        "azure-key",
        r"(?i)\b(?:AccountKey|SharedAccessKey)=(?P<secret>[A-Za-z0-9+/=]{20,})",
        false,
    ),
    (
        "azure-key",
        r"[?&]sig=(?P<secret>[A-Za-z0-9%+/=]{20,})",
        false,
    ),
    // A GCP service-account file's key ID: 40 hex, like a SHA, so only with its name.
    (
        "gcp-key-id",
        r#""private_key_id"\s*:\s*"(?P<secret>[0-9a-f]{40})""#,
        false,
    ),
    // Docker's config.json: `"auth": "base64(user:password)"`, `"identitytoken": "…"`.
    (
        "docker-auth",
        r#""(?:auth|identitytoken|registrytoken)"\s*:\s*"(?P<secret>[A-Za-z0-9+/=._-]{8,})""#,
        false,
    ),
    // `NAME=value`, `NAME: "value with spaces; and more"`, `?password=…&`: a name that ends in
    // a secret's word, then a quoted value (anything up to the closing quote) or a bare one
    // (up to whitespace or a separator). `*_KEY` counts only in an environment variable's
    // upper case, so `sort_key=name` or `foreign_key: users.id` stay.
    (
        "assignment",
        r#"(?:\b(?i:[A-Za-z0-9_.-]*(?:password|passwd|secret|token|api_?key|access_?key|private_?key|secret_?key|auth_?key|signing_?key|encryption_?key|master_?key|credentials?|_authtoken)(?:_id|_base)?)|\b[A-Z][A-Z0-9_]*_KEY)["']?\s*[=:]\s*(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s"'&,)\]}\\]+))"#,
        true,
    ),
];

static COMPILED: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    DEFINITIONS
        .iter()
        .map(|(kind, source, skip)| Pattern {
            re: Regex::new(source).expect("valid redaction pattern"),
            kind,
            skip_placeholders: *skip,
        })
        .collect()
});

static ANY: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(COMPILED.iter().map(|p| p.re.as_str())).expect("valid set"));

/// A database URL's password keeps the kind the report has always shown; any other URL's is
/// `url-password`.
fn url_kind(c: &Captures<'_>) -> &'static str {
    let scheme = c
        .name("scheme")
        .map_or("", |m| m.as_str())
        .to_ascii_lowercase();
    let scheme = scheme.split('+').next().unwrap_or("");
    if matches!(
        scheme,
        "postgres"
            | "postgresql"
            | "mysql"
            | "mariadb"
            | "redis"
            | "rediss"
            | "mongodb"
            | "amqp"
            | "amqps"
            | "mssql"
            | "oracle"
            | "cockroachdb"
    ) {
        super::DATABASE_URL_PASSWORD
    } else {
        "url-password"
    }
}

fn assignment_kind(c: &Captures<'_>) -> &'static str {
    let name = c.get(0).map_or("", |m| m.as_str()).to_ascii_lowercase();
    let name = name.split(['=', ':']).next().unwrap_or("");
    if name.contains("passw") {
        super::PASSWORD
    } else {
        super::SECRET
    }
}

/// The patterns that can match `text`, in order; none for the common line with no secret.
pub fn matching(text: &str) -> impl Iterator<Item = &'static Pattern> {
    let hits = ANY.matches(text);
    COMPILED
        .iter()
        .enumerate()
        .filter(move |(i, _)| hits.matched(*i))
        .map(|(_, p)| p)
}
