//! The command line: exit statuses, usage errors, the progress bar and colour on a terminal.

use std::process::Command;

use crate::common::*;

#[test]
fn exit_statuses() {
    let ok = docmatrix(&["validate", "--no-config", "fixtures/broken/valid.md"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let failing = docmatrix(&["validate", "--no-config", "fixtures/seed/guide.md"]);
    assert_eq!(failing.status.code(), Some(1));
    let usage = docmatrix(&["validate", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
    let bad_version = docmatrix(&["validate", "--no-config", "--python", "three"]);
    assert_eq!(bad_version.status.code(), Some(2));
    assert!(stderr(&bad_version).contains("`three` is not a Python version"));
    let missing = docmatrix(&["validate", "--no-config", "no/such/folder"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no/such/folder"),
        "{}",
        stderr(&missing)
    );
}

/// Runs `docmatrix` on a pseudo-terminal (util-linux `script`), as a writer would.
fn on_tty(args: &str, no_color: bool) -> String {
    let bin = env!("CARGO_BIN_EXE_docmatrix");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .current_dir(root())
        .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().expect("util-linux script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_bar_and_colour_on_a_terminal_only() {
    let tty = on_tty("validate --no-config fixtures/broken/valid.md", false);
    assert!(
        tty.contains("/4 jobs"),
        "a progress bar on a terminal: {tty:?}"
    );
    assert!(tty.contains("\x1b[32m"), "colour on a terminal");
    let no_color = on_tty("validate --no-config fixtures/broken/valid.md", true);
    assert!(!no_color.contains("\x1b[32m"), "NO_COLOR: {no_color:?}");
    let piped = docmatrix(&["validate", "--no-config", "fixtures/broken/valid.md"]);
    assert!(
        !stderr(&piped).contains("jobs"),
        "no bar when stderr is not a terminal"
    );
    assert!(!stdout(&piped).contains('\x1b'));
}

#[test]
fn sandbox_none_still_contains_the_run() {
    let (code, doc) = validate_json(&["--sandbox", "none", "fixtures/broken/valid.md"]);
    assert_eq!(code, 0);
    assert_eq!(doc["sandbox"], "none");
    let out = docmatrix(&[
        "validate",
        "--no-config",
        "--sandbox",
        "none",
        "fixtures/broken/valid.md",
    ]);
    assert!(stdout(&out).contains("not sandboxed"), "{}", stdout(&out));
}

#[test]
fn the_sandbox_blocks_writes_outside_and_the_network() {
    let (_, doc) = validate_json(&["--python", "3.12", "fixtures/broken/valid.md"]);
    if doc["sandbox"] != "bwrap" {
        skip_unless_ci("a working bubblewrap");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("escaped.txt");
    let md = format!(
        "```python raises=OSError\nopen({:?}, 'w')\n```\n\n```python raises=OSError\nimport socket\nsocket.create_connection(('127.0.0.1', 9), timeout=2)\n```\n",
        target.display().to_string()
    );
    std::fs::write(dir.path().join("guide.md"), md).unwrap();
    let out = docmatrix_in(
        dir.path(),
        &[
            "validate",
            "--no-config",
            "--python",
            "3.12",
            "--format",
            "json",
            "guide.md",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for e in doc["examples"].as_array().unwrap() {
        assert_eq!(e["results"]["3.12"]["status"], "pass", "{e}");
    }
    assert!(!target.exists());
}

/// A Python example that fails because the network is off is `blocked` ("needs the network"),
/// not failed, in a program and in a session, warm and fresh; a message that names a path in
/// the example's home names it `~/…`, the same on every run.
#[test]
fn python_examples_that_need_the_network_are_blocked_and_paths_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("guide.md");
    std::fs::write(
        &md,
        "# Fetching\n\n\
         ```python\nimport urllib.request\nurllib.request.urlopen('http://docmatrix-test.invalid/')\n```\n\n\
         ```pycon\n>>> import urllib.request\n>>> urllib.request.urlopen('http://docmatrix-test.invalid/').status\n200\n```\n\n\
         ```python\nimport os\nopen(os.path.expanduser('~/.netrc'))\n```\n",
    )
    .unwrap();
    for isolation in ["warm", "process"] {
        let (code, doc) = validate_json(&[
            md.to_str().unwrap(),
            "--python",
            "3.12",
            "--no-cache",
            "--isolation",
            isolation,
        ]);
        assert_eq!(code, 1, "{doc}");
        for line in [3, 8] {
            let r = &example(&doc, "guide.md", line)["results"]["3.12"];
            assert_eq!(r["status"], "blocked", "{isolation}: {r}");
            let reason = r["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("needs the network: URLError: <urlopen error [Errno -"),
                "{isolation}: {reason}"
            );
        }
        let r = &example(&doc, "guide.md", 14)["results"]["3.12"];
        assert_eq!(
            r["error"], "FileNotFoundError: [Errno 2] No such file or directory: '~/.netrc'",
            "{isolation}"
        );
    }
    // On a page, a block that uses what a blocked block defines is blocked too.
    let page = dir.path().join("page.md");
    std::fs::write(
        &page,
        "<!-- docmatrix-file: page -->\n# Page\n\n\
         ```python\nimport urllib.request\nbody = urllib.request.urlopen('http://docmatrix-test.invalid/').read()\n```\n\n\
         ```python\nprint(len(body))\n```\n",
    )
    .unwrap();
    let (code, doc) = validate_json(&[page.to_str().unwrap(), "--python", "3.12", "--no-cache"]);
    assert_eq!(code, 0, "{doc}");
    let r = &example(&doc, "page.md", 9)["results"]["3.12"];
    assert_eq!(r["status"], "blocked", "{r}");
    assert_eq!(
        r["reason"],
        format!(
            "needs the network: the block at {}:4, which defines a name it uses",
            page.display()
        )
    );
}
