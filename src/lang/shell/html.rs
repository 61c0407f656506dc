//! HTML in terminal sessions. Themes that animate a session (a fence inside
//! `<div class="termy">`) show it through HTML: colours as `<span style=…>`, `<font color=…>`
//! or `<b>` around output, `&lt;`, `&gt;` and `&amp;` for the characters they escape, now and
//! then a tag inside a command (`<u style=…>main.py</u>`).
//!
//! [`read`] reads a command or a line of output as the reader sees it: the known inline tags
//! (an opening tag whose closing tag follows on the same line, and that closing tag) dropped,
//! entities decoded. A session without HTML is left as it is; shell that only looks a little
//! like HTML (`sort <b >c`, a lone `&`) too. Expected and actual output are both read this way
//! before they are compared, so a program that prints HTML still matches the guide.

use std::borrow::Cow;

/// The inline tags read as decoration: what terminal themes and guides put around text.
const TAGS: &[&str] = &[
    "a", "abbr", "b", "big", "code", "del", "em", "font", "i", "ins", "kbd", "mark", "s", "samp",
    "small", "span", "strike", "strong", "sub", "sup", "u",
];

/// `text` as the reader sees it (see the module documentation). Never adds or removes a line.
pub fn read(text: &str) -> Cow<'_, str> {
    if !text.contains(['<', '&']) {
        return Cow::Borrowed(text);
    }
    let marks = scan(text);
    if marks.is_empty() {
        return Cow::Borrowed(text);
    }
    clean(text, &marks)
}

/// One piece of markup found in the text: a tag or an entity, at `start..end`.
struct Mark {
    start: usize,
    end: usize,
    what: What,
}

enum What {
    Open(String),
    Close(String),
    Entity(char),
}

fn clean<'a>(text: &'a str, marks: &[Mark]) -> Cow<'a, str> {
    // An opening tag goes with the nearest closing tag of its name after it; tags left alone
    // (a `<b>` never closed on the line) stay, as they may be shell after all.
    let mut dropped = vec![false; marks.len()];
    let mut open: Vec<usize> = Vec::new();
    for (k, m) in marks.iter().enumerate() {
        match &m.what {
            What::Open(_) => open.push(k),
            What::Close(name) => {
                let found = open
                    .iter()
                    .rposition(|&o| matches!(&marks[o].what, What::Open(n) if n == name));
                if let Some(pos) = found {
                    dropped[open[pos]] = true;
                    dropped[k] = true;
                    open.truncate(pos);
                }
            }
            What::Entity(_) => dropped[k] = true,
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (m, drop) in marks.iter().zip(dropped) {
        if !drop {
            continue;
        }
        out.push_str(&text[at..m.start]);
        if let What::Entity(c) = m.what {
            out.push(c);
        }
        at = m.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// The tags and entities of `text`, in order.
fn scan(text: &str) -> Vec<Mark> {
    let bytes = text.as_bytes();
    let mut marks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let found = match bytes[i] {
            b'<' => tag(&text[i..]),
            b'&' => entity(&text[i..]).map(|(c, len)| (What::Entity(c), len)),
            _ => None,
        };
        match found {
            Some((what, len)) => {
                marks.push(Mark {
                    start: i,
                    end: i + len,
                    what,
                });
                i += len;
            }
            None => i += 1,
        }
    }
    marks
}

/// A known inline tag at the start of `s` (`<b>`, `<font color="#4E9A06">`, `</span>`): what it
/// is and its length. Tags never run over a line.
fn tag(s: &str) -> Option<(What, usize)> {
    let rest = s.strip_prefix('<')?;
    let (closing, rest) = match rest.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = rest[..name_len].to_ascii_lowercase();
    if !TAGS.contains(&name.as_str()) {
        return None;
    }
    let after = &rest[name_len..];
    let prefix = s.len() - after.len();
    if closing {
        let end = after.find(|c: char| c != ' ' && c != '\t')?;
        return (after.as_bytes()[end] == b'>').then(|| (What::Close(name), prefix + end + 1));
    }
    if after.starts_with('>') {
        return Some((What::Open(name), prefix + 1));
    }
    if !after.starts_with([' ', '\t']) {
        return None;
    }
    // Attributes, whose quoted values may hold `>`.
    let mut quote: Option<char> = None;
    for (k, c) in after.char_indices() {
        match (quote, c) {
            (_, '\n' | '<') => return None,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some((What::Open(name), prefix + k + 1)),
            _ => {}
        }
    }
    None
}

/// An entity at the start of `s` (`&lt;`, `&#39;`, `&#x27;`): its character and length.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s[1..].find(';')? + 1;
    let body = &s[1..end];
    if body.is_empty() || body.len() > 8 {
        return None;
    }
    let c = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let num = body.strip_prefix('#')?;
            let n = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(n).filter(|c| *c != '\0')?
        }
    };
    Some((c, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_without_its_decoration() {
        assert_eq!(
            read(
                r#"<span style="color: green;">INFO</span>:     Serving on <b>http://127.0.0.1:8000</b>"#
            ),
            "INFO:     Serving on http://127.0.0.1:8000"
        );
        assert_eq!(
            read(r##"<font color="#34E2E2"><b>/srv/bakery</b></font> changes"##),
            "/srv/bakery changes"
        );
        assert_eq!(read("2 &lt; 3 &amp;&amp; 3 &gt; 2"), "2 < 3 && 3 > 2");
        assert_eq!(read("&#39;quoted&#x27; &nbsp;"), "'quoted'  ");
        // Entities are decoded once: `&amp;lt;` is the text `&lt;`.
        assert_eq!(read("&amp;lt;"), "&lt;");
        // A tag with no closing tag on the line, an unknown tag, a lone `&` stay as they are.
        assert_eq!(read("<b>bold"), "<b>bold");
        assert_eq!(
            read("<html><p>x</p></html> & <div>"),
            "<html><p>x</p></html> & <div>"
        );
        assert_eq!(
            read("a &unknown; b &#xZZ; &#0;"),
            "a &unknown; b &#xZZ; &#0;"
        );
        // An attribute value may hold `>`; a closing tag may hold spaces; case does not matter.
        assert_eq!(read(r#"<SPAN title="a>b">x</SPAN >"#), "x");
        // Nested tags of one name pair up from the inside.
        assert_eq!(read("<b>a<b>b</b>c</b>"), "abc");
        assert!(matches!(read("plain"), Cow::Borrowed(_)));
        assert!(matches!(read("a < b & c"), Cow::Borrowed(_)));
    }

    #[test]
    fn commands() {
        assert_eq!(
            read(r#"fastapi dev <u style="text-decoration: underline; color: #fff">main.py</u>"#),
            "fastapi dev main.py"
        );
        assert_eq!(
            read("grep -c ERROR log &gt; n.txt &amp;&amp; cat n.txt"),
            "grep -c ERROR log > n.txt && cat n.txt"
        );
        assert_eq!(
            read(r#"python -c "print(2 &lt; 3)""#),
            r#"python -c "print(2 < 3)""#
        );
        // Shell redirections that look a little like tags stay.
        assert_eq!(read("sort <b >c"), "sort <b >c");
        assert_eq!(read("sort <b>c"), "sort <b>c");
        assert_eq!(read("cat <<EOF >out"), "cat <<EOF >out");
        // A tag never runs over a line; lines are kept.
        assert_eq!(read("a <b\n>x</b>"), "a <b\n>x</b>");
        assert_eq!(read("a \\\n  &amp;&amp; b"), "a \\\n  && b");
    }
}
