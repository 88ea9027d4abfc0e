//! Reads one Alembic revision file with a real Python parser (ruff's), without
//! running it: the module-level `revision`, `down_revision`, `branch_labels`, `depends_on`,
//! the docstring, `# postmortem: ignore[...]` comments, and what `upgrade()` does.
//!
//! Literals are trusted, and names bound to a literal earlier in the same file. `revision` and
//! `down_revision` that cannot be read that way make the file unreadable for the graph (a
//! [`ParseFailure`]); a `branch_labels` or `depends_on` entry that names a constant
//! (`cli.CONTRACT_BRANCH`) is returned as an [`Unresolved`] reference for the loader to look up
//! in the repository, and stays unknown when it cannot be found. A statement in `upgrade()`
//! that cannot be understood becomes
//! [`Operation::Opaque`](crate::migrations::model::Operation::Opaque) so that no rule guesses
//! about the tables it may touch.

mod depth;
mod ops;
pub mod statements;
mod types;

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use ruff_python_ast::token::{Token, TokenKind};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::migrations::model::{IgnoreComment, Revision};

/// Why a file could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub message: String,
    /// The file passes one of this tool's own bounds (size, tokens, nesting) and was skipped
    /// unread: nothing is known about whether Python, and so Alembic, can load it.
    pub over_limit: bool,
}

impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A `branch_labels` or `depends_on` entry that is a name, not a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// `branch_labels` or `depends_on`.
    pub field: &'static str,
    /// The expression as written (`cli.CONTRACT_BRANCH`).
    pub text: String,
    /// The dotted path it names through the file's imports
    /// (`neutron.db.migration.cli.CONTRACT_BRANCH`), when it is rooted in one.
    pub qualified: Option<String>,
}

/// Stack to reserve per byte of source. Python nests as deep as its text is long (`x = - - - 1`
/// is one level per byte), and dropping the syntax tree, like the readers below, recurses once
/// per level: a generous bound (debug builds have large frames) keeps any file from overflowing.
const STACK_PER_BYTE: usize = 512;
const STACK_BASE: usize = 256 * 1024;
/// Past this, the reserved stack would be gigabytes: such a file is reported, not read.
const MAX_SOURCE_BYTES: usize = 8 * 1024 * 1024;

/// Parses one revision file. `file` is the path stored in the result (relative to the
/// repository root); `source` the raw bytes, decoded as Python would (UTF-8, or the PEP 263
/// Latin-1 declaration).
pub fn parse_revision(file: &str, source: &[u8]) -> Result<Revision, ParseFailure> {
    parse_revision_refs(file, source).map(|(mut revision, unresolved)| {
        revision.unknown = unresolved
            .iter()
            .map(|u| format!("{}: {}", u.field, u.text))
            .collect();
        revision
    })
}

/// [`parse_revision`], with the `branch_labels`/`depends_on` entries that name constants left
/// for the caller to resolve (they are not in the revision).
pub fn parse_revision_refs(
    file: &str,
    source: &[u8],
) -> Result<(Revision, Vec<Unresolved>), ParseFailure> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ParseFailure {
            over_limit: true,
            line: 1,
            column: 1,
            message: format!(
                "it is {} bytes, over the limit of {} bytes ({} MiB) this tool reads as one revision file",
                source.len(),
                MAX_SOURCE_BYTES,
                MAX_SOURCE_BYTES / (1024 * 1024)
            ),
        });
    }
    let need = source.len() * STACK_PER_BYTE + STACK_BASE;
    match stacker::remaining_stack() {
        Some(left) if left >= need => parse_on_this_stack(file, source),
        // A fresh stack is mapped lazily: only the pages a deep file really uses are touched.
        _ => stacker::grow(need, || parse_on_this_stack(file, source)),
    }
}

