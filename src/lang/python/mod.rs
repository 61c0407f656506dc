//! Python jobs: how a [`Job`] becomes a command (the driver in `driver.py`), and how the
//! driver's event lines and the process's exit become one [`BlockResult`] per block.
//!
//! Must not know rayon or output formats.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

pub mod process;
pub mod warm;

use crate::lang::netfail;
use crate::model::{BlockResult, Job, NotReached, Status};
use crate::sys::process::{Exit, RunRecord};

/// The driver program, passed with `-c`.
pub const DRIVER: &str = include_str!("driver.py");

/// The file name of block `i` of a job inside its directory.
pub(crate) fn block_file(i: usize) -> String {
    format!("block_{i}.py")
}

/// The setup code of a job ([`Job::setup`]), run first in the blocks' namespace.
pub(crate) const SETUP_FILE: &str = "setup.py";
/// Present when the job is a page ([`Job::page`]): a failing block does not end the program.
pub(crate) const PAGE_FILE: &str = "page";

/// Writes what the driver reads of `job` into its folder `dir`: the blocks (see
/// [`block_file`]), the setup code, and the page marker.
pub(crate) fn write_job(job: &Job, dir: &Path) -> std::io::Result<()> {
    for (i, m) in job.members.iter().enumerate() {
        std::fs::write(dir.join(block_file(i)), m.code.as_bytes())?;
        if !m.args.is_empty() {
            // `block_N.py.args`: the program's arguments, each ended by a NUL.
            let mut bytes = Vec::new();
            for a in &m.args {
                bytes.extend_from_slice(a.as_bytes());
                bytes.push(0);
            }
            std::fs::write(dir.join(format!("{}.args", block_file(i))), bytes)?;
        }
    }
    if let Some(setup) = &job.setup {
        std::fs::write(dir.join(SETUP_FILE), setup.as_bytes())?;
    }
    if job.page {
        std::fs::write(dir.join(PAGE_FILE), b"")?;
    }
    Ok(())
}

/// The files the driver writes in a job's directory: its events, and its stack dump.
pub(crate) const EVENTS_FILE: &str = "events.jsonl";
pub(crate) const STACK_FILE: &str = "stack.txt";
/// The import statements a warm worker replays, in its folder.
pub(crate) const STATEMENTS_FILE: &str = "preload.py";
/// What the worker made of them: `ok\tSTATEMENT` or `no\tSTATEMENT\tWHY`, a line each.
pub(crate) const PREIMPORTED_FILE: &str = "preimported.txt";
/// The change a worker accepts (`_ACCEPT` in the driver), in its folder.
pub(crate) const ACCEPT_FILE: &str = "accept.txt";
/// What a rich worker learned from its children, in its job folder (`ok M` / `no M WHY`).
pub(crate) const LEARNED_LOG: &str = "learned/log.txt";

/// When the driver dumps its stacks, as a Unix time: late enough to show where the program
/// was stuck, early enough to be written before the kill at the timeout, counted from now
/// (just before the start) so that a slow start-up does not push it past the kill.
pub(crate) fn dump_at(timeout: Duration) -> f64 {
    let t = timeout.as_secs_f64();
    let margin = (t * 0.05).clamp(0.1, 0.25).min(t / 2.0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    now + t - margin
}

/// The interpreter's arguments to run `job` in a fresh process, its blocks written to `dir`
/// (see [`block_file`]).
pub fn args(job: &Job, dir: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "-I".into(),
        "-c".into(),
        DRIVER.into(),
        "run".into(),
        dir.into(),
        format!("{:.3}", dump_at(job.timeout)).into(),
    ];
    a.extend(raises(job).into_iter().map(OsString::from));
    a
}

/// Each block's mark for the driver (see [`crate::model::Member::mark`]).
pub fn raises(job: &Job) -> Vec<String> {
    job.members.iter().map(|m| m.mark().to_string()).collect()
}

/// The interpreter's arguments to start a warm worker that preloads `preload`.
/// The worker's command line: `isolated` when it runs alone in a sandbox's PID namespace,
/// where it may kill every other process of that namespace after each job.
/// With `statements`, a file of import statements (one a line) the worker replays after its
/// preloads, keeping those that import cleanly (see [`statements_for`]).
pub(crate) fn serve_args(
    preload: &[String],
    isolated: bool,
    statements: Option<&Path>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-I".into(),
        "-c".into(),
        DRIVER.into(),
        "serve".into(),
        preload.join(",").into(),
        if isolated { "isolated" } else { "shared" }.into(),
    ];
    if let Some(p) = statements {
        args.push(p.into());
    }
    args
}

