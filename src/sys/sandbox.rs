//! Sandboxing a job's process with bubblewrap where the machine allows. A job sees a minimal
//! view of the machine: the system's runtime read-only (`/usr` and the `/bin`, `/lib*` links,
//! `/etc` without what only root may read), the installation of the interpreter it runs (read
//! only), its own job folder, a fresh `/tmp`, and fresh `/dev` and `/proc`; not the home
//! folders, the repository or the cache. Its scratch folders (working folder, `TMPDIR`) and
//! `/tmp` and `/dev/shm` are tmpfs of a bounded size; everything else is read-only. It runs in a user namespace where the kernel allows
//! one (started as root, it is root of nothing outside it), with every capability dropped, no
//! way to make a user namespace again, no network, its own PID namespace (nothing it starts
//! outlives it), a new session, and a seccomp filter ([`super::seccomp`]) refusing mounts,
//! namespaces and tracing. It dies with docmatrix. Where bwrap is missing or does not work,
//! jobs run unsandboxed in their throwaway folder, and the report says so.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The size of each tmpfs a sandboxed job writes into: its working folder, its `TMPDIR` and
/// its `/tmp`. Writing past it fails with "No space left on device".
pub(crate) const SCRATCH_BYTES: u64 = 256 << 20;

/// Which sandbox jobs run in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Sandbox {
    /// No sandbox: a throwaway directory, a private HOME and TMPDIR, and limits only.
    None,
    Bwrap {
        path: PathBuf,
        /// Whether jobs get a user namespace of their own (the kernel allows it here).
        userns: bool,
    },
}

/// The kind of sandbox a run's jobs ran in, as a report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxKind {
    Bwrap,
    /// Every Python version ran in containers ([`super::container`]), which are the sandbox.
    Container,
    None,
    /// A report from another version of docmatrix named a kind this one does not know.
    #[serde(other)]
    Unknown,
}

impl SandboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxKind::Bwrap => "bwrap",
            SandboxKind::Container => "container",
            SandboxKind::None => "none",
            SandboxKind::Unknown => "unknown",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// bwrap when it works here, else none.
    #[default]
    Auto,
    /// bwrap, or a setup error.
    Bwrap,
    None,
}

/// What one job sees besides the system's runtime.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The job's folder, writable, at its own path.
    pub job_dir: PathBuf,
    /// Folders inside `job_dir` that each get a fresh tmpfs of [`SCRATCH_BYTES`].
    pub scratch: Vec<PathBuf>,
    /// Programs whose installations are brought in read-only (interpreters).
    pub programs: Vec<PathBuf>,
    /// Whether the network is shared with the job.
    pub network: bool,
}

impl Sandbox {
    /// Picks the sandbox for `mode`: `Err` when bwrap was demanded and does not work.
    pub fn select(mode: SandboxMode) -> Result<Sandbox, String> {
        match mode {
            SandboxMode::None => Ok(Sandbox::None),
            SandboxMode::Auto => Ok(Self::probe().unwrap_or(Sandbox::None)),
            SandboxMode::Bwrap => Self::probe().ok_or_else(|| {
                "bubblewrap (bwrap) is not installed or cannot create namespaces here".to_string()
            }),
        }
    }

    /// Finds bwrap on PATH and checks that it can make the sandbox docmatrix uses: with a user
    /// namespace if the kernel allows one, else without.
    fn probe() -> Option<Sandbox> {
        let bwrap = super::which("bwrap")?;
        [true, false].into_iter().find_map(|userns| {
            let sandbox = Sandbox::Bwrap {
                path: bwrap.clone(),
                userns,
            };
            let view = View {
                job_dir: PathBuf::from("/"),
                ..View::default()
            };
            let ok = sandbox
                .command(Path::new("/bin/true"), &[], Path::new("/"), &view)
                .ok()?
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then_some(sandbox)
        })
    }

    pub fn kind(&self) -> SandboxKind {
        match self {
            Sandbox::None => SandboxKind::None,
            Sandbox::Bwrap { .. } => SandboxKind::Bwrap,
        }
    }

