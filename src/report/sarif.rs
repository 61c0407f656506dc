//! `--format sarif`: SARIF 2.1.0, for code scanning (GitHub's `upload-sarif`, IDE viewers).
//!
//! One run of the tool `docmatrix`; one rule per kind of problem (`fail`, `timeout`,
//! `unavailable`, `not-reached`, `static` for the static findings of shell and Dockerfile
//! blocks, and `unreadable` / `annotation` for the input's errors and warnings); one result per problem of a failing example (versions failing the same way at
//! the same line make one result), at the Markdown file and line, with the error as message.
//! Relative paths are relative to `%SRCROOT%`, the working directory of the run.

use serde_json::{json, Value};

use super::{failures, slash_path, url_path, version_list, Report};
use crate::judge::Policy;
use crate::model::{Diagnostic, Severity};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// (id, level, short description, full description)
const RULES: [(&str, &str, &str, &str); 7] = [
    (
        "fail",
        "error",
        "Example fails on a Python version it claims",
        "The example raised an exception, did not compile, or exited with a non-zero status on a \
         version of the matrix it claims to support (every version, unless it declares \
         `requires`). Fix the example, or declare the versions it needs with `requires`.",
    ),
    (
        "timeout",
        "error",
        "Example timed out",
        "The example was still running when its timeout expired and was killed. Make it \
         faster, give it a `timeout=` annotation, or mark it `skip`.",
    ),
    (
        "unavailable",
        "error",
        "No interpreter for a claimed Python version",
        "No interpreter was found for a version of the matrix, so the example could not be \
         checked there. Install it, narrow the matrix with --python, or pass --allow-missing.",
    ),
    (
        "not-reached",
        "error",
        "Example of a group not reached",
        "An earlier block of the example's `group` failed, so this block never ran.",
    ),
    (
        "static",
        "warning",
        "Static finding in a shell or Dockerfile block",
        "A syntax error, a shellcheck or hadolint finding, or one of docmatrix's Dockerfile \
         rules (docs/dockerfile-rules.md), found without running the block. The result's \
         properties name the rule and the tool; its level is the finding's severity.",
    ),
    (
        "unreadable",
        "error",
        "Markdown file could not be read",
        "The file could not be read or is not valid UTF-8; its examples were not checked.",
    ),
    (
        "annotation",
        "warning",
        "Questionable docmatrix annotation",
        "An annotation docmatrix does not know, or one it cannot apply; the example still ran.",
    ),
];

fn rule_index(id: &str) -> usize {
    RULES.iter().position(|r| r.0 == id).unwrap_or(0)
}

fn location(file: &std::path::Path, line: Option<usize>) -> Value {
    let path = slash_path(file);
    let artifact = if path.starts_with('/') {
        json!({ "uri": format!("file://{}", url_path(&path)) })
    } else {
        json!({ "uri": url_path(path.trim_start_matches("./")), "uriBaseId": "%SRCROOT%" })
    };
    let mut physical = json!({ "artifactLocation": artifact });
    if let Some(l) = line.filter(|&l| l > 0) {
        physical["region"] = json!({ "startLine": l });
    }
    json!({ "physicalLocation": physical })
}

fn result(rule: &str, message: String, loc: Value, properties: Value) -> Value {
    let i = rule_index(rule);
    json!({
        "ruleId": rule,
        "ruleIndex": i,
        "level": RULES[i].1,
        "message": { "text": message },
        "locations": [loc],
        "properties": properties,
    })
}

fn diagnostic(rule: &str, d: &Diagnostic) -> Value {
    result(
        rule,
        d.message.clone(),
        location(&d.file, d.line),
        json!({}),
    )
}

/// The report as a SARIF 2.1.0 log (texts from examples and tools escaped, see
/// [`safe`](super::safe)).
pub fn render(r: &Report) -> String {
    let cleaned = super::safe::cleaned(r);
    let r: &Report = &cleaned;
    let mut results = Vec::new();
    for e in r.examples.iter().filter(|e| e.policy == Policy::Fail) {
        for f in failures(e) {
            let mut message = format!("Python {}: {}", version_list(&f.versions), f.text());
            if let Some(p) = &e.policy_message {
                message.push_str(&format!(" (example at line {}: {p})", e.line));
            }
            let versions: Vec<String> = f.versions.iter().map(ToString::to_string).collect();
            let mut props = json!({
                "versions": versions,
                "example": format!("{}:{}", slash_path(&e.file), e.line),
            });
            if let Some(t) = &f.outcome.error_type {
                props["errorType"] = json!(t);
            }
            results.push(result(
                super::Problem::of(f.outcome).as_str(),
                message,
                location(&e.file, Some(f.line(e))),
                props,
            ));
        }
    }
    for e in &r.examples {
        for f in &e.findings {
            let mut res = result(
                "static",
                format!("{} ({}): {}", f.rule, f.source, f.message),
                location(&e.file, Some(f.line)),
                json!({
                    "rule": f.rule,
                    "source": f.source,
                    "severity": f.severity.as_str(),
                    "example": format!("{}:{}", slash_path(&e.file), e.line),
                }),
            );
            res["level"] = json!(match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Style => "note",
            });
            results.push(res);
        }
    }
    results.extend(r.errors.iter().map(|d| diagnostic("unreadable", d)));
    results.extend(r.warnings.iter().map(|d| diagnostic("annotation", d)));

    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, level, short, full)| {
            json!({
                "id": id,
                "name": id.split('-').map(|w| {
                    let mut c = w.chars();
                    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
                }).collect::<String>(),
                "shortDescription": { "text": short },
                "fullDescription": { "text": full },
                "defaultConfiguration": { "level": level },
                "help": { "text": full },
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "docmatrix",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            // The run itself succeeded: unreadable files are results, setup errors make no report.
            "invocations": [{ "executionSuccessful": true }],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "versions": r.versions.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "examples": r.summary.examples,
                "ok": r.summary.ok,
                "failed": r.summary.failed,
                "skipped": r.summary.skipped,
            },
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    super::safe::inert_json(s)
}