/// Where a block's line was reported: the block file and the 1-based line.
#[derive(Debug, Default, Deserialize)]
struct Place {
    lineno: Option<usize>,
    file: Option<String>,
}

/// One line of the driver's events file (`{"ev":"fail","block":0,...}`, written by
/// `_emit` in driver.py).
#[derive(Debug, Deserialize)]
#[serde(tag = "ev", rename_all = "lowercase")]
enum Event {
    /// The block started.
    Start { block: usize },
    /// The block finished.
    Ok { block: usize },
    /// The block raised `ty` (for a session: a statement did, unexpectedly, and `more`
    /// other statements failed after it).
    Fail {
        block: usize,
        #[serde(rename = "type")]
        ty: Option<String>,
        message: Option<String>,
        #[serde(flatten)]
        place: Place,
        #[serde(default)]
        more: usize,
        /// `setup` when the configured setup code raised it (every block fails with it).
        phase: Option<String>,
        /// On a page: the earlier block that failed before binding the name of this NameError.
        after: Option<usize>,
    },
    /// A session's statement printed other output than the page shows: `diff`, lines of
    /// the page's (`-`), the version's (`+`) and both (` `); `more` other statements failed.
    Differs {
        block: usize,
        #[serde(flatten)]
        place: Place,
        diff: String,
        #[serde(default)]
        more: usize,
    },
    /// The block finished without raising the exception its `raises` names.
    Noraise {
        block: usize,
        #[serde(rename = "type")]
        ty: Option<String>,
    },
    /// The block called `sys.exit`.
    Exit {
        block: usize,
        code: Option<i32>,
        message: Option<String>,
        #[serde(flatten)]
        place: Place,
    },
}

impl Event {
    fn block(&self) -> usize {
        match self {
            Event::Start { block }
            | Event::Ok { block }
            | Event::Fail { block, .. }
            | Event::Differs { block, .. }
            | Event::Noraise { block, .. }
            | Event::Exit { block, .. } => *block,
        }
    }
}

#[derive(Debug, Clone)]
enum State {
    NotStarted,
    Started,
    Done(BlockResult),
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGPIPE => "SIGPIPE",
        _ => "a signal",
    }
}

/// How the process ending mid-block reads, for a block that started and never reported.
fn ended_mid_block(exit: Exit, timeout_secs: f64) -> BlockResult {
    match exit {
        Exit::TimedOut => BlockResult {
            error: Some(format!("timed out after {}", fmt_secs(timeout_secs))),
            ..BlockResult::new(Status::Timeout)
        },
        Exit::Code(0) => BlockResult::new(Status::Pass),
        Exit::Code(c) => BlockResult {
            exit_code: Some(c),
            ..BlockResult::fail(None, format!("the process exited with code {c}"))
        },
        Exit::Signal(s) => BlockResult {
            exit_code: Some(128 + s),
            ..BlockResult::fail(None, format!("killed by signal {s} ({})", signal_name(s)))
        },
    }
}

pub(crate) fn fmt_secs(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}

/// The deepest frame inside the job's blocks in a faulthandler dump (most recent call first):
/// (member, line).
pub(crate) fn stuck_at(stack: &str, members: usize) -> Option<(usize, usize)> {
    stack.lines().find_map(|l| {
        // `  File "/tmp/docmatrix-x/block_0.py", line 9 in <module>`
        let rest = l.trim_start().strip_prefix("File \"")?;
        let (file, rest) = rest.split_once("\", line ")?;
        let line: usize = rest.split_whitespace().next()?.parse().ok()?;
        let name = Path::new(file).file_name()?.to_str()?;
        (0..members)
            .find(|&i| block_file(i) == name)
            .map(|m| (m, line))
    })
}

