//! The report's markdown as a tree of blocks and inline runs, read from a CommonMark parser's
//! events (pulldown-cmark), for the formats Jira reads: its document format (ADF, Cloud) and
//! wiki markup (Data Center).
//!
//! HTML is not rendered but it is not lost either: comments (the hidden markers) are dropped,
//! `<details>`/`<summary>` become a [`Block::Details`], `<br>` a line break, and any other HTML
//! stays in the text as written.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Strong,
    Em,
    Strike,
    Code,
    Link(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text { text: String, marks: Vec<Mark> },
    Break,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    /// `language` is the first word of the fence's info string.
    Code {
        language: Option<String>,
        text: String,
    },
    Quote(Vec<Block>),
    /// `start` is the first number of an ordered list; `None` for bullets.
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    /// The first row is the header row.
    Table(Vec<Vec<Vec<Inline>>>),
    Rule,
    /// `<details>` with its `<summary>`.
    Details {
        summary: String,
        body: Vec<Block>,
    },
}

/// A block being read: what it is, and what it holds so far.
enum Open {
    Doc(Vec<Block>),
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Code(Option<String>, String),
    Quote(Vec<Block>),
    List(Option<u64>, Vec<Vec<Block>>),
    Item(Vec<Block>),
    Table(Vec<Vec<Vec<Inline>>>),
    Row(Vec<Vec<Inline>>),
    Cell(Vec<Inline>),
    Details(String, Vec<Block>),
    /// Inline content where a block was expected (a tight list item, a table cell's text).
    Implicit(Vec<Inline>),
}

struct Reader {
    stack: Vec<Open>,
    marks: Vec<Mark>,
    /// Inside an inline HTML comment that spans several events.
    in_comment: bool,
    html_block: Option<String>,
}

/// Reads `markdown` into blocks.
pub fn parse(markdown: &str) -> Vec<Block> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut reader = Reader {
        stack: vec![Open::Doc(Vec::new())],
        marks: Vec::new(),
        in_comment: false,
        html_block: None,
    };
    for event in Parser::new_ext(markdown, options) {
        reader.event(event);
    }
    while reader.stack.len() > 1 {
        reader.close();
    }
    match reader.stack.pop() {
        Some(Open::Doc(blocks)) => blocks,
        _ => Vec::new(),
    }
}

fn level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

