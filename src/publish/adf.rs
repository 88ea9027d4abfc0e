//! The report in Atlassian Document Format (ADF), the JSON document Jira Cloud's REST API v3
//! takes as a comment body.
//!
//! ADF is stricter than markdown about what may hold what (Atlassian's JSON schema, which
//! tests/publish_jira.rs validates against): a quote holds only paragraphs, a list item no
//! heading, table or rule, and an expand sits only at the top. What does not fit is adapted
//! rather than dropped: a heading in a list becomes a bold paragraph, a quote inside a quote or
//! list item gives up its frame, a nested `<details>` becomes a bold title line, and a block
//! that cannot be inside its container (a code block in a quote, a table in a list) is lifted
//! out after the part before it, the container resuming after it. Inline code keeps only its
//! link (ADF allows no bold or italic on code); empty text nodes are never written.

use serde_json::{json, Map, Value};

use super::markdown::{self, Block, Inline, Mark};

/// What a fenced Mermaid block says before its source, since Jira does not draw Mermaid.
pub const MERMAID_NOTE: &str =
    "Mermaid diagram: Jira does not draw Mermaid, so its source follows (paste it into a Mermaid editor to see it).";

/// The report as an ADF document.
pub fn from_markdown(report: &str) -> Value {
    let content: Vec<Value> = markdown::parse(report)
        .iter()
        .flat_map(|b| render(b, Ctx::Doc))
        .collect();
    json!({"version": 1, "type": "doc", "content": content})
}

/// The document as JSON with one top-level block per line: still valid JSON, and a diff or a
/// dry run shows which block changed.
pub fn lines(doc: &Value) -> String {
    let blocks: Vec<String> = doc["content"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| format!("  {b}"))
        .collect();
    format!(
        "{{\"version\":1,\"type\":\"doc\",\"content\":[\n{}\n]}}",
        blocks.join(",\n")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Doc,
    Expand,
    Quote,
    Item,
}

fn kind(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// Which children each container takes (Atlassian's schema, the parts this writer uses).
fn allowed(container: &str, child: &str) -> bool {
    match container {
        "blockquote" => child == "paragraph",
        "listItem" => matches!(
            child,
            "paragraph" | "codeBlock" | "bulletList" | "orderedList"
        ),
        "bulletList" | "orderedList" => child == "listItem",
        "expand" => child != "expand",
        "tableCell" | "tableHeader" => matches!(
            child,
            "paragraph"
                | "codeBlock"
                | "bulletList"
                | "orderedList"
                | "heading"
                | "blockquote"
                | "rule"
        ),
        _ => true,
    }
}

fn node(kind: &str, attrs: Option<Value>, content: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), kind.into());
    if let Some(a) = attrs {
        m.insert("attrs".into(), a);
    }
    m.insert("content".into(), Value::Array(content));
    Value::Object(m)
}

fn empty_paragraph() -> Value {
    json!({"type": "paragraph"})
}

