"""Measuring, for bench/run.py: run docmatrix, the peers and the fresh baseline, collect figures.

Every function here runs something or reads what a run left behind (its wall time, memory, CPU,
JSON report, strace log) and returns it; none compares a figure with a target (check.py) or
prints a result (report.py). `run_phases` runs every phase of the benchmark in order and
returns its `Results`. Progress lines go to standard error.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import tokenize
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Dict, List, Optional, Sequence, Tuple

import fresh

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
SHARED = REPO.parent / "shared" / "bench"
VERSIONS = fresh.VERSIONS
RUN_STATUSES = ("pass", "fail", "timeout")  # statuses of example x version cells actually run
PEER_LINE = re.compile(r"^peer (\S+) (\S+) ([0-9.]+)$")
MB = 1_000_000  # targets are in MB (10^6 bytes); memory is also shown in MiB
START = time.perf_counter()


class BenchError(Exception):
    """The benchmark could not run (build, corpus, docmatrix or peers failed)."""


def progress(message: str) -> None:
    """A progress line on standard error, with the seconds since the benchmark started."""
    print(f"[bench {time.perf_counter() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Measurement:
    """One timed docmatrix run."""
    wall: float                   # seconds from spawn to exit
    exit_code: int
    own_peak_kib: Optional[int]   # VmHWM of the docmatrix process itself (sampled in /proc)
    tree_peak_kib: int            # wait4 ru_maxrss: largest of docmatrix and its descendants
    stdout: str
    stderr: str
    own_cpu: Optional[Tuple[float, float]] = None  # user, system seconds of docmatrix itself


def process_cpu(pid: int) -> Optional[Tuple[float, float]]:
    """User and system CPU seconds of a process itself, all its threads, not its children
    (fields 14 and 15 of /proc/PID/stat; still readable while it is an unreaped zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, ValueError, IndexError):
        return None


def cpu_busy_seconds() -> Optional[float]:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # - idle, iowait
    except (OSError, ValueError, IndexError):
        return None


def background_busy(seconds: float = 1.0) -> Optional[float]:
    """Share of the machine's CPUs busy over `seconds` while this benchmark runs nothing:
    near 0 on an idle machine. (Busy time during a run cannot be split reliably between
    docmatrix's tree and other processes, since not all of its descendants are reaped by it.)
    """
    before = cpu_busy_seconds()
    time.sleep(seconds)
    after = cpu_busy_seconds()
    if before is None or after is None:
        return None
    return max(0.0, (after - before) / (seconds * (os.cpu_count() or 1)))


class PeakRssSampler(threading.Thread):
    """Polls VmHWM (the kernel's own peak-RSS counter) of a live process in /proc.

    VmHWM only grows, so the last value read before the process exits is its peak up to that
    moment; the process is sampled until it has exited (and before it is reaped).
    """

    def __init__(self, pid: int, interval: float = 0.01):
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.interval = interval
        self.peak_kib: Optional[int] = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                status = self.path.read_text()
            except OSError:
                return
            m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            if m:  # a zombie has no memory lines any more
                self.peak_kib = max(self.peak_kib or 0, int(m.group(1)))
            self.done.wait(self.interval)


