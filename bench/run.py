#!/usr/bin/env python3
"""One-command benchmark of docmatrix: every figure of its speed targets, and verdict correctness.

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
end a table prints each target by name (cold-vs-peer, rerun-from-cache, scale-10x, ...) with
the measured figure and PASS/MISS. Exit status: 0 when every verdict check agrees (cold run
against the expected TSV; re-run, edited run and 10x run against it or against the cold run),
1 on any mismatch, 2 when the benchmark itself could not run. A missed speed or memory target
does not change the exit status.

This file is the entry point: measure.py runs the phases and collects the figures, check.py
compares them with the expected verdicts and the targets, report.py prints them.
See bench/README.md.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from measure import SHARED, BenchError, run_phases
from report import print_results


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark docmatrix against its speed and memory targets and check "
                    "its verdicts (see bench/README.md).")
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


def benchmark(args: argparse.Namespace, tmp: Path) -> int:
    """Run every phase, print the results; the exit status of the verdict checks (0 or 1)."""
    return print_results(run_phases(args, tmp), args.jobs)


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
