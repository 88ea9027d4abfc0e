//! Templates render in a child process under a memory limit.
//!
//! The in-process [`sandbox`](super::sandbox) bounds what a template can reach (no environment,
//! no files), its loops, recursion, output and time, but not the memory it fills without
//! writing: `{% set s = s ~ s %}` in a loop of 40 doubles a string to a terabyte within a
//! second, and Rust's allocator aborts the process (or the kernel's OOM killer ends it, and
//! whatever else the machine runs) long before the output cap or the time budget can fire. A
//! counting allocator cannot fail one allocation gracefully either: Tera does not handle it.
//!
//! So the binary renders a template by re-running itself with a hidden subcommand
//! ([`CHILD_COMMAND`]): the template, the limits and the context go in as JSON on stdin, the
//! child sets `RLIMIT_AS` on itself before reading them and renders inside the same sandbox,
//! and the parent kills it when the time budget is past. The child starts with an empty
//! environment, so not even a hole in the sandbox could read `RENDER_API_KEY`. Whatever way the
//! child ends (an allocation refused, a stack overflow, a signal, the wall clock), the parent
//! turns it into an error naming the template and the limit.
//!
//! The builtin template renders the same way, so every template gets the same limits: the
//! child costs a process start and a JSON round trip of the context, about 8 ms on a report of
//! 200 deploys (release build, 62 ms against 54 ms, best of 20). Used as a library (no
//! [`render_templates_in`]), every template renders in-process, inside the sandbox but
//! without the memory limit.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::sandbox::{self, Limits};

/// The hidden subcommand the child runs: `postmortem __render-template`.
pub const CHILD_COMMAND: &str = "__render-template";

/// Extra wall-clock time the parent gives the child past the time budget, so that the child's
/// own (clearer) budget error arrives first, and the kill is only the backstop.
const GRACE: Duration = Duration::from_secs(3);

/// What the child's stdout starts with: the rendered text, or the sandbox's error message.
const OUTPUT: u8 = b'O';
const ERROR: u8 = b'E';

static RENDERER: OnceLock<PathBuf> = OnceLock::new();

/// Makes templates render in a child process: `program` is this binary (`main.rs` passes
/// `current_exe()`). Without it (the crate used as a library, in-process tests) templates
/// render in-process, inside the sandbox but without the memory limit.
pub fn render_templates_in(program: PathBuf) {
    let _ = RENDERER.set(program);
}

pub(super) fn renderer() -> Option<&'static Path> {
    RENDERER.get().map(PathBuf::as_path)
}

#[derive(Serialize, Deserialize)]
struct Request {
    name: String,
    source: String,
    limits: Limits,
    context: serde_json::Value,
}

/// The address space the child may use for `request_len` bytes of request: the fixed allowance
/// of `limits` plus room for the context it parses (a `serde_json::Value` takes a few times its
/// text, and Tera clones what a template touches).
fn memory_limit(limits: &Limits, request_len: usize) -> u64 {
    let wanted = limits
        .max_memory_bytes
        .saturating_add(16u64.saturating_mul(request_len as u64));
    // The child inherits this process's limits: a lower one in force (`ulimit -v`) is the one
    // that applies, and the one to name.
    address_space_hard_limit().map_or(wanted, |hard| hard.min(wanted))
}

#[cfg(unix)]
fn address_space_hard_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::As).maximum
}

#[cfg(not(unix))]
fn address_space_hard_limit() -> Option<u64> {
    None
}

fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

