//! Runs one command as a contained process: stdin closed, its own process group, a wall-clock
//! timeout that kills the whole group, memory and core-dump limits, and stdout/stderr captured
//! head-and-tail so that a flood cannot exhaust memory.
//!
//! One thread per running process, no helper threads: the pipes and a pidfd are multiplexed
//! with `poll(2)`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Limits for one process.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    /// Bytes kept of each stream: half from its start, half from its end.
    pub output_cap: usize,
    /// Address-space limit (RLIMIT_AS) in bytes; `None` for no limit.
    pub memory: Option<u64>,
    /// A file the process writes just before its timeout (a stack dump): at the timeout, the
    /// kill waits up to [`DUMP_GRACE`] for it to be non-empty, so a loaded machine that runs
    /// the process late still gets the dump.
    pub dump_file: Option<std::path::PathBuf>,
}

/// How long past its timeout a process may take to finish writing its dump file.
pub(crate) const DUMP_GRACE: Duration = Duration::from_millis(300);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            output_cap: 256 * 1024,
            memory: Some(4 << 30),
            dump_file: None,
        }
    }
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut,
}

/// One captured stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    cap: usize,
}

impl Captured {
    fn new(cap: usize) -> Self {
        Captured {
            cap,
            ..Default::default()
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let half = self.cap / 2;
        if self.head.len() < half {
            let n = (half - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        let keep = self.cap - half;
        if data.len() >= keep {
            self.tail.clear();
            self.tail.extend(&data[data.len() - keep..]);
        } else {
            let over = (self.tail.len() + data.len()).saturating_sub(keep);
            self.tail.drain(..over);
            self.tail.extend(data);
        }
    }

    /// Bytes written in all, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept text (lossy UTF-8), with a marker where bytes were dropped.
    pub fn text(&self) -> String {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let mut s = String::from_utf8_lossy(&self.head).into_owned();
        if self.total > kept {
            s.push_str(&format!("\n[… {} bytes omitted …]\n", self.total - kept));
        }
        let (a, b) = self.tail.as_slices();
        let mut tail = a.to_vec();
        tail.extend_from_slice(b);
        s.push_str(&String::from_utf8_lossy(&tail));
        s
    }
}

/// What one process did.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub exit: Exit,
    pub stdout: Captured,
    pub stderr: Captured,
    pub duration: Duration,
    /// CPU time the program used, when its [`Ender`] can tell.
    pub cpu: Option<Duration>,
}

/// In the child, between fork and exec: die with docmatrix, no core dumps, the memory limit.
pub(crate) fn set_limits(memory: Option<u64>) -> io::Result<()> {
    // SAFETY: async-signal-safe libc calls only, between fork and exec.
    unsafe {
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        if let Some(bytes) = memory {
            let lim = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
    }
    Ok(())
}

pub(crate) fn kill_group(pgid: u32) {
    // SAFETY: plain syscall; ESRCH (group already gone) is fine.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

/// A descriptor that becomes readable when `pid` exits (Linux 5.3+); `None` where the system
/// has none, and the caller polls instead.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: plain syscall; a negative result means unsupported or gone.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: on success the kernel handed us a new descriptor that we alone own.
    (fd >= 0).then(|| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as RawFd) })
}

/// Other systems have no process descriptors: the caller polls.
#[cfg(not(target_os = "linux"))]
pub(crate) fn pidfd_open(_pid: u32) -> Option<OwnedFd> {
    None
}

pub(crate) fn poll_fds(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(n as usize)
}

/// How long, once the process has ended, to keep reading pipes that something else (a
/// daemonised grandchild that left the group) still holds open.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// The end of a supervised program: how to learn that it ended, and how to stop it. A
/// process docmatrix spawned ([`ProcessEnder`]) and a child of a warm worker are both enders.
pub(crate) trait Ender {
    /// Descriptors that become readable when the program may have ended; with none, the
    /// supervisor looks every 10 ms.
    fn fds(&self) -> Vec<RawFd>;
    /// The program's end, if it has ended (never blocks).
    fn try_end(&mut self) -> io::Result<Option<Exit>>;
    /// Kills the program and everything in its process group, and waits until it is gone.
    fn kill(&mut self) -> io::Result<()>;
    /// Once the program has ended: kills what it left running in its group.
    fn reap_leftovers(&mut self);
    /// At the timeout, before the kill: asks the program to write its stack dump, for enders
    /// that can (the default relies on the program's own timer).
    fn request_dump(&mut self) {}
    /// Once the program has ended: the CPU time it used (user + system), if known.
    fn cpu(&self) -> Option<Duration> {
        None
    }
}

/// A process docmatrix spawned itself, in its own process group.
pub(crate) struct ProcessEnder {
    child: Child,
    pidfd: Option<OwnedFd>,
    /// The group's CPU time when it was killed (at a timeout).
    cpu: Option<Duration>,
}

impl Drop for ProcessEnder {
    fn drop(&mut self) {
        // Reaped by now (or left to the end-of-run sweep, which finds it unregistered).
        super::interrupt::forget(self.child.id());
    }
}

impl ProcessEnder {
    /// Supervises `child`, spawned through [`super::interrupt::spawn`]: dropping the ender
    /// forgets it in the registry.
    pub fn new(child: Child) -> Self {
        let pidfd = pidfd_open(child.id());
        ProcessEnder {
            child,
            pidfd,
            cpu: None,
        }
    }
}

/// The CPU time (user + system) used so far by the live processes of process group `pgid` and
/// by every descendant of its leader (a sandbox starts the job in a new session, so its
/// processes are not in the group), with what they have reaped of their children, from
/// `/proc/PID/stat`; `None` without `/proc`. Read at a timeout, before the kill, to tell a job
/// that was computing from one that was waiting.
pub(crate) fn group_cpu(pgid: u32) -> Option<Duration> {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks <= 0 {
        return None;
    }
    let mut procs: Vec<ProcStat> = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // gone meanwhile
        };
        if let Some(p) = parse_stat(pid, &stat) {
            procs.push(p);
        }
    }
    Some(Duration::from_secs_f64(
        tree_ticks(&procs, pgid) as f64 / ticks as f64,
    ))
}

