//! Running jobs: the [`Executor`] that runs one job, and the scheduler that runs them all in
//! parallel with rayon, returning results in job order whatever the thread timing.
//!
//! An executor is the seam for a warm interpreter pool or a result cache: both are executors
//! that wrap or replace another without reshaping the scheduler. The executors of each
//! language are in [`crate::lang`]; [`caching`] wraps any of them in the result cache. Must not
//! know Markdown or output formats.

pub(crate) mod caching;

use rayon::prelude::*;

use crate::cache::Cache;
use crate::model::{Job, JobKind, JobResult, Preimport, Status};
use crate::sys::interrupt;

/// Runs one job.
pub trait Executor: Sync {
    fn execute(&self, job: &Job) -> JobResult;
    /// The sandbox jobs run in, for the report (`bwrap`, `none`).
    fn sandbox(&self) -> crate::sys::sandbox::SandboxKind;
    /// The result cache this executor serves from, if any: the run's static checks use it too.
    fn cache(&self) -> Option<&Cache> {
        None
    }
    /// By interpreter: what its warm workers made of the examples' import statements.
    fn preimports(&self) -> std::collections::BTreeMap<std::path::PathBuf, Vec<Preimport>> {
        Default::default()
    }
}

/// Sends Python jobs to one executor and the others (shell, Dockerfile) to another.
pub(crate) struct Dispatch {
    pub python: Box<dyn Executor>,
    pub others: Box<dyn Executor>,
}

impl Executor for Dispatch {
    fn execute(&self, job: &Job) -> JobResult {
        match job.kind {
            JobKind::Python => self.python.execute(job),
            _ => self.others.execute(job),
        }
    }

    fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
        self.python.sandbox()
    }

    fn preimports(&self) -> std::collections::BTreeMap<std::path::PathBuf, Vec<Preimport>> {
        self.python.preimports()
    }
}

/// Receives progress as jobs finish (from any thread).
pub trait Progress: Sync {
    /// Called once, before any job runs, with the number of jobs.
    fn plan_size(&self, _jobs: usize) {}
    fn job_done(&self, job: &Job, result: &JobResult);
}

#[cfg(test)]
/// No progress reporting.
pub(crate) struct NoProgress;

#[cfg(test)]
impl Progress for NoProgress {
    fn job_done(&self, _: &Job, _: &JobResult) {}
}

/// Runs `f` on every item on `threads` threads; results come back in order.
pub fn run_all_with<J: Sync, T: Send>(
    jobs: &[J],
    threads: usize,
    f: impl Fn(&J) -> T + Sync + Send,
) -> Vec<T> {
    let order: Vec<usize> = (0..jobs.len()).collect();
    run_in_order(jobs, &order, threads, f)
}

/// [`run_all_with`], starting the items in the order of `order` (a permutation of their
/// indices): each thread that comes free takes the next one. Results come back in item order.
pub fn run_in_order<J: Sync, T: Send>(
    jobs: &[J],
    order: &[usize],
    threads: usize,
    f: impl Fn(&J) -> T + Sync + Send,
) -> Vec<T> {
    debug_assert_eq!(order.len(), jobs.len());
    let one = |&i: &usize| (i, f(&jobs[i]));
    let mut done: Vec<(usize, T)> =
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| order.iter().par_bridge().map(one).collect()),
            Err(_) => order.iter().map(one).collect(),
        };
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Runs `jobs` on `threads` threads, starting them in the order of `order` (a permutation of
/// their indices, [`crate::plan::start_order`]); results come back in job order.
///
/// With more jobs in flight than the machine has cores, a job shares its core, so a
/// CPU-bound example can run out of time only because of its neighbours. A Python or shell job
/// that timed out there is run again at the end with one job per core, and that run is its
/// result: a verdict does not depend on how busy the run was. A job known to have used little
/// CPU (less than half of what its share of a core would have given it: it was sleeping or
/// waiting, as a server started by an example does) is not run again, since a core of its own
/// would not have helped it. (Dockerfile builds already run one at a time.)
pub(crate) fn run_all(
    jobs: &[Job],
    order: &[usize],
    executor: &dyn Executor,
    threads: usize,
    progress: &dyn Progress,
) -> Vec<JobResult> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    run_all_on(jobs, order, executor, threads, cores, progress)
}