/// `kind` around `children`, split where a child cannot be inside it: the pieces, and the
/// lifted children between them, in their order.
fn wrap(kind_: &str, attrs: Option<Value>, children: Vec<Value>) -> Vec<Value> {
    if children.is_empty() {
        return vec![node(kind_, attrs, vec![empty_paragraph()])];
    }
    let mut out = Vec::new();
    let mut run: Vec<Value> = Vec::new();
    let flush = |run: &mut Vec<Value>, out: &mut Vec<Value>| {
        if run.is_empty() {
            return;
        }
        let mut content = std::mem::take(run);
        if kind_ == "listItem" && matches!(kind(&content[0]), "bulletList" | "orderedList") {
            content.insert(0, empty_paragraph());
        }
        out.push(node(kind_, attrs.clone(), content));
    };
    for child in children {
        if allowed(kind_, kind(&child)) {
            run.push(child);
        } else {
            flush(&mut run, &mut out);
            out.push(child);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn render(block: &Block, ctx: Ctx) -> Vec<Value> {
    match block {
        Block::Paragraph(inl) => vec![paragraph(inl, false)],
        Block::Heading(level, inl) => match ctx {
            Ctx::Doc | Ctx::Expand => vec![node(
                "heading",
                Some(json!({"level": level})),
                inline(inl, false),
            )],
            Ctx::Quote | Ctx::Item => vec![paragraph(inl, true)],
        },
        Block::Code { language, text } => {
            let mut out = Vec::new();
            if language.as_deref() == Some("mermaid") {
                out.push(node(
                    "paragraph",
                    None,
                    vec![json!({"type": "text", "text": MERMAID_NOTE, "marks": [{"type": "em"}]})],
                ));
            }
            let mut code = Map::new();
            code.insert("type".into(), "codeBlock".into());
            if let Some(l) = language {
                code.insert("attrs".into(), json!({ "language": l }));
            }
            if !text.is_empty() {
                code.insert("content".into(), json!([{"type": "text", "text": text}]));
            }
            out.push(Value::Object(code));
            out
        }
        Block::Quote(children) => match ctx {
            Ctx::Quote | Ctx::Item => children.iter().flat_map(|c| render(c, ctx)).collect(),
            _ => wrap(
                "blockquote",
                None,
                children
                    .iter()
                    .flat_map(|c| render(c, Ctx::Quote))
                    .collect(),
            ),
        },
        Block::List { start, items } => {
            // The source number of each list item written, for a list split in pieces.
            let mut numbers = Vec::new();
            let mut values = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let children = item.iter().flat_map(|c| render(c, Ctx::Item)).collect();
                for piece in wrap("listItem", None, children) {
                    if kind(&piece) == "listItem" {
                        numbers.push(i as u64);
                    }
                    values.push(piece);
                }
            }
            match start {
                None => wrap("bulletList", None, values),
                Some(first) => {
                    let mut pieces = wrap("orderedList", None, values);
                    // A list split around a lifted block goes on counting as the source does.
                    let mut seen = 0;
                    for piece in &mut pieces {
                        if kind(piece) != "orderedList" {
                            continue;
                        }
                        let number = first + numbers.get(seen).copied().unwrap_or(0);
                        if number != 1 {
                            piece["attrs"] = json!({ "order": number });
                        }
                        seen += piece["content"].as_array().map_or(0, |c| c.len());
                    }
                    pieces
                }
            }
        }
        Block::Table(rows) => {
            let rows: Vec<Value> = rows
                .iter()
                .enumerate()
                .map(|(i, cells)| {
                    let cell_kind = if i == 0 { "tableHeader" } else { "tableCell" };
                    node(
                        "tableRow",
                        None,
                        cells
                            .iter()
                            .map(|c| node(cell_kind, None, vec![paragraph(c, false)]))
                            .collect(),
                    )
                })
                .collect();
            vec![node("table", None, rows)]
        }
        Block::Rule => vec![json!({"type": "rule"})],
        Block::Details { summary, body } => {
            let title = if summary.is_empty() {
                "Details"
            } else {
                summary
            };
            if ctx == Ctx::Doc {
                return wrap(
                    "expand",
                    Some(json!({ "title": title })),
                    body.iter().flat_map(|c| render(c, Ctx::Expand)).collect(),
                );
            }
            let heading = vec![Inline::Text {
                text: title.to_string(),
                marks: Vec::new(),
            }];
            let mut out = vec![paragraph(&heading, true)];
            out.extend(body.iter().flat_map(|c| render(c, ctx)));
            out
        }
    }
}

fn paragraph(inl: &[Inline], strong: bool) -> Value {
    let content = inline(inl, strong);
    if content.is_empty() {
        empty_paragraph()
    } else {
        node("paragraph", None, content)
    }
}

fn inline(inl: &[Inline], strong: bool) -> Vec<Value> {
    inl.iter()
        .filter_map(|i| match i {
            Inline::Break => Some(json!({"type": "hardBreak"})),
            Inline::Text { text, .. } if text.is_empty() => None,
            Inline::Text { text, marks } => {
                let code = marks.contains(&Mark::Code);
                let mut out: Vec<Value> = Vec::new();
                let mut push = |m: Value| {
                    if !out.contains(&m) {
                        out.push(m);
                    }
                };
                if code {
                    push(json!({"type": "code"}));
                } else if strong {
                    push(json!({"type": "strong"}));
                }
                for m in marks {
                    match m {
                        Mark::Code => {}
                        Mark::Link(href) => push(json!({"type": "link", "attrs": {"href": href}})),
                        _ if code => {}
                        Mark::Strong => push(json!({"type": "strong"})),
                        Mark::Em => push(json!({"type": "em"})),
                        Mark::Strike => push(json!({"type": "strike"})),
                    }
                }
                Some(if out.is_empty() {
                    json!({"type": "text", "text": text})
                } else {
                    json!({"type": "text", "text": text, "marks": out})
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_that_adf_does_not_nest_are_adapted_not_dropped() {
        let doc = from_markdown(
            "> quoted\n>\n> ```sh\n> ls\n> ```\n>\n> more\n\n3. # head\n4. | a |\n   |---|\n   | b |\n5. last\n",
        );
        let kinds: Vec<&str> = doc["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "blockquote",
                "codeBlock",
                "blockquote",
                "orderedList",
                "table",
                "orderedList"
            ]
        );
        let c = &doc["content"];
        assert_eq!(c[3]["attrs"]["order"], 3);
        assert_eq!(c[3]["content"][0]["content"][0]["type"], "paragraph");
        assert_eq!(
            c[3]["content"][0]["content"][0]["content"][0]["marks"][0]["type"],
            "strong"
        );
        assert_eq!(c[5]["attrs"]["order"], 5);
    }

    #[test]
    fn code_marks_keep_only_their_link() {
        let doc = from_markdown("**[`x`](https://e.x)** and *y*\n");
        assert_eq!(
            doc["content"][0]["content"],
            json!([
                {"type": "text", "text": "x", "marks": [{"type": "code"}, {"type": "link", "attrs": {"href": "https://e.x"}}]},
                {"type": "text", "text": " and "},
                {"type": "text", "text": "y", "marks": [{"type": "em"}]}
            ])
        );
    }
}
