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
            "fixtures/walk/sub/deeper/c.md",
            "fixtures/walk/target/guide.md"
        ]
    );
}

/// A project in a git repository (a `.git` folder is enough): docs in a folder named `target`,
/// a gitignored folder, build output tagged with a `CACHEDIR.TAG`, `node_modules`, a symbolic
/// link loop and, where the tests do not run as root, a folder nobody may read.
fn walked_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = "# Guide\n\n```python\nprint('ok')\n```\n";
    for (f, text) in [
        (".gitignore", "ignored/\n"),
        ("docs/guide.md", example),
        ("docs/target/guide.md", example),
        ("docs/ignored/guide.md", example),
        (
            "docs/build/CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55\n# a build folder\n",
        ),
        ("docs/build/guide.md", example),
        ("docs/node_modules/pkg/README.md", example),
        ("docs/locked/guide.md", example),
    ] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("docs/loop")).unwrap();
    set_mode(&dir.path().join("docs/locked"), 0o000);
    dir
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `extract --format json ARGS` in `dir`: (files, warnings as `file: message`).
fn extracted(dir: &std::path::Path, args: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut all = vec!["extract", "--format", "json"];
    all.extend_from_slice(args);
    let out = docmatrix_in(dir, &all);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let warnings = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w["file"].as_str().unwrap(),
                w["message"].as_str().unwrap()
            )
        })
        .collect();
    (files, warnings)
}

