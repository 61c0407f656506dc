//! The Markdown extension forms that hold code on real docs sites, turned into plain
//! CommonMark before pulldown-cmark reads the file.
//!
//! MkDocs Material and Python-Markdown put examples in containers that CommonMark does not
//! know: content tabs (`=== "Label"`), admonitions (`!!! note`), collapsible details
//! (`??? note`, `???+ note`), whose bodies are indented by four columns, and pymdownx.blocks
//! (`/// tab | Label` … `///`). MyST writes containers as directives (```` ```{note} ````,
//! `:::{tab-item} Label`). Read as CommonMark, a fence in an indented body is an indented
//! code block and a fence in a directive is the directive's text: neither is an example.
//!
//! [`rewrite`] keeps every line where it is (line *n* of the output is line *n* of the input,
//! so every line docmatrix reports is the line in the Markdown file) and
//! - blanks container headers, closers and option lines,
//! - removes the four columns of indentation each indented container adds to its body,
//! - expands leading tabs to 4-column stops in those bodies (as Python-Markdown does),
//!
//! and records each container with its kind, label and lines, so an example knows the tab
//! it sits in. Code fences are tracked, so a header-like line inside a code block (a guide
//! that shows the tab syntax) stays code. A fence still open when its container ends is
//! closed on the blank line after the container when there is one (so the rest of the file
//! is still read) and always reported.

use std::borrow::Cow;

/// What kind of container a header opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `=== "Label"`, `/// tab | Label`, `{tab-item} Label`.
    Tab,
    /// `!!! type "Title"`, `/// note`, `{note}`, ...
    Admonition,
    /// `??? type`, `???+ type`, `/// details | Title`, `{dropdown}`.
    Details,
    /// Any other pymdownx.blocks block or MyST directive that holds Markdown.
    Block,
}

/// A container found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Container {
    pub kind: Kind,
    /// The tab label or the title, as written (without quotes); may be empty.
    pub label: String,
    /// 1-based line of the header.
    pub line: usize,
    /// 1-based line of the body's last line (the closer's line for closed forms).
    pub end_line: usize,
}

/// The file as CommonMark, and what the rewrite found.
#[derive(Debug, Default)]
pub(crate) struct Forms<'a> {
    pub text: Cow<'a, str>,
    /// In the order of their headers.
    pub containers: Vec<Container>,
    /// (line, message) of forms that could not be read as written.
    pub warnings: Vec<(usize, String)>,
    /// `{* path … *}` lines outside code fences: (line, the line's text).
    pub braces: Vec<(usize, String)>,
    /// Markdown files included outside code fences (`{!notes.md!}`, `--8<-- "notes.md"`):
    /// (line, the path as written). Their blocks are on the page too.
    pub markdown_includes: Vec<(usize, String)>,
}

impl Forms<'_> {
    /// The containers around Markdown line `line`, outermost first.
    pub fn around(&self, line: usize) -> impl Iterator<Item = &Container> {
        self.containers
            .iter()
            .filter(move |c| c.line < line && line <= c.end_line)
    }
}

/// How an open container ends.
#[derive(Debug)]
enum Close {
    /// Its body is the lines indented by at least `body` columns (blank lines too).
    Indent { body: usize },
    /// `///` with `n` slashes.
    Slashes { n: usize },
    /// A MyST directive fence: `n` or more of `ch`.
    Fence { ch: u8, n: usize },
}

#[derive(Debug)]
struct Frame {
    close: Close,
    /// Index in `containers`.
    container: usize,
    /// Leading option lines (`    open: true` under a block, `:class: x` in a directive)
    /// are still allowed.
    options: bool,
    /// Inside a `---` YAML option block of a MyST directive.
    yaml: bool,
}

/// A code fence being read.
#[derive(Debug)]
struct Fence {
    ch: u8,
    n: usize,
    line: usize,
    /// How many frames were open when it opened: it ends with the frame that holds it.
    depth: usize,
}

/// Whether a file may hold any form: a quick scan so that plain files cost nothing.
fn may_hold_forms(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memmem::find(b, b"===").is_some()
        || memchr::memmem::find(b, b"!!!").is_some()
        || memchr::memmem::find(b, b"???").is_some()
        || memchr::memmem::find(b, b"///").is_some()
        || memchr::memmem::find(b, b"--8<--").is_some()
        // `{*`, `{!`, and a MyST directive's ```{ ~~~{ :::{, in one pass over the braces.
        || memchr::memchr_iter(b'{', b).any(|i| {
            matches!(b.get(i + 1), Some(b'*' | b'!'))
                || (i >= 3 && matches!(&b[i - 3..i], b"```" | b"~~~" | b":::"))
        })
}

