//! The command line: clap arguments → [`Overrides`], merged once into a [`Config`]; the
//! commands; the progress bar. The only place that prints.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use docmatrix::config::{Config, Overrides};
use docmatrix::error::Error;
use docmatrix::interp::{self, Found, SearchEnv};
use docmatrix::model::Lang;
use docmatrix::plan::Job;
use docmatrix::report::{self, terminal::Style};
use docmatrix::run::sandbox::Sandbox;
use docmatrix::run::{JobResult, ProcessExecutor, Progress};

#[derive(Debug, Parser)]
#[command(
    name = "docmatrix",
    version,
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
    Validate(ValidateArgs),
    /// List the interpreters found for the matrix, and where.
    Interpreters(InterpArgs),
    /// List the code blocks found, with their lines and annotations (nothing is run).
    Extract(ExtractArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Terminal,
    Json,
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
    /// Jobs run at once [default: the number of cores]
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Seconds each block may run, unless it says `timeout=` [default: 10]
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// A version with no interpreter does not fail the run
    #[arg(long)]
    allow_missing: bool,
    /// Skip files matching this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Output format on stdout
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    format: Format,
    /// Colour on the terminal (NO_COLOR turns `auto` off)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Sandbox for snippets: auto (bubblewrap where it works), bwrap, none [default: auto]
    #[arg(long, value_name = "MODE", value_parser = ["auto", "bwrap", "none"])]
    sandbox: Option<String>,
    /// No progress bar (it only shows when stderr is a terminal anyway)
    #[arg(long)]
    no_progress: bool,
    /// Read and plan only: count what would run, run nothing
    #[arg(long)]
    dry_run: bool,
    /// Also list interpreters' paths and the info-string attributes left to other tools
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Debug, Args)]
struct InterpArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    format: Format,
}

#[derive(Debug, Args)]
struct ExtractArgs {
    /// Markdown files or folders [default: the config's `paths`, else docs/]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    format: Format,
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

/// Parses the command line, runs the command, returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Validate(a) => validate(a),
        Command::Interpreters(a) => interpreters(a),
        Command::Extract(a) => extract(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("docmatrix: error: {e}");
            e.code()
        }
    }
}

fn write_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`docmatrix … | head`) is not an error worth a panic.
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

struct Bar {
    bar: ProgressBar,
    done: AtomicUsize,
}

impl Progress for Bar {
    fn job_done(&self, _job: &Job, _r: &JobResult) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(1);
    }
}

fn validate(a: ValidateArgs) -> Result<i32, Error> {
    let o = Overrides {
        paths: a.paths.clone(),
        jobs: a.jobs,
        timeout: a.timeout,
        allow_missing: a.allow_missing,
        exclude: a.exclude.clone(),
        sandbox: a.sandbox.clone(),
        ..overrides(&a.common)
    };
    let config = resolve(&o)?;
    if a.dry_run {
        return dry_run(&config, a.format);
    }
    let sandbox = Sandbox::select(config.sandbox).map_err(Error::Usage)?;
    let executor = ProcessExecutor::new(sandbox);
    let show_bar = !a.no_progress && std::io::stderr().is_terminal();
    let bar = ProgressBar::hidden();
    if show_bar {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} jobs {wide_bar} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }
    let progress = Bar {
        bar,
        done: AtomicUsize::new(0),
    };
    // The bar's length is known once the plan is made; the executor reports per job.
    let counting = CountingProgress { inner: &progress };
    let report = docmatrix::validate(&config, &SearchEnv::from_process(), &executor, &counting)?;
    progress.bar.finish_and_clear();
    let color = match a.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let text = match a.format {
        Format::Json => report::json::render(&report),
        Format::Terminal => report::terminal::render(
            &report,
            Style {
                color,
                verbose: a.verbose,
            },
        ),
    };
    write_stdout(&text);
    Ok(report.exit_code())
}

/// Sets the bar's length lazily from the first job's plan size.
struct CountingProgress<'a> {
    inner: &'a Bar,
}

impl Progress for CountingProgress<'_> {
    fn job_done(&self, job: &Job, r: &JobResult) {
        self.inner.job_done(job, r);
    }
    fn plan_size(&self, jobs: usize) {
        self.inner.bar.set_length(jobs as u64);
    }
}

