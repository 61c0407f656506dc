"""Validates docmatrix's JUnit XML and SARIF against their schemas (run by the integration tests
with the virtual environment .ci/run makes: xmlschema and jsonschema).

    python validate.py junit FILE     # tests/schemas/junit-10.xsd, plus docmatrix's extensions
    python validate.py sarif FILE     # tests/schemas/sarif-schema-2.1.0.json (OASIS, draft-04)

Prints what it checked and exits 0, or prints every problem and exits 1.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))


def junit(path):
    import xmlschema

    problems = []
    tree = ET.parse(path)
    root = tree.getroot()
    if root.tag != "testsuites":
        return [f"root element is <{root.tag}>, not <testsuites>"]

    # docmatrix's additions to junit-10.xsd, checked here, then removed: `skipped` on
    # <testsuites> (quick-junit always writes it), `file` and `line` on <testcase> (read by
    # GitLab, Jenkins' JUnit plugin and GitHub annotation actions).
    suites = root.findall("testsuite")
    total_skipped = sum(int(s.get("skipped", "0")) for s in suites)
    if root.get("skipped") != str(total_skipped):
        problems.append(f"testsuites/@skipped={root.get('skipped')!r}, suites hold {total_skipped}")
    root.attrib.pop("skipped", None)
    cases = 0
    for suite in suites:
        tcs = suite.findall("testcase")
        counts = {
            "tests": len(tcs),
            "failures": sum(len(tc.findall("failure")) for tc in tcs),
            "errors": sum(len(tc.findall("error")) for tc in tcs),
            "skipped": sum(len(tc.findall("skipped")) for tc in tcs),
        }
        for key, n in counts.items():
            if suite.get(key) != str(n):
                problems.append(f"suite {suite.get('name')}: {key}={suite.get(key)!r}, holds {n}")
        for tc in tcs:
            cases += 1
            name = tc.get("name")
            f, line = tc.attrib.pop("file", None), tc.attrib.pop("line", None)
            if not f or f != tc.get("classname"):
                problems.append(f"testcase {name!r}: file={f!r}, classname={tc.get('classname')!r}")
            if line is None or not line.isdigit() or int(line) < 1:
                problems.append(f"testcase {name!r}: line={line!r} is not a positive integer")
    for key in ("tests", "failures", "errors"):
        n = sum(int(s.get(key, "0")) for s in suites)
        if root.get(key) != str(n):
            problems.append(f"testsuites/@{key}={root.get(key)!r}, suites hold {n}")

    schema = xmlschema.XMLSchema(os.path.join(HERE, "junit-10.xsd"))
    problems.extend(str(e).splitlines()[0] for e in schema.iter_errors(tree))
    if not problems:
        print(f"junit: {path}: valid against junit-10.xsd ({len(suites)} suites, {cases} test cases)")
    return problems


def sarif(path):
    import jsonschema

    with open(os.path.join(HERE, "sarif-schema-2.1.0.json"), encoding="utf-8") as f:
        schema = json.load(f)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    validator = jsonschema.Draft4Validator(schema)
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]
    results = 0
    for run in doc.get("runs", []):
        rules = [r["id"] for r in run["tool"]["driver"].get("rules", [])]
        if len(set(rules)) != len(rules):
            problems.append(f"rule ids repeat: {rules}")
        for r in run.get("results", []):
            results += 1
            if r.get("ruleId") not in rules:
                problems.append(f"result with unknown ruleId {r.get('ruleId')!r}")
            elif rules[r.get("ruleIndex", -1)] != r["ruleId"]:
                problems.append(f"ruleIndex {r.get('ruleIndex')} is not {r['ruleId']!r}")
            for loc in r.get("locations", []):
                region = loc["physicalLocation"].get("region", {})
                if region.get("startLine", 1) < 1:
                    problems.append(f"startLine {region['startLine']}")
    if not problems:
        print(f"sarif: {path}: valid against the SARIF 2.1.0 schema ({results} results)")
    return problems


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("junit", "sarif"):
        sys.exit(__doc__)
    problems = {"junit": junit, "sarif": sarif}[sys.argv[1]](sys.argv[2])
    for p in problems:
        print(f"INVALID: {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
