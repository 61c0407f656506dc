//! The command line: clap arguments → [`Overrides`], merged once into a [`Config`]; the
//! commands; the progress bar. The only place that prints.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use docmatrix::cache::Cache;
use docmatrix::config::{Backend, Config, Isolation, Overrides};
use docmatrix::error::Error;
use docmatrix::interp::{Found, SearchEnv};
use docmatrix::model::input_json;
use docmatrix::model::Job;
use docmatrix::model::JobResult;
use docmatrix::model::{Lang, Severity};
use docmatrix::report::terminal::Style;
use docmatrix::report::Format;
use docmatrix::run::Progress;
use docmatrix::sys::container::EngineKind;
use docmatrix::sys::interrupt;
use docmatrix::sys::sandbox::{Sandbox, SandboxMode};

mod outputs;

/// `docmatrix --version` (long form): the version and how the binary was built, so that an
/// installed binary can be told from a debug build (the wheel's test checks it).
const LONG_VERSION: &str = if cfg!(debug_assertions) {
    concat!(env!("CARGO_PKG_VERSION"), " (debug build)")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (release build)")
};

#[derive(Debug, Parser)]
#[command(
    name = "docmatrix",
    version,
    long_version = LONG_VERSION,
    about = "Validate the code examples of Markdown guides on every Python version",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every Python example on every version of the matrix and report.
    Validate(Box<ValidateArgs>),
    /// List the interpreters found for the matrix, and where.
    Interpreters(InterpArgs),
    /// Show or clear the result cache.
    Cache(CacheArgs),
    /// List the code blocks found, with their lines and annotations (nothing is run).
    Extract(ExtractArgs),
    /// Join the JSON reports of several runs (e.g. --partition shards) and report on them.
    Merge(outputs::MergeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
struct Common {
    /// Python versions of the matrix, comma-separated [default: 3.9,3.10,3.11,3.12]
    #[arg(long, value_name = "VERSIONS")]
    python: Option<String>,
    /// Config file [default: docmatrix.toml or pyproject.toml, from here upward]
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Ignore config files
    #[arg(long)]
    no_config: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Markdown files or folders [default: the config's `paths`, else docs/]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
    /// Jobs in flight at once [default: four per core with warm isolation, one per core with
    /// process isolation]
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Seconds each block may run, unless it says `timeout=` [default: 10]
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// A version with no interpreter does not fail the run
    #[arg(long)]
    allow_missing: bool,
    /// Install nothing: use only the dependency environments already built
    #[arg(long)]
    offline: bool,
    /// Skip files matching this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also read what .gitignore and the other ignore files leave out
    #[arg(long)]
    no_ignore: bool,
    /// Output format on stdout
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    format: Format,
    #[command(flatten)]
    outputs: outputs::OutputArgs,
    /// Run only shard K of N of the examples (a group stays whole); join with `merge`
    #[arg(long, value_name = "K/N")]
    partition: Option<docmatrix::model::Partition>,
    /// Colour on the terminal (NO_COLOR turns `auto` off)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Sandbox for snippets: auto (bubblewrap where it works), bwrap, none [default: auto]
    #[arg(long, value_name = "MODE", value_enum, conflicts_with = "no_sandbox")]
    sandbox: Option<SandboxMode>,
    /// Run without a sandbox (same as --sandbox none); needed to run shell blocks where
    /// bubblewrap is missing
    #[arg(long)]
    no_sandbox: bool,
    /// Run shell blocks too, not only check them (a block's `no-run` still wins)
    #[arg(long)]
    run_shell: bool,
    /// The least severe static finding that fails its example: error, warning, info, style
    /// [default: error]
    #[arg(long, value_name = "SEVERITY", value_enum)]
    fail_on: Option<Severity>,
    /// No progress bar (it only shows when stderr is a terminal anyway)
    #[arg(long)]
    no_progress: bool,
    /// How jobs are isolated: warm (a forking worker per interpreter) or process (a fresh
    /// interpreter per job) [default: warm]
    #[arg(long, value_name = "MODE", value_enum)]
    isolation: Option<Isolation>,
    /// Where Python examples run: auto (local interpreters, a container image for a version
    /// with none when an engine answers), local, or container (every version in its image)
    /// [default: auto]
    #[arg(long, value_name = "BACKEND", value_enum)]
    backend: Option<Backend>,
    /// The container engine: podman or docker [default: the first that answers]
    #[arg(long, value_name = "ENGINE", value_enum)]
    engine: Option<EngineKind>,
    /// Run everything; neither read nor write the result cache
    #[arg(long)]
    no_cache: bool,
    /// The result cache's folder [default: $XDG_CACHE_HOME/docmatrix]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Read and plan only: count what would run, run nothing
    #[arg(long)]
    dry_run: bool,
    /// A PATH with no Markdown file in it is not an error (the run is empty, exit status 0)
    #[arg(long)]
    allow_empty: bool,
    /// Also list interpreters' paths and the info-string attributes left to other tools
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Debug, Args)]
struct CacheArgs {
    #[command(subcommand)]
    action: CacheAction,
    /// The result cache's folder [default: the config's `cache-dir`, else $XDG_CACHE_HOME/docmatrix]
    #[arg(long, value_name = "DIR", global = true)]
    cache_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum CacheAction {
    /// Where the cache is, and how large
    Info,
    /// Remove every cached result, interpreter probe and dependency environment
    Clear,
    /// List the dependency environments, with their packages
    Envs,
}

#[derive(Debug, Args)]
struct InterpArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value = "terminal", value_parser = plain_format())]
    format: Format,
    /// Also list the dependency environments built from them, with their packages (as
    /// `cache envs` does; terminal format)
    #[arg(long, conflicts_with = "format")]
    envs: bool,
    /// Where Python examples run: auto, local or container, as `validate --backend`
    /// [default: auto]
    #[arg(long, value_name = "BACKEND", value_enum)]
    backend: Option<Backend>,
    /// The container engine: podman or docker [default: the first that answers]
    #[arg(long, value_name = "ENGINE", value_enum)]
    engine: Option<EngineKind>,
}

