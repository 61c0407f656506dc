//! Container engines (podman, docker): finding one that answers, reading local images, and
//! the command that runs a program in a container of an image, contained as a job is in the
//! bwrap sandbox (no network, read-only root, fresh tmpfs for `/tmp`, `/dev/shm` and the job's
//! scratch folders, the job folder bound at its own path, every capability dropped, no new
//! privileges, a process and memory budget, an init as pid 1 so the program is pid 2 alone in
//! its PID namespace). Every container docmatrix starts is named after its owner
//! (`docmatrix-o<pid>.<start>.<pidns>-…`, as job folders are) and labelled
//! `docmatrix.owner`, so that a later run removes those of a run that is gone
//! ([`sweep_stale`]); an interrupt removes the live ones ([`super::interrupt::stop_all`]).
//! Knows nothing of examples.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::process::{self, Exit, Limits};
use super::sandbox::{View, SCRATCH_BYTES};

/// The kind of container engine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Podman,
    Docker,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Podman => "podman",
            EngineKind::Docker => "docker",
        }
    }
}

/// A container engine that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    pub kind: EngineKind,
    pub program: PathBuf,
    pub version: String,
}

/// How long [`detect`] waits for an engine to answer.
const DETECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an image look-up or a removal may take.
const QUICK_TIMEOUT: Duration = Duration::from_secs(30);
/// The label every container docmatrix starts carries: its owner's tag.
pub const OWNER_LABEL: &str = "docmatrix.owner";
/// Processes a container may hold at once (a fork storm ends there).
const PIDS_LIMIT: u32 = 1024;

/// The first engine that answers (`podman version`; `docker version`, whose server part needs
/// the daemon to answer), of `only` when given, else podman then docker. Each is given a few
/// seconds; a client without a daemon, or one that hangs, is passed over. (`podman info`
/// would check its storage too, but takes 0.16 s here against 0.01 s, and the image look-up
/// that follows checks it anyway.)
pub fn detect(only: Option<EngineKind>) -> Option<Engine> {
    let candidates = [
        (EngineKind::Podman, "{{.Client.Version}}"),
        (EngineKind::Docker, "{{.Server.Version}}"),
    ];
    for (kind, format) in candidates {
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let Some(program) = super::which(kind.name()) else {
            continue;
        };
        let mut cmd = Command::new(&program);
        cmd.args(["version", "--format", format]);
        let Ok(rec) = process::run(&mut cmd, &quick_limits(DETECT_TIMEOUT)) else {
            continue;
        };
        let version = rec.stdout.text().trim().to_string();
        if rec.exit == Exit::Code(0) && !version.is_empty() && !version.contains("<no value>") {
            return Some(Engine {
                kind,
                program,
                version,
            });
        }
    }
    None
}

/// Limits for the engine's own short commands (no memory limit: a Go program reserves much
/// address space).
pub fn quick_limits(timeout: Duration) -> Limits {
    Limits {
        timeout,
        output_cap: 64 * 1024,
        memory: None,
        dump_file: None,
    }
}

impl Engine {
    /// Runs `engine ARGS…` to its end (a few seconds at most): its exit and output.
    pub fn quick(&self, args: &[&str]) -> Option<process::RunRecord> {
        let mut c = Command::new(&self.program);
        c.args(args);
        process::run(&mut c, &quick_limits(QUICK_TIMEOUT)).ok()
    }

    /// The id of the local image `reference` (`sha256:…`), or `None` when it is not here.
    pub fn image_id(&self, reference: &str) -> Option<String> {
        let r = self.quick(&["image", "inspect", "--format", "{{.Id}}", reference])?;
        let id = r.stdout.text().trim().to_string();
        (r.exit == Exit::Code(0) && !id.is_empty() && !id.contains(char::is_whitespace))
            .then_some(id)
    }

    /// Pulls `reference`, giving up after `timeout`: `Err` with the engine's last line.
    pub fn pull(&self, reference: &str, timeout: Duration) -> Result<(), String> {
        let mut c = Command::new(&self.program);
        c.args(["pull", "--quiet", reference]);
        let r = process::run(&mut c, &quick_limits(timeout)).map_err(|e| e.to_string())?;
        match r.exit {
            Exit::Code(0) => Ok(()),
            Exit::TimedOut => Err(format!("no answer in {} s", timeout.as_secs())),
            _ => {
                let text = r.stderr.text();
                let last = text.lines().rev().find(|l| !l.trim().is_empty());
                Err(last.unwrap_or("the pull failed").trim().to_string())
            }
        }
    }

    /// Removes the containers `names` at once, running or not (no grace period).
    pub fn remove(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let mut args = vec!["rm", "--force"];
        if self.kind == EngineKind::Podman {
            // Podman waits 10 s for a running container to stop unless told otherwise; and
            // without `--ignore`, a name already gone ends the command before the others,
            // which stay (with exit status 0).
            args.extend(["--time", "0", "--ignore"]);
        }
        args.extend(names.iter().map(String::as_str));
        let _ = self.quick(&args);
    }

