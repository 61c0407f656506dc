//! Building a Dockerfile with a container engine (podman or docker).
//!
//! [`detect`] finds an engine that answers; [`build`] builds one Dockerfile in a throwaway
//! context and reads the result into a [`BuildOutcome`]: pass, fail at a step (with the
//! message and the last lines the step printed), blocked (the network was needed, or the base
//! image is absent and pulling is off), or timeout.
//!
//! Podman (what these machines have) builds with `--isolation chroot`, which refuses
//! `--network none`: a build without network runs the whole podman process in a new, empty
//! network namespace (`unshare -n`), where a `RUN` that connects out fails with errno 101.
//!
//! Nothing is left behind: the build context is a copy in a temporary folder; `--no-cache`
//! keeps builds from sharing intermediate images, so every image a build commits (the
//! `--> ID` lines) is its own and is removed afterwards with the tagged result; after a
//! timeout (the whole process group is killed), the working container of the build, marked
//! with the build argument `DOCMATRIX_BUILD=<tag>`, is removed too. `--layers=false` is not
//! used: podman 4.3 then deletes the base image of a stage that holds only a `FROM`.
//!
//! Library code: never prints, never panics on its input or the environment.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::lang::netfail;
use crate::sys::process::{self, Exit, Limits};

pub use crate::sys::container::{Engine, EngineKind};

/// How long each clean-up command may take.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of the build's output kept in [`BuildOutcome::Fail::log_tail`].
const LOG_TAIL_LINES: usize = 30;
/// The build argument that marks a build's working container.
const MARK_ARG: &str = "DOCMATRIX_BUILD";

/// The first engine that answers: podman, else docker ([`crate::sys::container::detect`]).
pub fn detect() -> Option<Engine> {
    crate::sys::container::detect(None)
}

/// One build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The Dockerfile's text, already retargeted to the version (the caller does that).
    pub dockerfile: &'a str,
    /// A folder whose contents are copied into a fresh build context; `None`: an empty one.
    pub context: Option<&'a Path>,
    /// `false`: the build runs without network.
    pub network: bool,
    /// `false`: base images are never pulled (a missing one makes the build blocked).
    pub pull: bool,
    pub timeout: Duration,
    /// Unique per job, with a registry part: `localhost/docmatrix-<hash>`.
    pub tag: String,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    Pass {
        duration: Duration,
    },
    Fail {
        /// The failing step as the engine printed it, when known: the stage of podman's
        /// `[2/3] STEP 4/5` (`None` without the prefix: one stage, or docker's `Step 4/12`,
        /// which counts every stage's instructions) and the 1-based step.
        /// [`parse::stage_step_line`](super::parse::stage_step_line) maps it to a line.
        step: Option<(Option<usize>, usize)>,
        /// One line: `RUN exited with 127: /bin/sh: 1: curl: not found`.
        message: String,
        /// The last lines of the build's output.
        log_tail: String,
    },
    Blocked {
        /// `needs the network: <evidence>`, `base image python:3.9-slim is not present
        /// (pulling is off)`.
        reason: String,
    },
    Timeout {
        after: Duration,
    },
}

/// Builds `req` with `engine` and removes what the build made (its image, its intermediate
/// images and containers). Never panics; a failure to even start is a `Fail` with the reason.
///
/// Builds run one at a time on the machine (an exclusive `flock` on a lock file in the
/// temporary folder, held for the build and its clean-up): podman 4.3 builds that run at the
/// same time, in one process or several, fail now and then with `layer not known` when one
/// commits a layer while another removes its intermediate images.
pub fn build(engine: &Engine, req: &BuildRequest) -> BuildOutcome {
    let _lock = BuildLock::acquire();
    match try_build(engine, req) {
        Ok(outcome) => outcome,
        Err(e) => BuildOutcome::Fail {
            step: None,
            message: format!("cannot run {}: {e}", engine.program.display()),
            log_tail: String::new(),
        },
    }
}

/// An exclusive lock on `$TMPDIR/docmatrix-build.lock`, released when dropped (or when the
/// process ends). Without a lock file (an unwritable temporary folder), builds run unlocked.
struct BuildLock {
    _file: Option<std::fs::File>,
}

