//! Running jobs: the [`Executor`] that runs one job, and the scheduler that runs them all in
//! parallel with rayon, returning results in job order whatever the thread timing.
//!
//! An executor is the seam for a warm interpreter pool or a result cache: both are executors
//! that wrap or replace [`ProcessExecutor`] without reshaping the scheduler. Must not know
//! Markdown or output formats.

pub mod cache;
pub mod interrupt;
pub mod process;
pub mod sandbox;
pub mod seccomp;
pub mod warm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rayon::prelude::*;

use crate::model::Status;
use crate::plan::{Job, JobKind};
use crate::target::python::{self, BlockResult};
use process::{Exit, Limits};
use sandbox::Sandbox;

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

/// Bytes of stderr kept with a failing job.
const STDERR_KEPT: usize = 4000;
/// Bytes of stdout kept with every job.
pub const STDOUT_KEPT: usize = 2000;

/// Runs one job.
pub trait Executor: Sync {
    fn execute(&self, job: &Job) -> JobResult;
    /// The sandbox jobs run in, for the report (`bwrap`, `none`).
    fn sandbox(&self) -> &'static str;
    /// The result cache this executor serves from, if any: the run's static checks use it too.
    fn cache(&self) -> Option<&cache::Cache> {
        None
    }
}

/// Sends Python jobs to one executor and the others (shell, Dockerfile) to another.
pub struct Dispatch<'a> {
    pub python: &'a dyn Executor,
    pub others: &'a dyn Executor,
}

impl Executor for Dispatch<'_> {
    fn execute(&self, job: &Job) -> JobResult {
        match job.kind {
            JobKind::Python => self.python.execute(job),
            _ => self.others.execute(job),
        }
    }

    fn sandbox(&self) -> &'static str {
        self.python.sandbox()
    }
}

/// Runs every job as a fresh interpreter process in a throwaway directory.
#[derive(Debug, Clone)]
pub struct ProcessExecutor {
    pub limits: Limits,
    /// Where throwaway job directories are made (the system's temporary folder by default).
    pub temp_root: Option<PathBuf>,
    pub sandbox: Sandbox,
}

impl ProcessExecutor {
    pub fn new(sandbox: Sandbox) -> Self {
        ProcessExecutor {
            limits: Limits::default(),
            temp_root: job_root(),
            sandbox,
        }
    }
}

/// Where job folders go: a memory file system (`/dev/shm`) when it has room, because creating
/// and removing a job's folder, files and FIFOs there costs a tenth of what it costs on a
/// journaling disk; else the system's temporary folder.
pub fn job_root() -> Option<PathBuf> {
    static ROOT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    ROOT.get_or_init(find_job_root).clone()
}

fn find_job_root() -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    let c = std::ffi::CString::new("/dev/shm").ok()?;
    // SAFETY: statvfs fills the struct we pass; the path is a valid C string.
    let free = unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut s) == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
    }?;
    let writable = {
        let probe = tempfile::Builder::new()
            .prefix("docmatrix-probe-")
            .tempdir_in(shm);
        probe.is_ok()
    };
    (free > 1 << 30 && writable).then(|| shm.to_path_buf())
}

/// Environment variables passed through to snippets; everything else is dropped.
const PASS_ENV: &[&str] = &["PATH", "LD_LIBRARY_PATH", "SYSTEMROOT", "TZ"];

/// Clears `cmd`'s environment but for [`PASS_ENV`], a UTF-8 locale, and `HOME` and `TMPDIR`
/// inside the job's throwaway folder.
pub(crate) fn set_env(cmd: &mut Command, home: &Path, tmp: &Path) {
    cmd.env_clear();
    for k in PASS_ENV {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    cmd.env("HOME", home)
        .env("TMPDIR", tmp)
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("DOCMATRIX", "1");
}

/// Reads what a Python job left in its folder `dir` (events, stack dump) with its process
/// record into the job's result.
pub(crate) fn read_result(job: &Job, dir: &Path, record: process::RunRecord) -> JobResult {
    let events = std::fs::read_to_string(dir.join(python::EVENTS_FILE)).unwrap_or_default();
    let stack = match record.exit {
        Exit::TimedOut => std::fs::read_to_string(dir.join(python::STACK_FILE)).unwrap_or_default(),
        _ => String::new(),
    };
    let blocks = python::interpret(job, &events, &stack, &record);
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
        for (i, m) in job.members.iter().enumerate() {
            std::fs::write(dir.path().join(python::block_file(i)), m.code.as_bytes())?;
        }
        let args = python::args(job, dir.path());
        let view = sandbox::View {
            job_dir: dir.path().to_path_buf(),
            scratch: vec![work.clone(), tmp.clone()],
            ..sandbox::View::default()
        };
        let mut cmd = self
            .sandbox
            .command(&job.interpreter, &args, &work, &view)?;
        set_env(&mut cmd, &work, &tmp);
        let limits = Limits {
            timeout: job.timeout,
            dump_file: Some(dir.path().join(python::STACK_FILE)),
            ..self.limits.clone()
        };
        let mut record = process::run(&mut cmd, &limits)?;
        if let Exit::Code(c) = record.exit {
            if let Some(sig) = self.sandbox.signal_of(c) {
                record.exit = Exit::Signal(sig);
            }
        }
        Ok(read_result(job, dir.path(), record))
    }
}

