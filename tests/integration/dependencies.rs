//! Third-party dependencies: an environment per version, built with pip or uv from real
//! installs (local wheels, so no index is needed), reused, and honest verdicts when it
//! cannot be built.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// A project: docmatrix.toml with `config`, one guide importing the demo package, a folder
/// of wheels.
struct Project {
    dir: tempfile::TempDir,
    wheels: PathBuf,
    cache: PathBuf,
}

fn project(config: &str) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    // The pyenv CPython .ci/run checks for (a fresh machine may have no `python3`).
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
        .map(|r| r.join("versions/3.12.1/bin/python3.12"))
        .filter(|p| p.is_file());
    let made = Command::new(pyenv.unwrap_or_else(|| PathBuf::from("python3")))
        .arg(fixture("deps/make_wheels.py"))
        .arg(&wheels)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docmatrix.toml"), config).unwrap();
    std::fs::write(
        dir.path().join("docs/guide.md"),
        "```python\nimport dmdemo_parcel\nassert dmdemo_parcel.VALUE == 42\n```\n",
    )
    .unwrap();
    let cache = dir.path().join("cache");
    Project { dir, wheels, cache }
}

/// uv for the tests that use it: on PATH, or in the CI venv. CI must have it.
fn uv() -> Option<PathBuf> {
    let ci = root().join("target/ci-venv/bin/uv");
    let found = if ci.is_file() {
        Some(ci)
    } else {
        docmatrix::sys::which("uv")
    };
    if found.is_none() {
        skip_unless_ci("uv");
    }
    found
}