fn parse_on_this_stack(
    file: &str,
    source: &[u8],
) -> Result<(Revision, Vec<Unresolved>), ParseFailure> {
    let text = decode(source)?;
    let syntax_error = |offset: TextSize, message: &str| parse_failure_at(&text, offset, message);
    if let Some(message) = depth::refuse(&text) {
        return Err(ParseFailure {
            over_limit: true,
            line: 1,
            column: 1,
            message,
        });
    }
    let parsed = ruff_python_parser::parse_module(&text)
        .map_err(|e| syntax_error(e.location.start(), &e.error.to_string()))?;
    if let Some(offset) = too_deep_bracket(parsed.tokens()) {
        return Err(syntax_error(offset, "too many nested parentheses"));
    }
    let module = Module::new(&text, &parsed.syntax().body);
    module.revision(file)
}

/// The ID a revision file declares, by a scan of its lines for a top-level
/// `revision = "…"` (or `revision: str = "…"`), for files the parser could not read: a file
/// over this tool's bounds, or with a syntax error elsewhere, still names its revision there.
pub fn declared_revision(source: &[u8]) -> Option<String> {
    source.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(b"revision")?;
        let rest = trim_start(rest);
        let rest = match rest.strip_prefix(b":") {
            Some(annotated) => {
                let at = annotated.iter().position(|&b| b == b'=')?;
                &annotated[at..]
            }
            None => rest,
        };
        let rest = trim_start(rest.strip_prefix(b"=")?);
        let quote = *rest.first().filter(|q| **q == b'"' || **q == b'\'')?;
        let value = &rest[1..];
        let end = value.iter().position(|&b| b == quote)?;
        let id = std::str::from_utf8(&value[..end]).ok()?;
        let plain = !id.is_empty() && id.len() <= 128 && !id.contains(['\\', ' ']);
        plain.then(|| id.to_string())
    })
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let at = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    &bytes[at..]
}

/// A Python syntax error at `offset` of `text`, with its line and column.
fn parse_failure_at(text: &str, offset: TextSize, message: &str) -> ParseFailure {
    let lines = LineIndex::new(text);
    let (line, column) = lines.line_column(text, u32::from(offset) as usize);
    ParseFailure {
        over_limit: false,
        line,
        column,
        message: format!("Python syntax error: {message}"),
    }
}

/// CPython's tokenizer refuses brackets nested deeper than this (`MAXLEVEL`); ruff's parser
/// does not, so without this check a file Alembic cannot import would read as a good one.
const MAX_BRACKET_DEPTH: usize = 200;

/// Where the first bracket past [`MAX_BRACKET_DEPTH`] opens.
fn too_deep_bracket(tokens: &[Token]) -> Option<TextSize> {
    let mut depth = 0usize;
    for token in tokens {
        match token.kind() {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return Some(token.start());
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    None
}

/// Python's own decoding rules for a source file, reduced to what migrations use.
fn decode(source: &[u8]) -> Result<String, ParseFailure> {
    let source = source.strip_prefix(b"\xef\xbb\xbf").unwrap_or(source);
    if let Some(encoding) = declared_encoding(source) {
        let normalized = encoding.to_ascii_lowercase().replace('_', "-");
        match normalized.as_str() {
            "utf-8" | "utf8" | "ascii" | "us-ascii" => {}
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => {
                return Ok(source.iter().map(|&b| char::from(b)).collect());
            }
            _ => {
                return Err(ParseFailure {
over_limit: false,
                    line: 1,
                    column: 1,
                    message: format!(
                        "declares the source encoding `{encoding}`, which this tool does not read; save the file as UTF-8"
                    ),
                })
            }
        }
    }
    match std::str::from_utf8(source) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let valid = source.get(..e.valid_up_to()).unwrap_or_default();
            let line = valid.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let prefix = valid.get(line_start..).unwrap_or_default();
            let column = String::from_utf8_lossy(prefix).chars().count() as u32 + 1;
            let byte = source.get(e.valid_up_to()).copied().unwrap_or(0);
            Err(ParseFailure {
over_limit: false,
                line,
                column,
                message: format!(
                    "not valid UTF-8 (byte 0x{byte:02x}) and no encoding declared: Python refuses to import it (SyntaxError: Non-UTF-8 code)"
                ),
            })
        }
    }
}

