//! The finished report, and one module per output format. Formats read only the [`Report`]:
//! no processes, no file system beyond their output (and the CLI writes that).
//!
//! | format | module | for |
//! |---|---|---|
//! | `terminal` | [`terminal`] | a person at a terminal |
//! | `json` | [`json`] | programs; the input of `docmatrix merge` (docs/json.md) |
//! | `junit` | [`junit`] | CI test-report views (JUnit XML, via quick-junit) |
//! | `github` | [`github`] | GitHub Actions workflow commands: annotations at file:line |
//! | `markdown` | [`markdown`] | PR comments and the GitHub step summary |
//! | `sarif` | [`sarif`] | code scanning (SARIF 2.1.0) |
//! | `html` | [`html`] | the self-contained badge-report page |
//! | badges | [`badge`] | shields-style SVG badges and shields.io endpoint JSON |
//!
//! [`merge`] joins the reports of several runs (`--partition`) into one. [`safe`] escapes what
//! examples and tools wrote (when the report is assembled, and again in every renderer for a
//! report made elsewhere), and keeps every format's lines from reading as GitHub Actions
//! workflow commands.

pub mod badge;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod safe;
pub mod sarif;
pub mod terminal;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::interp::Interpreter;
use crate::judge::Policy;
use crate::model::Partition;
use crate::model::{findings_json, input_json, Diagnostic, Outcome, Status};
use crate::sys::sandbox::SandboxKind;
use crate::version::PyVersion;
pub use crate::version::{version_list, version_span};

impl Serialize for PyVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PyVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One example (a Python block) and its results on every version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Example {
    pub file: PathBuf,
    pub line: usize,
    pub end_line: usize,
    pub language: String,
    /// The label of the content tab the example sits in (`Python 3.10+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
    pub group: Option<String>,
    pub requires: Option<String>,
    /// What the block declares it needs installed (`deps=`, inline script metadata).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<String>,
    pub skip: Option<String>,
    /// A console session that runs the page's programs: each file it writes, and the block it
    /// took it from (`main.py = docs/guide.md:12`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    pub results: BTreeMap<PyVersion, Outcome>,
    pub measured: String,
    pub policy: Policy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_message: Option<String>,
    /// Static findings (syntax, shellcheck, Dockerfile rules, hadolint), by line.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "findings_json")]
    pub findings: Vec<Diagnostic>,
}

impl Example {
    /// `file:line` of the opening fence.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// [`Example::location`], and the tab the example sits in: `guide.md:10 "Python 3.10+"`.
    pub fn label(&self) -> String {
        match &self.tab {
            Some(t) => format!("{} \"{t}\"", self.location()),
            None => self.location(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub files: usize,
    pub examples: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Examples blocked everywhere they ran (nothing passed; see `Policy::Blocked`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blocked: usize,
    /// Jobs by status name (every status, zero or more).
    pub jobs: BTreeMap<String, usize>,
    /// Results served from the result cache rather than run.
    #[serde(default)]
    pub cached: usize,
}

/// Everything a run found, in a deterministic order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub versions: Vec<PyVersion>,
    /// `bwrap` or `none`.
    pub sandbox: SandboxKind,
    pub interpreters: BTreeMap<PyVersion, Option<Interpreter>>,
    /// The slice of the examples this run covered (`--partition K/N`); absent for a whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
    pub examples: Vec<Example>,
    pub other_blocks: BTreeMap<String, usize>,
    /// Reason → number of the blocks a reader sees that were not checked: the blocks of
    /// `other_blocks` (`language json`) and code that is not a fence (`indented code block`).
    #[serde(default)]
    pub not_checked: BTreeMap<String, usize>,
    #[serde(
        serialize_with = "input_json::serialize",
        deserialize_with = "input_json::warnings"
    )]
    pub warnings: Vec<Diagnostic>,
    #[serde(
        serialize_with = "input_json::serialize",
        deserialize_with = "input_json::errors"
    )]
    pub errors: Vec<Diagnostic>,
    pub summary: Summary,
    /// Foreign info-string attributes left alone, for `--verbose`.
    #[serde(skip)]
    pub foreign: Vec<Diagnostic>,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// "3 ok, 1 failed, 2 skipped", with ", 4 blocked" when some are.