impl Project {
    /// `docmatrix validate docs --format json`, installing from the local wheels only.
    fn validate(
        &self,
        installer: Option<&Path>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (i32, serde_json::Value) {
        self.validate_err(installer, extra, env).0
    }

    /// The JSON reports of `validate` with `extra` (no cache) run warm and with
    /// `--isolation process`, a fresh interpreter per example.
    fn warm_and_fresh(&self, extra: &[&str]) -> (serde_json::Value, serde_json::Value) {
        let run = |isolation: &str| {
            let mut args = vec!["--no-cache", "--isolation", isolation];
            args.extend_from_slice(extra);
            let ((_, doc), err) = self.validate_err(None, &args, &[]);
            assert!(doc["examples"].as_array().is_some(), "{err}");
            doc
        };
        (run("warm"), run("process"))
    }

    /// [`Project::validate`], and what it printed on stderr.
    fn validate_err(
        &self,
        installer: Option<&Path>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> ((i32, serde_json::Value), String) {
        let mut c = command();
        c.current_dir(self.dir.path())
            .args(["validate", "docs", "--format", "json", "--cache-dir"])
            .arg(&self.cache)
            .args(extra)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &self.wheels)
            .env("UV_NO_INDEX", "1")
            .env("UV_FIND_LINKS", &self.wheels)
            .env("UV_CACHE_DIR", self.dir.path().join("uv-cache"));
        match installer {
            Some(uv) => {
                let path = format!(
                    "{}:{}",
                    uv.parent().unwrap().display(),
                    std::env::var("PATH").unwrap_or_default()
                );
                c.env("PATH", path);
            }
            None => {
                c.env("DOCMATRIX_NO_UV", "1");
            }
        }
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let doc = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
        ((out.status.code().unwrap_or(-1), doc), stderr(&out))
    }

    fn envs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.cache.join("envs"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn reasons(doc: &serde_json::Value) -> Vec<String> {
    ["3.9", "3.10", "3.11", "3.12"]
        .iter()
        .map(|v| {
            let r = &doc["examples"][0]["results"][v];
            format!(
                "{} {}",
                r["status"].as_str().unwrap(),
                r["reason"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn declared_dependencies_are_installed_on_every_version_with_pip_and_reused() {
    let p = project("dependencies = [\"dmdemo_parcel>=1.0\"]\n");
    let ((code, doc), err) = p.validate_err(None, &[], &[]);
    assert_eq!(code, 0, "{doc:#}");
    // What takes long is said on stderr.
    for v in ["3.9.18", "3.12.1"] {
        assert!(
            err.contains(&format!(
                "docmatrix: building the environment for Python {v} with pip: 1 requirement\n"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "docmatrix: built the environment for Python {v} in "
            )),
            "{err}"
        );
    }
    assert_eq!(statuses(&doc["examples"][0]), "pass pass pass pass");
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let i = &doc["interpreters"][v];
        assert_eq!(i["source"], "env", "{v}: {i}");
        assert_eq!(
            i["packages"],
            serde_json::json!(["dmdemo_parcel==1.2.0"]),
            "{v}"
        );
    }
    let envs = p.envs();
    assert_eq!(envs.len(), 4, "{envs:?}");
    // When each environment was completed: a rebuild would change it.
    let completed = |envs: &[PathBuf]| -> Vec<std::time::SystemTime> {
        envs.iter()
            .map(|e| {
                std::fs::metadata(e.join(".docmatrix-complete"))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect()
    };
    let stamps = completed(&envs);
    // A second run builds nothing; --offline uses what is built.
    let ((code, doc), err) = p.validate_err(None, &[], &[]);
    assert!(!err.contains("building"), "{err}");
    assert_eq!(
        (code, statuses(&doc["examples"][0]).as_str()),
        (0, "pass pass pass pass")
    );
    let (code, _) = p.validate(None, &["--offline"], &[("PIP_FIND_LINKS", "/nonexistent")]);
    assert_eq!(code, 0);
    let again = completed(&envs);
    assert_eq!(stamps, again, "an environment was built again");
    assert_eq!(p.envs(), envs);
    // `cache envs` lists them; `cache clear` removes them.
    let cache = |action: &str| {
        let out = command()
            .args(["cache", action, "--cache-dir"])
            .arg(&p.cache)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let listed = cache("envs");
    assert!(
        listed.ends_with(&format!(
            "4 environments in {}\n",
            p.cache.join("envs").display()
        )),
        "{listed}"
    );
    assert!(listed.contains("3.12.1-"), "{listed}");
    assert_eq!(listed.matches("  1 package\n").count(), 4, "{listed}");
    assert_eq!(
        listed.matches("  dmdemo_parcel==1.2.0\n").count(),
        4,
        "{listed}"
    );
    // `interpreters --envs` prints the interpreters, then the same listing (the cache folder
    // of the project's config).
    let mut config = std::fs::read_to_string(p.dir.path().join("docmatrix.toml")).unwrap();
    config.insert_str(
        0,
        &format!("cache-dir = {:?}\n", p.cache.display().to_string()),
    );
    std::fs::write(p.dir.path().join("docmatrix.toml"), config).unwrap();
    let out = command()
        .current_dir(p.dir.path())
        .args(["interpreters", "--envs"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let both = stdout(&out);
    assert!(both.starts_with("3.9  3.9."), "{both}");
    assert!(both.ends_with(&listed), "{both}");
    // The Markdown and HTML reports say what the examples were tested with.
    for (format, line) in [
        ("markdown", "- Python 3.12.1 · `dmdemo_parcel==1.2.0`"),
        (
            "html",
            "<li>Python 3.12.1 · <span class=\"mono\">dmdemo_parcel==1.2.0</span></li>",
        ),
    ] {
        let out = command()
            .current_dir(p.dir.path())
            .args([
                "validate",
                "docs",
                "--offline",
                "--format",
                format,
                "--cache-dir",
            ])
            .arg(&p.cache)
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(text.contains("Tested with"), "{format}: {text}");
        assert!(text.contains(line), "{format}: {text}");
    }
    assert!(cache("clear").contains("and 4 environments"));
    assert!(p.envs().is_empty());
    assert!(cache("envs").starts_with("0 environments"));
}

#[test]
fn with_uv_a_package_that_needs_a_newer_python_is_unavailable_on_the_older_version() {
    let Some(uv) = uv() else { return };
    let p = project("dependencies = [\"dmdemo_parcel\", \"dmdemo_newonly\"]\n");
    let (code, doc) = p.validate(Some(&uv), &[], &[]);
    assert_eq!(code, 1, "3.9 is claimed by the default policy");
    let r = reasons(&doc);
    assert!(
        r[0].starts_with("unavailable dependencies: installing failed:"),
        "{r:?}"
    );
    assert!(r[0].contains("Python >=3.10"), "{r:?}");
    assert_eq!(&r[1..], ["pass ", "pass ", "pass "]);
    // A version override gives 3.9 what it can install.
    let p = project(
        "dependencies = [\"dmdemo_parcel\", \"dmdemo_newonly\"]\n[environment.\"3.9\"]\ndependencies = [\"dmdemo_parcel\"]\n",
    );
    let (code, doc) = p.validate(Some(&uv), &[], &[]);
    assert_eq!(
        (code, statuses(&doc["examples"][0]).as_str()),
        (0, "pass pass pass pass")
    );
    assert_eq!(
        doc["interpreters"]["3.9"]["packages"],
        serde_json::json!(["dmdemo-parcel==1.2.0"])
    );
}

#[test]
fn a_missing_package_or_requirements_file_is_named() {
    let p = project("dependencies = [\"dmdemo_nosuch\"]\n");
    let (code, doc) = p.validate(None, &["--python", "3.12"], &[]);
    assert_eq!(code, 1);
    let r = &doc["examples"][0]["results"]["3.12"];
    assert_eq!(r["status"], "unavailable");
    assert!(
        r["reason"].as_str().unwrap().contains("dmdemo_nosuch"),
        "{r}"
    );
    // The verdict is remembered: the next run starts no installer and says where it is from.
    let ((_, doc), err) = p.validate_err(None, &["--python", "3.12"], &[]);
    let again = doc["examples"][0]["results"]["3.12"]["reason"].to_string();
    assert!(!err.contains("building"), "{err}");
    assert!(
        again.contains("dmdemo_nosuch") && again.contains("an earlier run's verdict"),
        "{again}"
    );
    // A day later it is tried again.
    let markers: Vec<PathBuf> = std::fs::read_dir(p.cache.join("envs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "failed"))
        .collect();
    assert_eq!(markers.len(), 1, "{markers:?}");
    let old = Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(&markers[0])
        .status()
        .unwrap();
    assert!(old.success());
    let ((_, doc), err) = p.validate_err(None, &["--python", "3.12"], &[]);
    assert!(err.contains("building"), "{err}");
    let third = doc["examples"][0]["results"]["3.12"]["reason"].to_string();
    assert!(!third.contains("an earlier run"), "{third}");
    let p = project("requirements = [\"docs/requirements.txt\"]\n");
    let (code, doc) = p.validate(None, &["--python", "3.12"], &[]);
    assert_eq!(code, 1);
    let r = &doc["examples"][0]["results"]["3.12"];
    assert!(
        r["reason"].as_str().unwrap().contains("requirements.txt"),
        "{r}"
    );
    assert!(p.envs().is_empty());
}

#[test]
fn an_unreachable_index_blocks_the_cells_and_never_fails_them() {
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    let dead = [
        ("PIP_NO_INDEX", ""),
        ("PIP_FIND_LINKS", ""),
        ("PIP_INDEX_URL", "http://127.0.0.1:9/simple"),
        ("PIP_RETRIES", "1"),
    ];
    let (code, doc) = p.validate(None, &["--python", "3.12"], &dead);
    let r = &doc["examples"][0]["results"]["3.12"];
    assert_eq!(r["status"], "blocked", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("dependencies: cannot reach the package index: "),
        "{r}"
    );
    assert_eq!(code, 0, "blocked is not a failure");
    assert!(p.envs().is_empty(), "a half-built environment was kept");
    let (_, doc) = p.validate(None, &["--python", "3.12", "--offline"], &[]);
    let r = &doc["examples"][0]["results"]["3.12"];
    assert_eq!(r["status"], "blocked");
    assert!(r["reason"].as_str().unwrap().contains("--offline"), "{r}");
}

#[test]
fn two_runs_at_once_build_one_environment() {
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| p.validate(None, &["--python", "3.11,3.12"], &[]));
        let b = s.spawn(|| p.validate(None, &["--python", "3.11,3.12"], &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    for (code, doc) in [a, b] {
        assert_eq!(code, 0, "{doc:#}");
        assert_eq!(doc["examples"][0]["results"]["3.12"]["status"], "pass");
    }
    assert_eq!(p.envs().len(), 2, "{:?}", p.envs());
}

#[test]
fn blocks_declare_their_own_dependencies_with_deps_or_inline_script_metadata() {
    let p = project("");
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        r#"# Blocks that bring their own packages

```python {deps="dmdemo_parcel"}
import dmdemo_parcel
assert dmdemo_parcel.VALUE == 42
```

```python
# /// script
# requires-python = ">=3.10"
# dependencies = ["dmdemo_newonly"]
# ///
import dmdemo_newonly
print(dmdemo_newonly.VALUE)
```

```python
import dmdemo_parcel
```
"#,
    )
    .unwrap();
    let ((code, doc), err) = p.validate_err(None, &[], &[]);
    assert_eq!(code, 1, "{doc:#}\n{err}");
    let status = |e: usize, v: &str| doc["examples"][e]["results"][v]["status"].clone();
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        assert_eq!(status(0, v), "pass", "deps= on {v}: {doc:#}");
        // The block with no declaration runs on the bare interpreter.
        assert_eq!(
            doc["examples"][2]["results"][v]["error_type"], "ModuleNotFoundError",
            "{v}"
        );
    }
    // requires-python is the block's `requires`: no environment is built for 3.9.
    assert_eq!(status(1, "3.9"), "not-applicable");
    assert_eq!(
        doc["examples"][1]["results"]["3.9"]["reason"],
        "requires >=3.10"
    );
    for v in ["3.10", "3.11", "3.12"] {
        assert_eq!(status(1, v), "pass", "PEP 723 on {v}: {doc:#}");
    }
    // Four environments for the first block, three for the second, none for the bare one.
    assert_eq!(p.envs().len(), 7, "{:?}", p.envs());
    // A second run builds nothing.
    let ((code2, _), err2) = p.validate_err(None, &[], &[]);
    assert_eq!(code2, 1);
    assert!(!err2.contains("building"), "{err2}");

    // Metadata that is not valid is a warning at its Markdown line, and the block runs.
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        "```python\n# /// script\n# dependencies = \"dmdemo_parcel\"\n# ///\nprint(1)\n```\n",
    )
    .unwrap();
    let (_, doc) = p.validate(None, &[], &[]);
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("\"line\":2") && warnings.contains("/// script"),
        "{warnings}"
    );
    assert_eq!(doc["examples"][0]["results"]["3.12"]["status"], "pass");
}

/// Copies the install-project fixture (a pyproject with an in-tree build backend) into `p`.
fn with_project(p: &Project) {
    let src = fixture("deps/project");
    for rel in [
        "pyproject.toml",
        "docmatrix.toml",
        "dmproj/__init__.py",
        "_backend/dmbackend.py",
    ] {
        let to = p.dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        "```python\nimport dmproj\nimport dmdemo_parcel\nassert dmproj.VALUE == 7, dmproj.VALUE\n```\n",
    )
    .unwrap();
}

fn install_project(installer: Option<&Path>) {
    let p = project("");
    with_project(&p);
    let ((code, doc), err) = p.validate_err(installer, &[], &[]);
    assert_eq!(
        (code, statuses(&doc["examples"][0]).as_str()),
        (0, "pass pass pass pass"),
        "{doc:#}\n{err}"
    );
    assert!(err.contains("building the wheel of"), "{err}");
    let packages = doc["interpreters"]["3.9"]["packages"].to_string();
    assert!(
        packages.contains("\"dmproj==0.1.0\"")
            && (packages.contains("dmdemo-parcel==1.2.0")
                || packages.contains("dmdemo_parcel==1.2.0")),
        "the project and its extra: {packages}"
    );
    // Nothing changed: nothing is built, no installer starts.
    let ((code, _), err) = p.validate_err(installer, &[], &[]);
    assert_eq!(code, 0);
    assert!(!err.contains("building"), "{err}");
    // The project's code changes: a new wheel, new environments, and the examples see it.
    std::fs::write(p.dir.path().join("dmproj/__init__.py"), "VALUE = 8\n").unwrap();
    let ((code, doc), err) = p.validate_err(installer, &[], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("building the wheel of"), "{err}");
    assert!(
        doc["examples"][0]["results"]["3.12"]["error"]
            .to_string()
            .contains("AssertionError: 8"),
        "{doc:#}"
    );
}

#[test]
fn install_project_builds_the_project_as_a_wheel_with_its_extras_with_pip() {
    install_project(None);
}

#[test]
fn install_project_builds_the_project_as_a_wheel_with_its_extras_with_uv() {
    let Some(uv) = uv() else { return };
    install_project(Some(&uv));
}

#[test]
fn install_project_without_a_project_is_a_config_error() {
    let p = project("install-project = true\n");
    let out = command()
        .current_dir(p.dir.path())
        .args(["validate", "docs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("install-project: no pyproject.toml or setup.py"),
        "{}",
        stderr(&out)
    );
}

/// The seed guide's LangChain example, reproduced in fixtures/deps/langchain with the
/// dependencies a writer would declare, installed from the package index (the one test here
/// that needs it): past its imports on every version, it is judged on what it needs next, a
/// file the guide does not ship, never on a `ModuleNotFoundError`.
#[test]
fn the_langchain_example_gets_past_its_imports_once_its_dependencies_are_declared() {
    let dir = fixture("deps/langchain");
    let guide = dir.join("guide.md");
    let load_line = line_of(&guide, "pages = loader.load()");
    // Kept between runs, like a user's cache: the first run installs, later ones reuse.
    let cache = root().join("target/test-cache/deps-langchain");
    let mut c = command();
    c.current_dir(&dir)
        .args(["validate", "--format", "json", "--cache-dir"])
        .arg(&cache);
    if let Some(uv) = uv() {
        let path = format!(
            "{}:{}",
            uv.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path);
    }
    let out = c.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
    let results = &doc["examples"][0]["results"];
    if results["3.12"]["status"] == "blocked" {
        // No package index here: the cells say so, and nothing fails.
        assert_eq!(out.status.code(), Some(0), "{doc:#}");
        skip_unless_ci("the package index (pypi.org)");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let r = &results[v];
        assert_eq!(r["status"], "fail", "{v}: {r}");
        assert_ne!(r["error_type"], "ModuleNotFoundError", "{v}: {r}");
        assert_eq!(r["md_line"], load_line, "{v}: {r}");
        assert!(
            r["error"]
                .as_str()
                .unwrap()
                .contains("Error loading handbook/policies.txt"),
            "{v}: {r}"
        );
        let packages = doc["interpreters"][v]["packages"].to_string();
        assert!(packages.contains("langchain==0.0.350"), "{v}: {packages}");
    }
}

/// Warm workers replay the examples' import statements of third-party modules before they
/// fork, keeping only those that import cleanly; every verdict is the one a fresh interpreter
/// gives (`--isolation process`), including examples that need a fresh import.
#[test]
fn preimported_libraries_give_the_verdicts_of_a_fresh_interpreter() {
    let p = project(
        "dependencies = [\"dmdemo_parcel\", \"dmdemo_noisy\", \"dmdemo_warns\", \"dmdemo_thread\", \"dmdemo_envread\"]\n",
    );
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        r#"# Pre-imports

```python
import dmdemo_parcel
import dmdemo_envread
assert dmdemo_parcel.VALUE == 42
assert dmdemo_envread.MODE == "default", dmdemo_envread.MODE
```

```python
import dmdemo_noisy
print(dmdemo_noisy.VALUE)
```

```python
import dmdemo_warns
assert dmdemo_warns.VALUE == 2
```

```python
import threading
import dmdemo_thread
# The thread its import starts is there, as in a fresh interpreter.
assert threading.active_count() == 2, threading.active_count()
```

```python
import os
import dmdemo_parcel
os.environ["DMDEMO_MODE"] = "custom"
import dmdemo_envread
# Set before the import: the import must run here, not in the worker.
assert dmdemo_envread.MODE == "custom", dmdemo_envread.MODE
```

```python
import sys
import dmdemo_parcel
assert "dmdemo_envread" not in sys.modules
```

```python
try:
    import dmdemo_absent
except ImportError:
    absent = True
assert absent
```

```python
try:
    import dmdemo_absent
except ImportError:
    dmdemo_absent = None
import dmdemo_envread
# An optional import first: the import after it may be made ahead.
assert dmdemo_absent is None
assert dmdemo_envread.MODE == "default", dmdemo_envread.MODE
```
"#,
    )
    .unwrap();
    let (warm, fresh) = p.warm_and_fresh(&[]);
    assert_eq!(shown(&warm), shown(&fresh));
    assert!(
        shown(&warm).iter().all(|c| c.contains(" \"pass\" ")),
        "{:#?}",
        shown(&warm)
    );
    // What the workers ran ahead, and what they left to each example, per version.
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let i = &warm["interpreters"][v];
        let pre = i["preimported"].to_string();
        assert!(
            pre.contains("import dmdemo_parcel") && pre.contains("import dmdemo_envread"),
            "{v}: {i:#}"
        );
        let not = i["not_preimported"].to_string();
        for (stmt, why) in [
            ("import dmdemo_noisy", "writes output"),
            ("import dmdemo_warns", "warns (DeprecationWarning)"),
            ("import dmdemo_thread", "starts a thread"),
        ] {
            assert!(
                not.contains(&format!("{{\"statement\":\"{stmt}\",\"why\":\"{why}\"}}")),
                "{v}: {not}"
            );
        }
        assert!(fresh["interpreters"][v].get("preimported").is_none());
    }
}

/// A statement whose one change is a hook it sets (`sys.excepthook`, as the exceptiongroup
/// backport's import does on 3.9 and 3.10) is refused by the rich workers and pre-imported by
/// hooked ones, for the examples whose head runs it: every cell, its error and its stderr, is
/// what a fresh interpreter gives, the hook's line in the tracebacks where the example imports
/// it and nowhere else. One job at a time (`--jobs 1`): the first example's rich worker has
/// said what it refused before the others are routed.
#[test]
fn a_statement_that_sets_a_hook_is_preimported_only_for_the_examples_that_run_it() {
    let p = project("dependencies = [\"dmdemo_parcel\", \"dmdemo_hook\", \"dmdemo_hookuser\"]\n");
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        r#"# A hook set at import

```python
import dmdemo_parcel
assert dmdemo_parcel.VALUE == 42
```

```python
import dmdemo_hookuser
raise ValueError("shown through the hook")
```

```python
from dmdemo_hookuser import VALUE
import sys
assert VALUE == 6
assert sys.excepthook.__module__ == "dmdemo_hook", sys.excepthook
```

```python
import dmdemo_parcel
raise KeyError("shown without the hook")
```

```python
import sys
assert sys.excepthook is sys.__excepthook__
raise LookupError("no hook here either")
```

```python
import os
os.environ["DMDEMO_HOOK_OFF"] = "1"
import dmdemo_hookuser
import sys
# Turned off before the import: the import must run here, not in a worker.
assert sys.excepthook is sys.__excepthook__
```

```python
import dmdemo_parcel
import dmdemo_hook
raise RuntimeError("through the hook again")
```
"#,
    )
    .unwrap();
    let (warm, fresh) = p.warm_and_fresh(&["--jobs", "1"]);
    let with_stderr = |doc: &serde_json::Value| -> Vec<String> {
        cells(doc)
            .into_iter()
            .map(|(line, v, o)| {
                let stderr = o["stderr"].as_str().unwrap_or("");
                format!("{line}:{v} {} {} {}", o["status"], o["error"], stderr)
            })
            .collect()
    };
    assert_eq!(with_stderr(&warm), with_stderr(&fresh));
    let got: Vec<String> = warm["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(statuses)
        .collect();
    let (pass, fail) = ("pass pass pass pass", "fail fail fail fail");
    assert_eq!(got, [pass, fail, pass, fail, fail, pass, fail], "{warm:#}");
    let hooked: Vec<bool> = cells(&warm)
        .into_iter()
        .filter(|(_, _, o)| o["status"] == "fail")
        .map(|(_, _, o)| {
            o["stderr"]
                .as_str()
                .unwrap_or("")
                .contains("dmdemo_hook saw")
        })
        .collect();
    // Examples 2 and 7 import the hook, 4 and 5 do not: four versions each.
    let want: Vec<bool> = [true, false, false, true]
        .iter()
        .flat_map(|b| [*b; 4])
        .collect();
    assert_eq!(hooked, want, "{warm:#}");
    let hook = "sets sys.excepthook (dmdemo_hook.hook)";
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let i = &warm["interpreters"][v];
        let not = i["not_preimported"].to_string();
        for stmt in ["import dmdemo_hookuser", "import dmdemo_hook"] {
            let refused = format!("{{\"statement\":\"{stmt}\",\"why\":\"{hook}\"}}");
            assert!(not.contains(&refused), "{v}: {i:#}");
        }
        let ahead = i["preimported_for_importers"].to_string();
        for stmt in [
            "import dmdemo_hookuser",
            "import dmdemo_hook",
            "from dmdemo_hookuser import VALUE",
        ] {
            assert!(ahead.contains(&format!("\"{stmt}\"")), "{v}: {i:#}");
        }
        assert!(
            i["preimported"]
                .to_string()
                .contains("import dmdemo_parcel"),
            "{v}: {i:#}"
        );
        assert!(fresh["interpreters"][v]
            .get("preimported_for_importers")
            .is_none());
    }
}

/// The modules a rich worker learns from its children (loaded on first use) and imports itself:
/// learned, and never where an example could tell. One run at a time (`--jobs 1`), so that the
/// first example has taught its workers before the others run.
#[test]
fn modules_loaded_on_first_use_are_learned_where_no_example_can_tell() {
    let p = project("dependencies = [\"dmdemo_lazy\"]\n");
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        r#"# Learned modules

```python
import dmdemo_lazy
assert dmdemo_lazy.detail() == 10
assert dmdemo_lazy.mode() == "default"
```

```python
import dmdemo_lazy
# Patched before the submodule that copies it is loaded: it must be loaded here, after.
dmdemo_lazy.LEVEL = 2
assert dmdemo_lazy.detail() == 20, dmdemo_lazy.detail()
```

```python
import os
import dmdemo_lazy
# Read when its submodule is loaded, after this.
os.environ["DMDEMO_LAZY"] = "set"
assert dmdemo_lazy.mode() == "set", dmdemo_lazy.mode()
```

```python
import dmdemo_lazy
assert dmdemo_lazy.detail() == 10
print(dmdemo_lazy.mode())
```
"#,
    )
    .unwrap();
    let (warm, fresh) = p.warm_and_fresh(&["--jobs", "1"]);
    assert_eq!(shown(&warm), shown(&fresh));
    assert!(
        shown(&warm).iter().all(|c| c.contains(" \"pass\" ")),
        "{:#?}",
        shown(&warm)
    );
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let i = &warm["interpreters"][v];
        assert_eq!(
            i["learned"],
            serde_json::json!(["dmdemo_lazy._detail"]),
            "{v}: {i:#}"
        );
        let not = i["not_preimported"].to_string();
        assert!(
            not.contains(r#"{"statement":"import dmdemo_lazy._mode","why":"reads the environment (DMDEMO_LAZY)"}"#),
            "{v}: {not}"
        );
        assert!(fresh["interpreters"][v].get("learned").is_none());
    }
}

/// The first worker of a version checks the import statements in itself: a warning is told
/// apart from other output there too, and a statement that kills it (a crash) leaves the
/// examples to a careful worker, which finds it in a probe child.
#[test]
fn a_worker_that_checks_in_itself_names_warnings_and_survives_a_crashing_import() {
    let p = project("dependencies = [\"dmdemo_parcel\", \"dmdemo_warns\", \"dmdemo_crash\"]\n");
    let parcel = "```python\nimport dmdemo_parcel\nassert dmdemo_parcel.VALUE == 42\n```\n\n";
    let warns = "```python\nimport dmdemo_parcel\nimport dmdemo_warns\nassert dmdemo_warns.VALUE == 2\n```\n\n";
    let crash = "```python\nimport dmdemo_crash\n```\n\n";
    // Alone, the warning is the first statement that is not clean: found by the worker itself.
    // With the crash first, the worker dies there, and a careful one finds both.
    for (guide, expect) in [
        (
            format!("{warns}{parcel}"),
            vec![("import dmdemo_warns", "warns (DeprecationWarning)")],
        ),
        (
            format!("{warns}{crash}{parcel}"),
            vec![
                ("import dmdemo_crash", "ended while importing"),
                ("import dmdemo_warns", "warns (DeprecationWarning)"),
            ],
        ),
    ] {
        std::fs::write(p.dir.path().join("docs/guide.md"), &guide).unwrap();
        let (warm, fresh) = p.warm_and_fresh(&[]);
        assert_eq!(shown(&warm), shown(&fresh));
        let got: Vec<String> = warm["examples"]
            .as_array()
            .unwrap()
            .iter()
            .map(statuses)
            .collect();
        let want: Vec<&str> = guide
            .split("```python\n")
            .skip(1)
            .map(|b| {
                if b.contains("crash") {
                    "fail fail fail fail"
                } else {
                    "pass pass pass pass"
                }
            })
            .collect();
        assert_eq!(got, want, "{warm:#}");
        for v in ["3.9", "3.10", "3.11", "3.12"] {
            let i = &warm["interpreters"][v];
            assert_eq!(
                i["preimported"],
                serde_json::json!(["import dmdemo_parcel"]),
                "{v}: {i:#}"
            );
            let want: Vec<serde_json::Value> = expect
                .iter()
                .map(|(s, w)| serde_json::json!({"statement": s, "why": w}))
                .collect();
            assert_eq!(i["not_preimported"], serde_json::json!(want), "{v}: {i:#}");
        }
    }
}

/// A console session's `python` is the version's environment (found on the Typer docs: a
/// linked interpreter ran without its environment, and every program failed to import typer).
#[test]
fn console_sessions_run_their_programs_in_the_environment() {
    let Some(uv) = uv() else { return };
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        "```python title=\"main.py\"\nimport sys\nimport dmdemo_parcel\nprint(dmdemo_parcel.VALUE, sys.argv[1])\nraise SystemExit(sys.prefix == sys.base_prefix)\n```\n\n\
         ```console\n$ python main.py Ada\n42 Ada\n$ python3 -c 'import dmdemo_parcel; print(dmdemo_parcel.VALUE)'\n42\n```\n\n\
         ```console\n$ python -c 'import os; print(os.getcwd())'\n.\n$ python main.py Bo > out.txt; cat $PWD/out.txt\n42 Bo\n```\n",
    )
    .unwrap();
    let (code, doc) = p.validate(Some(&uv), &[], &[]);
    assert_eq!(
        statuses_by_line(&doc),
        [
            "1: skipped skipped skipped skipped",
            "8: pass pass pass pass",
            "15: pass pass pass pass",
        ],
        "{doc:#}"
    );
    assert_eq!(code, 0);
}

/// An environment kept under /tmp (this project's cache folder is) is bound at its own path in
/// the sandbox's private /tmp: the worker that empties that /tmp between jobs leaves the
/// binding and the folders that lead to it, removes what a job wrote beside them, and serves
/// the next job (before, every job ended its worker, which then never learned a module).
#[test]
fn an_environment_under_tmp_keeps_its_workers_and_what_jobs_leave_there_goes() {
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    assert!(
        p.cache.starts_with(std::env::temp_dir()),
        "{}",
        p.cache.display()
    );
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        "```python\nimport os, sys, dmdemo_parcel\nbeside = os.path.dirname(sys.prefix)\nopen(os.path.join(beside, 'left.txt'), 'w').write('x')\nprint(os.getppid())\n```\n\n\
         ```python\nimport os, sys, dmdemo_parcel\nassert not os.path.exists(os.path.join(os.path.dirname(sys.prefix), 'left.txt'))\nassert dmdemo_parcel.VALUE == 42\n# The worker of the first job, not a second one started after it ended.\nassert os.environ['HOME'].endswith('/w0/work'), os.environ['HOME']\n```\n",
    )
    .unwrap();
    let ((code, doc), err) = p.validate_err(None, &["--jobs", "1", "--python", "3.12"], &[]);
    assert_eq!(code, 0, "{doc:#}\n{err}");
    assert_eq!(statuses_on(&doc["examples"][1], &["3.12"]), "pass");
}

/// `--no-cache` turns the result cache off, not the cache folder: the environments built there
/// are used again, and none is built anywhere else.
#[test]
fn without_the_result_cache_the_environments_of_the_cache_folder_are_reused() {
    let Some(uv) = uv() else { return };
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    let ((code, doc), err) = p.validate_err(Some(&uv), &[], &[]);
    assert_eq!(code, 0, "{doc:#}\n{err}");
    assert!(err.contains("building"), "{err}");
    let built = p.envs();
    assert_eq!(built.len(), 4, "{built:?}");
    let xdg = p.dir.path().join("xdg");
    let xdg_env = xdg.to_str().unwrap();
    for flag in [&["--no-cache"][..], &[]] {
        let ((code, doc), err) = p.validate_err(Some(&uv), flag, &[("XDG_CACHE_HOME", xdg_env)]);
        assert_eq!(code, 0, "{flag:?}: {doc:#}\n{err}");
        assert!(!err.contains("building"), "{flag:?}: {err}");
        assert_eq!(statuses(&doc["examples"][0]), "pass pass pass pass");
    }
    assert_eq!(p.envs(), built);
    assert!(
        !xdg.join("docmatrix").exists(),
        "an environment was built in XDG_CACHE_HOME"
    );
}

/// A session that runs a program block with its own `deps=` runs in that program's
/// environment: the program's packages are there when the session runs it.
#[test]
fn a_session_runs_its_program_with_the_programs_own_dependencies() {
    let Some(uv) = uv() else { return };
    let p = project("");
    std::fs::write(
        p.dir.path().join("docs/guide.md"),
        "```python {deps=\"dmdemo_parcel\"}\nimport sys\nimport dmdemo_parcel\nprint(dmdemo_parcel.VALUE, sys.argv[1])\n```\n\n\
         ```console\n$ python main.py Ada\n42 Ada\n```\n",
    )
    .unwrap();
    let (code, doc) = p.validate(Some(&uv), &[], &[]);
    assert_eq!(
        statuses_by_line(&doc),
        [
            "1: skipped skipped skipped skipped",
            "7: pass pass pass pass"
        ],
        "{doc:#}"
    );
    assert_eq!(code, 0);
}

/// Each example of a report as `LINE: STATUSES`, in order.
fn statuses_by_line(doc: &serde_json::Value) -> Vec<String> {
    doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", e["line"], statuses(e)))
        .collect()
}

/// The `.pyc` files of the demo package under an environment.
fn demo_bytecode(env: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() && !path.is_symlink() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "pyc")
                && path.to_string_lossy().contains("dmdemo_parcel")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&env.join("lib"), &mut out);
    out
}

#[test]
fn environments_are_compiled_to_bytecode_also_those_built_before() {
    // uv installs without compiling, and the examples see the environment read-only: without
    // this, every example would compile the library's modules from source again.
    let Some(uv) = uv() else { return };
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    let one = ["--python", "3.12"];
    let ((code, doc), err) = p.validate_err(Some(&uv), &one, &[]);
    assert_eq!(
        doc["examples"][0]["results"]["3.12"]["status"], "pass",
        "{code} {err}"
    );
    let envs = p.envs();
    assert_eq!(envs.len(), 1, "{envs:?}");
    assert!(!demo_bytecode(&envs[0]).is_empty(), "no bytecode: {err}");
    assert!(envs[0].join(".docmatrix-bytecode").is_file());
    assert!(!err.contains("to bytecode"), "{err}");
    // An environment of an earlier docmatrix (no bytecode, no mark) is compiled once, not
    // built again.
    for pyc in demo_bytecode(&envs[0]) {
        std::fs::remove_file(pyc).unwrap();
    }
    std::fs::remove_file(envs[0].join(".docmatrix-bytecode")).unwrap();
    let ((_, doc), err) = p.validate_err(Some(&uv), &one, &[]);
    assert_eq!(
        doc["examples"][0]["results"]["3.12"]["status"], "pass",
        "{err}"
    );
    assert!(
        err.contains("docmatrix: compiling the environment for Python 3.12.1 to bytecode (once)\n"),
        "{err}"
    );
    assert!(!err.contains("building"), "{err}");
    assert!(!demo_bytecode(&envs[0]).is_empty());
    let ((_, _), err) = p.validate_err(Some(&uv), &one, &[]);
    assert!(!err.contains("to bytecode"), "{err}");
}

/// Issue 18's equivalence on a corpus of examples that import libraries installed from the
/// package index (bench/thirdparty.py's: pydantic, attrs, rich, SQLAlchemy, typing_extensions,
/// pinned): on the four versions, warm workers that import the libraries ahead give every
/// cell exactly as a fresh interpreter per example does (status, error, its line, exit code,
/// stderr), and as the corpus expects. The one test that needs the index: CI reaches it.
#[test]
fn a_corpus_importing_libraries_from_the_index_gives_the_same_cells_warm_and_fresh() {
    let Some(uv) = uv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let made = Command::new(python312())
        .arg("-c")
        .arg(
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); \
             import thirdparty; thirdparty.generate(Path(sys.argv[2]), 16, 20, 1)",
        )
        .arg(root().join("bench"))
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let path = format!(
        "{}:{}",
        uv.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |isolation: &str| {
        let out = command()
            .current_dir(&corpus)
            .args(["validate", ".", "--format", "json", "--no-progress"])
            .args(["--python", "3.9,3.10,3.11,3.12", "--isolation", isolation])
            // One cache folder: the environments are built once; results are not shared
            // between isolation modes (the mode is part of every result's key).
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .env("PATH", &path)
            .env("UV_CACHE_DIR", dir.path().join("uv-cache"))
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
        (doc, stderr(&out))
    };
    let (warm, err) = run("warm");
    let (fresh, _) = run("process");
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        assert_eq!(warm["interpreters"][v]["source"], "env", "{v}: {err}");
    }
    // The workers did import libraries ahead on every version.
    for v in ["3.9", "3.12"] {
        let pre = warm["interpreters"][v]["preimported"]
            .as_array()
            .map_or(0, Vec::len);
        assert!(pre >= 10, "{v}: {}", warm["interpreters"][v]);
    }
    let comparable = |doc: &serde_json::Value| -> Vec<String> {
        cells(doc)
            .into_iter()
            .map(|(line, v, r)| {
                let mut r = r.clone();
                for timing in ["duration_ms", "cached"] {
                    r.as_object_mut().unwrap().remove(timing);
                }
                format!("{line} {v} {r}")
            })
            .collect()
    };
    let (w, f) = (comparable(&warm), comparable(&fresh));
    assert_eq!(w.len(), 1280);
    let differences: Vec<String> = w
        .iter()
        .zip(&f)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("warm:  {a}\nfresh: {b}"))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));

