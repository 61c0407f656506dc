//! Dockerfile blocks: parsed ([`parse`]), checked by docmatrix's own rules ([`rules`]) and by
//! hadolint where it is installed, and built once per matrix version where a container engine
//! answers ([`build`]), with the official Python base images set to that version.
//!
//! A block with no `FROM` is a fragment (a few instructions shown in passing): its instructions
//! are parsed and checked by the rules that look at one instruction, and it is never built.

pub mod build;
pub mod parse;
pub mod rules;
#[cfg(test)]
mod testdata;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use crate::cache::Cache;
use crate::lang::tool::{Check, Kind};
use crate::lang::Checked;
use crate::model::BlockResult;
use crate::model::Job;
use crate::model::JobResult;
use crate::model::{Diagnostic, Severity, Snippet, Status};
use crate::sys::process::{self, Exit, Limits};
use crate::sys::which;

/// Rules that judge a whole Dockerfile, not one instruction: not applied to fragments.
const WHOLE_FILE_RULES: &[&str] = &["DF008", "DF010", "DF013", "DF016"];

/// The static findings of a Dockerfile block, placed in the Markdown: parse errors,
/// docmatrix's rules and hadolint's findings at `min` or above (its output from `cache` when it
/// has it).
pub fn findings(s: &Snippet, min: Severity, cache: Option<&Cache>) -> Vec<Diagnostic> {
    let df = parse::parse(&s.code);
    let fragment = df.stages.is_empty();
    let code = Checked::code(s);
    let mut out = Vec::new();
    for e in &df.errors {
        if fragment
            && (e.message.contains("no FROM") || e.message.contains("before the first FROM"))
        {
            continue;
        }
        out.push(code.place(e.clone()));
    }
    if fragment {
        // The rules read instructions within stages: check the fragment as the body of one,
        // behind a `FROM` line of our own.
        let text = format!("FROM scratch\n{}", s.code);
        let framed = Checked {
            snippet: s,
            text: &text,
            lines: (0..=s.code.lines().count()).collect(),
        };
        for f in rules::check(&parse::parse(&text)) {
            if f.line_or_zero() < 2 || WHOLE_FILE_RULES.contains(&f.rule_id()) {
                continue;
            }
            out.push(framed.place(f));
        }
    } else {
        out.extend(rules::check(&df).into_iter().map(|f| code.place(f)));
        match hadolint(&s.code, min, cache) {
            Ok(found) => out.extend(found.into_iter().map(|f| code.place(f))),
            Err(e) => out.push(crate::lang::shell::tool_failure(s, "hadolint", e)),
        }
    }
    out
}

/// One finding of hadolint's JSON output.
#[derive(Deserialize)]
struct HadolintJson {
    line: usize,
    #[serde(default)]
    column: Option<usize>,
    code: String,
    message: String,
    level: String,
}

/// hadolint's findings at code lines, at `min` or above, through `cache`; none when it is not
/// installed.
fn hadolint(code: &str, min: Severity, cache: Option<&Cache>) -> Result<Vec<Diagnostic>, String> {
    let Some(program) = which("hadolint") else {
        return Ok(Vec::new());
    };
    let rec = Check {
        kind: Kind::Hadolint,
        program: &program,
        args: &["--no-fail", "--format", "json", "Dockerfile"],
        file: "Dockerfile",
        text: code,
        timeout: Duration::from_secs(20),
    }
    .run(cache)
    .map_err(|e| format!("cannot run hadolint: {e}"))?;
    if rec.exit == Exit::TimedOut {
        return Err("hadolint did not finish".into());
    }
    let found: Vec<HadolintJson> = serde_json::from_str(&rec.stdout).map_err(|e| {
        format!(
            "hadolint gave no report ({e}): {}",
            rec.stderr.lines().next().unwrap_or("")
        )
    })?;
    Ok(found
        .into_iter()
        .filter_map(|h| {
            let severity: Severity = h.level.parse().unwrap_or(Severity::Warning);
            let wiki = h.code.starts_with("DL") || h.code.starts_with("SC");
            let message = h.message.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut d = Diagnostic::finding(h.line, severity, "hadolint", &h.code, message)
                .with_span(h.column, None, None);
            if wiki {
                d = d.with_help(format!(
                    "see https://github.com/hadolint/hadolint/wiki/{}",
                    h.code
                ));
            }
            (severity >= min).then_some(d)
        })
        .collect())
}

