//! One module per snippet kind: how a job becomes a command, and how its result is read.

pub mod dockerfile;
pub(crate) mod netfail;
pub mod python;
pub mod shell;
pub mod tool;

use crate::model::{Diagnostic, Lang, Severity, Snippet};

/// What the linters report, and where their outputs are cached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckOptions<'a> {
    /// shellcheck findings below this are dropped.
    pub shellcheck_min: Severity,
    /// hadolint findings below this are dropped.
    pub hadolint_min: Severity,
    /// The run's result cache: checkers' outputs are served from it and stored in it.
    pub cache: Option<&'a crate::cache::Cache>,
}

/// The static findings of one block (no execution), at Markdown lines, sorted, without the
/// rules its `ignore=` annotation names (`syntax` included). Skipped blocks and Python blocks
/// have none.
pub(crate) fn static_findings(s: &Snippet, opts: CheckOptions) -> Vec<Diagnostic> {
    if s.annotations.skip.is_some() {
        return Vec::new();
    }
    let mut out = match s.lang {
        Lang::Shell(_) | Lang::Session => shell::findings(s, opts.shellcheck_min, opts.cache),
        Lang::Dockerfile => dockerfile::findings(s, opts.hadolint_min, opts.cache),
        Lang::Python | Lang::PowerShell | Lang::Other(_) => Vec::new(),
    };
    // `ignore=syntax` drops syntax errors too: the author knows the block is not meant to
    // parse (a placeholder such as `<package>`). The checks that need a parsed block still
    // did not happen.
    out.retain(|f| {
        !s.annotations
            .ignore
            .iter()
            .any(|i| i.eq_ignore_ascii_case(f.rule_id()))
    });
    // One finding per problem and line, wherever on the line (the first by column).
    out.sort();
    out.dedup_by(|later, first| later.same_problem(first));
    out
}

/// A text a checker read, and where its lines are in a block: places the checker's
/// diagnostics (at lines and character columns of `text`) in the block's Markdown file.
pub(crate) struct Checked<'a> {
    pub snippet: &'a Snippet,
    /// What the checker read.
    pub text: &'a str,
    /// For each line of `text`, its 1-based code line (`0`: none, such as a frame line).
    pub lines: Vec<usize>,
}

impl<'a> Checked<'a> {
    /// The block's code, read as it is.
    pub fn code(snippet: &'a Snippet) -> Self {
        Checked {
            snippet,
            text: &snippet.code,
            lines: (1..=snippet.code.lines().count()).collect(),
        }
    }

    /// The code line of line `n` of the text (`0` when none).
    pub fn code_line(&self, n: usize) -> usize {
        n.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The Markdown position of `(line, column)` of the text: its Markdown line (the closing
    /// fence past the code) and column, when known.
    fn md(&self, line: usize, column: Option<usize>) -> (usize, Option<usize>) {
        let code_line = self.code_line(line);
        let checked = line
            .checked_sub(1)
            .and_then(|i| self.text.lines().nth(i))
            .unwrap_or("");
        (
            self.snippet.md_line(code_line),
            column.and_then(|c| self.snippet.md_column(code_line, checked, c)),
        )
    }

    /// `d` placed in the Markdown: the block's file, the Markdown line, and the columns when
    /// they can be known.
    pub fn place(&self, mut d: Diagnostic) -> Diagnostic {
        let line = d.line.unwrap_or(1);
        let (md_line, column) = self.md(line, d.column);
        let end = d.end_line.unwrap_or(line);
        let (md_end, end_column) = self.md(end, d.end_column);
        d.file = self.snippet.file.clone();
        d.line = Some(md_line);
        let column = column.filter(|_| md_end >= md_line);
        d.with_span(column, Some(md_end), end_column)
    }
}

/// Runs the jobs of shell and Dockerfile blocks.
pub(crate) struct Others {
    pub shell: shell::run::Runner,
    pub docker: dockerfile::Runner,
}

impl crate::run::Executor for Others {
    fn execute(&self, job: &crate::model::Job) -> crate::model::JobResult {
        match job.kind {
            crate::model::JobKind::Dockerfile => self.docker.execute(job),
            _ => self.shell.execute(job),
        }
    }

    fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
        self.shell.sandbox.kind()
    }
}
