#!/usr/bin/env python3
"""What a process per example costs on this machine: the same block run first and again in a
forked child, and with the pages it writes copied ahead.

    python3 bench/cowcost.py --corpus target/bench-thirdparty/corpus \
        --envs target/bench-thirdparty/peers [--versions 3.9,3.12] [--children 60] [--kinds WORDS]

For each interpreter, an interpreter that stands in for docmatrix's rich worker imports every
import statement of the corpus's examples (those that import cleanly), then, per kind of
example (the first ```python block under each `## N. Title`, as bench/jobcost.py picks them):

A kind whose syntax this version does not have is left out of its rows.

- learns: runs the block once in a forked child and imports, in the parent, the modules the
  child loaded (as the worker learns them), then `gc.collect()` and `gc.freeze()`;
- learns the pages that a child writes: a second child reads /proc/self/pagemap before and
  after the block and reports the pages that it came to hold alone (copied on write, or new);
- forks `--children` children that each run the block three times in a row, and reports the
  medians of each run's CPU and page faults: the first run pays what a child of docmatrix pays
  beyond the block's own work (copy-on-write faults, cold caches), the next ones run in a
  process already warm, as the pytest plug-ins run every block;
- forks as many children that first copy the learned pages in one `madvise(MADV_POPULATE_WRITE)`
  per range, then run the block once: if the price were the trap of each fault rather than the
  page copied, this would be cheaper than the first run above.

Then the machine's own figures: the CPU of `fork()` + `_exit` + `wait4` of that parent (a null
child: the parent's side and the child's), and the CPU per page a child spends writing once to
each of 3,000 of its parent's pages (a bytearray).

All figures are CPU time (`time.process_time()`, `wait4`'s rusage), not wall time, so that a
busy machine changes them less (its caches still do). Linux only. Nothing
here is a target: it explains the cold-run figures of bench/thirdparty.py (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobcost import corpus_kinds, interpreter  # noqa: E402

PROBE = r'''
import ctypes, gc, json, os, resource, statistics, struct, sys, time

statements, kinds, children = json.loads(sys.stdin.read())
for stmt in statements:
    try:
        exec(stmt, {"__name__": "__preload__"})
    except BaseException:
        pass
libc = ctypes.CDLL(None, use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
MADV_POPULATE_WRITE = 23
PAGE = os.sysconf("SC_PAGE_SIZE")


def private_pages():
    """Pages of the writable private mappings that this process holds alone."""
    spans = []
    for line in open("/proc/self/maps"):
        p = line.split()
        lo, hi = (int(x, 16) for x in p[0].split("-"))
        if p[1].startswith("rw") and p[1][3] == "p" and (len(p) < 6 or not p[5].startswith("/")):
            spans.append((lo, hi))
    alone = set()
    with open("/proc/self/pagemap", "rb") as f:
        for lo, hi in spans:
            f.seek(lo // PAGE * 8)
            data = f.read((hi - lo) // PAGE * 8)
            for i, (e,) in enumerate(struct.iter_unpack("Q", data)):
                if e >> 63 and (e >> 56) & 1:  # present, mapped exclusively
                    alone.add(lo + i * PAGE)
    return alone


def quiet():
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def run(code):
    try:
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    except BaseException:
        pass


def in_child(fn):
    """fn() in a forked child; returns what it returns (JSON) and the child's rusage."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            quiet()
            out = json.dumps(fn()).encode()
        except BaseException as e:
            out = json.dumps({"error": repr(e)}).encode()
        while out:
            out = out[os.write(w, out):]
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, _, ru = os.wait4(pid, 0)
    return json.loads(b"".join(chunks)), ru


def clock():
    return time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def since(t):
    c, f = clock()
    return [(c - t[0]) * 1000, f - t[1]]


