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
"""
from __future__ import annotations

import argparse
import random
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
    """One example template.

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


PORTABLE = [
Recipe("An order model with dataclasses",
       "Dataclasses remove the boilerplate of value objects; `asdict` turns them into plain data.",
       r'''
from dataclasses import asdict, dataclass, field


@dataclass
class LineItem:
    sku: str
    unit_price: float
    quantity: int = 1


@dataclass
class Order:
    customer: str
    items: list = field(default_factory=list)

    def add(self, sku, price, qty=1):
        self.items.append(LineItem(sku, price, qty))
        return self

    @property
    def total(self):
        return round(sum(i.unit_price * i.quantity for i in self.items), 2)


order = Order("$word").add("A-$k", 2.50, $n).add("B-1", 10.00)
print(order.total, asdict(order)["items"][0])
assert order.total == round(2.50 * $n + 10.00, 2)
assert asdict(order)["customer"] == "$word"
assert Order("x").items is not Order("y").items
'''),
Recipe("Validating fields in __post_init__",
       "Derived fields use `field(init=False)` and are computed after the generated `__init__`.",
       r'''
from dataclasses import dataclass, field


@dataclass
class Rectangle:
    width: float
    height: float
    area: float = field(init=False)

    def __post_init__(self):
        if self.width <= 0 or self.height <= 0:
            raise ValueError("dimensions must be positive")
        self.area = self.width * self.height


r = Rectangle($n, $k)
print(r)
assert r.area == $n * $k
try:
    Rectangle(-1, 2)
except ValueError as exc:
    print("rejected:", exc)
else:
    raise AssertionError("a negative width was accepted")
'''),
Recipe("Immutable, ordered records",
       "A frozen dataclass is hashable, and `order=True` sorts instances field by field.",
       r'''
from dataclasses import FrozenInstanceError, dataclass, replace


@dataclass(frozen=True, order=True)
class Release:
    major: int
    minor: int
    label: str = ""


releases = sorted({Release(1, $n), Release(0, $k), Release(1, 0, "$word"), Release(1, $n)})
print(releases)
assert len(releases) == 3
assert releases[0] == Release(0, $k)
patched = replace(releases[-1], label="final")
assert patched.minor == $n and releases[-1].label == ""
try:
    patched.major = 2
except FrozenInstanceError:
    print("releases are immutable")
else:
    raise AssertionError("frozen dataclass was mutated")
'''),
Recipe("Project layout with pathlib",
       "Everything happens inside a temporary directory, so the example leaves no trace.",
       r'''
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    package = root / "src" / "$word"
    package.mkdir(parents=True)
    for i in range($n):
        (package / f"mod_{i}.py").write_text(f"VALUE = {i}\n")
    (root / "README.md").write_text("# $Word\n")
    modules = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    print(modules[:2])
    assert len(modules) == $n
    assert modules[0] == "src/$word/mod_0.py"
    assert (root / "README.md").read_text().startswith("# $Word")
    assert [p.name for p in root.iterdir() if p.is_file()] == ["README.md"]
'''),
Recipe("Pure path manipulation",
       "`PurePosixPath` manipulates paths without touching the file system.",
       r'''
from pathlib import PurePosixPath

archive = PurePosixPath("/srv/$word/releases/v$n.$k/app.tar.gz")
print(archive.name, archive.suffixes, archive.parent.name)
assert archive.stem == "app.tar"
assert archive.suffixes == [".tar", ".gz"]
assert archive.with_suffix(".zip").name == "app.tar.zip"
assert archive.parts[:3] == ("/", "srv", "$word")
assert archive.relative_to("/srv").as_posix() == "$word/releases/v$n.$k/app.tar.gz"
assert archive.match("releases/*/*.gz")
'''),
Recipe("Line counts of files written to a scratch folder",
       "`Path.write_text` and `Path.read_text` cover most small file jobs.",
       r'''
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as tmp:
    folder = Path(tmp)
    for i in range(1, $n + 1):
        (folder / f"notes_{i:02d}.txt").write_text("$word\n" * i)
    counts = {p.name: len(p.read_text().splitlines()) for p in sorted(folder.glob("notes_*.txt"))}
    print(counts)
    assert counts["notes_01.txt"] == 1
    assert sum(counts.values()) == $n * ($n + 1) // 2
    biggest = max(folder.iterdir(), key=lambda p: p.stat().st_size)
    assert biggest.name == "notes_%02d.txt" % $n
'''),
Recipe("JSON with custom types",
       "`default=` and `object_hook=` let dates survive a JSON round trip.",
       r'''
import json
from datetime import date


def encode(obj):
    if isinstance(obj, date):
        return {"__date__": obj.isoformat()}
    raise TypeError(f"not serializable: {obj!r}")


def decode(d):
    if "__date__" in d:
        return date.fromisoformat(d["__date__"])
    return d


event = {"name": "$word", "day": date(2024, $n, $k % 28 + 1), "tags": ["x", "y"]}
text = json.dumps(event, default=encode, sort_keys=True)
print(text)
assert json.loads(text, object_hook=decode) == event
try:
    json.dumps({"s": {1, 2}}, default=encode)
except TypeError as exc:
    print("refused:", exc)
else:
    raise AssertionError("a set was serialized")
'''),
Recipe("Reading JSON lines",
       "Log shippers often emit one JSON document per line; blank lines are skipped.",
       r'''
import io
import json

stream = io.StringIO(
    '{"level": "info", "ms": $k}\n'
    '{"level": "error", "ms": $n}\n'
    "\n"
    '{"level": "info", "ms": 7}\n'
)
records = [json.loads(line) for line in stream if line.strip()]
slow = [r for r in records if r["ms"] > 8]
print(len(records), slow)
assert len(records) == 3
assert sum(r["ms"] for r in records) == $k + $n + 7
assert slow[0]["ms"] == $k
assert json.dumps(records[0], separators=(",", ":")) == '{"level":"info","ms":$k}'
'''),
Recipe("Grouping sales by region",
       "`groupby` needs sorted input; `islice` and `count` build lazy sequences.",
       r'''
from itertools import chain, count, groupby, islice
from operator import itemgetter

sales = [("north", $k), ("south", 3), ("north", $n), ("east", 1), ("south", 4)]
by_region = {
    region: sum(amount for _, amount in rows)
    for region, rows in groupby(sorted(sales), key=itemgetter(0))
}
print(by_region)
assert by_region == {"east": 1, "north": $k + $n, "south": 7}
assert list(islice(count(10, $n), 3)) == [10, 10 + $n, 10 + 2 * $n]
assert list(chain("ab", [1], ())) == ["a", "b", 1]
'''),
Recipe("Combinatorics with itertools",
       "Products, combinations and running totals without writing a loop.",
       r'''
import itertools

sizes = ["S", "M", "L"]
colours = ["red", "$word"]
variants = [f"{s}-{c}" for s, c in itertools.product(sizes, colours)]
print(variants)
assert len(variants) == 6
assert len(list(itertools.combinations(range($n), 2))) == $n * ($n - 1) // 2
assert len(list(itertools.permutations("abc"))) == 6
assert list(itertools.accumulate([$k, 1, 2], initial=0)) == [0, $k, $k + 1, $k + 3]
assert list(itertools.zip_longest("ab", "x", fillvalue="-")) == [("a", "x"), ("b", "-")]
'''),
Recipe("Counting words",
       "`Counter` counts, `defaultdict` groups, and counters support arithmetic.",
       r'''
from collections import Counter, defaultdict

text = "$word spam eggs spam ham spam eggs"
counts = Counter(text.split())
print(counts.most_common(2))
assert counts.most_common(1) == [("spam", 3)]
by_letter = defaultdict(set)
for w in text.split():
    by_letter[w[0]].add(w)
assert "spam" in by_letter["s"] and by_letter["$word"[0]] >= {"$word"}
stock = Counter(apples=$k, pears=$n)
sold = Counter(apples=2, pears=$n)
assert stock - sold == Counter(apples=$k - 2)
'''),
Recipe("A tiny LRU cache",
       "`OrderedDict.move_to_end` makes least-recently-used eviction a few lines long.",
       r'''
from collections import OrderedDict, deque


class LRUCache:
    def __init__(self, capacity):
        self.capacity = capacity
        self.data = OrderedDict()

    def get(self, key):
        if key not in self.data:
            return None
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)


cache = LRUCache(2)
cache.put("a", 1)
cache.put("b", 2)
cache.get("a")
cache.put("$word", $k)
print(list(cache.data))
assert list(cache.data) == ["a", "$word"]
assert cache.get("b") is None
recent = deque(range($k), maxlen=$n)
assert list(recent) == list(range($k - $n, $k))
'''),
Recipe("Named tuples",
       "Both the functional and the class syntax give lightweight immutable records.",
       r'''
from collections import namedtuple
from typing import NamedTuple

Point = namedtuple("Point", "x y")


class City(NamedTuple):
    name: str
    population: int
    country: str = "unknown"


p = Point($k, $n)._replace(y=0)
c = City("$Word", $k * 1000)
print(p, c)
assert p == ($k, 0)
assert c._asdict()["country"] == "unknown"
assert max([c, City("Smallville", 1)], key=lambda city: city.population).name == "$Word"
'''),
Recipe("Layered configuration with ChainMap",
       "Command-line values override the environment, which overrides the defaults.",
       r'''
from collections import ChainMap

defaults = {"theme": "light", "retries": 3, "user": "guest"}
env = {"retries": $n}
cli = {"user": "$word"}
config = ChainMap(cli, env, defaults)
print(dict(config))
assert config["retries"] == $n and config["user"] == "$word"
assert config["theme"] == "light"
local = config.new_child({"theme": "dark"})
assert local["theme"] == "dark" and config["theme"] == "light"
'''),
Recipe("Memoization with lru_cache",
       "Caching turns an exponential recursion into a linear one.",
       r'''
from functools import lru_cache


@lru_cache(maxsize=None)
def ways(steps):
    """Number of ways to climb `steps` stairs taking one or two at a time."""
    if steps <= 1:
        return 1
    return ways(steps - 1) + ways(steps - 2)


print(ways($k))
assert ways(10) == 89
assert ways.cache_info().misses == $k + 1
ways.cache_clear()
assert ways.cache_info().currsize == 0
'''),
Recipe("Dispatch on type",
       "`singledispatch` picks an implementation from the type of the first argument.",
       r'''
from functools import singledispatch


@singledispatch
def describe(value):
    return f"object {value!r}"


@describe.register
def _(value: int):
    return f"int {value}"


@describe.register
def _(value: list):
    return f"list of {len(value)}"


print(describe($k), describe([1] * $n), describe("$word"))
assert describe($k) == "int $k"
assert describe([1] * $n) == "list of $n"
assert describe("$word") == "object '$word'"
assert describe(True) == "int True"
'''),
Recipe("A retry decorator",
       "`functools.wraps` keeps the decorated function's name and docstring.",
       r'''
import functools


def retry(times):
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for attempt in range(1, times + 1):
                try:
                    return func(*args, **kwargs)
                except ConnectionError:
                    if attempt == times:
                        raise
        return wrapper
    return decorator


calls = []


@retry(times=$n)
def flaky():
    """Fails until the last attempt."""
    calls.append(1)
    if len(calls) < $n:
        raise ConnectionError("try again")
    return "ok"


print(flaky(), len(calls))
assert len(calls) == $n
assert flaky.__name__ == "flaky" and "last attempt" in flaky.__doc__
'''),
Recipe("Comparable values and cached properties",
       "`total_ordering` derives the missing comparisons; `cached_property` computes once.",
       r'''
from functools import cached_property, total_ordering


@total_ordering
class Money:
    def __init__(self, cents):
        self.cents = cents

    def __eq__(self, other):
        return self.cents == other.cents

    def __lt__(self, other):
        return self.cents < other.cents


class Report:
    def __init__(self, values):
        self.values = values
        self.computed = 0

    @cached_property
    def total(self):
        self.computed += 1
        return sum(self.values)


assert Money($k) >= Money($n) and Money($n) <= Money($n)
report = Report(range($k))
print(report.total, report.total)
assert report.total == $k * ($k - 1) // 2
assert report.computed == 1
'''),
Recipe("Enumerations and flags",
       "Enum members are singletons; `IntFlag` combines bits.",
       r'''
from enum import Enum, IntFlag, auto


class Status(Enum):
    DRAFT = auto()
    REVIEW = auto()
    PUBLISHED = auto()

    def next(self):
        members = list(type(self))
        return members[min(members.index(self) + 1, len(members) - 1)]


class Perm(IntFlag):
    READ = 4
    WRITE = 2
    EXEC = 1


mode = Perm.READ | Perm.WRITE
print(Status.DRAFT.next().name, int(mode))
assert Status.DRAFT.next() is Status.REVIEW
assert Status.PUBLISHED.next() is Status.PUBLISHED
assert Status["REVIEW"].value == 2
assert Perm.WRITE in mode and Perm.EXEC not in mode
assert [s.name for s in Status] == ["DRAFT", "REVIEW", "PUBLISHED"]
assert Status($n % 3 + 1).name in {"DRAFT", "REVIEW", "PUBLISHED"}
'''),
Recipe("Structural typing with Protocol and TypedDict",
       "Any class with a matching `score` method satisfies the protocol.",
       r'''
from typing import List, Protocol, TypedDict, get_type_hints


class Movie(TypedDict):
    title: str
    year: int


class Scorer(Protocol):
    def score(self, movie: Movie) -> float: ...


class ByAge:
    def score(self, movie: Movie) -> float:
        return 2024 - movie["year"]


def rank(movies: List[Movie], scorer: Scorer) -> List[str]:
    return [m["title"] for m in sorted(movies, key=scorer.score)]


movies: List[Movie] = [{"title": "Old", "year": 1950}, {"title": "$Word", "year": 2000 + $n}]
print(rank(movies, ByAge()))
assert rank(movies, ByAge()) == ["$Word", "Old"]
assert get_type_hints(Movie) == {"title": str, "year": int}
'''),
Recipe("A generic registry",
       "`Generic[T]` documents what a container holds; decorators register entries.",
       r'''
from typing import Callable, Dict, Generic, Optional, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self) -> None:
        self._items: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self._items[name] = obj
            return obj
        return decorator

    def get(self, name: str) -> Optional[T]:
        return self._items.get(name)


handlers: "Registry[Callable[[int], int]]" = Registry()


@handlers.register("double")
def double(x: int) -> int:
    return 2 * x


@handlers.register("$word")
def shifted(x: int) -> int:
    return x + $k


print(sorted(handlers._items))
assert handlers.get("double")($n) == 2 * $n
assert handlers.get("$word")(0) == $k
assert handlers.get("missing") is None
'''),
Recipe("Literal and Annotated types",
       "Annotations can carry metadata that tools read back with `get_type_hints`.",
       r'''
from typing import Annotated, Literal, get_args, get_type_hints

Mode = Literal["r", "w", "a"]


def open_log(path: Annotated[str, "file path"], mode: Mode = "r", retries: int = $n) -> bool:
    return mode in get_args(Mode)


hints = get_type_hints(open_log, include_extras=True)
print(hints["mode"], get_args(hints["path"]))
assert get_args(Mode) == ("r", "w", "a")
assert get_args(hints["path"]) == (str, "file path")
assert open_log("$word.log", "a")
assert open_log.__defaults__ == ("r", $n)
'''),
Recipe("Parsing access logs",
       "Named groups make a regular expression read like a record definition.",
       r'''
import re

LINE = re.compile(
    r"(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) - - \[(?P<when>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3}) (?P<size>\d+)'
)
log = """\
10.0.0.$n - - [01/Jan/2024:10:00:00 +0000] "GET /$word HTTP/1.1" 200 $k
10.0.0.1 - - [01/Jan/2024:10:00:05 +0000] "POST /login HTTP/1.1" 302 0
garbage line
"""
hits = [m.groupdict() for m in map(LINE.match, log.splitlines()) if m]
print(hits[0]["path"], len(hits))
assert len(hits) == 2
assert hits[0]["status"] == "200" and int(hits[0]["size"]) == $k
assert {h["method"] for h in hits} == {"GET", "POST"}
'''),
Recipe("Slugs and masks with re.sub",
       "Substitutions accept a replacement string or a function of the match.",
       r'''
import re


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


card = "4111111111111$k"
masked = re.sub(r"\d(?=\d{4})", "*", card)
print(slugify("Hello, $Word World!"), masked)
assert slugify("Hello, $Word World!") == "hello-$word-world"
assert masked == "*" * (len(card) - 4) + card[-4:]
assert re.split(r"\s*[,;]\s*", "a , b;c ;d") == ["a", "b", "c", "d"]
assert re.sub(r"\d+", lambda m: str(int(m.group()) + 1), "v$n.$k") == f"v{$n + 1}.{$k + 1}"
'''),
Recipe("Dedenting and wrapping text",
       "`textwrap` tidies up triple-quoted strings and reflows paragraphs.",
       r'''
import textwrap

message = """
    Dear $Word,
        your order #$k has shipped and should arrive within $n days.
    Regards
"""
body = textwrap.dedent(message).strip()
print(textwrap.indent(body, "> "))
assert body.splitlines()[0] == "Dear $Word,"
assert body.splitlines()[1].startswith("    your order #$k")
wrapped = textwrap.wrap("lorem ipsum dolor " * $n, width=20)
assert all(len(line) <= 20 for line in wrapped)
assert " ".join(wrapped) == ("lorem ipsum dolor " * $n).strip()
assert textwrap.shorten("The quick brown fox jumps", width=15, placeholder="...") == "The quick..."
'''),
Recipe("Formatting a table",
       "Format specs align columns and render numbers without any helper library.",
       r'''
rows = [("$word", $k, $k * 1.5), ("total", $k + $n, ($k + $n) * 1.5)]
lines = [f"{name:<10}|{qty:>5}|{price:>9.2f}" for name, qty, price in rows]
print("\n".join(lines))
assert all(len(line) == 26 for line in lines)
assert f"{1234567.891:,.1f}" == "1,234,567.9"
assert f"{255:#06x}" == "0x00ff"
assert "{:^7}".format("mid") == "  mid  "
assert "a,b,,c".split(",") == ["a", "b", "", "c"]
assert "report.final.txt".rpartition(".") == ("report.final", ".", "txt")
'''),
Recipe("Business days and time zones",
       "Aware datetimes carry their UTC offset; `timedelta` does the arithmetic.",
       r'''
from datetime import date, datetime, timedelta, timezone


def business_days(start, end):
    day, count = start, 0
    while day < end:
        if day.weekday() < 5:
            count += 1
        day += timedelta(days=1)
    return count


start = date(2024, 1, 1)
assert start.weekday() == 0
assert business_days(start, start + timedelta(weeks=$n)) == 5 * $n
deadline = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc) + timedelta(hours=$k)
print(deadline.isoformat())
shifted = deadline.astimezone(timezone(timedelta(hours=2)))
assert shifted.utcoffset() == timedelta(hours=2) and shifted == deadline
midnight = datetime(2024, 3, 1, tzinfo=timezone.utc)
assert (deadline - midnight).total_seconds() == (9.5 + $k) * 3600
assert date(2024, 2, 28) + timedelta(days=1) == date(2024, 2, 29)
'''),
Recipe("Parsing and formatting timestamps",
       "`strptime` parses with an explicit format; `fromisoformat` reads ISO 8601.",
       r'''
from datetime import datetime

stamps = ["2024-0$n-1$n 08:15", "2023-12-31 23:59", "2024-01-02 00:00"]
parsed = sorted(datetime.strptime(s, "%Y-%m-%d %H:%M") for s in stamps)
print([p.strftime("%Y/%m/%d") for p in parsed])
assert parsed[0].year == 2023
assert parsed[-1].month == $n and parsed[-1].day == 10 + $n
assert datetime.fromisoformat("2024-05-06T07:08:09").minute == 8
assert parsed[-1].isocalendar()[0] == 2024
'''),
Recipe("Summary statistics",
       "The `statistics` module covers means, medians, quantiles and normal distributions.",
       r'''
import statistics

latencies = [12, 15, 11, $k, 14, 13, 90, $n]
print(statistics.mean(latencies), statistics.median(latencies))
assert len(statistics.quantiles(latencies, n=4)) == 3
assert statistics.median([1, 3, $k + 100]) == 3
assert statistics.mode(["a", "b", "a"]) == "a"
assert statistics.pstdev([2, 4, 4, 4, 5, 5, 7, 9]) == 2.0
assert statistics.fmean([$n, $n]) == $n
dist = statistics.NormalDist(mu=100, sigma=15)
assert 0.68 < dist.cdf(115) - dist.cdf(85) < 0.69
'''),
Recipe("Integer and float maths",
       "`math` has exact integer helpers and careful floating-point sums.",
       r'''
import math

print(math.fsum([0.1] * 10), sum([0.1] * 10))
assert math.fsum([0.1] * 10) == 1.0
assert math.isclose(sum([0.1] * 10), 1.0)
assert math.gcd(12 * $k, 18 * $k) == 6 * $k
assert math.lcm(4, 6) == 12
assert math.comb($n, 2) == $n * ($n - 1) // 2
assert math.prod(range(1, $n + 1)) == math.factorial($n)
assert math.isqrt($k * $k + 1) == $k
assert math.isclose(math.hypot(3 * $n, 4 * $n), 5 * $n)
'''),
Recipe("Managing several resources with ExitStack",
       "`ExitStack` closes a dynamic number of context managers in reverse order.",
       r'''
import io
from contextlib import ExitStack, contextmanager, redirect_stdout, suppress

log = []


@contextmanager
def resource(name):
    log.append(f"open {name}")
    try:
        yield name.upper()
    finally:
        log.append(f"close {name}")


with ExitStack() as stack:
    handles = [stack.enter_context(resource(f"r{i}")) for i in range($n)]
print(handles)
assert handles == [f"R{i}" for i in range($n)]
assert log[-1] == "close r0" and len(log) == 2 * $n
with suppress(ZeroDivisionError):
    1 / 0
buffer = io.StringIO()
with redirect_stdout(buffer):
    print("$word")
assert buffer.getvalue() == "$word\n"
'''),
Recipe("A timing context manager",
       "`__exit__` sees the exception and may swallow it by returning true.",
       r'''
import time


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.elapsed = time.perf_counter() - self.start
        return exc_type is KeyError


with Timer() as t:
    total = sum(range($k * 1000))
print(f"summed to {total} in {t.elapsed:.6f}s")
assert t.elapsed >= 0
with Timer():
    {}["$word"]
try:
    with Timer():
        raise ValueError("kept")
except ValueError as exc:
    assert str(exc) == "kept"
else:
    raise AssertionError("ValueError was swallowed")
'''),
Recipe("Top items with heapq",
       "`nlargest` and `merge` avoid sorting whole collections.",
       r'''
import heapq
from collections import Counter

words = "to be or not to be that is the question to $word".split()
top = heapq.nlargest(2, Counter(words).items(), key=lambda kv: (kv[1], kv[0]))
print(top)
assert top == [("to", 3), ("be", 2)]
merged = list(heapq.merge([1, 4, 9], [2, 3, 10], [$k]))
assert merged == sorted([1, 4, 9, 2, 3, 10, $k])
queue = []
for priority, task in [($n, "write"), (1, "plan"), ($k, "ship")]:
    heapq.heappush(queue, (priority, task))
assert [heapq.heappop(queue)[1] for _ in range(3)] == ["plan", "write", "ship"]
'''),
Recipe("Grades with bisect",
       "Binary search maps a score to its band and keeps a list sorted on insert.",
       r'''
import bisect


def grade(score, breakpoints=(60, 70, 80, 90), grades="FDCBA"):
    return grades[bisect.bisect(breakpoints, score)]


results = [grade(s) for s in (33, 99, 77, 70, 89, 90, 100)]
print(results)
assert results == ["F", "A", "C", "C", "B", "A", "A"]
scores = []
for s in [$k, 5, 50, $n]:
    bisect.insort(scores, s)
assert scores == sorted([$k, 5, 50, $n])
assert bisect.bisect_left(scores, $n) == scores.index($n)
'''),
Recipe("CSV in memory",
       "`csv.DictWriter` and `DictReader` work on any file-like object.",
       r'''
import csv
import io

buffer = io.StringIO()
writer = csv.DictWriter(buffer, fieldnames=["name", "qty", "price"])
writer.writeheader()
for i in range($n):
    writer.writerow({"name": f"$word-{i}", "qty": i + 1, "price": "1.50"})
buffer.seek(0)
rows = list(csv.DictReader(buffer))
total = sum(int(r["qty"]) * float(r["price"]) for r in rows)
print(f"{len(rows)} rows, total {total:.2f}")
assert len(rows) == $n and rows[0]["name"] == "$word-0"
assert total == 1.5 * $n * ($n + 1) / 2
'''),
Recipe("An in-memory SQLite database",
       "`sqlite3` ships with Python; `:memory:` databases vanish when closed.",
       r'''
import sqlite3

conn = sqlite3.connect(":memory:")
conn.execute("CREATE TABLE items (name TEXT, qty INTEGER)")
conn.executemany("INSERT INTO items VALUES (?, ?)", [("$word", $k), ("other", $n), ("$word", 1)])
rows = conn.execute(
    "SELECT name, SUM(qty) FROM items GROUP BY name ORDER BY name"
).fetchall()
print(rows)
assert dict(rows) == {"$word": $k + 1, "other": $n}
with conn:
    conn.execute("DELETE FROM items WHERE qty < ?", (2,))
assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2
conn.close()
'''),
Recipe("Concurrent coroutines",
       "`asyncio.gather` runs coroutines concurrently; a semaphore bounds concurrency.",
       r'''
import asyncio


async def fetch(i, limit, active, peak):
    async with limit:
        active.append(i)
        peak.append(len(active))
        await asyncio.sleep(0)
        active.remove(i)
        return i * $k


async def main():
    limit = asyncio.Semaphore(2)
    active, peak = [], []
    results = await asyncio.gather(*(fetch(i, limit, active, peak) for i in range($n)))
    return results, max(peak)


results, peak = asyncio.run(main())
print(results, peak)
assert results == [i * $k for i in range($n)]
assert peak == 2
'''),
Recipe("Timeouts in asyncio",
       "`wait_for` cancels a coroutine that takes too long.",
       r'''
import asyncio


async def slow():
    await asyncio.sleep(30)
    return "finished"


async def main():
    try:
        return await asyncio.wait_for(slow(), timeout=0.01)
    except asyncio.TimeoutError:
        return "timed out"


result = asyncio.run(main())
print(result)
assert result == "timed out"
'''),
Recipe("Generator pipelines",
       "Generators chain lazily, so only the items actually needed are computed.",
       r'''
def read_lines():
    for i in range(1, 1000):
        yield f"{i},$word,{i * $n}"


def parse(lines):
    for line in lines:
        number, name, value = line.split(",")
        yield int(number), name, int(value)


def only_even(records):
    return (r for r in records if r[0] % 2 == 0)


pipeline = only_even(parse(read_lines()))
first = [next(pipeline) for _ in range(3)]
print(first)
assert first == [(2, "$word", 2 * $n), (4, "$word", 4 * $n), (6, "$word", 6 * $n)]
assert sum(1 for _ in pipeline) == 499 - 3
'''),
Recipe("Operator overloading",
       "Dunder methods make a small vector class behave like a built-in type.",
       r'''
import math


class Vector:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __add__(self, other):
        return Vector(self.x + other.x, self.y + other.y)

    def __mul__(self, k):
        return Vector(self.x * k, self.y * k)

    __rmul__ = __mul__

    def __eq__(self, other):
        return (self.x, self.y) == (other.x, other.y)

    def __abs__(self):
        return math.hypot(self.x, self.y)

    def __iter__(self):
        yield self.x
        yield self.y

    def __repr__(self):
        return f"Vector({self.x}, {self.y})"


v = Vector(3, 4) + Vector($n, 0)
print(v, abs(Vector(3, 4)))
assert v == Vector(3 + $n, 4)
assert 2 * v == v * 2 == Vector(6 + 2 * $n, 8)
assert abs(Vector(3, 4)) == 5.0
assert tuple(v) == (3 + $n, 4)
'''),
Recipe("Abstract base classes",
       "An ABC refuses to instantiate until every abstract method is implemented.",
       r'''
from abc import ABC, abstractmethod


class Exporter(ABC):
    @abstractmethod
    def export(self, rows):
        ...

    def export_all(self, tables):
        return [self.export(rows) for rows in tables]


class CsvExporter(Exporter):
    def export(self, rows):
        return "\n".join(",".join(map(str, r)) for r in rows)


try:
    Exporter()
except TypeError as exc:
    print("cannot instantiate:", exc)
else:
    raise AssertionError("abstract class was instantiated")
out = CsvExporter().export_all([[("$word", $k)], [(1, 2), (3, $n)]])
assert out == ["$word,$k", "1,2\n3,$n"]
assert issubclass(CsvExporter, Exporter)
'''),
Recipe("Hashes, UUIDs and base64",
       "Content hashes and name-based UUIDs are deterministic across runs.",
       r'''
import base64
import hashlib
import uuid

digest = hashlib.sha256(b"$word").hexdigest()
print(digest[:16])
assert len(digest) == 64 and digest == hashlib.sha256("$word".encode()).hexdigest()
assert hashlib.md5(b"").hexdigest() == "d41d8cd98f00b204e9800998ecf8427e"
token = base64.urlsafe_b64encode(bytes(range($n)))
assert base64.urlsafe_b64decode(token) == bytes(range($n))
ident = uuid.uuid5(uuid.NAMESPACE_DNS, "$word.example.org")
assert ident == uuid.uuid5(uuid.NAMESPACE_DNS, "$word.example.org") and ident.version == 5
'''),
Recipe("Ordering tasks with graphlib",
       "`TopologicalSorter` orders tasks so that dependencies come first.",
       r'''
from graphlib import CycleError, TopologicalSorter

graph = {"deploy": {"test", "build"}, "test": {"build"}, "build": {"fetch"}, "$word": {"fetch"}}
order = list(TopologicalSorter(graph).static_order())
print(order)
assert order[0] == "fetch" and order[-1] in {"deploy", "$word"}
assert order.index("build") < order.index("test") < order.index("deploy")
try:
    list(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())
except CycleError:
    print("cycle detected")
else:
    raise AssertionError("cycle not detected")
'''),
Recipe("Binary records with struct",
       "`struct` packs numbers into bytes with an explicit layout and byte order.",
       r'''
import struct

HEADER = struct.Struct("<4sHI")
packet = HEADER.pack(b"DMX1", $n, $k * 1000)
print(packet.hex())
assert len(packet) == HEADER.size == 10
magic, version, length = HEADER.unpack(packet)
assert (magic, version, length) == (b"DMX1", $n, $k * 1000)
assert struct.pack(">H", 1) == b"\x00\x01"
assert int.from_bytes(b"\x01\x00", "little") == 1
'''),
Recipe("Exact arithmetic with Decimal and Fraction",
       "Money needs decimal rounding; ratios stay exact as fractions.",
       r'''
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

price = Decimal("19.99")
total = (price * $n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
print(total)
assert total == Decimal("19.99") * $n
assert Decimal("0.1") + Decimal("0.2") == Decimal("0.3")
assert Decimal("2.675").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal("2.68")
share = Fraction(1, $n) + Fraction($n - 1, $n)
assert share == 1 and Fraction("0.25") == Fraction(1, 4)
'''),
Recipe("Capturing log records",
       "A handler writing to a `StringIO` makes logging output easy to inspect.",
       r'''
import io
import logging

stream = io.StringIO()
logger = logging.getLogger("$word")
logger.setLevel(logging.INFO)
logger.propagate = False
handler = logging.StreamHandler(stream)
handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
logger.addHandler(handler)
logger.debug("hidden")
logger.info("processed %d items", $k)
logger.warning("slow run: %ss", $n)
print(stream.getvalue())
assert stream.getvalue().splitlines() == [
    "INFO:$word:processed $k items",
    "WARNING:$word:slow run: ${n}s",
]
'''),
Recipe("Command-line parsing",
       "`argparse` can parse an explicit list instead of `sys.argv`.",
       r'''
import argparse

parser = argparse.ArgumentParser(prog="$word")
parser.add_argument("paths", nargs="+")
parser.add_argument("--jobs", type=int, default=1)
parser.add_argument("--verbose", "-v", action="count", default=0)
args = parser.parse_args(["a.md", "b.md", "--jobs", "$n", "-vv"])
print(args)
assert args.paths == ["a.md", "b.md"] and args.jobs == $n and args.verbose == 2
assert parser.parse_args(["x"]).jobs == 1
'''),
Recipe("Compressing data",
       "`gzip` and `zlib` compress bytes in memory; repetitive data shrinks a lot.",
       r'''
import gzip
import zlib

data = ("$word " * $k * 10).encode()
packed = gzip.compress(data)
print(len(data), "->", len(packed))
assert gzip.decompress(packed) == data
assert len(packed) < len(data)
assert zlib.decompress(zlib.compress(data, 9)) == data
assert zlib.crc32(b"hello") == 907060870
'''),
Recipe("Templating strings",
       "`string.Template` is a safe choice for user-supplied templates.",
       r'''
from string import Template
import shlex

greeting = Template("Hello $$name, you have $$count new messages")
text = greeting.substitute(name="$Word", count=$n)
print(text)
assert text == "Hello $Word, you have $n new messages"
assert greeting.safe_substitute(name="x") == "Hello x, you have $$count new messages"
assert shlex.split('run --name "$word file" -n $k') == ["run", "--name", "$word file", "-n", "$k"]
assert shlex.quote("it's") == "'it'\"'\"'s'"
'''),
]

