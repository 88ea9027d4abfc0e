//! The report in Jira wiki markup, what Jira Data Center's REST API v2 takes as a comment body
//! (Data Center has no ADF).
//!
//! Text is escaped so that it shows as written: brackets, braces, pipes, `!` and `\` always,
//! the text-effect characters (`*_-+^~?#`) where they could open or close an effect (at a word
//! boundary). Code blocks use `{code:LANG}` for the languages the code macro knows (an unknown
//! one makes Data Center print an error instead), `{noformat}` otherwise. Wiki list items are
//! single lines, so an item's further paragraphs join its line after a `\\` line break, and a
//! code block or table inside an item follows the list.

use super::adf::MERMAID_NOTE;
use super::markdown::{self, Block, Inline, Mark};

/// Languages given to `{code:…}`; anything else is `{noformat}`.
const CODE_LANGUAGES: &[&str] = &[
    "actionscript",
    "bash",
    "c",
    "c#",
    "c++",
    "css",
    "go",
    "groovy",
    "html",
    "java",
    "javascript",
    "js",
    "json",
    "perl",
    "php",
    "python",
    "ruby",
    "scala",
    "sh",
    "sql",
    "swift",
    "xml",
    "yaml",
];

/// The report as Jira wiki markup.
pub fn from_markdown(report: &str) -> String {
    let blocks = markdown::parse(report);
    let mut out = Vec::new();
    for b in &blocks {
        render(b, "", &mut out);
    }
    let mut text = out.join("\n\n");
    text.push('\n');
    text
}

fn language(lang: Option<&str>) -> Option<&'static str> {
    let lang = lang?.to_ascii_lowercase();
    let lang = match lang.as_str() {
        "py" => "python",
        "shell" | "console" => "bash",
        "rs" | "rust" => return None,
        "cpp" => "c++",
        "csharp" | "cs" => "c#",
        "yml" => "yaml",
        "golang" => "go",
        "rb" => "ruby",
        "ts" | "typescript" => "javascript",
        other => other,
    };
    CODE_LANGUAGES.iter().copied().find(|l| *l == lang)
}

fn code_block(lang: Option<&str>, text: &str) -> String {
    match language(lang) {
        Some(l) if !text.contains("{code") => format!("{{code:{l}}}\n{text}\n{{code}}"),
        _ if !text.contains("{noformat") => format!("{{noformat}}\n{text}\n{{noformat}}"),
        _ => format!("{{code}}\n{text}\n{{code}}"),
    }
}

/// Renders `block` as one or more chunks (separated by blank lines). `prefix` is the list
/// nesting (`*`, `#*`, …) when inside a list item.
fn render(block: &Block, prefix: &str, out: &mut Vec<String>) {
    match block {
        Block::Paragraph(inl) => out.push(inline(inl)),
        Block::Heading(level, inl) => out.push(format!("h{level}. {}", inline(inl))),
        Block::Code { language, text } => {
            if language.as_deref() == Some("mermaid") {
                out.push(format!("_{}_", escape(MERMAID_NOTE)));
            }
            out.push(code_block(language.as_deref(), text));
        }
        Block::Quote(children) => {
            let mut inner = Vec::new();
            for c in children {
                render(c, "", &mut inner);
            }
            out.push(format!("{{quote}}\n{}\n{{quote}}", inner.join("\n\n")));
        }
        Block::List { start, items } => {
            let mark = if start.is_some() { "#" } else { "*" };
            let prefix = format!("{prefix}{mark}");
            let mut lines = Vec::new();
            let mut after = Vec::new();
            for item in items {
                let mut line = String::new();
                let mut nested = Vec::new();
                for b in item {
                    match b {
                        Block::Paragraph(inl) | Block::Heading(_, inl) => {
                            if !line.is_empty() {
                                line.push_str(" \\\\ ");
                            }
                            line.push_str(&inline(inl));
                        }
                        Block::List { .. } => render(b, &prefix, &mut nested),
                        other => render(other, "", &mut after),
                    }
                }
                lines.push(format!("{prefix} {line}").trim_end().to_string());
                lines.extend(nested);
            }
            out.push(lines.join("\n"));
            out.extend(after);
        }
        Block::Table(rows) => {
            let lines: Vec<String> = rows
                .iter()
                .enumerate()
                .map(|(i, cells)| {
                    let sep = if i == 0 { "||" } else { "|" };
                    let mut line = String::from(sep);
                    for c in cells {
                        let text = inline(c).replace('\n', " \\\\ ");
                        line.push_str(if text.is_empty() { " " } else { &text });
                        line.push_str(sep);
                    }
                    line
                })
                .collect();
            out.push(lines.join("\n"));
        }
        Block::Rule => out.push("----".into()),
        Block::Details { summary, body } => {
            let title = if summary.is_empty() {
                "Details"
            } else {
                summary
            };
            out.push(format!("*{}*", escape(title)));
            for b in body {
                render(b, prefix, out);
            }
        }
    }
}

