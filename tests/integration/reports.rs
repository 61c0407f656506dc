//! Every report format, snapshot-tested on one shared fixture run.

use crate::common::*;

const SHARED: &[&str] = &[
    "fixtures/seed",
    "fixtures/versions",
    "fixtures/annotations/skip.md",
];

fn run(format: &[&str]) -> (i32, String) {
    let mut args = vec!["validate", "--no-config", "--color", "never"];
    args.extend_from_slice(format);
    args.extend_from_slice(SHARED);
    let out = docmatrix(&args);
    (out.status.code().unwrap(), stdout(&out))
}

#[test]
fn terminal() {
    // No colour: the snapshot holds no escape code.
    let mut args = vec!["validate", "--no-config", "--color", "never"];
    args.extend_from_slice(SHARED);
    stable_cmd().bind(|| insta_cmd::assert_cmd_snapshot!(cmd(&args)));
}

#[test]
fn json() {
    let (code, text) = run(&["--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    stable().bind(|| {
        insta::assert_json_snapshot!(doc, {
            ".examples[].results.*.duration_ms" => "[ms]",
            ".examples[].results.*.stderr" => "[stderr]",
            ".interpreters.*.path" => "[path]",
            ".interpreters.*.version" => "[version]",
            ".interpreters.*.source" => "[source]",
            ".sandbox" => "[sandbox]",
        })
    });
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let args = [
        "validate",
        "--no-config",
        "--color",
        "always",
        "fixtures/broken/valid.md",
    ];
    let out = docmatrix(&args);
    assert!(stdout(&out).contains("\x1b[32m"), "{}", stdout(&out));
    let out = command()
        .args(["validate", "--no-config", "fixtures/broken/valid.md"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'));
}
