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
//!
//! Three passes, so that one miss is not a leak: each text as it is collected ([`redact`],
//! [`redact_json`] for event details), the lines of a log together ([`redact_key_blocks`], for
//! a private key printed line by line), and the finished document before it is written
//! ([`redact_document`], [`redact_json_document`]). The formats known are in `patterns.rs`;
//! `tests/fixtures/secrets/` plants one of each, and the look-alikes that must survive.

use std::collections::BTreeMap;

use regex::Captures;

/// Marker text for one kind of secret.
pub fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

pub const DATABASE_URL_PASSWORD: &str = "database-url-password";
pub const RENDER_API_KEY: &str = "render-api-key";
pub const PASSWORD: &str = "password";
pub const SECRET: &str = "secret";

/// Replaces every credential in `text` with a `[REDACTED:kind]` marker and counts the
/// replacements per kind in `counts`. Idempotent: markers are never matched again.
pub fn redact(text: &str, counts: &mut BTreeMap<String, u32>) -> String {
    let mut found: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut text = std::borrow::Cow::Borrowed(text);
    let candidates: Vec<_> = patterns::matching(&text).collect();
    for pattern in candidates {
        let replaced = pattern.re.replace_all(&text, |c: &Captures<'_>| {
            let whole = c.get(0).expect("group 0 always matches");
            let Some(secret) = pattern.secret(c) else {
                return whole.as_str().to_string();
            };
            let value = secret.as_str();
            if is_marker(value)
                || is_port_and_path(value)
                || (pattern.skip_placeholders && is_placeholder(value))
            {
                return whole.as_str().to_string();
            }
            let kind = pattern.kind(c);
            *found.entry(kind).or_insert(0) += 1;
            let (start, end) = (secret.start() - whole.start(), secret.end() - whole.start());
            let w = whole.as_str();
            format!("{}{}{}", &w[..start], marker(kind), &w[end..])
        });
        if let std::borrow::Cow::Owned(s) = replaced {
            text = std::borrow::Cow::Owned(s);
        }
    }
    for (kind, n) in found {
        *counts.entry(kind.to_string()).or_insert(0) += n;
    }
    text.into_owned()
}

/// Hides a multi-line secret spread over a sequence of lines (a private key printed by a deploy
/// script arrives as one log line per key line): every line from a `BEGIN … PRIVATE KEY` line to
/// its `END` line is replaced whole, and the key counted once. Each line on its own has already
/// been through [`redact`], which cannot see that a bare base64 line belongs to a key.
pub fn redact_key_blocks<'a>(
    lines: impl IntoIterator<Item = &'a mut String>,
    counts: &mut BTreeMap<String, u32>,
) {
    let mut inside = false;
    for line in lines {
        let begins = line.contains("-----BEGIN") && line.contains("PRIVATE KEY");
        if !inside && begins && !line.contains("-----END") {
            inside = true;
            *counts.entry(patterns::PRIVATE_KEY.to_string()).or_insert(0) += 1;
        } else if !inside {
            continue;
        } else if line.contains("-----END") {
            inside = false;
        }
        *line = marker(patterns::PRIVATE_KEY);
    }
}

/// Redacts every string inside a JSON value (an event's `details`).
pub fn redact_json(value: &mut serde_json::Value, counts: &mut BTreeMap<String, u32>) {
    match value {
        serde_json::Value::String(s) => *s = redact(s, counts),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, counts)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact_json(v, counts)),
        _ => {}
    }
}

/// The last pass over a finished document before it is written: whatever a collector missed
/// (a secret in a migration excerpt, a template that prints a raw field) is hidden here.
pub fn redact_document(text: &str) -> String {
    redact(text, &mut BTreeMap::new())
}

/// [`redact_document`] for JSON text: each string literal is decoded, redacted and re-encoded,
/// so a secret next to an escaped quote can never break the document, and keys keep their
/// order and the layout its bytes.
pub fn redact_json_document(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && bytes[i] != b'"' {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        i = (i + 1).min(bytes.len());
        let literal = &text[start..i];
        // Keys and short values (`"id"`, `"error"`) hold no credential.
        if literal.len() < 8 {
            continue;
        }
        let decoded = if literal.contains('\\') {
            match serde_json::from_str::<String>(literal) {
                Ok(decoded) => std::borrow::Cow::Owned(decoded),
                Err(_) => continue,
            }
        } else {
            std::borrow::Cow::Borrowed(&literal[1..literal.len() - 1])
        };
        let redacted = redact_document(&decoded);
        if redacted != decoded {
            out.push_str(&text[copied..start]);
            out.push_str(&serde_json::to_string(&redacted).expect("a string serialises"));
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod corpus;
mod patterns;

fn is_marker(value: &str) -> bool {
    value.starts_with("[REDACTED")
}

/// `https://host:8080/path@x` is a port and a path before an `@`, not `user:password@`.
fn is_port_and_path(value: &str) -> bool {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && value[digits..].starts_with('/')
}

/// Values that are obviously not secrets: empty-ish placeholders, environment references and
/// Python type annotations (`password: str`), which would otherwise be "redacted" noise.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with("os.environ")
        || v.starts_with("os.getenv")
        || v.starts_with("settings.")
        || v.starts_with("config.")
        || v.starts_with("%(")
        || v.starts_with("{{")
        || v.starts_with('<')
        || matches!(
            v,
            "str"
                | "Optional[str]"
                | "None"
                | "null"
                | "true"
                | "false"
                | "True"
                | "False"
                | "***"
                | "xxx"
                | "..."
                | "[REDACTED]"
        )
        || is_code(v)
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X')
}

/// `Mapped[str]`, `env("DB_PASSWORD")`, `get_secret(name)`: code that names where the secret
/// comes from, not the secret.
fn is_code(v: &str) -> bool {
    let ident = v
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
        .count();
    ident > 0 && matches!(v.as_bytes().get(ident), Some(b'[' | b'('))
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
        assert_eq!(counts.get("authorization"), Some(&1));
        assert_eq!(counts.get("aws-access-key"), Some(&1));
        assert_eq!(counts.get("aws-secret-key"), Some(&1));
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
    fn redaction_is_idempotent() {
        let (once, _) = run("postgres://u:pw@h/db password=x rnd_AbCdEfGhIjKlMnOp");
        let (twice, counts) = run(&once);
        assert_eq!(once, twice);
        assert!(counts.is_empty(), "{counts:?}");
    }
}
