//! Code included from files: the example a reader sees is the file, not the Markdown.
//!
//! Three syntaxes, read in the code of every block (and, for the FastAPI family's form, on
//! its own line outside any fence, where [`crate::extract`] makes a block of it):
//! - pymdownx.snippets: `--8<-- "path"`, the block form (a `--8<--` line, paths, `--8<--`),
//!   line ranges `path:3:10` / `path:3` / `path:1:3,5:6`, named sections `path:name`
//!   (`--8<-- [start:name]` … `--8<-- [end:name]` in the file), `;--8<--` for a literal line;
//!   nested includes in included files are followed;
//! - mdx_include: `{!path!}`, `{!> path!}`, with `[ln:1-26]` ranges;
//! - `{* path ln[1:10] hl[3] *}`: the whole file (`ln`/`hl` only narrow what is shown).
//!
//! Paths resolve as MkDocs resolves them: from the Markdown file's folder, from the
//! `base_path` of pymdownx.snippets in the nearest `mkdocs.yml` (or that file's folder), from
//! the configured bases, and from the project root; never outside the project root. Every
//! included line keeps the Markdown line of its include, and [`Source`] maps it to its file's
//! line. A problem (missing file, range past the end, cycle, path outside the root) is an
//! [`IncludeError`] at the include's Markdown line: that one example fails with it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::model::{Snippet, Source};

/// Include nesting deeper than this is taken for a cycle it could not see.
const MAX_DEPTH: usize = 16;

/// Resolves and reads included files for one run.
#[derive(Debug)]
pub(crate) struct Includes {
    /// Canonical; nothing outside it is read.
    root: PathBuf,
    /// Extra folders paths resolve from (config `[includes] base-paths`), absolute.
    bases: Vec<PathBuf>,
    mkdocs: Mutex<HashMap<PathBuf, Vec<PathBuf>>>,
    /// A Markdown file's folder (as walked) → the folders its paths resolve from.
    dirs: Mutex<HashMap<PathBuf, Arc<Vec<PathBuf>>>>,
    /// A candidate path (normalised) → its real path.
    real: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
    files: Mutex<HashMap<PathBuf, Result<Arc<str>, String>>>,
}

/// Why an example's includes could not be read: (Markdown line, message).
pub(crate) type IncludeError = (usize, String);

impl Includes {
    /// `root` is the project root; `bases` resolve relative to it.
    pub fn new(root: &Path, bases: &[PathBuf]) -> Self {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Includes {
            bases: bases.iter().map(|b| root.join(b)).collect(),
            root,
            mkdocs: Mutex::default(),
            dirs: Mutex::default(),
            real: Mutex::default(),
            files: Mutex::default(),
        }
    }

    /// The folders a path written in `md` resolves from, in order (canonical).
    fn search_dirs(&self, md: &Path) -> Arc<Vec<PathBuf>> {
        let walked = md.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        if let Some(d) = self.dirs.lock().ok().and_then(|m| m.get(&walked).cloned()) {
            return d;
        }
        let md_dir = std::fs::canonicalize(&walked).unwrap_or_else(|_| walked.clone());
        let mut dirs = vec![md_dir.clone()];
        dirs.extend(self.mkdocs_bases(&md_dir));
        dirs.extend(self.bases.iter().cloned());
        dirs.push(self.root.clone());
        dirs.dedup();
        let dirs = Arc::new(dirs);
        if let Ok(mut m) = self.dirs.lock() {
            m.insert(walked, dirs.clone());
        }
        dirs
    }

    /// The real path of `p` when it is a file (symbolic links followed), cached.
    fn real_file(&self, p: PathBuf) -> Option<PathBuf> {
        if let Some(r) = self.real.lock().ok().and_then(|m| m.get(&p).cloned()) {
            return r;
        }
        // One stat rules most candidates out; only a file found is resolved link by link.
        let r = p
            .is_file()
            .then(|| std::fs::canonicalize(&p).ok())
            .flatten();
        if let Ok(mut m) = self.real.lock() {
            m.insert(p, r.clone());
        }
        r
    }

