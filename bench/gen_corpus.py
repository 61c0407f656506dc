#!/usr/bin/env python3
"""Generate docmatrix's own benchmark corpus: Markdown guides full of runnable ```python examples.

Usage: python3 bench/gen_corpus.py OUTDIR [--files N] [--blocks M] [--seed S]

Writes OUTDIR/guide_01.md ... guide_NN.md (default 50 guides x 20 python blocks = 1000 examples)
and OUTDIR/expected.tsv, the verdict every block must get on each Python version:

    block            3.9                  3.10   3.11   3.12
    guide_01_b00.py  pass                 pass   pass   pass
    guide_01_b03.py  FAIL SyntaxError     pass   pass   pass

A block id is `<guide stem>_b<NN>.py`, NN being the 0-based index of the python block in its
guide. Every block is self-contained and stdlib-only, prints a little and asserts its result.
About a quarter of the blocks use exactly one feature newer than 3.9 (FEATURES below), so the
verdicts differ by version; the expected cells follow from that feature by construction, and
`bench/fresh.py` checks them against real interpreters. Output is deterministic for a seed.

The blocks' templates (recipes) are read from bench/recipes/portable.md (blocks that pass on
every version) and bench/recipes/versioned.md (one newer feature each).
"""
from __future__ import annotations

import argparse
import random
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

VERSIONS = ("3.9", "3.10", "3.11", "3.12")
VERSIONED_FRACTION = 0.25
WORDS = ("alpha", "bravo", "cobalt", "delta", "falcon", "granite", "lumen", "nova", "orbit",
         "quartz", "tango", "vega")


@dataclass(frozen=True)
class Feature:
    """A language or library feature missing before `since`, and what older versions raise."""
    description: str
    since: str
    error: str


FEATURES = {
    "match": Feature("the `match` statement", "3.10", "SyntaxError"),
    "itertools.pairwise": Feature("`itertools.pairwise`", "3.10", "AttributeError"),
    "from itertools import pairwise": Feature("`itertools.pairwise`", "3.10", "ImportError"),
    "zip strict": Feature("`zip(..., strict=True)`", "3.10", "TypeError"),
    "except*": Feature("`except*`", "3.11", "SyntaxError"),
    "ExceptionGroup": Feature("the `ExceptionGroup` built-in", "3.11", "NameError"),
    "tomllib": Feature("`tomllib`", "3.11", "ModuleNotFoundError"),
    "typing.Self": Feature("`typing.Self`", "3.11", "ImportError"),
    "type statement": Feature("the `type` statement", "3.12", "SyntaxError"),
    "itertools.batched": Feature("`itertools.batched`", "3.12", "AttributeError"),
}


@dataclass(frozen=True)
class Recipe:
    """One example template, read from a file of bench/recipes/ (read_recipes).

    `code` is a string.Template source (write `$$` for a literal dollar) with placeholders
    $k (int 10..60), $n (int 3..9), $word (a lowercase word from WORDS) and $Word (capitalized).
    The rendered code must pass on every version from `FEATURES[feature].since` on (on 3.9+
    when `feature` is None) and fail on older ones only because of that feature.
    """
    title: str
    intro: str
    code: str
    feature: Optional[str] = None


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def expected_cells(recipe: Recipe) -> list[str]:
    """The verdict of a recipe on each of VERSIONS: `pass` or `FAIL <ExceptionType>`."""
    if recipe.feature is None:
        return ["pass"] * len(VERSIONS)
    feature = FEATURES[recipe.feature]
    return ["pass" if version_key(v) >= version_key(feature.since) else f"FAIL {feature.error}"
            for v in VERSIONS]


RECIPES = Path(__file__).resolve().parent / "recipes"
FEATURE_LINE = re.compile(r"^Feature: `([^`]+)`$")


def read_recipes(path: Path) -> list[Recipe]:
    """The recipes of a file of bench/recipes/, in order.

    After the file's introduction, each recipe is a `## <title>` line, one line of
    introduction, for a versioned recipe a line ``Feature: `<key of FEATURES>` ``, and one
    ```` ```python ```` block holding its code (blank lines between them are ignored).
    """
    lines = path.read_text(encoding="utf-8").splitlines()

    def fail(index: int, message: str) -> SystemExit:
        return SystemExit(f"error: {path}:{index + 1}: {message}")

    recipes = []
    i = next((n for n, line in enumerate(lines) if line.startswith("## ")), len(lines))
    while i < len(lines):
        heading, title, prose = i, lines[i][3:], []
        i += 1
        while i < len(lines) and lines[i] != "```python":
            if lines[i].startswith("## "):
                raise fail(heading, f"recipe {title!r} has no ```python block")
            if lines[i].strip():
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
        feature = None
        if prose and FEATURE_LINE.match(prose[-1]):
            feature = FEATURE_LINE.match(prose.pop()).group(1)
            if feature not in FEATURES:
                raise fail(heading, f"unknown feature {feature!r} (not in FEATURES)")
        if len(prose) != 1:
            raise fail(heading, f"recipe {title!r} needs exactly one line of introduction")
        recipes.append(Recipe(title, prose[0], code, feature))
    return recipes


