//! docmatrix: validates the code examples of Markdown guides against a matrix of Python
//! versions.
//!
//! The pipeline is plain data flowing one way (see docs/architecture.md):
//! [`discover`] paths → [`extract`] snippets → [`plan`] jobs → [`run`] outcomes →
//! [`judge`] verdicts → [`report`]. Library code neither prints nor panics on user input;
//! a failing example is an [`model::Outcome`], never an `Err`.

pub mod cache;
pub mod config;
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
pub mod sys;
pub mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use config::Config;
use error::Error;
use interp::{Found, SearchEnv};
use model::{Diagnostic, Lang, Outcome, Snippet, Status, Unread};
use report::{Example, Report};
use run::{Executor, Progress};
use version::PyVersion;

/// What reading the files gave: every snippet (sorted by file and line) and the diagnostics.
#[derive(Debug, Default)]
pub struct Corpus {
    pub files: Vec<PathBuf>,
    pub snippets: Vec<Snippet>,
    pub warnings: Vec<Diagnostic>,
    pub errors: Vec<Diagnostic>,
    /// Code a reader sees that is not a fenced block docmatrix reads (see [`Unread`]).
    pub unread: Vec<Unread>,
}

impl Corpus {
    pub fn python(&self) -> impl Iterator<Item = &Snippet> {
        self.snippets.iter().filter(|s| s.lang == Lang::Python)
    }

    /// The blocks docmatrix checks: Python, shell, sessions, Dockerfiles.
    pub fn checked(&self) -> impl Iterator<Item = &Snippet> {
        self.snippets.iter().filter(|s| s.lang.is_checked())
    }

    /// Moves the checked blocks out, in order (see [`Corpus::checked`]); the others stay.
    pub fn take_checked(&mut self) -> Vec<Snippet> {
        let n = self.snippets.iter().filter(|s| s.lang.is_checked()).count();
        let all = std::mem::take(&mut self.snippets);
        let mut checked = Vec::with_capacity(n);
        let mut others = Vec::with_capacity(all.len() - n);
        for s in all {
            if s.lang.is_checked() {
                checked.push(s);
            } else {
                others.push(s);
            }
        }
        self.snippets = others;
        checked
    }

    /// Counts of the blocks that are not checked, by language.
    pub fn other_blocks(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for s in self.snippets.iter().filter(|s| !s.lang.is_checked()) {
            *m.entry(s.lang.name().to_string()).or_default() += 1;
        }
        m
    }

    /// Every block a reader sees that is not checked, with its reason, in file and line
    /// order: the blocks of other languages (`language json`) and the code that is not a
    /// fence (`indented code block`).
    pub fn unchecked(&self) -> Vec<Unread> {
        let mut all: Vec<Unread> = self
            .snippets
            .iter()
            .filter_map(|s| {
                s.unchecked_reason().map(|reason| Unread {
                    file: s.file.clone(),
                    line: s.line,
                    reason,
                })
            })
            .chain(self.unread.iter().cloned())
            .collect();
        all.sort();
        all
    }

    /// [`Corpus::unchecked`], counted by reason.
    pub fn not_checked(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for u in self.unchecked() {
            *m.entry(u.reason).or_default() += 1;
        }
        m
    }
}

/// Finds the files of `config` and extracts their snippets, in parallel. A file that cannot
/// be read or decoded is an error in the corpus; the others are still read.
pub fn load(config: &Config) -> Result<Corpus, Error> {
    let files = discover::discover(&config.paths, &config.exclude)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let includes = include::Includes::new(&config.include_root(&cwd), &config.include_bases);
    let per_file: Vec<Result<extract::Extracted, Box<Diagnostic>>> =
        files.par_iter().map(|f| read_one(f, &includes)).collect();
    let mut corpus = Corpus {
        files,
        ..Default::default()
    };
    let found: usize = per_file
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|x| x.snippets.len())
        .sum();
    corpus.snippets.reserve_exact(found);
    let mut pending = Vec::new();
    let walked = std::mem::take(&mut corpus.files);
    add_extracted(&mut corpus, &walked, per_file, &mut pending);
    corpus.files = walked;

    // Markdown files included outside fences (`{!notes.md!}`): their blocks are on the page.
    // Each is read once, unless it is walked anyway; nested ones are followed a few levels.
    if !pending.is_empty() {
        let real_cwd = std::fs::canonicalize(&cwd).unwrap_or_else(|_| cwd.clone());
        let mut seen: std::collections::BTreeSet<PathBuf> = corpus
            .files
            .iter()
            .filter_map(|f| std::fs::canonicalize(f).ok())
            .collect();
        for _ in 0..8 {
            if pending.is_empty() {
                break;
            }
            let mut more = Vec::new();
            for (md, line, written) in std::mem::take(&mut pending) {
                match includes.resolve(&md, &written) {
                    Ok(real) => {
                        if seen.insert(real.clone()) {
                            let shown = real
                                .strip_prefix(&real_cwd)
                                .map_or_else(|_| real.clone(), Path::to_path_buf);
                            more.push(shown);
                        }
                    }
                    Err(e) => corpus.errors.push(Diagnostic::error(&md, Some(line), e)),
                }
            }
            let read: Vec<Result<extract::Extracted, Box<Diagnostic>>> =
                more.par_iter().map(|f| read_one(f, &includes)).collect();
            add_extracted(&mut corpus, &more, read, &mut pending);
            corpus.files.extend(more);
        }
        corpus.files.sort();
        corpus
            .snippets
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        corpus.unread.sort();
    }
    if corpus.files.is_empty() {
        let roots: Vec<String> = config
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        corpus.warnings.push(Diagnostic::warning(
            roots.join(", "),
            None,
            "no Markdown files (.md, .markdown) found",
        ));
    }
    Ok(corpus)
}

