//! Finding and verifying Python interpreters.
//!
//! Order for version 3.X: the config's explicit path; `python3.X` on PATH; pyenv
//! (`$PYENV_ROOT`, else ~/.pyenv, `versions/3.X.*`); uv-managed Pythons
//! (`$UV_PYTHON_INSTALL_DIR`, else `$XDG_DATA_HOME/uv/python` or ~/.local/share/uv/python).
//! A pyenv shim on PATH is never run (each call of one starts a dozen bash processes, about
//! 0.15 s): it is read the way pyenv reads it, as the `python3.X` of the versions pyenv selects
//! (`$PYENV_VERSION`, else the nearest `.python-version` from `$PYENV_DIR` or the working
//! folder up, else `$PYENV_ROOT/version`), and dropped when none of them has one. Each
//! candidate is run once to learn its exact version and real path (`sys.executable`); the
//! first that really is 3.X wins. Must not know Markdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::sys::container::{Engine, EngineKind};
use crate::sys::process::{self, Exit, Limits};
use crate::version::PyVersion;

/// Where an interpreter was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Origin {
    /// `[interpreters]` in the config.
    #[serde(rename = "config")]
    Config,
    #[serde(rename = "PATH")]
    Path,
    #[serde(rename = "pyenv")]
    Pyenv,
    #[serde(rename = "uv")]
    Uv,
    /// The environment docmatrix built with the examples' dependencies.
    #[serde(rename = "env")]
    Env,
    /// A container image (the container backend).
    #[serde(rename = "container")]
    Container,
    /// A report from another version of docmatrix named a place this one does not know.
    #[default]
    #[serde(rename = "unknown", other)]
    Unknown,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Path => "PATH",
            Origin::Pyenv => "pyenv",
            Origin::Uv => "uv",
            Origin::Env => "env",
            Origin::Container => "container",
            Origin::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An import statement of the examples that the warm workers did not run ahead, and why (it
/// printed, warned, raised, started a thread, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NotPreimported {
    pub statement: String,
    pub why: String,
}

/// A verified interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    /// The real binary (shims resolved), called by absolute path.
    pub path: PathBuf,
    /// The exact version, e.g. `3.11.7`.
    pub version: String,
    /// Where it was found: `config`, `PATH`, `pyenv` or `uv`; `env` for the environment
    /// docmatrix built with the examples' dependencies.
    #[serde(default)]
    pub source: Origin,
    /// For `env`: the installed distributions, `name==version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// The examples' import statements its warm workers ran before forking (children inherit
    /// what they loaded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preimported: Vec<String>,
    /// The statements its workers left for each child to run itself, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_preimported: Vec<NotPreimported>,
    /// Statements of `not_preimported` whose only change is a hook that every example running
    /// them sets too (`sets sys.excepthook (M.F)`): workers of their own ran them ahead for
    /// those examples alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preimported_for_importers: Vec<String>,
    /// The modules its warm workers learned from their children (loaded on first use, such as
    /// a library's lazily imported parts) and imported themselves, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learned: Vec<String>,
    /// For an interpreter in a container image: the image, the engine and the interpreter's
    /// path inside (`path` is then `container:IMAGE`, a name, not a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Box<Container>>,
}

/// A container image an interpreter runs in (the container backend).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Container {
    /// `podman` or `docker`.
    pub engine: String,
    /// The image as configured (`python:3.11-slim`, or a derived image with the examples'
    /// dependencies).
    pub image: String,
    /// The image's id (`sha256:…`): the result cache keys on it.
    pub image_id: String,
    /// The interpreter's real path inside the image.
    pub python: PathBuf,
    /// The engine's program on this machine (not reported).
    #[serde(skip)]
    pub program: PathBuf,
}

impl Container {
    /// What runs the interpreter: the engine, the image and the path inside.
    pub fn target(&self) -> crate::sys::container::Target {
        let kind = if self.engine == "docker" {
            EngineKind::Docker
        } else {
            EngineKind::Podman
        };
        crate::sys::container::Target {
            engine: Engine {
                kind,
                program: self.program.clone(),
                version: String::new(),
            },
            image: self.image.clone(),
            image_id: self.image_id.clone(),
            python: self.python.clone(),
        }
    }

