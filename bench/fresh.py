#!/usr/bin/env python3
"""Run every ```python block of a corpus as its own `python file.py` process, once per version.

This is both the "one fresh process per example" baseline of `bench/run.py --fresh-baseline`
and the checker of a verdicts TSV against real interpreters:

    python3 bench/fresh.py CORPUS [--verdicts FILE] [--parallel 2] [--python 3.9,3.10,3.11,3.12]

It prints the per-version pass/fail counts and every cell that disagrees with the verdicts
(default CORPUS/expected.tsv) and exits 1 if any does. A cell is `pass` (exit status 0) or
`FAIL <ExceptionType>` (the type on the last line of the traceback), as in verdicts.tsv.
Blocks run with a throwaway working directory each, stdin closed, and a 10 s timeout.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

VERSIONS = ("3.9", "3.10", "3.11", "3.12")
TIMEOUT = 10.0
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`{]*)")
PYTHON_LANGS = {"python", "py", "python3"}
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")

Verdicts = Dict[str, Dict[str, str]]  # block id -> version -> cell


def extract_blocks(corpus: Path) -> List[Tuple[str, str]]:
    """(block id, code) of every top-level fenced python block, guides in path order.

    Enough for generated corpora (gen_corpus.py, shared gen.py): fences at the start of a
    line, no fences inside list items or quotes.
    """
    blocks = []
    for guide in sorted(corpus.rglob("*.md")):
        index = 0
        fence = None  # (marker character, length, is python) of the open fence
        body: List[str] = []
        for line in guide.read_text(encoding="utf-8").splitlines():
            m = FENCE.match(line)
            if fence is None:
                if m:
                    marker = m.group(1)
                    fence = (marker[0], len(marker), m.group(2).lower() in PYTHON_LANGS)
                    body = []
            elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] \
                    and not line.strip().strip(fence[0]):
                if fence[2]:
                    blocks.append((f"{guide.stem}_b{index:02d}.py", "\n".join(body) + "\n"))
                    index += 1
                fence = None
            else:
                body.append(line)
    return blocks


def find_interpreter(version: str) -> Optional[str]:
    """Newest pyenv `python3.X` of that version, else `python3.X` on PATH."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [p for p in root.glob(f"{version}.*/bin/python{version}") if p.is_file()]

    def patch_level(p: Path) -> Tuple[int, ...]:
        return tuple(int(x) if x.isdigit() else -1 for x in p.parent.parent.name.split("."))

    if candidates:
        return str(max(candidates, key=patch_level))
    return shutil.which(f"python{version}")


def error_type(stderr: str) -> str:
    """The exception type named by the last unindented `Type: message` line of a traceback."""
    for line in reversed(stderr.splitlines()):
        m = EXCEPTION_LINE.match(line)
        if m:
            return m.group(1).rsplit(".", 1)[-1]
    return "unknown"


def run_one(python: str, script: Path) -> str:
    """The verdict cell of one block run as `python script` in a fresh working directory."""
    with tempfile.TemporaryDirectory(prefix="cwd-", dir=script.parent) as cwd:
        try:
            proc = subprocess.run([python, str(script)], cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, errors="replace", timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return "TIMEOUT"
    return "pass" if proc.returncode == 0 else f"FAIL {error_type(proc.stderr)}"


def run_fresh(blocks: List[Tuple[str, str]], interpreters: Dict[str, str],
              parallel: int = 2) -> Tuple[Verdicts, float]:
    """Run every block on every interpreter, `parallel` processes at a time.

    Returns the verdict cells and the wall time in seconds of the runs themselves (writing
    the scripts is not timed).
    """
    with tempfile.TemporaryDirectory(prefix="docmatrix-fresh-") as tmp:
        scripts = []
        for block_id, code in blocks:
            path = Path(tmp) / block_id
            path.write_text(code, encoding="utf-8")
            scripts.append((block_id, path))
        jobs = [(block_id, version, path) for block_id, path in scripts for version in interpreters]
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            cells = list(pool.map(lambda job: run_one(interpreters[job[1]], job[2]), jobs))
        elapsed = time.perf_counter() - start
    verdicts: Verdicts = {}
    for (block_id, version, _), cell in zip(jobs, cells):
        verdicts.setdefault(block_id, {})[version] = cell
    return verdicts, elapsed


def read_verdicts(path: Path) -> Tuple[List[str], Verdicts]:
    """Parse a verdicts TSV (a `block` column, then one per version): (versions, verdicts)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t") if lines else []
    if not header or header[0] != "block":
        raise ValueError(f"{path}: first column must be `block`")
    verdicts: Verdicts = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"{path}:{number}: expected {len(header)} columns")
        verdicts[cells[0]] = dict(zip(header[1:], cells[1:]))
    return header[1:], verdicts


def compare(expected: Verdicts, actual: Verdicts, versions: List[str]) -> List[str]:
    """Describe every (block, version) cell of `versions` where the two tables disagree."""
    problems = []
    for block_id in sorted(expected.keys() | actual.keys()):
        for version in versions:
            want = expected.get(block_id, {}).get(version)
            got = actual.get(block_id, {}).get(version)
            if want != got:
                problems.append(f"{block_id} {version}: expected {want or 'no block'}, "
                                f"got {got or 'no block'}")
    return problems


def count_cells(verdicts: Verdicts, version: str) -> Tuple[int, int]:
    """(passes, non-passes) of one version column."""
    cells = [row[version] for row in verdicts.values() if version in row]
    passes = sum(cell == "pass" for cell in cells)
    return passes, len(cells) - passes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--verdicts", type=Path, help="default: CORPUS/expected.tsv")
    parser.add_argument("--parallel", type=int, default=2, help="processes at a time (default 2)")
    parser.add_argument("--python", default=",".join(VERSIONS), help="comma-separated versions")
    args = parser.parse_args()
    versions = args.python.split(",")
    interpreters = {v: find_interpreter(v) for v in versions}
    missing = [v for v, path in interpreters.items() if path is None]
    if missing:
        print(f"error: no interpreter for {', '.join(missing)}", file=sys.stderr)
        return 2
    blocks = extract_blocks(args.corpus)
    actual, elapsed = run_fresh(blocks, interpreters, args.parallel)
    print(f"{len(blocks)} blocks x {len(versions)} versions in {elapsed:.1f} s "
          f"({args.parallel} at a time)")
    for version in versions:
        passes, fails = count_cells(actual, version)
        print(f"  {version:5} {interpreters[version]}: {passes} pass, {fails} fail")
    _, expected = read_verdicts(args.verdicts or args.corpus / "expected.tsv")
    problems = compare(expected, actual, versions)
    for problem in problems:
        print("  MISMATCH", problem)
    checked = len(expected.keys() | actual.keys()) * len(versions)
    print(f"{checked - len(problems)} of {checked} cells agree, {len(problems)} disagree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