/// Reads and extracts one Markdown file, its includes expanded. A block that is one include
/// line docmatrix cannot read is counted (`unknown include syntax`), not run.
fn read_one(f: &Path, includes: &include::Includes) -> Result<extract::Extracted, Box<Diagnostic>> {
    let bytes =
        std::fs::read(f).map_err(|e| Box::new(Diagnostic::error(f, None, e.to_string())))?;
    let text =
        extract::decode(bytes).map_err(|(l, e)| Box::new(Diagnostic::error(f, Some(l), e)))?;
    let mut x = extract::extract(f, &text);
    let (unknown, mut snippets): (Vec<Snippet>, Vec<Snippet>) = x
        .snippets
        .into_iter()
        .partition(|s| s.lang.is_checked() && include::unknown_syntax(&s.code));
    x.unread.extend(unknown.into_iter().map(|s| Unread {
        file: s.file,
        line: s.line,
        reason: "unknown include syntax".into(),
    }));
    for s in snippets.iter_mut().filter(|s| s.lang.is_checked()) {
        if let Err(e) = includes.expand(s) {
            s.include_error = Some(e);
        }
    }
    x.snippets = snippets;
    Ok(x)
}

/// Adds what `files` gave to `corpus`; their Markdown includes go to `pending`.
fn add_extracted(
    corpus: &mut Corpus,
    files: &[PathBuf],
    read: Vec<Result<extract::Extracted, Box<Diagnostic>>>,
    pending: &mut Vec<(PathBuf, usize, String)>,
) {
    for (f, r) in files.iter().zip(read) {
        match r {
            Ok(x) => {
                corpus.snippets.extend(x.snippets);
                corpus.warnings.extend(x.warnings);
                corpus.unread.extend(x.unread);
                pending.extend(
                    x.markdown_includes
                        .into_iter()
                        .map(|(line, path)| (f.clone(), line, path)),
                );
            }
            Err(d) => corpus.errors.push(*d),
        }
    }
}

