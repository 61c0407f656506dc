//! docmatrix's own Dockerfile rules (`DF001`...), run on a parsed [`Dockerfile`].
//!
//! Each rule has an id, a slug, a default severity, a one-line why and a one-line fix; they
//! are documented for users in docs/dockerfile-rules.md. [`check`] returns the findings sorted by
//! line then id, at code lines (1 = the block's first code line). Parse errors are not
//! findings: the caller reports `Dockerfile::errors` itself.
//!
//! The rules read shell commands (RUN, `HEALTHCHECK CMD`, `sh -c` strings, heredoc scripts)
//! with a small tokenizer: words, quotes, `&& || ; | &`, subshells. They aim for few false
//! positives: when a value cannot be known (a `$VARIABLE` image, a `--from=$STAGE`) the rule
//! stays silent.
//!
//! No I/O, no printing, no panics.

use crate::model::{Finding, Severity};

use super::parse::{
    is_python_image, is_remote, python_variant, shell_commands, split_image, Cmd, Dockerfile,
    Instruction, Kind,
};

/// One of docmatrix's Dockerfile rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    /// One line: why it matters.
    pub why: &'static str,
    /// One line: how to fix it.
    pub fix: &'static str,
}

/// A rule that fired, at a code line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFinding {
    pub rule: &'static Rule,
    /// 1-based code line.
    pub line: usize,
    pub message: String,
}

impl RuleFinding {
    /// The finding as a [`Finding`] at Markdown line `md_line`.
    pub fn to_finding(&self, md_line: usize) -> Finding {
        Finding {
            line: md_line,
            severity: self.rule.severity,
            source: "docmatrix".to_string(),
            rule: self.rule.id.to_string(),
            message: self.message.clone(),
            why: Some(self.rule.why.to_string()),
            fix: Some(self.rule.fix.to_string()),
        }
    }
}

