//! Escaping for text that comes from commits, logs and the API, so that a hostile commit message
//! cannot inject HTML, break a table or start a heading. Registered as Tera filters.

/// Inline text: markdown punctuation backslash-escaped, HTML special characters as entities,
/// line breaks folded to spaces (a newline inside a list item or table row would end it).
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut at_line_start = true;
    for c in text.chars() {
        match c {
            '\r' => continue,
            '\n' | '\t' => {
                out.push(' ');
                continue;
            }
            '<' => out.push_str("&lt;"),
            // Only `<` opens HTML; `>` matters only where it would start a blockquote.
            '>' if at_line_start => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '+' | '-' | '=' if at_line_start => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => continue,
            c => out.push(c),
        }
        at_line_start = false;
    }
    out
}

/// Prose that may carry `code spans` of its own (finding messages, help): balanced spans are
/// kept as code, everything else is escaped like [`inline`].
pub fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let run = rest[open..].chars().take_while(|c| *c == '`').count();
        let fence = &rest[open..open + run];
        let after = &rest[open + run..];
        // A span closes at the next run of exactly the same length.
        let close = after.match_indices(fence).find(|(i, _)| {
            !after[i + run..].starts_with('`') && (*i == 0 || !after[..*i].ends_with('`'))
        });
        match close {
            Some((i, _)) if i > 0 => {
                out.push_str(&inline(&rest[..open]));
                out.push_str(&code(&after[..i]));
                rest = &after[i + run..];
            }
            _ => {
                out.push_str(&inline(&rest[..open + run]));
                rest = after;
            }
        }
    }
    out.push_str(&inline(rest));
    out
}

/// A table cell: inline text, never empty (an empty cell reads as a missing column).
pub fn cell(text: &str) -> String {
    let escaped = inline(text.trim());
    if escaped.is_empty() {
        "—".to_string()
    } else {
        escaped
    }
}

/// An inline code span that survives any content: the fence is longer than the longest run of
/// backticks inside, and pipes are escaped because GitHub splits table rows on them even in code.
pub fn code(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !c.is_control())
        .collect();
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    let text = text.replace('|', "\\|");
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced block whose fence no line of `text` can close early.
pub fn fenced(text: &str, lang: &str) -> String {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    let body = text.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}")
}

fn longest_run(text: &str, ch: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == ch {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_table_breakers_are_neutralised() {
        assert_eq!(
            inline("<script>alert(1)</script> | x"),
            "&lt;script>alert(1)&lt;/script> \\| x"
        );
        assert_eq!(
            inline("# not a heading\nsecond"),
            "\\# not a heading second"
        );
        assert_eq!(cell("  "), "—");
    }

    #[test]
    fn prose_keeps_balanced_code_spans() {
        assert_eq!(prose("run `a_b` now_"), "run `a_b` now\\_");
        assert_eq!(prose("odd ` tick"), "odd \\` tick");
        assert_eq!(prose("<b>`x|y`</b>"), "&lt;b>`x\\|y`&lt;/b>");
        assert_eq!(inline("> quote, a -> b"), "&gt; quote, a -> b");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }

    #[test]
    fn fences_are_longer_than_any_inner_fence() {
        assert_eq!(fenced("```\nx\n```", "text"), "````text\n```\nx\n```\n````");
    }
}
