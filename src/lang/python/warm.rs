//! Warm interpreters: long-lived workers per interpreter that fork a child per job, so an
//! interpreter's start-up is paid once per worker, not once per example.
//!
//! The worker is the driver's `serve` mode (`src/lang/python/driver.py`), each in a sandbox of its
//! own, running one job at a time in its own job folder. For each job docmatrix writes the
//! blocks and three FIFOs — `out`, `err` and `status` — into that folder, opens their read
//! ends, and writes one request line to the worker; the child puts its stdout and stderr on
//! the first two, and the worker writes the child's wait status to the third when it ends and
//! the worker has killed what the job left running and emptied the scratch folders (or, when
//! it could not, says `retire` there and ends: it is replaced before the next job). The
//! child behaves as `python block.py` in a fresh folder would (see docs/architecture.md for
//! the one documented difference: preloaded standard-library modules). Where a worker cannot
//! start, or dies, its jobs fall back to [`ProcessExecutor`].

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::process::{read_result, ProcessExecutor};
use crate::lang::python;
use crate::model::Job;
use crate::model::{JobResult, Preimport};
use crate::run::Executor;
use crate::sys::container::{self, Engine, Target};
use crate::sys::interrupt;
use crate::sys::process::{self, Ender, Exit, Limits};
use crate::sys::sandbox::{Sandbox, View};

/// How long a worker may take to import its preloads and say `ready`.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The same for a worker that replays the examples' import statements: it imports the
/// libraries the docs document, twice (in a probe child, then for itself).
const REPLAY_START_TIMEOUT: Duration = Duration::from_secs(180);

struct Worker {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    pidfd: Option<OwnedFd>,
    alive: AtomicBool,
    /// The worker's job folder: every job it runs is laid out here, one at a time.
    dir: PathBuf,
    /// The container it runs in (its engine and name), for a container interpreter.
    container: Option<(Engine, String)>,
}

impl Worker {
    fn send(&self, line: &str) -> io::Result<()> {
        let mut guard = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(s) => s.write_all(line.as_bytes()).and_then(|_| s.flush()),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "worker closed")),
        }
    }

    fn is_alive(&self) -> bool {
        if !self.alive.load(Ordering::Relaxed) {
            return false;
        }
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let gone = !matches!(child.try_wait(), Ok(None));
        if gone {
            self.alive.store(false, Ordering::Relaxed);
        }
        !gone
    }

    /// Closes the worker's input: it kills its child and exits (its container, if any,
    /// ends and is removed).
    fn close(&self) {
        drop(self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take());
    }

    /// Ends the worker: end of input (it kills its child and exits), then its group killed.
    fn retire(self) {
        retire_all(vec![self]);
    }
}

/// Ends workers side by side: each told to end (end of input), given a moment to, their
/// containers removed (one engine command for all: an engine's client can leave an exited
/// container behind, whose removal its runtime left to a process that ends with docmatrix),
/// then each killed and reaped.
fn retire_all(workers: Vec<Worker>) {
    retire_with(workers, Vec::new());
}

/// [`retire_all`], with processes of workers that never served (launched ahead): their
/// containers go in the same engine command.
fn retire_with(workers: Vec<Worker>, unused: Vec<(Child, Option<(Engine, String)>)>) {
    for w in &workers {
        w.close();
    }
    // A local worker is given a moment to end by itself; a container is removed at once,
    // which ends its processes.
    let deadline = Instant::now() + Duration::from_secs(1);
    for w in workers.iter().filter(|w| w.container.is_none()) {
        let mut child = w.child.lock().unwrap_or_else(|e| e.into_inner());
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let containers = workers.iter().filter_map(|w| w.container.as_ref());
    remove_containers(containers.chain(unused.iter().filter_map(|(_, c)| c.as_ref())));
    for w in workers {
        let mut child = w.child.lock().unwrap_or_else(|e| e.into_inner());
        end(&mut child, w.container.as_ref(), true);
    }
    for (mut child, container) in unused {
        end(&mut child, container.as_ref(), true);
    }
}

/// Removes containers, one engine command for all of an engine's.
fn remove_containers<'a>(containers: impl Iterator<Item = &'a (Engine, String)>) {
    let mut by_engine: BTreeMap<PathBuf, (Engine, Vec<String>)> = BTreeMap::new();
    for (engine, name) in containers {
        by_engine
            .entry(engine.program.clone())
            .or_insert_with(|| (engine.clone(), Vec::new()))
            .1
            .push(name.clone());
    }
    for (engine, names) in by_engine.values() {
        engine.remove(names);
    }
}