const UNKNOWN_INSTRUCTION: Rule = Rule {
    id: "DF001",
    slug: "unknown-instruction",
    severity: Severity::Error,
    why: "Docker stops the build at an instruction it does not know.",
    fix: "Correct the keyword, or add the missing `\\` if the line continues the previous instruction.",
};
const FROM_AS_CASING: Rule = Rule {
    id: "DF002",
    slug: "from-as-casing",
    severity: Severity::Warning,
    why: "BuildKit warns (FromAsCasing) when `FROM` and `AS` are not written in the same case.",
    fix: "Write both keywords in the same case: `FROM image AS name`.",
};
const COPY_FROM_UNKNOWN_STAGE: Rule = Rule {
    id: "DF003",
    slug: "copy-from-unknown-stage",
    severity: Severity::Error,
    why: "`--from` must name an earlier stage; any other single word is pulled as an image, so the build fails.",
    fix: "Name a stage defined earlier with `FROM ... AS name` (or its index), or write a full image reference.",
};
const APT_WITHOUT_YES: Rule = Rule {
    id: "DF004",
    slug: "apt-install-without-yes",
    severity: Severity::Error,
    why: "Without `-y` apt-get asks for confirmation, which aborts a non-interactive build.",
    fix: "Use `apt-get install -y ...`.",
};
const APT_RECOMMENDS: Rule = Rule {
    id: "DF005",
    slug: "apt-install-recommends",
    severity: Severity::Info,
    why: "apt-get also installs recommended packages, which bloats the image.",
    fix: "Use `apt-get install -y --no-install-recommends ...`.",
};
const APT_LISTS: Rule = Rule {
    id: "DF006",
    slug: "apt-lists-not-removed",
    severity: Severity::Warning,
    why: "The package lists of `apt-get update` stay in the layer (tens of MB) unless removed in the same RUN.",
    fix: "End the RUN with `&& rm -rf /var/lib/apt/lists/*`.",
};
const PIP_CACHE: Rule = Rule {
    id: "DF007",
    slug: "pip-install-cache",
    severity: Severity::Warning,
    why: "pip keeps its download cache in the layer, which bloats the image.",
    fix: "Use `pip install --no-cache-dir ...` (or `ENV PIP_NO_CACHE_DIR=1`, or a cache mount).",
};
const MISSING_TOOL: Rule = Rule {
    id: "DF008",
    slug: "tool-missing-in-slim-image",
    severity: Severity::Error,
    why: "The slim and alpine Python images ship neither curl nor (slim) wget: the command is not found.",
    fix: "Install it in that stage (`apt-get install -y --no-install-recommends curl`), or use Python's urllib instead.",
};
const ADD_URL: Rule = Rule {
    id: "DF009",
    slug: "add-url",
    severity: Severity::Warning,
    why: "`ADD <url>` downloads without any integrity check and cannot be cleaned up in the same layer.",
    fix: "Download with curl in a RUN and verify it, or use `ADD --checksum=sha256:...`.",
};
const ROOT_USER: Rule = Rule {
    id: "DF010",
    slug: "runs-as-root",
    severity: Severity::Warning,
    why: "The container runs as root, so any compromise of the application owns the container.",
    fix: "Create a user and end the final stage with `USER name` (not root).",
};
const MAINTAINER: Rule = Rule {
    id: "DF011",
    slug: "maintainer-deprecated",
    severity: Severity::Info,
    why: "MAINTAINER is deprecated.",
    fix: "Use `LABEL org.opencontainers.image.authors=\"name <mail>\"`.",
};
const RELATIVE_WORKDIR: Rule = Rule {
    id: "DF012",
    slug: "relative-workdir",
    severity: Severity::Warning,
    why: "A relative WORKDIR depends on the base image's working directory, which can change.",
    fix: "Use an absolute path: `WORKDIR /app`.",
};
const MULTIPLE_CMD: Rule = Rule {
    id: "DF013",
    slug: "multiple-cmd",
    severity: Severity::Warning,
    why: "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect; the earlier ones are ignored.",
    fix: "Keep one CMD, ENTRYPOINT and HEALTHCHECK per stage.",
};
const UNTAGGED_IMAGE: Rule = Rule {
    id: "DF014",
    slug: "untagged-image",
    severity: Severity::Warning,
    why: "Without a tag (or with `latest`) the base image changes under the guide's readers.",
    fix: "Pin a tag: `FROM python:3.12-slim`.",
};
const SHELL_FORM_CMD: Rule = Rule {
    id: "DF015",
    slug: "shell-form-cmd",
    severity: Severity::Info,
    why: "In shell form the program runs under `/bin/sh -c` and does not receive SIGTERM, so `docker stop` waits and kills it.",
    fix: "Use exec form: `CMD [\"python\", \"app.py\"]`.",
};
const DUPLICATE_STAGE: Rule = Rule {
    id: "DF016",
    slug: "duplicate-stage-name",
    severity: Severity::Error,
    why: "Two stages with one name make the build fail.",
    fix: "Give every stage its own name.",
};
const APK_CACHE: Rule = Rule {
    id: "DF017",
    slug: "apk-add-cache",
    severity: Severity::Warning,
    why: "`apk add` keeps its package index in the layer, which bloats the image.",
    fix: "Use `apk add --no-cache ...`.",
};

/// Every rule, by id.
pub const RULES: &[Rule] = &[
    UNKNOWN_INSTRUCTION,
    FROM_AS_CASING,
    COPY_FROM_UNKNOWN_STAGE,
    APT_WITHOUT_YES,
    APT_RECOMMENDS,
    APT_LISTS,
    PIP_CACHE,
    MISSING_TOOL,
    ADD_URL,
    ROOT_USER,
    MAINTAINER,
    RELATIVE_WORKDIR,
    MULTIPLE_CMD,
    UNTAGGED_IMAGE,
    SHELL_FORM_CMD,
    DUPLICATE_STAGE,
    APK_CACHE,
];

