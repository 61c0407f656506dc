//! `--partition K/N`: a deterministic slice of the examples, so that a large documentation set
//! can be spread over N CI machines and the JSON reports joined again with `docmatrix merge`.
//!
//! The slice is cut in *units*, the same units `plan.rs` runs as one program: a lone example,
//! or every example of one `group` in one file. A group never splits. Units are dealt, in
//! report order (file, then line), each to the shard with the fewest examples to run so far
//! (skipped examples cost nothing); ties go to the lowest shard. The slice depends only on the
//! examples found, so every shard must be given the same paths and configuration.
//!
//! Must not know processes or output formats.

use crate::model::{Partition, Snippet};

/// The shard (1-based) each example goes to, in the order given.
pub(crate) fn assign(examples: &[&Snippet], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut shard_of = vec![0; examples.len()];
    let mut load = vec![0usize; count];
    for unit in crate::plan::units(examples) {
        let weight = unit
            .iter()
            .filter(|&&i| examples[i].annotations.skip.is_none())
            .count();
        // The least-loaded shard; `min_by_key` keeps the first (lowest) on ties.
        let (shard, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(_, l)| *l)
            .unwrap_or((0, &0));
        load[shard] += weight;
        for i in unit {
            shard_of[i] = shard + 1;
        }
    }
    shard_of
}

/// The examples of `partition`, in their order; all of them when there is none. Moves them:
/// a snippet is never copied.
pub fn select(examples: Vec<Snippet>, partition: Option<Partition>) -> Vec<Snippet> {
    let Some(p) = partition else {
        return examples;
    };
    let shards = {
        let all: Vec<&Snippet> = examples.iter().collect();
        assign(&all, p.count)
    };
    examples
        .into_iter()
        .zip(shards)
        .filter(|(_, shard)| *shard == p.index)
        .map(|(s, _)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Annotations, Lang};

    fn snippet(file: &str, line: usize, group: Option<&str>, skip: bool) -> Snippet {
        Snippet {
            file: file.into(),
            line,
            end_line: line + 2,
            lang: Lang::Python,
            info: "python".into(),
            code: "pass\n".into(),
            code_lines: vec![line + 1],
            code_cols: Vec::new(),
            annotations: Annotations {
                group: group.map(str::to_string),
                skip: skip.then(String::new),
                ..Default::default()
            },
            foreign_attrs: Vec::new(),
            tab: None,
            sources: Vec::new(),
            include_error: None,
            session: false,
        }
    }

    #[test]
    fn parses_k_of_n() {
        assert_eq!(
            "2/3".parse::<Partition>(),
            Ok(Partition { index: 2, count: 3 })
        );
        assert_eq!("1/1".parse::<Partition>().unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "", "/2"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_example_in_exactly_one_shard_and_groups_whole() {
        let all = vec![
            snippet("a.md", 1, None, false),
            snippet("a.md", 5, Some("g"), false),
            snippet("a.md", 9, None, false),
            snippet("a.md", 13, Some("g"), false),
            snippet("a.md", 17, Some("g"), false),
            snippet("b.md", 1, Some("g"), false),
            snippet("b.md", 5, None, true),
            snippet("b.md", 9, None, false),
        ];
        for n in 1..=5 {
            let mut seen = Vec::new();
            for k in 1..=n {
                let part = select(all.clone(), Some(Partition { index: k, count: n }));
                let g: Vec<_> = part
                    .iter()
                    .filter(|s| s.file.as_os_str() == "a.md" && s.annotations.group.is_some())
                    .collect();
                assert!(g.is_empty() || g.len() == 3, "group a.md/g split: {n}");
                seen.extend(part.iter().map(|s| (s.file.clone(), s.line)));
            }
            seen.sort();
            let mut want: Vec<_> = all.iter().map(|s| (s.file.clone(), s.line)).collect();
            want.sort();
            assert_eq!(seen, want, "n = {n}");
        }
        // Deterministic, and balanced by examples to run: the 3-block group weighs 3.
        let refs: Vec<&Snippet> = all.iter().collect();
        assert_eq!(assign(&refs, 2), vec![1, 2, 1, 2, 2, 1, 1, 1]);
        assert_eq!(assign(&refs, 2), assign(&refs, 2));
    }
}
