//! Paths → the Markdown files to read, in a sorted, deterministic order.
//!
//! Skips `.git`, `target`, `node_modules` and hidden folders below the given roots, and
//! whatever matches an exclude glob. Must not know Markdown.

use std::path::{Path, PathBuf};

use globset::GlobSet;
use walkdir::WalkDir;

use crate::error::Error;

const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "__pycache__", "site-packages"];

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

fn excluded(path: &Path, exclude: &GlobSet) -> bool {
    let clean = path.strip_prefix("./").unwrap_or(path);
    exclude.is_match(clean)
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

/// The Markdown files under the folder `root`, in walking order (sorted by name per folder).
fn walk<'a>(
    root: &'a Path,
    exclude: &'a GlobSet,
) -> impl Iterator<Item = Result<PathBuf, Error>> + 'a {
    WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !(name.starts_with('.')
                || SKIPPED_DIRS.contains(&name.as_ref())
                || excluded(e.path(), exclude))
        })
        .filter_map(move |entry| match entry {
            Err(e) => Some(Err(Error::Path {
                path: e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf),
                message: e.to_string(),
            })),
            Ok(entry) => {
                let path = entry.path();
                (entry.file_type().is_file() && is_markdown(path) && !excluded(path, exclude))
                    .then(|| Ok(path.to_path_buf()))
            }
        })
}

/// Finds the Markdown files under `roots`. A root that is a file is taken whatever its name;
/// a root that does not exist is an error.
pub fn discover(roots: &[PathBuf], exclude: &GlobSet) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| root_error(root, &e))?;
        if meta.is_file() {
            files.push(root.clone());
            continue;
        }
        for f in walk(root, exclude) {
            files.push(f?);
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The roots that yield no Markdown file at all (an empty folder, one whose files are all
/// excluded); stops walking a folder at its first Markdown file. A root that does not exist
/// or cannot be read is an error naming it.
pub fn empty_roots(roots: &[PathBuf], exclude: &GlobSet) -> Result<Vec<PathBuf>, Error> {
    let mut empty = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| root_error(root, &e))?;
        if meta.is_file() {
            continue;
        }
        match walk(root, exclude).next() {
            Some(Err(e)) => return Err(e),
            Some(Ok(_)) => {}
            None => empty.push(root.clone()),
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
        let files = discover(&[root.to_path_buf()], &b.clone().build().unwrap()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.markdown", "b.md", "sub/c.MD"]);
        let missing = discover(&[root.join("missing")], &GlobSet::empty()).unwrap_err();
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
        assert_eq!(empty_roots(&roots, &set).unwrap(), vec![root.join("empty")]);
        assert!(empty_roots(&[root.join("missing")], &set).is_err());
    }
}
