#!/usr/bin/env python3
"""Tests of the benchmark scripts themselves, without docmatrix: python3 bench/test_bench.py

The JSON-reading side of run.py is exercised on a hand-written report that follows the
contract's `--format json` schema, through a stand-in binary that prints it.
"""
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import check  # noqa: E402
import cowcost  # noqa: E402
import fresh  # noqa: E402
import gen_corpus  # noqa: E402
import jobcost  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import thirdparty  # noqa: E402

VERSIONS = measure.VERSIONS

GUIDE_A = """\
# Guide A

```python
print("one")
```

```bash
echo not python
```

````python
print("two, with a nested fence")
```
````

~~~py
raise ValueError("three")
~~~
"""
GUIDE_B = """\
# Guide B

```python
match 1:
    case _: pass
```
"""


def result(status, error_type=None, md_line=None):
    out = {"status": status, "duration_ms": 12}
    if error_type:
        out.update(error=f"{error_type}: boom", error_type=error_type, md_line=md_line,
                   exit_code=1, stderr="Traceback ...")
    return out


def example(file, line, results):
    return {"file": file, "line": line, "end_line": line + 2, "language": "python",
            "group": None, "requires": None, "skip": None, "results": results,
            "measured": "3.9+", "policy": "ok"}


ALL_PASS = {v: result("pass") for v in VERSIONS}
# Deliberately not in (file, line) order: block ids must come from the line numbers.
REPORT = {
    "schema": 1,
    "versions": list(VERSIONS),
    "interpreters": {"3.9": {"path": "/usr/bin/python3.9", "version": "3.9.18"}, "3.13": None},
    "examples": [
        example("./guide_a.md", 11, ALL_PASS),
        example("./guide_a.md", 3, ALL_PASS),
        example("./guide_a.md", 16, {v: result("fail", "ValueError", 17) for v in VERSIONS}),
        example("./sub/guide_b.md", 3, {"3.9": result("fail", "SyntaxError", 4),
                                        "3.10": result("pass"), "3.11": result("pass"),
                                        "3.12": result("timeout")}),
    ],
    "other_blocks": {"bash": 1},
    "warnings": [],
    "errors": [],
    "summary": {"files": 2, "examples": 4, "ok": 2, "failed": 2, "skipped": 0,
                "jobs": {"pass": 11, "fail": 5, "timeout": 1, "skipped": 0,
                         "not-applicable": 0, "unavailable": 0}},
}
VERDICTS = """\
block\t3.9\t3.10\t3.11\t3.12\t3.13
guide_a_b00.py\tpass\tpass\tpass\tpass\tpass
guide_a_b01.py\tpass\tpass\tpass\tpass\tpass
guide_a_b02.py\tFAIL ValueError\tFAIL ValueError\tFAIL ValueError\tFAIL ValueError\tpass
guide_b_b00.py\tFAIL SyntaxError\tpass\tpass\tpass\tpass
"""