def measure(cmd: Sequence[str], cwd: Path, out_dir: Path) -> Measurement:
    """Run `cmd` once with stdout/stderr sent to files in `out_dir`; time it and its memory.

    The child is waited for without being reaped (waitid WNOWAIT), so the sampler can stop
    before the pid could be reused; wait4 then reaps it and returns the same ru_maxrss that
    `/usr/bin/time -f %M` prints, which covers the interpreters docmatrix spawned too.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = out_dir / "docmatrix.stdout", out_dir / "docmatrix.stderr"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        sampler = PeakRssSampler(proc.pid)
        sampler.start()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
        own_cpu = process_cpu(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(wall, proc.returncode, sampler.peak_kib, usage.ru_maxrss,
                       stdout_path.read_text(encoding="utf-8", errors="replace"),
                       stderr_path.read_text(encoding="utf-8", errors="replace"), own_cpu)


def validate_cmd(binary: Path, jobs: Optional[int], cache_dir: Path, *extra: str) -> List[str]:
    """`docmatrix validate . --format json` over VERSIONS with a cache directory of our own."""
    cmd = [str(binary), "validate", ".", "--format", "json", *extra,
           "--python", ",".join(VERSIONS), "--cache-dir", str(cache_dir)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    return cmd


def parse_report(m: Measurement) -> dict:
    """docmatrix's JSON report from a measurement, or BenchError."""
    tail = "\n".join(m.stderr.splitlines()[-15:])
    if m.exit_code not in (0, 1):
        raise BenchError(f"docmatrix exited with status {m.exit_code}:\n{tail}")
    try:
        report = json.loads(m.stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f"docmatrix did not print JSON ({exc}); stderr:\n{tail}") from None
    if not isinstance(report, dict) or not isinstance(report.get("examples"), list):
        raise BenchError("docmatrix's JSON has no `examples` list")
    # The corpora's expected verdicts are for their Python blocks; their `console` blocks
    # (checked statically, not run) are examples too since docmatrix checks shell, but they
    # have no line in the TSVs.
    report["examples"] = [e for e in report["examples"] if e.get("language", "python") == "python"]
    return report


@dataclass
class Run:
    """One timed `docmatrix validate` and its report."""
    label: str
    corpus: Path
    m: Measurement
    report: dict

    @property
    def examples(self) -> int:
        return len(self.report["examples"])


def run_docmatrix(binary: Path, corpus: Path, jobs: Optional[int], out_dir: Path,
                  cache_dir: Path, label: str = "run") -> Run:
    """Time `docmatrix validate` on the corpus with the given cache directory."""
    m = measure(validate_cmd(binary, jobs, cache_dir), corpus, out_dir)
    return Run(label, corpus, m, parse_report(m))


def cells(report: dict):
    """(example, version, result) of every cell of a report."""
    for example in report["examples"]:
        for version, result in example["results"].items():
            yield example, version, result


def cache_counts(report: dict) -> Tuple[int, int, int]:
    """(cells, cells executed in this run, cells served from the cache).

    Executed: status pass, fail or timeout and not `cached`.
    """
    total = executed = cached = 0
    for _, _, result in cells(report):
        total += 1
        if result.get("cached"):
            cached += 1
        elif result.get("status") in RUN_STATUSES:
            executed += 1
    return total, executed, cached


def status_counts(report: dict) -> Dict[str, Counter]:
    """Per version, how many examples got each status."""
    counts: Dict[str, Counter] = {v: Counter() for v in VERSIONS}
    for _, version, result in cells(report):
        counts.setdefault(version, Counter())[result.get("status", "?")] += 1
    return counts


def parse_peer_lines(text: str) -> Dict[str, Dict[str, float]]:
    """`peer <tool> <version|all> <seconds>` lines -> {tool: {version or "all": seconds}}."""
    peers: Dict[str, Dict[str, float]] = defaultdict(dict)
    for line in text.splitlines():
        m = PEER_LINE.match(line.strip())
        if m:
            peers[m.group(1)][m.group(2)] = float(m.group(3))
    return dict(peers)


def peer_total(figures: Dict[str, float]) -> float:
    return figures.get("all", sum(figures.values()))


def run_peers(script: Path, corpus: Path) -> Dict[str, Dict[str, float]]:
    """Run the peers script on the corpus for VERSIONS and parse its figures."""
    cmd = [str(script)] if os.access(script, os.X_OK) else ["bash", str(script)]
    progress(f"peers: {script} (the first run creates venvs)")
    proc = subprocess.run(cmd + [str(corpus), *VERSIONS], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, text=True)
    peers = parse_peer_lines(proc.stdout)
    if proc.returncode != 0 or not peers:
        raise BenchError(f"peers script exited with {proc.returncode} and printed:\n{proc.stdout}")
    return peers