#[derive(Debug, Args)]
struct ExtractArgs {
    /// Markdown files or folders [default: the config's `paths`, else docs/]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also read what .gitignore and the other ignore files leave out
    #[arg(long)]
    no_ignore: bool,
    #[arg(long, default_value = "terminal", value_parser = plain_format())]
    format: Format,
    /// A PATH with no Markdown file in it is not an error
    #[arg(long)]
    allow_empty: bool,
}

/// `--format` of the commands that print only the terminal text or JSON.
fn plain_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["terminal", "json"]).try_map(|s| s.parse::<Format>())
}

fn overrides(c: &Common) -> Overrides {
    Overrides {
        python: c.python.clone(),
        config: c.config.clone(),
        no_config: c.no_config,
        ..Default::default()
    }
}

fn resolve(o: &Overrides) -> Result<Config, Error> {
    let cwd = std::env::current_dir()?;
    Config::resolve(&cwd, o)
}

/// Every path to read must yield a Markdown file: a mistyped path or an empty folder is an
/// error (exit status 2) unless `--allow-empty`, which turns it into a note.
fn check_inputs(config: &Config, allow_empty: bool) -> Result<(), Error> {
    let empty = docmatrix::discover::empty_roots(
        &config.inputs.paths,
        &config.inputs.exclude,
        config.inputs.respect_gitignore,
    )?;
    if empty.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = empty.iter().map(|p| p.display().to_string()).collect();
    if allow_empty {
        eprintln!(
            "docmatrix: note: no Markdown files (.md, .markdown) in {} (--allow-empty)",
            names.join(", ")
        );
        return Ok(());
    }
    let excluded = if config.inputs.exclude_patterns.is_empty() {
        ""
    } else {
        " that the exclude globs leave in"
    };
    Err(Error::Usage(format!(
        "{}: no Markdown files (.md, .markdown) in {}{excluded}; check the path, or pass --allow-empty to accept an empty run",
        names.join(", "),
        if names.len() == 1 { "this folder" } else { "these folders" },
    )))
}

/// Whether this is a CI run: `CI` set, and neither empty nor `false` / `0`.
fn on_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| {
        let v = v.to_string_lossy();
        let v = v.trim();
        !(v.is_empty() || v.eq_ignore_ascii_case("false") || v == "0")
    })
}