/// PEP 263: `# -*- coding: latin-1 -*-` on one of the first two lines.
fn declared_encoding(source: &[u8]) -> Option<String> {
    static CODING: OnceLock<Regex> = OnceLock::new();
    let re = CODING.get_or_init(|| {
        Regex::new(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)").expect("static regex")
    });
    for raw in source.split(|&b| b == b'\n').take(2) {
        let line = String::from_utf8_lossy(raw);
        if let Some(c) = re.captures(&line) {
            return c.get(1).map(|m| m.as_str().to_string());
        }
        if !line.trim_start().starts_with('#') {
            break;
        }
    }
    None
}

/// Byte offset to line (and column) numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s <= offset) as u32
    }

    fn line_column(&self, text: &str, offset: usize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self
            .starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(0);
        let column = text
            .get(start..offset.min(text.len()))
            .map_or(0, |s| s.chars().count()) as u32
            + 1;
        (line, column)
    }
}

/// A parsed module and what is needed to interpret names in it.
pub(crate) struct Module<'a> {
    text: &'a str,
    body: &'a [Stmt],
    lines: LineIndex,
    /// Local name -> dotted path it stands for: `sa` -> `sqlalchemy`,
    /// `postgresql` -> `sqlalchemy.dialects.postgresql`, `op` -> `alembic.op`.
    imports: HashMap<String, String>,
}

impl<'a> Module<'a> {
    fn new(text: &'a str, body: &'a [Stmt]) -> Self {
        let mut module = Module {
            text,
            body,
            lines: LineIndex::new(text),
            imports: HashMap::new(),
        };
        module.add_imports(body);
        // Imports inside `upgrade()` are common (`from sqlalchemy.dialects import postgresql`).
        if let Some(upgrade) = module.upgrade() {
            module.add_imports(&upgrade.body);
        }
        module
    }