/// Ends a worker's process (for a container interpreter, its container first: killing the
/// engine's client leaves the container running), reaps it and forgets it.
fn end(child: &mut Child, container: Option<&(Engine, String)>, removed: bool) {
    if let (Some((engine, name)), false) = (container, removed) {
        engine.remove(std::slice::from_ref(name));
    }
    // The sandbox's processes first, while the tree still hangs together: killed through
    // bwrap alone, they die asynchronously (a new session, a PID namespace), after it.
    interrupt::kill_descendants(child.id(), Duration::from_secs(1));
    process::kill_group(child.id());
    let _ = child.wait();
    interrupt::forget(child.id());
    if let Some((engine, name)) = container {
        interrupt::forget_container(&engine.program, name);
    }
}

/// The container of the worker whose job folder is `dir` (`…/docmatrix-warm-o…-XXXXXX/w3`):
/// named after the run, the executor's folder and the worker.
fn worker_container_name(dir: &Path) -> String {
    let part = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let root = part(dir.parent());
    let suffix = root.rsplit('-').next().unwrap_or("");
    container::container_name(&format!("{suffix}-{}", part(Some(dir))))
}

/// Runs jobs in children forked from warm workers, one job at a time per worker: each worker
/// is sandboxed on its own (its `/tmp`, its job folder, its PID namespace), and between two
/// jobs it kills whatever the last one left running and empties its scratch folders, so that
/// no example sees another's files or processes. A worker is started when a job finds none of
/// its interpreter idle, so an interpreter has as many as it had jobs at once (at most the
/// number of jobs in flight). None starts before the first job that needs one (a run served
/// wholly from the cache starts none); that job's demand launches every interpreter's first
/// lean worker at once, so that they boot side by side. Workers come in two tiers: lean ones,
/// and rich ones that also preload the modules that make every fork slower (those that bring
/// in `threading` or `random`, such as `asyncio`), for the jobs that import them.
pub struct WarmExecutor {
    pools: BTreeMap<(PathBuf, Tier), Pool>,
    /// Whether the first lean workers have been launched, and the first rich ones.
    launched: AtomicBool,
    rich_launched: AtomicBool,
    /// The preloads of each tier.
    lean: Vec<String>,
    rich: Vec<String>,
    fallback: ProcessExecutor,
    /// Holds every worker's job folder.
    root: interrupt::JobDir,
    next: AtomicU64,
    next_worker: AtomicU64,
    /// How many workers a pool starts before a job waits a little for one to come free: the
    /// pool's share of the cores (each worker start costs about 0.1 s of CPU, a job a few ms).
    share: usize,
    /// Starts workers on a thread of its own: a worker dies with the thread that started it
    /// (PR_SET_PDEATHSIG), and this thread lives as long as the executor, unlike the
    /// scheduler's threads.
    launcher: Mutex<Option<mpsc::Sender<Launch>>>,
    launcher_thread: Option<std::thread::JoinHandle<()>>,
    /// By interpreter: what its first worker that replayed import statements made of them.
    preimports: Mutex<BTreeMap<PathBuf, Vec<Preimport>>>,
    /// The same, from its first hooked worker ([`Tier::Hooked`]).
    hooked: Mutex<BTreeMap<PathBuf, Vec<Preimport>>>,
    /// By interpreter: the modules its rich workers learned from their children, each with
    /// why it was refused (`None`: imported), as their `learned/log.txt` says.
    learned: Mutex<BTreeMap<PathBuf, BTreeMap<String, Option<String>>>>,
}

/// The workers of one interpreter and tier.
#[derive(Default)]
struct Pool {
    /// Started workers waiting for a job, and how many workers the pool has (idle, busy or
    /// starting).
    state: Mutex<PoolState>,
    /// Signalled when a worker is given back or ended.
    freed: Condvar,
    /// A worker launched ahead of its first job, not yet awaited: its folder and the
    /// launcher's answer.
    ahead: Mutex<Option<Launched>>,
    /// A worker of this pool did not start: its jobs go to the fallback.
    broken: AtomicBool,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Worker>,
    size: usize,
    /// The busy workers (by job folder) and when each took its current job.
    busy: Vec<(PathBuf, Instant)>,
}