/// Reads the driver's `events`, its stack dump and the process record into one result per
/// block of `job`.
pub(crate) fn interpret(
    job: &Job,
    events: &str,
    stack: &str,
    record: &RunRecord,
) -> Vec<BlockResult> {
    let n = job.members.len();
    let mut states = vec![State::NotStarted; n];
    let member_of = |file: &str| -> Option<usize> {
        let name = Path::new(file).file_name()?.to_str()?;
        (0..n).find(|&i| block_file(i) == name)
    };
    for line in events.lines() {
        let Ok(e) = serde_json::from_str::<Event>(line) else {
            continue;
        };
        let i = e.block();
        if i >= n {
            continue;
        }
        let at = |place: &Place| {
            let block = place.file.as_deref().and_then(member_of).unwrap_or(i);
            place.lineno.map(|l| (block, l))
        };
        states[i] = match e {
            Event::Start { .. } => State::Started,
            Event::Ok { .. } => State::Done(BlockResult::new(Status::Pass)),
            Event::Fail {
                ty,
                message,
                place,
                more,
                phase,
                after,
                ..
            } => {
                let ty = ty.unwrap_or_else(|| "Exception".into());
                let mut error = match message.as_deref() {
                    Some("") | None => ty.clone(),
                    Some(m) => format!("{ty}: {}", first_line(m)),
                } + &more_failed(more);
                let setup = phase.as_deref() == Some("setup");
                if setup {
                    error = format!("the setup code failed: {error}");
                }
                // The example tried the network, which the sandbox has off: not decided here.
                let network = match (setup, message.as_deref()) {
                    (false, Some(m)) => netfail::needs_network(&format!("{ty}: {}", first_line(m))),
                    _ => None,
                };
                if let Some(evidence) = network {
                    let mut b = BlockResult::new(Status::Blocked);
                    b.reason = Some(format!("{}: {evidence}", netfail::NEEDS_NETWORK));
                    b.at = at(&place);
                    states[i] = State::Done(b);
                    continue;
                }
                State::Done(BlockResult {
                    at: if setup { None } else { at(&place) },
                    exit_code: Some(1),
                    after: after.filter(|&k| k < i),
                    ..BlockResult::fail(Some(&ty), error)
                })
            }
            Event::Differs {
                place, diff, more, ..
            } => State::Done(BlockResult {
                at: at(&place),
                diff: Some(diff),
                ..BlockResult::fail(
                    Some("output mismatch"),
                    format!(
                        "printed other output than the guide shows{}",
                        more_failed(more)
                    ),
                )
            }),
            Event::Noraise { ty, .. } => State::Done(BlockResult::fail(
                None,
                format!(
                    "expected {} to be raised, but the block finished without it",
                    ty.unwrap_or_default()
                ),
            )),
            Event::Exit {
                code,
                message,
                place,
                ..
            } => match code.unwrap_or(0) {
                0 => State::Done(BlockResult::new(Status::Pass)),
                c => State::Done(BlockResult {
                    exit_code: Some(c),
                    at: at(&place),
                    ..BlockResult::fail(
                        Some("SystemExit"),
                        match message {
                            Some(m) => format!("SystemExit: {} (exit code {c})", first_line(&m)),
                            None => format!("SystemExit: {c}"),
                        },
                    )
                }),
            },
        };
    }

    let timeout_secs = job.timeout.as_secs_f64();
    let mut out = Vec::with_capacity(n);
    let mut stopped_at: Option<usize> = None;
    for (i, state) in states.iter().enumerate() {
        let r = match state {
            State::Done(r) => r.clone(),
            State::Started => {
                let mut r = ended_mid_block(record.exit, timeout_secs);
                if r.status == Status::Timeout {
                    r.at = stuck_at(stack, n);
                }
                r
            }
            State::NotStarted if i == 0 => match record.exit {
                // Nothing ran: the interpreter itself failed.
                Exit::TimedOut => ended_mid_block(record.exit, timeout_secs),
                _ => BlockResult::fail(
                    None,
                    format!(
                        "the interpreter failed before running the block: {}",
                        first_line(record.stderr.text().trim()),
                    ),
                ),
            },
            State::NotStarted => BlockResult::not_reached(match stopped_at {
                Some(_) => NotReached::AfterFailure,
                None => NotReached::ProgramEnded,
            }),
        };
        if stopped_at.is_none() && r.status != Status::Pass {
            stopped_at = Some(i);
        }
        out.push(r);
    }
    // Every block reported success, yet the process did not end well: blame the last block.
    let all_done = states.iter().all(|s| matches!(s, State::Done(_)));
    if all_done && out.iter().all(|r| r.status == Status::Pass) {
        let late = match record.exit {
            Exit::Code(0) => None,
            Exit::TimedOut => Some(BlockResult {
                error: Some(format!(
                    "timed out after {} at shutdown (a thread or atexit handler did not end)",
                    fmt_secs(timeout_secs)
                )),
                ..BlockResult::new(Status::Timeout)
            }),
            other => {
                let mut r = ended_mid_block(other, timeout_secs);
                if let Some(e) = &mut r.error {
                    e.push_str(" at shutdown");
                }
                Some(r)
            }
        };
        if let (Some(r), Some(last)) = (late, out.last_mut()) {
            *last = r;
        }
    }
    out
}

