//! Plain data shared by every stage: snippets, diagnostics, statuses.
//!
//! Nothing here does I/O; everything is `Clone` and serialisable.

mod diagnostic;
mod job;

pub use diagnostic::{findings_json, input_json, Diagnostic};
pub use job::{BlockResult, Job, JobKind, JobResult, Member, Preimport, STDOUT_KEPT};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::version::Specifier;

/// The kind of a code block, from the first word of its info string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    Python,
    /// A shell script (`bash`, `shell`, `sh`, `zsh`).
    Shell(Shell),
    /// A terminal session (`console`, `shell-session`, `terminal`): `$ ` or `# ` prompt lines
    /// are commands, the lines after one are its expected output.
    Session,
    /// `dockerfile`, `Dockerfile`, `docker`, `containerfile`.
    Dockerfile,
    /// `powershell`, `pwsh`, `ps1`, `ps`, `posh`: recognised, not POSIX shell, not checked.
    PowerShell,
    /// Any other language, normalised to lower case (`""` when the fence names none).
    Other(String),
}

/// The shell a script block is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shell {
    /// `bash` and `shell`.
    Bash,
    /// `sh`: POSIX sh (checked with `sh -n`, run with `sh`).
    Sh,
    /// `zsh`: checked and run with bash when zsh is not installed.
    Zsh,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Sh => "sh",
            Shell::Zsh => "zsh",
        }
    }
}

impl Lang {
    pub(crate) fn from_word(word: &str) -> Lang {
        let w = word.trim_start_matches('.').to_ascii_lowercase();
        match w.as_str() {
            "python" | "py" | "python3" => Lang::Python,
            "bash" | "shell" => Lang::Shell(Shell::Bash),
            "sh" => Lang::Shell(Shell::Sh),
            "zsh" => Lang::Shell(Shell::Zsh),
            "console" | "shell-session" | "shellsession" | "terminal" => Lang::Session,
            "dockerfile" | "docker" | "containerfile" => Lang::Dockerfile,
            "powershell" | "pwsh" | "ps1" | "ps" | "posh" => Lang::PowerShell,
            _ => Lang::Other(w),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Lang::Python => "python",
            Lang::Shell(s) => s.name(),
            Lang::Session => "console",
            Lang::Dockerfile => "dockerfile",
            Lang::PowerShell => "powershell",
            Lang::Other(s) if s.is_empty() => "(none)",
            Lang::Other(s) => s,
        }
    }

    /// Whether docmatrix checks blocks of this language (the others are only counted).
    pub fn is_checked(&self) -> bool {
        !matches!(self, Lang::Other(_) | Lang::PowerShell)
    }
}

/// How serious a static finding is, from least to most.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Style,
    Info,
    #[serde(alias = "warn")]
    #[value(alias = "warn")]
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Style => "style",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "style" => Ok(Severity::Style),
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            _ => Err(format!(
                "unknown severity `{s}` (expected style, info, warning or error)"
            )),
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
    /// `run` / `no-run`: whether a shell block is executed (static checks always happen).
    pub run: Option<bool>,
    /// `network`: the block may use the network (shell runs, Dockerfile builds).
    pub network: bool,
    /// `context=DIR`: a Dockerfile's build context, relative to the Markdown file.
    pub context: Option<String>,
    /// `ignore=ID,ID`: static-check rules not reported for this block.
    pub ignore: Vec<String>,
    /// `deps="httpx rich>=13"`, and the `dependencies` of inline script metadata (PEP 723):
    /// what the block needs installed besides the configured dependencies.
    pub deps: Vec<String>,
    /// `page` (usually file-wide): the file's Python examples run in order in one namespace,
    /// each judged on its own (`Some(false)`: this block stays out of the page).
    pub page: Option<bool>,
    /// `setup=false` / `no-setup`: the configured setup code does not run before this block.
    pub setup: Option<bool>,
    /// `args="Camila --formal"`: the command-line arguments a Python program block runs with
    /// (`sys.argv[1:]`), split as a POSIX shell splits them.
    pub args: Option<Vec<String>>,
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
    /// The code, with `\n` line ends; shared with the jobs that run it.
    pub code: std::sync::Arc<str>,
    /// For every code line, its 1-based Markdown line.
    pub code_lines: Vec<usize>,
    /// For every code line, how many characters come before it on its Markdown line (a list's
    /// indentation, a quote's `> `), when the Markdown line ends with the code line as it is;
    /// empty when unknown (included code).
    pub code_cols: Vec<Option<usize>>,
    pub annotations: Annotations,
    /// Info-string attributes left to renderers and other tools (`title`, `hl_lines`, ...).
    pub foreign_attrs: Vec<String>,
    /// The label of the content tab the block sits in (`=== "Python 3.10+"`), if any.
    pub tab: Option<String>,
    /// Where included code lines come from (see [`crate::include`]); empty without includes.
    pub sources: Vec<Source>,
    /// Why the block's includes could not be read: (Markdown line, message). The example
    /// fails with it on every version.
    pub include_error: Option<(usize, String)>,
    /// A Python interactive session (`pycon`, `doctest`, or `>>> ` first): its statements run
    /// one by one and their output is compared with the lines below each, as `doctest` does.
    pub session: bool,
}