    /// A command running `program args…` in `cwd`, inside the sandbox, seeing `view`.
    pub fn command(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
        view: &View,
    ) -> std::io::Result<Command> {
        let (path, userns) = match self {
            Sandbox::None => {
                let mut c = Command::new(program);
                c.args(args).current_dir(cwd);
                return Ok(c);
            }
            Sandbox::Bwrap { path, userns } => (path, *userns),
        };
        let mut c = Command::new(path);
        c.args(system_args());
        c.arg("--size").arg(SCRATCH_BYTES.to_string());
        c.args(["--tmpfs", "/tmp"]);
        let mut ro: Vec<PathBuf> = std::iter::once(program)
            .chain(view.programs.iter().map(PathBuf::as_path))
            .flat_map(installation)
            .collect();
        ro.sort();
        ro.dedup();
        // A folder inside another one already bound needs no bind of its own.
        let kept: Vec<&PathBuf> = ro
            .iter()
            .filter(|p| !ro.iter().any(|q| q != *p && p.starts_with(q)))
            .collect();
        for p in kept {
            c.arg("--ro-bind").arg(p).arg(p);
        }
        if view.job_dir != Path::new("/") {
            c.arg("--bind").arg(&view.job_dir).arg(&view.job_dir);
        }
        for s in &view.scratch {
            c.arg("--size").arg(SCRATCH_BYTES.to_string());
            c.arg("--tmpfs").arg(s);
        }
        c.args(["--unshare-all", "--die-with-parent", "--new-session"]);
        if userns {
            c.args(["--unshare-user", "--disable-userns"]);
        }
        if view.network {
            c.arg("--share-net");
            if Path::new("/run/systemd/resolve").is_dir() {
                c.args(["--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve"]);
            }
        }
        // The sandbox's own root (the folders bwrap made for its mounts) is read-only too.
        c.args(["--remount-ro", "/", "--cap-drop", "ALL"]);
        let fds = bwrap_descriptors(&mut c)?;
        c.arg("--chdir").arg(cwd).arg("--").arg(program).args(args);
        let keep = KeepOpen(fds);
        // SAFETY: fcntl is async-signal-safe; the descriptor stays open as long as the
        // command (the closure owns it).
        unsafe {
            c.pre_exec(move || keep.inherit());
        }
        Ok(c)
    }

    /// Reads an exit code through the sandbox: bwrap reports a child killed by signal N as
    /// exit code 128 + N.
    pub(crate) fn signal_of(&self, code: i32) -> Option<i32> {
        match self {
            Sandbox::Bwrap { .. } if (129..160).contains(&code) => Some(code - 128),
            _ => None,
        }
    }
}

/// Descriptors a spawned bwrap inherits (and no other child: they are close-on-exec in
/// docmatrix, and only the spawn's own child clears that flag).
struct KeepOpen(Vec<OwnedFd>);

impl KeepOpen {
    fn inherit(&self) -> std::io::Result<()> {
        for fd in &self.0 {
            // SAFETY: plain fcntl on a descriptor we own.
            if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// The folders an installed program needs, read-only: the prefix of its `bin/` (for
/// `/x/bin/python3.12`, `/x`), for the path as given and as resolved, and for a virtual
/// environment the installation it was made from (`home` in `pyvenv.cfg`). The system's own
/// folders are already there; a prefix that is a home folder or the root brings in only the
/// program's folder and the prefix's `lib`.
fn installation(program: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let real = std::fs::canonicalize(program).ok();
    for p in std::iter::once(program).chain(real.as_deref()) {
        let Some(bin) = p.parent() else { continue };
        let prefix = match bin.file_name() {
            Some(n) if n == "bin" => bin.parent().unwrap_or(bin),
            _ => bin,
        };
        if let Ok(cfg) = std::fs::read_to_string(prefix.join("pyvenv.cfg")) {
            let home = cfg.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "home").then(|| PathBuf::from(v.trim()))
            });
            if let Some(home) = home {
                out.extend(installation(&home.join("python")));
            }
        }
        if is_home_or_root(prefix) {
            out.push(bin.to_path_buf());
            out.push(prefix.join("lib"));
        } else {
            out.push(prefix.to_path_buf());
        }
    }
    out.retain(|p| {
        p.is_absolute()
            && p.exists()
            && !SYSTEM.iter().chain(SYSTEM_LINKS).any(|s| p.starts_with(s))
    });
    out
}