/// Picks the sandbox; on CI, `auto` finding none is an error instead of a silent run without
/// one (a runner's permissions and network are worth protecting; `--sandbox none` says so).
fn select_sandbox(mode: SandboxMode, backend: Backend) -> Result<Sandbox, Error> {
    let sandbox = Sandbox::select(mode).map_err(Error::Usage)?;
    // With every version in a container, the containers are the sandbox.
    let contained = backend == Backend::Container;
    if mode == SandboxMode::Auto && sandbox == Sandbox::None && on_ci() && !contained {
        return Err(Error::Usage(
            "CI is set, and no working sandbox was found: bubblewrap (bwrap) is not on PATH or cannot create namespaces here, so examples would run with the runner's own permissions and network. Install bubblewrap (e.g. `sudo apt-get install bubblewrap`; where unprivileged user namespaces are restricted, as on Ubuntu 24.04, also `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or run without a sandbox on purpose: `--sandbox none` (or `sandbox = \"none\"` in the configuration)".into(),
        ));
    }
    Ok(sandbox)
}

/// Parses the command line, runs the command, returns the exit status.
pub fn main() -> i32 {
    endings_start();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Validate(a) => validate(*a),
        Command::Interpreters(a) => interpreters(a),
        Command::Cache(a) => cache(a),
        Command::Extract(a) => extract(a),
        Command::Merge(a) => outputs::merge(a),
    };
    // Nothing is reported once interrupted; then orphaned daemons go (see `interrupt`).
    interrupt::hold_if_interrupted();
    docmatrix::sys::container::remove_leftovers();
    interrupt::reap_orphans();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("docmatrix: error: {e}");
            e.code()
        }
    }
}

/// Clean endings (before any thread starts): SIGINT, SIGTERM or SIGHUP kill every process of
/// the run and remove its folders, then docmatrix says `interrupted` and exits (`on_signal`)
/// with 128 + the signal's number; daemonised descendants stay docmatrix's (subreaper); folders left by runs
/// killed earlier are removed.
fn endings_start() {
    let _ = interrupt::on_signal(|_| {
        interrupt::stop_all();
        let mut err = std::io::stderr();
        let clear = if err.is_terminal() { "\r\x1b[2K" } else { "" };
        // Not eprintln!: it panics when stderr is closed (whoever read it is gone).
        let _ = writeln!(err, "{clear}interrupted");
    });
    interrupt::become_subreaper();
    interrupt::sweep_stale_folders();
}

fn write_json(doc: &impl serde::Serialize) {
    write_stdout(&format!(
        "{}\n",
        serde_json::to_string_pretty(doc).unwrap_or_default()
    ));
}

fn write_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`docmatrix … | head`) is not an error worth a panic.
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// The progress bar on stderr: drawn only on a terminal, sized once the plan is known.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new(visible: bool) -> Bar {
        let bar = ProgressBar::hidden();
        if visible {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos}/{len} jobs {wide_bar} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
        }
        Bar { bar }
    }
}

impl Progress for Bar {
    fn plan_size(&self, jobs: usize) {
        self.bar.set_length(jobs as u64);
    }

    fn job_done(&self, _job: &Job, _r: &JobResult) {
        self.bar.inc(1);
    }
}