class ReportTests(unittest.TestCase):
    def test_block_ids_follow_line_order_per_file(self):
        blocks = check.block_results(REPORT)
        self.assertEqual(sorted(blocks), ["guide_a_b00.py", "guide_a_b01.py", "guide_a_b02.py",
                                          "guide_b_b00.py"])
        self.assertEqual(blocks["guide_a_b00.py"]["line"], 3)
        self.assertEqual(blocks["guide_a_b02.py"]["line"], 16)

    def test_same_stem_in_two_folders_is_refused(self):
        report = {"examples": [example("a/x.md", 1, ALL_PASS), example("b/x.md", 1, ALL_PASS)]}
        with self.assertRaises(measure.BenchError):
            check.block_results(report)

    def test_verdict_check_reports_each_disagreeing_cell(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "v.tsv"
            path.write_text(VERDICTS)
            columns, expected = fresh.read_verdicts(path)
        self.assertEqual(columns, ["3.9", "3.10", "3.11", "3.12", "3.13"])
        checked, mismatches = check.check_verdicts(expected, check.block_results(REPORT),
                                                   VERSIONS)
        self.assertEqual(checked, 16)
        self.assertEqual(len(mismatches), 1)
        self.assertTrue(mismatches[0].startswith("guide_b_b00.py 3.12: expected pass, got timeout"))

        expected["guide_a_b02.py"]["3.9"] = "FAIL TypeError"
        expected["guide_c_b00.py"] = dict(expected["guide_a_b00.py"])
        del expected["guide_a_b00.py"]
        _, mismatches = check.check_verdicts(expected, check.block_results(REPORT), VERSIONS)
        text = "\n".join(mismatches)
        self.assertIn("guide_a_b00.py: reported by docmatrix (./guide_a.md:3)", text)
        self.assertIn("guide_c_b00.py: in the verdicts but not reported", text)
        self.assertIn("guide_a_b02.py 3.9: expected FAIL TypeError, got fail ValueError", text)

    def test_status_counts(self):
        counts = measure.status_counts(REPORT)
        self.assertEqual(counts["3.9"]["pass"], 2)
        self.assertEqual(counts["3.9"]["fail"], 2)
        self.assertEqual(counts["3.12"]["timeout"], 1)

    def test_peer_lines(self):
        text = "noise\npeer codeblocks 3.9 1.25\npeer codeblocks all 4.50\npeer markdown-docs 3.9 2\n"
        self.assertEqual(measure.parse_peer_lines(text),
                         {"codeblocks": {"3.9": 1.25, "all": 4.5}, "markdown-docs": {"3.9": 2.0}})


    def test_median_of_repeated_peer_runs(self):
        runs = [{"codeblocks": {"3.9": 1.0, "all": 4.0}, "markdown-docs": {"all": 6.0}},
                {"codeblocks": {"3.9": 3.0, "all": 5.5}, "markdown-docs": {"all": 5.0}},
                {"codeblocks": {"3.9": 2.0, "all": 4.5}}]
        self.assertEqual(measure.median_peers(runs),
                         {"codeblocks": {"3.9": 2.0, "all": 4.5}, "markdown-docs": {"all": 5.5}})
        self.assertEqual(check.faster_peer(measure.median_peers(runs)), ("codeblocks", 4.5))


class FreshTests(unittest.TestCase):
    def test_extract_blocks(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "guide_a.md").write_text(GUIDE_A)
            blocks = fresh.extract_blocks(Path(tmp))
        self.assertEqual([b for b, _ in blocks], ["guide_a_b00.py", "guide_a_b01.py",
                                                  "guide_a_b02.py"])
        self.assertEqual(blocks[1][1], 'print("two, with a nested fence")\n```\n')

    def test_error_type(self):
        syntax = textwrap.dedent("""\
              File "x.py", line 1
                match 1:
                      ^
            SyntaxError: invalid syntax
            """)
        self.assertEqual(fresh.error_type(syntax), "SyntaxError")
        chained = ("Traceback (most recent call last):\n  File ...\nZeroDivisionError: x\n\n"
                   "During handling of the above exception, another exception occurred:\n\n"
                   "Traceback (most recent call last):\n  File ...\nNameError: name 'E' is not"
                   " defined\n")
        self.assertEqual(fresh.error_type(chained), "NameError")
        self.assertEqual(fresh.error_type("tomllib.TOMLDecodeError: bad\n"), "TOMLDecodeError")


class JobcostTests(unittest.TestCase):
    def test_one_example_of_each_kind(self):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "guide_01.md").write_text(textwrap.dedent("""\
                # Guide 01

                ## 1. JSON round trip

                Some prose.

                ```python
                import json
                ```

                ## 2. Regular expressions

                ```console
                $ echo not python
                ```

                ```python
                import re
                ```
                """))
            Path(d, "guide_02.md").write_text(textwrap.dedent("""\
                ## 7. JSON round trip

                ```python
                import json  # a second one of the same kind
                ```

                ## 8. No code here

                ## 9. Regular expressions

                ```python
                import re  # same kind again
                ```
                """))
            self.assertEqual(jobcost.corpus_kinds(Path(d)),
                             [("JSON round trip", "import json\n"),
                              ("Regular expressions", "import re\n")])


class CowcostTests(unittest.TestCase):
    def test_statements_are_the_top_level_imports_once_each(self):
        kinds = [("a", "import json\nfrom re import compile as c\nx = 1\n    import os\n"),
                 ("b", "import json\nimport math, sys\n")]
        self.assertEqual(cowcost.statements(kinds),
                         ["import json", "from re import compile as c", "import math, sys"])

    def test_a_real_run_prints_a_row_per_kind(self):
        # A real interpreter forks real children: the figures are not checked (they are the
        # machine's), only that every kind was measured and the run's shape is right.
        version = "%d.%d" % sys.version_info[:2]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "guide_01.md").write_text(textwrap.dedent("""\
                ## 1. JSON round trip

                ```python
                import json
                assert json.loads(json.dumps([1])) == [1]
                ```

                ## 2. A failing block

                ```python
                raise ValueError("measured all the same")
                ```
                """))
            out = subprocess.run(
                [sys.executable, str(BENCH / "cowcost.py"), "--corpus", d, "--versions",
                 version, "--children", "3"], capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr)
            rows = [line for line in out.stdout.splitlines()
                    if line.startswith(("JSON round trip", "A failing block"))]
            self.assertEqual(len(rows), 2, out.stdout)
            for row in rows:
                self.assertEqual(row.count("flt"), 4, row)
            self.assertIn("fork + exit + wait of a null child", out.stdout)
            bad = subprocess.run(
                [sys.executable, str(BENCH / "cowcost.py"), "--corpus", d, "--versions",
                 version, "--kinds", "nothing like it"], capture_output=True, text=True)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("no kind of example matches", bad.stderr)


