//! The terminal report: a matrix (a row per example, a column per version), then every failure
//! with its file:line, error and code line, then warnings and a summary.
//!
//! The only escape sequences in it are docmatrix's own colours: texts from examples and tools
//! are escaped ([`safe`](super::safe)), and no line reads as a GitHub Actions workflow command
//! ([`safe::inert_plain`](super::safe::inert_plain)), since this report is what CI logs show.

use std::fmt::Write as _;

use super::plural;
use super::{Example, Report};
use crate::judge::Policy;
use crate::model::{Severity, Status};

#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
    pub verbose: bool,
}

const GREEN: &str = "32";
const RED: &str = "31";
const YELLOW: &str = "33";
const DIM: &str = "2";
const BOLD: &str = "1";

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// A status's symbol and colour.
fn symbol(status: Status) -> (&'static str, &'static str) {
    let colour = match status {
        Status::Pass => GREEN,
        Status::Fail | Status::Timeout => RED,
        Status::Skipped | Status::NotApplicable => DIM,
        Status::Unavailable | Status::Blocked => YELLOW,
    };
    (super::symbol(status).terminal, colour)
}

/// Pads `s` to `width` columns (every symbol used here is one column wide).
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// Renders the whole report.
pub fn render(r: &Report, style: Style) -> String {
    let cleaned = super::safe::cleaned(r);
    let r: &Report = &cleaned;
    let mut out = String::new();
    header(&mut out, r, style);
    if !r.examples.is_empty() {
        matrix(&mut out, r, style);
        findings(&mut out, r, style);
        failures(&mut out, r, style);
        blocked(&mut out, r, style);
    }
    diagnostics(&mut out, r, style);
    summary(&mut out, r, style);
    super::safe::inert_plain(out)
}

/// An image id as the engines show it: its first 12 hex digits.
fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

fn header(out: &mut String, r: &Report, style: Style) {
    let interps: Vec<String> = r
        .versions
        .iter()
        .map(|v| match r.interpreters.get(v) {
            Some(Some(i)) => super::interpreter_name(i),
            // No example needed this version's interpreter (none was looked for).
            _ if !r.examples.iter().any(|e| {
                e.results
                    .get(v)
                    .is_some_and(|o| o.status == Status::Unavailable)
            }) =>
            {
                v.to_string()
            }
            _ => style.paint(YELLOW, &format!("{v} (missing)")),
        })
        .collect();
    let files = r.summary.files;
    let mut langs: Vec<(&str, usize)> = Vec::new();
    for e in &r.examples {
        match langs.iter_mut().find(|(l, _)| *l == e.language) {
            Some((_, n)) => *n += 1,
            None => langs.push((&e.language, 1)),
        }
    }
    let what = match langs.as_slice() {
        [("python", n)] => format!("{n} Python example{}", plural(*n)),
        _ => {
            langs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let parts: Vec<String> = langs.iter().map(|(l, n)| format!("{n} {l}")).collect();
            format!(
                "{} example{} ({})",
                r.examples.len(),
                plural(r.examples.len()),
                parts.join(", ")
            )
        }
    };
    let _ = writeln!(
        out,
        "docmatrix: {what} in {} file{} · Python {}",
        files,
        plural(files),
        interps.join(", "),
    );
    if r.sandbox == crate::sys::sandbox::SandboxKind::None && !r.examples.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                YELLOW,
                "not sandboxed: snippets ran in throwaway folders, without bubblewrap"
            )
        );
    }
    if style.verbose {
        for (v, i) in &r.interpreters {
            match i {
                Some(i) => {
                    let _ = match &i.container {
                        Some(c) => writeln!(
                            out,
                            "  {v}: {} in {} ({}, {} image {})",
                            c.python.display(),
                            c.image,
                            i.version,
                            c.engine,
                            short_id(&c.image_id)
                        ),
                        None => writeln!(
                            out,
                            "  {v}: {} ({}, {})",
                            i.path.display(),
                            i.version,
                            i.source
                        ),
                    };
                    if !i.preimported.is_empty() {
                        let _ = writeln!(out, "      pre-imported: {}", i.preimported.join("; "));
                    }
                    for n in &i.not_preimported {
                        let _ =
                            writeln!(out, "      not pre-imported: {} ({})", n.statement, n.why);
                    }
                    if !i.preimported_for_importers.is_empty() {
                        let _ = writeln!(
                            out,
                            "      pre-imported for the examples that run them: {}",
                            i.preimported_for_importers.join("; ")
                        );
                    }
                    if !i.learned.is_empty() {
                        let _ = writeln!(
                            out,
                            "      learned from the examples ({}): {}",
                            i.learned.len(),
                            i.learned.join(", ")
                        );
                    }
                }
                None => {
                    let _ = writeln!(out, "  {v}: not found");
                }
            }
        }
    }
    if !r.not_checked.is_empty() {
        let others: Vec<String> = r
            .not_checked
            .iter()
            .map(|(lang, n)| format!("{lang} {n}"))
            .collect();
        let _ = writeln!(out, "not checked: {}", others.join(", "));
    }
    out.push('\n');
}

