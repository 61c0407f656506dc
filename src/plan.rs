//! Snippets × config × interpreters → [`Job`]s to run, or outcomes decided without running
//! (skipped, not applicable, unavailable).
//!
//! Must not know Markdown or how a job is spawned.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Outcome, Snippet, Status};
use crate::version::PyVersion;

/// One block of a job: the example it reports to, and what it runs.
#[derive(Debug, Clone)]
pub struct Member {
    /// Index into the examples being planned.
    pub example: usize,
    pub code: String,
    pub raises: Option<String>,
}

/// One program to run on one interpreter: a single example, or the blocks of a group in order.
#[derive(Debug, Clone)]
pub struct Job {
    pub version: PyVersion,
    pub interpreter: PathBuf,
    pub members: Vec<Member>,
    pub timeout: Duration,
}

/// The plan: jobs to run, and the outcomes already decided.
#[derive(Debug, Default)]
pub struct Plan {
    pub jobs: Vec<Job>,
    pub decided: Vec<(usize, PyVersion, Outcome)>,
}

/// The units of `examples` (indices, in order): a lone example, or all the examples of one
/// group in one file, in order. A unit runs as one program, and a partition never splits one.
pub fn units<S: std::borrow::Borrow<Snippet>>(examples: &[S]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut group_unit: BTreeMap<(PathBuf, String), usize> = BTreeMap::new();
    for (i, s) in examples.iter().enumerate() {
        let s = s.borrow();
        match &s.annotations.group {
            Some(g) => {
                let key = (s.file.clone(), g.clone());
                match group_unit.get(&key) {
                    Some(&u) => units[u].push(i),
                    None => {
                        group_unit.insert(key, units.len());
                        units.push(vec![i]);
                    }
                }
            }
            None => units.push(vec![i]),
        }
    }
    units
}

/// Plans every (example × version). `examples` are Python snippets in report order;
/// `interpreters` has an entry for each version that was found.
pub fn plan(
    examples: &[Snippet],
    versions: &[PyVersion],
    interpreters: &BTreeMap<PyVersion, PathBuf>,
    missing_reason: &BTreeMap<PyVersion, String>,
    default_timeout: Duration,
) -> Plan {
    let mut out = Plan::default();
    let units = units(examples);
    let timeout_of = |s: &Snippet| {
        s.annotations
            .timeout
            .map_or(default_timeout, Duration::from_secs_f64)
    };

    for unit in &units {
        for &v in versions {
            // Skipped blocks stay out of their group's program.
            let mut run = Vec::new();
            for &i in unit {
                match &examples[i].annotations.skip {
                    Some(r) => {
                        let reason = if r.is_empty() {
                            "skip annotation".into()
                        } else {
                            r.clone()
                        };
                        out.decided
                            .push((i, v, Outcome::decided(Status::Skipped, reason)));
                    }
                    None => run.push(i),
                }
            }
            if run.is_empty() {
                continue;
            }
            // A version that any block of the unit rules out is ruled out for the whole unit.
            let excluded = run.iter().find_map(|&i| {
                let s = &examples[i];
                let req = s.annotations.requires.as_ref()?;
                (!req.matches(v)).then(|| (req.to_string(), s.line))
            });
            if let Some((req, line)) = excluded {
                let reason = if unit.len() > 1 {
                    format!("group requires {req} (block at line {line})")
                } else {
                    format!("requires {req}")
                };
                for &i in &run {
                    out.decided.push((
                        i,
                        v,
                        Outcome::decided(Status::NotApplicable, reason.clone()),
                    ));
                }
                continue;
            }
            let Some(interp) = interpreters.get(&v) else {
                let reason = missing_reason
                    .get(&v)
                    .cloned()
                    .unwrap_or_else(|| format!("no Python {v} interpreter found"));
                for &i in &run {
                    out.decided
                        .push((i, v, Outcome::decided(Status::Unavailable, reason.clone())));
                }
                continue;
            };
            out.jobs.push(Job {
                version: v,
                interpreter: interp.clone(),
                timeout: run.iter().map(|&i| timeout_of(&examples[i])).sum(),
                members: run
                    .iter()
                    .map(|&i| Member {
                        example: i,
                        code: examples[i].code.clone(),
                        raises: examples[i].annotations.raises.clone(),
                    })
                    .collect(),
            });
        }
    }
    out
}
