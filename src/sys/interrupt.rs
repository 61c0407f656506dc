//! Clean endings: whatever docmatrix started is gone when it ends, by itself or by a signal.
//!
//! - A process-wide registry of the processes docmatrix spawned ([`spawn`], [`forget`]) and of
//!   its job folders ([`job_dir`]). On SIGINT, SIGTERM or SIGHUP the CLI calls [`stop_all`]:
//!   no process or folder is made after that, every registered process group and every
//!   descendant of docmatrix (found through `/proc`) is killed, and every registered folder is
//!   removed.
//! - docmatrix is a child subreaper ([`become_subreaper`]): a process an example daemonised
//!   (`setsid`, double fork) is reparented to docmatrix instead of init, so it is still a
//!   descendant; [`reap_orphans`], at the end of the run, kills and reaps those.
//! - Job folders are named after their owner (`docmatrix-[KIND-]o<pid>.<start>.<pidns>-XXXXXX`):
//!   [`sweep_stale_folders`] removes, at start, the folders of runs that are gone (killed by
//!   SIGKILL, say) and never those of a live run.
//!
//! Library code never prints; the CLI installs [`on_signal`] and prints.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// The processes and folders of one run, and whether it was interrupted.
pub(crate) struct Registry {
    /// `true` once interrupted. Held for reading while a process or folder is made and
    /// registered, so that once [`Registry::interrupt`] holds it for writing, everything made
    /// is registered and nothing more will be.
    gate: RwLock<bool>,
    live: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    /// Processes spawned (each the leader of its own group), until reaped.
    pids: BTreeSet<u32>,
    folders: BTreeSet<PathBuf>,
    /// Containers started (by engine program and name), until they are gone.
    containers: BTreeSet<(PathBuf, String)>,
    /// The engines that started a container in this run (kept to the end).
    engines: BTreeSet<PathBuf>,
}

/// The refusal of a spawn or folder after an interrupt.
fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "docmatrix was interrupted")
}

