//! Rules on stages: how `FROM ... AS` is written, stage names used twice, and what
//! `--from` names.

use super::super::parse::{Kind, Stage};
use super::{closest, Cx, Hit, Pos, Rule};
use crate::model::Severity;

/// Where a stage is: its `FROM` keyword.
pub(super) fn stage_pos(cx: &Cx, s: &Stage) -> Pos {
    cx.df
        .instructions
        .get(s.instruction)
        .map_or(Pos::line(s.line), Pos::keyword)
}

pub(super) const FROM_AS_CASING: Rule = Rule {
    id: "DF002",
    slug: "from-as-casing",
    severity: Severity::Warning,
    why: "BuildKit warns (FromAsCasing) when `FROM` and `AS` are not written in the same case.",
    fix: "Write both keywords in the same case: `FROM image AS name`.",
    check: from_as_casing,
};

fn from_as_casing(cx: &Cx) -> Vec<Hit> {
    let mut out = Vec::new();
    for s in &cx.df.stages {
        let Some(as_kw) = &s.as_keyword else {
            continue;
        };
        let f = &s.from_keyword;
        let upper = |t: &str| t == t.to_ascii_uppercase();
        let lower = |t: &str| t == t.to_ascii_lowercase();
        if (upper(f) && !upper(as_kw)) || (lower(f) && !lower(as_kw)) {
            out.push((
                stage_pos(cx, s),
                format!(
                    "`{f}` and `{as_kw}` are not in the same case: write `{f} ... {}`",
                    if upper(f) { "AS" } else { "as" }
                ),
            ));
        }
    }
    out
}

pub(super) const DUPLICATE_STAGE: Rule = Rule {
    id: "DF016",
    slug: "duplicate-stage-name",
    severity: Severity::Error,
    why: "Two stages with one name make the build fail.",
    fix: "Give every stage its own name.",
    check: duplicate_stage,
};

fn duplicate_stage(cx: &Cx) -> Vec<Hit> {
    let df = cx.df;
    let mut out = Vec::new();
    for s in &df.stages {
        let Some(name) = &s.name else { continue };
        if let Some(first) = df.stages.iter().take(s.index).find(|o| {
            o.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }) {
            out.push((
                stage_pos(cx, s),
                format!(
                    "stage name `{name}` is already used by the stage at line {}",
                    first.line
                ),
            ));
        }
    }
    out
}

pub(super) const COPY_FROM_UNKNOWN_STAGE: Rule = Rule {
    id: "DF003",
    slug: "copy-from-unknown-stage",
    severity: Severity::Error,
    why: "`--from` must name an earlier stage; any other single word is pulled as an image, so the build fails.",
    fix: "Name a stage defined earlier with `FROM ... AS name` (or its index), or write a full image reference.",
    check: copy_from_unknown_stage,
};

fn copy_from_unknown_stage(cx: &Cx) -> Vec<Hit> {
    let mut out = Vec::new();
    for ins in &cx.df.instructions {
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
            if let Some(m) = stage_ref_problem(cx, &target, cur) {
                out.push((Pos::keyword(ins), format!("{what}={target}: {m}")));
            }
        }
    }
    out
}

/// Why a `--from` value does not name a usable stage, or `None` when it does.
fn stage_ref_problem(cx: &Cx, target: &str, cur: usize) -> Option<String> {
    let df = cx.df;
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
    let named = |s: &&Stage| {
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
