//! Text from examples and tools, made safe to publish (docs/security.md).
//!
//! docmatrix runs code it did not write, and what that code prints (its exception message,
//! its stderr, its output in a session's diff) is copied into every report. So is what a tool
//! says about a block (a syntax error quoting the block), the Markdown's own lines, paths and
//! info strings. Two layers keep that text inert:
//!
//! 1. [`clean`] rewrites every text of a [`Report`] once, when the report is assembled
//!    (`lib.rs`) and when one is read back (`json::parse`, for `merge`): a character that
//!    could act on a terminal, a log viewer or a parser is replaced by its escape, as Python's
//!    `repr` writes it. Those are the C0 controls but `\n` and `\t`, DEL, the C1 controls
//!    (U+0080–U+009F), the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//!    U+2066–U+2069: "Trojan Source"), the line and paragraph separators (U+2028, U+2029) and
//!    the two non-characters XML 1.0 forbids (U+FFFE, U+FFFF). `\r\n` is a line end and
//!    becomes `\n`; any other `\r` (a progress bar, or text overwriting what came before it)
//!    is shown as `\r`. Texts that are one line by nature (a path, an exception type, a rule
//!    id, the failing line) also show `\n` and `\t` as `\n` and `\t`. Backslashes are left
//!    alone, so cleaning twice changes nothing; the price is that a program that printed the
//!    four characters `\x1b` reads the same as one that printed an escape.
//! 2. Each format escapes for its medium (HTML, XML, Markdown, workflow commands), and every
//!    format but `github` passes its whole text through one of the `inert_*` functions, so
//!    that no line of it can be read as a GitHub Actions workflow command (`::add-mask::…` at
//!    the start of a line, or the legacy `##[add-mask]…` anywhere in one) when it is printed
//!    in a CI log. The `github` format brackets the text it did not write with
//!    `::stop-commands::`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Report;

/// Whether `c` is never written raw into a report (see the module documentation).
pub(crate) fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x08'
            | '\x0b'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{fffe}'
            | '\u{ffff}'
    )
}

/// Appends the escape of `c`, as Python's `repr` writes it: `\r`, `\n`, `\t`, `\x1b`, `\x85`,
/// `\u202e`.
pub(crate) fn push_escape(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
    }
}

