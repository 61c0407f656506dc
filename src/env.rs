//! Environments with the third-party packages the examples import: one virtual environment
//! per interpreter and dependency set, built once and reused across runs and projects.
//!
//! An environment lives in `<cache>/envs/<version>-<key>`, where the key hashes the
//! interpreter (exact version and path) and the normalized spec (the requirement strings and
//! the contents of the requirement files). It is built under an exclusive lock on
//! `<name>.lock`, by `uv` when it is on PATH (`uv venv`, `uv pip install`) and else by
//! `python -m venv` and pip, and it is used only once its `.docmatrix-complete` marker exists:
//! a half-built environment (a crash, a kill, a failed install) is removed and built again.
//! Two runs that need the same environment build it once: the second waits for the lock and
//! finds it complete.
//!
//! Installing is the only step that uses the network, outside the sandbox; examples run from
//! the environment's interpreter, which the sandbox mounts read-only.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::interp::Interpreter;
use crate::sys::process::{self, Exit, Limits};

/// Marks an environment as complete; written last.
const COMPLETE: &str = ".docmatrix-complete";
/// The installed distributions (`name==version`, one a line), written before [`COMPLETE`].
const FREEZE: &str = ".docmatrix-freeze";
/// Marks an environment whose modules were compiled to bytecode (see [`compile_bytecode`]).
const BYTECODE: &str = ".docmatrix-bytecode";
/// How long a build that failed for good (`Unavailable`) is not tried again: a release that
/// fixes it can come out, so the failure is not kept for ever.
const REMEMBER_FAILURE: Duration = Duration::from_secs(24 * 3600);

/// What the examples need installed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// PEP 508 requirement strings, as written.
    pub dependencies: Vec<String>,
    /// Requirement files (absolute), passed to the installer as `-r FILE`.
    pub requirements: Vec<PathBuf>,
}

/// Why an environment could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvError {
    /// The packages cannot be installed on this interpreter (no release supports it, no such
    /// package, a broken requirements file): its cells are `unavailable`.
    Unavailable(String),
    /// The installer could not reach the package index, timed out, or `--offline` found no
    /// environment built: its cells are `blocked`.
    Blocked(String),
}

/// A built environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// Its interpreter: what the examples run with.
    pub python: PathBuf,
    /// The installed distributions, `name==version`, sorted.
    pub packages: Vec<String>,
    /// Whether this run built it (else it was there).
    pub built: bool,
    /// For a container interpreter: the derived image holding the packages (`python` is then
    /// its key, [`crate::interp::Container::key`]).
    pub container: Option<crate::interp::Container>,
}

impl Spec {
    pub fn is_empty(&self) -> bool {
        self.dependencies.is_empty() && self.requirements.is_empty()
    }

    /// The text the key hashes: every requirement, and every requirement file's contents
    /// (with the files they include by `-r`/`-c`, read the same way). A file that cannot be
    /// read is an error naming it.
    pub fn key_text(&self) -> Result<String, String> {
        let mut text = String::new();
        for d in &self.dependencies {
            text.push_str(d.trim());
            text.push('\n');
        }
        let mut seen = Vec::new();
        for r in &self.requirements {
            requirement_file(r, &mut text, &mut seen, 0)?;
        }
        Ok(text)
    }
}

