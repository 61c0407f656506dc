//! The badge report's `index.html` (also `--format html`): one self-contained page (inline CSS,
//! the badges inlined as SVG, no script, no external asset) with the example × version matrix
//! per file, every failure with its error, Markdown line, code line and stderr, and links to
//! the guides' lines. Everything taken from the report is escaped: for HTML ([`esc`]), and its
//! control and bidi characters as visible text ([`safe`](super::safe)); a link is only ever a
//! path, percent-encoded, after the prefix the user chose.

use std::fmt::Write as _;

use super::badge;
use super::plural;
use super::safe::esc;
use super::{failures, slash_path, version_list, Example, Links, Report};
use crate::judge::Policy;
use crate::model::{Outcome, Status};

fn symbol(status: Status) -> &'static str {
    super::symbol(status).html
}

fn label(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Timeout => "timeout",
        Status::Skipped => "skipped",
        Status::NotApplicable => "not applicable",
        Status::Unavailable => "no interpreter",
        Status::Blocked => "blocked",
    }
}

const CSS: &str = r#"
:root{--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--link:#0969da;
--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--warn:#9a6700;--warn-bg:#fff8c5;
--skip:#6e7781;--skip-bg:#eaeef2;--na:#8c959f;--na-bg:#f6f8fa;--code-bg:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;
--soft:#161b22;--link:#4493f8;--pass:#3fb950;--pass-bg:#12361f;--fail:#f85149;--fail-bg:#3d1519;
--warn:#d29922;--warn-bg:#3b2e0a;--skip:#8d96a0;--skip-bg:#21262d;--na:#6e7681;--na-bg:#161b22;
--code-bg:#161b22}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 -apple-system,BlinkMacSystemFont,
"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
.wrap{max-width:1120px;margin:0 auto;padding:24px 24px 48px}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:0}h3{font-size:14px;margin:0 0 6px;font-weight:600}
.verdict{display:inline-block;margin:8px 0 12px;padding:6px 12px;border-radius:6px;font-weight:600}
.verdict.ok{background:var(--pass-bg);color:var(--pass)}.verdict.bad{background:var(--fail-bg);color:var(--fail)}
.badges{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 10px}.badges svg{display:block}
.facts{color:var(--muted);margin:0 0 18px}.facts b{color:var(--fg);font-weight:600}
.tally{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:0 0 20px}
.tally>div{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--soft)}
.tally .top{display:flex;justify-content:space-between;gap:8px}.tally .v{font-weight:600}.tally .n{color:var(--muted);white-space:nowrap}
.bar{height:6px;border-radius:3px;background:var(--fail-bg);margin-top:6px;overflow:hidden}
.bar i{display:block;height:100%;background:var(--pass)}
#only-failing{margin:0 6px 16px 2px;vertical-align:middle}.toggle{color:var(--muted);user-select:none;vertical-align:middle}
#only-failing:checked~main .file.clean,#only-failing:checked~main tr.ok,#only-failing:checked~main tr.skipped{display:none}
.file{border:1px solid var(--line);border-radius:8px;margin:0 0 18px;overflow:hidden}
.file>header{display:flex;justify-content:space-between;align-items:baseline;gap:12px;padding:10px 14px;background:var(--soft);border-bottom:1px solid var(--line)}
.file>header .n{color:var(--muted);white-space:nowrap}
table{border-collapse:collapse;width:100%;table-layout:fixed}
col.ex{width:150px}col.c{width:68px}col.range{width:110px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
thead th{font-weight:600;color:var(--muted);font-size:12px;background:var(--bg)}
tbody tr:last-child th,tbody tr:last-child td{border-bottom:0}
th.ex{font-weight:normal;white-space:nowrap}
td.c,th.c{text-align:center;padding:3px 4px}
td.c span,td.c a{display:inline-block;min-width:44px;border-radius:4px;padding:1px 0;font-weight:700;text-decoration:none}
.s-pass{background:var(--pass-bg);color:var(--pass)}.s-fail,.s-timeout{background:var(--fail-bg);color:var(--fail)}
.s-unavailable{background:var(--warn-bg);color:var(--warn)}.s-skipped{background:var(--skip-bg);color:var(--skip)}
.s-not-applicable{background:var(--na-bg);color:var(--na)}
td.range{white-space:nowrap}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}
.pill.ok{background:var(--pass-bg);color:var(--pass)}.pill.fail{background:var(--fail-bg);color:var(--fail)}
.pill.skipped{background:var(--skip-bg);color:var(--skip)}
.note{color:var(--muted);font-size:12px}
.failures{padding:4px 14px 10px;border-top:1px solid var(--line)}
.failure{padding:10px 0 4px}.failure+.failure{border-top:1px dashed var(--line)}
.problem{margin:6px 0 8px 2px}.problem p{margin:0 0 4px}
.vers{display:inline-block;border-radius:4px;padding:0 6px;background:var(--fail-bg);color:var(--fail);font-weight:600;font-size:12px}
.err{color:var(--fail);word-break:break-word}
pre{margin:4px 0;padding:8px 10px;background:var(--code-bg);border:1px solid var(--line);border-radius:6px;overflow:auto;white-space:pre}
pre .ln{color:var(--muted);user-select:none;margin-right:12px}
details{margin:2px 0 6px}summary{cursor:pointer;color:var(--muted);font-size:12px}
details pre{max-height:320px}
.diags{border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin:0 0 18px}
.diags li{margin:2px 0}.diags.errors{border-color:var(--fail)}
footer{color:var(--muted);font-size:12px;margin-top:28px;border-top:1px solid var(--line);padding-top:12px}
.legend span{margin-right:12px;white-space:nowrap}.legend b{display:inline-block;min-width:22px;text-align:center;border-radius:4px}
"#;