impl BuildLock {
    fn acquire() -> BuildLock {
        use std::os::fd::AsRawFd;
        let path = std::env::temp_dir().join("docmatrix-build.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ok();
        if let Some(f) = &file {
            // SAFETY: flock on a descriptor we own; blocks until the lock is ours.
            loop {
                let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
                if r == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
        }
        BuildLock { _file: file }
    }
}

fn try_build(engine: &Engine, req: &BuildRequest) -> io::Result<BuildOutcome> {
    let dir = crate::sys::interrupt::job_dir("build", crate::sys::job_root().as_deref())?;
    let ctx = dir.path().join("context");
    std::fs::create_dir(&ctx)?;
    if let Some(src) = req.context {
        copy_tree(src, &ctx)?;
    }
    let dockerfile = dir.path().join("Dockerfile");
    std::fs::write(&dockerfile, req.dockerfile)?;

    let unshare = if req.network || engine.kind == EngineKind::Docker {
        None
    } else {
        match crate::sys::which("unshare") {
            Some(u) => Some(u),
            None => {
                return Ok(BuildOutcome::Blocked {
                    reason: "cannot build without network: `unshare` (util-linux) is not installed"
                        .to_string(),
                })
            }
        }
    };
    let mut args: Vec<OsString> = vec!["build".into()];
    match engine.kind {
        EngineKind::Podman => {
            args.extend(["--isolation", "chroot", "--no-cache", "--force-rm"].map(OsString::from));
            args.push(
                if req.pull {
                    "--pull=missing"
                } else {
                    "--pull=never"
                }
                .into(),
            );
        }
        EngineKind::Docker => {
            args.extend(["--no-cache", "--force-rm", "--progress=plain"].map(OsString::from));
            if !req.network {
                args.extend(["--network", "none"].map(OsString::from));
            }
            args.push(
                if req.pull {
                    "--pull=true"
                } else {
                    "--pull=false"
                }
                .into(),
            );
        }
    }
    args.push("--build-arg".into());
    args.push(format!("{MARK_ARG}={}", req.tag).into());
    args.extend(["-t".into(), req.tag.clone().into(), "-f".into()]);
    args.push(dockerfile.into_os_string());
    args.push(ctx.clone().into_os_string());

    // One stream, in the order things happened: `sh -c 'exec "$@" 2>&1'`.
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg("exec \"$@\" 2>&1").arg("sh");
    if let Some(u) = &unshare {
        cmd.arg(u).arg("-n").arg("--");
    }
    cmd.arg(&engine.program).args(&args);
    if engine.kind == EngineKind::Docker {
        cmd.env("DOCKER_BUILDKIT", "0");
    }
    let limits = Limits {
        timeout: req.timeout,
        output_cap: 512 * 1024,
        memory: None,
        dump_file: None,
    };
    let record = process::run(&mut cmd, &limits)?;
    let output = record
        .stdout
        .text()
        .replace(&*ctx.to_string_lossy(), "<context>");

    // Clean up before reading the result: whatever it is, nothing stays.
    let parsed = parse_output(&output);
    let timed_out = record.exit == Exit::TimedOut;
    cleanup(engine, req, &parsed.committed, timed_out);

    Ok(match record.exit {
        Exit::Code(0) => BuildOutcome::Pass {
            duration: record.duration,
        },
        Exit::TimedOut => BuildOutcome::Timeout { after: req.timeout },
        exit => judge_failure(req, &output, &parsed, exit),
    })
}

/// The outcome of a build that exited with a failure.
fn judge_failure(req: &BuildRequest, output: &str, parsed: &Parsed, exit: Exit) -> BuildOutcome {
    if let Some(image) = &parsed.missing_image {
        let reason = if req.pull {
            format!("base image {image} is not present and could not be pulled")
        } else {
            format!("base image {image} is not present (pulling is off)")
        };
        return BuildOutcome::Blocked { reason };
    }
    if let Some(evidence) = netfail::needs_network(output) {
        return BuildOutcome::Blocked {
            reason: format!("{}: {evidence}", crate::lang::netfail::NEEDS_NETWORK),
        };
    }
    let message = parsed.message.clone().unwrap_or_else(|| match exit {
        Exit::Code(c) => format!("the build exited with {c}"),
        Exit::Signal(s) => format!("the build was killed by signal {s}"),
        Exit::TimedOut => "the build timed out".to_string(),
    });
    BuildOutcome::Fail {
        step: parsed.failed_step,
        message,
        log_tail: last_lines(output, LOG_TAIL_LINES),
    }
}

/// What the build's output says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    /// The last step started: (1-based stage, when printed; 1-based step).
    failed_step: Option<(Option<usize>, usize)>,
    /// One line for the failure.
    message: Option<String>,
    /// IDs (short) of the images committed along the way (`--> 3f2a…`).
    committed: Vec<String>,
    /// A base image that is not present.
    missing_image: Option<String>,
}

/// Reads podman's (or docker's legacy builder's) output.
fn parse_output(output: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut instruction = String::new();
    // What the current step printed.
    let mut printed: Vec<&str> = Vec::new();
    let mut error: Option<&str> = None;
    for line in output.lines() {
        let t = line.trim_end();
        if let Some((stage, k, instr)) = step_line(t) {
            p.failed_step = Some((stage, k));
            instruction = instr.to_string();
            printed.clear();
        } else if let Some(id) = t.strip_prefix("--> ") {
            let id = id.trim();
            if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) {
                p.committed.push(id.to_string());
            }
        } else if let Some(id) = t.strip_prefix(" ---> ") {
            // docker's legacy builder
            let id = id.trim();
            if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) {
                p.committed.push(id.to_string());
            }
        } else if let Some(e) = t.strip_prefix("Error: ") {
            error = Some(e);
        } else if t.starts_with("The command '") && t.contains("returned a non-zero code") {
            error = Some(t);
        } else if !is_noise(t) {
            printed.push(t);
        }
    }
    if let Some(e) = error {
        if let Some(image) = missing_image(e) {
            p.missing_image = Some(image);
        }
        p.message = Some(failure_message(&instruction, e, &printed));
    }
    p
}

