//! Verdicts that differ by version, on the real interpreters, and the seed guide's cases.

use crate::common::*;

#[test]
fn syntax_and_library_changes_by_version() {
    let (code, doc) = validate_json(&["fixtures/versions"]);
    assert_eq!(code, 1, "some examples break the default 3.9+ policy");
    let stdlib = fixture("versions/stdlib.md");
    let syntax = fixture("versions/syntax.md");
    let cases = [
        // (file, a line inside the block, expected statuses, error type on failure)
        (
            &stdlib,
            "from typing import Self",
            "fail fail pass pass",
            "ImportError",
        ),
        (
            &stdlib,
            "def first_word",
            "fail pass pass pass",
            "TypeError",
        ),
        (
            &stdlib,
            "list(zip(names, years, strict=True))",
            "fail pass pass pass",
            "TypeError",
        ),
        (
            &stdlib,
            "import tomllib",
            "fail fail pass pass",
            "ModuleNotFoundError",
        ),
        (
            &stdlib,
            "from itertools import batched",
            "fail fail fail pass",
            "ImportError",
        ),
        (
            &stdlib,
            "distutils is importable",
            "pass pass pass fail",
            "ModuleNotFoundError",
        ),
        (
            &syntax,
            "match command.split():",
            "fail pass pass pass",
            "SyntaxError",
        ),
        (
            &syntax,
            "except* ValueError",
            "fail fail pass pass",
            "SyntaxError",
        ),
        (&syntax, "type Pair", "fail fail fail pass", "SyntaxError"),
    ];
    for (file, needle, want, err) in cases {
        let at = line_of(file, needle);
        let e = doc["examples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                file.ends_with(e["file"].as_str().unwrap())
                    && e["line"].as_u64().unwrap() < at
                    && e["end_line"].as_u64().unwrap() > at
            })
            .unwrap_or_else(|| panic!("no block around {needle:?}"));
        assert_eq!(statuses(e), want, "{needle}");
        for (v, r) in e["results"].as_object().unwrap() {
            if r["status"] == "fail" {
                assert_eq!(r["error_type"], err, "{needle} on {v}: {r}");
                let md_line = r["md_line"].as_u64().unwrap();
                assert!(
                    md_line > e["line"].as_u64().unwrap()
                        && md_line < e["end_line"].as_u64().unwrap()
                );
            }
        }
        assert_eq!(
            e["policy"],
            if want.starts_with("pass pass pass pass") {
                "ok"
            } else {
                "fail"
            }
        );
    }
}

#[test]
fn measured_ranges_and_policy_messages() {
    let (_, doc) = validate_json(&["fixtures/versions/syntax.md"]);
    let syntax = fixture("versions/syntax.md");
    let mut seen = Vec::new();
    for e in doc["examples"].as_array().unwrap() {
        seen.push(format!(
            "{} {} {}",
            e["line"],
            e["measured"].as_str().unwrap(),
            e["policy_message"].as_str().unwrap_or("-")
        ));
    }
    let m = line_of(&syntax, "match command.split():");
    assert!(
        seen.iter()
            .any(|s| s.contains("3.10+ fails on 3.9 — expected to work on 3.9+ (the default)")),
        "{seen:#?} (match at {m})"
    );
    assert!(
        seen.iter()
            .any(|s| s.contains("3.12+ fails on 3.9, 3.10, 3.11")),
        "{seen:#?}"
    );
}

/// Our own reproduction of the seed guide, and the seed guide itself when it is beside us.
fn check_seed(path: &std::path::Path) {
    let rel = path.to_string_lossy().into_owned();
    let (code, doc) = validate_json(&[&rel]);
    assert_eq!(code, 1);
    let examples = doc["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3, "two Python blocks and a Dockerfile");
    assert_eq!(doc["other_blocks"], serde_json::json!({}));

    let typing = &examples[0];
    assert_eq!(statuses(typing), "fail fail pass pass");
    let import_line = line_of(path, "NotRequired, Required");
    for v in ["3.9", "3.10"] {
        let r = &typing["results"][v];
        assert_eq!(r["error_type"], "ImportError");
        assert!(r["error"].as_str().unwrap().contains("NotRequired"), "{r}");
        assert_eq!(r["md_line"], import_line);
    }
    assert_eq!(typing["measured"], "3.11+");
    assert_eq!(typing["policy"], "fail");

    let rag = &examples[1];
    assert_eq!(statuses(rag), "fail fail fail fail");
    let langchain_line = line_of(path, "from langchain.llms import OpenAI");
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let r = &rag["results"][v];
        assert_eq!(r["error_type"], "ModuleNotFoundError", "{v}: {r}");
        assert_eq!(r["md_line"], langchain_line, "{v}");
        assert_eq!(r["code"], "from langchain.llms import OpenAI");
    }
    assert_eq!(rag["measured"], "none");

    // The Dockerfile: the lower-case `as` and the curl that python:3.12-slim does not ship, each
    // at its line; its COPY of requirements.txt has no build context in the guide.
    let docker = &examples[2];
    assert_eq!(docker["language"], "dockerfile");
    let found: Vec<(u64, &str, &str)> = docker["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "docmatrix")
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (line_of(path, "-slim as build"), "DF002", "warning"),
            (line_of(path, "CMD curl -f"), "DF008", "error"),
        ]
    );
    assert_eq!(docker["policy"], "fail");
    let copy = line_of(path, "COPY requirements.txt");
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let r = &docker["results"][v];
        assert_eq!(r["status"], "blocked", "{v}: {r}");
        assert_eq!(r["md_line"], copy);
        assert!(r["reason"]
            .as_str()
            .unwrap()
            .starts_with("needs build context: `requirements.txt`"));
    }
}

#[test]
fn seed_fixture() {
    check_seed(&fixture("seed/guide.md"));
}

#[test]
fn shared_seed_guide() {
    let shared = root().join("../shared/seed-guide.md");
    if shared.exists() {
        check_seed(&shared);
    } else {
        eprintln!("../shared/seed-guide.md is not beside this checkout; the fixture covers it");
    }
}
