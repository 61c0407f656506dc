//! Clean endings: a run interrupted by SIGINT, SIGTERM or SIGHUP kills everything it started
//! (daemons that left their process group too, with or without a sandbox), removes its job
//! folders, says `interrupted` and exits with 128 + the signal; a run that ends normally leaves
//! no daemon behind; the folders of a run killed by SIGKILL are removed by the next run, never
//! those of a live one.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

/// A word no other test's processes carry.
fn token(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{what}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A working folder holding `fixtures/hostile/NAME` with its placeholders filled in.
fn guide(name: &str, token: &str, markers: &Path) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture(&format!("hostile/{name}"))).unwrap();
    assert!(text.contains("@TOKEN@"));
    let text = text
        .replace("@TOKEN@", token)
        .replace("@MARKERS@", &markers.display().to_string());
    std::fs::write(work.path().join(name), text).unwrap();
    work
}

/// A docmatrix run the test started. Dropped (at the test's end, or when it fails), it kills
/// the run if it is still going, and, by pid, whatever carries the test's token: a failing
/// test leaves nothing running either.
struct Running {
    child: Option<Child>,
    pid: u32,
    token: String,
}

impl Running {
    /// Waits for the run at most `limit`: its output.
    fn finish(&mut self, limit: Duration) -> Output {
        let child = self.child.take().expect("not finished yet");
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || tx.send(child.wait_with_output()));
        match rx.recv_timeout(limit) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                signal(pid, libc::SIGKILL);
                let _ = waiter.join();
                panic!("docmatrix (pid {pid}) did not end within {limit:?}");
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_leftovers(&format!("dm-{}-", self.token));
    }
}

