"""Checking, for bench/run.py: docmatrix's verdicts and figures against what they should be.

Pure functions over what measure.py collected: the verdicts of a report against an expected
TSV, two reports of one corpus cell by cell, and every figure against its named target
(`evaluate_targets`). Nothing here runs a program or prints.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath
from typing import Dict, List, Optional, Sequence, Tuple

import fresh
from measure import MB, VERSIONS, BenchError, Results, cache_counts, cells, mb, peer_total

# The limit of each target, by the target's name (see evaluate_targets).
COLD_VS_PEER = 1.0          # cold-vs-peer: cold wall time / the faster peer's four-version total
COLD_VS_FRESH = 0.15        # cold-vs-fresh: cold wall time / one fresh `python file.py` per
                            # cell, 2 at a time
RERUN_VS_PEER = 0.02        # rerun-vs-peer: unchanged re-run / the faster peer's total
OWN_PEAK_MB = 100           # cold-own-memory: docmatrix's own VmHWM during the cold run
SCALE_RATIO = 11.0          # scale-10x: 10x corpus cold / 1x corpus cold
EXTRACTION_MB_S = 100.0     # extraction-speed: Markdown read by `--dry-run`, MB/s


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


def faster_peer(peers: Dict[str, Dict[str, float]]) -> Optional[Tuple[str, float]]:
    if not peers:
        return None
    tool = min(peers, key=lambda t: peer_total(peers[t]))
    return tool, peer_total(peers[tool])


@dataclass
class Target:
    """One target: its name (what it measures), the figure measured, the target, whether met."""
    name: str
    figure: str
    measured: str
    target: str
    met: Optional[bool]   # None: not measured

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else ("PASS" if self.met else "MISS")


def evaluate_targets(r: Results) -> List[Target]:
    """Each target, by name, with its measured figure and PASS, MISS or not measured.

    The names, in order: verdicts, cold-vs-peer, cold-vs-fresh, rerun-vs-peer,
    rerun-from-cache, rerun-no-interpreter, edit-reruns-one, cold-own-memory, scale-10x,
    extraction-speed (the three re-run targets only when there was a re-run, edit-reruns-one
    only when there was an edit phase).
    """
    targets = []
    figure = "verdicts identical to the expected TSV"
    if r.verdicts_ok is None:
        targets.append(Target("verdicts", figure, "no TSV", "all cells", None))
    else:
        targets.append(Target("verdicts", figure,
                              "all agree" if r.verdicts_ok else "mismatches (see above)",
                              "all cells", r.verdicts_ok))
    peer = faster_peer(r.peers)
    cold = r.cold_wall
    if peer:
        targets.append(Target("cold-vs-peer", f"cold run / faster peer ({peer[0]}, 4 versions)",
                              f"{cold:.2f} s / {peer[1]:.2f} s = {cold / peer[1]:.2f}x",
                              f"<= {COLD_VS_PEER:.2f}x", cold / peer[1] <= COLD_VS_PEER))
    else:
        targets.append(Target("cold-vs-peer", "cold run / faster peer (4 versions)",
                              f"{cold:.2f} s, no peers",
                              f"<= {COLD_VS_PEER:.2f}x (needs --peers)", None))
    figure = "cold run / fresh process per example (2 at a time)"
    if r.fresh_seconds:
        value = cold / r.fresh_seconds
        targets.append(Target("cold-vs-fresh", figure,
                              f"{cold:.2f} s / {r.fresh_seconds:.2f} s = {value:.4f}x",
                              f"<= {COLD_VS_FRESH:.2f}x", value <= COLD_VS_FRESH))
    else:
        targets.append(Target("cold-vs-fresh", figure, "not run",
                              f"<= {COLD_VS_FRESH:.2f}x (needs --fresh-baseline)", None))
    if r.rerun is not None:
        wall = r.rerun.m.wall
        if peer:
            targets.append(Target("rerun-vs-peer",
                                  f"re-run, nothing changed / faster peer ({peer[0]})",
                                  f"{wall:.3f} s / {peer[1]:.2f} s = {wall / peer[1]:.4f}x",
                                  f"<= {RERUN_VS_PEER:.2f}x", wall / peer[1] <= RERUN_VS_PEER))
        else:
            targets.append(Target("rerun-vs-peer", "re-run, nothing changed / faster peer",
                                  f"{wall:.3f} s, no peers",
                                  f"<= {RERUN_VS_PEER:.2f}x (needs --peers)", None))
        total, _, cached = cache_counts(r.rerun.report)
        targets.append(Target("rerun-from-cache", "re-run: cells served from the cache",
                              f"{cached} of {total}", "all", cached == total))
        p = r.processes
        figure = "re-run: Python interpreters started (strace)"
        if p is None or not p.measured:
            targets.append(Target("rerun-no-interpreter", figure,
                                  f"not measured: {p.reason if p else 'skipped'}", "0", None))
        else:
            targets.append(Target("rerun-no-interpreter", figure,
                                  f"{len(p.interpreters)} (and {len(p.execs) - 1} other "
                                  f"programs exec'd)", "0", not p.interpreters))
    if r.edited is not None:
        total, executed, cached = cache_counts(r.edited.report)
        not_cached = total - cached
        targets.append(Target("edit-reruns-one",
                              "after editing one example: cells not from the cache",
                              f"{not_cached} ({r.edited.m.wall:.2f} s)",
                              f"exactly {len(VERSIONS)}", not_cached == len(VERSIONS)))
    peak = r.cold.m.own_peak_kib
    targets.append(Target("cold-own-memory", "docmatrix's own peak memory (VmHWM), cold run",
                          mb(peak), f"<= {OWN_PEAK_MB} MB",
                          None if peak is None else peak * 1024 / MB <= OWN_PEAK_MB))
    if r.scale_base is not None and r.scale_10x is not None:
        value = r.scale_10x.m.wall / r.scale_base.m.wall
        targets.append(Target("scale-10x", f"{r.scale_10x.examples} examples cold / "
                              f"{r.scale_base.examples} cold",
                              f"{r.scale_10x.m.wall:.2f} s / {r.scale_base.m.wall:.2f} s = "
                              f"{value:.2f}x", f"<= {SCALE_RATIO:.0f}x", value <= SCALE_RATIO))
    else:
        targets.append(Target("scale-10x", "10x corpus cold / 1x corpus cold",
                              "skipped (--skip-scale)", f"<= {SCALE_RATIO:.0f}x", None))
    figure = "extraction (--dry-run), Markdown read"
    if r.extraction is not None:
        e = r.extraction
        targets.append(Target("extraction-speed", figure,
                              f"{e.mb_s:.0f} MB/s ({e.bytes / MB:.0f} MB in {e.best:.2f} s)",
                              f">= {EXTRACTION_MB_S:.0f} MB/s", e.mb_s >= EXTRACTION_MB_S))
    else:
        targets.append(Target("extraction-speed", figure, "skipped (--skip-extraction)",
                              f">= {EXTRACTION_MB_S:.0f} MB/s", None))
    return targets
