//! The Dockerfile parser.
//!
//! Follows BuildKit's reading of a Dockerfile: parser directives at the top (`# escape=`,
//! `# syntax=`, `# check=`), the escape character for line continuations (trailing blanks after
//! it tolerated), comment and empty lines skipped also inside a continuation, keywords in any
//! case, flags (`--from=builder`) before the arguments, JSON exec form, heredocs (`<<EOF`,
//! `<<-EOF`, `<<"EOF"`, several per instruction) whose body lines belong to the instruction.
//!
//! [`parse`] never fails and never panics: a broken instruction becomes a `syntax` [`Diagnostic`]
//! at its line and parsing goes on. Unknown instructions are kept (as [`Kind::Unknown`]) and left to
//! the rules (`DF001`), which can suggest the intended keyword.
//!
//! The shell-like words of arguments are [`words`]; what a build needs from the parse tree
//! (the Python base images retargeted to a version, the build context's sources) is
//! [`retarget`](mod@retarget).
//!
//! No I/O, no printing.

mod retarget;
mod words;

use crate::model::{Diagnostic, Severity};

pub use retarget::{
    copy_sources, is_python_image, is_remote, python_variant, retarget, split_image,
    split_python_tag,
};
pub(crate) use words::shell_commands;
pub use words::{expand, words, words_esc, Word};

/// A known Dockerfile instruction, or [`Kind::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    Unknown,
}

impl Kind {
    /// Every known instruction, with its upper-case keyword.
    pub(crate) const KNOWN: &'static [(&'static str, Kind)] = &[
        ("ADD", Kind::Add),
        ("ARG", Kind::Arg),
        ("CMD", Kind::Cmd),
        ("COPY", Kind::Copy),
        ("ENTRYPOINT", Kind::Entrypoint),
        ("ENV", Kind::Env),
        ("EXPOSE", Kind::Expose),
        ("FROM", Kind::From),
        ("HEALTHCHECK", Kind::Healthcheck),
        ("LABEL", Kind::Label),
        ("MAINTAINER", Kind::Maintainer),
        ("ONBUILD", Kind::Onbuild),
        ("RUN", Kind::Run),
        ("SHELL", Kind::Shell),
        ("STOPSIGNAL", Kind::Stopsignal),
        ("USER", Kind::User),
        ("VOLUME", Kind::Volume),
        ("WORKDIR", Kind::Workdir),
    ];

    /// The kind of a keyword, in any case.
    pub(crate) fn from_keyword(word: &str) -> Kind {
        Kind::KNOWN
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
            .map_or(Kind::Unknown, |&(_, kind)| kind)
    }

    /// The upper-case keyword (`"UNKNOWN"` for [`Kind::Unknown`]).
    pub fn name(self) -> &'static str {
        Kind::KNOWN
            .iter()
            .find(|&&(_, k)| k == self)
            .map_or("UNKNOWN", |&(name, _)| name)
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    /// The escape character: `\` unless an `# escape=` directive says `` ` ``.
    pub escape: char,
    /// Parser directives at the top, lower-case name, value, line.
    pub directives: Vec<(String, String, usize)>,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// The broken instructions, at code lines.
    pub errors: Vec<Diagnostic>,
}

/// One instruction, with its continuation lines and heredoc bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    /// 1-based code line where the instruction starts.
    pub line: usize,
    /// 1-based code line where it ends (its last continuation line or heredoc terminator).
    pub end_line: usize,
    /// The keyword as written (`run`, `RUN`, `RUNN`).
    pub keyword: String,
    pub kind: Kind,
    /// `--name=value` (or bare `--name`) flags before the arguments, in order, quotes removed.
    pub flags: Vec<(String, Option<String>)>,
    /// The continuation-joined text after the flags (trimmed; continuation characters removed,
    /// comment and empty lines inside the continuation dropped, as Docker does).
    pub args: String,
    pub heredocs: Vec<Heredoc>,
    /// Index of the stage it belongs to (`None` before the first `FROM`).
    pub stage: Option<usize>,
    /// The command of RUN / CMD / ENTRYPOINT / SHELL, and of `HEALTHCHECK CMD`.
    pub cmd: Option<Cmd>,
    /// The whole continuation-joined instruction, keyword included.
    pub original: String,
    /// Byte offset of `args` in `original`.
    pub args_start: usize,
    /// Where each piece of `original` comes from: (offset in `original`, code line, byte column
    /// and character column in that line, 0-based), in order.
    pub spans: Vec<(usize, usize, usize, usize)>,
}

/// The command of an instruction that runs one.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// JSON exec form: `["python", "app.py"]`.
    Exec(Vec<String>),
    /// Shell form: the command starts at this byte offset of `args`.
    Shell { offset: usize },
}

/// A heredoc of an instruction (`RUN <<EOF`).
#[derive(Debug, Clone, PartialEq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
    /// The delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no expansion in the body.
    pub quoted: bool,
    /// 1-based code line of the first body line.
    pub line: usize,
    /// 1-based code line of the terminator (the last line read when unterminated).
    pub end_line: usize,
    /// The body lines as written, each followed by `\n`.
    pub content: String,
    pub terminated: bool,
}

