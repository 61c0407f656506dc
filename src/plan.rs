//! Snippets × config × interpreters → [`Job`]s to run, or outcomes decided without running
//! (skipped, not applicable, unavailable).
//!
//! Must not know Markdown or how a job is spawned.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Job, JobKind, Lang, Member, Outcome, Snippet, Status};
use crate::version::PyVersion;

/// The plan: jobs to run, and the outcomes already decided.
#[derive(Debug, Default)]
pub struct Plan {
    pub jobs: Vec<Job>,
    pub decided: Vec<(usize, PyVersion, Outcome)>,
    /// (example, version, the example whose job it shares): a lone Python example whose job
    /// would be the same program as an earlier one's (one file included in several places)
    /// is run once; its cell is that job's result.
    pub shared: Vec<(usize, PyVersion, usize)>,
}

/// The units of `examples` (indices, in order): a lone example, all the examples of one
/// group in one file, in order, or the Python examples of a page ([`is_page`]) that are in no
/// group. A unit runs as one program, and a partition never splits one.
pub(crate) fn units<S: std::borrow::Borrow<Snippet>>(examples: &[S]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    // A page's key is the file's and no group name (`None`).
    let mut group_unit: BTreeMap<(PathBuf, Option<String>), usize> = BTreeMap::new();
    for (i, s) in examples.iter().enumerate() {
        let s = s.borrow();
        let page = is_page(s);
        match &s.annotations.group {
            // Only Python blocks share state in a group or a page.
            g if s.lang == Lang::Python && (g.is_some() || page) => {
                let key = (s.file.clone(), g.clone());
                match group_unit.get(&key) {
                    Some(&u) => units[u].push(i),
                    None => {
                        group_unit.insert(key, units.len());
                        units.push(vec![i]);
                    }
                }
            }
            _ => units.push(vec![i]),
        }
    }
    units
}

/// Whether `s` is one of its page's examples: a Python block of a file in page mode (the
/// `page` annotation, file-wide or from the config's `pages`) that is in no group, and not
/// one that runs without the setup code (`setup=false`: it runs on its own).
pub(crate) fn is_page(s: &Snippet) -> bool {
    s.lang == Lang::Python
        && s.annotations.page == Some(true)
        && s.annotations.group.is_none()
        && s.annotations.setup != Some(false)
}

/// How blocks are planned.
#[derive(Debug, Clone)]
pub struct Options {
    pub default_timeout: Duration,
    /// Python run before every Python job whose first block does not say `setup=false`.
    pub setup: Option<std::sync::Arc<str>>,
    /// Shell blocks run unless they say `no-run` (else only with `run`).
    pub shell_run: bool,
    /// Dockerfile blocks are built (where an engine answers: the runner decides that).
    pub docker_build: bool,
    pub docker_timeout: Duration,
}

impl Options {
    #[cfg(test)]
    pub(crate) fn python_only(default_timeout: Duration) -> Self {
        Options {
            default_timeout,
            setup: None,
            shell_run: false,
            docker_build: true,
            docker_timeout: Duration::from_secs(300),
        }
    }
}

/// Where one version's Python (and shell) jobs run: an interpreter, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    Interpreter(PathBuf),
    /// No interpreter (or its dependencies cannot be installed on it): `unavailable`.
    Missing(String),
    /// Its dependencies could not be installed here (the index out of reach, `--offline`):
    /// `blocked`.
    Blocked(String),
}

/// Where every version's jobs run: `base`, or, for a unit whose blocks declare dependencies of
/// their own ([`unit_deps`]), the environment of those, in `own`.
#[derive(Debug, Clone, Default)]
pub struct Sites {
    pub base: BTreeMap<PyVersion, Site>,
    pub own: BTreeMap<(Vec<String>, PyVersion), Site>,
}