/// Builds Dockerfile jobs with the engine found here, if any.
///
/// A build's result is cached (when the run has a cache) under a key of everything that can
/// change it: the retargeted Dockerfile, the engine and its version, the IDs of the base images
/// it starts from, the build context's files and their contents, the network and pull settings
/// and the timeout. A build whose base image is missing, a blocked build and a timeout are never
/// stored.
#[derive(Debug, Default)]
pub struct Runner {
    /// Missing base images may be pulled.
    pub pull: bool,
    engine: OnceLock<Option<build::Engine>>,
    cache: Option<crate::cache::Cache>,
    /// Local images: normalised name → ID, read once.
    images: OnceLock<BTreeMap<String, String>>,
}

impl Runner {
    /// The runner for `config`. The engine is looked for at the first build.
    pub fn detect(config: &crate::config::Config) -> Self {
        Runner {
            pull: config.docker.pull,
            engine: OnceLock::new(),
            cache: config.run.cache_dir.clone().map(crate::cache::Cache::new),
            images: OnceLock::new(),
        }
    }

    /// The cache key of building `text` (already retargeted) for `job`; `None` when a base
    /// image is not present (the build cannot be known from its inputs).
    fn key(&self, engine: &build::Engine, job: &Job, text: &str) -> Option<String> {
        let images = self.images.get_or_init(|| local_images(engine));
        let df = parse::parse(text);
        let mut key = crate::cache::Key::default();
        let mut field = |s: &[u8]| key.field(s);
        field(b"docmatrix-dockerfile-build-1");
        field(env!("CARGO_PKG_VERSION").as_bytes());
        field(engine.kind.name().as_bytes());
        field(engine.version.as_bytes());
        field(text.as_bytes());
        field(&[u8::from(job.network), u8::from(self.pull)]);
        field(&job.timeout.as_millis().to_le_bytes());
        for (i, stage) in df.stages.iter().enumerate() {
            let image = df.resolved_image(i).unwrap_or_else(|| stage.image.clone());
            let earlier = df.stages[..i].iter().any(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&image))
            });
            if earlier || image == "scratch" {
                continue;
            }
            field(images.get(&normalise_image(&image))?.as_bytes());
        }
        if let Some(ctx) = &job.context {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(ctx)
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect();
            files.sort();
            for f in files {
                field(
                    f.strip_prefix(ctx)
                        .unwrap_or(&f)
                        .as_os_str()
                        .as_encoded_bytes(),
                );
                field(blake3::hash(&std::fs::read(&f).ok()?).as_bytes());
            }
        }
        Some(key.hex())
    }

    fn engine(&self) -> Option<&build::Engine> {
        self.engine.get_or_init(build::detect).as_ref()
    }

    pub fn execute(&self, job: &Job) -> JobResult {
        let code = job.members.first().map_or("", |m| &*m.code);
        let (block, duration, log, cached) = self.build_block(job, code);
        let failed = block.status == Status::Fail;
        JobResult {
            blocks: vec![block],
            duration,
            stderr: if failed { log } else { String::new() },
            stdout: String::new(),
            cached,
            cpu: None,
        }
    }

    /// The block's result, its duration, the build log's tail, and whether it came from the
    /// cache.
    fn build_block(&self, job: &Job, code: &str) -> (BlockResult, Duration, String, bool) {
        let decided = |status: Status, reason: String, at: Option<usize>| {
            let mut b = BlockResult::new(status);
            b.reason = Some(reason);
            b.at = at.map(|l| (0, l));
            (b, Duration::ZERO, String::new(), false)
        };
        let df = parse::parse(code);
        if df.stages.is_empty() {
            return decided(
                Status::Skipped,
                "not built: a fragment (no FROM)".into(),
                None,
            );
        }
        if let Some(e) = df.errors.first() {
            let mut b = BlockResult::new(Status::Fail);
            b.error_type = Some("syntax".into());
            b.error = Some(format!("not built: {}", e.message));
            b.at = Some((0, e.line_or_zero()));
            return (b, Duration::ZERO, String::new(), false);
        }
        if let Some((line, source)) = missing_source(&df, job.context.as_deref()) {
            let reason = match &job.context {
                Some(c) => format!(
                    "needs build context: `{source}` is not in {}",
                    c.display()
                ),
                None => format!(
                    "needs build context: `{source}` (the guide does not provide it; `context=DIR` names a folder)"
                ),
            };
            return decided(Status::Blocked, reason, Some(line));
        }
        let Some(engine) = self.engine() else {
            return decided(
                Status::Skipped,
                "not built: no container engine".into(),
                None,
            );
        };
        let text = parse::retarget(&df, code, (job.version.major, job.version.minor));
        let key = self
            .cache
            .as_ref()
            .and_then(|_| self.key(engine, job, &text));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(r) = cache.load_result(key) {
                if let Some(b) = r.blocks.into_iter().next() {
                    return (b, r.duration, r.stderr, true);
                }
            }
        }
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let tag = format!(
            "localhost/docmatrix-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let req = build::BuildRequest {
            dockerfile: &text,
            context: job.context.as_deref(),
            network: job.network,
            pull: self.pull,
            timeout: job.timeout,
            tag,
        };
        let built_df = parse::parse(&text);
        let built = match build::build(engine, &req) {
            build::BuildOutcome::Pass { duration } => (
                BlockResult::new(Status::Pass),
                duration,
                String::new(),
                false,
            ),
            build::BuildOutcome::Fail {
                step,
                message,
                log_tail,
            } => {
                let mut b = BlockResult::new(Status::Fail);
                b.error_type = Some("build".into());
                b.error = Some(message.clone());
                b.at = step
                    .and_then(|(stage, k)| parse::stage_step_line(&built_df, stage, k))
                    .map(|l| {
                        (
                            0,
                            culprit_line(&built_df, &text, l, &format!("{message}\n{log_tail}")),
                        )
                    });
                (b, Duration::ZERO, log_tail, false)
            }
            build::BuildOutcome::Blocked { reason } => decided(Status::Blocked, reason, None),
            build::BuildOutcome::Timeout { after } => {
                let mut b = BlockResult::new(Status::Timeout);
                b.error = Some(format!("the build timed out after {}s", after.as_secs()));
                (b, after, String::new(), false)
            }
        };
        // Builds that ran to an end of their own are stored, and so is a build that needed
        // the network it did not have: the key holds the network setting, and such a build
        // costs pip's retries (about 16 s) every time. Timeouts and missing images are not.
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            let offline = built.0.status == Status::Blocked
                && built
                    .0
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with(crate::lang::netfail::NEEDS_NETWORK));
            if matches!(built.0.status, Status::Pass | Status::Fail) || offline {
                let r = JobResult {
                    blocks: vec![built.0.clone()],
                    duration: built.1,
                    stderr: built.2.clone(),
                    stdout: String::new(),
                    cached: false,
                    cpu: None,
                };
                cache.store_result(key, &r);
            }
        }
        built
    }
}

