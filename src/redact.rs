//! Redaction of credentials in collected text, before anything is stored.
//!
//! Deploy logs and commit messages routinely carry secrets: an entrypoint that echoes
//! `DATABASE_URL`, a traceback that prints a connection string, a `curl -H "Authorization:
//! Bearer ..."` in a commit body. The evidence snapshot is attached to tickets, so every text
//! that enters it goes through [`redact`] first. Markers name the kind of secret
//! (`[REDACTED:database-url-password]`) and the counts per kind end up in
//! `Evidence::redactions`, so the report can say what was hidden without showing it.
//!
//! A database URL keeps its user and host visible (they say which database failed, and are not
//! secrets); only the password is replaced.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Marker text for one kind of secret.
pub fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

pub const DATABASE_URL_PASSWORD: &str = "database-url-password";
pub const RENDER_API_KEY: &str = "render-api-key";
pub const BEARER_TOKEN: &str = "bearer-token";
pub const AWS_ACCESS_KEY: &str = "aws-access-key";
pub const AWS_SECRET_KEY: &str = "aws-secret-key";
pub const PASSWORD: &str = "password";
pub const SECRET: &str = "secret";

// `scheme://user:password@host`: the password is whatever sits between the user's colon and
// the last `@` before the host; `/` and whitespace end the authority part.
static DATABASE_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b((?:postgres(?:ql)?|mysql|mariadb|redis|rediss|mongodb(?:\+srv)?|amqps?|mssql|oracle|cockroachdb)(?:\+[a-z0-9_]+)?://[^\s:/@]*:)([^\s/@]+(?:@[^\s/@]+)*)(@[^\s/@]+)",
    )
    .expect("valid regex")
});

static RENDER_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\brnd_[A-Za-z0-9]{12,}\b").expect("valid regex"));

static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})").expect("valid regex")
});

static AWS_ACCESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b").expect("valid regex"));

static AWS_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(aws_secret_access_key["']?\s*[=:]\s*["']?)([A-Za-z0-9/+=]{40})"#)
        .expect("valid regex")
});

// `password=...`, `DB_PASSWORD: ...`, `client_secret="..."`, `?access_token=...`. The value stops at
// whitespace, quotes and the separators of query strings and argument lists.
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b([a-z0-9_.-]*?(passwd|password|secret|api_key|apikey|access_token|auth_token|refresh_token)[a-z0-9_]*["']?\s*[=:]\s*["']?)([^\s"'&,;)\]}]+)"#,
    )
    .expect("valid regex")
});

/// Replaces every credential in `text` with a `[REDACTED:kind]` marker and counts the
/// replacements per kind in `counts`.
pub fn redact(text: &str, counts: &mut BTreeMap<String, u32>) -> String {
    let mut found: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut bump = |kind: &'static str| *found.entry(kind).or_insert(0) += 1;

    let text = DATABASE_URL.replace_all(text, |c: &Captures<'_>| {
        if is_marker(&c[2]) {
            return c[0].to_string();
        }
        bump(DATABASE_URL_PASSWORD);
        format!("{}{}{}", &c[1], marker(DATABASE_URL_PASSWORD), &c[3])
    });
    let text = RENDER_KEY.replace_all(&text, |_: &Captures<'_>| {
        bump(RENDER_API_KEY);
        marker(RENDER_API_KEY)
    });
    let text = BEARER.replace_all(&text, |c: &Captures<'_>| {
        bump(BEARER_TOKEN);
        format!("{}{}", &c[1], marker(BEARER_TOKEN))
    });
    let text = AWS_SECRET.replace_all(&text, |c: &Captures<'_>| {
        bump(AWS_SECRET_KEY);
        format!("{}{}", &c[1], marker(AWS_SECRET_KEY))
    });
    let text = AWS_ACCESS.replace_all(&text, |_: &Captures<'_>| {
        bump(AWS_ACCESS_KEY);
        marker(AWS_ACCESS_KEY)
    });
    let text = PAIR.replace_all(&text, |c: &Captures<'_>| {
        let value = &c[3];
        // Already hidden by a more specific pattern, or a placeholder that hides nothing.
        if is_marker(value) || is_placeholder(value) {
            return c[0].to_string();
        }
        let key = c[2].to_ascii_lowercase();
        let kind = if matches!(key.as_str(), "passwd" | "password") {
            PASSWORD
        } else {
            SECRET
        };
        bump(kind);
        format!("{}{}", &c[1], marker(kind))
    });
    let text = text.into_owned();
    for (kind, n) in found {
        *counts.entry(kind.to_string()).or_insert(0) += n;
    }
    text
}

fn is_marker(value: &str) -> bool {
    value.starts_with("[REDACTED")
}

