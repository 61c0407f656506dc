//! Distribution: the wheel .ci/run builds (target/wheels), installed the ways writers install
//! tools (pip, uv, uv tool, uvx, pipx), the GitHub Action's install script, and the pre-commit
//! mirror, each for real, with no package index (the wheel and the mirror's build backend are
//! in target/wheels).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The wheel of this version that .ci/run built, if there is one.
fn wheel() -> Option<PathBuf> {
    let dir = root().join("target/wheels");
    let found = std::fs::read_dir(&dir).ok().and_then(|d| {
        d.flatten().map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("docmatrix-{VERSION}-")) && n.ends_with(".whl")
            })
        })
    });
    if found.is_none() {
        skip_unless_ci("the wheel (target/wheels, built by .ci/run with maturin)");
    }
    found
}

/// A tool of the CI virtual environment (uv, pre-commit, pipx).
fn ci_tool(name: &str) -> Option<PathBuf> {
    let p = root().join("target/ci-venv/bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    skip_unless_ci(name);
    None
}

/// Runs `cmd` with the package index turned off (only target/wheels), and says what it printed
/// when it fails.
fn run_offline(cmd: &mut Command) -> Output {
    let wheels = root().join("target/wheels");
    let out = cmd
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", &wheels)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("UV_NO_INDEX", "1")
        .env("UV_FIND_LINKS", &wheels)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// `BIN --version` prints this version, built as a release.
fn assert_release(bin: &Path) {
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert_eq!(
        stdout(&out),
        format!("docmatrix {VERSION} (release build)\n"),
        "{}",
        bin.display()
    );
}

#[test]
fn the_wheel_is_this_version_a_manylinux_one_and_small() {
    let Some(wheel) = wheel() else { return };
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.contains("manylinux_2_17_x86_64") || name.contains("manylinux2014_x86_64"),
        "{name}"
    );
    let size = std::fs::metadata(&wheel).unwrap().len();
    eprintln!("{name}: {:.1} MB", size as f64 / 1e6);
    assert!(size < 10_000_000, "{name} is {size} bytes");
}

/// pip, then uv, each into a fresh virtual environment: `docmatrix` is on the environment's
/// PATH, it is the release build of this version, `python -m docmatrix` runs it, and it runs
/// an example on a real interpreter.
#[test]
fn pip_and_uv_install_the_wheel_and_it_runs_examples() {
    let Some(wheel) = wheel() else { return };
    let Some(uv) = ci_tool("uv") else { return };
    let dir = tempfile::tempdir().unwrap();

    let with_pip = dir.path().join("pip");
    run_offline(
        Command::new(python312())
            .arg("-m")
            .arg("venv")
            .arg(&with_pip),
    );
    run_offline(
        Command::new(with_pip.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet"])
            .arg(&wheel),
    );
    assert_release(&with_pip.join("bin/docmatrix"));
    let out = run_offline(Command::new(with_pip.join("bin/python")).args([
        "-m",
        "docmatrix",
        "--version",
    ]));
    assert_eq!(
        stdout(&out),
        format!("docmatrix {VERSION} (release build)\n")
    );

    let with_uv = dir.path().join("uv");
    run_offline(
        Command::new(&uv)
            .args(["venv", "--quiet", "--python"])
            .arg(python312())
            .arg(&with_uv),
    );
    run_offline(
        Command::new(&uv)
            .args(["pip", "install", "--quiet", "--python"])
            .arg(with_uv.join("bin/python"))
            .arg(&wheel),
    );
    assert_release(&with_uv.join("bin/docmatrix"));

    // The installed binary checks a guide: its Python driver is inside it.
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(
        docs.join("guide.md"),
        "```python\nprint(sum(range(4)))\n```\n\n```python\nassert 6 * 7 == 41\n```\n",
    )
    .unwrap();
    let out = Command::new(with_uv.join("bin/docmatrix"))
        .current_dir(dir.path())
        .args([
            "validate",
            "docs",
            "--no-config",
            "--no-progress",
            "--python",
            "3.12",
        ])
        .args(["--format", "json", "--cache-dir"])
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["examples"][0]["results"]["3.12"]["status"], "pass");
    assert_eq!(doc["examples"][1]["results"]["3.12"]["status"], "fail");
    assert_eq!(doc["examples"][1]["results"]["3.12"]["md_line"], 6);
}

/// `uv tool install`, `uvx --from WHEEL` and `pipx install` put `docmatrix` on PATH.
#[test]
fn uv_tool_uvx_and_pipx_install_the_wheel() {
    let Some(wheel) = wheel() else { return };
    let Some(uv) = ci_tool("uv") else { return };
    let Some(pipx) = ci_tool("pipx") else { return };
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let uv_env = |c: &mut Command| {
        c.env("UV_TOOL_DIR", dir.path().join("tools"))
            .env("UV_TOOL_BIN_DIR", &bin)
            .env("UV_CACHE_DIR", dir.path().join("uv-cache"))
            .env("UV_PYTHON", python312());
    };

    let mut install = Command::new(&uv);
    install.args(["tool", "install", "--quiet"]).arg(&wheel);
    uv_env(&mut install);
    run_offline(&mut install);
    assert_release(&bin.join("docmatrix"));

    let mut uvx = Command::new(&uv);
    uvx.args(["tool", "run", "--from"])
        .arg(&wheel)
        .args(["docmatrix", "--version"]);
    uv_env(&mut uvx);
    let out = run_offline(&mut uvx);
    assert_eq!(
        stdout(&out),
        format!("docmatrix {VERSION} (release build)\n")
    );

    let pipx_bin = dir.path().join("pipx-bin");
    run_offline(
        Command::new(&pipx)
            .args(["install", "--python"])
            .arg(python312())
            .arg(&wheel)
            .env("PIPX_HOME", dir.path().join("pipx"))
            .env("PIPX_BIN_DIR", &pipx_bin)
            .env("PIPX_MAN_DIR", dir.path().join("pipx-man")),
    );
    assert_release(&pipx_bin.join("docmatrix"));
}

/// The Action's install step (scripts/install-docmatrix.sh): the wheel of the checkout's
/// version, with pip when uv is not on PATH and with uv when it is; a wheel that cannot be
/// found fails and says how to build instead.
#[test]
fn the_action_installs_the_wheel_of_its_version() {
    let Some(_) = wheel() else { return };
    let Some(uv) = ci_tool("uv") else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = root().join("scripts/install-docmatrix.sh");
    // python3 first on PATH is 3.12; uv only where asked.
    let python_dir = python312().parent().unwrap().to_path_buf();
    let plain = format!("{}:/usr/bin:/bin", python_dir.display());
    let with_uv = format!("{}:{plain}", uv.parent().unwrap().display());
    // `python3` in pyenv's folder is python3.12's link.
    assert!(python_dir.join("python3").exists());

    for (name, path) in [("pip", &plain), ("uv", &with_uv)] {
        let prefix = dir.path().join(name);
        let started = Instant::now();
        let out = run_offline(
            Command::new("bash")
                .arg(&script)
                .arg("wheel")
                .arg(&prefix)
                .env("PATH", path)
                .env("UV_CACHE_DIR", dir.path().join("uv-cache")),
        );
        eprintln!("action install with {name}: {:.1?}", started.elapsed());
        assert_eq!(
            stdout(&out),
            format!("docmatrix {VERSION} (release build)\n"),
            "{name}"
        );
        assert_release(&prefix.join("bin/docmatrix"));
    }

    let empty = dir.path().join("no-wheels");
    std::fs::create_dir(&empty).unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .arg("wheel")
        .arg(dir.path().join("none"))
        .env("PATH", &plain)
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "could not install the docmatrix {VERSION} wheel; set the action's input install: cargo"
        )),
        "{}",
        stderr(&out)
    );
}

