#!/usr/bin/env python3
"""One-command benchmark of docmatrix: every figure of the speed issue, and verdict correctness.

    python3 bench/run.py                               # own corpus, every phase
    python3 bench/run.py --shared --fresh-baseline     # shared corpus, peers, fresh baseline
    python3 bench/run.py --skip-scale --skip-extraction  # the quick phases only

Phases, in this order (progress lines go to standard error, the results to standard output):

 1. cold: `docmatrix validate . --format json --python 3.9,3.10,3.11,3.12 --cache-dir EMPTY`
    on the corpus (its wall time, docmatrix's own peak memory, its verdicts cell by cell);
 2. re-run: the same command with the same, now filled, cache directory (wall time, every cell
    `cached`), then once more under `strace -f -e trace=execve` (when strace is installed) to
    count the Python interpreters started;
 3. edit: a copy of the corpus with one string literal of one example changed, same cache: how
    many cells did not come from the cache (4 expected: one example x four versions);
 4. peers and the fresh-process baseline (with --peers / --shared, --fresh-baseline);
 5. scale: a 10x corpus of bench/gen_corpus.py, cold, against the 1x one, then the 10x corpus
    again with the same cache (nothing changed: its shell blocks' static checks come from the
    cache too; what it executed is counted under strace) (--skip-scale);
 6. extraction: `validate --dry-run --format json` over >= 200 MB of Markdown, best of 3
    (--skip-extraction).

Every run uses a cache directory inside a temporary directory, never the user's cache. At the
end a table prints each target of issue 5 with the measured ratio and PASS/MISS. Exit status:
0 when every verdict check agrees (cold run against the expected TSV; re-run, edited run and
10x run against it or against the cold run), 1 on any mismatch, 2 when the benchmark itself
could not run. A missed speed or memory target does not change the exit status.
See bench/README.md.
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
import tempfile
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
MAX_MISMATCHES_SHOWN = 20
MB = 1_000_000  # targets are in MB (10^6 bytes); memory is also shown in MiB
START = time.perf_counter()

# Targets of issue 5.
COLD_VS_PEER = 1.0          # cold wall time / the faster peer's four-version total
COLD_VS_FRESH = 0.15        # cold wall time / one fresh `python file.py` per cell, 2 at a time
RERUN_VS_PEER = 0.02        # unchanged re-run / the faster peer's total
OWN_PEAK_MB = 100           # docmatrix's own VmHWM during the cold run
SCALE_RATIO = 11.0          # 10x corpus cold / 1x corpus cold
EXTRACTION_MB_S = 100.0     # Markdown read by `--dry-run`, MB/s
BUSY = 0.10                 # share of the CPUs busy while the benchmark is idle: too much


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


def percent(share: Optional[float]) -> str:
    return "n/a" if share is None else f"{100 * share:.0f}%"


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


def comparable(result: dict) -> dict:
    """A result without the fields that may differ between runs (docs/json.md)."""
    return {k: v for k, v in result.items() if k not in ("duration_ms", "cached")}


def compare_reports(before: dict, after: dict, skip: Sequence[Tuple[str, int]] = ()
                    ) -> List[str]:
    """Cells whose result differs between two reports of the same corpus, ignoring duration
    and the `cached` flag; examples `(file, line)` in `skip` are left out."""
    def index(report: dict) -> Dict[Tuple[str, int], dict]:
        return {(e["file"], e["line"]): e for e in report["examples"]}

    old, new = index(before), index(after)
    differences = []
    for key in sorted(old.keys() | new.keys()):
        if key in skip:
            continue
        if key not in old or key not in new:
            differences.append(f"{key[0]}:{key[1]}: only in the "
                               + ("second" if key in new else "first") + " report")
            continue
        for version in sorted(old[key]["results"].keys() | new[key]["results"].keys()):
            a = comparable(old[key]["results"].get(version, {}))
            b = comparable(new[key]["results"].get(version, {}))
            if a != b:
                changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                differences.append(f"{key[0]}:{key[1]} {version}: {', '.join(changed)} differ "
                                   f"({a.get('status')} -> {b.get('status')})")
    return differences


def compare_findings(before: dict, after: dict) -> List[str]:
    """Examples whose static findings differ between two reports of one corpus."""
    def index(report: dict) -> Dict[Tuple[str, int], list]:
        return {(e["file"], e["line"]): e.get("findings", []) for e in report["examples"]}
    a, b = index(before), index(after)
    return [f"{f}:{line}: {a.get((f, line))} -> {b.get((f, line))}"
            for f, line in sorted(set(a) | set(b)) if a.get((f, line)) != b.get((f, line))]


def md_lines_outside(report: dict) -> List[str]:
    """Cells whose `md_line` lies outside their example's fences (a cached result shared by
    two identical examples must still point into its own example)."""
    outside = []
    for example, version, result in cells(report):
        line = result.get("md_line")
        if line is not None and not example["line"] <= line <= example.get("end_line", line):
            outside.append(f"{example['file']}:{example['line']} {version}: md_line {line} "
                           f"outside {example['line']}-{example.get('end_line')}"
                           + (" (cached)" if result.get("cached") else ""))
    return outside


def block_results(report: dict) -> Dict[str, dict]:
    """Map each example of the report to its block id `<file stem>_b<NN>.py`.

    NN numbers the examples (python blocks) of one file in line order from 00.
    """
    by_file: Dict[str, List[dict]] = defaultdict(list)
    for example in report["examples"]:
        by_file[example["file"]].append(example)
    owners: Dict[str, str] = {}
    blocks = {}
    for file, examples in by_file.items():
        stem = PurePath(file).stem
        if stem in owners:
            raise BenchError(f"two files with the same stem {stem!r}: {owners[stem]}, {file}")
        owners[stem] = file
        for index, example in enumerate(sorted(examples, key=lambda e: e["line"])):
            blocks[f"{stem}_b{index:02d}.py"] = example
    return blocks


def cell_agrees(cell: str, result: dict) -> bool:
    """Whether one docmatrix result meets an expected cell: `pass` or `FAIL <ExceptionType>`."""
    if cell == "pass":
        return result.get("status") == "pass"
    if cell.startswith("FAIL "):
        return result.get("status") == "fail" and result.get("error_type") == cell[5:]
    raise BenchError(f"unknown verdict cell {cell!r}")


def describe_result(example: dict, version: str) -> str:
    result = example["results"].get(version)
    if result is None:
        return "no result"
    text = result.get("status", "?")
    if result.get("error_type"):
        text += f" {result['error_type']}"
    if result.get("error"):
        text += f" ({result['error'][:80]})"
    return f"{text} at {example['file']}:{result.get('md_line') or example['line']}"


def check_verdicts(expected: fresh.Verdicts, blocks: Dict[str, dict],
                   versions: Sequence[str]) -> Tuple[int, List[str]]:
    """Compare every cell of `versions`; return (cells checked, mismatch descriptions)."""
    mismatches = []
    checked = 0
    for block_id in sorted(expected.keys() | blocks.keys()):
        row, example = expected.get(block_id), blocks.get(block_id)
        if row is None:
            mismatches.append(f"{block_id}: reported by docmatrix "
                              f"({example['file']}:{example['line']}) but not in the verdicts")
            continue
        if example is None:
            mismatches.append(f"{block_id}: in the verdicts but not reported by docmatrix")
            continue
        for version in versions:
            checked += 1
            result = example["results"].get(version)
            if result is None or not cell_agrees(row[version], result):
                mismatches.append(f"{block_id} {version}: expected {row[version]}, "
                                  f"got {describe_result(example, version)}")
    return checked, mismatches


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


# --- output ------------------------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A plain text table; `align` has one `l` or `r` per column (default: first `l`, rest `r`)."""
    align = align or "l" + "r" * (len(headers) - 1)
    cells_ = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells_) for i in range(len(headers))]

    def fmt(row: List[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(row, widths, align)).rstrip()

    return "\n".join([fmt(cells_[0]), fmt(["-" * w for w in widths])]
                     + [fmt(r) for r in cells_[1:]])


def mib(kib: Optional[int]) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def mb(kib: Optional[int]) -> str:
    return "n/a" if kib is None else f"{kib * 1024 / MB:.1f} MB"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


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


def report_figures(binary: Path, corpus: Path, m: Measurement, report: dict,
                   jobs: Optional[int], facts: Sequence[Tuple[str, str]] = ()) -> None:
    """Print the machine, the cold run's headline figures and the per-version status counts."""
    examples = len(report["examples"])
    counts = status_counts(report)
    total, executed, cached = cache_counts(report)
    print(f"\ndocmatrix benchmark on {platform.system()}, {os.cpu_count()} CPUs")
    for key, value in facts:
        print(f"  {key:<26} {value}")
    print(f"  {'corpus':<26} {corpus}")
    print(f"  {'command':<26} docmatrix validate . --format json --python {','.join(VERSIONS)}"
          " --cache-dir EMPTY_DIR" + (f" --jobs {jobs}" if jobs is not None else "") + "\n")
    interpreters = report.get("interpreters") or {}
    rows = [
        ("files / examples", f"{report.get('summary', {}).get('files', '?')} / {examples}"),
        ("interpreters", ", ".join(f"{(interpreters.get(v) or {}).get('version', v + '?')}"
                                   for v in VERSIONS)),
        ("sandbox", report.get("sandbox", "?")),
        ("wall time (cold: empty cache)", f"{m.wall:.2f} s"),
        ("examples/s", f"{examples / m.wall:.1f}"),
        ("cells run / from cache", f"{executed} / {cached} of {total}"
         + ("  (identical examples share one result)" if cached else "")),
        ("runs/s (cells actually run)", f"{executed / m.wall:.1f}"),
        ("CPU of the docmatrix process itself", "n/a" if m.own_cpu is None else
         "{:.2f} s user + {:.2f} s system".format(*m.own_cpu)),
        ("peak RSS, docmatrix process", f"{mib(m.own_peak_kib)} ({mb(m.own_peak_kib)})"),
        ("peak RSS, largest process of its tree", mib(m.tree_peak_kib)),
        ("exit status", m.exit_code),
        ("warnings / errors in report",
         f"{len(report.get('warnings', []))} / {len(report.get('errors', []))}"),
    ]
    print(table(("figure", "value"), rows, "ll") + "\n")
    print(table(("version", "pass", "fail", "timeout", "other"),
                [(v, c["pass"], c["fail"], c["timeout"],
                  sum(c.values()) - sum(c[s] for s in RUN_STATUSES))
                 for v, c in counts.items()]) + "\n")
    for error in report.get("errors", [])[:5]:
        print(f"report error: {error.get('file')}:{error.get('line')}: {error.get('message')}")


def report_comparisons(wall: float, peers: Dict[str, Dict[str, float]],
                       fresh_seconds: Optional[float], rerun: Optional[float] = None,
                       cold_walls: Sequence[float] = (),
                       peer_runs: Sequence[Dict[str, Dict[str, float]]] = ()) -> None:
    """Print docmatrix's wall times beside each peer's and the fresh baseline's (medians of
    the repeated runs, each run listed below the table)."""
    rows = []
    for tool, figures in sorted(peers.items()):
        total = peer_total(figures)
        rows.append([tool] + [f"{figures[v]:.2f}" if v in figures else "-" for v in VERSIONS]
                    + [f"{total:.2f}", ratio(wall, total)]
                    + ([ratio(rerun, total)] if rerun is not None else []))
    if fresh_seconds is not None:
        rows.append(["fresh process per example"] + ["-"] * len(VERSIONS)
                    + [f"{fresh_seconds:.2f}", ratio(wall, fresh_seconds)]
                    + ([ratio(rerun, fresh_seconds)] if rerun is not None else []))
    if not rows:
        return
    label = ("docmatrix, cold (one run)" if len(cold_walls) < 2
             else f"docmatrix, cold (median of {len(cold_walls)})")
    rows.insert(0, [label] + ["-"] * len(VERSIONS)
                + [f"{wall:.2f}", "1.00"] + ([ratio(rerun, wall)] if rerun is not None else []))
    if rerun is not None:
        rows.insert(1, ["docmatrix, re-run (cached)"] + ["-"] * len(VERSIONS)
                    + [f"{rerun:.2f}", ratio(wall, rerun), "1.00"])
    headers = ["wall time, seconds"] + list(VERSIONS) + ["total", "cold/total"]
    print(table(headers + (["re-run/total"] if rerun is not None else []), rows))
    print("(a ratio below 1 means docmatrix is faster)")
    if len(cold_walls) > 1:
        print("docmatrix cold runs, s: " + ", ".join(f"{w:.2f}" for w in cold_walls))
    if len(peer_runs) > 1:
        for tool in sorted(peers):
            totals = [peer_total(run[tool]) for run in peer_runs if tool in run]
            print(f"{tool} runs (4-version totals), s: " + ", ".join(f"{t:.2f}" for t in totals))
    print()


def report_phases(runs: Sequence[Run]) -> None:
    """One row per docmatrix run: corpus size, cells run or cached, time, memory."""
    rows = []
    for run in runs:
        total, executed, cached = cache_counts(run.report)
        cpu = "n/a" if run.m.own_cpu is None else "{:.2f} + {:.2f}".format(*run.m.own_cpu)
        rows.append([run.label, run.examples, total, executed, cached, f"{run.m.wall:.2f}",
                     cpu, mb(run.m.own_peak_kib), mib(run.m.tree_peak_kib), run.m.exit_code])
    print(table(["docmatrix run", "examples", "cells", "run", "from cache", "wall s",
                 "own CPU s, user + sys", "own peak", "tree peak", "exit"], rows) + "\n")


def report_verdicts(verdicts_path: Optional[Path], report: dict, corpus: Path,
                    label: str = "verdicts") -> int:
    """Check docmatrix's verdicts against the TSV, print the outcome; 1 on any mismatch."""
    if verdicts_path is None:
        print(f"{label}: not checked (no --verdicts and no expected.tsv in the corpus)")
        return 0
    columns, expected = fresh.read_verdicts(verdicts_path)
    versions = [v for v in VERSIONS if v in columns]
    checked, mismatches = check_verdicts(expected, block_results(report), versions)
    if mismatches:
        print(f"{label} mismatches (Markdown paths are relative to {corpus}):")
    for mismatch in mismatches[:MAX_MISMATCHES_SHOWN]:
        print(f"MISMATCH {mismatch}")
    if len(mismatches) > MAX_MISMATCHES_SHOWN:
        print(f"... and {len(mismatches) - MAX_MISMATCHES_SHOWN} more")
    print(f"{label}: {checked} cells ({', '.join(versions)}) checked against {verdicts_path}: "
          + (f"{len(mismatches)} MISMATCHES" if mismatches else "all agree"))
    return 1 if mismatches else 0


def report_differences(label: str, differences: Sequence[str], ok: str = "all identical"
                       ) -> int:
    """Print cells that should be identical (or agree) but do not; 1 if any."""
    for difference in differences[:MAX_MISMATCHES_SHOWN]:
        print(f"MISMATCH ({label}) {difference}")
    if len(differences) > MAX_MISMATCHES_SHOWN:
        print(f"... and {len(differences) - MAX_MISMATCHES_SHOWN} more")
    print(f"{label}: " + (f"{len(differences)} MISMATCHES" if differences else ok))
    return 1 if differences else 0


@dataclass
class Target:
    """One target of issue 5: what was measured, the target, and whether it is met."""
    figure: str
    measured: str
    target: str
    met: Optional[bool]   # None: not measured

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else ("PASS" if self.met else "MISS")


def report_targets(targets: Sequence[Target]) -> None:
    print("Targets (issue 5)")
    print(table(["#", "figure", "measured", "target", "result"],
                [(i + 1, t.figure, t.measured, t.target, t.verdict)
                 for i, t in enumerate(targets)], "rllll"))
    met = sum(t.met is True for t in targets)
    missed = sum(t.met is False for t in targets)
    print(f"{met} met, {missed} missed, {len(targets) - met - missed} not measured\n")


# --- the benchmark -----------------------------------------------------------------------

def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark docmatrix against the targets of issue 5 and check its "
                    "verdicts (see bench/README.md).")
    parser.add_argument("--no-build", action="store_true", help="skip `cargo build --release`")
    parser.add_argument("--binary", type=Path,
                        help="docmatrix binary to run (default target/release/docmatrix, "
                             "built first); implies --no-build")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--corpus", type=Path, help="benchmark this directory of Markdown files")
    source.add_argument("--shared", action="store_true",
                        help="corpus from ../shared/bench/gen.py, with its verdicts.tsv and "
                             "peers.sh (explicit --verdicts/--peers win)")
    parser.add_argument("--files", type=int, default=50,
                        help="guides in the generated corpus (default 50); the scale phase "
                             "uses 10x as many")
    parser.add_argument("--blocks", type=int, default=20,
                        help="python blocks per generated guide (default 20)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the generated corpus (default 1)")
    parser.add_argument("--jobs", type=int, help="passed to docmatrix as --jobs")
    parser.add_argument("--verdicts", type=Path,
                        help="expected TSV (default: CORPUS/expected.tsv when present)")
    parser.add_argument("--peers", type=Path,
                        help="peers script, run as `SCRIPT CORPUS 3.9 3.10 3.11 3.12`")
    parser.add_argument("--fresh-baseline", action="store_true",
                        help="also time one fresh `python file.py` per block and version")
    parser.add_argument("--repeat", type=int, default=3,
                        help="cold runs and peer runs, alternating; the medians give the "
                             "ratios (default 3)")
    parser.add_argument("--skip-strace", action="store_true",
                        help="do not count the processes of the re-run with strace")
    parser.add_argument("--skip-edit", action="store_true",
                        help="skip the edit-one-example phase")
    parser.add_argument("--skip-scale", action="store_true",
                        help="skip the 10x corpus (the longest phase)")
    parser.add_argument("--skip-extraction", action="store_true",
                        help="skip the dry-run extraction speed phase")
    parser.add_argument("--extraction-mb", type=float, default=200.0,
                        help="size of the extraction corpus in MB (default 200)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (corpora except the extraction "
                             "copies, docmatrix's stdout/stderr, the strace log)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.shared:
        args.verdicts = args.verdicts or SHARED / "verdicts.tsv"
        args.peers = args.peers or SHARED / "peers.sh"
    return args


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
    # Cells in which a repeated cold run differed from the first.
    cold_differences: List[str] = field(default_factory=list)
    # The peers script's figures of each repetition.
    peer_runs: List[Dict[str, Dict[str, float]]] = field(default_factory=list)

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


def faster_peer(peers: Dict[str, Dict[str, float]]) -> Optional[Tuple[str, float]]:
    if not peers:
        return None
    tool = min(peers, key=lambda t: peer_total(peers[t]))
    return tool, peer_total(peers[tool])


def evaluate_targets(r: Results, args: argparse.Namespace) -> List[Target]:
    """Each target of issue 5 with its measured figure and PASS/MISS/not measured."""
    targets = []
    if r.verdicts_ok is None:
        targets.append(Target("verdicts identical to the expected TSV", "no TSV", "all cells",
                              None))
    else:
        targets.append(Target("verdicts identical to the expected TSV",
                              "all agree" if r.verdicts_ok else "mismatches (see above)",
                              "all cells", r.verdicts_ok))
    peer = faster_peer(r.peers)
    cold = r.cold_wall
    if peer:
        targets.append(Target(f"cold run / faster peer ({peer[0]}, 4 versions)",
                              f"{cold:.2f} s / {peer[1]:.2f} s = {cold / peer[1]:.2f}x",
                              f"<= {COLD_VS_PEER:.2f}x", cold / peer[1] <= COLD_VS_PEER))
    else:
        targets.append(Target("cold run / faster peer (4 versions)", f"{cold:.2f} s, no peers",
                              f"<= {COLD_VS_PEER:.2f}x (needs --peers)", None))
    if r.fresh_seconds:
        value = cold / r.fresh_seconds
        targets.append(Target("cold run / fresh process per example (2 at a time)",
                              f"{cold:.2f} s / {r.fresh_seconds:.2f} s = {value:.4f}x",
                              f"<= {COLD_VS_FRESH:.2f}x", value <= COLD_VS_FRESH))
    else:
        targets.append(Target("cold run / fresh process per example (2 at a time)",
                              "not run", f"<= {COLD_VS_FRESH:.2f}x (needs --fresh-baseline)",
                              None))
    if r.rerun is not None:
        wall = r.rerun.m.wall
        if peer:
            targets.append(Target(f"re-run, nothing changed / faster peer ({peer[0]})",
                                  f"{wall:.3f} s / {peer[1]:.2f} s = {wall / peer[1]:.4f}x",
                                  f"<= {RERUN_VS_PEER:.2f}x", wall / peer[1] <= RERUN_VS_PEER))
        else:
            targets.append(Target("re-run, nothing changed / faster peer",
                                  f"{wall:.3f} s, no peers",
                                  f"<= {RERUN_VS_PEER:.2f}x (needs --peers)", None))
        total, _, cached = cache_counts(r.rerun.report)
        targets.append(Target("re-run: cells served from the cache", f"{cached} of {total}",
                              "all", cached == total))
        p = r.processes
        if p is None or not p.measured:
            targets.append(Target("re-run: Python interpreters started (strace)",
                                  f"not measured: {p.reason if p else 'skipped'}", "0", None))
        else:
            targets.append(Target("re-run: Python interpreters started (strace)",
                                  f"{len(p.interpreters)} (and {len(p.execs) - 1} other "
                                  f"programs exec'd)", "0", not p.interpreters))
    if r.edited is not None:
        total, executed, cached = cache_counts(r.edited.report)
        not_cached = total - cached
        targets.append(Target("after editing one example: cells not from the cache",
                              f"{not_cached} ({r.edited.m.wall:.2f} s)",
                              f"exactly {len(VERSIONS)}", not_cached == len(VERSIONS)))
    peak = r.cold.m.own_peak_kib
    targets.append(Target("docmatrix's own peak memory (VmHWM), cold run", mb(peak),
                          f"<= {OWN_PEAK_MB} MB",
                          None if peak is None else peak * 1024 / MB <= OWN_PEAK_MB))
    if r.scale_base is not None and r.scale_10x is not None:
        value = r.scale_10x.m.wall / r.scale_base.m.wall
        targets.append(Target(f"{r.scale_10x.examples} examples cold / "
                              f"{r.scale_base.examples} cold",
                              f"{r.scale_10x.m.wall:.2f} s / {r.scale_base.m.wall:.2f} s = "
                              f"{value:.2f}x", f"<= {SCALE_RATIO:.0f}x", value <= SCALE_RATIO))
    else:
        targets.append(Target("10x corpus cold / 1x corpus cold", "skipped (--skip-scale)",
                              f"<= {SCALE_RATIO:.0f}x", None))
    if r.extraction is not None:
        e = r.extraction
        targets.append(Target("extraction (--dry-run), Markdown read",
                              f"{e.mb_s:.0f} MB/s ({e.bytes / MB:.0f} MB in {e.best:.2f} s)",
                              f">= {EXTRACTION_MB_S:.0f} MB/s", e.mb_s >= EXTRACTION_MB_S))
    else:
        targets.append(Target("extraction (--dry-run), Markdown read",
                              "skipped (--skip-extraction)", f">= {EXTRACTION_MB_S:.0f} MB/s",
                              None))
    return targets


def report_details(r: Results) -> int:
    """The re-run, edit, scale and extraction details; returns 1 if a consistency check fails."""
    status = 0
    if len(r.cold_walls) > 1:
        status |= report_differences(
            f"repeated cold runs ({len(r.cold_walls) - 1}) vs the first, every cell",
            r.cold_differences)
    if r.rerun is not None:
        status |= report_differences("re-run vs cold run, every cell",
                                     compare_reports(r.cold.report, r.rerun.report))
    p = r.processes
    if p is not None and p.measured:
        print(f"re-run under strace: {len(p.execs)} successful execve "
              f"(docmatrix itself included), {len(p.interpreters)} of a Python interpreter; "
              f"cells from cache in that run: {p.cached[2]} of {p.cached[0]}")
        print("  programs: " + p.programs())
        for path in sorted(set(p.interpreters))[:5]:
            print(f"  interpreter started: {path}")
    elif p is not None:
        print(f"re-run processes: not measured ({p.reason})")
    if r.edit is not None and r.edited is not None:
        e = r.edit
        print(f"\nedited {e.file}:{e.edited_line} (example at line {e.line}):")
        print(f"  - {e.before.strip()}\n  + {e.after.strip()}")
        not_cached = [(ex["file"], ex["line"], v) for ex, v, res in cells(r.edited.report)
                      if not res.get("cached")]
        example = find_example(r.edited.report, e)
        own = [c for c in not_cached if example and (c[0], c[1]) == (example["file"],
                                                                     example["line"])]
        print(f"  cells not from the cache: {len(not_cached)}, of which {len(own)} of the "
              "edited example" + (f"; others: {not_cached[:5]}" if len(own) != len(not_cached)
                                  else ""))
        if example is not None:
            print("  edited example now: " + ", ".join(
                f"{v} {example['results'][v].get('status')}" for v in example["results"]))
        skip = [(example["file"], example["line"])] if example else []
        status |= report_differences("edited copy vs cold run, other examples",
                                     compare_reports(r.cold.report, r.edited.report, skip))
    outside = []
    for run in (r.cold, r.rerun, r.edited, r.scale_base, r.scale_10x, r.scale_rerun):
        if run is not None:
            outside += [f"[{run.label}] {o}" for o in md_lines_outside(run.report)]
    status |= report_differences("md_line of every failure inside its example", outside,
                                 "all inside")
    if r.scale_base is not None and r.scale_10x is not None:
        (_, x1, _), (_, x10, _) = (cache_counts(r.scale_base.report),
                                   cache_counts(r.scale_10x.report))
        a, b = r.scale_base.m.wall, r.scale_10x.m.wall
        print(f"\nscale: {r.scale_base.examples} -> {r.scale_10x.examples} examples, "
              f"{a:.2f} s -> {b:.2f} s = {b / a:.2f}x; cells actually run {x1} -> {x10} "
              f"({x10 / max(x1, 1):.2f}x; the other cells are repeated examples, served from "
              "the cache); "
              f"time per cell run {1000 * a / max(x1, 1):.2f} -> {1000 * b / max(x10, 1):.2f} ms"
              f" = {(b / max(x10, 1)) / (a / max(x1, 1)):.2f}x; own peak "
              f"{mb(r.scale_base.m.own_peak_kib)} -> {mb(r.scale_10x.m.own_peak_kib)}")
    if r.scale_10x is not None and r.scale_rerun is not None:
        total, _, cached = cache_counts(r.scale_rerun.report)
        print(f"\nscale re-run, nothing changed: {r.scale_rerun.m.wall:.2f} s "
              f"({r.scale_rerun.m.wall / r.scale_10x.m.wall:.4f}x the 10x cold run); cells "
              f"from the cache {cached} of {total}")
        status |= report_differences("10x re-run vs 10x cold run, every cell",
                                     compare_reports(r.scale_10x.report, r.scale_rerun.report))
        status |= report_differences("10x re-run vs 10x cold run, static findings",
                                     compare_findings(r.scale_10x.report,
                                                      r.scale_rerun.report))
        p = r.scale_processes
        if p is not None and p.measured:
            print(f"  under strace: {len(p.execs)} successful execve (docmatrix itself "
                  "included): " + p.programs())
        elif p is not None:
            print(f"  processes: not measured ({p.reason})")
    if r.extraction is not None:
        e = r.extraction
        print(f"\nextraction: {e.files} files, {e.bytes / MB:.1f} MB; dry runs "
              + ", ".join(f"{w:.2f}" for w in e.walls) + f" s (best {e.best:.2f} s = "
              f"{e.mb_s:.0f} MB/s, process start to exit); docmatrix's own 'read and planned "
              "in' " + (f"{e.internal:.2f} s = {e.bytes / MB / e.internal:.0f} MB/s"
                        if e.internal else "n/a") + f"; own peak {mb(e.own_peak_kib)}")
    print()
    return status


def benchmark(args: argparse.Namespace, tmp: Path) -> int:
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
                              "cold, empty cache"), background=background)
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
            r.cold_differences.extend(
                f"cold #{n}: {d}" for d in compare_reports(r.cold.report, again.report))
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
    facts.insert(-1, ("load average at start", load))
    busy = any(share is not None and share > BUSY for _, share in r.background)
    facts.insert(-1, ("machine busy, 1 s samples", ", ".join(
        f"{percent(share)} {when}" for when, share in r.background)
        + ("  (BUSY: something else ran, timings are not reliable)" if busy else
           " (0% = idle)")))
    report_figures(binary, corpus, r.cold.m, r.cold.report, args.jobs, facts)
    report_comparisons(r.cold_wall, r.peers, r.fresh_seconds,
                       r.rerun.m.wall if r.rerun else None, r.cold_walls, r.peer_runs)
    phases = [r.cold, r.rerun, r.edited, r.scale_base, r.scale_10x, r.scale_rerun]
    report_phases([run for i, run in enumerate(phases)
                   if run is not None and all(run is not other for other in phases[:i])])
    status = report_verdicts(verdicts_path, r.cold.report, corpus)
    if verdicts_path is not None:
        r.verdicts_ok = status == 0
        if r.rerun is not None:
            status |= report_verdicts(verdicts_path, r.rerun.report, corpus,
                                      "verdicts of the re-run (from the cache)")
    if r.scale_10x is not None:
        status |= report_verdicts(r.scale_10x.corpus / "expected.tsv", r.scale_10x.report,
                                  r.scale_10x.corpus, "verdicts of the 10x corpus")
        if r.scale_base is not r.cold:
            status |= report_verdicts(r.scale_base.corpus / "expected.tsv",
                                      r.scale_base.report, r.scale_base.corpus,
                                      "verdicts of the 1x generated corpus")
    status |= report_details(r)
    report_targets(evaluate_targets(r, args))
    return status


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="docmatrix-bench-"))
    try:
        return benchmark(args, tmp)
    except (BenchError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
