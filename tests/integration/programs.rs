//! Programs and the console sessions that run them (`$ python main.py Camila`), and `args=`.

use crate::common::*;

const CLI: &str = "fixtures/programs/cli.md";

/// Each example of a report as `LINE STATUSES` (`23 pass pass pass pass`), in order.
fn shown(doc: &serde_json::Value) -> Vec<String> {
    doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["line"], statuses(e)))
        .collect()
}

#[test]
fn terminal_snapshot_of_programs_and_their_sessions() {
    let mut run = cmd(&[
        "validate",
        "--no-config",
        "--no-progress",
        "--color",
        "never",
        CLI,
    ]);
    stable_cmd().bind(|| insta_cmd::assert_cmd_snapshot!("programs_terminal", run));
}

/// A session runs the page's program under the name it uses, with its arguments, on every
/// version (without `--run-shell`); the program is not run alone; `args=` gives a program its
/// command line.
#[test]
fn sessions_run_the_programs_of_their_page() {
    let (code, doc) = validate_json(&[CLI]);
    assert_eq!(code, 1);
    let shown = shown(&doc);
    assert_eq!(
        shown,
        [
            "5 skipped skipped skipped skipped",
            "23 pass pass pass pass",
            "32 fail fail fail fail",
            "40 skipped skipped skipped skipped",
            "50 pass pass pass pass",
            // argparse's "optional arguments:" became "options:" in 3.10.
            "57 fail pass pass pass",
            "73 pass pass pass pass",
            // `uv run --with rich python main.py …`
            "83 pass pass pass pass",
            // stdout before stderr, as on a terminal; `$?` is the program's status.
            "91 skipped skipped skipped skipped",
            "99 pass pass pass pass",
        ]
    );
    let program = &example(&doc, "cli.md", 5)["results"]["3.12"];
    assert_eq!(
        program["reason"],
        "run by the console session at fixtures/programs/cli.md:23"
    );
    let stale = &example(&doc, "cli.md", 32)["results"]["3.9"];
    assert_eq!(stale["diff"], "-Hello Rui!\n+Hello Rui");
}

/// A session that runs the page's program is cached; the program is part of its key: an edit
/// to it re-runs the session.
#[test]
fn editing_the_program_reruns_its_session() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("guide.md");
    let page = |greeting: &str| {
        format!(
            "# Guide\n\n```python title=\"hello.py\"\nimport sys\nprint(\"{greeting}\", sys.argv[1])\n```\n\n```console\n$ python hello.py Ana\nHello Ana\n```\n"
        )
    };
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let args = [md.to_str().unwrap(), "--python", "3.12", "--cache-dir", c];
    std::fs::write(&md, page("Hello")).unwrap();
    let (code, doc) = validate_json(&args);
    assert_eq!(code, 0, "{doc}");
    // Unchanged, the session's result comes from the cache.
    let (code, doc) = validate_json(&args);
    assert_eq!(code, 0, "{doc}");
    let r = &example(&doc, "guide.md", 8)["results"]["3.12"];
    assert_eq!(
        (&r["status"], &r["cached"]),
        (&"pass".into(), &true.into()),
        "{r}"
    );
    std::fs::write(&md, page("Hi")).unwrap();
    let (code, doc) = validate_json(&args);
    assert_eq!(code, 1, "{doc}");
    let r = &example(&doc, "guide.md", 8)["results"]["3.12"];
    assert_eq!(r["diff"], "-Hello Ana\n+Hi Ana");
    assert!(r.get("cached").is_none(), "{r}");
}

/// Without a title, a session runs the included program rather than a fragment shown after it.
#[test]
fn a_session_runs_the_included_program_not_a_fragment_after_it() {
    let (code, doc) = validate_json(&["fixtures/programs/included.md"]);
    let shown = shown(&doc);
    assert_eq!(
        shown,
        [
            "6 skipped skipped skipped skipped",
            "12 pass pass pass pass",
            "20 pass pass pass pass",
        ],
        "{doc:#}"
    );
    assert_eq!(code, 0);
    assert_eq!(
        example(&doc, "included.md", 6)["results"]["3.9"]["reason"],
        "run by the console session at fixtures/programs/included.md:20"
    );
}

