//! Terminal sessions (`console`, `shell-session`, `terminal` blocks): commands after a prompt,
//! continued as at a terminal, each followed by its expected output up to the next prompt.
//!
//! What a line is, in this order:
//!
//! - `# Question:$ answer` (or `?$`, `: $`): a prompt notation: the program asked, the reader
//!   typed `answer`. Output and input, never a command: the answer is the command's standard
//!   input ([`Command::input`]).
//! - `// text`: a remark (the convention of animated terminals).
//! - `# text` in a session that has a `$` prompt anywhere (`$ `, `(venv) $ `, `user@host:~$ `,
//!   `PS> `): a remark. In a session without one, `# ` is the root prompt.
//! - `$ cmd`, `(venv) $ cmd`, `user@host:~/dir$ cmd`, `# cmd` (see above): a POSIX shell
//!   command; `PS> cmd`, `PS C:\dir> cmd`: a PowerShell command, as is a `$ ` command that uses
//!   `$env:NAME`, starts with a cmdlet (`Get-ChildItem`) or runs a `.ps1` script.
//! - anything else after a command: its expected output. `...` (alone) and a progress bar
//!   (`---> 100%`) stand for any number of lines.
//!
//! A command goes on over the next lines when it ends with `\`, `|`, `&&` or `||`, or leaves a
//! quote open (a `> ` prompt on the continuation line is dropped). HTML is read as the reader
//! of an animated terminal sees it ([`super::html`]), in commands and in output.
//!
//! Output is compared line by line after trimming trailing blanks and leaving out empty lines;
//! `...` inside a line matches any text within that line, and a remark within the output matches
//! a line equal to it or nothing. A command whose output shows no line of text (none, or only
//! `...`, a progress bar and remarks) is not compared.

use super::html;

/// One command of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command, prompts stripped and HTML read; continuation lines joined with `\n` (the
    /// `\` kept).
    pub text: String,
    /// 1-based code line of the prompt.
    pub line: usize,
    /// Code lines of the command's text, one per line of `text`.
    pub lines: Vec<usize>,
    /// The expected output.
    pub expected: Vec<Expect>,
    /// The answers given at the program's prompts (`# Question:$ answer`), one per line.
    pub input: Vec<String>,
    /// Written in PowerShell, not POSIX shell.
    pub powershell: bool,
}

impl Command {
    /// Whether the guide shows output to compare: at least one line of text.
    pub(crate) fn shows_output(&self) -> bool {
        self.expected.iter().any(|e| matches!(e, Expect::Line(_)))
    }
}

/// One line of expected output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A line (trailing blanks trimmed, HTML read); `...` within it matches any text.
    Line(String),
    /// `...` or a progress bar: any number of lines, none included.
    Any,
    /// A remark: a line equal to it, or nothing.
    Remark(String),
}

impl Expect {
    fn text(&self) -> &str {
        match self {
            Expect::Line(l) | Expect::Remark(l) => l,
            Expect::Any => "...",
        }
    }
}

/// What the parser keeps of an output line before the command's output is complete.
enum Shown {
    Out(String),
    Any,
    Remark(String),
    /// A prompt notation's question.
    Asked(String),
}

/// The kind of a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    /// `$ `, `(venv) $ `, `user@host:~$ `.
    User,
    /// `# `.
    Root,
    /// `PS> `, `PS C:\dir> `.
    PowerShell,
}