/// Which problem number in the page each failing example's details have.
fn anchor(i: usize) -> String {
    format!("f{i}")
}

fn cell(out: &mut String, e: &Example, i: usize, v: &str, o: Option<&Outcome>) {
    let Some(o) = o else {
        out.push_str("<td class=\"c\"></td>");
        return;
    };
    let class = format!("s-{}", o.status.as_str());
    let mut tip = format!("Python {v}: {}", label(o.status));
    if let Some(t) = o.error.as_deref().or(o.reason.as_deref()) {
        let _ = write!(tip, " — {t}");
    }
    let sym = symbol(o.status);
    if e.policy == Policy::Fail && super::is_problem(o) {
        let _ = write!(
            out,
            "<td class=\"c\"><a class=\"{class}\" href=\"#{}\" title=\"{}\" aria-label=\"{}\">{sym}</a></td>",
            anchor(i),
            esc(&tip),
            esc(&tip)
        );
    } else {
        let _ = write!(
            out,
            "<td class=\"c\"><span class=\"{class}\" title=\"{}\" aria-label=\"{}\">{sym}</span></td>",
            esc(&tip),
            esc(&tip)
        );
    }
}

fn verdict(e: &Example) -> String {
    match e.policy {
        Policy::Ok => {
            let req = e
                .requires
                .as_deref()
                .map(|r| format!(" <span class=\"note\">requires {}</span>", esc(r)))
                .unwrap_or_default();
            format!("<span class=\"pill ok\">ok</span>{req}")
        }
        Policy::Fail => "<span class=\"pill fail\">FAIL</span>".into(),
        Policy::Skipped => {
            let why = e
                .skip
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| format!(" <span class=\"note\">{}</span>", esc(s)))
                .unwrap_or_default();
            format!("<span class=\"pill skipped\">skipped</span>{why}")
        }
        Policy::Blocked => format!(
            "<span class=\"pill skipped\">blocked</span> <span class=\"note\">{}</span>",
            esc(&super::blocked_reason(e))
        ),
    }
}

fn row_class(e: &Example) -> &'static str {
    match e.policy {
        Policy::Ok => "ok",
        Policy::Fail => "fail",
        Policy::Skipped => "skipped",
        Policy::Blocked => "blocked",
    }
}

