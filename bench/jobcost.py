#!/usr/bin/env python3
"""Where a warm job's CPU goes: one docmatrix `serve` worker driven over N jobs, per version.

    python3 bench/jobcost.py [--jobs 600] [--versions 3.9,3.10,3.11,3.12] [--snippet FILE ...]
    python3 bench/jobcost.py --corpus DIR [--preload MODULES] ...

With `--corpus`, the snippets are one example of each kind in a generated corpus (the first
```python block under each `## N. Title` heading, one per title): what each kind of example
costs a job. Examples that fail on a version are left out of that version's rows.

For each interpreter and snippet it starts the real worker (`src/lang/python/driver.py serve`,
with the preloads the shared corpus's jobs get), gives it N jobs the way `src/lang/python/warm.rs`
does (a job folder with `block_0.py`, `work/`, `tmp/`, the FIFOs `out`, `err`, `status`, one
request line, at most two jobs in flight, or --in-flight N), and prints, per job:

- worker: CPU of the worker process itself (reading the request, `fork()`, reaping the
  child, page faults after each fork) and its page faults;
- child: CPU of the forked children (their start after the fork, compiling and running the
  block, their exit) and their page faults;
- fork(): the median time of a bare `os.fork()` + `os._exit(0)` in an interpreter with the
  same preloads (the parent's side only);
- in-process: the same snippet `exec`'d again and again in one warm interpreter, as the
  pytest plug-ins run blocks (no isolation), for comparison.

CPU figures come from /proc/PID/stat (utime + stime, cutime + cstime; clock ticks of 10 ms,
so N should be several hundred). Nothing here is timed against a target: it explains the
cold-run figures of bench/run.py (see docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "src" / "lang" / "python" / "driver.py"
# What docmatrix preloads in the lean worker for the shared benchmark corpus.
PRELOAD = ("_strptime,collections,contextlib,csv,dataclasses,datetime,decimal,enum,functools,"
           "heapq,io,itertools,json,math,operator,pathlib,re,textwrap,tomllib,typing")
NULL = "x = 1\n"
DATACLASS = '''from dataclasses import dataclass, field, asdict

@dataclass
class Item:
    name: str
    price: float
    tags: list = field(default_factory=list)
    quantity: int = 3

    def total(self) -> float:
        return self.price * self.quantity

item = Item("word", 7.5, tags=["a", "b"])
print(item)
assert item.total() == 7.5 * 3
assert asdict(item)["tags"] == ["a", "b"]
'''

# What the rich worker adds for that corpus: its examples' imports that are in SLOW_TO_FORK
# (src/lang/python/mod.rs).
RICH = "asyncio,statistics,tempfile"

# The preloads (argv[1]) imported as the worker imports them; a module missing on a version
# (tomllib before 3.11) is dropped, as the worker drops it.
IMPORT_PRELOADS = r'''
import sys
for n in sys.argv[1].split(","):
    try:
        __import__(n) if n else None
    except ImportError:
        pass
'''

FORK_PROBE = IMPORT_PRELOADS + r'''
import gc, os, sys, time
gc.collect(); gc.freeze()
ts = []
for _ in range(300):
    t = time.perf_counter(); pid = os.fork()
    if pid == 0:
        os._exit(0)
    ts.append(time.perf_counter() - t); os.waitpid(pid, 0)
print(sorted(ts)[len(ts) // 2])
'''

IN_PROCESS = IMPORT_PRELOADS + r'''
import contextlib, io, sys, time
code = compile(sys.stdin.read(), "block_0.py", "exec")
n = int(sys.argv[2])
with contextlib.redirect_stdout(io.StringIO()):
    t = time.process_time()
    for _ in range(n):
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    print(time.process_time() - t, file=sys.stderr)
'''


def interpreter(version: str, envs: Path | None = None) -> str:
    if envs is not None:
        found = [d / "bin" / "python" for d in sorted(envs.iterdir())
                 if re.search(rf"(^|[^0-9.]){re.escape(version)}([^0-9]|$)", d.name)
                 and (d / "bin" / "python").exists()]
        if len(found) != 1:
            sys.exit(f"no single environment of {version} in {envs}: {found}")
        return str(found[0])
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}.*/bin/python{version}"),
                   key=lambda p: int(p.parts[-3].split(".")[2]) if p.parts[-3].count(".") == 2
                   and p.parts[-3].split(".")[2].isdigit() else -1)
    if found:
        return str(found[-1])
    exe = shutil.which(f"python{version}")
    if exe is None:
        sys.exit(f"no python{version}")
    return exe


def corpus_kinds(corpus: Path):
    """(title, code) of the first ```python block under each distinct `## N. Title` of the
    corpus's Markdown files, in title order."""
    kinds = {}
    for md in sorted(corpus.glob("*.md")):
        text = md.read_text(encoding="utf-8")
        for m in re.finditer(r"^## \d+\. ([^\n]+)\n(?:(?!## )[^\n]*\n)*?```python\n(.*?)^```", text,
                             re.M | re.S):
            kinds.setdefault(m.group(1).strip(), m.group(2))
    return sorted(kinds.items())


