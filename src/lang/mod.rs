//! One module per snippet kind: how a job becomes a command, and how its result is read.

pub mod dockerfile;
pub mod netfail;
pub mod python;
pub mod shell;
pub mod tool;

use crate::model::{Finding, Lang, Severity, Snippet};

/// What the linters report, and where their outputs are cached.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions<'a> {
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
pub fn static_findings(s: &Snippet, opts: CheckOptions) -> Vec<Finding> {
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
            .any(|i| i.eq_ignore_ascii_case(&f.rule))
    });
    out.sort();
    out.dedup();
    out
}

/// Runs the jobs of shell and Dockerfile blocks.
pub struct Others {
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
