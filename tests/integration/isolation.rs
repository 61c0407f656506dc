//! Warm workers against fresh processes: every job must give the same verdict, output and exit
//! status either way, on every fixture and on the benchmark corpus.

use std::path::PathBuf;

use docmatrix::config::{Config, Overrides};
use docmatrix::interp::SearchEnv;
use docmatrix::lang::python;
use docmatrix::lang::python::process::ProcessExecutor;
use docmatrix::lang::python::warm::WarmExecutor;
use docmatrix::run::Executor;
use docmatrix::sys::sandbox::{Sandbox, SandboxMode};

use crate::common::*;

/// The planned run of `paths` on `versions` (no config, no cache), a fresh-process executor,
/// and the interpreters found.
fn planned(
    cwd: &std::path::Path,
    paths: &[PathBuf],
    versions: &str,
) -> (docmatrix::Prepared, ProcessExecutor, Vec<PathBuf>) {
    let o = Overrides {
        paths: paths.to_vec(),
        python: Some(versions.into()),
        no_config: true,
        no_cache: true,
        ..Default::default()
    };
    let config = Config::resolve(cwd, &o).unwrap();
    let prepared = docmatrix::prepare(&config, &SearchEnv::from_process()).unwrap();
    let process = ProcessExecutor::new(Sandbox::select(SandboxMode::Auto).unwrap());
    let interpreters = prepared
        .interpreters
        .values()
        .flatten()
        .map(|i| i.path.clone())
        .collect();
    (prepared, process, interpreters)
}

