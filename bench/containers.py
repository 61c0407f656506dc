#!/usr/bin/env python3
"""The container backend against the interpreter backend, side by side, on the generated corpus.

Usage: python3 bench/containers.py [--no-build] [--files N] [--repeat R] [--work DIR]

Generates the standard-library corpus (bench/gen_corpus.py, 50 guides x 20 blocks by default),
then runs `docmatrix validate . --format json` on the four versions, cold (a new cache folder
each run), alternately with `--backend local` and `--backend container` (the images
`python:3.X-slim`: on this kind of machine the local stand-ins scripts/python-images.sh makes;
nothing is pulled), R times each. It prints each run's wall time, the medians, their ratio
(target: container <= 1.3x local), the cells against the corpus's expected.tsv and against each
other, docmatrix's own peak memory, and on its own the start-up of the four containers: one
example on four versions, cold, with each backend (their difference is what the containers
cost to start), and four bare `ENGINE run --rm IMAGE python3 -c pass` at once.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import measure, parse_report, progress  # noqa: E402

VERSIONS = ("3.9", "3.10", "3.11", "3.12")
TARGET = 1.3


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-build", action="store_true", help="skip `cargo build --release`")
    p.add_argument("--binary", type=Path, default=HERE.parent / "target/release/docmatrix")
    p.add_argument("--files", type=int, default=50, help="guides in the corpus (default 50)")
    p.add_argument("--blocks", type=int, default=20, help="python blocks a guide (default 20)")
    p.add_argument("--repeat", type=int, default=3, help="cold runs of each backend (default 3)")
    p.add_argument("--engine", default="podman", help="podman or docker (default podman)")
    p.add_argument("--work", type=Path, help="keep the corpus and outputs here")
    return p.parse_args()


def expected_cells(corpus: Path) -> dict:
    """(guide, block index, version) -> 'pass' or 'fail', from expected.tsv."""
    out = {}
    lines = (corpus / "expected.tsv").read_text().splitlines()
    for line in lines[1:]:
        block, *cells = line.split("\t")
        stem, index = block.rsplit("_b", 1)
        for v, cell in zip(VERSIONS, cells):
            out[(stem + ".md", int(index.split(".")[0]), v)] = "pass" if cell == "pass" else "fail"
    return out


def report_cells(report: dict) -> dict:
    """(file, python block index, version) -> status."""
    out = {}
    index: dict = {}
    for e in report["examples"]:
        if e.get("language") != "python":
            continue
        f = Path(e["file"]).name
        i = index.get(f, 0)
        index[f] = i + 1
        for v, r in e["results"].items():
            out[(f, i, v)] = r["status"]
    return out


def cold(binary: Path, corpus: Path, out: Path, backend: str, *extra: str):
    cache = Path(tempfile.mkdtemp(prefix="dm-cache-", dir=out))
    cmd = [str(binary), "validate", ".", "--format", "json", "--no-progress",
           "--python", ",".join(VERSIONS), "--cache-dir", str(cache), "--backend", backend,
           *extra]
    m = measure(cmd, corpus, out / f"{backend}-{time.monotonic_ns()}")
    shutil.rmtree(cache, ignore_errors=True)
    return m


def bare_starts(engine: str) -> float:
    """Four `ENGINE run --rm IMAGE python3 -c pass` at once: wall seconds."""
    def one(v: str) -> None:
        subprocess.run([engine, "run", "--rm", "--pull=never", "--network", "none",
                        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                        f"python:{v}-slim", f"python{v}", "-c", "pass"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, VERSIONS))
    return time.perf_counter() - start


def main() -> int:
    args = parse_args()
    if shutil.which(args.engine) is None:
        print(f"{args.engine} is not installed", file=sys.stderr)
        return 2
    missing = [v for v in VERSIONS if subprocess.run(
        [args.engine, "image", "exists", f"python:{v}-slim"]).returncode != 0] \
        if args.engine == "podman" else []
    if missing:
        print(f"no image python:X-slim for {', '.join(missing)}: run scripts/python-images.sh",
              file=sys.stderr)
        return 2
    if not args.no_build:
        progress("cargo build --release")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=HERE.parent, check=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="dm-containers-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(corpus), "--files",
                    str(args.files), "--blocks", str(args.blocks)], check=True,
                   stdout=subprocess.DEVNULL)
    expected = expected_cells(corpus)
    out = work / "out"
    out.mkdir(exist_ok=True)

    walls = {"local": [], "container": []}
    peaks = {"local": [], "container": []}
    seen = {}
    for r in range(args.repeat):
        for backend in ("local", "container"):
            progress(f"cold run {r + 1}/{args.repeat}, --backend {backend}")
            m = cold(args.binary, corpus, out, backend)
            report = parse_report(m)
            walls[backend].append(m.wall)
            peaks[backend].append((m.own_peak_kib or 0) / 1024)
            seen[backend] = report_cells(report)
            sources = {v: (i or {}).get("source") for v, i in report["interpreters"].items()}
            want = "container" if backend == "container" else None
            if any((s == "container") != (want == "container") for s in sources.values()):
                print(f"--backend {backend}: interpreters {sources}", file=sys.stderr)
                return 1

    # The start-up on its own: one example, four versions, cold.
    tiny = work / "tiny"
    tiny.mkdir(exist_ok=True)
    (tiny / "one.md").write_text("# one\n\n```python\nprint(1)\n```\n")
    startup = {}
    for backend in ("local", "container"):
        runs = [cold(args.binary, tiny, out, backend).wall for _ in range(3)]
        startup[backend] = statistics.median(runs)
    bare = statistics.median(bare_starts(args.engine) for _ in range(3))

    med = {b: statistics.median(w) for b, w in walls.items()}
    ratio = med["container"] / med["local"]
    agree = sum(1 for k, s in seen["local"].items() if seen["container"].get(k) == s)
    as_built = {b: sum(1 for k, s in seen[b].items() if expected.get(k) == s) for b in seen}
    n = len(expected)
    print()
    print(f"corpus: {args.files} guides x {args.blocks} blocks = {n // 4} examples, "
          f"{n} cells, 4 versions, cold cache, {args.repeat} runs each, alternating")
    for b in ("local", "container"):
        runs = ", ".join(f"{w:.2f}" for w in walls[b])
        print(f"  --backend {b:9} median {med[b]:6.2f} s  ({runs})  own peak "
              f"{max(peaks[b]):.1f} MB  cells as built {as_built[b]}/{n}")
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"  container / local: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    print(f"  cells equal between the backends: {agree}/{len(seen['local'])}")
    print(f"start-up: one example on four versions, cold: local {startup['local']:.2f} s, "
          f"container {startup['container']:.2f} s (containers cost "
          f"{startup['container'] - startup['local']:+.2f} s); four bare `{args.engine} run "
          f"--rm python:3.X-slim python3.X -c pass` at once: {bare:.2f} s")
    print(f"reproduce: python3 bench/containers.py --files {args.files} --blocks {args.blocks} "
          f"--repeat {args.repeat}")
    ok = agree == len(seen["local"]) and all(v == n for v in as_built.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