fn failure_details(out: &mut String, e: &Example, i: usize, links: &Links) {
    let file = slash_path(&e.file);
    let _ = write!(
        out,
        "<div class=\"failure\" id=\"{}\"><h3><a class=\"mono\" href=\"{}\">{}:{}</a> {}</h3>",
        anchor(i),
        esc(&links.to(&e.file, e.line)),
        esc(&file),
        e.line,
        esc(e.policy_message.as_deref().unwrap_or(""))
    );
    if !e.findings.is_empty() {
        out.push_str("<ul class=\"findings\">");
        for f in &e.findings {
            let _ = write!(
                out,
                "<li><a class=\"mono\" href=\"{}\">{}:{}</a> <span class=\"sev {}\">{}</span> <code>{}</code> ({}): {}</li>",
                esc(&links.to(&e.file, f.line_or_zero())),
                esc(&file),
                f.line_or_zero(),
                f.severity.as_str(),
                f.severity.as_str(),
                esc(f.rule_id()),
                esc(&f.tool),
                esc(&f.message)
            );
        }
        out.push_str("</ul>");
    }
    for f in failures(e) {
        let line = f.line(e);
        let _ = write!(
            out,
            "<div class=\"problem\"><p><span class=\"vers\">Python {}</span> at <a class=\"mono\" href=\"{}\">{}:{line}</a>: <code class=\"err\">{}</code></p>",
            esc(&version_list(&f.versions)),
            esc(&links.to(&e.file, line)),
            esc(&file),
            esc(f.text())
        );
        if let Some((l, code)) = super::code_line(f.outcome) {
            let _ = write!(
                out,
                "<pre class=\"code\"><span class=\"ln\">{l}</span>{}</pre>",
                esc(code.trim_end())
            );
        }
        if let Some(err) = f.outcome.stderr.as_deref().filter(|s| !s.trim().is_empty()) {
            let first = f
                .versions
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            let _ = write!(
                out,
                "<details><summary>stderr (Python {})</summary><pre>{}</pre></details>",
                esc(&first),
                esc(err.trim_end())
            );
        }
        out.push_str("</div>");
    }
    out.push_str("</div>\n");
}

