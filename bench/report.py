"""Reporting, for bench/run.py: the tables and lines of the benchmark's standard output.

`print_results` prints everything measure.py collected, in order: the machine and the cold
run's figures, the comparison with the peers and the fresh baseline, one row per docmatrix
run, the verdict checks, the details of each phase and the table of targets (check.py). Its
return value is the exit status of the verdict checks: 0 when all agree, 1 on any mismatch.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import fresh
from check import (Target, block_results, check_verdicts, compare_findings, compare_reports,
                   evaluate_targets, md_lines_outside)
from measure import (MB, RUN_STATUSES, VERSIONS, Measurement, Results, Run, cache_counts, cells,
                     find_example, mb, mib, peer_total, status_counts)

MAX_MISMATCHES_SHOWN = 20
BUSY = 0.10                 # share of the CPUs busy while the benchmark is idle: too much


def percent(share: Optional[float]) -> str:
    return "n/a" if share is None else f"{100 * share:.0f}%"


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


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


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


def report_targets(targets: Sequence[Target]) -> None:
    """The table of targets, one row per target by name, and how many were met."""
    print("Targets")
    print(table(["name", "figure", "measured", "target", "result"],
                [(t.name, t.figure, t.measured, t.target, t.verdict) for t in targets],
                "lllll"))
    met = sum(t.met is True for t in targets)
    missed = sum(t.met is False for t in targets)
    print(f"{met} met, {missed} missed, {len(targets) - met - missed} not measured\n")


def report_details(r: Results) -> int:
    """The re-run, edit, scale and extraction details; returns 1 if a consistency check fails."""
    status = 0
    if len(r.cold_walls) > 1:
        status |= report_differences(
            f"repeated cold runs ({len(r.cold_walls) - 1}) vs the first, every cell",
            [f"{again.label}: {d}" for again in r.cold_repeats
             for d in compare_reports(r.cold.report, again.report)])
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


def print_results(r: Results, jobs: Optional[int]) -> int:
    """Print every result of the benchmark; 1 if a verdict or consistency check failed, else 0.

    Sets `r.verdicts_ok` from the cold run's verdict check, for the target of that name.
    """
    facts = list(r.facts)
    facts.insert(-1, ("load average at start", r.load))
    busy = any(share is not None and share > BUSY for _, share in r.background)
    facts.insert(-1, ("machine busy, 1 s samples", ", ".join(
        f"{percent(share)} {when}" for when, share in r.background)
        + ("  (BUSY: something else ran, timings are not reliable)" if busy else
           " (0% = idle)")))
    report_figures(r.binary, r.corpus, r.cold.m, r.cold.report, jobs, facts)
    report_comparisons(r.cold_wall, r.peers, r.fresh_seconds,
                       r.rerun.m.wall if r.rerun else None, r.cold_walls, r.peer_runs)
    phases = [r.cold, r.rerun, r.edited, r.scale_base, r.scale_10x, r.scale_rerun]
    report_phases([run for i, run in enumerate(phases)
                   if run is not None and all(run is not other for other in phases[:i])])
    verdicts_path, corpus = r.verdicts_path, r.corpus
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
    report_targets(evaluate_targets(r))
    return status