fn matrix(out: &mut String, r: &Report, style: Style) {
    let loc_w = r
        .examples
        .iter()
        .map(|e| e.label().chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let col_w = r
        .versions
        .iter()
        .map(|v| v.to_string().len())
        .max()
        .unwrap_or(4)
        + 2;
    let mut head = pad("example", loc_w + 2);
    for v in &r.versions {
        head.push_str(&pad(&v.to_string(), col_w));
    }
    head.push_str(&pad("works on", 10));
    let statics = r.examples.iter().any(statically_checked);
    if statics {
        head.push_str(&pad("static checks", 20));
    }
    head.push_str("verdict");
    let _ = writeln!(out, "{}", style.paint(BOLD, head.trim_end()));
    for e in &r.examples {
        let mut row = pad(&e.label(), loc_w + 2);
        for v in &r.versions {
            let (sym, color) = e.results.get(v).map_or(("", DIM), |o| symbol(o.status));
            row.push_str(&style.paint(color, sym));
            row.push_str(&" ".repeat(col_w - sym.chars().count()));
        }
        row.push_str(&pad(&e.measured, 10));
        if statics {
            let (text, color) = findings_summary(e);
            row.push_str(&style.paint(color, &text));
            row.push_str(&" ".repeat(20usize.saturating_sub(text.chars().count())));
        }
        row.push_str(&verdict_text(e, style));
        let _ = writeln!(out, "{}", row.trim_end());
    }
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            DIM,
            "✓ pass  ✗ fail  ⧗ timeout  - skipped  · not applicable  ? no interpreter  ⊘ blocked"
        )
    );
}

/// Whether an example had static checks (a shell or Dockerfile block that was not skipped).
fn statically_checked(e: &Example) -> bool {
    e.language != "python" && e.skip.is_none()
}

/// `clean`, `1 error`, `2 errors, 1 warning`; empty for an example with no static checks.
fn findings_summary(e: &Example) -> (String, &'static str) {
    if !statically_checked(e) {
        return (String::new(), DIM);
    }
    let mut parts = Vec::new();
    let mut color = GREEN;
    for sev in [
        Severity::Error,
        Severity::Warning,
        Severity::Info,
        Severity::Style,
    ] {
        let n = e.findings.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            parts.push(format!("{n} {}{}", sev.as_str(), plural(n)));
            if color == GREEN {
                color = if sev == Severity::Error { RED } else { YELLOW };
            }
        }
    }
    if parts.is_empty() {
        ("clean".into(), GREEN)
    } else {
        (parts.join(", "), color)
    }
}

/// Every static finding, by example, with its why and fix.
fn findings(out: &mut String, r: &Report, style: Style) {
    let with: Vec<&Example> = r
        .examples
        .iter()
        .filter(|e| !e.findings.is_empty())
        .collect();
    if with.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.paint(BOLD, "Static findings"));
    for e in with {
        out.push('\n');
        let _ = writeln!(out, "{}  {}", style.paint(BOLD, &e.location()), e.language);
        for f in &e.findings {
            let color = match f.severity {
                Severity::Error => RED,
                Severity::Warning => YELLOW,
                _ => DIM,
            };
            let _ = writeln!(
                out,
                "  {}:{}: {} {} [{}] {}",
                e.file.display(),
                f.line_or_zero(),
                style.paint(color, f.severity.as_str()),
                f.rule_id(),
                f.tool,
                f.message
            );
            if let Some(why) = &f.why {
                let _ = writeln!(out, "      {}", style.paint(DIM, &format!("why: {why}")));
            }
            if let Some(fix) = &f.help {
                let _ = writeln!(out, "      {}", style.paint(DIM, &format!("fix: {fix}")));
            }
        }
    }
}