/// `s` with every unsafe character escaped; `\n` and `\t` stay, `\r\n` becomes `\n`.
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `s` as one line: like [`text`], and `\n` and `\t` are escaped too.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, one_line: bool) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe(c) || (one_line && (c == '\n' || c == '\t'));
    let Some(first) = s.find(bad) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    let mut chars = s[first..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && !one_line && chars.peek() == Some(&'\n') {
            // `\r\n` is a line end: the `\n` is kept by the next turn.
            continue;
        }
        if bad(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_clean_text(s: &str) -> bool {
    !s.contains(is_unsafe)
}

fn is_clean_line(s: &str) -> bool {
    !s.contains(|c| is_unsafe(c) || c == '\n' || c == '\t')
}

/// How a field is cleaned.
#[derive(Clone, Copy)]
enum Kind {
    /// Several lines (stderr, a diff, a message).
    Text,
    /// One line (a path, a name, an id, the failing line).
    Line,
}

/// Visits every text of a report that may come from outside docmatrix: from an example's run,
/// a tool, the Markdown, the file system. One definition for reading and for rewriting, so
/// that [`is_clean`] and [`clean`] can never disagree on the fields. (`other_blocks`' keys are
/// map keys, visited by the callers.)
macro_rules! walk {
    ($name:ident $(, $m:tt)?) => {
        fn $name(
            r: & $($m)? Report,
            text: &mut dyn FnMut(& $($m)? String, Kind),
            path: &mut dyn FnMut(& $($m)? PathBuf),
        ) {
            use Kind::{Line, Text};
            macro_rules! opt {
                ($field:expr, $kind:expr) => {
                    if let Some(s) = & $($m)? $field {
                        text(s, $kind);
                    }
                };
            }
            for (_, i) in & $($m)? r.interpreters {
                if let Some(i) = i {
                    path(& $($m)? i.path);
                    text(& $($m)? i.version, Line);
                    for p in & $($m)? i.packages {
                        text(p, Line);
                    }
                    for p in & $($m)? i.preimported {
                        text(p, Line);
                    }
                    for n in & $($m)? i.not_preimported {
                        text(& $($m)? n.statement, Line);
                        text(& $($m)? n.why, Line);
                    }
                    for p in & $($m)? i.preimported_for_importers {
                        text(p, Line);
                    }
                    for m in & $($m)? i.learned {
                        text(m, Line);
                    }
                    if let Some(c) = & $($m)? i.container {
                        text(& $($m)? c.engine, Line);
                        text(& $($m)? c.image, Line);
                        text(& $($m)? c.image_id, Line);
                        path(& $($m)? c.python);
                    }
                }
            }
            for e in & $($m)? r.examples {
                path(& $($m)? e.file);
                text(& $($m)? e.language, Line);
                opt!(e.tab, Line);
                opt!(e.group, Line);
                opt!(e.requires, Line);
                for d in & $($m)? e.deps {
                    text(d, Line);
                }
                opt!(e.skip, Line);
                for p in & $($m)? e.programs {
                    text(p, Line);
                }
                for (_, o) in & $($m)? e.results {
                    opt!(o.error, Line);
                    opt!(o.error_type, Line);
                    opt!(o.reason, Text);
                    opt!(o.code, Line);
                    opt!(o.source, Line);
                    opt!(o.stderr, Text);
                    opt!(o.diff, Text);
                }
                text(& $($m)? e.measured, Line);
                opt!(e.policy_message, Text);
                for f in & $($m)? e.findings {
                    path(& $($m)? f.file);
                    text(& $($m)? f.tool, Line);
                    opt!(f.rule, Line);
                    text(& $($m)? f.message, Text);
                    opt!(f.why, Text);
                    opt!(f.help, Text);
                }
            }
            for d in (& $($m)? r.warnings)
                .into_iter()
                .chain(& $($m)? r.errors)
                .chain(& $($m)? r.foreign)
            {
                path(& $($m)? d.file);
                text(& $($m)? d.message, Text);
            }
        }
    };
}

walk!(visit);
walk!(visit_mut, mut);

fn path_is_clean(p: &std::path::Path) -> bool {
    p.to_str().is_some_and(is_clean_line)
}

fn clean_path(p: &mut PathBuf) {
    if path_is_clean(p) {
        return;
    }
    // Also a path that is not UTF-8, which JSON cannot hold: its lossy text.
    let lossy = p.to_string_lossy();
    *p = PathBuf::from(line(&lossy).into_owned());
}

/// Cleans the keys of a count map; keys that become equal add up.
fn clean_keys(m: &mut BTreeMap<String, usize>) {
    if m.keys().any(|k| !is_clean_line(k)) {
        let mut clean = BTreeMap::new();
        for (k, n) in std::mem::take(m) {
            *clean.entry(line(&k).into_owned()).or_insert(0) += n;
        }
        *m = clean;
    }
}

/// Whether every text of `r` is already clean (then [`clean`] would change nothing).
pub(crate) fn is_clean(r: &Report) -> bool {
    let ok = std::cell::Cell::new(
        r.other_blocks
            .keys()
            .chain(r.not_checked.keys())
            .all(|k| is_clean_line(k)),
    );
    visit(
        r,
        &mut |s, kind| {
            let clean = match kind {
                Kind::Text => is_clean_text(s),
                Kind::Line => is_clean_line(s),
            };
            ok.set(ok.get() && clean);
        },
        &mut |p| ok.set(ok.get() && path_is_clean(p)),
    );
    ok.get()
}

/// Escapes every text of `r` that may come from outside docmatrix (see the module
/// documentation). Cleaning a clean report changes nothing.
pub fn clean(r: &mut Report) {
    clean_keys(&mut r.other_blocks);
    clean_keys(&mut r.not_checked);
    visit_mut(
        r,
        &mut |s, kind| {
            let cleaned = match kind {
                Kind::Text => text(s),
                Kind::Line => line(s),
            };
            if let Cow::Owned(c) = cleaned {
                *s = c;
            }
        },
        &mut clean_path,
    );
}

/// `r` cleaned: `r` itself when it is clean already (always, for a report docmatrix made), else
/// a cleaned copy. Every renderer starts with this, so that no format depends on where its
/// report came from.
pub(crate) fn cleaned(r: &Report) -> Cow<'_, Report> {
    if is_clean(r) {
        Cow::Borrowed(r)
    } else {
        let mut c = r.clone();
        clean(&mut c);
        Cow::Owned(c)
    }
}

/// Whether the GitHub Actions runner could take `line` for a workflow command: one that starts
/// with `::` once leading white space is trimmed, or holds the legacy `##[` anywhere. (Leading
/// colour codes are skipped too, in case a log viewer drops them first.)
pub(crate) fn is_command_like(line: &str) -> bool {
    line[lead_len(line)..].starts_with("::") || line.contains("##[")
}

/// The length of the white space and SGR sequences (`\x1b[1;31m`, docmatrix's colours: no
/// other escape sequence is left in a report) that `line` starts with.
fn lead_len(line: &str) -> usize {
    let mut i = 0;
    loop {
        let rest = &line[i..];
        let t = rest.trim_start();
        i += rest.len() - t.len();
        if let Some(after) = t.strip_prefix("\x1b[") {
            let n = after
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(after.len());
            if after[n..].starts_with('m') {
                i += 2 + n + 1;
                continue;
            }
        }
        return i;
    }
}

/// Rewrites each line of `text` that [`is_command_like`] with `lead` in place of the first `:`
/// of a leading `::`, and `bracket` in place of the `[` of every `##[`.
fn inert(text: String, lead: &str, bracket: &str) -> String {
    if !text.split(['\n', '\r']).any(is_command_like) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 64);
    for piece in text.split_inclusive(['\n', '\r']) {
        let at = lead_len(piece);
        let rest = if piece[at..].starts_with("::") {
            out.push_str(&piece[..at]);
            out.push_str(lead);
            &piece[at + 1..]
        } else {
            piece
        };
        out.push_str(&rest.replace("##[", &format!("##{bracket}")));
    }
    out
}

