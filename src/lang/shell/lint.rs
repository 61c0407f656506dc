//! Static checks of shell code, without running it: the shell's own syntax check
//! (`bash -n`, `sh -n`, `zsh -n`) and, where it is installed, shellcheck. Every diagnostic is at
//! a 1-based line (and for shellcheck, columns) of the checked text; the caller places it in the
//! Markdown ([`crate::lang::Checked`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::cache::Cache;
use crate::lang::tool::{Check, Kind};
use crate::model::{Diagnostic, Severity, Shell};
use crate::sys::process::Exit;
use crate::sys::which;

/// How long a checker may take on one block.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The shell that checks `shell` scripts: `(program, source name)`; `None` for zsh when zsh
/// is not installed (bash would report zsh-only syntax as errors).
fn checker(shell: Shell) -> Option<(PathBuf, &'static str)> {
    match shell {
        Shell::Bash => Some((which("bash")?, "bash -n")),
        Shell::Sh => Some((which("sh")?, "sh -n")),
        Shell::Zsh => Some((which("zsh")?, "zsh -n")),
    }
}

/// The syntax errors of `code` as `shell` reads it (`shell -n`), through `cache`. Empty when
/// the shell is not installed, or when the checker could not be run (`Err` names why).
pub fn syntax(shell: Shell, code: &str, cache: Option<&Cache>) -> Result<Vec<Diagnostic>, String> {
    let Some((program, source)) = checker(shell) else {
        return Ok(Vec::new());
    };
    let rec = Check {
        kind: Kind::Shell,
        program: &program,
        args: &["-n", "script"],
        file: "script",
        text: code,
        timeout: TIMEOUT,
    }
    .run(cache)?;
    if rec.exit == Exit::TimedOut {
        return Err(format!("{source} did not finish"));
    }
    let text = rec.stderr;
    let mut out = Vec::new();
    for l in text.lines() {
        if let Some((line, msg)) = parse_shell_error(l).filter(|(_, m)| !m.starts_with('`')) {
            out.push(Diagnostic::finding(
                line,
                Severity::Error,
                source,
                "syntax",
                msg,
            ));
        }
    }
    if out.is_empty() && rec.exit != Exit::Code(0) {
        // A message without a line number: at the first line.
        out.push(Diagnostic::finding(
            1,
            Severity::Error,
            source,
            "syntax",
            text.lines().next().unwrap_or("syntax error"),
        ));
    }
    Ok(out)
}

/// `script: line 3: syntax error near …` (bash), `script: 3: Syntax error: …` (dash),
/// `script:3: parse error near …` (zsh).
fn parse_shell_error(l: &str) -> Option<(usize, String)> {
    let rest = l.strip_prefix("script:")?.trim_start();
    let rest = rest.strip_prefix("line ").unwrap_or(rest);
    let (num, msg) = rest.split_once(':')?;
    let line = num.trim().parse().ok()?;
    Some((line, msg.trim().to_string()))
}

#[derive(Deserialize)]
struct Json1 {
    comments: Vec<Comment>,
}

/// One of shellcheck's `json1` comments (tabs count as one column).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    line: usize,
    #[serde(default)]
    end_line: Option<usize>,
    #[serde(default)]
    column: Option<usize>,
    #[serde(default)]
    end_column: Option<usize>,
    level: String,
    code: u32,
    message: String,
}

/// shellcheck's findings on `code` at `min` severity or above, through `cache`; `Ok(None)` when
/// shellcheck is not installed or does not support `shell` (zsh).
pub fn shellcheck(
    shell: Shell,
    code: &str,
    min: Severity,
    cache: Option<&Cache>,
) -> Result<Option<Vec<Diagnostic>>, String> {
    let Some(program) = which("shellcheck") else {
        return Ok(None);
    };
    let dialect = match shell {
        Shell::Bash => "bash",
        Shell::Sh => "sh",
        Shell::Zsh => return Ok(None),
    };
    let rec = Check {
        kind: Kind::Shellcheck,
        program: &program,
        args: &[
            "--format=json1",
            "--shell",
            dialect,
            "--severity",
            min.as_str(),
            "script",
        ],
        file: "script",
        text: code,
        timeout: TIMEOUT,
    }
    .run(cache)?;
    if rec.exit == Exit::TimedOut {
        return Err("shellcheck did not finish".into());
    }
    let json: Json1 = serde_json::from_str(&rec.stdout).map_err(|e| {
        format!(
            "shellcheck gave no report ({e}): {}",
            rec.stderr.lines().next().unwrap_or("")
        )
    })?;
    let mut out: Vec<Diagnostic> = json
        .comments
        .into_iter()
        .map(|c| {
            let rule = format!("SC{}", c.code);
            Diagnostic::finding(
                c.line,
                c.level.parse().unwrap_or(Severity::Warning),
                "shellcheck",
                &rule,
                c.message,
            )
            .with_help(format!("see https://www.shellcheck.net/wiki/{rule}"))
            .with_span(c.column, c.end_line, c.end_column)
        })
        .filter(|f| f.severity >= min)
        .collect();
    out.sort();
    out.dedup_by(|later, first| later.same_problem(first));
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_lines_of_each_shell() {
        assert_eq!(
            parse_shell_error("script: line 3: syntax error near unexpected token `fi'"),
            Some((3, "syntax error near unexpected token `fi'".into()))
        );
        assert_eq!(
            parse_shell_error("script: 4: Syntax error: \"fi\" unexpected"),
            Some((4, "Syntax error: \"fi\" unexpected".into()))
        );
        assert_eq!(
            parse_shell_error("script:7: parse error near `}'"),
            Some((7, "parse error near `}'".into()))
        );
        assert_eq!(parse_shell_error("bash: warning"), None);
    }

    #[test]
    fn bash_and_sh_syntax_errors_at_their_lines() {
        let f = syntax(
            Shell::Bash,
            "echo ok\nif true; then\n  echo x\nfi fi\n",
            None,
        )
        .unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].line, Some(4));
        assert_eq!(f[0].tool, "bash -n");
        assert!(syntax(Shell::Bash, "echo ok\n", None).unwrap().is_empty());
        // Arrays are bash, not POSIX sh.
        let f = syntax(Shell::Sh, "echo ok\na=(1 2)\n", None).unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].line, Some(2));
    }
}
