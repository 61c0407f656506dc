//! Examples that attack the machine they run on (fixtures/hostile/escape.md): each attack
//! fails, in both isolation modes, and the machine is as it was. Decoy secrets (a key in the
//! home folder, a token in the checkout's `.git/config`) are checked by hash before and after,
//! and their text never reaches a report.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

struct Scene {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    cache: tempfile::TempDir,
    key: PathBuf,
    git_config: PathBuf,
    mark: String,
    sleep: String,
    secrets: Vec<String>,
}

fn scene(tag: &str) -> Scene {
    let repo = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let id = format!("{}-{tag}", std::process::id());
    let token = format!("ghs_DECOYTOKEN{}", id.replace('-', ""));
    let key_text = format!("DECOY PRIVATE KEY {id}");
    std::fs::create_dir_all(repo.path().join(".git")).unwrap();
    let git_config = repo.path().join(".git/config");
    std::fs::write(
        &git_config,
        format!("[remote \"origin\"]\n\turl = https://x-access-token:{token}@example.invalid/r\n"),
    )
    .unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    let key = home.path().join(".ssh/id_ed25519");
    std::fs::write(&key, &key_text).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    // A sleep of its own length marks the process an example leaves behind.
    let which = match tag {
        "warm-local" => "1",
        "process-local" => "2",
        "warm-container" => "3",
        _ => "4",
    };
    let sleep = (20000 + std::process::id() % 10000).to_string() + which;
    let mark = format!("docmatrix-escape-{id}");
    let text = std::fs::read_to_string(fixture("hostile/escape.md")).unwrap();
    let text = text
        .replace("@KEY@", key.to_str().unwrap())
        .replace("@GIT_CONFIG@", git_config.to_str().unwrap())
        .replace("@CACHE@", cache.path().to_str().unwrap())
        .replace("@MARK@", &mark)
        .replace("@SLEEP@", &sleep);
    std::fs::write(repo.path().join("escape.md"), text).unwrap();
    Scene {
        repo,
        home,
        cache,
        key,
        git_config,
        mark,
        sleep,
        secrets: vec![token, key_text],
    }
}

fn digest(p: &Path) -> String {
    blake3::hash(&std::fs::read(p).unwrap())
        .to_hex()
        .to_string()
}

/// Where a successful escape would have left its mark.
fn escape_marks(mark: &str) -> Vec<PathBuf> {
    let mut v = vec![Path::new("/usr").join(mark), Path::new("/etc").join(mark)];
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .unwrap();
    for version in std::fs::read_dir(pyenv.join("versions"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for lib in std::fs::read_dir(version.path().join("lib"))
            .into_iter()
            .flatten()
            .flatten()
        {
            v.push(lib.path().join(mark));
        }
    }
    v
}

fn attacks_fail(isolation: &str, backend: &str) {
    if docmatrix::sys::which("bwrap").is_none() {
        skip_unless_ci("bwrap");
        return;
    }
    if backend == "container" && crate::containers::engine().is_none() {
        return;
    }
    let s = scene(&format!("{isolation}-{backend}"));
    let before: Vec<String> = [&s.key, &s.git_config, &s.repo.path().join("escape.md")]
        .iter()
        .map(|p| digest(p))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_docmatrix"))
        .args([
            "validate",
            "escape.md",
            "--format",
            "json",
            "--no-config",
            "--no-cache",
        ])
        // One job at a time: the example that leaves files behind runs before the one that
        // looks for them, on the same worker.
        .args(["-j", "1", "--isolation", isolation, "--backend", backend])
        .current_dir(s.repo.path())
        .env("HOME", s.home.path())
        .env("XDG_CACHE_HOME", s.cache.path())
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(out.status.code(), Some(1), "{text}");
    let examples = doc["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 12, "{doc:#}");
    for e in examples {
        let body = std::fs::read_to_string(s.repo.path().join("escape.md")).unwrap();
        let line = e["line"].as_u64().unwrap() as usize;
        let reads_key = body
            .lines()
            .nth(line)
            .is_some_and(|l| l.starts_with("print(open("));
        let expected = if reads_key {
            "fail fail fail fail"
        } else {
            "pass pass pass pass"
        };
        assert_eq!(
            statuses(e),
            expected,
            "escape.md:{line} ({isolation}, {backend}): {e:#}"
        );
        if reads_key {
            for v in ["3.9", "3.10", "3.11", "3.12"] {
                assert_eq!(e["results"][v]["error_type"], "FileNotFoundError", "{e:#}");
            }
        }
    }
    for secret in &s.secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} reached the report"
        );
    }
    let after: Vec<String> = [&s.key, &s.git_config, &s.repo.path().join("escape.md")]
        .iter()
        .map(|p| digest(p))
        .collect();
    assert_eq!(before, after, "a decoy changed");
    for m in escape_marks(&s.mark) {
        assert!(!m.exists(), "an example wrote {}", m.display());
    }
    let left = Command::new("pgrep")
        .args(["-f", &format!("sleep {}", s.sleep)])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "a process outlived the run");
    // Nothing was written beside the guide (the checkout) or in the home folder.
    let mut names: Vec<String> = std::fs::read_dir(s.repo.path())
        .unwrap()
        .chain(std::fs::read_dir(s.home.path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".git", ".ssh", "escape.md"]);
    drop(s.cache);
}

#[test]
fn attacks_fail_in_warm_workers() {
    attacks_fail("warm", "local");
}

#[test]
fn attacks_fail_in_fresh_processes() {
    attacks_fail("process", "local");
}

#[test]
fn attacks_fail_in_containers_warm_and_fresh() {
    attacks_fail("warm", "container");
    attacks_fail("process", "container");
}
