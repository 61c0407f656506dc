//! Shell blocks: scripts (`bash`, `shell`, `sh`, `zsh`) and terminal sessions (`console`,
//! `shell-session`, `terminal`).
//!
//! Always checked without running ([`findings`]): the shell's syntax check and shellcheck.
//! Run only when asked ([`run::Runner`]): in the sandbox, once per matrix version, with that
//! version's interpreter first on PATH. A session written in PowerShell is recognised
//! ([`powershell`]) and neither checked nor run.

pub mod html;
pub(crate) mod lint;
pub mod run;
pub mod session;

use crate::cache::Cache;
use crate::lang::Checked;
use crate::model::{Diagnostic, Lang, Severity, Shell, Snippet};

/// The script a block stands for, and for each of its lines the block's code line: a script
/// block is itself; a session is its commands, one after the other; a session without a
/// prompt is read as a script.
pub(crate) fn script_of(s: &Snippet) -> (Shell, String, Vec<usize>) {
    match s.lang {
        Lang::Shell(sh) => {
            let n = s.code.lines().count();
            (sh, s.code.to_string(), (1..=n).collect())
        }
        _ => {
            let cmds = session::parse(&s.code);
            if cmds.is_empty() {
                let n = s.code.lines().count();
                return (Shell::Bash, s.code.to_string(), (1..=n).collect());
            }
            let mut text = String::new();
            let mut map = Vec::new();
            for c in &cmds {
                text.push_str(&c.text);
                text.push('\n');
                map.extend(&c.lines);
            }
            (Shell::Bash, text, map)
        }
    }
}

/// The code line of the first PowerShell command of a session block (`PS>` prompt, `$env:`,
/// a cmdlet, a `.ps1` script): such a session is PowerShell, not POSIX shell.
pub fn powershell(s: &Snippet) -> Option<usize> {
    if s.lang != Lang::Session {
        return None;
    }
    session::parse(&s.code)
        .iter()
        .find(|c| c.powershell)
        .map(|c| c.line)
}

/// What a PowerShell session gets instead of the checks: one note, at its first PowerShell
/// command.
const POWERSHELL: &str = "a PowerShell session, not POSIX shell: not checked (bash -n and shellcheck read POSIX shell) and never run";

/// The static findings of a shell block, placed in the Markdown: syntax errors, else
/// shellcheck's findings at `min` or above (shellcheck's own parse errors would repeat the
/// syntax errors). The checkers' outputs come from `cache` when it has them. A PowerShell
/// session has one `info` finding that says it was not checked.
pub fn findings(s: &Snippet, min: Severity, cache: Option<&Cache>) -> Vec<Diagnostic> {
    if let Some(line) = powershell(s) {
        let note = Diagnostic::finding(line, Severity::Info, "docmatrix", "powershell", POWERSHELL);
        return vec![Checked::code(s).place(note)];
    }
    let (shell, script, lines) = script_of(s);
    let checked = Checked {
        snippet: s,
        text: &script,
        lines,
    };
    let mut out = Vec::new();
    match lint::syntax(shell, &script, cache) {
        Ok(errors) => out.extend(errors.into_iter().map(|f| {
            checked.place(f.with_why("the shell cannot parse the block, so no line of it runs"))
        })),
        Err(e) => out.push(tool_failure(s, "syntax check", e)),
    }
    if shell == Shell::Zsh && crate::sys::which("zsh").is_none() {
        out.push(tool_failure(
            s,
            "zsh -n",
            "zsh is not installed here: the block's syntax was not checked".into(),
        ));
        return out;
    }
    if out.iter().any(|f| f.severity == Severity::Error) {
        return out;
    }
    match lint::shellcheck(shell, &script, min, cache) {
        Ok(Some(found)) => out.extend(found.into_iter().map(|f| checked.place(f))),
        Ok(None) => {}
        Err(e) => out.push(tool_failure(s, "shellcheck", e)),
    }
    out
}

/// A checker that could not run: reported at the block's fence, at info level, never failing
/// the example.
pub(crate) fn tool_failure(s: &Snippet, tool: &str, message: String) -> Diagnostic {
    let mut d = Diagnostic::finding(s.line, Severity::Info, tool, "tool", message);
    d.file = s.file.clone();
    d
}
