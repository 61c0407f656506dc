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
        "3.12,3.16",
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
    assert_eq!(r["3.16"]["status"], "unavailable");
    assert!(r["3.16"]["reason"]
        .as_str()
        .unwrap()
        .contains("no Python 3.16 found"));
    assert_eq!(doc["interpreters"]["3.16"], serde_json::Value::Null);

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
        doc["examples"][0]["results"]["3.16"]["status"],
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

/// `docmatrix interpreters` for 3.12, as JSON.
const INTERPRETER_312: [&str; 6] = [
    "interpreters",
    "--no-config",
    "--python",
    "3.12",
    "--format",
    "json",
];

/// A pyenv shim on PATH is read, never run: a pyenv root whose shim would leave a mark if
/// started, and whose selected version links to a real interpreter, resolves to that
/// interpreter with no mark left.
#[test]
fn a_pyenv_shim_is_read_not_run() {
    let out = docmatrix(&INTERPRETER_312);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let real = PathBuf::from(doc["3.12"]["path"].as_str().unwrap());

    let pyenv = tempfile::tempdir().unwrap();
    let root = pyenv.path();
    let mark = root.join("shim-ran");
    std::fs::create_dir_all(root.join("shims")).unwrap();
    std::fs::create_dir_all(root.join("versions/my-3.12/bin")).unwrap();
    std::os::unix::fs::symlink(&real, root.join("versions/my-3.12/bin/python3.12")).unwrap();
    let shim = root.join("shims/python3.12");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\ntouch {}\nexec {} \"$@\"\n",
            mark.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join(".python-version"), "my-3.12\n").unwrap();

    let path = format!("{}:/usr/bin:/bin", root.join("shims").display());
    let out = command()
        .args(INTERPRETER_312)
        .current_dir(project.path())
        .env("PATH", path)
        .env("PYENV_ROOT", root)
        .env_remove("PYENV_VERSION")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
    assert_eq!(doc["3.12"]["source"], "pyenv", "{doc}");
    assert!(
        doc["3.12"]["version"]
            .as_str()
            .unwrap()
            .starts_with("3.12."),
        "{doc}"
    );
    // The selected version's binary (a link into the temporary pyenv root), not the shim.
    assert_eq!(
        doc["3.12"]["path"].as_str().unwrap(),
        root.join("versions/my-3.12/bin/python3.12")
            .to_str()
            .unwrap(),
        "{doc}"
    );
    assert!(!mark.exists(), "the shim was run");
}