    /// The snippets `base_path` folders of the nearest `mkdocs.yml` above `dir` (within the
    /// root), or that file's folder when it names none.
    fn mkdocs_bases(&self, dir: &Path) -> Vec<PathBuf> {
        if let Some(found) = self.mkdocs.lock().ok().and_then(|m| m.get(dir).cloned()) {
            return found;
        }
        let mut out = Vec::new();
        for d in dir.ancestors() {
            let yml = ["mkdocs.yml", "mkdocs.yaml"]
                .iter()
                .map(|n| d.join(n))
                .find(|p| p.is_file());
            if let Some(yml) = yml {
                let text = std::fs::read_to_string(&yml).unwrap_or_default();
                let bases = snippets_base_paths(&text);
                if bases.is_empty() {
                    out.push(d.to_path_buf());
                } else {
                    out.extend(bases.iter().map(|b| d.join(b)));
                }
                break;
            }
            if d == self.root || !d.starts_with(&self.root) {
                break;
            }
        }
        if let Ok(mut m) = self.mkdocs.lock() {
            m.insert(dir.to_path_buf(), out.clone());
        }
        out
    }

    /// Finds `written` for the Markdown file `md`: its real path, inside the root.
    pub fn resolve(&self, md: &Path, written: &str) -> Result<PathBuf, String> {
        self.find(md, written)
    }

    /// Finds `written` for the Markdown file `md`: its real path, inside the root.
    fn find(&self, md: &Path, written: &str) -> Result<PathBuf, String> {
        let rel = Path::new(written);
        let dirs = self.search_dirs(md);
        for dir in dirs.iter() {
            if let Some(real) = self.real_file(normalize(&dir.join(rel))) {
                if !real.starts_with(&self.root) {
                    return Err(format!(
                        "refused to include `{written}`: {} is outside the project root (`[includes] root` in the config widens it)",
                        real.display(),
                    ));
                }
                return Ok(real);
            }
        }
        // Each folder once: the Markdown file's folder is often the root itself.
        let mut looked: Vec<String> = Vec::new();
        for d in dirs.iter() {
            let shown = self.shown(d);
            if !looked.contains(&shown) {
                looked.push(shown);
            }
        }
        Err(format!(
            "included file not found: `{written}` (looked in {})",
            looked.join(", ")
        ))
    }