/// The rule with this id (`DF002`) or slug (`from-as-casing`), case-insensitively.
pub fn rule(id_or_slug: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id_or_slug) || r.slug.eq_ignore_ascii_case(id_or_slug))
}

/// Runs every rule. Sorted by line, then rule id.
pub fn check(df: &Dockerfile) -> Vec<RuleFinding> {
    let mut cx = Cx {
        df,
        out: Vec::new(),
    };
    cx.unknown_instructions();
    cx.stages();
    cx.copy_from();
    cx.commands();
    cx.add_url();
    cx.user();
    cx.per_stage_instructions();
    let mut out = cx.out;
    out.sort_by(|a, b| (a.line, a.rule.id).cmp(&(b.line, b.rule.id)));
    out.dedup();
    out
}

struct Cx<'a> {
    df: &'a Dockerfile,
    out: Vec<RuleFinding>,
}

/// A word of a shell command, at its code line.
#[derive(Debug, Clone)]
struct ShWord {
    text: String,
    line: usize,
}

/// One simple command: its words (prefix assignments and wrappers like `sudo` included) and
/// the index of the command name.
#[derive(Debug, Clone)]
struct ShCmd {
    words: Vec<ShWord>,
    name: usize,
}

impl ShCmd {
    fn name(&self) -> &str {
        self.words.get(self.name).map_or("", |w| basename(&w.text))
    }
    fn line(&self) -> usize {
        self.words.get(self.name).map_or(0, |w| w.line)
    }
    fn args(&self) -> &[ShWord] {
        self.words.get(self.name + 1..).unwrap_or(&[])
    }
    fn has_arg(&self, f: impl Fn(&str) -> bool) -> bool {
        self.args().iter().any(|w| f(&w.text))
    }
    /// Assignments before the command name (`PIP_NO_CACHE_DIR=1 pip ...`).
    fn assigns(&self, var: &str) -> bool {
        self.words
            .iter()
            .take(self.name)
            .any(|w| w.text.split_once('=').is_some_and(|(k, _)| k == var))
    }
    /// The subcommand: the first argument that is not an option (`install` in
    /// `apt-get -q install`). Options taking a value (`-o X`) are skipped with their value.
    fn subcommand(&self) -> Option<(usize, &str)> {
        let args = self.args();
        let mut i = 0;
        while let Some(w) = args.get(i) {
            if w.text == "-o" || w.text == "-c" {
                i += 2;
                continue;
            }
            if !w.text.starts_with('-') {
                return Some((i, w.text.as_str()));
            }
            i += 1;
        }
        None
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// Splits a shell script into simple commands ([`shell_commands`]). `line_at(offset)` gives
/// the code line of a byte offset of `text`.
fn sh_commands(text: &str, line_at: &dyn Fn(usize) -> usize) -> Vec<ShCmd> {
    shell_commands(text)
        .into_iter()
        .map(|words| {
            to_cmd(
                words
                    .into_iter()
                    .map(|w| ShWord {
                        line: line_at(w.start),
                        text: w.text,
                    })
                    .collect(),
            )
        })
        .collect()
}

fn to_cmd(words: Vec<ShWord>) -> ShCmd {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    ];
    const WRAPPERS: &[&str] = &["sudo", "env", "exec", "nohup", "command", "nice", "xargs"];
    let mut i = 0;
    let mut wrapped = false;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        let assignment = t.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if KEYWORDS.contains(&t) || assignment || (wrapped && t.starts_with('-')) {
            i += 1;
        } else if WRAPPERS.contains(&basename(t)) {
            wrapped = true;
            i += 1;
        } else {
            break;
        }
    }
    ShCmd { words, name: i }
}