/// How a session's failure says that more of its statements failed after the first.
fn more_failed(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (and 1 more statement of the session)".into(),
        n => format!(" (and {n} more statements of the session)"),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim_end()
}

/// The standard library's top-level module names on every supported version, one a line
/// after `#` comments.
const STDLIB: &str = include_str!("stdlib.txt");

/// Whether `module` (a top-level name) is outside the standard library: a library an example
/// installs, or a module of the docs' own. Only those are worth importing ahead of time; the
/// standard library's are cheap, or warn (`distutils`), and the ones that are safe are
/// [`PRELOADABLE`].
fn is_third_party(module: &str) -> bool {
    !STDLIB.lines().any(|l| !l.starts_with('#') && l == module)
}

/// Standard-library modules a warm worker may import ahead of time: on every supported
/// version they import without output, warnings, threads or other side effects. A worker
/// imports only those that the examples of the run import, and drops any that warn.
const PRELOADABLE: &[&str] = &[
    "abc",
    "argparse",
    "array",
    "ast",
    "asyncio",
    "base64",
    "binascii",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "colorsys",
    "contextlib",
    "contextvars",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "doctest",
    "dis",
    "email",
    "enum",
    "errno",
    "fnmatch",
    "fractions",
    "functools",
    "gettext",
    "glob",
    "graphlib",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "linecache",
    "locale",
    "logging",
    "math",
    "mimetypes",
    "numbers",
    "operator",
    "pathlib",
    "pickle",
    "pkgutil",
    "platform",
    "pprint",
    "queue",
    "quopri",
    "random",
    "re",
    "reprlib",
    "secrets",
    "selectors",
    "shlex",
    "shutil",
    "signal",
    "socket",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "timeit",
    "token",
    "tokenize",
    "tomllib",
    "traceback",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uuid",
    "warnings",
    "weakref",
    "xml",
    "zipfile",
    "zlib",
    "zoneinfo",
];

/// Preloaded modules that make every fork of the worker measurably slower, and so go to the
/// rich worker only: those that bring in `threading` (its after-fork hook runs Python code in
/// every child; `asyncio` and the like on every version, `shutil`, `platform` and `uuid` on
/// 3.9, `zoneinfo` from 3.12) or `random` (it reseeds every child from `os.urandom`), and the
/// heavy ones. A forked child that exits at once costs 0.38 ms of CPU on 3.12 and 0.33 to 0.38 ms
/// on 3.9 without them, 0.48 to 0.52 and 0.73 ms with `statistics` and `tempfile` preloaded.
const SLOW_TO_FORK: &[&str] = &[
    "asyncio",
    "logging",
    "platform",
    "queue",
    "random",
    "secrets",
    "selectors",
    "shutil",
    "socket",
    "statistics",
    "subprocess",
    "tempfile",
    "threading",
    "unittest",
    "uuid",
    "zipfile",
    "zoneinfo",
];

/// Splits a run's preloads into the lean worker's (everything but [`SLOW_TO_FORK`] and the
/// import statements) and the rich worker's (everything).
pub(crate) fn preload_tiers(preload: &[String]) -> (Vec<String>, Vec<String>) {
    let lean = preload
        .iter()
        .filter(|m| !SLOW_TO_FORK.contains(&m.as_str()) && !is_statement(m))
        .cloned()
        .collect();
    (lean, preload.to_vec())
}

/// The import statements at the head of `code`: the top-level `import` and `from … import`
/// statements before its first other statement (comments, blank lines, a docstring and
/// `from __future__` imports may come before or between them), one a line (a parenthesised
/// list joined), and the top-level import statements that come later.
fn head_imports(code: &str) -> (Vec<String>, Vec<String>) {
    let mut head = Vec::new();
    let mut in_head = true;
    let mut late = Vec::new();
    let mut docstring_allowed = true;
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_end();
        if t.trim_start().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Inside a block: not a top-level statement (and the head has ended).
            in_head = false;
            continue;
        }
        if !(t.starts_with("import ") || t.starts_with("from ")) {
            let quote = ["\"\"\"", "'''"].into_iter().find(|q| t.starts_with(q));
            if let (true, Some(q)) = (docstring_allowed, quote) {
                docstring_allowed = false;
                if !t[3..].contains(q) {
                    for more in lines.by_ref() {
                        if more.contains(q) {
                            break;
                        }
                    }
                }
                continue;
            }
            docstring_allowed = false;
            if in_head && t == "try:" {
                if let Some(n) = import_guard(lines.clone()) {
                    // An optional import: the head goes on after it (its own imports are
                    // left to the example).
                    lines.nth(n - 1);
                    continue;
                }
            }
            in_head = false;
            continue;
        }
        docstring_allowed = false;
        let mut stmt = t.to_string();
        if t.contains('(') && !t.contains(')') {
            for more in lines.by_ref() {
                stmt.push(' ');
                stmt.push_str(more.trim());
                if more.contains(')') {
                    break;
                }
            }
        }
        if stmt.starts_with("from __future__") {
            continue;
        }
        if stmt.ends_with('\\') || stmt.contains(';') {
            // Continued lines and several statements on a line: not replayed.
            in_head = false;
        }
        if in_head {
            head.push(stmt);
        } else {
            late.push(stmt);
        }
    }
    (head, late)
}

