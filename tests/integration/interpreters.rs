//! Interpreter discovery: real interpreters, shims resolved, explicit paths, missing versions.

use std::path::{Path, PathBuf};

use crate::common::*;

fn run_env(cwd: &Path, args: &[&str], path: &str) -> std::process::Output {
    command()
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn finds_every_matrix_version_by_absolute_path() {
    let out = docmatrix(&["interpreters", "--no-config", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let i = &doc[v];
        let path = PathBuf::from(i["path"].as_str().unwrap());
        assert!(path.is_absolute() && path.is_file(), "{v}: {i}");
        assert!(
            !path.to_string_lossy().contains("/shims/"),
            "{v}: a shim was not resolved: {i}"
        );
        assert!(
            i["version"].as_str().unwrap().starts_with(&format!("{v}.")),
            "{i}"
        );
    }
}

#[test]
fn a_shim_on_path_is_resolved_to_the_real_binary() {
    let out = docmatrix(&[
        "interpreters",
        "--no-config",
        "--python",
        "3.10",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let real = doc["3.10"]["path"].as_str().unwrap().to_string();

    let bin = tempfile::tempdir().unwrap();
    let shim = bin.path().join("python3.10");
    std::fs::write(&shim, format!("#!/bin/sh\nexec {real} \"$@\"\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let out = run_env(
        &root(),
        &[
            "interpreters",
            "--no-config",
            "--python",
            "3.10",
            "--format",
            "json",
        ],
        &path,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["3.10"]["path"], real.as_str());
    assert_eq!(doc["3.10"]["source"], "PATH");
}

#[test]
fn a_missing_version_is_unavailable_never_a_pass() {
    let args = [
        "validate",
        "--no-config",
        "--format",
        "json",
        "--python",
        "3.12,3.98",
        "fixtures/broken/valid.md",
    ];
    let out = docmatrix(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing interpreter fails the run"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["examples"][0]["results"];
    assert_eq!(r["3.12"]["status"], "pass");
    assert_eq!(r["3.98"]["status"], "unavailable");
    assert!(r["3.98"]["reason"]
        .as_str()
        .unwrap()
        .contains("no Python 3.98 found"));
    assert_eq!(doc["interpreters"]["3.98"], serde_json::Value::Null);

    let mut allow = args.to_vec();
    allow.push("--allow-missing");
    let out = docmatrix(&allow);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--allow-missing: {}",
        stdout(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["examples"][0]["results"]["3.98"]["status"],
        "unavailable"
    );
}

#[test]
fn a_configured_path_is_used_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("broken/valid.md"), dir.path().join("valid.md")).unwrap();
    std::fs::write(
        dir.path().join("docmatrix.toml"),
        "versions = [\"3.11\"]\npaths = [\"valid.md\"]\n[interpreters]\n\"3.11\" = \"/nonexistent/python3.11\"\n",
    )
    .unwrap();
    let out = docmatrix_in(dir.path(), &["validate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["examples"][0]["results"]["3.11"];
    assert_eq!(r["status"], "unavailable");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/python3.11"),
        "{r}"
    );
}