def fresh_baseline(corpus: Path, report: dict) -> float:
    """Seconds to run every block as its own `python file.py` per version, 2 at a time.

    Uses the interpreters docmatrix reported, else the same discovery as bench/fresh.py.
    """
    interpreters = {}
    for version in VERSIONS:
        found = (report.get("interpreters") or {}).get(version)
        path = found["path"] if found else fresh.find_interpreter(version)
        if path is None:
            raise BenchError(f"fresh baseline: no interpreter for {version}")
        interpreters[version] = path
    progress("fresh-process baseline (one python process per block and version, 2 at a time)")
    _, seconds = fresh.run_fresh(fresh.extract_blocks(corpus), interpreters, parallel=2)
    return seconds


# --- counting the processes a run starts (strace) ----------------------------------------

EXECVE = re.compile(r'^(\d+)\s+execve\("((?:[^"\\]|\\.)*)"')
RESUMED = re.compile(r"^(\d+)\s+<\.\.\. execve resumed>.*=\s+(-?\d+)")
RESULT = re.compile(r"\)\s+=\s+(-?\d+)(?:\s.*)?$")
PYTHON_NAME = re.compile(r"^python[0-9.]*$")


def parse_strace(text: str) -> List[Tuple[int, str]]:
    """(pid, program path) of every successful execve in `strace -f -e trace=execve` output,
    including calls strace split into `<unfinished ...>` and `<... execve resumed>`."""
    execs, pending = [], {}
    for line in text.splitlines():
        m = EXECVE.match(line)
        if m:
            pid, path = int(m.group(1)), m.group(2)
            if line.rstrip().endswith("<unfinished ...>"):
                pending[pid] = path
                continue
            r = RESULT.search(line)
            if r and r.group(1) == "0":
                execs.append((pid, path))
            continue
        m = RESUMED.match(line)
        if m:
            path = pending.pop(int(m.group(1)), None)
            if path is not None and m.group(2) == "0":
                execs.append((int(m.group(1)), path))
    return execs


def is_python_interpreter(path: str) -> bool:
    """An executable named python* that is a binary (not a shim script such as pyenv's)."""
    if not PYTHON_NAME.match(os.path.basename(path)):
        return False
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return True  # not visible from here (inside a sandbox): count it, to be safe


@dataclass
class ProcessCount:
    """What a run executed, from strace; a non-empty `reason` means it was not measured."""
    reason: str = ""                              # why not measured
    execs: List[Tuple[int, str]] = field(default_factory=list)
    interpreters: List[str] = field(default_factory=list)
    cached: Optional[Tuple[int, int, int]] = None  # cache_counts of the traced run

    @property
    def measured(self) -> bool:
        return not self.reason

    def programs(self) -> str:
        """The programs executed, most frequent first: `docmatrix x1, bwrap x1, ...`."""
        names = Counter(os.path.basename(path) for _, path in self.execs)
        return (", ".join(f"{n} x{c}" for n, c in names.most_common(8))
                + (" ..." if len(names) > 8 else ""))


def count_processes(binary: Path, corpus: Path, jobs: Optional[int], cache_dir: Path,
                    out_dir: Path) -> ProcessCount:
    """Run the re-run once more under `strace -f -e trace=execve` and list what it executed.

    The traced run has the same options as the timed one (the sandbox mode is part of
    docmatrix's cache key, so `--sandbox none` here would run everything again).
    """
    strace = shutil.which("strace")
    if strace is None:
        return ProcessCount(reason="strace is not installed")
    trace = out_dir / "strace.txt"
    cmd = [strace, "-f", "-qq", "-e", "trace=execve", "-o", str(trace), "--",
           *validate_cmd(binary, jobs, cache_dir)]
    m = measure(cmd, corpus, out_dir)
    try:
        report = parse_report(m)
        text = trace.read_text(encoding="utf-8", errors="replace")
    except (BenchError, OSError) as exc:
        return ProcessCount(reason=f"strace run failed: {str(exc).splitlines()[0]}")
    execs = parse_strace(text)
    if not any(path == str(binary) for _, path in execs):
        return ProcessCount(reason="strace saw no execve of docmatrix (ptrace not permitted?)")
    return ProcessCount(execs=execs,
                        interpreters=[p for _, p in execs if is_python_interpreter(p)],
                        cached=cache_counts(report))


