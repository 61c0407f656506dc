//! The CLI side of the CI outputs: `--format`, `--report FORMAT=PATH`, `--badges DIR`,
//! `--link-base`, the GitHub step summary, and the `merge` command. Rendering is the
//! library's ([`docmatrix::report`]); this file only decides where the texts go.

use std::io::{IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use clap::Args;

use docmatrix::error::Error;
use docmatrix::report::{self, badge, terminal::Style, Format, Links, Options, Report};

use super::{write_stdout, Color};

/// The format of the commands that only print terminal or JSON (`--dry-run`).
pub fn plain(format: Format) -> Result<Format, Error> {
    match format {
        Format::Terminal | Format::Json => Ok(format),
        other => Err(Error::Usage(format!(
            "--dry-run prints `terminal` or `json`, not `{other}`"
        ))),
    }
}

/// `--report FORMAT=PATH`.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    format: Format,
    path: PathBuf,
}

impl FromStr for ReportSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (f, p) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not FORMAT=PATH, as in junit=report.xml"))?;
        if p.is_empty() {
            return Err(format!("`{s}`: no PATH after `=`"));
        }
        Ok(ReportSpec {
            format: f.trim().parse()?,
            path: PathBuf::from(p),
        })
    }
}

/// The output options `validate` and `merge` share.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Also write the report as FORMAT to PATH, e.g. junit=junit.xml (repeatable; formats as
    /// for --format)
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    reports: Vec<ReportSpec>,
    /// Write the badge report into DIR: an SVG badge and a shields.io endpoint JSON per
    /// version and overall, and index.html
    #[arg(long, value_name = "DIR")]
    badges: Option<PathBuf>,
    /// Link the HTML and Markdown reports' examples to URL + file + #Lline, e.g. a
    /// repository's blob URL at the commit [default: relative links in HTML, none in Markdown]
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
}

/// `docmatrix merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `validate --format json` or `--report json=PATH`
    #[arg(required = true, value_name = "REPORT")]
    inputs: Vec<PathBuf>,
    /// Output format on stdout
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    format: Format,
    #[command(flatten)]
    outputs: OutputArgs,
    /// Colour on the terminal (NO_COLOR turns `auto` off)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Also list the interpreters' paths
    #[arg(long, short)]
    verbose: bool,
}

/// Whether to colour standard output.
pub fn colour(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// `../` steps from `dir` up to the working directory, or a `file://` URL of it when `dir`
/// is not below it: what the links of a page written in `dir` start with.
fn prefix_from(dir: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let rel = if dir.is_absolute() {
        dir.strip_prefix(&cwd).ok().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    };
    let mut ups = String::new();
    if let Some(rel) = rel {
        let mut ok = true;
        for c in rel.components() {
            match c {
                Component::Normal(_) => ups.push_str("../"),
                Component::CurDir => {}
                _ => ok = false,
            }
        }
        if ok {
            return ups;
        }
    }
    format!(
        "file://{}/",
        report::url_path(&report::slash_path(&cwd)).trim_end_matches('/')
    )
}

impl OutputArgs {
    /// Links for a page or document written into `dir` (`None`: standard output).
    fn links(&self, dir: Option<&Path>) -> Links {
        if let Some(base) = &self.link_base {
            let mut prefix = base.clone();
            if !prefix.ends_with('/') {
                prefix.push('/');
            }
            return Links { prefix };
        }
        Links {
            prefix: dir.map(prefix_from).unwrap_or_default(),
        }
    }

    fn wants_github(&self) -> bool {
        self.reports.iter().any(|r| r.format == Format::Github)
    }
}

/// Why a file cannot be written at `path`, found without writing it: it is a folder, its
/// folder is a file, or the nearest existing folder (where the missing ones would be created)
/// or the file itself refuses writing.
fn unwritable_file(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some("it is a folder, and a file is needed".into()),
        // Opened for writing, not truncated: the file is left as it is.
        Ok(_) => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .err()
            .map(|e| format!("cannot write it: {e}")),
        Err(e) if missing(&e) => unwritable_dir(path.parent().unwrap_or(Path::new(""))),
        Err(e) => Some(format!("cannot write it: {e}")),
    }
}

