//! `docmatrix merge`: joins the JSON reports of several runs into one [`Report`], from which
//! every format can be rendered as from a single run.
//!
//! Two kinds of input are accepted, not mixed:
//!
//! - the shards of one partitioned run (`--partition K/N`): every shard of the same N exactly
//!   once, run on the same files (they share `files`, `other_blocks`, warnings and errors,
//!   which are taken once);
//! - whole runs over different files: their examples, files, blocks and diagnostics add up.
//!
//! Inputs must agree on `versions`; an example (file and line) may appear only once. The
//! policy verdicts are the ones each run made. Anything else is an error (exit status 2).

use std::collections::{BTreeMap, BTreeSet};

use super::Report;
use crate::sys::sandbox::SandboxKind;

/// Joins `inputs` (a name for messages, and the report).
pub fn merge(inputs: Vec<(String, Report)>) -> Result<Report, String> {
    let mut it = inputs.into_iter();
    let Some((first_name, first)) = it.next() else {
        return Err("no report to merge".into());
    };
    let rest: Vec<(String, Report)> = it.collect();

    for (name, r) in &rest {
        if r.versions != first.versions {
            return Err(format!(
                "{name} was run on Python {} but {first_name} on Python {}: merge reports of the same matrix",
                super::version_list(&r.versions),
                super::version_list(&first.versions),
            ));
        }
    }

    let partitioned = first.partition.is_some();
    if let Some((name, _)) = rest
        .iter()
        .find(|(_, r)| r.partition.is_some() != partitioned)
    {
        let (with, without) = if partitioned {
            (&first_name, name)
        } else {
            (name, &first_name)
        };
        return Err(format!(
            "{with} is one shard of a partitioned run and {without} is not: merge the shards of one run, or whole runs"
        ));
    }

    let mut all = vec![(first_name, first)];
    all.extend(rest);

    let mut merged = all[0].1.clone();
    merged.examples.clear();
    merged.partition = None;
    let mut files = 0;

    if partitioned {
        let count = all[0].1.partition.map_or(0, |p| p.count);
        let mut seen = BTreeMap::new();
        for (name, r) in &all {
            let p = r
                .partition
                .unwrap_or(crate::model::Partition { index: 0, count: 0 });
            if p.count != count {
                return Err(format!(
                    "{name} is shard {p} but {} is shard {}: merge the shards of one partitioned run",
                    all[0].0,
                    all[0].1.partition.map(|p| p.to_string()).unwrap_or_default()
                ));
            }
            if let Some(other) = seen.insert(p.index, name) {
                return Err(format!("{other} and {name} are both shard {p}"));
            }
            if r.summary.files != all[0].1.summary.files
                || r.other_blocks != all[0].1.other_blocks
                || r.not_checked != all[0].1.not_checked
            {
                return Err(format!(
                    "{name} and {} were run on different files ({} and {} files): give every shard the same paths and configuration",
                    all[0].0, r.summary.files, all[0].1.summary.files
                ));
            }
        }
        let missing: Vec<String> = (1..=count)
            .filter(|k| !seen.contains_key(k))
            .map(|k| format!("{k}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "shard{} {} missing: a merge of some shards would pass examples that never ran",
                if missing.len() == 1 { " is" } else { "s are" },
                missing.join(", ")
            ));
        }
        // Every shard read the same files: their diagnostics are the first shard's.
        files = all[0].1.summary.files;
    } else {
        merged.other_blocks.clear();
        merged.not_checked.clear();
        merged.warnings.clear();
        merged.errors.clear();
        merged.foreign.clear();
        for (_, r) in &all {
            files += r.summary.files;
            for (lang, n) in &r.other_blocks {
                *merged.other_blocks.entry(lang.clone()).or_default() += n;
            }
            for (why, n) in &r.not_checked {
                *merged.not_checked.entry(why.clone()).or_default() += n;
            }
        }
        merged.warnings = union(all.iter().map(|(_, r)| &r.warnings));
        merged.errors = union(all.iter().map(|(_, r)| &r.errors));
        merged.foreign = union(all.iter().map(|(_, r)| &r.foreign));
    }

    // Examples: each once, in report order.
    let mut owner: BTreeMap<(std::path::PathBuf, usize), &str> = BTreeMap::new();
    for (name, r) in &all {
        for e in &r.examples {
            if let Some(other) = owner.insert((e.file.clone(), e.line), name) {
                return Err(format!(
                    "the example at {} is in both {other} and {name}",
                    e.location()
                ));
            }
            merged.examples.push(e.clone());
        }
    }
    merged
        .examples
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));

    // Interpreters: the first run that found one, per version, with what every run of that
    // interpreter imported ahead of its examples (each shard imports only its own examples'
    // statements), sorted as a whole run sorts them.
    for v in &merged.versions {
        let mut found = all
            .iter()
            .find_map(|(_, r)| r.interpreters.get(v).cloned().flatten());
        if let Some(i) = &mut found {
            let same: Vec<_> = all
                .iter()
                .filter_map(|(_, r)| r.interpreters.get(v).cloned().flatten())
                .filter(|o| o.path == i.path)
                .collect();
            let preimported: BTreeSet<_> =
                same.iter().flat_map(|o| o.preimported.clone()).collect();
            let refused: BTreeSet<_> = same
                .iter()
                .flat_map(|o| o.not_preimported.clone())
                .collect();
            let learned: BTreeSet<_> = same.iter().flat_map(|o| o.learned.clone()).collect();
            let for_importers: BTreeSet<_> = same
                .iter()
                .flat_map(|o| o.preimported_for_importers.clone())
                .collect();
            i.preimported_for_importers = for_importers.into_iter().collect();
            i.preimported = preimported.into_iter().collect();
            i.not_preimported = refused.into_iter().collect();
            i.learned = learned.into_iter().collect();
        }
        merged.interpreters.insert(*v, found);
    }
    // Sandboxed only if every run that ran something was; in containers only if all were.
    let sandboxed = |k: SandboxKind| matches!(k, SandboxKind::Bwrap | SandboxKind::Container);
    let ran = || all.iter().filter(|(_, r)| !r.examples.is_empty());
    if ran().any(|(_, r)| !sandboxed(r.sandbox)) {
        merged.sandbox = SandboxKind::None;
    } else if ran().count() > 0 && ran().all(|(_, r)| r.sandbox == SandboxKind::Container) {
        merged.sandbox = SandboxKind::Container;
    } else if all.iter().any(|(_, r)| sandboxed(r.sandbox)) {
        merged.sandbox = SandboxKind::Bwrap;
    }
    merged.elapsed = all.iter().map(|(_, r)| r.elapsed).max().unwrap_or_default();
    merged.summarize(files);
    Ok(merged)
}

/// The lists one after the other, without repeats.
fn union<'a, T: Ord + Clone + 'a>(lists: impl Iterator<Item = &'a Vec<T>>) -> Vec<T> {
    let mut seen = BTreeSet::new();
    lists
        .flatten()
        .filter(|x| seen.insert((*x).clone()))
        .cloned()
        .collect()
}
