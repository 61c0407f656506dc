//! Python interactive sessions (`pycon`, `doctest`, `>>>` first) and top-level `await`, run on
//! every version with their output compared.

use crate::common::*;

const REPL: &str = "fixtures/sessions/repl.md";

#[test]
fn terminal_snapshot_of_sessions() {
    let mut run = cmd(&[
        "validate",
        "--no-config",
        "--no-progress",
        "--color",
        "never",
        REPL,
    ]);
    stable_cmd().bind(|| insta_cmd::assert_cmd_snapshot!("sessions_terminal", run));
}

#[test]
fn json_snapshot_of_sessions() {
    let (_, doc) = validate_json(&[REPL]);
    stable().bind(|| {
        insta::assert_json_snapshot!("sessions_json", doc, {
            ".**.duration_ms" => "[ms]",
            ".**.stderr" => "[stderr]",
            ".interpreters.*.path" => "[path]",
            ".interpreters.*.version" => "[version]",
            ".interpreters.*.source" => "[source]",
            ".sandbox" => "[sandbox]",
        });
    });
}

/// The same cells with every example in a fresh process: sessions and awaiting blocks run the
/// same way in a warm worker's child and in a new interpreter.
#[test]
fn sessions_give_the_same_cells_warm_and_fresh() {
    let (_, warm) = validate_json(&[REPL, "--no-cache", "--isolation", "warm"]);
    let (_, fresh) = validate_json(&[REPL, "--no-cache", "--isolation", "process"]);
    let shown = |doc: &serde_json::Value| -> Vec<String> {
        cells(doc)
            .into_iter()
            .map(|(line, v, o)| {
                format!(
                    "{line}:{v} {} {} {} {}",
                    o["status"], o["error"], o["md_line"], o["diff"]
                )
            })
            .collect()
    };
    assert_eq!(shown(&warm), shown(&fresh));
    // What the fixture is about: stale output and a changed repr fail at their statement.
    let all = shown(&warm).join("\n");
    assert!(
        all.contains(r#"39:3.12 "fail" "printed other output than the guide shows" 41 "-2\n+3""#),
        "{all}"
    );
    assert!(
        all.contains(
            r#"59:3.10 "fail" "printed other output than the guide shows" 64 "-'2'\n+'Level.HIGH'""#
        ),
        "{all}"
    );
    assert!(all.contains(r#"59:3.11 "pass""#), "{all}");
}

/// A session that is not well formed fails at its line with doctest's reason (a prompt without
/// its space) or the compiler's (a statement's continuation lines); a session in a group
/// shares the namespace of the blocks before it.
#[test]
fn malformed_sessions_and_sessions_in_groups() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("page.md");
    std::fs::write(
        &md,
        "# Page\n\n\
         <!-- docmatrix: group=shop -->\n\
         ```python\nprices = [2, 3]\n```\n\n\
         <!-- docmatrix: group=shop -->\n\
         ```pycon\n>>> sum(prices)\n5\n```\n\n\
         ```pycon\n>>> if True:\n...   x = 1\n...  y = 2\n```\n\n\
         ```pycon\n>>> x = 1\n>>>print(x)\n1\n```\n",
    )
    .unwrap();
    let (_, doc) = validate_json(&[md.to_str().unwrap(), "--python", "3.12"]);
    let shown: Vec<String> = cells(&doc)
        .into_iter()
        .map(|(line, _, o)| format!("{line} {} {} {}", o["status"], o["md_line"], o["error"]))
        .collect();
    assert_eq!(
        shown,
        [
            "4 \"pass\" null null",
            "9 \"pass\" null null",
            "14 \"fail\" 15 \"IndentationError: unindent does not match any outer indentation level (<doctest session[0]>, line 3)\"",
            "20 \"fail\" 22 \"ValueError: line 2 of the session lacks blank after >>>: '>>>print(x)'\"",
        ]
    );
}