impl Reader {
    fn event(&mut self, event: Event<'_>) {
        if let Some(html) = &mut self.html_block {
            match event {
                Event::Html(text) | Event::Text(text) => {
                    html.push_str(&text);
                    return;
                }
                Event::End(TagEnd::HtmlBlock) => {
                    let html = self.html_block.take().unwrap_or_default();
                    self.block_html(&html);
                    return;
                }
                _ => {}
            }
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => {
                if let Some(Open::Code(_, buf)) = self.stack.last_mut() {
                    buf.push_str(&text);
                } else {
                    self.text(&text, None);
                }
            }
            Event::Code(text) => self.text(&text, Some(Mark::Code)),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text, None),
            Event::Html(text) => self.block_html(&text),
            Event::InlineHtml(text) => self.inline_html(&text),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]"), None),
            Event::SoftBreak => self.text(" ", None),
            Event::HardBreak => self.inline(Inline::Break),
            Event::Rule => self.block(Block::Rule),
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }, None),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let open = match tag {
            Tag::Paragraph => Open::Paragraph(Vec::new()),
            Tag::Heading { level: l, .. } => Open::Heading(level(l), Vec::new()),
            Tag::BlockQuote(_) => Open::Quote(Vec::new()),
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .map(|w| w.trim_matches(|c| c == '{' || c == '}' || c == '.'))
                        .filter(|w| !w.is_empty())
                        .map(str::to_string),
                    CodeBlockKind::Indented => None,
                };
                Open::Code(language, String::new())
            }
            Tag::HtmlBlock => {
                self.html_block = Some(String::new());
                return;
            }
            Tag::List(start) => Open::List(start, Vec::new()),
            Tag::Item => Open::Item(Vec::new()),
            Tag::Table(_) => Open::Table(Vec::new()),
            Tag::TableHead | Tag::TableRow => Open::Row(Vec::new()),
            Tag::TableCell => Open::Cell(Vec::new()),
            Tag::Emphasis => return self.marks.push(Mark::Em),
            Tag::Strong => return self.marks.push(Mark::Strong),
            Tag::Strikethrough => return self.marks.push(Mark::Strike),
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                return self.marks.push(Mark::Link(dest_url.to_string()))
            }
            // Not enabled: read as plain containers.
            Tag::Superscript
            | Tag::Subscript
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => return,
        };
        self.end_implicit();
        self.stack.push(open);
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link => {
                self.marks.pop();
            }
            TagEnd::Image => {
                self.marks.pop();
            }
            TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::List(_)
            | TagEnd::Item
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell => {
                self.end_implicit();
                self.close();
            }
            _ => {}
        }
    }

    fn end_implicit(&mut self) {
        if matches!(self.stack.last(), Some(Open::Implicit(_))) {
            self.close();
        }
    }

    /// Closes the innermost open block into its parent.
    fn close(&mut self) {
        let Some(open) = self.stack.pop() else { return };
        match open {
            Open::Doc(blocks) => self.stack.push(Open::Doc(blocks)),
            Open::Paragraph(inl) | Open::Implicit(inl) => {
                if let Some(Open::Cell(cell)) = self.stack.last_mut() {
                    if !cell.is_empty() {
                        cell.push(Inline::Break);
                    }
                    cell.extend(inl);
                } else if !inl.is_empty() {
                    self.block(Block::Paragraph(inl));
                }
            }
            Open::Heading(l, inl) => self.block(Block::Heading(l, inl)),
            Open::Code(language, mut text) => {
                if text.ends_with('\n') {
                    text.pop();
                }
                self.block(Block::Code { language, text })
            }
            Open::Quote(blocks) => self.block(Block::Quote(blocks)),
            Open::List(start, items) => self.block(Block::List { start, items }),
            Open::Item(blocks) => {
                if let Some(Open::List(_, items)) = self.stack.last_mut() {
                    items.push(blocks);
                }
            }
            Open::Table(rows) => self.block(Block::Table(rows)),
            Open::Row(cells) => {
                if let Some(Open::Table(rows)) = self.stack.last_mut() {
                    rows.push(cells);
                }
            }
            Open::Cell(inl) => {
                if let Some(Open::Row(cells)) = self.stack.last_mut() {
                    cells.push(inl);
                }
            }
            Open::Details(summary, body) => self.block(Block::Details { summary, body }),
        }
    }

    fn block(&mut self, block: Block) {
        self.end_implicit();
        // A block where only inline content or rows can be (the parser never makes one): the
        // open blocks close until one can hold it; the document always can.
        while self.stack.len() > 1
            && !matches!(
                self.stack.last(),
                Some(Open::Quote(_) | Open::Item(_) | Open::Details(..))
            )
        {
            self.close();
        }
        if let Some(
            Open::Doc(blocks) | Open::Quote(blocks) | Open::Item(blocks) | Open::Details(_, blocks),
        ) = self.stack.last_mut()
        {
            blocks.push(block);
        }
    }

    fn inline(&mut self, inline: Inline) {
        match self.stack.last_mut() {
            Some(Open::Paragraph(inl) | Open::Heading(_, inl) | Open::Cell(inl))
            | Some(Open::Implicit(inl)) => push_inline(inl, inline),
            Some(Open::Code(_, buf)) => {
                if let Inline::Text { text, .. } = inline {
                    buf.push_str(&text);
                }
            }
            _ => {
                self.stack.push(Open::Implicit(Vec::new()));
                self.inline(inline);
            }
        }
    }

    fn text(&mut self, text: &str, extra: Option<Mark>) {
        if text.is_empty() {
            return;
        }
        let mut marks = self.marks.clone();
        if let Some(m) = extra {
            marks.push(m);
        }
        self.inline(Inline::Text {
            text: text.to_string(),
            marks,
        });
    }

    fn inline_html(&mut self, html: &str) {
        let mut rest = html;
        if self.in_comment {
            match rest.find("-->") {
                Some(end) => {
                    self.in_comment = false;
                    rest = &rest[end + 3..];
                }
                None => return,
            }
        }
        if let Some(start) = rest.find("<!--") {
            let (before, after) = rest.split_at(start);
            self.inline_html(before);
            match after.find("-->") {
                Some(end) => self.inline_html(&after[end + 3..]),
                None => self.in_comment = true,
            }
            return;
        }
        let lower = rest.trim().to_ascii_lowercase();
        if is_br(&lower) {
            self.inline(Inline::Break);
        } else {
            self.text(rest, None);
        }
    }

    /// An HTML block: comments dropped, `<details>` opened and closed, the rest kept as text.
    fn block_html(&mut self, html: &str) {
        let html = strip_comments(html);
        let mut rest = html.as_str();
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                self.html_text(rest);
                break;
            };
            self.html_text(&rest[..lt]);
            let after = &rest[lt..];
            let Some(gt) = after.find('>') else {
                self.html_text(after);
                break;
            };
            let tag = &after[..=gt];
            let name = tag_name(tag);
            rest = &after[gt + 1..];
            match name.as_str() {
                "details" => {
                    self.end_implicit();
                    self.stack.push(Open::Details(String::new(), Vec::new()));
                }
                "/details" => {
                    if self.stack.iter().any(|o| matches!(o, Open::Details(..))) {
                        while !matches!(self.stack.last(), Some(Open::Details(..))) {
                            self.close();
                        }
                        self.close();
                    }
                }
                "summary" => {
                    let end = find_ci(rest, "</summary>").unwrap_or(rest.len());
                    let summary = strip_tags(&rest[..end]);
                    rest = &rest[(end + "</summary>".len()).min(rest.len())..];
                    if let Some(Open::Details(title, _)) = self
                        .stack
                        .iter_mut()
                        .rev()
                        .find(|o| matches!(o, Open::Details(..)))
                    {
                        *title = summary.split_whitespace().collect::<Vec<_>>().join(" ");
                    }
                }
                "br" | "br/" => self.inline(Inline::Break),
                _ => self.html_text(tag),
            }
        }
        self.end_implicit();
    }

    fn html_text(&mut self, text: &str) {
        if !text.trim().is_empty() {
            self.text(text.trim(), None);
        }
    }
}

