//! Static checkers (`bash -n`, `sh -n`, `zsh -n`, shellcheck, hadolint) run on one file in a
//! scratch folder of their own, their output served from the result cache when nothing that
//! can change it has changed: a re-run of an unchanged guide starts none of them.
//!
//! A checker's output depends on the program (its real path, size and modification time), its
//! arguments, the checked file's name and text, and the configuration the tool reads by itself:
//! the environment variables and files of [`Kind::config`]. All of these go into the key. An
//! output is stored only when the checker exited by itself: a timeout, a signal or a checker
//! that could not start is never stored, and is tried again on the next run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cache::{Cache, ToolOutput};
use crate::sys::process::{self, Exit, Limits};

/// Which checker, for the configuration it reads on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bash -n`, `sh -n`, `zsh -n`.
    Shell,
    Shellcheck,
    Hadolint,
}

impl Kind {
    /// The environment variables (exact names, or prefixes ending in `_`) and the files that
    /// change what the checker reports, besides its arguments and input.
    fn config(self) -> (&'static [&'static str], Vec<PathBuf>) {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        let under = |base: &Option<PathBuf>, names: &[&str]| -> Vec<PathBuf> {
            base.iter()
                .flat_map(|b| names.iter().map(move |n| b.join(n)))
                .collect()
        };
        match self {
            Kind::Shell => (&["BASH_ENV", "ENV"], Vec::new()),
            Kind::Shellcheck => {
                // shellcheck also looks for `.shellcheckrc` in the checked file's folder and
                // its parents: the scratch folders' parents.
                let mut files = under(&home, &[".shellcheckrc"]);
                files.extend(under(&xdg, &["shellcheckrc"]));
                let root = crate::sys::job_root().unwrap_or_else(std::env::temp_dir);
                files.extend(root.ancestors().map(|d| d.join(".shellcheckrc")));
                (&["SHELLCHECK_"], files)
            }
            Kind::Hadolint => {
                let mut files = under(&xdg, &["hadolint.yaml"]);
                files.extend(under(
                    &home,
                    &[
                        ".hadolint.yaml",
                        ".hadolint/hadolint.yaml",
                        "hadolint/hadolint.yaml",
                    ],
                ));
                (&["HADOLINT_"], files)
            }
        }
    }
}

/// One run of a checker on one file.
pub(crate) struct Check<'a> {
    pub kind: Kind,
    pub program: &'a Path,
    /// The arguments, the checked file's name among them (it runs in the scratch folder).
    pub args: &'a [&'a str],
    /// The checked file's name in the scratch folder, and its text.
    pub file: &'a str,
    pub text: &'a str,
    pub timeout: Duration,
}

/// What a checker run gave: how it ended, what it printed, and whether it came from the cache.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub stdout: String,
    pub stderr: String,
    pub cached: bool,
}

impl Check<'_> {
    /// The cache key of this run: a hex BLAKE3 hash.
    pub fn key(&self) -> String {
        let mut key = crate::cache::Key::default();
        let mut field = |s: &[u8]| key.field(s);
        field(b"docmatrix-tool-1");
        field(env!("CARGO_PKG_VERSION").as_bytes());
        let real = std::fs::canonicalize(self.program).unwrap_or_else(|_| self.program.into());
        field(real.as_os_str().as_encoded_bytes());
        field(crate::sys::file_stamp(&real).unwrap_or_default().as_bytes());
        field(&(self.args.len() as u64).to_le_bytes());
        for a in self.args {
            field(a.as_bytes());
        }
        field(self.file.as_bytes());
        field(self.text.as_bytes());
        let (vars, files) = self.kind.config();
        let mut env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
            .filter(|(k, _)| {
                vars.iter().any(|&n| {
                    if n.ends_with('_') {
                        k.starts_with(n)
                    } else {
                        k == n
                    }
                })
            })
            .collect();
        env.sort();
        for (k, v) in &env {
            field(k.as_bytes());
            field(v.as_bytes());
        }
        for f in &files {
            if let Ok(bytes) = std::fs::read(f) {
                field(f.as_os_str().as_encoded_bytes());
                field(&bytes);
            }
        }
        key.hex()
    }

    /// Runs the checker, or serves its output from `cache`. `Err` when it could not start.
    pub fn run(&self, cache: Option<&Cache>) -> Result<Outcome, String> {
        let key = cache.map(|_| self.key());
        if let (Some(c), Some(k)) = (cache, &key) {
            if let Some(out) = c.load_tool(k) {
                return Ok(Outcome {
                    exit: Exit::Code(out.code),
                    stdout: out.stdout,
                    stderr: out.stderr,
                    cached: true,
                });
            }
        }
        let scratch = scratch_dir()?;
        let path = scratch.path().join(self.file);
        std::fs::write(&path, self.text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut cmd = Command::new(self.program);
        cmd.args(self.args).current_dir(scratch.path());
        let limits = Limits {
            timeout: self.timeout,
            output_cap: 256 * 1024,
            ..Limits::default()
        };
        let rec = process::run(&mut cmd, &limits)
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let out = Outcome {
            exit: rec.exit,
            stdout: rec.stdout.text(),
            stderr: rec.stderr.text(),
            cached: false,
        };
        if let (Some(c), Some(k), Exit::Code(code)) = (cache, &key, out.exit) {
            c.store_tool(
                k,
                &ToolOutput {
                    code,
                    stdout: out.stdout.clone(),
                    stderr: out.stderr.clone(),
                },
            );
        }
        Ok(out)
    }
}