/// The engine's local images: normalised name (`python:3.12-slim`) → image ID.
fn local_images(engine: &build::Engine) -> BTreeMap<String, String> {
    let mut cmd = Command::new(&engine.program);
    cmd.args(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    let limits = Limits {
        timeout: Duration::from_secs(30),
        ..Limits::default()
    };
    let Ok(rec) = process::run(&mut cmd, &limits) else {
        return BTreeMap::new();
    };
    rec.stdout
        .text()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| !name.contains("<none>"))
        .map(|(name, id)| (normalise_image(name), id.trim().to_string()))
        .collect()
}

/// `docker.io/library/python:3.12-slim`, `library/python:3.12-slim` → `python:3.12-slim`;
/// `python` → `python:latest`.
fn normalise_image(image: &str) -> String {
    let mut s = image.trim();
    for prefix in ["docker.io/", "index.docker.io/", "library/"] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    let has_tag = s.rsplit('/').next().is_some_and(|last| last.contains(':'));
    if has_tag || s.contains('@') {
        s.to_string()
    } else {
        format!("{s}:latest")
    }
}

/// Within the instruction starting at code line `start`, the line naming the command that
/// was not found (`/bin/sh: 1: curl: not found`, in the message or the log: the last line a
/// RUN printed is not always the shell's complaint), else `start`.
fn culprit_line(df: &parse::Dockerfile, text: &str, start: usize, message: &str) -> usize {
    let missing = message.lines().rev().find_map(|line| {
        line.split(": ")
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[1].starts_with("not found") || w[1].starts_with("command not found"))
            .map(|w| w[0].trim().to_string())
    });
    let Some(cmd) = missing.filter(|c| !c.is_empty() && !c.contains(' ')) else {
        return start;
    };
    let Some(ins) = df.instructions.iter().find(|i| i.line == start) else {
        return start;
    };
    let lines: Vec<&str> = text.lines().collect();
    (ins.line..=ins.end_line)
        .find(|&l| {
            lines.get(l - 1).is_some_and(|t| {
                t.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')'))
                    .any(|w| w == cmd)
            })
        })
        .unwrap_or(start)
}