/// One process's line of `/proc/PID/stat`, as far as [`group_cpu`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    pid: u32,
    ppid: u32,
    pgrp: u32,
    ticks: u64,
}

/// utime + stime + cutime + cstime, parent and group of one `/proc/PID/stat` line. The command
/// name (field 2) may hold spaces and parentheses: fields are counted after its last `)`.
fn parse_stat(pid: u32, stat: &str) -> Option<ProcStat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state (3), ppid (4), pgrp (5), ... utime (14) to cstime (17).
    let ticks = f
        .get(11..15)?
        .iter()
        .map(|x| x.parse::<i64>().ok().map(|v| v.max(0) as u64))
        .sum::<Option<u64>>()?;
    Some(ProcStat {
        pid,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        ticks,
    })
}

/// The ticks of group `pgid` and of the descendants of process `pgid`.
fn tree_ticks(procs: &[ProcStat], pgid: u32) -> u64 {
    let mut inside: std::collections::BTreeSet<u32> = procs
        .iter()
        .filter(|p| p.pgrp == pgid || p.pid == pgid)
        .map(|p| p.pid)
        .collect();
    loop {
        let more: Vec<u32> = procs
            .iter()
            .filter(|p| !inside.contains(&p.pid) && inside.contains(&p.ppid))
            .map(|p| p.pid)
            .collect();
        if more.is_empty() {
            break;
        }
        inside.extend(more);
    }
    procs
        .iter()
        .filter(|p| inside.contains(&p.pid))
        .map(|p| p.ticks)
        .sum()
}

impl Ender for ProcessEnder {
    fn fds(&self) -> Vec<RawFd> {
        self.pidfd.iter().map(|f| f.as_raw_fd()).collect()
    }

