//! `docmatrix.toml` or `[tool.docmatrix]` in pyproject.toml, found from the working directory
//! upward, merged once with the command line into one [`Config`].
//!
//! Must not know Markdown or processes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::Error;
use crate::model::Partition;
use crate::model::Severity;
use crate::sys::container::EngineKind;
use crate::sys::sandbox::SandboxMode;
use crate::version::{parse_version_list, supported, PyVersion};

pub(crate) const DEFAULT_VERSIONS: &str = "3.9,3.10,3.11,3.12";
pub(crate) const DEFAULT_TIMEOUT_SECS: f64 = 10.0;

/// The file's keys. Unknown keys are errors that name the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub versions: Option<Vec<String>>,
    pub paths: Option<Vec<PathBuf>>,
    pub exclude: Option<Vec<String>>,
    /// `false`: walk what `.gitignore` and the other ignore files leave out too.
    pub respect_gitignore: Option<bool>,
    pub timeout: Option<f64>,
    pub jobs: Option<usize>,
    pub allow_missing: Option<bool>,
    /// `auto` (bwrap where it works), `bwrap`, or `none`.
    pub sandbox: Option<SandboxMode>,
    /// `warm` (a forking worker per interpreter) or `process` (a fresh interpreter per job).
    pub isolation: Option<Isolation>,
    /// `false` turns the result cache off.
    pub cache: Option<bool>,
    /// Where the result cache lives (relative to this file); default `$XDG_CACHE_HOME/docmatrix`.
    pub cache_dir: Option<PathBuf>,
    /// `"3.12" = "/opt/python/bin/python3.12"`
    pub interpreters: Option<BTreeMap<String, PathBuf>>,
    /// Where Python examples run: `auto` (local interpreters, a container image for a version
    /// with none when an engine answers), `local` or `container`.
    pub backend: Option<Backend>,
    /// The container engine: `podman` or `docker` (default: the first that answers).
    pub engine: Option<EngineKind>,
    /// `[container]`: the images of the container backend.
    pub container: Option<ContainerFile>,
    /// The least severe static finding that fails its example (`error` by default).
    pub fail_on: Option<Severity>,
    pub shell: Option<ShellFile>,
    pub dockerfile: Option<DockerfileFile>,
    pub includes: Option<IncludesFile>,
    /// PEP 508 requirements the examples import, installed in an environment per version.
    pub dependencies: Option<Vec<String>>,
    /// pip requirement files (relative to this file).
    pub requirements: Option<Vec<PathBuf>>,
    /// Install the project itself (the pyproject.toml beside this file), built as a wheel.
    pub install_project: Option<bool>,
    /// The project's extras to install with it (`install-project`).
    pub extras: Option<Vec<String>>,
    /// Per-version overrides: `[environment."3.9"]`.
    pub environment: Option<BTreeMap<String, EnvironmentFile>>,
    /// Python run before every Python example and session (Sphinx's `doctest_global_setup`).
    pub setup: Option<String>,
    /// A file of Python run the same way (relative to this file); not with `setup`.
    pub setup_file: Option<PathBuf>,
    /// Files in page mode (patterns as `exclude`): their Python examples run in order in one
    /// namespace, each judged on its own.
    pub pages: Option<Vec<String>>,
}

/// `[environment."3.X"]`: the dependencies of one version, instead of the top-level ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentFile {
    pub dependencies: Option<Vec<String>>,
    pub requirements: Option<Vec<PathBuf>>,
}

/// `[container]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContainerFile {
    /// The image of every version, `{version}` replaced (`python:{version}-slim` by default).
    pub image: Option<String>,
    /// Images of single versions: `"3.9" = "python:3.9-bookworm"`.
    pub images: Option<BTreeMap<String, String>>,
    /// Pull a missing image (`false` by default: the version's cells are `unavailable`).
    pub pull: Option<bool>,
}

/// The image each version runs in when no `[container]` says otherwise.
pub const DEFAULT_IMAGE: &str = "python:{version}-slim";

/// Where Python examples run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Local interpreters; a container for a version with none, when an engine answers.
    #[default]
    Auto,
    /// Local interpreters only.
    Local,
    /// Every version in a container of its image.
    Container,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Local => "local",
            Backend::Container => "container",
        }
    }
}

/// `[includes]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IncludesFile {
    /// The folder included files must be in (relative to this file); default: this file's
    /// folder.
    pub root: Option<PathBuf>,
    /// More folders include paths resolve from (relative to the root).
    pub base_paths: Option<Vec<PathBuf>>,
}

