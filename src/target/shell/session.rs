//! Terminal sessions (`console`, `shell-session`, `terminal` blocks): commands after a `$ ` or
//! `# ` prompt (optionally after a `(venv) ` marker), continued with a trailing `\` (a `> `
//! prompt on the continuation line is dropped), and the lines after a command up to the next
//! prompt are its expected output.
//!
//! Expected output is compared line by line after trimming trailing blanks; a line that is
//! exactly `...` matches any number of lines (none included), and `...` inside a line matches
//! any text within that line. A command shown with no output is not compared.

/// One command of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command, prompts stripped; continuation lines joined with `\n` (the `\` kept).
    pub text: String,
    /// 1-based code line of the prompt.
    pub line: usize,
    /// Code lines of the command's text, one per line of `text`.
    pub lines: Vec<usize>,
    /// The expected output lines.
    pub expected: Vec<String>,
}

/// Splits a session into commands. Lines before the first prompt are ignored; a session with
/// no prompt at all has no commands (the caller treats such a block as a script).
pub fn parse(code: &str) -> Vec<Command> {
    let mut out: Vec<Command> = Vec::new();
    let mut continuing = false;
    for (i, raw) in code.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if continuing {
            if let Some(c) = out.last_mut() {
                let body = line
                    .trim_start()
                    .strip_prefix("> ")
                    .map_or(line, |b| b)
                    .to_string();
                c.text.push('\n');
                c.text.push_str(&body);
                continuing = needs_more(&c.text);
                c.lines.push(n);
            }
            continue;
        }
        if let Some(cmd) = prompt(line) {
            continuing = needs_more(cmd);
            out.push(Command {
                text: cmd.to_string(),
                line: n,
                lines: vec![n],
                expected: Vec::new(),
            });
        } else if let Some(c) = out.last_mut() {
            c.expected.push(line.to_string());
        }
    }
    for c in &mut out {
        while c.expected.last().is_some_and(|l| l.trim().is_empty()) {
            c.expected.pop();
        }
    }
    out
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

/// The command of a prompt line: `$ cmd`, `# cmd`, `(venv) $ cmd`, `user@host:~$ cmd`.
fn prompt(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = match t.strip_prefix('(') {
        Some(rest) => rest.split_once(") ").map_or(t, |(_, r)| r.trim_start()),
        None => t,
    };
    for p in ["$ ", "# "] {
        if let Some(c) = t.strip_prefix(p) {
            return Some(c);
        }
    }
    if t == "$" {
        return Some("");
    }
    // `user@host:~/dir$ cmd`
    let (head, cmd) = t.split_once("$ ")?;
    (head.contains('@') && !head.contains(char::is_whitespace)).then_some(cmd)
}

/// Whether `actual` (the command's output) matches `expected`, with the `...` wildcards.
pub fn matches(expected: &[String], actual: &str) -> bool {
    let exp: Vec<&str> = expected.iter().map(|l| l.trim_end()).collect();
    let mut act: Vec<&str> = actual.lines().map(str::trim_end).collect();
    while act.last().is_some_and(|l| l.is_empty()) {
        act.pop();
    }
    match_lines(&exp, &act)
}