    fn add_imports(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::Import(import) => {
                    for alias in &import.names {
                        let name = alias.name.as_str();
                        match &alias.asname {
                            Some(asname) => {
                                self.imports.insert(asname.to_string(), name.to_string());
                            }
                            None => {
                                // `import sqlalchemy.dialects.postgresql` binds `sqlalchemy`.
                                let root = name.split('.').next().unwrap_or(name);
                                self.imports.insert(root.to_string(), root.to_string());
                            }
                        }
                    }
                }
                Stmt::ImportFrom(import) => {
                    let Some(module) = &import.module else {
                        continue;
                    };
                    for alias in &import.names {
                        let local = alias.asname.as_ref().unwrap_or(&alias.name);
                        self.imports
                            .insert(local.to_string(), format!("{}.{}", module, alias.name));
                    }
                }
                _ => {}
            }
        }
    }

    fn upgrade(&self) -> Option<&'a ast::StmtFunctionDef> {
        self.body.iter().find_map(|stmt| match stmt {
            Stmt::FunctionDef(def) if def.name.as_str() == "upgrade" => Some(def),
            _ => None,
        })
    }

    /// The dotted path an expression names, through the imports: `sa.String` ->
    /// `sqlalchemy.String`. `None` for anything not rooted in an import.
    pub(crate) fn qualify(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => self.imports.get(name.id.as_str()).cloned(),
            Expr::Attribute(attr) => {
                let base = self.qualify(&attr.value)?;
                Some(format!("{base}.{}", attr.attr))
            }
            _ => None,
        }
    }

    pub(crate) fn text_of(&self, range: TextRange) -> &'a str {
        let start = u32::from(range.start()) as usize;
        let end = u32::from(range.end()) as usize;
        self.text.get(start..end).unwrap_or("")
    }

    pub(crate) fn line_of(&self, range: TextRange) -> u32 {
        self.lines.line(u32::from(range.start()) as usize)
    }

    pub(crate) fn end_line_of(&self, range: TextRange) -> u32 {
        // The range end is exclusive: the last character is one before it.
        let end = (u32::from(range.end()) as usize).saturating_sub(1);
        self.lines.line(end).max(self.line_of(range))
    }

    fn revision(&self, file: &str) -> Result<(Revision, Vec<Unresolved>), ParseFailure> {
        let mut revision: Option<(String, u32)> = None;
        let mut parents = Vec::new();
        let mut branch_labels = Vec::new();
        let mut depends_on = Vec::new();
        let mut unresolved: Vec<Unresolved> = Vec::new();
        // Module-level names bound so far, as Python would see them at each assignment.
        let mut bound: HashMap<&'a str, &'a Expr> = HashMap::new();
        for stmt in self.body {
            let (targets, value): (Vec<&'a Expr>, &'a Expr) = match stmt {
                Stmt::Assign(assign) => (assign.targets.iter().collect(), &assign.value),
                Stmt::AnnAssign(assign) => match &assign.value {
                    Some(value) => (vec![&*assign.target], value),
                    None => continue,
                },
                _ => continue,
            };
            let value = through_names(value, &bound);
            for target in &targets {
                let Expr::Name(name) = target else { continue };
                let line = self.line_of(stmt.range());
                match name.id.as_str() {
                    "revision" => match value {
                        Expr::StringLiteral(id) => revision = Some((id.value.to_string(), line)),
                        other => return Err(self.not_literal("revision", other)),
                    },
                    "down_revision" => {
                        parents = self.string_list("down_revision", value, &bound)?
                    }
                    "branch_labels" => {
                        unresolved.retain(|u| u.field != "branch_labels");
                        branch_labels =
                            self.lenient_list("branch_labels", value, &bound, &mut unresolved)
                    }
                    "depends_on" => {
                        unresolved.retain(|u| u.field != "depends_on");
                        depends_on = self.lenient_list("depends_on", value, &bound, &mut unresolved)
                    }
                    _ => {}
                }
            }
            for target in targets {
                if let Expr::Name(name) = target {
                    bound.insert(name.id.as_str(), value);
                }
            }
        }
        let Some((id, line)) = revision else {
            return Err(ParseFailure {
over_limit: false,
                line: 1,
                column: 1,
                message: "declares no `revision = \"...\"`: Alembic refuses to load the folder (\"Could not determine revision id\")".to_string(),
            });
        };
        dedupe_in_order(&mut parents);
        dedupe_in_order(&mut depends_on);
        branch_labels.sort();
        branch_labels.dedup();
        let upgrade = self
            .upgrade()
            .map(|def| ops::read_upgrade(self, &def.body))
            .unwrap_or_default();
        Ok((
            Revision {
                id,
                parents,
                file: file.to_string(),
                line,
                message: self.docstring_first_line(),
                branch_labels,
                depends_on,
                upgrade,
                ignores: ignore_comments(self.text),
                unknown: Vec::new(),
            },
            unresolved,
        ))
    }

    /// `None`, a string, or a tuple/list of strings, as Alembic accepts them.
    fn string_list(
        &self,
        what: &str,
        value: &'a Expr,
        bound: &HashMap<&'a str, &'a Expr>,
    ) -> Result<Vec<String>, ParseFailure> {
        match value {
            Expr::NoneLiteral(_) => Ok(Vec::new()),
            Expr::StringLiteral(s) => Ok(vec![s.value.to_string()]),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                elts.iter()
                    .map(|e| match through_names(e, bound) {
                        Expr::StringLiteral(s) => Ok(s.value.to_string()),
                        other => Err(self.not_literal(what, other)),
                    })
                    .collect()
            }
            other => Err(self.not_literal(what, other)),
        }
    }

    /// Like [`Self::string_list`], but an entry that is not a literal is kept aside as
    /// [`Unresolved`] instead of failing the file: the graph does not depend on it.
    fn lenient_list(
        &self,
        what: &'static str,
        value: &'a Expr,
        bound: &HashMap<&'a str, &'a Expr>,
        unresolved: &mut Vec<Unresolved>,
    ) -> Vec<String> {
        let entries: Vec<&'a Expr> = match value {
            Expr::NoneLiteral(_) => return Vec::new(),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                elts.iter().collect()
            }
            other => vec![other],
        };
        let mut out = Vec::new();
        for entry in entries {
            match through_names(entry, bound) {
                Expr::StringLiteral(s) => out.push(s.value.to_string()),
                Expr::NoneLiteral(_) => {}
                other => unresolved.push(Unresolved {
                    field: what,
                    text: shorten(self.text_of(other.range()), 60),
                    qualified: self.qualify(other),
                }),
            }
        }
        out
    }

    fn not_literal(&self, what: &str, value: &Expr) -> ParseFailure {
        let offset = u32::from(value.range().start()) as usize;
        let (line, column) = self.lines.line_column(self.text, offset);
        ParseFailure {
over_limit: false,
            line,
            column,
            message: format!(
                "`{what} = {}` is not a literal: the revision graph cannot be read without running Python",
                shorten(self.text_of(value.range()), 60)
            ),
        }
    }

    fn docstring_first_line(&self) -> String {
        match self.body.first() {
            Some(Stmt::Expr(ast::StmtExpr { value, .. })) => match &**value {
                Expr::StringLiteral(doc) => doc
                    .value
                    .to_str()
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .to_string(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    }
}

fn dedupe_in_order(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|s| seen.insert(s.clone()));
}

/// First line of `text`, whitespace collapsed, cut at `max` characters with `...`.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let cut: String = collapsed.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// `# postmortem: ignore[rule-a, rule-b]`, one entry per rule, with the comment's line.
fn ignore_comments(text: &str) -> Vec<IgnoreComment> {
    static IGNORE: OnceLock<Regex> = OnceLock::new();
    let re = IGNORE
        .get_or_init(|| Regex::new(r"#\s*postmortem:\s*ignore\[([^\]]*)\]").expect("static regex"));
    let mut out = Vec::new();
    if !text.contains("postmortem") {
        return out;
    }
    for (index, line) in text.lines().enumerate() {
        for captures in re.captures_iter(line) {
            let Some(names) = captures.get(1) else {
                continue;
            };
            for rule in names
                .as_str()
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
            {
                out.push(IgnoreComment {
                    rule: rule.to_string(),
                    line: index as u32 + 1,
                });
            }
        }
    }
    out
}

/// A bare name bound earlier in the module stands for its value (`LABEL = "x"` then
/// `branch_labels = (LABEL,)`); anything else is itself.
fn through_names<'e>(value: &'e Expr, bound: &HashMap<&'e str, &'e Expr>) -> &'e Expr {
    match value {
        // Each bound value was itself resolved when it was bound: one step suffices.
        Expr::Name(name) => bound.get(name.id.as_str()).copied().unwrap_or(value),
        _ => value,
    }
}