    /// The name a container interpreter goes by where a path is expected (job keys, the
    /// result cache): never an absolute path, so never a local interpreter's.
    pub fn key(image: &str) -> PathBuf {
        PathBuf::from(format!("container:{image}"))
    }
}

/// The outcome of looking for one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Yes(Interpreter),
    /// Not found; the text says where docmatrix looked, and what went wrong.
    No(String),
}

/// Where to look: the parts of the environment discovery reads, so tests can set them.
#[derive(Debug, Clone, Default)]
pub struct SearchEnv {
    pub path: Option<std::ffi::OsString>,
    pub home: Option<PathBuf>,
    pub pyenv_root: Option<PathBuf>,
    pub uv_dir: Option<PathBuf>,
    pub xdg_data_home: Option<PathBuf>,
    /// `$PYENV_VERSION`: the versions pyenv's shims select, before any version file.
    pub pyenv_version: Option<String>,
    /// Where pyenv looks for `.python-version` first (`$PYENV_DIR`, else the working
    /// folder), then upwards.
    pub cwd: Option<PathBuf>,
    /// A JSON file remembering probes, so that a run whose interpreters have not changed
    /// starts none of them: a probe is reused while the candidate and the binary it resolved
    /// to keep their size and mtime.
    pub probe_cache: Option<PathBuf>,
}