pub(crate) fn example_counts(s: &Summary) -> String {
    let mut text = format!("{} ok, {} failed, {} skipped", s.ok, s.failed, s.skipped);
    if s.blocked > 0 {
        text.push_str(&format!(", {} blocked", s.blocked));
    }
    text
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why an example is blocked, in short: the first blocked cell's reason up to its details
/// ("needs the network", "cannot reach the package index").
pub(crate) fn blocked_reason(e: &Example) -> String {
    e.results
        .values()
        .filter(|o| o.status == Status::Blocked)
        .find_map(|o| o.reason.as_deref())
        .map(|r| r.split(": ").next().unwrap_or(r).to_string())
        .unwrap_or_else(|| "could not be decided here".into())
}

impl Report {
    /// Fills `summary` from the examples.
    pub(crate) fn summarize(&mut self, files: usize) {
        let mut s = Summary {
            files,
            examples: self.examples.len(),
            ..Default::default()
        };
        for st in Status::ALL {
            s.jobs.insert(st.as_str().to_string(), 0);
        }
        for e in &self.examples {
            match e.policy {
                Policy::Ok => s.ok += 1,
                Policy::Fail => s.failed += 1,
                Policy::Skipped => s.skipped += 1,
                Policy::Blocked => s.blocked += 1,
            }
            for o in e.results.values() {
                *s.jobs.entry(o.status.as_str().to_string()).or_default() += 1;
                s.cached += usize::from(o.cached);
            }
        }
        self.summary = s;
    }

    /// The process exit status: 0 when every example meets the policy and every file was read.
    pub fn exit_code(&self) -> i32 {
        if self.summary.failed > 0 || !self.errors.is_empty() {
            1
        } else {
            0
        }
    }

    /// The examples grouped by file, in report order.
    pub(crate) fn by_file(&self) -> Vec<(&PathBuf, Vec<&Example>)> {
        let mut out: Vec<(&PathBuf, Vec<&Example>)> = Vec::new();
        for e in &self.examples {
            match out.last_mut() {
                Some((f, list)) if *f == &e.file => list.push(e),
                _ => out.push((&e.file, vec![e])),
            }
        }
        out
    }

    /// How the examples fare on version `v` (see [`Tally`]).
    pub(crate) fn tally(&self, v: PyVersion) -> Tally {
        let mut t = Tally::default();
        for o in self.examples.iter().filter_map(|e| e.results.get(&v)) {
            if counts(o) {
                t.claimed += 1;
                if o.status == Status::Pass {
                    t.passed += 1;
                }
            }
            if o.status == Status::Unavailable {
                t.unavailable += 1;
            }
        }
        t
    }

    /// The versions on which every example that claims them passes, and that have at least
    /// one such example.
    pub(crate) fn fully_passing(&self) -> Vec<PyVersion> {
        self.versions
            .iter()
            .copied()
            .filter(|&v| {
                let t = self.tally(v);
                t.claimed > 0 && t.passed == t.claimed
            })
            .collect()
    }

    /// The versions that ran in an environment docmatrix built with the examples'
    /// dependencies, with its installed distributions (`name==version`).
    pub(crate) fn tested_with(&self) -> Vec<(PyVersion, &Interpreter)> {
        self.versions
            .iter()
            .filter_map(|v| match self.interpreters.get(v) {
                Some(Some(i)) if !i.packages.is_empty() => Some((*v, i)),
                _ => None,
            })
            .collect()
    }

    /// The interpreters' exact versions (`3.12.1`, `3.12.1 in python:3.12-slim` for one in a
    /// container), or `3.12 (missing)`.
    pub(crate) fn interpreter_list(&self) -> Vec<String> {
        self.versions
            .iter()
            .map(|v| match self.interpreters.get(v) {
                Some(Some(i)) => interpreter_name(i),
                _ if self.examples.is_empty() => v.to_string(),
                _ => format!("{v} (missing)"),
            })
            .collect()
    }
}

/// An interpreter's exact version, and the image it ran in for the container backend:
/// `3.12.1`, `3.12.1 in python:3.12-slim`.
pub(crate) fn interpreter_name(i: &Interpreter) -> String {
    match &i.container {
        Some(c) => format!("{} in {}", i.version, c.image),
        None => i.version.clone(),
    }
}

/// The cells of one version: `passed` of the `claimed` ones (every cell but an explicit skip
/// and a version outside the example's `requires`; a cell with no interpreter, or not reached
/// after a failure in its group, is claimed and not passed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub passed: usize,
    pub claimed: usize,
    pub unavailable: usize,
}

