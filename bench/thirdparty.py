#!/usr/bin/env python3
"""Benchmark of examples that import third-party libraries (issue 18), docmatrix against its peers.

    python3 bench/thirdparty.py                       # generate, build environments, time, compare
    python3 bench/thirdparty.py --work DIR --no-build # keep environments and venvs in DIR

What it does, in order (progress lines go to standard error, the results to standard output):

 1. corpus: writes WORK/corpus/guide_NN.md (default 16 guides x 20 python blocks = 320 examples)
    from the recipes of bench/recipes/thirdparty.md: doc-style examples that import pydantic,
    attrs, rich, SQLAlchemy and typing_extensions at their top; some fail on purpose (a stale
    claimed result, a name from the prose, a removed API) and some use a feature newer than
    3.9, so verdicts differ by version. Also WORK/corpus/docmatrix.toml (`dependencies`, pinned
    versions that install on 3.9-3.12) and expected.tsv (the verdicts by construction).
 2. environments, not timed: docmatrix builds its own environments (uv) on a one-example copy
    of the corpus's configuration, with the cache folder WORK/cache; then one venv per version
    under WORK/peers with exactly the distributions docmatrix installed (its report's
    `packages`) plus pytest, pytest-markdown-docs and pytest-codeblocks. uv's cache is
    WORK/uv-cache.
 3. timed, side by side, `--repeat` times alternating: docmatrix cold (`validate . --format
    json --python 3.9,3.10,3.11,3.12` with WORK/cache holding the environments and nothing else:
    no result, no static check), pytest-markdown-docs and pytest-codeblocks once per version in
    their venvs (as a tox or CI matrix would). While docmatrix runs, the resident memory of its
    warm workers is sampled from /proc. Then the re-run (same cache, nothing changed), and the
    re-run once more under strace to count the Python interpreters it starts.
 4. verdicts: docmatrix's cells against expected.tsv, and per block and version pass/fail of
    docmatrix against each peer (blocks marked `Fresh:` in the recipes are left out: they rely
    on a fresh interpreter, which the peers do not give).

Exit status: 0 when every verdict agrees, 1 on a mismatch, 2 when the benchmark could not run.
Missed speed or memory targets do not change it. Needs uv (on PATH, or --uv), Python 3.9-3.12
(pyenv works), network access to the package index for the first run, and the standard
library only. See bench/README.md; results are recorded in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import shutil
import statistics
import string
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import fresh
from gen_corpus import FEATURES as STDLIB_FEATURES
from gen_corpus import WORDS, Feature, version_key, write_text
from measure import (MB, REPO, VERSIONS, BenchError, Measurement, background_busy,
                     count_processes, load_average, machine_facts, measure, parse_report, progress)
from report import table

RECIPES = Path(__file__).resolve().parent / "recipes" / "thirdparty.md"
FEATURES = dict(STDLIB_FEATURES)
FEATURES.update({
    "X | Y": Feature("`X | Y` union types evaluated at run time", "3.10", "TypeError"),
    "typing.override": Feature("`typing.override`", "3.12", "ImportError"),
    "from itertools import batched": Feature("`itertools.batched`", "3.12", "ImportError"),
})
# Pinned so that every version 3.9-3.12 installs the same releases. markdown-it-py (rich's) is
# pinned below 4 because pytest-markdown-docs needs it so, and the peers' venvs hold exactly
# what docmatrix's environments hold.
DEPENDENCIES = ("pydantic==2.11.7", "attrs==25.3.0", "rich==14.0.0", "SQLAlchemy==2.0.41",
                "typing_extensions==4.14.1", "markdown-it-py==3.0.0")
PEER_PACKAGES = ("pytest", "pytest-markdown-docs", "pytest-codeblocks")
PEERS = {  # tool -> pytest arguments, as ../shared/bench/peers.sh runs them
    "markdown-docs": ["-p", "no:codeblocks", "--markdown-docs"],
    "codeblocks": ["-p", "no:pytest_markdown_docs", "--codeblocks"],
}
TARGET_COLD = 1.0     # docmatrix cold / each peer's four runs
TARGET_RERUN = 0.02   # re-run / cold run
TARGET_OWN_MB = 100   # docmatrix's own peak (the issue asks it of the 10x corpus)
LINE = re.compile(r"(?:line[: ])(\d+)")


# --- the corpus ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    title: str
    intro: str
    code: str
    feature: Optional[str] = None   # key of FEATURES
    fails: Optional[str] = None     # exception type on every version
    fresh: Optional[str] = None     # why the peers cannot be compared on it


MARK = re.compile(r"^(Feature|Fails|Fresh): `([^`]+)`$")


def read_recipes(path: Path = RECIPES) -> List[Recipe]:
    """The recipes of bench/recipes/thirdparty.md, in order (form: its introduction)."""
    lines = path.read_text(encoding="utf-8").splitlines()

    def fail(index: int, message: str) -> SystemExit:
        return SystemExit(f"error: {path}:{index + 1}: {message}")

    recipes = []
    i = next((n for n, line in enumerate(lines) if line.startswith("## ")), len(lines))
    while i < len(lines):
        heading, title, prose, marks = i, lines[i][3:], [], {}
        i += 1
        while i < len(lines) and lines[i] != "```python":
            if lines[i].startswith("## "):
                raise fail(heading, f"recipe {title!r} has no ```python block")
            m = MARK.match(lines[i])
            if m:
                marks[m.group(1)] = m.group(2)
            elif lines[i].strip():
                prose.append(lines[i])
            i += 1
        if i == len(lines):
            raise fail(heading, f"recipe {title!r} has no ```python block")
        opening = i
        i += 1
        while i < len(lines) and lines[i] != "```":
            i += 1
        if i == len(lines):
            raise fail(opening, "unclosed ```python block")
        code = "\n".join(lines[opening + 1:i]) + "\n"
        i += 1
        while i < len(lines) and not lines[i].startswith("## "):
            if lines[i].strip():
                raise fail(i, f"text after the code of recipe {title!r}")
            i += 1
        if len(prose) != 1:
            raise fail(heading, f"recipe {title!r} needs exactly one line of introduction")
        if "Feature" in marks and marks["Feature"] not in FEATURES:
            raise fail(heading, f"unknown feature {marks['Feature']!r}")
        if len(marks) > 1:
            raise fail(heading, f"recipe {title!r}: at most one of Feature, Fails, Fresh")
        recipes.append(Recipe(title, prose[0], code, marks.get("Feature"), marks.get("Fails"),
                              marks.get("Fresh")))
    return recipes


def expected_cells(recipe: Recipe) -> List[str]:
    if recipe.fails:
        return [f"FAIL {recipe.fails}"] * len(VERSIONS)
    if recipe.feature is None:
        return ["pass"] * len(VERSIONS)
    feature = FEATURES[recipe.feature]
    return ["pass" if version_key(v) >= version_key(feature.since) else f"FAIL {feature.error}"
            for v in VERSIONS]


TOPICS = ("Validating data", "Typed records", "Console output", "Databases in a page",
          "Modelling a shop", "Command-line reports", "Persistence", "Configuration")
PREAMBLES = (
    "Each example below is complete: install the packages listed in the introduction and run "
    "it with `python3`.",
    "The snippets in this guide are independent. Most of them check their own result with "
    "`assert`, so a run that prints no traceback worked.",
    "This page walks through the library one feature at a time. Copy any block into a file to "
    "try it.",
)


@dataclass
class Block:
    id: str          # <guide stem>_b<NN>.py
    file: str        # guide file name
    line: int        # the opening fence, 1-based
    recipe: Recipe


def render_guide(number: int, blocks: int, recipes: Sequence[Recipe], rng: random.Random
                 ) -> Tuple[str, List[Tuple[int, Recipe]]]:
    """One guide's Markdown and (fence line, recipe) of its python blocks."""
    order = list(recipes)
    rng.shuffle(order)
    picked = [order[i % len(order)] for i in range(blocks)]
    text = [f"# {rng.choice(TOPICS)}, part {number}", "", rng.choice(PREAMBLES), ""]
    placed = []
    for index, recipe in enumerate(picked, start=1):
        text += [f"## {index}. {recipe.title}", "", recipe.intro, ""]
        if recipe.feature:
            feature = FEATURES[recipe.feature]
            text += [f"> **Note:** this uses {feature.description}, new in Python "
                     f"{feature.since}.", ""]
        word = rng.choice(WORDS)
        values = {"k": rng.randint(10, 60), "n": rng.randint(3, 9), "word": word,
                  "Word": word.title()}
        code = string.Template(recipe.code).substitute(values).strip("\n")
        placed.append((len(text) + 1, recipe))
        text += ["```python", *code.split("\n"), "```", ""]
        if rng.random() < 0.15:
            text += ["It prints:", "", "```text", "(output omitted)", "```", ""]
    return "\n".join(text), placed


