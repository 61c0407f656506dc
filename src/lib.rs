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
    let runner = runner::Runner::new(
        config,
        sandbox,
        &prepared.all_interpreters(),
        &prepared.examples,
    );
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
    /// The environments of blocks that declare dependencies of their own.
    pub envs: Vec<interp::Interpreter>,
    pub plan: plan::Plan,
}

impl Prepared {
    /// Every interpreter jobs run with: each version's, and the environments of blocks with
    /// dependencies of their own.
    pub fn all_interpreters(&self) -> Vec<interp::Interpreter> {
        self.interpreters
            .values()
            .flatten()
            .chain(&self.envs)
            .cloned()
            .collect()
    }
}

/// The planning options of `config`.
pub fn plan_options(config: &Config) -> plan::Options {
    plan::Options {
        default_timeout: config.run.timeout,
        shell_run: config.shell.run,
        setup: config.python.setup.clone(),
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
        find_interpreters(config, env)
    };
    let mut sites = plan::Sites::default();
    let mut interpreters = BTreeMap::new();
    for &v in &config.versions {
        match found.get(&v) {
            Some(Found::Yes(i)) => {
                sites
                    .base
                    .insert(v, plan::Site::Interpreter(i.path.clone()));
                interpreters.insert(v, Some(i.clone()));
            }
            Some(Found::No(why)) => {
                sites.base.insert(v, plan::Site::Missing(why.clone()));
                interpreters.insert(v, None);
            }
            None => {
                interpreters.insert(v, None);
            }
        }
    }

    // The examples' dependencies: an environment per version for the configured ones, and
    // one per version and unit for the units whose blocks declare their own; built in
    // parallel. The examples run with their environment's interpreter.
    // Own dependency sets, with the versions some unit that needs them claims.
    let mut own: BTreeMap<Vec<String>, std::collections::BTreeSet<PyVersion>> = BTreeMap::new();
    for unit in plan::units(&examples) {
        let deps = plan::unit_deps(&examples, &unit);
        if deps.is_empty() {
            continue;
        }
        let blocks = plan::unit_blocks(&examples, &unit);
        let claimed = config
            .versions
            .iter()
            .copied()
            .filter(|&v| plan::blocks_run_on(&examples, &blocks, v));
        own.entry(deps).or_default().extend(claimed);
    }
    let root = config
        .run
        .env_dir
        .clone()
        .or_else(cache::Cache::default_dir)
        .unwrap_or_else(std::env::temp_dir);
    // The project itself, built as a wheel: a requirement of every version's environment.
    let wheels = match &config.python.project {
        Some(p) => project_wheels(&root, p, &interpreters, config.python.offline, progress),
        None => BTreeMap::new(),
    };
    let mut wanted: BTreeMap<(Vec<String>, PyVersion), (Interpreter, env::Spec)> = BTreeMap::new();
    for (&v, i) in &interpreters {
        let Some(i) = i else { continue };
        let mut base = config
            .python
            .dependencies
            .get(&v)
            .cloned()
            .unwrap_or_default();
        match wheels.get(&v) {
            Some(Ok(req)) => base.dependencies.push(req.clone()),
            Some(Err(e)) => {
                sites.base.insert(v, site_of(e));
                continue;
            }
            None => {}
        }
        let own_here = own.iter().filter(|(_, vs)| vs.contains(&v)).map(|(d, _)| d);
        for deps in std::iter::once(&Vec::new()).chain(own_here) {
            let mut spec = base.clone();
            spec.dependencies.extend(deps.iter().cloned());
            if !spec.is_empty() {
                wanted.insert((deps.clone(), v), (i.clone(), spec));
            }
        }
    }
    let mut envs = Vec::new();
    if !wanted.is_empty() {
        for ((deps, v), r) in env::ensure_all(&root, &wanted, config.python.offline, progress) {
            let site = match r {
                Ok(e) => {
                    let mut i = wanted[&(deps.clone(), v)].0.clone();
                    i.path = e.python.clone();
                    i.source = interp::Origin::Env;
                    i.packages = e.packages;
                    if let Some(c) = e.container {
                        i.container = Some(Box::new(c));
                    }
                    if deps.is_empty() {
                        interpreters.insert(v, Some(i));
                    } else {
                        envs.push(i);
                    }
                    plan::Site::Interpreter(e.python)
                }
                Err(e) => site_of(&e),
            };
            if deps.is_empty() {
                sites.base.insert(v, site);
            } else {
                sites.own.insert((deps, v), site);
            }
        }
    }
    // Units with their own dependencies on a version with no interpreter, or whose
    // configured environment failed: the version's own verdict.
    for deps in own.keys() {
        for (&v, site) in &sites.base {
            let key = (deps.clone(), v);
            if !wanted.contains_key(&key) {
                sites.own.insert(key, site.clone());
            }
        }
    }

    let the_plan = plan::plan(&examples, &config.versions, &sites, &plan_options(config));
    Ok(Prepared {
        start,
        corpus,
        examples,
        interpreters,
        envs,
        plan: the_plan,
    })
}