/// Whether a cell is one the example claims to work on.
fn counts(o: &Outcome) -> bool {
    match o.status {
        Status::Pass | Status::Fail | Status::Timeout | Status::Unavailable => true,
        Status::Skipped => not_reached(o),
        // Blocked cells could not be decided here: neither a pass nor a failure.
        Status::NotApplicable | Status::Blocked => false,
    }
}

/// A block of a group that the program never reached.
pub(crate) fn not_reached(o: &Outcome) -> bool {
    o.not_reached.is_some()
}

/// Whether a cell breaks the policy of its example (when the example claims that version).
pub(crate) fn is_problem(o: &Outcome) -> bool {
    matches!(
        o.status,
        Status::Fail | Status::Timeout | Status::Unavailable
    ) || not_reached(o)
}

/// The kind of problem a cell is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    Fail,
    Timeout,
    Unavailable,
    NotReached,
    /// Not a problem (a pass, a skip, ...): the status names it.
    Other(Status),
}

impl Problem {
    pub fn of(o: &Outcome) -> Problem {
        match o.status {
            _ if not_reached(o) => Problem::NotReached,
            Status::Fail => Problem::Fail,
            Status::Timeout => Problem::Timeout,
            Status::Unavailable => Problem::Unavailable,
            s => Problem::Other(s),
        }
    }

    /// `fail`, `timeout`, `unavailable`, `not-reached` (or the status's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::NotReached => "not-reached",
            Problem::Fail => Status::Fail.as_str(),
            Problem::Timeout => Status::Timeout.as_str(),
            Problem::Unavailable => Status::Unavailable.as_str(),
            Problem::Other(s) => s.as_str(),
        }
    }
}

/// Versions that failed one way at one line, and the first of their outcomes.
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    pub versions: Vec<PyVersion>,
    pub outcome: &'a Outcome,
}

impl Failure<'_> {
    /// The one-line error: the exception, `timed out after 2s`, or the reason.
    pub fn text(&self) -> &str {
        let o = self.outcome;
        o.error.as_deref().or(o.reason.as_deref()).unwrap_or("")
    }

    /// The Markdown line it happened at, else the example's opening fence.
    pub fn line(&self, e: &Example) -> usize {
        self.outcome.md_line.unwrap_or(e.line)
    }
}

/// `"s"` unless `n` is 1, for plurals in the reports.
/// The failing code line of `o` and the number to show beside it: its line in the file it
/// was included from (`source`, `docs_src/app.py:12`), else its Markdown line.
pub(crate) fn code_line(o: &Outcome) -> Option<(usize, &str)> {
    let code = o.code.as_deref()?;
    let in_source = o
        .source
        .as_deref()
        .and_then(|s| s.rsplit_once(':'))
        .and_then(|(_, n)| n.parse().ok());
    Some((in_source.or(o.md_line)?, code))
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The problem cells of `e` (see [`is_problem`]), grouped across versions by line, status and
/// error type (messages may name each interpreter's own paths), ordered by first version.
pub fn failures(e: &Example) -> Vec<Failure<'_>> {
    let mut groups: BTreeMap<(Option<usize>, Status, String), Failure> = BTreeMap::new();
    for (v, o) in e.results.iter().filter(|(_, o)| is_problem(o)) {
        let kind = o
            .error_type
            .clone()
            .or_else(|| o.error.clone())
            .or_else(|| o.reason.clone())
            .unwrap_or_default();
        groups
            .entry((o.md_line, o.status, kind))
            .or_insert_with(|| Failure {
                versions: Vec::new(),
                outcome: o,
            })
            .versions
            .push(*v);
    }
    let mut list: Vec<_> = groups.into_values().collect();
    list.sort_by_key(|f| f.versions.first().copied());
    list
}

/// How the reports show a status: the terminal's and the HTML page's symbol (one column
/// wide), and the Markdown matrix's emoji.
pub(crate) struct Symbol {
    pub terminal: &'static str,
    pub html: &'static str,
    pub emoji: &'static str,
}

