#!/usr/bin/env python3
"""Tests of the benchmark scripts themselves, without docmatrix: python3 bench/test_bench.py

The JSON-reading side of run.py is exercised on a hand-written report that follows the
contract's `--format json` schema, through a stand-in binary that prints it.
"""
import json
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fresh  # noqa: E402
import run  # noqa: E402

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


def result(status, error_type=None):
    out = {"status": status, "duration_ms": 12}
    if error_type:
        out.update(error=f"{error_type}: boom", error_type=error_type, md_line=3, exit_code=1,
                   stderr="Traceback ...")
    return out


def example(file, line, results):
    return {"file": file, "line": line, "end_line": line + 2, "language": "python",
            "group": None, "requires": None, "skip": None, "results": results,
            "measured": "3.9+", "policy": "ok"}


ALL_PASS = {v: result("pass") for v in run.VERSIONS}
# Deliberately not in (file, line) order: block ids must come from the line numbers.
REPORT = {
    "schema": 1,
    "versions": list(run.VERSIONS),
    "interpreters": {"3.9": {"path": "/usr/bin/python3.9", "version": "3.9.18"}, "3.13": None},
    "examples": [
        example("./guide_a.md", 11, ALL_PASS),
        example("./guide_a.md", 3, ALL_PASS),
        example("./guide_a.md", 16, {v: result("fail", "ValueError") for v in run.VERSIONS}),
        example("./sub/guide_b.md", 3, {"3.9": result("fail", "SyntaxError"),
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
        blocks = run.block_results(REPORT)
        self.assertEqual(sorted(blocks), ["guide_a_b00.py", "guide_a_b01.py", "guide_a_b02.py",
                                          "guide_b_b00.py"])
        self.assertEqual(blocks["guide_a_b00.py"]["line"], 3)
        self.assertEqual(blocks["guide_a_b02.py"]["line"], 16)

    def test_same_stem_in_two_folders_is_refused(self):
        report = {"examples": [example("a/x.md", 1, ALL_PASS), example("b/x.md", 1, ALL_PASS)]}
        with self.assertRaises(run.BenchError):
            run.block_results(report)

    def test_verdict_check_reports_each_disagreeing_cell(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "v.tsv"
            path.write_text(VERDICTS)
            columns, expected = fresh.read_verdicts(path)
        self.assertEqual(columns, ["3.9", "3.10", "3.11", "3.12", "3.13"])
        checked, mismatches = run.check_verdicts(expected, run.block_results(REPORT),
                                                 run.VERSIONS)
        self.assertEqual(checked, 16)
        self.assertEqual(len(mismatches), 1)
        self.assertTrue(mismatches[0].startswith("guide_b_b00.py 3.12: expected pass, got timeout"))

        expected["guide_a_b02.py"]["3.9"] = "FAIL TypeError"
        expected["guide_c_b00.py"] = dict(expected["guide_a_b00.py"])
        del expected["guide_a_b00.py"]
        _, mismatches = run.check_verdicts(expected, run.block_results(REPORT), run.VERSIONS)
        text = "\n".join(mismatches)
        self.assertIn("guide_a_b00.py: reported by docmatrix (./guide_a.md:3)", text)
        self.assertIn("guide_c_b00.py: in the verdicts but not reported", text)
        self.assertIn("guide_a_b02.py 3.9: expected FAIL TypeError, got fail ValueError", text)

    def test_status_counts(self):
        counts = run.status_counts(REPORT)
        self.assertEqual(counts["3.9"]["pass"], 2)
        self.assertEqual(counts["3.9"]["fail"], 2)
        self.assertEqual(counts["3.12"]["timeout"], 1)

    def test_peer_lines(self):
        text = "noise\npeer codeblocks 3.9 1.25\npeer codeblocks all 4.50\npeer markdown-docs 3.9 2\n"
        self.assertEqual(run.parse_peer_lines(text),
                         {"codeblocks": {"3.9": 1.25, "all": 4.5}, "markdown-docs": {"3.9": 2.0}})


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
            self.assertEqual(columns, list(run.VERSIONS))
            self.assertEqual(sorted(expected), ids)
            self.assertEqual(len(ids), 21)


class EndToEndTests(unittest.TestCase):
    """run.py against a stand-in docmatrix binary that prints a given report."""

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
                                   "--corpus", str(corpus), "--verdicts", str(tmp / "v.tsv")],
                                  capture_output=True, text=True)

    def test_mismatch_fails_the_run(self):
        proc = self.run_bench(REPORT)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("MISMATCH guide_b_b00.py 3.12: expected pass, got timeout", proc.stdout)
        self.assertIn("16 cells (3.9, 3.10, 3.11, 3.12)", proc.stdout)
        self.assertIn("examples/s", proc.stdout)

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


if __name__ == "__main__":
    unittest.main()