/// `[shell]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ShellFile {
    /// Run shell blocks (not only check them); a block's `run` / `no-run` wins.
    pub run: Option<bool>,
    /// The least severe shellcheck finding reported (`warning` by default).
    pub min_severity: Option<Severity>,
}

/// `[dockerfile]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DockerfileFile {
    /// Build Dockerfile blocks where a container engine answers (`true` by default).
    pub build: Option<bool>,
    /// Let the engine pull missing base images (`false`: a missing image makes the cell blocked).
    pub pull: Option<bool>,
    /// Seconds a build may take (default 300).
    pub timeout: Option<f64>,
    /// The least severe hadolint finding reported (`warning` by default).
    pub min_severity: Option<Severity>,
}

/// What the command line says; `None` leaves the config file's value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub paths: Vec<PathBuf>,
    pub python: Option<String>,
    pub jobs: Option<usize>,
    pub timeout: Option<f64>,
    pub allow_missing: bool,
    pub exclude: Vec<String>,
    /// `--no-ignore`: walk what the ignore files leave out too.
    pub no_ignore: bool,
    pub config: Option<PathBuf>,
    pub no_config: bool,
    pub sandbox: Option<SandboxMode>,
    pub isolation: Option<Isolation>,
    pub backend: Option<Backend>,
    pub engine: Option<EngineKind>,
    pub no_cache: bool,
    pub cache_dir: Option<PathBuf>,
    /// `--partition K/N`: run only that slice of the examples.
    pub partition: Option<Partition>,
    /// `--run-shell`: run shell blocks too.
    pub run_shell: bool,
    /// Use only environments already built (`--offline`).
    pub offline: bool,
    /// `--fail-on SEVERITY`.
    pub fail_on: Option<Severity>,
}

/// How jobs are isolated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// A child forked from a warm worker per interpreter (the default).
    Warm,
    /// A fresh interpreter process per job.
    Process,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Warm => "warm",
            Isolation::Process => "process",
        }
    }
}

/// The one merged configuration every later stage reads, grouped by concern like the file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
    pub versions: Vec<PyVersion>,
    pub inputs: Inputs,
    pub run: RunOptions,
    pub policy: PolicyOptions,
    pub python: PythonOptions,
    pub shell: ShellOptions,
    pub docker: DockerOptions,
}

/// What is read: the Markdown files, the included files, the slice of the examples.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    pub exclude: GlobSet,
    pub exclude_patterns: Vec<String>,
    /// Folders are walked as `.gitignore` and the other ignore files say (`discover`).
    pub respect_gitignore: bool,
    /// The folder included files must be in (`[includes] root`); `None`: the config file's
    /// folder, else the nearest folder above the docs holding `.git` or `pyproject.toml`,
    /// else the current folder (see [`Config::include_root`]).
    pub include_root: Option<PathBuf>,
    /// `[includes] base-paths`, relative to the root.
    pub include_bases: Vec<PathBuf>,
    /// The slice of the examples to run (`--partition`); all of them when `None`.
    pub partition: Option<Partition>,
    /// The files in page mode (`pages`).
    pub pages: GlobSet,
}

/// How jobs run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub timeout: Duration,
    pub jobs: usize,
    pub sandbox: SandboxMode,
    pub isolation: Isolation,
    /// The result cache's folder; `None` when the cache is off.
    pub cache_dir: Option<PathBuf>,
    /// The folder that holds the dependency environments: the cache folder, also when the
    /// result cache is off (`--no-cache` neither reads nor writes results, and still reuses
    /// the environments built there).
    pub env_dir: Option<PathBuf>,
}

/// What fails the run.
#[derive(Debug, Clone)]
pub struct PolicyOptions {
    /// A version with no interpreter does not fail the run.
    pub allow_missing: bool,
    /// Static findings at or above this severity fail their example.
    pub fail_on: Severity,
}

/// The interpreters and what is installed in them.
#[derive(Debug, Clone)]
pub struct PythonOptions {
    pub interpreters: BTreeMap<PyVersion, PathBuf>,
    /// Local interpreters, containers, or containers where no local one is found.
    pub backend: Backend,
    /// The engine asked for; `None`: the first that answers.
    pub engine: Option<EngineKind>,
    /// Each version's image for the container backend.
    pub images: BTreeMap<PyVersion, String>,
    /// A missing image may be pulled.
    pub pull: bool,
    /// What the examples need installed, by version (the top level's, or the version's
    /// `[environment."3.X"]`); empty: the bare interpreters.
    pub dependencies: BTreeMap<PyVersion, crate::env::Spec>,
    /// `--offline`: no installs, only environments already built.
    pub offline: bool,
    /// `install-project = true`: the project, built as a wheel, in every environment.
    pub project: Option<crate::env::Project>,
    /// `setup` / `setup-file`: Python run before the examples.
    pub setup: Option<std::sync::Arc<str>>,
}