/// A run of code lines included from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file, relative to the project root.
    pub path: PathBuf,
    /// The Markdown line of the include.
    pub md_line: usize,
    /// 0-based index of the first code line it gave.
    pub code_start: usize,
    /// 1-based line of the file that code line is.
    pub file_line: usize,
    pub len: usize,
}

impl Snippet {
    /// The Markdown line of 1-based code line `n`; lines past the end map to the closing fence.
    pub fn md_line(&self, n: usize) -> usize {
        match n.checked_sub(1).and_then(|i| self.code_lines.get(i)) {
            Some(&l) => l,
            None => self.end_line,
        }
    }

    /// `path:line` of 1-based code line `n` when it was included from a file.
    pub(crate) fn source_of(&self, n: usize) -> Option<String> {
        let i = n.checked_sub(1)?;
        self.sources
            .iter()
            .find(|s| s.code_start <= i && i < s.code_start + s.len)
            .map(|s| format!("{}:{}", s.path.display(), s.file_line + (i - s.code_start)))
    }

    /// The text of 1-based code line `n`, if it exists.
    pub fn code_line(&self, n: usize) -> Option<&str> {
        n.checked_sub(1).and_then(|i| self.code.lines().nth(i))
    }

    /// The 1-based Markdown column of 1-based `column` (in characters) of `checked`, a line
    /// some checker read that is code line `n` or its end (a session's command without its
    /// prompt); `None` when that cannot be known.
    pub(crate) fn md_column(&self, n: usize, checked: &str, column: usize) -> Option<usize> {
        let before = (*self.code_cols.get(n.checked_sub(1)?)?)?;
        let code = self.code_line(n)?;
        let width = checked.chars().count();
        if !code.ends_with(checked) || column == 0 || column > width + 1 {
            return None;
        }
        Some(before + code.chars().count() - width + column)
    }
}

/// A code block a reader sees that docmatrix does not check, and why (`indented code block`,
/// `language json`, `unknown include syntax`, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unread {
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl Snippet {
    /// Why a block of a language docmatrix does not check is not checked.
    pub(crate) fn unchecked_reason(&self) -> Option<String> {
        match &self.lang {
            Lang::Other(l) if l.is_empty() => Some("fence without a language".into()),
            Lang::Other(l) if l.starts_with('{') => Some(format!("MyST directive {l}")),
            Lang::Other(l) => Some(format!("language {l}")),
            Lang::PowerShell => Some("language powershell".into()),
            _ => None,
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
    /// Could not be decided here: it needs the network (which is off), a build context the
    /// guide does not provide, or a base image that is not present.
    Blocked,
}

impl Status {
    pub(crate) const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Timeout,
        Status::Skipped,
        Status::NotApplicable,
        Status::Unavailable,
        Status::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Timeout => "timeout",
            Status::Skipped => "skipped",
            Status::NotApplicable => "not-applicable",
            Status::Unavailable => "unavailable",
            Status::Blocked => "blocked",
        }
    }
}

/// Why a block of a group did not run (its cell is `skipped`, and the policy counts it as a
/// problem: the example claims that version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotReached {
    /// An earlier block of its group failed or timed out.
    AfterFailure,
    /// The program ended before it (`os._exit`, a signal) without a block failing.
    ProgramEnded,
}

impl NotReached {
    /// The cell's reason, before the report names the block that stopped the group.
    pub fn text(self) -> &'static str {
        match self {
            NotReached::AfterFailure => "not reached: an earlier block of its group did not finish",
            NotReached::ProgramEnded => "not reached: the program ended earlier",
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
    /// A block of a group the program never reached (`skipped`, and a problem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_reached: Option<NotReached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The text of the failing line, as written in the Markdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The result came from the cache (see `docmatrix cache`), not from a run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// For code included from a file: `path:line` of the failing line in that file
    /// (`md_line` is then the Markdown line of the include).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The failing 1-based code line, to map it again for an example that shares this result.
    #[serde(skip)]
    pub code_line: Option<u32>,
    /// The tail of the program's stderr, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// For a session whose output differs from the guide's: expected (`-`) against actual
    /// (`+`) lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
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
            not_reached: None,
            duration_ms: None,
            code: None,
            cached: false,
            source: None,
            code_line: None,
            stderr: None,
            diff: None,
        }
    }

    pub fn bare(status: Status) -> Self {
        Outcome {
            reason: None,
            ..Outcome::decided(status, "")
        }
    }
}

/// Shard `index` of `count`, 1-based: `--partition 2/3` is `{index: 2, count: 3}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a partition like 2/3 (shard K of N, 1 <= K <= N)");
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }
}
