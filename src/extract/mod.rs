//! Markdown → [`Snippet`]s, with pulldown-cmark.
//!
//! Owns: fenced code blocks (``` and ~~~, in lists and block quotes too), the line map from
//! code lines to Markdown lines, and the annotations (info string, the HTML comment before a
//! fence, file-wide comments). Must not know: processes, printing. Never panics on input:
//! problems are [`Diagnostic`]s.

pub(crate) mod attrs;
pub mod forms;
pub mod script;

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::model::{Annotations, Diagnostic, Lang, Snippet, Unread};
use attrs::{Attr, Origin};

/// Everything found in one file.
#[derive(Debug, Default)]
pub struct Extracted {
    pub snippets: Vec<Snippet>,
    pub warnings: Vec<Diagnostic>,
    /// Code a reader sees that is not a fenced block: indented code blocks, HTML `<pre>`.
    pub unread: Vec<Unread>,
    /// Markdown files included outside fences: (line, path as written).
    pub markdown_includes: Vec<(usize, String)>,
}

/// Decodes a file's bytes: invalid UTF-8 is an error at its line.
pub fn decode(bytes: Vec<u8>) -> Result<String, (usize, String)> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        (
            line,
            format!("invalid UTF-8 (byte {at}); docmatrix reads UTF-8 Markdown only, so no example of this file ran"),
        )
    })
}

/// Byte offset → 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// A `<!-- docmatrix: … -->` (or peer marker) waiting for the next fence.
struct Pending {
    end: usize,
    line: usize,
    attrs: Vec<Attr>,
}

