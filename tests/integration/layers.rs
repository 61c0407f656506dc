//! The module layers of docs/architecture.md: a top-level module of `src/` uses only modules of
//! lower layers, so there is no import cycle between them. A new module must be given a layer
//! here (and in the architecture page) before it can be used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top. `lib.rs`, `main.rs` and `cli` are above them all.
const LAYERS: &[&[&str]] = &[
    &["version", "sys", "error"],
    &["model"],
    &["interp", "cache"],
    &["env"],
    &["config"],
    &["include"],
    &["extract", "discover"],
    &["corpus"],
    &["run"],
    &["lang"],
    &["plan"],
    &["partition", "judge", "runner"],
    &["report"],
    &["assemble"],
];

const TOP: &[&str] = &["lib", "main", "cli"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules named by `crate::NAME` or `crate::{NAME, …}` in `text`, outside
/// comments and the trailing test module.
fn uses(text: &str) -> Vec<String> {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let group = if let Some(inner) = rest.strip_prefix('{') {
                inner.split('}').next().unwrap_or("")
            } else {
                rest
            };
            for name in group.split(',') {
                let name: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
                if !rest.starts_with('{') {
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn modules_use_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (*n, i)))
        .collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if TOP.contains(&module.as_str()) {
            continue;
        }
        let Some(&mine) = layer.get(module.as_str()) else {
            problems.push(format!(
                "src/{}: module `{module}` has no layer in tests/integration/layers.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for used in uses(&text) {
            if used == module {
                continue;
            }
            match layer.get(used.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(_) => problems.push(format!(
                    "src/{}: `{module}` uses `{used}`, which is not in a lower layer",
                    rel.display()
                )),
                None if TOP.contains(&used.as_str()) || used == "self" || used == "super" => {
                    problems.push(format!(
                        "src/{}: `{module}` uses the crate's top (`crate::{used}`)",
                        rel.display()
                    ))
                }
                // Items of lib.rs itself (`crate::Corpus`) are the top too.
                None => problems.push(format!(
                    "src/{}: `{module}` uses `crate::{used}`, an item of lib.rs (the top)",
                    rel.display()
                )),
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_sees_a_use_of_a_higher_layer() {
    assert_eq!(
        uses("use crate::report::Report;\n// crate::plan in a comment\n"),
        ["report"]
    );
    assert_eq!(
        uses("use crate::{model::Job, sys};\n#[cfg(test)]\nmod tests {\n use crate::cli;\n}"),
        ["model", "sys"]
    );
}