/// How many of the lines after a top-level `try:` belong to it when it only guards imports:
/// `try:` holding only import statements (or `pass`), then `except` clauses that catch only
/// `ImportError` or `ModuleNotFoundError`, whose bodies only import, `pass`, or set a name to
/// `None`, `True` or `False` (`try: import ujson as json` / `except ImportError: import json`).
/// Nothing there can change what a later import does, so such a guard does not end the head.
/// None for any other `try` (an `else` or `finally` clause ends the guard before it).
fn import_guard<'a>(rest: impl Iterator<Item = &'a str>) -> Option<usize> {
    fn simple_import(t: &str) -> bool {
        (t.starts_with("import ") || t.starts_with("from "))
            && !t.contains(';')
            && !t.ends_with('\\')
            // A parenthesised list that goes on to the next line is not one statement a line.
            && (!t.contains('(') || t.contains(')'))
    }
    fn flag(t: &str) -> bool {
        let Some((name, value)) = t.split_once('=') else {
            return false;
        };
        let name = name.trim();
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && matches!(value.trim(), "None" | "True" | "False")
    }
    fn catches_import_error(clause: &str) -> bool {
        if !clause.starts_with([' ', '(']) {
            return false;
        }
        let Some(clause) = clause.trim().strip_suffix(':') else {
            return false;
        };
        let types = clause.split(" as ").next().unwrap_or("").trim();
        let types = types.trim_start_matches('(').trim_end_matches(')');
        types
            .split(',')
            .all(|t| matches!(t.trim(), "ImportError" | "ModuleNotFoundError"))
    }
    let (mut used, mut taken, mut handlers, mut body) = (0, 0, 0, 0);
    for line in rest {
        let t = line.trim();
        used += 1;
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if !(t == "pass" || simple_import(t) || (handlers > 0 && flag(t))) {
                return None;
            }
            body += 1;
            taken = used;
            continue;
        }
        if body == 0 {
            return None;
        }
        match t.strip_prefix("except") {
            Some(clause) if catches_import_error(clause) => {
                handlers += 1;
                body = 0;
                taken = used;
            }
            Some(_) => return None,
            None => break,
        }
    }
    (handlers > 0 && body > 0).then_some(taken)
}

/// The top-level modules a statement imports (`a` of `import a.b as c` and of `from a.b import
/// c`, `a` and `d` of `import a, d`); none for a relative import.
fn statement_modules(stmt: &str) -> Vec<&str> {
    fn top(name: &str) -> &str {
        name.split(['.', ' ']).next().unwrap_or("")
    }
    let names: Vec<&str> = if let Some(rest) = stmt.strip_prefix("import ") {
        rest.split(',').map(|n| top(n.trim())).collect()
    } else if let Some(rest) = stmt.strip_prefix("from ") {
        vec![top(rest.trim_start())]
    } else {
        Vec::new()
    };
    names.into_iter().filter(|n| !n.is_empty()).collect()
}

/// Whether a statement imports a module outside the standard library ([`is_third_party`]).
fn imports_third_party(stmt: &str) -> bool {
    statement_modules(stmt).into_iter().any(is_third_party)
}

/// The import statements a warm worker may replay for `codes` (every example of the run): the
/// head imports ([`head_imports`]) of modules outside the standard library, sorted, without
/// repeats. The worker keeps only those that
/// import cleanly on its version.
pub fn statements_for<'a>(codes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    for code in codes {
        found.extend(head_statements(code));
    }
    found.into_iter().collect()
}