/// Values that are obviously not secrets: empty-ish placeholders, environment references and
/// Python type annotations (`password: str`), which would otherwise be "redacted" noise.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with("{{")
        || v.starts_with('<')
        || matches!(
            v,
            "str" | "Optional[str]" | "None" | "null" | "true" | "false" | "***" | "xxx" | "..."
        )
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X')
        || is_env_read(v)
}

/// Code that reads a secret from the environment (`os.environ[`, `os.getenv(`,
/// `process.env.`) holds none: a traceback's source line `API_KEY = os.environ["API_KEY"]`
/// names the variable the app needs, which is what a missing-variable crash is about.
fn is_env_read(v: &str) -> bool {
    [
        "os.environ",
        "os.getenv(",
        "environ[",
        "environ.get(",
        "getenv(",
        "process.env",
    ]
    .iter()
    .any(|p| v.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, BTreeMap<String, u32>) {
        let mut counts = BTreeMap::new();
        let out = redact(text, &mut counts);
        (out, counts)
    }

    #[test]
    fn database_url_keeps_user_and_host() {
        let (out, counts) = run("DATABASE_URL=postgresql://app_user:s3cr%40t@dpg-abc.oregon-postgres.render.com:5432/app");
        assert_eq!(
            out,
            "DATABASE_URL=postgresql://app_user:[REDACTED:database-url-password]@dpg-abc.oregon-postgres.render.com:5432/app"
        );
        assert_eq!(counts.get(DATABASE_URL_PASSWORD), Some(&1));
        assert_eq!(counts.len(), 1);
    }

    #[test]
    fn unencoded_at_sign_in_password_is_hidden_whole() {
        let (out, _) = run("postgres://u:p@ss@db.internal:5432/app");
        assert_eq!(
            out,
            "postgres://u:[REDACTED:database-url-password]@db.internal:5432/app"
        );
    }

    #[test]
    fn driver_suffix_and_no_password() {
        let (out, _) = run("postgresql+psycopg2://u:pw@h/db and postgres://u@h/db");
        assert_eq!(
            out,
            "postgresql+psycopg2://u:[REDACTED:database-url-password]@h/db and postgres://u@h/db"
        );
    }

    #[test]
    fn render_key_bearer_and_aws() {
        let (out, counts) = run(
            "curl -H 'Authorization: Bearer rnd_AbCdEfGhIjKlMnOpQrSt' -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y' AKIAIOSFODNN7EXAMPLE aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert!(!out.contains("rnd_AbCd"), "{out}");
        assert!(!out.contains("eyJhbGci"), "{out}");
        assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{out}");
        assert!(!out.contains("wJalrXUtnFEMI"), "{out}");
        assert_eq!(counts.get(RENDER_API_KEY), Some(&1));
        assert_eq!(counts.get(BEARER_TOKEN), Some(&1));
        assert_eq!(counts.get(AWS_ACCESS_KEY), Some(&1));
        assert_eq!(counts.get(AWS_SECRET_KEY), Some(&1));
    }

    #[test]
    fn password_and_secret_pairs() {
        let (out, counts) =
            run("POSTGRES_PASSWORD=test client_secret: \"abc123\" url?user=a&password=hunter2&x=1");
        assert_eq!(
            out,
            "POSTGRES_PASSWORD=[REDACTED:password] client_secret: \"[REDACTED:secret]\" url?user=a&password=[REDACTED:password]&x=1"
        );
        assert_eq!(counts.get(PASSWORD), Some(&2));
        assert_eq!(counts.get(SECRET), Some(&1));
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = "==> DATABASE_URL is set (host: 127.0.0.1)\nsa.Column('password_hash', sa.String()) password: str";
        let (out, counts) = run(text);
        assert_eq!(out, text);
        assert!(counts.is_empty());
    }

    #[test]
    fn code_reading_a_secret_from_the_environment_is_kept() {
        // gunicorn's traceback of a missing variable (tests/fixtures/logs/start_keyerror_env.txt).
        let text =
            "    STRIPE_API_KEY = os.environ[\"STRIPE_API_KEY\"]\nsecret = os.getenv(\"SECRET\")";
        let (out, counts) = run(text);
        assert_eq!(out, text);
        assert!(counts.is_empty());
        let (out, _) = run("STRIPE_API_KEY = sk_live_abc123");
        assert_eq!(out, "STRIPE_API_KEY = [REDACTED:secret]");
    }

    #[test]
    fn redaction_is_idempotent() {
        let (once, _) = run("postgres://u:pw@h/db password=x rnd_AbCdEfGhIjKlMnOp");
        let (twice, counts) = run(&once);
        assert_eq!(once, twice);
        assert!(counts.is_empty(), "{counts:?}");
    }
}