fn validate(a: ValidateArgs) -> Result<i32, Error> {
    let o = Overrides {
        paths: a.paths.clone(),
        jobs: a.jobs,
        timeout: a.timeout,
        allow_missing: a.allow_missing,
        offline: a.offline,
        exclude: a.exclude.clone(),
        no_ignore: a.no_ignore,
        sandbox: if a.no_sandbox {
            Some(SandboxMode::None)
        } else {
            a.sandbox
        },
        run_shell: a.run_shell,
        fail_on: a.fail_on,
        isolation: a.isolation,
        backend: a.backend,
        engine: a.engine,
        no_cache: a.no_cache,
        cache_dir: a.cache_dir.clone(),
        partition: a.partition,
        ..overrides(&a.common)
    };
    let mut config = resolve(&o)?;
    // Nothing runs before the outputs, the inputs, the sandbox and the cache are known good.
    a.outputs.check()?;
    check_inputs(&config, a.allow_empty)?;
    if a.dry_run {
        return dry_run(&config, outputs::plain(a.format)?);
    }
    let sandbox = select_sandbox(config.run.sandbox, config.python.backend)?;
    if let Some(dir) = &config.run.cache_dir {
        if let Err(why) = Cache::new(dir.clone()).usable() {
            eprintln!(
                "docmatrix: warning: cache disabled: {}: {why}",
                dir.display()
            );
            if config.run.env_dir.as_ref() == Some(dir) {
                config.run.env_dir = None;
            }
            config.run.cache_dir = None;
        }
    }
    let mut env = SearchEnv::from_process();
    env.probe_cache = config
        .run
        .cache_dir
        .as_ref()
        .map(|d| d.join("interpreters.json"));
    let prepared = docmatrix::prepare_with(&config, &env, &|m: &str| eprintln!("docmatrix: {m}"))?;
    let runner = docmatrix::runner::Runner::new(
        &config,
        sandbox,
        &prepared.all_interpreters(),
        &prepared.examples,
    );
    let bar = Bar::new(!a.no_progress && std::io::stderr().is_terminal());
    let report = docmatrix::run_prepared(&config, prepared, runner.executor(), &bar);
    bar.bar.finish_and_clear();
    for w in runner.finish() {
        eprintln!("docmatrix: warning: {w}");
    }
    let style = Style {
        color: outputs::colour(a.color),
        verbose: a.verbose,
    };
    outputs::emit(&report, a.format, &a.outputs, style)
}

/// `validate --dry-run`: the plan, with every matrix version assumed present.
fn dry_run(config: &Config, format: Format) -> Result<i32, Error> {
    let start = std::time::Instant::now();
    let mut corpus = docmatrix::load(config)?;
    let examples = docmatrix::partition::select(corpus.take_checked(), config.inputs.partition);
    let plan = docmatrix::plan::plan(
        &examples,
        &config.versions,
        &docmatrix::plan::Sites::assumed(&config.versions),
        &docmatrix::plan_options(config),
    );
    let elapsed = start.elapsed();
    let bytes: u64 = corpus
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let versions: Vec<String> = config.versions.iter().map(ToString::to_string).collect();
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "files": corpus.files.len(),
                "bytes": bytes,
                "examples": examples.len(),
                "jobs": plan.jobs.len(),
                "decided": plan.decided.len(),
                "versions": versions,
                "warnings": input_json::to_value(&corpus.warnings),
                "errors": input_json::to_value(&corpus.errors),
            });
            write_json(&doc);
        }
        _ => {
            let mut text = String::new();
            for d in corpus.errors.iter().chain(&corpus.warnings) {
                text.push_str(&format!("{}\n", d.display()));
            }
            text.push_str(&format!(
                "dry run: {} files ({bytes} bytes), {} examples: {} jobs to run on {}, {} decided without running (skipped, not applicable, checked only); read and planned in {:.3}s\n",
                corpus.files.len(),
                examples.len(),
                plan.jobs.len(),
                versions.join(", "),
                plan.decided.len(),
                elapsed.as_secs_f64(),
            ));
            write_stdout(&text);
        }
    }
    let status = if corpus.errors.is_empty() { 0 } else { 1 };
    // The process ends here: freeing a large corpus and plan one piece at a time would only
    // cost time (a tenth of a 200 MB dry run).
    std::mem::forget((corpus, examples, plan));
    Ok(status)
}

fn cache(a: CacheArgs) -> Result<i32, Error> {
    let config = resolve(&Overrides {
        cache_dir: a.cache_dir.clone(),
        ..Default::default()
    })?;
    if let CacheAction::Envs = a.action {
        write_stdout(&envs_text(&config));
        return Ok(0);
    }
    let Some(dir) = config.run.cache_dir else {
        write_stdout("the result cache is off (`cache = false` in the config)\n");
        return Ok(0);
    };
    cache_action(a.action, dir)
}

