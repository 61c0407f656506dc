//! What a build needs from a parsed Dockerfile: the official Python base images retargeted to
//! a version of the matrix ([`retarget`]), and the build context's files it copies
//! ([`copy_sources`]).
//!
//! No I/O, no printing, no panics.

use super::words::{words, words_esc};
use super::{exec_form, Dockerfile, Kind};

/// The official Python image names docmatrix retargets.
const PYTHON_IMAGES: &[&str] = &[
    "python",
    "library/python",
    "docker.io/python",
    "docker.io/library/python",
    "index.docker.io/library/python",
    "registry-1.docker.io/library/python",
];

/// An image reference split into (name, tag, digest).
pub fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    // A `:` after the last `/` is a tag (one before it is a registry port).
    let slash = rest.rfind('/').map_or(0, |p| p + 1);
    match rest[slash..].rfind(':') {
        Some(c) => (&rest[..slash + c], Some(&rest[slash + c + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// Whether an image name (without tag) is the official Python image.
pub fn is_python_image(name: &str) -> bool {
    PYTHON_IMAGES.contains(&name)
}

/// A Python tag split into (version, variant suffix with its leading `-`): `3.12-slim` →
/// (`3.12`, `-slim`); `slim` → (``, `-slim`); `latest` → (``, ``).
pub fn split_python_tag(tag: &str) -> (&str, String) {
    if tag.is_empty() || tag == "latest" {
        return ("", String::new());
    }
    if tag.starts_with(|c: char| c.is_ascii_digit()) {
        match tag.find('-') {
            Some(p) => (&tag[..p], tag[p..].to_string()),
            None => (tag, String::new()),
        }
    } else {
        ("", format!("-{tag}"))
    }
}

/// The variant of a Python image tag (`slim`, `alpine3.19`, `slim-bookworm`), `""` for the full
/// image.
pub fn python_variant(tag: Option<&str>) -> String {
    split_python_tag(tag.unwrap_or(""))
        .1
        .trim_start_matches('-')
        .to_string()
}

fn retag_python(image: &str, version: (u32, u32)) -> Option<String> {
    let (name, tag, _digest) = split_image(image);
    if !is_python_image(name) {
        return None;
    }
    let (_, suffix) = split_python_tag(tag.unwrap_or(""));
    // A digest pins the old image: it is dropped with the old tag.
    Some(format!("{name}:{}.{}{suffix}", version.0, version.1))
}

/// Rewrites a version-like value (`3.12`, `3.12-slim`, `3`) to `major.minor`, keeping any
/// suffix; `None` when it does not start with a version.
fn retag_version_value(value: &str, version: (u32, u32)) -> Option<String> {
    if !value.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (_, suffix) = split_python_tag(value);
    Some(format!("{}.{}{suffix}", version.0, version.1))
}

/// The code with every `FROM` of an official Python image rewritten to Python `major.minor`
/// (variant suffix kept, digest dropped), and the defaults of global `ARG`s that a Python
/// `FROM` takes its tag or image from. Every other byte is unchanged (same line count, same
/// line ends).
pub fn retarget(df: &Dockerfile, code: &str, version: (u32, u32)) -> String {
    // Edits: (line, column, old length, new text).
    let mut edits: Vec<(usize, usize, usize, String)> = Vec::new();
    let globals = global_arg_positions(df);
    for stage in &df.stages {
        if stage.image.contains('$') {
            // `FROM python:${PY}-slim` or `FROM ${BASE}`: rewrite the ARG default.
            let Some(resolved) = df.resolved_image(stage.index) else {
                continue;
            };
            if !is_python_image(split_image(&resolved).0) {
                continue;
            }
            for name in referenced_vars(&stage.image) {
                let Some((value, line, col)) = globals
                    .iter()
                    .rev()
                    .find(|g| g.0 == name)
                    .map(|g| (g.1.clone(), g.2, g.3))
                else {
                    continue;
                };
                let new = if value.contains(':') || value.contains('/') || value == "python" {
                    retag_python(&value, version)
                } else {
                    retag_version_value(&value, version)
                };
                if let Some(new) = new {
                    if new != value {
                        edits.push((line, col, value.len(), new));
                    }
                }
            }
        } else if let (Some(new), Some((line, col))) =
            (retag_python(&stage.image, version), stage.image_pos)
        {
            if new != stage.image {
                edits.push((line, col, stage.image.len(), new));
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    edits.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);

    let mut lines: Vec<String> = code.split('\n').map(str::to_string).collect();
    for (line, col, len, new) in edits {
        let Some(l) = line.checked_sub(1).and_then(|i| lines.get_mut(i)) else {
            continue;
        };
        // The BOM of the first line was not counted in the columns.
        let col = if line == 1 && l.starts_with('\u{feff}') {
            col + '\u{feff}'.len_utf8()
        } else {
            col
        };
        if col + len <= l.len() && l.is_char_boundary(col) && l.is_char_boundary(col + len) {
            l.replace_range(col..col + len, &new);
        }
    }
    lines.join("\n")
}

/// `$NAME` / `${NAME...}` variable names in a text.
fn referenced_vars(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find('$') {
        let after = &rest[p + 1..];
        let body = after.strip_prefix('{').unwrap_or(after);
        let n = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if n > 0 {
            out.push(body[..n].to_string());
        }
        rest = after;
    }
    out
}

/// Global ARGs with a default, and where the default's text is: (name, value, line, column).
/// Only unquoted or wholly quoted values on one line.
fn global_arg_positions(df: &Dockerfile) -> Vec<(String, String, usize, usize)> {
    let mut out = Vec::new();
    for ins in df.instructions.iter().take_while(|i| i.stage.is_none()) {
        if ins.kind != Kind::Arg {
            continue;
        }
        for w in words(&ins.args) {
            let raw = &ins.args[w.start..w.end];
            let Some((k, v)) = raw.split_once('=') else {
                continue;
            };
            let mut vstart = w.start + k.len() + 1;
            let mut value = v;
            if let Some(inner) = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            {
                value = inner;
                vstart += 1;
            }
            if value.contains(['"', '\'', '\\', '$']) || value.is_empty() {
                continue;
            }
            let (line, col) = ins.pos(ins.args_start + vstart);
            let (end_line, _) = ins.pos(ins.args_start + vstart + value.len());
            if line == end_line {
                out.push((k.to_string(), value.to_string(), line, col));
            }
        }
    }
    out
}

/// The local sources of every COPY/ADD without `--from` (URLs and heredocs excluded), with the
/// instruction's line. ONBUILD triggers are not included (they run in a later build).
pub fn copy_sources(df: &Dockerfile) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for ins in &df.instructions {
        if !matches!(ins.kind, Kind::Copy | Kind::Add) || ins.flag("from").is_some() {
            continue;
        }
        let items: Vec<String> = match exec_form(&ins.args) {
            Some(v) if ins.args.starts_with('[') => v,
            _ => words_esc(&ins.args, df.escape)
                .into_iter()
                .map(|w| w.text)
                .collect(),
        };
        let Some((_dest, sources)) = items.split_last() else {
            continue;
        };
        for s in sources {
            if is_remote(s) || is_heredoc_word(s) {
                continue;
            }
            out.push((ins.line, s.clone()));
        }
    }
    out
}

/// A URL or git remote (not a build-context path).
pub fn is_remote(source: &str) -> bool {
    let l = source.to_ascii_lowercase();
    l.starts_with("http://")
        || l.starts_with("https://")
        || l.starts_with("git@")
        || l.starts_with("git://")
        || l.starts_with("ssh://")
}

fn is_heredoc_word(word: &str) -> bool {
    let w = word.trim_start_matches(|c: char| c.is_ascii_digit());
    w.starts_with("<<") && !w.starts_with("<<<") && w.len() > 2
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    use crate::lang::dockerfile::testdata::{line_is, seed};

    #[test]
    fn copy_sources_lists_local_sources() {
        let df = parse(
            "FROM a AS b\nCOPY requirements.txt setup.py /app/\nADD https://x.org/f.tgz /f\nCOPY --from=b /x /y\nADD [\"src dir\", \"/dst\"]\nCOPY <<EOF /f\nx\nEOF\nADD git@github.com:a/b.git /c\n",
        );
        assert_eq!(
            copy_sources(&df),
            vec![
                (2, "requirements.txt".to_string()),
                (2, "setup.py".to_string()),
                (5, "src dir".to_string()),
            ]
        );
        assert_eq!(
            copy_sources(&parse(seed())),
            vec![
                (
                    line_is("COPY requirements.txt ."),
                    "requirements.txt".to_string()
                ),
                (line_is("COPY . ."), ".".to_string()),
            ]
        );
    }

    fn rt(code: &str, v: (u32, u32)) -> String {
        retarget(&parse(code), code, v)
    }

    #[test]
    fn retarget_tag_forms() {
        let cases = [
            ("FROM python:3.12-slim\n", "FROM python:3.9-slim\n"),
            (
                "FROM python:3.12.1-slim-bookworm\n",
                "FROM python:3.9-slim-bookworm\n",
            ),
            ("FROM python:3.11\n", "FROM python:3.9\n"),
            ("FROM python:3-alpine\n", "FROM python:3.9-alpine\n"),
            (
                "FROM python:3.12-alpine3.19\n",
                "FROM python:3.9-alpine3.19\n",
            ),
            ("FROM python:latest\n", "FROM python:3.9\n"),
            ("FROM python\n", "FROM python:3.9\n"),
            ("FROM python:slim\n", "FROM python:3.9-slim\n"),
            ("FROM python:3.13.0rc1-slim\n", "FROM python:3.9-slim\n"),
            (
                "FROM docker.io/library/python:3.12-slim AS b\n",
                "FROM docker.io/library/python:3.9-slim AS b\n",
            ),
            (
                "from library/python:3.10 as x\n",
                "from library/python:3.9 as x\n",
            ),
            (
                "FROM python:3.12-slim@sha256:abcd\n",
                "FROM python:3.9-slim\n",
            ),
            (
                "FROM --platform=linux/amd64   python:3.12  AS  b\n",
                "FROM --platform=linux/amd64   python:3.9  AS  b\n",
            ),
            ("FROM pythonista:3.12\n", "FROM pythonista:3.12\n"),
            ("FROM myrepo/python:3.12\n", "FROM myrepo/python:3.12\n"),
            ("FROM ubuntu:22.04\n", "FROM ubuntu:22.04\n"),
            ("  FROM python:3.12\r\n", "  FROM python:3.9\r\n"),
        ];
        for (code, want) in cases {
            assert_eq!(rt(code, (3, 9)), want, "{code:?}");
        }
    }

    #[test]
    fn retarget_seed_keeps_lines() {
        let out = rt(seed(), (3, 10));
        assert_eq!(out.lines().count(), seed().lines().count());
        assert!(out.contains("FROM python:3.10-slim as build\n"));
        assert!(out.contains("\nFROM python:3.10-slim\n"));
        assert!(!out.contains("3.12"));
        assert_eq!(out.replace("3.10", "3.12"), seed());
    }

    #[test]
    fn retarget_args() {
        assert_eq!(
            rt("ARG PY=3.12\nFROM python:${PY}-slim\n", (3, 11)),
            "ARG PY=3.11\nFROM python:${PY}-slim\n"
        );
        assert_eq!(
            rt("ARG PY=\"3.12\"\nFROM python:$PY\n", (3, 11)),
            "ARG PY=\"3.11\"\nFROM python:$PY\n"
        );
        assert_eq!(
            rt("ARG TAG=3.12-slim-bookworm\nFROM python:${TAG}\n", (3, 9)),
            "ARG TAG=3.9-slim-bookworm\nFROM python:${TAG}\n"
        );
        assert_eq!(
            rt("ARG BASE=python:3.12-slim\nFROM $BASE AS b\n", (3, 9)),
            "ARG BASE=python:3.9-slim\nFROM $BASE AS b\n"
        );
        // Not a python image: untouched.
        assert_eq!(
            rt("ARG V=22.04\nFROM ubuntu:$V\n", (3, 9)),
            "ARG V=22.04\nFROM ubuntu:$V\n"
        );
        // No default: untouched.
        assert_eq!(
            rt("ARG PY\nFROM python:$PY\n", (3, 9)),
            "ARG PY\nFROM python:$PY\n"
        );
        // ${PY:-3.12} without an ARG default: the default inside FROM is not rewritten.
        let code = "FROM python:${PY:-3.12}\n";
        assert_eq!(rt(code, (3, 9)), code);
    }

    #[test]
    fn split_image_forms() {
        assert_eq!(split_image("python"), ("python", None, None));
        assert_eq!(
            split_image("localhost:5000/python:3.12@sha256:x"),
            ("localhost:5000/python", Some("3.12"), Some("sha256:x"))
        );
        assert_eq!(split_image("a@sha256:x"), ("a", None, Some("sha256:x")));
        assert_eq!(python_variant(Some("3.12-slim-bookworm")), "slim-bookworm");
        assert_eq!(python_variant(Some("3.12")), "");
        assert_eq!(python_variant(None), "");
        assert_eq!(python_variant(Some("alpine")), "alpine");
    }
}