impl Executor for ProcessExecutor {
    fn sandbox(&self) -> &'static str {
        self.sandbox.name()
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

/// Receives progress as jobs finish (from any thread).
pub trait Progress: Sync {
    /// Called once, before any job runs, with the number of jobs.
    fn plan_size(&self, _jobs: usize) {}
    fn job_done(&self, job: &Job, result: &JobResult);
}

/// No progress reporting.
pub struct NoProgress;

impl Progress for NoProgress {
    fn job_done(&self, _: &Job, _: &JobResult) {}
}

/// Runs `f` on every item on `threads` threads; results come back in order.
pub fn run_all_with<J: Sync, T: Send>(
    jobs: &[J],
    threads: usize,
    f: impl Fn(&J) -> T + Sync + Send,
) -> Vec<T> {
    let work = || jobs.par_iter().with_max_len(1).map(&f).collect();
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(_) => jobs.iter().map(f).collect(),
    }
}

/// Runs `jobs` on `threads` threads; results come back in job order.
///
/// With more jobs in flight than the machine has cores, a job shares its core, so a
/// CPU-bound example can run out of time only because of its neighbours. A Python or shell job
/// that timed out there is run again at the end with one job per core, and that run is its
/// result: a verdict does not depend on how busy the run was. A job known to have used little
/// CPU (less than half of what its share of a core would have given it: it was sleeping or
/// waiting, as a server started by an example does) is not run again, since a core of its own
/// would not have helped it. (Dockerfile builds already run one at a time.)
pub fn run_all(
    jobs: &[Job],
    executor: &dyn Executor,
    threads: usize,
    progress: &dyn Progress,
) -> Vec<JobResult> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    run_all_on(jobs, executor, threads, cores, progress)
}

/// [`run_all`] for a machine of `cores` cores.
pub fn run_all_on(
    jobs: &[Job],
    executor: &dyn Executor,
    threads: usize,
    cores: usize,
    progress: &dyn Progress,
) -> Vec<JobResult> {
    progress.plan_size(jobs.len());
    let shared = threads > cores;
    let share = cores as f64 / threads.max(1) as f64;
    let confirm = |job: &Job, r: &JobResult| {
        shared
            && job.kind != JobKind::Dockerfile
            && !r.cached
            && timed_out(r)
            && r.cpu
                .is_none_or(|cpu| cpu.as_secs_f64() >= 0.5 * share * job.timeout.as_secs_f64())
    };
    let mut results = run_all_with(jobs, threads, |job| {
        let r = executor.execute(job);
        // A job killed by an interrupt is not done: the progress bar does not count it.
        if !confirm(job, &r) && !interrupt::interrupted() {
            progress.job_done(job, &r);
        }
        r
    });
    let again: Vec<usize> = (0..jobs.len())
        .filter(|&i| confirm(&jobs[i], &results[i]))
        .collect();
    let redone = run_all_with(&again, cores.max(1), |&i| {
        let r = executor.execute(&jobs[i]);
        progress.job_done(&jobs[i], &r);
        r
    });
    for (i, r) in again.into_iter().zip(redone) {
        results[i] = r;
    }
    // Jobs killed by an interrupt are not results: the run ends without a report.
    interrupt::hold_if_interrupted();
    results
}

fn timed_out(r: &JobResult) -> bool {
    r.blocks.iter().any(|b| b.status == Status::Timeout)
}

/// `name` found on `PATH`: the first executable file of that name.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `size:mtime` (nanoseconds) of a file, following links; `None` when it cannot be read. What
/// the caches compare to tell that a binary or a folder changed.
pub fn file_stamp(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    Some(format!("{}:{}", m.len(), t.map_or(0, |d| d.as_nanos())))
}