VERSIONED = [
Recipe("Dispatching commands with match",
       "Sequence patterns destructure the words of a command line.",
       r'''
def run(command: str) -> str:
    match command.split():
        case ["go", direction]:
            return f"going {direction}"
        case ["take", *items] if items:
            return "taking " + ", ".join(items)
        case ["quit" | "exit"]:
            return "bye"
        case _:
            return f"unknown: {command}"


print(run("go north"), run("take $word lamp"))
assert run("go north") == "going north"
assert run("take $word lamp") == "taking $word, lamp"
assert run("exit") == "bye"
assert run("dance $n") == "unknown: dance $n"
''', "match"),
Recipe("Class patterns over a small AST",
       "Class patterns match dataclass instances by their fields.",
       r'''
from dataclasses import dataclass


@dataclass
class Num:
    value: int


@dataclass
class Add:
    left: object
    right: object


@dataclass
class Mul:
    left: object
    right: object


def evaluate(node):
    match node:
        case Num(value=v):
            return v
        case Add(left, right):
            return evaluate(left) + evaluate(right)
        case Mul(Num(0), _) | Mul(_, Num(0)):
            return 0
        case Mul(left, right):
            return evaluate(left) * evaluate(right)
    raise TypeError(node)


expr = Add(Num($k), Mul(Num($n), Num(2)))
print(evaluate(expr))
assert evaluate(expr) == $k + 2 * $n
assert evaluate(Mul(Num(0), Add(Num(1), Num(2)))) == 0
''', "match"),
Recipe("Routing events with mapping patterns",
       "Mapping patterns pick out keys from decoded JSON.",
       r'''
import json


def route(event: dict) -> str:
    match event:
        case {"type": "click", "x": int(x), "y": int(y)}:
            return f"click at {x},{y}"
        case {"type": "key", "key": str(key)} if len(key) == 1:
            return f"key {key}"
        case {"type": str(kind), **rest}:
            return f"{kind} with {sorted(rest)}"
    return "invalid"


events = json.loads(
    '[{"type": "click", "x": $k, "y": $n}, {"type": "key", "key": "q"},'
    ' {"type": "$word", "a": 1}, {}]'
)
print([route(e) for e in events])
assert [route(e) for e in events] == ["click at $k,$n", "key q", "$word with ['a']", "invalid"]
''', "match"),
Recipe("Consecutive pairs",
       "`itertools.pairwise` yields overlapping pairs, handy for deltas.",
       r'''
import itertools

readings = [$k, $k + 3, $k + 1, $k + $n, $k + $n]
deltas = [b - a for a, b in itertools.pairwise(readings)]
print(deltas)
assert deltas == [3, -2, $n - 1, 0]
assert list(itertools.pairwise("abc")) == [("a", "b"), ("b", "c")]
''', "itertools.pairwise"),
Recipe("Detecting increases between neighbours",
       "Comparing each element with the next one is a one-liner with `pairwise`.",
       r'''
from itertools import pairwise

depths = [199, 200, 208, 210, 200, 207, 240, 269, 260, 263]
increases = sum(b > a for a, b in pairwise(depths))
print(increases)
assert increases == 7
assert list(pairwise([$n])) == []
''', "from itertools import pairwise"),
Recipe("Strict zip",
       "`zip(strict=True)` turns silently dropped items into an error.",
       r'''
names = ["$word", "other", "third"]
scores = [$k, $n, 1]
table = dict(zip(names, scores, strict=True))
print(table)
assert table["$word"] == $k
try:
    list(zip(names, scores[:2], strict=True))
except ValueError as exc:
    print("length mismatch:", exc)
else:
    raise AssertionError("zip accepted unequal lengths")
''', "zip strict"),
Recipe("Handling several errors with except*",
       "`except*` handles each matching part of an exception group.",
       r'''
def validate(values):
    errors = [TypeError(f"not an int: {v!r}") for v in values if not isinstance(v, int)]
    errors += [ValueError(f"negative: {v}") for v in values if isinstance(v, int) and v < 0]
    if errors:
        raise ExceptionGroup("invalid input", errors)


seen = []
try:
    validate([$k, -1, "x", -$n])
except* ValueError as group:
    seen += [str(e) for e in group.exceptions]
except* TypeError as group:
    seen += [type(e).__name__ for e in group.exceptions]
print(seen)
assert seen == ["negative: -1", "negative: -$n", "TypeError"]
''', "except*"),
Recipe("Collecting failures into an ExceptionGroup",
       "An `ExceptionGroup` reports every failure of a batch at once.",
       r'''
def run_all(tasks):
    errors = []
    for task in tasks:
        try:
            task()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise ExceptionGroup(f"{len(errors)} of {len(tasks)} tasks failed", errors)


try:
    run_all([lambda: None, lambda: 1 / 0, lambda: int("$word")])
except ExceptionGroup as group:
    print(group)
    kinds = sorted(type(e).__name__ for e in group.exceptions)
    message = group.message
assert kinds == ["ValueError", "ZeroDivisionError"]
assert message == "2 of 3 tasks failed"
''', "ExceptionGroup"),
Recipe("Reading TOML configuration",
       "`tomllib` parses TOML documents such as `pyproject.toml`.",
       r'''
import tomllib

document = """
[project]
name = "$word"
version = "1.$n.$k"
dependencies = ["rich>=13", "httpx"]

[tool.$word]
workers = $n
paths = ["docs", "guides"]
"""
config = tomllib.loads(document)
print(config["project"]["name"], config["project"]["version"])
assert config["tool"]["$word"]["workers"] == $n
assert config["project"]["dependencies"][0] == "rich>=13"
try:
    tomllib.loads("invalid = ")
except tomllib.TOMLDecodeError:
    print("rejected invalid TOML")
''', "tomllib"),
Recipe("Fluent builders returning Self",
       "`typing.Self` annotates methods that return their own instance.",
       r'''
from typing import Self


class Query:
    def __init__(self) -> None:
        self.parts: list = []

    def where(self, clause: str) -> Self:
        self.parts.append(clause)
        return self

    def limit(self, n: int) -> Self:
        self.parts.append(f"LIMIT {n}")
        return self


class AuditedQuery(Query):
    pass


q = AuditedQuery().where("name = '$word'").limit($n)
print(q.parts)
assert isinstance(q, AuditedQuery)
assert q.parts == ["name = '$word'", "LIMIT $n"]
''', "typing.Self"),
Recipe("Type aliases with the type statement",
       "The `type` statement declares lazily evaluated, generic-capable aliases.",
       r'''
type Point = tuple[float, float]
type Polygon = list[Point]


def perimeter(shape: Polygon) -> float:
    total = 0.0
    for (x1, y1), (x2, y2) in zip(shape, shape[1:] + shape[:1]):
        total += ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    return total


square: Polygon = [(0, 0), ($n, 0), ($n, $n), (0, $n)]
print(perimeter(square), Polygon.__value__)
assert perimeter(square) == 4 * $n
assert Point.__name__ == "Point"
''', "type statement"),
Recipe("Processing in batches",
       "`itertools.batched` splits an iterable into tuples of at most n items.",
       r'''
import itertools

ids = list(range($k))
batches = list(itertools.batched(ids, $n))
print(len(batches), batches[-1])
assert len(batches) == -(-$k // $n)
assert all(len(b) == $n for b in batches[:-1])
assert [i for b in batches for i in b] == ids
''', "itertools.batched"),
]


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
