//! Pages (`page`, the config's `pages`): a file's Python examples run in order in one
//! namespace, each judged on its own; and the config's `setup` code run before the examples.

use crate::common::*;

const PAGE: &str = "fixtures/pages/page.md";
const SETUP: &str = "fixtures/pages/setup";

#[test]
fn terminal_snapshot_of_a_page() {
    let mut run = cmd(&[
        "validate",
        "--no-config",
        "--no-progress",
        "--color",
        "never",
        PAGE,
    ]);
    stable_cmd().bind(|| insta_cmd::assert_cmd_snapshot!("pages_terminal", run));
}

fn shown(doc: &serde_json::Value) -> Vec<String> {
    cells(doc)
        .into_iter()
        .map(|(line, v, o)| {
            format!(
                "{line}:{v} {} {} {}",
                o["status"].as_str().unwrap_or("?"),
                o["md_line"],
                o["error"]
            )
        })
        .collect()
}

/// Every block of a page runs whatever became of the ones before it; a NameError names the
/// failed block that would have bound the name; warm workers and fresh processes agree, and a
/// cached re-run gives the same cells.
#[test]
fn a_page_runs_every_block_and_names_the_failed_one_a_later_block_needs() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path().to_str().unwrap();
    let (code, warm) = validate_json(&[PAGE, "--cache-dir", c, "--isolation", "warm"]);
    assert_eq!(code, 1);
    let (_, fresh) = validate_json(&[PAGE, "--no-cache", "--isolation", "process"]);
    let (_, cached) = validate_json(&[PAGE, "--cache-dir", c]);
    assert_eq!(shown(&warm), shown(&fresh));
    assert_eq!(shown(&warm), shown(&cached));
    let all = shown(&warm).join("\n");
    // After the failed block at line 27, the block at 34 fails and points back at it; the block
    // at 40, which does not need it, passes.
    assert!(all.contains("27:3.12 fail 28 "), "{all}");
    assert!(
        all.contains(
            r#"34:3.12 fail 35 "NameError: name 'total' is not defined (the block at fixtures/pages/page.md:27, which failed, defines it)""#
        ),
        "{all}"
    );
    assert!(all.contains("40:3.9 pass"), "{all}");
    // `match` does not compile on 3.9: the session after it misses `kind` there only.
    assert!(all.contains("46:3.9 fail"), "{all}");
    assert!(all.contains("54:3.9 fail"), "{all}");
    assert!(all.contains("54:3.10 pass"), "{all}");
    // Out of the page: a block that says page=false, and a block on the versions it rules out.
    assert!(all.contains("61:3.9 pass"), "{all}");
    assert!(all.contains("67:3.10 not-applicable"), "{all}");
    assert!(all.contains("73:3.9 pass"), "{all}");
}

/// The config's `setup-file` runs before every Python example (not before a `setup=false`
/// one, which runs on its own); `pages` puts the files it matches in page mode.
#[test]
fn setup_code_runs_before_each_example_and_pages_come_from_the_config() {
    let config = format!("{SETUP}/docmatrix.toml");
    let out = docmatrix(&[
        "validate",
        "--format",
        "json",
        "--config",
        &config,
        "--no-cache",
        SETUP,
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all: Vec<String> = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let file = e["file"].as_str().unwrap();
            let file = &file[file.rfind('/').unwrap() + 1..];
            format!("{file}:{} {}", e["line"], statuses(e))
        })
        .collect();
    assert_eq!(
        all,
        [
            "guide.md:5 pass pass pass pass",
            "guide.md:10 pass pass pass pass",
            // Sees `third` from the block before it: guide.md is a page.
            "guide.md:17 pass pass pass pass",
            // setup=false: no `Fraction`.
            "guide.md:24 fail fail fail fail",
            "other.md:5 pass pass pass pass",
            // Not a page: `third` is not defined, as the session expects.
            "other.md:9 pass pass pass pass",
        ]
    );
    let e = example(&doc, "guide.md", 24);
    assert_eq!(
        e["results"]["3.12"]["error"],
        "NameError: name 'Fraction' is not defined"
    );
}

/// Setup code that fails fails every example it runs before, with its error; giving both
/// `setup` and `setup-file` is an error that names the config file.
#[test]
fn failing_setup_code_and_conflicting_setup_keys() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("guide.md");
    std::fs::write(
        &md,
        "# Guide\n\n```python\nprint(1)\n```\n\n```pycon\n>>> 1\n1\n```\n",
    )
    .unwrap();
    let config = dir.path().join("docmatrix.toml");
    std::fs::write(
        &config,
        "versions = [\"3.12\"]\nsetup = \"import no_such_module_xyz\"\n",
    )
    .unwrap();
    let out = docmatrix(&[
        "validate",
        "--format",
        "json",
        "--no-cache",
        "--config",
        config.to_str().unwrap(),
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for line in [3, 7] {
        let r = &example(&doc, "guide.md", line)["results"]["3.12"];
        assert_eq!(r["status"], "fail");
        assert_eq!(
            r["error"],
            "the setup code failed: ModuleNotFoundError: No module named 'no_such_module_xyz'"
        );
    }

    std::fs::write(
        &config,
        "setup = \"import os\"\nsetup-file = \"setup.py\"\n",
    )
    .unwrap();
    let out = docmatrix(&[
        "validate",
        "--config",
        config.to_str().unwrap(),
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("docmatrix.toml"), "{err}");
    assert!(err.contains("setup and setup-file"), "{err}");
}