    /// The names of the containers (running or not) that carry docmatrix's owner label:
    /// any run's, or `owner`'s alone (an owner tag, `o<pid>.<start>.<pidns>`).
    pub fn owned_containers(&self) -> Vec<String> {
        self.containers_of(None)
    }

    fn containers_of(&self, owner: Option<&str>) -> Vec<String> {
        let filter = match owner {
            Some(o) => format!("label={OWNER_LABEL}={o}"),
            None => format!("label={OWNER_LABEL}"),
        };
        let Some(r) = self.quick(&["ps", "--all", "--filter", &filter, "--format", "{{.Names}}"])
        else {
            return Vec::new();
        };
        r.stdout
            .text()
            .lines()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Removes every container of the run `owner` (its tag) that is still there, looking
    /// again after each removal, for a few tries: what it removed.
    pub fn remove_run_containers(&self, owner: &str) -> Vec<String> {
        let mut removed = Vec::new();
        for pause in [50, 200, 500, 1000, 0] {
            let left = self.containers_of(Some(owner));
            if left.is_empty() {
                break;
            }
            self.remove(&left);
            for n in left {
                if !removed.contains(&n) {
                    removed.push(n);
                }
            }
            std::thread::sleep(Duration::from_millis(pause));
        }
        removed
    }
}

/// At the end of a run, once its executors have ended: removes whatever container of this
/// run is still there, for each engine that started one. Each container is removed where it
/// ends, but an engine's client that was killed while it removed its container (`--rm`), or
/// a removal that raced the engine's own, can leave one behind (seen once, a warm worker's, on a
/// loaded CI machine); this is the run's last word on it. Runs before docmatrix reaps its
/// orphans (the engine's monitors among them): a container whose monitor was killed can stay
/// "stopping". Returns the names it removed.
pub fn remove_leftovers() -> Vec<String> {
    let Some(owner) = super::interrupt::owner_tag() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for program in super::interrupt::engines_used() {
        let kind = if program.file_name().is_some_and(|n| n == "docker") {
            EngineKind::Docker
        } else {
            EngineKind::Podman
        };
        let engine = Engine {
            kind,
            program,
            version: String::new(),
        };
        removed.extend(engine.remove_run_containers(&owner));
    }
    removed
}

/// Removes the containers of docmatrix runs that are gone (killed by SIGKILL: nothing of
/// theirs removed them), told by the owner in their names, as stale job folders are; never
/// a live run's, nor one of another PID namespace's. Returns how many it removed.
pub fn sweep_stale(engine: &Engine) -> usize {
    let stale: Vec<String> = engine
        .owned_containers()
        .into_iter()
        .filter(|n| super::interrupt::owner_is_gone(n))
        .collect();
    engine.remove(&stale);
    stale.len()
}

/// `--ulimit` options for open files and processes: 1,024 and 4,096 (docmatrix's own, where
/// they are lower). The engine's defaults (podman's are over a million) can exceed the hard
/// limits of a machine whose root lacks `CAP_SYS_RESOURCE` (a CI runner that is itself a
/// container), and the container then does not start ("error setting rlimit type 7"); so can
/// docmatrix's own limits (seen here: its 96,555 processes against 32,768 for the engine's
/// runtime). Processes are counted per user across the machine (a rootful container's root is
/// the machine's), so a fork storm is ended by `--pids-limit` first.
pub fn inherited_ulimits() -> Vec<String> {
    let mut out = Vec::new();
    for (name, resource, most) in [
        ("nofile", libc::RLIMIT_NOFILE, 1024),
        ("nproc", libc::RLIMIT_NPROC, 4096),
    ] {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills the struct we pass.
        let (cur, max) = if unsafe { libc::getrlimit(resource, &mut l) } == 0 {
            (l.rlim_cur.min(most), l.rlim_max.min(most))
        } else {
            (most, most)
        };
        out.push("--ulimit".to_string());
        out.push(format!("{name}={}:{max}", cur.min(max)));
    }
    out
}

/// What a container interpreter is: an image, the interpreter's path inside it, and the engine
/// that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub engine: Engine,
    /// The image as configured (`python:3.11-slim`).
    pub image: String,
    /// Its id (`sha256:…`): what the result cache keys on.
    pub image_id: String,
    /// The interpreter inside (`/usr/local/bin/python3.11`).
    pub python: PathBuf,
}

/// What a contained program may use.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Address-space limit per process, bytes.
    pub memory: Option<u64>,
    /// Whether its standard input stays open (a warm worker reads its requests there).
    pub interactive: bool,
}

