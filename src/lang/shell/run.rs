//! Running a shell block on one matrix version: in the sandbox (network off unless the block
//! says `network`), in a fresh working folder, with the version's interpreter first on PATH as
//! `python`, `python3` and `python3.X`, and its pip as `pip`, `pip3` and `pip3.X`.
//!
//! A script runs under `-e` (the first failing command ends it; bash reports its line through an
//! ERR trap). A session runs its commands in one shell, in order, with stderr merged into
//! stdout as on a terminal; each command's output is compared with the guide's, and the first
//! command that fails or prints something else is the failure.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::session;
use crate::lang::netfail;
use crate::lang::python::fmt_secs;
use crate::model::BlockResult;
use crate::model::JobResult;
use crate::model::{Job, JobKind};
use crate::model::{Shell, Status};
use crate::sys::container::Target;
use crate::sys::process::{self, Exit, Limits};
use crate::sys::sandbox::Sandbox;
use crate::sys::tail;

/// Marks the start of a session command's output: `\x1eDM <n>`.
const BEGIN: &str = "\u{1e}DM ";
/// Marks its end: `\x1eDMEND <n> <status>`.
const END: &str = "\u{1e}DMEND ";
/// What the session driver prints as the shell exits (its EXIT trap).
const EXIT: &str = "\u{1e}DMEXIT ";
/// How many times a session in a container runs when it exits 0 without a word on its
/// standard output: the engine lost the output of a short-lived container (seen once, on a
/// loaded CI machine, with podman 4.3), which is not the session's doing.
const OUTPUT_LOST_TRIES: usize = 3;
/// A bash script's failing line: `\x1eDMERR <line> <status>`.
const ERR: &str = "\u{1e}DMERR ";

/// `PATH` in the official `python` images (Debian's, with `/usr/local` first).
const IMAGE_PATH: &str = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Bytes of output kept with a failing job.
const KEPT: usize = 4000;

/// Runs shell jobs.
#[derive(Debug, Clone)]
pub struct Runner {
    pub sandbox: Sandbox,
    /// `--no-sandbox`: the user accepts running shell blocks without a sandbox.
    pub allow_unsandboxed: bool,
    pub temp_root: Option<PathBuf>,
    pub limits: Limits,
    /// The interpreters that run in containers, by their key: a block on their version runs
    /// in a container of the image, with the image's shell.
    pub containers: Arc<BTreeMap<PathBuf, Target>>,
}

impl Runner {
    pub fn new(sandbox: Sandbox, allow_unsandboxed: bool) -> Self {
        Runner {
            sandbox,
            allow_unsandboxed,
            temp_root: crate::sys::job_root(),
            limits: Limits::default(),
            containers: Arc::default(),
        }
    }

    pub fn execute(&self, job: &Job) -> JobResult {
        let contained = self.containers.contains_key(&*job.interpreter);
        if self.sandbox == Sandbox::None && !self.allow_unsandboxed && !contained {
            let mut b = BlockResult::new(Status::Blocked);
            b.reason = Some(
                "not run: no sandbox here (bubblewrap); --no-sandbox runs shell blocks unsandboxed"
                    .into(),
            );
            return result(vec![b], Duration::ZERO, String::new());
        }
        if job.kind == JobKind::Script(Shell::Zsh) && contained {
            let mut b = BlockResult::new(Status::Blocked);
            b.reason = Some("not run: zsh is not in the image".into());
            return result(vec![b], Duration::ZERO, String::new());
        }
        if job.kind == JobKind::Script(Shell::Zsh) && crate::sys::which("zsh").is_none() {
            let mut b = BlockResult::new(Status::Blocked);
            b.reason = Some("not run: zsh is not installed here".into());
            return result(vec![b], Duration::ZERO, String::new());
        }
        match self.try_execute(job) {
            Ok(r) => r,
            Err(e) => {
                let mut b = BlockResult::new(Status::Fail);
                b.error = Some(format!("cannot run the block: {e}"));
                result(vec![b], Duration::ZERO, String::new())
            }
        }
    }