def generate(out: Path, files: int, blocks: int, seed: int) -> List[Block]:
    """Write the guides, docmatrix.toml and expected.tsv into `out` (emptied of Markdown)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()
    recipes = read_recipes()
    rng = random.Random(seed)
    result, rows = [], ["\t".join(("block",) + VERSIONS)]
    for number in range(1, files + 1):
        name = f"guide_{number:02d}.md"
        text, placed = render_guide(number, blocks, recipes, rng)
        write_text(out / name, text)
        for i, (line, recipe) in enumerate(placed):
            block = Block(f"guide_{number:02d}_b{i:02d}.py", name, line, recipe)
            result.append(block)
            rows.append("\t".join([block.id] + expected_cells(recipe)))
    write_text(out / "expected.tsv", "\n".join(rows) + "\n")
    write_text(out / "docmatrix.toml", config_text())
    return result


def config_text() -> str:
    deps = ", ".join(f'"{d}"' for d in DEPENDENCIES)
    return ("# Written by bench/thirdparty.py: the libraries the examples import, pinned.\n"
            f"dependencies = [{deps}]\n")


# --- environments ------------------------------------------------------------------------

def tool_env(uv: Path, work: Path) -> Dict[str, str]:
    """The environment of every command: uv on PATH (docmatrix uses it when found there) and
    uv's cache in WORK."""
    env = dict(os.environ)
    env["PATH"] = f"{uv.parent}{os.pathsep}{env.get('PATH', '')}"
    env["UV_CACHE_DIR"] = str(work / "uv-cache")
    return env