/// Runs every job of `paths` both ways and compares what each block did (its verdict, error,
/// exit status and line) and, with `output`, what the job printed. A timeout's stuck line and
/// output that prints times or PIDs may differ between any two runs, so they are compared only
/// where the examples are deterministic.
fn both_ways(paths: &[PathBuf], versions: &str, output: bool) -> usize {
    let (prepared, process, interpreters) = planned(&root(), paths, versions);
    let preload = python::preload_for(prepared.examples.iter().map(|s| &*s.code));
    let warm = WarmExecutor::new(&interpreters, &preload, process.clone()).unwrap();
    let jobs = &prepared.plan.jobs;
    let pairs: Vec<_> =
        docmatrix::run::run_all_with(jobs, 2, |job| (process.execute(job), warm.execute(job)));
    let mut differences = Vec::new();
    for (job, (fresh, forked)) in jobs.iter().zip(&pairs) {
        let name = format!(
            "{}:{} on {}",
            prepared.examples[job.members[0].example].file.display(),
            prepared.examples[job.members[0].example].line,
            job.version
        );
        let comparable = |r: &docmatrix::model::JobResult| {
            let mut b = r.blocks.clone();
            for x in b
                .iter_mut()
                .filter(|x| x.status == docmatrix::model::Status::Timeout)
            {
                x.at = None;
            }
            b
        };
        if comparable(fresh) != comparable(forked) {
            differences.push(format!("{name}: {:?} != {:?}", fresh.blocks, forked.blocks));
        }
        if output && fresh.stdout != forked.stdout {
            differences.push(format!(
                "{name}: stdout {:?} != {:?}",
                fresh.stdout, forked.stdout
            ));
        }
        if output && fresh.stderr != forked.stderr {
            differences.push(format!(
                "{name}: stderr {:?} != {:?}",
                fresh.stderr, forked.stderr
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert!(warm.running() > 0, "the warm workers ran the jobs");
    jobs.len()
}

#[test]
fn python_semantics_are_the_same_warm_and_fresh() {
    let n = both_ways(&[fixture("isolation")], "3.9,3.10,3.11,3.12", true);
    assert_eq!(n, (17 + 13) * 4);
}

#[test]
fn every_fixture_gives_the_same_verdicts_warm_and_fresh() {
    let dirs = [
        "versions",
        "seed",
        "annotations",
        "markdown",
        "misbehave",
        "broken/valid.md",
    ];
    let paths: Vec<PathBuf> = dirs.iter().map(|d| fixture(d)).collect();
    assert!(both_ways(&paths, "3.9,3.10,3.11,3.12", false) > 200);
}

#[test]
fn the_benchmark_corpus_gives_the_same_verdicts_warm_and_fresh() {
    let corpus = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg(root().join("bench/gen_corpus.py"))
        .arg(corpus.path())
        .output()
        .expect("python3 runs the corpus generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        both_ways(&[corpus.path().to_path_buf()], "3.9,3.10,3.11,3.12", false),
        4000
    );
}

/// A failure's stderr reads as `python example.py` prints it in a fresh folder, warm or in a
/// fresh process, on every version: the interpreter's own display of the uncaught exception
/// (through the example's `sys.excepthook` when it sets one), compile-time warnings, syntax
/// errors with their markers. Each failing cell is compared with a real run of the block.
#[test]
fn failures_read_as_python_prints_them() {
    let rel = "fixtures/isolation/failures.md";
    let out = docmatrix(&["extract", "--no-config", "--format", "json", rel]);
    let extracted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let blocks = extracted["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 13);
    for isolation in ["warm", "process"] {
        let (_, doc) = validate_json(&[
            rel,
            "--python",
            "3.9,3.10,3.11,3.12",
            "--isolation",
            isolation,
            "--no-cache",
        ]);
        let mut compared = 0;
        for b in blocks {
            let e = example(&doc, rel, b["line"].as_u64().unwrap());
            for (version, cell) in e["results"].as_object().unwrap() {
                if cell["status"] != "fail" {
                    continue;
                }
                let python = doc["interpreters"][version]["path"].as_str().unwrap();
                let dir = tempfile::tempdir().unwrap();
                std::fs::write(dir.path().join("block_0.py"), b["code"].as_str().unwrap()).unwrap();
                let run = std::process::Command::new(python)
                    .args(["-I", "block_0.py"])
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(!run.status.success());
                let folder = format!("{}/", dir.path().display());
                let expected = String::from_utf8_lossy(&run.stderr).replace(&folder, "");
                assert_eq!(
                    cell["stderr"].as_str().unwrap_or_default(),
                    expected.trim_end(),
                    "{rel}:{} on {version} ({isolation})",
                    b["line"]
                );
                compared += 1;
            }
        }
        // Every example fails on every version (the `match` one with a syntax error on 3.9,
        // with its `SystemExit` message from 3.10).
        assert_eq!(compared, 13 * 4, "{isolation}");
    }
}

/// An example that checks the signals it starts with: none blocked, SIGTERM's and SIGINT's
/// handlers Python's own.
const SIGNAL_STATE: &str = r#"import signal

blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
assert not blocked, "started with %s blocked" % sorted(blocked)
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
"#;

/// `with Pool(...)` ends with `terminate()`, which SIGTERMs the workers that have not yet
/// ended on the sentinel the pool sent them, then waits for them.
const POOL: &str = r#"import multiprocessing


def square(n):
    return n * n


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(pool.map(square, range(5)))
"#;

/// A job starts with the signals `python example.py` would: none blocked. docmatrix blocks
/// SIGINT, SIGTERM and SIGHUP for its `sigwait` thread, and a child inherits the mask of the
/// thread that spawns it: a job's `multiprocessing.Pool` then ended, one time in five, by
/// waiting for good for a worker its SIGTERM could not end (a timeout at the `with` line), warm
/// or in a fresh process, sandboxed or not. Through the CLI, which is what installs the
/// signal thread.
#[test]
fn jobs_start_with_no_signal_blocked_and_their_pools_end() {
    let dir = tempfile::tempdir().unwrap();
    let fence = |code: &str| format!("```python\n{code}```\n\n");
    let mut md = format!("# Signals\n\n{}", fence(SIGNAL_STATE));
    for _ in 0..16 {
        md.push_str(&fence(POOL));
    }
    let file = dir.path().join("pools.md");
    std::fs::write(&file, md).unwrap();
    let path = file.to_str().unwrap();
    // Sixteen pools on four versions: 64 chances to hang, where one in five did.
    for (isolation, sandbox) in [("warm", "auto"), ("process", "none")] {
        let started = std::time::Instant::now();
        let (code, doc) = validate_json(&[
            path,
            "--python",
            "3.9,3.10,3.11,3.12",
            "--isolation",
            isolation,
            "--sandbox",
            sandbox,
            "--no-cache",
            "--timeout",
            "5",
        ]);
        let examples = doc["examples"].as_array().unwrap();
        assert_eq!(examples.len(), 17);
        let failed: Vec<String> = cells(&doc)
            .into_iter()
            .filter(|(_, _, r)| r["status"] != "pass")
            .map(|(line, v, r)| format!("line {line} on {v}: {r}"))
            .collect();
        assert!(
            failed.is_empty(),
            "{isolation}: {} of 68 failed:\n{}",
            failed.len(),
            failed.join("\n")
        );
        assert_eq!(code, 0);
        eprintln!("{isolation}: {:?}", started.elapsed());
    }
}

/// The first job that needs a worker launches every interpreter's lean worker, so that they
/// boot side by side; one that no job needed is killed with the executor all the same.
#[test]
fn lean_workers_start_together_and_end_with_the_executor() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("one.md"),
        "# One\n\n```python\nprint(1)\n```\n",
    )
    .unwrap();
    let (prepared, process, interpreters) =
        planned(dir.path(), &[dir.path().to_path_buf()], "3.9,3.12");
    assert_eq!(interpreters.len(), 2);
    // A module name no other test uses marks this executor's workers' command lines.
    let mark = format!("zz_docmatrix_mark_{}", std::process::id());
    let warm = WarmExecutor::new(&interpreters, std::slice::from_ref(&mark), process).unwrap();
    let job = prepared
        .plan
        .jobs
        .iter()
        .find(|j| j.version.to_string() == "3.12")
        .unwrap();
    let r = warm.execute(job);
    assert_eq!(r.stdout, "1");
    let the_39_worker = format!("python3.9 .*serve {mark}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::process::Command::new("pgrep")
        .args(["-f", &the_39_worker])
        .output()
        .unwrap()
        .stdout
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the 3.9 worker was not launched with the 3.12 one"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(warm);
    assert_no_process(&mark);
}

/// Measures, in an interpreter with the driver's functions, what `_fill_pools` leaves free
/// in each size class of the allocator: every class must have at most one pool's blocks free,
/// so that a child's objects go to fresh pools. Prints `size before after capacity` per class.
const FILL_PROBE: &str = r#"
import gc, sys
exec(compile(sys.argv[1].split("\nif sys.argv[1] ==")[0], "driver", "exec"))
import dataclasses, json, re, typing  # something to fragment the pools

def avail():
    text = _malloc_stats().decode()
    pool = int([l for l in text.splitlines() if "unused pools" in l][0].split()[4])
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 5 and all(x.isdigit() for x in f):
            rows[int(f[1])] = (int(f[4]), (pool - 48) // int(f[1]))  # 48: the pool header
    return rows

gc.collect()
before = avail()
_fill_pools()
after = avail()
for size in sorted(before):
    print(size, before[size][0], after.get(size, (0, 0))[0], before[size][1])
"#;

#[test]
fn the_worker_fills_the_allocators_free_blocks_before_forking() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.md"), "```python\nprint(1)\n```\n").unwrap();
    let (_, _, interpreters) = planned(
        dir.path(),
        &[dir.path().to_path_buf()],
        "3.9,3.10,3.11,3.12",
    );
    assert_eq!(interpreters.len(), 4);
    for python in interpreters {
        let out = std::process::Command::new(&python)
            .args(["-I", "-c", FILL_PROBE, python::DRIVER])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<[usize; 4]> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: Vec<usize> = l.split(' ').map(|x| x.parse().unwrap()).collect();
                [v[0], v[1], v[2], v[3]]
            })
            .collect();
        assert_eq!(rows.len(), 32, "{}: every size class", python.display());
        // A fill that did nothing would leave every class as it was: it must empty some
        // classes and leave fewer free blocks in all.
        assert!(
            rows.iter()
                .any(|[_, before, after, _]| *before > 0 && *after == 0),
            "{}: no class was filled: {rows:?}",
            python.display()
        );
        let total = |i: usize| rows.iter().map(|r| r[i]).sum::<usize>();
        assert!(
            total(2) < total(1),
            "{}: {} free blocks before the fill, {} after",
            python.display(),
            total(1),
            total(2)
        );
        // What is left free is the fresh pool the last filler started (and at most a stray
        // block freed after the fill, such as a comprehension's function object).
        for [size, before, after, capacity] in rows {
            assert!(
                after <= capacity,
                "{}: {size}-byte blocks: {before} free before the fill, {after} after (a pool holds {capacity})",
                python.display()
            );
        }
    }
}

/// Runs the driver's `_replay` on a statements file in an interpreter with the driver's
/// functions, counting its probe children: prints the number of probes, then preimported.txt.
const REPLAY_PROBE: &str = r#"
import os, sys
exec(compile(sys.argv[1].split("\nif sys.argv[1] ==")[0], "driver", "exec"))
sys.path.insert(0, sys.argv[2])
probes = []
_real_probe = _probe
def _probe(statements, folder):
    probes.append(statements[0])
    return _real_probe(statements, folder)
_replay(sys.argv[2] + "/preload.py")
sys.stderr.write("%d\n" % len(probes))
with open(sys.argv[2] + "/preimported.txt") as f:
    sys.stderr.write(f.read())
"#;

/// REPLAY_PROBE on `statements`, in the folder `d` (on 3.12): what it printed on stderr.
fn replay_in(d: &std::path::Path, statements: &str) -> String {
    std::fs::write(d.join("preload.py"), statements).unwrap();
    let python = "/root/.pyenv/versions/3.12.1/bin/python3.12";
    let out = std::process::Command::new(python)
        .args(["-I", "-c", REPLAY_PROBE, python::DRIVER])
        .arg(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing an import printed reaches stdout, where the worker talks to docmatrix.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A module whose bare import is not clean is refused for every statement of it after one
/// probe; a list an earlier worker checked is replayed without a probe.
#[test]
fn replays_judge_a_module_once_and_trust_a_checked_list() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("chatty")).unwrap();
    std::fs::write(d.join("chatty/__init__.py"), "print('hello')\nA = B = 1\n").unwrap();
    std::fs::write(d.join("quiet.py"), "C = 3\n").unwrap();
    std::fs::write(d.join("chatty/sub.py"), "D = 4\n").unwrap();
    let replay = |statements: &str| replay_in(d, statements);
    let judged =
        replay("from chatty import A\nfrom chatty.sub import D\nimport chatty\nimport quiet\n");
    // The bare `import chatty` is checked in the worker itself, which starts again (the same
    // program, exec'd) after it; the rest is tried carefully: one probe, for `import quiet`.
    assert_eq!(
        judged,
        "1\n\
         no\tfrom chatty import A\twrites output\n\
         no\tfrom chatty.sub import D\twrites output\n\
         no\timport chatty\twrites output\n\
         ok\timport quiet\n"
    );
    // Checked by an earlier worker: run as they are, no probe (even the chatty one, whose
    // output goes nowhere), and a failure is still reported.
    let trusted = replay("# checked\nimport quiet\nimport chatty\nimport missing_one\n");
    assert_eq!(
        trusted,
        "0\nok\timport quiet\nok\timport chatty\nno\timport missing_one\traises ModuleNotFoundError\n"
    );
}

/// A statement that only raises an ImportError that no module's code raised (a name the
/// package lacks, a package that is not installed) is refused and the worker goes on, without
/// starting again or probing; an ImportError raised by a module's own code spoils the worker,
/// which starts again and tries the rest in probe children.
#[test]
fn replays_go_on_after_a_missing_name_and_start_again_after_a_failing_module() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("lazy")).unwrap();
    // A package that makes some names on demand (as pydantic does), loading a module first.
    std::fs::write(
        d.join("lazy/__init__.py"),
        "A = 1\ndef __getattr__(name):\n    import lazy.helper\n    if name == 'B':\n        return lazy.helper.B\n    if name == 'Loud':\n        print('Loud moved away')\n    raise ImportError(name + ' moved away')\n",
    )
    .unwrap();
    std::fs::write(d.join("lazy/helper.py"), "B = 2\n").unwrap();
    std::fs::write(d.join("broken.py"), "import not_installed_anywhere\n").unwrap();
    std::fs::write(d.join("quiet.py"), "C = 3\n").unwrap();
    let replay = |statements: &str| replay_in(d, statements);
    let missing = replay(
        "from lazy import A\nfrom lazy import Gone\nfrom lazy import B\nimport absent_pkg\nfrom absent_pkg import x\nimport quiet\n",
    );
    assert_eq!(
        missing,
        "0\n\
         ok\tfrom lazy import A\n\
         no\tfrom lazy import Gone\traises ImportError\n\
         ok\tfrom lazy import B\n\
         no\timport absent_pkg\traises ModuleNotFoundError\n\
         no\tfrom absent_pkg import x\traises ModuleNotFoundError\n\
         ok\timport quiet\n"
    );
    // `broken`'s own code raised: what it ran before is not known to be clean, so the worker
    // starts again and tries `import quiet` in a probe child.
    let failing = replay("import broken\nimport quiet\n");
    assert_eq!(
        failing,
        "1\nno\timport broken\traises ModuleNotFoundError\nok\timport quiet\n"
    );
    // A missing name that printed before it raised: not clean either (and what it printed,
    // still in a buffer when it raised, reaches neither stdout nor the next statement).
    let loud = replay("from lazy import Loud\nimport quiet\n");
    assert_eq!(
        loud,
        "1\nno\tfrom lazy import Loud\traises ImportError\nok\timport quiet\n"
    );
}