impl Sites {
    /// Every version of `versions` on an interpreter named `python3.X` (for `--dry-run`, where
    /// nothing runs).
    pub fn assumed(versions: &[PyVersion]) -> Sites {
        Sites {
            base: versions
                .iter()
                .map(|v| (*v, Site::Interpreter(PathBuf::from(format!("python{v}")))))
                .collect(),
            own: BTreeMap::new(),
        }
    }
}

/// The blocks of `unit`, then the page's programs a console session of it runs
/// ([`session_programs`]): what one run of the unit executes.
pub fn unit_blocks(examples: &[Snippet], unit: &[usize]) -> Vec<usize> {
    let programs = unit
        .first()
        .map(|&i| session_programs(examples, i))
        .unwrap_or_default();
    unit.iter()
        .copied()
        .chain(programs.into_iter().map(|(_, k)| k))
        .collect()
}

/// The dependencies the blocks of `unit` and its session's programs declare themselves
/// (`deps`, inline script metadata), sorted and without repeats: a unit is one program, so it
/// runs in one environment.
pub fn unit_deps(examples: &[Snippet], unit: &[usize]) -> Vec<String> {
    let mut deps: Vec<String> = unit_blocks(examples, unit)
        .into_iter()
        .flat_map(|i| examples[i].annotations.deps.iter().cloned())
        .collect();
    deps.sort();
    deps.dedup();
    deps
}

/// Whether `blocks` (a unit's, [`unit_blocks`]) let it run on `v`: none is skipped and none
/// rules `v` out.
pub fn blocks_run_on(examples: &[Snippet], blocks: &[usize], v: PyVersion) -> bool {
    blocks.iter().all(|&i| {
        let ann = &examples[i].annotations;
        ann.skip.is_none() && ann.requires.as_ref().is_none_or(|r| r.matches(v))
    })
}

/// What becomes of a console session on `v` that its programs decide before it runs: the
/// session runs each program as the page shows it, so a program that could not be included
/// fails the session, and one that is skipped or rules `v` out (its `requires`, its tab's,
/// its `_py310` file name) skips it or leaves it out there. Each says which program.
fn decided_by_programs(
    examples: &[Snippet],
    programs: &[(String, usize)],
    v: PyVersion,
) -> Option<Outcome> {
    let at = |name: &str, k: usize| {
        let p = &examples[k];
        format!("its program `{name}` ({}:{})", p.file.display(), p.line)
    };
    for (name, k) in programs {
        if let Some((line, message)) = &examples[*k].include_error {
            let mut o = Outcome::bare(Status::Fail);
            o.error = Some(format!("{} could not be included: {message}", at(name, *k)));
            o.error_type = Some("IncludeError".into());
            o.md_line = Some(*line);
            return Some(o);
        }
    }
    for (name, k) in programs {
        if let Some(r) = &examples[*k].annotations.skip {
            let why = if r.is_empty() { "skip annotation" } else { r };
            let reason = format!("{} is skipped: {why}", at(name, *k));
            return Some(Outcome::decided(Status::Skipped, reason));
        }
    }
    for (name, k) in programs {
        if let Some(req) = &examples[*k].annotations.requires {
            if !req.matches(v) {
                let reason = format!("{} requires {req}", at(name, *k));
                return Some(Outcome::decided(Status::NotApplicable, reason));
            }
        }
    }
    None
}

/// The file name a block's info string gives it (`title="main.py"`, `filename=…`), without
/// its folders.
fn title_of(s: &Snippet) -> Option<&str> {
    s.foreign_attrs.iter().find_map(|a| {
        let (k, v) = a.split_once('=')?;
        if !matches!(k, "title" | "filename" | "file") {
            return None;
        }
        let v = v.trim_matches(|c| c == '"' || c == '\'');
        let name = v.rsplit('/').next()?;
        (!name.is_empty()).then_some(name)
    })
}

