//! docmatrix's own Dockerfile rules (`DF001`...), run on a parsed [`Dockerfile`].
//!
//! The registry ([`RULES`]) holds every rule: its metadata (id, slug, default severity, a
//! one-line why and a one-line fix, documented for users in docs/dockerfile-rules.md) and its
//! check, in a file per topic: `instructions.rs` (one instruction at a time), `stages.rs`
//! (stage names and references), `packages.rs` (apt, apk and pip in RUN commands),
//! `base_image.rs` (what the base image is and holds). [`check`] runs them all and returns
//! [`Diagnostic`]s sorted by line then id, at code lines (1 = the block's first code line) and
//! 1-based character columns where the rule knows them. Parse errors are not rules: the caller
//! reports `Dockerfile::errors` itself.
//!
//! The rules read shell commands (RUN, `HEALTHCHECK CMD`, `sh -c` strings, heredoc scripts)
//! with the parser's tokenizer ([`commands`]). They aim for few false positives: when a value
//! cannot be known (a `$VARIABLE` image, a `--from=$STAGE`) the rule stays silent.
//!
//! No I/O, no printing, no panics.

mod base_image;
mod commands;
mod instructions;
mod packages;
mod stages;

use crate::model::{Diagnostic, Severity};

use super::parse::{is_python_image, python_variant, split_image, Dockerfile, Instruction, Kind};
use commands::ShCmd;

/// One of docmatrix's Dockerfile rules: its metadata and its check.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    /// One line: why it matters.
    pub why: &'static str,
    /// One line: how to fix it.
    pub fix: &'static str,
    /// Where the rule fires, and what it says there.
    check: fn(&Cx) -> Vec<Hit>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

impl Rule {
    /// The rule's diagnostic at `at`, saying `message`.
    fn diagnostic(&self, at: Pos, message: String) -> Diagnostic {
        Diagnostic::finding(at.line, self.severity, "docmatrix", self.id, message)
            .with_why(self.why)
            .with_help(self.fix)
            .with_span(at.column, None, at.end_column)
    }
}

/// Every rule, by id.
pub(crate) const RULES: &[Rule] = &[
    instructions::UNKNOWN_INSTRUCTION,
    stages::FROM_AS_CASING,
    stages::COPY_FROM_UNKNOWN_STAGE,
    packages::APT_WITHOUT_YES,
    packages::APT_RECOMMENDS,
    packages::APT_LISTS,
    packages::PIP_CACHE,
    base_image::MISSING_TOOL,
    instructions::ADD_URL,
    instructions::ROOT_USER,
    instructions::MAINTAINER,
    instructions::RELATIVE_WORKDIR,
    instructions::MULTIPLE_CMD,
    base_image::UNTAGGED_IMAGE,
    instructions::SHELL_FORM_CMD,
    stages::DUPLICATE_STAGE,
    packages::APK_CACHE,
];

/// The rule with this id (`DF002`) or slug (`from-as-casing`), case-insensitively.
pub fn rule(id_or_slug: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id_or_slug) || r.slug.eq_ignore_ascii_case(id_or_slug))
}

/// Runs every rule. Sorted by line, then rule id; one diagnostic per rule, line and message.
pub fn check(df: &Dockerfile) -> Vec<Diagnostic> {
    let cx = Cx::new(df);
    let mut out: Vec<Diagnostic> = RULES
        .iter()
        .flat_map(|r| {
            (r.check)(&cx)
                .into_iter()
                .map(|(at, message)| r.diagnostic(at, message))
        })
        .collect();
    out.sort_by(|a, b| (a.line, a.rule_id()).cmp(&(b.line, b.rule_id())));
    out.dedup_by(|later, first| later.same_problem(first));
    out
}

/// Where a rule fires: a code line, and the 1-based character columns of what it names there
/// (just after its end for `end_column`) when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: Option<usize>,
    end_column: Option<usize>,
}

impl Pos {
    fn line(line: usize) -> Pos {
        Pos {
            line,
            column: None,
            end_column: None,
        }
    }

