//! Rules on what RUN commands install: apt-get / apt (DF004–DF006), pip (DF007) and apk
//! (DF017).

use super::super::parse::{Instruction, Kind};
use super::commands::{is_pip, ShCmd};
use super::{Cx, Hit, Rule};
use crate::model::Severity;

/// The RUN instructions within stages with their commands: (index, instruction, stage,
/// commands).
fn runs<'a>(cx: &'a Cx) -> impl Iterator<Item = (usize, &'a Instruction, usize, &'a [ShCmd])> + 'a {
    cx.with_commands()
        .filter(|(_, ins, _, _)| ins.kind == Kind::Run)
}

/// Whether the instruction mounts a cache on a path containing `dir`.
fn cache_mount(ins: &Instruction, dir: &str) -> bool {
    ins.flags
        .iter()
        .filter(|(n, _)| n == "mount")
        .filter_map(|(_, v)| v.as_deref())
        .any(|m| m.contains("type=cache") && m.contains(dir))
}

/// Whether a command of the instruction removes a path under `dir`.
fn removes(cmds: &[ShCmd], dir: &str) -> bool {
    cmds.iter()
        .any(|c| c.name() == "rm" && c.has_arg(|a| a.starts_with(dir)))
}

/// The `apt-get install` / `apt install` commands, with the instruction, stage and commands
/// of the RUN they are in.
fn apt_installs<'a>(
    cx: &'a Cx,
) -> impl Iterator<Item = (&'a ShCmd, &'a Instruction, usize, &'a [ShCmd])> + 'a {
    runs(cx).flat_map(|(_, ins, st, cmds)| {
        cmds.iter()
            .filter(|c| {
                matches!(c.name(), "apt-get" | "apt")
                    && c.subcommand().is_some_and(|(_, s)| s == "install")
            })
            .map(move |c| (c, ins, st, cmds))
    })
}

pub(super) const APT_WITHOUT_YES: Rule = Rule {
    id: "DF004",
    slug: "apt-install-without-yes",
    severity: Severity::Error,
    why: "Without `-y` apt-get asks for confirmation, which aborts a non-interactive build.",
    fix: "Use `apt-get install -y ...`.",
    check: apt_without_yes,
};

fn apt_without_yes(cx: &Cx) -> Vec<Hit> {
    apt_installs(cx)
        .filter(|(c, ..)| {
            !c.has_arg(|a| {
                a == "--yes"
                    || a == "--assume-yes"
                    || a.starts_with("-q=2")
                    || a.contains("Assume-Yes=")
                    || (a.starts_with('-')
                        && !a.starts_with("--")
                        && (a.contains('y') || a.matches('q').count() >= 2))
            })
        })
        .map(|(c, ..)| {
            (
                c.pos(),
                format!(
                    "`{} install` without `-y`: the build stops at the confirmation prompt",
                    c.name()
                ),
            )
        })
        .collect()
}

pub(super) const APT_RECOMMENDS: Rule = Rule {
    id: "DF005",
    slug: "apt-install-recommends",
    severity: Severity::Info,
    why: "apt-get also installs recommended packages, which bloats the image.",
    fix: "Use `apt-get install -y --no-install-recommends ...`.",
    check: apt_recommends,
};

fn apt_recommends(cx: &Cx) -> Vec<Hit> {
    apt_installs(cx)
        .filter(|(c, ..)| {
            !c.has_arg(|a| a == "--no-install-recommends" || a.contains("Install-Recommends="))
        })
        .map(|(c, ..)| {
            (
                c.pos(),
                format!("`{} install` without `--no-install-recommends`", c.name()),
            )
        })
        .collect()
}

pub(super) const APT_LISTS: Rule = Rule {
    id: "DF006",
    slug: "apt-lists-not-removed",
    severity: Severity::Warning,
    why: "The package lists of `apt-get update` stay in the layer (tens of MB) unless removed in the same RUN.",
    fix: "End the RUN with `&& rm -rf /var/lib/apt/lists/*`.",
    check: apt_lists,
};

fn apt_lists(cx: &Cx) -> Vec<Hit> {
    let finals = cx.final_chain();
    apt_installs(cx)
        .filter(|(_, ins, st, cmds)| {
            finals.contains(st)
                && !removes(cmds, "/var/lib/apt/lists")
                && !cache_mount(ins, "/var/lib/apt")
        })
        .map(|(c, ..)| {
            (
                c.pos(),
                "`apt-get install` without `rm -rf /var/lib/apt/lists/*` in the same RUN"
                    .to_string(),
            )
        })
        .collect()
}

pub(super) const APK_CACHE: Rule = Rule {
    id: "DF017",
    slug: "apk-add-cache",
    severity: Severity::Warning,
    why: "`apk add` keeps its package index in the layer, which bloats the image.",
    fix: "Use `apk add --no-cache ...`.",
    check: apk_cache,
};

fn apk_cache(cx: &Cx) -> Vec<Hit> {
    let finals = cx.final_chain();
    let mut out = Vec::new();
    for (_, ins, st, cmds) in runs(cx) {
        for c in cmds {
            if c.name() == "apk"
                && c.subcommand().is_some_and(|(_, s)| s == "add")
                && finals.contains(&st)
                && !c.has_arg(|a| a == "--no-cache")
                && !removes(cmds, "/var/cache/apk")
                && !cache_mount(ins, "/var/cache/apk")
                && !cache_mount(ins, "/etc/apk/cache")
            {
                out.push((c.pos(), "`apk add` without `--no-cache`".to_string()));
            }
        }
    }
    out
}

pub(super) const PIP_CACHE: Rule = Rule {
    id: "DF007",
    slug: "pip-install-cache",
    severity: Severity::Warning,
    why: "pip keeps its download cache in the layer, which bloats the image.",
    fix: "Use `pip install --no-cache-dir ...` (or `ENV PIP_NO_CACHE_DIR=1`, or a cache mount).",
    check: pip_cache,
};

fn pip_cache(cx: &Cx) -> Vec<Hit> {
    let mut out = Vec::new();
    for (k, ins, st, cmds) in runs(cx) {
        for c in cmds {
            if is_pip(c) == Some("install")
                && !c.has_arg(|a| a == "--no-cache-dir")
                && !c.assigns("PIP_NO_CACHE_DIR")
                && !cache_mount(ins, "pip")
                && !cache_mount(ins, "/root/.cache")
                && !cx.env_set(st, k, "PIP_NO_CACHE_DIR")
            {
                out.push((
                    c.pos(),
                    "`pip install` without `--no-cache-dir`".to_string(),
                ));
            }
        }
    }
    out
}
