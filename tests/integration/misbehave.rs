//! Examples that misbehave are contained and reported; the others still run; nothing is left
//! in the user's folder or home, no process outlives the run, and docmatrix stays small.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `cmd` to its end, sampling its own peak resident memory (VmHWM, in KiB) from /proc:
/// docmatrix's memory, not its interpreters'.
fn output_and_peak_kib(cmd: &mut Command) -> (std::process::Output, u64) {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            while let Ok(s) = std::fs::read_to_string(&status) {
                let hwm = s
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
                match hwm {
                    Some(kib) => peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed),
                    None => break, // a zombie has no memory left to report
                };
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    sampler.join().unwrap();
    (out, peak.load(std::sync::atomic::Ordering::Relaxed))
}

#[test]
fn contained_and_reported() {
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // The sleeper gets a duration of its own, so that the check below cannot see the sleepers
    // of other tests that run the same fixture at the same time.
    // 10000-19999: disjoint from the ranges of the shell sandbox test, which runs beside it.
    let sleep_secs = 10000 + std::process::id() % 10000;
    let text = std::fs::read_to_string(fixture("misbehave/misbehave.md")).unwrap();
    assert!(text.contains(r#"["sleep", "300"]"#));
    std::fs::write(
        work.path().join("misbehave.md"),
        text.replace(
            r#"["sleep", "300"]"#,
            &format!(r#"["sleep", "{sleep_secs}"]"#),
        ),
    )
    .unwrap();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".pyenv")))
        .unwrap();

    let start = Instant::now();
    let (out, peak_kib) = output_and_peak_kib(
        command()
            .args([
                "validate",
                "--no-config",
                "--format",
                "json",
                "misbehave.md",
            ])
            .current_dir(work.path())
            .env("HOME", home.path())
            .env("PYENV_ROOT", &pyenv),
    );
    let elapsed = start.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let f = work.path().join("misbehave.md");

    // Every example has a verdict on every version.
    let e = doc["examples"].as_array().unwrap();
    assert_eq!(e.len(), 8);
    let by = |needle: &str| {
        let at = line_of(&f, needle);
        e.iter()
            .find(|x| x["line"].as_u64().unwrap() < at && x["end_line"].as_u64().unwrap() > at)
            .unwrap()
    };
    let input = by("name = input(");
    assert_eq!(statuses(input), "fail fail fail fail");
    assert_eq!(input["results"]["3.9"]["error_type"], "EOFError");
    assert_eq!(
        input["results"]["3.9"]["md_line"],
        line_of(&f, "name = input(")
    );
    let looping = by("while True:");
    assert_eq!(statuses(looping), "timeout timeout timeout timeout");
    assert_eq!(statuses(by("os._exit(0)")), "pass pass pass pass");
    assert_eq!(
        statuses(by("for _ in range(200 * 1024)")),
        "pass pass pass pass"
    );
    assert_eq!(statuses(by("subprocess.Popen")), "pass pass pass pass");
    assert_eq!(statuses(by("artifact.bin")), "pass pass pass pass");
    let exit3 = by("sys.exit(3)");
    assert_eq!(statuses(exit3), "fail fail fail fail");
    assert_eq!(exit3["results"]["3.12"]["exit_code"], 3);
    assert_eq!(
        exit3["results"]["3.12"]["md_line"],
        line_of(&f, "sys.exit(3)")
    );
    assert_eq!(statuses(by("still runs")), "pass pass pass pass");

    // Two-second timeouts on four versions over two cores, and nothing that waits on a child:
    // far below what hanging on `input()`, the loop or `sleep 300` would take.
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");

    // Nothing left in the user's folder or home.
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("misbehave.md")]);
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        0,
        "home untouched"
    );

    // No sleeper survives.
    assert_no_process(&format!("^sleep {sleep_secs}$"));

    // docmatrix did not keep the 200 MB flood (RUSAGE_CHILDREN: the largest child, in KiB).
    // docmatrix kept neither the 200 MB flood nor much else.
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "docmatrix's peak RSS: {peak_kib} KiB"
    );
}

/// With more jobs in flight than cores, a timeout is confirmed with a core to itself: a
/// timed-out example that was computing runs a second time at the end; one that was sleeping
/// (it used almost no CPU, so a core would not have helped) does not, and with one job at a
/// time nothing does. This holds in a warm worker's child, in a fresh process
/// (`--isolation process`: docmatrix reads the group's CPU time before the kill) and for a
/// shell script. Each run appends a line to a file outside the sandbox (hence `--no-sandbox`).
#[test]
fn a_timeout_is_run_again_alone_when_cores_were_shared() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let busy = "while True:\n    pass\n";
    let asleep = "import time\ntime.sleep(60)\n";
    let cases = [
        ("python", busy, "warm", cores * 2, 2),
        ("python", busy, "warm", 1, 1),
        ("python", asleep, "warm", cores * 2, 1),
        ("python", busy, "process", cores * 2, 2),
        ("python", asleep, "process", cores * 2, 1),
        ("bash", "while :; do :; done\n", "warm", cores * 2, 2),
        ("bash", "sleep 60\n", "warm", cores * 2, 1),
    ];
    for (lang, body, isolation, jobs, runs) in cases {
        let dir = tempfile::tempdir().unwrap();
        let marks = dir.path().join("marks.txt");
        let mark = if lang == "python" {
            format!(
                "with open({:?}, \"a\") as f:\n    f.write(\"ran\\n\")\n",
                marks.to_str().unwrap()
            )
        } else {
            format!("echo ran >> {:?}\n", marks.to_str().unwrap())
        };
        let run = if lang == "python" { "" } else { " run" };
        std::fs::write(
            dir.path().join("loop.md"),
            format!("# Loop\n\n```{lang}{run} timeout=0.5\n{mark}{body}```\n"),
        )
        .unwrap();
        let jobs = jobs.to_string();
        let out = docmatrix_in(
            dir.path(),
            &[
                "validate",
                ".",
                "--no-config",
                "--no-sandbox",
                "--format",
                "json",
                "--python",
                "3.12",
                "--isolation",
                isolation,
                "--jobs",
                &jobs,
            ],
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
        let e = example(&doc, "loop.md", 3);
        assert_eq!(e["results"]["3.12"]["status"], "timeout", "{doc}");
        let ran = std::fs::read_to_string(&marks).unwrap();
        assert_eq!(
            ran.lines().count(),
            runs,
            "{lang} {body:?} ({isolation}) with --jobs {jobs} on {cores} cores"
        );
    }
}