impl PoolState {
    /// How long until every busy worker has been on its job for [`WAIT_FOR_IDLE`]: zero when
    /// they all have (they run slow jobs, and another worker is worth its start).
    fn until_all_slow(&self) -> Duration {
        let youngest = self.busy.iter().map(|(_, t)| t.elapsed()).min();
        match youngest {
            Some(age) => WAIT_FOR_IDLE.saturating_sub(age),
            None => WAIT_FOR_IDLE, // the workers are starting
        }
    }

    fn take(&mut self, w: Worker) -> Worker {
        self.busy.push((w.dir.clone(), Instant::now()));
        w
    }
}

/// Beyond the pool's share of the cores, a job starts another worker only once every busy
/// worker of its pool has been on its job this long (they run slow jobs: sleeping, waiting
/// for their timeout); until then it waits for one to come free, which for the usual job of a
/// few milliseconds is soon.
const WAIT_FOR_IDLE: Duration = Duration::from_millis(250);

type Launched = (PathBuf, mpsc::Receiver<io::Result<Child>>);

/// A request to the launcher thread: spawn a worker for this interpreter, answer on `reply`.
struct Launch {
    interpreter: PathBuf,
    preload: Vec<String>,
    /// How the worker replays the import statements of `preload`.
    replay: Replay,
    dir: PathBuf,
    reply: mpsc::Sender<io::Result<Child>>,
}

/// How a rich worker replays the examples' import statements (the first line of its
/// statements file; see `_replay` in the driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Checked as each runs in the worker, which starts again when one is not clean.
    Optimistic,
    /// Each tried in a probe child first: after an optimistic worker died checking.
    Careful,
    /// Found clean by an earlier worker of this interpreter: run without checks.
    Checked,
}

/// Which of an interpreter's workers runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Lean,
    Rich,
    /// Rich, and also the statements the rich workers refused only because they set a hook
    /// (the exceptiongroup backport's `sys.excepthook` on 3.9 and 3.10, which anyio, Starlette
    /// and FastAPI import): for the jobs whose first block's head runs such a statement, and
    /// whose statements are all pre-imported here, so that a fresh interpreter would have set
    /// the same hook before any of their code ran ([`WarmExecutor::tier_of`]).
    Hooked,
}

/// The hook most of the statements a rich worker refused for setting one set
/// ([`python::is_hook_change`]): the change its interpreter's hooked workers accept.
fn hook_change(found: &[Preimport]) -> Option<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for p in found.iter().filter(|p| !p.learned) {
        if let Some(why) = p.refused.as_deref().filter(|w| python::is_hook_change(w)) {
            *count.entry(why).or_default() += 1;
        }
    }
    let most = count.values().copied().max()?;
    count
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(why, _)| why.to_string())
}

/// Spawns one worker for `interpreter` with `dir` as its job folder (on the launcher thread,
/// which it dies with); the caller then waits for it with [`await_ready`], so that workers
/// start side by side.
fn spawn_worker(
    interpreter: &Path,
    preload: &[String],
    replay: Replay,
    sandbox: &Sandbox,
    containers: &BTreeMap<PathBuf, Target>,
    dir: &Path,
    limits: &Limits,
) -> io::Result<Child> {
    let target = containers.get(interpreter);
    // In bwrap's PID namespace, or a container's (with an init as pid 1), the worker is pid 2.
    let isolated = target.is_some() || matches!(sandbox, Sandbox::Bwrap { .. });
    let (statements, names): (Vec<String>, Vec<String>) = preload
        .iter()
        .cloned()
        .partition(|p| python::is_statement(p));
    // The import statements to replay go in a file of the worker's folder.
    let file = dir.join(python::STATEMENTS_FILE);
    if !statements.is_empty() {
        let head = match replay {
            Replay::Optimistic => "",
            Replay::Careful => "# careful\n",
            Replay::Checked => "# checked\n",
        };
        std::fs::write(&file, format!("{head}{}\n", statements.join("\n")))?;
    }
    let args = python::serve_args(&names, isolated, (!statements.is_empty()).then_some(&*file));
    let (work, tmp) = (dir.join("work"), dir.join("tmp"));
    let view = View {
        job_dir: dir.to_path_buf(),
        scratch: vec![work.clone(), tmp.clone()],
        ..View::default()
    };
    let mut memory = limits.memory;
    let mut cmd = match target {
        Some(t) => {
            let name = worker_container_name(dir);
            interrupt::add_container(&t.engine.program, &name)?;
            let budget = container::Budget {
                memory: memory.take(),
                interactive: true,
            };
            let env = crate::sys::container_env(&work, &tmp);
            t.command_of(&t.python, &name, &args, &work, &view, &env, &budget)?
        }
        None => {
            let mut cmd = sandbox.command(interpreter, &args, &work, &view)?;
            crate::sys::set_env(&mut cmd, &work, &tmp);
            cmd
        }
    };
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    // SAFETY: the closure only calls async-signal-safe functions.
    unsafe {
        cmd.pre_exec(move || process::set_limits(memory));
    }
    interrupt::spawn(&mut cmd)
}