#[test]
fn folders_are_skipped_for_being_ignored_or_build_output_not_for_their_name() {
    let project = walked_project();
    let dir = project.path();
    // Root reads every folder: there, chmod 000 stops nothing, and only the loop is reported.
    let root = unsafe { libc::geteuid() } == 0;
    let (files, warnings) = extracted(dir, &["--no-config", "docs"]);
    let mut want = vec!["docs/guide.md", "docs/target/guide.md"];
    if root {
        want.insert(1, "docs/locked/guide.md");
    }
    assert_eq!(files, want);
    // In walking order: the locked folder (when it is), then the loop.
    let loop_at = usize::from(!root);
    assert_eq!(warnings.len(), loop_at + 1, "{warnings:?}");
    assert!(
        warnings[loop_at].starts_with("docs/loop: skipped: a symbolic link loop (back to "),
        "{warnings:?}"
    );
    if !root {
        assert_eq!(
            warnings[0],
            "docs/locked: skipped: Permission denied (os error 13)"
        );
    }

    // `--no-ignore`, or `respect-gitignore = false`: the ignored folder is read; build output
    // and node_modules are still not.
    let (files, _) = extracted(dir, &["--no-config", "--no-ignore", "docs"]);
    assert!(
        files.contains(&"docs/ignored/guide.md".to_string()),
        "{files:?}"
    );
    assert!(!files
        .iter()
        .any(|f| f.contains("build") || f.contains("node_modules")));
    std::fs::write(dir.join("docmatrix.toml"), "respect-gitignore = false\n").unwrap();
    let (with_config, _) = extracted(dir, &["docs"]);
    assert_eq!(with_config, files);

    // A path named on the command line is read, ignored or not.
    let (files, _) = extracted(dir, &["--no-config", "docs/ignored/guide.md", "docs/build"]);
    assert_eq!(files, vec!["docs/build/guide.md", "docs/ignored/guide.md"]);

    // The warnings reach the report, and the other files still run.
    let out = docmatrix_in(
        dir,
        &[
            "validate",
            "--no-config",
            "--sandbox",
            "none",
            "--python",
            "3.12",
            "--format",
            "json",
            "docs",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["examples"].as_array().unwrap().len(),
        want.len(),
        "{doc:#}"
    );
    let warned = doc["warnings"].as_array().unwrap();
    assert!(
        warned.iter().any(|w| w["file"] == "docs/loop"),
        "{warned:#?}"
    );
    set_mode(&dir.join("docs/locked"), 0o755);
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

/// A project folder holding `guide.md`, whose one example writes `marker` when it runs.
fn marking_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    std::fs::write(
        dir.path().join("guide.md"),
        format!(
            "```python\nopen({:?}, 'w').write('ran')\n```\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    (dir, marker)
}

/// `docmatrix validate --no-config --sandbox none ARGS guide.md` in `dir`, on 3.12 unless
/// ARGS name versions.
fn validate_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "validate",
        "--no-config",
        "--color",
        "never",
        "--sandbox",
        "none",
    ];
    if !args.contains(&"--python") {
        all.extend(["--python", "3.12"]);
    }
    all.extend_from_slice(args);
    all.push("guide.md");
    docmatrix_in(dir, &all)
}

#[test]
fn an_empty_folder_or_a_mistyped_path_is_an_error_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    std::fs::write(dir.path().join("empty/notes.txt"), "no Markdown here").unwrap();
    for cmd in ["validate", "extract"] {
        let out = docmatrix_in(dir.path(), &[cmd, "--no-config", "empty"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("empty: no Markdown files") && err.contains("--allow-empty"),
            "{cmd}: {err}"
        );
        let out = docmatrix_in(dir.path(), &[cmd, "--no-config", "empty", "--allow-empty"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("note: no Markdown files"),
            "{}",
            stderr(&out)
        );
    }
    // A mistyped path: named, exit status 2, whether or not empty runs are allowed.
    for extra in [&[][..], &["--allow-empty"][..]] {
        let mut args = vec!["validate", "--no-config", "docs/gude.md"];
        args.extend_from_slice(extra);
        let out = docmatrix_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("docs/gude.md: no such file or folder"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn an_unwritable_output_path_stops_the_run_before_any_example_runs() {
    let (dir, marker) = marking_project();
    let d = dir.path();
    std::fs::write(d.join("a-file"), "").unwrap();
    std::fs::create_dir(d.join("a-folder")).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--report", "json=a-file/report.json"],
            "a-file is not a folder",
        ),
        (&["--report", "junit=a-folder"], "it is a folder"),
        (
            &[
                "--report",
                "junit=out/junit.xml",
                "--report",
                "sarif=a-file/x/y.sarif",
            ],
            "a-file is not a folder",
        ),
        (&["--badges", "a-file"], "it is a file"),
    ];
    for (args, why) in cases {
        let out = validate_in(d, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(!marker.exists(), "{args:?}: the example ran");
        assert!(out.stdout.is_empty(), "{args:?}: {}", stdout(&out));
        assert!(!d.join("out").exists(), "{args:?}: a folder was made");
    }
    // The same run with writable paths runs the example and writes the reports.
    let out = validate_in(
        d,
        &["--report", "junit=out/junit.xml", "--badges", "badges"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(marker.exists());
    assert!(d.join("out/junit.xml").is_file() && d.join("badges/index.html").is_file());
}

#[test]
fn zero_jobs_and_versions_docmatrix_cannot_run_are_rejected_with_a_hint() {
    let (dir, marker) = marking_project();
    let d = dir.path();
    let cases: [(&[&str], &str); 5] = [
        (&["-j", "0"], "at least one job"),
        (&["--jobs", "0"], "at least one job"),
        (&["--python", "3.12,3.99"], "3.9 to 3.16"),
        (&["--python", "3.1"], "did you mean 3.10?"),
        (&["--python", "2.7"], "not supported"),
    ];
    for (args, hint) in cases {
        let out = validate_in(d, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(hint), "{args:?}: {err}");
        assert!(!marker.exists(), "{args:?}: the example ran");
    }
    // In the configuration too, naming the file.
    for toml in [
        "versions = [\"3.8\", \"3.12\"]\n",
        "jobs = 0\n",
        "[interpreters]\n\"3.99\" = \"/usr/bin/python3\"\n",
    ] {
        std::fs::write(d.join("docmatrix.toml"), toml).unwrap();
        let out = docmatrix_in(d, &["validate", "--sandbox", "none", "guide.md"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{toml}: {err}");
        assert!(err.contains("docmatrix.toml"), "{toml}: {err}");
        assert!(!marker.exists(), "{toml}: the example ran");
    }
}

#[test]
fn on_ci_a_run_without_a_sandbox_must_be_asked_for() {
    let (dir, marker) = marking_project();
    let d = dir.path();
    // A machine without bwrap.
    let bin = bin_with_only(&["sh"]);
    let run = |ci: &str, args: &[&str]| {
        let mut all = vec!["validate", "--no-config", "--python", "3.12"];
        all.extend_from_slice(args);
        all.push("guide.md");
        command()
            .args(&all)
            .current_dir(d)
            .env("PATH", bin.path())
            .env("CI", ci)
            .output()
            .unwrap()
    };
    for ci in ["true", "1", "yes"] {
        let out = run(ci, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "CI={ci}: {err}");
        assert!(
            err.contains("bubblewrap") && err.contains("--sandbox none"),
            "CI={ci}: {err}"
        );
        assert!(!marker.exists(), "CI={ci}: the example ran");
    }
    let out = run("true", &["--sandbox", "auto"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    for args in [&["--sandbox", "none"][..], &["--no-sandbox"][..]] {
        let out = run("true", args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(marker.exists(), "{args:?}");
        std::fs::remove_file(&marker).unwrap();
    }
    // Outside CI, `auto` runs without one and says so.
    for ci in ["", "false", "0"] {
        let out = run(ci, &["--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "CI={ci}: {}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["sandbox"], "none");
        std::fs::remove_file(&marker).unwrap();
    }
    // `sandbox = "none"` in the configuration is asking for it too.
    std::fs::write(
        d.join("docmatrix.toml"),
        "versions = [\"3.12\"]\nsandbox = \"none\"\n",
    )
    .unwrap();
    let out = command()
        .args(["validate", "guide.md"])
        .current_dir(d)
        .env("PATH", bin.path())
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(marker.exists());
}