fn is_home_or_root(p: &Path) -> bool {
    p == Path::new("/")
        || p == Path::new("/root")
        || p == Path::new("/home")
        || p.parent() == Some(Path::new("/home"))
        || std::env::var_os("HOME").is_some_and(|h| p == Path::new(&h))
}

/// The system's runtime, brought in read-only.
const SYSTEM: &[&str] = &["/usr", "/etc"];
/// Top-level names that are links into `/usr` on a merged system, or folders of their own.
const SYSTEM_LINKS: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// The arguments that build the system's part of the view, the same for every job: computed
/// once per run.
fn system_args() -> &'static [OsString] {
    static ARGS: std::sync::OnceLock<Vec<OsString>> = std::sync::OnceLock::new();
    ARGS.get_or_init(|| {
        let mut a: Vec<OsString> = Vec::new();
        for s in SYSTEM {
            if Path::new(s).is_dir() {
                a.extend(["--ro-bind".into(), (*s).into(), (*s).into()]);
            }
        }
        for l in SYSTEM_LINKS {
            let p = Path::new(l);
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(p) {
                        a.extend(["--symlink".into(), target.into(), p.into()]);
                    }
                }
                Ok(m) if m.is_dir() => a.extend(["--ro-bind".into(), p.into(), p.into()]),
                _ => {}
            }
        }
        for secret in secret_dirs() {
            a.extend(["--tmpfs".into(), secret.clone().into()]);
            a.extend(["--remount-ro".into(), secret.into()]);
        }
        a.extend(["--dev", "/dev", "--proc", "/proc"].map(OsString::from));
        a.extend(["--size".into(), SCRATCH_BYTES.to_string().into()]);
        a.extend(["--tmpfs", "/dev/shm", "--remount-ro", "/dev"].map(OsString::from));
        a
    })
}

/// The secrets of `/etc` (see [`secrets`]), computed once per run.
fn etc_secrets() -> &'static [PathBuf] {
    static SECRETS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    SECRETS.get_or_init(|| secrets(Path::new("/etc")))
}

fn secret_dirs() -> impl Iterator<Item = &'static PathBuf> {
    etc_secrets().iter().filter(|p| p.is_dir())
}

/// The descriptors a bwrap command reads: an empty file for each secret file, and the
/// seccomp filter. Kept open until the command has started.
#[cfg(target_os = "linux")]
fn bwrap_descriptors(c: &mut Command) -> std::io::Result<Vec<std::os::fd::OwnedFd>> {
    let mut fds = Vec::new();
    for secret in secret_files() {
        let empty = super::seccomp::memfd_with(b"")?;
        c.arg("--ro-bind-data").arg(empty.as_raw_fd().to_string());
        c.arg(secret);
        fds.push(empty);
    }
    let filter = super::seccomp::memfd_with(super::seccomp::bytes())?;
    c.arg("--seccomp").arg(filter.as_raw_fd().to_string());
    fds.push(filter);
    Ok(fds)
}

/// bubblewrap is Linux's; elsewhere a bwrap sandbox is never chosen (none is found).
#[cfg(not(target_os = "linux"))]
fn bwrap_descriptors(_c: &mut Command) -> std::io::Result<Vec<std::os::fd::OwnedFd>> {
    Err(std::io::Error::other("the bubblewrap sandbox needs Linux"))
}

/// Secret files are replaced by an empty file each: bwrap copies it from a descriptor of its
/// own (a device such as /dev/null cannot be opened in a user namespace's mounts).
#[cfg(target_os = "linux")]
fn secret_files() -> impl Iterator<Item = &'static PathBuf> {
    etc_secrets().iter().filter(|p| !p.is_dir())
}

/// What under `dir` only its owner or group may read (`/etc/shadow`, `/etc/ssh`'s host keys,
/// `/etc/ssl/private`, `/etc/sudoers`, ...): the system's own word for a secret. Such a file
/// is shown empty and such a folder empty in the sandbox, whoever the job runs as. Links are
/// not followed (their targets are outside the view, or checked where they are).
pub fn secrets(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        if entry.depth() == 0 || entry.file_type().is_symlink() {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let mode = meta.permissions().mode();
        let hidden = if meta.is_dir() {
            mode & 0o005 != 0o005
        } else {
            mode & 0o004 == 0
        };
        if hidden {
            out.push(entry.path().to_path_buf());
            if meta.is_dir() {
                walk.skip_current_dir();
            }
        }
    }
    out
}
