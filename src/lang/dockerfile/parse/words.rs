//! Shell-like words: the one tokenizer of Dockerfile arguments and of the shell commands the
//! rules read (RUN, `HEALTHCHECK CMD`, heredoc scripts), and `$VAR` expansion.
//!
//! No I/O, no printing, no panics.

/// A shell-like word: its text with quotes removed, and its byte range in the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// Some part of it was quoted.
    pub quoted: bool,
}

/// Expands `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR-default}`; `None` when a variable is
/// unknown and has no default.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            let body = &inner[..close];
            let (name, default) = match body.find([':', '-']) {
                Some(i) => {
                    let d = &body[i..];
                    let d = d.strip_prefix(":-").or_else(|| d.strip_prefix('-'));
                    (&body[..i], d)
                }
                None => (body, None),
            };
            match lookup(name).filter(|v| !v.is_empty()) {
                Some(v) => out.push_str(&v),
                None => out.push_str(default?),
            }
            rest = &inner[close + 1..];
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            out.push_str(&lookup(&after[..n])?);
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// Splits text into shell-like words: blanks separate words, `'...'` and `"..."` quote,
/// `\` escapes the next character outside single quotes. Offsets are byte offsets in `text`.
pub fn words(text: &str) -> Vec<Word> {
    words_esc(text, '\\')
}

/// [`words`] with another escape character (a Dockerfile's `# escape=`).
pub fn words_esc(text: &str, escape: char) -> Vec<Word> {
    tokens(text, escape, false)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w),
            Token::Break => None,
        })
        .collect()
}

/// The simple commands of a shell script, each as its words: `\n ; & | ( ) `` ` and `$(`
/// separate commands, `#` at the start of a word comments to the end of the line, a `\` at
/// the end of a line continues it. Offsets are byte offsets in `script`; empty commands are
/// left out.
pub(crate) fn shell_commands(script: &str) -> Vec<Vec<Word>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for t in tokens(script, '\\', true) {
        match t {
            Token::Word(w) => cur.push(w),
            Token::Break if cur.is_empty() => {}
            Token::Break => out.push(std::mem::take(&mut cur)),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

enum Token {
    Word(Word),
    /// Between two shell commands.
    Break,
}

/// The tokenizer of [`words_esc`] and [`shell_commands`]. As arguments (`shell` false), words
/// are separated by any white space and an escape at the very end is kept. As a shell script
/// (`shell` true), words are separated by blanks, the command separators, comments and
/// `$(` make [`Token::Break`]s, and an escaped line end (also within double quotes) and an
/// escape at the very end are dropped.
fn tokens(text: &str, escape: char, shell: bool) -> Vec<Token> {
    let mut out = Vec::new();
    let mut cur: Option<Word> = None;
    let mut chars = text.char_indices().peekable();
    let flush = |cur: &mut Option<Word>, out: &mut Vec<Token>| {
        if let Some(w) = cur.take() {
            out.push(Token::Word(w));
        }
    };
    while let Some((i, c)) = chars.next() {
        let blank = if shell {
            matches!(c, ' ' | '\t' | '\r')
        } else {
            c.is_whitespace()
        };
        if blank {
            flush(&mut cur, &mut out);
            continue;
        }
        if shell {
            let separator = match c {
                '\n' | ';' | '&' | '|' | '(' | ')' | '`' => true,
                '$' => chars.next_if(|&(_, d)| d == '(').is_some(),
                '#' if cur.is_none() => {
                    // A comment, to the end of the line.
                    for (_, d) in chars.by_ref() {
                        if d == '\n' {
                            break;
                        }
                    }
                    true
                }
                _ => false,
            };
            if separator {
                flush(&mut cur, &mut out);
                out.push(Token::Break);
                continue;
            }
            if c == escape && chars.next_if(|&(_, d)| d == '\n').is_some() {
                continue;
            }
            if c == escape && chars.peek().is_none() {
                break;
            }
        }
        let w = cur.get_or_insert_with(|| Word {
            text: String::new(),
            start: i,
            end: i,
            quoted: false,
        });
        match c {
            '\'' | '"' => {
                w.quoted = true;
                let q = c;
                let mut end = i + 1;
                let mut closed = false;
                while let Some((j, d)) = chars.next() {
                    end = j + d.len_utf8();
                    if d == q {
                        closed = true;
                        break;
                    }
                    if q == '"' && d == escape {
                        if let Some(&(k, e)) = chars.peek() {
                            let line_end = shell && e == '\n';
                            if line_end || matches!(e, '"' | '\\' | '$' | '`') {
                                chars.next();
                                end = k + e.len_utf8();
                                if !line_end {
                                    w.text.push(e);
                                }
                                continue;
                            }
                        }
                    }
                    w.text.push(d);
                }
                if !closed {
                    end = text.len();
                }
                w.end = end;
            }
            c if c == escape => {
                if let Some((k, e)) = chars.next() {
                    w.text.push(e);
                    w.end = k + e.len_utf8();
                } else {
                    w.text.push(escape);
                    w.end = i + 1;
                }
            }
            _ => {
                w.text.push(c);
                w.end = i + c.len_utf8();
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_vars() {
        let look = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand("a$A-${A}", &look).as_deref(), Some("ax-x"));
        assert_eq!(expand("${B:-d}", &look).as_deref(), Some("d"));
        assert_eq!(expand("$B", &look), None);
        assert_eq!(expand("${A", &look), None);
        assert_eq!(expand("$ $", &look).as_deref(), Some("$ $"));
    }

    #[test]
    fn words_split() {
        let ws = words(r#"a "b c" 'd e'f g\ h "x\"y""#);
        let t: Vec<&str> = ws.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(t, vec!["a", "b c", "d ef", "g h", "x\"y"]);
        assert_eq!(ws[1].start, 2);
        assert_eq!(ws[1].end, 7);
        assert!(words("\"unclosed").len() == 1);
    }

    #[test]
    fn shell_commands_split() {
        let text = |cmds: Vec<Vec<Word>>| -> Vec<Vec<String>> {
            cmds.into_iter()
                .map(|c| c.into_iter().map(|w| w.text).collect())
                .collect()
        };
        let script = "apt-get update && apt-get install -y \\\n  curl; echo \"a \\\"b\\\nc\" # done\nx=$(id -u) | tr\\";
        assert_eq!(
            text(shell_commands(script)),
            vec![
                vec!["apt-get", "update"],
                vec!["apt-get", "install", "-y", "curl"],
                vec!["echo", "a \"bc"],
                vec!["x="],
                vec!["id", "-u"],
                vec!["tr"],
            ]
        );
        let cmds = shell_commands("a  'b c'\n d");
        assert_eq!((cmds[0][1].start, cmds[0][1].end), (3, 8));
        assert_eq!(cmds[1][0].start, 10);
        // As arguments, the same text is words only, white space anywhere splitting them.
        let ws: Vec<String> = words("a;b\u{a0}c\\").into_iter().map(|w| w.text).collect();
        assert_eq!(ws, vec!["a;b", "c\\"]);
    }
}
