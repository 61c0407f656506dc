//! Operating-system plumbing: processes and their groups, the sandbox, clean endings, job
//! folders, `PATH` lookups and file stamps. Knows nothing of examples, Markdown or reports.

pub mod container;
pub mod interrupt;
pub mod process;
pub mod sandbox;
#[cfg(target_os = "linux")]
pub(crate) mod seccomp;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where job folders go: a memory file system (`/dev/shm`) when it has room, because creating
/// and removing a job's folder, files and FIFOs there costs a tenth of what it costs on a
/// journaling disk; else the system's temporary folder.
pub(crate) fn job_root() -> Option<PathBuf> {
    static ROOT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    ROOT.get_or_init(find_job_root).clone()
}

fn find_job_root() -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    let c = std::ffi::CString::new("/dev/shm").ok()?;
    // SAFETY: statvfs fills the struct we pass; the path is a valid C string.
    let free = unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut s) == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
    }?;
    let writable = {
        let probe = tempfile::Builder::new()
            .prefix("docmatrix-probe-")
            .tempdir_in(shm);
        probe.is_ok()
    };
    (free > 1 << 30 && writable).then(|| shm.to_path_buf())
}

/// Environment variables passed through to snippets; everything else is dropped.
const PASS_ENV: &[&str] = &["PATH", "LD_LIBRARY_PATH", "SYSTEMROOT", "TZ"];

/// Clears `cmd`'s environment but for [`PASS_ENV`], a UTF-8 locale, and `HOME` and `TMPDIR`
/// inside the job's throwaway folder.
pub(crate) fn set_env(cmd: &mut Command, home: &Path, tmp: &Path) {
    cmd.env_clear();
    for k in PASS_ENV {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    cmd.env("HOME", home)
        .env("TMPDIR", tmp)
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("DOCMATRIX", "1");
}

/// A job's own variables in a container, set over the image's environment (which holds its
/// `PATH`, as the image's users have it): what [`set_env`] sets but the host's `PASS_ENV`.
pub(crate) fn container_env(home: &Path, tmp: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("HOME", home.into()),
        ("TMPDIR", tmp.into()),
        ("LANG", "C.UTF-8".into()),
        ("LC_ALL", "C.UTF-8".into()),
        ("DOCMATRIX", "1".into()),
    ]
}

/// `name` found on `PATH`: the first executable file of that name.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `size:mtime` (nanoseconds) of a file, following links; `None` when it cannot be read. What
/// the caches compare to tell that a binary or a folder changed.
pub(crate) fn file_stamp(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    Some(format!("{}:{}", m.len(), t.map_or(0, |d| d.as_nanos())))
}

/// The last `max` bytes of `s`, cut at a character boundary, without blank lines at either
/// end; the first line keeps its indentation (a syntax error starts with `  File "…"`).
pub(crate) fn tail(s: &str, max: usize) -> String {
    let mut from = s.len().saturating_sub(max);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    let s = s[from..].trim_end();
    let start = s
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|&(_, c)| c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    s[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_first_lines_indentation() {
        assert_eq!(
            tail("\n\n  File \"b.py\", line 1\nSyntaxError: x\n\n", 100),
            "  File \"b.py\", line 1\nSyntaxError: x"
        );
        assert_eq!(tail(" \n \t\n", 100), "");
        assert_eq!(tail("abcdef\n", 3), "ef");
        assert_eq!(tail("é", 1), "");
    }
}
