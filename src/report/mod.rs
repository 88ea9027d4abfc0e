//! Rendering: the postmortem (Tera template over [`ReportContext`]) and the outputs of
//! `postmortem check`.

pub mod check_output;
pub mod context;
pub mod isolate;
pub mod markdown;
pub mod sandbox;

use std::collections::HashMap;

use serde_json::Value;
use tera::Tera;

pub use context::{DiagramStyle, ReportContext};
pub use sandbox::Limits;

use crate::{Error, Result};

/// The builtin template, embedded so the binary needs no files beside it.
pub const BUILTIN_TEMPLATE: &str = include_str!("../../templates/postmortem.md.tera");
const BUILTIN_NAME: &str = "builtin postmortem.md.tera";

/// Renders `context` with the builtin template, or with `template` (a user's Tera source).
pub fn render(context: &ReportContext, template: Option<&str>) -> Result<String> {
    render_with(
        context,
        template.map(|source| ("template", source)),
        &Limits::default(),
    )
}

/// Renders `context` with the builtin template or with `template` (its name for messages, its
/// Tera source), inside the [`sandbox`]: a violated limit is an error naming the template. When
/// the binary asked for it ([`isolate::render_templates_in`]), both render in a child
/// process under a memory limit (the builtin too: the same limits for every template, and the
/// child costs about 8 ms); otherwise, as a library, here.
pub fn render_with(
    context: &ReportContext,
    template: Option<(&str, &str)>,
    limits: &Limits,
) -> Result<String> {
    let (name, source) = template.unwrap_or((BUILTIN_NAME, BUILTIN_TEMPLATE));
    let out = match isolate::renderer() {
        Some(program) => {
            let value = serde_json::to_value(context).map_err(|e| {
                Error::Template(format!("{name}: cannot serialise the context: {e}"))
            })?;
            isolate::render_in_child(program, name, source, value, limits)
        }
        None => {
            let ctx = tera::Context::from_serialize(context)
                .map_err(|e| Error::Template(format!("{name}: {}", sandbox::describe(&e))))?;
            sandbox::render(name, source, ctx, limits, register)
        }
    }
    .map_err(Error::Template)?;
    Ok(tidy(&out))
}

/// Collapses the blank-line runs that optional sections leave behind and ends with one newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    // Inside a fenced block every line is content (a diff's context line may be one space).
    let mut fence: Option<usize> = None;
    for line in text.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match fence {
            Some(open) if ticks >= open && line.trim_start_matches('`').trim().is_empty() => {
                fence = None
            }
            Some(_) => {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            None if ticks >= 3 && !line[ticks..].contains('`') => fence = Some(ticks),
            None => {}
        }
        // Trailing spaces stay: two of them are a markdown line break the template asked for.
        let line = if line.trim().is_empty() { "" } else { line };
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_matches('\n');
    format!("{trimmed}\n")
}

fn str_arg<'a>(value: &'a Value, what: &str) -> tera::Result<std::borrow::Cow<'a, str>> {
    match value {
        Value::String(s) => Ok(std::borrow::Cow::Borrowed(s)),
        Value::Null => Ok(std::borrow::Cow::Borrowed("")),
        Value::Number(n) => Ok(std::borrow::Cow::Owned(n.to_string())),
        Value::Bool(b) => Ok(std::borrow::Cow::Owned(b.to_string())),
        other => Err(tera::Error::msg(format!(
            "{what} expects text, got {other}"
        ))),
    }
}

fn text_filter(
    name: &'static str,
    f: fn(&str) -> String,
) -> impl Fn(&Value, &HashMap<String, Value>) -> tera::Result<Value> + Send + Sync {
    move |value, _| Ok(Value::String(f(&str_arg(value, name)?)))
}

fn register(tera: &mut Tera) {
    tera.register_filter("md", text_filter("md", markdown::inline));
    tera.register_filter("prose", text_filter("prose", markdown::prose));
    tera.register_filter(
        "upper_first",
        text_filter("upper_first", |s| {
            let mut chars = s.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }),
    );
    tera.register_filter("cell", text_filter("cell", markdown::cell));
    tera.register_filter("code", text_filter("code", markdown::code));
    tera.register_filter(
        "short",
        text_filter("short", |s| s.chars().take(7).collect()),
    );
    tera.register_filter("utc", text_filter("utc", utc));
    tera.register_filter("fenced", |value: &Value, args: &HashMap<String, Value>| {
        let lang = args.get("lang").and_then(Value::as_str).unwrap_or("");
        Ok(Value::String(markdown::fenced(
            &str_arg(value, "fenced")?,
            lang,
        )))
    });
    tera.register_filter("excerpt", |value: &Value, args: &HashMap<String, Value>| {
        let lang = args.get("lang").and_then(Value::as_str).unwrap_or("");
        let excerpt: crate::finding::Excerpt = serde_json::from_value(value.clone())
            .map_err(|e| tera::Error::msg(format!("excerpt expects an excerpt object: {e}")))?;
        Ok(Value::String(markdown::fenced(
            &number_lines(&excerpt),
            lang,
        )))
    });
    // `file:line` as inline code; the line is left out when unknown.
    tera.register_function("loc", |args: &HashMap<String, Value>| {
        let file = str_arg(args.get("file").unwrap_or(&Value::Null), "loc(file=...)")?;
        let line = str_arg(args.get("line").unwrap_or(&Value::Null), "loc(line=...)")?;
        let place = if line.is_empty() {
            file.into_owned()
        } else {
            format!("{file}:{line}")
        };
        Ok(Value::String(markdown::code(&place)))
    });
    tera.register_function("code", |args: &HashMap<String, Value>| {
        let s = args.get("s").unwrap_or(&Value::Null);
        Ok(Value::String(markdown::code(&str_arg(s, "code(s=...)")?)))
    });
}

/// `2025-11-10T15:43:08.000Z` → `2025-11-10 15:43:08`; other text unchanged.
fn utc(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => text.to_string(),
    }
}

/// Source lines with their numbers, the cited line marked with `>`.
pub fn number_lines(excerpt: &crate::finding::Excerpt) -> String {
    let last = excerpt.start_line as usize + excerpt.lines.len().saturating_sub(1);
    let width = last.to_string().len();
    let mut out = String::new();
    for (i, line) in excerpt.lines.iter().enumerate() {
        let n = excerpt.start_line as usize + i;
        let mark = if n == excerpt.highlight as usize {
            '>'
        } else {
            ' '
        };
        out.push_str(&format!("{mark}{n:>width$} | {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_leaves_fenced_blocks_alone() {
        let text = "a\n\n\n```diff\n \n \n-x\n```\n\n\nb\n";
        assert_eq!(tidy(text), "a\n\n```diff\n \n \n-x\n```\n\nb\n");
    }

    #[test]
    fn tidy_collapses_blank_runs() {
        assert_eq!(tidy("a\n\n  \n\nb  \n\n"), "a\n\nb  \n");
    }

    #[test]
    fn numbered_excerpt_marks_the_line() {
        let e = crate::finding::Excerpt {
            start_line: 9,
            lines: vec!["a".into(), "b".into()],
            highlight: 10,
        };
        assert_eq!(number_lines(&e), "  9 | a\n>10 | b\n");
    }
}