/// The files `python FILE.py …` in `commands` runs (`python`, `python3`, `python3.X`, options
/// before the file allowed), in order, without repeats; and whether the session does more with
/// them than running each alone: it passes arguments, answers prompts, or shows output to
/// compare. A session that only says `$ python3 recipe.py` adds nothing to the program block
/// run on its own.
fn python_files(commands: &[crate::lang::shell::session::Command]) -> (Vec<String>, bool) {
    let mut files: Vec<String> = Vec::new();
    let mut more = commands
        .iter()
        .any(|c| c.shows_output() || !c.input.is_empty());
    for c in commands {
        for line in c.text.split(['\n', ';', '&', '|']) {
            let Some(words) = shlex::split(line) else {
                continue;
            };
            let mut words = words
                .into_iter()
                .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                .peekable();
            // `uv run [OPTIONS] python …`: the session's `uv` runs the command as it is.
            if words.next_if(|w| w == "uv").is_some() {
                if words.next_if(|w| w == "run").is_none() {
                    continue;
                }
                while let Some(w) = words.next_if(|w| w.starts_with('-')) {
                    if matches!(
                        w.as_str(),
                        "--with" | "--python" | "-p" | "--group" | "--extra"
                    ) {
                        words.next();
                    }
                }
            }
            let Some(program) = words.next() else {
                continue;
            };
            let program = program.rsplit('/').next().unwrap_or(&program).to_string();
            let is_python = program == "python"
                || program.strip_prefix("python").is_some_and(|v| {
                    !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.')
                });
            if !is_python {
                continue;
            }
            // The first word that is not an option is the program file.
            if let Some(file) = words.find(|w| !w.starts_with('-')) {
                let file = file.strip_prefix("./").unwrap_or(&file).to_string();
                if file.ends_with(".py") && !file.contains('/') {
                    more |= words.next().is_some();
                    if !files.contains(&file) {
                        files.push(file);
                    }
                }
            }
        }
    }
    (files, more)
}

/// The name of the file a block's code was included from, when it all comes from one file
/// (`--8<-- "docs_src/app/main.py"` gives `main.py`).
fn included_name(s: &Snippet) -> Option<&str> {
    let first = s.sources.first()?;
    if s.sources.iter().any(|o| o.path != first.path) {
        return None;
    }
    first.path.file_name()?.to_str()
}

/// The top-level modules a program imports by name (`import items`, `from reigns import app`),
/// from its unindented import statements, in order.
fn imported_modules(code: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for line in code.lines() {
        let names: Vec<&str> = if let Some(rest) = line.strip_prefix("import ") {
            rest.split(',')
                .filter_map(|n| n.split_whitespace().next())
                .collect()
        } else if let Some(rest) = line.strip_prefix("from ") {
            rest.split_whitespace().next().into_iter().collect()
        } else {
            continue;
        };
        for n in names {
            let top = n.split('.').next().unwrap_or(n);
            if !top.is_empty() && !n.starts_with('.') && !out.contains(&top) {
                out.push(top);
            }
        }
    }
    out
}

