//! Reading the docs: the Markdown files found, extracted in parallel with their includes
//! expanded, into one [`Corpus`] of snippets and diagnostics. A file that cannot be read is a
//! diagnostic, never the end of the run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::error::Error;
use crate::model::{Diagnostic, Lang, Snippet, Unread};
use crate::{discover, extract, include};

/// What reading the files gave: every snippet (sorted by file and line) and the diagnostics.
#[derive(Debug, Default)]
pub struct Corpus {
    pub files: Vec<PathBuf>,
    pub snippets: Vec<Snippet>,
    pub warnings: Vec<Diagnostic>,
    pub errors: Vec<Diagnostic>,
    /// Code a reader sees that is not a fenced block docmatrix reads (see [`Unread`]).
    pub unread: Vec<Unread>,
}

impl Corpus {
    pub fn python(&self) -> impl Iterator<Item = &Snippet> {
        self.snippets.iter().filter(|s| s.lang == Lang::Python)
    }

    /// The blocks docmatrix checks: Python, shell, sessions, Dockerfiles.
    pub fn checked(&self) -> impl Iterator<Item = &Snippet> {
        self.snippets.iter().filter(|s| s.lang.is_checked())
    }

    /// Moves the checked blocks out, in order (see [`Corpus::checked`]); the others stay.
    pub fn take_checked(&mut self) -> Vec<Snippet> {
        let n = self.snippets.iter().filter(|s| s.lang.is_checked()).count();
        let all = std::mem::take(&mut self.snippets);
        let mut checked = Vec::with_capacity(n);
        let mut others = Vec::with_capacity(all.len() - n);
        for s in all {
            if s.lang.is_checked() {
                checked.push(s);
            } else {
                others.push(s);
            }
        }
        self.snippets = others;
        checked
    }

    /// Counts of the blocks that are not checked, by language.
    pub fn other_blocks(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for s in self.snippets.iter().filter(|s| !s.lang.is_checked()) {
            *m.entry(s.lang.name().to_string()).or_default() += 1;
        }
        m
    }

    /// Every block a reader sees that is not checked, with its reason, in file and line
    /// order: the blocks of other languages (`language json`) and the code that is not a
    /// fence (`indented code block`).
    pub fn unchecked(&self) -> Vec<Unread> {
        let mut all: Vec<Unread> = self
            .snippets
            .iter()
            .filter_map(|s| {
                s.unchecked_reason().map(|reason| Unread {
                    file: s.file.clone(),
                    line: s.line,
                    reason,
                })
            })
            .chain(self.unread.iter().cloned())
            .collect();
        all.sort();
        all
    }

    /// [`Corpus::unchecked`], counted by reason.
    pub fn not_checked(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for u in self.unchecked() {
            *m.entry(u.reason).or_default() += 1;
        }
        m
    }
}