impl Target {
    /// A command running `program args…` (a path inside the image: the interpreter, a shell)
    /// in a new container named `name`, in `cwd`, seeing `view` (its job folder bound at the
    /// same path, its scratch folders fresh tmpfs), with `env` set over the image's own
    /// environment. The container is removed when the program ends; one whose engine client
    /// was killed must be removed by name ([`Engine::remove`]).
    #[allow(clippy::too_many_arguments)]
    pub fn command_of(
        &self,
        program: &Path,
        name: &str,
        args: &[OsString],
        cwd: &Path,
        view: &View,
        env: &[(&str, OsString)],
        budget: &Budget,
    ) -> std::io::Result<Command> {
        let mut c = Command::new(&self.engine.program);
        c.arg("run");
        c.args(["--rm", "--pull=never", "--init", "--read-only"]);
        if budget.interactive {
            c.arg("--interactive");
        }
        c.arg("--name").arg(name);
        c.arg("--label")
            .arg(format!("{OWNER_LABEL}={}", owner_of(name)));
        // The program's output goes to docmatrix through the attached streams (and the job's
        // FIFOs); the engine keeps no log of it.
        c.args(["--log-driver", "none"]);
        if !view.network {
            c.args(["--network", "none"]);
        }
        c.args(["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]);
        // The bwrap sandbox's seccomp filter, as a profile file in the job folder (the
        // engine reads it when it makes the container).
        #[cfg(target_os = "linux")]
        if view.job_dir != Path::new("/") {
            let profile = view.job_dir.join(".seccomp.json");
            std::fs::write(&profile, super::seccomp::oci_profile())?;
            let mut opt = OsString::from("seccomp=");
            opt.push(&profile);
            c.arg("--security-opt").arg(opt);
        }
        if self.engine.kind == EngineKind::Podman {
            // No writable /run and /var/tmp (they would outlive a job in a warm worker's
            // container); /tmp and /dev/shm are the fresh tmpfs below.
            c.arg("--read-only-tmpfs=false");
        }
        // Files only root may read on the machine are shown empty, as in the bwrap sandbox.
        for f in ["/etc/shadow", "/etc/gshadow"] {
            c.arg("--volume").arg(format!("/dev/null:{f}:ro"));
        }
        c.arg("--pids-limit").arg(PIDS_LIMIT.to_string());
        c.args(inherited_ulimits());
        c.args(["--ulimit", "core=0:0"]);
        let size = SCRATCH_BYTES;
        // A read-only /dev, as bwrap's: the runtime still makes its device nodes there.
        c.args(["--tmpfs", "/dev:ro"]);
        for t in ["/tmp", "/dev/shm"] {
            c.arg("--tmpfs")
                .arg(format!("{t}:rw,size={size},mode=1777"));
        }
        if view.job_dir != Path::new("/") {
            let d = view.job_dir.display();
            c.arg("--volume").arg(format!("{d}:{d}:rw"));
        }
        for s in &view.scratch {
            c.arg("--tmpfs")
                .arg(format!("{}:rw,size={size},mode=700", s.display()));
        }
        for (k, v) in env {
            let mut kv = OsString::from(format!("{k}="));
            kv.push(v);
            c.arg("--env").arg(kv);
        }
        c.arg("--workdir").arg(cwd);
        c.arg(&self.image);
        if let Some(m) = budget.memory {
            // The engines have no option for the address-space limit a local job gets
            // (RLIMIT_AS): the image's shell sets it, then becomes the interpreter (same pid).
            c.args(["/bin/sh", "-c"])
                .arg(format!("ulimit -v {} && exec \"$@\"", m / 1024))
                .arg("sh");
        }
        c.arg(program).args(args);
        Ok(c)
    }

    /// Runs `program args…` in a fresh container to its end, as [`process::run`] runs a local
    /// one (`limits.memory` is applied inside). A container whose client was killed (its
    /// timeout) or failed is removed. A program killed by signal N is reported so, not as
    /// the init's exit code 128 + N.
    pub fn run(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
        view: &View,
        env: &[(&str, OsString)],
        limits: &Limits,
    ) -> std::io::Result<process::RunRecord> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = container_name(&format!("j{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        super::interrupt::add_container(&self.engine.program, &name)?;
        let mut limits = limits.clone();
        let budget = Budget {
            memory: limits.memory.take(),
            interactive: false,
        };
        let mut cmd = self.command_of(program, &name, args, cwd, view, env, &budget)?;
        let record = process::run(&mut cmd, &limits);
        if !matches!(&record, Ok(r) if matches!(r.exit, Exit::Code(_))) {
            self.engine.remove(std::slice::from_ref(&name));
        }
        super::interrupt::forget_container(&self.engine.program, &name);
        let mut record = record?;
        if let Exit::Code(c @ 129..160) = record.exit {
            record.exit = Exit::Signal(c - 128);
        }
        Ok(record)
    }
}

/// The owner tag a container name carries (`docmatrix-o1.2.3-w0` → `o1.2.3`), or the name.
fn owner_of(name: &str) -> &str {
    name.strip_prefix("docmatrix-")
        .and_then(|r| r.split('-').find(|t| t.starts_with('o')))
        .unwrap_or(name)
}

/// A fresh container name for this run: `docmatrix-<owner>-<what>`.
pub fn container_name(what: &str) -> String {
    match super::interrupt::owner_tag() {
        Some(tag) => format!("docmatrix-{tag}-{what}"),
        None => format!("docmatrix-{}-{what}", std::process::id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_owner() {
        assert_eq!(owner_of("docmatrix-o12.34.56-w3"), "o12.34.56");
        assert_eq!(owner_of("other"), "other");
        let n = container_name("w0");
        assert!(n.starts_with("docmatrix-o"), "{n}");
        assert!(n.ends_with("-w0"), "{n}");
    }
}