    fn try_execute(&self, job: &Job) -> std::io::Result<JobResult> {
        let code = job.members.first().map_or("", |m| &*m.code);
        let dir = crate::sys::interrupt::job_dir("sh", self.temp_root.as_deref())?;
        let (work, home, tmp, bin) = (
            dir.path().join("work"),
            dir.path().join("home"),
            dir.path().join("tmp"),
            dir.path().join("bin"),
        );
        for d in [&work, &home, &tmp, &bin] {
            std::fs::create_dir(d)?;
        }
        let target = self.containers.get(&*job.interpreter);
        let python = target.map_or(&*job.interpreter, |t| t.python.as_path());
        shims(&bin, python, job.version.to_string().as_str())?;
        // The page's programs the session runs, under the names it runs them by: written
        // beside the job (the working folder is a fresh one inside the sandbox), and copied
        // into the working folder by the session's driver.
        let programs = dir.path().join("programs");
        if !job.files.is_empty() {
            std::fs::create_dir(&programs)?;
            for (name, code) in &job.files {
                std::fs::write(programs.join(name), code.as_bytes())?;
            }
        }

        let session = match job.kind {
            JobKind::Session => Some(session::parse(code)).filter(|c| !c.is_empty()),
            _ => None,
        };
        let shell = match job.kind {
            JobKind::Script(sh) => sh,
            _ => Shell::Bash,
        };
        let (program, args) = match &session {
            Some(cmds) => {
                let driver = dir.path().join("session.sh");
                let mut text = String::new();
                if !job.files.is_empty() {
                    let from = shlex::try_quote(&programs.to_string_lossy())
                        .map_err(|e| std::io::Error::other(e.to_string()))?
                        .into_owned();
                    text.push_str(&format!("cp -p -- {from}/* . || exit 125\n"));
                }
                text.push_str(&session_driver(cmds));
                std::fs::write(&driver, text)?;
                (shell_program(Shell::Bash), vec![driver.into_os_string()])
            }
            None => {
                let script = dir.path().join("script.sh");
                std::fs::write(&script, code)?;
                script_command(shell, &script)
            }
        };
        let view = crate::sys::sandbox::View {
            job_dir: dir.path().to_path_buf(),
            scratch: vec![work.clone(), home.clone(), tmp.clone()],
            programs: vec![job.interpreter.to_path_buf()],
            network: job.network,
        };
        let mut env: Vec<(&str, OsString)> = vec![
            ("PIP_DISABLE_PIP_VERSION_CHECK", "1".into()),
            ("PIP_NO_INPUT", "1".into()),
        ];
        if !job.network {
            // With the network off, pip's retries (with back-off) only delay the answer; one
            // retry still prints the connection error that shows why.
            env.push(("PIP_RETRIES", "1".into()));
        }
        if session.is_some() {
            // What a terminal shows: Python writes its output a line at a time on a terminal,
            // so a line printed before an error message comes before it, as the page shows.
            env.push(("PYTHONUNBUFFERED", "1".into()));
        }
        let limits = Limits {
            timeout: job.timeout,
            ..self.limits.clone()
        };
        let path_after = |rest: OsString| {
            let mut full = OsString::from(bin.as_os_str());
            full.push(":");
            full.push(rest);
            full
        };
        let record = match target {
            Some(t) => {
                // The image's shell, by its name; the image's PATH after the shims.
                let name = program.file_name().unwrap_or_else(|| "sh".as_ref());
                let inside = Path::new("/bin").join(name);
                env.extend(crate::sys::container_env(&home, &tmp));
                env.push(("PATH", path_after(IMAGE_PATH.into())));
                let mut tries = 0;
                loop {
                    let r = t.run(&inside, &args, &work, &view, &env, &limits)?;
                    tries += 1;
                    let lost = session.is_some()
                        && r.exit == Exit::Code(0)
                        && !r.stdout.text().contains(EXIT);
                    if !lost || tries == OUTPUT_LOST_TRIES {
                        break r;
                    }
                    // Again from scratch: what the lost run left is gone.
                    for d in [&work, &home, &tmp] {
                        std::fs::remove_dir_all(d)?;
                        std::fs::create_dir(d)?;
                    }
                }
            }
            None => {
                let mut cmd = self.sandbox.command(&program, &args, &work, &view)?;
                crate::sys::set_env(&mut cmd, &home, &tmp);
                let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
                cmd.env("PATH", path_after(path));
                cmd.envs(env);
                process::run(&mut cmd, &limits)?
            }
        };
        let stdout = stable_paths(&record.stdout.text(), dir.path());
        let stderr = stable_paths(&record.stderr.text(), dir.path());
        let block = match &session {
            Some(cmds) => judge_session(cmds, &stdout, record.exit, job),
            None => judge_script(&stdout, &stderr, record.exit, job),
        };
        let failed = block.status != Status::Pass;
        let kept = if failed {
            tail(&strip_markers(&format!("{stdout}\n{stderr}")), KEPT)
        } else {
            String::new()
        };
        Ok(JobResult {
            cpu: record.cpu,
            ..result(vec![block], record.duration, kept)
        })
    }
}