/// The page's programs a console session runs (`$ python main.py Camila`), each under the name
/// the session runs it by: the last Python program block before the session, in its file,
/// whose title is that name (`title="main.py"`), else whose code is included from a file of
/// that name, else the last untitled Python program block before it that no other name took
/// (an included one first). The modules those programs import by name (`import items`) come
/// with them when the page has them, found the same way by title or included file
/// (`items.py`; before the session, else after it), so a program split over several files runs as the page shows it.
pub(crate) fn session_programs(examples: &[Snippet], i: usize) -> Vec<(String, usize)> {
    let s = &examples[i];
    if s.lang != Lang::Session {
        return Vec::new();
    }
    let (names, more) = python_files(&crate::lang::shell::session::parse(&s.code));
    if names.is_empty() || !more {
        return Vec::new();
    }
    let before: Vec<(usize, &Snippet)> = examples[..i]
        .iter()
        .enumerate()
        .filter(|(_, p)| p.file == s.file && p.lang == Lang::Python && !p.session)
        .collect();
    let mut taken: Vec<usize> = Vec::new();
    let mut files: Vec<(String, usize)> = Vec::new();
    // The block named `name`: by its title, else by the file it was included from.
    let named = |name: &str, taken: &[usize]| {
        let free = |k: &usize| !taken.contains(k);
        let titled = (0..before.len())
            .rev()
            .find(|k| free(k) && title_of(before[*k].1) == Some(name));
        titled.or_else(|| {
            (0..before.len()).rev().find(|k| {
                free(k)
                    && title_of(before[*k].1).is_none()
                    && included_name(before[*k].1) == Some(name)
            })
        })
    };
    let mut untitled = Vec::new();
    for name in names {
        match named(&name, &taken) {
            Some(k) => {
                taken.push(k);
                files.push((name, before[k].0));
            }
            None => untitled.push(name),
        }
    }
    for name in untitled {
        // The last untitled program block before the session; one whose code comes from a
        // file (an include) first: pages that include their programs show fragments of them
        // inline, also after a session that ran the program and before one that runs it
        // again, and a fragment is not what the session runs.
        let free = |k: &usize| !taken.contains(k) && title_of(before[*k].1).is_none();
        let k = (0..before.len())
            .rev()
            .find(|k| {
                let b = before[*k].1;
                free(k) && (!b.sources.is_empty() || b.include_error.is_some())
            })
            .or_else(|| (0..before.len()).rev().find(free));
        if let Some(k) = k {
            taken.push(k);
            files.push((name, before[k].0));
        }
    }
    // The page's modules the programs import, and theirs in turn: shown before the session,
    // else after it (pages that list a program's other files further down).
    let after: Vec<(usize, &Snippet)> = examples
        .iter()
        .enumerate()
        .skip(i + 1)
        .filter(|(_, p)| p.file == s.file && p.lang == Lang::Python && !p.session)
        .collect();
    let later = |name: &str, files: &[(String, usize)]| {
        let is = |p: &Snippet| {
            title_of(p) == Some(name) || (title_of(p).is_none() && included_name(p) == Some(name))
        };
        after
            .iter()
            .find(|(j, p)| is(p) && !files.iter().any(|(_, k)| k == j))
            .map(|(j, _)| *j)
    };
    let mut next = 0;
    while next < files.len() {
        let code = examples[files[next].1].code.clone();
        next += 1;
        for module in imported_modules(&code) {
            let name = format!("{module}.py");
            if files.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(k) = named(&name, &taken) {
                taken.push(k);
                files.push((name, before[k].0));
            } else if let Some(j) = later(&name, &files) {
                files.push((name, j));
            }
        }
    }
    files.sort();
    files
}

/// The job kind of a block, and whether it runs (`Err(reason)` when it is only checked).
/// A console session that runs the page's programs (`programs`) runs.
fn kind_of(s: &Snippet, o: &Options, programs: bool) -> Result<JobKind, &'static str> {
    match s.lang {
        Lang::Python => Ok(JobKind::Python),
        Lang::Session if crate::lang::shell::powershell(s).is_some() => {
            Err("not run: a PowerShell session (docmatrix runs POSIX shell)")
        }
        Lang::Session if programs && s.annotations.run != Some(false) => Ok(JobKind::Session),
        Lang::Shell(_) | Lang::Session if !s.annotations.run.unwrap_or(o.shell_run) => {
            Err("not run: static checks only (the `run` annotation runs it)")
        }
        Lang::Shell(sh) => Ok(JobKind::Script(sh)),
        Lang::Session => Ok(JobKind::Session),
        Lang::Dockerfile if s.annotations.run == Some(false) || !o.docker_build => {
            Err("not built: building is off (static checks only)")
        }
        Lang::Dockerfile => Ok(JobKind::Dockerfile),
        Lang::PowerShell | Lang::Other(_) => Err("not checked"),
    }
}