# --- editing one example -----------------------------------------------------------------

@dataclass
class Edit:
    file: str          # relative to the corpus
    line: int          # the example's opening fence, 1-based (docmatrix's `line`)
    edited_line: int   # the Markdown line changed, 1-based
    before: str
    after: str


FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+ tokenizes f-strings
FSTRING_END = getattr(tokenize, "FSTRING_END", None)
ONE_LINE_STRING = re.compile(r"""^[A-Za-z]{0,2}(?:"[^"\\\n]*"|'[^'\\\n]*')$""")


def edit_code(code: str, numbers: bool = False) -> Optional[Tuple[int, str]]:
    """(0-based line, new text) changing one literal of a python block, or None.

    Without `numbers`: the first one-line string literal (f-strings included) passed directly
    as an argument of a `print(...)` call that starts its line gets " (edited)" appended
    inside its quotes, which changes the example's code and output but not its verdict.
    With `numbers`: the first integer literal is incremented (which may change the verdict).
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    lines = code.splitlines()
    depth = -1           # bracket depth inside a print call; -1 outside one
    fstring_row = None   # row of a 3.12 f-string argument being tokenized
    previous = ""
    for t in tokens:
        if t.start[0] > len(lines):
            break
        row, c0, c1 = t.start[0] - 1, t.start[1], t.end[1]
        text = lines[row]
        if numbers:
            if t.type == tokenize.NUMBER and t.string.isdigit():
                return row, text[:c0] + str(int(t.string) + 1) + text[c1:]
        elif t.type == tokenize.NAME and t.string == "print" and not text[:c0].strip():
            depth = 0
        elif depth < 0:
            pass
        elif t.type == FSTRING_START and depth == 1 and previous in ("(", ","):
            fstring_row = row
        elif t.type == FSTRING_END and fstring_row is not None:
            if fstring_row == row:
                return row, text[:c0] + " (edited)" + text[c0:]
            fstring_row = None
        elif fstring_row is not None:
            pass
        elif t.type == tokenize.OP and t.string in "([{":
            depth += 1
        elif t.type == tokenize.OP and t.string in ")]}":
            depth -= 1
            if depth == 0:
                depth = -1
        elif depth == 1 and t.type == tokenize.STRING and ONE_LINE_STRING.match(t.string) \
                and previous in ("(", ","):
            return row, text[:c1 - 1] + " (edited)" + text[c1 - 1:]
        previous = t.string
    return None


def python_blocks(lines: Sequence[str]) -> List[Tuple[int, int]]:
    """(opening fence index, closing fence index) of each top-level python block."""
    blocks, fence = [], None  # fence: (marker char, length, is python, opening index)
    for i, line in enumerate(lines):
        m = fresh.FENCE.match(line)
        if fence is None:
            if m:
                fence = (m.group(1)[0], len(m.group(1)), m.group(2).lower() in fresh.PYTHON_LANGS,
                         i)
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] \
                and not line.strip().strip(fence[0]):
            if fence[2]:
                blocks.append((fence[3], i))
            fence = None
    return blocks


def edit_one_example(corpus: Path) -> Edit:
    """Change one literal of one python example of `corpus` in place and say where: the first
    example, in path order, with a string literal on a `print(` line, else the first with an
    integer literal (see edit_code)."""
    guides = [(g, g.read_text(encoding="utf-8").splitlines(keepends=True))
              for g in sorted(corpus.rglob("*.md"))]
    for numbers in (False, True):
        for guide, lines in guides:
            for opening, closing in python_blocks(lines):
                change = edit_code("".join(lines[opening + 1:closing]), numbers)
                if change is None:
                    continue
                row, new = change
                index = opening + 1 + row
                before = lines[index]
                lines[index] = new + ("\n" if before.endswith("\n") else "")
                guide.write_text("".join(lines), encoding="utf-8")
                return Edit(guide.relative_to(corpus).as_posix(), opening + 1, index + 1,
                            before.rstrip("\n"), new)
    raise BenchError(f"no python example of {corpus} could be edited")


def find_example(report: dict, edit: Edit) -> Optional[dict]:
    for example in report["examples"]:
        if PurePath(example["file"]).as_posix() == PurePath(edit.file).as_posix() \
                and example["line"] == edit.line:
            return example
    return None


# --- corpora -------------------------------------------------------------------------------

def generate_corpus(out: Path, files: int, blocks: int, seed: int) -> Path:
    cmd = [sys.executable, str(BENCH / "gen_corpus.py"), str(out),
           "--files", str(files), "--blocks", str(blocks), "--seed", str(seed)]
    if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
        raise BenchError(f"corpus generation failed: {' '.join(cmd)}")
    return out


def prepare_corpus(args: argparse.Namespace, tmp: Path) -> Path:
    """The corpus directory: --corpus, or generated into `tmp` (shared gen.py or ours)."""
    if args.corpus:
        return args.corpus.resolve()
    corpus = tmp / "corpus"
    if args.shared:
        cmd = [sys.executable, str(SHARED / "gen.py"), str(corpus)]
        if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
            raise BenchError(f"corpus generation failed: {' '.join(cmd)}")
        return corpus
    return generate_corpus(corpus, args.files, args.blocks, args.seed)


def markdown_files(corpus: Path) -> List[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix in (".md", ".markdown") and p.is_file())


def build_extraction_corpus(sources: Sequence[Path], out: Path, min_bytes: int
                            ) -> Tuple[int, int]:
    """Copy the Markdown files of `sources` into `out/copy_NNNN/...` until at least `min_bytes`
    are written (real copies, not links). Returns (files, bytes)."""
    originals = [(src, p) for src in sources for p in markdown_files(src)]
    if not originals:
        raise BenchError("no Markdown files to build the extraction corpus from")
    files = written = 0
    copy = 0
    while written < min_bytes:
        for src, path in originals:
            dest = out / f"copy_{copy:04d}" / src.name / path.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            files += 1
            written += dest.stat().st_size
        copy += 1
    return files, written


@dataclass
class Extraction:
    files: int
    bytes: int
    walls: List[float]
    own_peak_kib: Optional[int]
    internal: Optional[float]   # docmatrix's own "read and planned in X s"

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def mb_s(self) -> float:
        return self.bytes / MB / self.best


def extraction_speed(binary: Path, corpus: Path, cache_dir: Path, out_dir: Path,
                     repeats: int = 3) -> Extraction:
    """Time `validate . --format json --dry-run` on `corpus` `repeats` times, then once with the
    terminal format to read docmatrix's own timing."""
    walls, peak, summary = [], None, {}
    for i in range(repeats):
        progress(f"extraction: dry run {i + 1}/{repeats}")
        m = measure(validate_cmd(binary, None, cache_dir, "--dry-run"), corpus, out_dir)
        if m.exit_code not in (0, 1):
            raise BenchError(f"dry run exited with {m.exit_code}: {m.stderr[-500:]}")
        try:
            summary = json.loads(m.stdout)
        except json.JSONDecodeError:
            raise BenchError(f"dry run did not print JSON: {m.stdout[:200]!r}") from None
        walls.append(m.wall)
        peak = max(peak or 0, m.own_peak_kib or 0) or None
    cmd = [str(binary), "validate", ".", "--dry-run", "--python", ",".join(VERSIONS),
           "--cache-dir", str(cache_dir), "--no-progress", "--color", "never"]
    proc = subprocess.run(cmd, cwd=corpus, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    found = re.search(r"read and planned in ([0-9.]+)\s*s", proc.stdout + proc.stderr)
    return Extraction(int(summary.get("files", 0)), int(summary.get("bytes", 0)), walls, peak,
                      float(found.group(1)) if found else None)


# --- units and the machine ------------------------------------------------------------

def mib(kib: Optional[int]) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def mb(kib: Optional[int]) -> str:
    return "n/a" if kib is None else f"{kib * 1024 / MB:.1f} MB"


def build() -> None:
    progress("cargo build --release")
    if subprocess.run(["cargo", "build", "--release"], cwd=REPO).returncode != 0:
        raise BenchError("cargo build --release failed")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(binary: Path) -> List[Tuple[str, str]]:
    """nproc, CPU model, memory, kernel, load, docmatrix's version."""
    try:
        nproc = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        nproc = str(os.cpu_count())
    memory = "unknown"
    try:
        m = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        memory = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else memory
    except OSError:
        pass
    try:
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = "unknown"
    return [("date", time.strftime("%Y-%m-%d %H:%M %Z")),
            ("nproc", nproc), ("CPU", cpu_model()), ("memory", memory),
            ("system", f"{platform.system()} {platform.release()}"),
            ("docmatrix", f"{version} ({binary})")]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (they include the benchmark's own recent work)."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the phases -------------------------------------------------------------------------

@dataclass
class Results:
    """Everything measured, for the final report."""
    cold: Run
    rerun: Optional[Run] = None
    processes: Optional[ProcessCount] = None
    edit: Optional[Edit] = None
    edited: Optional[Run] = None
    peers: Dict[str, Dict[str, float]] = field(default_factory=dict)
    fresh_seconds: Optional[float] = None
    scale_base: Optional[Run] = None
    scale_10x: Optional[Run] = None
    # The 10x corpus again, same cache: its shell blocks' static checks come from the cache too.
    scale_rerun: Optional[Run] = None
    scale_processes: Optional[ProcessCount] = None
    extraction: Optional[Extraction] = None
    verdicts_ok: Optional[bool] = None
    background: List[Tuple[str, Optional[float]]] = field(default_factory=list)
    # Wall times of every cold run on the corpus, the first one (`cold`) included.
    cold_walls: List[float] = field(default_factory=list)
    # The repeated cold runs (`cold #2`, ...), each with an empty cache of its own.
    cold_repeats: List[Run] = field(default_factory=list)
    # The peers script's figures of each repetition.
    peer_runs: List[Dict[str, Dict[str, float]]] = field(default_factory=list)
    # What was benchmarked, for the report's header: the binary, the corpus, its expected
    # verdicts (None: not checked), the machine (machine_facts) and the load at the start.
    binary: Optional[Path] = None
    corpus: Optional[Path] = None
    verdicts_path: Optional[Path] = None
    facts: List[Tuple[str, str]] = field(default_factory=list)
    load: str = ""

    @property
    def cold_wall(self) -> float:
        """The median cold wall time: the figure the ratios use."""
        return statistics.median(self.cold_walls or [self.cold.m.wall])


def median_peers(runs: Sequence[Dict[str, Dict[str, float]]]) -> Dict[str, Dict[str, float]]:
    """Per tool and per version (and total), the median over repeated peer runs."""
    out: Dict[str, Dict[str, float]] = {}
    for tool in sorted({t for run in runs for t in run}):
        keys = sorted({k for run in runs for k in run.get(tool, {})})
        out[tool] = {k: statistics.median(run[tool][k] for run in runs
                                          if k in run.get(tool, {})) for k in keys}
    return out


def run_phases(args: argparse.Namespace, tmp: Path) -> Results:
    """Build docmatrix (unless told not to) and run every phase the options ask for, in order,
    with every corpus and cache directory inside `tmp`; BenchError if one cannot run."""
    load = load_average()
    binary = (args.binary or REPO / "target" / "release" / "docmatrix").resolve()
    if not (args.no_build or args.binary):
        build()
    if not binary.is_file():
        raise BenchError(f"no docmatrix binary at {binary}")
    facts = machine_facts(binary)
    corpus = prepare_corpus(args, tmp)
    verdicts_path = args.verdicts
    if verdicts_path is None and (corpus / "expected.tsv").is_file():
        verdicts_path = corpus / "expected.tsv"
    cache = tmp / "cache"
    runs_dir = tmp / "runs"

    background = [("before the cold run", background_busy())]
    progress(f"cold run (empty cache {cache}) on {corpus}")
    r = Results(run_docmatrix(binary, corpus, args.jobs, runs_dir / "cold", cache,
                              "cold, empty cache"), background=background,
                binary=binary, corpus=corpus, verdicts_path=verdicts_path, facts=facts,
                load=load)
    progress(f"cold run: {r.cold.m.wall:.2f} s")
    progress("re-run, nothing changed, same cache")
    r.rerun = run_docmatrix(binary, corpus, args.jobs, runs_dir / "rerun", cache,
                            "re-run, nothing changed")
    progress(f"re-run: {r.rerun.m.wall:.3f} s")
    if not args.skip_strace:
        progress("re-run again under strace -f -e trace=execve (counting interpreters)")
        r.processes = count_processes(binary, corpus, args.jobs, cache, runs_dir / "strace")
    if not args.skip_edit:
        edited_corpus = tmp / "corpus-edited"
        shutil.copytree(corpus, edited_corpus)
        r.edit = edit_one_example(edited_corpus)
        progress(f"edited {r.edit.file}:{r.edit.edited_line}; running the copy, same cache")
        r.edited = run_docmatrix(binary, edited_corpus, args.jobs, runs_dir / "edited", cache,
                                 "edited copy, same cache")
    r.cold_walls = [r.cold.m.wall]
    for i in range(args.repeat):
        if args.peers:
            r.peer_runs.append(run_peers(args.peers.resolve(), corpus))
        if i + 1 < args.repeat:
            n = i + 2
            progress(f"cold run #{n} of {args.repeat} (empty cache)")
            again = run_docmatrix(binary, corpus, args.jobs, runs_dir / f"cold-{n}",
                                  tmp / f"cache-cold-{n}", f"cold #{n}")
            r.cold_walls.append(again.m.wall)
            r.cold_repeats.append(again)
            progress(f"cold run #{n}: {again.m.wall:.2f} s")
    if r.peer_runs:
        r.peers = median_peers(r.peer_runs)
    if args.fresh_baseline:
        r.fresh_seconds = fresh_baseline(corpus, r.cold.report)
    if not args.skip_scale:
        own_default = not (args.corpus or args.shared)
        if own_default:
            r.scale_base = r.cold
        else:
            progress(f"scale: cold run on a generated {args.files} x {args.blocks} corpus")
            base = generate_corpus(tmp / "scale-1x", args.files, args.blocks, args.seed)
            r.scale_base = run_docmatrix(binary, base, args.jobs, runs_dir / "scale-1x",
                                         tmp / "cache-scale-1x", "1x generated, cold")
        progress(f"scale: generating {10 * args.files} x {args.blocks} and running it cold "
                 "(the longest phase)")
        big = generate_corpus(tmp / "scale-10x", 10 * args.files, args.blocks, args.seed)
        r.background.append(("before the 10x run", background_busy()))
        r.scale_10x = run_docmatrix(binary, big, args.jobs, runs_dir / "scale-10x",
                                    tmp / "cache-scale-10x", "10x generated, cold")
        progress(f"scale: {r.scale_10x.m.wall:.2f} s")
        progress("scale: the 10x corpus again, same cache")
        r.scale_rerun = run_docmatrix(binary, big, args.jobs, runs_dir / "scale-10x-rerun",
                                      tmp / "cache-scale-10x", "10x generated, re-run")
        progress(f"scale: re-run {r.scale_rerun.m.wall:.2f} s")
        if not args.skip_strace:
            r.scale_processes = count_processes(binary, big, args.jobs, tmp / "cache-scale-10x",
                                                runs_dir / "strace-10x")
    if not args.skip_extraction:
        sources = [tmp / "scale-10x"] if r.scale_10x is not None else [corpus]
        extraction_dir = tmp / "extraction"
        files, written = build_extraction_corpus(sources, extraction_dir,
                                                 int(args.extraction_mb * MB))
        progress(f"extraction: {files} files, {written / MB:.0f} MB of Markdown")
        r.background.append(("before the extraction", background_busy()))
        try:
            r.extraction = extraction_speed(binary, extraction_dir, tmp / "cache-extraction",
                                            runs_dir / "extraction")
        finally:
            shutil.rmtree(extraction_dir, ignore_errors=True)

    r.background.append(("at the end", background_busy()))
    return r