/// Waits for a spawned worker to say `ready`: the worker, or why it did not start.
fn await_ready(
    mut child: Child,
    interpreter: &Path,
    dir: PathBuf,
    container: Option<(Engine, String)>,
) -> io::Result<Worker> {
    let stdout = child.stdout.take();
    let timeout = if dir.join(python::STATEMENTS_FILE).is_file() {
        REPLAY_START_TIMEOUT
    } else {
        START_TIMEOUT
    };
    let ready = stdout.map(|s| read_ready(File::from(OwnedFd::from(s)), timeout));
    if !matches!(ready, Some(Ok(true))) {
        end(&mut child, container.as_ref(), false);
        return Err(io::Error::other(format!(
            "the worker for {} did not start",
            interpreter.display()
        )));
    }
    let pidfd = process::pidfd_open(child.id());
    let stdin = child.stdin.take();
    Ok(Worker {
        child: Mutex::new(child),
        stdin: Mutex::new(stdin),
        pidfd,
        alive: AtomicBool::new(true),
        dir,
        container,
    })
}

/// Waits for the worker's `ready` line.
fn read_ready(mut out: File, timeout: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.contains(&b'\n') {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut fds = [libc::pollfd {
            fd: out.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        process::poll_fds(&mut fds, left)?;
        if fds[0].revents == 0 {
            continue;
        }
        match out.read(&mut buf)? {
            0 => return Ok(false),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok(got.starts_with(b"ready "))
}

fn mkfifo(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: a valid C string; mkfifo does not keep it.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Opens a FIFO's read end without waiting for a writer.
fn open_reader(path: &Path) -> io::Result<File> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: a valid C string; the descriptor returned is ours alone.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn wait_status_to_exit(status: i32) -> Exit {
    if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(-1)
    }
}

/// The end of a worker's child: its wait status arrives on the job's `status` FIFO.
struct WarmEnder<'a> {
    status: File,
    worker: &'a Worker,
    id: u64,
    got: Vec<u8>,
    /// The worker itself died while the job ran.
    lost: bool,
    /// The child's CPU time, from the worker's `wait4` (the status line's second field).
    cpu: Option<Duration>,
    /// The worker could not kill or remove all the job left, and ends (the status line's
    /// third field, `retire`): it must get no other job.
    retiring: bool,
}

impl WarmEnder<'_> {
    fn read_status(&mut self) -> Option<Exit> {
        let mut buf = [0u8; 64];
        loop {
            match self.status.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        let text = std::str::from_utf8(&self.got).ok()?;
        let line = text.strip_suffix('\n')?;
        let mut fields = line.split_whitespace();
        let exit = fields
            .next()?
            .parse::<i32>()
            .ok()
            .map(wait_status_to_exit)?;
        self.cpu = fields
            .next()
            .and_then(|us| us.parse::<u64>().ok())
            .map(Duration::from_micros);
        self.retiring = fields.next() == Some("retire");
        Some(exit)
    }
}

impl Ender for WarmEnder<'_> {
    fn fds(&self) -> Vec<RawFd> {
        let mut v = vec![self.status.as_raw_fd()];
        v.extend(self.worker.pidfd.as_ref().map(|f| f.as_raw_fd()));
        v
    }

    fn try_end(&mut self) -> io::Result<Option<Exit>> {
        if let Some(e) = self.read_status() {
            return Ok(Some(e));
        }
        if !self.worker.is_alive() {
            self.lost = true;
            return Ok(Some(Exit::Code(-1)));
        }
        Ok(None)
    }

    fn kill(&mut self) -> io::Result<()> {
        if self.worker.send(&format!("kill\t{}\n", self.id)).is_err() {
            self.lost = true;
            return Ok(());
        }
        // The worker reaps the child and reports; give it a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if self.read_status().is_some() || !self.worker.is_alive() {
                return Ok(());
            }
            let mut fds: Vec<libc::pollfd> = self
                .fds()
                .into_iter()
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            process::poll_fds(&mut fds, Duration::from_millis(50))?;
        }
        Ok(())
    }

    fn reap_leftovers(&mut self) {
        // The worker kills the child's process group when it reaps the child.
    }

    fn request_dump(&mut self) {
        let _ = self.worker.send(&format!("dump\t{}\n", self.id));
    }

    fn cpu(&self) -> Option<Duration> {
        self.cpu
    }
}