    fn read(&self, real: &Path) -> Result<Arc<str>, String> {
        if let Some(r) = self.files.lock().ok().and_then(|m| m.get(real).cloned()) {
            return r;
        }
        let r = std::fs::read(real)
            .map_err(|e| format!("cannot read {}: {e}", self.shown(real)))
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| format!("{} is not UTF-8", self.shown(real)))
            })
            .map(|t| Arc::from(t.replace("\r\n", "\n")));
        if let Ok(mut m) = self.files.lock() {
            m.insert(real.to_path_buf(), r.clone());
        }
        r
    }

    /// A path as reports show it: relative to the root when inside it.
    fn shown(&self, p: &Path) -> String {
        let rel = p.strip_prefix(&self.root).unwrap_or(p);
        if rel.as_os_str().is_empty() {
            ".".into()
        } else {
            rel.display().to_string()
        }
    }

    /// Replaces the include lines of `s`'s code by what they include. A snippet without
    /// includes is left as it is.
    pub fn expand(&self, s: &mut Snippet) -> Result<(), IncludeError> {
        if !has_directive(&s.code) {
            return Ok(());
        }
        let mut code = String::with_capacity(s.code.len());
        let mut lines = Vec::with_capacity(s.code_lines.len());
        let mut sources = Vec::new();
        let src: Vec<&str> = s.code.split_inclusive('\n').collect();
        let mut i = 0;
        while i < src.len() {
            let line = src[i];
            let md_line = s.code_lines.get(i).copied().unwrap_or(s.line);
            let (directive, used) = parse_directive(&src[i..]);
            match directive {
                None => {
                    let literal = unescape(line);
                    code.push_str(&literal);
                    if !literal.ends_with('\n') {
                        code.push('\n');
                    }
                    lines.push(md_line);
                }
                Some(d) => {
                    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
                    for spec in &d.specs {
                        let mut stack = Vec::new();
                        self.include(
                            &s.file,
                            spec,
                            &d.syntax,
                            &indent,
                            md_line,
                            &mut stack,
                            &mut code,
                            &mut lines,
                            &mut sources,
                        )
                        .map_err(|e| (md_line, e))?;
                    }
                }
            }
            i += used;
        }
        // A file named for a version (`tutorial001_py310.py`) declares it.
        if s.annotations.requires.is_none() {
            s.annotations.requires = sources.iter().find_map(|src: &Source| {
                version_suffix(&src.path).and_then(|v| format!(">={v}").parse().ok())
            });
        }
        s.code = code.into();
        s.code_lines = lines;
        // The block's lines are no longer the Markdown's: its findings get no column.
        s.code_cols = Vec::new();
        s.sources = sources;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn include(
        &self,
        md: &Path,
        spec: &Spec,
        syntax: &Syntax,
        indent: &str,
        md_line: usize,
        stack: &mut Vec<PathBuf>,
        code: &mut String,
        lines: &mut Vec<usize>,
        sources: &mut Vec<Source>,
    ) -> Result<(), String> {
        if spec.path.contains("://") {
            return Err(format!(
                "`{}` is a URL: docmatrix does not fetch remote snippets",
                spec.path
            ));
        }
        let real = self.find(md, &spec.path)?;
        if stack.contains(&real) || stack.len() >= MAX_DEPTH {
            let mut chain: Vec<String> = stack.iter().map(|p| self.shown(p)).collect();
            chain.push(self.shown(&real));
            return Err(format!("include cycle: {}", chain.join(" → ")));
        }
        let text = self.read(&real)?;
        let all: Vec<&str> = text.split_inclusive('\n').collect();
        let picked = select(&all, &spec.select, &spec.path)?;
        let shown = PathBuf::from(self.shown(&real));
        stack.push(real);
        let mut run: Option<Source> = None;
        let flush = |run: &mut Option<Source>, sources: &mut Vec<Source>| {
            if let Some(r) = run.take() {
                sources.push(r);
            }
        };
        for n in picked {
            let line = all[n - 1];
            // Section markers are never part of what is included.
            if *syntax == Syntax::Snippets && is_section_marker(line) {
                continue;
            }
            if *syntax == Syntax::Snippets {
                let rest = &all[n - 1..];
                if let (Some(d), _) = parse_directive(rest) {
                    if d.syntax == Syntax::Snippets {
                        flush(&mut run, sources);
                        let inner_indent: String = line.chars().take_while(|c| *c == ' ').collect();
                        for inner in &d.specs {
                            self.include(
                                md,
                                inner,
                                syntax,
                                &format!("{indent}{inner_indent}"),
                                md_line,
                                stack,
                                code,
                                lines,
                                sources,
                            )?;
                        }
                        continue;
                    }
                }
            }
            let code_line = lines.len();
            match &mut run {
                Some(r) if r.code_start + r.len == code_line && r.file_line + r.len == n => {
                    r.len += 1;
                }
                _ => {
                    flush(&mut run, sources);
                    run = Some(Source {
                        path: shown.clone(),
                        md_line,
                        code_start: code_line,
                        file_line: n,
                        len: 1,
                    });
                }
            }
            if !line.trim().is_empty() {
                code.push_str(indent);
            }
            code.push_str(line);
            if !line.ends_with('\n') {
                code.push('\n');
            }
            lines.push(md_line);
        }
        flush(&mut run, sources);
        stack.pop();
        Ok(())
    }
}