/// Splits a session into commands. Lines before the first prompt are ignored; a session with
/// no prompt at all has no commands (the caller treats such a block as a script).
pub fn parse(code: &str) -> Vec<Command> {
    let user_prompts = code.lines().any(|l| {
        asked(l).is_none() && matches!(prompt(l), Some((_, Prompt::User | Prompt::PowerShell)))
    });
    let mut out: Vec<Command> = Vec::new();
    let mut shown: Vec<Vec<Shown>> = Vec::new();
    // The current command's text as written (HTML unread), while it goes on.
    let mut raw = String::new();
    let mut continuing = false;
    for (i, line) in code.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches('\r');
        if continuing {
            if let Some(c) = out.last_mut() {
                let body = line.trim_start().strip_prefix("> ").unwrap_or(line);
                raw.push('\n');
                raw.push_str(body);
                c.text = html::read(&raw).into_owned();
                continuing = needs_more(&c.text);
                c.lines.push(n);
            }
            continue;
        }
        let t = line.trim_start();
        if let Some((question, answer)) = asked(line) {
            if let (Some(c), Some(s)) = (out.last_mut(), shown.last_mut()) {
                s.push(Shown::Asked(question.to_string()));
                c.input.push(answer.to_string());
            }
        } else if t == "//"
            || t.starts_with("// ")
            || (user_prompts && (t == "#" || t.starts_with("# ")))
        {
            if let Some(s) = shown.last_mut() {
                s.push(Shown::Remark(html::read(t).trim_end().to_string()));
            }
        } else if let Some((cmd, kind)) =
            prompt(line).filter(|(_, k)| !(user_prompts && *k == Prompt::Root))
        {
            raw = cmd.to_string();
            let text = html::read(cmd).into_owned();
            continuing = needs_more(&text);
            out.push(Command {
                powershell: kind == Prompt::PowerShell
                    || (kind == Prompt::User && is_powershell(&text)),
                text,
                line: n,
                lines: vec![n],
                expected: Vec::new(),
                input: Vec::new(),
            });
            shown.push(Vec::new());
        } else if let Some(s) = shown.last_mut() {
            s.push(if t == "..." || is_progress(t) {
                Shown::Any
            } else {
                Shown::Out(html::read(line).trim_end().to_string())
            });
        }
    }
    for (c, s) in out.iter_mut().zip(shown) {
        c.expected = expected(s);
    }
    out
}

/// The expected output of a command from what the guide shows. Empty lines are left out. A
/// pipe does not echo the answers typed at prompts, so what the program prints after a question
/// goes on on the question's line: a question and the next line become one line,
/// `Question...next`.
fn expected(shown: Vec<Shown>) -> Vec<Expect> {
    let mut out = Vec::new();
    let mut asked: Vec<String> = Vec::new();
    let flush = |asked: &mut Vec<String>, tail: &str| {
        format!("{}...{tail}", std::mem::take(asked).join("..."))
    };
    for s in shown {
        match s {
            Shown::Out(l) if l.trim().is_empty() => {}
            Shown::Out(l) if asked.is_empty() => out.push(Expect::Line(l)),
            Shown::Out(l) => out.push(Expect::Line(flush(&mut asked, &l))),
            Shown::Any => {
                if !asked.is_empty() {
                    out.push(Expect::Line(flush(&mut asked, "")));
                }
                out.push(Expect::Any);
            }
            Shown::Remark(r) => out.push(Expect::Remark(r)),
            Shown::Asked(q) => asked.push(q),
        }
    }
    if !asked.is_empty() {
        out.push(Expect::Line(flush(&mut asked, "")));
    }
    out
}

/// A prompt notation, `# Question:$ answer`: (question, answer). The question ends with `:` or
/// `?`, right before the `$` or a space before it; the `$` is followed by a space or ends the
/// line (an empty answer).
fn asked(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start().strip_prefix("# ")?;
    t.match_indices('$').find_map(|(i, _)| {
        let after = &t[i + 1..];
        let question = t[..i].trim_end();
        let ends = question.ends_with(':') || question.ends_with('?');
        (ends && (after.is_empty() || after.starts_with(' ')))
            .then(|| (question.trim_start(), after.trim()))
    })
}

