//! `--format markdown`: the matrix as GitHub-flavoured Markdown, for a pull-request comment or
//! the GitHub step summary.
//!
//! A headline, the pass count per version, a table of the examples that break the policy
//! (the others folded in a `<details>`), then each failure with its line and code. With a URL
//! link prefix (`--link-base`), examples link to their line.
//!
//! What an example or a tool wrote (errors, messages, paths, the failing line) is in a code
//! span or a fenced block as long as any run of backticks in it, where Markdown makes neither
//! HTML, links, images, mentions nor math of it; in a table, its `|` is escaped too. The few
//! other texts (skip reasons, policy messages) are escaped character by character ([`text`]).
//! Control and bidi characters show as escapes ([`safe`]), and no line reads as a workflow
//! command ([`safe::inert_plain`]): this is also the GitHub step summary.

use std::fmt::Write as _;

use super::plural;
use super::{failures, safe, slash_path, version_list, Example, Links, Report};
use crate::judge::Policy;
use crate::model::Status;

/// Rows listed in the folded table of examples that keep their claim, at most.
const MAX_FOLDED_ROWS: usize = 500;

fn symbol(status: Status) -> &'static str {
    super::symbol(status).emoji
}

const LEGEND: &str =
    "✅ pass · ❌ fail · ⏱️ timeout · ⏭️ skipped · ➖ not applicable · ❔ no interpreter · 🚧 blocked";

/// Escapes text so Markdown shows it as written: it cannot become HTML, a link, an autolink
/// (`https://…`, `www.…`, `a@b.c`), an image, math, or break a table.
pub fn text(s: &str) -> String {
    let s = safe::text(s);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '@' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            // `://` and `www.` start autolinks; an escaped `:` or `.` starts none.
            ':' if chars.clone().take(2).eq(['/', '/']) => out.push_str("\\:"),
            '.' if out.to_ascii_lowercase().ends_with("www") => out.push_str("\\."),
            _ => out.push(c),
        }
    }
    out
}