/// Each version's interpreter, by the backend: local ones (config, PATH, pyenv, uv), images
/// of the container backend, or (`auto`) an image for each version with no local one, when a
/// container engine answers. A run with containers first removes those that runs killed
/// earlier left behind.
pub fn find_interpreters(config: &Config, env: &SearchEnv) -> BTreeMap<PyVersion, Found> {
    use config::Backend;
    let py = &config.python;
    let mut found = match py.backend {
        Backend::Container => BTreeMap::new(),
        Backend::Local | Backend::Auto => interp::discover(&config.versions, &py.interpreters, env),
    };
    let in_containers: BTreeMap<PyVersion, String> = py
        .images
        .iter()
        .filter(|(v, _)| match py.backend {
            Backend::Local => false,
            Backend::Container => true,
            // A configured interpreter is the user's word: used, or reported, never replaced.
            Backend::Auto => {
                !matches!(found.get(v), Some(Found::Yes(_))) && !py.interpreters.contains_key(v)
            }
        })
        .map(|(v, i)| (*v, i.clone()))
        .collect();
    if in_containers.is_empty() {
        return found;
    }
    let Some(engine) = sys::container::detect(py.engine) else {
        let which = py.engine.map_or("podman or docker", |e| e.name());
        for v in in_containers.keys() {
            let why = format!("no container engine answers ({which})");
            match (py.backend, found.get_mut(v)) {
                (Backend::Auto, Some(Found::No(local))) => {
                    local.push_str(&format!("; no container either: {why}"));
                }
                _ => {
                    found.insert(*v, Found::No(why));
                }
            }
        }
        return found;
    };
    sys::container::sweep_stale(&engine);
    for (v, f) in interp::discover_containers(&in_containers, &engine, py.pull, env) {
        match (py.backend, f, found.get_mut(&v)) {
            (Backend::Auto, Found::No(why), Some(Found::No(local))) => {
                local.push_str(&format!("; no container either: {why}"));
            }
            (_, f, _) => {
                found.insert(v, f);
            }
        }
    }
    found
}

/// Where the jobs of an environment that could not be had stand: `unavailable` or `blocked`,
/// with the reason.
fn site_of(e: &env::EnvError) -> plan::Site {
    match e {
        env::EnvError::Unavailable(why) => plan::Site::Missing(format!("dependencies: {why}")),
        env::EnvError::Blocked(why) => plan::Site::Blocked(format!("dependencies: {why}")),
    }
}

/// The requirement that installs the project's wheel, by version: one wheel built with the
/// newest interpreter when it suits every Python, else one per interpreter.
fn project_wheels(
    root: &std::path::Path,
    project: &env::Project,
    interpreters: &BTreeMap<PyVersion, Option<Interpreter>>,
    offline: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> BTreeMap<PyVersion, Result<String, env::EnvError>> {
    let installer = env::Installer::find();
    let found: Vec<(PyVersion, &Interpreter)> = interpreters
        .iter()
        .filter_map(|(v, i)| Some((*v, i.as_ref()?)))
        .collect();
    let Some(&(_, newest)) = found.last() else {
        return BTreeMap::new();
    };
    let wheel = |i: &Interpreter, own: bool| {
        env::project_wheel(root, project, i, own, &installer, offline, progress).map(|w| {
            (
                env::is_pure(&w),
                env::wheel_requirement(&w, &project.extras),
            )
        })
    };
    match wheel(newest, false) {
        Ok((true, req)) => found.iter().map(|(v, _)| (*v, Ok(req.clone()))).collect(),
        Ok((false, _)) => found
            .iter()
            .map(|&(v, i)| (v, wheel(i, true).map(|(_, r)| r)))
            .collect(),
        Err(e) => found.iter().map(|(v, _)| (*v, Err(e.clone()))).collect(),
    }
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
        ..
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
    let order = plan::start_order(&the_plan.jobs);
    let results = run::run_all(&the_plan.jobs, &order, executor, config.run.jobs, progress);

    let cells = assemble::cells(&examples, the_plan, results);
    // What the warm workers ran ahead of the examples, per version.
    let mut interpreters = interpreters;
    let preimports = executor.preimports();
    for i in interpreters.values_mut().flatten() {
        for p in preimports.get(&i.path).into_iter().flatten() {
            if p.for_importers {
                i.preimported_for_importers.push(p.statement.clone());
                continue;
            }
            match &p.refused {
                None if p.learned => i.learned.push(
                    p.statement
                        .strip_prefix("import ")
                        .unwrap_or(&p.statement)
                        .to_string(),
                ),
                None => i.preimported.push(p.statement.clone()),
                Some(_)
                    if p.learned
                        && i.not_preimported.iter().any(|n| n.statement == p.statement) => {}
                Some(why) => i.not_preimported.push(interp::NotPreimported {
                    statement: p.statement.clone(),
                    why: why.clone(),
                }),
            }
        }
    }
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
