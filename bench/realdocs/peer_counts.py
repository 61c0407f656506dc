#!/usr/bin/env python3
"""Count what peer tools collect from a docs tree (measurement helper).

Runs, with pytest from the current interpreter's environment:
  pytest --markdown-docs --collect-only -q DOCS   (pytest-markdown-docs)
  pytest --codeblocks   --collect-only -q DOCS   (pytest-codeblocks)
with an empty ini file so the project's own pytest config does not interfere,
maps every collected item back to the fence that opens it in the .md source,
and tallies the items by the fence's language (info string).

Usage: python peer_counts.py NAME=DOCS_DIR [...] [--json out.json]
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PY = {"python", "py", "python3", "py3"}
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*\{?\s*\.?([A-Za-z0-9_+#.-]*)")
ITEM_MD_DOCS = re.compile(r"^(?P<file>.+?\.md)::\[CodeFence#\d+\]\[line:(?P<line>\d+)\]")
ITEM_CODEBLOCKS = re.compile(r"^(?P<file>.+?\.md)::line (?P<line>\d+)")

TOOLS = {
    "pytest-markdown-docs": (["--markdown-docs"], ITEM_MD_DOCS),
    "pytest-codeblocks": (["--codeblocks"], ITEM_CODEBLOCKS),
}


def fence_openers(path: Path) -> dict[int, str]:
    """1-based line number of each fence opener -> its language word."""
    out, in_fence = {}, None
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE_RE.match(line)
        if in_fence is None and m:
            in_fence = m.group(2)
            out[i] = m.group(3) or "(none)"
        elif in_fence is not None:
            s = line.strip()
            if s and s.strip(in_fence[0]) == "" and len(s) >= len(in_fence):
                in_fence = None
    return out


def lang_at(openers: dict[int, str], line: int) -> str:
    for cand in (line, line - 1, line + 1, line - 2):
        if cand in openers:
            return openers[cand]
    return "?"


def collect(tool: str, docs: Path, cwd: Path) -> tuple[list[tuple[Path, int]], str]:
    flags, item_re = TOOLS[tool]
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as ini:
        ini.write("[pytest]\n")
    cmd = [sys.executable, "-m", "pytest", "-c", ini.name, "--rootdir", str(cwd),
           "-p", "no:cacheprovider", *flags, "--collect-only", "-q", str(docs)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    items = []
    for line in proc.stdout.splitlines():
        m = item_re.match(line.strip())
        if m:
            items.append((cwd / m.group("file"), int(m.group("line"))))
    tail = (proc.stdout.strip().splitlines() or [""])[-1]
    return items, f"exit {proc.returncode}: {tail}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("projects", nargs="+", help="NAME=DOCS_DIR")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    results = []
    for spec in args.projects:
        name, _, docs = spec.partition("=")
        docs = Path(docs).resolve()
        cwd = docs.parent
        res = {"project": name, "docs": str(docs), "tools": {}}
        for tool in TOOLS:
            items, status = collect(tool, docs, cwd)
            langs = collections.Counter()
            cache: dict[Path, dict[int, str]] = {}
            for path, line in items:
                if path not in cache:
                    cache[path] = fence_openers(path)
                langs[lang_at(cache[path], line)] += 1
            py = sum(v for k, v in langs.items() if k.lower() in PY)
            res["tools"][tool] = {"items": len(items), "python": py,
                                  "by_lang": dict(langs), "status": status}
        results.append(res)
    for r in results:
        for tool, t in r["tools"].items():
            print(f"{r['project']:10} {tool:22} items={t['items']:4} python={t['python']:4} "
                  f"by_lang={t['by_lang']}  [{t['status']}]")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