class GeneratorTests(unittest.TestCase):
    def test_deterministic_and_ids_match_blocks(self):
        with tempfile.TemporaryDirectory() as tmp:
            outputs = []
            for name in ("one", "two"):
                out = Path(tmp) / name
                subprocess.run([sys.executable, str(BENCH / "gen_corpus.py"), str(out),
                                "--files", "3", "--blocks", "7", "--seed", "5"],
                               check=True, stderr=subprocess.DEVNULL)
                outputs.append({p.name: p.read_text() for p in sorted(out.iterdir())})
                columns, expected = fresh.read_verdicts(out / "expected.tsv")
                ids = [b for b, _ in fresh.extract_blocks(out)]
            self.assertEqual(outputs[0], outputs[1])
            self.assertEqual(columns, list(VERSIONS))
            self.assertEqual(sorted(expected), ids)
            self.assertEqual(len(ids), 21)

    def test_recipe_files(self):
        self.assertEqual(len(gen_corpus.PORTABLE), 49)
        self.assertEqual(len(gen_corpus.VERSIONED), 12)
        self.assertEqual({r.feature for r in gen_corpus.VERSIONED}, set(gen_corpus.FEATURES))
        first = gen_corpus.PORTABLE[0]
        self.assertEqual(first.title, "An order model with dataclasses")
        self.assertTrue(first.code.startswith("from dataclasses import asdict"), first.code)
        self.assertTrue(first.code.endswith("is not Order(\"y\").items\n"), first.code)
        self.assertEqual(gen_corpus.VERSIONED[0].feature, "match")

    def test_read_recipes(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.md"
            path.write_text("# Recipes\n\nAn introduction, ignored.\n\n## One\n\nIntro one.\n\n"
                            "```python\nx = $n\n\nprint(x)\n```\n\n## Two\nIntro two.\n"
                            "Feature: `tomllib`\n```python\nimport tomllib\n```\n")
            self.assertEqual(gen_corpus.read_recipes(path), [
                gen_corpus.Recipe("One", "Intro one.", "x = $n\n\nprint(x)\n"),
                gen_corpus.Recipe("Two", "Intro two.", "import tomllib\n", "tomllib")])
            for text, message in [
                    ("## A\nintro\n", "has no ```python block"),
                    ("## A\nintro\n\n## B\nintro\n```python\nx\n```\n", "has no ```python"),
                    ("## A\nintro\n```python\nx\n", "unclosed"),
                    ("## A\n```python\nx\n```\n", "exactly one line of introduction"),
                    ("## A\none\ntwo\n```python\nx\n```\n", "exactly one line"),
                    ("## A\nintro\n```python\nx\n```\nmore\n", "text after the code"),
                    ("## A\nintro\nFeature: `walrus`\n```python\nx\n```\n", "unknown feature")]:
                path.write_text(text)
                with self.assertRaises(SystemExit) as caught:
                    gen_corpus.read_recipes(path)
                self.assertIn(message, str(caught.exception))
                self.assertIn(str(path) + ":", str(caught.exception))


class EndToEndTests(unittest.TestCase):
    """run.py against a stand-in docmatrix binary that prints a given report (no cache)."""

    def run_bench(self, report):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            corpus = tmp / "corpus"
            (corpus / "sub").mkdir(parents=True)
            (corpus / "guide_a.md").write_text(GUIDE_A)
            (corpus / "sub" / "guide_b.md").write_text(GUIDE_B)
            (tmp / "report.json").write_text(json.dumps(report))
            fake = tmp / "docmatrix"
            fake.write_text(f"#!{sys.executable}\nimport sys\n"
                            f"assert sys.argv[1:4] == ['validate', '.', '--format'], sys.argv\n"
                            f"print(open({str(tmp / 'report.json')!r}).read())\nsys.exit(1)\n")
            fake.chmod(0o755)
            (tmp / "v.tsv").write_text(VERDICTS)
            return subprocess.run([sys.executable, str(BENCH / "run.py"), "--binary", str(fake),
                                   "--corpus", str(corpus), "--verdicts", str(tmp / "v.tsv"),
                                   "--skip-strace", "--skip-scale", "--skip-extraction"],
                                  capture_output=True, text=True)

    def test_mismatch_fails_the_run(self):
        proc = self.run_bench(REPORT)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("MISMATCH guide_b_b00.py 3.12: expected pass, got timeout", proc.stdout)
        self.assertIn("16 cells (3.9, 3.10, 3.11, 3.12)", proc.stdout)
        self.assertIn("examples/s", proc.stdout)
        # the stand-in has no cache: every run executes everything
        self.assertRegex(proc.stdout, r"re-run: cells served from the cache +0 of 16 +all +MISS")

    def test_agreement_passes(self):
        examples = [dict(e) for e in REPORT["examples"]]
        examples[3]["results"] = {**examples[3]["results"], "3.12": result("pass")}
        proc = self.run_bench({**REPORT, "examples": examples})
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("all agree", proc.stdout)

    def test_non_json_output_is_a_setup_error(self):
        proc = self.run_bench("not a report")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no `examples` list", proc.stderr)


# A stand-in docmatrix with a result cache, for the whole pipeline: it builds its report from
# the corpus in its working directory (answering each cell from ./expected.tsv when present,
# else `pass`), keys each cell by version and code in --cache-dir, marks cells found there
# `cached`, and answers --dry-run like docmatrix (JSON summary, or the terminal line).
CACHING_FAKE = """\
import hashlib, json, sys
from pathlib import Path
sys.path.insert(0, BENCH)
import fresh, measure

args = sys.argv[1:]
assert args[:2] == ["validate", "."], args
def opt(name):
    return args[args.index(name) + 1]
versions = opt("--python").split(",")
cache = Path(opt("--cache-dir"))
guides = sorted(Path(".").rglob("*.md"))
if "--dry-run" in args:
    size = sum(g.stat().st_size for g in guides)
    if "--format" in args:
        print(json.dumps({"files": len(guides), "bytes": size, "examples": 0, "jobs": 0}))
    else:
        print(f"dry run: {len(guides)} files ({size} bytes); read and planned in 0.001s")
    sys.exit(0)
expected = fresh.read_verdicts(Path("expected.tsv"))[1] if Path("expected.tsv").exists() else {}
examples, failed = [], False
for guide in guides:
    lines = guide.read_text().splitlines(keepends=True)
    for index, (opening, closing) in enumerate(measure.python_blocks(lines)):
        code = "".join(lines[opening + 1:closing])
        results = {}
        for version in versions:
            cell = expected.get(f"{guide.stem}_b{index:02d}.py", {}).get(version, "pass")
            result = {"status": "pass", "duration_ms": 1}
            if cell != "pass":
                failed = True
                result = {"status": "fail", "error_type": cell[5:], "error": cell[5:] + ": x",
                          "md_line": opening + 2, "duration_ms": 1}
            key = cache / hashlib.sha256((version + code).encode()).hexdigest()
            if key.exists():
                result["cached"] = True
            else:
                cache.mkdir(parents=True, exist_ok=True)
                key.write_text("")
            results[version] = result
        examples.append({"file": "./" + guide.as_posix(), "line": opening + 1,
                         "end_line": closing + 1, "results": results})
print(json.dumps({"schema": 1, "versions": versions, "interpreters": {}, "examples": examples,
                  "warnings": [], "errors": [], "summary": {"files": len(guides)}}))
sys.exit(1 if failed else 0)
"""


class PipelineTests(unittest.TestCase):
    """Every phase of run.py against the caching stand-in."""

    def test_every_phase_and_target(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            corpus = tmp / "corpus"
            (corpus / "sub").mkdir(parents=True)
            (corpus / "guide_a.md").write_text(GUIDE_A)
            (corpus / "sub" / "guide_b.md").write_text(GUIDE_B)
            (corpus / "expected.tsv").write_text(VERDICTS)
            fake = tmp / "docmatrix"
            fake.write_text(f"#!{sys.executable}\nBENCH = {str(BENCH)!r}\n" + CACHING_FAKE)
            fake.chmod(0o755)
            proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--binary", str(fake),
                                   "--corpus", str(corpus), "--files", "1", "--blocks", "3",
                                   "--extraction-mb", "0.05", "--skip-strace"],
                                  capture_output=True, text=True)
            # the corpus itself is left as it was: the edit happens in a copy
            self.assertEqual((corpus / "guide_a.md").read_text(), GUIDE_A)
        out = proc.stdout
        self.assertEqual(proc.returncode, 0, out + proc.stderr)
        self.assertIn("verdicts: 16 cells", out)
        self.assertRegex(out, r"cold, empty cache +4 +16 +16 +0 +[0-9.]+ +[0-9.]+ \+ [0-9.]+ ")
        self.assertRegex(out, r"re-run, nothing changed +4 +16 +0 +16 ")
        self.assertIn("verdicts of the re-run (from the cache): 16 cells", out)
        self.assertIn("verdicts of the 10x corpus: 120 cells", out)
        self.assertIn("verdicts of the 1x generated corpus: 12 cells", out)
        self.assertIn('+ print("one (edited)")', out)
        self.assertIn("cells not from the cache: 4, of which 4 of the edited example", out)
        self.assertIn("re-run vs cold run, every cell: all identical", out)
        # --repeat 3 (the default): two more cold runs, checked cell by cell against the first
        self.assertIn("repeated cold runs (2) vs the first, every cell: all identical", out)
        self.assertRegex(out, r"re-run: cells served from the cache +16 of 16 +all +PASS")
        self.assertRegex(out, r"cells not from the cache +4 \([0-9.]+ s\) +exactly 4 +PASS")
        self.assertRegex(out, r"30 examples cold / 3 cold +[0-9.]+ s / [0-9.]+ s = [0-9.]+x")
        # the 10x corpus again, same cache: every cell from the cache, findings unchanged
        self.assertRegex(out, r"10x generated, re-run +30 +120 +0 +120 ")
        self.assertRegex(out, r"scale re-run, nothing changed: [0-9.]+ s \([0-9.]+x the 10x "
                              r"cold run\); cells from the cache 120 of 120")
        self.assertIn("10x re-run vs 10x cold run, every cell: all identical", out)
        self.assertIn("10x re-run vs 10x cold run, static findings: all identical", out)
        self.assertRegex(out, r"extraction \(--dry-run\), Markdown read +[0-9]+ MB/s")
        self.assertIn("docmatrix's own 'read and planned in' 0.00 s", out)
        self.assertRegex(out, r"Python interpreters started \(strace\) +not measured: skipped")
        # the targets by name
        self.assertIn("\nTargets\nname ", out)
        self.assertRegex(out, r"\nrerun-from-cache +re-run: cells served from the cache +16 of 16")
        self.assertRegex(out, r"\nscale-10x +30 examples cold / 3 cold ")
        self.assertNotIn("issue", out)
        self.assertIn("[bench", proc.stderr)
        self.assertIn("machine busy, 1 s samples", out)