/// `a/b/../c` → `a/c`, without looking at the file system (`dir` is canonical, so a `..` of
/// the written path is lexical; links are resolved afterwards by `canonicalize`).
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The include syntax a line is written in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Syntax {
    Snippets,
    MdxInclude,
    Braces,
}

/// Which lines of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Select {
    All,
    /// 1-based inclusive ranges; `None` for an open end.
    Lines(Vec<(Option<usize>, Option<usize>)>),
    Section(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    path: String,
    select: Select,
}

#[derive(Debug)]
struct Directive {
    syntax: Syntax,
    specs: Vec<Spec>,
}

/// Whether `code` may hold an include line (a quick test before the line-by-line read).
pub(crate) fn has_directive(code: &str) -> bool {
    let b = code.as_bytes();
    memchr::memmem::find(b, b"--8<--").is_some()
        || memchr::memmem::find(b, b"{!").is_some()
        || memchr::memmem::find(b, b"{*").is_some()
}

/// The Markdown file a line outside any fence includes whole (`{!notes.md!}`,
/// `--8<-- "notes.md"`): its blocks are shown on the page.
pub(crate) fn markdown_include(line: &str) -> Option<String> {
    let (d, _) = parse_directive(&[line]);
    let d = d?;
    let [spec] = d.specs.as_slice() else {
        return None;
    };
    let markdown = [".md", ".markdown"].iter().any(|e| spec.path.ends_with(e));
    (d.syntax != Syntax::Braces && markdown && spec.select == Select::All)
        .then(|| spec.path.clone())
}

/// Whether a block's whole code is one include line docmatrix does not read: Jinja or
/// mkdocs-macros (`{% include "x" %}`, `{% include-markdown %}`, `{{ include(...) }}`), or a
/// `--8<--` / `{!…!}` line it cannot parse. The reader sees the included text; docmatrix
/// counts the block as not checked (`unknown include syntax`) rather than run the line.
pub(crate) fn unknown_syntax(code: &str) -> bool {
    let mut lines = code.lines().filter(|l| !l.trim().is_empty());
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return false;
    };
    let t = line.trim();
    let jinja = (t.starts_with("{%")
        && t.ends_with("%}")
        && t[2..].trim_start().starts_with("include"))
        || (t.starts_with("{{") && t.ends_with("}}") && t[2..].trim_start().starts_with("include"));
    let unparsed =
        (t.starts_with("--8<--") || t.starts_with("{!")) && parse_directive(&[t]).0.is_none();
    jinja || unparsed
}

/// A whole line of the `{* path ln[..] hl[..] *}` form.
pub(crate) fn is_braces_line(line: &str) -> bool {
    let t = line.trim();
    t.len() > 4 && t.starts_with("{*") && t.ends_with("*}")
}

/// The directive starting at `lines[0]`, and how many lines it takes (1 when none).
fn parse_directive(lines: &[&str]) -> (Option<Directive>, usize) {
    let t = lines[0].trim();
    if let Some(rest) = t.strip_prefix("--8<--") {
        let rest = rest.trim();
        if rest.is_empty() {
            // The block form: paths, one a line, up to the next `--8<--`.
            let Some(end) = lines[1..].iter().position(|l| l.trim() == "--8<--") else {
                return (None, 1);
            };
            let specs = lines[1..=end]
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty() && !l.starts_with(';'))
                .map(snippet_spec)
                .collect();
            return (
                Some(Directive {
                    syntax: Syntax::Snippets,
                    specs,
                }),
                end + 2,
            );
        }
        if let Some(path) = unquote(rest) {
            return (
                Some(Directive {
                    syntax: Syntax::Snippets,
                    specs: vec![snippet_spec(path)],
                }),
                1,
            );
        }
        return (None, 1);
    }
    if let Some(inner) = t.strip_prefix("{!").and_then(|r| r.strip_suffix("!}")) {
        let inner = inner.trim().trim_start_matches('>').trim();
        let (path, select) = match inner.rfind("[ln:") {
            Some(at) if inner.ends_with(']') => {
                let ranges = &inner[at + 4..inner.len() - 1];
                (inner[..at].trim(), parse_ranges(ranges, '-'))
            }
            _ => (inner, Some(Select::All)),
        };
        let Some(select) = select else {
            return (None, 1);
        };
        if path.is_empty() {
            return (None, 1);
        }
        return (
            Some(Directive {
                syntax: Syntax::MdxInclude,
                specs: vec![Spec {
                    path: path.to_string(),
                    select,
                }],
            }),
            1,
        );
    }
    if is_braces_line(t) {
        let inner = t[2..t.len() - 2].trim();
        let path = inner.split_whitespace().next().unwrap_or("");
        if !path.is_empty() {
            return (
                Some(Directive {
                    syntax: Syntax::Braces,
                    specs: vec![Spec {
                        path: path.to_string(),
                        select: Select::All,
                    }],
                }),
                1,
            );
        }
    }
    (None, 1)
}