/// The page.
pub fn render(r: &Report, links: &Links) -> String {
    let cleaned = super::safe::cleaned(r);
    let r: &Report = &cleaned;
    let s = &r.summary;
    let ok = r.exit_code() == 0;
    let headline = if s.examples == 0 {
        "No Python examples found".to_string()
    } else if s.failed > 0 {
        format!(
            "{} of {} example{} fail{} on a version {} claim{}",
            s.failed,
            s.examples,
            plural(s.examples),
            if s.failed == 1 { "s" } else { "" },
            if s.failed == 1 { "it" } else { "they" },
            if s.failed == 1 { "s" } else { "" },
        )
    } else if !r.errors.is_empty() {
        "Some files could not be read".to_string()
    } else {
        format!(
            "Every example keeps its claim: {} ok, {} skipped{}",
            s.ok,
            s.skipped,
            if s.blocked > 0 {
                format!(", {} blocked", s.blocked)
            } else {
                String::new()
            }
        )
    };
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>docmatrix: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<div class=\"wrap\">\n",
        esc(&headline)
    );

    // Header: verdict, badges, facts.
    out.push_str("<header>\n<h1>docmatrix report</h1>\n");
    let _ = writeln!(
        out,
        "<div class=\"verdict {}\">{} {}</div>",
        if ok { "ok" } else { "bad" },
        if ok { "✓" } else { "✗" },
        esc(&headline)
    );
    out.push_str("<div class=\"badges\">");
    for b in badge::badges(r) {
        out.push_str(badge::svg(&b).trim_end());
    }
    out.push_str("</div>\n");
    let mut facts = format!(
        "<b>{}</b> Python example{} in <b>{}</b> file{} · Python {}",
        s.examples,
        plural(s.examples),
        s.files,
        plural(s.files),
        esc(&r.interpreter_list().join(", "))
    );
    if !r.not_checked.is_empty() {
        let others: Vec<String> = r
            .not_checked
            .iter()
            .map(|(l, n)| format!("{} {n}", esc(l)))
            .collect();
        let _ = write!(facts, " · not checked: {}", others.join(", "));
    }
    if let Some(p) = r.partition {
        let _ = write!(facts, " · partition {p}");
    }
    if r.sandbox == crate::sys::sandbox::SandboxKind::None && !r.examples.is_empty() {
        facts.push_str(" · not sandboxed");
    }
    let _ = writeln!(out, "<p class=\"facts\">{facts}</p>");
    let tested = r.tested_with();
    if !tested.is_empty() {
        out.push_str("<details class=\"facts\"><summary>Tested with</summary><ul>");
        for (_, i) in tested {
            let packages: Vec<String> = i.packages.iter().map(|p| esc(p)).collect();
            let _ = write!(
                out,
                "<li>Python {} · <span class=\"mono\">{}</span></li>",
                esc(&i.version),
                packages.join(" · ")
            );
        }
        out.push_str("</ul></details>\n");
    }
    out.push_str("</header>\n");

    // Pass counts per version.
    if !r.examples.is_empty() {
        out.push_str("<section class=\"tally\" aria-label=\"Passing per version\">");
        for v in &r.versions {
            let t = r.tally(*v);
            let pct = (t.passed * 100).checked_div(t.claimed).unwrap_or(0);
            let _ = write!(
                out,
                "<div><div class=\"top\"><span class=\"v\">Python {v}</span><span class=\"n\">{}/{} pass</span></div><div class=\"bar\"><i style=\"width:{pct}%\"></i></div></div>",
                t.passed, t.claimed
            );
        }
        out.push_str("</section>\n");
        // A checkbox and CSS (no script) hide the examples that keep their claim.
        out.push_str("<input type=\"checkbox\" id=\"only-failing\"><label class=\"toggle\" for=\"only-failing\">Show only the examples that fail</label>\n");
    }

    if !r.errors.is_empty() {
        out.push_str("<section class=\"diags errors\"><h2>Files that could not be read</h2><ul>");
        for d in &r.errors {
            let _ = write!(
                out,
                "<li><a class=\"mono\" href=\"{}\">{}</a></li>",
                esc(&links.to(&d.file, d.line.unwrap_or(1))),
                esc(&d.display())
            );
        }
        out.push_str("</ul></section>\n");
    }

    out.push_str("<main>\n");
    let mut index = 0;
    for (file, examples) in r.by_file() {
        let failing = examples.iter().filter(|e| e.policy == Policy::Fail).count();
        let _ = writeln!(
            out,
            "<section class=\"file{}\"><header><h2><a class=\"mono\" href=\"{}\">{}</a></h2><span class=\"n\">{} example{}{}</span></header>",
            if failing == 0 { " clean" } else { "" },
            esc(&links.to(file, 1)),
            esc(&slash_path(file)),
            examples.len(),
            plural(examples.len()),
            if failing > 0 {
                format!(" · {failing} failing")
            } else {
                String::new()
            }
        );
        out.push_str("<table class=\"matrix\"><colgroup><col class=\"ex\">");
        for _ in &r.versions {
            out.push_str("<col class=\"c\">");
        }
        out.push_str("<col class=\"range\"><col></colgroup><thead><tr><th>example</th>");
        for v in &r.versions {
            let _ = write!(out, "<th class=\"c\">{v}</th>");
        }
        out.push_str("<th>works on</th><th>verdict</th></tr></thead><tbody>\n");
        let first = index;
        for e in &examples {
            let _ = write!(
                out,
                "<tr class=\"{}\"><th class=\"ex\"><a class=\"mono\" href=\"{}\">line {}</a>{}{}</th>",
                row_class(e),
                esc(&links.to(&e.file, e.line)),
                e.line,
                e.tab
                    .as_deref()
                    .map(|t| format!(" <span class=\"note\">tab “{}”</span>", esc(t)))
                    .unwrap_or_default(),
                e.group
                    .as_deref()
                    .map(|g| format!(" <span class=\"note\">group {}</span>", esc(g)))
                    .or_else(|| (e.language != "python")
                        .then(|| format!(" <span class=\"note\">{}</span>", esc(&e.language))))
                    .unwrap_or_default()
            );
            for v in &r.versions {
                cell(&mut out, e, index, &v.to_string(), e.results.get(v));
            }
            let _ = writeln!(
                out,
                "<td class=\"range\">{}</td><td>{}</td></tr>",
                esc(&e.measured),
                verdict(e)
            );
            index += 1;
        }
        out.push_str("</tbody></table>\n");
        if failing > 0 {
            out.push_str("<div class=\"failures\">\n");
            for (k, e) in examples.iter().enumerate() {
                if e.policy == Policy::Fail {
                    failure_details(&mut out, e, first + k, links);
                }
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n");

    if !r.warnings.is_empty() {
        out.push_str("<section class=\"diags\"><h2>Warnings</h2><ul>");
        for d in &r.warnings {
            let _ = write!(out, "<li class=\"mono\">{}</li>", esc(&d.display()));
        }
        out.push_str("</ul></section>\n");
    }

    out.push_str("<footer><div class=\"legend\">");
    for st in Status::ALL {
        let _ = write!(
            out,
            "<span><b class=\"s-{}\">{}</b> {}</span>",
            st.as_str(),
            symbol(st),
            label(st)
        );
    }
    let _ = write!(
        out,
        "</div><p>Made by docmatrix {}. An example must pass on every version it claims: all of them, unless it declares <code>requires</code>.</p></footer>\n</div>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    super::safe::inert_xml(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything() {
        assert_eq!(
            esc(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("\x1b[2J\u{202e}\r"), "\\x1b[2J\\u202e\\r");
        assert_eq!(
            esc("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
    }
}