/// `[shell]`, resolved.
#[derive(Debug, Clone)]
pub struct ShellOptions {
    /// Shell blocks run by default (else only with a `run` annotation).
    pub run: bool,
    /// shellcheck findings below this severity are not reported.
    pub min_severity: Severity,
}

/// `[dockerfile]`, resolved.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// Dockerfile blocks are built where an engine answers.
    pub build: bool,
    /// Missing base images may be pulled.
    pub pull: bool,
    pub timeout: Duration,
    /// hadolint findings below this severity are not reported.
    pub min_severity: Severity,
}

impl Config {
    /// The project root for includes (see [`Config::include_root`]'s field).
    pub(crate) fn include_root(&self, cwd: &Path) -> PathBuf {
        if let Some(r) = &self.inputs.include_root {
            return r.clone();
        }
        if let Some(dir) = self.source.as_deref().and_then(Path::parent) {
            return if dir.as_os_str().is_empty() {
                cwd.to_path_buf()
            } else {
                dir.to_path_buf()
            };
        }
        let first = self.inputs.paths.first().map(|p| cwd.join(p));
        let start = first
            .as_deref()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .unwrap_or_else(|| cwd.to_path_buf());
        start
            .ancestors()
            .find(|d| d.join(".git").exists() || d.join("pyproject.toml").is_file())
            .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf)
    }
}

/// Looks for `docmatrix.toml`, or a pyproject.toml with `[tool.docmatrix]`, in `start` and its
/// ancestors; the nearest wins.
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let own = dir.join("docmatrix.toml");
        if own.is_file() {
            return Some(own);
        }
        let py = dir.join("pyproject.toml");
        let text = std::fs::read_to_string(&py).ok()?;
        let value: toml::Table = text.parse().ok()?;
        value
            .get("tool")
            .and_then(|t| t.get("docmatrix"))
            .map(|_| py)
    })
}

/// Reads a config file: a docmatrix.toml, or the `[tool.docmatrix]` table of a pyproject.toml.
pub fn load(path: &Path) -> Result<FileConfig, Error> {
    let err = |message: String| Error::Config {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    if is_pyproject {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        let section = table
            .get("tool")
            .and_then(|t| t.get("docmatrix"))
            .cloned()
            .unwrap_or(toml::Value::Table(Default::default()));
        section
            .try_into()
            .map_err(|e: toml::de::Error| err(format!("[tool.docmatrix]: {}", e.message())))
    } else {
        toml::from_str(&text).map_err(|e| err(e.to_string().trim_end().to_string()))
    }
}

/// `Err` naming the first version docmatrix cannot run (see [`supported`]).
fn check_supported(versions: &[PyVersion]) -> Result<Vec<PyVersion>, String> {
    versions.iter().try_for_each(|&v| supported(v))?;
    Ok(versions.to_vec())
}

fn build_globs(patterns: &[String], what: &str) -> Result<GlobSet, Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        for pat in [
            p.to_string(),
            format!("**/{p}"),
            format!("{p}/**"),
            format!("**/{p}/**"),
        ] {
            let glob =
                Glob::new(&pat).map_err(|e| Error::Usage(format!("{what} pattern `{p}`: {e}")))?;
            b.add(glob);
        }
    }
    b.build()
        .map_err(|e| Error::Usage(format!("{what} patterns: {e}")))
}

impl Config {
    /// Merges the config file (found from `cwd` unless given or disabled) with the command line.
    pub fn resolve(cwd: &Path, o: &Overrides) -> Result<Config, Error> {
        let source = if o.no_config {
            None
        } else {
            o.config.clone().or_else(|| find(cwd))
        };
        let file = match &source {
            Some(p) => load(p)?,
            None => FileConfig::default(),
        };
        let cerr = |message: String| Error::Config {
            path: source.clone().unwrap_or_default(),
            message,
        };
        let base_dir = source
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf());
        // Paths in the file are relative to the file; shown relative to cwd when that is the same.
        let rebase = |p: &PathBuf| -> PathBuf {
            if p.is_absolute() || base_dir == cwd || base_dir.as_os_str().is_empty() {
                p.clone()
            } else {
                base_dir.join(p)
            }
        };