/// Whether `code` looks as if it runs until it is stopped: it starts a server (`uvicorn.run(`,
/// `serve_forever(`, `run_forever(`, `app.run(`, `run_app(`) or loops `while True:`. Such an
/// example often runs to its timeout, mostly asleep; the scheduler starts it first, so that
/// it waits beside the other jobs rather than after them ([`crate::run::run_all`]).
pub fn may_run_until_stopped(code: &str) -> bool {
    const MARKS: [&str; 6] = [
        "uvicorn.run(",
        "serve_forever(",
        "run_forever(",
        "app.run(",
        "run_app(",
        "while True:",
    ];
    code.lines().any(|l| {
        let t = l.trim_start();
        !t.starts_with('#') && MARKS.iter().any(|m| t.contains(m))
    })
}

/// The import statements at the head of `code` that import a module outside the standard
/// library, as [`statements_for`] collects them.
pub fn head_statements(code: &str) -> Vec<String> {
    head_imports(code)
        .0
        .into_iter()
        .filter(|s| imports_third_party(s))
        .collect()
}

/// Whether a statement's reason for not being pre-imported is a hook it sets
/// (`sets sys.excepthook (M.F)`, `sets sys.displayhook (M.F)`): the one change a worker may
/// make ahead for the examples that run the statement themselves, which would set it too.
pub fn is_hook_change(why: &str) -> bool {
    ["sets sys.excepthook (", "sets sys.displayhook ("]
        .iter()
        .any(|w| why.starts_with(w))
}

/// What a job's blocks say about third-party modules a warm worker pre-imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preimports {
    /// They import some at their head: a worker that pre-imported them saves the time.
    Wanted,
    /// They import none: either worker does.
    Indifferent,
    /// They must not run where third-party modules were pre-imported: they import one after
    /// other code (an example that sets an environment variable or patches something before
    /// the import must see it run), patch what they imported, or use `importlib`.
    Refused,
    /// They look into `sys.modules`: only a fresh interpreter has loaded just what a fresh
    /// interpreter loads (every warm worker has the driver's own modules, `select` and `gc`,
    /// and its standard-library preloads), so they run in a fresh process.
    Fresh,
}

/// [`Preimports`] for a job's blocks.
pub fn preimports<'a>(codes: impl IntoIterator<Item = &'a str>) -> Preimports {
    let third_party = |s: &String| imports_third_party(s);
    let (mut wanted, mut refused, mut fresh) = (false, false, false);
    for code in codes {
        if code.contains("sys.modules") {
            fresh = true;
            continue;
        }
        if code.contains("importlib") {
            refused = true;
            continue;
        }
        let (head, late) = head_imports(code);
        // The rich workers also import what their earlier children loaded on first use: a
        // module a library imports lazily must not have been imported before the example
        // patches what it reads at import.
        if late.iter().any(third_party) || patches(code, &head) {
            refused = true;
        }
        wanted |= head.iter().any(third_party);
    }
    if fresh {
        Preimports::Fresh
    } else if refused {
        Preimports::Refused
    } else if wanted {
        Preimports::Wanted
    } else {
        Preimports::Indifferent
    }
}