/// Renders `source` against `context` in a child process of `program` under `limits`. Every
/// error names the template.
pub(super) fn render_in_child(
    program: &Path,
    name: &str,
    source: &str,
    context: serde_json::Value,
    limits: &Limits,
) -> Result<String, String> {
    let fail = |message: String| format!("{name}: {message}");
    let request = serde_json::to_vec(&Request {
        name: name.to_string(),
        source: source.to_string(),
        limits: limits.clone(),
        context,
    })
    .map_err(|e| fail(format!("cannot serialise the template context: {e}")))?;
    let memory = memory_limit(limits, request.len());

    let mut child = Command::new(program)
        .arg(CHILD_COMMAND)
        .arg(memory.to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(format!(
                "cannot start the template renderer {}: {e}",
                program.display()
            ))
        })?;

    // Feed and drain on threads of their own, so that a child that stops reading (or writes
    // more than a pipe holds) cannot block the clock below.
    let mut stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            // A child that died early closes the pipe: its exit status says why.
            let _ = stdin.write_all(&request);
        }
    });
    let drain = |pipe: Option<Box<dyn Read + Send>>, cap: u64| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let mut pipe = pipe.take(cap);
                let _ = pipe.read_to_end(&mut bytes);
                // Past the cap the rest is read and dropped, so the child is never blocked.
                let _ = std::io::copy(pipe.get_mut(), &mut std::io::sink());
            }
            bytes
        })
    };
    let out_reader = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        // The frame byte, the limit, and one byte more: so that text past the limit is seen
        // as such, not cut to it.
        (limits.max_output_bytes as u64).saturating_add(2),
    );
    let err_reader = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        64 << 10,
    );

    let deadline = Instant::now() + limits.time_budget + GRACE;
    let mut killed = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                killed = true;
                match child.wait() {
                    Ok(status) => break status,
                    Err(e) => return Err(fail(format!("cannot wait for the renderer: {e}"))),
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(fail(format!("cannot wait for the renderer: {e}"))),
        }
    };
    let _ = feeder.join();
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err);

    if killed {
        return Err(fail(format!(
            "rendering took longer than the time budget of {} s; the renderer was stopped",
            limits.time_budget.as_secs_f64()
        )));
    }
    if status.success() {
        return match out.split_first() {
            Some((&OUTPUT, text)) if text.len() <= limits.max_output_bytes => {
                String::from_utf8(text.to_vec())
                    .map_err(|e| fail(format!("the output is not UTF-8: {e}")))
            }
            Some((&OUTPUT, _)) => Err(fail(format!(
                "the output passed the limit of {} bytes",
                limits.max_output_bytes
            ))),
            // The child's message already names the template.
            Some((&ERROR, message)) => Err(String::from_utf8_lossy(message).into_owned()),
            _ => Err(fail(format!(
                "the renderer ended without a result{}",
                last_line(&stderr)
            ))),
        };
    }
    Err(fail(abnormal_end(status, &stderr, memory)))
}

/// Why a child that did not exit cleanly ended, from its status and what Rust's runtime printed.
fn abnormal_end(status: std::process::ExitStatus, stderr: &str, memory: u64) -> String {
    if stderr.contains("memory allocation of") || stderr.contains("capacity overflow") {
        return format!(
            "rendering needed more memory than the limit of {} MiB; the renderer was stopped",
            mib(memory)
        );
    }
    if stderr.contains("has overflowed its stack") {
        return "rendering recursed deeper than the renderer's stack; the renderer was stopped"
            .into();
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!(
                "the renderer was ended by signal {signal} (memory limit {} MiB){}",
                mib(memory),
                last_line(stderr)
            );
        }
    }
    format!("the renderer failed ({status}){}", last_line(stderr))
}

fn last_line(stderr: &str) -> String {
    match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => format!(": {}", line.trim()),
        None => String::new(),
    }
}

/// The child's side: `memory` is the address-space limit the parent computed. Sets the limits
/// on this process before reading anything, renders the request from `input` in the sandbox and
/// writes the framed result to `output`. The error returned is for a broken request or pipe;
/// the template's own errors go to `output`, where the parent reads them.
pub fn serve(memory: u64, input: &mut impl Read, output: &mut impl Write) -> Result<(), String> {
    limit_this_process(memory)?;
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the render request: {e}"))?;
    let request: Request = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the render request is not valid: {e}"))?;
    drop(bytes);
    let result = tera::Context::from_value(request.context)
        .map_err(|e| format!("{}: {}", request.name, sandbox::describe(&e)))
        .and_then(|context| {
            sandbox::render(
                &request.name,
                &request.source,
                context,
                &request.limits,
                super::register,
            )
        });
    let written = match result {
        Ok(text) => output
            .write_all(&[OUTPUT])
            .and_then(|_| output.write_all(text.as_bytes())),
        Err(message) => output
            .write_all(&[ERROR])
            .and_then(|_| output.write_all(message.as_bytes())),
    };
    written
        .and_then(|_| output.flush())
        .map_err(|e| format!("cannot write the rendered template: {e}"))
}

#[cfg(unix)]
fn limit_this_process(memory: u64) -> Result<(), String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = |resource, value: u64, what: &str| {
        // A lower limit already in force (`ulimit -v`) stays: raising past it is refused.
        let value = getrlimit(resource)
            .maximum
            .map_or(value, |hard| hard.min(value));
        setrlimit(
            resource,
            Rlimit {
                current: Some(value),
                maximum: Some(value),
            },
        )
        .map_err(|e| format!("cannot limit the renderer's {what}: {e}"))
    };
    limit(Resource::As, memory, "memory")?;
    // An allocation refused under the limit aborts: no core file of the size of the limit.
    limit(Resource::Core, 0, "core files")
}

#[cfg(not(unix))]
fn limit_this_process(_memory: u64) -> Result<(), String> {
    // No address-space limit to set here; the parent's wall clock still bounds the child.
    Ok(())
}