/// Rewrites `text` (see the module documentation).
pub(crate) fn rewrite(text: &str) -> Forms<'_> {
    if !may_hold_forms(text) {
        return Forms {
            text: Cow::Borrowed(text),
            ..Default::default()
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut forms = Forms::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut fence: Option<Fence> = None;
    let mut changed = false;
    // Where the last blank line written starts in `out`, and its line number.
    let mut last_blank: Option<(usize, usize)> = None;

    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let (body, eol) = split_eol(raw);
        let blank = body.trim().is_empty();
        let expanded = if frames
            .iter()
            .any(|f| matches!(f.close, Close::Indent { .. }))
            && body.starts_with([' ', '\t'])
            && body
                .bytes()
                .take_while(|&b| b == b' ' || b == b'\t')
                .any(|b| b == b'\t')
        {
            Cow::Owned(expand_leading_tabs(body))
        } else {
            Cow::Borrowed(body)
        };
        let indent = expanded.bytes().take_while(|&b| b == b' ').count();

        // A line less indented than an indented body ends it (and every frame inside it).
        if !blank {
            while let Some(pos) = frames
                .iter()
                .position(|f| matches!(f.close, Close::Indent { body } if indent < body))
            {
                end_frames(
                    &mut frames,
                    pos,
                    &mut forms,
                    &mut fence,
                    &mut out,
                    &mut last_blank,
                );
            }
        }
        let strip: usize = frames
            .iter()
            .filter(|f| matches!(f.close, Close::Indent { .. }))
            .count()
            * 4;
        let d: &str = &expanded[strip.min(indent)..];
        if strip > 0 || matches!(expanded, Cow::Owned(_)) {
            changed = true;
        }

        let mut emit_blank = false;
        let in_code = fence.is_some();
        if let Some(f) = &fence {
            if closes_fence(d, f) {
                fence = None;
            }
        } else if let Some(top) = frames.last_mut().filter(|f| f.options) {
            // Option lines right under a header.
            let t = d.trim();
            let is_option = match top.close {
                Close::Slashes { .. } => !blank && indent >= strip + 4,
                Close::Fence { .. } => {
                    if top.yaml {
                        if t == "---" {
                            top.yaml = false;
                        }
                        true
                    } else if t == "---" {
                        top.yaml = true;
                        true
                    } else {
                        is_myst_option(t)
                    }
                }
                Close::Indent { .. } => false,
            };
            if is_option {
                emit_blank = true;
            } else {
                top.options = false;
            }
        }
        if !in_code && !emit_blank && !blank {
            let t = d.trim_start();
            if let Some((kind, label, close)) = header(t, indent) {
                let options = !matches!(close, Close::Indent { .. });
                forms.containers.push(Container {
                    kind,
                    label,
                    line: n,
                    end_line: n,
                });
                frames.push(Frame {
                    close,
                    container: forms.containers.len() - 1,
                    options,
                    yaml: false,
                });
                emit_blank = true;
            } else if let Some(pos) = closer(t, &frames) {
                // The closer belongs to the container.
                forms.containers[frames[pos].container].end_line = n;
                end_frames(
                    &mut frames,
                    pos,
                    &mut forms,
                    &mut fence,
                    &mut out,
                    &mut last_blank,
                );
                emit_blank = true;
            } else if crate::include::is_braces_line(t) {
                forms.braces.push((n, t.trim().to_string()));
            } else if let Some(path) = crate::include::markdown_include(t) {
                forms.markdown_includes.push((n, path));
            } else if let Some((ch, width)) = fence_open(t) {
                fence = Some(Fence {
                    ch,
                    n: width,
                    line: n,
                    depth: frames.len(),
                });
            }
        }

        if emit_blank {
            changed = true;
            last_blank = Some((out.len(), n));
            out.push_str(eol);
        } else {
            if blank {
                last_blank = Some((out.len(), n));
            }
            out.push_str(d);
            out.push_str(eol);
        }
        if !blank && !emit_blank {
            for f in &frames {
                forms.containers[f.container].end_line = n;
            }
        }
    }
    // The end of the file ends every container; the fence too (as it would in CommonMark).
    if let Some(f) = fence.take() {
        if f.depth > 0 {
            forms.warnings.push((
                f.line,
                "code fence is never closed: the block runs to the end of the file".into(),
            ));
        }
    }
    for f in &frames {
        let c = &forms.containers[f.container];
        let fence = match f.close {
            Close::Slashes { n } => "/".repeat(n),
            Close::Fence { ch, n } => String::from_utf8(vec![ch; n]).unwrap_or_default(),
            Close::Indent { .. } => continue,
        };
        forms.warnings.push((
            c.line,
            format!("this block is never closed with `{fence}`: it runs to the end of the file"),
        ));
    }
    forms.text = if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    };
    forms
}