/// Runs the driver's `_learn` in rounds on the names given one round a line (space-separated;
/// an empty line: a job that loaded nothing new), counting its probe children: prints the
/// probes of each round, then learned/log.txt.
const LEARN_PROBE: &str = r#"
import gc, os, sys
exec(compile(sys.argv[1].split("\nif sys.argv[1] ==")[0], "driver", "exec"))
d = sys.argv[2]
sys.path.insert(0, d)
os.makedirs(d + "/learned", exist_ok=True)
# As a replay leaves a worker that refused `from kept import Missing`: `kept` imported, and named
# among the refused.
import kept
_REFUSED.add("kept")
_LEARN = set(sys.modules)
probes = []
_real_probe = _probe
def _probe(statements, folder, strict=False):
    probes.append(statements[0])
    return _real_probe(statements, folder, strict)
counts = []
for line in sys.argv[3].split("\n"):
    before = len(probes)
    _learn(line.split(), d, gc)
    counts.append(str(len(probes) - before))
sys.stderr.write(" ".join(counts) + "\n")
with open(d + "/learned/log.txt") as f:
    sys.stderr.write(f.read())
"#;

/// A worker learns with one probe child a round, the rest left for the next round, and refuses
/// the modules of a package it refused (and does not have) without a probe: a library whose every submodule imports
/// a package that reads the environment cost a probe child (a package import) for each, all
/// between two jobs, and delayed the next job past its timeout (the FastAPI docs on 3.10).
#[test]
fn learning_takes_one_probe_a_round_and_refuses_a_refused_packages_modules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("reader")).unwrap();
    std::fs::write(
        d.join("reader/__init__.py"),
        "import os\nLEVEL = os.environ.get('READER_LEVEL')\n",
    )
    .unwrap();
    for sub in ["a", "b", "c"] {
        std::fs::write(d.join(format!("reader/{sub}.py")), "X = 1\n").unwrap();
    }
    std::fs::write(d.join("plain.py"), "Y = 2\n").unwrap();
    std::fs::create_dir(d.join("kept")).unwrap();
    std::fs::write(d.join("kept/__init__.py"), "").unwrap();
    std::fs::write(d.join("kept/sub.py"), "Z = 3\n").unwrap();
    let python = "/root/.pyenv/versions/3.12.1/bin/python3.12";
    let out = std::process::Command::new(python)
        .args(["-I", "-c", LEARN_PROBE, python::DRIVER])
        .arg(d)
        .arg("reader reader.a reader.b plain\nreader.c kept.sub\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "1 1 0\n\
         no\treader\treads the environment (READER_LEVEL)\n\
         no\treader.a\tits package reader is not clean\n\
         no\treader.b\tits package reader is not clean\n\
         no\treader.c\tits package reader is not clean\n\
         ok\tplain\n\
         ok\tkept.sub\n"
    );
}

