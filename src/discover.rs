//! Paths → the Markdown files to read, in a sorted, deterministic order.
//!
//! Below the given roots, skips what is not docs: hidden files and folders, what the ignore
//! files leave out (`.gitignore` at every level, `.ignore`, `.git/info/exclude`, the global
//! excludes file: the rules ripgrep follows, by the `ignore` crate; turned off by
//! `respect-gitignore = false` / `--no-ignore`), build output (a folder tagged with a
//! `CACHEDIR.TAG`, as cargo's `target/` is), `node_modules` and installed packages, and
//! whatever matches an exclude glob. A root named on the command line is always read. A folder
//! that cannot be read, or a symbolic link loop, is a warning naming it; the walk goes on.
//! Must not know Markdown.

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use ignore::WalkBuilder;

use crate::error::Error;
use crate::model::Diagnostic;

/// Folders that never hold docs, whatever the ignore files say.
const SKIPPED_DIRS: &[&str] = &["node_modules", "__pycache__", "site-packages"];

/// The first bytes of a `CACHEDIR.TAG` file (the Cache Directory Tagging Specification,
/// <https://bford.info/cachedir/>): the folder holding it is a cache or build output.
const CACHEDIR_SIGNATURE: &[u8; 43] = b"Signature: 8a477f597d28d172789f06886806bc55";

/// What walking the roots found: the Markdown files, sorted, and the folders and links that
/// could not be walked.
#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<PathBuf>,
    pub warnings: Vec<Diagnostic>,
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// Whether `path` (as walked) matches one of the patterns of `set` (`exclude`, `pages`).
pub(crate) fn matches(path: &Path, set: &GlobSet) -> bool {
    let clean = path.strip_prefix("./").unwrap_or(path);
    set.is_match(clean)
}

/// Whether `dir` holds a `CACHEDIR.TAG` that starts with the standard signature.
fn tagged_cache(dir: &Path) -> bool {
    let mut head = [0u8; CACHEDIR_SIGNATURE.len()];
    std::fs::File::open(dir.join("CACHEDIR.TAG"))
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == CACHEDIR_SIGNATURE)
}

/// The error for a root that cannot be read: a missing one says so plainly.
fn root_error(root: &Path, e: &std::io::Error) -> Error {
    let message = if e.kind() == std::io::ErrorKind::NotFound {
        "no such file or folder".to_string()
    } else {
        e.to_string()
    };
    Error::Path {
        path: root.to_path_buf(),
        message,
    }
}

/// One warning per problem in `err` (a walk error, or an ignore file's), naming the path.
fn warnings_of(
    err: &ignore::Error,
    path: Option<&Path>,
    line: Option<usize>,
    root: &Path,
) -> Vec<Diagnostic> {
    use ignore::Error as E;
    let at = |p: Option<&Path>| p.unwrap_or(root).to_path_buf();
    match err {
        E::Partial(all) => all
            .iter()
            .flat_map(|e| warnings_of(e, path, line, root))
            .collect(),
        E::WithDepth { err, .. } => warnings_of(err, path, line, root),
        E::WithLineNumber { line, err } => {
            warnings_of(err, path, usize::try_from(*line).ok(), root)
        }
        E::WithPath { path, err } => warnings_of(err, Some(path), line, root),
        E::Loop { ancestor, child } => vec![Diagnostic::warning(
            child,
            None,
            format!(
                "skipped: a symbolic link loop (back to {})",
                ancestor.display()
            ),
        )],
        E::Io(e) => {
            // A walk error holds walkdir's, whose text repeats the path: say only the cause.
            let cause = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<walkdir::Error>())
                .and_then(walkdir::Error::io_error)
                .unwrap_or(e);
            vec![Diagnostic::warning(
                at(path),
                line,
                format!("skipped: {cause}"),
            )]
        }
        other => vec![Diagnostic::warning(at(path), line, other.to_string())],
    }
}

/// The walk of the folder `root` (sorted by name per folder): entries or errors.
fn walk(root: &Path, exclude: &GlobSet, ignore_files: bool) -> ignore::Walk {
    let exclude = exclude.clone();
    WalkBuilder::new(root)
        .follow_links(true)
        .hidden(true)
        .parents(ignore_files)
        .ignore(ignore_files)
        .git_ignore(ignore_files)
        .git_exclude(ignore_files)
        .git_global(ignore_files)
        .sort_by_file_name(Ord::cmp)
        .filter_entry(move |e| {
            if matches(e.path(), &exclude) {
                return false;
            }
            if !e.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !(SKIPPED_DIRS.contains(&name.as_ref()) || tagged_cache(e.path()))
        })
        .build()
}

/// The Markdown files under the folder `root`, in walking order, and the warnings.
fn markdown_under<'a>(
    root: &'a Path,
    exclude: &GlobSet,
    ignore_files: bool,
) -> impl Iterator<Item = Result<PathBuf, Vec<Diagnostic>>> + 'a {
    walk(root, exclude, ignore_files).filter_map(move |entry| match entry {
        Err(e) => Some(Err(warnings_of(&e, None, None, root))),
        Ok(entry) => {
            if let Some(e) = entry.error() {
                return Some(Err(warnings_of(e, None, None, root)));
            }
            (entry.file_type().is_some_and(|t| t.is_file()) && is_markdown(entry.path()))
                .then(|| Ok(entry.into_path()))
        }
    })
}