/// Ends `frames[pos..]`. A code fence opened inside them ends too: it is closed on the last
/// blank line written when there is one after it, so that the rest of the file is read.
fn end_frames(
    frames: &mut Vec<Frame>,
    pos: usize,
    forms: &mut Forms<'_>,
    fence: &mut Option<Fence>,
    out: &mut String,
    last_blank: &mut Option<(usize, usize)>,
) {
    if let Some(f) = fence.as_ref().filter(|f| f.depth > pos) {
        let c = &forms.containers[frames[pos].container];
        let what = match c.kind {
            Kind::Tab => "tab",
            Kind::Admonition => "admonition",
            Kind::Details => "details block",
            Kind::Block => "block",
        };
        match *last_blank {
            Some((at, line)) if line > f.line => {
                let closer = String::from_utf8(vec![f.ch; f.n]).unwrap_or_default();
                out.insert_str(at, &closer);
                *last_blank = None;
                forms.warnings.push((
                    f.line,
                    format!(
                        "code fence is never closed inside its {what} (line {}): the block ends with the {what}",
                        c.line
                    ),
                ));
            }
            _ => forms.warnings.push((
                f.line,
                format!(
                    "code fence is never closed inside its {what} (line {}), and no blank line follows the {what}: the block runs on past it",
                    c.line
                ),
            )),
        }
        *fence = None;
    }
    frames.truncate(pos);
}

fn split_eol(raw: &str) -> (&str, &str) {
    let body = raw.trim_end_matches(['\n', '\r']);
    (body, &raw[body.len()..])
}