/// A build stage: a `FROM` and the instructions after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub index: usize,
    /// The line of the `FROM`.
    pub line: usize,
    /// The image as written (may be an earlier stage's name, or hold `$VARS`).
    pub image: String,
    /// The stage name as written after `AS`.
    pub name: Option<String>,
    /// The `AS` keyword exactly as written (`as`, `AS`, `As`).
    pub as_keyword: Option<String>,
    /// The `FROM` keyword exactly as written.
    pub from_keyword: String,
    /// `--platform=` value.
    pub platform: Option<String>,
    /// Where the image is written: (code line, byte column).
    pub image_pos: Option<(usize, usize)>,
    /// Index of the instruction that is this stage's `FROM`.
    pub instruction: usize,
}

/// A broken instruction at 1-based code `line`: docmatrix's `syntax` error.
fn syntax_error(line: usize, message: String) -> Diagnostic {
    Diagnostic::finding(line, Severity::Error, "docmatrix", "syntax", message)
        .with_why("Docker cannot read this instruction, so the build stops here")
}

impl Instruction {
    /// The (code line, byte column) of byte `offset` of `original`.
    pub fn pos(&self, offset: usize) -> (usize, usize) {
        let mut best = (self.line, 0);
        for &(off, line, col, _) in &self.spans {
            if off <= offset {
                best = (line, col + (offset - off));
            } else {
                break;
            }
        }
        best
    }

    /// The code line and 1-based character columns of bytes `start..end` of `original`: the
    /// start's, and the end's (just after the last character) when it is on the same line.
    pub fn columns(&self, start: usize, end: usize) -> (usize, usize, Option<usize>) {
        let at = |offset: usize| {
            let mut best = (self.line, 0);
            for &(off, line, _, chars) in &self.spans {
                if off > offset {
                    break;
                }
                let within = self
                    .original
                    .get(off..offset)
                    .map_or(0, |t| t.chars().count());
                best = (line, chars + within);
            }
            best
        };
        let (line, col) = at(start);
        let last = self
            .original
            .get(start..end)
            .and_then(|t| t.char_indices().last())
            .map(|(i, _)| start + i);
        let end_col = last.map(at).filter(|&(l, _)| l == line).map(|(_, c)| c + 2);
        (line, col + 1, end_col)
    }

    #[cfg(test)]
    /// The code line of byte `offset` of `args`.
    pub(crate) fn args_line(&self, offset: usize) -> usize {
        self.pos(self.args_start + offset).0
    }

    /// The value of flag `name` (without `--`), the last one when repeated.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    #[cfg(test)]
    /// The shell-form command text, when the instruction has one.
    pub(crate) fn shell_text(&self) -> Option<(&str, usize)> {
        match &self.cmd {
            Some(Cmd::Shell { offset }) => self.args.get(*offset..).map(|t| (t, *offset)),
            _ => None,
        }
    }
}

impl Dockerfile {
    /// The instructions of stage `index`, its `FROM` first.
    pub(crate) fn stage_instructions(&self, index: usize) -> impl Iterator<Item = &Instruction> {
        self.instructions
            .iter()
            .filter(move |i| i.stage == Some(index))
    }

    /// The stage a stage name refers to (case-insensitive, as Docker), among stages before
    /// `before`.
    pub(crate) fn stage_named(&self, name: &str, before: usize) -> Option<usize> {
        self.stages
            .iter()
            .take(before)
            .rev()
            .find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|s| s.index)
    }

    /// The earlier stage a stage is built `FROM`, if its image names one.
    pub(crate) fn parent_stage(&self, index: usize) -> Option<usize> {
        let stage = self.stages.get(index)?;
        self.stage_named(&stage.image, index)
    }

    /// Defaults of the `ARG`s before the first `FROM` (the only ones a `FROM` can use).
    pub(crate) fn global_args(&self) -> Vec<(String, Option<String>, usize)> {
        let mut out = Vec::new();
        for ins in self.instructions.iter().take_while(|i| i.stage.is_none()) {
            if ins.kind == Kind::Arg {
                for w in words(&ins.args) {
                    match w.text.split_once('=') {
                        Some((k, v)) => out.push((k.to_string(), Some(v.to_string()), ins.line)),
                        None => out.push((w.text.clone(), None, ins.line)),
                    }
                }
            }
        }
        out
    }

    /// A stage's image with `$VAR` / `${VAR}` / `${VAR:-default}` replaced by the global ARG
    /// defaults; `None` when a variable has no default.
    pub(crate) fn resolved_image(&self, index: usize) -> Option<String> {
        let stage = self.stages.get(index)?;
        let args = self.global_args();
        expand(&stage.image, &|name| {
            args.iter()
                .rev()
                .find(|(k, _, _)| k == name)
                .and_then(|(_, v, _)| v.clone())
        })
    }
}

/// A parser directive line: `# name = value`, name lower-cased.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[name_len..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_string()))
}

/// Removes a trailing continuation character (and the blanks after it).
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (line, false),
    }
}

