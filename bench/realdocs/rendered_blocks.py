#!/usr/bin/env python3
"""Count the code blocks a reader sees on a rendered MkDocs site.

Measurement helper for docmatrix, independent of its Rust extractor.

For each project given as NAME=PATH/TO/mkdocs.yml, every Markdown page under
the project's docs_dir is rendered with Python-Markdown and the
markdown_extensions that the mkdocs.yml configures (INHERIT and !ENV are
honoured; relative include paths resolve from the mkdocs.yml folder, which is
where mkdocs runs).  The code blocks are then counted in the HTML, per
language, and each block is classified by the elements around it:

  tab        inside a content tab (``tabbed-set`` or ``tabbed-content``)
  admonition inside ``div.admonition``
  details    inside a ``<details>`` element (collapsible)
  hidden     inside a closed ``<details>`` or in a tab other than the first of
             its tab set: not visible before the reader clicks

Includes are counted from the source too: ``{* path ... *}`` lines (the
FastAPI-family include-variants syntax, one Python block shown per line),
``{!path!}`` (mdx_include) and ``--8<--`` (pymdownx.snippets).

Needs (pip): markdown pymdown-extensions pyyaml, plus whatever the
mkdocs.yml names (mkdocs-material, mdx-include, markdown-include-variants,
zensical ...).  An extension that cannot be imported or configured is dropped
and reported.

Only measurement tweak: pymdownx.highlight gets ``pygments_lang_class: true``
so the HTML carries a ``language-X`` class (it changes no structure).

Usage:
  python rendered_blocks.py fastapi=/work/realdocs/fastapi/docs/en/mkdocs.yml \
      sqlmodel=/work/realdocs/sqlmodel/mkdocs.yml --json out.json
  # a site built elsewhere (e.g. Sphinx + MyST): NAME=html:BUILT_DIR[:SOURCE_DIR]
  python rendered_blocks.py attrs=html:/work/realdocs/attrs-html:/work/realdocs/attrs/docs
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import json
import os
import re
import sys
import traceback
from html.parser import HTMLParser
from pathlib import Path

import markdown
import yaml

PY_LANGS = {"python", "py", "python3", "py3"}
PYCON_LANGS = {"pycon", "python-console", "doctest"}
INCLUDE_VARIANTS_RE = re.compile(r"^\{\*\s*(\S+)\s*(.*)\*\}$")  # same as the extension
MDX_INCLUDE_RE = re.compile(r"\{!>?\s*[^!]+?!\}")
SNIPPET_RE = re.compile(r"^\s*-{1,}8<-{1,}\s")
MACRO_ERROR_RE = re.compile(r'<h1 id="macro-[a-z-]*error"')
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*\{?\s*\.?([A-Za-z0-9_+#.-]*)")


# --------------------------------------------------------------------------
# mkdocs.yml loading
# --------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    pass


def _python_name(loader, suffix, node):
    mod, _, attr = suffix.rpartition(".")
    try:
        return getattr(importlib.import_module(mod), attr)
    except Exception:  # noqa: BLE001
        return None


def _env(loader, node):
    if isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node)
        for name in items[:-1]:
            if name in os.environ:
                return os.environ[name]
        return items[-1] if len(items) > 1 else None
    return os.environ.get(loader.construct_scalar(node))


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_Loader.add_multi_constructor("tag:yaml.org,2002:python/name:", _python_name)
_Loader.add_constructor("!ENV", _env)
_Loader.add_multi_constructor("!", _any_tag)


def _norm_exts(value) -> "collections.OrderedDict[str, dict]":
    out: "collections.OrderedDict[str, dict]" = collections.OrderedDict()
    if value is None:
        return out
    if isinstance(value, dict):
        items = value.items()
    else:
        items = []
        for item in value:
            if isinstance(item, str):
                items.append((item, None))
            else:
                items.extend(item.items())
    for name, cfg in items:
        out[name] = dict(cfg or {})
    return out


def _merge(base: dict, child: dict) -> dict:
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_mkdocs(path: Path) -> dict:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    parent = data.pop("INHERIT", None)
    data["markdown_extensions"] = _norm_exts(data.get("markdown_extensions"))
    if parent:
        base = load_mkdocs((path.parent / parent).resolve())
        exts = base["markdown_extensions"]
        for name, cfg in data["markdown_extensions"].items():
            exts[name] = _merge(exts.get(name, {}), cfg)
        data = _merge(base, {k: v for k, v in data.items() if k != "markdown_extensions"})
        data["markdown_extensions"] = exts
    return data


# --------------------------------------------------------------------------
# HTML analysis
# --------------------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "param", "source", "track", "wbr"}


def _lang_from(classes: list[str]) -> str | None:
    for c in classes:
        # language-X: pymdownx.highlight / codehilite; highlight-X: Sphinx
        for prefix in ("language-", "highlight-"):
            if c.startswith(prefix) and len(c) > len(prefix):
                return c[len(prefix):]
    return None


class BlockFinder(HTMLParser):
    """Collect <pre> blocks with their language and enclosing containers."""

    def __init__(self, main_only: bool = False):
        super().__init__(convert_charrefs=True)
        self.main_only = main_only
        self.stack: list[dict] = []
        self.blocks: list[dict] = []
        self._pre_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        node = {"tag": tag, "classes": classes, "attrs": a, "children_blocks": 0}
        if tag in VOID:
            return
        parent = self.stack[-1] if self.stack else None
        # index of a tabbed-block among its siblings in tabbed-content
        if "tabbed-block" in classes and parent is not None:
            node["tab_index"] = parent["children_blocks"]
            parent["children_blocks"] += 1
        self.stack.append(node)
        if tag == "code" and self._pre_depth and self.blocks and self.blocks[-1]["lang"] == "(none)":
            lang = _lang_from(classes)
            if lang:
                self.blocks[-1]["lang"] = lang.lower()
        if tag == "pre":
            self._pre_depth += 1
            if self._pre_depth == 1:
                self._record()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # pop to the matching tag (tolerate sloppy HTML)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                popped = self.stack[i:]
                del self.stack[i:]
                for n in popped:
                    if n["tag"] == "pre":
                        self._pre_depth -= 1
                return

    def _record(self):
        if self.main_only and not any(n["attrs"].get("role") == "main" for n in self.stack):
            return
        lang = None
        # the language class sits on the <pre> or a wrapper up to 3 levels out
        # (pymdownx: div.language-X.highlight > pre; Sphinx:
        # div.highlight-X > div.highlight > pre); <code class=language-X> is
        # picked up in handle_starttag
        for node in self.stack[-1:-4:-1]:
            lang = _lang_from(node["classes"])
            if lang:
                break
        in_tab = in_adm = in_det = hidden = termy = False
        for node in self.stack:
            cls = node["classes"]
            if "tabbed-set" in cls or "tabbed-content" in cls or "sd-tab-set" in cls:
                in_tab = True
            if node.get("tab_index", 0) > 0:
                hidden = True
            if "admonition" in cls:
                in_adm = True
            if node["tag"] == "details":
                in_det = True
                if "open" not in node["attrs"]:
                    hidden = True
            if "termy" in cls:
                termy = True
        self.blocks.append({
            "lang": (lang or "(none)").lower(),
            "tab": in_tab, "admonition": in_adm, "details": in_det,
            "hidden": hidden, "termy": termy,
        })


# --------------------------------------------------------------------------
# Source-side counts
# --------------------------------------------------------------------------
def source_counts(text: str) -> dict:
    c = collections.Counter()
    in_fence = None
    for line in text.splitlines():
        m = FENCE_RE.match(line)
        if in_fence is None:
            if m:
                in_fence = m.group(2)
                c["fences"] += 1
                if m.group(3).lower() in PY_LANGS:
                    c["py_fences"] += 1
            if INCLUDE_VARIANTS_RE.match(line):
                c["include_variants"] += 1
            elif re.match(r"^\s+\{\*.*\*\}\s*$", line):
                c["include_variants_indented"] += 1
            if SNIPPET_RE.match(line):
                c["snippets"] += 1
            if MDX_INCLUDE_RE.search(line):
                c["mdx_include_outside_fence"] += 1
        else:
            if MDX_INCLUDE_RE.search(line):
                c["mdx_include_in_fence"] += 1
            if SNIPPET_RE.match(line):
                c["snippets"] += 1
            stripped = line.strip()
            if stripped.startswith(in_fence[0] * len(in_fence)) and stripped.strip(in_fence[0]) == "":
                in_fence = None
    return c


class VariantsProbe:
    """Wraps the include-variants preprocessor to count the fences it emits."""

    def __init__(self, pre):
        self.pre = pre
        self.counts = collections.Counter()

    def run(self, lines):
        out = []
        for line in lines:
            if not INCLUDE_VARIANTS_RE.match(line):
                out.append(line)
                continue
            emitted = self.pre.run([line])
            self.counts["lines"] += 1
            depth_details = None
            first = True
            for e in emitted:
                if e.startswith("///// details"):
                    depth_details = e
                elif e.startswith("/////"):
                    depth_details = None
                if e.startswith("```python"):
                    if depth_details is None:
                        self.counts["primary" if first else "other_shown"] += 1
                        first = False
                    elif "Full file" in depth_details:
                        self.counts["full_preview"] += 1
                    else:
                        self.counts["variants"] += 1
            out.extend(emitted)
        return out


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
MKDOCS_BUILTIN = ("toc", "tables", "fenced_code")  # mkdocs always loads these first


def build_markdown(exts: dict, notes: list[str]):
    names, configs = [], {}
    exts = collections.OrderedDict(
        [(n, {}) for n in MKDOCS_BUILTIN if n not in exts] + list(exts.items()))
    for name, cfg in exts.items():
        cfg = dict(cfg)
        if name == "pymdownx.highlight":
            cfg["pygments_lang_class"] = True
        if name in ("codehilite", "markdown.extensions.codehilite"):
            cfg["use_pygments"] = False  # keeps <code class="language-X">
        if name == "toc":
            cfg.pop("permalink", None)  # irrelevant here
        if name == "pymdownx.snippets":
            cfg.setdefault("check_paths", False)
        try:
            markdown.Markdown(extensions=[name], extension_configs={name: cfg}).convert(
                "# t\n\nx [a](b.md)\n")
        except Exception as ex:  # noqa: BLE001
            notes.append(f"dropped extension {name}: {type(ex).__name__}: {ex}")
            continue
        names.append(name)
        configs[name] = cfg
    # pymdownx.highlight must be there for language classes
    if "pymdownx.superfences" in names and "pymdownx.highlight" not in names:
        names.append("pymdownx.highlight")
        configs["pymdownx.highlight"] = {"pygments_lang_class": True}
        notes.append("added pymdownx.highlight(pygments_lang_class) for language classes")
    return names, configs


def count_html(html: str, totals: collections.Counter, by_lang: collections.Counter,
               main_only: bool = False) -> int:
    finder = BlockFinder(main_only=main_only)
    finder.feed(html)
    page_py = 0
    for b in finder.blocks:
        by_lang[b["lang"]] += 1
        totals["blocks"] += 1
        if b["lang"] in PYCON_LANGS:
            totals["pycon"] += 1
        if b["lang"] in PY_LANGS:
            page_py += 1
            totals["py"] += 1
            for k in ("tab", "admonition", "details", "hidden"):
                if b[k]:
                    totals[f"py_{k}"] += 1
            if not (b["tab"] or b["admonition"] or b["details"]):
                totals["py_plain"] += 1
            if not b["hidden"]:
                totals["py_visible"] += 1
        if b["termy"]:
            totals["termy_blocks"] += 1
    if page_py:
        totals["pages_with_py"] += 1
    return page_py


def analyse_built_html(name: str, html_dir: Path, src_dir: Path | None) -> dict:
    """Count blocks in an already-built site (e.g. sphinx-build -b html output).

    Only blocks inside the element with role="main" count (skips navigation)."""
    totals = collections.Counter()
    by_lang = collections.Counter()
    skip = {"genindex.html", "search.html", "py-modindex.html", "404.html"}
    pages = [p for p in sorted(html_dir.rglob("*.html"))
             if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts]
    per_page = []
    for page in pages:
        n = count_html(page.read_text(encoding="utf-8"), totals, by_lang, main_only=True)
        per_page.append({"page": page.relative_to(html_dir).as_posix(), "py": n})
    if src_dir:
        for src in sorted(list(src_dir.rglob("*.md")) + list(src_dir.rglob("*.rst"))):
            totals.update({f"src_{k}": v for k, v in
                           source_counts(src.read_text(encoding="utf-8")).items()})
    return {"project": name, "html_dir": str(html_dir), "pages": len(pages),
            "extensions": [], "notes": [f"counted from built HTML in {html_dir}"],
            "failures": [], "totals": dict(totals), "by_lang": dict(by_lang),
            "per_page": per_page}


def analyse_project(name: str, mkdocs_yml: Path) -> dict:
    notes: list[str] = []
    cfg = load_mkdocs(mkdocs_yml)
    root = mkdocs_yml.parent.resolve()
    docs_dir = (root / cfg.get("docs_dir", "docs")).resolve()
    exts = cfg["markdown_extensions"]
    names, configs = build_markdown(exts, notes)
    pages = sorted(docs_dir.rglob("*.md"))
    totals = collections.Counter()
    by_lang = collections.Counter()
    per_page = []
    failures = []
    with contextlib.chdir(root):
        for page in pages:
            rel = page.relative_to(docs_dir).as_posix()
            text = page.read_text(encoding="utf-8")
            src = source_counts(text)
            totals.update({f"src_{k}": v for k, v in src.items()})
            md = markdown.Markdown(extensions=names, extension_configs=configs)
            probe = None
            if "include_variants" in md.preprocessors:
                orig = md.preprocessors["include_variants"]
                probe = VariantsProbe(orig)
                md.preprocessors.register(probe, "include_variants", 110)
            try:
                html = md.convert(text)
                fallback = False
                if MACRO_ERROR_RE.search(html[:200]):
                    # the macros extension replaces the whole page with an error
                    # report when a variable that a mkdocs hook/plugin would
                    # provide is missing: render the page without macros
                    raise RuntimeError("macro error page")
            except Exception as ex:  # noqa: BLE001
                # fall back: drop the extension most likely at fault, page-wise
                failures.append(f"{rel}: {type(ex).__name__}: {ex}")
                fallback = True
                safe = [n for n in names if n not in ("zensical.extensions.macros",
                                                       "material.extensions.preview")]
                try:
                    md = markdown.Markdown(extensions=safe, extension_configs=configs)
                    probe = None
                    if "include_variants" in md.preprocessors:
                        probe = VariantsProbe(md.preprocessors["include_variants"])
                        md.preprocessors.register(probe, "include_variants", 110)
                    html = md.convert(text)
                except Exception as ex2:  # noqa: BLE001
                    failures.append(f"{rel}: fallback failed too: {ex2}")
                    html = ""
            if probe:
                totals.update({f"iv_{k}": v for k, v in probe.counts.items()})
            page_py = count_html(html, totals, by_lang)
            per_page.append({"page": rel, "py": page_py, "src": dict(src),
                             "fallback": fallback,
                             "iv": dict(probe.counts) if probe else {}})
    return {
        "project": name, "mkdocs_yml": str(mkdocs_yml), "docs_dir": str(docs_dir),
        "pages": len(pages), "extensions": names, "notes": notes,
        "failures": failures, "totals": dict(totals), "by_lang": dict(by_lang),
        "per_page": per_page,
    }


def print_table(results: list[dict]) -> None:
    cols = [
        ("project", lambda r: r["project"]),
        ("pages", lambda r: r["pages"]),
        ("pg_w_py", lambda r: r["totals"].get("pages_with_py", 0)),
        ("blocks", lambda r: r["totals"].get("blocks", 0)),
        ("py", lambda r: r["totals"].get("py", 0)),
        ("py_vis", lambda r: r["totals"].get("py_visible", 0)),
        ("in_tab", lambda r: r["totals"].get("py_tab", 0)),
        ("in_adm", lambda r: r["totals"].get("py_admonition", 0)),
        ("in_det", lambda r: r["totals"].get("py_details", 0)),
        ("plain", lambda r: r["totals"].get("py_plain", 0)),
        ("pycon", lambda r: r["totals"].get("pycon", 0)),
        ("{* *}", lambda r: r["totals"].get("src_include_variants", 0)),
        ("{! !}", lambda r: r["totals"].get("src_mdx_include_in_fence", 0)
         + r["totals"].get("src_mdx_include_outside_fence", 0)),
        ("--8<--", lambda r: r["totals"].get("src_snippets", 0)),
        ("py_fences", lambda r: r["totals"].get("src_py_fences", 0)),
    ]
    rows = [[str(f(r)) for _, f in cols] for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, (h, _) in enumerate(cols)]
    print("  ".join(h.rjust(w) for (h, _), w in zip(cols, widths)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print()
    for r in results:
        langs = sorted(r["by_lang"].items(), key=lambda kv: -kv[1])
        print(f"{r['project']}: blocks by language: " + ", ".join(f"{k}={v}" for k, v in langs))
        t = r["totals"]
        iv = {k[3:]: v for k, v in t.items() if k.startswith("iv_")}
        if iv:
            print(f"  {{* *}} expansion: {iv}")
        print(f"  blocks (any language) inside div.termy: {t.get('termy_blocks', 0)}")
        for n in r["notes"]:
            print(f"  note: {n}")
        for f in r["failures"][:10]:
            print(f"  re-rendered without macros/preview: {f}")
        if len(r["failures"]) > 10:
            print(f"  ... {len(r['failures']) - 10} more failures")
    print()
    print("py = python-class <pre> blocks in the HTML; py_vis = not in a closed <details>"
          " nor in a non-first tab; in_* = any enclosing tab set / admonition / details;"
          " {* *} = include-variants lines (one Python block shown each);"
          " py_fences = ```python fences written in the .md source;"
          " pycon = pycon/doctest blocks (not in py).")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("projects", nargs="+", help="NAME=path/to/mkdocs.yml")
    ap.add_argument("--json", help="write full results (per page) to this file")
    args = ap.parse_args(argv)
    results = []
    for spec in args.projects:
        name, _, path = spec.partition("=")
        try:
            if path.startswith("html:"):
                html_dir, _, src_dir = path[5:].partition(":")
                results.append(analyse_built_html(
                    name, Path(html_dir).resolve(), Path(src_dir).resolve() if src_dir else None))
            else:
                results.append(analyse_project(name, Path(path).resolve()))
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            return 1
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
