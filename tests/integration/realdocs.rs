//! Real documentation forms: MkDocs Material tabs, admonitions, details and pymdownx.blocks,
//! MyST directives, included code, on the real interpreters.

use crate::common::*;

/// One line per example: location, tab, declared range, statuses on 3.9–3.12, and where a
/// failure is (Markdown line, and the included file's line).
fn table(doc: &serde_json::Value) -> String {
    let mut out = String::new();
    for e in doc["examples"].as_array().unwrap() {
        let mut row = format!(
            "{}:{} {}",
            e["file"].as_str().unwrap(),
            e["line"],
            e["language"].as_str().unwrap()
        );
        if let Some(t) = e["tab"].as_str() {
            row.push_str(&format!(" tab={t:?}"));
        }
        if let Some(r) = e["requires"].as_str() {
            row.push_str(&format!(" requires={r}"));
        }
        row.push_str(&format!(
            " | {} | {}",
            statuses(e),
            e["policy"].as_str().unwrap()
        ));
        let mut seen = Vec::new();
        for r in e["results"].as_object().unwrap().values() {
            if r["status"] == "fail" {
                let at = format!(
                    " | line {} {} {}",
                    r["md_line"],
                    r["source"].as_str().unwrap_or("-"),
                    r["error"].as_str().unwrap_or("")
                );
                if !seen.contains(&at) {
                    seen.push(at);
                }
            }
        }
        for s in seen {
            row.push_str(&s);
        }
        out.push_str(&row);
        out.push('\n');
    }
    out.push_str(&format!("not checked: {}\n", doc["not_checked"]));
    out
}

#[test]
fn verdicts_of_every_real_docs_form_on_four_versions() {
    let (code, doc) = validate_json(&["fixtures/realdocs"]);
    assert_eq!(code, 1, "the includes that cannot be read fail");
    stable().bind(|| insta::assert_snapshot!(table(&doc)));
}

#[test]
fn a_failure_in_included_code_names_the_file_line_and_the_include() {
    let (_, doc) = validate_json(&["fixtures/realdocs/includes/docs/includes.md"]);
    let md = fixture("realdocs/includes/docs/includes.md");
    let include = line_of(&md, "docs_src/labels/broken.py");
    let e = example(&doc, "includes.md", include - 1);
    let src = fixture("realdocs/includes/docs_src/labels/broken.py");
    let failing = line_of(&src, "return weights[kind]");
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let r = &e["results"][v];
        assert_eq!(r["status"], "fail", "{v}: {r}");
        assert_eq!(r["error_type"], "KeyError");
        assert_eq!(
            r["md_line"], include,
            "{v}: the Markdown line of the include"
        );
        assert_eq!(
            r["source"],
            format!("fixtures/realdocs/includes/docs_src/labels/broken.py:{failing}"),
            "{v}"
        );
    }
    // A second include of the same file shares the run, and reports at its own line.
    let again = line_of(&md, "{!../docs_src/labels/broken.py!}");
    let e = example(&doc, "includes.md", again - 1);
    for v in ["3.9", "3.12"] {
        let r = &e["results"][v];
        assert_eq!(r["error_type"], "KeyError", "{v}: {r}");
        assert_eq!(r["md_line"], again, "{v}");
        assert_eq!(
            r["source"],
            format!("fixtures/realdocs/includes/docs_src/labels/broken.py:{failing}")
        );
    }
    // The terminal names both places.
    let out = docmatrix(&[
        "validate",
        "--no-config",
        "fixtures/realdocs/includes/docs/includes.md",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "fixtures/realdocs/includes/docs_src/labels/broken.py:{failing} (included at fixtures/realdocs/includes/docs/includes.md:{include})"
        )),
        "{text}"
    );
    // Beside the failing line of the included file, its number in that file, not the
    // include's Markdown line; in the JUnit and GitHub reports too.
    assert!(
        text.contains(&format!("    {failing} | ")) && !text.contains(&format!("    {include} | ")),
        "{text}"
    );
    for format in ["junit", "github"] {
        let out = docmatrix(&[
            "validate",
            "--no-config",
            "--format",
            format,
            "fixtures/realdocs/includes/docs/includes.md",
        ]);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("{failing} | ")) && !text.contains(&format!("{include} | ")),
            "{format}: {text}"
        );
    }
}

