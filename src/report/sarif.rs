//! `--format sarif`: SARIF 2.1.0, for code scanning (GitHub's `upload-sarif`, IDE viewers).
//!
//! One run of the tool `docmatrix`; one rule per kind of problem (`fail`, `timeout`,
//! `unavailable`, `not-reached`, and `unreadable` / `annotation` for the input's errors and
//! warnings), then one rule per rule id the static findings of shell and Dockerfile blocks
//! report (`DF008`, `SC2086`, `DL3008`, `syntax`, ...), with its description and help (the
//! rule's why and fix for docmatrix's Dockerfile rules, a link to the shellcheck or hadolint
//! wiki for theirs); one result per problem of a failing example (versions failing the same way
//! at the same line make one result), and one per finding, at the Markdown file, line and, when
//! known, columns, with the error as message. Relative paths are relative to `%SRCROOT%`, the
//! working directory of the run.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{failures, slash_path, url_path, version_list, Report};
use crate::judge::Policy;
use crate::model::{Diagnostic, Severity};

pub(crate) const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// (id, level, short description, full description)
const RULES: [(&str, &str, &str, &str); 6] = [
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

/// The location of a diagnostic: its file, line and, when known, columns and end line.
fn span(d: &Diagnostic) -> Value {
    let mut loc = location(&d.file, d.line);
    let region = &mut loc["physicalLocation"]["region"];
    if region.is_object() {
        if let Some(c) = d.column {
            region["startColumn"] = json!(c);
        }
        if let Some(l) = d.end_line {
            region["endLine"] = json!(l);
        }
        if let Some(c) = d.end_column {
            region["endColumn"] = json!(c);
        }
    }
    loc
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Style => "note",
    }
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
    result(rule, d.message.clone(), span(d), json!({}))
}

/// `not-reached` → `NotReached`.
fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        })
        .collect()
}

/// The descriptor of a rule the static findings report, from its first finding: docmatrix's
/// Dockerfile rules carry their why and fix; shellcheck's and hadolint's rules link to their
/// wiki.
fn finding_rule(id: &str, first: &Diagnostic) -> Value {
    let (short, full) = match id {
        "syntax" => (
            "Syntax error".to_string(),
            "The shell (bash -n, sh -n, zsh -n) or docmatrix's Dockerfile parser cannot read the \
             block, so it cannot run."
                .to_string(),
        ),
        "tool" => (
            "Static checker could not run".to_string(),
            "A checker (the shell's syntax check, shellcheck or hadolint) could not check the \
             block; the example does not fail for it."
                .to_string(),
        ),
        "powershell" => (
            "PowerShell session, not checked".to_string(),
            "A session written in PowerShell: bash -n and shellcheck read POSIX shell, so it is \
             neither checked nor run."
                .to_string(),
        ),
        _ => match &first.why {
            Some(why) => (why.clone(), why.clone()),
            None => (
                format!("{} rule {id}", first.tool),
                format!(
                    "Rule {id} of {}, found without running the block.",
                    first.tool
                ),
            ),
        },
    };
    let help_uri = if id.starts_with("SC") {
        Some(format!("https://www.shellcheck.net/wiki/{id}"))
    } else if id.starts_with("DL") {
        Some(format!("https://github.com/hadolint/hadolint/wiki/{id}"))
    } else {
        None
    };
    let help = match (&first.help, &help_uri) {
        (Some(h), _) if first.why.is_some() => h.clone(),
        (_, Some(uri)) => format!("See {uri}"),
        (Some(h), None) => h.clone(),
        (None, None) => full.clone(),
    };
    let mut rule = json!({
        "id": id,
        "name": pascal(id),
        "shortDescription": { "text": short },
        "fullDescription": { "text": full },
        "defaultConfiguration": { "level": level(first.severity) },
        "help": { "text": help },
        "properties": { "tool": first.tool },
    });
    if let Some(uri) = help_uri {
        rule["helpUri"] = json!(uri);
    }
    rule
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
    // The rules the findings report, each described by its first finding, after docmatrix's
    // own kinds of problem.
    let mut reported: BTreeMap<&str, &Diagnostic> = BTreeMap::new();
    for f in r.examples.iter().flat_map(|e| &e.findings) {
        if !RULES.iter().any(|r| r.0 == f.rule_id()) {
            reported.entry(f.rule_id()).or_insert(f);
        }
    }
    let index = |id: &str| {
        reported
            .keys()
            .position(|k| *k == id)
            .map_or_else(|| rule_index(id), |i| RULES.len() + i)
    };
    for e in &r.examples {
        for f in &e.findings {
            results.push(json!({
                "ruleId": f.rule_id(),
                "ruleIndex": index(f.rule_id()),
                "level": level(f.severity),
                "message": { "text": format!("{} ({}): {}", f.rule_id(), f.tool, f.message) },
                "locations": [span(f)],
                "properties": {
                    "rule": f.rule_id(),
                    "source": f.tool,
                    "severity": f.severity.as_str(),
                    "example": format!("{}:{}", slash_path(&e.file), e.line),
                },
            }));
        }
    }
    results.extend(r.errors.iter().map(|d| diagnostic("unreadable", d)));
    results.extend(r.warnings.iter().map(|d| diagnostic("annotation", d)));

    let mut rules: Vec<Value> = RULES
        .iter()
        .map(|(id, level, short, full)| {
            json!({
                "id": id,
                "name": pascal(id),
                "shortDescription": { "text": short },
                "fullDescription": { "text": full },
                "defaultConfiguration": { "level": level },
                "help": { "text": full },
            })
        })
        .collect();
    rules.extend(reported.iter().map(|(id, first)| finding_rule(id, first)));
    let mut doc = json!({
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
    if r.summary.blocked > 0 {
        doc["runs"][0]["properties"]["blocked"] = json!(r.summary.blocked);
    }
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    super::safe::inert_json(s)
}