/// `"path"` or `'path'`.
fn unquote(s: &str) -> Option<&str> {
    let q = s.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    s[1..].strip_suffix(q).filter(|p| !p.is_empty())
}

/// `path`, `path:3:10`, `path:3`, `path:1:3,5:6`, `path:name`.
fn snippet_spec(s: &str) -> Spec {
    let s = s.trim();
    if !s.contains("://") {
        if let Some((path, sel)) = s.split_once(':') {
            let numeric = sel
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':' || c == ',');
            if numeric {
                if let Some(select) = parse_ranges(sel, ':') {
                    return Spec {
                        path: path.into(),
                        select,
                    };
                }
            } else if !sel.is_empty() {
                return Spec {
                    path: path.into(),
                    select: Select::Section(sel.into()),
                };
            }
        }
    }
    Spec {
        path: s.into(),
        select: Select::All,
    }
}

/// `3:10,12` (snippets, `sep` ':') or `1-26,30-` (mdx_include, `sep` '-').
fn parse_ranges(s: &str, sep: char) -> Option<Select> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once(sep) {
            Some((a, b)) => (a, Some(b)),
            None => (part, None),
        };
        let num = |x: &str| -> Option<Option<usize>> {
            if x.is_empty() {
                Some(None)
            } else {
                x.parse::<usize>().ok().map(Some)
            }
        };
        let a = num(a)?;
        let b = match b {
            Some(b) => num(b)?,
            // `path:3` is the lines from 3 on for snippets.
            None if sep == ':' => None,
            None => a,
        };
        out.push((a, b));
    }
    Some(Select::Lines(out))
}

/// The 1-based line numbers `select` picks from a file of `all` lines.
fn select(all: &[&str], select: &Select, path: &str) -> Result<Vec<usize>, String> {
    let n = all.len();
    match select {
        Select::All => Ok((1..=n).collect()),
        Select::Lines(ranges) => {
            let mut out = Vec::new();
            for &(a, b) in ranges {
                let from = a.unwrap_or(1).max(1);
                let to = b.unwrap_or(n);
                if from > n || to > n {
                    return Err(format!(
                        "lines {}–{} of `{path}` are past its end: it has {n} line{}",
                        from,
                        to,
                        if n == 1 { "" } else { "s" }
                    ));
                }
                if from > to {
                    return Err(format!("line range {from}–{to} of `{path}` is backwards"));
                }
                out.extend(from..=to);
            }
            Ok(out)
        }
        Select::Section(name) => {
            let start = format!("[start:{name}]");
            let end = format!("[end:{name}]");
            let s = all
                .iter()
                .position(|l| is_section_marker(l) && l.contains(&start))
                .ok_or_else(|| {
                    format!("no section `{name}` in `{path}` (no `--8<-- {start}` line)")
                })?;
            let e = all[s + 1..]
                .iter()
                .position(|l| is_section_marker(l) && l.contains(&end))
                .ok_or_else(|| {
                    format!("section `{name}` of `{path}` has no `--8<-- {end}` line")
                })?;
            Ok((s + 2..=s + 1 + e).collect())
        }
    }
}

