//! `--format junit`: JUnit XML for CI test-report views, made with quick-junit.
//!
//! One `<testsuite>` per Markdown file, one `<testcase>` per example × version:
//! `classname` is the file, `name` is `file:line [3.X]` (the opening fence), and the
//! `file` and `line` attributes point at the failing line when there is one, else at the
//! fence. `fail` and `timeout` are `<failure>`s (the error as `message`, the exception type
//! as `type`, the code line and stderr as text); `skipped`, `not-applicable` and
//! `unavailable` are `<skipped>`, with the reason as `message` and the status as `type`.
//! A file that could not be read is a test case with an `<error>`. A shell or Dockerfile
//! block with static findings adds a `file:line [static]` case (see [`static_case`]); a
//! `blocked` cell is `<skipped>` like the other undecided ones.

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::{slash_path, Example, Report};
use crate::model::{Outcome, Severity, Status};
use crate::version::PyVersion;

/// The report as a JUnit XML document. Its texts hold no character XML 1.0 forbids (they are
/// escaped, see [`safe`](super::safe)), and no line of it reads as a workflow command.
pub fn render(r: &Report) -> String {
    let cleaned = super::safe::cleaned(r);
    let r: &Report = &cleaned;
    let mut doc = quick_junit::Report::new("docmatrix");
    let mut total = Duration::ZERO;
    let mut suites: Vec<(String, TestSuite)> = Vec::new();
    for (file, examples) in r.by_file() {
        let name = slash_path(file);
        let mut suite = TestSuite::new(name.as_str());
        let mut time = Duration::ZERO;
        for e in examples {
            if let Some(case) = static_case(&name, e) {
                suite.add_test_case(case);
            }
            for v in &r.versions {
                let Some(o) = e.results.get(v) else { continue };
                let case = test_case(&name, e, *v, o);
                time += case.time.unwrap_or_default();
                suite.add_test_case(case);
            }
        }
        suite.set_time(time);
        total += time;
        suites.push((name, suite));
    }
    for d in &r.errors {
        let name = slash_path(&d.file);
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(d.message.as_str())
            .set_type("unreadable");
        let mut case = TestCase::new(format!("{name} [read]"), status);
        case.set_classname(name.as_str());
        case.extra.insert("file".into(), name.as_str().into());
        if let Some(l) = d.line {
            case.extra.insert("line".into(), l.to_string().into());
        }
        match suites.iter_mut().find(|(n, _)| *n == name) {
            Some((_, s)) => {
                s.add_test_case(case);
            }
            None => {
                let mut s = TestSuite::new(name.as_str());
                s.add_test_case(case);
                suites.push((name, s));
            }
        }
    }
    doc.add_test_suites(suites.into_iter().map(|(_, s)| s));
    doc.set_time(total);
    let xml = doc
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write the JUnit report: {e} -->\n"));
    super::safe::inert_xml(xml)
}

/// `file:line [static]` for a shell or Dockerfile block with findings: a `<failure>` when one
/// is an error (every finding listed in the text), else a success whose findings are in
/// `<system-out>`.
fn static_case(file: &str, e: &Example) -> Option<TestCase> {
    if e.findings.is_empty() {
        return None;
    }
    let listing: String = e
        .findings
        .iter()
        .map(|f| {
            format!(
                "{file}:{}: {} {} [{}] {}\n",
                f.line_or_zero(),
                f.severity.as_str(),
                f.rule_id(),
                f.tool,
                f.message
            )
        })
        .collect();
    let first_error = e.findings.iter().find(|f| f.severity == Severity::Error);
    let status = match first_error {
        Some(f) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{} {}", f.rule_id(), f.message))
                .set_type("static")
                .set_description(listing.as_str());
            s
        }
        None => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(format!("{file}:{} [static]", e.line), status);
    case.set_classname(file);
    if first_error.is_none() {
        case.set_system_out(listing.as_str());
    }
    case.extra.insert("file".into(), file.into());
    let line = first_error.map_or(e.line, |f| f.line_or_zero());
    case.extra.insert("line".into(), line.to_string().into());
    Some(case)
}

fn test_case(file: &str, e: &Example, v: PyVersion, o: &Outcome) -> TestCase {
    let status = match o.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail | Status::Timeout => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = o.error.clone().unwrap_or_else(|| match o.exit_code {
                Some(c) => format!("exit code {c}"),
                None => o.status.as_str().to_string(),
            });
            s.set_message(message);
            s.set_type(
                o.error_type
                    .as_deref()
                    .unwrap_or(o.status.as_str())
                    .to_string(),
            );
            s.set_description(description(file, e, o));
            s
        }
        Status::Skipped | Status::NotApplicable | Status::Unavailable | Status::Blocked => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(o.reason.as_deref().unwrap_or(o.status.as_str()));
            s.set_type(o.status.as_str());
            s
        }
    };
    let mut case = TestCase::new(format!("{file}:{} [{v}]", e.line), status);
    case.set_classname(file);
    if let Some(ms) = o.duration_ms {
        case.set_time(Duration::from_millis(ms));
    }
    case.extra.insert("file".into(), file.into());
    case.extra.insert(
        "line".into(),
        o.md_line.unwrap_or(e.line).to_string().into(),
    );
    case
}

/// The failure's text: where, the code line, then the tail of stderr.
fn description(file: &str, e: &Example, o: &Outcome) -> String {
    let mut text = format!("{file}:{}", o.md_line.unwrap_or(e.line));
    if let Some((l, code)) = super::code_line(o) {
        text.push_str(&format!("\n    {l} | {}", code.trim_end()));
    }
    if let Some(policy) = &e.policy_message {
        text.push_str(&format!("\n{policy}"));
    }
    if let Some(err) = o.stderr.as_deref().filter(|s| !s.trim().is_empty()) {
        text.push_str("\n\n");
        text.push_str(err.trim_end());
    }
    text.push('\n');
    text
}