impl WarmExecutor {
    /// An executor with (not yet started) workers for each interpreter, preloading
    /// `preload`. Jobs of an interpreter whose worker does not start are run by `fallback`.
    pub fn new(
        interpreters: &[PathBuf],
        preload: &[String],
        fallback: ProcessExecutor,
    ) -> io::Result<WarmExecutor> {
        let root = interrupt::job_dir("warm", fallback.temp_root.as_deref())?;
        let (tx, rx) = mpsc::channel::<Launch>();
        let launcher_thread = {
            let sandbox = fallback.sandbox.clone();
            let containers = fallback.containers.clone();
            let limits = fallback.limits.clone();
            std::thread::Builder::new()
                .name("docmatrix-launcher".into())
                .spawn(move || {
                    for l in rx {
                        let w = spawn_worker(
                            &l.interpreter,
                            &l.preload,
                            l.replay,
                            &sandbox,
                            &containers,
                            &l.dir,
                            &limits,
                        );
                        let _ = l.reply.send(w);
                    }
                })?
        };
        let (lean, rich) = python::preload_tiers(preload);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let share = cores.div_ceil(interpreters.len().max(1));
        let tiers = if lean == rich {
            vec![Tier::Lean]
        } else {
            vec![Tier::Lean, Tier::Rich, Tier::Hooked]
        };
        Ok(WarmExecutor {
            pools: interpreters
                .iter()
                .flat_map(|i| {
                    tiers
                        .iter()
                        .map(move |t| ((i.clone(), *t), Pool::default()))
                })
                .collect(),
            launched: AtomicBool::new(false),
            rich_launched: AtomicBool::new(false),
            lean,
            rich,
            fallback,
            root,
            next: AtomicU64::new(0),
            next_worker: AtomicU64::new(0),
            share,
            launcher: Mutex::new(Some(tx)),
            launcher_thread: Some(launcher_thread),
            preimports: Mutex::new(BTreeMap::new()),
            hooked: Mutex::new(BTreeMap::new()),
            learned: Mutex::new(BTreeMap::new()),
        })
    }

    /// Keeps what the worker in `dir` made of the import statements, if it replayed any and
    /// it is the first of `interpreter` and its tier to have.
    fn note_preimports(&self, interpreter: &Path, tier: Tier, dir: &Path) {
        let Ok(text) = std::fs::read_to_string(dir.join(python::PREIMPORTED_FILE)) else {
            return;
        };
        let of = match tier {
            Tier::Hooked => &self.hooked,
            _ => &self.preimports,
        };
        let mut seen = of.lock().unwrap_or_else(|e| e.into_inner());
        seen.entry(interpreter.to_path_buf()).or_insert_with(|| {
            text.lines()
                .filter_map(|l| {
                    let mut f = l.splitn(3, '\t');
                    let (kind, statement) = (f.next()?, f.next()?.to_string());
                    let refused = (kind != "ok").then(|| f.next().unwrap_or("").to_string());
                    Some(Preimport {
                        statement,
                        refused,
                        learned: false,
                        for_importers: false,
                    })
                })
                .collect()
        });
    }

    /// How many workers have been launched, every interpreter and tier together: a worker a
    /// job left unclean is replaced, and its replacement counts too. (Counting processes whose
    /// command line says `serve` counts every job's child and every probe child as well: they
    /// are forked from a worker and keep its command line.)
    pub fn started(&self) -> u64 {
        self.next_worker.load(Ordering::Relaxed)
    }

    /// How many workers were started and are still running (idle: between runs, all are).
    pub fn running(&self) -> usize {
        self.pools
            .values()
            .map(|p| {
                let state = p.state.lock().unwrap_or_else(|e| e.into_inner());
                state.idle.iter().filter(|w| w.is_alive()).count()
            })
            .sum()
    }

