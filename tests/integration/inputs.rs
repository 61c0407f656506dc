//! Input: walking folders, Markdown forms, broken files, and configuration files.

use crate::common::*;

#[test]
fn walks_sorted_and_skips_what_it_should() {
    let out = docmatrix(&[
        "extract",
        "--no-config",
        "--format",
        "json",
        "fixtures/walk",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        vec![
            "fixtures/walk/a.md",
            "fixtures/walk/sub/b.markdown",
            "fixtures/walk/sub/deeper/c.md"
        ]
    );
}

#[test]
fn markdown_forms_at_their_true_lines() {
    let (code, doc) = validate_json(&["fixtures/markdown"]);
    assert_eq!(code, 1);
    let crlf = fixture("markdown/crlf.md");
    let chinese = fixture("markdown/chinese.md");
    let containers = fixture("markdown/containers.md");
    let fail_line = |file: &str| -> Vec<u64> {
        doc["examples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["file"].as_str().unwrap().ends_with(file)
                    && e["policy"] == "fail"
                    && e["language"] == "python"
            })
            .map(|e| e["results"]["3.12"]["md_line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        fail_line("crlf.md"),
        vec![line_of(&crlf, "assert first == second")]
    );
    assert_eq!(
        fail_line("chinese.md"),
        vec![line_of(&chinese, "raise ValueError(")]
    );
    assert_eq!(
        fail_line("containers.md"),
        vec![line_of(&containers, "print(values[0])")]
    );
    let unclosed = doc["warnings"].as_array().unwrap().iter().any(|w| {
        w["file"].as_str().unwrap().ends_with("unclosed.md")
            && w["message"].as_str().unwrap().contains("never closed")
    });
    assert!(unclosed, "{}", doc["warnings"]);
    assert!(doc["other_blocks"]["json"].as_u64().unwrap() >= 1);
}

#[test]
fn invalid_utf8_is_an_error_naming_the_file_and_the_rest_still_runs() {
    let (code, doc) = validate_json(&["fixtures/broken"]);
    assert_eq!(code, 1);
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0]["file"].as_str().unwrap().ends_with("latin1.md"));
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("invalid UTF-8"));
    let raw = std::fs::read(fixture("broken/latin1.md")).unwrap();
    let bad = raw.iter().position(|&b| b >= 0x80).unwrap();
    let line = 1 + raw[..bad].iter().filter(|&&b| b == b'\n').count();
    assert_eq!(errors[0]["line"], line as u64);
    let e = doc["examples"].as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(statuses(&e[0]), "pass pass pass pass");
}

#[test]
fn docmatrix_toml_sets_versions_paths_exclude_and_timeout() {
    let dir = fixture("config/toml");
    let out = docmatrix_in(&dir, &["validate", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}{}", stdout(&out), stderr(&out)));
    let config = std::fs::read_to_string(dir.join("docmatrix.toml")).unwrap();
    insta::assert_snapshot!("docmatrix_toml", config);
    let files: Vec<&str> = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("guides/") && !f.contains("drafts")),
        "{files:?}"
    );
    assert!(!files.is_empty());
    insta::assert_json_snapshot!("docmatrix_toml_versions", doc["versions"]);
}

#[test]
fn pyproject_tool_docmatrix_is_read() {
    let dir = fixture("config/pyproject");
    let out = docmatrix_in(&dir, &["extract", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(files.iter().all(|f| f.starts_with("docs/")), "{files:?}");
    assert!(!files.is_empty());
}

#[test]
fn unknown_config_key_is_an_error_naming_it() {
    let dir = fixture("config/unknown-key");
    let out = docmatrix_in(&dir, &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let toml = std::fs::read_to_string(dir.join("docmatrix.toml")).unwrap();
    let key = toml
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .find(|k| {
            ![
                "versions",
                "paths",
                "exclude",
                "timeout",
                "jobs",
                "allow-missing",
                "sandbox",
            ]
            .contains(k)
        })
        .expect("the fixture has an unknown key");
    assert!(err.contains(key), "{err}");
    assert!(err.contains("docmatrix.toml"), "{err}");
}
