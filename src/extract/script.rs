//! Inline script metadata (PEP 723): a Python example can declare what it needs in a comment
//! block, as `uv run` and `pipx run` read it:
//!
//! ```text
//! # /// script
//! # requires-python = ">=3.11"
//! # dependencies = ["httpx", "rich>=13"]
//! # ///
//! ```
//!
//! The block is read as the PEP's reference implementation reads it: a `# /// TYPE` line, then
//! lines that are `#` alone or `# ` and text, up to a `# ///` line; the text is TOML.

use serde::Deserialize;

/// What a `script` metadata block declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// PEP 508 requirements.
    pub dependencies: Vec<String>,
    /// `requires-python`, as written.
    pub requires_python: Option<String>,
    /// The 1-based code line of the block's `# /// script` line.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Toml {
    #[serde(default)]
    dependencies: Vec<String>,
    requires_python: Option<String>,
    /// Tools' own tables (`[tool.uv]`) are theirs.
    #[serde(default)]
    #[allow(dead_code)]
    tool: Option<toml::Table>,
}

/// The `script` metadata block of `code`, if it has one. `Err((line, message))` for a block
/// that is not valid: unclosed, two of them, or TOML that does not say what the PEP says.
pub fn read(code: &str) -> Result<Option<Script>, (usize, String)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut found: Option<Script> = None;
    let mut i = 0;
    while i < lines.len() {
        let Some(kind) = lines[i].strip_prefix("# /// ") else {
            i += 1;
            continue;
        };
        let kind = kind.trim_end();
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            i += 1;
            continue;
        }
        let start = i;
        // The block ends at the last `# ///` line before a line that is not a comment.
        let mut end = None;
        let mut j = i + 1;
        while j < lines.len() {
            let l = lines[j].trim_end();
            if l == "# ///" {
                end = Some(j);
            } else if !(l == "#" || l.starts_with("# ")) {
                break;
            }
            j += 1;
        }
        let Some(end) = end else {
            return Err((
                start + 1,
                format!("`# /// {kind}` has no closing `# ///` line"),
            ));
        };
        if kind == "script" {
            if found.is_some() {
                return Err((start + 1, "a second `# /// script` block".into()));
            }
            let toml_text: String = lines[start + 1..end]
                .iter()
                .map(|l| {
                    let l = l.trim_end();
                    l.strip_prefix("# ")
                        .unwrap_or(l.strip_prefix('#').unwrap_or(l))
                })
                .collect::<Vec<_>>()
                .join("\n");
            let parsed: Toml = toml::from_str(&toml_text).map_err(|e| {
                (
                    start + 1,
                    format!("`# /// script`: {}", e.message().trim_end()),
                )
            })?;
            found = Some(Script {
                dependencies: parsed.dependencies,
                requires_python: parsed.requires_python,
                line: start + 1,
            });
        }
        i = end + 1;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_block_gives_dependencies_and_python() {
        let code = "import httpx\n# /// script\n# requires-python = \">=3.11\"\n# dependencies = [\n#   \"httpx\",\n#   \"rich>=13\",\n# ]\n# ///\nprint(1)\n";
        let s = read(code).unwrap().unwrap();
        assert_eq!(s.dependencies, ["httpx", "rich>=13"]);
        assert_eq!(s.requires_python.as_deref(), Some(">=3.11"));
        assert_eq!(s.line, 2);
    }

    #[test]
    fn other_blocks_and_plain_comments_are_not_metadata() {
        assert_eq!(read("# ///\n# just a comment\nx = 1\n").unwrap(), None);
        assert_eq!(read("# /// pyproject\n# x = 1\n# ///\n").unwrap(), None);
        // Tools' tables are allowed.
        let s = read("# /// script\n# dependencies = []\n# [tool.uv]\n# exclude-newer = \"2024-01-01T00:00:00Z\"\n# ///\n")
            .unwrap()
            .unwrap();
        assert!(s.dependencies.is_empty() && s.requires_python.is_none());
    }

    #[test]
    fn broken_blocks_are_errors_at_their_line() {
        let (line, m) =
            read("x = 1\n# /// script\n# dependencies = [\"a\"]\nprint()\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(m.contains("closing"), "{m}");
        let (line, m) = read("# /// script\n# dependencies = \"httpx\"\n# ///\n").unwrap_err();
        assert_eq!(line, 1);
        assert!(m.contains("script"), "{m}");
        let (_, m) = read("# /// script\n# depends = []\n# ///\n").unwrap_err();
        assert!(m.contains("depends"), "{m}");
        // Two blocks apart: the second is an error at its line.
        let two = "# /// script\n# dependencies = []\n# ///\nx = 1\n# /// script\n# ///\n";
        assert_eq!(
            read(two).unwrap_err(),
            (5, "a second `# /// script` block".to_string())
        );
    }
}