    /// Makes a job folder for a new worker and asks the launcher thread for the worker; the
    /// answer comes on the returned channel.
    fn launch(&self, interpreter: &Path, tier: Tier, careful: bool) -> Option<Launched> {
        let mut replay = if careful {
            Replay::Careful
        } else {
            Replay::Optimistic
        };
        let mut accept = None;
        let preload = match tier {
            Tier::Lean => self.lean.clone(),
            Tier::Hooked => {
                // What the first rich worker kept, and the statements it refused for the hook
                // this worker accepts (checked again as they run: the worker accepts that one
                // change, nothing else).
                let seen = self.preimports.lock().unwrap_or_else(|e| e.into_inner());
                let found = seen.get(interpreter)?;
                let hook = hook_change(found)?;
                let kept = found.iter().filter(|p| match &p.refused {
                    None => true,
                    Some(why) => *why == hook,
                });
                let names = self.rich.iter().filter(|p| !python::is_statement(p));
                let preload = names
                    .cloned()
                    .chain(kept.map(|p| p.statement.clone()))
                    .collect();
                accept = Some(hook);
                preload
            }
            Tier::Rich => {
                // After the first rich worker of this interpreter, the others replay what it
                // kept, without probing every statement again (a worker a job left unclean is
                // replaced: on docs whose examples start servers, that is often).
                let seen = self.preimports.lock().unwrap_or_else(|e| e.into_inner());
                match seen.get(interpreter) {
                    Some(found) => {
                        replay = Replay::Checked;
                        let kept = found.iter().filter(|p| p.refused.is_none());
                        let names = self.rich.iter().filter(|p| !python::is_statement(p));
                        names
                            .cloned()
                            .chain(kept.map(|p| p.statement.clone()))
                            .collect()
                    }
                    None => self.rich.clone(),
                }
            }
        };
        let n = self.next_worker.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.path().join(format!("w{n}"));
        for d in [&dir, &dir.join("work"), &dir.join("tmp")] {
            std::fs::create_dir(d).ok()?;
        }
        if let Some(hook) = accept {
            std::fs::write(dir.join(python::ACCEPT_FILE), hook).ok()?;
        }
        let (reply, answer) = mpsc::channel();
        let sent = self.launcher.lock().ok()?.as_ref()?.send(Launch {
            interpreter: interpreter.to_path_buf(),
            preload,
            replay,
            dir: dir.clone(),
            reply,
        });
        sent.ok().map(|_| (dir, answer))
    }

    /// The engine and container name of the worker in `dir`, for a container interpreter.
    fn container_of(&self, interpreter: &Path, dir: &Path) -> Option<(Engine, String)> {
        let t = self.fallback.containers.get(interpreter)?;
        Some((t.engine.clone(), worker_container_name(dir)))
    }

