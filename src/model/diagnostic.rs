//! [`Diagnostic`]: the one shape of a problem found without running anything, ruff-style.
//!
//! Every checker makes them (`bash -n`, shellcheck, hadolint, docmatrix's Dockerfile parser and
//! rules, the PowerShell note) at lines and columns of the text it read, and the block's
//! checker places them in the Markdown ([`crate::lang::Checked`]); reading the files makes them
//! for the input's own problems (an unreadable file, an unclosed fence, an unknown annotation),
//! which have no rule. Every reporter reads them.
//!
//! The JSON report keeps its two shapes: a block's finding (`examples[].findings`, whose file
//! is the example's) and a problem of the input (`warnings`, `errors`); see docs/json.md.

use std::cmp::Ordering;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Severity;

/// A problem at a file and, when known, a span of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The Markdown file (empty while a checker's diagnostic is not yet placed).
    pub file: PathBuf,
    /// 1-based line: the Markdown line once placed, a line of the checked text before.
    pub line: Option<usize>,
    /// 1-based column of the start, in Unicode code points, when known.
    pub column: Option<usize>,
    /// The line the span ends on, when it is not `line`.
    pub end_line: Option<usize>,
    /// 1-based column just after the end of the span (on `end_line`, else `line`), when known.
    pub end_column: Option<usize>,
    pub severity: Severity,
    /// Who found it: `docmatrix`, `bash -n`, `sh -n`, `zsh -n`, `shellcheck`, `hadolint`.
    pub tool: String,
    /// The rule id (`DF003`, `SC2086`, `DL3008`, `syntax`, `tool`, `powershell`); `None` for a
    /// problem of the input itself.
    pub rule: Option<String>,
    pub message: String,
    /// One line: why it matters.
    pub why: Option<String>,
    /// One line: how to fix it, or where the rule is explained.
    pub help: Option<String>,
}

impl Diagnostic {
    fn input(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column: None,
            end_line: None,
            end_column: None,
            severity,
            tool: "docmatrix".into(),
            rule: None,
            message: message.into(),
            why: None,
            help: None,
        }
    }

    /// A warning about the input (an annotation docmatrix does not know, an unclosed fence).
    pub fn warning(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self::input(file, line, Severity::Warning, message)
    }

    /// An input that could not be read.
    pub fn error(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self::input(file, line, Severity::Error, message)
    }

    /// A note about the input (a foreign attribute left alone).
    pub fn note(file: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self::input(file, line, Severity::Info, message)
    }

    /// A checker's finding at 1-based `line` of the text it read (no file yet).
    pub fn finding(
        line: usize,
        severity: Severity,
        tool: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            tool: tool.into(),
            rule: Some(rule.into()),
            ..Self::input(PathBuf::new(), Some(line), severity, message)
        }
    }

    pub(crate) fn with_why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The span's columns (1-based; `end_column` just after its end) and its end line.
    pub(crate) fn with_span(
        mut self,
        column: Option<usize>,
        end_line: Option<usize>,
        end_column: Option<usize>,
    ) -> Self {
        self.column = column.filter(|&c| c > 0);
        self.end_line = end_line.filter(|&l| Some(l) != self.line);
        self.end_column = end_column.filter(|&c| c > 0 && self.column.is_some());
        self
    }

    /// The rule id, `""` for a problem of the input.
    pub(crate) fn rule_id(&self) -> &str {
        self.rule.as_deref().unwrap_or("")
    }

    /// The line, `0` when unknown.
    pub(crate) fn line_or_zero(&self) -> usize {
        self.line.unwrap_or(0)
    }

    /// The same problem, wherever on its line it is: reports keep one of such diagnostics (the
    /// first by column).
    pub(crate) fn same_problem(&self, other: &Diagnostic) -> bool {
        self.key() == other.key()
    }

    #[allow(clippy::type_complexity)]
    fn key(
        &self,
    ) -> (
        &PathBuf,
        Option<usize>,
        Severity,
        &str,
        &Option<String>,
        &str,
        &Option<String>,
        &Option<String>,
    ) {
        (
            &self.file,
            self.line,
            self.severity,
            &self.tool,
            &self.rule,
            &self.message,
            &self.why,
            &self.help,
        )
    }

    /// `file:line: message`, or `file: message`.
    pub fn display(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{}: {}", self.file.display(), l, self.message),
            None => format!("{}: {}", self.file.display(), self.message),
        }
    }
}