/// Plans every (example × version). `examples` are the checked snippets in report order;
/// `sites` says where each version's jobs run.
pub fn plan(examples: &[Snippet], versions: &[PyVersion], sites: &Sites, opts: &Options) -> Plan {
    let mut out = Plan::default();
    let units = units(examples);
    out.jobs.reserve(units.len() * versions.len());
    let timeout_of = |s: &Snippet| {
        let default = if s.lang == Lang::Dockerfile {
            opts.docker_timeout
        } else {
            opts.default_timeout
        };
        s.annotations
            .timeout
            .map_or(default, Duration::from_secs_f64)
    };

    // Jobs of one interpreter share its path.
    let mut shared: BTreeMap<PathBuf, std::sync::Arc<std::path::Path>> = BTreeMap::new();
    // The program blocks a console session runs (`$ python main.py Camila`), and that session:
    // they run there, with the session's arguments, not on their own (unless `args=`).
    let mut run_by: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, s) in examples.iter().enumerate() {
        if s.lang == Lang::Session
            && s.annotations.skip.is_none()
            && s.annotations.run != Some(false)
        {
            for (_, k) in session_programs(examples, i) {
                run_by.entry(k).or_insert(i);
            }
        }
    }
    let no_interpreter: std::sync::Arc<std::path::Path> = std::path::Path::new("").into();
    for unit in &units {
        let deps = unit_deps(examples, unit);
        for &v in versions {
            // Skipped blocks stay out of their group's program.
            let mut run = Vec::new();
            for &i in unit {
                // Code that could not be included fails where it is included.
                if let Some((line, message)) = &examples[i].include_error {
                    let mut o = Outcome::bare(Status::Fail);
                    o.error = Some(message.clone());
                    o.error_type = Some("IncludeError".into());
                    o.md_line = Some(*line);
                    out.decided.push((i, v, o));
                    continue;
                }
                match &examples[i].annotations.skip {
                    Some(r) => {
                        let reason = if r.is_empty() {
                            "skip annotation".into()
                        } else {
                            r.clone()
                        };
                        out.decided
                            .push((i, v, Outcome::decided(Status::Skipped, reason)));
                    }
                    None => run.push(i),
                }
            }
            let by = run.first().and_then(|i| run_by.get(i));
            if let (&[k], Some(&by)) = (&run[..], by) {
                let s = &examples[k];
                // Where it rules the version out, it is not applicable there, as on its own.
                let applies = s.annotations.requires.as_ref().is_none_or(|r| r.matches(v));
                if applies
                    && s.annotations.args.is_none()
                    && s.annotations.group.is_none()
                    && !is_page(s)
                {
                    let b = &examples[by];
                    let reason = format!(
                        "run by the console session at {}:{}",
                        b.file.display(),
                        b.line
                    );
                    out.decided
                        .push((k, v, Outcome::decided(Status::Skipped, reason)));
                    continue;
                }
            }
            if run.is_empty() {
                continue;
            }
            let first = &examples[run[0]];
            let programs = session_programs(examples, run[0]);
            let files: Vec<(String, std::sync::Arc<str>)> = programs
                .iter()
                .map(|(name, k)| (name.clone(), examples[*k].code.clone()))
                .collect();
            let kind = match kind_of(first, opts, !files.is_empty()) {
                Ok(k) => k,
                Err(reason) => {
                    for &i in &run {
                        out.decided
                            .push((i, v, Outcome::decided(Status::Skipped, reason)));
                    }
                    continue;
                }
            };
            if kind == JobKind::Session {
                if let Some(o) = decided_by_programs(examples, &programs, v) {
                    for &i in &run {
                        out.decided.push((i, v, o.clone()));
                    }
                    continue;
                }
            }
            // On a page, a block that rules a version out is left out of the page's program there.
            let page = is_page(&examples[unit[0]]);
            if page {
                run.retain(|&i| match &examples[i].annotations.requires {
                    Some(req) if !req.matches(v) => {
                        let reason = format!("requires {req}");
                        out.decided
                            .push((i, v, Outcome::decided(Status::NotApplicable, reason)));
                        false
                    }
                    _ => true,
                });
                if run.is_empty() {
                    continue;
                }
            }
            let first = &examples[run[0]];
            // A version that any block of the unit rules out is ruled out for the whole unit.
            let excluded = run.iter().find_map(|&i| {
                let s = &examples[i];
                let req = s.annotations.requires.as_ref()?;
                (!req.matches(v)).then(|| (req.to_string(), s.line))
            });
            if let Some((req, line)) = excluded {
                let reason = if unit.len() > 1 {
                    format!("group requires {req} (block at line {line})")
                } else {
                    format!("requires {req}")
                };
                for &i in &run {
                    out.decided.push((
                        i,
                        v,
                        Outcome::decided(Status::NotApplicable, reason.clone()),
                    ));
                }
                continue;
            }
            let site = if deps.is_empty() {
                sites.base.get(&v)
            } else {
                sites.own.get(&(deps.clone(), v))
            };
            let interp = match site {
                // A build uses the engine's images, not the interpreters found here.
                _ if kind == JobKind::Dockerfile => no_interpreter.clone(),
                Some(Site::Interpreter(p)) => shared
                    .entry(p.clone())
                    .or_insert_with(|| p.as_path().into())
                    .clone(),
                // A version whose dependencies could not be installed here (the index is out
                // of reach, `--offline`) is not decided.
                Some(Site::Blocked(why)) => {
                    for &i in &run {
                        out.decided
                            .push((i, v, Outcome::decided(Status::Blocked, why.clone())));
                    }
                    continue;
                }
                Some(Site::Missing(why)) => {
                    for &i in &run {
                        out.decided.push((
                            i,
                            v,
                            Outcome::decided(Status::Unavailable, why.clone()),
                        ));
                    }
                    continue;
                }
                None => {
                    let reason = format!("no Python {v} interpreter found");
                    for &i in &run {
                        out.decided.push((
                            i,
                            v,
                            Outcome::decided(Status::Unavailable, reason.clone()),
                        ));
                    }
                    continue;
                }
            };
            let context = first.annotations.context.as_ref().map(|c| {
                first
                    .file
                    .parent()
                    .map_or_else(|| PathBuf::from(c), |d| d.join(c))
            });
            let setup = match (kind, first.annotations.setup) {
                (JobKind::Python, None | Some(true)) => opts.setup.clone(),
                _ => None,
            };
            out.jobs.push(Job {
                page,
                setup,
                files,
                kind,
                network: first.annotations.network,
                context,
                version: v,
                interpreter: interp,
                timeout: run.iter().map(|&i| timeout_of(&examples[i])).sum(),
                members: run
                    .iter()
                    .map(|&i| Member {
                        example: i,
                        code: examples[i].code.clone(),
                        raises: examples[i].annotations.raises.clone(),
                        session: examples[i].session,
                        sphinx: examples[i].session
                            && crate::extract::is_sphinx_doctest(&examples[i].info),
                        args: examples[i].annotations.args.clone().unwrap_or_default(),
                    })
                    .collect(),
            });
        }
    }
    share_identical_jobs(&mut out, examples);
    out
}