    /// An idle worker of `interpreter`'s `tier`, or a new one; `None` when it cannot start.
    fn acquire(&self, interpreter: &Path, tier: Tier) -> Option<Worker> {
        // The first job of a tier launches that tier's first worker of every interpreter at
        // once, so that they boot side by side: the jobs come file by file, each on every
        // version, and waiting for one interpreter's worker at a time left a core idle while
        // each booted (a rich worker imports the documented libraries, about a second).
        let first = match tier {
            Tier::Lean => Some(&self.launched),
            Tier::Rich => Some(&self.rich_launched),
            Tier::Hooked => None, // launched once a rich worker has said what it refused
        };
        if first.is_some_and(|f| !f.swap(true, Ordering::Relaxed)) {
            for ((i, t), pool) in &self.pools {
                if *t == tier {
                    if let Ok(mut ahead) = pool.ahead.lock() {
                        if ahead.is_none() {
                            *ahead = self.launch(i, *t, false);
                        }
                    }
                }
            }
        }
        let pool = self.pools.get(&(interpreter.to_path_buf(), tier))?;
        let mut state = pool.state.lock().ok()?;
        loop {
            if let Some(w) = state.idle.pop() {
                return Some(state.take(w));
            }
            if pool.broken.load(Ordering::Relaxed) {
                return None;
            }
            let wait = state.until_all_slow();
            if state.size < self.share || wait.is_zero() {
                break;
            }
            state = pool.freed.wait_timeout(state, wait).ok()?.0;
        }
        state.size += 1;
        drop(state);
        let ahead = pool.ahead.lock().ok()?.take();
        let start = |launched: Option<Launched>| {
            launched.and_then(|(dir, answer)| {
                let w = answer.recv().ok().and_then(Result::ok).and_then(|child| {
                    let container = self.container_of(interpreter, &dir);
                    await_ready(child, interpreter, dir.clone(), container).ok()
                });
                match &w {
                    None => {
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                    Some(w) => self.note_preimports(interpreter, tier, &w.dir),
                }
                w
            })
        };
        let mut worker = start(ahead.or_else(|| self.launch(interpreter, tier, false)));
        if worker.is_none() && tier == Tier::Rich {
            // It may have died checking an import statement in itself (a crash, a hang): a
            // careful one tries each in a probe child first.
            worker = start(self.launch(interpreter, tier, true));
        }
        let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        match worker {
            Some(w) => Some(state.take(w)),
            None => {
                pool.broken.store(true, Ordering::Relaxed);
                state.size -= 1;
                pool.freed.notify_all();
                None
            }
        }
    }

    /// Keeps what the worker in `dir` learned so far (its `learned/log.txt`, which it appends
    /// to between jobs; a module learned is kept, whatever another worker made of it).
    fn note_learned(&self, interpreter: &Path, dir: &Path) {
        let Ok(text) = std::fs::read_to_string(dir.join(python::LEARNED_LOG)) else {
            return;
        };
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        let of = learned.entry(interpreter.to_path_buf()).or_default();
        for line in text.lines() {
            let mut f = line.splitn(3, '\t');
            let (Some(kind), Some(module)) = (f.next(), f.next()) else {
                continue;
            };
            let why = (kind != "ok").then(|| f.next().unwrap_or("").to_string());
            let kept = of.entry(module.to_string()).or_insert(why.clone());
            if why.is_none() {
                *kept = None;
            }
        }
    }

    /// Gives a worker back to its pool after a job, or ends it if it died.
    fn release(&self, interpreter: &Path, tier: Tier, worker: Worker) {
        if tier != Tier::Lean {
            self.note_learned(interpreter, &worker.dir);
        }
        let pool = self.pools.get(&(interpreter.to_path_buf(), tier));
        let Some(pool) = pool else {
            worker.retire();
            return;
        };
        let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        state.busy.retain(|(d, _)| *d != worker.dir);
        if worker.is_alive() {
            state.idle.push(worker);
        } else {
            state.size -= 1;
            drop(state);
            let dir = worker.dir.clone();
            worker.retire();
            let _ = std::fs::remove_dir_all(dir);
        }
        pool.freed.notify_one();
    }

    /// [`Tier::Hooked`] for a job that wants pre-imports when every import statement at the
    /// head of its first block was kept by the interpreter's first rich worker or refused
    /// only for the hook it sets (at least one was), and nothing runs before that block (no
    /// setup): a fresh interpreter running the job would set that hook before any of its code,
    /// as the hooked worker did. Otherwise (or before a rich worker has said what it refused)
    /// [`Tier::Rich`].
    fn tier_of(&self, job: &Job) -> Tier {
        let Some(first) = job.members.first() else {
            return Tier::Rich;
        };
        if job.setup.is_some() || first.session {
            return Tier::Rich;
        }
        let seen = self.preimports.lock().unwrap_or_else(|e| e.into_inner());
        let Some(found) = seen.get(&*job.interpreter) else {
            return Tier::Rich;
        };
        let Some(hook) = hook_change(found) else {
            return Tier::Rich;
        };
        let mut hooked = false;
        for stmt in python::head_statements(&first.code) {
            match found.iter().find(|p| !p.learned && p.statement == stmt) {
                Some(Preimport { refused: None, .. }) => {}
                Some(Preimport {
                    refused: Some(why), ..
                }) if *why == hook => hooked = true,
                _ => return Tier::Rich,
            }
        }
        if hooked
            && self
                .pools
                .contains_key(&(job.interpreter.to_path_buf(), Tier::Hooked))
        {
            Tier::Hooked
        } else {
            Tier::Rich
        }
    }

    fn try_execute(&self, worker: &Worker, job: &Job) -> io::Result<Option<JobResult>> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = &worker.dir;
        let result = self.run_in(worker, job, id, dir);
        // The job's files go; the folder and its scratch folders (which the worker empties
        // after each job) stay for the next job.
        for entry in std::fs::read_dir(dir)?.flatten() {
            if entry.file_type().is_ok_and(|t| !t.is_dir()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        result
    }

    fn run_in(
        &self,
        worker: &Worker,
        job: &Job,
        id: u64,
        dir: &Path,
    ) -> io::Result<Option<JobResult>> {
        python::write_job(job, dir)?;
        for f in ["out", "err", "status"] {
            mkfifo(&dir.join(f))?;
        }
        let out = open_reader(&dir.join("out"))?;
        let err = open_reader(&dir.join("err"))?;
        let status = open_reader(&dir.join("status"))?;
        // A negative dump time: the child waits for the worker's SIGUSR1 to dump its stacks.
        let mut line = format!("run\t{id}\t{}\t-1", dir.display());
        for r in python::raises(job) {
            line.push('\t');
            line.push_str(&r);
        }
        line.push('\n');
        let start = Instant::now();
        if worker.send(&line).is_err() {
            worker.alive.store(false, Ordering::Relaxed);
            return Ok(None);
        }
        let limits = Limits {
            timeout: job.timeout,
            dump_file: Some(dir.join(python::STACK_FILE)),
            ..self.fallback.limits.clone()
        };
        let mut ender = WarmEnder {
            status,
            worker,
            id,
            got: Vec::new(),
            lost: false,
            cpu: None,
            retiring: false,
        };
        let record = process::supervise(Some(out), Some(err), &mut ender, &limits, start)?;
        if ender.lost {
            worker.alive.store(false, Ordering::Relaxed);
            return Ok(None);
        }
        if ender.retiring {
            // Ending, and maybe not yet gone: retired now, not given the next job.
            worker.alive.store(false, Ordering::Relaxed);
        }
        Ok(Some(read_result(job, dir, record)))
    }
}

impl Executor for WarmExecutor {
    fn execute(&self, job: &Job) -> JobResult {
        let rich_only: Vec<&String> = self
            .rich
            .iter()
            .filter(|m| !self.lean.contains(m))
            .collect();
        let codes = job.members.iter().map(|m| &*m.code);
        let needs_rich = match python::preimports(codes.clone()) {
            python::Preimports::Fresh => return self.fallback.execute(job),
            python::Preimports::Wanted => !rich_only.is_empty(),
            python::Preimports::Refused => false,
            python::Preimports::Indifferent => {
                !rich_only.is_empty()
                    && python::preload_for(codes)
                        .iter()
                        .any(|x| rich_only.contains(&x))
            }
        };
        let tier = if needs_rich {
            self.tier_of(job)
        } else {
            Tier::Lean
        };
        let acquired = self
            .acquire(&job.interpreter, tier)
            .map(|w| (w, tier))
            .or_else(|| {
                self.acquire(&job.interpreter, Tier::Lean)
                    .map(|w| (w, Tier::Lean))
            });
        if let Some((w, tier)) = acquired {
            let r = self.try_execute(&w, job);
            self.release(&job.interpreter, tier, w);
            if let Ok(Some(r)) = r {
                return r;
            }
        }
        self.fallback.execute(job)
    }

    fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
        self.fallback.sandbox_kind()
    }

    fn preimports(&self) -> BTreeMap<PathBuf, Vec<Preimport>> {
        let mut all = self
            .preimports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let hooked = self.hooked.lock().unwrap_or_else(|e| e.into_inner());
        for (interpreter, kept) in hooked.iter() {
            let Some(rich) = all.get_mut(interpreter) else {
                continue;
            };
            let ahead: Vec<Preimport> = kept
                .iter()
                .filter(|p| p.refused.is_none())
                .filter(|p| {
                    rich.iter()
                        .any(|r| r.statement == p.statement && r.refused.is_some())
                })
                .map(|p| Preimport {
                    for_importers: true,
                    ..p.clone()
                })
                .collect();
            rich.extend(ahead);
        }
        let learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        for (interpreter, modules) in learned.iter() {
            all.entry(interpreter.clone())
                .or_default()
                .extend(modules.iter().map(|(m, why)| Preimport {
                    statement: format!("import {m}"),
                    refused: why.clone(),
                    learned: true,
                    for_importers: false,
                }));
        }
        all
    }
}

impl Drop for WarmExecutor {
    fn drop(&mut self) {
        if let Ok(mut l) = self.launcher.lock() {
            l.take();
        }
        if let Some(t) = self.launcher_thread.take() {
            let _ = t.join();
        }
        // Every worker told to end first, so that they (and their containers) end side by
        // side, then each awaited.
        let mut idle = Vec::new();
        for pool in self.pools.values() {
            idle.append(&mut std::mem::take(
                &mut pool.state.lock().unwrap_or_else(|e| e.into_inner()).idle,
            ));
        }
        // Workers launched ahead and never needed: their containers removed with the others',
        // then reaped, not left as zombies.
        let mut ahead = Vec::new();
        for ((interpreter, _), pool) in &self.pools {
            let launched = pool.ahead.lock().ok().and_then(|mut a| a.take());
            if let Some((dir, answer)) = launched {
                if let Ok(Ok(child)) = answer.try_recv() {
                    ahead.push((child, self.container_of(interpreter, &dir)));
                }
            }
        }
        retire_with(idle, ahead);
    }
}