/// Runs `read` (which parses `text`) within the bounds a revision file gets: `None` for a file
/// over [`MAX_SOURCE_BYTES`] or nesting past the depth limit, and on a stack that the file's
/// size cannot overflow. For the other Python files read statically (modules holding
/// constants, `env.py`): a hostile one is skipped, not a crash.
pub(crate) fn within_bounds<T>(text: &str, read: impl FnOnce() -> T) -> Option<T> {
    if text.len() > MAX_SOURCE_BYTES || depth::refuse(text).is_some() {
        return None;
    }
    let need = text.len() * STACK_PER_BYTE + STACK_BASE;
    Some(match stacker::remaining_stack() {
        Some(left) if left >= need => read(),
        _ => stacker::grow(need, read),
    })
}

/// The value of a module-level constant `name` in a Python module's source: a string, or a
/// tuple/list of strings (`CONTRACT_BRANCH = "contract"`). `None` when it is not such a literal,
/// or the module is past the bounds of [`within_bounds`].
pub fn module_constant(text: &str, name: &str) -> Option<Vec<String>> {
    within_bounds(text, || module_constant_unbounded(text, name)).flatten()
}

fn module_constant_unbounded(text: &str, name: &str) -> Option<Vec<String>> {
    let parsed = ruff_python_parser::parse_module(text).ok()?;
    let mut found = None;
    for stmt in &parsed.syntax().body {
        let (targets, value): (Vec<&Expr>, &Expr) = match stmt {
            Stmt::Assign(assign) => (assign.targets.iter().collect(), &assign.value),
            Stmt::AnnAssign(assign) => match &assign.value {
                Some(value) => (vec![&*assign.target], value),
                None => continue,
            },
            _ => continue,
        };
        if !targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name))
        {
            continue;
        }
        found = match value {
            Expr::StringLiteral(s) => Some(vec![s.value.to_string()]),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                elts.iter()
                    .map(|e| match e {
                        Expr::StringLiteral(s) => Some(s.value.to_string()),
                        _ => None,
                    })
                    .collect()
            }
            _ => None,
        };
    }
    found
}
