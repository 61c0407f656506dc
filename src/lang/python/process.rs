//! [`ProcessExecutor`]: every Python job a fresh interpreter process in a throwaway folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::interp::Interpreter;
use crate::sys::container::Target;

use crate::model::Job;
use crate::model::{JobResult, Status, STDOUT_KEPT};
use crate::run::Executor;
use crate::sys::process::{self, Exit, Limits};
use crate::sys::sandbox::{self, Sandbox};
use crate::sys::{container_env, interrupt, job_root, set_env, tail};

use super as python;

/// Bytes of stderr kept with a failing job.
const STDERR_KEPT: usize = 4000;

/// Runs every job as a fresh interpreter process in a throwaway directory.
#[derive(Debug, Clone)]
pub struct ProcessExecutor {
    pub limits: Limits,
    /// Where throwaway job directories are made (the system's temporary folder by default).
    pub temp_root: Option<PathBuf>,
    pub sandbox: Sandbox,
    /// The interpreters that run in containers, by their key (`Job::interpreter`).
    pub containers: Arc<BTreeMap<PathBuf, Target>>,
    /// Every interpreter of the run is in a container: they are the sandbox.
    pub all_contained: bool,
}

impl ProcessExecutor {
    pub fn new(sandbox: Sandbox) -> Self {
        ProcessExecutor {
            limits: Limits::default(),
            temp_root: job_root(),
            sandbox,
            containers: Arc::default(),
            all_contained: false,
        }
    }

    /// The same, running the jobs of the container interpreters among `interpreters` in
    /// containers of their images.
    pub fn with_containers(mut self, interpreters: &[Interpreter]) -> Self {
        self.containers = Arc::new(
            interpreters
                .iter()
                .filter_map(|i| Some((i.path.clone(), i.container.as_ref()?.target())))
                .collect(),
        );
        self.all_contained =
            !interpreters.is_empty() && interpreters.iter().all(|i| i.container.is_some());
        self
    }

    /// What the report says the jobs ran in.
    pub fn sandbox_kind(&self) -> crate::sys::sandbox::SandboxKind {
        if self.all_contained {
            crate::sys::sandbox::SandboxKind::Container
        } else {
            self.sandbox.kind()
        }
    }
}

/// Reads what a Python job left in its folder `dir` (events, stack dump) with its process
/// record into the job's result.
pub(crate) fn read_result(job: &Job, dir: &Path, record: process::RunRecord) -> JobResult {
    let events = std::fs::read_to_string(dir.join(python::EVENTS_FILE)).unwrap_or_default();
    let stack = match record.exit {
        Exit::TimedOut => std::fs::read_to_string(dir.join(python::STACK_FILE)).unwrap_or_default(),
        _ => String::new(),
    };
    let mut blocks = python::interpret(job, &events, &stack, &record);
    // A message that names a path in the job folder (`~/.netrc` read from HOME) names it as the
    // example sees it, not by the throwaway folder's name: the same text on every run.
    let (home, tmp, folder) = (
        format!("{}/work", dir.display()),
        format!("{}/tmp", dir.display()),
        format!("{}/", dir.display()),
    );
    for b in &mut blocks {
        for text in [&mut b.error, &mut b.reason].into_iter().flatten() {
            if text.contains(&folder) {
                *text = text
                    .replace(&home, "~")
                    .replace(&tmp, "$TMPDIR")
                    .replace(&folder, "");
            }
        }
    }
    let failed = blocks.iter().any(|b| b.status != Status::Pass);
    let stderr = if failed {
        // Tracebacks name the block files by their path in the throwaway job folder: drop the
        // folder, so the text is the same whichever folder (or cache entry) it came from.
        let prefix = format!("{}/", dir.display());
        tail(&record.stderr.text().replace(&prefix, ""), STDERR_KEPT)
    } else {
        String::new()
    };
    JobResult {
        blocks,
        duration: record.duration,
        stderr,
        stdout: tail(&record.stdout.text(), STDOUT_KEPT),
        cached: false,
        cpu: record.cpu,
    }
}

impl ProcessExecutor {
    fn try_execute(&self, job: &Job) -> std::io::Result<JobResult> {
        let dir = interrupt::job_dir("", self.temp_root.as_deref())?;
        let work = dir.path().join("work");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&work)?;
        std::fs::create_dir(&tmp)?;
        python::write_job(job, dir.path())?;
        let args = python::args(job, dir.path());
        let view = sandbox::View {
            job_dir: dir.path().to_path_buf(),
            scratch: vec![work.clone(), tmp.clone()],
            ..sandbox::View::default()
        };
        let limits = Limits {
            timeout: job.timeout,
            dump_file: Some(dir.path().join(python::STACK_FILE)),
            ..self.limits.clone()
        };
        let mut record = match self.containers.get(&*job.interpreter) {
            Some(t) => {
                let env = container_env(&work, &tmp);
                t.run(&t.python, &args, &work, &view, &env, &limits)?
            }
            None => {
                let mut cmd = self
                    .sandbox
                    .command(&job.interpreter, &args, &work, &view)?;
                set_env(&mut cmd, &work, &tmp);
                process::run(&mut cmd, &limits)?
            }
        };
        if let Exit::Code(c) = record.exit {
            if let Some(sig) = self.sandbox.signal_of(c) {
                record.exit = Exit::Signal(sig);
            }
        }
        Ok(read_result(job, dir.path(), record))
    }
}

impl Executor for ProcessExecutor {
    fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
        self.sandbox_kind()
    }

    fn execute(&self, job: &Job) -> JobResult {
        match self.try_execute(job) {
            Ok(r) => r,
            // Could not even start (the interpreter vanished, the disk is full): every block
            // fails with the reason; the run goes on.
            Err(e) => {
                let record = process::RunRecord {
                    exit: Exit::Code(-1),
                    stdout: Default::default(),
                    stderr: Default::default(),
                    duration: Duration::ZERO,
                    cpu: None,
                };
                let mut blocks = python::interpret(job, "", "", &record);
                for b in blocks.iter_mut().filter(|b| b.error.is_some()) {
                    b.error = Some(format!("cannot run {}: {e}", job.interpreter.display()));
                }
                JobResult {
                    blocks,
                    duration: Duration::ZERO,
                    stderr: String::new(),
                    stdout: String::new(),
                    cached: false,
                    cpu: None,
                }
            }
        }
    }
}
