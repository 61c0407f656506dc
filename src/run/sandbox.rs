//! Sandboxing a job's process with bubblewrap where the machine allows: the root file system
//! read-only, a private /tmp, the job's own directory writable, no network, its own PID
//! namespace (so that nothing it starts, daemonised or not, outlives it), and death with
//! docmatrix. Where bwrap is missing or does not work, jobs run unsandboxed in their
//! throwaway directory, and the report says so.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

/// Which sandbox jobs run in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Sandbox {
    /// No sandbox: a throwaway directory, a private HOME and TMPDIR, and limits only.
    None,
    Bwrap {
        path: PathBuf,
    },
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// bwrap when it works here, else none.
    #[default]
    Auto,
    /// bwrap, or a setup error.
    Bwrap,
    None,
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

    /// Finds bwrap on PATH and checks that it can make the namespaces docmatrix uses.
    fn probe() -> Option<Sandbox> {
        let bwrap = super::which("bwrap")?;
        let ok = Command::new(&bwrap)
            .args(base_args(Path::new("/")))
            .arg("true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Sandbox::Bwrap { path: bwrap })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Sandbox::None => "none",
            Sandbox::Bwrap { .. } => "bwrap",
        }
    }

    /// A command running `program args…` in `cwd`, inside the sandbox, where `job_dir` (which
    /// holds `cwd`) is the only writable place besides a private /tmp.
    pub fn command(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
        job_dir: &Path,
    ) -> Command {
        match self {
            Sandbox::None => {
                let mut c = Command::new(program);
                c.args(args).current_dir(cwd);
                c
            }
            Sandbox::Bwrap { path } => {
                let mut c = Command::new(path);
                c.args(base_args(job_dir));
                // The sandbox's /tmp is empty: an interpreter installed under /tmp needs its
                // installation folder (the parent of its `bin/`) brought in, read-only.
                if program.starts_with("/tmp") {
                    let prefix = program.parent().and_then(Path::parent).unwrap_or(program);
                    c.arg("--ro-bind").arg(prefix).arg(prefix);
                }
                c.arg("--chdir").arg(cwd).arg("--").arg(program).args(args);
                c
            }
        }
    }

    /// Like [`Sandbox::command`], with the network shared when `network` is set, and extra
    /// read-only folders brought into the sandbox's /tmp (interpreters installed there).
    pub fn command_with(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
        job_dir: &Path,
        network: bool,
        ro_binds: &[PathBuf],
    ) -> Command {
        match self {
            Sandbox::None => self.command(program, args, cwd, job_dir),
            Sandbox::Bwrap { path } => {
                let mut c = Command::new(path);
                let base = base_args(job_dir);
                c.args(
                    base.iter()
                        .filter(|a| !(network && a.as_os_str() == "--unshare-net")),
                );
                for p in ro_binds {
                    c.arg("--ro-bind").arg(p).arg(p);
                }
                c.arg("--chdir").arg(cwd).arg("--").arg(program).args(args);
                c
            }
        }
    }

    /// Reads an exit code through the sandbox: bwrap reports a child killed by signal N as
    /// exit code 128 + N.
    pub fn signal_of(&self, code: i32) -> Option<i32> {
        match self {
            Sandbox::Bwrap { .. } if (129..160).contains(&code) => Some(code - 128),
            _ => None,
        }
    }
}

/// Folders never brought into the sandbox: container engines mount and unmount file systems
/// under them while they build or run, and bwrap's recursive read-only bind of a folder whose
/// sub-mounts come and go fails ("Can't bind mount /oldroot/ … No such file or directory").
/// Snippets have no business there anyway.
const HIDDEN: &[&str] = &[
    "/var/lib/containers",
    "/var/lib/docker",
    "/run/containers",
    "/run/libpod",
    "/run/netns",
    "/run/docker",
    "/var/run/containers",
    "/var/run/netns",
    "/var/run/docker",
    "/proc",
    "/dev",
    "/tmp",
];

/// The read-only view of the root file system: `/` bound read-only, except that a folder
/// holding a [`HIDDEN`] one is rebuilt entry by entry, leaving the hidden one out.
fn root_binds(dir: &Path, out: &mut Vec<OsString>) {
    let holds_hidden = |d: &Path| {
        HIDDEN
            .iter()
            .any(|h| Path::new(h).starts_with(d) && Path::new(h) != d)
    };
    if !holds_hidden(dir) {
        out.extend(["--ro-bind".into(), dir.into(), dir.into()]);
        return;
    }
    if dir != Path::new("/") {
        out.extend(["--dir".into(), dir.into()]);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if HIDDEN.iter().any(|h| Path::new(h) == p) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            if let Ok(target) = std::fs::read_link(&p) {
                out.extend(["--symlink".into(), target.into(), p.into()]);
            }
        } else if meta.is_dir() {
            root_binds(&p, out);
        } else {
            out.extend(["--ro-bind".into(), p.clone().into(), p.into()]);
        }
    }
}

fn base_args(job_dir: &Path) -> Vec<OsString> {
    static ROOT: std::sync::OnceLock<Vec<OsString>> = std::sync::OnceLock::new();
    let mut a: Vec<OsString> = ROOT
        .get_or_init(|| {
            let mut v = Vec::new();
            root_binds(Path::new("/"), &mut v);
            v
        })
        .clone();
    a.extend(
        [
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--unshare-net",
            "--unshare-pid",
            "--unshare-ipc",
            "--die-with-parent",
        ]
        .iter()
        .map(OsString::from),
    );
    if job_dir != Path::new("/") {
        a.extend(["--bind".into(), job_dir.into(), job_dir.into()]);
    }
    a
}