    fn try_end(&mut self) -> io::Result<Option<Exit>> {
        Ok(self.child.try_wait()?.map(to_exit))
    }

    fn kill(&mut self) -> io::Result<()> {
        self.cpu = group_cpu(self.child.id());
        kill_group(self.child.id());
        self.child.wait().map(|_| ())
    }

    fn reap_leftovers(&mut self) {
        kill_group(self.child.id());
    }

    /// Known for a program that was killed (at its timeout): what its group had used then.
    fn cpu(&self) -> Option<Duration> {
        self.cpu
    }
}

/// Runs `cmd` under `limits`. Only a failure to start the process is an `Err`.
pub fn run(cmd: &mut Command, limits: &Limits) -> io::Result<RunRecord> {
    let memory = limits.memory;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only calls async-signal-safe functions.
    unsafe {
        cmd.pre_exec(move || set_limits(memory));
    }
    let start = Instant::now();
    let mut child = super::interrupt::spawn(cmd)?;
    let out = child.stdout.take().map(|p| File::from(OwnedFd::from(p)));
    let err = child.stderr.take().map(|p| File::from(OwnedFd::from(p)));
    supervise(out, err, &mut ProcessEnder::new(child), limits, start)
}

/// Watches a running program: captures `out` and `err` until they close, ends it at the
/// timeout (after waiting briefly for its stack dump), and cleans up what it leaves behind.
pub(crate) fn supervise(
    mut out: Option<File>,
    mut err: Option<File>,
    ender: &mut dyn Ender,
    limits: &Limits,
    start: Instant,
) -> io::Result<RunRecord> {
    let mut stdout = Captured::new(limits.output_cap);
    let mut stderr = Captured::new(limits.output_cap);
    let mut deadline = start + limits.timeout;
    let mut dump_waited = false;
    let mut exit: Option<Exit> = None;
    let mut drain_until: Option<Instant> = None;
    let mut buf = vec![0u8; 64 * 1024];

    loop {
        if exit.is_none() {
            exit = ender.try_end()?;
        }
        if exit.is_some() {
            if drain_until.is_none() {
                // The program is gone: whatever it left running in its group goes too.
                ender.reap_leftovers();
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
            if out.is_none() && err.is_none() {
                break;
            }
        }
        let now = Instant::now();
        if exit.is_none() && now >= deadline {
            if let (Some(f), false) = (&limits.dump_file, dump_waited) {
                dump_waited = true;
                ender.request_dump();
                if std::fs::metadata(f).map_or(true, |m| m.len() == 0) {
                    deadline = now + DUMP_GRACE;
                    continue;
                }
            }
            if dump_waited {
                // Let the dump's last lines land.
                std::thread::sleep(Duration::from_millis(20));
            }
            ender.kill()?;
            exit = Some(Exit::TimedOut);
            continue;
        }
        if drain_until.is_some_and(|t| now >= t) {
            break;
        }
        let wake = drain_until.unwrap_or(deadline);
        let mut fds: Vec<libc::pollfd> = [&out, &err]
            .into_iter()
            .flatten()
            .map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let watch_end = exit.is_none();
        let end_fds = if watch_end { ender.fds() } else { Vec::new() };
        fds.extend(end_fds.iter().map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }));
        let mut wait = wake.saturating_duration_since(now);
        if watch_end && end_fds.is_empty() {
            // Nothing to wait on for the end (old kernels): look regularly.
            wait = wait.min(Duration::from_millis(10));
        }
        if fds.is_empty() {
            std::thread::sleep(wait.min(Duration::from_millis(2)));
            continue;
        }
        poll_fds(&mut fds, wait)?;
        for f in &fds {
            if f.revents == 0 {
                continue;
            }
            if out.as_ref().is_some_and(|p| p.as_raw_fd() == f.fd) {
                read_some(&mut out, &mut stdout, &mut buf);
            } else if err.as_ref().is_some_and(|p| p.as_raw_fd() == f.fd) {
                read_some(&mut err, &mut stderr, &mut buf);
            }
        }
    }
    Ok(RunRecord {
        exit: exit.unwrap_or(Exit::TimedOut),
        stdout,
        stderr,
        duration: start.elapsed(),
        cpu: ender.cpu(),
    })
}