/// Extracts every fenced code block of `text`, the Markdown of `file`.
pub fn extract(file: &Path, text: &str) -> Extracted {
    // A byte-order mark is not text (and would hide front matter).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let written = text;
    let forms = forms::rewrite(text);
    let text: &str = &forms.text;
    let index = LineIndex::new(text);
    let mut out = Extracted {
        markdown_includes: forms.markdown_includes.clone(),
        ..Default::default()
    };
    for (line, message) in &forms.warnings {
        out.warnings
            .push(Diagnostic::warning(file, Some(*line), message.clone()));
    }
    let mut file_attrs: Vec<(usize, Vec<Attr>)> = Vec::new();
    let mut pending: Option<Pending> = None;
    let mut current: Option<Open> = None;
    // List items open around the current event.
    let mut items = 0usize;
    // An indented code block inside a list item that Python-Markdown, whose list items nest
    // their content by four columns, reads as part of the item (see `Open::into_fence`).
    let mut in_item: Option<Open> = None;

    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    for (event, range) in Parser::new_ext(text, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let comment = pending
                    .take()
                    .filter(|p| only_markers_between(&text[p.end..range.start]));
                current = Some(Open {
                    range: range.clone(),
                    info: info.to_string(),
                    comment,
                    code: String::new(),
                    pieces: Vec::new(),
                    fenced: true,
                });
            }
            Event::Start(Tag::Item) => items += 1,
            Event::End(TagEnd::Item) => items = items.saturating_sub(1),
            // `{* path ln[..] hl[..] *}` on its own line: the file is a Python example.
            Event::Start(Tag::Paragraph) if !forms.braces.is_empty() => {
                let line = index.line(range.start);
                if let Some((_, braces)) = forms.braces.iter().find(|(l, _)| *l == line) {
                    let comment = pending
                        .take()
                        .filter(|p| only_markers_between(&text[p.end..range.start]));
                    let start = range.start + text[range.start..].find("{*").unwrap_or(0);
                    let open = Open {
                        range: start..start + braces.len(),
                        info: "python".into(),
                        comment,
                        code: format!("{braces}\n"),
                        pieces: vec![(0, start)],
                        fenced: false,
                    };
                    let mut snippet = open.finish(file, text, &index, &forms, &mut out.warnings);
                    snippet.info = braces.clone();
                    out.snippets.push(snippet);
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)) => {
                // CommonMark nests a list item's content by the width of its marker (2 for
                // `* `), Python-Markdown (MkDocs) by four columns: a line indented by 6 under
                // `* ` is code to the one and the item's own text, or a fence, to the other.
                let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
                let indent = text[line_start..]
                    .bytes()
                    .take_while(|&b| b == b' ')
                    .count();
                if items > 0 && indent < 4 * items + 4 {
                    in_item = Some(Open {
                        range: range.clone(),
                        info: String::new(),
                        comment: pending
                            .take()
                            .filter(|p| only_markers_between(&text[p.end..range.start])),
                        code: String::new(),
                        pieces: Vec::new(),
                        fenced: false,
                    });
                } else {
                    out.unread.push(Unread {
                        file: file.to_path_buf(),
                        line: index.line(range.start),
                        reason: "indented code block".into(),
                    });
                }
            }
            Event::Text(t) => {
                if let Some(open) = current.as_mut().or(in_item.as_mut()) {
                    open.pieces.push((open.code.len(), range.start));
                    open.code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(open) = current.take() {
                    let snippet = open.finish(file, text, &index, &forms, &mut out.warnings);
                    out.snippets.push(snippet);
                } else if let Some(open) = in_item.take() {
                    // A whole fence is an example, as the docs site shows it; anything else
                    // is the item's text there (an annotation list, a paragraph), not code.
                    if let Some(open) = open.into_fence() {
                        let snippet = open.finish(file, text, &index, &forms, &mut out.warnings);
                        out.snippets.push(snippet);
                    }
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                if let Some(at) = memchr::memmem::find(html.as_bytes(), b"<pre") {
                    out.unread.push(Unread {
                        file: file.to_path_buf(),
                        line: index.line(range.start + at),
                        reason: "HTML <pre> block".into(),
                    });
                }
                for (offset, body) in comments(&html) {
                    let start = range.start + offset;
                    let line = index.line(start);
                    let end = range.start + offset + body.len();
                    let Some(directive) = Directive::parse(body) else {
                        continue;
                    };
                    match directive {
                        Directive::File(attrs) => file_attrs.push((line, attrs)),
                        Directive::Block(mut attrs) => {
                            // Comments in a row before one fence add up.
                            if let Some(p) = pending.take() {
                                if only_markers_between(&text[p.end..start]) {
                                    let mut merged = p.attrs;
                                    merged.append(&mut attrs);
                                    attrs = merged;
                                }
                            }
                            pending = Some(Pending { end, line, attrs });
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // File-wide attributes apply under every block's own.
    let mut base = Annotations::default();
    for (line, attrs) in &file_attrs {
        let (warnings, _) = attrs::apply(attrs, Origin::Comment, &mut base);
        push_warnings(&mut out.warnings, file, *line, warnings);
    }
    if !file_attrs.is_empty() {
        for s in &mut out.snippets {
            s.annotations = merge(&base, &s.annotations, &s.info, &s.lang);
        }
    }
    let lines: Vec<&str> = written.split('\n').collect();
    for s in &mut out.snippets {
        s.code_cols = code_cols(&lines, s);
    }
    out
}

/// For each code line of `s`, the characters before it on its Markdown line (of `lines`, the
/// file as written), when that line ends with it.
fn code_cols(lines: &[&str], s: &Snippet) -> Vec<Option<usize>> {
    s.code
        .lines()
        .zip(&s.code_lines)
        .map(|(code, &n)| {
            let md = lines.get(n.checked_sub(1)?)?;
            let md = md.strip_suffix('\r').unwrap_or(md);
            md.ends_with(code)
                .then(|| md.chars().count() - code.chars().count())
        })
        .collect()
}

/// A fence being read.
struct Open {
    range: Range<usize>,
    info: String,
    comment: Option<Pending>,
    /// The code as pulldown-cmark gives it, line ends untouched.
    code: String,
    /// Where each text piece starts: (offset in `code`, offset in the Markdown).
    pieces: Vec<(usize, usize)>,
    /// A code fence (`false` for a `{* … *}` include line).
    fenced: bool,
}

impl Open {
    /// Where byte `at` of the code is in the Markdown.
    fn md_offset(&self, at: usize) -> usize {
        let piece = self
            .pieces
            .partition_point(|&(c, _)| c <= at)
            .saturating_sub(1);
        let (c, src) = self.pieces.get(piece).copied().unwrap_or((0, 0));
        src + (at - c)
    }

    /// The fence that the code of an indented code block is, opening line to closing line,
    /// with its info string; `None` when it is not one whole fence.
    fn into_fence(mut self) -> Option<Open> {
        let first = self.code.lines().next()?;
        let dedent = first.len() - first.trim_start_matches(' ').len();
        let opener = &first[dedent..];
        let ch = opener.bytes().next().filter(|&b| b == b'`' || b == b'~')?;
        let width = opener.bytes().take_while(|&b| b == ch).count();
        let info = &opener[width..];
        if width < 3 || (ch == b'`' && info.contains('`')) {
            return None;
        }
        // The first line after it that closes it; what follows (an annotation list, more
        // of the item's text) is not code.
        let code_start = first.len() + 1;
        let mut last_start = None;
        let mut at = code_start;
        while at < self.code.len() {
            let end = self.code[at..]
                .find('\n')
                .map_or(self.code.len(), |i| at + i + 1);
            let t = self.code[at..end].trim();
            if t.len() >= width && t.bytes().all(|b| b == ch) {
                last_start = Some(at);
                break;
            }
            at = end;
        }
        let last_start = last_start?;
        // The block ends with its closing line.
        let closer = self.code[last_start..].trim_end_matches(['\n', '\r']);
        let closer = closer.split('\n').next().unwrap_or(closer);
        self.range.end = self.md_offset(last_start) + closer.trim_end_matches('\r').len();
        let info = info.trim().to_string();
        // The lines between the fences, with where each starts in the Markdown.
        let mut code = String::new();
        let mut pieces = Vec::new();
        let mut at = code_start;
        while at < last_start {
            let end = self.code[at..]
                .find('\n')
                .map_or(self.code.len(), |i| at + i + 1);
            let line = &self.code[at..end];
            let cut = line.bytes().take(dedent).take_while(|&b| b == b' ').count();
            pieces.push((code.len(), self.md_offset(at) + cut));
            code.push_str(&line[cut..]);
            at = end;
        }
        self.info = info;
        self.code = code;
        self.pieces = pieces;
        Some(self)
    }

    fn finish(
        mut self,
        file: &Path,
        text: &str,
        index: &LineIndex,
        forms: &forms::Forms<'_>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Snippet {
        let line = index.line(self.range.start);
        let block = &text[self.range.clone()];
        let end_line = index.line(self.range.end.saturating_sub(1).max(self.range.start));
        if self.fenced && !is_closed(block) && !forms.warnings.iter().any(|(l, _)| *l == line) {
            warnings.push(Diagnostic::warning(
                file,
                Some(line),
                "code fence is never closed: the block runs to the end of its container",
            ));
        }
        let info = self.info.trim().to_string();
        let (mut lang, rest, myst) = split_info(&info);
        let session_word = is_session_word(&info);
        if session_word {
            lang = Lang::Python;
        }
        let comment = self.comment.take();
        let (mut code, mut code_lines) = self.line_map(index);
        if myst || (session_word && info.starts_with("{doctest}")) {
            (code, code_lines) = drop_myst_options(code, code_lines);
        }
        let mut ann = Annotations::default();
        if let Some(c) = &comment {
            let (w, _) = attrs::apply(&c.attrs, Origin::Comment, &mut ann);
            push_warnings(warnings, file, c.line, w);
        }
        let (w, foreign) = attrs::apply(&attrs::tokenize(rest), Origin::InfoString, &mut ann);
        if lang == Lang::Python {
            push_warnings(warnings, file, line, w);
        }
        // The tab the block sits in; a tab that names a minimum Python version declares it,
        // unless the block says otherwise (innermost tab first).
        let tabs: Vec<&str> = forms
            .around(line)
            .filter(|c| c.kind == forms::Kind::Tab)
            .map(|c| c.label.as_str())
            .collect();
        if ann.requires.is_none() {
            ann.requires = tabs.iter().rev().find_map(|l| tab_requires(l));
        }
        let session = lang == Lang::Python && (session_word || starts_with_prompt(&code));
        Snippet {
            file: file.to_path_buf(),
            line,
            end_line,
            lang,
            info,
            code,
            code_lines,
            code_cols: Vec::new(),
            annotations: ann,
            foreign_attrs: foreign,
            tab: tabs.last().map(|l| l.to_string()),
            sources: Vec::new(),
            include_error: None,
            session,
        }
    }
}

/// Whether an info string names a Python interactive session: `pycon`, `pycon3`,
/// `python-repl`, `py-repl`, `doctest`, MyST's `{doctest}` directive.
fn is_session_word(info: &str) -> bool {
    let word = match myst_directive(info) {
        Some(name) => name,
        None => {
            let t = info.trim_start_matches('{').trim_start();
            let t = t.trim_start_matches('.');
            let end = t
                .find(|c: char| c.is_whitespace() || c == '{' || c == '}')
                .unwrap_or(t.len());
            &t[..end]
        }
    };
    matches!(
        word.to_ascii_lowercase().as_str(),
        "pycon" | "pycon3" | "python-repl" | "py-repl" | "doctest"
    )
}

/// Whether the first line of `code` that is not blank starts with the `>>>` prompt.
pub(crate) fn starts_with_prompt(code: &str) -> bool {
    code.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start() == ">>>" || l.trim_start().starts_with(">>> "))
}

/// Reads `s`'s inline script metadata (PEP 723) into its annotations: the `dependencies` join
/// its `deps`, and `requires-python` is its `requires` unless it declares one.
/// `Some((markdown line, message))` when the block is not valid metadata.
pub(crate) fn declare_script(s: &mut Snippet) -> Option<(usize, String)> {
    match script::read(&s.code) {
        Ok(None) => None,
        Ok(Some(meta)) => {
            s.annotations.deps.extend(meta.dependencies);
            let spec = meta.requires_python.as_deref().map(|r| {
                r.parse::<crate::version::Specifier>().map_err(|e| {
                    (
                        s.md_line(meta.line),
                        format!("`# /// script` requires-python: {e}"),
                    )
                })
            });
            match spec {
                Some(Ok(spec)) if s.annotations.requires.is_none() => {
                    s.annotations.requires = Some(spec);
                    None
                }
                Some(Err(e)) => Some(e),
                _ => None,
            }
        }
        Err((line, message)) => Some((s.md_line(line), message)),
    }
}

/// The minimum version a tab label names: `Python 3.10+`, `Python 3.9 and above`,
/// `Python >= 3.8`, `Python 3.10+ non-Annotated`, `3.11 or later`.
pub(crate) fn tab_requires(label: &str) -> Option<crate::version::Specifier> {
    let lower = label.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("3.") {
        let at = from + i;
        from = at + 2;
        // A version starts a word: `3.10`, not `13.10` or `v3.10`'s inner digits.
        if lower[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            continue;
        }
        let digits = lower[at + 2..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            continue;
        }
        let version = &lower[at..at + 2 + digits];
        let before = lower[..at].trim_end();
        let after = lower[at + 2 + digits..].trim_start();
        let named = before.ends_with("python") || before.ends_with("py") || before.is_empty();
        let at_least = before.ends_with(">=") || before.ends_with('≥');
        let open_ended = after.starts_with('+')
            || [
                "and above",
                "and later",
                "and newer",
                "and up",
                "or later",
                "or newer",
                "or above",
                "or higher",
                "and higher",
            ]
            .iter()
            .any(|w| after.starts_with(w));
        let named = named
            || before
                .trim_end_matches(['>', '=', '≥'])
                .trim_end()
                .ends_with("python");
        if named && (open_ended || at_least) {
            return format!(">={version}").parse().ok();
        }
    }
    None
}

impl Open {
    /// The code with `\n` line ends, and the Markdown line of each of its lines. In containers
    /// (lists, quotes) pulldown-cmark gives a piece per line, so a line's start is always the
    /// start of a piece or a verbatim offset inside one.
    fn line_map(self, index: &LineIndex) -> (std::sync::Arc<str>, Vec<usize>) {
        let mut lines = Vec::new();
        let mut at = 0;
        while at < self.code.len() {
            lines.push(index.line(self.md_offset(at)));
            at = match memchr::memchr(b'\n', &self.code.as_bytes()[at..]) {
                Some(i) => at + i + 1,
                None => self.code.len(),
            };
        }
        let code = if self.code.contains('\r') {
            self.code.replace("\r\n", "\n")
        } else {
            self.code
        };
        (code.into(), lines)
    }
}

/// The language and the attribute text of an info string, and whether it is a MyST code
/// directive (whose body starts with its options). `{ .dockerfile .annotate }` names its
/// language by its first class; MyST's `{code-block} python` and `{code-cell} ipython3` by
/// their argument; any other MyST directive (`{include}`, `{eval-rst}`) is the language
/// `{name}`, counted and not checked.
fn split_info(info: &str) -> (Lang, &str, bool) {
    if let Some(name) = myst_directive(info) {
        let arg = info[name.len() + 2..]
            .split_whitespace()
            .next()
            .unwrap_or("");
        return match name {
            "code-block" | "code" | "sourcecode" | "code-cell" => {
                let lang = match arg.to_ascii_lowercase().as_str() {
                    "ipython3" | "ipython" | "ipython2" if name == "code-cell" => Lang::Python,
                    _ => Lang::from_word(arg),
                };
                (lang, "", true)
            }
            _ => (Lang::Other(format!("{{{name}}}")), "", false),
        };
    }
    if info.starts_with('{') {
        let lang = attrs::tokenize(info)
            .into_iter()
            .find(|a| a.key.starts_with('.') && a.value.is_none())
            .map_or(Lang::Other(String::new()), |a| Lang::from_word(&a.key));
        return (lang, info, false);
    }
    let end = info
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(info.len());
    // `hl_lines="3"` alone: attributes, and no language.
    if info[..end].contains('=') {
        return (Lang::Other(String::new()), info, false);
    }
    (Lang::from_word(&info[..end]), &info[end..], false)
}

/// Whether an info string is MyST's `{doctest}` directive: Sphinx's doctest extension runs
/// those blocks, with its own defaults (see `_session` in the Python driver).
pub(crate) fn is_sphinx_doctest(info: &str) -> bool {
    myst_directive(info) == Some("doctest")
}

/// `code-block` of `{code-block} python`: a MyST directive's name.
fn myst_directive(info: &str) -> Option<&str> {
    let rest = info.strip_prefix('{')?;
    let end = rest.find('}')?;
    let name = &rest[..end];
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':')))
    .then_some(name)
}

/// A MyST directive's options at the top of its body (`:linenos:`, `:caption: x`, or a
/// `---` YAML block) are not code.
fn drop_myst_options(
    code: std::sync::Arc<str>,
    lines: Vec<usize>,
) -> (std::sync::Arc<str>, Vec<usize>) {
    let all: Vec<&str> = code.split_inclusive('\n').collect();
    let mut skip = 0;
    if all.first().is_some_and(|l| l.trim() == "---") {
        if let Some(end) = all.iter().skip(1).position(|l| l.trim() == "---") {
            skip = end + 2;
        }
    } else {
        skip = all
            .iter()
            .take_while(|l| forms::is_myst_option(l.trim()))
            .count();
    }
    // One blank line may separate the options from the code.
    if skip > 0 && all.get(skip).is_some_and(|l| l.trim().is_empty()) {
        skip += 1;
    }
    if skip == 0 {
        return (code, lines);
    }
    let rest: String = all[skip..].concat();
    (rest.into(), lines.into_iter().skip(skip).collect())
}

/// The block's own annotations over the file-wide ones: a key the block sets wins.
fn merge(base: &Annotations, own: &Annotations, _info: &str, _lang: &Lang) -> Annotations {
    Annotations {
        skip: own.skip.clone().or_else(|| base.skip.clone()),
        requires: own.requires.clone().or_else(|| base.requires.clone()),
        group: own.group.clone().or_else(|| base.group.clone()),
        raises: own.raises.clone().or_else(|| base.raises.clone()),
        timeout: own.timeout.or(base.timeout),
        run: own.run.or(base.run),
        network: own.network || base.network,
        context: own.context.clone().or_else(|| base.context.clone()),
        ignore: base.ignore.iter().chain(&own.ignore).cloned().collect(),
        deps: base.deps.iter().chain(&own.deps).cloned().collect(),
        page: own.page.or(base.page),
        setup: own.setup.or(base.setup),
        args: own.args.clone().or_else(|| base.args.clone()),
    }
}

fn push_warnings(out: &mut Vec<Diagnostic>, file: &Path, line: usize, msgs: Vec<String>) {
    out.extend(
        msgs.into_iter()
            .map(|m| Diagnostic::warning(file, Some(line), m)),
    );
}

/// Only blank space and container markers (block quotes, list bullets) separate a comment from
/// the fence it annotates.
fn only_markers_between(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace() || matches!(c, '>' | '-' | '*' | '+' | '.' | ')') || c.is_ascii_digit()
    })
}