#[test]
fn includes_never_read_outside_the_project_root() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("project/docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(dir.path().join("project/pyproject.toml"), "").unwrap();
    std::fs::write(dir.path().join("secret.py"), "print('outside')\n").unwrap();
    std::fs::write(dir.path().join("project/inside.py"), "print('inside')\n").unwrap();
    std::fs::create_dir(docs.join("sub")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.py"), docs.join("sub/link.py")).unwrap();
    std::fs::write(
        docs.join("guide.md"),
        "```python\n--8<-- \"../../secret.py\"\n```\n\n```python\n--8<-- \"sub/link.py\"\n```\n\n```python\n--8<-- \"inside.py\"\n```\n",
    )
    .unwrap();
    let out = docmatrix_in(
        &dir.path().join("project"),
        &["validate", "--no-config", "--format", "json", "docs"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["results"]["3.12"]["error"]
                .as_str()
                .unwrap_or("passed")
                .to_string()
        })
        .collect();
    assert!(
        errors[0].starts_with("refused to include `../../secret.py`"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("refused to include `sub/link.py`"),
        "{errors:?}"
    );
    assert_eq!(errors[2], "passed", "{errors:?}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_summary_counts_what_was_not_checked() {
    let out = docmatrix(&[
        "validate",
        "--no-config",
        "fixtures/realdocs/mkdocs-forms.md",
    ]);
    assert!(
        stdout(&out)
            .contains("not checked: indented code block 1, language json 1, language markdown 1"),
        "{}",
        stdout(&out)
    );
    let mut listing = cmd(&["extract", "--no-config", "fixtures/realdocs/myst.md"]);
    let mut settings = stable_cmd();
    settings.set_prepend_module_to_snapshot(true); // the snapshot's name, as before
    settings.bind(|| insta_cmd::assert_cmd_snapshot!(listing));
}

#[test]
fn every_report_shows_the_tab_label() {
    let file = "fixtures/realdocs/mkdocs-forms.md";
    let html = stdout(&docmatrix(&[
        "validate",
        "--no-config",
        "--format",
        "html",
        file,
    ]));
    assert!(
        html.contains("tab “Python 3.10+”"),
        "no tab label in the HTML"
    );
    assert!(
        html.contains("not checked: indented code block 1"),
        "no count in the HTML"
    );
    let text = stdout(&docmatrix(&["validate", "--no-config", file]));
    assert!(
        text.contains("fixtures/realdocs/mkdocs-forms.md:10 \"Python 3.10+\""),
        "{text}"
    );
    let (_, doc) = validate_json(&[file]);
    assert_eq!(example(&doc, "mkdocs-forms.md", 10)["tab"], "Python 3.10+");
    // Outside a tab there is no `tab` field.
    assert!(example(&doc, "mkdocs-forms.md", 53).get("tab").is_none());
}

#[test]
fn markdown_included_outside_a_fence_is_read_once_and_a_missing_one_is_an_error() {
    let (code, doc) = validate_json(&["fixtures/realdocs/includes/docs/annotated.md"]);
    assert_eq!(code, 1, "the missing include fails the run");
    let files: Vec<&str> = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "fixtures/realdocs/includes/docs/annotated.md",
            "fixtures/realdocs/includes/docs_src/labels/annotations.md"
        ]
    );
    let e = example(&doc, "annotations.md", 5);
    assert_eq!(statuses(e), "pass pass pass pass");
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let md = fixture("realdocs/includes/docs/annotated.md");
    assert_eq!(errors[0]["line"], line_of(&md, "missing-notes.md"));
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("included file not found: `../docs_src/labels/missing-notes.md`"));
}