/// Output that names a path in the throwaway job folder (a traceback's `.../work/main.py`) names
/// it as the example sees it: relative to its working folder, `~`, or `$TMPDIR`; the same text
/// on every run, so it can match the page and the cache.
fn stable_paths(text: &str, dir: &Path) -> String {
    let folder = format!("{}/", dir.display());
    if !text.contains(&folder) {
        return text.to_string();
    }
    text.replace(&format!("{folder}work/"), "")
        .replace(&format!("{folder}work"), ".")
        .replace(&format!("{folder}home"), "~")
        .replace(&format!("{folder}tmp"), "$TMPDIR")
        .replace(&folder, "")
}

fn result(blocks: Vec<BlockResult>, duration: Duration, stderr: String) -> JobResult {
    JobResult {
        blocks,
        duration,
        stderr,
        stdout: String::new(),
        cached: false,
        cpu: None,
    }
}

/// `uv` in a session: `uv run [OPTIONS] COMMAND…` runs the command in the version's
/// environment, which is already the one on `PATH` (docs write `uv run python main.py`);
/// anything else says that it is not available here.
const UV_SHIM: &str = r#"#!/bin/sh
if [ "$1" = run ]; then
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --with|--with-requirements|--python|-p|--group|--extra|--package|--project|--directory|--env-file|--index|--index-url|--default-index)
                shift 2 ;;
            --) shift; break ;;
            -*) shift ;;
            *) break ;;
        esac
    done
    exec "$@"
fi
echo "docmatrix: only \`uv run COMMAND\` works in a session (the version's environment is already on PATH)" >&2
exit 127
"#;