/// `[2/3] STEP 4/5: RUN …` (podman) or `Step 4/12 : RUN …` (docker): (stage, step, text).
fn step_line(line: &str) -> Option<(Option<usize>, usize, &str)> {
    let (stage, rest) = match line.strip_prefix('[') {
        Some(r) => {
            let (inside, rest) = r.split_once("] ")?;
            let (s, _) = inside.split_once('/')?;
            (Some(s.trim().parse().ok()?), rest)
        }
        None => (None, line),
    };
    let (num, instr) = if let Some(r) = rest.strip_prefix("STEP ") {
        r.split_once(": ")?
    } else if let Some(r) = rest.strip_prefix("Step ") {
        r.split_once(" : ")?
    } else {
        return None;
    };
    let (k, _) = num.split_once('/')?;
    Some((stage, k.trim().parse().ok()?, instr))
}

/// Lines of the build's own machinery, not of the step.
fn is_noise(line: &str) -> bool {
    let t = line.trim();
    t.is_empty()
        || t.starts_with("subprocess exited with status")
        || t.starts_with("time=\"")
        || t.starts_with("[Warning]")
        || t.starts_with("WARN[")
        || t.starts_with("Getting image source signatures")
        || t.starts_with("Copying blob")
        || t.starts_with("Copying config")
        || t.starts_with("Writing manifest")
        || t.starts_with("Storing signatures")
        || t.starts_with("Successfully tagged")
        || t.starts_with(" ---> Running in")
        || t.starts_with("Removing intermediate container")
        || t.contains("] COMMIT")
        || t.starts_with("COMMIT ")
}

/// `creating build container: python:3.8-slim: image not known` → `python:3.8-slim`.
fn missing_image(error: &str) -> Option<String> {
    let rest = error.strip_prefix("creating build container: ")?;
    for marker in [": image not known", ": pull policy is"] {
        if let Some(i) = rest.find(marker) {
            return Some(rest[..i].trim().to_string());
        }
    }
    if rest.contains("initializing source") || rest.contains("pinging container registry") {
        let name = rest.split(':').next().unwrap_or(rest);
        let image = rest
            .split_once("docker://")
            .map(|(_, r)| r.split(':').take(2).collect::<Vec<_>>().join(":"))
            .unwrap_or_else(|| name.to_string());
        return Some(image);
    }
    None
}

/// One line for the failure of `instruction` (the step's text) given the engine's error and
/// what the step printed.
fn failure_message(instruction: &str, error: &str, printed: &[&str]) -> String {
    let keyword = instruction
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    // `building at STEP "RUN …": <detail>`
    let detail = match error.strip_prefix("building at STEP \"") {
        Some(rest) => match rest.strip_prefix(instruction.trim()) {
            Some(r) if r.starts_with("\": ") => &r[3..],
            _ => rest.find("\": ").map(|i| &rest[i + 3..]).unwrap_or(rest),
        },
        None => error,
    }
    .trim();
    let code = exit_status(detail);
    let last = printed.iter().rev().find(|l| !l.trim().is_empty());
    let msg = match (code, last) {
        (Some(c), Some(l)) => format!("{} exited with {c}: {}", or_run(&keyword), l.trim()),
        (Some(c), None) => format!("{} exited with {c}", or_run(&keyword)),
        (None, _) if keyword.is_empty() => detail.to_string(),
        (None, _) => format!("{keyword} failed: {detail}"),
    };
    one_line(&msg)
}