/// [`run_all`] for a machine of `cores` cores.
pub(crate) fn run_all_on(
    jobs: &[Job],
    order: &[usize],
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
    let mut results = run_in_order(jobs, order, threads, |job| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlockResult;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

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
        fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
            crate::sys::sandbox::SandboxKind::None
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
                page: false,
                setup: None,
                files: Vec::new(),
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
        let results = run_all_on(&jobs, &[0, 1, 2], &ex, 4, 2, &progress);
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
            run_all_on(&jobs[2..], &[0], &ex, 8, 2, &NoProgress);
            assert_eq!(ex.runs[2].load(Ordering::SeqCst), runs, "{cpu:?}");
        }
    }

    /// Records the order jobs start in (by their index, the timeout) and passes them.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<u64>>);

    impl Executor for Recorder {
        fn execute(&self, job: &Job) -> JobResult {
            self.0.lock().unwrap().push(job.timeout.as_secs());
            JobResult {
                blocks: vec![BlockResult::new(Status::Pass)],
                duration: Duration::ZERO,
                stderr: job.timeout.as_secs().to_string(),
                stdout: String::new(),
                cached: false,
                cpu: None,
            }
        }
        fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
            crate::sys::sandbox::SandboxKind::None
        }
    }

    #[test]
    fn jobs_that_may_run_until_stopped_start_first_and_results_keep_job_order() {
        let mut jobs = jobs(&[JobKind::Python; 6]);
        let codes = [
            "print(1)\n",
            "print(2)\n",
            "import uvicorn\nuvicorn.run(app)\n",
            "print(3)\n",
            "while True:\n    pass\n",
            "print(4)\n",
        ];
        for (job, code) in jobs.iter_mut().zip(codes) {
            job.members.push(crate::model::Member {
                example: 0,
                code: std::sync::Arc::from(code),
                raises: None,
                session: false,
                sphinx: false,
                args: Vec::new(),
            });
        }
        let order = crate::plan::start_order(&jobs);
        assert_eq!(order, [2, 4, 0, 1, 3, 5]);
        // One thread: the jobs start exactly in that order; the results are in job order.
        let ex = Recorder::default();
        let results = run_all_on(&jobs, &order, &ex, 1, 1, &NoProgress);
        assert_eq!(ex.0.into_inner().unwrap(), [2, 4, 0, 1, 3, 5]);
        let back: Vec<&str> = results.iter().map(|r| r.stderr.as_str()).collect();
        assert_eq!(back, ["0", "1", "2", "3", "4", "5"]);
        // Several threads: every job runs once, and the results are still in job order.
        let ex = Recorder::default();
        let results = run_all_on(&jobs, &order, &ex, 4, 2, &NoProgress);
        let mut ran = ex.0.into_inner().unwrap();
        ran.sort();
        assert_eq!(ran, [0, 1, 2, 3, 4, 5]);
        let back: Vec<&str> = results.iter().map(|r| r.stderr.as_str()).collect();
        assert_eq!(back, ["0", "1", "2", "3", "4", "5"]);
    }

    #[test]
    fn a_timeout_with_a_core_per_job_stands() {
        let jobs = jobs(&[JobKind::Python, JobKind::Python]);
        let ex = FlakyUnderLoad {
            runs: (0..2).map(|_| AtomicUsize::new(0)).collect(),
            cpu: None,
        };
        let results = run_all_on(&jobs, &[0, 1], &ex, 2, 2, &NoProgress);
        assert_eq!(statuses(&results), [Status::Timeout, Status::Timeout]);
        let runs: Vec<usize> = ex.runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, [1, 1]);
    }
}