impl SearchEnv {
    pub fn from_process() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        SearchEnv {
            path: std::env::var_os("PATH"),
            home: var("HOME"),
            pyenv_root: var("PYENV_ROOT"),
            uv_dir: var("UV_PYTHON_INSTALL_DIR"),
            xdg_data_home: var("XDG_DATA_HOME"),
            pyenv_version: std::env::var("PYENV_VERSION")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            cwd: var("PYENV_DIR").or_else(|| std::env::current_dir().ok()),
            probe_cache: None,
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Subfolders of `dir` whose name starts with `prefix`, newest patch first.
fn versioned_dirs(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(prefix)?;
            // `3.11.7`, `cpython-3.11.7-linux-x86_64-gnu`: the next char ends the minor.
            if !rest.starts_with('.') && !rest.starts_with('-') {
                return None;
            }
            let patch: Vec<u32> = rest
                .trim_start_matches(['.', '-'])
                .split(|c: char| !c.is_ascii_digit())
                .take(1)
                .filter_map(|p| p.parse().ok())
                .collect();
            Some((patch, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().rev().map(|(_, p)| p).collect()
}

/// The version names pyenv's shims select, in order: `$PYENV_VERSION` (names separated by
/// `:`), else the words of the nearest `.python-version` from `cwd` up, else of
/// `ROOT/version`; empty when none is set (pyenv then means `system`).
fn pyenv_selected(root: &Path, env: &SearchEnv) -> Vec<String> {
    if let Some(v) = &env.pyenv_version {
        return v
            .split(':')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
    }
    let words = |file: &Path| -> Option<Vec<String>> {
        let text = std::fs::read_to_string(file).ok()?;
        Some(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.starts_with('#'))
                .flat_map(str::split_whitespace)
                .map(String::from)
                .collect(),
        )
    };
    let mut dir = env.cwd.as_deref();
    while let Some(d) = dir {
        if let Some(w) = words(&d.join(".python-version")) {
            return w;
        }
        dir = d.parent();
    }
    words(&root.join("version")).unwrap_or_default()
}

/// What the pyenv shim `python3.X` would run, without running it: the `python3.X` of the
/// first selected version that has one (a name like `3.11` means its newest `3.11.*`).
/// `system` is left to the rest of PATH, where the search goes on anyway.
fn through_shim(root: &Path, exe: &str, env: &SearchEnv) -> Option<PathBuf> {
    let versions = root.join("versions");
    pyenv_selected(root, env).iter().find_map(|name| {
        if name == "system" || name.contains('/') || name.starts_with('.') {
            return None;
        }
        let exact = versions.join(name).join("bin").join(exe);
        if is_executable(&exact) {
            return Some(exact);
        }
        versioned_dirs(&versions, name)
            .into_iter()
            .map(|d| d.join("bin").join(exe))
            .find(|p| is_executable(p))
    })
}

/// Whether `dir` is the shims folder of the pyenv at `root`.
fn is_shims_dir(dir: &Path, root: &Path) -> bool {
    let shims = root.join("shims");
    dir == shims
        || matches!(
            (dir.canonicalize(), shims.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
}

/// The candidates for `v`, in discovery order, with their source.
pub(crate) fn candidates(v: PyVersion, env: &SearchEnv) -> Vec<(PathBuf, Origin)> {
    let exe = format!("python{v}");
    let mut out = Vec::new();
    let pyenv = env
        .pyenv_root
        .clone()
        .or_else(|| env.home.as_ref().map(|h| h.join(".pyenv")));
    if let Some(path) = &env.path {
        for dir in std::env::split_paths(path) {
            let p = dir.join(&exe);
            if !is_executable(&p) {
                continue;
            }
            match &pyenv {
                Some(root) if is_shims_dir(&dir, root) => {
                    if let Some(real) = through_shim(root, &exe, env) {
                        out.push((real, Origin::Pyenv));
                    }
                }
                _ => out.push((p, Origin::Path)),
            }
        }
    }
    if let Some(root) = pyenv {
        for d in versioned_dirs(&root.join("versions"), &v.to_string()) {
            out.push((d.join("bin").join(&exe), Origin::Pyenv));
        }
    }
    let uv = env.uv_dir.clone().or_else(|| {
        env.xdg_data_home
            .clone()
            .or_else(|| env.home.as_ref().map(|h| h.join(".local/share")))
            .map(|d| d.join("uv/python"))
    });
    if let Some(root) = uv {
        for d in versioned_dirs(&root, &format!("cpython-{v}")) {
            out.push((d.join("bin").join(&exe), Origin::Uv));
        }
    }
    out.retain(|(p, _)| is_executable(p));
    let mut seen = std::collections::HashSet::new();
    out.retain(|(p, _)| seen.insert(p.clone()));
    out
}

const PROBE: &str = "import sys; print('%d.%d %s %s' % (sys.version_info[0], sys.version_info[1], sys.version.split()[0], sys.executable))";

/// Runs `path` once: its (feature version, exact version, real path).
pub fn probe(path: &Path) -> Result<(PyVersion, String, PathBuf), String> {
    let limits = Limits {
        timeout: Duration::from_secs(10),
        output_cap: 16 * 1024,
        memory: None,
        dump_file: None,
    };
    let mut cmd = Command::new(path);
    cmd.args(["-I", "-S", "-c", PROBE]);
    let r = process::run(&mut cmd, &limits).map_err(|e| e.to_string())?;
    if r.exit != Exit::Code(0) {
        let why = r.stderr.text();
        let why = why.lines().next().unwrap_or("no output");
        return Err(format!("{} did not run ({why})", path.display()));
    }
    let out = r.stdout.text();
    let mut parts = out.trim().splitn(3, ' ');
    let (Some(feature), Some(exact), Some(real)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{} printed no version", path.display()));
    };
    let feature: PyVersion = feature.parse()?;
    let real = if real.is_empty() {
        path.to_path_buf()
    } else {
        PathBuf::from(real)
    };
    Ok((feature, exact.to_string(), real))
}

/// A remembered probe: what a candidate was, while its files stay as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
struct Probed {
    stamp: String,
    feature: String,
    version: String,
    real: PathBuf,
}

type Probes = std::sync::Mutex<BTreeMap<PathBuf, Probed>>;

/// Size and mtime of a file (following links), as text.
fn stamp(p: &Path) -> String {
    crate::sys::file_stamp(p).unwrap_or_else(|| "missing".into())
}

/// [`probe`], through the remembered probes.
fn probe_via(path: &Path, probes: &Probes) -> Result<(PyVersion, String, PathBuf), String> {
    let known = probes.lock().ok().and_then(|m| m.get(path).cloned());
    if let Some(p) = known {
        if p.stamp == format!("{}|{}", stamp(path), stamp(&p.real)) {
            // A candidate that did not run (a pyenv shim for a version pyenv does not
            // select, say) is remembered too: its `version` holds why.
            if p.feature.is_empty() {
                return Err(p.version);
            }
            if let Ok(feature) = p.feature.parse() {
                return Ok((feature, p.version, p.real));
            }
        }
    }
    let (feature, version, real) = match probe(path) {
        Ok(found) => found,
        Err(why) => {
            if let Ok(mut m) = probes.lock() {
                let p = Probed {
                    stamp: format!("{}|{}", stamp(path), stamp(path)),
                    feature: String::new(),
                    version: why.clone(),
                    real: path.to_path_buf(),
                };
                m.insert(path.to_path_buf(), p);
            }
            return Err(why);
        }
    };
    if let Ok(mut m) = probes.lock() {
        m.insert(
            path.to_path_buf(),
            Probed {
                stamp: format!("{}|{}", stamp(path), stamp(&real)),
                feature: feature.to_string(),
                version: version.clone(),
                real: real.clone(),
            },
        );
    }
    Ok((feature, version, real))
}

/// Finds one interpreter for each version of `versions`, in parallel across versions.
pub fn discover(
    versions: &[PyVersion],
    configured: &BTreeMap<PyVersion, PathBuf>,
    env: &SearchEnv,
) -> BTreeMap<PyVersion, Found> {
    with_probes(env, |probes| {
        versions
            .par_iter()
            .map(|&v| (v, find_one(v, configured.get(&v), env, probes)))
            .collect()
    })
}

/// Runs `f` with the probes remembered in the probe cache, and writes them back when `f`
/// learned new ones.
fn with_probes<T>(env: &SearchEnv, f: impl FnOnce(&Probes) -> T) -> T {
    let loaded: BTreeMap<PathBuf, Probed> = env
        .probe_cache
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let probes = std::sync::Mutex::new(loaded.clone());
    let found = f(&probes);
    if let (Some(file), Ok(now)) = (&env.probe_cache, probes.into_inner()) {
        if now != loaded {
            // Best effort: an unwritable cache only costs a probe next time.
            let _ = write_atomically(
                file,
                &serde_json::to_string_pretty(&now).unwrap_or_default(),
            );
        }
    }
    found
}

fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

fn find_one(v: PyVersion, configured: Option<&PathBuf>, env: &SearchEnv, probes: &Probes) -> Found {
    // An explicit path is the user's word: it is used, or reported, never replaced.
    if let Some(p) = configured {
        return match probe_via(p, probes) {
            Ok((got, version, path)) if got == v => Found::Yes(Interpreter {
                path,
                version,
                source: Origin::Config,
                packages: Vec::new(),
                preimported: Vec::new(),
                not_preimported: Default::default(),
                preimported_for_importers: Vec::new(),
                learned: Vec::new(),
                container: None,
            }),
            Ok((got, ..)) => Found::No(format!(
                "the configured interpreter {} is Python {got}, not {v}",
                p.display()
            )),
            Err(e) => Found::No(format!("the configured interpreter {}: {e}", p.display())),
        };
    }
    let mut problems = Vec::new();
    for (cand, source) in candidates(v, env) {
        match probe_via(&cand, probes) {
            Ok((got, version, path)) if got == v => {
                return Found::Yes(Interpreter {
                    path,
                    version,
                    source,
                    packages: Vec::new(),
                    preimported: Vec::new(),
                    not_preimported: Default::default(),
                    preimported_for_importers: Vec::new(),
                    learned: Vec::new(),
                    container: None,
                })
            }
            Ok((got, ..)) => problems.push(format!("{} is Python {got}", cand.display())),
            Err(e) => problems.push(e),
        }
    }
    let mut msg = format!(
        "no Python {v} found (looked for python{v} on PATH, in pyenv and uv folders; set [interpreters] in the config)"
    );
    if !problems.is_empty() {
        msg.push_str(": ");
        msg.push_str(&problems.join("; "));
    }
    Found::No(msg)
}

/// How long probing an image's interpreter may take (a container's start included).
const CONTAINER_PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long pulling a missing image may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(600);

/// Finds each version's interpreter in its container image (`images`: version → image),
/// with `engine`, in parallel: the image must be here, or be pulled when `pull` allows; its
/// `python3.X` is run once for its exact version and real path. Remembered by image id in
/// the probe cache, so that a run whose images have not changed starts no container to
/// learn them.
pub fn discover_containers(
    images: &BTreeMap<PyVersion, String>,
    engine: &Engine,
    pull: bool,
    env: &SearchEnv,
) -> BTreeMap<PyVersion, Found> {
    with_probes(env, |probes| {
        // A thread each, not rayon's pool (as many threads as cores): each mostly waits for a
        // container to start.
        std::thread::scope(|s| {
            let handles: Vec<_> = images
                .iter()
                .map(|(&v, image)| {
                    (
                        v,
                        s.spawn(move || find_in_image(v, image, engine, pull, probes)),
                    )
                })
                .collect();
            handles
                .into_iter()
                .map(|(v, h)| {
                    let f = h
                        .join()
                        .unwrap_or_else(|_| Found::No("the image probe failed".into()));
                    (v, f)
                })
                .collect()
        })
    })
}

fn find_in_image(v: PyVersion, image: &str, engine: &Engine, pull: bool, probes: &Probes) -> Found {
    let engine_name = engine.kind.name();
    let id = match engine.image_id(image) {
        Some(id) => id,
        None if !pull => {
            return Found::No(format!(
                "image {image} not present and cannot be pulled (pulling is off: [container] pull = true allows it)"
            ))
        }
        None => match engine.pull(image, PULL_TIMEOUT) {
            Err(why) => {
                return Found::No(format!(
                    "image {image} not present and cannot be pulled: {why}"
                ))
            }
            Ok(()) => match engine.image_id(image) {
                Some(id) => id,
                None => return Found::No(format!("image {image}: pulled, but {engine_name} cannot find it")),
            },
        },
    };
    let key = PathBuf::from(format!("{engine_name}:{id}:python{v}"));
    let known = probes.lock().ok().and_then(|m| m.get(&key).cloned());
    let probed = match known.filter(|p| p.stamp == id) {
        Some(p) => p.feature.parse().map(|f: PyVersion| (f, p.version, p.real)),
        None => {
            let r = probe_in_image(v, image, engine);
            if let (Ok((f, version, real)), Ok(mut m)) = (&r, probes.lock()) {
                m.insert(
                    key,
                    Probed {
                        stamp: id.clone(),
                        feature: f.to_string(),
                        version: version.clone(),
                        real: real.clone(),
                    },
                );
            }
            r
        }
    };
    match probed {
        Ok((got, version, python)) if got == v => Found::Yes(Interpreter {
            path: Container::key(image),
            version,
            source: Origin::Container,
            packages: Vec::new(),
            preimported: Vec::new(),
            not_preimported: Vec::new(),
            preimported_for_importers: Vec::new(),
            learned: Vec::new(),
            container: Some(Box::new(Container {
                engine: engine_name.to_string(),
                image: image.to_string(),
                image_id: id,
                python,
                program: engine.program.clone(),
            })),
        }),
        Ok((got, ..)) => Found::No(format!("image {image}: its python{v} is Python {got}")),
        Err(e) => Found::No(format!("image {image}: {e}")),
    }
}

/// Runs `python3.X` once in a container of `image`: (feature version, exact, real path).
fn probe_in_image(
    v: PyVersion,
    image: &str,
    engine: &Engine,
) -> Result<(PyVersion, String, PathBuf), String> {
    let mut cmd = std::process::Command::new(&engine.program);
    let name = crate::sys::container::container_name("probe");
    let name = format!("{name}-{}", v.to_string().replace('.', ""));
    cmd.args([
        "run",
        "--rm",
        "--pull=never",
        "--network",
        "none",
        "--log-driver",
        "none",
    ]);
    cmd.arg("--name").arg(&name);
    cmd.args(crate::sys::container::inherited_ulimits());
    cmd.arg("--label").arg(format!(
        "{}={}",
        crate::sys::container::OWNER_LABEL,
        crate::sys::interrupt::owner_tag().unwrap_or_default()
    ));
    cmd.arg(image)
        .arg(format!("python{v}"))
        .args(["-I", "-S", "-c", PROBE]);
    let limits = Limits {
        timeout: CONTAINER_PROBE_TIMEOUT,
        output_cap: 16 * 1024,
        memory: None,
        dump_file: None,
    };
    let r = process::run(&mut cmd, &limits).map_err(|e| e.to_string())?;
    if r.exit != Exit::Code(0) {
        engine.remove(&[name]);
        let why = r.stderr.text();
        let why = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!("python{v} did not run ({})", why.trim()));
    }
    let out = r.stdout.text();
    let mut parts = out.trim().splitn(3, ' ');
    let (Some(feature), Some(exact), Some(real)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("python{v} printed no version"));
    };
    Ok((feature.parse()?, exact.to_string(), PathBuf::from(real)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyenv_and_uv_layouts_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mk = |rel: &str| {
            use std::os::unix::fs::PermissionsExt;
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        mk("pyenv/versions/3.11.2/bin/python3.11");
        mk("pyenv/versions/3.11.10/bin/python3.11");
        mk("pyenv/versions/3.1.1/bin/python3.1");
        mk("uv/cpython-3.11.4-linux-x86_64-gnu/bin/python3.11");
        let env = SearchEnv {
            pyenv_root: Some(root.join("pyenv")),
            uv_dir: Some(root.join("uv")),
            ..Default::default()
        };
        let c: Vec<_> = candidates(PyVersion::new(3, 11), &env)
            .into_iter()
            .map(|(p, s)| {
                (
                    p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                    s.as_str(),
                )
            })
            .collect();
        assert_eq!(
            c,
            vec![
                ("pyenv/versions/3.11.10/bin/python3.11".to_string(), "pyenv"),
                ("pyenv/versions/3.11.2/bin/python3.11".to_string(), "pyenv"),
                (
                    "uv/cpython-3.11.4-linux-x86_64-gnu/bin/python3.11".to_string(),
                    "uv"
                ),
            ]
        );
        assert!(candidates(PyVersion::new(3, 1), &env).len() == 1);
    }

    /// A pyenv layout under a temporary folder: versions, a shim that must never run, and
    /// the candidates for 3.11 as paths relative to it.
    fn shim_candidates(env_of: impl Fn(&Path) -> SearchEnv) -> Vec<(String, &'static str)> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "pyenv/versions/3.11.2/bin/python3.11",
            "pyenv/versions/3.11.10/bin/python3.11",
            "pyenv/versions/3.12.1/bin/python3.12",
            "pyenv/shims/python3.11",
            "usr/bin/python3.11",
        ] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            // Running any of these fails the test's assertions: only paths are compared.
            std::fs::write(&p, "#!/bin/sh\nexit 99\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir_all(root.join("project/sub")).unwrap();
        let env = SearchEnv {
            path: Some(
                std::env::join_paths([root.join("pyenv/shims"), root.join("usr/bin")]).unwrap(),
            ),
            pyenv_root: Some(root.join("pyenv")),
            cwd: Some(root.join("project/sub")),
            ..env_of(root)
        };
        candidates(PyVersion::new(3, 11), &env)
            .into_iter()
            .map(|(p, s)| {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                (rel, s.as_str())
            })
            .collect()
    }

    #[test]
    fn pyenv_shims_are_read_not_run() {
        let pick = |v: &str| (format!("pyenv/versions/{v}/bin/python3.11"), "pyenv");
        let rest = |mut first: Vec<(String, &'static str)>| {
            first.extend([
                ("usr/bin/python3.11".to_string(), "PATH"),
                pick("3.11.10"),
                pick("3.11.2"),
            ]);
            let mut seen = std::collections::HashSet::new();
            first.retain(|c| seen.insert(c.clone()));
            first
        };
        // No version selected (pyenv's `system`): the shim is skipped, PATH goes on.
        assert_eq!(shim_candidates(|_| SearchEnv::default()), rest(vec![]));
        // The global version file, then a nearer .python-version, then $PYENV_VERSION.
        let global = |root: &Path| {
            std::fs::write(root.join("pyenv/version"), "# comment\n3.11.2\n").unwrap();
            SearchEnv::default()
        };
        assert_eq!(shim_candidates(global), rest(vec![pick("3.11.2")]));
        let local = |root: &Path| {
            std::fs::write(root.join("pyenv/version"), "3.11.2\n").unwrap();
            std::fs::write(root.join("project/.python-version"), "3.12.1 3.11\n").unwrap();
            SearchEnv::default()
        };
        // 3.12.1 has no python3.11; `3.11` is the newest 3.11.*.
        assert_eq!(shim_candidates(local), rest(vec![pick("3.11.10")]));
        let var = |root: &Path| {
            std::fs::write(root.join("project/.python-version"), "3.11.10\n").unwrap();
            SearchEnv {
                pyenv_version: Some("system:3.11.2".into()),
                ..SearchEnv::default()
            }
        };
        assert_eq!(shim_candidates(var), rest(vec![pick("3.11.2")]));
        // A selected version that is not installed: as pyenv would fail, the shim is skipped.
        let missing = |_: &Path| SearchEnv {
            pyenv_version: Some("3.8.0".into()),
            ..SearchEnv::default()
        };
        assert_eq!(shim_candidates(missing), rest(vec![]));
    }
}
