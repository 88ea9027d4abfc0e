//! Report templates are untrusted input: a repository's `postmortem.yaml` can name a template
//! committed by anyone, and whoever runs `postmortem report` in that clone renders it with their
//! `RENDER_API_KEY` in the environment. So a template runs fenced in:
//!
//! - no environment: `get_env` (which `Tera::default()` registers) is replaced by a function
//!   that fails;
//! - no files: one raw template, nothing else loaded; `include`, `extends` and `import` are
//!   refused before rendering;
//! - bounded recursion: macros that call each other in a cycle are refused before rendering
//!   (Tera has no depth limit: a recursive macro overflows the stack and aborts the process);
//!   block nesting is bounded before parsing, and the whole render runs on a thread of its own
//!   with a generous stack;
//! - bounded loops: `range` yields at most [`Limits::max_range`] numbers and refuses `step_by=0`
//!   (Tera's own loops forever);
//! - bounded output: the output is written through a writer that refuses to pass
//!   [`Limits::max_output_bytes`], so the render stops there instead of after;
//! - a time budget: the caller waits [`Limits::time_budget`], then reports the violation; the
//!   worker is told to stop and does so at its next output or `range` call.
//!
//! What this cannot stop in-process: work that neither writes output nor calls `range` (string
//! growth through `set s = s ~ s` inside one bounded loop doubles per iteration and can exhaust
//! memory well inside the time budget), and memory held by macro or filter-section output
//! before it is written. So the binary renders templates in a child process under
//! [`Limits::max_memory_bytes`] ([`super::isolate`]), the builtin one too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde_json::Value;
use tera::ast::{Expr, ExprVal, Node};
use tera::Tera;

/// The bounds a template renders within. The builtin template stays well inside the defaults
/// (tested), so they are what every template gets.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Size of the template source.
    pub max_template_bytes: usize,
    /// Length of one `{{ }}` or `{% %}` tag: Tera parses `1 + 1 + ...` into a tree as deep as
    /// the expression is long, and recurses over it.
    pub max_tag_bytes: usize,
    /// Depth of nested blocks (`if`, `for`, `macro`, `filter`, `block`) and brackets in tags.
    pub max_nesting: usize,
    /// Numbers one `range(...)` call may yield.
    pub max_range: usize,
    /// Size of the rendered output.
    pub max_output_bytes: usize,
    /// Wall-clock time for parsing, checking and rendering.
    pub time_budget: Duration,
    /// Stack of the rendering thread: Tera's parser and renderer recurse once per nesting level.
    pub stack_bytes: usize,
    /// Address space of the child process a template renders in, besides 16 bytes per
    /// byte of the context it is given ([`super::isolate`]). The program, the rendering
    /// thread's stack and the allocator's reserves fit in 100 MiB (measured: a small template
    /// renders under that limit), so most of it is left for the template.
    pub max_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_template_bytes: 1 << 20,
            max_tag_bytes: 16 << 10,
            max_nesting: 64,
            max_range: 10_000,
            max_output_bytes: 16 << 20,
            time_budget: Duration::from_secs(30),
            stack_bytes: 64 << 20,
            max_memory_bytes: 1 << 30,
        }
    }
}