/// Leading tabs (and spaces) → spaces, with tab stops every 4 columns.
fn expand_leading_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut col = 0;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        match c {
            ' ' => {
                out.push(' ');
                col += 1;
            }
            '\t' => {
                let to = (col / 4 + 1) * 4;
                out.extend(std::iter::repeat_n(' ', to - col));
                col = to;
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

/// A MyST directive option line: `:name:` or `:name: value`.
pub(crate) fn is_myst_option(t: &str) -> bool {
    let Some(rest) = t.strip_prefix(':') else {
        return false;
    };
    let Some(end) = rest.find(':') else {
        return false;
    };
    let name = &rest[..end];
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        && rest[end + 1..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
}

/// An opening code fence: ``` or ~~~ (3 or more); a backtick fence's info has no backtick.
fn fence_open(t: &str) -> Option<(u8, usize)> {
    let ch = *t.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let n = t.bytes().take_while(|&b| b == ch).count();
    if n < 3 || (ch == b'`' && t[n..].contains('`')) {
        return None;
    }
    Some((ch, n))
}

fn closes_fence(d: &str, f: &Fence) -> bool {
    let t = d.trim();
    t.len() >= f.n && t.bytes().all(|b| b == f.ch)
}

/// The frame a closer line ends: `///` ends the innermost `///` block of as many slashes,
/// a directive's fence the innermost directive of its character.
fn closer(t: &str, frames: &[Frame]) -> Option<usize> {
    let t = t.trim_end();
    let ch = *t.as_bytes().first()?;
    if !matches!(ch, b'/' | b'`' | b'~' | b':') || !t.bytes().all(|b| b == ch) {
        return None;
    }
    let n = t.len();
    frames.iter().rposition(|f| match f.close {
        Close::Slashes { n: m } => ch == b'/' && n == m,
        Close::Fence { ch: c, n: m } => ch == c && n >= m,
        Close::Indent { .. } => false,
    })
}

/// A container header; `col` is the header's column in the original line.
fn header(t: &str, col: usize) -> Option<(Kind, String, Close)> {
    let t = t.trim_end();
    let indent = Close::Indent { body: col + 4 };
    if let Some(rest) = t.strip_prefix("===") {
        // === "Label", ===! "Label", ===+ "Label", ===!+ / ===+!
        let rest = rest.trim_start_matches(['!', '+']);
        let label = quoted(rest.trim_start())?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        return Some((Kind::Tab, label, indent));
    }
    if let Some(rest) = t.strip_prefix("!!!") {
        let label = admonition(rest)?;
        return Some((Kind::Admonition, label, indent));
    }
    if let Some(rest) = t.strip_prefix("???") {
        let rest = rest.strip_prefix('+').unwrap_or(rest);
        let label = admonition(rest)?;
        return Some((Kind::Details, label, indent));
    }
    if t.starts_with("///") {
        let n = t.bytes().take_while(|&b| b == b'/').count();
        let rest = t[n..].trim_start();
        let (name, arg) = match rest.split_once('|') {
            Some((name, arg)) => (name.trim(), arg.trim()),
            None => (rest.trim(), ""),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return None;
        }
        let kind = match name {
            "tab" => Kind::Tab,
            "details" => Kind::Details,
            "admonition" | "note" | "attention" | "caution" | "danger" | "error" | "tip"
            | "hint" | "warning" | "important" | "info" | "example" | "question" | "quote"
            | "success" | "failure" | "bug" | "abstract" | "danger-" | "settings" | "new" => {
                Kind::Admonition
            }
            _ => Kind::Block,
        };
        let label = if arg.is_empty() && kind != Kind::Tab {
            String::new()
        } else {
            arg.to_string()
        };
        return Some((kind, label, Close::Slashes { n }));
    }
    // MyST: ```{note} Title, ~~~{tab-item} Label, :::{dropdown} Title
    let ch = *t.as_bytes().first()?;
    if matches!(ch, b'`' | b'~' | b':') {
        let n = t.bytes().take_while(|&b| b == ch).count();
        let rest = &t[n..];
        if n >= 3 && rest.starts_with('{') {
            let close = rest.find('}')?;
            let name = &rest[1..close];
            let arg = rest[close + 1..].trim();
            let kind = myst_container(name)?;
            return Some((kind, arg.to_string(), Close::Fence { ch, n }));
        }
    }
    None
}

/// The title of `!!! type "Title"` (the type when there is no title); `None` when the line
/// is not an admonition header.
fn admonition(rest: &str) -> Option<String> {
    let rest = rest.trim();
    let (types, title) = match rest.find('"') {
        Some(q) => (&rest[..q], Some(quoted(&rest[q..])?)),
        None => (rest, None),
    };
    let types = types.trim();
    if types.is_empty() && title.is_none() {
        return None;
    }
    if !types
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
    {
        return None;
    }
    Some(title.unwrap_or_else(|| types.split(' ').next().unwrap_or("").to_string()))
}

/// `"Label"` → `Label` (the whole rest of the line must be the quoted text).
fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.to_string())
}

/// MyST directives whose content is Markdown (so examples may sit in them).
fn myst_container(name: &str) -> Option<Kind> {
    Some(match name {
        "tab-item" | "tab" => Kind::Tab,
        "dropdown" => Kind::Details,
        "note" | "warning" | "tip" | "important" | "hint" | "seealso" | "attention" | "caution"
        | "danger" | "error" | "admonition" | "versionadded" | "versionchanged" | "deprecated" => {
            Kind::Admonition
        }
        "tab-set" | "card" | "grid" | "grid-item" | "grid-item-card" | "topic" | "sidebar"
        | "margin" | "div" | "container" | "only" | "exercise" | "solution" | "epigraph" => {
            Kind::Block
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<&str> {
        s.lines().collect()
    }

    #[test]
    fn plain_text_is_borrowed() {
        let f = rewrite("# T\n\n```python\nx = 1\n```\n");
        assert!(matches!(f.text, Cow::Borrowed(_)));
        assert!(f.containers.is_empty());
    }

    #[test]
    fn tabs_and_admonitions_are_dedented_in_place() {
        let md = "=== \"Python 3.10+\"\n\n    ```python\n    def f():\n        return 1\n    ```\n\n===! \"Older\"\n\n    ```py\n    x = 1\n    ```\n\ntext\n";
        let f = rewrite(md);
        assert_eq!(
            lines(&f.text),
            vec![
                "",
                "",
                "```python",
                "def f():",
                "    return 1",
                "```",
                "",
                "",
                "",
                "```py",
                "x = 1",
                "```",
                "",
                "text"
            ]
        );
        assert_eq!(f.containers.len(), 2);
        assert_eq!(
            f.containers[0],
            Container {
                kind: Kind::Tab,
                label: "Python 3.10+".into(),
                line: 1,
                end_line: 6
            }
        );
        assert_eq!((f.containers[1].line, f.containers[1].end_line), (8, 12));
    }

    #[test]
    fn nesting_in_lists_and_admonitions() {
        let md = "- item\n\n    !!! note \"A title\"\n\n        ???+ tip\n\n            === \"T\"\n\n                ```python\n                y = 2\n                ```\n\n- next\n";
        let f = rewrite(md);
        let l = lines(&f.text);
        assert_eq!(l[8], "    ```python");
        assert_eq!(l[9], "    y = 2");
        assert_eq!(l[12], "- next");
        let kinds: Vec<_> = f
            .containers
            .iter()
            .map(|c| (&c.kind, c.label.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (&Kind::Admonition, "A title"),
                (&Kind::Details, "tip"),
                (&Kind::Tab, "T")
            ]
        );
        assert!(f.containers.iter().all(|c| c.end_line == 11));
        assert_eq!(f.around(10).count(), 3);
    }

    #[test]
    fn header_lines_inside_code_are_code() {
        let md = "```markdown\n=== \"Tab\"\n\n    ```python\n    x\n    ```\n```\n";
        let f = rewrite(md);
        assert_eq!(f.text, md);
        assert!(f.containers.is_empty());
    }

    #[test]
    fn blocks_with_slashes_nest_and_drop_options() {
        let md = "//// tab | Python 3.9+\n/// details | Show\n    open: True\n\n```python\nz = 3\n```\n///\n////\nafter\n";
        let f = rewrite(md);
        assert_eq!(
            lines(&f.text),
            vec!["", "", "", "", "```python", "z = 3", "```", "", "", "after"]
        );
        assert_eq!(f.containers[0].kind, Kind::Tab);
        assert_eq!(f.containers[0].label, "Python 3.9+");
        assert_eq!((f.containers[0].line, f.containers[0].end_line), (1, 9));
        assert_eq!((f.containers[1].line, f.containers[1].end_line), (2, 8));
        assert!(f.warnings.is_empty());
    }

    #[test]
    fn myst_containers() {
        let md = "````{tab-item} Python 3.11+\n:sync: py\n\n```python\nw = 4\n```\n````\n\n:::{note}\n---\nclass: x\n---\n```python\nv = 5\n```\n:::\n";
        let f = rewrite(md);
        let l = lines(&f.text);
        assert_eq!(&l[..7], &["", "", "", "```python", "w = 4", "```", ""]);
        assert_eq!(&l[8..], &["", "", "", "", "```python", "v = 5", "```", ""]);
        assert_eq!(f.containers[0].label, "Python 3.11+");
        assert_eq!(f.containers[1].kind, Kind::Admonition);
    }

    #[test]
    fn an_unclosed_fence_ends_with_its_container() {
        let md = "!!! note\n\n    ```python\n    a = 1\n\nafter\n\n```python\nb = 2\n```\n";
        let f = rewrite(md);
        let l = lines(&f.text);
        assert_eq!(l[4], "```");
        assert_eq!(f.warnings.len(), 1);
        assert_eq!(f.warnings[0].0, 3);
        assert!(f.warnings[0]
            .1
            .contains("never closed inside its admonition (line 1)"));
    }

    #[test]
    fn unclosed_blocks_are_reported_at_their_header() {
        let f = rewrite("text\n\n/// tab | A\n\n```python\nx = 1\n```\n");
        assert_eq!(f.warnings.len(), 1);
        assert_eq!(f.warnings[0].0, 3);
        assert!(f.warnings[0].1.contains("never closed with `///`"));
        let f = rewrite("::::{note}\n```python\nx = 1\n```\n");
        assert_eq!(f.warnings[0].0, 1);
        assert!(
            f.warnings[0].1.contains("never closed with `::::`"),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn tabs_are_expanded_in_bodies() {
        let f = rewrite("=== \"A\"\n\n\t```python\n\tif x:\n\t\tpass\n\t```\n");
        assert_eq!(lines(&f.text)[3..5], ["if x:", "    pass"]);
    }

    #[test]
    fn not_headers() {
        for md in [
            "=== not quoted\n\n    x\n",
            "!!!\n\n    x\n",
            "/// | x\n\n",
            "```{code-block} python\nx\n```\n",
        ] {
            let f = rewrite(md);
            assert!(f.containers.is_empty(), "{md:?}: {:?}", f.containers);
        }
    }
}