/// By file, line, severity, tool, rule, message and texts, then by span: the order reports
/// list them in.
impl Ord for Diagnostic {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key()).then_with(|| {
            (self.column, self.end_line, self.end_column).cmp(&(
                other.column,
                other.end_line,
                other.end_column,
            ))
        })
    }
}

impl PartialOrd for Diagnostic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The JSON shape of a block's finding: its file is the example's.
#[derive(Serialize, Deserialize)]
struct FindingJson {
    line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    severity: Severity,
    source: String,
    rule: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

/// The JSON shape of a problem of the input.
#[derive(Serialize, Deserialize)]
struct InputJson {
    file: PathBuf,
    line: Option<usize>,
    message: String,
}

/// `examples[].findings` in JSON; read back without a file (the report gives them the
/// example's: [`crate::report::Report`]).
pub mod findings_json {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[Diagnostic], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| FindingJson {
            line: d.line_or_zero(),
            column: d.column,
            end_line: d.end_line,
            end_column: d.end_column,
            severity: d.severity,
            source: d.tool.clone(),
            rule: d.rule_id().to_string(),
            message: d.message.clone(),
            why: d.why.clone(),
            fix: d.help.clone(),
        }))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Diagnostic>, D::Error> {
        let v: Vec<FindingJson> = Vec::deserialize(d)?;
        Ok(v.into_iter()
            .map(|f| Diagnostic {
                file: PathBuf::new(),
                line: Some(f.line),
                column: f.column,
                end_line: f.end_line,
                end_column: f.end_column,
                severity: f.severity,
                tool: f.source,
                rule: Some(f.rule),
                message: f.message,
                why: f.why,
                help: f.fix,
            })
            .collect())
    }
}

/// `warnings` and `errors` in JSON.
pub mod input_json {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[Diagnostic], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| InputJson {
            file: d.file.clone(),
            line: d.line,
            message: d.message.clone(),
        }))
    }

    /// The JSON value of a list of problems of the input.
    pub fn to_value(v: &[Diagnostic]) -> serde_json::Value {
        serialize(v, serde_json::value::Serializer).unwrap_or_default()
    }

    fn read<'de, D: Deserializer<'de>>(
        d: D,
        make: fn(PathBuf, Option<usize>, String) -> Diagnostic,
    ) -> Result<Vec<Diagnostic>, D::Error> {
        let v: Vec<InputJson> = Vec::deserialize(d)?;
        Ok(v.into_iter()
            .map(|i| make(i.file, i.line, i.message))
            .collect())
    }

    pub fn warnings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Diagnostic>, D::Error> {
        read(d, Diagnostic::warning)
    }

    pub fn errors<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Diagnostic>, D::Error> {
        read(d, Diagnostic::error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_problems_differ_only_by_span() {
        let a = Diagnostic::finding(3, Severity::Warning, "shellcheck", "SC2086", "quote it")
            .with_span(Some(9), Some(3), Some(12));
        let b = a.clone().with_span(Some(2), None, None);
        assert!(a.same_problem(&b));
        assert_eq!(a.end_line, None, "an end on the start line is not kept");
        let mut v = vec![a.clone(), b.clone()];
        v.sort();
        v.dedup_by(|x, y| x.same_problem(y));
        assert_eq!(v, vec![b]);
        let c = Diagnostic::finding(3, Severity::Error, "bash -n", "syntax", "x");
        assert!(
            a < c,
            "warnings before errors on a line, as findings always were"
        );
    }

    #[test]
    fn json_shapes_are_kept() {
        #[derive(Serialize, Deserialize)]
        struct Both {
            #[serde(with = "findings_json")]
            findings: Vec<Diagnostic>,
            #[serde(serialize_with = "input_json::serialize")]
            #[serde(deserialize_with = "input_json::errors")]
            errors: Vec<Diagnostic>,
        }
        let both = Both {
            findings: vec![
                Diagnostic::finding(4, Severity::Info, "docmatrix", "DF005", "m")
                    .with_why("w")
                    .with_help("h")
                    .with_span(Some(5), None, Some(12)),
            ],
            errors: vec![Diagnostic::error("a.md", None, "unreadable")],
        };
        let text = serde_json::to_string(&both).unwrap();
        assert_eq!(
            text,
            r#"{"findings":[{"line":4,"column":5,"end_column":12,"severity":"info","source":"docmatrix","rule":"DF005","message":"m","why":"w","fix":"h"}],"errors":[{"file":"a.md","line":null,"message":"unreadable"}]}"#
        );
        let back: Both = serde_json::from_str(&text).unwrap();
        assert_eq!(back.errors, both.errors);
        assert_eq!(back.findings, both.findings);
    }
}
