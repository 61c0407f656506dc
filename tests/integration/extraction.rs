//! Extraction: one snapshot per fixture file of what `docmatrix extract` finds, with lines.

use crate::common::*;

#[test]
fn every_fixture_file() {
    insta::glob!("../../fixtures", "**/*.md", |path| {
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let out = docmatrix(&["extract", "--no-config", "--format", "json", &rel]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{rel}: not JSON ({e}): {}", stderr(&out)));
        stable().bind(|| insta::assert_json_snapshot!(doc));
    });
}

#[test]
fn code_lines_map_to_markdown_lines() {
    // Every code line's Markdown line holds that very code line (containers add a prefix).
    insta::glob!("../../fixtures", "**/*.md", |path| {
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if std::fs::read_to_string(path).is_err() {
            return;
        }
        let out = docmatrix(&["extract", "--no-config", "--format", "json", &rel]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for b in doc["blocks"].as_array().unwrap() {
            // A block of a Markdown file included by this one is at that file's lines.
            let text = std::fs::read_to_string(root().join(b["file"].as_str().unwrap())).unwrap();
            let md: Vec<&str> = text.lines().collect();
            let code = b["code"].as_str().unwrap();
            let lines = b["code_lines"].as_array().unwrap();
            assert_eq!(code.lines().count(), lines.len(), "{rel}:{}", b["line"]);
            // Included lines: each is its file's line, and maps to the include's line.
            let mut included = std::collections::BTreeSet::new();
            for inc in b["included"].as_array().unwrap() {
                let file =
                    std::fs::read_to_string(root().join(inc["path"].as_str().unwrap())).unwrap();
                let file: Vec<&str> = file.lines().collect();
                let first = inc["code_line"].as_u64().unwrap() as usize;
                for k in 0..inc["lines"].as_u64().unwrap() as usize {
                    let c = code.lines().nth(first - 1 + k).unwrap();
                    let want = file[inc["line"].as_u64().unwrap() as usize - 1 + k];
                    assert!(c.ends_with(want), "{rel}: {c:?} is not {want:?}");
                    assert_eq!(lines[first - 1 + k], inc["md_line"], "{rel}");
                    included.insert(first - 1 + k);
                }
            }
            for (i, (c, l)) in code.lines().zip(lines).enumerate() {
                if included.contains(&i) {
                    continue;
                }
                let l = l.as_u64().unwrap() as usize;
                let md_line = md[l - 1].trim_end_matches('\r');
                assert!(
                    md_line.ends_with(c),
                    "{rel}:{l}: {md_line:?} does not end with {c:?}"
                );
            }
            let opening = md[b["line"].as_u64().unwrap() as usize - 1];
            assert!(
                opening.contains("``")
                    || opening.contains("~~")
                    || opening.trim().starts_with("{*"),
                "{rel}:{}: {opening:?}",
                b["line"]
            );
        }
    });
}

#[test]
fn terminal_listing() {
    let mut listing = cmd(&["extract", "--no-config", "fixtures/annotations/skip.md"]);
    let mut settings = stable_cmd();
    settings.set_prepend_module_to_snapshot(true); // the snapshot's name, as before
    settings.bind(|| insta_cmd::assert_cmd_snapshot!(listing));
}