/// The shell commands an instruction runs (RUN, `HEALTHCHECK CMD`), with `sh -c "..."` strings
/// and heredoc scripts read too.
fn instruction_commands(ins: &Instruction) -> Vec<ShCmd> {
    let mut out = Vec::new();
    match &ins.cmd {
        Some(Cmd::Shell { offset }) => {
            let text = ins.args.get(*offset..).unwrap_or("");
            let off = *offset;
            out.extend(sh_commands(text, &|o| ins.args_line(off + o)));
        }
        Some(Cmd::Exec(v)) => {
            let words = v
                .iter()
                .map(|s| {
                    let needle = serde_json::to_string(s).unwrap_or_default();
                    let line = ins
                        .args
                        .find(&needle)
                        .map_or(ins.line, |o| ins.args_line(o));
                    ShWord {
                        text: s.clone(),
                        line,
                    }
                })
                .collect();
            out.push(to_cmd(words));
        }
        None => {}
    }
    // `sh -c "script"`: the script's commands too (at the line of the string).
    let mut nested = Vec::new();
    for c in &out {
        if SHELLS.contains(&c.name()) {
            let args = c.args();
            if let Some(p) = args
                .iter()
                .position(|w| w.text == "-c" || w.text == "-ec" || w.text == "-ce")
            {
                if let Some(script) = args.get(p + 1) {
                    let line = script.line;
                    nested.extend(sh_commands(&script.text, &|_| line));
                }
            }
        }
    }
    out.extend(nested);
    // Heredoc scripts: `RUN <<EOF` or `RUN bash <<EOF`.
    if ins.kind == Kind::Run && !ins.heredocs.is_empty() {
        let first = out
            .first()
            .map(|c| c.name().to_string())
            .unwrap_or_default();
        let script = ins.args.trim_start().starts_with("<<") || SHELLS.contains(&first.as_str());
        if script {
            for h in &ins.heredocs {
                let content = &h.content;
                let start = h.line;
                out.extend(sh_commands(content, &|o| {
                    start + content.get(..o).map_or(0, |s| s.matches('\n').count())
                }));
            }
        }
    }
    out
}