    /// Bytes `start..end` of the instruction's `original` text.
    fn of(ins: &Instruction, start: usize, end: usize) -> Pos {
        let (line, column, end_column) = ins.columns(start, end);
        Pos {
            line,
            column: Some(column),
            end_column,
        }
    }

    /// The instruction's keyword.
    fn keyword(ins: &Instruction) -> Pos {
        Pos::of(ins, 0, ins.keyword.len())
    }
}

/// A rule firing: where, and its message.
type Hit = (Pos, String);

/// What the rules read: the parsed Dockerfile and, for each instruction, the shell commands it
/// runs (RUN, `HEALTHCHECK CMD`).
struct Cx<'a> {
    df: &'a Dockerfile,
    commands: Vec<Vec<ShCmd>>,
}

impl<'a> Cx<'a> {
    fn new(df: &'a Dockerfile) -> Self {
        let commands = df
            .instructions
            .iter()
            .map(|ins| {
                if matches!(ins.kind, Kind::Run | Kind::Healthcheck) {
                    commands::instruction_commands(ins)
                } else {
                    Vec::new()
                }
            })
            .collect();
        Cx { df, commands }
    }

    /// The instructions within stages that run commands: (index, instruction, stage, commands).
    fn with_commands(&self) -> impl Iterator<Item = (usize, &'a Instruction, usize, &[ShCmd])> {
        self.df
            .instructions
            .iter()
            .enumerate()
            .filter_map(move |(k, ins)| {
                let cmds = self.commands.get(k).map(Vec::as_slice).unwrap_or(&[]);
                Some((k, ins, ins.stage?, cmds)).filter(|_| !cmds.is_empty())
            })
    }

    /// The stage's instructions, its `FROM` first, for every stage.
    fn stage_instructions(&self) -> impl Iterator<Item = (usize, &'a Instruction)> {
        let df = self.df;
        df.stages
            .iter()
            .flat_map(move |s| df.stage_instructions(s.index).map(move |i| (s.index, i)))
    }

    /// Stages the stage is built from (parent first), by `FROM <earlier stage>`.
    fn ancestors(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = index;
        while let Some(p) = self.df.parent_stage(cur) {
            if p >= cur || out.contains(&p) {
                break;
            }
            out.push(p);
            cur = p;
        }
        out
    }

    /// The final stage and the stages it is built from: what ends up in the image.
    fn final_chain(&self) -> Vec<usize> {
        match self.df.stages.len().checked_sub(1) {
            Some(last) => {
                let mut v = vec![last];
                v.extend(self.ancestors(last));
                v
            }
            None => Vec::new(),
        }
    }

    /// The official Python image a stage is (ultimately) built from, as
    /// (resolved image, variant), or `None`.
    fn python_base(&self, index: usize) -> Option<(String, String)> {
        let root = self.ancestors(index).last().copied().unwrap_or(index);
        let image = self.df.resolved_image(root)?;
        let (name, tag, _) = split_image(&image);
        is_python_image(name).then(|| (image.clone(), python_variant(tag)))
    }

    /// Whether `ENV var=...` or `ARG var=...` is set in the stage (before instruction `before`)
    /// or in a stage it is built from.
    fn env_set(&self, stage: usize, before: usize, var: &str) -> bool {
        let ancestors = self.ancestors(stage);
        self.df.instructions.iter().enumerate().any(|(k, ins)| {
            let in_scope = match ins.stage {
                Some(s) if s == stage => k < before,
                Some(s) => ancestors.contains(&s),
                None => false,
            };
            in_scope
                && matches!(ins.kind, Kind::Env | Kind::Arg)
                && super::parse::words(&ins.args)
                    .iter()
                    .enumerate()
                    .any(|(j, w)| {
                        w.text.split_once('=').map_or(
                            // `ENV VAR value` (legacy form).
                            ins.kind == Kind::Env && j == 0 && w.text == var,
                            |(k, _)| k == var,
                        )
                    })
        })
    }
}