fn is_section_marker(line: &str) -> bool {
    line.find("--8<--").is_some_and(|at| {
        let rest = line[at + 6..].trim_start();
        rest.starts_with("[start:") || rest.starts_with("[end:")
    })
}

/// `;--8<--` is the literal `--8<--` line.
fn unescape(line: &str) -> std::borrow::Cow<'_, str> {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix(';') {
        if rest.starts_with("--8<--") {
            let indent = &line[..line.len() - t.len()];
            return format!("{indent}{rest}").into();
        }
    }
    line.into()
}

/// `3.10` for `tutorial001_py310.py` or `tutorial001_an_py310.py`, or for a file of a folder
/// so named (`tutorial001_py310/models.py`), as markdown-include-variants reads them.
pub(crate) fn version_suffix(path: &Path) -> Option<String> {
    let named = |n: &str| stem_version(n);
    path.file_stem()
        .and_then(|s| s.to_str())
        .and_then(named)
        .or_else(|| {
            path.parent()
                .and_then(Path::file_name)
                .and_then(|s| s.to_str())
                .and_then(named)
        })
}

fn stem_version(stem: &str) -> Option<String> {
    let at = stem.rfind("_py3")?;
    let digits = &stem[at + 4..];
    let minor: String = digits.chars().take_while(char::is_ascii_digit).collect();
    if minor.is_empty() || minor.len() > 2 || minor.len() != digits.len() {
        return None;
    }
    Some(format!("3.{minor}"))
}

