//! Jobs and their results: what the planner hands the executors and what comes back. Plain
//! data, shared by every language.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{NotReached, Shell, Status};
use crate::version::PyVersion;

/// One block of a job: the example it reports to, and what it runs.
#[derive(Debug, Clone)]
pub struct Member {
    /// Index into the examples being planned.
    pub example: usize,
    /// The example's code, shared with its snippet and its jobs on other versions.
    pub code: std::sync::Arc<str>,
    pub raises: Option<String>,
    /// The code is an interactive session ([`super::Snippet::session`]).
    pub session: bool,
    /// The session is MyST's `{doctest}` directive: judged as Sphinx's doctest extension
    /// judges it (exception details ignored, no `__name__` in the namespace).
    pub sphinx: bool,
    /// The program's command-line arguments (`args=`).
    pub args: Vec<String>,
}

impl Member {
    /// What the Python driver is told of the block: its expected exception, `-` for none,
    /// `>>>` for an interactive session, `>>>sphinx` for MyST's `{doctest}`.
    pub fn mark(&self) -> &str {
        match (&self.raises, self.session, self.sphinx) {
            (_, true, false) => ">>>",
            (_, true, true) => ">>>sphinx",
            (Some(r), false, _) => r,
            (None, false, _) => "-",
        }
    }
}

/// What a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Python blocks, run by the interpreter.
    Python,
    /// A shell script, run by that shell with the version's interpreter first on PATH.
    Script(Shell),
    /// A terminal session: its commands run in order, their output compared.
    Session,
    /// A Dockerfile, built with its Python base images set to the version.
    Dockerfile,
}

/// One program to run on one interpreter: a single example, or the blocks of a group in order.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    pub version: PyVersion,
    /// The version's interpreter (empty for a Dockerfile, which builds on its own images),
    /// shared by the jobs of that version.
    pub interpreter: std::sync::Arc<std::path::Path>,
    pub members: Vec<Member>,
    pub timeout: Duration,
    /// The block may use the network (`network` annotation).
    pub network: bool,
    /// A Dockerfile's build context folder (`context=`, resolved against its Markdown file).
    pub context: Option<PathBuf>,
    /// The members are a page's examples: a failing one does not stop the ones after it.
    pub page: bool,
    /// Python code run before the first member, in the same namespace (`setup` in the config).
    pub setup: Option<std::sync::Arc<str>>,
    /// Files written into the job's working folder before it runs: for a console session, the
    /// page's programs it runs (`$ python main.py`), by file name.
    pub files: Vec<(String, std::sync::Arc<str>)>,
}

/// The result of one job: one [`BlockResult`] per member, and the process's traces.
#[derive(Debug, Clone)]
pub struct JobResult {
    pub blocks: Vec<BlockResult>,
    pub duration: Duration,
    /// The tail of stderr, kept only when a block did not pass.
    pub stderr: String,
    /// The tail of stdout (the last [`STDOUT_KEPT`] bytes).
    pub stdout: String,
    /// Served from the result cache, not run.
    pub cached: bool,
    /// CPU time the job's process used, where its runner can tell (warm children: the
    /// worker's `wait4`); `None` elsewhere.
    pub cpu: Option<Duration>,
}

/// Bytes of stdout kept with every job.
pub const STDOUT_KEPT: usize = 2000;

/// What happened to one block of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockResult {
    pub status: Status,
    pub error_type: Option<String>,
    /// One line: `Type: message`, or what ended the process.
    pub error: Option<String>,
    /// Where: (index of the block among the job's members, 1-based line in that block).
    pub at: Option<(usize, usize)>,
    pub exit_code: Option<i32>,
    /// For skipped blocks: why.
    pub reason: Option<String>,
    /// For a block that did not run because the program stopped before it: which way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_reached: Option<NotReached>,
    /// A session's output against the guide's (see [`crate::lang::shell::session::diff`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// On a page: the member before this one that failed and would have defined the name this
    /// one's `NameError` is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<usize>,
}

impl BlockResult {
    pub fn new(status: Status) -> Self {
        BlockResult {
            status,
            error_type: None,
            error: None,
            at: None,
            exit_code: None,
            reason: None,
            not_reached: None,
            diff: None,
            after: None,
        }
    }

    /// A block of a group that the program never reached.
    pub(crate) fn not_reached(why: NotReached) -> Self {
        BlockResult {
            reason: Some(why.text().into()),
            not_reached: Some(why),
            ..BlockResult::new(Status::Skipped)
        }
    }

    pub(crate) fn fail(error_type: Option<&str>, error: String) -> Self {
        BlockResult {
            error_type: error_type.map(str::to_string),
            error: Some(error),
            ..BlockResult::new(Status::Fail)
        }
    }
}

/// What a warm worker made of one of the examples' import statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preimport {
    /// An import statement of the examples, or `import M` for a module the workers learned
    /// from their children (`learned`).
    pub statement: String,
    pub learned: bool,
    /// Why it was not kept (the children import it themselves); `None` when it was.
    pub refused: Option<String>,
    /// Kept only by the workers that serve the examples running it themselves (its one change
    /// is a hook they set too): `refused` says why the others did not keep it.
    pub for_importers: bool,
}
