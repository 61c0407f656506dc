//! Shell blocks: static checks at their Markdown lines, sessions compared with the guide's
//! output, runs per version with that version's interpreter on PATH, and the sandbox.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

fn has_zsh() -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("zsh").is_file())
}

#[test]
fn scripts_checked_and_run() {
    let f = fixture("shell/scripts.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    let file = "shell/scripts.md";

    let clean = example(&doc, file, 5);
    assert_eq!(clean["language"], "bash");
    assert_eq!(statuses(clean), "skipped skipped skipped skipped");
    assert!(clean["results"]["3.9"]["reason"]
        .as_str()
        .unwrap()
        .contains("static checks only"));
    assert!(findings_of(clean).is_empty());
    assert_eq!(clean["policy"], "ok");

    let syntax = example(&doc, file, 13);
    assert_eq!(
        findings_of(syntax),
        vec![(
            line_of(&f, "done done"),
            "error".into(),
            "bash -n".into(),
            "syntax".into()
        )]
    );
    assert_eq!(syntax["policy"], "fail");

    let sh = example(&doc, file, 21);
    assert_eq!(sh["language"], "sh");
    assert_eq!(
        findings_of(sh),
        vec![(
            line_of(&f, "versions=(3.9"),
            "error".into(),
            "sh -n".into(),
            "syntax".into()
        )]
    );

    let cd = example(&doc, file, 28);
    assert_eq!(
        findings_of(cd),
        vec![(
            line_of(&f, "cd build"),
            "warning".into(),
            "shellcheck".into(),
            "SC2164".into()
        )]
    );
    // shellcheck's columns, placed on the Markdown line: `cd build` is the whole line.
    let sc = &cd["findings"][0];
    assert_eq!(
        (&sc["column"], &sc["end_column"]),
        (&serde_json::json!(1), &serde_json::json!(9)),
        "{sc}"
    );
    assert!(sc.get("end_line").is_none(), "{sc}");
    // A warning is reported but does not fail the example (the default `fail-on` is error).
    assert_eq!(cd["policy"], "ok");
    assert!(
        findings_of(example(&doc, file, 35)).is_empty(),
        "ignore=SC2164"
    );

    let on_path = example(&doc, file, 42);
    assert_eq!(statuses(on_path), "pass pass pass pass", "{on_path:#}");

    let tomllib = example(&doc, file, 50);
    assert_eq!(statuses(tomllib), "fail fail pass pass");
    assert_eq!(tomllib["measured"], "3.11+");
    let r = &tomllib["results"]["3.10"];
    assert_eq!(r["md_line"], line_of(&f, "python -c 'import tomllib'"));
    assert!(r["error"]
        .as_str()
        .unwrap()
        .contains("No module named 'tomllib'"));

    let missing = example(&doc, file, 58);
    assert_eq!(statuses(missing), "fail fail fail fail");
    assert_eq!(missing["results"]["3.12"]["exit_code"], 127);
    assert_eq!(
        missing["results"]["3.12"]["md_line"],
        line_of(&f, "no-such-command")
    );

    let zsh = example(&doc, file, 66);
    if has_zsh() {
        assert!(findings_of(zsh).is_empty());
    } else {
        assert_eq!(findings_of(zsh)[0].1, "info");
        assert_eq!(zsh["policy"], "ok");
    }
}

#[test]
fn sessions_compare_output() {
    let f = fixture("shell/sessions.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1);
    let file = "shell/sessions.md";
    let e = |line| example(&doc, file, line);

    assert_eq!(statuses(e(5)), "pass pass pass pass", "{:#}", e(5));
    assert_eq!(statuses(e(18)), "pass pass pass pass", "venv: {:#}", e(18));

    let wrong = e(27);
    assert_eq!(statuses(wrong), "fail fail fail fail");
    let r = &wrong["results"]["3.11"];
    assert_eq!(r["error_type"], "output mismatch");
    assert_eq!(r["md_line"], line_of(&f, "print(6 * 7)"));
    assert_eq!(r["diff"], "-41\n+42");

    let cbrt = e(34);
    assert_eq!(statuses(cbrt), "fail fail pass pass");
    assert!(cbrt["results"]["3.10"]["diff"]
        .as_str()
        .unwrap()
        .contains("+AttributeError: module 'math' has no attribute 'cbrt'"));

    let exit4 = e(41);
    assert_eq!(statuses(exit4), "fail fail fail fail");
    let r = &exit4["results"]["3.9"];
    assert_eq!(r["exit_code"], 4);
    assert_eq!(r["md_line"], line_of(&f, "$ python -c \\"));
    assert_eq!(
        r["error"],
        "`python -c 'import sys; sys.exit(4)'` exited with 4"
    );

    assert_eq!(
        statuses(e(49)),
        "pass pass pass pass",
        "prompts: {:#}",
        e(49)
    );
    assert_eq!(
        statuses(e(58)),
        "pass pass pass pass",
        "no prompt: {:#}",
        e(58)
    );
    let not_run = e(64);
    assert_eq!(statuses(not_run), "skipped skipped skipped skipped");
    assert_eq!(not_run["policy"], "ok");
    assert_eq!(
        statuses(e(70)),
        "pass pass pass pass",
        "root prompt: {:#}",
        e(70)
    );
}

#[test]
fn html_decorated_sessions() {
    // Before: the tag in the command (`…</u>`) and `&amp;&amp;` were `bash -n` syntax errors,
    // and the HTML, the remark and the progress bar made the run's output differ.
    let f = fixture("shell/html-sessions.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    let file = "shell/html-sessions.md";
    let e = |line| example(&doc, file, line);

    for line in [9, 23] {
        assert!(findings_of(e(line)).is_empty(), "{:#}", e(line));
        assert_eq!(e(line)["policy"], "ok");
    }
    assert_eq!(statuses(e(38)), "pass pass pass pass", "{:#}", e(38));

    let wrong = e(58);
    assert_eq!(statuses(wrong), "fail fail fail fail");
    let r = &wrong["results"]["3.12"];
    assert_eq!(r["error_type"], "output mismatch");
    assert_eq!(r["md_line"], line_of(&f, "print('rye')"));
    // The guide's line is shown without its HTML.
    assert_eq!(r["diff"], "-spelt\n+rye");
}

#[test]
fn prompt_notations() {
    // Before: `# What's …:$ basil` was a root prompt with an open quote (a syntax error), as was
    // a `#` remark with an apostrophe; run, the programs read a closed stdin.
    let f = fixture("shell/prompt-notation.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}");
    let file = "shell/prompt-notation.md";
    let e = |line| example(&doc, file, line);
    for line in [6, 18, 54] {
        assert!(findings_of(e(line)).is_empty(), "{:#}", e(line));
        assert_eq!(e(line)["policy"], "ok");
    }
    for line in [29, 44, 61, 74] {
        assert_eq!(statuses(e(line)), "pass pass pass pass", "{:#}", e(line));
        assert!(findings_of(e(line)).is_empty(), "{:#}", e(line));
    }
}

#[test]
fn prompt_answers_are_checked() {
    // The answers reach the program, and what it prints after them is compared.
    let md = tempfile::tempdir().unwrap();
    let f = md.path().join("answers.md");
    std::fs::write(
        &f,
        "```console run\n$ python -c \"print('Sowing ' + input('Seed?: '))\"\n# Seed?:$ basil\nSowing mint\n```\n",
    )
    .unwrap();
    let (code, doc) = validate_json(&["--python", "3.12", f.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    let r = &doc["examples"][0]["results"]["3.12"];
    assert_eq!(r["error_type"], "output mismatch", "{doc:#}");
    assert_eq!(r["diff"], "-Seed?:...Sowing mint\n+Seed?: Sowing basil");
}

#[test]
fn powershell_recognised_not_checked() {
    // Before: `(.venv) PS C:\…>` was a bash syntax error, `$ $Env:X = "…"` a shellcheck error
    // (SC2283), and a `PS>` session, run, failed with `PS: command not found`.
    let f = fixture("shell/powershell.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}");
    let file = "shell/powershell.md";
    // `powershell`, `pwsh` and `ps1` fences: a language docmatrix knows and does not check.
    assert_eq!(doc["other_blocks"], serde_json::json!({"powershell": 3}));
    for (line, first) in [
        (17, "PS C:\\bakery> python -m venv"),
        (27, "$ $Env:BAKER_NAME"),
        (41, "$ Get-ChildItem"),
        (47, "PS> Write-Output"),
    ] {
        let e = example(&doc, file, line);
        assert_eq!(e["language"], "console");
        assert_eq!(
            findings_of(e),
            vec![(
                line_of(&f, first),
                "info".into(),
                "docmatrix".into(),
                "powershell".into()
            )],
            "{e:#}"
        );
        assert_eq!(e["policy"], "ok");
    }
    // Not run, whether asked (47) or not (17).
    for line in [17, 47] {
        let e = example(&doc, file, line);
        assert_eq!(statuses(e), "skipped skipped skipped skipped");
        assert_eq!(
            e["results"]["3.9"]["reason"],
            "not run: a PowerShell session (docmatrix runs POSIX shell)"
        );
    }
}

#[test]
fn ignore_syntax() {
    let f = fixture("shell/ignore-syntax.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    let file = "shell/ignore-syntax.md";
    // In the info string and in a comment: no finding, the block is ok.
    for line in [8, 15] {
        let e = example(&doc, file, line);
        assert!(findings_of(e).is_empty(), "{e:#}");
        assert_eq!(e["policy"], "ok");
    }
    // The same block without it is a syntax error.
    let plain = example(&doc, file, 22);
    assert_eq!(
        findings_of(plain),
        vec![(23, "error".into(), "bash -n".into(), "syntax".into())]
    );
    assert_eq!(plain["policy"], "fail");
    assert!(doc["warnings"].as_array().unwrap().is_empty(), "{doc:#}");
}

#[test]
fn terminal_snapshot_of_sessions_as_docs_write_them() {
    let mut run = cmd(&[
        "validate",
        "--no-config",
        "--no-progress",
        "--color",
        "never",
        "--python",
        "3.12",
        "fixtures/shell/html-sessions.md",
        "fixtures/shell/prompt-notation.md",
        "fixtures/shell/powershell.md",
        "fixtures/shell/ignore-syntax.md",
    ]);
    stable_cmd().bind(|| insta_cmd::assert_cmd_snapshot!("shell_docs_forms_terminal", run));
}

#[test]
fn json_snapshot_of_powershell() {
    let (_, doc) = validate_json(&["fixtures/shell/powershell.md", "--python", "3.12"]);
    stable().bind(|| insta::assert_json_snapshot!("shell_powershell_json", doc));
}

#[test]
fn json_snapshot_of_sessions() {
    let (_, doc) = validate_json(&["fixtures/shell/sessions.md", "--python", "3.10,3.12"]);
    stable().bind(|| {
        insta::assert_json_snapshot!("shell_sessions_json", doc, {
            ".**.duration_ms" => "[ms]",
            ".**.stderr" => "[stderr]",
        });
    });
}

#[test]
fn terminal_snapshot_of_scripts() {
    let mut run = cmd(&[
        "validate",
        "--no-config",
        "--no-progress",
        "--color",
        "never",
        "--python",
        "3.10,3.11",
        "fixtures/shell/scripts.md",
    ]);
    // zsh may or may not be installed here: its lines are the ones that may differ.
    let mut settings = stable_cmd();
    settings.add_filter(r"(?m)^.*(?:zsh|scripts\.md:66).*\n", "");
    settings.bind(|| insta_cmd::assert_cmd_snapshot!("shell_scripts_terminal", run));
}

#[test]
fn sandbox_contains_misbehaving_blocks() {
    let work = tempfile::tempdir().unwrap();
    // Sleepers of their own (20000-39999, disjoint from the misbehave test's), so that the
    // check below cannot see those of other tests that run the same fixture at the same time.
    let (forever, sleeper) = (
        20000 + std::process::id() % 10000,
        30000 + std::process::id() % 10000,
    );
    let text = std::fs::read_to_string(fixture("shell/sandbox.md")).unwrap();
    assert!(text.contains("sleep 373") && text.contains("sleep 371 &"));
    let text = text
        .replace("sleep 373", &format!("sleep {forever}"))
        .replace("sleep 371 &", &format!("sleep {sleeper} &"));
    std::fs::write(work.path().join("sandbox.md"), text).unwrap();
    let start = Instant::now();
    let out = command()
        .args([
            "validate",
            "--no-config",
            "--format",
            "json",
            "--sandbox",
            "bwrap",
            "sandbox.md",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = work.path().join("sandbox.md");
    let e = |needle: &str| {
        let at = line_of(&f, needle);
        doc["examples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["line"].as_u64().unwrap() < at && x["end_line"].as_u64().unwrap() > at)
            .unwrap()
            .clone()
    };
    let escape = e("docmatrix-was-here");
    assert_eq!(statuses(&escape), "fail fail fail fail");
    assert!(escape["results"]["3.9"]["error"]
        .as_str()
        .unwrap()
        .contains("Read-only file system"));
    assert!(!PathBuf::from("/root/docmatrix-was-here").exists());
    assert_eq!(statuses(&e("result.txt")), "pass pass pass pass");

    let net = e("urlopen");
    assert_eq!(statuses(&net), "blocked blocked blocked blocked", "{net:#}");
    let reason = net["results"]["3.12"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("needs the network"), "{reason}");
    assert_eq!(
        net["policy"], "blocked",
        "blocked is neither a pass nor a failure"
    );

    let never_ends = e(&format!("sleep {forever}"));
    assert_eq!(statuses(&never_ends), "timeout timeout timeout timeout");
    assert_eq!(statuses(&e("started a sleeper")), "pass pass pass pass");
    assert_eq!(statuses(&e("docmatrix flood")), "pass pass pass pass");
    assert_eq!(statuses(&e("read -r answer")), "fail fail fail fail");
    assert_eq!(statuses(&e("still here")), "pass pass pass pass");

    // Four 2-second timeouts over two cores, not 300-second sleeps.
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    assert_no_process(&format!("^sleep ({forever}|{sleeper})$"));
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("sandbox.md")]);
}

#[test]
fn no_sandbox_needs_to_be_asked_for() {
    // A machine without bwrap: only the commands a shell block needs.
    let bin = bin_with_only(&["bash", "sh", "env", "cat", "mktemp"]);
    let md = tempfile::tempdir().unwrap();
    let f = md.path().join("run.md");
    std::fs::write(
        &f,
        "```console run\n$ python -c 'print(42)'\n42\n```\n\n```bash\necho checked\n```\n",
    )
    .unwrap();
    let run = |extra: &[&str]| -> Value {
        let mut args = vec![
            "validate",
            "--no-config",
            "--format",
            "json",
            "--python",
            "3.12",
        ];
        args.extend_from_slice(extra);
        args.push(f.to_str().unwrap());
        // Outside CI: on CI, `auto` finding no sandbox stops the run (inputs.rs tests that).
        let out = command()
            .args(&args)
            .env("PATH", bin.path())
            .env_remove("CI")
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let doc = run(&[]);
    assert_eq!(doc["sandbox"], "none");
    let cell = &doc["examples"][0]["results"]["3.12"];
    assert_eq!(cell["status"], "blocked");
    assert!(cell["reason"].as_str().unwrap().contains("--no-sandbox"));

    let doc = run(&["--no-sandbox"]);
    assert_eq!(doc["sandbox"], "none");
    assert_eq!(doc["examples"][0]["results"]["3.12"]["status"], "pass");
}