/// For plain text (the terminal report, Markdown): a backslash before a leading `::` and
/// before the `[` of `##[` (`\::add-mask::…`, `##\[error]…`). In Markdown text the backslash
/// is an escape and does not show; in a code span it does.
pub(crate) fn inert_plain(text: String) -> String {
    inert(text, "\\:", "\\[")
}

/// For XML and HTML: character references (`&#58;`, `&#91;`), which every reader turns back
/// into the same text.
pub(crate) fn inert_xml(text: String) -> String {
    inert(text, "&#58;", "&#91;")
}

/// For JSON: `##[` as `##\u005b`, the same string to every reader (a JSON text never starts a
/// line inside a string, whose line ends are escaped).
pub(crate) fn inert_json(text: String) -> String {
    if text.contains("##[") {
        text.replace("##[", "##\\u005b")
    } else {
        text
    }
}

/// Escapes text for HTML content and (quoted) attribute values; a control or bidi character
/// shows as its escape (`\x1b`, see [`safe`](super::safe)).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_unsafe(c) => push_escape(&mut out, c),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Diagnostic, Outcome, Severity, Status};
    use crate::report::Example;

    #[test]
    fn controls_are_escaped_as_python_writes_them() {
        assert_eq!(text("plain\ttext\nok"), "plain\ttext\nok");
        assert!(matches!(text("plain"), Cow::Borrowed(_)));
        assert_eq!(text("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(
            text("bell\x07 nul\0 vt\x0b ff\x0c bs\x08"),
            "bell\\x07 nul\\x00 vt\\x0b ff\\x0c bs\\x08"
        );
        assert_eq!(
            text("del\x7f nel\u{85} csi\u{9b}"),
            "del\\x7f nel\\x85 csi\\x9b"
        );
        assert_eq!(
            text(
                "\u{202e}evil\u{202c} \u{2066}iso\u{2069} \u{202a}\u{202b}\u{202d}\u{2067}\u{2068}"
            ),
            "\\u202eevil\\u202c \\u2066iso\\u2069 \\u202a\\u202b\\u202d\\u2067\\u2068"
        );
        assert_eq!(
            text("a\u{2028}b\u{2029}c\u{fffe}\u{ffff}"),
            "a\\u2028b\\u2029c\\ufffe\\uffff"
        );
        // Neither ordinary non-ASCII text nor other format characters are touched.
        assert_eq!(text("金额 é ‐ \u{200d}"), "金额 é ‐ \u{200d}");
    }

    #[test]
    fn carriage_returns() {
        // A line end written the Windows way is a line end.
        assert_eq!(text("one\r\ntwo\r\n"), "one\ntwo\n");
        // Any other `\r` would let later text overwrite earlier text: it shows.
        assert_eq!(text("all good\rFAKE"), "all good\\rFAKE");
        assert_eq!(text("end\r"), "end\\r");
        assert_eq!(text("\r\r\n"), "\\r\n");
        // On one line, everything shows.
        assert_eq!(line("a\r\nb\tc"), "a\\r\\nb\\tc");
    }

    #[test]
    fn cleaning_is_idempotent() {
        for s in [
            "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
            "a\r\nb\rc",
            "\\x1b already",
            "\u{202e}",
        ] {
            let once = text(s).into_owned();
            assert_eq!(text(&once), once);
            let once = line(s).into_owned();
            assert_eq!(line(&once), once);
            assert!(once.chars().all(|c| !is_unsafe(c) && c != '\n'));
        }
    }

    /// A report whose every text field holds `bad`.
    fn dirty(bad: &str) -> Report {
        let s = |x: &str| format!("{x}{bad}");
        let mut o = Outcome::decided(Status::Fail, s("reason"));
        o.error = Some(s("ValueError: x"));
        o.error_type = Some(s("ValueError"));
        o.code = Some(s("raise ValueError()"));
        o.stderr = Some(s("Traceback\n"));
        o.diff = Some(s("-a\n+b"));
        let d = Diagnostic::warning(s("docs/w.md"), Some(1), s("warning"));
        let mut interpreters = BTreeMap::new();
        interpreters.insert(
            "3.12".parse().unwrap(),
            Some(crate::interp::Interpreter {
                path: s("/usr/bin/python").into(),
                version: s("3.12.1"),
                source: crate::interp::Origin::Path,
                packages: vec![s("dmdemo==1.0")],
                preimported: vec![s("import dmdemo")],
                not_preimported: vec![crate::interp::NotPreimported {
                    statement: s("import noisy"),
                    why: s("writes output"),
                }],
                preimported_for_importers: Vec::new(),
                learned: vec![s("dmdemo.lazy")],
                container: Some(Box::new(crate::interp::Container {
                    engine: s("podman"),
                    image: s("python:3.12-slim"),
                    image_id: s("sha256:0123"),
                    python: s("/usr/local/bin/python3.12").into(),
                    program: "/usr/bin/podman".into(),
                })),
            }),
        );
        let mut results = BTreeMap::new();
        results.insert("3.12".parse().unwrap(), o);
        let mut other_blocks = BTreeMap::new();
        other_blocks.insert(s("text"), 1);
        other_blocks.insert("text".to_string(), 2);
        Report {
            schema: 1,
            versions: vec!["3.12".parse().unwrap()],
            sandbox: crate::sys::sandbox::SandboxKind::Bwrap,
            interpreters,
            partition: None,
            examples: vec![Example {
                file: s("docs/guide.md").into(),
                line: 1,
                end_line: 3,
                language: s("python"),
                tab: Some(s("Python 3.10+")),
                group: Some(s("g")),
                requires: Some(s(">=3.9")),
                deps: Vec::new(),
                skip: Some(s("why")),
                programs: vec![s("main.py = docs/guide.md:1")],
                results,
                measured: s("none"),
                policy: crate::judge::Policy::Fail,
                policy_message: Some(s("fails")),
                findings: vec![{
                    let mut f = Diagnostic::finding(
                        2,
                        Severity::Error,
                        s("bash -n"),
                        s("syntax"),
                        s("near `x'"),
                    )
                    .with_why(s("why"))
                    .with_help(s("fix"));
                    f.file = s("docs/g.md").into();
                    f
                }],
            }],
            other_blocks: other_blocks.clone(),
            not_checked: other_blocks,
            warnings: vec![d.clone()],
            errors: vec![d.clone()],
            summary: Default::default(),
            foreign: vec![d],
            elapsed: Default::default(),
        }
    }

    #[test]
    fn every_text_of_a_report_is_cleaned() {
        for bad in ["\x1b[2J", "\u{202e}", "\u{85}", "\0", "\x07"] {
            let r = dirty(bad);
            assert!(!is_clean(&r), "{bad:?}");
            let mut c = r.clone();
            clean(&mut c);
            assert!(is_clean(&c), "{bad:?}");
            // Nothing unsafe is left in any field (the Debug text shows every field, the
            // skipped ones too, with the escapes' backslashes doubled).
            let debug = format!("{c:?}");
            assert!(
                !debug.contains(&format!("{bad:?}").trim_matches('"').to_string()),
                "{debug}"
            );
            assert_eq!(c.other_blocks.values().sum::<usize>(), 3);
            assert_eq!(c.not_checked.values().sum::<usize>(), 3);
            let mut twice = c.clone();
            clean(&mut twice);
            assert_eq!(format!("{twice:?}"), format!("{c:?}"));
            assert!(matches!(cleaned(&c), Cow::Borrowed(_)));
            assert!(matches!(cleaned(&r), Cow::Owned(_)));
        }
        // One-line fields show a line break; texts keep theirs.
        let mut r = dirty("\nnext");
        clean(&mut r);
        let e = &r.examples[0];
        assert_eq!(e.file, PathBuf::from("docs/guide.md\\nnext"));
        assert_eq!(
            e.results.values().next().unwrap().stderr.as_deref(),
            Some("Traceback\n\nnext")
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_becomes_text() {
        use std::os::unix::ffi::OsStrExt;
        let mut p = PathBuf::from(std::ffi::OsStr::from_bytes(b"docs/\xff\x1b.md"));
        clean_path(&mut p);
        assert_eq!(p, PathBuf::from("docs/\u{fffd}\\x1b.md"));
    }

    #[test]
    fn workflow_commands_are_made_inert() {
        assert!(is_command_like("::add-mask::secret"));
        assert!(is_command_like("   \t::error::x"));
        assert!(is_command_like("\u{a0}\u{3000}::error::x"));
        assert!(is_command_like("text ##[add-mask]secret"));
        assert!(!is_command_like("a ::error::x"));
        assert!(!is_command_like("\\::error::x"));
        assert!(is_command_like("  \x1b[2m \x1b[1;31m::error::x\x1b[0m"));
        assert_eq!(
            inert_plain("  \x1b[2m ::error::x\x1b[0m\n".into()),
            "  \x1b[2m \\::error::x\x1b[0m\n"
        );
        let text =
            "ok\n  ::add-mask::secret\r::error::x\nsee ##[error]y and ##[debug]z\n".to_string();
        let plain = inert_plain(text.clone());
        assert_eq!(
            plain,
            "ok\n  \\::add-mask::secret\r\\::error::x\nsee ##\\[error]y and ##\\[debug]z\n"
        );
        assert!(!plain.split(['\n', '\r']).any(is_command_like));
        let xml = inert_xml(text.clone());
        assert_eq!(
            xml,
            "ok\n  &#58;:add-mask::secret\r&#58;:error::x\nsee ##&#91;error]y and ##&#91;debug]z\n"
        );
        assert!(!xml.split(['\n', '\r']).any(is_command_like));
        let json = inert_json(serde_json::to_string(&text).unwrap());
        assert!(!json.split(['\n', '\r']).any(is_command_like));
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        // Nothing to do: the same text.
        assert_eq!(inert_plain("a :: b\n".into()), "a :: b\n");
    }
}