/// Packages a command installs with a system package manager (apt-get, apt, apk, yum, dnf).
fn installed_packages(c: &ShCmd) -> Vec<String> {
    let (sub, verb) = match c.name() {
        "apt-get" | "apt" | "yum" | "dnf" | "microdnf" => (c.subcommand(), "install"),
        "apk" => (c.subcommand(), "add"),
        _ => return Vec::new(),
    };
    match sub {
        Some((i, s)) if s == verb => c
            .args()
            .iter()
            .skip(i + 1)
            .filter(|w| !w.text.starts_with('-'))
            .map(|w| {
                w.text
                    .split(['=', '<', '>', '~'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn is_pip(c: &ShCmd) -> Option<&str> {
    let name = c.name();
    let pip_name = name == "pip"
        || name
            .strip_prefix("pip")
            .is_some_and(|r| r.chars().all(|ch| ch.is_ascii_digit() || ch == '.'));
    let args = c.args();
    let rest: &[ShWord] = if pip_name {
        args
    } else if name == "python"
        || name
            .strip_prefix("python")
            .is_some_and(|r| r.chars().all(|ch| ch.is_ascii_digit() || ch == '.'))
    {
        match args.iter().position(|w| w.text == "-m") {
            Some(p) if args.get(p + 1).is_some_and(|w| w.text == "pip") => {
                args.get(p + 2..).unwrap_or(&[])
            }
            _ => return None,
        }
    } else {
        return None;
    };
    rest.iter()
        .find(|w| !w.text.starts_with('-'))
        .map(|w| w.text.as_str())
}

/// The tool a system package provides, for the slim-image rule.
const TOOLS: &[&str] = &["curl", "wget"];

impl Cx<'_> {
    fn push(&mut self, rule: &'static Rule, line: usize, message: String) {
        self.out.push(RuleFinding {
            rule,
            line,
            message,
        });
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

    fn unknown_instructions(&mut self) {
        for ins in &self.df.instructions {
            if ins.kind != Kind::Unknown {
                continue;
            }
            let message = match suggest(&ins.keyword) {
                Some(s) => format!("unknown instruction `{}`: did you mean `{s}`?", ins.keyword),
                None => format!("unknown instruction `{}`", ins.keyword),
            };
            self.push(&UNKNOWN_INSTRUCTION, ins.line, message);
        }
    }

    fn stages(&mut self) {
        let df = self.df;
        for s in &df.stages {
            if let Some(as_kw) = &s.as_keyword {
                let f = &s.from_keyword;
                let upper = |t: &str| t == t.to_ascii_uppercase();
                let lower = |t: &str| t == t.to_ascii_lowercase();
                if (upper(f) && !upper(as_kw)) || (lower(f) && !lower(as_kw)) {
                    self.push(
                        &FROM_AS_CASING,
                        s.line,
                        format!(
                            "`{f}` and `{as_kw}` are not in the same case: write `{f} ... {}`",
                            if upper(f) { "AS" } else { "as" }
                        ),
                    );
                }
            }
            if let Some(name) = &s.name {
                if let Some(first) = df.stages.iter().take(s.index).find(|o| {
                    o.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                }) {
                    self.push(
                        &DUPLICATE_STAGE,
                        s.line,
                        format!(
                            "stage name `{name}` is already used by the stage at line {}",
                            first.line
                        ),
                    );
                }
            }
            if s.image.is_empty() || df.parent_stage(s.index).is_some() {
                continue;
            }
            let Some(image) = df.resolved_image(s.index) else {
                continue;
            };
            if image.eq_ignore_ascii_case("scratch") {
                continue;
            }
            let (_, tag, digest) = split_image(&image);
            if digest.is_none() && matches!(tag, None | Some("latest")) {
                let what = if tag.is_some() { "`latest`" } else { "no tag" };
                self.push(
                    &UNTAGGED_IMAGE,
                    s.line,
                    format!("base image `{image}` has {what}: pin a version tag"),
                );
            }
        }
    }

    fn copy_from(&mut self) {
        let df = self.df;
        for ins in &df.instructions {
            let Some(cur) = ins.stage else { continue };
            let mut refs: Vec<(String, &str)> = Vec::new();
            if matches!(ins.kind, Kind::Copy | Kind::Add) {
                if let Some(f) = ins.flag("from") {
                    refs.push((f.to_string(), "--from"));
                }
            }
            if ins.kind == Kind::Run {
                for (name, value) in &ins.flags {
                    if name != "mount" {
                        continue;
                    }
                    let Some(v) = value else { continue };
                    for kv in v.split(',') {
                        if let Some(f) = kv.strip_prefix("from=") {
                            refs.push((f.to_string(), "--mount from"));
                        }
                    }
                }
            }
            for (target, what) in refs {
                if let Some(m) = self.check_stage_ref(&target, cur) {
                    self.push(
                        &COPY_FROM_UNKNOWN_STAGE,
                        ins.line,
                        format!("{what}={target}: {m}"),
                    );
                }
            }
        }
    }

    /// Why a `--from` value does not name a usable stage, or `None` when it does.
    fn check_stage_ref(&self, target: &str, cur: usize) -> Option<String> {
        let df = self.df;
        if target.is_empty() {
            return Some("names nothing".to_string());
        }
        if target.contains('$') {
            return None;
        }
        if target.chars().all(|c| c.is_ascii_digit()) {
            let n: usize = target.parse().unwrap_or(usize::MAX);
            return if n < cur {
                None
            } else if n == cur {
                Some("that is the current stage: a stage cannot copy from itself".to_string())
            } else if n < df.stages.len() {
                Some(format!(
                    "stage {n} comes later: only earlier stages can be used"
                ))
            } else {
                Some(format!(
                    "there is no stage {n} (stages are numbered from 0)"
                ))
            };
        }
        if df.stage_named(target, cur).is_some() {
            return None;
        }
        let named = |s: &&super::parse::Stage| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
        };
        if let Some(s) = df.stages.iter().skip(cur).find(named) {
            return Some(if s.index == cur {
                "that is the current stage: a stage cannot copy from itself".to_string()
            } else {
                format!(
                    "stage `{target}` is defined later (line {}): only earlier stages can be used",
                    s.line
                )
            });
        }
        if target.contains(['/', ':', '@']) {
            return None;
        }
        let names: Vec<&str> = df
            .stages
            .iter()
            .take(cur)
            .filter_map(|s| s.name.as_deref())
            .collect();
        let hint = match closest(target, &names) {
            Some(n) => format!("; did you mean `{n}`?"),
            None => String::new(),
        };
        Some(format!(
            "no earlier stage is named `{target}`, so Docker would pull an image `{target}`{hint}"
        ))
    }

    /// Rules on shell commands: apt, apk, pip, curl/wget in slim images, cd.
    fn commands(&mut self) {
        let df = self.df;
        let finals = self.final_chain();
        // Tools installed per stage: (stage, instruction index, tool).
        let mut installs: Vec<(usize, usize, &str)> = Vec::new();
        let mut per_ins: Vec<Vec<ShCmd>> = Vec::with_capacity(df.instructions.len());
        for (k, ins) in df.instructions.iter().enumerate() {
            let cmds = if matches!(ins.kind, Kind::Run | Kind::Healthcheck) {
                instruction_commands(ins)
            } else {
                Vec::new()
            };
            if let Some(st) = ins.stage {
                for c in &cmds {
                    for p in installed_packages(c) {
                        if let Some(t) = TOOLS.iter().find(|t| **t == p) {
                            installs.push((st, k, t));
                        }
                    }
                }
                if matches!(ins.kind, Kind::Copy | Kind::Add) {
                    for w in super::parse::words(&ins.args) {
                        if let Some(t) = TOOLS.iter().find(|t| **t == basename(&w.text)) {
                            installs.push((st, k, t));
                        }
                    }
                }
            }
            per_ins.push(cmds);
        }

        for (k, ins) in df.instructions.iter().enumerate() {
            let Some(st) = ins.stage else { continue };
            let cmds = per_ins.get(k).map(Vec::as_slice).unwrap_or(&[]);
            if cmds.is_empty() {
                continue;
            }
            let in_final = finals.contains(&st);
            let mounts: Vec<&str> = ins
                .flags
                .iter()
                .filter(|(n, _)| n == "mount")
                .filter_map(|(_, v)| v.as_deref())
                .collect();
            let cache_mount = |dir: &str| {
                mounts
                    .iter()
                    .any(|m| m.contains("type=cache") && m.contains(dir))
            };
            let removes = |dir: &str| {
                cmds.iter()
                    .any(|c| c.name() == "rm" && c.has_arg(|a| a.starts_with(dir)))
            };

            if ins.kind == Kind::Run {
                for c in cmds {
                    // apt-get / apt install.
                    if matches!(c.name(), "apt-get" | "apt")
                        && c.subcommand().is_some_and(|(_, s)| s == "install")
                    {
                        let yes = c.has_arg(|a| {
                            a == "--yes"
                                || a == "--assume-yes"
                                || a.starts_with("-q=2")
                                || a.contains("Assume-Yes=")
                                || (a.starts_with('-')
                                    && !a.starts_with("--")
                                    && (a.contains('y') || a.matches('q').count() >= 2))
                        });
                        if !yes {
                            self.push(
                                &APT_WITHOUT_YES,
                                c.line(),
                                format!("`{} install` without `-y`: the build stops at the confirmation prompt", c.name()),
                            );
                        }
                        if !c.has_arg(|a| {
                            a == "--no-install-recommends" || a.contains("Install-Recommends=")
                        }) {
                            self.push(
                                &APT_RECOMMENDS,
                                c.line(),
                                format!("`{} install` without `--no-install-recommends`", c.name()),
                            );
                        }
                        if in_final
                            && !removes("/var/lib/apt/lists")
                            && !cache_mount("/var/lib/apt")
                        {
                            self.push(
                                &APT_LISTS,
                                c.line(),
                                "`apt-get install` without `rm -rf /var/lib/apt/lists/*` in the same RUN".to_string(),
                            );
                        }
                    }
                    // apk add.
                    if c.name() == "apk"
                        && c.subcommand().is_some_and(|(_, s)| s == "add")
                        && in_final
                        && !c.has_arg(|a| a == "--no-cache")
                        && !removes("/var/cache/apk")
                        && !cache_mount("/var/cache/apk")
                        && !cache_mount("/etc/apk/cache")
                    {
                        self.push(
                            &APK_CACHE,
                            c.line(),
                            "`apk add` without `--no-cache`".to_string(),
                        );
                    }
                    // pip install.
                    if is_pip(c) == Some("install")
                        && !c.has_arg(|a| a == "--no-cache-dir")
                        && !c.assigns("PIP_NO_CACHE_DIR")
                        && !cache_mount("pip")
                        && !cache_mount("/root/.cache")
                        && !self.env_set(st, k, "PIP_NO_CACHE_DIR")
                    {
                        self.push(
                            &PIP_CACHE,
                            c.line(),
                            "`pip install` without `--no-cache-dir`".to_string(),
                        );
                    }
                }
            }

            // curl / wget in a slim or alpine Python image.
            let Some((image, variant)) = self.python_base(st) else {
                continue;
            };
            let slim = variant.contains("slim");
            let alpine = variant.contains("alpine");
            if !slim && !alpine {
                continue;
            }
            let ancestors = self.ancestors(st);
            for c in cmds {
                let tool = c.name();
                if !TOOLS.contains(&tool) || (alpine && tool == "wget") {
                    continue;
                }
                let installed = installs.iter().any(|&(s, i, t)| {
                    t == tool
                        && (ancestors.contains(&s)
                            || (s == st && (ins.kind == Kind::Healthcheck || i <= k)))
                });
                if installed {
                    continue;
                }
                let message = if ins.kind == Kind::Healthcheck {
                    format!("`{tool}` is not installed in `{image}`: this HEALTHCHECK always fails and the container is reported unhealthy")
                } else {
                    format!("`{tool}` is not installed in `{image}`: this RUN fails with `{tool}: not found`")
                };
                self.push(&MISSING_TOOL, c.line(), message);
            }
        }
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

    fn add_url(&mut self) {
        for ins in &self.df.instructions {
            if ins.kind != Kind::Add || ins.flag("checksum").is_some() {
                continue;
            }
            let ws = super::parse::words_esc(&ins.args, self.df.escape);
            let Some((_, sources)) = ws.split_last() else {
                continue;
            };
            for s in sources {
                let l = s.text.to_ascii_lowercase();
                let git = l.ends_with(".git") || l.contains(".git#");
                if is_remote(&s.text)
                    && (l.starts_with("http://") || l.starts_with("https://"))
                    && !git
                {
                    self.push(
                        &ADD_URL,
                        ins.args_line(s.start),
                        format!("`ADD {}` downloads without verifying it", s.text),
                    );
                }
            }
        }
    }

    fn user(&mut self) {
        let df = self.df;
        let Some(last) = df.stages.last() else { return };
        let chain = self.final_chain();
        // The last USER of the final stage, else of the stages it is built from.
        let user = chain.iter().find_map(|&s| {
            df.stage_instructions(s)
                .filter(|i| i.kind == Kind::User)
                .last()
        });
        match user {
            None => self.push(
                &ROOT_USER,
                last.line,
                "the final stage has no USER: the container runs as root".to_string(),
            ),
            Some(u) => {
                let name = u.args.split(':').next().unwrap_or("").trim();
                if name == "root" || name == "0" {
                    self.push(
                        &ROOT_USER,
                        u.line,
                        format!(
                            "the final stage ends with `USER {}`: the container runs as root",
                            u.args
                        ),
                    );
                }
            }
        }
    }

    fn per_stage_instructions(&mut self) {
        let df = self.df;
        for s in &df.stages {
            let mut last: [Option<&Instruction>; 3] = [None; 3];
            let mut abs_workdir = self.ancestors(s.index).iter().any(|&a| {
                df.stage_instructions(a)
                    .any(|i| i.kind == Kind::Workdir && is_absolute(&i.args))
            });
            for ins in df.stage_instructions(s.index) {
                let slot = match ins.kind {
                    Kind::Cmd => Some(0),
                    Kind::Entrypoint => Some(1),
                    Kind::Healthcheck => Some(2),
                    _ => None,
                };
                if let Some(slot) = slot {
                    if let Some(prev) = last.get(slot).copied().flatten() {
                        self.push(
                            &MULTIPLE_CMD,
                            prev.line,
                            format!(
                                "this {} is overridden by the one at line {}",
                                prev.kind.name(),
                                ins.line
                            ),
                        );
                    }
                    if let Some(l) = last.get_mut(slot) {
                        *l = Some(ins);
                    }
                }
                match ins.kind {
                    Kind::Cmd | Kind::Entrypoint => {
                        if matches!(ins.cmd, Some(Cmd::Shell { .. })) {
                            self.push(
                                &SHELL_FORM_CMD,
                                ins.line,
                                format!(
                                    "{} in shell form: the process does not receive signals",
                                    ins.kind.name()
                                ),
                            );
                        }
                    }
                    Kind::Maintainer => self.push(
                        &MAINTAINER,
                        ins.line,
                        "MAINTAINER is deprecated".to_string(),
                    ),
                    Kind::Workdir if !ins.args.is_empty() => {
                        if is_absolute(&ins.args) {
                            abs_workdir = true;
                        } else if !abs_workdir && df.escape != '`' {
                            self.push(
                                &RELATIVE_WORKDIR,
                                ins.line,
                                format!("`WORKDIR {}` is relative and no absolute WORKDIR comes before it", ins.args),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// An absolute path, a variable (unknown), or a Windows drive path.
fn is_absolute(path: &str) -> bool {
    let p = path.trim_matches(['"', '\'']);
    p.starts_with('/')
        || p.starts_with('$')
        || p.starts_with('\\')
        || (p.len() >= 2 && p.as_bytes().get(1) == Some(&b':'))
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

/// The known instruction an unknown keyword probably meant.
fn suggest(keyword: &str) -> Option<&'static str> {
    let names: Vec<&'static str> = Kind::KNOWN.iter().map(|(n, _)| *n).collect();
    closest(keyword, &names)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    use crate::lang::dockerfile::testdata::{line_with, md_line, seed};

    fn found(code: &str) -> Vec<(usize, &'static str)> {
        check(&parse(code))
            .iter()
            .map(|f| (f.line, f.rule.id))
            .collect()
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
        let got: Vec<(usize, &str)> = f.iter().map(|f| (f.line, f.rule.id)).collect();
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
        let at = md_line(line_with("CMD curl"));
        let finding = f[1].to_finding(at);
        assert_eq!(finding.line, at);
        assert_eq!(finding.severity, Severity::Error);
        assert_eq!(finding.rule, "DF008");
        assert_eq!(finding.source, "docmatrix");
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
        assert_eq!(f[0].line, 2);
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
        let got: Vec<(usize, &str)> = f.iter().map(|f| (f.line, f.rule.id)).collect();
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
        let doc = include_str!("../../../docs/dockerfile-rules.md");
        let mut section = String::new();
        let mut seen: Vec<String> = Vec::new();
        let mut block: Option<(String, String)> = None;
        let (mut bad, mut good) = (0, 0);
        for line in doc.lines() {
            if let Some((lang, mut code)) = block.take() {
                if line == "```" {
                    let df = parse(&code);
                    assert!(df.errors.is_empty(), "{section}: {:?}\n{code}", df.errors);
                    let ids: Vec<&str> = check(&df).iter().map(|f| f.rule.id).collect();
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