/// Printed first by every job of the reuse test: `clean` when nothing of an earlier job is
/// left, no other process in the sandbox (bwrap's init is 1, the worker 2) and nothing in the
/// scratch folders but the folders that lead to the job folder; else what is left.
const LEFTOVERS: &str = r#"
keep = os.path.dirname(os.environ["HOME"])
def _left(d):
    return [e for e in os.listdir(d) if not (keep + "/").startswith(os.path.join(d, e) + "/")]
procs = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, 2, os.getpid())]
found = {d: _left(d) for d in (os.environ["HOME"], os.environ["TMPDIR"], "/tmp", "/dev/shm")}
found = {d: v for d, v in found.items() if v}
where = "in a worker" if os.getppid() == 2 else "in process %d of %d" % (os.getpid(), os.getppid())
print(where, "clean" if not procs and not found else "left: %s %s" % (procs, found))
"#;

/// What the reuse test's jobs leave behind: (file, head imports, the mess). Those that import
/// `asyncio` or `subprocess` run in the rich worker, the others in the lean one.
const MESSES: &[(&str, &str, &str)] = &[
    (
        "a_processes.md",
        "import asyncio, os, subprocess, sys",
        r#"asyncio.run(asyncio.sleep(0))
# A daemon in a session of its own, and a child never waited for.
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "pass"])"#,
    ),
    (
        "b_readonly.md",
        "import asyncio, os",
        r#"for d in ("/tmp", os.environ["TMPDIR"]):
    os.makedirs(d + "/ro/deep")
    with open(d + "/ro/deep/f", "w") as f:
        f.write("x")
    os.chmod(d + "/ro/deep/f", 0o400)
    os.chmod(d + "/ro/deep", 0o500)
    os.chmod(d + "/ro", 0)"#,
    ),
    (
        "c_shm.md",
        "import asyncio, multiprocessing, os",
        r#"lock = multiprocessing.Lock()
with open("/dev/shm/left", "w") as f:
    f.write("x")
os.chmod("/dev/shm/left", 0)
os.mkfifo("/dev/shm/fifo")"#,
    ),
    (
        "d_pycache.md",
        "import asyncio, os, sys",
        r#"with open("helper.py", "w") as f:
    f.write("X = 1\n")
sys.path.insert(0, os.getcwd())
import helper
os.makedirs(os.path.expanduser("~/.cache/lib"))
os.symlink("/etc/hostname", os.path.expanduser("~/link"))"#,
    ),
    (
        "e_lean.md",
        "import os",
        r#"if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)"])
    os._exit(0)
if os.fork() == 0:
    os._exit(0)  # a zombie: its parent never waits
with open(os.environ["TMPDIR"] + "/f", "w") as f:
    f.write("x")
os.mkfifo("/tmp/fifo")"#,
    ),
];

