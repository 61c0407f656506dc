//! Rules on one instruction at a time: unknown keywords, `ADD <url>`, the final `USER`,
//! MAINTAINER, relative WORKDIR, repeated CMD / ENTRYPOINT / HEALTHCHECK, shell-form CMD.

use super::super::parse::{is_remote, words_esc, Cmd, Instruction, Kind};
use super::{closest, Cx, Hit, Pos, Rule};
use crate::model::Severity;

pub(super) const UNKNOWN_INSTRUCTION: Rule = Rule {
    id: "DF001",
    slug: "unknown-instruction",
    severity: Severity::Error,
    why: "Docker stops the build at an instruction it does not know.",
    fix: "Correct the keyword, or add the missing `\\` if the line continues the previous instruction.",
    check: unknown_instruction,
};

fn unknown_instruction(cx: &Cx) -> Vec<Hit> {
    cx.df
        .instructions
        .iter()
        .filter(|ins| ins.kind == Kind::Unknown)
        .map(|ins| {
            let message = match suggest(&ins.keyword) {
                Some(s) => format!("unknown instruction `{}`: did you mean `{s}`?", ins.keyword),
                None => format!("unknown instruction `{}`", ins.keyword),
            };
            (Pos::keyword(ins), message)
        })
        .collect()
}

/// The known instruction an unknown keyword probably meant.
pub(super) fn suggest(keyword: &str) -> Option<&'static str> {
    let names: Vec<&'static str> = Kind::KNOWN.iter().map(|(n, _)| *n).collect();
    closest(keyword, &names)
}

pub(super) const ADD_URL: Rule = Rule {
    id: "DF009",
    slug: "add-url",
    severity: Severity::Warning,
    why: "`ADD <url>` downloads without any integrity check and cannot be cleaned up in the same layer.",
    fix: "Download with curl in a RUN and verify it, or use `ADD --checksum=sha256:...`.",
    check: add_url,
};

fn add_url(cx: &Cx) -> Vec<Hit> {
    let mut out = Vec::new();
    for ins in &cx.df.instructions {
        if ins.kind != Kind::Add || ins.flag("checksum").is_some() {
            continue;
        }
        let ws = words_esc(&ins.args, cx.df.escape);
        let Some((_, sources)) = ws.split_last() else {
            continue;
        };
        for s in sources {
            let l = s.text.to_ascii_lowercase();
            let git = l.ends_with(".git") || l.contains(".git#");
            if is_remote(&s.text) && (l.starts_with("http://") || l.starts_with("https://")) && !git
            {
                out.push((
                    Pos::of(ins, ins.args_start + s.start, ins.args_start + s.end),
                    format!("`ADD {}` downloads without verifying it", s.text),
                ));
            }
        }
    }
    out
}

pub(super) const ROOT_USER: Rule = Rule {
    id: "DF010",
    slug: "runs-as-root",
    severity: Severity::Warning,
    why: "The container runs as root, so any compromise of the application owns the container.",
    fix: "Create a user and end the final stage with `USER name` (not root).",
    check: root_user,
};

fn root_user(cx: &Cx) -> Vec<Hit> {
    let df = cx.df;
    let Some(last) = df.stages.last() else {
        return Vec::new();
    };
    let chain = cx.final_chain();
    // The last USER of the final stage, else of the stages it is built from.
    let user = chain.iter().find_map(|&s| {
        df.stage_instructions(s)
            .filter(|i| i.kind == Kind::User)
            .last()
    });
    match user {
        None => {
            let at = df
                .instructions
                .get(last.instruction)
                .map_or(Pos::line(last.line), Pos::keyword);
            vec![(
                at,
                "the final stage has no USER: the container runs as root".to_string(),
            )]
        }
        Some(u) => {
            let name = u.args.split(':').next().unwrap_or("").trim();
            if name == "root" || name == "0" {
                vec![(
                    Pos::keyword(u),
                    format!(
                        "the final stage ends with `USER {}`: the container runs as root",
                        u.args
                    ),
                )]
            } else {
                Vec::new()
            }
        }
    }
}