/// A program split over files: the session runs the file included (or titled) under the name
/// it uses, with the page's modules that program imports beside it.
#[test]
fn a_session_runs_a_program_with_the_modules_it_imports() {
    let (code, doc) = validate_json(&["fixtures/programs/modules.md"]);
    let shown = shown(&doc);
    assert_eq!(
        shown,
        [
            "5 skipped skipped skipped skipped",
            "11 skipped skipped skipped skipped",
            "17 pass pass pass pass",
            "25 skipped skipped skipped skipped",
            "29 skipped skipped skipped skipped",
            "36 pass pass pass pass",
            "43 skipped skipped skipped skipped",
            "49 pass pass pass pass",
            // shown after the session that runs it
            "54 skipped skipped skipped skipped",
        ],
        "{doc:#}"
    );
    assert_eq!(code, 0);
    for (line, session) in [(5, 17), (11, 17), (25, 36), (29, 36), (43, 49), (54, 49)] {
        assert_eq!(
            example(&doc, "modules.md", line)["results"]["3.10"]["reason"],
            format!("run by the console session at fixtures/programs/modules.md:{session}")
        );
    }
}

/// A session that only says `$ python3 recipe.py` (no arguments, no input, no output shown)
/// adds nothing to the program run alone: the program block keeps its own verdict and the
/// session is checked statically, as any shell block.
#[test]
fn a_bare_run_of_the_program_leaves_the_program_its_own_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("guide.md");
    std::fs::write(
        &md,
        "# Guide\n\n```python\nassert sum([1, 2]) == 3\n```\n\nSave it as `recipe.py` and run it:\n\n```console\n$ python3 recipe.py\n```\n",
    )
    .unwrap();
    let (code, doc) = validate_json(&[md.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        statuses(example(&doc, "guide.md", 3)),
        "pass pass pass pass"
    );
    assert_eq!(
        example(&doc, "guide.md", 9)["results"]["3.12"]["reason"],
        "not run: static checks only (the `run` annotation runs it)"
    );
}

/// What a program declares about itself holds for the session that runs it: its version
/// (its file name, `requires`, its tab) leaves the session out where it rules the version
/// out, a `skip` skips the session, and a program that could not be included fails it with
/// that cause, naming the program, not with what its include line does as Python.
#[test]
fn a_session_takes_what_its_program_declares() {
    let (code, doc) = validate_json(&["fixtures/programs/gated.md"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(
        shown(&doc),
        [
            "8 not-applicable skipped skipped skipped",
            "18 not-applicable pass pass pass",
            "27 not-applicable skipped skipped skipped",
            "33 not-applicable pass pass pass",
            "40 skipped skipped skipped skipped",
            "44 skipped skipped skipped skipped",
            "51 not-applicable skipped skipped skipped",
            "55 not-applicable pass pass pass",
            "62 fail fail fail fail",
            "66 fail fail fail fail",
        ]
    );
    let cell = |line: u64, v: &str| example(&doc, "gated.md", line)["results"][v].clone();
    // Each session says which block it runs as which file.
    assert_eq!(
        example(&doc, "gated.md", 33)["programs"],
        serde_json::json!(["main.py = fixtures/programs/gated.md:27"])
    );
    assert!(example(&doc, "gated.md", 27).get("programs").is_none());
    for (line, v, reason) in [
        (8, "3.9", "requires >=3.10"),
        (8, "3.10", "run by the console session at fixtures/programs/gated.md:18"),
        (18, "3.9", "its program `main.py` (fixtures/programs/gated.md:8) requires >=3.10"),
        (33, "3.9", "its program `main.py` (fixtures/programs/gated.md:27) requires >=3.10"),
        (55, "3.9", "its program `main.py` (fixtures/programs/gated.md:51) requires >=3.10"),
        (
            44,
            "3.12",
            "its program `main.py` (fixtures/programs/gated.md:40) is skipped: posts to the team's chat server",
        ),
    ] {
        assert_eq!(cell(line, v)["reason"], reason, "{line} on {v}");
    }
    let missing = cell(66, "3.12");
    assert_eq!(missing["error_type"], "IncludeError");
    assert_eq!(missing["md_line"], 63);
    let error = missing["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "its program `main.py` (fixtures/programs/gated.md:62) could not be included: "
        ),
        "{error}"
    );
    assert!(error.contains("src/no_such_program.py"), "{error}");
}