/// `---> 100%`: an animated terminal's progress bar.
fn is_progress(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("--").map(|r| r.trim_start_matches('-')) else {
        return false;
    };
    let Some(pct) = rest.strip_prefix('>').map(str::trim_start) else {
        return false;
    };
    pct.strip_suffix('%')
        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

/// Whether a command after a `$ ` prompt is PowerShell: it uses `$env:NAME`, or its first word
/// is a cmdlet (`Get-ChildItem`, `Set-Location`) or a `.ps1` script.
fn is_powershell(cmd: &str) -> bool {
    let lower = cmd.to_ascii_lowercase();
    let env = lower.match_indices("$env:").any(|(i, m)| {
        lower[i + m.len()..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    });
    let first = cmd.split_whitespace().next().unwrap_or("");
    env || is_cmdlet(first) || first.to_ascii_lowercase().ends_with(".ps1")
}

/// `Verb-Noun`, each capitalised, as PowerShell's cmdlets are named.
fn is_cmdlet(word: &str) -> bool {
    let Some((verb, noun)) = word.split_once('-') else {
        return false;
    };
    let capitalised = |w: &str, rest_lower: bool| {
        let mut cs = w.chars();
        cs.next().is_some_and(|c| c.is_ascii_uppercase())
            && w.len() > 1
            && cs.all(|c| {
                if rest_lower {
                    c.is_ascii_lowercase()
                } else {
                    c.is_ascii_alphanumeric()
                }
            })
    };
    capitalised(verb, true) && capitalised(noun, false)
}

/// Whether the shell would read another line to finish `cmd`, as it does on a terminal: a
/// trailing `\`, a quote still open, or a trailing `|`, `&&` or `||`.
fn needs_more(cmd: &str) -> bool {
    let t = cmd.trim_end();
    if t.ends_with('\\') || t.ends_with('|') || t.ends_with("&&") {
        return true;
    }
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\\') | (Some('"'), '\\') => {
                chars.next();
            }
            (None, '#') => {
                // A comment runs to the end of its line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    quote.is_some()
}

/// The command of a prompt line and the prompt's kind: `$ cmd`, `# cmd`, `(venv) $ cmd`,
/// `user@host:~$ cmd`, `PS> cmd`, `PS C:\dir> cmd`.
fn prompt(line: &str) -> Option<(&str, Prompt)> {
    let t = line.trim_start();
    let t = match t.strip_prefix('(') {
        Some(rest) => rest.split_once(") ").map_or(t, |(_, r)| r.trim_start()),
        None => t,
    };
    if let Some(c) = t.strip_prefix("$ ") {
        return Some((c, Prompt::User));
    }
    if let Some(c) = t.strip_prefix("# ") {
        return Some((c, Prompt::Root));
    }
    if t == "$" {
        return Some(("", Prompt::User));
    }
    // `PS>` or `PS <location>>`, then a space or the end of the line.
    if let Some((location, cmd)) = t.strip_prefix("PS").and_then(|r| r.split_once('>')) {
        if location.is_empty() || location.starts_with(' ') {
            if cmd.is_empty() {
                return Some(("", Prompt::PowerShell));
            }
            if let Some(c) = cmd.strip_prefix(' ') {
                return Some((c, Prompt::PowerShell));
            }
        }
    }
    // `user@host:~/dir$ cmd`
    let (head, cmd) = t.split_once("$ ")?;
    (head.contains('@') && !head.contains(char::is_whitespace)).then_some((cmd, Prompt::User))
}

/// The lines of a command's output as they are compared: trailing blanks trimmed, HTML read,
/// empty lines left out.
fn actual_lines(actual: &str) -> Vec<String> {
    actual
        .lines()
        .map(|l| html::read(l.trim_end()).trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Whether `actual` (the command's output) matches `expected` (see the module documentation).
pub fn matches(expected: &[Expect], actual: &str) -> bool {
    let act = actual_lines(actual);
    // ok[j]: the expected lines after the current one match act[j..] (filled from the end).
    let m = act.len();
    let mut next = vec![false; m + 1];
    next[m] = true;
    for e in expected.iter().rev() {
        let mut cur = vec![false; m + 1];
        for j in (0..=m).rev() {
            cur[j] = match e {
                Expect::Any => next[j] || (j < m && cur[j + 1]),
                Expect::Remark(r) => next[j] || (j < m && line_matches(r, &act[j]) && next[j + 1]),
                Expect::Line(p) => j < m && line_matches(p, &act[j]) && next[j + 1],
            };
        }
        next = cur;
    }
    next[0]
}

/// One line against a pattern whose `...` matches any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() || !line.ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// A unified-style diff of expected against actual output (as they are compared): `-` lines
/// expected and missing, `+` lines printed and not expected, ` ` lines in common; a remark
/// nothing matched is left out. At most `max` lines.
pub fn diff(expected: &[Expect], actual: &str, max: usize) -> String {
    let exp = expected;
    let act = actual_lines(actual);
    let same = |e: &Expect, a: &str| match e {
        Expect::Line(p) | Expect::Remark(p) => line_matches(p, a),
        Expect::Any => false,
    };
    // Longest common subsequence, where a pattern line matches the actual line.
    let (n, m) = (exp.len(), act.len());
    if n * m > 4_000_000 {
        let mut out: Vec<String> = exp
            .iter()
            .filter(|e| !matches!(e, Expect::Remark(_)))
            .map(|e| format!("-{}", e.text()))
            .collect();
        out.extend(act.iter().map(|l| format!("+{l}")));
        return cap(out, max);
    }
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if same(&exp[i], &act[j]) {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && exp[i] == Expect::Any {
            out.push(" ...".to_string());
            i += 1;
        } else if i < n && j < m && same(&exp[i], &act[j]) {
            out.push(format!(" {}", act[j]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            if !matches!(exp[i], Expect::Remark(_)) {
                out.push(format!("-{}", exp[i].text()));
            }
            i += 1;
        } else {
            out.push(format!("+{}", act[j]));
            j += 1;
        }
    }
    cap(out, max)
}

fn cap(mut lines: Vec<String>, max: usize) -> String {
    if lines.len() > max {
        let more = lines.len() - max;
        lines.truncate(max);
        lines.push(format!("… {more} more lines"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Expected output as `parse` makes it: `...` is any lines, `~x` a remark.
    fn e(v: &[&str]) -> Vec<Expect> {
        v.iter()
            .map(|x| match *x {
                "..." => Expect::Any,
                x => match x.strip_prefix('~') {
                    Some(r) => Expect::Remark(r.into()),
                    None => Expect::Line(x.trim_end().into()),
                },
            })
            .collect()
    }

    #[test]
    fn parses_prompts_continuations_and_output() {
        let code = "intro text\n$ python -c \"print(1)\"\n1\n\n(venv) $ pip install \\\n>   requests \\\n    rich\nok\nuser@host:~/x$ ls\na b\n$\n";
        let cmds = parse(code);
        assert_eq!(cmds.len(), 4);
        assert_eq!(cmds[0].text, "python -c \"print(1)\"");
        assert_eq!(cmds[0].line, 2);
        assert_eq!(cmds[0].expected, e(&["1"]));
        assert_eq!(cmds[1].text, "pip install \\\n  requests \\\n    rich");
        assert_eq!(cmds[1].lines, vec![5, 6, 7]);
        assert_eq!(cmds[1].expected, e(&["ok"]));
        assert_eq!(cmds[2].text, "ls");
        assert_eq!(cmds[2].expected, e(&["a b"]));
        assert_eq!(cmds[3].text, "");
        assert!(cmds.iter().all(|c| !c.powershell && c.input.is_empty()));
        assert!(parse("just output\nno prompt\n").is_empty());

        // An open quote or a trailing pipe continues the command, as on a terminal.
        let cmds = parse(
            "$ jq -r '\n    .a\n    | .b'\nout\n$ ls |\n  wc -l\n3\n$ echo \"it's\" # it's\nit's\n",
        );
        assert_eq!(cmds.len(), 3, "{cmds:?}");
        assert_eq!(cmds[0].text, "jq -r '\n    .a\n    | .b'");
        assert_eq!(cmds[0].expected, e(&["out"]));
        assert_eq!(cmds[1].lines, vec![5, 6]);
        assert_eq!(cmds[1].expected, e(&["3"]));
        assert_eq!(cmds[2].expected, e(&["it's"]));
    }

    #[test]
    fn root_prompts_and_remarks() {
        // Without a `$` prompt, `# ` is the root prompt.
        let cmds = parse("# apt-get update\n# echo hi\nhi\n");
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].text, "apt-get update");
        assert_eq!(cmds[1].expected, e(&["hi"]));

        // With one, a `#` line is a remark: before the first command, ignored; within the
        // output, matched by itself or nothing. An apostrophe in it opens no quote.
        let cmds = parse(
            "# Don't reuse an old environment\n$ python -m venv .venv\n# now activate it\n#\n$ cat app.env\n# settings\nDEBUG=1\n",
        );
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert_eq!(cmds[0].text, "python -m venv .venv");
        assert_eq!(cmds[0].expected, e(&["~# now activate it", "~#"]));
        assert!(!cmds[0].shows_output());
        assert_eq!(cmds[1].expected, e(&["~# settings", "DEBUG=1"]));
        assert!(cmds[1].shows_output());

        // `//` lines are remarks in any session; `#` and `//` after a command's text are not.
        let cmds = parse("// start it\n$ serve // not a remark\n// serving\n\nready\n");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].text, "serve // not a remark");
        assert_eq!(cmds[0].expected, e(&["~// serving", "ready"]));
        // `#x` and `//x` are not remarks.
        let cmds = parse("$ cat f\n#x\n//x\n");
        assert_eq!(cmds[0].expected, e(&["#x", "//x"]));
    }

    #[test]
    fn prompt_notations_are_output_and_input() {
        let code = "$ python garden.py\n\n# What's the seed called?:$ basil\n\nSowing basil\n# Water it? [y/N]:$ y\n# Label (optional): $\n# Passphrase: $ open sesame \nWatering\n$ echo next\nnext\n";
        let cmds = parse(code);
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert_eq!(cmds[0].text, "python garden.py");
        assert_eq!(cmds[0].input, s(&["basil", "y", "", "open sesame"]));
        assert_eq!(
            cmds[0].expected,
            e(&[
                "What's the seed called?:...Sowing basil",
                "Water it? [y/N]:...Label (optional):...Passphrase:...Watering",
            ])
        );
        assert_eq!(cmds[1].text, "echo next");
        // A question at the end, or before `...`, is the start of a line.
        let cmds = parse("$ ask\n# Name?:$ x\n$ ask\n# Name?:$ y\n...\n");
        assert_eq!(cmds[0].expected, e(&["Name?:..."]));
        assert_eq!(cmds[1].expected, e(&["Name?:...", "..."]));
        // Also in a session of root prompts.
        let cmds = parse("# ask\n# Sure?:$ y\n");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].input, s(&["y"]));

        assert_eq!(
            asked("# What's your name?:$ Camila"),
            Some(("What's your name?:", "Camila"))
        );
        assert_eq!(
            asked("# Enter password: $ secret"),
            Some(("Enter password:", "secret"))
        );
        assert_eq!(
            asked("# Price in $ (USD):$ 5"),
            Some(("Price in $ (USD):", "5"))
        );
        // Root commands with a `$` in them are not questions.
        assert_eq!(asked("# echo $HOME"), None);
        assert_eq!(asked("# export PATH=/opt:$PATH"), None);
        assert_eq!(asked("# echo cost: $5"), None);
        assert_eq!(asked("$ echo a:$ b"), None);
    }

    #[test]
    fn html_in_sessions() {
        let code = "$ fastapi dev <u style=\"color: #fff\">main.py</u>\n\n<span style=\"color: green;\">INFO</span>:  ready\n---> 100%\n$ grep x log &gt; n &amp;&amp; \\\n  cat n\n";
        let cmds = parse(code);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].text, "fastapi dev main.py");
        assert_eq!(cmds[0].expected, e(&["INFO:  ready", "..."]));
        assert_eq!(cmds[1].text, "grep x log > n && \\\n  cat n");
        // A command whose decoded text ends with `&&` goes on.
        let cmds = parse("$ true &amp;&amp;\n  echo yes\nyes\n");
        assert_eq!(cmds[0].text, "true &&\n  echo yes");
        assert_eq!(cmds[0].expected, e(&["yes"]));
        assert!(is_progress("---> 100%"));
        assert!(is_progress("--> 42%"));
        assert!(!is_progress("---> done"));
        assert!(!is_progress("-> 100%"));
    }

    #[test]
    fn powershell_is_recognised() {
        let cmds = parse("PS C:\\app> python -m venv .venv\nPS> Write-Output hi\nhi\n(.venv) PS C:\\Program Files\\x> dir\n");
        assert_eq!(cmds.len(), 3, "{cmds:?}");
        assert!(cmds.iter().all(|c| c.powershell));
        assert_eq!(cmds[0].text, "python -m venv .venv");
        assert_eq!(cmds[2].text, "dir");
        for (cmd, ps) in [
            ("$ $Env:MY_NAME = \"Wade\"", true),
            ("$ echo \"Hello $env:USERNAME\"", true),
            ("$ Get-ChildItem | Where-Object { $_.Length -gt 1kb }", true),
            ("$ .venv\\Scripts\\Activate.ps1", true),
            ("$ echo $HOME", false),
            ("$ docker-compose up", false),
            ("$ X-Y z", false),
            ("$ echo $env", false),
        ] {
            let c = parse(cmd);
            assert_eq!(c[0].powershell, ps, "{cmd}");
        }
        // A `PS` line that is not a prompt is output.
        let cmds = parse("$ ps\nPSID TTY\n");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].expected, e(&["PSID TTY"]));
    }

    #[test]
    fn wildcards() {
        let m = |exp: &[&str], act: &str| matches(&e(exp), act);
        assert!(m(&["a", "b"], "a\nb\n\n"));
        assert!(m(&["a  "], "a"));
        assert!(!m(&["a", "b"], "a\nc"));
        assert!(!m(&["a"], "a\nb"));
        assert!(m(&["a", "...", "z"], "a\nb\nc\nz"));
        assert!(m(&["a", "...", "z"], "a\nz"));
        assert!(m(&["...", "z"], "x\ny\nz"));
        assert!(m(&["a", "..."], "a"));
        assert!(!m(&["a", "...", "z"], "a\nb"));
        assert!(m(&["Python 3..."], "Python 3.12.1"));
        assert!(m(
            &["Successfully installed ...-1.0"],
            "Successfully installed x-1.0"
        ));
        assert!(!m(&["Python 3.9..."], "Python 3.12.1"));
        assert!(m(&["...", "b", "...", "d"], "a\nb\nc\nb\nd"));
        // Empty lines are not compared.
        assert!(m(&["a", "b"], "\na\n\n\nb\n"));
        // A remark matches a line equal to it, or nothing.
        assert!(m(&["~# x", "a"], "# x\na"));
        assert!(m(&["~# x", "a"], "a"));
        assert!(!m(&["~# x", "a"], "# y\na"));
        assert!(m(&["a", "~// x", "~// x"], "a\n// x"));
        // HTML in the output is read as the reader sees it, on both sides.
        let shown: Vec<Expect> = parse("$ x\n<b>ok</b> &lt;3\n").remove(0).expected;
        assert!(matches(&shown, "ok <3\n"));
        assert!(matches(&shown, "<b>ok</b> &lt;3\n"));
    }

    #[test]
    fn diffs() {
        let d = diff(&e(&["a", "b", "c"]), "a\nx\nc\n", 10);
        assert_eq!(d, " a\n-b\n+x\n c");
        let d = diff(&e(&["Python 3.9..."]), "Python 3.12.1", 10);
        assert_eq!(d, "-Python 3.9...\n+Python 3.12.1");
        assert!(diff(&e(&[]), &"x\n".repeat(50), 5).ends_with("… 45 more lines"));
        // A remark nothing matched is left out; one that matched is shown.
        let d = diff(&e(&["~// note", "~# kept", "a", "..."]), "# kept\nb\n", 10);
        assert_eq!(d, " # kept\n-a\n ...\n+b");
    }
}