    // And as the corpus says: expected.tsv has a block's status per version (`pass`, or
    // `FAIL ErrorType`), in the order of the examples.
    let expected = std::fs::read_to_string(corpus.join("expected.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = expected
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let examples = warm["examples"].as_array().unwrap();
    let python: Vec<&serde_json::Value> = examples
        .iter()
        .filter(|e| e["language"] == "python")
        .collect();
    assert_eq!(python.len(), rows.len());
    for (e, row) in python.iter().zip(&rows) {
        for (v, want) in ["3.9", "3.10", "3.11", "3.12"].iter().zip(&row[1..]) {
            let r = &e["results"][*v];
            let got = match r["status"].as_str().unwrap() {
                "pass" => "pass".to_string(),
                status => format!(
                    "{} {}",
                    status.to_uppercase(),
                    r["error_type"].as_str().unwrap_or("")
                ),
            };
            assert_eq!(got.trim(), want.trim(), "{} on {v}: {r}", row[0]);
        }
    }
}

#[test]
fn a_relative_cache_folder_holds_environments_the_examples_run_in() {
    let Some(uv) = uv() else { return };
    let p = project("dependencies = [\"dmdemo_parcel\"]\n");
    // Relative to the working folder, as a user types it; the examples run elsewhere.
    let path = format!(
        "{}:{}",
        uv.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = command()
        .current_dir(p.dir.path())
        .args([
            "validate",
            "docs",
            "--format",
            "json",
            "--cache-dir",
            "rel-cache",
        ])
        .env("UV_NO_INDEX", "1")
        .env("UV_FIND_LINKS", &p.wheels)
        .env("UV_CACHE_DIR", p.dir.path().join("uv-cache"))
        .env("PATH", path)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reasons(&doc), ["pass "; 4], "{doc:#}\n{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
    assert!(p.dir.path().join("rel-cache/envs").is_dir());
}

/// Each cell of a report as `LINE:VERSION STATUS ERROR`, to compare two runs.
fn shown(doc: &serde_json::Value) -> Vec<String> {
    cells(doc)
        .into_iter()
        .map(|(line, v, o)| format!("{line}:{v} {} {}", o["status"], o["error"]))
        .collect()
}
