//! `--format github`: GitHub Actions workflow commands.
//!
//! Every problem of a failing example becomes an `::error` annotation at the Markdown line
//! where it happened (versions failing the same way at the same line make one annotation),
//! a file that could not be read an `::error`, and every warning a `::warning`. The whole
//! terminal report follows, folded in a `::group::`. (The Markdown step summary is the
//! [`markdown`](super::markdown) format; the CLI appends it to `$GITHUB_STEP_SUMMARY`.)
//!
//! No text an example or a tool wrote can start a workflow command: in an annotation it is a
//! command's escaped message or property (one line, whatever it holds), and the terminal report
//! is bracketed by `::stop-commands::TOKEN` and `::TOKEN::`, which turn command processing off
//! in between. The token is a hash of the text it brackets, so the output stays deterministic
//! and that text cannot hold it.

use std::fmt::Write as _;

use super::{failures, safe, slash_path, terminal, version_list, Report};
use crate::judge::Policy;
use crate::model::{Diagnostic, Severity};

/// Escapes a command's message (its unsafe characters escaped first, see [`safe`]).
fn data(s: &str) -> String {
    safe::text(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Where an annotation points: a line and, when known, columns (1-based; `end_column` just
/// after the end) and the line the span ends on.
#[derive(Default)]
struct At {
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
}

impl At {
    fn line(line: Option<usize>) -> At {
        At {
            line,
            ..At::default()
        }
    }

    fn of(d: &Diagnostic) -> At {
        At {
            line: d.line,
            column: d.column,
            end_line: d.end_line,
            end_column: d.end_column,
        }
    }
}

fn command(out: &mut String, level: &str, file: &str, at: At, title: &str, msg: &str) {
    let mut props = format!("file={}", property(file));
    if let Some(l) = at.line {
        let _ = write!(props, ",line={l}");
        if let Some(e) = at.end_line {
            let _ = write!(props, ",endLine={e}");
        }
        if let Some(c) = at.column {
            let _ = write!(props, ",col={c}");
            if let Some(e) = at.end_column {
                let _ = write!(props, ",endColumn={e}");
            }
        }
    }
    let _ = writeln!(
        out,
        "::{level} {props},title={}::{}",
        property(title),
        data(msg)
    );
}

fn diagnostic(out: &mut String, level: &str, title: &str, d: &Diagnostic) {
    command(
        out,
        level,
        &slash_path(&d.file),
        At::of(d),
        title,
        &d.message,
    );
}

/// The annotations, then the terminal report in a folded group.
pub fn render(r: &Report) -> String {
    let cleaned = safe::cleaned(r);
    let r: &Report = &cleaned;
    let mut out = String::new();
    for e in r.examples.iter().filter(|e| e.policy == Policy::Fail) {
        let file = slash_path(&e.file);
        for f in failures(e) {
            let versions = version_list(&f.versions);
            let what = match super::Problem::of(f.outcome) {
                super::Problem::Fail => f
                    .outcome
                    .error_type
                    .clone()
                    .unwrap_or_else(|| "failure".into()),
                super::Problem::Timeout => "timeout".into(),
                super::Problem::Unavailable => "no interpreter".into(),
                _ => "not reached".into(),
            };
            let title = format!("docmatrix: {what} on Python {versions}");
            let mut msg = format!("Python {versions}: {}", f.text());
            if let Some((l, code)) = super::code_line(f.outcome) {
                let _ = write!(msg, "\n    {l} | {}", code.trim_end());
            }
            if let Some(src) = &f.outcome.source {
                let _ = write!(msg, "\nat {src} (included from this line)");
            }
            if let Some(p) = &e.policy_message {
                let _ = write!(msg, "\n{}:{} {p}", file, e.line);
            }
            command(
                &mut out,
                "error",
                &file,
                At::line(Some(f.line(e))),
                &title,
                &msg,
            );
        }
    }
    for e in &r.examples {
        for f in &e.findings {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Style => "notice",
            };
            let title = format!("docmatrix: {} ({})", f.rule_id(), f.tool);
            let mut msg = f.message.clone();
            if let Some(fix) = &f.help {
                let _ = write!(msg, "\nfix: {fix}");
            }
            command(
                &mut out,
                level,
                &slash_path(&f.file),
                At::of(f),
                &title,
                &msg,
            );
        }
    }
    for d in &r.errors {
        diagnostic(&mut out, "error", "docmatrix: unreadable file", d);
    }
    for d in &r.warnings {
        diagnostic(&mut out, "warning", "docmatrix", d);
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "::group::docmatrix: {} example{}: {}",
        s.examples,
        if s.examples == 1 { "" } else { "s" },
        super::example_counts(s)
    );
    // The terminal report has no line that reads as a command (`safe::inert_plain`); the
    // runner is also told to take none of it for one.
    let text = terminal::render(r, terminal::Style::default());
    let token = stop_token(&text);
    let _ = writeln!(out, "::stop-commands::{token}");
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
    }
    let _ = writeln!(out, "::{token}::");
    out.push_str("::endgroup::\n");
    out
}

/// The token of `::stop-commands::` for `text`: a hash of it, which `text` cannot contain
/// (it would have to hold its own hash), and which is not a command's name.
fn stop_token(text: &str) -> String {
    let hex = blake3::hash(text.as_bytes()).to_hex();
    format!("docmatrix-{}", &hex[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(data("50%\nnext\r\n"), "50%25%0Anext%0A");
        assert_eq!(data("\x1b[31m\r"), "\\x1b[31m\\r");
        assert_eq!(property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(property("::error::x,\n"), "%3A%3Aerror%3A%3Ax%2C%0A");
    }

    #[test]
    fn stop_tokens_depend_on_the_text() {
        let a = stop_token("one");
        assert_eq!(a, stop_token("one"));
        assert_ne!(a, stop_token("two"));
        assert!(a.starts_with("docmatrix-") && a.len() == 42);
    }
}