/// Finds the Markdown files under `roots`, skipping the ignored files unless `ignore_files` is
/// off. A root that is a file is taken whatever its name; a root that does not exist is an
/// error; a folder below a root that cannot be walked is a warning.
pub fn discover(roots: &[PathBuf], exclude: &GlobSet, ignore_files: bool) -> Result<Found, Error> {
    let mut found = Found::default();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| root_error(root, &e))?;
        if meta.is_file() {
            found.files.push(root.clone());
            continue;
        }
        std::fs::read_dir(root).map_err(|e| root_error(root, &e))?;
        for f in markdown_under(root, exclude, ignore_files) {
            match f {
                Ok(f) => found.files.push(f),
                Err(w) => found.warnings.extend(w),
            }
        }
    }
    found.files.sort();
    found.files.dedup();
    Ok(found)
}

/// The roots that yield no Markdown file at all (an empty folder, one whose files are all
/// excluded or ignored); stops walking a folder at its first Markdown file. A root that does
/// not exist or cannot be read is an error naming it.
pub fn empty_roots(
    roots: &[PathBuf],
    exclude: &GlobSet,
    ignore_files: bool,
) -> Result<Vec<PathBuf>, Error> {
    let mut empty = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| root_error(root, &e))?;
        if meta.is_file() {
            continue;
        }
        std::fs::read_dir(root).map_err(|e| root_error(root, &e))?;
        if !markdown_under(root, exclude, ignore_files).any(|f| f.is_ok()) {
            empty.push(root.clone());
        }
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use globset::{Glob, GlobSetBuilder};

    #[test]
    fn walks_sorted_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "b.md",
            "a.markdown",
            "notes.txt",
            "sub/c.MD",
            ".hidden/x.md",
            "node_modules/y.md",
            "target/z.md",
            "drafts/d.md",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let mut b = GlobSetBuilder::new();
        b.add(Glob::new("**/drafts").unwrap());
        let found = discover(&[root.to_path_buf()], &b.clone().build().unwrap(), true).unwrap();
        let names: Vec<_> = found
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.markdown", "b.md", "sub/c.MD", "target/z.md"]);
        let missing = discover(&[root.join("missing")], &GlobSet::empty(), true).unwrap_err();
        assert!(
            missing
                .to_string()
                .ends_with("missing: no such file or folder"),
            "{missing}"
        );

        let set = b.build().unwrap();
        std::fs::create_dir_all(root.join("empty/.hidden")).unwrap();
        std::fs::write(root.join("empty/.hidden/x.md"), "x").unwrap();
        std::fs::write(root.join("empty/notes.txt"), "x").unwrap();
        let roots = [
            root.to_path_buf(),
            root.join("empty"),
            root.join("notes.txt"),
        ];
        assert_eq!(
            empty_roots(&roots, &set, true).unwrap(),
            vec![root.join("empty")]
        );
        assert!(empty_roots(&[root.join("missing")], &set, true).is_err());
    }

    fn names(root: &Path, ignore_files: bool) -> (Vec<String>, Vec<String>) {
        let found = discover(&[root.to_path_buf()], &GlobSet::empty(), ignore_files).unwrap();
        let rel = |p: &Path| p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        (
            found.files.iter().map(|p| rel(p)).collect(),
            found
                .warnings
                .iter()
                .map(|d| format!("{}: {}", rel(&d.file), d.message))
                .collect(),
        )
    }

    #[test]
    fn ignore_files_build_output_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (f, text) in [
            (".gitignore", "ignored/\n*.draft.md\n"),
            ("docs/sub/.gitignore", "local.md\n"),
            ("docs/a.md", "x"),
            ("docs/b.draft.md", "x"),
            ("docs/ignored/c.md", "x"),
            ("docs/sub/local.md", "x"),
            ("docs/sub/kept.md", "x"),
            ("docs/target/guide.md", "x"),
            (
                "docs/build/CACHEDIR.TAG",
                "Signature: 8a477f597d28d172789f06886806bc55\n# made by a tool\n",
            ),
            ("docs/build/out.md", "x"),
            ("docs/notcache/CACHEDIR.TAG", "Signature: something else\n"),
            ("docs/notcache/d.md", "x"),
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        // `.gitignore` files count in a repository only, as for git and ripgrep.
        std::fs::create_dir(root.join(".git")).unwrap();
        std::os::unix::fs::symlink("..", root.join("docs/sub/loop")).unwrap();
        let loop_warning = "docs/sub/loop: skipped: a symbolic link loop (back to ".to_string();
        let (files, warnings) = names(root, true);
        assert_eq!(
            files,
            vec![
                "docs/a.md",
                "docs/notcache/d.md",
                "docs/sub/kept.md",
                "docs/target/guide.md"
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with(&loop_warning), "{warnings:?}");
        let (files, warnings) = names(root, false);
        assert_eq!(
            files,
            vec![
                "docs/a.md",
                "docs/b.draft.md",
                "docs/ignored/c.md",
                "docs/notcache/d.md",
                "docs/sub/kept.md",
                "docs/sub/local.md",
                "docs/target/guide.md"
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // A root is read even when it is ignored or build output.
        let found = discover(&[root.join("docs/build")], &GlobSet::empty(), true).unwrap();
        assert_eq!(found.files, vec![root.join("docs/build/out.md")]);
        let ignored = [root.join("docs/ignored")];
        assert!(empty_roots(&ignored, &GlobSet::empty(), true)
            .unwrap()
            .is_empty());
    }
}