/// `docmatrix validate` on `file` in `work`, started, with `tmp` as its TMPDIR.
fn start(work: &Path, tmp: &Path, file: &str, token: &str, args: &[&str]) -> Running {
    let child = command()
        .args(["validate", "--no-config", "--format", "json"])
        .args([
            "--python",
            "3.12",
            "--timeout",
            "60",
            "--run-shell",
            "-j",
            "4",
        ])
        .args(args)
        .arg(file)
        .current_dir(work)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running {
        pid: child.id(),
        child: Some(child),
        token: token.to_string(),
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: plain syscall on a child of this test.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
}

fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The job folders of docmatrix process `pid`: those named after it, in /dev/shm and `tmp`.
fn folders_of(pid: u32, tmp: &Path) -> Vec<PathBuf> {
    let tag = format!("-o{pid}.");
    let mut found: Vec<PathBuf> = [Path::new("/dev/shm"), tmp]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("docmatrix-") && n.contains(&tag)
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Living processes (not zombies) whose command line holds `needle`, or whose environment
/// names a job folder of docmatrix process `owner` (every job's `TMPDIR` is in one).
fn processes(needle: &str, owner: Option<u32>) -> Vec<String> {
    let tag = owner.map(|p| format!("-o{p}."));
    let me = std::process::id();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me || Some(pid) == owner {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .unwrap_or("?");
        if state == "Z" || state == "X" {
            continue;
        }
        let read = |f: &str| {
            std::fs::read(format!("/proc/{pid}/{f}"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default()
        };
        let cmdline = read("cmdline");
        let hit =
            cmdline.contains(needle) || tag.as_ref().is_some_and(|t| read("environ").contains(t));
        if hit {
            found.push(format!("{pid} {state} {cmdline}"));
        }
    }
    found
}

/// Kills, by pid, the test's own daemons that docmatrix left (after a SIGKILL, or when the
/// test fails), so that a failure leaves nothing running either.
fn kill_leftovers(needle: &str) {
    for p in processes(needle, None) {
        if let Some(pid) = p.split(' ').next().and_then(|p| p.parse::<i32>().ok()) {
            // SAFETY: plain syscall; the pid carries this test's own token.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

const DAEMONS: [&str; 3] = ["setsid", "double", "shell"];

/// Starts `slow.md` and waits until every example runs and every daemon has started.
fn start_slow(
    token: &str,
    markers: &Path,
    tmp: &Path,
    args: &[&str],
) -> (tempfile::TempDir, Running) {
    let work = guide("slow.md", token, markers);
    let run = start(work.path(), tmp, "slow.md", token, args);
    wait_until(Duration::from_secs(60), "every daemon to start", || {
        DAEMONS
            .iter()
            .all(|d| !processes(&format!("dm-{token}-{d}"), None).is_empty())
    });
    (work, run)
}

fn interrupted_run_leaves_nothing(sig: i32, args: &[&str]) {
    let token = token("int");
    let markers = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (_work, mut run) = start_slow(&token, markers.path(), tmp.path(), args);
    let pid = run.pid;
    let folders = folders_of(pid, tmp.path());
    assert!(!folders.is_empty(), "no job folder named after {pid}");
    assert!(!processes(&token, Some(pid)).is_empty());

    signal(pid, sig);
    let out = run.finish(Duration::from_secs(30));
    let left = processes(&token, Some(pid));
    assert!(left.is_empty(), "{args:?}: left running: {left:#?}");
    for f in &folders {
        assert!(!f.exists(), "{args:?}: {} was left", f.display());
    }
    assert_eq!(out.status.code(), Some(128 + sig), "{}", stderr(&out));
    assert_eq!(stderr(&out), "interrupted\n");
    assert_eq!(stdout(&out), "", "no report");
    assert_eq!(folders_of(pid, tmp.path()), Vec::<PathBuf>::new());
    // Nothing writes the markers any more (only without a sandbox were they written).
    let sizes =
        || DAEMONS.map(|d| std::fs::metadata(markers.path().join(d)).map_or(0, |m| m.len()));
    let before = sizes();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(sizes(), before, "a daemon still writes");
}

#[test]
fn sigint_without_a_sandbox_warm() {
    interrupted_run_leaves_nothing(libc::SIGINT, &["--sandbox", "none"]);
}

#[test]
fn sigterm_without_a_sandbox_process() {
    interrupted_run_leaves_nothing(
        libc::SIGTERM,
        &["--sandbox", "none", "--isolation", "process"],
    );
}

#[test]
fn sigint_in_bwrap_warm() {
    interrupted_run_leaves_nothing(libc::SIGINT, &["--sandbox", "bwrap"]);
}

#[test]
fn sighup_in_bwrap_process() {
    interrupted_run_leaves_nothing(
        libc::SIGHUP,
        &["--sandbox", "bwrap", "--isolation", "process"],
    );
}

fn daemons_do_not_outlive_a_run(args: &[&str]) {
    let token = token("end");
    let tmp = tempfile::tempdir().unwrap();
    let work = guide("daemon.md", &token, tmp.path());
    let mut run = start(work.path(), tmp.path(), "daemon.md", &token, args);
    let pid = run.pid;
    let out = run.finish(Duration::from_secs(120));
    let left = processes(&format!("dm-{token}-"), None);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = doc["examples"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for e in results {
        assert_eq!(e["results"]["3.12"]["status"], "pass", "{e:#}");
    }
    assert!(
        left.is_empty(),
        "{args:?}: daemons outlived the run: {left:#?}"
    );
    assert_eq!(folders_of(pid, tmp.path()), Vec::<PathBuf>::new());
}

#[test]
fn daemons_without_a_sandbox_end_with_the_run() {
    daemons_do_not_outlive_a_run(&["--sandbox", "none"]);
    daemons_do_not_outlive_a_run(&["--sandbox", "none", "--isolation", "process"]);
}

/// bwrap's PID namespace ends every process of a job with it: no sweep needed there.
#[test]
fn daemons_in_bwrap_end_with_the_run() {
    daemons_do_not_outlive_a_run(&["--sandbox", "bwrap"]);
    daemons_do_not_outlive_a_run(&["--sandbox", "bwrap", "--isolation", "process"]);
}

#[test]
fn a_killed_runs_folders_are_swept_by_the_next_run_and_a_live_runs_kept() {
    let markers = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dead_token = token("dead");
    let (_w1, mut killed) = start_slow(&dead_token, markers.path(), tmp.path(), &[]);
    let dead = killed.pid;
    // Taken before the kill: once it is dead, any docmatrix that starts (other tests run
    // beside this one) may sweep them.
    let left = folders_of(dead, tmp.path());
    assert!(!left.is_empty(), "no job folder named after {dead}");
    signal(dead, libc::SIGKILL);
    killed.finish(Duration::from_secs(10));

    let live_token = token("live");
    let (_w2, mut live) = start_slow(&live_token, markers.path(), tmp.path(), &[]);
    let live_folders = folders_of(live.pid, tmp.path());
    assert!(!live_folders.is_empty());

    // A run in between: it sweeps at start.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("quick.md"), "```python\nprint(1)\n```\n").unwrap();
    let quick =
        start(work.path(), tmp.path(), "quick.md", "quick", &[]).finish(Duration::from_secs(60));
    assert_eq!(quick.status.code(), Some(0), "{}", stderr(&quick));

    for f in &left {
        assert!(!f.exists(), "{} of a killed run was kept", f.display());
    }
    for f in &live_folders {
        assert!(f.exists(), "{} of a live run was removed", f.display());
    }
    let pid = live.pid;
    signal(pid, libc::SIGINT);
    let out = live.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(folders_of(pid, tmp.path()), Vec::<PathBuf>::new());
}

/// Interrupted after whoever read its output has gone (stdout and stderr closed pipes), a run
/// still cleans up and ends: writing `interrupted` fails, and nothing waits for good.
#[test]
fn an_interrupt_with_nobody_reading_still_ends_the_run() {
    let token = token("gone");
    let markers = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (_work, mut run) = start_slow(&token, markers.path(), tmp.path(), &["--sandbox", "none"]);
    let pid = run.pid;
    let folders = folders_of(pid, tmp.path());
    assert!(!folders.is_empty());
    if let Some(c) = run.child.as_mut() {
        drop(c.stdout.take());
        drop(c.stderr.take());
    }
    signal(pid, libc::SIGINT);
    let out = run.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(130));
    let left = processes(&token, Some(pid));
    assert!(left.is_empty(), "left running: {left:#?}");
    assert_eq!(folders_of(pid, tmp.path()), Vec::<PathBuf>::new());
}