fn match_lines(exp: &[&str], act: &[&str]) -> bool {
    // Iterative glob over lines with backtracking to the last `...` line.
    let (mut e, mut a) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while a < act.len() {
        if e < exp.len() && exp[e].trim() == "..." {
            star = Some((e, a));
            e += 1;
        } else if e < exp.len() && line_matches(exp[e], act[a]) {
            e += 1;
            a += 1;
        } else if let Some((se, sa)) = star {
            star = Some((se, sa + 1));
            e = se + 1;
            a = sa + 1;
        } else {
            return false;
        }
    }
    exp[e..].iter().all(|l| l.trim() == "...")
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

/// A unified-style diff of expected against actual output: `-` lines expected and missing,
/// `+` lines printed and not expected, ` ` lines in common. At most `max` lines.
pub fn diff(expected: &[String], actual: &str, max: usize) -> String {
    let exp: Vec<&str> = expected.iter().map(|l| l.trim_end()).collect();
    let mut act: Vec<&str> = actual.lines().map(str::trim_end).collect();
    while act.last().is_some_and(|l| l.is_empty()) {
        act.pop();
    }
    // Longest common subsequence, where a pattern line matches the actual line.
    let (n, m) = (exp.len(), act.len());
    if n * m > 4_000_000 {
        let mut out: Vec<String> = exp.iter().map(|l| format!("-{l}")).collect();
        out.extend(act.iter().map(|l| format!("+{l}")));
        return cap(out, max);
    }
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if line_matches(exp[i], act[j]) {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && exp[i].trim() == "..." {
            out.push(format!(" {}", exp[i]));
            i += 1;
        } else if i < n && j < m && line_matches(exp[i], act[j]) {
            out.push(format!(" {}", act[j]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            out.push(format!("-{}", exp[i]));
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

    #[test]
    fn parses_prompts_continuations_and_output() {
        let code = "intro text\n$ python -c \"print(1)\"\n1\n\n(venv) $ pip install \\\n>   requests \\\n    rich\nok\n# apt-get update\nuser@host:~/x$ ls\na b\n$\n";
        let cmds = parse(code);
        assert_eq!(cmds.len(), 5);
        assert_eq!(cmds[0].text, "python -c \"print(1)\"");
        assert_eq!(cmds[0].line, 2);
        assert_eq!(cmds[0].expected, s(&["1"]));
        assert_eq!(cmds[1].text, "pip install \\\n  requests \\\n    rich");
        assert_eq!(cmds[1].lines, vec![5, 6, 7]);
        assert_eq!(cmds[1].expected, s(&["ok"]));
        assert_eq!(cmds[2].text, "apt-get update");
        assert!(cmds[2].expected.is_empty());
        assert_eq!(cmds[3].text, "ls");
        assert_eq!(cmds[3].expected, s(&["a b"]));
        assert_eq!(cmds[4].text, "");
        assert!(parse("just output\nno prompt\n").is_empty());

        // An open quote or a trailing pipe continues the command, as on a terminal.
        let cmds = parse(
            "$ jq -r '\n    .a\n    | .b'\nout\n$ ls |\n  wc -l\n3\n$ echo \"it's\" # it's\nit's\n",
        );
        assert_eq!(cmds.len(), 3, "{cmds:?}");
        assert_eq!(cmds[0].text, "jq -r '\n    .a\n    | .b'");
        assert_eq!(cmds[0].expected, s(&["out"]));
        assert_eq!(cmds[1].lines, vec![5, 6]);
        assert_eq!(cmds[1].expected, s(&["3"]));
        assert_eq!(cmds[2].expected, s(&["it's"]));
    }

    #[test]
    fn wildcards() {
        assert!(matches(&s(&["a", "b"]), "a\nb\n\n"));
        assert!(matches(&s(&["a  "]), "a"));
        assert!(!matches(&s(&["a", "b"]), "a\nc"));
        assert!(!matches(&s(&["a"]), "a\nb"));
        assert!(matches(&s(&["a", "...", "z"]), "a\nb\nc\nz"));
        assert!(matches(&s(&["a", "...", "z"]), "a\nz"));
        assert!(matches(&s(&["...", "z"]), "x\ny\nz"));
        assert!(matches(&s(&["a", "..."]), "a"));
        assert!(!matches(&s(&["a", "...", "z"]), "a\nb"));
        assert!(matches(&s(&["Python 3..."]), "Python 3.12.1"));
        assert!(matches(
            &s(&["Successfully installed ...-1.0"]),
            "Successfully installed x-1.0"
        ));
        assert!(!matches(&s(&["Python 3.9..."]), "Python 3.12.1"));
        assert!(matches(&s(&["...", "b", "...", "d"]), "a\nb\nc\nb\nd"));
    }

    #[test]
    fn diffs() {
        let d = diff(&s(&["a", "b", "c"]), "a\nx\nc\n", 10);
        assert_eq!(d, " a\n-b\n+x\n c");
        let d = diff(&s(&["Python 3.9..."]), "Python 3.12.1", 10);
        assert_eq!(d, "-Python 3.9...\n+Python 3.12.1");
        assert!(diff(&s(&[]), &"x\n".repeat(50), 5).ends_with("… 45 more lines"));
    }
}