/// Whether a path is missing (or one of its folders is a file, which `unwritable_dir` names).
fn missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Why `dir` cannot be (made) a folder files are written into, or `None`.
fn unwritable_dir(dir: &Path) -> Option<String> {
    for d in dir.ancestors() {
        let d = if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        };
        match std::fs::metadata(d) {
            Ok(m) if !m.is_dir() => return Some(format!("{} is not a folder", d.display())),
            Ok(_) => {
                return tempfile::tempfile_in(d)
                    .err()
                    .map(|e| format!("cannot write in {}: {e}", d.display()))
            }
            Err(e) if missing(&e) => continue,
            Err(e) => return Some(format!("{}: {e}", d.display())),
        }
    }
    None
}

impl OutputArgs {
    /// Checks, before anything runs, that every report file and the badge folder can be
    /// written: `Err` names the first that cannot, and why.
    pub fn check(&self) -> Result<(), Error> {
        for spec in &self.reports {
            if let Some(why) = unwritable_file(&spec.path) {
                return Err(Error::Path {
                    path: spec.path.clone(),
                    message: format!(
                        "cannot write the {} report here (--report): {why}",
                        spec.format
                    ),
                });
            }
        }
        if let Some(dir) = &self.badges {
            let why = match std::fs::metadata(dir) {
                Ok(m) if !m.is_dir() => Some("it is a file, and a folder is needed".into()),
                _ => unwritable_dir(dir),
            };
            if let Some(why) = why {
                return Err(Error::Path {
                    path: dir.clone(),
                    message: format!("cannot write the badges here (--badges): {why}"),
                });
            }
        }
        Ok(())
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    let err = |e: std::io::Error| Error::Path {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}

/// Prints the report on stdout as `format`, writes every `--report` and the badges, and
/// appends the Markdown summary to `$GITHUB_STEP_SUMMARY` when it is set and the GitHub
/// format was asked for. Returns the exit status.
pub fn emit(report: &Report, format: Format, out: &OutputArgs, style: Style) -> Result<i32, Error> {
    let stdout_options = Options {
        style,
        links: out.links(None),
    };
    write_stdout(&format.render(report, &stdout_options));

    for spec in &out.reports {
        let dir = spec.path.parent().unwrap_or(Path::new(""));
        let options = Options {
            style: Style {
                color: false,
                ..style
            },
            links: out.links(Some(dir)),
        };
        write_file(&spec.path, &spec.format.render(report, &options))?;
    }

    if let Some(dir) = &out.badges {
        for b in badge::badges(report) {
            write_file(&dir.join(format!("{}.svg", b.name)), &badge::svg(&b))?;
            write_file(&dir.join(format!("{}.json", b.name)), &badge::endpoint(&b))?;
        }
        let links = out.links(Some(dir));
        write_file(
            &dir.join("index.html"),
            &report::html::render(report, &links),
        )?;
    }

    if format == Format::Github || out.wants_github() {
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            let text = report::markdown::render(report, &out.links(None));
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()));
            if let Err(e) = appended {
                eprintln!(
                    "docmatrix: warning: cannot append to GITHUB_STEP_SUMMARY ({}): {e}",
                    Path::new(&path).display()
                );
            }
        }
    }
    Ok(report.exit_code())
}

/// `docmatrix merge`: reads the JSON reports, joins them, and reports like `validate`.
pub fn merge(a: MergeArgs) -> Result<i32, Error> {
    a.outputs.check()?;
    let mut inputs = Vec::with_capacity(a.inputs.len());
    for path in &a.inputs {
        let err = |message: String| Error::Path {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let r = report::json::parse(&text).map_err(err)?;
        inputs.push((path.display().to_string(), r));
    }
    let merged = report::merge::merge(inputs).map_err(Error::Usage)?;
    let style = Style {
        color: colour(a.color),
        verbose: a.verbose,
    };
    emit(&merged, a.format, &a.outputs, style)
}