def read_recipe_files() -> tuple[list[Recipe], list[Recipe]]:
    """PORTABLE and VERSIONED: recipes/portable.md (no feature each) and recipes/versioned.md
    (one feature each)."""
    portable = read_recipes(RECIPES / "portable.md")
    versioned = read_recipes(RECIPES / "versioned.md")
    if any(r.feature is not None for r in portable):
        raise SystemExit(f"error: {RECIPES / 'portable.md'}: a recipe there names a feature")
    if any(r.feature is None for r in versioned):
        raise SystemExit(f"error: {RECIPES / 'versioned.md'}: every recipe there needs a "
                         "Feature: line")
    return portable, versioned


PORTABLE, VERSIONED = read_recipe_files()


PREAMBLES = (
    "This guide collects short, runnable recipes. Each example stands alone: copy it into a file "
    "and run it with `python3`.",
    "The examples below use only the standard library. Every snippet checks its own result with "
    "`assert`, so a silent run means it worked.",
    "A tour of practical standard-library idioms. Snippets are independent of each other; run "
    "them in any order.",
)
GUIDE_TOPICS = ("Everyday Python", "Standard library recipes", "Data wrangling", "Practical idioms",
                "Python for tool builders", "Patterns worth knowing")


def render_code(recipe: Recipe, rng: random.Random) -> str:
    word = rng.choice(WORDS)
    values = {"k": rng.randint(10, 60), "n": rng.randint(3, 9), "word": word, "Word": word.title()}
    return string.Template(recipe.code).substitute(values).strip("\n") + "\n"


def render_guide(number: int, blocks: int, rng: random.Random) -> tuple[str, list[Recipe]]:
    """One guide's Markdown text and the recipes of its python blocks, in order."""
    portable = PORTABLE[:]
    rng.shuffle(portable)
    recipes = [rng.choice(VERSIONED) if rng.random() < VERSIONED_FRACTION
               else portable[i % len(portable)] for i in range(blocks)]
    parts = [f"# {rng.choice(GUIDE_TOPICS)}, part {number}\n", rng.choice(PREAMBLES) + "\n"]
    for index, recipe in enumerate(recipes, start=1):
        section = [f"## {index}. {recipe.title}\n", recipe.intro + "\n"]
        if recipe.feature is not None:
            feature = FEATURES[recipe.feature]
            section.append(f"> **Note:** this recipe uses {feature.description}, "
                           f"new in Python {feature.since}.\n")
        section.append(f"```python\n{render_code(recipe, rng)}```\n")
        if rng.random() < 0.15:
            section.append(f"Save it as `recipe_{index:02d}.py` and run it:\n\n"
                           f"```console\n$ python3 recipe_{index:02d}.py\n```\n")
        parts.append("\n".join(section))
    return "\n".join(parts), recipes


def generate(out: Path, files: int, blocks: int, seed: int) -> int:
    """Write the guides and expected.tsv into `out`; return the number of python blocks."""
    names = [f"guide_{i:02d}.md" for i in range(1, files + 1)]
    stale = sorted(p.name for p in out.glob("*.md") if p.name not in names) if out.is_dir() else []
    if stale:
        raise SystemExit(f"error: {out} holds other Markdown files ({', '.join(stale[:3])}...); "
                         "they would be benchmarked too, use an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = ["\t".join(("block",) + VERSIONS)]
    for number, name in enumerate(names, start=1):
        text, recipes = render_guide(number, blocks, rng)
        write_text(out / name, text)
        stem = Path(name).stem
        rows += ["\t".join([f"{stem}_b{i:02d}.py"] + expected_cells(recipe))
                 for i, recipe in enumerate(recipes)]
    write_text(out / "expected.tsv", "\n".join(rows) + "\n")
    return files * blocks


def write_text(path: Path, text: str) -> None:
    """UTF-8 with \\n line ends on every OS (Path.write_text has no `newline` before 3.10)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--files", type=int, default=50, help="number of guides (default 50)")
    parser.add_argument("--blocks", type=int, default=20,
                        help="python blocks per guide (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args()
    if args.files < 1 or args.blocks < 1:
        parser.error("--files and --blocks must be positive")
    total = generate(args.outdir, args.files, args.blocks, args.seed)
    print(f"wrote {args.files} guides, {total} python blocks and expected.tsv to {args.outdir}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