/// The names that the import statements `stmts` bind (`a` of `import a.b`, `c` of `import a
/// as c`, `b` and `d` of `from a import b, c as d`).
fn bound_names(stmts: &[String]) -> Vec<&str> {
    let mut names = Vec::new();
    for stmt in stmts {
        let (list, whole) = if let Some(rest) = stmt.strip_prefix("import ") {
            (rest, true)
        } else if let Some((_, rest)) = stmt.split_once(" import ") {
            (rest, false)
        } else {
            continue;
        };
        for item in list
            .trim_matches(|c| c == '(' || c == ')' || c == ' ')
            .split(',')
        {
            let item = item.trim().trim_end_matches(')').trim();
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None if whole => item.split('.').next().unwrap_or(""),
                None => item,
            };
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

/// Whether `code` patches what it imported (`head`, its head's import statements): it sets an
/// attribute of an imported name (`lib.LEVEL = 2`; an attribute of an attribute,
/// `pd.options.display.width = 80`, sets an object's, not the module's), or calls `setattr`,
/// `monkeypatch` or `mock`'s `patch` (an HTTP client's `.patch(` is not one).
fn patches(code: &str, head: &[String]) -> bool {
    let words = [
        "setattr(",
        "monkeypatch",
        "mock.patch",
        "patch.object(",
        "patch.dict(",
    ];
    let patch_call = code
        .lines()
        .any(|l| l.trim_start().starts_with("@patch(") || l.contains("with patch("));
    if patch_call || words.iter().any(|w| code.contains(w)) {
        return true;
    }
    let names = bound_names(head);
    code.lines().any(|line| {
        let t = line.trim_start();
        let Some((target, rest)) = t.split_once('=') else {
            return false;
        };
        if rest.starts_with('=') || target.ends_with(['!', '<', '>', '=']) {
            return false; // a comparison
        }
        let target = target
            .trim_end()
            .trim_end_matches(['+', '-', '*', '/', '|', '&', '%'])
            .trim_end();
        let Some((name, attr)) = target.split_once('.') else {
            return false;
        };
        names.contains(&name)
            && !attr.is_empty()
            && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether a preload is an import statement (replayed) rather than a module name.
pub(crate) fn is_statement(preload: &str) -> bool {
    preload.contains(' ')
}

/// The preloadable modules that `codes` import (`import a.b`, `from a import b`), sorted.
pub fn preload_for<'a>(codes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    for code in codes {
        // `datetime.strptime` and `time.strptime` import `_strptime` at their first call,
        // which builds its locale's regular expressions: 4 ms of CPU in a forked child, once
        // in the worker. The module rebuilds them itself if the locale or time zone changes.
        if code.contains("strptime") {
            found.insert("_strptime".to_string());
        }
        // A session runs through `doctest` (20 to 30 ms to import, with `pdb`), and code that
        // awaits at top level on an `asyncio` event loop.
        if crate::extract::starts_with_prompt(code) {
            found.insert("doctest".to_string());
        }
        if code.contains("await ") || code.contains("async ") {
            found.insert("asyncio".to_string());
        }
        for line in code.lines() {
            let line = line.trim_start();
            let line = line.strip_prefix(">>> ").unwrap_or(line);
            let names: Vec<&str> = if let Some(rest) = line.strip_prefix("import ") {
                rest.split(',').collect()
            } else if let Some(rest) = line.strip_prefix("from ") {
                rest.split_whitespace().take(1).collect()
            } else {
                continue;
            };
            for n in names {
                let top = n
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .split('.')
                    .next()
                    .unwrap_or("");
                if PRELOADABLE.contains(&top) {
                    found.insert(top.to_string());
                }
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_imports_are_the_imports_before_other_code() {
        let code = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n# note\nimport json\nfrom pydantic import (\n    BaseModel,\n    Field,\n)\nimport rich.console as rc\n\nx = 1\nimport attrs\nif x:\n    import yaml\n";
        let (head, late) = head_imports(code);
        assert_eq!(
            head,
            [
                "import json",
                "from pydantic import ( BaseModel, Field, )",
                "import rich.console as rc"
            ]
        );
        assert_eq!(late, ["import attrs"]);
        assert_eq!(
            statements_for([code]),
            [
                "from pydantic import ( BaseModel, Field, )",
                "import rich.console as rc"
            ]
        );
        assert!(statement_modules("from .local import x").is_empty());
        assert_eq!(
            statement_modules("import os.path as p, attrs"),
            ["os", "attrs"]
        );
        // The standard library is cheap to import or warns (`distutils`): never replayed.
        assert_eq!(
            statements_for(["import os\nimport distutils\nimport tomllib\nimport attr, json"]),
            ["import attr, json"]
        );
    }

    #[test]
    fn an_optional_import_guarded_by_try_does_not_end_the_head() {
        let code = "try:\n    import ujson as json\nexcept ImportError:\n    import json\n\ntry:\n    import email_validator  # optional\nexcept (ImportError, ModuleNotFoundError) as e:\n    email_validator = None\nfrom pydantic import BaseModel\nx = 1\n";
        let (head, late) = head_imports(code);
        assert_eq!(head, ["from pydantic import BaseModel"]);
        assert!(late.is_empty(), "{late:?}");
        assert_eq!(preimports([code]), Preimports::Wanted);
        // Anything else in the guard, another exception, an `else`: the head ends there.
        for guard in [
            "try:\n    import a\nexcept ImportError:\n    print('no a')\n",
            "try:\n    import a\nexcept Exception:\n    a = None\n",
            "try:\n    import os\n    os.environ['X'] = '1'\nexcept ImportError:\n    pass\n",
            "try:\n    import a\nexcept ImportError:\n    pass\nelse:\n    a.setup()\n",
            "try:\n    import a\nfinally:\n    pass\n",
            "try:\nexcept ImportError:\n    pass\n",
        ] {
            let code = format!("{guard}import rich\n");
            assert_eq!(head_imports(&code).1, ["import rich"], "{guard}");
            assert_eq!(preimports([code.as_str()]), Preimports::Refused, "{guard}");
        }
    }

    #[test]
    fn jobs_that_need_a_fresh_import_refuse_preimports() {
        // Patching what the head imported: the lazily loaded modules the rich workers learn
        // must be loaded after the patch.
        for code in [
            "import dmdemo_lazy\ndmdemo_lazy.LEVEL = 2\n",
            "import dmdemo_lazy as lazy\nlazy.LEVEL += 1\n",
            "from dmdemo import lazy\n\ndef f():\n    lazy.LEVEL = 3\n",
            "import httpx\nsetattr(httpx, 'x', 1)\n",
            "import httpx\nfrom unittest import mock\nwith mock.patch('httpx.get'):\n    pass\n",
            "import httpx\ndef test(monkeypatch):\n    pass\n",
        ] {
            assert_eq!(preimports([code]), Preimports::Refused, "{code}");
        }
        for code in [
            "import pandas as pd\npd.options.display.max_rows = 10\n",
            "import httpx\nr = httpx.patch('https://example.org')\nassert r.status_code == 200\n",
            "import httpx\nif httpx.codes.OK == 200:\n    pass\n",
            "import httpx\nclient = httpx.Client()\nclient.timeout = 3\n",
        ] {
            assert_eq!(preimports([code]), Preimports::Wanted, "{code}");
        }
        assert_eq!(preimports(["import httpx\nhttpx.get"]), Preimports::Wanted);
        assert_eq!(
            preimports(["import json\nprint(1)"]),
            Preimports::Indifferent
        );
        assert_eq!(
            preimports(["import os\nos.environ['A'] = '1'\nimport httpx\n"]),
            Preimports::Refused
        );
        // Looking into sys.modules: a fresh process, whatever the group's other blocks say.
        assert_eq!(
            preimports(["import httpx\nimport sys\nprint(sys.modules)"]),
            Preimports::Fresh
        );
        assert_eq!(
            preimports([
                "x = 1\nimport rich\n",
                "import sys\nassert 'json' not in sys.modules\n"
            ]),
            Preimports::Fresh
        );
        assert_eq!(
            preimports(["import importlib.metadata\nimport httpx\n"]),
            Preimports::Refused
        );
        // One block of a group that needs a fresh import: the whole job does.
        assert_eq!(
            preimports(["import httpx\n", "x = 1\nimport rich\n"]),
            Preimports::Refused
        );
    }

    #[test]
    fn servers_and_endless_loops_may_run_until_stopped() {
        for code in [
            "import uvicorn\nuvicorn.run(app, host='0.0.0.0')\n",
            "if __name__ == '__main__':\n    app.run(debug=True)\n",
            "with socketserver.TCPServer(('', 8000), H) as s:\n    s.serve_forever()\n",
            "loop.run_forever()\n",
            "web.run_app(app)\n",
            "while True:\n    time.sleep(1)\n",
        ] {
            assert!(may_run_until_stopped(code), "{code}");
        }
        for code in [
            "# uvicorn.run(app) would start it\nprint(1)\n",
            "asyncio.run(main())\n",
            "while x < 3:\n    x += 1\n",
        ] {
            assert!(!may_run_until_stopped(code), "{code}");
        }
    }

    #[test]
    fn preloads_only_known_stdlib_imports() {
        let code = "import json, os.path\nfrom collections import Counter\nimport numpy as np\n  from typing import Self\nx = 'import re'\n";
        assert_eq!(preload_for([code]), vec!["collections", "json", "typing"]);
        let parse = "from datetime import datetime\nd = datetime.strptime('2024', '%Y')\n";
        assert_eq!(preload_for([parse]), vec!["_strptime", "datetime"]);
    }

    #[test]
    fn modules_that_slow_every_fork_go_to_the_rich_worker_only() {
        let preload: Vec<String> = ["json", "random", "re", "tempfile", "asyncio", "_strptime"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (lean, rich) = preload_tiers(&preload);
        assert_eq!(lean, vec!["json", "re", "_strptime"]);
        assert_eq!(rich, preload);
    }

    #[test]
    fn stack_dumps_name_the_deepest_block_frame() {
        let dump = "Thread 0x1 (most recent call first):\n  File \"/usr/lib/python3.12/time.py\", line 3 in sleep\n  File \"/tmp/docmatrix-x/block_1.py\", line 9 in <module>\n  File \"/tmp/docmatrix-x/block_0.py\", line 2 in f\n";
        assert_eq!(stuck_at(dump, 2), Some((1, 9)));
        assert_eq!(stuck_at(dump, 1), Some((0, 2)));
        assert_eq!(stuck_at("", 1), None);
    }
}