/// `python`, `python3`, `python3.X` → the interpreter; `pip`, `pip3`, `pip3.X` → its pip;
/// `uv run` → the command itself (see [`UV_SHIM`]).
fn shims(bin: &Path, interpreter: &Path, version: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Scripts, not symlinks: a virtual environment's interpreter finds its pyvenv.cfg beside the
    // path it was started by, so a link to it from here would run without the environment.
    let quoted = interpreter.display().to_string().replace('\'', r"'\''");
    let python = format!("#!/bin/sh\nexec '{quoted}' \"$@\"\n");
    for name in [
        "python".to_string(),
        "python3".into(),
        format!("python{version}"),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, &python)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    }
    let pip = format!("#!/bin/sh\nexec '{quoted}' -m pip \"$@\"\n");
    for name in ["pip".to_string(), "pip3".into(), format!("pip{version}")] {
        let p = bin.join(name);
        std::fs::write(&p, &pip)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    }
    let uv = bin.join("uv");
    std::fs::write(&uv, UV_SHIM)?;
    std::fs::set_permissions(&uv, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn shell_program(shell: Shell) -> PathBuf {
    let name = match shell {
        Shell::Bash => "bash",
        Shell::Sh => "sh",
        Shell::Zsh => "zsh",
    };
    crate::sys::which(name).unwrap_or_else(|| PathBuf::from("/bin/sh"))
}

/// The command that runs a script under `-e`; bash reports the failing line through ERR.
fn script_command(shell: Shell, script: &Path) -> (PathBuf, Vec<OsString>) {
    let program = shell_program(shell);
    let is_bash = program.file_name().is_some_and(|n| n == "bash");
    if is_bash {
        let driver = format!(
            "set -eE; trap 'printf \"{}%s %s\\n\" \"$LINENO\" \"$?\" >&2' ERR; . \"$1\"",
            ERR.replace('\u{1e}', "\\036")
        );
        let args = vec![
            "-c".into(),
            driver.into(),
            "docmatrix".into(),
            script.as_os_str().to_owned(),
        ];
        (program, args)
    } else {
        (program, vec!["-e".into(), script.as_os_str().to_owned()])
    }
}

/// A bash program running the commands in order, each one's output between markers. A command
/// with answers (prompt notations) reads them as its standard input, from a here-document.
fn session_driver(cmds: &[session::Command]) -> String {
    // Each command sees the previous one's `$?` (`$ echo $?` after a failing program), not the
    // status of the driver's markers: `__dm_status` keeps it and `__dm_return` restores it.
    let mut s = String::from("exec 2>&1\n__dm_status=0\n__dm_return() { return \"$1\"; }\n");
    // The shell's last word, whatever ends it (an `exit` in the session too): a session that
    // exited 0 without it lost its output on the way (see `OUTPUT_LOST_TRIES`).
    let exit = EXIT.replace('\u{1e}', "\\036");
    s.push_str(&format!("trap 'printf \"\\n{exit}%s\\n\" \"$?\"' EXIT\n"));
    for (i, c) in cmds.iter().enumerate() {
        s.push_str(&format!(
            "printf '\\036DM {i}\\n'\n__dm_return \"$__dm_status\"\n"
        ));
        if c.input.is_empty() {
            s.push_str(&c.text);
            s.push('\n');
        } else {
            let mut end = format!("DOCMATRIX_ANSWERS_{i}");
            while c.input.contains(&end) {
                end.push('_');
            }
            s.push_str(&format!("{{\n{}\n}} <<'{end}'\n", c.text));
            for a in &c.input {
                s.push_str(a);
                s.push('\n');
            }
            s.push_str(&end);
            s.push('\n');
        }
        s.push_str(&format!(
            "__dm_status=$?\nprintf '\\n\\036DMEND {i} %s\\n' \"$__dm_status\"\n"
        ));
    }
    s
}

/// Each command's output and exit status, from the driver's markers; `None` for the status of
/// a command that did not finish (the shell exited or was killed during it).
fn split_session(out: &str, n: usize) -> Vec<(String, Option<i32>)> {
    let mut chunks: Vec<(String, Option<i32>)> = vec![(String::new(), None); n];
    let mut current: Option<usize> = None;
    for line in out.split_inclusive('\n') {
        let (text, marker) = match line.find('\u{1e}') {
            Some(i) => (&line[..i], Some(line[i..].trim_end())),
            None => (line, None),
        };
        if let Some(c) = current.and_then(|c| chunks.get_mut(c)) {
            c.0.push_str(text);
        }
        match marker {
            Some(m) if m.starts_with(END) => {
                let mut parts = m[END.len()..].split_whitespace();
                let i: Option<usize> = parts.next().and_then(|p| p.parse().ok());
                let st: Option<i32> = parts.next().and_then(|p| p.parse().ok());
                if let Some(c) = i.and_then(|i| chunks.get_mut(i)) {
                    c.1 = st;
                }
                current = None;
            }
            Some(m) if m.starts_with(BEGIN) => {
                current = m[BEGIN.len()..].trim().parse().ok();
            }
            _ => {}
        }
    }
    chunks
}

fn judge_session(cmds: &[session::Command], out: &str, exit: Exit, job: &Job) -> BlockResult {
    let chunks = split_session(out, cmds.len());
    for (c, (output, status)) in cmds.iter().zip(&chunks) {
        let joined = one_line(&c.text);
        let first_line = joined.as_str();
        let shown = c.shows_output();
        let matched = shown && session::matches(&c.expected, output);
        let bad = match status {
            None => true,
            Some(0) => shown && !matched,
            Some(_) => !matched,
        };
        if !bad {
            continue;
        }
        if let Some(b) = blocked(output, job, c.line) {
            return b;
        }
        let mut b = BlockResult::new(Status::Fail);
        b.at = Some((0, c.line));
        match (status, exit) {
            (None, Exit::TimedOut) => {
                b.status = Status::Timeout;
                b.error = Some(format!(
                    "timed out after {} in `{first_line}`",
                    fmt_secs(job.timeout.as_secs_f64())
                ));
            }
            (None, _) => {
                b.error = Some(format!("the session ended during `{first_line}`"));
                b.exit_code = code_of(exit);
            }
            (Some(st), _) if *st != 0 && !shown => {
                b.error_type = Some("exit status".into());
                b.error = Some(format!(
                    "`{first_line}` exited with {st}{}",
                    last_line(output).map_or(String::new(), |l| format!(": {l}"))
                ));
                b.exit_code = Some(*st);
            }
            (Some(st), _) => {
                b.error_type = Some("output mismatch".into());
                b.error = Some(format!(
                    "`{first_line}` printed other output than the guide shows{}",
                    if *st != 0 {
                        format!(" (exit status {st})")
                    } else {
                        String::new()
                    }
                ));
                b.diff = Some(session::diff(&c.expected, output, 40));
                b.exit_code = Some(*st);
            }
        }
        return b;
    }
    BlockResult::new(Status::Pass)
}

fn judge_script(stdout: &str, stderr: &str, exit: Exit, job: &Job) -> BlockResult {
    let err_line = stderr
        .lines()
        .filter_map(|l| l.find(ERR).map(|i| &l[i + ERR.len()..]))
        .filter_map(|m| m.split_whitespace().next()?.parse::<usize>().ok())
        .next_back()
        .or_else(|| stderr.lines().filter_map(script_error_line).next_back());
    match exit {
        Exit::Code(0) => BlockResult::new(Status::Pass),
        Exit::TimedOut => {
            let mut b = BlockResult::new(Status::Timeout);
            b.error = Some(format!(
                "timed out after {}",
                fmt_secs(job.timeout.as_secs_f64())
            ));
            b
        }
        _ => {
            let both = format!("{stdout}\n{stderr}");
            if let Some(b) = blocked(&both, job, err_line.unwrap_or(1)) {
                return b;
            }
            let mut b = BlockResult::new(Status::Fail);
            b.exit_code = code_of(exit);
            b.at = err_line.map(|l| (0, l));
            let msg = stderr
                .lines()
                .rfind(|l| !l.contains('\u{1e}') && !l.trim().is_empty())
                .map(strip_script_prefix);
            b.error_type = Some("exit status".into());
            b.error = Some(match (exit, msg) {
                (Exit::Signal(s), _) => format!("killed by signal {s}"),
                (_, Some(m)) => format!("exit status {}: {m}", code_of(exit).unwrap_or(-1)),
                (_, None) => format!("exit status {}", code_of(exit).unwrap_or(-1)),
            });
            b
        }
    }
}

/// A failure caused by the network being off: blocked, unless the block was allowed the
/// network (then it is a real failure).
fn blocked(output: &str, job: &Job, line: usize) -> Option<BlockResult> {
    if job.network {
        return None;
    }
    let mut evidence = netfail::needs_network(output)?;
    if evidence.chars().count() > 200 {
        evidence = evidence.chars().take(199).collect::<String>() + "…";
    }
    let mut b = BlockResult::new(Status::Blocked);
    b.reason = Some(format!(
        "{} (off; `network` allows it): {evidence}",
        netfail::NEEDS_NETWORK
    ));
    b.at = Some((0, line));
    Some(b)
}

/// `…/script.sh: line 3: …` (bash) or `…/script.sh: 3: …` (dash).
fn script_error_line(l: &str) -> Option<usize> {
    let i = l.find("script.sh:")?;
    let rest = l[i + "script.sh:".len()..].trim_start();
    let rest = rest.strip_prefix("line ").unwrap_or(rest);
    rest.split(':').next()?.trim().parse().ok()
}

/// `/dev/shm/x/script.sh: line 3: foo: command not found` → `foo: command not found`
/// (the line is reported on its own); dash's `script.sh: 3: foo: not found` likewise.
fn strip_script_prefix(l: &str) -> String {
    let Some(i) = l.find("script.sh: ") else {
        return l.to_string();
    };
    let rest = &l[i + "script.sh: ".len()..];
    let after_line = rest.strip_prefix("line ").unwrap_or(rest);
    match after_line.split_once(": ") {
        Some((n, msg)) if n.chars().all(|c| c.is_ascii_digit()) => msg.to_string(),
        _ => rest.to_string(),
    }
}

/// A command continued over several lines, on one: `python -c \⏎ 'x'` → `python -c 'x'`.
fn one_line(cmd: &str) -> String {
    let parts: Vec<&str> = cmd
        .lines()
        .map(|l| l.trim().trim_end_matches('\\').trim())
        .filter(|l| !l.is_empty())
        .collect();
    let s = parts.join(" ");
    if s.chars().count() > 120 {
        s.chars().take(119).collect::<String>() + "…"
    } else {
        s
    }
}

fn last_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).rfind(|l| !l.is_empty())
}

fn code_of(exit: Exit) -> Option<i32> {
    match exit {
        Exit::Code(c) => Some(c),
        _ => None,
    }
}

fn strip_markers(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains('\u{1e}'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_session_output() {
        let out = "\u{1e}DM 0\nhello\n\n\u{1e}DMEND 0 0\n\u{1e}DM 1\npartial\u{1e}DMEND 1 2\n\u{1e}DM 2\nlast\n";
        let c = split_session(out, 3);
        assert_eq!(c[0], ("hello\n\n".into(), Some(0)));
        assert_eq!(c[1], ("partial".into(), Some(2)));
        assert_eq!(c[2], ("last\n".into(), None));
    }

    #[test]
    fn error_lines() {
        assert_eq!(
            script_error_line("/dev/shm/d/script.sh: line 3: nope: command not found"),
            Some(3)
        );
        assert_eq!(
            script_error_line("/x/script.sh: 7: nope: not found"),
            Some(7)
        );
        assert_eq!(
            strip_script_prefix("/x/script.sh: line 3: nope: command not found"),
            "nope: command not found"
        );
        assert_eq!(
            strip_script_prefix("/x/script.sh: 2: nope: not found"),
            "nope: not found"
        );
    }
}
