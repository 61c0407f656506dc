//! Rules on the base image: an untagged one (DF014), and the tools the slim and alpine Python
//! images lack (DF008).

use super::super::parse::{split_image, words, Kind};
use super::commands::{basename, installed_packages};
use super::stages::stage_pos;
use super::{Cx, Hit, Pos, Rule};
use crate::model::Severity;

pub(super) const UNTAGGED_IMAGE: Rule = Rule {
    id: "DF014",
    slug: "untagged-image",
    severity: Severity::Warning,
    why: "Without a tag (or with `latest`) the base image changes under the guide's readers.",
    fix: "Pin a tag: `FROM python:3.12-slim`.",
    check: untagged_image,
};

fn untagged_image(cx: &Cx) -> Vec<Hit> {
    let df = cx.df;
    let mut out = Vec::new();
    for s in &df.stages {
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
            // At the image as written, when it is the stage's first word.
            let at = df
                .instructions
                .get(s.instruction)
                .and_then(|ins| {
                    let w = words(&ins.args).into_iter().next()?;
                    Some(Pos::of(
                        ins,
                        ins.args_start + w.start,
                        ins.args_start + w.end,
                    ))
                })
                .unwrap_or_else(|| stage_pos(cx, s));
            out.push((
                at,
                format!("base image `{image}` has {what}: pin a version tag"),
            ));
        }
    }
    out
}

/// The tools a system package provides, for the slim-image rule.
const TOOLS: &[&str] = &["curl", "wget"];

pub(super) const MISSING_TOOL: Rule = Rule {
    id: "DF008",
    slug: "tool-missing-in-slim-image",
    severity: Severity::Error,
    why: "The slim and alpine Python images ship neither curl nor (slim) wget: the command is not found.",
    fix: "Install it in that stage (`apt-get install -y --no-install-recommends curl`), or use Python's urllib instead.",
    check: missing_tool,
};

fn missing_tool(cx: &Cx) -> Vec<Hit> {
    let df = cx.df;
    // Tools installed per stage: (stage, instruction index, tool).
    let mut installs: Vec<(usize, usize, &str)> = Vec::new();
    for (k, ins) in df.instructions.iter().enumerate() {
        let Some(st) = ins.stage else { continue };
        for c in cx.commands.get(k).map(Vec::as_slice).unwrap_or(&[]) {
            for p in installed_packages(c) {
                if let Some(t) = TOOLS.iter().find(|t| **t == p) {
                    installs.push((st, k, t));
                }
            }
        }
        if matches!(ins.kind, Kind::Copy | Kind::Add) {
            for w in words(&ins.args) {
                if let Some(t) = TOOLS.iter().find(|t| **t == basename(&w.text)) {
                    installs.push((st, k, t));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, ins, st, cmds) in cx.with_commands() {
        // curl / wget in a slim or alpine Python image.
        let Some((image, variant)) = cx.python_base(st) else {
            continue;
        };
        let slim = variant.contains("slim");
        let alpine = variant.contains("alpine");
        if !slim && !alpine {
            continue;
        }
        let ancestors = cx.ancestors(st);
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
            out.push((c.pos(), message));
        }
    }
    out
}
