#!/usr/bin/env python3
"""Inventory of the Markdown forms that hold code in a docs tree (source side).

Counts, over all .md files under each DOCS_DIR: fence info strings (exact
spelling), MkDocs-Material / pymdownx container forms, include forms,
console notations.  Measurement helper; prints one block per project.

Usage: python form_inventory.py NAME=DOCS_DIR [...] [--json out.json]
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

FENCE_RE = re.compile(r"^(?P<ind>\s*)(?P<mark>`{3,}|~{3,})(?P<info>.*)$")
PATTERNS = {
    # containers
    "mkdocs tab  === \"Label\"": re.compile(r'^\s*===\+?\s+"'),
    "admonition  !!! type": re.compile(r"^\s*!!!\s+\w"),
    "collapsible ???[+] type": re.compile(r"^\s*\?\?\?\+?\s+\w"),
    "blocks /// tab | X": re.compile(r"^\s*/{3,}\s*tab\s*\|"),
    "blocks /// details | X": re.compile(r"^\s*/{3,}\s*details\b"),
    "blocks /// admonition-type (note, tip, ...)": re.compile(
        r"^\s*/{3,}\s*(note|tip|warning|danger|info|check|attention|caution|error|hint|admonition)\b"),
    "blocks /// other named block": re.compile(
        r"^\s*/{3,}\s*(?!tab\b|details\b|note\b|tip\b|warning\b|danger\b|info\b|check\b|attention\b|"
        r"caution\b|error\b|hint\b|admonition\b)[a-z][\w-]*"),
    "blocks nested with 4+ slashes (//// ...)": re.compile(r"^\s*/{4,}\s*\w"),
    "MyST directive ```{name}": re.compile(r"^\s*(`{3,}|:{3,})\{[a-z][\w-]*\}"),
    "MyST colon fence :::{name}": re.compile(r"^\s*:{3,}\{"),
    "mkdocstrings autodoc  ::: dotted.name": re.compile(r"^\s*:::\s+[\w.]+\s*$"),
    "container labelled 'PowerShell' (tab/admonition title)": re.compile(r"^\s*/{3,}.*\|.*PowerShell"),
    "rST directive .. code-block::": re.compile(r"^\s*\.\.\s+(code-block|code|sourcecode)::"),
    # includes
    "include {* path ... *} (col 0)": re.compile(r"^\{\*\s*\S+.*\*\}\s*$"),
    "include {* *} indented": re.compile(r"^\s+\{\*\s*\S+.*\*\}\s*$"),
    "  of which with ln[...]": re.compile(r"^\s*\{\*.*\bln\[.*\*\}\s*$"),
    "  of which with ln[0] (no shown excerpt)": re.compile(r"^\s*\{\*.*\bln\[0\].*\*\}\s*$"),
    "  of which with hl[...]": re.compile(r"^\s*\{\*.*\bhl\[.*\*\}\s*$"),
    "  of which with title[...]": re.compile(r"^\s*\{\*.*\btitle\[.*\*\}\s*$"),
    "include {!path!} / {!>path!}": re.compile(r"\{!>?\s*\S+?!\}"),
    "  of which with [ln:a-b]": re.compile(r"\{!>?\s*\S+?\[ln:[^\]]*\]!\}"),
    "include --8<-- (snippets)": re.compile(r"^\s*-+8<-+"),
    # console things
    "<div class=\"termy\">": re.compile(r'<div\s+class="termy"'),
    "console prompt notation  # text:$ answer": re.compile(r"^\s*#\s.*:\$\s"),
    "console comment line // text": re.compile(r"^\s*//\s"),
    "console '$ ' command lines": re.compile(r"^\s*\$ \S"),
    "PowerShell '$ Env:' / 'PS>' lines": re.compile(r"(\$Env:|\$env:|^\s*PS[ >])"),
    "console HTML markup <span ...> in output": re.compile(r"<span\b"),
    "code annotation marker # (1)": re.compile(r"#\s*\(\d+\)!?\s*$"),
}


def inventory(docs: Path) -> dict:
    info = collections.Counter()
    forms = collections.Counter()
    fence_in = collections.Counter()  # fences inside containers (by indentation / blocks)
    pages = sorted(docs.rglob("*.md"))
    for page in pages:
        in_fence = None
        fence_lang = None
        block_depth = 0
        for line in page.read_text(encoding="utf-8").splitlines():
            m = FENCE_RE.match(line)
            if in_fence is None:
                for name, rx in PATTERNS.items():
                    if name.startswith(("console", "PowerShell", "code annotation")):
                        continue
                    if rx.search(line):
                        forms[name] += 1
                if re.match(r"^\s*/{3,}\s*\w", line):
                    block_depth += 1
                elif re.match(r"^\s*/{3,}\s*$", line):
                    block_depth = max(0, block_depth - 1)
                if m:
                    in_fence = m.group("mark")
                    raw = m.group("info").strip()
                    info[raw.split()[0] if raw and not raw.startswith("{") else (raw or "(none)")] += 1
                    fence_lang = raw
                    if m.group("ind"):
                        fence_in["indented fence (inside !!!/===/list)"] += 1
                    if block_depth:
                        fence_in["fence inside /// block"] += 1
            else:
                s = line.strip()
                if s and s.strip(in_fence[0]) == "" and len(s) >= len(in_fence):
                    in_fence = None
                    continue
                for name, rx in PATTERNS.items():
                    if name.startswith(("include {!", "  of which with [ln", "console", "PowerShell",
                                        "code annotation", "include --8<--")):
                        if rx.search(line):
                            tag = name if not name.startswith(("console", "PowerShell")) else \
                                f"{name} (in {fence_lang.split()[0] if fence_lang else '(none)'} fence)"
                            forms[tag] += 1
    return {"pages": len(pages), "fence_info": dict(info.most_common()),
            "forms": dict(forms), "fence_context": dict(fence_in)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("projects", nargs="+", help="NAME=DOCS_DIR")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    out = []
    for spec in args.projects:
        name, _, docs = spec.partition("=")
        inv = inventory(Path(docs))
        inv["project"] = name
        out.append(inv)
        print(f"== {name}: {inv['pages']} pages")
        print("  fence info words: " + ", ".join(f"{k}={v}" for k, v in inv["fence_info"].items()))
        for k, v in sorted(inv["forms"].items()):
            print(f"  {v:5}  {k}")
        for k, v in inv["fence_context"].items():
            print(f"  {v:5}  {k}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