/// The last `max` bytes of `s`, cut at a character boundary, without blank lines at either
/// end; the first line keeps its indentation (a syntax error starts with `  File "…"`).
pub(crate) fn tail(s: &str, max: usize) -> String {
    let mut from = s.len().saturating_sub(max);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    let s = s[from..].trim_end();
    let start = s
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|&(_, c)| c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    s[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[test]
    fn tails_keep_the_first_lines_indentation() {
        assert_eq!(
            tail("\n\n  File \"b.py\", line 1\nSyntaxError: x\n\n", 100),
            "  File \"b.py\", line 1\nSyntaxError: x"
        );
        assert_eq!(tail(" \n \t\n", 100), "");
        assert_eq!(tail("abcdef\n", 3), "ef");
        assert_eq!(tail("é", 1), "");
    }

    /// Times out the first time each job runs, passes after; counts runs and progress.
    struct FlakyUnderLoad {
        runs: Vec<AtomicUsize>,
        /// The CPU time every run reports (`None`: unknown).
        cpu: Option<Duration>,
    }

    impl Executor for FlakyUnderLoad {
        fn execute(&self, job: &Job) -> JobResult {
            let n = self.runs[job.timeout.as_secs() as usize].fetch_add(1, Ordering::SeqCst);
            let status = if n == 0 {
                Status::Timeout
            } else {
                Status::Pass
            };
            JobResult {
                blocks: vec![BlockResult::new(status)],
                duration: Duration::ZERO,
                stderr: String::new(),
                stdout: String::new(),
                cached: false,
                cpu: self.cpu,
            }
        }
        fn sandbox(&self) -> &'static str {
            "none"
        }
    }

    #[derive(Default)]
    struct Count(Mutex<Vec<u64>>);

    impl Progress for Count {
        fn job_done(&self, job: &Job, _: &JobResult) {
            self.0.lock().unwrap().push(job.timeout.as_secs());
        }
    }

    fn jobs(kinds: &[JobKind]) -> Vec<Job> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| Job {
                kind: *kind,
                version: crate::version::PyVersion::new(3, 12),
                interpreter: std::sync::Arc::from(Path::new("/none")),
                members: Vec::new(),
                // The job's index, so that the executor can tell them apart.
                timeout: Duration::from_secs(i as u64),
                network: false,
                context: None,
            })
            .collect()
    }

    fn statuses(r: &[JobResult]) -> Vec<Status> {
        r.iter().map(|r| r.blocks[0].status).collect()
    }

    #[test]
    fn a_timeout_with_shared_cores_is_run_again_alone() {
        let jobs = jobs(&[JobKind::Python, JobKind::Session, JobKind::Dockerfile]);
        let ex = FlakyUnderLoad {
            runs: (0..3).map(|_| AtomicUsize::new(0)).collect(),
            cpu: None,
        };
        let progress = Count::default();
        let results = run_all_on(&jobs, &ex, 4, 2, &progress);
        // Python and shell jobs ran twice and kept the second result; a build once.
        assert_eq!(
            statuses(&results),
            [Status::Pass, Status::Pass, Status::Timeout]
        );
        let runs: Vec<usize> = ex.runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, [2, 2, 1]);
        // Progress hears of each job once, with its final result.
        let mut done = progress.0.into_inner().unwrap();
        done.sort();
        assert_eq!(done, [0, 1, 2]);
    }

    /// Job i has a timeout of i seconds (see `jobs`): with 8 jobs on 2 cores a job's share is
    /// a quarter of a core, so half of that share of a 2 s timeout is 0.25 s of CPU.
    #[test]
    fn a_timeout_that_used_little_cpu_stands() {
        let kinds = [JobKind::Python, JobKind::Python, JobKind::Python];
        for (cpu, runs) in [
            (Duration::from_millis(40), 1),
            (Duration::from_millis(400), 2),
        ] {
            let ex = FlakyUnderLoad {
                runs: (0..3).map(|_| AtomicUsize::new(0)).collect(),
                cpu: Some(cpu),
            };
            let jobs = jobs(&kinds);
            run_all_on(&jobs[2..], &ex, 8, 2, &NoProgress);
            assert_eq!(ex.runs[2].load(Ordering::SeqCst), runs, "{cpu:?}");
        }
    }

    #[test]
    fn a_timeout_with_a_core_per_job_stands() {
        let jobs = jobs(&[JobKind::Python, JobKind::Python]);
        let ex = FlakyUnderLoad {
            runs: (0..2).map(|_| AtomicUsize::new(0)).collect(),
            cpu: None,
        };
        let results = run_all_on(&jobs, &ex, 2, 2, &NoProgress);
        assert_eq!(statuses(&results), [Status::Timeout, Status::Timeout]);
        let runs: Vec<usize> = ex.runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, [1, 1]);
    }
}