        let versions = match (&o.python, &file.versions) {
            (Some(s), _) => parse_version_list(s)
                .and_then(|vs| check_supported(&vs))
                .map_err(|e| Error::Usage(format!("--python: {e}")))?,
            (None, Some(list)) => parse_version_list(&list.join(","))
                .and_then(|vs| check_supported(&vs))
                .map_err(|e| cerr(format!("versions: {e}")))?,
            (None, None) => parse_version_list(DEFAULT_VERSIONS).map_err(Error::Usage)?,
        };
        let paths = if !o.paths.is_empty() {
            o.paths.clone()
        } else if let Some(p) = &file.paths {
            p.iter().map(rebase).collect()
        } else {
            vec![PathBuf::from("docs")]
        };
        let mut exclude_patterns = file.exclude.clone().unwrap_or_default();
        exclude_patterns.extend(o.exclude.iter().cloned());
        let timeout = o.timeout.or(file.timeout).unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(timeout > 0.0 && timeout.is_finite()) {
            return Err(Error::Usage(format!(
                "timeout must be a positive number of seconds, not {timeout}"
            )));
        }
        let mut interpreters = BTreeMap::new();
        for (k, v) in file.interpreters.iter().flatten() {
            let ver: PyVersion = k
                .parse()
                .and_then(|v| supported(v).map(|()| v))
                .map_err(|e: String| cerr(format!("[interpreters]: {e}")))?;
            interpreters.insert(ver, rebase(v));
        }
        let container = file.container.unwrap_or_default();
        let template = container.image.as_deref().unwrap_or(DEFAULT_IMAGE);
        if template.trim().is_empty() {
            return Err(cerr(
                "[container] image: an image name, not an empty text".into(),
            ));
        }
        let mut images: BTreeMap<PyVersion, String> = versions
            .iter()
            .map(|v| (*v, template.replace("{version}", &v.to_string())))
            .collect();
        for (k, image) in container.images.iter().flatten() {
            let ver: PyVersion = k
                .parse()
                .and_then(|v| supported(v).map(|()| v))
                .map_err(|e: String| cerr(format!("[container.images]: {e}")))?;
            if image.trim().is_empty() {
                return Err(cerr(format!(
                    "[container.images] \"{k}\": an image name, not an empty text"
                )));
            }
            if versions.contains(&ver) {
                images.insert(ver, image.clone());
            }
        }
        let sandbox = o.sandbox.or(file.sandbox).unwrap_or_default();
        let isolation = o.isolation.or(file.isolation).unwrap_or(Isolation::Warm);
        // A warm job passes through docmatrix, its worker (compiling, forking) and its child,
        // one after the other, and a worker serves one request at a time: four in flight per
        // core keep the cores busy (cold benchmark run 7.2-8.1 s with two, 6.8-7.2 s with
        // four, on 2 cores). Timeouts stay fair: run::run_all runs a timed-out job again with
        // a core to itself. Fresh processes need one per core.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let per_core = if isolation == Isolation::Warm { 4 } else { 1 };
        let default_jobs = cores * per_core;
        let no_jobs = |what: &str| {
            format!(
                "{what} 0: at least one job must run at a time; leave it out for the default ({default_jobs} here: {per_core} per core)"
            )
        };
        if o.jobs == Some(0) {
            return Err(Error::Usage(no_jobs("--jobs")));
        }
        if o.jobs.is_none() && file.jobs == Some(0) {
            return Err(cerr(no_jobs("jobs =")));
        }
        let jobs = o.jobs.or(file.jobs).unwrap_or(default_jobs).max(1);
        let env_dir = o
            .cache_dir
            .clone()
            .or_else(|| file.cache_dir.as_ref().map(rebase))
            .or_else(crate::cache::Cache::default_dir)
            // Absolute: the interpreters of its environments run in the job folders.
            .map(|d| std::path::absolute(&d).unwrap_or(d));
        let cache_dir = if o.no_cache || file.cache == Some(false) {
            None
        } else {
            env_dir.clone()
        };
        let fail_on = o.fail_on.or(file.fail_on).unwrap_or(Severity::Error);
        let shell = file.shell.unwrap_or_default();
        let docker = file.dockerfile.unwrap_or_default();
        let docker_timeout = docker.timeout.unwrap_or(300.0);
        if !(docker_timeout > 0.0 && docker_timeout.is_finite()) {
            return Err(cerr(format!(
                "[dockerfile] timeout must be a positive number of seconds, not {docker_timeout}"
            )));
        }
        let includes = file.includes.unwrap_or_default();
        // Requirement files are read from the folder of the configuration file.
        let abs = |p: &PathBuf| -> PathBuf {
            let p = rebase(p);
            if p.is_absolute() {
                p
            } else {
                cwd.join(p)
            }
        };
        let top = crate::env::Spec {
            dependencies: file.dependencies.clone().unwrap_or_default(),
            requirements: file.requirements.iter().flatten().map(abs).collect(),
        };
        let mut overrides = BTreeMap::new();
        for (k, e) in file.environment.iter().flatten() {
            let v: PyVersion = k
                .parse()
                .map_err(|e: String| cerr(format!("[environment.\"{k}\"]: {e}")))?;
            overrides.insert(
                v,
                crate::env::Spec {
                    dependencies: e.dependencies.clone().unwrap_or_default(),
                    requirements: e.requirements.iter().flatten().map(abs).collect(),
                },
            );
        }
        let project = match file.install_project {
            Some(true) => {
                let root = if base_dir.as_os_str().is_empty() {
                    cwd.to_path_buf()
                } else {
                    base_dir.clone()
                };
                if !root.join("pyproject.toml").is_file() && !root.join("setup.py").is_file() {
                    return Err(cerr(format!(
                        "install-project: no pyproject.toml or setup.py in {}",
                        root.display()
                    )));
                }
                Some(crate::env::Project {
                    root,
                    extras: file.extras.clone().unwrap_or_default(),
                })
            }
            _ if file.extras.is_some() => {
                return Err(cerr(
                    "extras: they are the project's, installed with install-project = true".into(),
                ))
            }
            _ => None,
        };
        let setup = match (&file.setup, &file.setup_file) {
            (Some(_), Some(_)) => {
                return Err(cerr("setup and setup-file: give one of them".into()));
            }
            (Some(code), None) => Some(code.as_str().into()),
            (None, Some(p)) => {
                let path = abs(p);
                let code = std::fs::read_to_string(&path).map_err(|e| {
                    cerr(format!("setup-file: cannot read {}: {e}", path.display()))
                })?;
                Some(code.into())
            }
            (None, None) => None,
        };
        let dependencies: BTreeMap<PyVersion, crate::env::Spec> = versions
            .iter()
            .map(|v| (*v, overrides.get(v).cloned().unwrap_or_else(|| top.clone())))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        Ok(Config {
            source,
            versions,
            inputs: Inputs {
                paths,
                exclude: build_globs(&exclude_patterns, "exclude")?,
                pages: build_globs(file.pages.as_deref().unwrap_or_default(), "pages")?,
                exclude_patterns,
                respect_gitignore: !o.no_ignore && file.respect_gitignore.unwrap_or(true),
                include_root: includes.root.as_ref().map(|r| base_dir.join(r)),
                include_bases: includes.base_paths.unwrap_or_default(),
                partition: o.partition,
            },
            run: RunOptions {
                timeout: Duration::from_secs_f64(timeout),
                jobs,
                sandbox,
                isolation,
                cache_dir,
                env_dir,
            },
            policy: PolicyOptions {
                allow_missing: o.allow_missing || file.allow_missing.unwrap_or(false),
                fail_on,
            },
            python: PythonOptions {
                interpreters,
                backend: o.backend.or(file.backend).unwrap_or_default(),
                engine: o.engine.or(file.engine),
                images,
                pull: container.pull.unwrap_or(false),
                dependencies,
                offline: o.offline,
                project,
                setup,
            },
            shell: ShellOptions {
                run: o.run_shell || shell.run.unwrap_or(false),
                min_severity: shell.min_severity.unwrap_or(Severity::Warning),
            },
            docker: DockerOptions {
                build: docker.build.unwrap_or(true),
                pull: docker.pull.unwrap_or(false),
                timeout: Duration::from_secs_f64(docker_timeout),
                min_severity: docker.min_severity.unwrap_or(Severity::Warning),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("docmatrix.toml");
        std::fs::write(&p, "versions = [\"3.10\"]\nfrobnicate = 1\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("frobnicate"), "{e}");
        let p = dir.path().join("pyproject.toml");
        std::fs::write(&p, "[tool.docmatrix]\ntimout = 3\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("timout"), "{e}");
    }

    #[test]
    fn shell_and_dockerfile_sections() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("docmatrix.toml");
        std::fs::write(
            &p,
            "fail-on = \"warning\"\n[shell]\nrun = true\nmin-severity = \"info\"\n[dockerfile]\nbuild = false\npull = true\ntimeout = 60\nmin-severity = \"error\"\n",
        )
        .unwrap();
        let c = Config::resolve(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(c.policy.fail_on, Severity::Warning);
        assert!(c.shell.run);
        assert_eq!(c.shell.min_severity, Severity::Info);
        assert!(!c.docker.build);
        assert!(c.docker.pull);
        assert_eq!(c.docker.timeout, Duration::from_secs(60));
        assert_eq!(c.docker.min_severity, Severity::Error);
        // The command line wins.
        let o = Overrides {
            fail_on: Some(Severity::Error),
            ..Default::default()
        };
        assert_eq!(
            Config::resolve(dir.path(), &o).unwrap().policy.fail_on,
            Severity::Error
        );

        // Defaults, and errors that name the key.
        let c = Config::resolve(
            dir.path(),
            &Overrides {
                no_config: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.policy.fail_on, Severity::Error);
        assert!(!c.shell.run && c.docker.build && !c.docker.pull);
        std::fs::write(&p, "[shell]\nrun = true\nmin-severty = \"info\"\n").unwrap();
        let e = Config::resolve(dir.path(), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("min-severty"), "{e}");
        std::fs::write(&p, "[shell]\nmin-severity = \"loud\"\n").unwrap();
        let e = Config::resolve(dir.path(), &Overrides::default())
            .unwrap_err()
            .to_string();
        // The TOML error points at the line and names the value and the expected ones.
        assert!(
            e.contains("line 2") && e.contains("min-severity") && e.contains("`loud`"),
            "{e}"
        );
        assert!(e.contains("expected one of `style`, `info`"), "{e}");
    }

    #[test]
    fn zero_jobs_and_versions_docmatrix_cannot_run_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let resolve = |o: Overrides| Config::resolve(dir.path(), &o).map_err(|e| e.to_string());
        let e = resolve(Overrides {
            jobs: Some(0),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.contains("--jobs 0") && e.contains("at least one job"),
            "{e}"
        );
        let e = resolve(Overrides {
            python: Some("3.12,3.1".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("did you mean 3.10?"), "{e}");
        assert!(resolve(Overrides {
            python: Some("3.16".into()),
            jobs: Some(1),
            ..Default::default()
        })
        .is_ok());

        let p = dir.path().join("docmatrix.toml");
        for (toml, what) in [
            ("jobs = 0\n", "jobs = 0"),
            ("versions = [\"3.12\", \"3.99\"]\n", "versions: Python 3.99"),
            (
                "[interpreters]\n\"2.7\" = \"/usr/bin/python2\"\n",
                "[interpreters]: Python 2.7",
            ),
        ] {
            std::fs::write(&p, toml).unwrap();
            let e = resolve(Overrides::default()).unwrap_err();
            assert!(
                e.contains("docmatrix.toml") && e.contains(what),
                "{toml}: {e}"
            );
        }
        // The command line's -j wins over the file's 0.
        std::fs::write(&p, "jobs = 0\n").unwrap();
        let c = Config::resolve(
            dir.path(),
            &Overrides {
                jobs: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.run.jobs, 2);
    }

    #[test]
    fn found_upward_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("pyproject.toml"),
            "[project]\nname='x'\n[tool.docmatrix]\nversions=['3.12','3.10']\ntimeout=3\npaths=['guides']\nexclude=['drafts']\n",
        )
        .unwrap();
        let sub = root.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(find(&sub), Some(root.join("pyproject.toml")));
        let c = Config::resolve(&sub, &Overrides::default()).unwrap();
        assert_eq!(
            c.versions,
            vec![PyVersion::new(3, 10), PyVersion::new(3, 12)]
        );
        assert_eq!(c.run.timeout, Duration::from_secs(3));
        assert_eq!(c.inputs.paths, vec![root.join("guides")]);
        assert!(c.inputs.exclude.is_match("docs/drafts/x.md"));
        let o = Overrides {
            python: Some("3.9".into()),
            timeout: Some(1.5),
            ..Default::default()
        };
        let c = Config::resolve(&sub, &o).unwrap();
        assert_eq!(c.versions, vec![PyVersion::new(3, 9)]);
        assert_eq!(c.run.timeout, Duration::from_millis(1500));
    }
}
