//! Helpers shared by the integration tests: run the real binary on real fixtures, with the
//! real interpreters, and make its output stable for snapshots.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// Whether this is a CI run, as docmatrix reads it: `CI` set, and neither empty nor `false` /
/// `0`.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}

/// The one way a test gives up for want of `what` (a container engine, bubblewrap, a tool
/// `.ci/run` installs): call it, then return. Outside CI it says so on stderr; on CI it fails
/// the test, since `.ci/run` installs everything there and a test must not pass by checking
/// nothing.
#[track_caller]
pub fn skip_unless_ci(what: &str) {
    assert!(
        !on_ci(),
        "{what} is missing on CI, where .ci/run installs it: this test would check nothing"
    );
    eprintln!("skipped: {what} is missing here (bash .ci/run installs it)");
}

/// `docmatrix ARGS` in the project root, config files ignored unless a test passes its own.
pub fn docmatrix(args: &[&str]) -> Output {
    docmatrix_in(&root(), args)
}

pub fn docmatrix_in(cwd: &Path, args: &[&str]) -> Output {
    command()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the docmatrix binary runs")
}

/// The `docmatrix` binary with a cache of its own: every invocation starts from an empty
/// result cache (under target/), so that tests never see each other's results or the user's.
pub fn command() -> Command {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = root()
        .join("target/test-cache")
        .join(format!("{}-{n}", std::process::id()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_docmatrix"));
    c.env("XDG_CACHE_HOME", dir).env_remove("NO_COLOR");
    c
}

/// `docmatrix ARGS` in the project root, not yet run: for `insta_cmd::assert_cmd_snapshot!`,
/// which records its success, exit code, stdout and stderr (bind [`stable_cmd`] around it).
pub fn cmd(args: &[&str]) -> Command {
    let mut c = command();
    c.args(args).current_dir(root());
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `validate … --format json` in the project root: (exit status, document).
pub fn validate_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["validate", "--format", "json", "--no-config"];
    all.extend_from_slice(args);
    let out = docmatrix(&all);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap_or(-1), doc)
}

/// The example whose opening fence is at `file:line`.
pub fn example<'a>(doc: &'a Value, file: &str, line: u64) -> &'a Value {
    doc["examples"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|e| {
                e["file"].as_str().is_some_and(|f| f.ends_with(file)) && e["line"] == line
            })
        })
        .unwrap_or_else(|| panic!("no example at {file}:{line} in {doc:#}"))
}

/// The statuses of an example on 3.9, 3.10, 3.11, 3.12, as one string: `fail fail pass pass`.
pub fn statuses(e: &Value) -> String {
    statuses_on(e, &["3.9", "3.10", "3.11", "3.12"])
}

/// The statuses of an example on `versions`, as one string.
pub fn statuses_on(e: &Value, versions: &[&str]) -> String {
    versions
        .iter()
        .map(|v| {
            e["results"][v]["status"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every cell of a JSON report: (the example's line, the version, the result), in order.
pub fn cells(doc: &Value) -> Vec<(u64, &str, &Value)> {
    doc["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| {
            let line = e["line"].as_u64().unwrap_or(0);
            e["results"]
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(v, r)| (line, v.as_str(), r))
        })
        .collect()
}

/// The 1-based line of the first line of `file` containing `needle`.
pub fn line_of(file: &Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(file).expect("fixture readable");
    let idx = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display()));
    idx as u64 + 1
}

/// Insta settings that make run output stable: timings, interpreter paths and patch versions,
/// temporary folders.
pub fn stable() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d+\.\d\ds\n", "[elapsed]\n");
    s.add_filter(r#""duration_ms": \d+"#, r#""duration_ms": "[ms]""#);
    s.add_filter(r"/[^\s'\x22]*/lib/python3\.\d+/", "[stdlib]/");
    s.add_filter(r#""path": "[^"]*""#, r#""path": "[interpreter]""#);
    s.add_filter(r"3\.(9|10|11|12)\.\d+", "3.$1.x");
    s.add_filter(r"/(?:tmp|dev/shm)/docmatrix-[A-Za-z0-9.-]+", "[tmp]");
    // The github format's stop-commands token: a hash of the text it brackets, which holds the
    // interpreters' exact versions.
    s.add_filter(r"docmatrix-[0-9a-f]{32}", "docmatrix-[token]");
    s.add_filter(
        r#""source": "(PATH|pyenv|uv|config)""#,
        r#""source": "[source]""#,
    );
    s.set_snapshot_path(root().join("tests/integration/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// [`stable`] for command snapshots: the command's own cache folder, in the snapshot's
/// metadata, redacted too.
pub fn stable_cmd() -> insta::Settings {
    let mut s = stable();
    s.add_redaction(".env.XDG_CACHE_HOME", "[cache]");
    s
}

/// A folder holding links to only these commands (from /usr/bin or /bin), to stand for a
/// machine without some tool (bwrap, podman) when given as PATH.
pub fn bin_with_only(tools: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for tool in tools {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| PathBuf::from(d).join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is not installed"));
        std::os::unix::fs::symlink(real, dir.path().join(tool)).expect("a symlink");
    }
    dir
}

/// Fails when a process whose command line matches `pattern` (pgrep -f) is still alive.
pub fn assert_no_process(pattern: &str) {
    let ps = std::process::Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .expect("pgrep runs");
    assert!(
        ps.stdout.is_empty(),
        "left behind: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

/// The static findings of a report's example: (Markdown line, severity, source, rule).
pub fn findings_of(e: &Value) -> Vec<(u64, String, String, String)> {
    let text = |f: &Value, k: &str| f[k].as_str().expect("a string field").to_string();
    e["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    let line = f["line"].as_u64().expect("a line");
                    (
                        line,
                        text(f, "severity"),
                        text(f, "source"),
                        text(f, "rule"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The pyenv CPython 3.12 that .ci/run checks for (a fresh machine may have no `python3`).
pub fn python312() -> PathBuf {
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .unwrap_or_default();
    pyenv.join("versions/3.12.1/bin/python3.12")
}