/// A warm worker outlives the jobs it runs, rich ones included: jobs that leave processes (a
/// daemon in its own session, a child never waited for, a zombie) and files (read-only trees,
/// FIFOs, files in /dev/shm, `__pycache__`, symlinks) in every scratch folder run, one after
/// another, in the first worker of their interpreter and tier, and each starts with nothing of
/// the ones before it left. Only a job that leaves what the worker cannot remove (a scratch
/// folder it made read-only, with a file in it) costs its worker, and the next job runs in a
/// fresh worker: not in the ending one, where it was lost and ran again in a fresh process.
#[test]
fn workers_outlive_jobs_that_leave_things_behind() {
    if docmatrix::sys::which("bwrap").is_none() {
        skip_unless_ci("bwrap");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let block = |imports: &str, mess: &str| {
        format!("# Job\n\n```python\n{imports}, sys\n{LEFTOVERS}\n{mess}\nprint('done')\n```\n")
    };
    for (file, imports, mess) in MESSES {
        std::fs::write(dir.path().join(file), block(imports, mess)).unwrap();
    }
    // Last in file order: a HOME made read-only with a file in it, which the worker cannot
    // empty (it opens up the folders inside the scratch folders, not the scratch folders).
    let stuck = r#"with open("f", "w") as f:
    f.write("x")
os.chmod(".", 0o500)"#;
    std::fs::write(
        dir.path().join("z_stuck.md"),
        block("import asyncio, os", stuck),
    )
    .unwrap();
    let versions = "3.9,3.10,3.11,3.12";
    let (prepared, process, interpreters) =
        planned(dir.path(), &[dir.path().to_path_buf()], versions);
    assert_eq!(interpreters.len(), 4);
    let preload = python::preload_for(prepared.examples.iter().map(|s| &*s.code));
    let warm = WarmExecutor::new(&interpreters, &preload, process).unwrap();
    let file_of = |job: &docmatrix::model::Job| {
        let e = &prepared.examples[job.members[0].example];
        format!("{} on {}", e.file.display(), job.version)
    };
    let (messy, stuck): (Vec<_>, Vec<_>) = prepared
        .plan
        .jobs
        .iter()
        .partition(|j| !file_of(j).contains("z_stuck"));
    assert_eq!((messy.len(), stuck.len()), (5 * 4, 4));
    let run = |job: &docmatrix::model::Job| {
        let r = warm.execute(job);
        assert_eq!(
            r.stdout.trim_end(),
            "in a worker clean\ndone",
            "{}: {:?} {}",
            file_of(job),
            r.blocks,
            r.stderr
        );
    };
    // One job at a time, twice over: every job follows a messy one of its worker.
    for _ in 0..2 {
        messy.iter().for_each(|j| run(j));
    }
    // A lean and a rich worker per interpreter, for 40 jobs.
    assert_eq!(warm.started(), 2 * 4, "workers were replaced");
    for job in &stuck {
        run(job);
    }
    // The next job starts clean in a fresh rich worker (not in the ending one), which the jobs
    // after it keep.
    for _ in 0..3 {
        messy
            .iter()
            .filter(|j| file_of(j).contains("a_processes"))
            .for_each(|j| run(j));
    }
    assert_eq!(warm.started(), 3 * 4, "one new worker per stuck job");
}

/// Starts the driver's worker (`serve`, no preloads, not isolated) with `HOME` and `TMPDIR` set
/// so, its input closed at once: its exit code and what it printed on stdout.
fn serve_with(home: &std::path::Path, tmp: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new("/root/.pyenv/versions/3.12.1/bin/python3.12")
        .args(["-I", "-c", python::DRIVER, "serve", "", "shared"])
        .env_clear()
        .env("HOME", home)
        .env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_worker_refuses_to_empty_folders_that_are_not_a_docmatrix_jobs() {
    // The worker empties HOME and TMPDIR between jobs: started with a real HOME (by a script
    // that runs the driver by hand), it must refuse before serving, and leave HOME as it was.
    let dir = tempfile::tempdir().unwrap();
    let (home, tmp) = (dir.path().join("home"), dir.path().join("tmp"));
    let job = dir.path().join("docmatrix-warm-o1.2.3-abcdef").join("w0");
    for d in [&home, &tmp, &job.join("work"), &job.join("tmp")] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("precious.txt"), "keep me").unwrap();
    }
    for (h, t) in [
        (home.clone(), tmp.clone()),
        // One of the two outside the job folder is enough to refuse.
        (job.join("work"), tmp.clone()),
        (home.clone(), job.join("tmp")),
        // Relative paths are refused too.
        (PathBuf::from("work"), PathBuf::from("tmp")),
    ] {
        let (code, stdout) = serve_with(&h, &t);
        assert_eq!(code, Some(2), "HOME={h:?} TMPDIR={t:?}: {stdout}");
        assert!(!stdout.contains("ready"), "{stdout}");
    }
    for d in [&home, &tmp, &job.join("work"), &job.join("tmp")] {
        assert!(d.join("precious.txt").is_file(), "{d:?} was emptied");
    }
    // The folders docmatrix gives a worker: it serves (and ends at the end of its input).
    let (code, stdout) = serve_with(&job.join("work"), &job.join("tmp"));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("ready "), "{stdout}");
}