/// Parses, checks and renders `source` under `limits` on a thread of its own. `register` adds
/// the report's filters and functions; the sandbox's replacements are registered after it, so
/// it cannot undo them. Every error names the template.
pub fn render(
    name: &str,
    source: &str,
    context: tera::Context,
    limits: &Limits,
    register: fn(&mut Tera),
) -> Result<String, String> {
    let fail = |message: String| format!("{name}: {message}");
    if source.len() > limits.max_template_bytes {
        return Err(fail(format!(
            "the template is {} bytes, over the limit of {} bytes",
            source.len(),
            limits.max_template_bytes
        )));
    }
    let (depth, longest) = nesting(source);
    if longest > limits.max_tag_bytes {
        return Err(fail(format!(
            "a tag is {longest} bytes long, over the limit of {} bytes",
            limits.max_tag_bytes
        )));
    }
    if depth > limits.max_nesting {
        return Err(fail(format!(
            "blocks or brackets nest {depth} deep, over the limit of {}",
            limits.max_nesting
        )));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let worker = {
        let (name, source, limits, stop) = (
            name.to_string(),
            source.to_string(),
            limits.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name("template".into())
            .stack_size(limits.stack_bytes)
            .spawn(move || {
                let result = render_here(&name, &source, &context, &limits, register, &stop);
                // The caller may have stopped waiting; then nobody needs the result.
                let _ = tx.send(result);
            })
    };
    if let Err(e) = worker {
        return Err(fail(format!("cannot start the rendering thread: {e}")));
    }
    match rx.recv_timeout(limits.time_budget) {
        Ok(result) => result.map_err(fail),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            stop.store(true, Ordering::Relaxed);
            Err(fail(format!(
                "rendering took longer than the time budget of {} s",
                limits.time_budget.as_secs_f64()
            )))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(fail(
            "rendering stopped on an internal error (a panic in Tera)".into(),
        )),
    }
}

fn render_here(
    name: &str,
    source: &str,
    context: &tera::Context,
    limits: &Limits,
    register: fn(&mut Tera),
    stop: &Arc<AtomicBool>,
) -> Result<String, String> {
    let template = tera::Template::new(name, None, source).map_err(|e| describe(&e))?;
    refuse_other_files(&template.ast)?;
    refuse_macro_cycles(&template.macros)?;

    let mut tera = Tera::default();
    // Markdown is not HTML: escaping is explicit, through the report's filters.
    tera.autoescape_on(vec![]);
    register(&mut tera);
    tera.register_function("get_env", |_: &HashMap<String, Value>| {
        Err(tera::Error::msg(
            "`get_env` is disabled: a report template cannot read the environment",
        ))
    });
    let (max_range, range_stop) = (limits.max_range, stop.clone());
    tera.register_function("range", move |args: &HashMap<String, Value>| {
        if range_stop.load(Ordering::Relaxed) {
            return Err(tera::Error::msg("stopped: over the time budget"));
        }
        bounded_range(args, max_range)
    });
    tera.add_raw_template(name, source)
        .map_err(|e| describe(&e))?;

    let mut out = Capped {
        buf: Vec::new(),
        cap: limits.max_output_bytes,
        over: false,
        stop: stop.clone(),
    };
    let rendered = tera.render_to(name, context, &mut out);
    if out.over {
        return Err(format!(
            "the output passed the limit of {} bytes",
            limits.max_output_bytes
        ));
    }
    rendered.map_err(|e| describe(&e))?;
    String::from_utf8(out.buf).map_err(|e| format!("the output is not UTF-8: {e}"))
}

/// Tera's errors nest their cause; a user fixing a template needs all of it on one line.
pub(crate) fn describe(e: &tera::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// Refuses to pass `cap` bytes, and to go on once the caller stopped waiting.
struct Capped {
    buf: Vec<u8>,
    cap: usize,
    over: bool,
    stop: Arc<AtomicBool>,
}

impl Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped: over the time budget"));
        }
        if self.buf.len() + bytes.len() > self.cap {
            self.over = true;
            return Err(std::io::Error::other("output over the limit"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tera's `range` with a cap on its length and no endless `step_by=0`.
fn bounded_range(args: &HashMap<String, Value>, max: usize) -> tera::Result<Value> {
    let number = |key: &str, default: Option<u64>| -> tera::Result<u64> {
        match args.get(key) {
            Some(v) => v.as_u64().ok_or_else(|| {
                tera::Error::msg(format!(
                    "`range` received {key}={v}, but {key} must be a whole number >= 0"
                ))
            }),
            None => default.ok_or_else(|| tera::Error::msg("`range` needs an `end` argument")),
        }
    };
    let start = number("start", Some(0))?;
    let end = number("end", None)?;
    let step = number("step_by", Some(1))?;
    if step == 0 {
        return Err(tera::Error::msg(
            "`range` received step_by=0, which never ends",
        ));
    }
    if start > end {
        return Err(tera::Error::msg(
            "`range` received a `start` greater than its `end`",
        ));
    }
    let len = (end - start).div_ceil(step);
    if len > max as u64 {
        return Err(tera::Error::msg(format!(
            "`range` would yield {len} numbers, over the limit of {max}"
        )));
    }
    Ok(Value::Array(
        (start..end)
            .step_by(step as usize)
            .map(Value::from)
            .collect(),
    ))
}

/// The deepest nesting of block tags and of brackets inside tags, and the longest tag, read
/// from the text, so that a template nested deep enough to overflow the parser's stack is
/// refused before parsing.
/// An over-estimate is fine (a bracket inside a string literal counts): the limit is far above
/// what a report needs.
fn nesting(source: &str) -> (usize, usize) {
    const OPENERS: [&str; 6] = ["if", "for", "macro", "filter", "block", "raw"];
    let (mut blocks, mut deepest, mut longest) = (0usize, 0usize, 0usize);
    let mut rest = source;
    while let Some(at) = rest.find('{') {
        rest = &rest[at + 1..];
        let close = match rest.as_bytes().first() {
            Some(b'%') => "%}",
            Some(b'{') => "}}",
            _ => continue,
        };
        // From the second byte: in `{%}` the close `%}` overlaps the open.
        let end = rest[1..].find(close).map_or(rest.len(), |i| i + 1);
        let tag = &rest[1..end];
        longest = longest.max(tag.len());
        let word = tag
            .trim_start_matches('-')
            .split_whitespace()
            .next()
            .unwrap_or("");
        if close == "%}" {
            if OPENERS.contains(&word) {
                blocks += 1;
            } else if word.starts_with("end") {
                blocks = blocks.saturating_sub(1);
            }
        }
        let mut brackets = 0usize;
        for c in tag.chars() {
            match c {
                '(' | '[' => {
                    brackets += 1;
                    deepest = deepest.max(blocks + brackets);
                }
                ')' | ']' => brackets = brackets.saturating_sub(1),
                _ => {}
            }
        }
        deepest = deepest.max(blocks);
        rest = &rest[end..];
    }
    (deepest, longest)
}

/// One raw template is all a report template gets: anything it would pull in is a file read.
fn refuse_other_files(nodes: &[Node]) -> Result<(), String> {
    let refuse = |what: &str, target: &str| {
        Err(format!(
            "`{what} \"{target}\"` is not allowed: a report template is one file and reads no other"
        ))
    };
    for node in nodes {
        match node {
            Node::Extends(_, target) => return refuse("extends", target),
            Node::Include(_, targets, _) => return refuse("include", &targets.join(", ")),
            Node::ImportMacro(_, target, _) => return refuse("import", target),
            _ => {}
        }
        let mut children = Vec::new();
        child_bodies(node, &mut children);
        for body in children {
            refuse_other_files(body)?;
        }
    }
    Ok(())
}

fn child_bodies<'a>(node: &'a Node, out: &mut Vec<&'a [Node]>) {
    match node {
        Node::MacroDefinition(_, definition, _) => out.push(&definition.body),
        Node::FilterSection(_, section, _) => out.push(&section.body),
        Node::Block(_, block, _) => out.push(&block.body),
        Node::Forloop(_, forloop, _) => {
            out.push(&forloop.body);
            if let Some(body) = &forloop.empty_body {
                out.push(body);
            }
        }
        Node::If(branches, _) => {
            for (_, _, body) in &branches.conditions {
                out.push(body);
            }
            if let Some((_, body)) = &branches.otherwise {
                out.push(body);
            }
        }
        _ => {}
    }
}

/// Every expression written directly in `node` (not in its child bodies).
fn node_exprs<'a>(node: &'a Node, out: &mut Vec<&'a Expr>) {
    match node {
        Node::VariableBlock(_, expr) => out.push(expr),
        Node::Set(_, set) => out.push(&set.value),
        Node::MacroDefinition(_, definition, _) => out.extend(definition.args.values().flatten()),
        Node::FilterSection(_, section, _) => out.extend(section.filter.args.values()),
        Node::Forloop(_, forloop, _) => out.push(&forloop.container),
        Node::If(branches, _) => out.extend(branches.conditions.iter().map(|(_, e, _)| e)),
        _ => {}
    }
}

/// The macros an expression calls, by name (one template: every call is `self::name`).
fn calls_in_expr(expr: &Expr, out: &mut BTreeSet<String>) {
    for filter in &expr.filters {
        for arg in filter.args.values() {
            calls_in_expr(arg, out);
        }
    }
    match &expr.val {
        ExprVal::Math(m) => {
            calls_in_expr(&m.lhs, out);
            calls_in_expr(&m.rhs, out);
        }
        ExprVal::Logic(l) => {
            calls_in_expr(&l.lhs, out);
            calls_in_expr(&l.rhs, out);
        }
        ExprVal::In(i) => {
            calls_in_expr(&i.lhs, out);
            calls_in_expr(&i.rhs, out);
        }
        ExprVal::Test(t) => t.args.iter().for_each(|a| calls_in_expr(a, out)),
        ExprVal::MacroCall(call) => {
            out.insert(call.name.clone());
            call.args.values().for_each(|a| calls_in_expr(a, out));
        }
        ExprVal::FunctionCall(call) => call.args.values().for_each(|a| calls_in_expr(a, out)),
        ExprVal::Array(items) => items.iter().for_each(|a| calls_in_expr(a, out)),
        ExprVal::StringConcat(_)
        | ExprVal::String(_)
        | ExprVal::Int(_)
        | ExprVal::Float(_)
        | ExprVal::Bool(_)
        | ExprVal::Ident(_) => {}
    }
}

fn calls_in_body(nodes: &[Node], out: &mut BTreeSet<String>) {
    for node in nodes {
        let mut exprs = Vec::new();
        node_exprs(node, &mut exprs);
        exprs.into_iter().for_each(|e| calls_in_expr(e, out));
        let mut children = Vec::new();
        child_bodies(node, &mut children);
        children.into_iter().for_each(|b| calls_in_body(b, out));
    }
}

/// Refuses macros that reach themselves through calls, naming the cycle.
fn refuse_macro_cycles(macros: &HashMap<String, tera::ast::MacroDefinition>) -> Result<(), String> {
    let graph: BTreeMap<&str, BTreeSet<String>> = macros
        .iter()
        .map(|(name, definition)| {
            let mut calls = BTreeSet::new();
            calls_in_body(&definition.body, &mut calls);
            (name.as_str(), calls)
        })
        .collect();

    // Depth-first with an explicit stack (the graph is the template's, so is its depth).
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for &root in graph.keys() {
        if marks.contains_key(root) {
            continue;
        }
        let mut path: Vec<&str> = vec![root];
        let mut pending: Vec<std::vec::IntoIter<&str>> = vec![callees(&graph, root)];
        marks.insert(root, Mark::Open);
        while let Some(next) = pending.last_mut().map(Iterator::next) {
            match next {
                Some(callee) => match marks.get(callee) {
                    Some(Mark::Open) => {
                        let from = path.iter().position(|m| *m == callee).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..].to_vec();
                        cycle.push(callee);
                        return Err(format!(
                            "macros call each other in a cycle ({}): recursion is not allowed in a report template",
                            cycle.join(" -> ")
                        ));
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(callee, Mark::Open);
                        path.push(callee);
                        pending.push(callees(&graph, callee));
                    }
                },
                None => {
                    pending.pop();
                    if let Some(done) = path.pop() {
                        marks.insert(done, Mark::Done);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The defined macros `name` calls (a call to an undefined one fails at render time).
fn callees<'a>(
    graph: &'a BTreeMap<&'a str, BTreeSet<String>>,
    name: &str,
) -> std::vec::IntoIter<&'a str> {
    graph
        .get(name)
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| graph.get_key_value(c.as_str()).map(|(k, _)| *k))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(source: &str) -> Result<String, String> {
        render(
            "t.tera",
            source,
            tera::Context::new(),
            &Limits::default(),
            |_| {},
        )
    }

    #[test]
    fn nesting_counts_blocks_and_brackets() {
        // `{%}` opens and "closes" on one `%`: measured, not a slice panic.
        let _ = nesting("{%}");
        let _ = nesting("{{}");
        assert_eq!(
            nesting("{% if a %}{% for x in y %}{{ f(a=(1)) }}{% endfor %}{% endif %}").0,
            4
        );
        assert_eq!(nesting("{ not a tag } {{ x }}"), (0, 3));
    }

    #[test]
    fn range_is_tera_range_within_the_limit() {
        assert_eq!(
            run("{% for i in range(start=1, end=8, step_by=3) %}{{ i }},{% endfor %}"),
            Ok("1,4,7,".into())
        );
        assert!(run("{% for i in range(end=1, step_by=0) %}{% endfor %}")
            .unwrap_err()
            .contains("step_by=0"));
    }

    #[test]
    fn a_cycle_through_loops_and_filter_arguments_is_found() {
        let t = "{% macro a() %}{% for i in [1] %}{% if true %}{{ self::b() }}{% endif %}{% endfor %}{% endmacro %}\
                 {% macro b() %}{{ x | default(value=self::c()) }}{% endmacro %}\
                 {% macro c() %}{% filter upper %}{{ self::a() }}{% endfilter %}{% endmacro %}";
        let err = run(t).unwrap_err();
        assert!(err.contains("a -> b -> c -> a"), "{err}");
    }

    #[test]
    fn macros_calling_each_other_without_a_cycle_are_fine() {
        let t = "{% macro a() %}[{{ self::b() }}{{ self::b() }}]{% endmacro %}{% macro b() %}b{% endmacro %}{{ self::a() }}";
        assert_eq!(run(t), Ok("[bb]".into()));
    }
}