fn or_run(keyword: &str) -> &str {
    if keyword.is_empty() {
        "RUN"
    } else {
        keyword
    }
}

/// `… exit status 127` or `… returned a non-zero code: 127` → 127.
fn exit_status(detail: &str) -> Option<i32> {
    for marker in ["exit status ", "returned a non-zero code: "] {
        if let Some(i) = detail.rfind(marker) {
            let n: String = detail[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(c) = n.parse() {
                return Some(c);
            }
        }
    }
    None
}

fn one_line(s: &str) -> String {
    let s = s.lines().next().unwrap_or("").trim();
    if s.chars().count() > 300 {
        let cut: String = s.chars().take(300).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Removes the build's image, the images it committed on the way, and (after a timeout) its
/// working containers. Errors are ignored: this is best effort, and another build may still
/// use an image (then it is not removed).
fn cleanup(engine: &Engine, req: &BuildRequest, committed: &[String], timed_out: bool) {
    let limits = quick_limits(CLEANUP_TIMEOUT);
    let run = |args: &[&str]| {
        let mut c = Command::new(&engine.program);
        c.args(args);
        process::run(&mut c, &limits).ok()
    };
    if timed_out && engine.kind == EngineKind::Podman {
        for id in marked_containers(engine, &req.tag) {
            run(&["rm", "--force", &id]);
        }
    }
    run(&["rmi", &req.tag]);
    // Newest first: a child before its parent.
    for id in committed.iter().rev() {
        // Only untagged images: a stage made of a bare `FROM` "commits" its base image.
        let tags = run(&["image", "inspect", "--format", "{{len .RepoTags}}", id]);
        if tags.is_some_and(|r| r.exit == Exit::Code(0) && r.stdout.text().trim() == "0") {
            run(&["rmi", id]);
        }
    }
}

/// The working containers (buildah's, visible with `--external`) of the build tagged `tag`:
/// those whose buildah state names the build argument `DOCMATRIX_BUILD=<tag>`.
fn marked_containers(engine: &Engine, tag: &str) -> Vec<String> {
    let limits = quick_limits(CLEANUP_TIMEOUT);
    let mut info = Command::new(&engine.program);
    info.args(["info", "--format", "{{.Store.GraphRoot}}"]);
    let Ok(root) = process::run(&mut info, &limits) else {
        return Vec::new();
    };
    let graph_root = PathBuf::from(root.stdout.text().trim());
    let mut ps = Command::new(&engine.program);
    ps.args(["ps", "--all", "--external", "--no-trunc", "--quiet"]);
    let Ok(list) = process::run(&mut ps, &limits) else {
        return Vec::new();
    };
    let needle = format!("\"{MARK_ARG}\":\"{tag}\"");
    list.stdout
        .text()
        .lines()
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()))
        .filter(|id| {
            let state = graph_root
                .join("overlay-containers")
                .join(id)
                .join("userdata/buildah.json");
            std::fs::read_to_string(state).is_ok_and(|s| s.contains(&needle))
        })
        .map(str::to_string)
        .collect()
}

use crate::sys::container::quick_limits;

/// Copies the contents of `src` into `dst` (which exists): files, folders and symbolic links
/// (as links). Other kinds of files (sockets, FIFOs) are skipped.
fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let to = dst.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir(&to)?;
            copy_tree(&entry.path(), &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &to)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::dockerfile::parse::{parse, stage_step_line};

    // Real podman 4.3.1 output (`podman build --isolation chroot`, stderr merged).
    const MULTI_STAGE_FAIL: &str = "[1/3] STEP 1/2: FROM python:3.12-slim AS a
[1/3] STEP 2/2: RUN echo a > /a
--> 05d681a99cd
[3/3] STEP 1/3: FROM python:3.12-slim
[3/3] STEP 2/3: COPY --from=a /a /a
--> 69e3d7285fd
[3/3] STEP 3/3: RUN echo before; curl -f http://localhost/
before
/bin/sh: 1: curl: not found
subprocess exited with status 127
subprocess exited with status 127
Error: building at STEP \"RUN echo before; curl -f http://localhost/\": exit status 127
";
    const MULTI_STAGE_DOCKERFILE: &str = "ARG X=1
FROM python:3.12-slim as a
RUN echo a > /a

FROM python:3.12-slim as unused
RUN echo u
# a comment
RUN echo u2 \\
    && echo more
FROM python:3.12-slim
COPY --from=a /a /a
RUN echo before; curl -f http://localhost/
";

    #[test]
    fn finds_the_failing_step_across_stages() {
        let p = parse_output(MULTI_STAGE_FAIL);
        assert_eq!(p.failed_step, Some((Some(3), 3)));
        assert_eq!(
            p.message.as_deref(),
            Some("RUN exited with 127: /bin/sh: 1: curl: not found")
        );
        assert_eq!(p.committed, vec!["05d681a99cd", "69e3d7285fd"]);
        assert_eq!(p.missing_image, None);
        // ARG, FROM, RUN, FROM, RUN, RUN, FROM, COPY, RUN: the 9th instruction, at line 12.
        let df = parse(MULTI_STAGE_DOCKERFILE);
        let lines: Vec<usize> = df.instructions.iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 5, 6, 8, 10, 11, 12]);
        assert_eq!(stage_step_line(&df, Some(3), 3), Some(12));
        // Without a stage prefix (docker's legacy builder) the steps count every stage's
        // instructions, the global ARGs not included.
        assert_eq!(stage_step_line(&df, None, 8), Some(12));
    }

    #[test]
    fn single_stage_and_other_errors() {
        let out = "STEP 1/2: FROM python:3.12-slim
STEP 2/2: COPY nothere.txt /x
Error: building at STEP \"COPY nothere.txt /x\": checking on sources under \"<context>\": copier: stat: \"/nothere.txt\": no such file or directory
";
        let p = parse_output(out);
        assert_eq!(p.failed_step, Some((None, 2)));
        assert_eq!(
            p.message.as_deref(),
            Some("COPY failed: checking on sources under \"<context>\": copier: stat: \"/nothere.txt\": no such file or directory")
        );
        let out = "STEP 1/2: FROM python:3.12-slim
STEP 2/2: RUN false
Error: building at STEP \"RUN false\": while running runtime: exit status 1
";
        assert_eq!(
            parse_output(out).message.as_deref(),
            Some("RUN exited with 1")
        );
    }

    #[test]
    fn missing_base_image() {
        let out = "[1/2] STEP 1/1: FROM python:3.12-slim AS b
--> 5d9545fdb7b
[2/2] STEP 1/2: FROM python:3.8-slim
Error: creating build container: python:3.8-slim: image not known
";
        let p = parse_output(out);
        assert_eq!(p.missing_image.as_deref(), Some("python:3.8-slim"));
    }

    #[test]
    fn docker_legacy_output() {
        let out = "Step 1/3 : FROM python:3.12-slim
 ---> 1a2b3c4d5e6f
Step 2/3 : RUN curl -f http://x/
 ---> Running in 0123456789ab
/bin/sh: 1: curl: not found
The command '/bin/sh -c curl -f http://x/' returned a non-zero code: 127
";
        let p = parse_output(out);
        assert_eq!(p.failed_step, Some((None, 2)));
        assert_eq!(
            p.message.as_deref(),
            Some("RUN exited with 127: /bin/sh: 1: curl: not found")
        );
    }

    #[test]
    fn step_lines_heredoc_and_escape() {
        let df =
            parse("FROM python:3.12-slim\nRUN <<EOF\necho hi\nFROM nope\nEOF\nCMD [\"python\"]\n");
        let steps: Vec<_> = (1..=4).map(|k| stage_step_line(&df, None, k)).collect();
        assert_eq!(steps, [Some(1), Some(2), Some(6), None]);
        let df = parse("# escape=`\nFROM python:3.12-slim\nRUN echo a `\n  b\nCMD x\n");
        let steps: Vec<_> = (1..=3).map(|k| stage_step_line(&df, Some(1), k)).collect();
        assert_eq!(steps, [Some(2), Some(3), Some(5)]);
        assert_eq!(stage_step_line(&parse(""), Some(2), 1), None);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "[",
            "[x] STEP",
            "STEP /: ",
            "Error: ",
            "--> ",
            "[1/] STEP 1/: x",
            "Step : ",
        ] {
            let _ = parse_output(s);
        }
    }
}
