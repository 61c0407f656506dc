//! Annotations: skip, requires, group, raises, timeout, file-wide comments, peer markers and
//! warnings for unknown keys.

use crate::common::*;

#[test]
fn skip_in_every_form() {
    let (_, doc) = validate_json(&["fixtures/annotations/skip.md"]);
    let skip = fixture("annotations/skip.md");
    let mut skipped = 0;
    for e in doc["examples"].as_array().unwrap() {
        if e["policy"] == "skipped" {
            skipped += 1;
            assert_eq!(statuses(e), "skipped skipped skipped skipped", "{e}");
        } else {
            assert_eq!(e["policy"], "ok", "{e}");
        }
    }
    assert_eq!(
        skipped, 8,
        "skip, notest, test=skip, reason, comment, three peer markers"
    );
    let api = line_of(&skip, "needs an API key") + 2;
    assert_eq!(example(&doc, "skip.md", api)["skip"], "needs an API key");
    assert_eq!(
        example(&doc, "skip.md", api)["results"]["3.9"]["reason"],
        "needs an API key"
    );
}

#[test]
fn requires_makes_lower_versions_not_applicable() {
    let (_, doc) = validate_json(&[
        "fixtures/annotations/requires.md",
        "fixtures/annotations/file-wide.md",
    ]);
    let mut rows: Vec<String> = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} | {} | {}",
                e["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                e["line"],
                e["requires"],
                statuses(e)
            )
        })
        .collect();
    rows.sort();
    insta::assert_snapshot!(rows.join("\n"));
    // Not-applicable cells are decided, never run, and say why.
    let e = &doc["examples"][0];
    let na = e["results"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["status"] == "not-applicable")
        .expect("a not-applicable cell");
    assert!(
        na["reason"].as_str().unwrap().starts_with("requires >="),
        "{na}"
    );
    assert!(na.get("duration_ms").is_none());
}

#[test]
fn groups_share_state_and_blame_the_failing_block() {
    let (_, doc) = validate_json(&["fixtures/annotations/groups.md"]);
    let groups = fixture("annotations/groups.md");
    let examples = doc["examples"].as_array().unwrap();
    // The setup group passes, and the block outside it does not see its state.
    for e in &examples[..5] {
        assert_eq!(statuses(e), "pass pass pass pass", "{e}");
    }
    let divide = line_of(&groups, "shares[region] = 100 / amount");
    let failing = &examples[5];
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let r = &failing["results"][v];
        assert_eq!(r["error_type"], "ZeroDivisionError");
        assert_eq!(r["md_line"], divide);
    }
    let after = &examples[6];
    assert_eq!(statuses(after), "skipped skipped skipped skipped");
    assert_eq!(
        after["policy"], "fail",
        "a block that never ran does not pass"
    );
    let reason = after["results"]["3.12"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("groups.md:{}", failing["line"])),
        "{reason}"
    );
}

#[test]
fn raises_and_timeout() {
    let (_, doc) = validate_json(&["fixtures/annotations/run-options.md"]);
    let f = fixture("annotations/run-options.md");
    let e = doc["examples"].as_array().unwrap();
    assert_eq!(
        statuses(&e[0]),
        "pass pass pass pass",
        "a short sleep within timeout=2"
    );
    assert_eq!(statuses(&e[1]), "timeout timeout timeout timeout");
    let sleep = line_of(&f, "time.sleep(5)");
    assert_eq!(
        e[1]["results"]["3.11"]["md_line"], sleep,
        "a timeout names the stuck line"
    );
    assert_eq!(e[1]["results"]["3.11"]["error"], "timed out after 1s");
    assert_eq!(statuses(&e[2]), "pass pass pass pass", "raises=ValueError");
    assert_eq!(
        statuses(&e[3]),
        "pass pass pass pass",
        "a subclass of the expected exception"
    );
    assert_eq!(statuses(&e[4]), "fail fail fail fail", "another exception");
    assert_eq!(e[4]["results"]["3.9"]["error_type"], "IndexError");
    assert_eq!(
        statuses(&e[5]),
        "fail fail fail fail",
        "no exception at all"
    );
    assert!(e[5]["results"]["3.9"]["error"]
        .as_str()
        .unwrap()
        .contains("expected ValueError"));
}

#[test]
fn unknown_keys_warn_at_their_line() {
    let (code, doc) = validate_json(&["fixtures/annotations/warnings.md"]);
    assert_eq!(code, 0, "warnings do not fail a run");
    let f = fixture("annotations/warnings.md");
    let warnings: Vec<(u64, String)> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["line"].as_u64().unwrap(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        vec![
            (
                line_of(&f, "docmatrix: frobnicate"),
                "unknown annotation key `frobnicate`".to_string()
            ),
            (
                line_of(&f, "{frobnicate="),
                "unknown annotation key `frobnicate`".to_string()
            ),
        ]
    );
    for e in doc["examples"].as_array().unwrap() {
        assert_eq!(statuses(e), "pass pass pass pass");
    }
}
