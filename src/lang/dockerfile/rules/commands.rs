//! The shell commands an instruction runs, as the rules read them: simple commands split by
//! the parser's tokenizer ([`shell_commands`]), each word at its position, the command name
//! found behind assignments, keywords and wrappers (`sudo`, `env`, ...).

use super::super::parse::{shell_commands, Cmd, Instruction, Kind};
use super::Pos;

/// A word of a shell command, at its position.
#[derive(Debug, Clone)]
pub(super) struct ShWord {
    pub text: String,
    pub pos: Pos,
}

/// One simple command: its words (prefix assignments and wrappers like `sudo` included) and
/// the index of the command name.
#[derive(Debug, Clone)]
pub(super) struct ShCmd {
    words: Vec<ShWord>,
    name: usize,
}

impl ShCmd {
    pub fn name(&self) -> &str {
        self.words.get(self.name).map_or("", |w| basename(&w.text))
    }

    /// Where the command name is.
    pub fn pos(&self) -> Pos {
        self.words.get(self.name).map_or(Pos::line(0), |w| w.pos)
    }

    pub fn args(&self) -> &[ShWord] {
        self.words.get(self.name + 1..).unwrap_or(&[])
    }

    pub(crate) fn has_arg(&self, f: impl Fn(&str) -> bool) -> bool {
        self.args().iter().any(|w| f(&w.text))
    }

    /// Assignments before the command name (`PIP_NO_CACHE_DIR=1 pip ...`).
    pub(crate) fn assigns(&self, var: &str) -> bool {
        self.words
            .iter()
            .take(self.name)
            .any(|w| w.text.split_once('=').is_some_and(|(k, _)| k == var))
    }

    /// The subcommand: the first argument that is not an option (`install` in
    /// `apt-get -q install`). Options taking a value (`-o X`) are skipped with their value.
    pub fn subcommand(&self) -> Option<(usize, &str)> {
        let args = self.args();
        let mut i = 0;
        while let Some(w) = args.get(i) {
            if w.text == "-o" || w.text == "-c" {
                i += 2;
                continue;
            }
            if !w.text.starts_with('-') {
                return Some((i, w.text.as_str()));
            }
            i += 1;
        }
        None
    }
}

pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// The simple commands of a script. `pos(start, end)` gives the position of bytes
/// `start..end` of `text`.
fn sh_commands(text: &str, pos: &dyn Fn(usize, usize) -> Pos) -> Vec<ShCmd> {
    shell_commands(text)
        .into_iter()
        .map(|words| {
            to_cmd(
                words
                    .into_iter()
                    .map(|w| ShWord {
                        pos: pos(w.start, w.end),
                        text: w.text,
                    })
                    .collect(),
            )
        })
        .collect()
}

fn to_cmd(words: Vec<ShWord>) -> ShCmd {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    ];
    const WRAPPERS: &[&str] = &["sudo", "env", "exec", "nohup", "command", "nice", "xargs"];
    let mut i = 0;
    let mut wrapped = false;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        let assignment = t.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if KEYWORDS.contains(&t) || assignment || (wrapped && t.starts_with('-')) {
            i += 1;
        } else if WRAPPERS.contains(&basename(t)) {
            wrapped = true;
            i += 1;
        } else {
            break;
        }
    }
    ShCmd { words, name: i }
}

/// The position of bytes `start..end` of a heredoc body whose first line is code line `first`.
fn heredoc_pos(content: &str, first: usize, start: usize, end: usize) -> Pos {
    let before = content.get(..start).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let word = content.get(start..end).unwrap_or("");
    Pos {
        line: first + before.matches('\n').count(),
        column: Some(column),
        end_column: (!word.contains('\n')).then(|| column + word.chars().count()),
    }
}

/// The shell commands an instruction runs (RUN, `HEALTHCHECK CMD`), with `sh -c "..."` strings
/// and heredoc scripts read too.
pub(super) fn instruction_commands(ins: &Instruction) -> Vec<ShCmd> {
    let mut out = Vec::new();
    let args = |o: usize| ins.args_start + o;
    match &ins.cmd {
        Some(Cmd::Shell { offset }) => {
            let text = ins.args.get(*offset..).unwrap_or("");
            let off = *offset;
            out.extend(sh_commands(text, &|s, e| {
                Pos::of(ins, args(off + s), args(off + e))
            }));
        }
        Some(Cmd::Exec(v)) => {
            let words = v
                .iter()
                .map(|s| {
                    let needle = serde_json::to_string(s).unwrap_or_default();
                    let pos = ins.args.find(&needle).map_or(Pos::line(ins.line), |o| {
                        Pos::of(ins, args(o), args(o + needle.len()))
                    });
                    ShWord {
                        text: s.clone(),
                        pos,
                    }
                })
                .collect();
            out.push(to_cmd(words));
        }
        None => {}
    }
    // `sh -c "script"`: the script's commands too (at the line of the string).
    let mut nested = Vec::new();
    for c in &out {
        if SHELLS.contains(&c.name()) {
            let args = c.args();
            if let Some(p) = args
                .iter()
                .position(|w| w.text == "-c" || w.text == "-ec" || w.text == "-ce")
            {
                if let Some(script) = args.get(p + 1) {
                    let line = script.pos.line;
                    nested.extend(sh_commands(&script.text, &|_, _| Pos::line(line)));
                }
            }
        }
    }
    out.extend(nested);
    // Heredoc scripts: `RUN <<EOF` or `RUN bash <<EOF`.
    if ins.kind == Kind::Run && !ins.heredocs.is_empty() {
        let first = out
            .first()
            .map(|c| c.name().to_string())
            .unwrap_or_default();
        let script = ins.args.trim_start().starts_with("<<") || SHELLS.contains(&first.as_str());
        if script {
            for h in &ins.heredocs {
                let content = &h.content;
                out.extend(sh_commands(content, &|s, e| {
                    heredoc_pos(content, h.line, s, e)
                }));
            }
        }
    }
    out
}

/// Packages a command installs with a system package manager (apt-get, apt, apk, yum, dnf).
pub(super) fn installed_packages(c: &ShCmd) -> Vec<String> {
    let (sub, verb) = match c.name() {
        "apt-get" | "apt" | "yum" | "dnf" | "microdnf" => (c.subcommand(), "install"),
        "apk" => (c.subcommand(), "add"),
        _ => return Vec::new(),
    };
    match sub {
        Some((i, s)) if s == verb => c
            .args()
            .iter()
            .skip(i + 1)
            .filter(|w| !w.text.starts_with('-'))
            .map(|w| {
                w.text
                    .split(['=', '<', '>', '~'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// pip's subcommand, when the command runs pip (`pip`, `pip3.12`, `python -m pip`).
pub(super) fn is_pip(c: &ShCmd) -> Option<&str> {
    let name = c.name();
    let pip_name = name == "pip"
        || name
            .strip_prefix("pip")
            .is_some_and(|r| r.chars().all(|ch| ch.is_ascii_digit() || ch == '.'));
    let args = c.args();
    let rest: &[ShWord] = if pip_name {
        args
    } else if name == "python"
        || name
            .strip_prefix("python")
            .is_some_and(|r| r.chars().all(|ch| ch.is_ascii_digit() || ch == '.'))
    {
        match args.iter().position(|w| w.text == "-m") {
            Some(p) if args.get(p + 1).is_some_and(|w| w.text == "pip") => {
                args.get(p + 2..).unwrap_or(&[])
            }
            _ => return None,
        }
    } else {
        return None;
    };
    rest.iter()
        .find(|w| !w.text.starts_with('-'))
        .map(|w| w.text.as_str())
}