/// Stage names BuildKit accepts: `^[a-z][a-z0-9-_.]*$`, case-insensitively.
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The heredocs announced in an instruction's arguments: (name, chomp, quoted), in order.
/// A heredoc is a word `[n]<<[-]NAME` (`<<<` is a here-string, not a heredoc).
fn heredoc_markers(args: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let bytes = args.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            } else if b == b'\\' && q == b'"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'\\' => i += 1,
            b'<' if bytes.get(i + 1) == Some(&b'<') && (i == 0 || bytes[i - 1] != b'<') => {
                let mut j = i + 2;
                if bytes.get(j) == Some(&b'<') {
                    // A here-string `<<<`: skip it.
                    i = j + 1;
                    continue;
                }
                let chomp = bytes.get(j) == Some(&b'-');
                if chomp {
                    j += 1;
                }
                let q = match bytes.get(j) {
                    Some(&c @ (b'"' | b'\'')) => {
                        j += 1;
                        Some(c)
                    }
                    _ => None,
                };
                let start = j;
                while j < bytes.len() {
                    let c = bytes[j];
                    let stop = match q {
                        Some(q) => c == q,
                        None => c.is_ascii_whitespace() || b"<>|;&()'\"".contains(&c) || c == b'`',
                    };
                    if stop {
                        break;
                    }
                    j += 1;
                }
                let name = args.get(start..j).unwrap_or("");
                if q.is_some() && j < bytes.len() {
                    j += 1;
                }
                if !name.is_empty() {
                    out.push((name.to_string(), chomp, q.is_some()));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Parses JSON exec form; `None` when the text is not a JSON array of strings.
fn exec_form(text: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Vec<String>>(text.trim()).ok()
}

/// Whether text starting with `[` was meant as exec form (and not, say, `[ -f x ] && ...`).
fn looks_like_exec(text: &str) -> bool {
    text.strip_prefix('[')
        .map(str::trim_start)
        .is_some_and(|r| r.starts_with(['"', '\'', ']']) || r.is_empty())
}

/// Parses a Dockerfile. Never fails: problems are in `errors`.
pub fn parse(code: &str) -> Dockerfile {
    let raw: Vec<&str> = code
        .split('\n')
        .enumerate()
        .map(|(i, l)| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            if i == 0 {
                l.strip_prefix('\u{feff}').unwrap_or(l)
            } else {
                l
            }
        })
        .collect();
    let n = raw.len();
    let mut df = Dockerfile {
        escape: '\\',
        directives: Vec::new(),
        instructions: Vec::new(),
        stages: Vec::new(),
        errors: Vec::new(),
    };
    let err = |df: &mut Dockerfile, line: usize, message: String| {
        df.errors.push(syntax_error(line, message));
    };

    // Parser directives: only at the very top, until the first other line.
    let mut i = 0;
    while i < n {
        let Some((name, value)) = directive(raw[i]) else {
            break;
        };
        if !matches!(name.as_str(), "escape" | "syntax" | "check") {
            break;
        }
        if df.directives.iter().any(|(k, _, _)| *k == name) {
            err(
                &mut df,
                i + 1,
                format!("only one `{name}` parser directive can be used"),
            );
        } else if name == "escape" {
            match value.as_str() {
                "\\" => df.escape = '\\',
                "`" => df.escape = '`',
                _ => err(
                    &mut df,
                    i + 1,
                    format!("invalid escape character `{value}`: it must be ` or \\"),
                ),
            }
        }
        df.directives.push((name, value, i + 1));
        i += 1;
    }

    let esc = df.escape;
    let mut before_from_reported = false;
    while i < n {
        let text = raw[i];
        let t = text.trim_start();
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        let line = i + 1;
        let lead = text.len() - t.len();
        let (content, mut cont) = trim_continuation(t, esc);
        let mut original = content.to_string();
        let mut spans = vec![(0, line, lead, text[..lead].chars().count())];
        let mut end_line = line;
        i += 1;
        let mut eof_continuation = false;
        while cont {
            if i >= n {
                eof_continuation = true;
                break;
            }
            let r = raw[i];
            i += 1;
            let rt = r.trim_start();
            if rt.is_empty() || rt.starts_with('#') {
                continue;
            }
            let (c, more) = trim_continuation(r, esc);
            spans.push((original.len(), i, 0, 0));
            original.push_str(c);
            end_line = i;
            cont = more;
        }
        if eof_continuation {
            err(
                &mut df,
                end_line,
                "line continuation at the end of the code: the instruction ends here".to_string(),
            );
        }

        // Keyword, flags, arguments.
        let kw_end = original.find(char::is_whitespace).unwrap_or(original.len());
        let keyword = original[..kw_end].to_string();
        let kind = Kind::from_keyword(&keyword);
        let mut flags = Vec::new();
        let mut p = kw_end;
        loop {
            let rest = &original[p..];
            let skipped = rest.len() - rest.trim_start().len();
            p += skipped;
            let rest = &original[p..];
            if !rest.starts_with("--") {
                break;
            }
            let Some(w) = words(rest).into_iter().next() else {
                break;
            };
            if w.text == "--" {
                break;
            }
            let body = w.text.trim_start_matches('-');
            match body.split_once('=') {
                Some((k, v)) => flags.push((k.to_string(), Some(v.to_string()))),
                None => flags.push((body.to_string(), None)),
            }
            p += w.end;
        }
        let args = original[p..].trim_end().to_string();
        let args_start = p;

        let stage = df.stages.len().checked_sub(1);
        let mut ins = Instruction {
            line,
            end_line,
            keyword,
            kind,
            flags,
            args,
            heredocs: Vec::new(),
            stage,
            cmd: None,
            original,
            args_start,
            spans,
        };

        // Heredoc bodies follow the instruction.
        if matches!(kind, Kind::Run | Kind::Copy | Kind::Add) && !ins.args.starts_with('[') {
            for (name, chomp, quoted) in heredoc_markers(&ins.args) {
                let first = i + 1;
                let mut content = String::new();
                let mut terminated = false;
                while i < n {
                    let r = raw[i];
                    i += 1;
                    let candidate = if chomp { r.trim_start_matches('\t') } else { r };
                    if candidate == name {
                        terminated = true;
                        break;
                    }
                    content.push_str(r);
                    content.push('\n');
                }
                if !terminated {
                    err(
                        &mut df,
                        line,
                        format!("unterminated heredoc: no line `{name}` closes `<<{name}`"),
                    );
                }
                ins.end_line = ins.end_line.max(i);
                ins.heredocs.push(Heredoc {
                    name,
                    chomp,
                    quoted,
                    line: first,
                    end_line: i,
                    content,
                    terminated,
                });
            }
        }

        check_instruction(&mut df, &mut ins);

        if kind == Kind::From {
            ins.stage = Some(df.stages.len().saturating_sub(1));
        } else if ins.stage.is_none() && kind != Kind::Arg && !before_from_reported {
            before_from_reported = true;
            err(
                &mut df,
                line,
                format!(
                    "`{}` before the first FROM: only ARG may come before FROM",
                    ins.keyword
                ),
            );
        }
        df.instructions.push(ins);
    }

    if df.instructions.is_empty() {
        err(&mut df, 1, "the Dockerfile has no instructions".to_string());
    } else if df.stages.is_empty() {
        let line = df.instructions.first().map_or(1, |i| i.line);
        if !before_from_reported {
            err(&mut df, line, "the Dockerfile has no FROM".to_string());
        }
    }
    df
}

/// Per-instruction syntax: argument counts, exec form, FROM and stages.
fn check_instruction(df: &mut Dockerfile, ins: &mut Instruction) {
    let esc = df.escape;
    let words = |t: &str| words_esc(t, esc);
    let line = ins.line;
    let kw = ins.keyword.clone();
    let mut errs: Vec<String> = Vec::new();
    let mut error = |message: String| errs.push(message);
    let empty = ins.args.is_empty();
    match ins.kind {
        Kind::Unknown => {}
        Kind::From => {
            let ws = words(&ins.args);
            let image = ws.first().map(|w| w.text.clone()).unwrap_or_default();
            let image_pos = ws.first().map(|w| ins.pos(ins.args_start + w.start));
            let mut name = None;
            let mut as_keyword = None;
            match ws.len() {
                0 => error(format!(
                    "`{kw}` needs an image: `FROM image[:tag] [AS name]`"
                )),
                1 => {}
                2 if ws[1].text.eq_ignore_ascii_case("as") => {
                    as_keyword = Some(ws[1].text.clone());
                    error(format!("`{} {}` without a stage name", kw, ws[1].text));
                }
                3 if ws[1].text.eq_ignore_ascii_case("as") => {
                    as_keyword = Some(ws[1].text.clone());
                    let n = ws[2].text.clone();
                    if !valid_stage_name(&n) {
                        error(format!(
                            "invalid stage name `{n}`: it must start with a letter and hold only letters, digits, `-`, `_` and `.`"
                        ));
                    }
                    name = Some(n);
                }
                _ => error(format!(
                    "`{kw}` takes `image [AS name]`, got `{}`",
                    ins.args
                )),
            }
            let index = df.stages.len();
            df.stages.push(Stage {
                index,
                line,
                image,
                name,
                as_keyword,
                from_keyword: kw.clone(),
                platform: ins.flag("platform").map(str::to_string),
                image_pos,
                instruction: df.instructions.len(),
            });
        }
        Kind::Run | Kind::Cmd | Kind::Entrypoint | Kind::Shell => {
            if empty && ins.heredocs.is_empty() && ins.kind != Kind::Shell {
                error(format!("`{kw}` needs a command"));
            } else if ins.args.starts_with('[') {
                match exec_form(&ins.args) {
                    Some(v) => ins.cmd = Some(Cmd::Exec(v)),
                    None if looks_like_exec(&ins.args) => error(format!(
                        "malformed JSON exec form `{}` (exec form needs a JSON array of double-quoted strings); Docker would run it as a shell command",
                        ins.args
                    )),
                    None => ins.cmd = Some(Cmd::Shell { offset: 0 }),
                }
            } else if ins.kind == Kind::Shell {
                error(format!(
                    "`{kw}` needs a JSON array: `SHELL [\"/bin/bash\", \"-c\"]`"
                ));
            } else {
                ins.cmd = Some(Cmd::Shell { offset: 0 });
            }
        }
        Kind::Healthcheck => {
            let ws = words(&ins.args);
            match ws.first() {
                None => error(format!("`{kw}` needs `CMD command` or `NONE`")),
                Some(w) if w.text.eq_ignore_ascii_case("none") => {
                    if ws.len() > 1 {
                        error(format!("`{kw} NONE` takes no arguments"));
                    }
                }
                Some(w) if w.text.eq_ignore_ascii_case("cmd") => {
                    let rest = &ins.args[w.end..];
                    let offset = w.end + (rest.len() - rest.trim_start().len());
                    let cmd = ins.args[offset..].to_string();
                    if cmd.is_empty() {
                        error(format!("`{kw} CMD` needs a command"));
                    } else if cmd.starts_with('[') {
                        match exec_form(&cmd) {
                            Some(v) => ins.cmd = Some(Cmd::Exec(v)),
                            None if looks_like_exec(&cmd) => error(format!(
                                "malformed JSON exec form `{cmd}` (exec form needs a JSON array of double-quoted strings)"
                            )),
                            None => ins.cmd = Some(Cmd::Shell { offset }),
                        }
                    } else {
                        ins.cmd = Some(Cmd::Shell { offset });
                    }
                }
                Some(w) => error(format!("`{kw}` expects `CMD` or `NONE`, got `{}`", w.text)),
            }
        }
        Kind::Copy | Kind::Add => {
            let count = match exec_form(&ins.args) {
                Some(v) if ins.args.starts_with('[') => v.len(),
                _ => words(&ins.args).len(),
            };
            if count < 2 {
                error(format!(
                    "`{kw}` needs a source and a destination: `{} SRC... DEST`",
                    ins.kind.name()
                ));
            }
        }
        Kind::Env | Kind::Label => {
            let ws = words(&ins.args);
            if ws.is_empty() {
                error(format!("`{kw}` needs `key=value`"));
            } else if ins.kind == Kind::Env && ws.len() == 1 && !ws[0].text.contains('=') {
                error(format!(
                    "`{kw} {}` has no value: write `{}=value`",
                    ws[0].text, ws[0].text
                ));
            } else if ins.kind == Kind::Label && ws.iter().any(|w| !w.text.contains('=')) {
                error(format!("`{kw}` needs `key=value` pairs"));
            }
        }
        Kind::Onbuild => {
            let first = ins.args.split_whitespace().next().unwrap_or("");
            match Kind::from_keyword(first) {
                _ if first.is_empty() => error(format!("`{kw}` needs an instruction")),
                Kind::Onbuild => error("ONBUILD ONBUILD is not allowed".to_string()),
                Kind::From | Kind::Maintainer => {
                    error(format!("`{first}` is not allowed as an ONBUILD trigger"))
                }
                _ => {}
            }
        }
        Kind::Arg
        | Kind::Expose
        | Kind::Maintainer
        | Kind::Stopsignal
        | Kind::User
        | Kind::Volume
        | Kind::Workdir => {
            if empty {
                error(format!("`{kw}` needs an argument"));
            }
        }
    }
    df.errors
        .extend(errs.into_iter().map(|message| syntax_error(line, message)));
}

/// The start line of the instruction that podman/buildah calls `STEP step` when it counts every
/// instruction of every stage, `FROM` included, in order (the global ARGs before the first
/// `FROM` are not steps). This is buildah's numbering for a single-stage Dockerfile, and
/// docker's legacy builder's (`Step 4/12`) for any.
///
/// Measured with podman 4.3: for a multi-stage Dockerfile buildah numbers the steps of each
/// stage from 1 and prefixes the stage: `[2/2] STEP 1/4: FROM scratch`. For such output use
/// [`stage_step_line`].
pub(crate) fn step_line(df: &Dockerfile, step: usize) -> Option<usize> {
    let index = step.checked_sub(1)?;
    df.instructions
        .iter()
        .filter(|i| i.stage.is_some())
        .nth(index)
        .map(|i| i.line)
}

/// The start line of podman/buildah's `[stage/n] STEP step/m` (both 1-based): step 1 is the
/// stage's `FROM`. `stage` is `None` when the engine printed no `[s/n]` prefix: the steps
/// are then counted over the whole Dockerfile ([`step_line`]), which for one stage is the same.
pub fn stage_step_line(df: &Dockerfile, stage: Option<usize>, step: usize) -> Option<usize> {
    let Some(stage) = stage else {
        return step_line(df, step);
    };
    let index = step.checked_sub(1)?;
    df.stage_instructions(stage.checked_sub(1)?)
        .nth(index)
        .map(|i| i.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lang::dockerfile::testdata::{line_is, line_with, seed};

    fn lines_of(df: &Dockerfile) -> Vec<(usize, &str)> {
        df.instructions
            .iter()
            .map(|i| (i.line, i.keyword.as_str()))
            .collect()
    }

    #[test]
    fn seed_parses_cleanly() {
        let df = parse(seed());
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(df.stages.len(), 2);
        let s0 = &df.stages[0];
        assert_eq!(s0.image, "python:3.12-slim");
        assert_eq!(s0.name.as_deref(), Some("build"));
        assert_eq!(s0.as_keyword.as_deref(), Some("as"));
        assert_eq!(s0.from_keyword, "FROM");
        assert_eq!(s0.line, line_with("as build"));
        assert_eq!(df.stages[1].line, line_is("FROM python:3.12-slim"));
        assert_eq!(df.stages[1].name, None);
        assert_eq!(
            lines_of(&df),
            vec![
                (line_with("as build"), "FROM"),
                (line_is("WORKDIR /src"), "WORKDIR"),
                (line_with("RUN apt-get update"), "RUN"),
                (line_is("COPY requirements.txt ."), "COPY"),
                (line_with("RUN pip wheel"), "RUN"),
                (line_is("FROM python:3.12-slim"), "FROM"),
                (line_is("WORKDIR /srv"), "WORKDIR"),
                (line_with("COPY --from=build /wheels"), "COPY"),
                (line_with("COPY --from=build /src/requirements.txt"), "COPY"),
                (line_with("RUN pip install"), "RUN"),
                (line_is("COPY . ."), "COPY"),
                (line_with("RUN useradd"), "RUN"),
                (line_with("USER "), "USER"),
                (line_with("HEALTHCHECK"), "HEALTHCHECK"),
                (line_with("CMD ["), "CMD"),
            ]
        );
        // The instructions' lines, as found by their text, are the lines of the seed's steps
        // in order: the search helpers cannot hide a misplaced instruction.
        let code: Vec<&str> = seed().lines().collect();
        for i in &df.instructions {
            assert!(code[i.line - 1].trim_start().starts_with(&i.keyword));
        }
        let run = &df.instructions[2];
        assert_eq!(run.line + 2, run.end_line);
        assert_eq!(run.end_line, line_with("rm -rf /var/lib/apt/lists/*"));
        assert_eq!(
            run.args,
            "apt-get update     && apt-get install -y --no-install-recommends gcc     && rm -rf /var/lib/apt/lists/*"
        );
        let hc = &df.instructions[13];
        assert_eq!(hc.end_line, line_with("CMD curl"));
        assert_eq!(hc.end_line, hc.line + 1);
        assert_eq!(hc.flag("interval"), Some("30s"));
        assert_eq!(hc.flag("timeout"), Some("5s"));
        assert_eq!(hc.flag("retries"), Some("3"));
        assert_eq!(hc.flags.len(), 3);
        let Some((text, _)) = hc.shell_text() else {
            panic!("no shell text")
        };
        assert!(text.starts_with("curl -fsS"));
        let off = hc.args.find("curl").unwrap_or(0);
        assert_eq!(hc.args_line(off), line_with("CMD curl"));
        assert_eq!(
            df.instructions[14].cmd,
            Some(Cmd::Exec(
                ["gunicorn", "-b", "0.0.0.0:8000", "app:create_app()"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        assert_eq!(df.instructions[7].flag("from"), Some("build"));
        assert_eq!(df.instructions[8].flag("from"), Some("build"));
        assert_eq!(df.instructions[1].stage, Some(0));
        assert_eq!(df.instructions[4].stage, Some(0));
        assert_eq!(df.instructions[6].stage, Some(1));
    }

    #[test]
    fn seed_step_lines() {
        let df = parse(seed());
        let last_from = line_is("FROM python:3.12-slim");
        let healthcheck = line_with("HEALTHCHECK");
        // Global count (single-stage numbering).
        assert_eq!(step_line(&df, 1), Some(line_with("as build")));
        assert_eq!(step_line(&df, 6), Some(last_from));
        assert_eq!(step_line(&df, 14), Some(healthcheck));
        assert_eq!(step_line(&df, 15), Some(line_with("CMD [")));
        assert_eq!(step_line(&df, 16), None);
        assert_eq!(step_line(&df, 0), None);
        // podman: `[1/2] STEP 1/5: FROM python:3.12-slim AS build` ...
        assert_eq!(
            stage_step_line(&df, Some(1), 5),
            Some(line_with("RUN pip wheel"))
        );
        assert_eq!(stage_step_line(&df, Some(2), 1), Some(last_from));
        assert_eq!(stage_step_line(&df, Some(2), 9), Some(healthcheck));
        assert_eq!(stage_step_line(&df, Some(3), 1), None);
        assert_eq!(
            stage_step_line(&df, Some(1), 3),
            Some(line_with("RUN apt-get update"))
        );
        // Without a stage prefix: counted over the whole Dockerfile.
        assert_eq!(stage_step_line(&df, None, 2), Some(line_is("WORKDIR /src")));
        assert_eq!(stage_step_line(&df, None, 14), Some(healthcheck));
        assert_eq!(stage_step_line(&df, Some(0), 1), None);
    }

    #[test]
    fn arg_before_from_is_not_a_step() {
        let df = parse("ARG X=1\nFROM scratch\n# c\nENV A=1 \\\n  B=2\nCOPY a /a\n");
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(step_line(&df, 1), Some(2));
        assert_eq!(step_line(&df, 2), Some(4));
        assert_eq!(step_line(&df, 3), Some(6));
        assert_eq!(stage_step_line(&df, None, 3), Some(6));
        assert_eq!(stage_step_line(&df, Some(1), 3), Some(6));
        assert_eq!(df.instructions[0].stage, None);
    }

    #[test]
    fn empty_and_comment_only() {
        let df = parse("");
        assert_eq!(df.instructions.len(), 0);
        assert_eq!(df.errors.len(), 1);
        let df = parse("# just a comment\n\n");
        assert_eq!(df.errors[0].message, "the Dockerfile has no instructions");
    }

    #[test]
    fn keywords_any_case() {
        let df = parse("from alpine AS b\nrun echo hi\nCoPy a b\n");
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(df.instructions[1].kind, Kind::Run);
        assert_eq!(df.instructions[2].kind, Kind::Copy);
        assert_eq!(df.instructions[2].keyword, "CoPy");
        assert_eq!(df.stages[0].from_keyword, "from");
    }

    #[test]
    fn continuation_with_comments_blanks_and_trailing_space() {
        let code = "FROM alpine\nRUN echo a \\  \n# a comment\n\n    # indented comment\n  && echo b \\\t\n  && echo c\nUSER x\n";
        let df = parse(code);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        let run = &df.instructions[1];
        assert_eq!(run.line, 2);
        assert_eq!(run.end_line, 7);
        assert_eq!(run.args, "echo a   && echo b   && echo c");
        let c = run.args.find("echo c").unwrap_or(0);
        assert_eq!(run.args_line(c), 7);
        assert_eq!(run.args_line(0), 2);
        assert_eq!(df.instructions[2].line, 8);
    }

    #[test]
    fn crlf_line_ends() {
        let df = parse("FROM alpine\r\nRUN echo a \\\r\n  b\r\nUSER x\r\n");
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(df.instructions[1].args, "echo a   b");
        assert_eq!(df.instructions[2].line, 4);
        assert_eq!(df.instructions[2].args, "x");
    }

    #[test]
    fn escape_directive_backtick() {
        let code = "# escape=`\n# syntax=docker/dockerfile:1\nFROM mcr.microsoft.com/windows/servercore\nRUN dir c:\\ `\n  && echo done\nCOPY C:\\src\\ C:\\dst\\\n";
        let df = parse(code);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(df.escape, '`');
        assert_eq!(df.directives.len(), 2);
        assert_eq!(df.instructions[1].args, "dir c:\\   && echo done");
        assert_eq!(df.instructions[1].end_line, 5);
        assert_eq!(df.instructions[2].line, 6);
    }

    #[test]
    fn directives_only_at_top() {
        let df = parse("FROM alpine\n# escape=`\nRUN echo \\\n  hi\n");
        assert_eq!(df.escape, '\\');
        assert_eq!(df.instructions[1].args, "echo   hi");
        let df = parse("\n# escape=`\nFROM alpine\n");
        assert_eq!(df.escape, '\\');
        let df = parse("# escape=x\nFROM alpine\n");
        assert_eq!(df.errors.len(), 1);
        assert_eq!(df.errors[0].line, Some(1));
        let df = parse("# syntax=a\n# syntax=b\nFROM alpine\n");
        assert_eq!(df.errors[0].line, Some(2));
        let df = parse("# check=skip=JSONArgsRecommended\n# escape = `\nFROM a\n");
        assert_eq!(df.escape, '`');
        assert!(df.errors.is_empty());
    }

    #[test]
    fn heredocs() {
        let code = "FROM alpine\nRUN <<EOF\napk add curl\necho done\nEOF\nCOPY <<EOF /etc/conf\nkey=value\nEOF\nRUN <<-\"A\" cat && cat <<'B' > /x\n\techo a\n\tA\nline b\nB\nUSER x\n";
        let df = parse(code);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        let run = &df.instructions[1];
        assert_eq!(run.line, 2);
        assert_eq!(run.end_line, 5);
        assert_eq!(run.heredocs.len(), 1);
        assert_eq!(run.heredocs[0].content, "apk add curl\necho done\n");
        assert_eq!(run.heredocs[0].line, 3);
        assert_eq!(run.heredocs[0].end_line, 5);
        let copy = &df.instructions[2];
        assert_eq!(copy.line, 6);
        assert_eq!(copy.end_line, 8);
        assert_eq!(copy.heredocs[0].name, "EOF");
        let two = &df.instructions[3];
        assert_eq!(two.heredocs.len(), 2);
        assert!(two.heredocs[0].chomp && two.heredocs[0].quoted);
        assert_eq!(two.heredocs[0].name, "A");
        assert_eq!(two.heredocs[1].name, "B");
        assert_eq!(two.heredocs[1].content, "line b\n");
        assert_eq!(two.end_line, 13);
        assert_eq!(df.instructions[4].line, 14);
        assert!(copy_sources(&df).is_empty());
    }

    #[test]
    fn here_string_and_quoted_markers_are_not_heredocs() {
        let df = parse("FROM alpine\nRUN cat <<< hi && echo \"<<EOF\" '<<X'\nUSER x\n");
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert!(df.instructions[1].heredocs.is_empty());
    }

    #[test]
    fn unterminated_heredoc() {
        let df = parse("FROM alpine\nRUN <<EOF\necho hi\n");
        assert_eq!(df.errors.len(), 1);
        assert_eq!(df.errors[0].line, Some(2));
        assert!(df.errors[0].message.contains("unterminated heredoc"));
        assert!(!df.instructions[1].heredocs[0].terminated);
    }

    #[test]
    fn broken_instructions() {
        let cases: &[(&str, usize, &str)] = &[
            ("FROM\n", 1, "needs an image"),
            ("FROM alpine AS\n", 1, "without a stage name"),
            ("FROM alpine foo bar\n", 1, "takes `image [AS name]`"),
            ("FROM alpine AS 1abc\n", 1, "invalid stage name"),
            (
                "FROM a\nCOPY onlyone\n",
                2,
                "needs a source and a destination",
            ),
            ("FROM a\nADD\n", 2, "needs a source and a destination"),
            ("FROM a\nRUN echo \\\n", 2, "line continuation at the end"),
            ("FROM a\nCMD [\"a\", \n", 2, "malformed JSON"),
            ("FROM a\nCMD ['python', 'app.py']\n", 2, "malformed JSON"),
            ("FROM a\nENTRYPOINT [\"a\",]\n", 2, "malformed JSON"),
            ("FROM a\nRUN\n", 2, "needs a command"),
            ("FROM a\nWORKDIR\n", 2, "needs an argument"),
            ("FROM a\nENV FOO\n", 2, "has no value"),
            ("FROM a\nSHELL /bin/bash -c\n", 2, "needs a JSON array"),
            ("FROM a\nHEALTHCHECK\n", 2, "needs `CMD"),
            ("FROM a\nHEALTHCHECK CMD\n", 2, "needs a command"),
            ("FROM a\nHEALTHCHECK curl x\n", 2, "expects `CMD` or `NONE`"),
            ("FROM a\nHEALTHCHECK CMD [\"curl\"\n", 2, "malformed JSON"),
            ("FROM a\nONBUILD ONBUILD RUN x\n", 2, "ONBUILD ONBUILD"),
            ("RUN echo hi\nFROM a\n", 1, "before the first FROM"),
            ("COPY a b\n", 1, "before the first FROM"),
        ];
        for (code, line, msg) in cases {
            let df = parse(code);
            assert!(
                df.errors
                    .iter()
                    .any(|e| e.line == Some(*line) && e.message.contains(msg)),
                "{code:?}: {:?}",
                df.errors
            );
        }
    }

    #[test]
    fn not_errors() {
        for code in [
            "FROM a\nRUN [ -f /x ] && echo yes\n",
            "FROM a\nCMD []\n",
            "FROM a\nCOPY [\"a b\", \"/c\"]\n",
            "FROM a\nHEALTHCHECK NONE\n",
            "FROM a\nHEALTHCHECK CMD [\"curl\", \"-f\", \"x\"]\n",
            "FROM a\nENV A=1 B=\"two words\"\n",
            "FROM a\nENV A 1\n",
            "ARG V=1\nARG W\nFROM a:$V\n",
            "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
            "FROM a\nRUNN echo unknown instructions are for the rules\n",
            "FROM a\nSHELL [\"/bin/bash\", \"-c\"]\n",
        ] {
            let df = parse(code);
            assert!(df.errors.is_empty(), "{code:?}: {:?}", df.errors);
        }
    }

    #[test]
    fn flags_and_exec() {
        let df = parse(
            "FROM --platform=linux/amd64 python:3.12 AS b\nRUN --mount=type=cache,target=/root/.cache/pip --network=none pip install x\nCOPY --from=b --chown=1:1 /a /b\n",
        );
        assert_eq!(df.stages[0].platform.as_deref(), Some("linux/amd64"));
        assert_eq!(df.stages[0].image, "python:3.12");
        let run = &df.instructions[1];
        assert_eq!(
            run.flags,
            vec![
                (
                    "mount".to_string(),
                    Some("type=cache,target=/root/.cache/pip".to_string())
                ),
                ("network".to_string(), Some("none".to_string())),
            ]
        );
        assert_eq!(run.args, "pip install x");
        assert_eq!(df.instructions[2].flag("chown"), Some("1:1"));
        assert_eq!(df.instructions[2].args, "/a /b");
    }

    /// A small deterministic xorshift generator: the fuzz loops need no dependency.
    pub(crate) struct Rng(pub u64);
    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let alphabet: &[u8] = b"FROM RUN COPY as AS --from=\\`\"'[]{}$<<-EOF\n\r\t #=:@/ ";
        for round in 0..3000 {
            let len = (rng.next() % 120) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if round % 2 == 0 {
                        alphabet[(rng.next() % alphabet.len() as u64) as usize]
                    } else {
                        (rng.next() % 256) as u8
                    }
                })
                .collect();
            let code = String::from_utf8_lossy(&bytes);
            let df = parse(&code);
            let _ = retarget(&df, &code, (3, 9));
            let _ = copy_sources(&df);
            for s in 0..5 {
                let _ = step_line(&df, s);
            }
        }
        let seed = seed();
        for cut in 0..=seed.len() {
            if !seed.is_char_boundary(cut) {
                continue;
            }
            let code = &seed[..cut];
            let df = parse(code);
            let out = retarget(&df, code, (3, 9));
            assert_eq!(out.lines().count(), code.lines().count());
            let code = &seed[cut..];
            let df = parse(code);
            let _ = retarget(&df, code, (3, 9));
        }
    }
}