fn push_inline(inl: &mut Vec<Inline>, inline: Inline) {
    // The parser splits text at escapes and entities: join runs with the same marks.
    if let (
        Some(Inline::Text { text, marks }),
        Inline::Text {
            text: more,
            marks: more_marks,
        },
    ) = (inl.last_mut(), &inline)
    {
        if marks == more_marks {
            text.push_str(more);
            return;
        }
    }
    inl.push(inline);
}

fn is_br(lower: &str) -> bool {
    matches!(lower, "<br>" | "<br/>" | "<br />")
}

fn tag_name(tag: &str) -> String {
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect();
    let name = name.to_ascii_lowercase();
    if name == "br" && inner.trim_end().ends_with('/') {
        return "br/".into();
    }
    name
}

fn find_ci(text: &str, needle: &str) -> Option<usize> {
    text.to_ascii_lowercase().find(needle)
}

fn strip_tags(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Removes `<!-- … -->`; an unclosed comment runs to the end, as in HTML.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str, marks: &[Mark]) -> Inline {
        Inline::Text {
            text: text.into(),
            marks: marks.to_vec(),
        }
    }

    #[test]
    fn hidden_markers_vanish_and_details_keep_their_content() {
        let md = "<!-- postmortem:k -->\n# T\n\n<details>\n<summary>Raw <b>logs</b></summary>\n\nline `one`\n\n</details>\n\nafter <!-- note --> text\n";
        assert_eq!(
            parse(md),
            vec![
                Block::Heading(1, vec![t("T", &[])]),
                Block::Details {
                    summary: "Raw logs".into(),
                    body: vec![Block::Paragraph(vec![
                        t("line ", &[]),
                        t("one", &[Mark::Code])
                    ])],
                },
                Block::Paragraph(vec![t("after  text", &[])]),
            ]
        );
    }

    #[test]
    fn tight_lists_tables_and_escapes() {
        let md = "- a\\_b **c**\n  1. n\n\n| h | i |\n|---|---|\n| x |  |\n";
        assert_eq!(
            parse(md),
            vec![
                Block::List {
                    start: None,
                    items: vec![vec![
                        Block::Paragraph(vec![t("a_b ", &[]), t("c", &[Mark::Strong])]),
                        Block::List {
                            start: Some(1),
                            items: vec![vec![Block::Paragraph(vec![t("n", &[])])]],
                        },
                    ]],
                },
                Block::Table(vec![
                    vec![vec![t("h", &[])], vec![t("i", &[])]],
                    vec![vec![t("x", &[])], vec![]],
                ]),
            ]
        );
    }
}