/// The `base_path` of pymdownx.snippets in a mkdocs.yml (a string or a list); the file is
/// read line by line (its `!!python/name:` tags are not YAML a strict parser accepts).
pub(crate) fn snippets_base_paths(yml: &str) -> Vec<String> {
    let lines: Vec<&str> = yml.lines().collect();
    let Some(at) = lines.iter().position(|l| {
        l.trim()
            .trim_start_matches("- ")
            .starts_with("pymdownx.snippets")
    }) else {
        return Vec::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own = indent(lines[at]);
    let mut out = Vec::new();
    let mut i = at + 1;
    while i < lines.len() {
        let l = lines[i];
        if !l.trim().is_empty() && indent(l) <= own && !l.trim_start().starts_with('#') {
            break;
        }
        if let Some(v) = l.trim().strip_prefix("base_path:") {
            let v = v.trim();
            if v.starts_with('[') {
                out.extend(
                    v.trim_matches(['[', ']'])
                        .split(',')
                        .map(|p| p.trim().trim_matches(['"', '\'']).to_string())
                        .filter(|p| !p.is_empty()),
                );
            } else if !v.is_empty() {
                out.push(v.trim_matches(['"', '\'']).to_string());
            } else {
                // A block list under the key.
                let key_indent = indent(l);
                for item in &lines[i + 1..] {
                    let t = item.trim();
                    if t.is_empty() {
                        continue;
                    }
                    if indent(item) <= key_indent && !t.starts_with('-') {
                        break;
                    }
                    match t.strip_prefix('-') {
                        Some(p) => out.push(p.trim().trim_matches(['"', '\'']).to_string()),
                        None => break,
                    }
                }
            }
            break;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_specs() {
        assert_eq!(snippet_spec("a.py").select, Select::All);
        assert_eq!(
            snippet_spec("a.py:3:10").select,
            Select::Lines(vec![(Some(3), Some(10))])
        );
        assert_eq!(
            snippet_spec("a.py:3").select,
            Select::Lines(vec![(Some(3), None)])
        );
        assert_eq!(
            snippet_spec("a.py:1:3,5:6").select,
            Select::Lines(vec![(Some(1), Some(3)), (Some(5), Some(6))])
        );
        assert_eq!(
            snippet_spec("a.py:func").select,
            Select::Section("func".into())
        );
        assert_eq!(snippet_spec("https://x/y.py").path, "https://x/y.py");
    }

    #[test]
    fn directives() {
        let (d, used) = parse_directive(&["--8<-- \"x.py\"\n"]);
        assert_eq!((d.unwrap().specs[0].path.as_str(), used), ("x.py", 1));
        let (d, used) = parse_directive(&[
            "--8<--\n",
            "a.py\n",
            "; b.py\n",
            "c.py:2:3\n",
            "--8<--\n",
            "rest\n",
        ]);
        let d = d.unwrap();
        assert_eq!(used, 5);
        assert_eq!(d.specs.len(), 2);
        let (d, _) = parse_directive(&["{!> ../src/x_py310.py [ln:2-4] !}\n"]);
        let d = d.unwrap();
        assert_eq!(d.syntax, Syntax::MdxInclude);
        assert_eq!(d.specs[0].select, Select::Lines(vec![(Some(2), Some(4))]));
        let (d, _) =
            parse_directive(&["{* ../../docs_src/app/tutorial001_py39.py ln[1:10] hl[3] *}"]);
        assert_eq!(
            d.unwrap().specs[0].path,
            "../../docs_src/app/tutorial001_py39.py"
        );
        assert!(parse_directive(&[";--8<-- \"x.py\"\n"]).0.is_none());
        assert_eq!(unescape(";--8<-- \"x.py\"\n"), "--8<-- \"x.py\"\n");
    }

    #[test]
    fn unknown_include_syntaxes() {
        assert!(unknown_syntax("{% include \"snippets/app.py\" %}\n"));
        assert!(unknown_syntax("{% include-markdown 'x.md' %}\n"));
        assert!(unknown_syntax("--8<-- snippets/app.py\n"));
        assert!(!unknown_syntax("--8<-- \"snippets/app.py\"\n"));
        assert!(!unknown_syntax("x = 1\n{% include 'a' %}\n"));
        assert!(!unknown_syntax("print('{% include %}')\n"));
    }

    #[test]
    fn version_suffixes() {
        assert_eq!(
            version_suffix(Path::new("a/tutorial001_py310.py")).as_deref(),
            Some("3.10")
        );
        assert_eq!(
            version_suffix(Path::new("tutorial001_an_py39.py")).as_deref(),
            Some("3.9")
        );
        assert_eq!(version_suffix(Path::new("tutorial001.py")), None);
        assert_eq!(version_suffix(Path::new("x_py310_old.py")), None);
        assert_eq!(
            version_suffix(Path::new("docs_src/app/tutorial001_py310/models.py")).as_deref(),
            Some("3.10")
        );
        assert_eq!(
            version_suffix(Path::new("app_an_py310/routers/users.py")),
            None
        );
    }

    #[test]
    fn mkdocs_base_paths() {
        let yml = "markdown_extensions:\n  - admonition\n  - pymdownx.snippets:\n      base_path: [docs, 'src']\n      check_paths: true\n  - toc\n";
        assert_eq!(snippets_base_paths(yml), vec!["docs", "src"]);
        let yml = "markdown_extensions:\n  pymdownx.snippets:\n    base_path:\n      - .\n      - includes\nplugins: []\n";
        assert_eq!(snippets_base_paths(yml), vec![".", "includes"]);
        assert!(snippets_base_paths("markdown_extensions:\n  - pymdownx.snippets\n").is_empty());
    }

    #[test]
    fn sections_and_ranges() {
        let file = [
            "a\n",
            "# --8<-- [start:f]\n",
            "b\n",
            "c\n",
            "# --8<-- [end:f]\n",
            "d\n",
        ];
        assert_eq!(
            select(&file, &Select::Section("f".into()), "x").unwrap(),
            vec![3, 4]
        );
        assert!(select(&file, &Select::Section("g".into()), "x")
            .unwrap_err()
            .contains("no section `g`"));
        assert!(select(&file, &Select::Lines(vec![(Some(3), Some(9))]), "x")
            .unwrap_err()
            .contains("it has 6 lines"));
    }
}
