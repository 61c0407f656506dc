//! Plain data shared by every stage: snippets, diagnostics, statuses.
//!
//! Nothing here does I/O; everything is `Clone` and serialisable.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::version::Specifier;

/// The kind of a code block, from the first word of its info string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    /// Any other language, normalised to lower case (`""` when the fence names none).
    Other(String),
}

impl Lang {
    pub fn from_word(word: &str) -> Lang {
        let w = word.trim_start_matches('.').to_ascii_lowercase();
        match w.as_str() {
            "python" | "py" | "python3" => Lang::Python,
            _ => Lang::Other(w),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Lang::Python => "python",
            Lang::Other(s) if s.is_empty() => "(none)",
            Lang::Other(s) => s,
        }
    }
}

/// What the annotations of one block say, after merging file-wide, comment and info-string
/// attributes (the nearer one wins).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// `Some(reason)` when the block is skipped; the reason may be empty.
    pub skip: Option<String>,
    pub requires: Option<Specifier>,
    pub group: Option<String>,
    pub raises: Option<String>,
    /// Seconds.
    pub timeout: Option<f64>,
}

/// One fenced code block of a Markdown file.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// The file as walked (relative when the walk started from a relative path).
    pub file: PathBuf,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// 1-based line of the closing fence (the last line of the block when unclosed).
    pub end_line: usize,
    pub lang: Lang,
    /// The whole info string, as written.
    pub info: String,
    /// The code, with `\n` line ends.
    pub code: String,
    /// For every code line, its 1-based Markdown line.
    pub code_lines: Vec<usize>,
    pub annotations: Annotations,
    /// Info-string attributes left to renderers and other tools (`title`, `hl_lines`, ...).
    pub foreign_attrs: Vec<String>,
}

impl Snippet {
    /// The Markdown line of 1-based code line `n`; lines past the end map to the closing fence.
    pub fn md_line(&self, n: usize) -> usize {
        match n.checked_sub(1).and_then(|i| self.code_lines.get(i)) {
            Some(&l) => l,
            None => self.end_line,
        }
    }

    /// The text of 1-based code line `n`, if it exists.
    pub fn code_line(&self, n: usize) -> Option<&str> {
        n.checked_sub(1).and_then(|i| self.code.lines().nth(i))
    }
}

/// A message about the input, at a file and (when known) a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            message: message.into(),
        }
    }

    /// `file:line: message`, or `file: message`.
    pub fn display(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{}: {}", self.file.display(), l, self.message),
            None => format!("{}: {}", self.file.display(), self.message),
        }
    }
}

/// The status of one example on one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    Timeout,
    Skipped,
    NotApplicable,
    Unavailable,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::Timeout,
        Status::Skipped,
        Status::NotApplicable,
        Status::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Timeout => "timeout",
            Status::Skipped => "skipped",
            Status::NotApplicable => "not-applicable",
            Status::Unavailable => "unavailable",
        }
    }
}

/// The result of one example on one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    /// One line: `ExceptionType: message`, the syntax error, `exit code 3`, `timed out after 2s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The Markdown line of the failing code line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why a job was skipped, not applicable or unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The text of the failing line, as written in the Markdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The result came from the cache (see `docmatrix cache`), not from a run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// The tail of the program's stderr, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

impl Outcome {
    pub fn decided(status: Status, reason: impl Into<String>) -> Self {
        Outcome {
            status,
            error: None,
            error_type: None,
            md_line: None,
            exit_code: None,
            reason: Some(reason.into()),
            duration_ms: None,
            code: None,
            cached: false,
            stderr: None,
        }
    }

    pub fn bare(status: Status) -> Self {
        Outcome {
            reason: None,
            ..Outcome::decided(status, "")
        }
    }
}
