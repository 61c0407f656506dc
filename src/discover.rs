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

/// Finds the Markdown files under `roots`. A root that is a file is taken whatever its name;
/// a root that does not exist is an error.
pub fn discover(roots: &[PathBuf], exclude: &GlobSet) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| Error::Path {
            path: root.clone(),
            message: e.to_string(),
        })?;
        if meta.is_file() {
            files.push(root.clone());
            continue;
        }
        let walker = WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.depth() == 0 || !e.file_type().is_dir() {
                    return true;
                }
                let name = e.file_name().to_string_lossy();
                !(name.starts_with('.')
                    || SKIPPED_DIRS.contains(&name.as_ref())
                    || excluded(e.path(), exclude))
            });
        for entry in walker {
            let entry = entry.map_err(|e| Error::Path {
                path: e.path().map_or_else(|| root.clone(), Path::to_path_buf),
                message: e.to_string(),
            })?;
            let path = entry.path();
            if entry.file_type().is_file() && is_markdown(path) && !excluded(path, exclude) {
                files.push(path.to_path_buf());
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
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
        let files = discover(&[root.to_path_buf()], &b.build().unwrap()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.markdown", "b.md", "sub/c.MD"]);
        assert!(discover(&[root.join("missing")], &GlobSet::empty()).is_err());
    }
}