/// Runs the whole pipeline: load, find interpreters, plan, run, judge.
pub fn validate(
    config: &Config,
    env: &SearchEnv,
    executor: &dyn Executor,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let prepared = prepare(config, env)?;
    Ok(run_prepared(config, prepared, executor, progress))
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
        default_timeout: config.timeout,
        shell_run: config.shell_run,
        docker_build: config.docker_build,
        docker_timeout: config.docker_timeout,
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
    let examples: Vec<Snippet> = partition::select(corpus.take_checked(), config.partition);

    // Interpreters are needed by Python blocks and by shell blocks that run.
    let needs_interpreters = examples.iter().any(|s| match s.lang {
        Lang::Python => true,
        Lang::Shell(_) | Lang::Session => s.annotations.run.unwrap_or(config.shell_run),
        _ => false,
    });
    let found = if !needs_interpreters {
        BTreeMap::new()
    } else {
        interp::discover(&config.versions, &config.interpreters, env)
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
    if !config.dependencies.is_empty() && !paths.is_empty() {
        let root = config
            .cache_dir
            .clone()
            .or_else(cache::Cache::default_dir)
            .unwrap_or_else(std::env::temp_dir);
        let installer = env::Installer::find();
        let built: Vec<(PyVersion, Result<env::Env, env::EnvError>)> = std::thread::scope(|s| {
            let handles: Vec<_> = config
                .dependencies
                .iter()
                .filter_map(|(v, spec)| {
                    let i = interpreters.get(v).cloned().flatten()?;
                    let (root, installer) = (&root, &installer);
                    Some((
                        *v,
                        s.spawn(move || {
                            env::ensure(
                                root,
                                &i,
                                spec,
                                installer,
                                config.offline,
                                std::time::Duration::from_secs(900),
                                progress,
                            )
                        }),
                    ))
                })
                .collect();
            handles
                .into_iter()
                .map(|(v, h)| {
                    let r = h.join().unwrap_or_else(|_| {
                        Err(env::EnvError::Blocked(
                            "the environment build failed".into(),
                        ))
                    });
                    (v, r)
                })
                .collect()
        });
        for (v, r) in built {
            match r {
                Ok(e) => {
                    paths.insert(v, e.python.clone());
                    if let Some(Some(i)) = interpreters.get_mut(&v) {
                        i.path = e.python;
                        i.source = "env";
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
    let findings: Vec<Vec<Diagnostic>> = examples
        .par_iter()
        .map(|s| {
            lang::static_findings(
                s,
                lang::CheckOptions {
                    shellcheck_min: config.shell_min_severity,
                    hadolint_min: config.docker_min_severity,
                    cache: executor.cache(),
                },
            )
        })
        .collect();
    let results = run::run_all(&the_plan.jobs, executor, config.jobs, progress);

    let mut cells: Vec<BTreeMap<PyVersion, Outcome>> = vec![BTreeMap::new(); examples.len()];
    for (i, v, o) in the_plan.decided {
        cells[i].insert(v, o);
    }
    // The results are consumed here: their texts move into the report, and nothing of a
    // result outlives this loop (at 40,000 cells the two side by side were a third of the peak).
    for (job, result) in the_plan.jobs.iter().zip(results) {
        let ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
        let first_bad = job
            .members
            .iter()
            .zip(&result.blocks)
            .find(|(_, b)| b.status != Status::Pass)
            .map(|(m, _)| &examples[m.example]);
        let failed = result
            .blocks
            .iter()
            .any(|b| b.status == Status::Fail || b.status == Status::Timeout);
        let stderr = (failed && !result.stderr.is_empty()).then_some(result.stderr);
        for (member, block) in job.members.iter().zip(result.blocks) {
            let mut o = Outcome::bare(block.status);
            o.error = block.error;
            o.error_type = block.error_type;
            o.exit_code = block.exit_code;
            o.reason = block.reason;
            o.diff = block.diff;
            if o.reason.as_deref() == Some(lang::python::NOT_REACHED_AFTER_FAILURE) {
                if let Some(b) = first_bad {
                    o.reason = Some(format!(
                        "not reached: the block at {}:{} did not finish",
                        b.file.display(),
                        b.line
                    ));
                }
            }
            if let Some((m, line)) = block.at {
                if let Some(s) = job.members.get(m).map(|m| &examples[m.example]) {
                    o.md_line = Some(s.md_line(line));
                    o.code = s.code_line(line).map(str::to_string);
                    o.source = s.source_of(line);
                    o.code_line = u32::try_from(line).ok();
                }
            }
            if matches!(block.status, Status::Pass | Status::Fail | Status::Timeout) {
                o.duration_ms = Some(ms);
            }
            o.cached = result.cached;
            if block.status == Status::Fail || block.status == Status::Timeout {
                o.stderr = stderr.clone();
            }
            cells[member.example].insert(job.version, o);
        }
    }

    // Examples that share another's job: its outcome, at their own lines.
    for &(i, v, owner) in &the_plan.shared {
        let Some(mut o) = cells[owner].get(&v).cloned() else {
            continue;
        };
        if let Some(line) = o.code_line.map(|l| l as usize) {
            let s = &examples[i];
            o.md_line = Some(s.md_line(line));
            o.code = s.code_line(line).map(str::to_string);
            o.source = s.source_of(line);
        } else if o.md_line.is_some() {
            o.md_line = Some(examples[i].line);
        }
        cells[i].insert(v, o);
    }

    let mut report = Report {
        schema: 1,
        versions: config.versions.clone(),
        sandbox: executor.sandbox(),
        interpreters,
        partition: config.partition,
        examples: Vec::with_capacity(examples.len()),
        other_blocks: corpus.other_blocks(),
        not_checked: corpus.not_checked(),
        warnings: corpus.warnings.clone(),
        errors: corpus.errors.clone(),
        summary: Default::default(),
        foreign: Vec::new(),
        elapsed: Default::default(),
    };
    for ((s, results), findings) in examples.iter().zip(cells).zip(findings) {
        let requires = s.annotations.requires.as_ref().map(ToString::to_string);
        let mut verdict = judge::judge(
            &config.versions,
            &results,
            requires.as_deref(),
            config.allow_missing,
        );
        let checked = s.lang != Lang::Python && s.annotations.skip.is_none();
        judge::with_findings(&mut verdict, &findings, config.fail_on, checked);
        report.examples.push(Example {
            file: s.file.clone(),
            line: s.line,
            end_line: s.end_line,
            language: s.lang.name().to_string(),
            tab: s.tab.clone(),
            group: s.annotations.group.clone(),
            requires,
            skip: s.annotations.skip.clone(),
            results,
            measured: verdict.measured,
            policy: verdict.policy,
            policy_message: verdict.message,
            findings,
        });
        if !s.foreign_attrs.is_empty() {
            report.foreign.push(Diagnostic::note(
                &s.file,
                Some(s.line),
                s.foreign_attrs.join(" "),
            ));
        }
    }
    // What examples and tools printed is shown escaped, never raw (report::safe).
    report::safe::clean(&mut report);
    report.summarize(corpus.files.len());
    report.elapsed = start.elapsed();
    report
}