pub(super) const MAINTAINER: Rule = Rule {
    id: "DF011",
    slug: "maintainer-deprecated",
    severity: Severity::Info,
    why: "MAINTAINER is deprecated.",
    fix: "Use `LABEL org.opencontainers.image.authors=\"name <mail>\"`.",
    check: maintainer,
};

fn maintainer(cx: &Cx) -> Vec<Hit> {
    cx.stage_instructions()
        .filter(|(_, ins)| ins.kind == Kind::Maintainer)
        .map(|(_, ins)| (Pos::keyword(ins), "MAINTAINER is deprecated".to_string()))
        .collect()
}

pub(super) const RELATIVE_WORKDIR: Rule = Rule {
    id: "DF012",
    slug: "relative-workdir",
    severity: Severity::Warning,
    why: "A relative WORKDIR depends on the base image's working directory, which can change.",
    fix: "Use an absolute path: `WORKDIR /app`.",
    check: relative_workdir,
};

fn relative_workdir(cx: &Cx) -> Vec<Hit> {
    let df = cx.df;
    let mut out = Vec::new();
    for s in &df.stages {
        let mut abs_workdir = cx.ancestors(s.index).iter().any(|&a| {
            df.stage_instructions(a)
                .any(|i| i.kind == Kind::Workdir && is_absolute(&i.args))
        });
        for ins in df.stage_instructions(s.index) {
            if ins.kind != Kind::Workdir || ins.args.is_empty() {
                continue;
            }
            if is_absolute(&ins.args) {
                abs_workdir = true;
            } else if !abs_workdir && df.escape != '`' {
                out.push((
                    Pos::keyword(ins),
                    format!(
                        "`WORKDIR {}` is relative and no absolute WORKDIR comes before it",
                        ins.args
                    ),
                ));
            }
        }
    }
    out
}

/// An absolute path, a variable (unknown), or a Windows drive path.
fn is_absolute(path: &str) -> bool {
    let p = path.trim_matches(['"', '\'']);
    p.starts_with('/')
        || p.starts_with('$')
        || p.starts_with('\\')
        || (p.len() >= 2 && p.as_bytes().get(1) == Some(&b':'))
}

pub(super) const MULTIPLE_CMD: Rule = Rule {
    id: "DF013",
    slug: "multiple-cmd",
    severity: Severity::Warning,
    why: "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect; the earlier ones are ignored.",
    fix: "Keep one CMD, ENTRYPOINT and HEALTHCHECK per stage.",
    check: multiple_cmd,
};

fn multiple_cmd(cx: &Cx) -> Vec<Hit> {
    let df = cx.df;
    let mut out = Vec::new();
    for s in &df.stages {
        let mut last: [Option<&Instruction>; 3] = [None; 3];
        for ins in df.stage_instructions(s.index) {
            let slot = match ins.kind {
                Kind::Cmd => 0,
                Kind::Entrypoint => 1,
                Kind::Healthcheck => 2,
                _ => continue,
            };
            if let Some(prev) = last[slot] {
                out.push((
                    Pos::keyword(prev),
                    format!(
                        "this {} is overridden by the one at line {}",
                        prev.kind.name(),
                        ins.line
                    ),
                ));
            }
            last[slot] = Some(ins);
        }
    }
    out
}

pub(super) const SHELL_FORM_CMD: Rule = Rule {
    id: "DF015",
    slug: "shell-form-cmd",
    severity: Severity::Info,
    why: "In shell form the program runs under `/bin/sh -c` and does not receive SIGTERM, so `docker stop` waits and kills it.",
    fix: "Use exec form: `CMD [\"python\", \"app.py\"]`.",
    check: shell_form_cmd,
};

fn shell_form_cmd(cx: &Cx) -> Vec<Hit> {
    cx.stage_instructions()
        .filter(|(_, ins)| {
            matches!(ins.kind, Kind::Cmd | Kind::Entrypoint)
                && matches!(ins.cmd, Some(Cmd::Shell { .. }))
        })
        .map(|(_, ins)| {
            (
                Pos::keyword(ins),
                format!(
                    "{} in shell form: the process does not receive signals",
                    ins.kind.name()
                ),
            )
        })
        .collect()
}