/// The dependency environments under the cache folder, with their packages (`cache envs`,
/// `interpreters --envs`).
fn envs_text(config: &Config) -> String {
    // Environments are built even with the result cache off: then in the default folder.
    let Some(dir) = config.run.cache_dir.clone().or_else(Cache::default_dir) else {
        return "no cache folder\n".into();
    };
    let envs = docmatrix::env::list(&dir);
    let mut text = String::new();
    for e in &envs {
        let n = e.packages.len();
        let state = if e.complete {
            ""
        } else {
            "  (incomplete: rebuilt when needed)"
        };
        text.push_str(&format!(
            "{}  {n} package{}{state}\n  {}\n",
            e.name,
            if n == 1 { "" } else { "s" },
            e.path.display()
        ));
        if !e.packages.is_empty() {
            text.push_str(&format!("  {}\n", e.packages.join(", ")));
        }
    }
    text.push_str(&format!(
        "{} environment{} in {}\n",
        envs.len(),
        if envs.len() == 1 { "" } else { "s" },
        dir.join("envs").display()
    ));
    text
}

fn cache_action(action: CacheAction, dir: PathBuf) -> Result<i32, Error> {
    let cache = Cache::new(dir.clone());
    match action {
        CacheAction::Info => {
            let s = cache.stats();
            let damaged = if s.bad_lines == 0 {
                String::new()
            } else {
                format!(
                    "; {} unreadable line{} in {} file{}, dropped by the next run that reads {}",
                    s.bad_lines,
                    if s.bad_lines == 1 { "" } else { "s" },
                    s.bad_files,
                    if s.bad_files == 1 { "" } else { "s" },
                    if s.bad_files == 1 { "it" } else { "them" },
                )
            };
            write_stdout(&format!(
                "{}: {} entries (results and static checks' outputs), {} bytes{damaged}\n",
                dir.display(),
                s.entries,
                s.bytes,
            ));
        }
        CacheAction::Clear => {
            let envs = docmatrix::env::list(&dir).len();
            let images = docmatrix::env::remove_images(&dir);
            let n = cache.clear()?;
            let images = match images {
                0 => String::new(),
                1 => " (and its image)".to_string(),
                k => format!(" (and their {k} images)"),
            };
            write_stdout(&format!(
                "{}: removed {n} entries and {envs} environment{}{images}\n",
                dir.display(),
                if envs == 1 { "" } else { "s" }
            ));
        }
        CacheAction::Envs => {}
    }
    Ok(0)
}

fn interpreters(a: InterpArgs) -> Result<i32, Error> {
    let config = resolve(&Overrides {
        backend: a.backend,
        engine: a.engine,
        ..overrides(&a.common)
    })?;
    // With a backend asked for (`--backend`, or `backend` other than `auto` in the config):
    // what `validate` would run each version with, images included. Else the local ones.
    let env = SearchEnv::from_process();
    let found = if a.backend.is_some() || config.python.backend != Backend::Auto {
        docmatrix::find_interpreters(&config, &env)
    } else {
        docmatrix::interp::discover(&config.versions, &config.python.interpreters, &env)
    };
    let mut missing = 0;
    let mut text = String::new();
    // Keyed by version, so that 3.9 comes before 3.10 in the JSON too.
    let mut json = std::collections::BTreeMap::new();
    for (v, f) in &found {
        match f {
            Found::Yes(i) => {
                let place = match &i.container {
                    Some(c) => format!("{} in {} ({})", c.python.display(), c.image, c.engine),
                    None => format!("{} ({})", i.path.display(), i.source),
                };
                text.push_str(&format!("{v}  {}  {place}\n", i.version));
                json.insert(*v, Some(i));
            }
            Found::No(why) => {
                missing += 1;
                text.push_str(&format!("{v}  missing: {why}\n"));
                json.insert(*v, None);
            }
        }
    }
    if a.envs {
        text.push('\n');
        text.push_str(&envs_text(&config));
    }
    match a.format {
        Format::Json => write_json(&json),
        _ => write_stdout(&text),
    }
    Ok(if missing > 0 { 1 } else { 0 })
}