def docmatrix_envs(binary: Path, work: Path, cache: Path, env: Dict[str, str]) -> dict:
    """Let docmatrix build its environments (one example, same configuration): its report."""
    warm = work / "warmup"
    warm.mkdir(parents=True, exist_ok=True)
    write_text(warm / "docmatrix.toml", config_text())
    write_text(warm / "warmup.md", "# Warm-up\n\n```python\nimport pydantic, attrs, rich, "
                                   "sqlalchemy\n```\n")
    progress("docmatrix builds its environments (not timed)")
    proc = subprocess.run([str(binary), "validate", ".", "--format", "json", "--python",
                           ",".join(VERSIONS), "--cache-dir", str(cache)], cwd=warm, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    m = Measurement(0.0, proc.returncode, None, 0, proc.stdout, proc.stderr)
    report = parse_report(m)
    for v in VERSIONS:
        found = (report.get("interpreters") or {}).get(v) or {}
        if found.get("source") != "env":
            raise BenchError(f"docmatrix built no environment for {v}:\n{proc.stderr[-2000:]}")
    if any(r.get("status") != "pass" for e in report["examples"] for r in e["results"].values()):
        raise BenchError(f"the warm-up example did not pass everywhere:\n{proc.stdout[-2000:]}")
    return report


def clear_results(cache: Path) -> None:
    """Leave only the environments in the cache folder: no result, no static check, nothing
    else docmatrix stores, so that the next run is cold but builds no environment."""
    if not cache.is_dir():
        return
    for entry in cache.iterdir():
        if entry.name == "envs":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def peer_venvs(uv: Path, work: Path, report: dict, env: Dict[str, str]) -> Dict[str, Path]:
    """One venv per version with docmatrix's environment's distributions and the peers,
    compiled to bytecode as pip leaves them (and as docmatrix leaves its environments)."""
    venvs = {}
    for v in VERSIONS:
        info = report["interpreters"][v]
        packages = sorted(info.get("packages") or [])
        base = fresh.find_interpreter(v)
        if base is None:
            raise BenchError(f"no Python {v} for the peers' venv")
        venv = work / "peers" / f"venv-{v}"
        stamp = venv / "docmatrix-bench-packages.txt"
        want = "\n".join([base, "--compile-bytecode", *packages, *PEER_PACKAGES]) + "\n"
        if not (stamp.is_file() and stamp.read_text() == want):
            progress(f"peers: venv for {v} ({len(packages)} distributions + the peers)")
            shutil.rmtree(venv, ignore_errors=True)
            for cmd in ([str(uv), "venv", "-q", "--python", base, str(venv)],
                        [str(uv), "pip", "install", "-q", "--compile-bytecode", "--python",
                         str(venv / "bin/python"), *packages, *PEER_PACKAGES]):
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise BenchError(f"{shlex.join(cmd)} failed:\n{proc.stderr[-2000:]}")
            write_text(stamp, want)
        venvs[v] = venv
    return venvs


# --- running the peers -------------------------------------------------------------------

@dataclass
class PeerRun:
    seconds: float
    verdicts: Dict[Tuple[str, int], bool]   # (file, line as the tool reports it) -> passed
    exit_code: int


def run_peer(tool: str, venv: Path, corpus: Path, out: Path, env: Dict[str, str]) -> PeerRun:
    """pytest with the tool's plugin on the corpus, timed; per test pass/fail from JUnit XML."""
    junit = out / f"{tool}-{venv.name}.xml"
    out.mkdir(parents=True, exist_ok=True)
    ini = out / "empty.ini"
    write_text(ini, "[pytest]\n")
    cmd = [str(venv / "bin/pytest"), "-c", str(ini), "--rootdir", str(corpus),
           "-p", "no:cacheprovider", "-q", *PEERS[tool], f"--junitxml={junit}", str(corpus)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=corpus, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if not junit.is_file():
        raise BenchError(f"{shlex.join(cmd)} wrote no JUnit report (exit {proc.returncode})")
    return PeerRun(seconds, parse_junit(junit.read_text(encoding="utf-8")), proc.returncode)


def parse_junit(text: str) -> Dict[Tuple[str, int], bool]:
    """(Markdown file name, line) -> passed, from pytest's JUnit XML. The test names are
    `[CodeFence#N][line:L]` (pytest-markdown-docs) and `line L` (pytest-codeblocks)."""
    out = {}
    for case in ET.fromstring(text).iter("testcase"):
        name, classname = case.get("name", ""), case.get("classname", "")
        m = LINE.search(name)
        files = re.findall(r"guide_\d+\.md|guide_\d+", f"{case.get('file', '')} {classname}")
        if not m or not files:
            continue
        file = files[0] if files[0].endswith(".md") else files[0] + ".md"
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not skipped:
            out[(file, int(m.group(1)))] = not failed
    return out


def peer_verdict(verdicts: Dict[Tuple[str, int], bool], block: Block) -> Optional[bool]:
    """The tool's verdict for a block: its line may be the fence's, or one off."""
    for line in (block.line, block.line + 1, block.line - 1):
        if (block.file, line) in verdicts:
            return verdicts[(block.file, line)]
    return None


# --- docmatrix's warm workers ------------------------------------------------------------

class WorkerSampler(threading.Thread):
    """Samples, every 0.1 s, the resident memory of docmatrix's warm workers: processes
    running the driver's `serve` whose parent is not one (those are forked children)."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval = interval
        self.done = threading.Event()
        self.peak: Dict[Tuple[str, int], int] = {}   # (version, pid) -> VmRSS kB
        self.tier: Dict[Tuple[str, int], str] = {}

    @staticmethod
    def _cmdline(pid: int) -> List[str]:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return []

    def sample(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            argv = self._cmdline(pid)
            if len(argv) < 6 or argv[1:3] != ["-I", "-c"] or argv[4] != "serve":
                continue
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
            parent = self._cmdline(ppid)
            if len(parent) > 4 and parent[4] == "serve":
                continue  # a job's child or a probe child, forked from a worker
            rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            version = re.search(r"python(\d+\.\d+)$", exe) or re.search(r"/(\d+\.\d+)\.\d+", exe)
            if not rss or not version:
                continue
            key = (version.group(1), pid)
            self.peak[key] = max(self.peak.get(key, 0), int(rss.group(1)))
            # a worker given the statements file replays the examples' imports ("rich" tier)
            self.tier[key] = "with imports" if len(argv) > 7 and argv[7] else "stdlib only"

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.sample()
            except OSError:
                pass
            self.done.wait(self.interval)

    def summary(self) -> Dict[str, str]:
        out = {}
        for v in VERSIONS:
            parts = []
            for tier in ("with imports", "stdlib only"):
                kib = [k for (ver, pid), k in self.peak.items()
                       if ver == v and self.tier[(ver, pid)] == tier]
                if kib:
                    parts.append(f"{tier}: {len(kib)} worker(s), max {max(kib) / 1024:.1f} MiB, "
                                 f"median {statistics.median(kib) / 1024:.1f} MiB")
            out[v] = "; ".join(parts) or "none seen"
        return out


def timed_docmatrix(cmd: Sequence[str], corpus: Path, out: Path, env: Dict[str, str],
                    sample_workers: bool = False) -> Tuple[Measurement, dict, Optional[dict]]:
    sampler = WorkerSampler() if sample_workers else None
    if sampler:
        sampler.start()
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # measure() passes our environment on
    try:
        m = measure(cmd, corpus, out)
    finally:
        os.environ.clear()
        os.environ.update(old)
        if sampler:
            sampler.done.set()
            sampler.join()
    return m, parse_report(m), (sampler.summary() if sampler else None)


# --- verdicts ----------------------------------------------------------------------------

def docmatrix_cells(report: dict, blocks: Sequence[Block]) -> Dict[str, Dict[str, dict]]:
    """block id -> version -> docmatrix's result."""
    by_place = {(Path(e["file"]).name, e["line"]): e for e in report["examples"]}
    out = {}
    for block in blocks:
        example = by_place.get((block.file, block.line))
        out[block.id] = example["results"] if example else {}
    return out


def short_type(error_type: Optional[str]) -> str:
    return (error_type or "").rsplit(".", 1)[-1]


def check_expected(cells: Dict[str, Dict[str, dict]], blocks: Sequence[Block]) -> List[str]:
    mismatches = []
    for block in blocks:
        for v, want in zip(VERSIONS, expected_cells(block.recipe)):
            got = cells[block.id].get(v)
            if got is None:
                mismatches.append(f"{block.id} {v}: no result ({block.file}:{block.line})")
                continue
            have = ("pass" if got["status"] == "pass" else
                    f"FAIL {short_type(got.get('error_type'))}" if got["status"] == "fail"
                    else got["status"])
            if have != want:
                mismatches.append(f"{block.id} {v}: expected {want}, docmatrix {have} "
                                  f"({block.file}:{block.line}: {got.get('error', '')[:120]})")
    return mismatches


def check_peer(tool: str, runs: Dict[str, PeerRun], cells: Dict[str, Dict[str, dict]],
               blocks: Sequence[Block]) -> Tuple[int, List[str], int]:
    """Cells compared, mismatches, and blocks left out (Fresh) or not collected by the tool."""
    compared, mismatches, left_out = 0, [], 0
    for block in blocks:
        if block.recipe.fresh:
            left_out += 1
            continue
        for v in VERSIONS:
            theirs = peer_verdict(runs[v].verdicts, block)
            ours = cells[block.id].get(v, {}).get("status")
            if theirs is None:
                mismatches.append(f"{tool} {v}: {block.file}:{block.line} not collected")
                continue
            compared += 1
            if theirs != (ours == "pass"):
                mismatches.append(f"{tool} {v}: {block.file}:{block.line} ({block.recipe.title})"
                                  f": {tool} {'pass' if theirs else 'fail'}, docmatrix {ours}")
    return compared, mismatches, left_out


def slowest(cells: Dict[str, Dict[str, dict]], blocks: Sequence[Block], n: int = 5
            ) -> List[Tuple[float, str, int]]:
    """(seconds, recipe title, cells) of the recipes whose cells took longest in all (duration_ms
    of the cells run, not served from the cache), longest first."""
    total: Dict[str, float] = {}
    count: Dict[str, int] = {}
    for block in blocks:
        for r in cells[block.id].values():
            if "duration_ms" in r and not r.get("cached"):
                total[block.recipe.title] = total.get(block.recipe.title, 0) + r["duration_ms"]
                count[block.recipe.title] = count.get(block.recipe.title, 0) + 1
    ranked = sorted(total, key=total.get, reverse=True)[:n]
    return [(total[t] / 1000, t, count[t]) for t in ranked]


# --- the benchmark -----------------------------------------------------------------------

def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=REPO / "target" / "bench-thirdparty",
                   help="folder for the corpus, docmatrix's cache (environments), the peers' "
                        "venvs and uv's cache (default target/bench-thirdparty)")
    p.add_argument("--binary", type=Path,
                   help="docmatrix binary (default target/release/docmatrix, built first)")
    p.add_argument("--no-build", action="store_true", help="skip `cargo build --release`")
    p.add_argument("--uv", type=Path, help="uv binary (default: uv on PATH)")
    p.add_argument("--files", type=int, default=16, help="guides (default 16)")
    p.add_argument("--blocks", type=int, default=20, help="python blocks per guide (default 20)")
    p.add_argument("--seed", type=int, default=1, help="seed of the corpus (default 1)")
    p.add_argument("--jobs", type=int, help="passed to docmatrix as --jobs")
    p.add_argument("--repeat", type=int, default=3,
                   help="cold runs and peer runs, alternating; ratios use medians (default 3)")
    p.add_argument("--skip-peers", action="store_true", help="time docmatrix only")
    p.add_argument("--skip-strace", action="store_true",
                   help="do not count the re-run's interpreters with strace")
    args = p.parse_args(argv)
    if args.files < 1 or args.blocks < 1 or args.repeat < 1:
        p.error("--files, --blocks and --repeat must be positive")
    return args


def command_line(argv: Sequence[str]) -> str:
    return shlex.join(["python3", "bench/thirdparty.py", *argv])


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    try:
        return run(args, argv)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    work = args.work.resolve()
    uv = args.uv or (Path(shutil.which("uv")) if shutil.which("uv") else None)
    if uv is None or not uv.exists():
        raise BenchError("uv not found: put it on PATH or pass --uv")
    uv = uv.resolve()
    binary = (args.binary or REPO / "target" / "release" / "docmatrix").resolve()
    if args.binary is None and not args.no_build:
        progress("cargo build --release")
        if subprocess.run(["cargo", "build", "--release"], cwd=REPO).returncode != 0:
            raise BenchError("cargo build --release failed")
    env = tool_env(uv, work)
    corpus, cache, runs_dir = work / "corpus", work / "cache", work / "runs"
    blocks = generate(corpus, args.files, args.blocks, args.seed)
    progress(f"corpus: {len(blocks)} python blocks in {args.files} guides, {corpus}")
    warm = docmatrix_envs(binary, work, cache, env)
    venvs = {} if args.skip_peers else peer_venvs(uv, work, warm, env)

    cmd = [str(binary), "validate", ".", "--format", "json", "--python", ",".join(VERSIONS),
           "--cache-dir", str(cache)] + (["--jobs", str(args.jobs)] if args.jobs else [])
    busy = [background_busy()]
    colds: List[Tuple[Measurement, dict, dict]] = []
    peer_runs: List[Dict[str, Dict[str, PeerRun]]] = []
    for i in range(args.repeat):
        clear_results(cache)
        progress(f"docmatrix cold, run {i + 1} of {args.repeat}")
        colds.append(timed_docmatrix(cmd, corpus, runs_dir / f"cold-{i}", env, True))
        if venvs:
            one: Dict[str, Dict[str, PeerRun]] = {tool: {} for tool in PEERS}
            for v in VERSIONS:
                for tool in PEERS:
                    progress(f"{tool} {v}, run {i + 1} of {args.repeat}")
                    one[tool][v] = run_peer(tool, venvs[v], corpus, runs_dir / f"peers-{i}", env)
            peer_runs.append(one)
    progress("docmatrix re-run, same cache")
    rerun_m, rerun_report, _ = timed_docmatrix(cmd, corpus, runs_dir / "rerun", env)
    traced = None
    if not args.skip_strace:
        progress("docmatrix re-run under strace")
        old = dict(os.environ)
        os.environ.update(env)
        try:
            traced = count_processes(binary, corpus, args.jobs, cache, runs_dir / "strace")
        finally:
            os.environ.clear()
            os.environ.update(old)
    busy.append(background_busy())

    # --- report
    print(f"docmatrix third-party benchmark (issue 18), {len(blocks)} examples x 4 versions")
    facts = machine_facts(binary) + [
        ("load average at end", load_average()),
        ("machine busy, 1 s samples", ", ".join(
            "n/a" if b is None else f"{100 * b:.0f}%" for b in busy) + " (before, after)"),
        ("corpus", str(corpus)),
        ("dependencies", ", ".join(DEPENDENCIES)),
        ("uv", str(uv)),
        ("command", command_line(argv)),
    ]
    for key, value in facts:
        print(f"  {key:26} {value}")
    print()

    cold_walls = [m.wall for m, _, _ in colds]
    cold = statistics.median(cold_walls)
    m0, report0, workers0 = colds[0]
    cells = docmatrix_cells(report0, blocks)
    rows = [["docmatrix, cold (4 versions, one process)", "-", "-", "-", "-", f"{cold:.2f}",
             "1.00", " ".join(f"{w:.2f}" for w in cold_walls)],
            ["docmatrix, re-run (same cache)", "-", "-", "-", "-", f"{rerun_m.wall:.3f}",
             f"{rerun_m.wall / cold:.4f}", ""]]
    totals = {}
    for tool in PEERS if peer_runs else ():
        per_v = {v: statistics.median(r[tool][v].seconds for r in peer_runs) for v in VERSIONS}
        all_runs = [sum(r[tool][v].seconds for v in VERSIONS) for r in peer_runs]
        totals[tool] = statistics.median(all_runs)
        rows.append([f"pytest-{tool} (4 venvs)", *(f"{per_v[v]:.2f}" for v in VERSIONS),
                     f"{totals[tool]:.2f}", f"{cold / totals[tool]:.2f}",
                     " ".join(f"{t:.2f}" for t in all_runs)])
    print(table(["wall time, seconds (medians)", *VERSIONS, "total", "docmatrix cold / this",
                 "every run"], rows, "lrrrrrrl"))
    print("(a ratio below 1 means docmatrix is faster; the peers run every block in one "
          "process per version, docmatrix forks a child per example)")
    print()

    print(f"docmatrix own peak (VmHWM), cold: "
          + ", ".join(f"{(m.own_peak_kib or 0) * 1024 / MB:.1f} MB" for m, _, _ in colds)
          + f"; tree peak (largest process): {max(m.tree_peak_kib for m, _, _ in colds) / 1024:.1f}"
            " MiB")
    print("warm workers' resident memory, cold run 1 (sampled every 0.1 s):")
    for v in VERSIONS:
        print(f"  {v:5} {workers0[v]}")
    for v in VERSIONS:
        info = report0["interpreters"].get(v) or {}
        pre, refused = info.get("preimported") or [], info.get("not_preimported") or []
        print(f"  {v:5} pre-imported {len(pre)} statements, refused {len(refused)}"
              + (": " + "; ".join(f"{r['statement']} ({r['why']})" for r in refused[:6])
                 if refused else ""))
    run_cells = sum(1 for e in report0["examples"] for r in e["results"].values()
                    if r["status"] in ("pass", "fail", "timeout") and not r.get("cached"))
    cached = sum(1 for e in rerun_report["examples"] for r in e["results"].values()
                 if r.get("cached"))
    total_cells = sum(len(e["results"]) for e in rerun_report["examples"])
    print(f"cold run 1: {run_cells} cells run; re-run: {cached} of {total_cells} cells from "
          "the cache")
    all_ms = sum(r["duration_ms"] for b in blocks for r in cells[b.id].values()
                 if "duration_ms" in r and not r.get("cached")) / 1000
    print(f"cold run 1, the recipes whose cells took longest (of {all_ms:.1f} s in all cells):")
    for seconds, title, count in slowest(cells, blocks):
        print(f"  {seconds:6.1f} s  {count:3} cells  {title}")
    if traced is None:
        interp = "not measured (--skip-strace)"
    elif not traced.measured:
        interp = f"not measured ({traced.reason})"
    else:
        interp = f"{len(traced.interpreters)} (programs: {traced.programs()})"
    print(f"re-run under strace, Python interpreters started: {interp}")
    print()

    status = 0
    expected = check_expected(cells, blocks)
    print(f"docmatrix vs expected.tsv ({len(blocks) * len(VERSIONS)} cells): "
          + ("all agree" if not expected else f"{len(expected)} MISMATCHES"))
    for line in expected[:20]:
        print(f"  {line}")
    status |= bool(expected)
    for i, (m, report, _) in enumerate(colds[1:], start=2):
        other = docmatrix_cells(report, blocks)
        diff = [b.id for b in blocks
                if {v: r.get("status") for v, r in other[b.id].items()}
                != {v: r.get("status") for v, r in cells[b.id].items()}]
        print(f"cold run {i} vs cold run 1: " + ("same statuses" if not diff else
                                                 f"{len(diff)} blocks differ: {diff[:5]}"))
        status |= bool(diff)
    rerun_cells = docmatrix_cells(rerun_report, blocks)
    diff = [b.id for b in blocks if {v: r.get("status") for v, r in rerun_cells[b.id].items()}
            != {v: r.get("status") for v, r in cells[b.id].items()}]
    print("re-run vs cold run 1: " + ("same statuses" if not diff else f"{len(diff)} differ"))
    status |= bool(diff)
    peer_ok = {}
    for tool in PEERS if peer_runs else ():
        compared, mismatches, left_out = check_peer(tool, peer_runs[0][tool], cells, blocks)
        peer_ok[tool] = not mismatches
        print(f"docmatrix vs pytest-{tool}, pass/fail per block and version: {compared} cells "
              f"compared ({left_out} blocks left out: they rely on a fresh interpreter), "
              + ("all agree" if not mismatches else f"{len(mismatches)} MISMATCHES"))
        for line in mismatches[:20]:
            print(f"  {line}")
        status |= bool(mismatches)
    print()

    own_peak = max((m.own_peak_kib or 0) for m, _, _ in colds) * 1024 / MB
    targets = []
    for tool, total in totals.items():
        r = cold / total
        targets.append((f"cold / pytest-{tool}, 4 versions", f"{cold:.2f} s / {total:.2f} s = "
                        f"{r:.2f}x", f"<= {TARGET_COLD:.2f}x", "MET" if r <= TARGET_COLD
                        else "MISSED"))
    r = rerun_m.wall / cold
    targets.append(("re-run / cold run", f"{rerun_m.wall:.3f} s / {cold:.2f} s = {r:.4f}x",
                    f"<= {TARGET_RERUN}x", "MET" if r <= TARGET_RERUN else "MISSED"))
    targets.append(("re-run: Python interpreters started", interp.split(" (")[0], "0",
                    "not measured" if traced is None or not traced.measured
                    else "MET" if not traced.interpreters else "MISSED"))
    for tool, ok in peer_ok.items():
        targets.append((f"same verdicts as pytest-{tool}", "all agree" if ok else "mismatches",
                        "every block both run", "MET" if ok else "MISSED"))
    targets.append(("docmatrix's own peak memory, cold", f"{own_peak:.1f} MB",
                     f"<= {TARGET_OWN_MB} MB (issue: on the 10x corpus)",
                     "MET" if own_peak <= TARGET_OWN_MB else "MISSED"))
    print(table(["target", "measured", "target", "result"], targets, "llll"))
    print()
    print(f"reproduce: {command_line(argv)}")
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