/// `validate --dry-run`: the plan, with every matrix version assumed present.
fn dry_run(config: &Config, format: Format) -> Result<i32, Error> {
    let start = std::time::Instant::now();
    let corpus = docmatrix::load(config)?;
    let examples: Vec<_> = corpus.python().cloned().collect();
    let assumed = config
        .versions
        .iter()
        .map(|v| (*v, PathBuf::from(format!("python{v}"))))
        .collect();
    let plan = docmatrix::plan::plan(
        &examples,
        &config.versions,
        &assumed,
        &Default::default(),
        config.timeout,
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
                "warnings": corpus.warnings,
                "errors": corpus.errors,
            });
            write_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        Format::Terminal => {
            let mut text = String::new();
            for d in corpus.errors.iter().chain(&corpus.warnings) {
                text.push_str(&format!("{}\n", d.display()));
            }
            text.push_str(&format!(
                "dry run: {} files ({bytes} bytes), {} Python examples: {} jobs to run on {}, {} decided without running (skipped, not applicable); read and planned in {:.3}s\n",
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
    Ok(if corpus.errors.is_empty() { 0 } else { 1 })
}

fn interpreters(a: InterpArgs) -> Result<i32, Error> {
    let config = resolve(&overrides(&a.common))?;
    let found = interp::discover(
        &config.versions,
        &config.interpreters,
        &SearchEnv::from_process(),
    );
    let mut missing = 0;
    let mut text = String::new();
    // Keyed by version, so that 3.9 comes before 3.10 in the JSON too.
    let mut json = std::collections::BTreeMap::new();
    for (v, f) in &found {
        match f {
            Found::Yes(i) => {
                text.push_str(&format!(
                    "{v}  {}  {} ({})\n",
                    i.version,
                    i.path.display(),
                    i.source
                ));
                json.insert(*v, Some(i));
            }
            Found::No(why) => {
                missing += 1;
                text.push_str(&format!("{v}  missing: {why}\n"));
                json.insert(*v, None);
            }
        }
    }
    match a.format {
        Format::Terminal => write_stdout(&text),
        Format::Json => write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        )),
    }
    Ok(if missing > 0 { 1 } else { 0 })
}

fn extract(a: ExtractArgs) -> Result<i32, Error> {
    let o = Overrides {
        paths: a.paths.clone(),
        exclude: a.exclude.clone(),
        ..overrides(&a.common)
    };
    let config = resolve(&o)?;
    let corpus = docmatrix::load(&config)?;
    match a.format {
        Format::Json => {
            let blocks: Vec<serde_json::Value> = corpus
                .snippets
                .iter()
                .map(|s| {
                    let a = &s.annotations;
                    serde_json::json!({
                        "file": s.file,
                        "line": s.line,
                        "end_line": s.end_line,
                        "language": s.lang.name(),
                        "info": s.info,
                        "runs": s.lang == Lang::Python,
                        "skip": a.skip,
                        "requires": a.requires.as_ref().map(ToString::to_string),
                        "group": a.group,
                        "raises": a.raises,
                        "timeout": a.timeout,
                        "code_lines": s.code_lines,
                        "code": s.code,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "files": corpus.files,
                "blocks": blocks,
                "warnings": corpus.warnings,
                "errors": corpus.errors,
            });
            write_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        Format::Terminal => {
            let mut text = String::new();
            for s in &corpus.snippets {
                let lines = s.code_lines.len();
                text.push_str(&format!(
                    "{}:{}  {}  {} line{}{}\n",
                    s.file.display(),
                    s.line,
                    s.lang.name(),
                    lines,
                    if lines == 1 { "" } else { "s" },
                    describe(&s.annotations),
                ));
            }
            for d in corpus.errors.iter().chain(&corpus.warnings) {
                text.push_str(&format!("{}\n", d.display()));
            }
            let py = corpus.python().count();
            text.push_str(&format!(
                "{} files, {} blocks, {} Python\n",
                corpus.files.len(),
                corpus.snippets.len(),
                py
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
    if parts.is_empty() {
        String::new()
    } else {
        format!("  [{}]", parts.join(", "))
    }
}
