//! The seed Dockerfile shared by the unit tests of [`super::parse`] and [`super::rules`]: the
//! `dockerfile` block of our own reproduction of the seed guide, `fixtures/seed/guide.md`, read
//! at compile time so that the tests and the fixture cannot drift apart.
//!
//! Its facts are those of the guide the product was conceived from: a two-stage build whose
//! first `FROM` spells `as` in lower case (DF002), apt-get with `--no-install-recommends` and
//! list cleanup, pip with `--no-cache-dir`, `COPY --from=build`, a user of its own, a
//! `HEALTHCHECK` whose continuation line calls `curl`, absent from `python:3.12-slim` (DF008),
//! and an exec-form `CMD`.

/// The fixture guide, whole.
const GUIDE: &str = include_str!("../../../fixtures/seed/guide.md");

/// The fence line (1-based, in the guide) that opens the block, and the block's text: the
/// lines between "```dockerfile" and the next "```" line, each with its line end.
fn block() -> (usize, &'static str) {
    let mut open: Option<(usize, usize)> = None;
    let mut offset = 0;
    for (i, line) in GUIDE.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        match open {
            None if bare == "```dockerfile" => open = Some((i + 1, offset + line.len())),
            Some((fence, start)) if bare == "```" => return (fence, &GUIDE[start..offset]),
            _ => {}
        }
        offset += line.len();
    }
    panic!("fixtures/seed/guide.md has no closed ```dockerfile block");
}

/// The seed Dockerfile: its first line is code line 1.
pub(crate) fn seed() -> &'static str {
    block().1
}

/// The guide (Markdown) line of the seed's code line `line`.
pub(crate) fn md_line(line: usize) -> usize {
    block().0 + line
}

/// The code line (1-based) of the one seed line that contains `needle`; panics when none or
/// several do, so that a line found by its text is never the wrong one.
pub(crate) fn line_with(needle: &str) -> usize {
    only(needle, |l| l.contains(needle))
}

/// The code line (1-based) of the one seed line that is exactly `text` (line end aside).
pub(crate) fn line_is(text: &str) -> usize {
    only(text, |l| l == text)
}

fn only(what: &str, matches: impl Fn(&str) -> bool) -> usize {
    let found: Vec<usize> = seed()
        .lines()
        .enumerate()
        .filter(|(_, l)| matches(l))
        .map(|(i, _)| i + 1)
        .collect();
    match found[..] {
        [line] => line,
        _ => panic!("{what:?} is on seed lines {found:?}, not on exactly one"),
    }
}

#[test]
fn the_seed_is_the_fixture_block() {
    let (fence, text) = block();
    let lines: Vec<&str> = GUIDE.lines().collect();
    assert_eq!(lines[fence - 1], "```dockerfile");
    let n = text.lines().count();
    assert_eq!(lines[fence + n], "```");
    assert_eq!(lines[fence..fence + n].join("\n") + "\n", text);
    // The block is the whole Dockerfile, from its first FROM to its exec-form CMD.
    assert!(
        text.starts_with("FROM python:3.12-slim as build\n"),
        "{text}"
    );
    assert!(text.ends_with("\"app:create_app()\"]\n"), "{text}");
    for (i, l) in text.lines().enumerate() {
        assert_eq!(lines[md_line(i + 1) - 1], l);
    }
    // The seed is ours: none of the seed guide's Chinese comments (nor any other CJK text).
    assert!(!text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
}

#[test]
fn lines_are_found_once_or_not_at_all() {
    let code: Vec<&str> = seed().lines().collect();
    let last_from = line_is("FROM python:3.12-slim");
    assert_eq!(code[last_from - 1], "FROM python:3.12-slim");
    assert!(code[line_with("as build") - 1].contains("as build"));
    assert!(line_with("as build") < last_from);
    // Two COPY lines and no such text: neither names one line.
    assert!(std::panic::catch_unwind(|| line_with("COPY")).is_err());
    assert!(std::panic::catch_unwind(|| line_is("no such text")).is_err());
}
