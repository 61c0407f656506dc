//! docmatrix: validates the code examples of Markdown guides against a matrix of Python
//! versions.
//!
//! The pipeline is plain data flowing one way (see docs/architecture.md):
//! [`discover`] paths → [`extract`] snippets → [`plan`] jobs → [`run`] outcomes →
//! [`judge`] verdicts → [`report`]. Library code neither prints nor panics on user input;
//! a failing example is an [`model::Outcome`], never an `Err`.

pub mod assemble;
pub mod cache;
pub mod config;
pub mod corpus;
pub mod discover;
pub mod env;
pub mod error;
pub mod extract;
pub mod include;
pub mod interp;
pub mod judge;
pub mod lang;
pub mod model;
pub mod partition;
pub mod plan;
pub mod report;
pub mod run;
pub mod runner;
pub mod sys;
pub mod version;

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;

pub use corpus::{load, Corpus};

use config::Config;
use error::Error;
use interp::{Found, Interpreter, SearchEnv};
use model::{Lang, Snippet};
use report::Report;
use run::{Executor, Progress};
use version::PyVersion;

/// Runs the whole pipeline: load, find interpreters, plan, run with the executors of
/// [`runner::Runner`] (jobs in `sandbox`), judge. The result cache is pruned at the end; its
/// problems are dropped here (the command line prints them: [`runner::Runner::finish`]).
pub fn validate(
    config: &Config,
    env: &SearchEnv,
    sandbox: sys::sandbox::Sandbox,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let prepared = prepare(config, env)?;
    let runner = runner::Runner::new(config, sandbox, &prepared.interpreters, &prepared.examples);
    let report = run_prepared(config, prepared, runner.executor(), progress);
    runner.finish();
    Ok(report)
}

/// A run read and planned, ready for an executor: the executor can be chosen knowing the
/// interpreters (a warm worker per interpreter) and the examples (what to preload).
pub struct Prepared {
    start: Instant,
    corpus: Corpus,
    pub examples: Vec<Snippet>,
    pub interpreters: BTreeMap<PyVersion, Option<interp::Interpreter>>,
    pub plan: plan::Plan,
}

/// The planning options of `config`.
pub fn plan_options(config: &Config) -> plan::Options {
    plan::Options {
        default_timeout: config.run.timeout,
        shell_run: config.shell.run,
        docker_build: config.docker.build,
        docker_timeout: config.docker.timeout,
    }
}

/// Reads, finds interpreters and plans.
pub fn prepare(config: &Config, env: &SearchEnv) -> Result<Prepared, Error> {
    prepare_with(config, env, &|_| {})
}

/// [`prepare`], telling `progress` what takes long: the dependency environments it builds
/// (`building the environment for Python 3.11 with uv: 2 requirements`, then `built …`).
pub fn prepare_with(
    config: &Config,
    env: &SearchEnv,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Prepared, Error> {
    let start = Instant::now();
    let mut corpus = load(config)?;
    let examples: Vec<Snippet> = partition::select(corpus.take_checked(), config.inputs.partition);

    // Interpreters are needed by Python blocks and by shell blocks that run.
    let needs_interpreters = examples.iter().any(|s| match s.lang {
        Lang::Python => true,
        Lang::Shell(_) | Lang::Session => s.annotations.run.unwrap_or(config.shell.run),
        _ => false,
    });
    let found = if !needs_interpreters {
        BTreeMap::new()
    } else {
        interp::discover(&config.versions, &config.python.interpreters, env)
    };
    let mut paths = BTreeMap::new();
    let mut missing = BTreeMap::new();
    let mut interpreters = BTreeMap::new();
    for &v in &config.versions {
        match found.get(&v) {
            Some(Found::Yes(i)) => {
                paths.insert(v, i.path.clone());
                interpreters.insert(v, Some(i.clone()));
            }
            Some(Found::No(why)) => {
                missing.insert(v, why.clone());
                interpreters.insert(v, None);
            }
            None => {
                interpreters.insert(v, None);
            }
        }
    }

    // The examples' dependencies: an environment per version, built in parallel; the
    // examples of that version run with its interpreter.
    let mut blocked = BTreeMap::new();
    if !config.python.dependencies.is_empty() && !paths.is_empty() {
        let root = config
            .run
            .cache_dir
            .clone()
            .or_else(cache::Cache::default_dir)
            .unwrap_or_else(std::env::temp_dir);
        let wanted: BTreeMap<PyVersion, (Interpreter, &env::Spec)> = config
            .python
            .dependencies
            .iter()
            .filter_map(|(v, spec)| Some((*v, (interpreters.get(v).cloned().flatten()?, spec))))
            .collect();
        for (v, r) in env::ensure_all(&root, &wanted, config.python.offline, progress) {
            match r {
                Ok(e) => {
                    paths.insert(v, e.python.clone());
                    if let Some(Some(i)) = interpreters.get_mut(&v) {
                        i.path = e.python;
                        i.source = interp::Origin::Env;
                        i.packages = e.packages;
                    }
                }
                Err(env::EnvError::Unavailable(why)) => {
                    paths.remove(&v);
                    missing.insert(v, format!("dependencies: {why}"));
                }
                Err(env::EnvError::Blocked(why)) => {
                    blocked.insert(v, format!("dependencies: {why}"));
                }
            }
        }
    }

    let the_plan = plan::plan(
        &examples,
        &config.versions,
        &paths,
        &missing,
        &blocked,
        &plan_options(config),
    );
    Ok(Prepared {
        start,
        corpus,
        examples,
        interpreters,
        plan: the_plan,
    })
}

/// Runs a prepared plan with `executor` and judges the results.
pub fn run_prepared(
    config: &Config,
    prepared: Prepared,
    executor: &dyn Executor,
    progress: &dyn Progress,
) -> Report {
    let Prepared {
        start,
        corpus,
        examples,
        interpreters,
        plan: the_plan,
    } = prepared;
    // Static checks (no execution) run beside nothing else: they are quick and independent.
    let findings: Vec<Vec<model::Diagnostic>> = examples
        .par_iter()
        .map(|s| {
            lang::static_findings(
                s,
                lang::CheckOptions {
                    shellcheck_min: config.shell.min_severity,
                    hadolint_min: config.docker.min_severity,
                    cache: executor.cache(),
                },
            )
        })
        .collect();
    let results = run::run_all(&the_plan.jobs, executor, config.run.jobs, progress);

    let cells = assemble::cells(&examples, the_plan, results);
    assemble::report(
        config,
        &corpus,
        &examples,
        interpreters,
        cells,
        findings,
        executor.sandbox(),
        start,
    )
}