fn verdict_text(e: &Example, style: Style) -> String {
    match e.policy {
        Policy::Ok => {
            let note = match &e.requires {
                Some(req) => format!("ok (requires {req})"),
                None => "ok".into(),
            };
            style.paint(GREEN, &note)
        }
        Policy::Fail => style.paint(RED, "FAIL"),
        Policy::Skipped => {
            let why = e
                .skip
                .as_deref()
                .filter(|s| !s.is_empty())
                .map_or("skipped".to_string(), |s| format!("skipped: {s}"));
            style.paint(DIM, &why)
        }
        Policy::Blocked => style.paint(DIM, &format!("blocked: {}", super::blocked_reason(e))),
    }
}

fn failures(out: &mut String, r: &Report, style: Style) {
    let failing: Vec<&Example> = r
        .examples
        .iter()
        .filter(|e| e.policy == Policy::Fail)
        .collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.paint(BOLD, "Failures"));
    for e in failing {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}  {}",
            style.paint(BOLD, &e.location()),
            e.policy_message.as_deref().unwrap_or("")
        );
        // What a session ran: the page's blocks it wrote out as files.
        if !e.programs.is_empty() {
            let _ = writeln!(
                out,
                "  {}",
                style.paint(DIM, &format!("ran {}", e.programs.join(", ")))
            );
        }
        for f in super::failures(e) {
            let o = f.outcome;
            let versions = f
                .versions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let at = match (o.md_line, &o.source) {
                (Some(l), Some(src)) => format!("{src} (included at {}:{l})", e.file.display()),
                (Some(l), None) => format!("{}:{l}", e.file.display()),
                (None, _) => e.location(),
            };
            let text = o.error.as_deref().or(o.reason.as_deref()).unwrap_or("");
            let _ = writeln!(out, "  [{versions}] {at}: {}", style.paint(RED, text));
            if let Some((l, code)) = super::code_line(o) {
                let _ = writeln!(
                    out,
                    "    {} | {}",
                    style.paint(DIM, &l.to_string()),
                    code.trim_end()
                );
            }
            if let Some(diff) = &o.diff {
                for l in diff.lines() {
                    let color = match l.chars().next() {
                        Some('-') => RED,
                        Some('+') => GREEN,
                        _ => DIM,
                    };
                    let _ = writeln!(out, "      {}", style.paint(color, l));
                }
            }
        }
    }
}

/// Cells that could not be decided here, with why: neither passes nor failures.
fn blocked(out: &mut String, r: &Report, style: Style) {
    let mut rows: Vec<String> = Vec::new();
    for e in &r.examples {
        // Versions grouped by (line, reason), in matrix order.
        let mut groups: Vec<(Option<usize>, &str, Vec<String>)> = Vec::new();
        for v in &r.versions {
            let Some(o) = e.results.get(v).filter(|o| o.status == Status::Blocked) else {
                continue;
            };
            let reason = o.reason.as_deref().unwrap_or("blocked");
            match groups
                .iter_mut()
                .find(|(l, why, _)| *l == o.md_line && *why == reason)
            {
                Some(g) => g.2.push(v.to_string()),
                None => groups.push((o.md_line, reason, vec![v.to_string()])),
            }
        }
        for (line, reason, versions) in groups {
            rows.push(format!(
                "  [{}] {}:{}: {}",
                versions.join(", "),
                e.file.display(),
                line.unwrap_or(e.line),
                style.paint(YELLOW, reason)
            ));
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.paint(BOLD, "Blocked (not decided here)"));
    for row in rows {
        let _ = writeln!(out, "{row}");
    }
}

fn diagnostics(out: &mut String, r: &Report, style: Style) {
    if !r.errors.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint(BOLD, "Errors"));
        for d in &r.errors {
            let _ = writeln!(out, "  {}", style.paint(RED, &d.display()));
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint(BOLD, "Warnings"));
        for d in &r.warnings {
            let _ = writeln!(out, "  {}", style.paint(YELLOW, &d.display()));
        }
    }
    if style.verbose && !r.foreign.is_empty() {
        let _ = writeln!(out, "\nAttributes left to other tools");
        for d in &r.foreign {
            let _ = writeln!(out, "  {}", d.display());
        }
    }
}

fn summary(out: &mut String, r: &Report, style: Style) {
    let s = &r.summary;
    let mut jobs: Vec<String> = s
        .jobs
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    if jobs.is_empty() {
        jobs.push("none".into());
    }
    if s.cached > 0 {
        jobs.push(format!("{} from the cache", s.cached));
    }
    let verdict = if r.exit_code() == 0 {
        style.paint(GREEN, "ok")
    } else {
        style.paint(RED, "FAILED")
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {} example{}: {} · results: {} · {:.2}s",
        s.examples,
        plural(s.examples),
        super::example_counts(s),
        jobs.join(", "),
        r.elapsed.as_secs_f64()
    );
}
