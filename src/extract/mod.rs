//! Markdown → [`Snippet`]s, with pulldown-cmark.
//!
//! Owns: fenced code blocks (``` and ~~~, in lists and block quotes too), the line map from
//! code lines to Markdown lines, and the annotations (info string, the HTML comment before a
//! fence, file-wide comments). Must not know: processes, printing. Never panics on input:
//! problems are [`Diagnostic`]s.

pub mod attrs;

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::model::{Annotations, Diagnostic, Lang, Snippet};
use attrs::{Attr, Origin};

/// Everything found in one file.
#[derive(Debug, Default)]
pub struct Extracted {
    pub snippets: Vec<Snippet>,
    pub warnings: Vec<Diagnostic>,
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
    let index = LineIndex::new(text);
    let mut out = Extracted::default();
    let mut file_attrs: Vec<(usize, Vec<Attr>)> = Vec::new();
    let mut pending: Option<Pending> = None;
    let mut current: Option<Open> = None;

    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
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
                });
            }
            Event::Text(t) => {
                if let Some(open) = &mut current {
                    open.pieces.push((open.code.len(), range.start));
                    open.code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(open) = current.take() {
                    let snippet = open.finish(file, text, &index, &mut out.warnings);
                    out.snippets.push(snippet);
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => {
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
    out
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
}

impl Open {
    fn finish(
        mut self,
        file: &Path,
        text: &str,
        index: &LineIndex,
        warnings: &mut Vec<Diagnostic>,
    ) -> Snippet {
        let line = index.line(self.range.start);
        let block = &text[self.range.clone()];
        let end_line = index.line(self.range.end.saturating_sub(1).max(self.range.start));
        if !is_closed(block) {
            warnings.push(Diagnostic::new(
                file,
                Some(line),
                "code fence is never closed: the block runs to the end of its container",
            ));
        }
        let info = self.info.trim().to_string();
        let (lang, rest) = split_info(&info);
        let comment = self.comment.take();
        let (code, code_lines) = self.line_map(index);
        let mut ann = Annotations::default();
        if let Some(c) = &comment {
            let (w, _) = attrs::apply(&c.attrs, Origin::Comment, &mut ann);
            push_warnings(warnings, file, c.line, w);
        }
        let (w, foreign) = attrs::apply(&attrs::tokenize(rest), Origin::InfoString, &mut ann);
        if lang == Lang::Python {
            push_warnings(warnings, file, line, w);
        }
        Snippet {
            file: file.to_path_buf(),
            line,
            end_line,
            lang,
            info,
            code,
            code_lines,
            annotations: ann,
            foreign_attrs: foreign,
        }
    }
}

impl Open {
    /// The code with `\n` line ends, and the Markdown line of each of its lines. In containers
    /// (lists, quotes) pulldown-cmark gives a piece per line, so a line's start is always the
    /// start of a piece or a verbatim offset inside one.
    fn line_map(self, index: &LineIndex) -> (std::sync::Arc<str>, Vec<usize>) {
        let mut lines = Vec::new();
        let mut at = 0;
        while at < self.code.len() {
            let piece = self
                .pieces
                .partition_point(|&(c, _)| c <= at)
                .saturating_sub(1);
            let (c, src) = self.pieces.get(piece).copied().unwrap_or((0, 0));
            lines.push(index.line(src + (at - c)));
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

/// The language and the attribute text of an info string. `{ .dockerfile .annotate }` names
/// its language by its first class.
fn split_info(info: &str) -> (Lang, &str) {
    if info.starts_with('{') {
        let lang = attrs::tokenize(info)
            .into_iter()
            .find(|a| a.key.starts_with('.') && a.value.is_none())
            .map_or(Lang::Other(String::new()), |a| Lang::from_word(&a.key));
        return (lang, info);
    }
    let end = info
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(info.len());
    (Lang::from_word(&info[..end]), &info[end..])
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
    }
}

fn push_warnings(out: &mut Vec<Diagnostic>, file: &Path, line: usize, msgs: Vec<String>) {
    out.extend(
        msgs.into_iter()
            .map(|m| Diagnostic::new(file, Some(line), m)),
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
}