class PieceTests(unittest.TestCase):
    def test_parse_strace(self):
        trace = textwrap.dedent("""\
            100 execve("/bin/docmatrix", ["docmatrix", "validate"], 0x7ff /* 3 vars */) = 0
            101 execve("/usr/local/bin/python3.9", ["python3.9"], 0x1 /* 3 vars */) = -1 ENOENT (No such file)
            101 execve("/usr/bin/python3.9", ["python3.9", "-I"], 0x1 /* 3 vars */ <unfinished ...>
            102 execve("/usr/bin/bash", ["bash"], 0x1 /* 3 vars */ <unfinished ...>
            100 --- SIGCHLD {si_signo=SIGCHLD} ---
            101 <... execve resumed>)                = 0
            102 <... execve resumed>)                = -1 EACCES (Permission denied)
            103 execve("/a \\"q\\"/python3", ["python3"], 0x1 /* 3 vars */) = 0
            """)
        self.assertEqual(measure.parse_strace(trace), [(100, "/bin/docmatrix"),
                                                       (101, "/usr/bin/python3.9"),
                                                       (103, '/a \\"q\\"/python3')])

    def test_interpreter_means_a_binary_named_python(self):
        with tempfile.TemporaryDirectory() as tmp:
            shim = Path(tmp) / "python3.9"
            shim.write_text("#!/bin/sh\nexec pyenv exec python3.9 \"$@\"\n")
            self.assertFalse(measure.is_python_interpreter(str(shim)))
            binary = Path(tmp) / "python3.12"
            binary.write_bytes(b"\x7fELF\x02\x01")
            self.assertTrue(measure.is_python_interpreter(str(binary)))
            self.assertFalse(measure.is_python_interpreter("/usr/bin/bwrap"))

    def test_edit_code(self):
        self.assertEqual(measure.edit_code('x = f(1)\nprint(d["k"], "total")\n'),
                         (1, 'print(d["k"], "total (edited)")'))
        self.assertEqual(measure.edit_code('if x:\n    print(f"{x:>{w}}|")\n'),
                         (1, '    print(f"{x:>{w}}| (edited)")'))
        self.assertIsNone(measure.edit_code("x = 1\nprint(x)\n"))
        self.assertEqual(measure.edit_code("x = 1\nprint(x)\n", numbers=True), (0, "x = 2"))
        self.assertIsNone(measure.edit_code('print("""triple""")\n'))

    def test_edit_one_example_prefers_a_print_literal_anywhere(self):
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp)
            (corpus / "a.md").write_text("# A\n\n```python\nx = 41\n```\n")
            (corpus / "b.md").write_text("# B\n\n```bash\necho 'no'\n```\n\n"
                                         "```python\nprint('hi', 2)\n```\n")
            edit = measure.edit_one_example(corpus)
            self.assertEqual((edit.file, edit.line, edit.edited_line), ("b.md", 7, 8))
            self.assertIn("print('hi (edited)', 2)", (corpus / "b.md").read_text())
            self.assertEqual((corpus / "a.md").read_text(), "# A\n\n```python\nx = 41\n```\n")
            (corpus / "b.md").write_text("no code\n")
            edit = measure.edit_one_example(corpus)
            self.assertEqual((edit.before, edit.after), ("x = 41", "x = 42"))

    def test_cache_counts_and_report_comparison(self):
        cached = json.loads(json.dumps(REPORT))
        for example in cached["examples"]:
            for result in example["results"].values():
                result["cached"] = True
                result["duration_ms"] = 99
        self.assertEqual(measure.cache_counts(REPORT), (16, 16, 0))
        self.assertEqual(measure.cache_counts(cached), (16, 0, 16))
        self.assertEqual(check.compare_reports(REPORT, cached), [])
        cached["examples"][2]["results"]["3.9"]["error_type"] = "TypeError"
        differences = check.compare_reports(REPORT, cached)
        self.assertEqual(len(differences), 1)
        self.assertIn("./guide_a.md:16 3.9: error_type differ", differences[0])
        self.assertEqual(check.compare_reports(REPORT, cached, skip=[("./guide_a.md", 16)]), [])

    def test_findings_comparison(self):
        a = {"examples": [{"file": "./g.md", "line": 3, "findings": [{"rule": "SC2086"}]},
                          {"file": "./g.md", "line": 9}]}
        b = json.loads(json.dumps(a))
        self.assertEqual(check.compare_findings(a, b), [])
        b["examples"][0]["findings"] = []
        differences = check.compare_findings(a, b)
        self.assertEqual(len(differences), 1)
        self.assertTrue(differences[0].startswith("./g.md:3: "), differences)

    def test_md_line_outside_its_example(self):
        self.assertEqual(check.md_lines_outside(REPORT), [])
        moved = json.loads(json.dumps(REPORT))
        moved["examples"][3]["results"]["3.9"].update(md_line=40, cached=True)
        self.assertEqual(check.md_lines_outside(moved),
                         ["./sub/guide_b.md:3 3.9: md_line 40 outside 3-5 (cached)"])