impl Registry {
    pub const fn new() -> Registry {
        Registry {
            gate: RwLock::new(false),
            live: Mutex::new(Live {
                pids: BTreeSet::new(),
                folders: BTreeSet::new(),
                containers: BTreeSet::new(),
                engines: BTreeSet::new(),
            }),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spawns `cmd` and registers its process: `cmd` must make it a group leader
    /// (`process_group(0)`), so that killing the group kills what it starts. After an
    /// interrupt, refuses (`ErrorKind::Interrupted`).
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<Child> {
        let gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if *gate {
            return Err(refused());
        }
        if let Some(ours) = BLOCKED_BY_US.get() {
            unblock_in_child(cmd, *ours);
        }
        let child = cmd.spawn()?;
        self.live().pids.insert(child.id());
        Ok(child)
    }

    /// Forgets a spawned process once it has been reaped.
    pub fn forget(&self, pid: u32) {
        self.live().pids.remove(&pid);
    }

    #[cfg(test)]
    /// Registers a folder to remove at an interrupt; refused after one.
    pub(crate) fn add_folder(&self, path: &Path) -> io::Result<()> {
        let gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if *gate {
            return Err(refused());
        }
        self.live().folders.insert(path.to_path_buf());
        Ok(())
    }

    /// Makes a folder with `make` and registers it, holding the gate across both: an
    /// interrupt either sees the folder registered (and removes it) or comes first (and the
    /// folder is never made). Made, then registered, an interrupt between the two left the
    /// folder behind when the process exited.
    pub(crate) fn make_folder(
        &self,
        make: impl FnOnce() -> io::Result<tempfile::TempDir>,
    ) -> io::Result<tempfile::TempDir> {
        let gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if *gate {
            return Err(refused());
        }
        let dir = make()?;
        self.live().folders.insert(dir.path().to_path_buf());
        Ok(dir)
    }

    /// Registers a container (by its engine and name) to remove at an interrupt, before it is
    /// started; refused after one.
    pub(crate) fn add_container(&self, engine: &Path, name: &str) -> io::Result<()> {
        let gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if *gate {
            return Err(refused());
        }
        let mut live = self.live();
        live.containers
            .insert((engine.to_path_buf(), name.to_string()));
        live.engines.insert(engine.to_path_buf());
        Ok(())
    }

    pub(crate) fn remove_container(&self, engine: &Path, name: &str) {
        self.live()
            .containers
            .remove(&(engine.to_path_buf(), name.to_string()));
    }

    /// Removes every registered container (after an interrupt, once docmatrix's descendants,
    /// the engine's clients among them, are dead), one engine command for all.
    pub(crate) fn remove_containers(&self) {
        let containers = std::mem::take(&mut self.live().containers);
        let mut by_engine: std::collections::BTreeMap<PathBuf, Vec<String>> = Default::default();
        for (engine, name) in containers {
            by_engine.entry(engine).or_default().push(name);
        }
        for (engine, names) in by_engine {
            let mut c = Command::new(&engine);
            c.args(["rm", "--force"]);
            if engine.file_name().is_some_and(|n| n == "podman") {
                c.args(["--time", "0", "--ignore"]);
            }
            c.args(&names)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let _ = c.status();
        }
    }

    pub(crate) fn remove_folder(&self, path: &Path) {
        self.live().folders.remove(path);
    }

    #[cfg(test)]
    pub(crate) fn is_interrupted(&self) -> bool {
        *self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the registry (no spawn or folder after this) and kills every registered process
    /// group that is still docmatrix's. `false` if it was interrupted already.
    pub fn interrupt(&self) -> bool {
        {
            let mut gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
            if *gate {
                return false;
            }
            *gate = true;
        }
        let me = std::process::id();
        let pids: Vec<u32> = self.live().pids.iter().copied().collect();
        for pid in pids {
            // A pid reaped and not yet forgotten may have been given to another process:
            // only a child of ours is killed.
            if read_stat(pid).is_some_and(|s| s.ppid == me) {
                kill(-(pid as i32));
                kill(pid as i32);
            }
        }
        true
    }

    /// Removes every registered folder (after an interrupt, once its processes are dead).
    pub(crate) fn remove_folders(&self) {
        let folders = std::mem::take(&mut self.live().folders);
        for f in folders {
            // A job thread may still be adding files (until it notices): try again then.
            for _ in 0..5 {
                if std::fs::remove_dir_all(&f).is_ok() || !f.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn pids(&self) -> BTreeSet<u32> {
        self.live().pids.clone()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

/// The run's registry.
static REGISTRY: Registry = Registry::new();
/// Set (once) when a signal asked the run to stop, before anything is killed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Spawns `cmd` (a group leader: `process_group(0)`) in the run's registry; refused once the
/// run is interrupted. Every process docmatrix starts goes through here (or
/// [`crate::sys::process::run`], which calls it); call [`forget`] once it is reaped.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    REGISTRY.spawn(cmd)
}

/// Forgets a process [`spawn`] started, once it has been waited for.
pub fn forget(pid: u32) {
    REGISTRY.forget(pid)
}

/// Whether the run was interrupted (by [`stop_all`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// An interrupted run never returns: its caller would report results of killed jobs. Blocks
/// the calling thread for good once [`stop_all`] has begun (the thread that called it ends
/// the process); returns at once otherwise.
pub fn hold_if_interrupted() {
    while interrupted() {
        std::thread::park_timeout(Duration::from_secs(60));
    }
}

/// Ends the run's work at a signal: refuses new processes and folders, kills every registered
/// process group, removes every registered container, kills every descendant of docmatrix
/// (the children of its warm workers, daemons reparented to it, a build in flight), then
/// removes every registered folder.
pub fn stop_all() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    REGISTRY.interrupt();
    // Containers first, while their engine's monitors (conmon, which docmatrix's subreaping
    // made its descendants) still run: a container whose monitor was killed stays "stopping".
    REGISTRY.remove_containers();
    kill_descendants(std::process::id(), Duration::from_secs(3));
    REGISTRY.remove_folders();
}

/// Registers a container about to be started, to remove at an interrupt (see
/// [`super::container`]); refused once the run is interrupted.
pub(crate) fn add_container(engine: &Path, name: &str) -> io::Result<()> {
    REGISTRY.add_container(engine, name)
}

/// Forgets a container once it is gone. After an interrupt it stays registered: the engine
/// command that would have removed it was refused (no spawn after an interrupt), and
/// [`stop_all`] removes it.
pub(crate) fn forget_container(engine: &Path, name: &str) {
    if !interrupted() {
        REGISTRY.remove_container(engine, name);
    }
}

/// The engines (their programs) that started a container in this run.
pub(crate) fn engines_used() -> Vec<PathBuf> {
    REGISTRY.live().engines.iter().cloned().collect()
}

/// This process's owner tag (`o<pid>.<start>.<pidns>`), which its job folders and containers
/// are named with; `None` without `/proc`.
pub fn owner_tag() -> Option<String> {
    me().map(|m| m.tag())
}

/// Whether the docmatrix run that named `name` (a job folder's or container's name) is gone:
/// named by one, in our PID namespace, not us, and no longer running.
pub(crate) fn owner_is_gone(name: &str) -> bool {
    let (Some(me), Some(owner)) = (me(), Owner::of_folder(name)) else {
        return false;
    };
    owner.pidns == me.pidns && owner != me && !owner.alive()
}

/// Makes docmatrix a child subreaper (PR_SET_CHILD_SUBREAPER): an orphan among its
/// descendants (a daemonised grandchild) becomes its child instead of init's, for
/// [`reap_orphans`] and [`stop_all`] to find. `false` where the kernel refuses.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    // SAFETY: plain prctl on this process.
    return unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 };
    // Other systems have no subreapers: orphans go to init, as they would without docmatrix.
    #[cfg(not(target_os = "linux"))]
    false
}

/// At the end of a run, once every job is done and every process docmatrix spawned has been
/// reaped: kills each child of docmatrix that it did not spawn (an orphan reparented to it,
/// see [`become_subreaper`]) with all its descendants, and reaps it, until none is left.
/// Only the pids found so are waited for, never `waitpid(-1)`. Returns how many were reaped.
pub fn reap_orphans() -> usize {
    reap_orphans_of(&REGISTRY, Duration::from_secs(5))
}

fn reap_orphans_of(registry: &Registry, patience: Duration) -> usize {
    let me = std::process::id();
    let deadline = Instant::now() + patience;
    let mut reaped = 0;
    loop {
        let procs = scan_proc();
        let orphans = orphans(&procs, me, &registry.pids());
        if orphans.is_empty() {
            return reaped;
        }
        for &o in &orphans {
            for d in descendants(&procs, o) {
                kill(d as i32);
            }
            kill(o as i32);
        }
        for &o in &orphans {
            let mut status = 0;
            // SAFETY: waits for one pid that is our child and that no other code waits for.
            let r = unsafe { libc::waitpid(o as libc::pid_t, &mut status, libc::WNOHANG) };
            if r == o as libc::pid_t {
                reaped += 1;
            }
        }
        if Instant::now() >= deadline {
            return reaped;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The children of `me` that it did not spawn (`ours`): orphans reparented to it.
fn orphans(procs: &BTreeMap<u32, Stat>, me: u32, ours: &BTreeSet<u32>) -> Vec<u32> {
    procs
        .iter()
        .filter(|(pid, p)| p.ppid == me && !ours.contains(pid))
        .map(|(pid, _)| *pid)
        .collect()
}

/// SIGKILLs every living descendant of `root` until none is left (or `patience` runs out).
pub(crate) fn kill_descendants(root: u32, patience: Duration) {
    let deadline = Instant::now() + patience;
    loop {
        let procs = scan_proc();
        let alive: Vec<u32> = descendants(&procs, root)
            .into_iter()
            .filter(|p| procs.get(p).is_some_and(|s| !s.dead()))
            .collect();
        if alive.is_empty() || Instant::now() >= deadline {
            return;
        }
        for p in alive {
            kill(p as i32);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill(pid: i32) {
    // SAFETY: plain syscall; ESRCH (already gone) is fine.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// What `/proc/PID/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub state: char,
    pub ppid: u32,
    /// Its start time, in clock ticks after boot (field 22).
    pub start: u64,
}

impl Stat {
    /// A zombie (or a dying process): it does nothing any more.
    fn dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Reads one `/proc/PID/stat` line. The command name (field 2) may hold spaces and
/// parentheses: fields are counted after its last `)`.
fn parse_stat(line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some(Stat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process on the machine (in docmatrix's PID namespace).
fn scan_proc() -> BTreeMap<u32, Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read_stat(pid)?)))
        .collect()
}

/// The descendants of `root` (not `root` itself), parents before children.
fn descendants(procs: &BTreeMap<u32, Stat>, root: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (&pid, s) in procs {
        children.entry(s.ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            if c != root && !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// Who made a job folder: a process, told apart from a later one with the same pid by its
/// start time, in a PID namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    pid: u32,
    start: u64,
    pidns: u64,
}

impl Owner {
    fn tag(&self) -> String {
        format!("o{}.{}.{}", self.pid, self.start, self.pidns)
    }

    /// The owner named in a job folder's name, if it is one of docmatrix's.
    fn of_folder(name: &str) -> Option<Owner> {
        let rest = name.strip_prefix("docmatrix-")?;
        rest.split('-').find_map(|t| {
            let mut n = t.strip_prefix('o')?.split('.');
            let owner = Owner {
                pid: n.next()?.parse().ok()?,
                start: n.next()?.parse().ok()?,
                pidns: n.next()?.parse().ok()?,
            };
            n.next().is_none().then_some(owner)
        })
    }

    /// Whether the owner still runs: its pid is alive, not a zombie, and started when the
    /// owner did. Only meaningful for an owner in our PID namespace.
    fn alive(&self) -> bool {
        read_stat(self.pid).is_some_and(|s| s.start == self.start && !s.dead())
    }
}

/// This process as the owner of its job folders; `None` without `/proc`.
fn me() -> Option<Owner> {
    static ME: OnceLock<Option<Owner>> = OnceLock::new();
    *ME.get_or_init(|| {
        let pid = std::process::id();
        let start = read_stat(pid)?.start;
        let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
        // `pid:[4026531836]`
        let pidns = ns
            .to_str()?
            .strip_prefix("pid:[")?
            .strip_suffix(']')?
            .parse()
            .ok()?;
        Some(Owner { pid, start, pidns })
    })
}

/// A job folder: removed (with all it holds) when dropped, or by [`stop_all`] at an
/// interrupt. Its name tells its owner, for [`sweep_stale_folders`].
#[derive(Debug)]
pub(crate) struct JobDir {
    dir: Option<tempfile::TempDir>,
}

impl JobDir {
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        if let Some(d) = self.dir.take() {
            let path = d.path().to_path_buf();
            drop(d);
            REGISTRY.remove_folder(&path);
        }
    }
}

/// Makes a job folder `docmatrix-KIND-o<owner>-XXXXXX` (`docmatrix-o<owner>-XXXXXX` for an
/// empty `kind`) in `root` (the system's temporary folder when `None`) and registers it.
/// Refused once the run is interrupted.
pub(crate) fn job_dir(kind: &str, root: Option<&Path>) -> io::Result<JobDir> {
    let mut prefix = String::from("docmatrix-");
    if !kind.is_empty() {
        prefix.push_str(kind);
        prefix.push('-');
    }
    if let Some(me) = me() {
        prefix.push_str(&me.tag());
        prefix.push('-');
    }
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix);
    // Refused after an interrupt; made and registered under the gate.
    let dir = REGISTRY.make_folder(|| match root {
        Some(r) => b.tempdir_in(r),
        None => b.tempdir(),
    })?;
    Ok(JobDir { dir: Some(dir) })
}

/// The folders job folders are made in: the job root ([`crate::sys::job_root`]), `/dev/shm`
/// (the job root of an earlier run that found room there) and the system's temporary folder.
pub(crate) fn job_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = super::job_root().into_iter().collect();
    for r in [PathBuf::from("/dev/shm"), std::env::temp_dir()] {
        if !roots.contains(&r) && r.is_dir() {
            roots.push(r);
        }
    }
    roots
}

/// Removes the job folders, in [`job_roots`], of docmatrix runs that are gone (killed by
/// SIGKILL, or by a power cut for `$TMPDIR`); never a live run's, nor one of another PID
/// namespace (whose processes cannot be seen from here). Returns how many were removed.
pub fn sweep_stale_folders() -> usize {
    let Some(me) = me() else { return 0 };
    job_roots().iter().map(|r| sweep_stale_in(r, me)).sum()
}

fn sweep_stale_in(root: &Path, me: Owner) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(owner) = name.to_str().and_then(Owner::of_folder) else {
            continue;
        };
        if owner.pidns != me.pidns || owner == me || owner.alive() {
            continue;
        }
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The signals that end a run: Ctrl-C, a CI cancel, a closed terminal.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The signals [`on_signal`] blocked that were not blocked already when it was called: every
/// process [`spawn`] starts gets them unblocked (see [`unblock_in_child`]).
static BLOCKED_BY_US: OnceLock<libc::sigset_t> = OnceLock::new();

/// Blocks `signals` in the calling thread; returns those of them that were not blocked yet.
fn block(signals: &[libc::c_int]) -> io::Result<libc::sigset_t> {
    // SAFETY: sigset manipulation on local sets; pthread_sigmask on the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        let mut ours: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigemptyset(&mut ours);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut before);
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        for &s in signals {
            if libc::sigismember(&before, s) == 0 {
                libc::sigaddset(&mut ours, s);
            }
        }
        Ok(ours)
    }
}

/// Unblocks `ours` in `cmd`'s process, between fork and exec. A child inherits the signal mask
/// of the thread that forks it (std has not cleared it since Rust 1.66), and a program started
/// with SIGTERM blocked cannot be terminated: a job's `multiprocessing.Pool` then waited for
/// good, now and then, for the workers its `terminate()` had sent SIGTERM. Unblocking only
/// what docmatrix blocked leaves the program the mask docmatrix was started with (`nohup`'s
/// SIGHUP, say), as it would have run without docmatrix.
fn unblock_in_child(cmd: &mut Command, ours: libc::sigset_t) {
    use std::os::unix::process::CommandExt;
    // SAFETY: pthread_sigmask is async-signal-safe, and `ours` is a copy the closure owns.
    unsafe {
        cmd.pre_exec(move || {
            let r = libc::pthread_sigmask(libc::SIG_UNBLOCK, &ours, std::ptr::null_mut());
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            Ok(())
        });
    }
}

/// When SIGINT, SIGTERM or SIGHUP arrives, calls `f` with the signal's number on a thread of
/// its own, then ends the process with status 128 + that number, also if `f` panicked (say,
/// writing to a closed stderr): the run's other threads are held by [`hold_if_interrupted`]
/// and would wait for good. Must be called before any other thread starts: it blocks those
/// signals in the calling thread, which every later thread inherits, and waits for them with
/// `sigwait`. A child would inherit the mask too: [`spawn`] unblocks them in every process it
/// starts.
pub fn on_signal(f: impl FnOnce(i32) + Send + 'static) -> io::Result<()> {
    let ours = block(&SIGNALS)?;
    let _ = BLOCKED_BY_US.set(ours);
    // SAFETY: sigset manipulation on a local set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    };
    std::thread::Builder::new()
        .name("docmatrix-signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is a valid signal set blocked in every thread; sigwait writes `sig`.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(sig)));
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn stat(state: char, ppid: u32) -> Stat {
        Stat {
            state,
            ppid,
            start: 0,
        }
    }

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        let line = "4242 (a) (b c) S 77 4242 4242 0 -1 4194560 1 0 0 0 2 3 0 0 20 0 1 0 987654 1 2";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: 'S',
                ppid: 77,
                start: 987654
            })
        );
        assert_eq!(parse_stat("4242 (x) Z 1"), None);
        let me = read_stat(std::process::id()).expect("our own stat");
        // SAFETY: getppid has no preconditions.
        assert_eq!(me.ppid as libc::pid_t, unsafe { libc::getppid() });
    }

    #[test]
    fn descendants_follow_parents_through_the_tree() {
        // 1 ─ 10 ─ 11 ─ 12, 10 ─ 13; 20 elsewhere.
        let procs: BTreeMap<u32, Stat> = [
            (10, stat('S', 1)),
            (11, stat('S', 10)),
            (12, stat('Z', 11)),
            (13, stat('S', 10)),
            (20, stat('S', 1)),
        ]
        .into_iter()
        .collect();
        let mut d = descendants(&procs, 10);
        d.sort();
        assert_eq!(d, [11, 12, 13]);
        assert!(descendants(&procs, 12).is_empty());
    }

    #[test]
    fn orphans_are_the_children_not_spawned() {
        let procs: BTreeMap<u32, Stat> = [
            (10, stat('S', 1)),  // spawned by us
            (11, stat('S', 1)),  // reparented to us
            (12, stat('Z', 1)),  // reparented to us, ended
            (13, stat('S', 11)), // an orphan's child: killed with it, reaped later
            (20, stat('S', 2)),
        ]
        .into_iter()
        .collect();
        let ours: BTreeSet<u32> = [10].into_iter().collect();
        assert_eq!(orphans(&procs, 1, &ours), [11, 12]);
        assert_eq!(descendants(&procs, 11), [13]);
    }

    #[test]
    fn folder_names_tell_their_owner() {
        let o = Owner {
            pid: 4242,
            start: 123456,
            pidns: 4026531836,
        };
        for name in [
            format!("docmatrix-{}-AbC1x9", o.tag()),
            format!("docmatrix-warm-{}-o1x2y3", o.tag()),
        ] {
            assert_eq!(Owner::of_folder(&name), Some(o), "{name}");
        }
        for name in [
            "docmatrix-AbC1x9",
            "docmatrix-warm-o12345",
            "docmatrix-o1.2-xyz",
            "docmatrix-o1.2.3.4-xyz",
            "other-o1.2.3-xyz",
            "docmatrix-build.lock",
        ] {
            assert_eq!(Owner::of_folder(name), None, "{name}");
        }
    }

    /// A process that has ended: its pid and start time, as an owner that is gone.
    fn dead_owner(pidns: u64) -> Owner {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        let start = read_stat(pid).map_or(1, |s| s.start);
        c.wait().unwrap();
        Owner { pid, start, pidns }
    }

    #[test]
    fn stale_folders_of_gone_runs_are_removed_and_live_ones_kept() {
        let me = me().expect("/proc is mounted");
        let root = tempfile::tempdir().unwrap();
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let live = Owner {
            pid: sleeper.id(),
            start: read_stat(sleeper.id()).unwrap().start,
            pidns: me.pidns,
        };
        let dead = dead_owner(me.pidns);
        // The live pid with another start time: the pid was reused, its owner is gone.
        let reused = Owner {
            start: live.start + 1,
            ..live
        };
        let elsewhere = Owner {
            pidns: me.pidns + 1,
            ..dead
        };
        let mk = |name: String| {
            let p = root.path().join(name);
            std::fs::create_dir_all(p.join("work")).unwrap();
            std::fs::write(p.join("work/f"), "x").unwrap();
            p
        };
        let kept = [
            mk(format!("docmatrix-{}-aaaaaa", me.tag())),
            mk(format!("docmatrix-warm-{}-bbbbbb", live.tag())),
            mk(format!("docmatrix-{}-cccccc", elsewhere.tag())),
            mk("docmatrix-dddddd".into()),
        ];
        let gone = [
            mk(format!("docmatrix-{}-eeeeee", dead.tag())),
            mk(format!("docmatrix-sh-{}-ffffff", reused.tag())),
        ];
        assert_eq!(sweep_stale_in(root.path(), me), 2);
        for k in &kept {
            assert!(k.exists(), "{} was removed", k.display());
        }
        for g in &gone {
            assert!(!g.exists(), "{} was kept", g.display());
        }
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        assert!(!live.alive(), "a reaped owner is gone");
    }

    #[test]
    fn job_folders_are_named_after_their_owner_and_registered() {
        let root = tempfile::tempdir().unwrap();
        let d = job_dir("warm", Some(root.path())).unwrap();
        let name = d.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("docmatrix-warm-o"), "{name}");
        assert_eq!(Owner::of_folder(&name), me());
        assert!(REGISTRY.live().folders.contains(d.path()));
        let path = d.path().to_path_buf();
        drop(d);
        assert!(!path.exists());
        assert!(!REGISTRY.live().folders.contains(&path));
    }

    #[test]
    fn an_interrupt_kills_registered_groups_removes_folders_and_refuses_more() {
        let reg = Registry::new();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30"]).process_group(0);
        let mut child = reg.spawn(&mut cmd).unwrap();
        let pid = child.id();
        assert!(reg.pids().contains(&pid));
        let outer = tempfile::tempdir().unwrap();
        let folder = outer.path().join("job");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("f"), "x").unwrap();
        reg.add_folder(&folder).unwrap();
        // Let the background sleep start, then find it in the group.
        std::thread::sleep(Duration::from_millis(200));
        let in_group = |pgid: u32| {
            scan_proc().keys().copied().any(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .ok()
                    .and_then(|l| {
                        let rest = &l[l.rfind(')')? + 1..];
                        rest.split_ascii_whitespace().nth(2)?.parse::<u32>().ok()
                    })
                    .is_some_and(|g| g == pgid)
                    && read_stat(p).is_some_and(|s| !s.dead())
            })
        };
        assert!(in_group(pid));

        assert!(reg.interrupt());
        assert!(!reg.interrupt(), "only once");
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        reg.forget(pid);
        let deadline = Instant::now() + Duration::from_secs(5);
        while in_group(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!in_group(pid), "the group's background sleep was killed");
        reg.remove_folders();
        assert!(!folder.exists());
        assert!(reg.is_interrupted());
        let again = reg.spawn(Command::new("true").process_group(0));
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::Interrupted);
        assert!(reg.add_folder(Path::new("/nonexistent")).is_err());
        assert!(reg.pids().is_empty());
    }

    /// The signals `grep` (not a shell: dash clears the mask) starts with blocked.
    fn blocked_in(cmd: &mut Command) -> u64 {
        let out = cmd.args(["SigBlk", "/proc/self/status"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        u64::from_str_radix(text.trim().rsplit('\t').next().unwrap(), 16).unwrap()
    }

    /// A child inherits the blocked signals of the thread that spawns it (std leaves the mask
    /// alone): the signals `on_signal` blocks are unblocked again in it, those that were
    /// blocked before are left so.
    #[test]
    fn children_start_without_the_signals_docmatrix_blocked() {
        std::thread::spawn(|| {
            let bit = |s: libc::c_int| 1u64 << (s - 1);
            let before = block(&[libc::SIGUSR2]).unwrap();
            // SAFETY: reads a local set.
            assert_eq!(unsafe { libc::sigismember(&before, libc::SIGUSR2) }, 1);
            let ours = block(&[libc::SIGUSR2, libc::SIGWINCH]).unwrap();
            // SAFETY: reads a local set.
            unsafe {
                assert_eq!(
                    libc::sigismember(&ours, libc::SIGUSR2),
                    0,
                    "already blocked"
                );
                assert_eq!(libc::sigismember(&ours, libc::SIGWINCH), 1);
            }
            let both = bit(libc::SIGUSR2) | bit(libc::SIGWINCH);
            assert_eq!(blocked_in(&mut Command::new("grep")) & both, both);
            let mut cmd = Command::new("grep");
            unblock_in_child(&mut cmd, ours);
            assert_eq!(blocked_in(&mut cmd) & both, bit(libc::SIGUSR2));
        })
        .join()
        .unwrap();
    }
}