fn requirement_file(
    path: &Path,
    text: &mut String,
    seen: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), String> {
    if seen.iter().any(|p| p == path) || depth > 8 {
        return Ok(());
    }
    seen.push(path.to_path_buf());
    let body = std::fs::read_to_string(path)
        .map_err(|e| format!("requirements file {}: {e}", path.display()))?;
    text.push_str(&format!("# {}\n", path.display()));
    for line in body.lines() {
        text.push_str(line);
        text.push('\n');
        let t = line.trim();
        for flag in ["-r", "--requirement", "-c", "--constraint"] {
            if let Some(rest) = t.strip_prefix(flag) {
                let rest = rest.trim_start_matches('=').trim();
                if !rest.is_empty() && (t.len() > flag.len()) {
                    let inner = path.parent().unwrap_or(Path::new(".")).join(rest);
                    requirement_file(&inner, text, seen, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

/// The installer: `uv` when it is on PATH, else pip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Installer {
    Uv(PathBuf),
    Pip,
}

impl Installer {
    pub fn find() -> Installer {
        match crate::sys::which("uv") {
            Some(uv) if std::env::var_os("DOCMATRIX_NO_UV").is_none() => Installer::Uv(uv),
            _ => Installer::Pip,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Installer::Uv(_) => "uv",
            Installer::Pip => "pip",
        }
    }
}

/// The folder of the environment of `interp` and `key_text` under `root`.
pub fn folder(root: &Path, interp: &Interpreter, key_text: &str) -> PathBuf {
    let mut h = blake3::Hasher::new();
    let image = interp
        .container
        .as_ref()
        .map_or("", |c| c.image_id.as_str());
    for part in [
        interp.path.as_os_str().as_encoded_bytes(),
        interp.version.as_bytes(),
        key_text.as_bytes(),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    if !image.is_empty() {
        // A container's environment is an image derived from the base image by id: a new
        // base image (a new patch release of Python) makes another.
        h.update(&(image.len() as u64).to_le_bytes());
        h.update(image.as_bytes());
    }
    let hex = h.finalize().to_hex();
    root.join("envs")
        .join(format!("{}-{}", interp.version, &hex[..16]))
}

/// The environment of `spec` for `interp`, built if it is not there (unless `offline`).
pub(crate) fn ensure(
    root: &Path,
    interp: &Interpreter,
    spec: &Spec,
    installer: &Installer,
    offline: bool,
    timeout: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Env, EnvError> {
    let key_text = spec.key_text().map_err(EnvError::Unavailable)?;
    let dir = folder(root, interp, &key_text);
    let python = dir.join("bin/python");
    let parent = dir.parent().unwrap_or(root);
    std::fs::create_dir_all(parent)
        .map_err(|e| EnvError::Blocked(format!("cannot make {}: {e}", parent.display())))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock = lock(&parent.join(format!("{name}.lock")))
        .map_err(|e| EnvError::Blocked(format!("cannot lock {}: {e}", dir.display())))?;
    if dir.join(COMPLETE).is_file() && interp.container.is_some() {
        match image_of(&dir, interp) {
            Some(c) => {
                drop(lock);
                return Ok(Env {
                    packages: read_freeze(&dir),
                    python: crate::interp::Container::key(&c.image),
                    built: false,
                    container: Some(c),
                });
            }
            // The image was removed (`podman rmi`, `system prune`): built again.
            None => {
                let _ = std::fs::remove_file(dir.join(COMPLETE));
            }
        }
    }
    if dir.join(COMPLETE).is_file() {
        if !dir.join(BYTECODE).is_file() {
            // Built by an earlier docmatrix, which did not compile it.
            progress(&format!(
                "compiling the environment for Python {} to bytecode (once)",
                interp.version
            ));
            compile_bytecode(&dir, timeout);
        }
        drop(lock);
        return Ok(Env {
            packages: read_freeze(&dir),
            python,
            built: false,
            container: None,
        });
    }
    // A build that failed for good in an earlier run is not tried again for a while.
    let failed = parent.join(format!("{name}.failed"));
    if let Some(why) = remembered_failure(&failed) {
        return Err(EnvError::Unavailable(format!(
            "{why} (an earlier run's verdict: tried again a day later, or after `docmatrix cache clear`)"
        )));
    }
    if offline {
        return Err(EnvError::Blocked(format!(
            "--offline: no environment with the dependencies was built for Python {} yet",
            interp.version
        )));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let n = spec.dependencies.len() + spec.requirements.len();
    let how = match &interp.container {
        Some(c) => format!("an image from {} with pip", c.image),
        None => installer.name().to_string(),
    };
    progress(&format!(
        "building the environment for Python {} with {how}: {n} requirement{}",
        interp.version,
        if n == 1 { "" } else { "s" }
    ));
    let start = std::time::Instant::now();
    let built = match &interp.container {
        Some(c) => build_image(&dir, c, spec, timeout),
        None => build(&dir, interp, spec, installer, timeout),
    };
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Only a verdict on the packages is remembered: an index out of reach or a timeout
    // may be gone by the next run.
    if let Err(EnvError::Unavailable(why)) = &built {
        let _ = std::fs::write(&failed, why);
    }
    built?;
    let _ = std::fs::remove_file(&failed);
    drop(lock);
    let packages = read_freeze(&dir);
    progress(&format!(
        "built the environment for Python {} in {:.1} s: {} package{}",
        interp.version,
        start.elapsed().as_secs_f64(),
        packages.len(),
        if packages.len() == 1 { "" } else { "s" }
    ));
    let container = match &interp.container {
        Some(_) => Some(image_of(&dir, interp).ok_or_else(|| {
            EnvError::Blocked(format!("the image built in {} is gone", dir.display()))
        })?),
        None => None,
    };
    Ok(Env {
        packages,
        python: container
            .as_ref()
            .map_or(python, |c| crate::interp::Container::key(&c.image)),
        built: true,
        container,
    })
}

/// The file of a container environment's folder naming its derived image.
const IMAGE: &str = ".docmatrix-image";

/// The derived image a container environment's folder names, if the engine still has it (by
/// the same id).
fn image_of(dir: &Path, interp: &Interpreter) -> Option<crate::interp::Container> {
    let base = interp.container.as_ref()?;
    let text = std::fs::read_to_string(dir.join(IMAGE)).ok()?;
    let mut fields = text.split_whitespace();
    let (tag, id) = (fields.next()?, fields.next()?);
    let now = base.target().engine.image_id(tag)?;
    (now == id).then(|| crate::interp::Container {
        image: tag.to_string(),
        image_id: id.to_string(),
        ..(**base).clone()
    })
}

/// Builds the image of a container environment: `FROM` the base image (by id), the
/// requirement files copied in, `pip install` (with the network, as a local environment's
/// install has it), its `pip freeze` read from the build's output; tagged
/// `localhost/docmatrix-env:<folder name>`, named in the folder's [`IMAGE`] file.
fn build_image(
    dir: &Path,
    base: &crate::interp::Container,
    spec: &Spec,
    timeout: Duration,
) -> Result<(), EnvError> {
    let blocked = |e: io::Error| EnvError::Blocked(format!("cannot write {}: {e}", dir.display()));
    let ctx = dir.join("context");
    std::fs::create_dir_all(&ctx).map_err(blocked)?;
    let python = base.python.display().to_string();
    let mut install: Vec<String> = ["env", "PIP_ROOT_USER_ACTION=ignore", &python, "-m", "pip"]
        .into_iter()
        .map(String::from)
        .collect();
    install.extend(
        [
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-input",
        ]
        .map(String::from),
    );
    install.extend(["--progress-bar", "off"].map(String::from));
    install.extend(spec.dependencies.iter().cloned());
    for (i, r) in spec.requirements.iter().enumerate() {
        let name = format!("r{i}.txt");
        std::fs::copy(r, ctx.join(&name)).map_err(|e| {
            EnvError::Unavailable(format!("requirements file {}: {e}", r.display()))
        })?;
        install.push("-r".into());
        install.push(format!("/docmatrix-requirements/{name}"));
    }
    const MARK: &str = "docmatrix-freeze:";
    let freeze = [
        "sh",
        "-c",
        &format!("{python} -m pip freeze --all --disable-pip-version-check | sed 's/^/{MARK}/'"),
    ]
    .map(String::from);
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
    let dockerfile = format!(
        "FROM {}
COPY . /docmatrix-requirements/
RUN {}
RUN {}
",
        base.image_id,
        json(&install),
        json(&freeze)
    );
    std::fs::write(dir.join("Dockerfile"), dockerfile).map_err(blocked)?;
    let tag = format!(
        "localhost/docmatrix-env:{}",
        dir.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let target = base.target();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg("exec \"$@\" 2>&1").arg("sh");
    cmd.arg(&target.engine.program).arg("build");
    match target.engine.kind {
        crate::sys::container::EngineKind::Podman => {
            cmd.args(["--isolation", "chroot", "--pull=never"]);
        }
        crate::sys::container::EngineKind::Docker => {
            cmd.args(["--pull=false", "--progress=plain"]);
            cmd.env("DOCKER_BUILDKIT", "0");
        }
    }
    cmd.arg("-t")
        .arg(&tag)
        .arg("-f")
        .arg(dir.join("Dockerfile"))
        .arg(&ctx);
    let out = step(&mut cmd, timeout, &format!("installing in {}", base.image));
    let _ = std::fs::remove_dir_all(&ctx);
    let out = out?;
    let mut packages: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix(MARK))
        .filter(|l| !l.trim().is_empty())
        .map(pinned)
        .collect();
    packages.sort_unstable();
    packages.dedup();
    let id = target.engine.image_id(&tag).ok_or_else(|| {
        EnvError::Blocked(format!("the image {tag} was built but cannot be found"))
    })?;
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| EnvError::Blocked(format!("cannot write {}: {e}", dir.display())))
    };
    write(
        IMAGE,
        format!("{tag} {id} {}\n", target.engine.program.display()),
    )?;
    write(FREEZE, packages.join("\n") + "\n")?;
    write(COMPLETE, String::new())
}

/// An environment found under a cache folder (see [`list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// `<exact version>-<key>`.
    pub name: String,
    pub path: PathBuf,
    /// Complete and in use; `false`: a build that was interrupted or is under way.
    pub complete: bool,
    pub packages: Vec<String>,
}

/// The environments under the cache folder `root`, by name.
pub fn list(root: &Path) -> Vec<Listed> {
    let mut out: Vec<Listed> = std::fs::read_dir(root.join("envs"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .map(|path| Listed {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    complete: path.join(COMPLETE).is_file(),
                    packages: read_freeze(&path),
                    path,
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Removes the images of the container environments under the cache folder `root` (their
/// folders name them, with the engine that built them): `cache clear` removes the folders.
/// Returns how many the engines removed.
pub fn remove_images(root: &Path) -> usize {
    let mut removed = 0;
    for e in list(root) {
        let Ok(text) = std::fs::read_to_string(e.path.join(IMAGE)) else {
            continue;
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [tag, _, program] = fields[..] else {
            continue;
        };
        let engine = crate::sys::container::Engine {
            kind: crate::sys::container::EngineKind::Podman,
            program: PathBuf::from(program),
            version: String::new(),
        };
        if engine
            .quick(&["rmi", tag])
            .is_some_and(|r| r.exit == Exit::Code(0))
        {
            removed += 1;
        }
    }
    removed
}

/// The reason a build failed, from the marker `path` an earlier run left, while it is younger
/// than [`REMEMBER_FAILURE`].
fn remembered_failure(path: &Path) -> Option<String> {
    let age = std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()?
        .elapsed()
        .ok()?;
    if age > REMEMBER_FAILURE {
        return None;
    }
    std::fs::read_to_string(path).ok().filter(|s| !s.is_empty())
}

/// An exclusive `flock` on `path`, held until the file is dropped.
fn lock(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    // SAFETY: flock on a file descriptor we own.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(f)
}

fn read_freeze(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(FREEZE))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn build(
    dir: &Path,
    interp: &Interpreter,
    spec: &Spec,
    installer: &Installer,
    timeout: Duration,
) -> Result<(), EnvError> {
    let python = dir.join("bin/python");
    let mut args: Vec<String> = spec.dependencies.clone();
    for r in &spec.requirements {
        args.push("-r".into());
        args.push(r.display().to_string());
    }
    let (mut create, mut install, mut freeze) = match installer {
        Installer::Uv(uv) => {
            let mut create = Command::new(uv);
            create
                .args(["venv", "--quiet", "--python"])
                .arg(&interp.path)
                .arg(dir);
            let mut install = Command::new(uv);
            install
                .args(["pip", "install", "--quiet", "--python"])
                .arg(&python)
                .args(&args);
            let mut freeze = Command::new(uv);
            freeze.args(["pip", "freeze", "--python"]).arg(&python);
            (create, install, freeze)
        }
        Installer::Pip => {
            let mut create = Command::new(&interp.path);
            create.args(["-m", "venv"]).arg(dir);
            let mut install = Command::new(&python);
            install
                // Not `--quiet`: pip's connection warnings tell an unreachable index.
                .args(["-m", "pip", "install", "--disable-pip-version-check"])
                .args(["--no-input", "--progress-bar", "off"])
                .args(&args);
            let mut freeze = Command::new(&python);
            freeze.args(["-m", "pip", "freeze", "--disable-pip-version-check"]);
            (create, install, freeze)
        }
    };
    step(&mut create, timeout, "creating the environment")?;
    step(&mut install, timeout, "installing")?;
    compile_bytecode(dir, timeout);
    let out = step(&mut freeze, timeout, "listing the installed packages")?;
    let mut packages: Vec<String> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(pinned)
        .collect();
    packages.sort_unstable();
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| EnvError::Blocked(format!("cannot write {}: {e}", dir.display())))
    };
    write(FREEZE, packages.join("\n") + "\n")?;
    write(COMPLETE, String::new())
}

/// Compiles every module of the environment to bytecode (`__pycache__/*.pyc`), and marks it
/// done. pip does this when it installs, uv does not; and since the examples see the
/// environment read-only, a module without its `.pyc` would be compiled from source again by
/// every example that imports it (SQLAlchemy: over a second a fresh import, 100 ms for the
/// dialect `create_engine` loads lazily). A file that does not compile (a template, old
/// syntax) is left as it is: it fails the same way on import either way.
fn compile_bytecode(dir: &Path, timeout: Duration) {
    let mut c = Command::new(dir.join("bin/python"));
    c.args(["-I", "-m", "compileall", "-q", "-j", "0"])
        .arg(dir.join("lib"));
    let _ = step(&mut c, timeout, "compiling to bytecode");
    let _ = std::fs::write(dir.join(BYTECODE), "");
}

/// A line of `pip freeze` as a pin: a wheel installed by path (`name @ file:///…/name-1.0-…whl`,
/// the project) becomes `name==1.0`.
fn pinned(line: &str) -> String {
    let line = line.trim();
    if let Some((name, url)) = line.split_once(" @ file://") {
        // pip adds the wheel's hash as a fragment: `…/name-1.0-py3-none-any.whl#sha256=…`.
        let url = url.split('#').next().unwrap_or(url);
        let file = url.rsplit('/').next().unwrap_or("");
        if let (Some(version), true) = (file.split('-').nth(1), file.ends_with(".whl")) {
            return format!("{}=={version}", name.trim());
        }
    }
    line.to_string()
}

/// Runs one installer step; its failure, classified.
fn step(cmd: &mut Command, timeout: Duration, what: &str) -> Result<String, EnvError> {
    let limits = Limits {
        timeout,
        output_cap: 256 * 1024,
        memory: None,
        dump_file: None,
    };
    let rec = process::run(cmd, &limits)
        .map_err(|e| EnvError::Blocked(format!("{what}: cannot start the installer: {e}")))?;
    let stdout = rec.stdout.text();
    let stderr = rec.stderr.text();
    match rec.exit {
        Exit::Code(0) => Ok(stdout),
        Exit::TimedOut => Err(EnvError::Blocked(format!(
            "{what} timed out after {}s",
            timeout.as_secs()
        ))),
        _ => Err(classify(&format!("{stderr}\n{stdout}"), what)),
    }
}

/// An installer's failure: the index out of reach is `Blocked`; anything else (no release for
/// this Python, no such package, a broken file) is `Unavailable`, with its one telling line.
pub(crate) fn classify(output: &str, what: &str) -> EnvError {
    // The most telling words first.
    const NETWORK: &[&str] = &[
        "Failed to establish a new connection",
        "Connection refused",
        "Network is unreachable",
        "Temporary failure in name resolution",
        "Name or service not known",
        "ConnectTimeoutError",
        "Read timed out",
        "ProxyError",
        "error sending request",
        "Failed to fetch",
        "dns error",
        "tcp connect error",
        "NewConnectionError",
    ];
    if let Some((needle, line)) = NETWORK
        .iter()
        .find_map(|n| output.lines().find(|l| l.contains(n)).map(|l| (n, l)))
    {
        if let Some(at) = line.find(needle) {
            // From the telling words to the end of the sentence: `Failed to establish a new
            // connection: [Errno 111] Connection refused`.
            let rest = &line[at..];
            let end = rest.find(['\'', '"']).unwrap_or(rest.len());
            return EnvError::Blocked(format!(
                "cannot reach the package index: {}",
                one_line(&rest[..end])
            ));
        }
    }
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // pip: `ERROR: …`; uv: `× No solution found …` then `╰─▶ Because …`.
    let telling = lines
        .iter()
        .find(|l| l.contains("different python version") || l.contains("does not satisfy Python"))
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| l.starts_with("ERROR:") && !l.contains("Could not find a version"))
        })
        .or_else(|| lines.iter().find(|l| l.contains("Because ")))
        .or_else(|| lines.iter().rev().find(|l| l.starts_with("ERROR:")))
        .or_else(|| lines.iter().rev().find(|l| l.starts_with("error:")))
        .or_else(|| lines.last());
    let mut why = telling.map_or("the installer failed".into(), |l| one_line(l));
    // uv's resolver explains over several lines, the packages on the next ones (`… does not
    // satisfy Python>=3.10 and all of:`): its last sentence names what was required.
    if why.ends_with(':') {
        if let Some(req) = lines.iter().rev().find_map(|l| {
            let at = l.find("you require ")? + "you require ".len();
            let rest = &l[at..];
            Some(rest[..rest.find([',', '.']).unwrap_or(rest.len())].trim())
        }) {
            why = format!(
                "{} … (you require {req})",
                why.trim_end_matches(':').trim_end()
            );
        }
    }
    EnvError::Unavailable(format!("{what} failed: {why}"))
}

fn one_line(l: &str) -> String {
    let l = l
        .trim()
        .trim_start_matches(['╰', '─', '▶', '×', ' '])
        .trim_start_matches("ERROR: ")
        .trim_start_matches("cause: ");
    let mut s: String = l.chars().take(300).collect();
    if l.chars().count() > 300 {
        s.push('…');
    }
    s
}

/// How long one install may take before the build is abandoned (`blocked`).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// Environments built at once, at most.
const PARALLEL_BUILDS: usize = 4;

/// [`ensure`] for every entry of `wanted` (an interpreter and what it needs), a few at a time;
/// results by key, in key order.
pub(crate) fn ensure_all<K: Ord + Clone + Send + Sync>(
    root: &Path,
    wanted: &BTreeMap<K, (Interpreter, Spec)>,
    offline: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<(K, Result<Env, EnvError>)> {
    let installer = Installer::find();
    let items: Vec<(&K, &(Interpreter, Spec))> = wanted.iter().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Env, EnvError>>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..PARALLEL_BUILDS.min(items.len()) {
            s.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((_, (i, spec))) = items.get(n) else {
                    break;
                };
                let r = ensure(
                    root,
                    i,
                    spec,
                    &installer,
                    offline,
                    INSTALL_TIMEOUT,
                    progress,
                );
                if let Ok(mut slot) = results[n].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    items
        .into_iter()
        .zip(results)
        .map(|((k, _), r)| {
            let r =
                r.into_inner().ok().flatten().unwrap_or_else(|| {
                    Err(EnvError::Blocked("the environment build failed".into()))
                });
            (k.clone(), r)
        })
        .collect()
}

/// The project itself (`install-project`): built as a wheel, not installed editable, so the
/// examples test what users get.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding its `pyproject.toml` (or `setup.py`).
    pub root: PathBuf,
    /// Extras to install with it (`extras = ["cli"]`).
    pub extras: Vec<String>,
}

/// Files whose contents make the wheel: the build configuration, and every file of the
/// package folders (`src/`, and the top-level folders holding an `__init__.py`) and top-level
/// modules; not tests, docs or examples. Listed as (path relative to `root`, size, mtime).
fn project_stamp(root: &Path) -> io::Result<String> {
    const SKIP: &[&str] = &["tests", "test", "docs", "doc", "examples", "build", "dist"];
    let mut files: Vec<PathBuf> = Vec::new();
    for name in [
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "MANIFEST.in",
        "README.md",
    ] {
        if root.join(name).is_file() {
            files.push(root.join(name));
        }
    }
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || SKIP.contains(&name) {
            continue;
        }
        if path.is_dir() && (name == "src" || path.join("__init__.py").is_file()) {
            for e in walkdir::WalkDir::new(&path).sort_by_file_name() {
                let e = e.map_err(io::Error::other)?;
                let n = e.file_name().to_string_lossy();
                if e.file_type().is_file() && !n.ends_with(".pyc") {
                    files.push(e.into_path());
                }
            }
        } else if path.is_file() && name.ends_with(".py") && name != "setup.py" {
            files.push(path);
        }
    }
    files.sort();
    let mut key = crate::cache::Key::default();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        key.field(rel.as_os_str().as_encoded_bytes());
        key.field(crate::sys::file_stamp(f).unwrap_or_default().as_bytes());
    }
    Ok(key.hex())
}

/// The project's wheel for `interp`, built into `<root>/wheels/<stamp>/` unless it is there:
/// `Ok((path, pure))`, `pure` when it suits every Python (`py3-none-any`). A wheel that does
/// not (compiled code) is built per interpreter.
pub(crate) fn project_wheel(
    cache_root: &Path,
    project: &Project,
    interp: &Interpreter,
    per_interpreter: bool,
    installer: &Installer,
    offline: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PathBuf, EnvError> {
    let stamp = project_stamp(&project.root).map_err(|e| {
        EnvError::Unavailable(format!("the project at {}: {e}", project.root.display()))
    })?;
    let mut name = stamp[..16].to_string();
    if per_interpreter {
        name.push('-');
        name.push_str(&interp.version);
    }
    let dir = cache_root.join("wheels").join(&name);
    let find = |dir: &Path| -> Option<PathBuf> {
        let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        wheels.sort();
        wheels.pop()
    };
    std::fs::create_dir_all(cache_root.join("wheels"))
        .map_err(|e| EnvError::Blocked(format!("cannot make {}: {e}", dir.display())))?;
    let _lock = lock(&cache_root.join("wheels").join(format!("{name}.lock")))
        .map_err(|e| EnvError::Blocked(format!("cannot lock {}: {e}", dir.display())))?;
    if let Some(w) = find(&dir) {
        return Ok(w);
    }
    if offline {
        return Err(EnvError::Blocked(format!(
            "--offline: the wheel of {} as it is now was not built yet",
            project.root.display()
        )));
    }
    progress(&format!(
        "building the wheel of {} with {}",
        project.root.display(),
        installer.name()
    ));
    let tmp = cache_root.join("wheels").join(format!("{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut cmd = match installer {
        Installer::Uv(uv) => {
            let mut c = Command::new(uv);
            c.args(["build", "--wheel", "--quiet", "--python"])
                .arg(&interp.path)
                .arg("--out-dir")
                .arg(&tmp)
                .arg(&project.root);
            c
        }
        Installer::Pip => {
            let mut c = Command::new(&interp.path);
            c.args([
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .args(["--no-input", "--progress-bar", "off", "--wheel-dir"])
            .arg(&tmp)
            .arg(&project.root);
            c
        }
    };
    let built = step(&mut cmd, INSTALL_TIMEOUT, "building the project's wheel");
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| {
        EnvError::Blocked(format!("cannot keep the wheel in {}: {e}", dir.display()))
    })?;
    find(&dir).ok_or_else(|| {
        EnvError::Unavailable(format!(
            "building the project's wheel: no wheel came out of {}",
            project.root.display()
        ))
    })
}

/// Whether a wheel suits every Python 3 (`*-py3-none-any.whl`, `*-py2.py3-none-any.whl`).
pub(crate) fn is_pure(wheel: &Path) -> bool {
    wheel
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("-none-any.whl"))
}

/// The requirement that installs `wheel` with `extras`: `name[a,b] @ file:///…/name-….whl`.
pub(crate) fn wheel_requirement(wheel: &Path, extras: &[String]) -> String {
    let file = wheel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = file.split('-').next().unwrap_or(file);
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!("[{}]", extras.join(","))
    };
    format!("{name}{extras} @ file://{}", wheel.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_installs_are_pinned_by_their_wheel() {
        assert_eq!(
            pinned("httpx @ file:///c/wheels/ab/httpx-0.28.1-py3-none-any.whl#sha256=7f39"),
            "httpx==0.28.1"
        );
        assert_eq!(
            pinned("dmproj @ file:///c/dmproj-0.1.0-py3-none-any.whl"),
            "dmproj==0.1.0"
        );
        assert_eq!(pinned("rich==14.3.4"), "rich==14.3.4");
        assert_eq!(
            pinned("pkg @ git+https://example.org/pkg"),
            "pkg @ git+https://example.org/pkg"
        );
    }

    #[test]
    fn installer_failures_are_classified() {
        let pip_offline = "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPConnection object>: Failed to establish a new connection: [Errno 111] Connection refused')': /simple/six/\nERROR: Could not find a version that satisfies the requirement six (from versions: none)\nERROR: No matching distribution found for six";
        assert_eq!(
            classify(pip_offline, "installing"),
            EnvError::Blocked(
                "cannot reach the package index: Failed to establish a new connection: [Errno 111] Connection refused".into()
            )
        );
        let pip_python = "ERROR: Ignored the following versions that require a different python version: 1.0 Requires-Python >=3.10\nERROR: Could not find a version that satisfies the requirement newonly (from versions: none)\nERROR: No matching distribution found for newonly";
        assert_eq!(
            classify(pip_python, "installing"),
            EnvError::Unavailable("installing failed: Ignored the following versions that require a different python version: 1.0 Requires-Python >=3.10".into())
        );
        let missing = "ERROR: Could not find a version that satisfies the requirement nosuchpkg (from versions: none)\nERROR: No matching distribution found for nosuchpkg";
        assert_eq!(
            classify(missing, "installing"),
            EnvError::Unavailable(
                "installing failed: No matching distribution found for nosuchpkg".into()
            )
        );
        let uv = "  × No solution found when resolving dependencies:\n  ╰─▶ Because the current Python version (3.9.18) does not satisfy Python>=3.10 and newonly==1.0 depends on Python>=3.10, we can conclude that newonly==1.0 cannot be used.";
        assert!(
            matches!(classify(uv, "installing"), EnvError::Unavailable(r) if r.contains("Because the current Python version (3.9.18)"))
        );
        // uv's explanation over several lines: the requirement its last sentence names.
        let uv_long = "error: No solution found when resolving dependencies\n  cause: Because the current Python version (3.9.18) does not satisfy Python>=3.10 and all of:\n             newonly<=0.8.0\n             newonly>=0.9.1\n         depend on Python>=3.10, we can conclude that all of:\n             newonly<=0.8.0\n          cannot be used.\n         And because newonly==0.9.0 was yanked and you require newonly, we can conclude that your requirements are unsatisfiable.";
        assert_eq!(
            classify(uv_long, "installing"),
            EnvError::Unavailable("installing failed: Because the current Python version (3.9.18) does not satisfy Python>=3.10 and all of … (you require newonly)".into())
        );
    }

    #[test]
    fn the_key_covers_requirement_files_and_what_they_include() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.txt"), "six==1.16.0\n").unwrap();
        std::fs::write(dir.path().join("docs.txt"), "-r base.txt\nrich\n").unwrap();
        let spec = Spec {
            dependencies: vec!["attrs".into()],
            requirements: vec![dir.path().join("docs.txt")],
        };
        let a = spec.key_text().unwrap();
        assert!(
            a.contains("six==1.16.0") && a.contains("rich") && a.contains("attrs"),
            "{a}"
        );
        std::fs::write(dir.path().join("base.txt"), "six==1.17.0\n").unwrap();
        assert_ne!(spec.key_text().unwrap(), a);
        let missing = Spec {
            dependencies: vec![],
            requirements: vec![dir.path().join("nope.txt")],
        };
        assert!(missing.key_text().unwrap_err().contains("nope.txt"));
    }
}