def fake_run(wall, report, peak_kib=50 * 1024):
    """A docmatrix run with a given wall time, report and own peak memory, for check.py."""
    return measure.Run("x", Path("."), measure.Measurement(wall, 1, peak_kib, 0, "", ""), report)


def all_cached(report):
    cached = json.loads(json.dumps(report))
    for example in cached["examples"]:
        for result in example["results"].values():
            result["cached"] = True
    return cached


class TargetTests(unittest.TestCase):
    """check.evaluate_targets: each figure against its named target, no program run."""

    def test_every_target_by_name(self):
        results = measure.Results(cold=fake_run(10.0, REPORT),
                                  rerun=fake_run(0.05, all_cached(REPORT)),
                                  peers={"a": {"all": 6.0}, "b": {"3.9": 2.0, "3.10": 3.0}},
                                  fresh_seconds=100.0, scale_base=fake_run(10.0, REPORT),
                                  scale_10x=fake_run(120.0, REPORT), verdicts_ok=True,
                                  extraction=measure.Extraction(1, 300 * measure.MB,
                                                                [3.0, 2.0, 2.5], None, 1.5))
        targets = check.evaluate_targets(results)
        verdicts = {t.name: t.verdict for t in targets}
        self.assertEqual(list(verdicts), ["verdicts", "cold-vs-peer", "cold-vs-fresh",
                                          "rerun-vs-peer", "rerun-from-cache",
                                          "rerun-no-interpreter", "cold-own-memory",
                                          "scale-10x", "extraction-speed"])  # no edit phase
        self.assertEqual(verdicts["verdicts"], "PASS")
        self.assertEqual(verdicts["cold-vs-peer"], "MISS")  # 10 / 5
        self.assertEqual(verdicts["cold-vs-fresh"], "PASS")
        self.assertEqual(verdicts["rerun-vs-peer"], "PASS")
        self.assertEqual(verdicts["rerun-from-cache"], "PASS")
        self.assertEqual(verdicts["rerun-no-interpreter"], "not measured")
        self.assertEqual(verdicts["cold-own-memory"], "PASS")
        self.assertEqual(verdicts["scale-10x"], "MISS")  # 12x
        self.assertEqual(verdicts["extraction-speed"], "PASS")  # 150 MB/s
        figures = {t.name: t.figure for t in targets}
        self.assertEqual(figures["cold-vs-peer"], "cold run / faster peer (b, 4 versions)")
        self.assertEqual(figures["scale-10x"], "4 examples cold / 4 cold")
        self.assertIn("150 MB/s", targets[-1].measured)

    def test_not_measured_without_peers_baseline_or_phases(self):
        results = measure.Results(cold=fake_run(10.0, REPORT, peak_kib=None))
        targets = {t.name: t for t in check.evaluate_targets(results)}
        self.assertEqual(list(targets), ["verdicts", "cold-vs-peer", "cold-vs-fresh",
                                         "cold-own-memory", "scale-10x", "extraction-speed"])
        self.assertTrue(all(t.verdict == "not measured" for t in targets.values()))
        self.assertEqual(targets["verdicts"].measured, "no TSV")
        self.assertIn("needs --peers", targets["cold-vs-peer"].target)
        self.assertIn("needs --fresh-baseline", targets["cold-vs-fresh"].target)
        self.assertEqual(targets["scale-10x"].measured, "skipped (--skip-scale)")
        self.assertEqual(targets["extraction-speed"].measured, "skipped (--skip-extraction)")

    def test_limits_are_inclusive(self):
        # cold / peer exactly 1.0, re-run / peer exactly 0.02, 10x exactly 11x, 100 MB/s,
        # own peak exactly 100 MB: all met
        peak_kib = check.OWN_PEAK_MB * measure.MB // 1024
        results = measure.Results(cold=fake_run(5.0, REPORT, peak_kib=peak_kib),
                                  rerun=fake_run(0.1, all_cached(REPORT)),
                                  peers={"a": {"all": 5.0}}, fresh_seconds=5.0 / 0.15,
                                  scale_base=fake_run(10.0, REPORT),
                                  scale_10x=fake_run(110.0, REPORT),
                                  extraction=measure.Extraction(1, 200 * measure.MB, [2.0],
                                                                None, None))
        verdicts = {t.name: t.verdict for t in check.evaluate_targets(results)}
        for name in ("cold-vs-peer", "rerun-vs-peer", "cold-own-memory", "scale-10x",
                     "extraction-speed"):
            self.assertEqual(verdicts[name], "PASS", name)
        results.cold_walls = [5.0, 5.1, 5.2]  # the median is what counts
        self.assertEqual({t.name: t.verdict for t in check.evaluate_targets(results)}
                         ["cold-vs-peer"], "MISS")

    def test_rerun_edit_and_verdict_misses(self):
        partly = all_cached(REPORT)
        partly["examples"][0]["results"]["3.9"]["cached"] = False
        edited = all_cached(REPORT)
        for example in edited["examples"][:2]:
            example["results"]["3.9"]["cached"] = False
        results = measure.Results(cold=fake_run(10.0, REPORT), rerun=fake_run(0.05, partly),
                                  edited=fake_run(0.2, edited), verdicts_ok=False,
                                  processes=measure.ProcessCount(
                                      execs=[(1, "/bin/docmatrix"), (2, "/usr/bin/python3.12")],
                                      interpreters=["/usr/bin/python3.12"]))
        targets = {t.name: t for t in check.evaluate_targets(results)}
        self.assertEqual(targets["verdicts"].verdict, "MISS")
        self.assertEqual(targets["rerun-from-cache"].measured, "15 of 16")
        self.assertEqual(targets["rerun-from-cache"].verdict, "MISS")
        self.assertEqual(targets["rerun-no-interpreter"].measured,
                         "1 (and 1 other programs exec'd)")
        self.assertEqual(targets["rerun-no-interpreter"].verdict, "MISS")
        self.assertEqual(targets["edit-reruns-one"].measured, "2 (0.20 s)")
        self.assertEqual(targets["edit-reruns-one"].verdict, "MISS")

    def test_target_table(self):
        targets = [check.Target("cold-vs-peer", "cold run / faster peer", "2 s / 1 s = 2.00x",
                                "<= 1.00x", False),
                   check.Target("scale-10x", "10x / 1x", "skipped", "<= 11x", None),
                   check.Target("verdicts", "verdicts", "all agree", "all cells", True)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            report.report_targets(targets)
        lines = out.getvalue().rstrip("\n").splitlines()
        self.assertEqual(lines[0], "Targets")
        self.assertEqual(lines[1].split(), ["name", "figure", "measured", "target", "result"])
        self.assertTrue(lines[3].startswith("cold-vs-peer  "), lines)
        self.assertTrue(lines[3].endswith("MISS"), lines)
        self.assertTrue(lines[4].endswith("not measured"), lines)
        self.assertEqual(lines[-1], "1 met, 1 missed, 1 not measured")


class ReportFormatTests(unittest.TestCase):
    def test_table(self):
        self.assertEqual(report.table(["a", "bb"], [["x", 1], ["yyy", 22]]),
                         "a    bb\n---  --\nx     1\nyyy  22")
        self.assertEqual(report.table(["a", "b"], [["x", "y"]], "rl"), "a  b\n-  -\nx  y")

    def test_units_and_ratios(self):
        self.assertEqual(measure.mb(100_000), "102.4 MB")
        self.assertEqual(measure.mib(2048), "2.0 MiB")
        self.assertEqual(measure.mb(None), "n/a")
        self.assertEqual(report.ratio(3.0, 2.0), "1.50")
        self.assertEqual(report.ratio(1.0, 0.0), "n/a")
        self.assertEqual(report.percent(0.123), "12%")
        self.assertEqual(report.percent(None), "n/a")


class CommandLineTests(unittest.TestCase):
    """run.py keeps its command line: every option the docs give, and --help."""

    def test_options(self):
        args = run.parse_args([])
        self.assertEqual((args.files, args.blocks, args.seed, args.repeat, args.extraction_mb),
                         (50, 20, 1, 3, 200.0))
        args = run.parse_args(["--no-build", "--binary", "x", "--files", "2", "--blocks", "3",
                               "--seed", "4", "--jobs", "5", "--verdicts", "v.tsv", "--peers",
                               "p.sh", "--fresh-baseline", "--repeat", "1", "--skip-strace",
                               "--skip-edit", "--skip-scale", "--skip-extraction",
                               "--extraction-mb", "0.5", "--keep", "--corpus", "c"])
        self.assertEqual((args.corpus, args.verdicts, args.peers), (Path("c"), Path("v.tsv"),
                                                                    Path("p.sh")))
        shared = run.parse_args(["--shared"])
        self.assertEqual(shared.verdicts, measure.SHARED / "verdicts.tsv")
        self.assertEqual(shared.peers, measure.SHARED / "peers.sh")

    def test_help(self):
        proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--help"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for option in ("--shared", "--fresh-baseline", "--skip-scale", "--extraction-mb"):
            self.assertIn(option, proc.stdout)

class ThirdPartyTests(unittest.TestCase):
    def test_recipes_and_their_verdicts(self):
        recipes = thirdparty.read_recipes()
        self.assertGreaterEqual(len(recipes), 40)
        by_title = {r.title: r for r in recipes}
        self.assertEqual(thirdparty.expected_cells(by_title["Optional fields with the union "
                                                           "operator"]),
                         ["FAIL TypeError", "pass", "pass", "pass"])
        self.assertEqual(thirdparty.expected_cells(by_title["Counting orders"]),
                         ["FAIL OperationalError"] * 4)
        self.assertTrue(by_title["Is the library loaded?"].fresh)

    def test_corpus_is_deterministic_and_has_a_pinned_config(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            blocks = thirdparty.generate(Path(a), 3, 5, 7)
            thirdparty.generate(Path(b), 3, 5, 7)
            self.assertEqual(len(blocks), 15)
            for name in ("guide_01.md", "expected.tsv", "docmatrix.toml"):
                self.assertEqual((Path(a) / name).read_text(), (Path(b) / name).read_text())
            lines = (Path(a) / blocks[0].file).read_text().splitlines()
            self.assertEqual(lines[blocks[0].line - 1], "```python")
            self.assertIn('"pydantic==', (Path(a) / "docmatrix.toml").read_text())

    def test_junit_of_both_peers(self):
        xml = """<testsuites><testsuite>
          <testcase classname="guide_01.md" name="[CodeFence#1][line:7]"/>
          <testcase classname="guide_01.md" name="[CodeFence#2][line:30]"><failure/></testcase>
          <testcase classname="guide_02.md" name="line 12"><skipped/></testcase>
          <testcase classname="guide_02" name="line 40"><error/></testcase>
        </testsuite></testsuites>"""
        verdicts = thirdparty.parse_junit(xml)
        self.assertEqual(verdicts, {("guide_01.md", 7): True, ("guide_01.md", 30): False,
                                    ("guide_02.md", 40): False})
        recipe = thirdparty.Recipe("t", "i", "x = 1\n")
        self.assertIs(thirdparty.peer_verdict(
            verdicts, thirdparty.Block("b", "guide_01.md", 29, recipe)), False)
        self.assertIsNone(thirdparty.peer_verdict(
            verdicts, thirdparty.Block("b", "guide_01.md", 20, recipe)))


if __name__ == "__main__":
    unittest.main()