/// Levenshtein distance (by chars).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest candidate within distance 2 (3 for long words), case-insensitively.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_uppercase();
    let limit = if w.chars().count() >= 8 { 3 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(&w, &c.to_ascii_uppercase()), *c))
        .filter(|(d, _)| *d <= limit && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::instructions::suggest;
    use super::*;

    use crate::lang::dockerfile::testdata::{line_with, md_line, seed};

    /// A diagnostic's code line and rule id.
    fn at(f: &Diagnostic) -> (usize, &'static str) {
        (f.line_or_zero(), rule(f.rule_id()).map_or("?", |r| r.id))
    }

    fn found(code: &str) -> Vec<(usize, &'static str)> {
        check(&parse(code)).iter().map(at).collect()
    }

    fn ids(code: &str) -> Vec<&'static str> {
        found(code).into_iter().map(|(_, id)| id).collect()
    }

    /// Wraps lines in a valid final stage (tagged image, absolute WORKDIR, USER).
    fn wrap(body: &str) -> String {
        format!("FROM debian:12\n{body}\nUSER app\n")
    }

    #[test]
    fn seed_has_exactly_the_two_known_bugs() {
        let df = parse(seed());
        assert!(df.errors.is_empty());
        let f = check(&df);
        let got: Vec<(usize, &str)> = f.iter().map(at).collect();
        assert_eq!(
            got,
            vec![
                (line_with("FROM python:3.12-slim as build"), "DF002"),
                (line_with("CMD curl"), "DF008")
            ],
            "{f:#?}"
        );
        // DF008 names the continuation line that calls curl, not the HEALTHCHECK line.
        assert_eq!(line_with("CMD curl"), line_with("HEALTHCHECK") + 1);
        assert!(f[0].message.contains("`FROM` and `as`"), "{}", f[0].message);
        assert!(f[1]
            .message
            .contains("`curl` is not installed in `python:3.12-slim`"));
        assert!(f[1].message.contains("HEALTHCHECK always fails"));
        assert_eq!(f[1].severity, Severity::Error);
        assert_eq!(f[1].rule.as_deref(), Some("DF008"));
        assert_eq!(f[1].tool, "docmatrix");
        assert_eq!(f[1].why.as_deref(), rule("DF008").map(|r| r.why));
        assert_eq!(f[1].help.as_deref(), rule("DF008").map(|r| r.fix));
        // The column of the word `curl` on its line (after `    CMD `).
        let line = seed().lines().nth(line_with("CMD curl") - 1).unwrap_or("");
        let col = line.find("curl").map(|b| line[..b].chars().count() + 1);
        assert_eq!((f[1].column, f[1].end_column), (col, col.map(|c| c + 4)));
        let _ = md_line;
    }

    #[test]
    fn seed_fixed_is_clean() {
        let useradd = "RUN useradd --create-home service";
        assert!(seed().contains("as build\n") && seed().contains(useradd));
        let fixed = seed().replace("as build\n", "AS build\n").replace(
            useradd,
            "RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/* && useradd --create-home service",
        );
        assert_eq!(found(&fixed), vec![]);
    }

    #[test]
    fn rules_table_is_consistent() {
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.id, format!("DF{:03}", i + 1));
            assert!(!r.why.is_empty() && !r.fix.is_empty() && !r.slug.is_empty());
            assert_eq!(rule(r.id), Some(r));
            assert_eq!(rule(r.slug), Some(r));
        }
        assert_eq!(rule("df002").map(|r| r.slug), Some("from-as-casing"));
        assert_eq!(rule("nope"), None);
    }

    #[test]
    fn df001_unknown_instruction() {
        let f = check(&parse(&wrap(
            "RUNN echo\nCOPPY a b\nENTRYPIONT [\"x\"]\nFROBNICATE x",
        )));
        let msgs: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "unknown instruction `RUNN`: did you mean `RUN`?",
                "unknown instruction `COPPY`: did you mean `COPY`?",
                "unknown instruction `ENTRYPIONT`: did you mean `ENTRYPOINT`?",
                "unknown instruction `FROBNICATE`",
            ]
        );
        assert_eq!(f[0].line, Some(2));
        assert!(ids(&wrap("run echo\ncopy a b")).is_empty());
        // A forgotten backslash.
        let code = wrap("RUN apt-get update && apt-get install -y --no-install-recommends\n    curl && rm -rf /var/lib/apt/lists/*");
        assert_eq!(found(&code), vec![(2, "DF006"), (3, "DF001")]);
    }

    #[test]
    fn df002_from_as_casing() {
        assert_eq!(found("FROM a:1 as b\nFROM b\nUSER x\n"), vec![(1, "DF002")]);
        assert_eq!(found("from a:1 AS b\nFROM b\nUSER x\n"), vec![(1, "DF002")]);
        assert!(ids("FROM a:1 AS b\nFROM b\nUSER x\n").is_empty());
        assert!(ids("from a:1 as b\nfrom b\nuser x\n").is_empty());
        assert!(ids("From a:1 as b\nFROM b\nUSER x\n").is_empty());
    }

    #[test]
    fn df003_copy_from() {
        let ok = "FROM a:1 AS build\nFROM a:1\nCOPY --from=build /a /a\nCOPY --from=BUILD /a /a\nCOPY --from=0 /a /a\nCOPY --from=nginx:1.25 /a /a\nCOPY --from=ghcr.io/x/y /a /a\nCOPY --from=$STAGE /a /a\nRUN --mount=type=bind,from=build,target=/b true\nUSER x\n";
        assert!(ids(ok).is_empty(), "{:?}", found(ok));
        let bad = "FROM a:1 AS build\nCOPY --from=build /a /a\nCOPY --from=0 /a /a\nCOPY --from=buidl /a /a\nCOPY --from=later /a /a\nCOPY --from=1 /a /a\nCOPY --from=7 /a /a\nRUN --mount=type=bind,from=nope,target=/b true\nFROM a:1 AS later\nUSER x\n";
        let f = check(&parse(bad));
        let got: Vec<(usize, &str)> = f.iter().map(at).collect();
        assert_eq!(
            got,
            vec![
                (2, "DF003"),
                (3, "DF003"),
                (4, "DF003"),
                (5, "DF003"),
                (6, "DF003"),
                (7, "DF003"),
                (8, "DF003"),
            ]
        );
        assert!(f[0].message.contains("current stage"));
        assert!(
            f[2].message.contains("would pull an image `buidl`"),
            "{}",
            f[2].message
        );
        assert!(f[3].message.contains("defined later (line 9)"));
        assert!(f[4].message.contains("comes later"));
        assert!(f[5].message.contains("no stage 7"));
        assert!(f[6].message.starts_with("--mount from=nope"));
        let g = check(&parse(
            "FROM a:1 AS build\nFROM a:1\nCOPY --from=buidl /a /a\nUSER x\n",
        ));
        assert_eq!(g.len(), 1);
        assert!(
            g[0].message.ends_with("did you mean `build`?"),
            "{}",
            g[0].message
        );
    }

    #[test]
    fn df004_df005_df006_apt() {
        let good = wrap("RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*");
        assert!(ids(&good).is_empty(), "{:?}", found(&good));
        let code = wrap("RUN apt-get update \\\n && apt-get install curl");
        assert_eq!(found(&code), vec![(3, "DF004"), (3, "DF005"), (3, "DF006")]);
        for yes in [
            "-y",
            "--yes",
            "-qy",
            "-yq",
            "-qq",
            "--assume-yes",
            "-o APT::Get::Assume-Yes=true",
        ] {
            let code = wrap(&format!("RUN apt-get {yes} install --no-install-recommends x && rm -rf /var/lib/apt/lists/*"));
            assert!(ids(&code).is_empty(), "{yes}: {:?}", found(&code));
        }
        let code = wrap("RUN apt install -y x");
        assert_eq!(ids(&code), vec!["DF005", "DF006"]);
        let code = wrap("RUN --mount=type=cache,target=/var/lib/apt \\\n apt-get install -y --no-install-recommends x");
        assert!(ids(&code).is_empty());
        // Lists in a builder stage are thrown away: no DF006 there.
        let code = "FROM debian:12 AS b\nRUN apt-get install -y --no-install-recommends x\nFROM debian:12\nUSER x\n";
        assert!(ids(code).is_empty(), "{:?}", found(code));
        // But a stage the final one is built FROM counts.
        let code = "FROM debian:12 AS b\nRUN apt-get install -y --no-install-recommends x\nFROM b\nUSER x\n";
        assert_eq!(found(code), vec![(2, "DF006")]);
        // Not an install.
        assert!(ids(&wrap("RUN apt-get update && echo apt-get install")).is_empty());
    }

    #[test]
    fn df007_pip_cache() {
        for bad in [
            "RUN pip install flask",
            "RUN pip3 install -r requirements.txt",
            "RUN python -m pip install x",
            "RUN python3.12 -m pip install --upgrade pip",
            "RUN /venv/bin/pip install x",
            "RUN [\"pip\", \"install\", \"x\"]",
            "RUN sh -c \"pip install x\"",
        ] {
            assert_eq!(ids(&wrap(bad)), vec!["DF007"], "{bad}");
        }
        for good in [
            "RUN pip install --no-cache-dir flask",
            "RUN pip wheel -r r.txt",
            "RUN pip download x",
            "RUN PIP_NO_CACHE_DIR=1 pip install x",
            "ENV PIP_NO_CACHE_DIR=1\nRUN pip install x",
            "ENV PIP_NO_CACHE_DIR 1\nRUN pip install x",
            "RUN --mount=type=cache,target=/root/.cache/pip pip install x",
            "RUN uv pip install x",
            "RUN pipx install x",
            "RUN echo pip install x",
        ] {
            assert!(
                ids(&wrap(good)).is_empty(),
                "{good}: {:?}",
                found(&wrap(good))
            );
        }
        // The line of the word inside a continuation.
        assert_eq!(
            found(&wrap("RUN echo a \\\n && pip install x")),
            vec![(3, "DF007")]
        );
    }

    #[test]
    fn df008_tools_in_slim_images() {
        let hc = "HEALTHCHECK CMD curl -f http://localhost/ || exit 1";
        let f = |base: &str, body: &str| found(&format!("FROM {base}\n{body}\nUSER x\n"));
        assert_eq!(f("python:3.12-slim", hc), vec![(2, "DF008")]);
        assert_eq!(f("python:3.11-slim-bookworm", hc), vec![(2, "DF008")]);
        assert_eq!(
            f("docker.io/library/python:3-alpine", hc),
            vec![(2, "DF008")]
        );
        assert_eq!(f("python:slim", hc), vec![(2, "DF008")]);
        assert!(f("python:3.12", hc).is_empty());
        assert!(f("debian:12-slim", hc).is_empty());
        assert_eq!(
            f(
                "python:3.12-slim",
                "HEALTHCHECK CMD [\"curl\", \"-f\", \"http://x\"]"
            ),
            vec![(2, "DF008")]
        );
        assert_eq!(
            f("python:3.12-slim", "RUN wget -q https://x"),
            vec![(2, "DF008")]
        );
        // busybox wget is in alpine.
        assert!(f("python:3.12-alpine", "RUN wget -q https://x").is_empty());
        assert_eq!(
            f("python:3.12-alpine", "RUN curl -O https://x"),
            vec![(2, "DF008")]
        );
        // Installed in the stage (any place for HEALTHCHECK, before or in the same RUN).
        let inst = "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*";
        assert!(f("python:3.12-slim", &format!("{hc}\n{inst}")).is_empty());
        assert!(f("python:3.12-slim", &format!("{inst}\nRUN curl -O x")).is_empty());
        assert!(f("python:3.12-slim", "RUN apt-get update && apt-get install -y --no-install-recommends curl && curl -O x && rm -rf /var/lib/apt/lists/*").is_empty());
        assert_eq!(
            f("python:3.12-slim", &format!("RUN curl -O x\n{inst}")),
            vec![(2, "DF008")]
        );
        assert!(f(
            "python:3.12-alpine",
            &format!("RUN apk add --no-cache curl\n{hc}")
        )
        .is_empty());
        // Inherited through stages.
        let code = format!("FROM python:3.12-slim AS base\n{inst}\nFROM base\n{hc}\nUSER x\n");
        assert!(ids(&code).is_empty(), "{:?}", found(&code));
        let code = format!("FROM python:3.12-slim AS base\nFROM base\n{hc}\nUSER x\n");
        assert_eq!(found(&code), vec![(3, "DF008")]);
        // ARG-resolved images.
        let code = format!("ARG PY=3.12\nFROM python:${{PY}}-slim\n{hc}\nUSER x\n");
        assert_eq!(found(&code), vec![(3, "DF008")]);
        // Heredoc script, the line of the word.
        let code = "FROM python:3.12-slim\nRUN <<EOF\nset -e\ncurl -fsS https://x\nEOF\nUSER x\n";
        assert_eq!(found(code), vec![(4, "DF008")]);
        // Not a command.
        assert!(f("python:3.12-slim", "RUN echo curl").is_empty());
        assert!(f("python:3.12-slim", "RUN python -c \"print('curl')\"").is_empty());
        // Copied in.
        assert!(f(
            "python:3.12-slim",
            &format!("COPY --from=curlimages/curl:8.5.0 /usr/bin/curl /usr/bin/curl\n{hc}")
        )
        .is_empty());
    }

    #[test]
    fn df009_add_url() {
        assert_eq!(
            ids(&wrap("ADD https://example.com/x.tgz /x")),
            vec!["DF009"]
        );
        assert!(ids(&wrap(
            "ADD --checksum=sha256:abc https://example.com/x.tgz /x"
        ))
        .is_empty());
        assert!(ids(&wrap("ADD https://github.com/a/b.git /src")).is_empty());
        assert!(ids(&wrap("ADD local.tgz /x")).is_empty());
    }

    #[test]
    fn df010_user() {
        assert_eq!(found("FROM a:1\nRUN true\n"), vec![(1, "DF010")]);
        assert_eq!(found("FROM a:1\nUSER app\nUSER root\n"), vec![(3, "DF010")]);
        assert_eq!(found("FROM a:1\nUSER 0:0\n"), vec![(2, "DF010")]);
        assert!(ids("FROM a:1\nUSER root\nRUN x\nUSER app\n").is_empty());
        // USER of a builder stage does not count, of a parent stage does.
        assert_eq!(
            found("FROM a:1 AS b\nUSER app\nFROM a:1\n"),
            vec![(3, "DF010")]
        );
        assert!(ids("FROM a:1 AS b\nUSER app\nFROM b\n").is_empty());
    }

    #[test]
    fn df011_to_df017_extras() {
        assert_eq!(ids(&wrap("MAINTAINER me")), vec!["DF011"]);
        assert_eq!(ids(&wrap("WORKDIR app")), vec!["DF012"]);
        assert!(ids(&wrap("WORKDIR /app\nWORKDIR src")).is_empty());
        assert!(ids(&wrap("WORKDIR $HOME/app")).is_empty());
        assert_eq!(
            found(&wrap("CMD [\"a\"]\nCMD [\"b\"]\nENTRYPOINT [\"c\"]")),
            vec![(2, "DF013")]
        );
        assert_eq!(found("FROM python\nUSER x\n"), vec![(1, "DF014")]);
        assert_eq!(found("FROM python:latest\nUSER x\n"), vec![(1, "DF014")]);
        assert!(ids("FROM python@sha256:abc\nUSER x\n").is_empty());
        assert!(ids("FROM scratch\nUSER x\n").is_empty());
        assert!(ids("ARG B\nFROM $B\nUSER x\n").is_empty());
        assert_eq!(ids(&wrap("CMD python app.py")), vec!["DF015"]);
        assert_eq!(ids(&wrap("ENTRYPOINT python app.py")), vec!["DF015"]);
        assert_eq!(
            found("FROM a:1 AS x\nFROM a:1 AS X\nUSER x\n"),
            vec![(2, "DF016")]
        );
        assert_eq!(ids(&wrap("RUN apk add curl")), vec!["DF017"]);
        assert!(ids(&wrap("RUN apk add --no-cache curl")).is_empty());
        assert!(ids(&wrap("RUN apk add curl && rm -rf /var/cache/apk/*")).is_empty());
    }

    #[test]
    fn sorted_by_line_then_id() {
        let code = "FROM python as b\nRUN apt-get install x\nRUNN x\n";
        let got = found(code);
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted);
        assert_eq!(got[0], (1, "DF002"));
    }

    #[test]
    fn levenshtein() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("ENTRYPIONT", "ENTRYPOINT"), 2);
        assert_eq!(suggest("WRKDIR"), Some("WORKDIR"));
        assert_eq!(suggest("xyz"), None);
    }

    #[test]
    fn never_panics() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces: &[&str] = &[
            "FROM ",
            "python:3.12-slim",
            " as ",
            "b",
            "\n",
            "RUN ",
            "apt-get install ",
            "curl ",
            "&& ",
            "\\\n",
            "COPY --from=",
            "0",
            "HEALTHCHECK CMD ",
            "<<EOF\n",
            "EOF\n",
            "\"",
            "'",
            "$(",
            ")",
            "[\"",
            "\"]",
            "USER ",
            "root",
            "pip install ",
            "sh -c ",
            "#",
            "--mount=type=cache,from=",
            "WORKDIR ",
            "ADD https://x ",
            "\t",
            "é",
            "ARG PY=3\n",
            "${PY}",
        ];
        for _ in 0..3000 {
            let n = (next() % 30) as usize;
            let mut code = String::new();
            for _ in 0..n {
                code.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let _ = check(&parse(&code));
        }
        let seed = seed();
        for cut in 0..=seed.len() {
            if seed.is_char_boundary(cut) {
                let _ = check(&parse(&seed[..cut]));
                let _ = check(&parse(&seed[cut..]));
            }
        }
    }

    /// docs/dockerfile-rules.md: every rule has a section whose `text` (bad) examples fire it
    /// and whose `dockerfile` (good) examples parse cleanly and fire nothing.
    #[test]
    fn docs_examples_agree_with_the_rules() {
        let doc = include_str!("../../../../docs/dockerfile-rules.md");
        let mut section = String::new();
        let mut seen: Vec<String> = Vec::new();
        let mut block: Option<(String, String)> = None;
        let (mut bad, mut good) = (0, 0);
        for line in doc.lines() {
            if let Some((lang, mut code)) = block.take() {
                if line == "```" {
                    let df = parse(&code);
                    assert!(df.errors.is_empty(), "{section}: {:?}\n{code}", df.errors);
                    let ids: Vec<&str> = check(&df).iter().map(|f| at(f).1).collect();
                    if lang == "text" {
                        bad += 1;
                        assert!(
                            ids.contains(&section.as_str()),
                            "{section}: {ids:?}\n{code}"
                        );
                    } else {
                        good += 1;
                        assert!(ids.is_empty(), "{section}: {ids:?}\n{code}");
                    }
                } else {
                    code.push_str(line);
                    code.push('\n');
                    block = Some((lang, code));
                }
                continue;
            }
            if let Some(h) = line.strip_prefix("## ") {
                section = h.split_whitespace().next().unwrap_or("").to_string();
                seen.push(section.clone());
            } else if let Some(lang) = line.strip_prefix("```") {
                if section.starts_with("DF") && (lang == "text" || lang == "dockerfile") {
                    block = Some((lang.to_string(), String::new()));
                }
            }
        }
        let ids: Vec<String> = RULES.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(seen, ids);
        assert_eq!(bad, RULES.len());
        assert!(good >= RULES.len());
        for r in RULES {
            assert!(doc.contains(&format!(
                "| {} | {} | {} |",
                r.id,
                r.slug,
                r.severity.as_str()
            )));
        }
    }
}
