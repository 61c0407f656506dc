//! The executors of a run, built once from the configuration and the prepared plan: Python
//! jobs to a warm worker pool (or a fresh process each), shell and Dockerfile jobs to theirs,
//! and the result cache around them all. The CLI, the library's [`crate::validate`] and the
//! tests share it.

use std::path::PathBuf;

use crate::cache::Cache;
use crate::config::{Config, Isolation};
use crate::interp::Interpreter;
use crate::lang::python::process::ProcessExecutor;
use crate::lang::python::{self, warm::WarmExecutor};
use crate::lang::{dockerfile, shell, Others};
use crate::model::{Lang, Snippet};
use crate::run::caching::CachingExecutor;
use crate::run::{Dispatch, Executor};
use crate::sys::sandbox::{Sandbox, SandboxMode};

/// Every executor of a run, composed: [`Runner::executor`] is the one to run jobs with.
pub struct Runner {
    executor: Box<dyn Executor>,
}

impl Runner {
    /// The executors for `examples` on `interpreters` under `config`, with jobs in `sandbox`. A warm pool that
    /// cannot start leaves Python jobs to fresh processes; a cache folder of `None` runs
    /// without the cache.
    pub fn new(
        config: &Config,
        sandbox: Sandbox,
        interpreters: &[Interpreter],
        examples: &[Snippet],
    ) -> Runner {
        let process = ProcessExecutor::new(sandbox).with_containers(interpreters);
        let python: Box<dyn Executor> = match config.run.isolation {
            Isolation::Warm => {
                let paths: Vec<PathBuf> = interpreters.iter().map(|i| i.path.clone()).collect();
                let codes = || {
                    examples
                        .iter()
                        .filter(|s| s.lang == Lang::Python)
                        .map(|s| &*s.code)
                };
                // Standard-library modules by name, and the examples' own import statements of
                // other modules, which the rich workers replay (keeping the clean ones).
                let mut preload = python::preload_for(codes());
                preload.extend(python::statements_for(codes()));
                match WarmExecutor::new(&paths, &preload, process.clone()) {
                    Ok(w) => Box::new(w),
                    Err(_) => Box::new(process.clone()),
                }
            }
            Isolation::Process => Box::new(process.clone()),
        };
        let others = Others {
            shell: shell::run::Runner {
                containers: process.containers.clone(),
                ..shell::run::Runner::new(
                    process.sandbox.clone(),
                    config.run.sandbox == SandboxMode::None,
                )
            },
            docker: dockerfile::Runner::detect(config),
        };
        let dispatch: Box<dyn Executor> = Box::new(Dispatch {
            python,
            others: Box::new(others),
        });
        let executor = match config.run.cache_dir.clone() {
            Some(dir) => Box::new(CachingExecutor::new(
                dispatch,
                Cache::new(dir),
                interpreters,
                config.run.isolation.as_str(),
            )),
            None => dispatch,
        };
        Runner { executor }
    }

    pub fn executor(&self) -> &dyn Executor {
        &*self.executor
    }

    /// Ends the run: prunes the result cache; returns its problems, for the caller to show.
    pub fn finish(&self) -> Vec<String> {
        match self.executor.cache() {
            Some(c) => {
                c.prune();
                c.warnings()
            }
            None => Vec::new(),
        }
    }
}