/// Finds the files of `config` and extracts their snippets, in parallel. A file that cannot
/// be read or decoded is an error in the corpus; the others are still read.
pub fn load(config: &Config) -> Result<Corpus, Error> {
    let discovered = discover::discover(
        &config.inputs.paths,
        &config.inputs.exclude,
        config.inputs.respect_gitignore,
    )?;
    let files = discovered.files;
    let cwd = std::env::current_dir().unwrap_or_default();
    let includes = include::Includes::new(&config.include_root(&cwd), &config.inputs.include_bases);
    let per_file: Vec<Result<extract::Extracted, Box<Diagnostic>>> =
        files.par_iter().map(|f| read_one(f, &includes)).collect();
    let mut corpus = Corpus {
        files,
        warnings: discovered.warnings,
        ..Default::default()
    };
    let found: usize = per_file
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|x| x.snippets.len())
        .sum();
    corpus.snippets.reserve_exact(found);
    let mut pending = Vec::new();
    let walked = std::mem::take(&mut corpus.files);
    add_extracted(&mut corpus, &walked, per_file, &mut pending);
    corpus.files = walked;

    // Markdown files included outside fences (`{!notes.md!}`): their blocks are on the page.
    // Each is read once, unless it is walked anyway; nested ones are followed a few levels.
    if !pending.is_empty() {
        let real_cwd = std::fs::canonicalize(&cwd).unwrap_or_else(|_| cwd.clone());
        let mut seen: std::collections::BTreeSet<PathBuf> = corpus
            .files
            .iter()
            .filter_map(|f| std::fs::canonicalize(f).ok())
            .collect();
        for _ in 0..8 {
            if pending.is_empty() {
                break;
            }
            let mut more = Vec::new();
            for (md, line, written) in std::mem::take(&mut pending) {
                match includes.resolve(&md, &written) {
                    Ok(real) => {
                        if seen.insert(real.clone()) {
                            let shown = real
                                .strip_prefix(&real_cwd)
                                .map_or_else(|_| real.clone(), Path::to_path_buf);
                            more.push(shown);
                        }
                    }
                    Err(e) => corpus.errors.push(Diagnostic::error(&md, Some(line), e)),
                }
            }
            let read: Vec<Result<extract::Extracted, Box<Diagnostic>>> =
                more.par_iter().map(|f| read_one(f, &includes)).collect();
            add_extracted(&mut corpus, &more, read, &mut pending);
            corpus.files.extend(more);
        }
        corpus.files.sort();
        corpus
            .snippets
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        corpus.unread.sort();
    }
    // Files the config puts in page mode, unless a block or the file says otherwise.
    for s in &mut corpus.snippets {
        if s.annotations.page.is_none() && discover::matches(&s.file, &config.inputs.pages) {
            s.annotations.page = Some(true);
        }
    }
    if corpus.files.is_empty() {
        let roots: Vec<String> = config
            .inputs
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        corpus.warnings.push(Diagnostic::warning(
            roots.join(", "),
            None,
            "no Markdown files (.md, .markdown) found",
        ));
    }
    Ok(corpus)
}

/// Reads and extracts one Markdown file, its includes expanded. A block that is one include
/// line docmatrix cannot read is counted (`unknown include syntax`), not run.
fn read_one(f: &Path, includes: &include::Includes) -> Result<extract::Extracted, Box<Diagnostic>> {
    let bytes =
        std::fs::read(f).map_err(|e| Box::new(Diagnostic::error(f, None, e.to_string())))?;
    let text =
        extract::decode(bytes).map_err(|(l, e)| Box::new(Diagnostic::error(f, Some(l), e)))?;
    let mut x = extract::extract(f, &text);
    let (unknown, mut snippets): (Vec<Snippet>, Vec<Snippet>) = x
        .snippets
        .into_iter()
        .partition(|s| s.lang.is_checked() && include::unknown_syntax(&s.code));
    x.unread.extend(unknown.into_iter().map(|s| Unread {
        file: s.file,
        line: s.line,
        reason: "unknown include syntax".into(),
    }));
    for s in snippets.iter_mut().filter(|s| s.lang.is_checked()) {
        if let Err(e) = includes.expand(s) {
            s.include_error = Some(e);
        }
        // Inline script metadata is read from the code as it runs, includes expanded.
        if s.lang == Lang::Python {
            if let Some((line, message)) = extract::declare_script(s) {
                x.warnings.push(Diagnostic::warning(f, Some(line), message));
            }
        }
    }
    x.snippets = snippets;
    Ok(x)
}

/// Adds what `files` gave to `corpus`; their Markdown includes go to `pending`.
fn add_extracted(
    corpus: &mut Corpus,
    files: &[PathBuf],
    read: Vec<Result<extract::Extracted, Box<Diagnostic>>>,
    pending: &mut Vec<(PathBuf, usize, String)>,
) {
    for (f, r) in files.iter().zip(read) {
        match r {
            Ok(x) => {
                corpus.snippets.extend(x.snippets);
                corpus.warnings.extend(x.warnings);
                corpus.unread.extend(x.unread);
                pending.extend(
                    x.markdown_includes
                        .into_iter()
                        .map(|(line, path)| (f.clone(), line, path)),
                );
            }
            Err(d) => corpus.errors.push(*d),
        }
    }
}