def proc_stat(pid: int):
    """(minflt, cminflt, utime+stime, cutime+cstime) of a process, in faults and ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    g = lambda k: int(fields[k - 3])  # noqa: E731 (field numbers as in proc(5))
    return g(10), g(11), g(14) + g(15), g(16) + g(17)


def drive(py: str, snippet: str, n: int, preload: str, driver: Path = DRIVER,
          in_flight: int = 2, statements: list[str] | None = None):
    """Per-job (worker ms, worker faults, child ms, child faults) over n jobs."""
    # Laid out as docmatrix lays out a worker's folder (the worker empties its HOME and TMPDIR
    # between jobs, and refuses any that are not a docmatrix job folder's).
    base = Path(tempfile.mkdtemp(prefix="docmatrix-jobcost-",
                                 dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        jobs = []
        for i in range(n):
            d = base / f"j{i}"
            (d / "work").mkdir(parents=True)
            (d / "tmp").mkdir()
            (d / "block_0.py").write_text(snippet)
            for f in ("out", "err", "status"):
                os.mkfifo(d / f)
            jobs.append(d)
        home = base / "w0"
        (home / "work").mkdir(parents=True)
        (home / "tmp").mkdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home / "work"),
               "TMPDIR": str(home / "tmp")}
        argv = [py, "-I", "-c", driver.read_text(), "serve", preload, "shared"]
        if statements:
            # The import statements a rich worker replays (docmatrix's preload.py).
            (home / "preload.py").write_text("\n".join(statements) + "\n")
            argv.append(str(home / "preload.py"))
        worker = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        if not worker.stdout.readline().startswith(b"ready"):
            sys.exit(f"{py}: the worker did not start")
        before = proc_stat(worker.pid)
        inflight, sent, done = {}, 0, 0
        while done < n:
            while sent < n and len(inflight) < in_flight:
                d = jobs[sent]
                fds = [os.open(d / f, os.O_RDONLY | os.O_NONBLOCK) for f in ("out", "err", "status")]
                worker.stdin.write(f"run\t{sent}\t{d}\t-1\t-\n".encode())
                worker.stdin.flush()
                inflight[fds[2]] = fds
                sent += 1
            ready, _, _ = select.select(list(inflight), [], [])
            for fd in ready:
                if os.read(fd, 64):
                    for x in inflight.pop(fd):
                        os.close(x)
                    done += 1
        after = proc_stat(worker.pid)
        worker.stdin.close()
        worker.wait()
        last = (jobs[0] / "events.jsonl").read_text().split()[-1]
        if '"ok"' not in last:
            raise SnippetFailed(f"{py}: the snippet did not pass in the worker: {last}")
        tick = 1000 / os.sysconf("SC_CLK_TCK")
        return ((after[2] - before[2]) * tick / n, (after[0] - before[0]) / n,
                (after[3] - before[3]) * tick / n, (after[1] - before[1]) / n)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class SnippetFailed(Exception):
    pass


def bare_fork(py: str, preload: str) -> float:
    out = subprocess.run([py, "-I", "-c", FORK_PROBE, preload], capture_output=True, text=True,
                         check=True)
    return float(out.stdout) * 1000


def in_process(py: str, snippet: str, preload: str, n: int = 300) -> float:
    out = subprocess.run([py, "-I", "-c", IN_PROCESS, preload, str(n)], input=snippet,
                         capture_output=True, text=True, check=True)
    return float(out.stderr) * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=600, help="jobs per interpreter and snippet")
    ap.add_argument("--in-flight", type=int, default=2,
                    help="jobs the worker has at once (docmatrix gives a worker two)")
    ap.add_argument("--versions", default="3.9,3.10,3.11,3.12")
    ap.add_argument("--preload", default=PRELOAD, help="the lean worker's preloads")
    ap.add_argument("--rich", default=RICH,
                    help="modules that send a snippet importing one of them to a rich worker, "
                         "which preloads them too (as docmatrix's SLOW_TO_FORK does)")
    ap.add_argument("--driver", type=Path, default=DRIVER,
                    help="the driver to run (default src/lang/python/driver.py): to compare a change")
    ap.add_argument("--snippet", action="append", type=Path,
                    help="a Python file to run as the job (default: x = 1, and a dataclass)")
    ap.add_argument("--corpus", type=Path,
                    help="one example of each kind of a generated corpus (bench/gen_corpus.py, "
                         "../shared/bench/gen.py) as the snippets")
    ap.add_argument("--envs", type=Path,
                    help="take each version's interpreter from the environment folder under ENVS "
                         "whose name holds the version (bench/thirdparty.py's WORK/peers: "
                         "venv-3.12), to preload third-party libraries")
    ap.add_argument("--replay", action="store_true",
                    help="a rich worker also replays the snippet's own top-level import "
                         "statements, as docmatrix's rich worker replays the examples' (without "
                         "it, only the --rich modules are imported)")
    args = ap.parse_args()
    if args.corpus:
        snippets = corpus_kinds(args.corpus)
        if not snippets:
            sys.exit(f"no `## N. Title` + python block found in {args.corpus}")
    elif args.snippet:
        snippets = [(p.name, p.read_text()) for p in args.snippet]
    else:
        snippets = [("x = 1", NULL), ("dataclass", DATACLASS)]
    print(f"{args.jobs} jobs per row, {args.in_flight} in flight, one worker; CPU in ms per job")
    head = ("version", "snippet", "worker", "faults", "child", "faults", "total", "fork()",
            "in-process", "total / in-process")
    rows = []
    rich = [m for m in args.rich.split(",") if m]
    rich_preload = ",".join([args.preload] + rich)
    for v in args.versions.split(","):
        py = interpreter(v, args.envs.resolve() if args.envs else None)
        fork_ms = {p: bare_fork(py, p) for p in {args.preload, rich_preload}}
        for name, code in snippets:
            imports = re.findall(r"^\s*(?:import|from)\s+(\w+)", code, re.M)
            preload = rich_preload if any(m in rich for m in imports) else args.preload
            try:
                replay = None
                if args.replay and preload != args.preload:
                    replay = [line for line in code.splitlines()
                              if re.match(r"(import|from)\s+\w", line) and "(" not in line]
                w, wf, c, cf = drive(py, code, args.jobs, preload, args.driver, args.in_flight,
                                     replay)
            except SnippetFailed as e:
                if not args.corpus:
                    sys.exit(str(e))
                continue  # this kind of example fails on this version
            warm = in_process(py, code, preload)
            if preload != args.preload:
                name += " (rich)"
            rows.append((v, name, f"{w:.2f}", f"{wf:.0f}", f"{c:.2f}", f"{cf:.0f}", f"{w + c:.2f}",
                         f"{fork_ms[preload]:.2f}", f"{warm:.3f}",
                         f"{(w + c) / warm:.1f}x" if warm >= 0.01 else "-"))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(str(x).ljust(wd) for x, wd in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