/// The one table of status symbols.
pub(crate) fn symbol(status: Status) -> Symbol {
    let (terminal, html, emoji) = match status {
        Status::Pass => ("✓", "✓", "✅"),
        Status::Fail => ("✗", "✗", "❌"),
        Status::Timeout => ("⧗", "⧗", "⏱️"),
        Status::Skipped => ("-", "–", "⏭️"),
        Status::NotApplicable => ("·", "·", "➖"),
        Status::Unavailable => ("?", "?", "❔"),
        Status::Blocked => ("⊘", "⊘", "🚧"),
    };
    Symbol {
        terminal,
        html,
        emoji,
    }
}

/// A path as written in reports and links: `/` separators. (Only on Windows is `\` one:
/// elsewhere it is part of a name, or of an escape, see [`safe`].)
pub fn slash_path(p: &std::path::Path) -> String {
    let s = p.to_string_lossy();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.into_owned()
    }
}

/// Where links to the Markdown files point (HTML, Markdown).
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Put before each file's path: a repository's blob URL at a commit
    /// (`…/blob/SHA/`), or `../` steps from the page up to the working directory.
    pub prefix: String,
}

impl Links {
    /// The link to line `line` of `file`: `PREFIX/file#Lline`; an absolute path gives a
    /// `file://` URL.
    pub fn to(&self, file: &std::path::Path, line: usize) -> String {
        let path = slash_path(file);
        if path.starts_with('/') && !self.prefix.contains("://") {
            format!("file://{}#L{line}", url_path(&path))
        } else {
            format!(
                "{}{}#L{line}",
                self.prefix,
                url_path(path.trim_start_matches("./"))
            )
        }
    }
}

/// Percent-encodes a path for a URL: everything but unreserved characters and `/`.
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Every output format that renders a [`Report`] as one text (the variants' comments are
/// the command line's help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The matrix, failures and summary, for a person
    Terminal,
    /// One JSON document (docs/json.md); the input of `docmatrix merge`
    Json,
    /// JUnit XML: a test case per example and version
    Junit,
    /// GitHub Actions workflow commands: `::error` annotations at file:line
    Github,
    /// A Markdown matrix, for a pull-request comment or a step summary
    Markdown,
    /// SARIF 2.1.0, for code scanning
    Sarif,
    /// The self-contained HTML page of the badge report
    Html,
}

/// What a renderer may be told beyond the report.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub style: terminal::Style,
    pub links: Links,
}

impl Format {
    pub(crate) const ALL: [Format; 7] = [
        Format::Terminal,
        Format::Json,
        Format::Junit,
        Format::Github,
        Format::Markdown,
        Format::Sarif,
        Format::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Terminal => "terminal",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Github => "github",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
            Format::Html => "html",
        }
    }

    /// The report in this format.
    pub fn render(self, r: &Report, o: &Options) -> String {
        match self {
            Format::Terminal => terminal::render(r, o.style),
            Format::Json => json::render(r),
            Format::Junit => junit::render(r),
            Format::Github => github::render(r),
            Format::Markdown => markdown::render(r, &o.links),
            Format::Sarif => sarif::render(r),
            Format::Html => html::render(r, &o.links),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format `{s}` (one of {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PyVersion {
        s.parse().unwrap()
    }

    #[test]
    fn spans() {
        let all = [v("3.9"), v("3.10"), v("3.11"), v("3.12")];
        assert_eq!(version_span(&all, &all[1..]), "3.10–3.12");
        assert_eq!(
            version_span(&all, &[v("3.9"), v("3.11"), v("3.12")]),
            "3.9, 3.11–3.12"
        );
        assert_eq!(version_span(&all, &[v("3.12")]), "3.12");
        assert_eq!(version_span(&all, &[]), "");
    }

    #[test]
    fn links() {
        let l = Links::default();
        assert_eq!(l.to("docs/a b.md".as_ref(), 3), "docs/a%20b.md#L3");
        assert_eq!(l.to("/abs/x.md".as_ref(), 1), "file:///abs/x.md#L1");
        let l = Links {
            prefix: "../".into(),
        };
        assert_eq!(l.to("./docs/é.md".as_ref(), 2), "../docs/%C3%A9.md#L2");
    }
}