fn scratch_dir() -> Result<tempfile::TempDir, String> {
    let mut b = tempfile::Builder::new();
    b.prefix("docmatrix-check-");
    match crate::sys::job_root() {
        Some(root) => b.tempdir_in(root),
        None => b.tempdir(),
    }
    .map_err(|e| format!("cannot make a scratch folder: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A checker standing in for a real one: counts its starts in `runs`, prints the checked
    /// file, and ends as `end` says (`exit 3`, `sleep 5`, `kill -9 $$`).
    fn program(dir: &Path, end: &str) -> PathBuf {
        let p = dir.join("checker");
        let runs = dir.join("runs");
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho x >> '{}'\ncat \"$1\"\necho warn >&2\n{end}\n",
                runs.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn runs(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("runs")).map_or(0, |s| s.lines().count())
    }

    fn check<'a>(program: &'a Path, text: &'a str) -> Check<'a> {
        Check {
            kind: Kind::Shell,
            program,
            args: &["f.sh"],
            file: "f.sh",
            text,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn an_output_is_served_until_the_text_or_the_program_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let prog = program(dir.path(), "exit 3");
        let first = check(&prog, "echo one\n").run(Some(&cache)).unwrap();
        assert_eq!(
            (&first.exit, first.stdout.as_str(), first.stderr.as_str()),
            (&Exit::Code(3), "echo one\n", "warn\n")
        );
        assert!(!first.cached);
        let again = check(&prog, "echo one\n").run(Some(&cache)).unwrap();
        assert!(again.cached);
        assert_eq!(
            (again.exit, again.stdout, again.stderr),
            (first.exit, first.stdout, first.stderr)
        );
        assert_eq!(runs(dir.path()), 1, "served without starting it");

        // Another text, and the same text in a new run of docmatrix (a cache read from disk).
        assert!(!check(&prog, "echo two\n").run(Some(&cache)).unwrap().cached);
        let reread = Cache::new(dir.path().join("cache"));
        assert!(
            check(&prog, "echo one\n")
                .run(Some(&reread))
                .unwrap()
                .cached
        );
        assert_eq!(runs(dir.path()), 2);

        // The program changed (a new version installed): run again.
        program(dir.path(), "exit 4");
        let changed = check(&prog, "echo one\n").run(Some(&reread)).unwrap();
        assert_eq!((changed.exit, changed.cached), (Exit::Code(4), false));
        assert_eq!(runs(dir.path()), 3);

        // No cache: always run.
        assert!(!check(&prog, "echo one\n").run(None).unwrap().cached);
        assert_eq!(runs(dir.path()), 4);
    }

    #[test]
    fn timeouts_and_signals_are_never_stored() {
        for end in ["sleep 5", "kill -9 $$"] {
            let dir = tempfile::tempdir().unwrap();
            let cache = Cache::new(dir.path().join("cache"));
            let prog = program(dir.path(), end);
            let mut c = check(&prog, "echo one\n");
            c.timeout = Duration::from_millis(300);
            let first = c.run(Some(&cache)).unwrap();
            assert!(
                matches!(first.exit, Exit::TimedOut | Exit::Signal(_)),
                "{end}: {first:?}"
            );
            let second = c.run(Some(&cache)).unwrap();
            assert!(!second.cached, "{end}: {second:?}");
            assert_eq!(runs(dir.path()), 2, "{end}: started again");
        }
    }

    #[test]
    fn the_key_covers_what_the_checker_reads_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let prog = program(dir.path(), "exit 0");
        let base = check(&prog, "echo one\n");
        let key = base.key();
        assert_eq!(key, check(&prog, "echo one\n").key(), "stable");
        let mut other = check(&prog, "echo one\n");
        other.args = &["-x", "f.sh"];
        assert_ne!(other.key(), key, "the arguments");
        let mut other = check(&prog, "echo one\n");
        other.file = "g.sh";
        assert_ne!(other.key(), key, "the file's name");
        // What each checker reads by itself (the integration test `cache.rs` changes
        // SHELLCHECK_OPTS and sees shellcheck run again).
        let (vars, files) = Kind::Shellcheck.config();
        assert_eq!(vars, ["SHELLCHECK_"]);
        assert!(files.iter().any(|f| f.ends_with(".shellcheckrc")));
        let (vars, files) = Kind::Hadolint.config();
        assert_eq!(vars, ["HADOLINT_"]);
        assert!(files.iter().any(|f| f.ends_with("hadolint.yaml")));
    }
}
