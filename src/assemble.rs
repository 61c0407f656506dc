//! Job results → the report: every block's result becomes its example's cell (an
//! [`Outcome`]) at its Markdown line, then every example is judged and the [`Report`] is put
//! together. Runs after the scheduler; knows nothing of processes.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::Config;
use crate::corpus::Corpus;
use crate::interp::Interpreter;
use crate::judge;
use crate::model::{
    BlockResult, Diagnostic, JobResult, Lang, NotReached, Outcome, Snippet, Status,
};
use crate::plan::Plan;
use crate::report::{self, Example, Report};
use crate::sys::sandbox::SandboxKind;
use crate::version::PyVersion;

/// Points `o` at line `line` of `s`'s code: the Markdown line, the code's text, and the
/// included file's line for included code.
fn place(o: &mut Outcome, s: &Snippet, line: usize) {
    o.md_line = Some(s.md_line(line));
    o.code = s.code_line(line).map(str::to_string);
    o.source = s.source_of(line);
}

/// The cell of one block of a job.
fn outcome(block: BlockResult) -> Outcome {
    Outcome {
        error: block.error,
        error_type: block.error_type,
        exit_code: block.exit_code,
        reason: block.reason,
        not_reached: block.not_reached,
        diff: block.diff,
        ..Outcome::bare(block.status)
    }
}

/// Every example's cells, by version: the outcomes the plan decided, the jobs' results (in
/// job order, `results[i]` for `plan.jobs[i]`), and the cells of examples that share
/// another's job.
pub fn cells(
    examples: &[Snippet],
    plan: Plan,
    results: Vec<JobResult>,
) -> Vec<BTreeMap<PyVersion, Outcome>> {
    let mut cells: Vec<BTreeMap<PyVersion, Outcome>> = vec![BTreeMap::new(); examples.len()];
    for (i, v, o) in plan.decided {
        cells[i].insert(v, o);
    }
    // The results are consumed here: their texts move into the report, and nothing of a
    // result outlives this loop (at 40,000 cells the two side by side were a third of the peak).
    for (job, result) in plan.jobs.iter().zip(results) {
        let ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
        let first_bad = job
            .members
            .iter()
            .zip(&result.blocks)
            .find(|(_, b)| b.status != Status::Pass)
            .map(|(m, _)| &examples[m.example]);
        let failed = result
            .blocks
            .iter()
            .any(|b| b.status == Status::Fail || b.status == Status::Timeout);
        let stderr = (failed && !result.stderr.is_empty()).then_some(result.stderr);
        let statuses: Vec<Status> = result.blocks.iter().map(|b| b.status).collect();
        for (member, block) in job.members.iter().zip(result.blocks) {
            let at = block.at;
            // On a page: the earlier block whose failure left this one's name undefined.
            let after = block
                .after
                .and_then(|k| Some((job.members.get(k)?, *statuses.get(k)?)));
            let mut o = outcome(block);
            match after {
                // That block needed the network: this one is not decided here either.
                Some((m, Status::Blocked)) => {
                    let b = &examples[m.example];
                    o.reason = Some(format!(
                        "{}: the block at {}:{}, which defines a name it uses",
                        crate::lang::netfail::NEEDS_NETWORK,
                        b.file.display(),
                        b.line
                    ));
                    o.error = None;
                    o.error_type = None;
                    o.exit_code = None;
                    o.status = Status::Blocked;
                }
                Some((m, _)) => {
                    if let Some(e) = &mut o.error {
                        let b = &examples[m.example];
                        e.push_str(&format!(
                            " (the block at {}:{}, which failed, defines it)",
                            b.file.display(),
                            b.line
                        ));
                    }
                }
                None => {}
            }
            if o.not_reached == Some(NotReached::AfterFailure) {
                if let Some(b) = first_bad {
                    o.reason = Some(format!(
                        "not reached: the block at {}:{} did not finish",
                        b.file.display(),
                        b.line
                    ));
                }
            }
            if let Some((m, line)) = at {
                if let Some(s) = job.members.get(m).map(|m| &examples[m.example]) {
                    place(&mut o, s, line);
                    o.code_line = u32::try_from(line).ok();
                }
            }
            if matches!(o.status, Status::Pass | Status::Fail | Status::Timeout) {
                o.duration_ms = Some(ms);
            }
            o.cached = result.cached;
            if o.status == Status::Fail || o.status == Status::Timeout {
                o.stderr = stderr.clone();
            }
            cells[member.example].insert(job.version, o);
        }
    }

    // Examples that share another's job: its outcome, at their own lines.
    for &(i, v, owner) in &plan.shared {
        let Some(mut o) = cells[owner].get(&v).cloned() else {
            continue;
        };
        if let Some(line) = o.code_line.map(|l| l as usize) {
            place(&mut o, &examples[i], line);
        } else if o.md_line.is_some() {
            o.md_line = Some(examples[i].line);
        }
        cells[i].insert(v, o);
    }
    cells
}

/// The report of a run: every example with its cells, its verdict and its static findings
/// (`findings[i]` for `examples[i]`), in order; the corpus's counts and diagnostics.
#[allow(clippy::too_many_arguments)]
pub fn report(
    config: &Config,
    corpus: &Corpus,
    examples: &[Snippet],
    interpreters: BTreeMap<PyVersion, Option<Interpreter>>,
    cells: Vec<BTreeMap<PyVersion, Outcome>>,
    findings: Vec<Vec<Diagnostic>>,
    sandbox: SandboxKind,
    start: Instant,
) -> Report {
    let mut report = Report {
        schema: 1,
        versions: config.versions.clone(),
        sandbox,
        interpreters,
        partition: config.inputs.partition,
        examples: Vec::with_capacity(examples.len()),
        other_blocks: corpus.other_blocks(),
        not_checked: corpus.not_checked(),
        warnings: corpus.warnings.clone(),
        errors: corpus.errors.clone(),
        summary: Default::default(),
        foreign: Vec::new(),
        elapsed: Default::default(),
    };
    for (i, ((s, results), findings)) in examples.iter().zip(cells).zip(findings).enumerate() {
        let programs = crate::plan::session_programs(examples, i)
            .into_iter()
            .map(|(name, k)| {
                let p = &examples[k];
                format!("{name} = {}:{}", p.file.display(), p.line)
            })
            .collect();
        let requires = s.annotations.requires.as_ref().map(ToString::to_string);
        let mut verdict = judge::judge(
            &config.versions,
            &results,
            requires.as_deref(),
            config.policy.allow_missing,
        );
        let checked = s.lang != Lang::Python && s.annotations.skip.is_none();
        judge::with_findings(&mut verdict, &findings, config.policy.fail_on, checked);
        report.examples.push(Example {
            file: s.file.clone(),
            line: s.line,
            end_line: s.end_line,
            language: s.lang.name().to_string(),
            tab: s.tab.clone(),
            group: s.annotations.group.clone(),
            requires,
            deps: s.annotations.deps.clone(),
            skip: s.annotations.skip.clone(),
            programs,
            results,
            measured: verdict.measured,
            policy: verdict.policy,
            policy_message: verdict.message,
            findings,
        });
        if !s.foreign_attrs.is_empty() {
            report.foreign.push(Diagnostic::note(
                &s.file,
                Some(s.line),
                s.foreign_attrs.join(" "),
            ));
        }
    }
    // What examples and tools printed is shown escaped, never raw (report::safe).
    report::safe::clean(&mut report);
    report.summarize(corpus.files.len());
    report.elapsed = start.elapsed();
    report
}