/// The mirror pins the docmatrix of this version (the release workflow checks it too).
#[test]
fn the_pre_commit_mirror_pins_this_version() {
    let mirror = std::fs::read_to_string(root().join("dist/pre-commit/pyproject.toml")).unwrap();
    assert!(
        mirror.contains(&format!("\nversion = \"{VERSION}\"\n")),
        "{mirror}"
    );
    assert!(
        mirror.contains(&format!("dependencies = [\"docmatrix=={VERSION}\"]")),
        "{mirror}"
    );
    let hooks =
        std::fs::read_to_string(root().join("dist/pre-commit/.pre-commit-hooks.yaml")).unwrap();
    let root_hooks = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    // The same hook as the repository's own, from `- id:` on.
    let body = |s: &str| s[s.find("- id:").unwrap()..].to_string();
    assert_eq!(body(&hooks), body(&root_hooks));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// pre-commit, for real: a repository whose config points at the mirror (a git repository of
/// dist/pre-commit) runs the hook, which installs the wheel with pip; it passes on a good
/// guide and fails on a bad one, naming its file and line.
#[test]
fn the_pre_commit_hook_installs_the_wheel_and_names_the_failing_line() {
    let Some(_) = wheel() else { return };
    let Some(pre_commit) = ci_tool("pre-commit") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    let mirror = dir.path().join("mirror");
    std::fs::create_dir(&mirror).unwrap();
    for f in [".pre-commit-hooks.yaml", "pyproject.toml", "README.md"] {
        std::fs::copy(root().join("dist/pre-commit").join(f), mirror.join(f)).unwrap();
    }
    git(&mirror, &["init", "--quiet"]);
    git(&mirror, &["add", "."]);
    git(&mirror, &["commit", "--quiet", "-m", "mirror"]);
    let rev = git(&mirror, &["rev-parse", "HEAD"]).trim().to_string();

    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("docs")).unwrap();
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: docmatrix\n        args: [--python, \"3.12\", --no-config]\n",
            mirror.display()
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("docs/good.md"),
        "# Good\n\n```python\nassert sorted([3, 1, 2]) == [1, 2, 3]\n```\n",
    )
    .unwrap();
    git(&project, &["init", "--quiet"]);
    git(&project, &["add", "."]);
    git(&project, &["commit", "--quiet", "-m", "docs"]);

    let run = |project: &Path| {
        Command::new(&pre_commit)
            .current_dir(project)
            .args(["run", "--all-files", "--color", "never"])
            .env("PRE_COMMIT_HOME", dir.path().join("pre-commit-home"))
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", root().join("target/wheels"))
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("VIRTUALENV_PYTHON", python312())
            .output()
            .unwrap()
    };
    let started = Instant::now();
    let out = run(&project);
    eprintln!(
        "first pre-commit run (installs the hook): {:.1?}",
        started.elapsed()
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("docmatrix"), "{}", stdout(&out));

    std::fs::write(
        project.join("docs/bad.md"),
        "# Bad\n\nSome text.\n\n```python\ntotal = sum([1, 2])\nassert total == 4, total\n```\n",
    )
    .unwrap();
    git(&project, &["add", "."]);
    let out = run(&project);
    assert!(!out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("docs/bad.md:7"), "{text}");
    assert!(text.contains("AssertionError: 3"), "{text}");
}