/// A code span holding `s` exactly, whatever backticks it contains (line breaks become
/// spaces).
pub fn code(s: &str) -> String {
    let s = safe::text(s).replace(['\n', '\r'], " ");
    let longest = longest_run(&s, '`');
    let ticks = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn example_cell(e: &Example, links: &Links) -> String {
    let loc = code(&format!("{}:{}", slash_path(&e.file), e.line));
    if links.prefix.contains("://") {
        format!("[{loc}]({})", links.to(&e.file, e.line))
    } else {
        loc
    }
}

fn verdict(e: &Example) -> String {
    match e.policy {
        Policy::Ok => match &e.requires {
            Some(r) => format!("ok (requires {})", text(r)),
            None => "ok".into(),
        },
        Policy::Fail => "**FAIL**".into(),
        Policy::Skipped => match e.skip.as_deref().filter(|s| !s.is_empty()) {
            Some(why) => format!("skipped: {}", text(why)),
            None => "skipped".into(),
        },
        Policy::Blocked => format!("blocked: {}", text(&super::blocked_reason(e))),
    }
}

fn table(out: &mut String, r: &Report, rows: &[&Example], links: &Links) {
    out.push_str("| example |");
    for v in &r.versions {
        let _ = write!(out, " {v} |");
    }
    out.push_str(" works on | verdict |\n|:--|");
    for _ in &r.versions {
        out.push_str(":-:|");
    }
    out.push_str(":--|:--|\n");
    for e in rows {
        // In a table even a code span needs its `|` escaped.
        let _ = write!(out, "| {} |", example_cell(e, links).replace('|', "\\|"));
        for v in &r.versions {
            let cell = e.results.get(v).map_or("", |o| symbol(o.status));
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out, " {} | {} |", text(&e.measured), verdict(e));
    }
}

/// The report as Markdown.
pub fn render(r: &Report, links: &Links) -> String {
    let cleaned = safe::cleaned(r);
    let r: &Report = &cleaned;
    let mut out = String::new();
    let s = &r.summary;
    let headline = if r.exit_code() == 0 {
        format!(
            "✅ docmatrix: {} of {} example{} ok",
            s.ok,
            s.examples,
            plural(s.examples)
        )
    } else if s.failed > 0 {
        format!(
            "❌ docmatrix: {} of {} example{} fail{}",
            s.failed,
            s.examples,
            plural(s.examples),
            if s.failed == 1 { "s" } else { "" }
        )
    } else {
        "❌ docmatrix: some files could not be read".to_string()
    };
    let _ = writeln!(out, "### {headline}\n");
    let all_python = r.examples.iter().all(|e| e.language == "python");
    let _ = write!(
        out,
        "{} {}example{} in {} file{} · Python {}",
        s.examples,
        if all_python { "Python " } else { "" },
        plural(s.examples),
        s.files,
        plural(s.files),
        r.interpreter_list().join(", ")
    );
    if let Some(p) = r.partition {
        let _ = write!(out, " · partition {p}");
    }
    out.push_str("\n\n");
    let tested = r.tested_with();
    if !tested.is_empty() {
        out.push_str("<details><summary>Tested with</summary>\n\n");
        for (_, i) in tested {
            let packages: Vec<String> = i.packages.iter().map(|p| code(p)).collect();
            let _ = writeln!(
                out,
                "- Python {} · {}",
                text(&super::interpreter_name(i)),
                packages.join(" · ")
            );
        }
        out.push_str("\n</details>\n\n");
    }

    if !r.examples.is_empty() {
        let tallies: Vec<String> = r
            .versions
            .iter()
            .map(|v| {
                let t = r.tally(*v);
                format!("{v} **{}/{}**", t.passed, t.claimed)
            })
            .collect();
        let _ = writeln!(out, "Passing: {}\n", tallies.join(" · "));

        let (failing, rest): (Vec<&Example>, Vec<&Example>) =
            r.examples.iter().partition(|e| e.policy == Policy::Fail);
        if !failing.is_empty() {
            table(&mut out, r, &failing, links);
            out.push('\n');
        }
        if !rest.is_empty() {
            let ok = rest.iter().filter(|e| e.policy == Policy::Ok).count();
            let blocked = rest.iter().filter(|e| e.policy == Policy::Blocked).count();
            let skipped = rest.len() - ok - blocked;
            let blocked = if blocked > 0 {
                format!(", {blocked} blocked")
            } else {
                String::new()
            };
            let what = format!(
                "{}{} example{} keep{} their claim: {ok} ok, {skipped} skipped{blocked}",
                if failing.is_empty() { "" } else { "the other " },
                rest.len(),
                plural(rest.len()),
                if rest.len() == 1 { "s" } else { "" },
            );
            let _ = writeln!(out, "<details><summary>{what}</summary>\n");
            let shown = &rest[..rest.len().min(MAX_FOLDED_ROWS)];
            table(&mut out, r, shown, links);
            if rest.len() > shown.len() {
                let _ = writeln!(out, "\n… and {} more", rest.len() - shown.len());
            }
            out.push_str("\n</details>\n\n");
        }
        let _ = writeln!(out, "{LEGEND}\n");
    }

    let failing: Vec<&Example> = r
        .examples
        .iter()
        .filter(|e| e.policy == Policy::Fail)
        .collect();
    if !failing.is_empty() {
        out.push_str("#### Failures\n\n");
        for e in failing {
            let _ = writeln!(
                out,
                "{} {}\n",
                example_cell(e, links),
                text(e.policy_message.as_deref().unwrap_or(""))
            );
            for f in failures(e) {
                let line = f.line(e);
                let _ = writeln!(
                    out,
                    "- **{}**, line {line}: {}",
                    version_list(&f.versions),
                    code(f.text())
                );
                if let Some(c) = &f.outcome.code {
                    let fence = "`".repeat(longest_run(c, '`').max(2) + 1);
                    let _ = writeln!(
                        out,
                        "  {fence}{}\n  {}\n  {fence}",
                        e.language,
                        c.trim_end()
                    );
                }
            }
            out.push('\n');
        }
    }
    if r.examples.iter().any(|e| !e.findings.is_empty()) {
        out.push_str("#### Static findings\n\n");
        for e in r.examples.iter().filter(|e| !e.findings.is_empty()) {
            for f in &e.findings {
                let _ = writeln!(
                    out,
                    "- {} line {}: **{}** {} ({}): {}",
                    example_cell(e, links),
                    f.line_or_zero(),
                    f.severity.as_str(),
                    f.rule_id(),
                    f.tool,
                    code(&f.message)
                );
            }
        }
        out.push('\n');
    }
    if !r.errors.is_empty() {
        out.push_str("#### Errors\n\n");
        for d in &r.errors {
            let _ = writeln!(out, "- {}", code(&d.display()));
        }
        out.push('\n');
    }
    if !r.warnings.is_empty() {
        out.push_str("#### Warnings\n\n");
        for d in &r.warnings {
            let _ = writeln!(out, "- {}", code(&d.display()));
        }
        out.push('\n');
    }
    safe::inert_plain(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_anything() {
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(code("x = `y`"), "`` x = `y` ``");
        assert_eq!(
            text("<b>*x*</b> & [y]"),
            "\\<b\\>\\*x\\*\\</b\\> &amp; \\[y\\]"
        );
        assert_eq!(code("a ``` b\nc"), "```` a ``` b c ````");
        assert_eq!(code("\x1b[31m\u{202e}"), "`\\x1b[31m\\u202e`");
    }

    #[test]
    fn text_makes_no_link() {
        assert_eq!(
            text("see https://evil.example or WWW.evil.example, mail a@b.c, $x$"),
            "see https\\://evil.example or WWW\\.evil.example, mail a\\@b.c, \\$x\\$"
        );
        assert_eq!(
            text("![i](javascript:alert(1)) | x\r\ny\rz\x07"),
            // (A control character's escape has its backslash escaped: it shows as `\x07`.)
            "\\!\\[i\\](javascript:alert(1)) \\| x y\\\\rz\\\\x07"
        );
    }
}