fn read_some<R: Read>(pipe: &mut Option<R>, into: &mut Captured, buf: &mut [u8]) {
    let Some(p) = pipe.as_mut() else { return };
    match p.read(buf) {
        Ok(n) if n > 0 => into.push(&buf[..n]),
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
        _ => *pipe = None,
    }
}

pub(crate) fn to_exit(status: std::process::ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        (None, None) => Exit::Code(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> RunRecord {
        let limits = Limits {
            timeout: Duration::from_millis(timeout_ms),
            output_cap: 1000,
            memory: None,
            dump_file: None,
        };
        run(Command::new("sh").arg("-c").arg(script), &limits).unwrap()
    }

    #[test]
    fn captures_and_exits() {
        let r = sh("echo out; echo err >&2; exit 3", 5000);
        assert_eq!(r.exit, Exit::Code(3));
        assert_eq!(r.stdout.text(), "out\n");
        assert_eq!(r.stderr.text(), "err\n");
    }

    #[test]
    fn timeout_kills_the_group() {
        let start = Instant::now();
        let r = sh("sleep 30 & sleep 30; echo never", 300);
        assert_eq!(r.exit, Exit::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(r.stdout.text(), "");
    }

    #[test]
    fn leftover_children_do_not_hold_the_run() {
        let start = Instant::now();
        let r = sh("sleep 30 & echo started", 10_000);
        assert_eq!(r.exit, Exit::Code(0));
        assert_eq!(r.stdout.text(), "started\n");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn floods_are_capped_head_and_tail() {
        let r = sh("yes abcdefgh | head -c 1000000; echo END", 10_000);
        assert_eq!(r.stdout.total(), 1_000_004);
        let t = r.stdout.text();
        assert!(t.starts_with("abcdefgh\n"));
        assert!(t.ends_with("END\n"));
        assert!(t.contains("bytes omitted"));
        assert!(t.len() < 1200);
    }

    #[test]
    fn a_killed_group_reports_the_cpu_it_used() {
        let busy = sh("while :; do :; done", 800);
        assert_eq!(busy.exit, Exit::TimedOut);
        let cpu = busy.cpu.expect("known at a timeout");
        assert!(cpu >= Duration::from_millis(100), "{cpu:?}");
        let asleep = sh("sleep 30", 800);
        assert_eq!(asleep.exit, Exit::TimedOut);
        assert!(asleep.cpu.expect("known at a timeout") < Duration::from_millis(100));
        assert_eq!(
            sh("true", 5000).cpu,
            None,
            "only a killed program is measured"
        );
    }

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        let line = "4242 (a) (b c) S 1 777 777 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 1 2 3";
        let p = parse_stat(4242, line).unwrap();
        assert_eq!((p.ppid, p.pgrp, p.ticks), (1, 777, 250 + 50 + 7 + 3));
        assert_eq!(parse_stat(1, "garbage"), None);
    }

    #[test]
    fn a_tree_counts_its_group_and_the_descendants_of_its_leader() {
        let p = |pid, ppid, pgrp, ticks| ProcStat {
            pid,
            ppid,
            pgrp,
            ticks,
        };
        let procs = [
            p(10, 1, 10, 1),   // the leader (bwrap)
            p(11, 10, 11, 20), // its child, in a new session
            p(12, 11, 11, 300),
            p(13, 1, 10, 4000), // in the group, reparented
            p(14, 1, 14, 50000),
        ];
        assert_eq!(tree_ticks(&procs, 10), 4321);
    }

    #[test]
    fn signals_are_reported() {
        let r = sh("kill -9 $$", 5000);
        assert_eq!(r.exit, Exit::Signal(9));
    }
}