/// Inline runs as wiki text. Neighbouring runs that share an effect share its markers
/// (`*bold {{code}} bold*`, not `*bold **{{code}}*`), a link wraps all the runs it covers, and
/// spaces stay outside the markers, where Jira looks for them.
fn inline(inl: &[Inline]) -> String {
    let link_of = |i: &Inline| match i {
        Inline::Text { marks, .. } => marks.iter().find_map(|m| match m {
            Mark::Link(h) => Some(h.clone()),
            _ => None,
        }),
        Inline::Break => None,
    };
    let mut s = String::new();
    let mut at = 0;
    while at < inl.len() {
        let link = link_of(&inl[at]);
        let mut end = at + 1;
        while end < inl.len() && link_of(&inl[end]) == link {
            end += 1;
        }
        let text = effects(&inl[at..end]);
        match link {
            Some(href) => s.push_str(&format!(
                "[{text}|{}]",
                href.replace('|', "%7C").replace(']', "%5D")
            )),
            None => s.push_str(&text),
        }
        at = end;
    }
    s
}

fn marker(m: &Mark) -> char {
    match m {
        Mark::Strong => '*',
        Mark::Em => '_',
        _ => '-',
    }
}

/// Closes `marker` before any trailing spaces of `s`.
fn close(s: &mut String, marker: char) {
    let trimmed = s.trim_end_matches(' ').len();
    let spaces = s.len() - trimmed;
    s.truncate(trimmed);
    s.push(marker);
    s.push_str(&" ".repeat(spaces));
}

fn effects(inl: &[Inline]) -> String {
    let mut s = String::new();
    let mut open: Vec<Mark> = Vec::new();
    for i in inl {
        let (text, marks) = match i {
            Inline::Break => {
                s.push_str(" \\\\ ");
                continue;
            }
            Inline::Text { text, marks } => (text, marks),
        };
        // Outermost first, as the parser opened them.
        let wanted: Vec<Mark> = marks
            .iter()
            .filter(|m| matches!(m, Mark::Strong | Mark::Em | Mark::Strike))
            .cloned()
            .collect();
        let keep = open.iter().zip(&wanted).take_while(|(a, b)| a == b).count();
        while open.len() > keep {
            let m = open.pop().expect("an open effect");
            close(&mut s, marker(&m));
        }
        let mut t = escape(text);
        if marks.contains(&Mark::Code) {
            t = format!("{{{{{t}}}}}");
        }
        if wanted.len() > keep {
            let body = t.trim_start_matches(' ');
            s.push_str(&t[..t.len() - body.len()]);
            t = body.to_string();
            for m in &wanted[keep..] {
                s.push(marker(m));
                open.push(m.clone());
            }
        }
        s.push_str(&t);
    }
    while let Some(m) = open.pop() {
        close(&mut s, marker(&m));
    }
    s
}

/// Escapes wiki markup in text so that it shows as written.
pub fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<&char>| j.is_some_and(|c| c.is_alphanumeric());
        let boundary =
            !word(i.checked_sub(1).and_then(|j| chars.get(j))) || !word(chars.get(i + 1));
        let escape = match c {
            '\\' | '{' | '}' | '[' | ']' | '|' | '!' => true,
            '*' | '_' | '-' | '+' | '^' | '~' | '?' | '#' => boundary,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_runs_share_their_markers() {
        assert_eq!(
            from_markdown("**Fix it by hand, then `alembic stamp`** and *a **b** c*\n"),
            "*Fix it by hand, then {{alembic stamp}}* and _a *b* c_\n"
        );
        assert_eq!(
            from_markdown("[see **this** page](https://e.x) **bold** x\n"),
            "[see *this* page|https://e.x] *bold* x\n"
        );
    }

    #[test]
    fn wiki_markup_for_each_block() {
        let md = "# T\n\nSee **[docs](https://e.x/a|b)** and `a_b` -- x_y.\n\n- one\n  - two\n1. n\n\n| h | i |\n|---|---|\n| a\\|b |  |\n\n```python\nx = 1\n```\n\n```mermaid\nA --> B\n```\n\n> q\n\n---\n";
        assert_eq!(
            from_markdown(md),
            "h1. T\n\nSee [*docs*|https://e.x/a%7Cb] and {{a_b}} \\-\\- x_y.\n\n* one\n** two\n\n# n\n\n||h||i||\n|a\\|b| |\n\n{code:python}\nx = 1\n{code}\n\n_Mermaid diagram: Jira does not draw Mermaid, so its source follows (paste it into a Mermaid editor to see it)._\n\n{noformat}\nA --> B\n{noformat}\n\n{quote}\nq\n{quote}\n\n----\n"
        );
    }
}