/// The order to start `jobs` in ([`crate::run::run_all`]): those that may run until stopped
/// (a server, an endless loop: [`crate::lang::python::may_run_until_stopped`]) first, each
/// often asleep until its timeout, so that they wait beside the others rather than after them
/// (on the FastAPI docs the run otherwise ended with 6 s of idle cores, waiting for a
/// `uvicorn.run` example's timeout); then the rest in plan order.
pub fn start_order(jobs: &[Job]) -> Vec<usize> {
    let long = |j: &Job| {
        j.kind == JobKind::Python
            && j.members
                .iter()
                .any(|m| crate::lang::python::may_run_until_stopped(&m.code))
    };
    let (mut first, rest): (Vec<usize>, Vec<usize>) =
        (0..jobs.len()).partition(|&i| long(&jobs[i]));
    first.extend(rest);
    first
}

/// Runs each lone Python program of included code once per version: a job the same as an
/// earlier one (same code, version, interpreter, timeout, `raises`, network) is dropped, and
/// its example shares the earlier job's result (see [`Plan::shared`]). Only examples with
/// included code are compared: a file included in several places is the case this is for,
/// and a guide's own blocks then cost nothing here.
fn share_identical_jobs(plan: &mut Plan, examples: &[Snippet]) {
    if examples.iter().all(|s| s.sources.is_empty()) {
        return;
    }
    // The code by its BLAKE3 digest, computed once per example (not per version); the
    // interpreter by its path, shared by every job of a version.
    // Then what else the driver is told of the block: its arguments, whether it is a session
    // (and a Sphinx one), whether it is a page.
    type Key = (
        PyVersion,
        String,
        [u8; 32],
        Option<String>,
        Duration,
        bool,
        (Vec<String>, bool, bool, bool),
    );
    let mut digests: BTreeMap<usize, [u8; 32]> = BTreeMap::new();
    let mut first: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    let mut shared = Vec::new();
    plan.jobs.retain(|j| {
        if j.kind != JobKind::Python
            || j.members.len() != 1
            || examples[j.members[0].example].sources.is_empty()
        {
            return true;
        }
        let m = &j.members[0];
        let digest = *digests
            .entry(m.example)
            .or_insert_with(|| *blake3::hash(m.code.as_bytes()).as_bytes());
        let key = (
            j.version,
            j.interpreter.to_string_lossy().into_owned(),
            digest,
            m.raises.clone(),
            j.timeout,
            j.network,
            (m.args.clone(), m.session, m.sphinx, j.page),
        );
        match first.get(&key) {
            Some(&owner) => {
                shared.push((m.example, j.version, owner));
                false
            }
            None => {
                first.insert(key, m.example);
                true
            }
        }
    });
    plan.shared = shared;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_modules_are_the_top_level_names_of_unindented_imports() {
        let code = "import os, items as it\nfrom reigns.sub import x\nfrom . import rel\n    import inner\nimport os\n";
        assert_eq!(imported_modules(code), ["os", "items", "reigns"]);
    }

    fn python(line: usize, code: &str) -> Snippet {
        let mut s = crate::extract::extract(
            std::path::Path::new("g.md"),
            &format!("```python\n{code}```\n"),
        )
        .snippets
        .remove(0);
        s.line = line;
        s.sources = vec![crate::model::Source {
            path: PathBuf::from("src/x.py"),
            md_line: line,
            code_start: 0,
            file_line: 1,
            len: 1,
        }];
        s
    }

    #[test]
    fn identical_lone_programs_run_once_per_version() {
        let examples = vec![
            python(1, "print(1)\n"),
            python(5, "print(2)\n"),
            python(9, "print(1)\n"),
        ];
        let v: Vec<PyVersion> = vec!["3.9".parse().unwrap(), "3.12".parse().unwrap()];
        let sites = Sites {
            base: v
                .iter()
                .map(|&v| (v, Site::Interpreter(PathBuf::from(format!("/py{v}")))))
                .collect(),
            own: BTreeMap::new(),
        };
        let plan = plan(
            &examples,
            &v,
            &sites,
            &Options::python_only(Duration::from_secs(5)),
        );
        assert_eq!(plan.jobs.len(), 4, "two programs on two versions");
        assert_eq!(plan.shared, vec![(2, v[0], 0), (2, v[1], 0)]);
        assert!(plan.jobs.iter().all(|j| j.members[0].example != 2));
    }
}