/// The first `COPY`/`ADD` source that the build context does not hold: (code line, source).
fn missing_source(df: &parse::Dockerfile, context: Option<&Path>) -> Option<(usize, String)> {
    parse::copy_sources(df).into_iter().find(|(_, src)| {
        let rel = src.trim_start_matches("./").trim_start_matches('/');
        if rel.is_empty() || rel == "." {
            return false;
        }
        let Some(ctx) = context else {
            return true;
        };
        if rel.contains(['*', '?', '[']) {
            return !glob_matches_any(ctx, rel);
        }
        !ctx.join(rel).exists()
    })
}

fn glob_matches_any(ctx: &Path, pattern: &str) -> bool {
    let Ok(glob) = globset::Glob::new(pattern) else {
        return false;
    };
    let m = glob.compile_matcher();
    walkdir::WalkDir::new(ctx)
        .into_iter()
        .flatten()
        .filter_map(|e| e.path().strip_prefix(ctx).ok().map(PathBuf::from))
        .any(|p| m.is_match(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_normalised() {
        assert_eq!(
            normalise_image("docker.io/library/python:3.12-slim"),
            "python:3.12-slim"
        );
        assert_eq!(normalise_image("library/python:3.9"), "python:3.9");
        assert_eq!(normalise_image("python"), "python:latest");
        assert_eq!(
            normalise_image("localhost:5000/team/app"),
            "localhost:5000/team/app:latest"
        );
        assert_eq!(normalise_image("ghcr.io/a/b:1"), "ghcr.io/a/b:1");
    }

    #[test]
    fn the_missing_command_names_its_line() {
        let text = "FROM python:3.12-slim\nRUN python --version \\\n    && curl -fsS x > /dev/null\nUSER nobody\n";
        let df = &parse::parse(text);
        assert_eq!(
            culprit_line(
                df,
                text,
                2,
                "RUN exited with 127: /bin/sh: 1: curl: not found"
            ),
            3
        );
        assert_eq!(culprit_line(df, text, 2, "RUN exited with 1: boom"), 2);
        // The complaint may be in the log only, before what the RUN printed last.
        assert_eq!(
            culprit_line(
                df,
                text,
                2,
                "RUN exited with 127: Python 3.9.18\nSTEP 2/3: RUN python --version \\\n/bin/sh: 1: curl: not found\nPython 3.9.18"
            ),
            3
        );
    }

    #[test]
    fn copy_sources_against_the_context() {
        let df = parse::parse(
            "FROM python:3.12-slim\nCOPY app.py .\nCOPY *.toml ./\nCOPY --from=python:3.11 /x /y\nCOPY . .\n",
        );
        assert_eq!(missing_source(&df, None), Some((2, "app.py".into())));
        let ctx = tempfile::tempdir().unwrap();
        std::fs::write(ctx.path().join("app.py"), "").unwrap();
        assert_eq!(
            missing_source(&df, Some(ctx.path())),
            Some((3, "*.toml".into()))
        );
        std::fs::write(ctx.path().join("pyproject.toml"), "").unwrap();
        assert_eq!(missing_source(&df, Some(ctx.path())), None);
    }
}