fn extract(a: ExtractArgs) -> Result<i32, Error> {
    let o = Overrides {
        paths: a.paths.clone(),
        exclude: a.exclude.clone(),
        no_ignore: a.no_ignore,
        ..overrides(&a.common)
    };
    let config = resolve(&o)?;
    check_inputs(&config, a.allow_empty)?;
    let corpus = docmatrix::load(&config)?;
    match a.format {
        Format::Json => {
            let blocks: Vec<serde_json::Value> = corpus
                .snippets
                .iter()
                .map(|s| {
                    let a = &s.annotations;
                    let mut block = serde_json::json!({
                        "file": s.file,
                        "line": s.line,
                        "end_line": s.end_line,
                        "language": s.lang.name(),
                        "info": s.info,
                        "tab": s.tab,
                        "runs": s.lang == Lang::Python,
                        "skip": a.skip,
                        "requires": a.requires.as_ref().map(ToString::to_string),
                        "group": a.group,
                        "raises": a.raises,
                        "timeout": a.timeout,
                        "code_lines": s.code_lines,
                        "included": s.sources.iter().map(|src| serde_json::json!({
                            "path": src.path,
                            "code_line": src.code_start + 1,
                            "line": src.file_line,
                            "lines": src.len,
                            "md_line": src.md_line,
                        })).collect::<Vec<_>>(),
                        "include_error": s.include_error.as_ref().map(|(line, message)| {
                            serde_json::json!({"line": line, "message": message})
                        }),
                        "code": &*s.code,
                    });
                    if s.session {
                        block["session"] = true.into();
                    }
                    block
                })
                .collect();
            let doc = serde_json::json!({
                "files": corpus.files,
                "blocks": blocks,
                "not_checked": corpus.unchecked(),
                "warnings": input_json::to_value(&corpus.warnings),
                "errors": input_json::to_value(&corpus.errors),
            });
            write_json(&doc);
        }
        _ => {
            let mut text = String::new();
            for s in &corpus.snippets {
                let lines = s.code_lines.len();
                if !s.lang.is_checked() {
                    continue;
                }
                let tab = s
                    .tab
                    .as_ref()
                    .map(|t| format!("  (tab \"{t}\")"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "{}:{}  {}  {} line{}{}{}\n",
                    s.file.display(),
                    s.line,
                    s.lang.name(),
                    lines,
                    if lines == 1 { "" } else { "s" },
                    tab,
                    describe(&s.annotations),
                ));
                if let Some((line, message)) = &s.include_error {
                    text.push_str(&format!(
                        "  {}:{line}: error: {message}\n",
                        s.file.display()
                    ));
                }
            }
            let unread = corpus.unchecked();
            if !unread.is_empty() {
                text.push_str("not checked:\n");
                for u in &unread {
                    text.push_str(&format!(
                        "  {}:{}  {}\n",
                        u.file.display(),
                        u.line,
                        u.reason
                    ));
                }
            }
            for d in corpus.errors.iter().chain(&corpus.warnings) {
                text.push_str(&format!("{}\n", d.display()));
            }
            let py = corpus.python().count();
            let checked = corpus.checked().count();
            text.push_str(&format!(
                "{} files, {} blocks, {} Python, {} shell or Dockerfile, {} not checked\n",
                corpus.files.len(),
                corpus.snippets.len() + corpus.unread.len(),
                py,
                checked - py,
                unread.len(),
            ));
            write_stdout(&text);
        }
    }
    Ok(if corpus.errors.is_empty() { 0 } else { 1 })
}

fn describe(a: &docmatrix::model::Annotations) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &a.skip {
        parts.push(if r.is_empty() {
            "skip".to_string()
        } else {
            format!("skip ({r})")
        });
    }
    if let Some(r) = &a.requires {
        parts.push(format!("requires {r}"));
    }
    if let Some(g) = &a.group {
        parts.push(format!("group {g}"));
    }
    if let Some(r) = &a.raises {
        parts.push(format!("raises {r}"));
    }
    if let Some(t) = a.timeout {
        parts.push(format!("timeout {t}s"));
    }
    match a.run {
        Some(true) => parts.push("run".into()),
        Some(false) => parts.push("no-run".into()),
        None => {}
    }
    if a.network {
        parts.push("network".into());
    }
    if let Some(c) = &a.context {
        parts.push(format!("context {c}"));
    }
    if !a.ignore.is_empty() {
        parts.push(format!("ignore {}", a.ignore.join(",")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("  [{}]", parts.join(", "))
    }
}