results = {}
for title, source in kinds:
    try:
        code = compile(source, "block_0.py", "exec")
    except SyntaxError:
        continue  # syntax newer than this version: not run here

    def learn():
        before = set(sys.modules)
        run(code)
        return sorted(set(sys.modules) - before)

    learned, _ = in_child(learn)
    for name in learned:
        try:
            __import__(name)
        except BaseException:
            pass
    gc.collect()
    gc.freeze()

    def written():
        before = private_pages()
        run(code)
        return sorted(private_pages() - before)

    pages, _ = in_child(written)
    spans = []
    for p in pages:
        if spans and spans[-1][1] == p:
            spans[-1][1] = p + PAGE
        else:
            spans.append([p, p + PAGE])

    def three_runs():
        out = []
        for _ in range(3):
            t = clock()
            run(code)
            out += since(t)
        return out

    def populated():
        t = clock()
        for lo, hi in spans:
            libc.madvise(lo, hi - lo, MADV_POPULATE_WRITE)
        copy = since(t)
        t = clock()
        run(code)
        return copy + since(t)

    rows, whole = [], []
    for _ in range(children):
        out, ru = in_child(three_runs)
        rows.append(out)
        whole.append((ru.ru_utime + ru.ru_stime) * 1000)
    prows = [in_child(populated)[0] for _ in range(children)]
    med = lambda xs: statistics.median(xs)  # noqa: E731
    results[title] = {
        "learned": len(learned), "pages": len(pages), "spans": len(spans),
        "child_ms": med(whole),
        "runs": [[med([r[2 * k] for r in rows]), med([r[2 * k + 1] for r in rows])]
                 for k in range(3)],
        "populate": [med([r[k] for r in prows]) for k in range(4)],
    }


def null():
    return []


forks = []
for _ in range(children):
    t = time.process_time()
    _, ru = in_child(null)
    forks.append((time.process_time() - t + ru.ru_utime + ru.ru_stime) * 1000)
rss = int(open("/proc/self/statm").read().split()[1]) * PAGE

n = 3000
buf = bytearray(64 << 20)
for i in range(0, len(buf), PAGE):
    buf[i] = 1


def touch():
    t = time.process_time()
    for i in range(n):
        buf[i * PAGE * 4] = 2
    return (time.process_time() - t) * 1e6 / n


per_page = statistics.median(in_child(touch)[0] for _ in range(15))
print(json.dumps({"kinds": results, "fork_ms": statistics.median(forks), "rss_mb": rss / 2**20,
                  "page_us": per_page}))
'''

IMPORT = re.compile(r"^(?:from\s+[\w.]+\s+import\s+.+|import\s+[\w., ]+)$")


def statements(kinds) -> list[str]:
    """The top-level import statements of every kind, as a rich worker replays them."""
    seen = []
    for _, source in kinds:
        for line in source.splitlines():
            if IMPORT.match(line) and line not in seen:
                seen.append(line)
    return seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="a generated corpus folder")
    ap.add_argument("--envs", type=Path, help="folder of venvs named after their version")
    ap.add_argument("--versions", default="3.9,3.12")
    ap.add_argument("--children", type=int, default=60, help="children per figure")
    ap.add_argument("--kinds", default="", help="only kinds whose title holds one of these "
                    "comma-separated words (case-insensitive)")
    args = ap.parse_args()
    kinds = corpus_kinds(args.corpus)
    words = [w.strip().lower() for w in args.kinds.split(",") if w.strip()]
    picked = [k for k in kinds if not words or any(w in k[0].lower() for w in words)]
    if not picked:
        sys.exit("no kind of example matches --kinds")
    for version in args.versions.split(","):
        py = interpreter(version, args.envs)
        proc = subprocess.run([py, "-I", "-c", PROBE], input=json.dumps(
            [statements(kinds), picked, args.children]), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{py}: {proc.stderr[-2000:]}")
        data = json.loads(proc.stdout)
        print(f"\nPython {version} ({py}): parent {data['rss_mb']:.1f} MiB resident; "
              f"CPU of fork + exit + wait of a null child {data['fork_ms']:.2f} ms; "
              f"CPU of a child's first write to a page of its parent's {data['page_us']:.2f} us")
        print(f"{'kind':44} {'child':>8} {'1st run':>16} {'2nd run':>14} {'3rd run':>14} "
              f"{'pages':>6} {'copy ahead':>11} {'then run':>16}")
        for title, r in data["kinds"].items():
            (m1, f1), (m2, f2), (m3, f3) = r["runs"]
            cm, _, pm, pf = r["populate"]
            print(f"{title[:44]:44} {r['child_ms']:6.2f}ms {m1:6.2f}ms {f1:5.0f} flt "
                  f"{m2:5.2f}ms {f2:4.0f} flt {m3:5.2f}ms {f3:4.0f} flt {r['pages']:6d} "
                  f"{cm:8.2f}ms {pm:6.2f}ms {pf:5.0f} flt")
    print("\n(1st run: the block in a fresh child, as docmatrix runs it; 2nd and 3rd: again in "
          "that child, as an in-process runner runs it; copy ahead: the pages a child writes, "
          "copied with MADV_POPULATE_WRITE before the block runs)")


if __name__ == "__main__":
    main()