/// Whether a fenced block's source ends with a closing fence.
fn is_closed(block: &str) -> bool {
    let mut lines = block.lines();
    let Some(open) = lines.next() else {
        return false;
    };
    let open = open.trim_start_matches(|c: char| c.is_whitespace() || c == '>');
    let fence_char = open.chars().next().unwrap_or('`');
    let width = open.chars().take_while(|&c| c == fence_char).count();
    block.lines().skip(1).last().is_some_and(|last| {
        let t = last
            .trim_start_matches(|c: char| c.is_whitespace() || c == '>')
            .trim_end();
        t.len() >= width && t.chars().all(|c| c == fence_char)
    })
}

/// `<!-- … -->` comments in an HTML chunk: (offset of the body's start, body).
fn comments(html: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = html[from..].find("<!--") {
        let body_start = from + open + 4;
        let Some(close) = html[body_start..].find("-->") else {
            break;
        };
        out.push((body_start, &html[body_start..body_start + close]));
        from = body_start + close + 3;
    }
    out
}

enum Directive {
    Block(Vec<Attr>),
    File(Vec<Attr>),
}

impl Directive {
    fn parse(body: &str) -> Option<Directive> {
        let b = body.trim();
        if let Some(rest) = b.strip_prefix("docmatrix-file:") {
            return Some(Directive::File(attrs::tokenize(rest)));
        }
        if let Some(rest) = b.strip_prefix("docmatrix:") {
            return Some(Directive::Block(attrs::tokenize(rest)));
        }
        // Markers of other tools, so users can switch.
        let compact: String = b.chars().filter(|c| !c.is_whitespace()).collect();
        let skip = matches!(
            compact.as_str(),
            "pytest-codeblocks:skip" | "pytest.mark.skip" | "skip:next" | "phmdoctest-skip"
        );
        skip.then(|| {
            Directive::Block(vec![Attr {
                key: "skip".into(),
                value: Some(format!("marked `{b}`")),
            }])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(md: &str) -> Extracted {
        extract(Path::new("t.md"), md)
    }

    #[test]
    fn lines_in_containers() {
        let md =
            "# T\n\n> ```python\n> a = 1\n> b = 2\n> ```\n\n- item\n\n  ~~~py\n  x = 1\n  ~~~\n";
        let e = ex(md);
        assert_eq!(e.snippets.len(), 2);
        let s = &e.snippets[0];
        assert_eq!((s.line, s.end_line), (3, 6));
        assert_eq!(&*s.code, "a = 1\nb = 2\n");
        assert_eq!(s.code_lines, vec![4, 5]);
        let s = &e.snippets[1];
        assert_eq!((s.line, s.end_line, &*s.code), (10, 12, "x = 1\n"));
        assert_eq!(s.code_lines, vec![11]);
    }

    #[test]
    fn crlf_and_unclosed() {
        let e = ex("a\r\n\r\n```python\r\nprint(1)\r\nprint(2)\r\n```\r\n\r\n```py\r\nx\r\n");
        assert_eq!(&*e.snippets[0].code, "print(1)\nprint(2)\n");
        assert_eq!(e.snippets[0].code_lines, vec![4, 5]);
        assert_eq!(e.snippets[1].line, 8);
        assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
        assert!(e.warnings[0].message.contains("never closed"));
    }

    #[test]
    fn comments_annotate_the_next_fence_only() {
        let md = "<!-- docmatrix: requires=3.10 -->\n\n```python\nx\n```\n\ntext\n<!-- docmatrix: skip -->\n\nparagraph\n\n```python\ny\n```\n";
        let e = ex(md);
        assert_eq!(
            e.snippets[0]
                .annotations
                .requires
                .as_ref()
                .unwrap()
                .to_string(),
            ">=3.10"
        );
        assert_eq!(e.snippets[1].annotations.skip, None);
    }

    #[test]
    fn file_wide_is_under_block_attrs() {
        let md = "```python {requires=\"3.12\"}\nx\n```\n\n<!-- docmatrix-file: requires=3.10 timeout=3 -->\n\n```python\ny\n```\n";
        let e = ex(md);
        assert_eq!(
            e.snippets[0]
                .annotations
                .requires
                .as_ref()
                .unwrap()
                .to_string(),
            ">=3.12"
        );
        assert_eq!(
            e.snippets[1]
                .annotations
                .requires
                .as_ref()
                .unwrap()
                .to_string(),
            ">=3.10"
        );
        assert_eq!(e.snippets[1].annotations.timeout, Some(3.0));
    }

    #[test]
    fn brace_info_and_languages() {
        let e =
            ex("```{ .dockerfile .annotate }\nFROM x\n```\n\n```Python title=\"a.py\"\nx\n```\n");
        assert_eq!(e.snippets[0].lang, Lang::Dockerfile);
        assert_eq!(e.snippets[1].lang, Lang::Python);
        assert_eq!(e.snippets[1].foreign_attrs, vec![r#"title="a.py""#]);
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let (line, err) = decode(b"ok\nok\n\xff\n".to_vec()).unwrap_err();
        assert_eq!(line, 3);
        assert!(err.contains("byte 6"), "{err}");
    }

    #[test]
    fn tab_labels_that_name_a_minimum_version() {
        let req = |l: &str| tab_requires(l).map(|s| s.to_string());
        for (label, want) in [
            ("Python 3.10+", Some(">=3.10")),
            ("Python 3.9 and above", Some(">=3.9")),
            ("Python 3.8+", Some(">=3.8")),
            ("Python 3.10+ non-Annotated", Some(">=3.10")),
            ("python 3.11 or later", Some(">=3.11")),
            ("Python >= 3.12", Some(">=3.12")),
            ("3.13+", Some(">=3.13")),
            ("Python 3.10", None),
            ("Python 3.8 only", None),
            ("Pydantic 3.10+", None),
            ("Windows PowerShell", None),
            ("v13.10+", None),
        ] {
            assert_eq!(req(label).as_deref(), want, "{label}");
        }
    }

    #[test]
    fn blocks_in_tabs_get_their_label_and_version() {
        let md = "=== \"Python 3.10+\"\n\n    ```python\n    x = 1\n    ```\n\n=== \"Python 3.9+\"\n\n    ```python {requires=3.11}\n    y = 2\n    ```\n";
        let e = ex(md);
        assert_eq!(e.snippets.len(), 2);
        let s = &e.snippets[0];
        assert_eq!((s.line, s.end_line, s.code_lines.clone()), (3, 5, vec![4]));
        assert_eq!(s.tab.as_deref(), Some("Python 3.10+"));
        assert_eq!(
            s.annotations.requires.as_ref().unwrap().to_string(),
            ">=3.10"
        );
        // The block's own declaration wins over its tab's.
        let s = &e.snippets[1];
        assert_eq!(
            s.annotations.requires.as_ref().unwrap().to_string(),
            ">=3.11"
        );
    }

    #[test]
    fn myst_code_directives_and_options() {
        let md = "```{code-block} python\n:caption: a\n:linenos:\n\nz = 1\n```\n\n```{code-cell} ipython3\n---\ntags: [x]\n---\nw = 2\n```\n\n```{include} ../README.md\n```\n";
        let e = ex(md);
        assert_eq!(e.snippets[0].lang, Lang::Python);
        assert_eq!(
            (&*e.snippets[0].code, e.snippets[0].code_lines.clone()),
            ("z = 1\n", vec![5])
        );
        assert_eq!(e.snippets[1].lang, Lang::Python);
        assert_eq!(
            (&*e.snippets[1].code, e.snippets[1].code_lines.clone()),
            ("w = 2\n", vec![12])
        );
        assert_eq!(
            e.snippets[2].unchecked_reason().as_deref(),
            Some("MyST directive {include}")
        );
    }

    #[test]
    fn bom_and_front_matter_are_not_blocks() {
        let e = ex("\u{feff}---\ntitle: x\n---\n\n```python\nq = 1\n```\n");
        assert_eq!(e.snippets.len(), 1);
        assert_eq!(e.snippets[0].line, 5);
        let e = ex("+++\ntitle = 'x'\n+++\n\n```py\nq = 1\n```\n");
        assert_eq!(e.snippets.len(), 1);
    }

    #[test]
    fn attributes_without_a_language() {
        let e = ex("```hl_lines=\"3 4\"\nx\n```\n");
        assert_eq!(e.snippets[0].lang, Lang::Other(String::new()));
        assert_eq!(
            e.snippets[0].unchecked_reason().as_deref(),
            Some("fence without a language")
        );
    }

    #[test]
    fn code_that_is_not_a_fence_is_counted() {
        let e = ex("text\n\n    indented = 1\n\n<pre><code>x = 1</code></pre>\n");
        let why: Vec<_> = e
            .unread
            .iter()
            .map(|u| (u.line, u.reason.as_str()))
            .collect();
        assert_eq!(
            why,
            vec![(3, "indented code block"), (5, "HTML <pre> block")]
        );
    }
}
