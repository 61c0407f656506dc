//! The container backend (`--backend container`): the fixtures' whole four-version matrix run
//! in containers of the local stand-in images (scripts/python-images.sh; tests never pull) with
//! no local interpreter visible, cell by cell the interpreter backend's verdicts; `auto`
//! falling back to an image; a missing image; containers never left behind (an interrupt, a
//! SIGKILLed run, whose containers the next run removes). Skipped, with a notice, where no
//! engine answers; on CI that fails them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;
use crate::containers::engine;

/// The fixtures run both ways: every hostile one (loops, fork storms, memory hogs, floods, the
/// network, writes outside the working folder), isolation, versions, programs and their
/// console sessions, pages, sessions, shell blocks, and the seed guide's copy.
const FIXTURES: &[&str] = &[
    "hostile",
    "misbehave",
    "isolation",
    "versions",
    "programs",
    "pages",
    "sessions",
    "shell",
    "seed",
];

/// A CI runner with no local Python for docmatrix to find, and no bubblewrap: PATH holds only
/// the engine and the shells; HOME, pyenv and uv folders are empty; `CI` is set (where a
/// missing sandbox is an error, unless every version runs in a container).
struct Hidden {
    bin: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn hidden() -> Hidden {
    hidden_with(&[])
}

/// [`hidden`], with these commands too on PATH.
fn hidden_with(more: &[&str]) -> Hidden {
    let mut tools = vec!["podman", "sh", "bash"];
    tools.extend_from_slice(more);
    let bin = bin_with_only(&tools);
    Hidden {
        bin,
        home: tempfile::tempdir().unwrap(),
    }
}

impl Hidden {
    fn command(&self) -> Command {
        let mut c = command();
        c.env("PATH", self.bin.path())
            .env("HOME", self.home.path())
            .env("PYENV_ROOT", self.home.path().join("pyenv"))
            .env("UV_PYTHON_INSTALL_DIR", self.home.path().join("uv"))
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .env("CI", "true")
            .current_dir(root());
        c
    }
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(out), stderr(out)))
}

/// A cell's status and error, with the interpreter's installation folder (pyenv's or the
/// image's) written the same way: the one thing that differs by backend.
fn comparable(r: &Value) -> (String, String) {
    let error = r["error"].as_str().unwrap_or("").to_string();
    let error = regex_lite_replace(&error);
    (r["status"].as_str().unwrap_or("?").to_string(), error)
}

fn regex_lite_replace(text: &str) -> String {
    let mut out = text.to_string();
    for prefix in ["/usr/local/lib/python3.", "/lib/python3."] {
        while let Some(at) = out.find(prefix) {
            // `…/lib/python3.11/typing.py` → `<lib>/typing.py`
            let start = out[..at].rfind(['(', ' ', '\'', '"']).map_or(0, |i| i + 1);
            let rest = &out[at + prefix.len()..];
            let end = rest.find('/').map_or(out.len(), |i| at + prefix.len() + i);
            out.replace_range(start..end, "<lib>");
        }
    }
    out
}

#[test]
fn installation_folders_are_written_the_same_way() {
    assert_eq!(
        regex_lite_replace("cannot import name 'Self' from 'typing' (/root/.pyenv/versions/3.9.18/lib/python3.9/typing.py)"),
        "cannot import name 'Self' from 'typing' (<lib>/typing.py)"
    );
    assert_eq!(
        regex_lite_replace("from 'typing' (/usr/local/lib/python3.9/typing.py)"),
        "from 'typing' (<lib>/typing.py)"
    );
}

#[test]
fn containers_give_the_interpreter_backends_verdicts_on_every_fixture() {
    let Some(engine) = engine() else { return };
    let paths: Vec<PathBuf> = FIXTURES.iter().map(|f| fixture(f)).collect();
    let mut args: Vec<&str> = vec!["validate", "--format", "json", "--no-config", "--no-cache"];
    args.extend(["--no-progress", "--allow-missing"]);
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let local = command()
        .args(&args)
        .args(["--backend", "local"])
        .current_dir(root())
        .output()
        .unwrap();
    let h = hidden();
    let started = Instant::now();
    let run = h
        .command()
        .args(&args)
        .args(["--backend", "container"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let owner = format!("docmatrix-o{}.", run.id());
    let contained = run.wait_with_output().unwrap();
    let took = started.elapsed();
    let (a, b) = (json_of(&local), json_of(&contained));
    assert_eq!(b["sandbox"], "container");
    // Every version ran in its image, found with no local Python.
    for v in ["3.9", "3.10", "3.11", "3.12"] {
        let i = &b["interpreters"][v];
        assert_eq!(
            i["source"],
            "container",
            "{v}: {i:#}\n{}",
            stderr(&contained)
        );
        assert_eq!(i["container"]["engine"], engine.kind.name());
        assert_eq!(i["container"]["image"], format!("python:{v}-slim"));
        assert!(i["container"]["image_id"]
            .as_str()
            .is_some_and(|s| s.len() >= 12));
        assert!(
            i["version"].as_str().unwrap().starts_with(&format!("{v}.")),
            "{i:#}"
        );
        assert_ne!(a["interpreters"][v]["source"], "container");
    }
    let (ca, cb) = (cells(&a), cells(&b));
    assert!(ca.len() > 500, "{} cells", ca.len());
    assert_eq!(ca.len(), cb.len());
    let mut differ = Vec::new();
    for (x, y) in ca.iter().zip(&cb) {
        assert_eq!((x.0, x.1), (y.0, y.1));
        if comparable(x.2) != comparable(y.2) {
            differ.push(format!(
                "line {} on {}: {:?} | {:?}",
                x.0,
                x.1,
                comparable(x.2),
                comparable(y.2)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} cells differ:\n{}",
        differ.len(),
        ca.len(),
        differ.join("\n")
    );
    eprintln!("{} cells, identical; containers took {took:.1?}", ca.len());
    assert_no_container_of(engine, Some(&owner));
}

/// The containers docmatrix started that still exist (any run's, or `owner`'s).
fn containers_left(engine: &docmatrix::sys::container::Engine, owner: Option<&str>) -> Vec<String> {
    engine
        .owned_containers()
        .into_iter()
        .filter(|n| owner.is_none_or(|o| n.contains(o)))
        .collect()
}

fn assert_no_container_of(engine: &docmatrix::sys::container::Engine, owner: Option<&str>) {
    let left = containers_left(engine, owner);
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

fn write_guide(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn auto_runs_a_version_with_no_interpreter_in_its_image() {
    if engine().is_none() {
        return;
    }
    // Local jobs need bubblewrap on CI.
    let h = hidden_with(&["bwrap"]);
    let dir = tempfile::tempdir().unwrap();
    write_guide(
        dir.path(),
        "g.md",
        "# g\n\n```python\nimport sys\nprint(sys.version_info[:2])\n```\n",
    );
    // 3.11 is configured (a local interpreter); 3.12 has none visible: its image runs it.
    let config = format!(
        "versions = [\"3.11\", \"3.12\"]\n[interpreters]\n\"3.11\" = \"{}\"\n",
        local_python("3.11").display()
    );
    write_guide(dir.path(), "docmatrix.toml", &config);
    let out = h
        .command()
        .args(["validate", "g.md", "--format", "json", "--no-cache"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let doc = json_of(&out);
    assert_eq!(doc["interpreters"]["3.11"]["source"], "config", "{doc:#}");
    assert_eq!(
        doc["interpreters"]["3.12"]["source"], "container",
        "{doc:#}"
    );
    assert_eq!(statuses_of(&doc, &["3.11", "3.12"]), "pass pass", "{doc:#}");
    // `local` leaves 3.12 with no interpreter, and says where it looked.
    let out = h
        .command()
        .args([
            "validate",
            "g.md",
            "--format",
            "json",
            "--no-cache",
            "--backend",
            "local",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let doc = json_of(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        statuses_of(&doc, &["3.11", "3.12"]),
        "pass unavailable",
        "{doc:#}"
    );
}

fn statuses_of(doc: &Value, versions: &[&str]) -> String {
    statuses_on(&doc["examples"][0], versions)
}

fn local_python(v: &str) -> PathBuf {
    let versions = PathBuf::from(std::env::var("HOME").unwrap()).join(".pyenv/versions");
    let dir = std::fs::read_dir(&versions)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{v}.")))
        })
        .unwrap_or_else(|| panic!("no pyenv {v}"));
    dir.join(format!("bin/python{v}"))
}

#[test]
fn a_missing_image_makes_its_cells_unavailable_with_the_reason_and_never_hangs() {
    if engine().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_guide(dir.path(), "g.md", "# g\n\n```python\nprint(1)\n```\n");
    write_guide(
        dir.path(),
        "docmatrix.toml",
        "versions = [\"3.11\", \"3.12\"]\nbackend = \"container\"\n[container.images]\n\"3.11\" = \"localhost/docmatrix-no-such-image:0\"\n",
    );
    let started = Instant::now();
    let out = command()
        .args(["validate", "g.md", "--format", "json", "--no-cache"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    let doc = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    let e = &doc["examples"][0];
    assert_eq!(
        statuses_of(&doc, &["3.11", "3.12"]),
        "unavailable pass",
        "{doc:#}"
    );
    let reason = e["results"]["3.11"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason
            .contains("image localhost/docmatrix-no-such-image:0 not present and cannot be pulled"),
        "{reason}"
    );
}

/// Starts `docmatrix validate` on a guide whose example sleeps, in containers, and waits until
/// its worker's container runs: (the process, its owner tag).
fn start_sleeping_run(dir: &Path) -> (std::process::Child, String) {
    let engine = engine().unwrap();
    write_guide(
        dir,
        "slow.md",
        "# slow\n\n```python timeout=60\nimport time\ntime.sleep(50)\n```\n",
    );
    let child = command()
        .args([
            "validate",
            "slow.md",
            "--no-cache",
            "--no-config",
            "--no-progress",
        ])
        .args(["--backend", "container", "--python", "3.12"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let owner = format!("docmatrix-o{}.", child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while containers_left(engine, Some(&owner)).is_empty() {
        assert!(Instant::now() < deadline, "no container of {owner} started");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Its job has started in it.
    std::thread::sleep(Duration::from_millis(1500));
    (child, owner)
}

#[test]
fn an_interrupted_run_removes_its_containers() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut child, owner) = start_sleeping_run(dir.path());
    // SAFETY: a plain kill of our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_no_container_of(engine, Some(&owner));
}

#[test]
fn a_killed_runs_containers_are_removed_when_the_next_run_starts() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut child, owner) = start_sleeping_run(dir.path());
    child.kill().unwrap();
    child.wait().unwrap();
    // SIGKILL: nothing of docmatrix ran. (Its worker's container may end by itself: the
    // engine closes its input, and the worker ends on that; or may not, as below.)
    // A container as a killed run leaves one: named after an owner that is gone (a process
    // that ended, in our PID namespace), running.
    let gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    let mut gone = gone;
    gone.wait().unwrap();
    let pidns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let pidns = pidns
        .to_str()
        .unwrap()
        .trim_start_matches("pid:[")
        .trim_end_matches(']');
    let stale = format!("docmatrix-o{pid}.1.{pidns}-x-w0");
    let started = Command::new(&engine.program)
        .args(["run", "--detach", "--pull=never", "--name", &stale])
        .args(docmatrix::sys::container::inherited_ulimits())
        .args(["--label", &format!("docmatrix.owner=o{pid}.1.{pidns}")])
        .args(["python:3.12-slim", "sleep", "600"])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", stderr(&started));
    assert_eq!(
        containers_left(engine, Some(&stale)),
        std::slice::from_ref(&stale)
    );
    write_guide(dir.path(), "quick.md", "# q\n\n```python\nprint(1)\n```\n");
    let out = command()
        .args(["validate", "quick.md", "--no-cache", "--no-config"])
        .args(["--backend", "container", "--python", "3.12"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_container_of(engine, Some(&owner));
    assert_no_container_of(engine, Some(&stale));
}

#[test]
fn removing_containers_at_once_removes_them_all_when_one_is_gone_already() {
    let Some(engine) = engine() else { return };
    let names: Vec<String> = (0..2)
        .map(|i| format!("docmatrix-test-{}-{i}", std::process::id()))
        .collect();
    for n in &names {
        let out = Command::new(&engine.program)
            .args(["run", "--detach", "--pull=never", "--name", n])
            .args(docmatrix::sys::container::inherited_ulimits())
            .args(["python:3.12-slim", "sleep", "600"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut all = vec![format!("docmatrix-test-{}-gone", std::process::id())];
    all.extend(names.iter().cloned());
    engine.remove(&all);
    let left = Command::new(&engine.program)
        .args(["ps", "--all", "--format", "{{.Names}}"])
        .output()
        .unwrap();
    for n in &names {
        assert!(!stdout(&left).contains(n.as_str()), "{n} is left");
    }
}

#[test]
fn a_runs_leftover_containers_are_removed_and_only_its_own() {
    let Some(engine) = engine() else { return };
    // This test process's tag: a live owner, so no concurrent run's sweep takes them.
    let tag = docmatrix::sys::interrupt::owner_tag().unwrap();
    let make = |name: &str, label: &str, verb: &[&str]| {
        let out = Command::new(&engine.program)
            .args(verb)
            .args(["--pull=never", "--name", name])
            .args(docmatrix::sys::container::inherited_ulimits())
            .args(["--label", &format!("docmatrix.owner={label}")])
            .args(["python:3.12-slim", "sleep", "600"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // What a run can leave: a running container and one created, never started.
    let (running, created) = (
        format!("docmatrix-{tag}-left-w0"),
        format!("docmatrix-{tag}-left-j0"),
    );
    make(&running, &tag, &["run", "--detach"]);
    make(&created, &tag, &["create"]);
    // Another owner's (a label that only begins like ours).
    let other = format!("docmatrix-{tag}-other");
    make(&other, &format!("{tag}.0"), &["run", "--detach"]);
    let mut removed = engine.remove_run_containers(&tag);
    removed.sort();
    assert_eq!(removed, [created.clone(), running.clone()]);
    assert!(containers_left(engine, Some(&running)).is_empty());
    assert!(containers_left(engine, Some(&created)).is_empty());
    assert_eq!(
        containers_left(engine, Some(&other)),
        std::slice::from_ref(&other)
    );
    assert!(engine.remove_run_containers(&tag).is_empty());
    engine.remove(std::slice::from_ref(&other));
    assert_no_container_of(engine, Some(&other));
}

/// The one test here that needs the package index: an image derived from the base image with
/// the declared dependencies, built once, reused, and removed by `cache clear`.
#[test]
fn dependencies_are_installed_in_an_image_built_once() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    write_guide(
        dir.path(),
        "g.md",
        "# g\n\n```python\nimport six\nprint(six.__version__)\n```\n",
    );
    write_guide(
        dir.path(),
        "docmatrix.toml",
        "versions = [\"3.12\"]\nbackend = \"container\"\ndependencies = [\"six==1.16.0\"]\n",
    );
    let run = || {
        let out = command()
            .args(["validate", "g.md", "--format", "json", "--cache-dir"])
            .arg(&cache)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (json_of(&out), stderr(&out))
    };
    let (doc, err) = run();
    let i = &doc["interpreters"]["3.12"];
    if doc["examples"][0]["results"]["3.12"]["status"] == "blocked" {
        // No package index here: the cell says so, and nothing fails.
        skip_unless_ci("the package index (pypi.org)");
        return;
    }
    assert_eq!(statuses_of(&doc, &["3.12"]), "pass", "{doc:#}\n{err}");
    assert!(
        err.contains("building the environment for Python 3.12.1 with an image from python:3.12-slim with pip: 1 requirement")
            || err.contains("building the environment for Python 3.12"),
        "{err}"
    );
    assert_eq!(i["source"], "env", "{i:#}");
    let image = i["container"]["image"].as_str().unwrap().to_string();
    assert!(
        image.starts_with("localhost/docmatrix-env:3.12."),
        "{image}"
    );
    assert!(
        i["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "six==1.16.0"),
        "{i:#}"
    );
    assert!(engine.image_id(&image).is_some());
    // Again: the same image, not built again.
    let (again, err) = run();
    assert_eq!(again["interpreters"]["3.12"]["container"], i["container"]);
    assert!(!err.contains("building the environment"), "{err}");
    assert_eq!(statuses_of(&again, &["3.12"]), "pass");
    // `cache clear` removes the image with the environment.
    let out = command()
        .args(["cache", "clear", "--cache-dir"])
        .arg(&cache)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("1 environment (and its image)"),
        "{}",
        stdout(&out)
    );
    assert!(engine.image_id(&image).is_none(), "{image} is left");
}

/// What the reports say of a run in containers: the image beside each version (terminal,
/// with `-v` the engine, path inside and image id; Markdown; the JSON's `container`).
#[test]
fn reports_name_the_image_of_each_version() {
    if engine().is_none() {
        return;
    }
    let h = hidden();
    let mut s = stable_cmd();
    for var in [
        "PATH",
        "HOME",
        "PYENV_ROOT",
        "UV_PYTHON_INSTALL_DIR",
        "XDG_DATA_HOME",
    ] {
        s.add_redaction(&format!(".env.{var}"), "[hidden]");
    }
    s.add_filter(r"image [0-9a-f]{12}", "image [id]");
    s.add_filter(r#""image_id": "[0-9a-f]{64}""#, r#""image_id": "[id]""#);
    let common = [
        "validate",
        "--no-config",
        "--no-progress",
        "--no-cache",
        "--backend",
        "container",
        "--color",
        "never",
        "fixtures/versions/stdlib.md",
    ];
    for (name, extra) in [
        ("containers_terminal", &["-v"][..]),
        ("containers_markdown", &["--format", "markdown"][..]),
    ] {
        let mut run = h.command();
        run.args(common).args(extra).env_remove("CI");
        s.bind(|| insta_cmd::assert_cmd_snapshot!(name, run));
    }
    let out = h
        .command()
        .args(common)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let doc = json_of(&out);
    s.bind(|| insta::assert_json_snapshot!("containers_json_interpreters", doc["interpreters"]));
}

/// `docmatrix interpreters` shows what `validate` runs each version with, images included.
#[test]
fn the_interpreters_command_shows_the_images() {
    let Some(engine) = engine() else { return };
    let h = hidden();
    let out = h
        .command()
        .args([
            "interpreters",
            "--no-config",
            "--python",
            "3.12,3.16",
            "--backend",
            "auto",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = format!(
        "/usr/local/bin/python3.12 in python:3.12-slim ({})",
        engine.kind.name()
    );
    assert!(text.contains(&line), "{text}");
    assert!(
        text.contains("3.16  missing: no Python 3.16 found")
            && text.contains(
                "no container either: image python:3.16-slim not present and cannot be pulled"
            ),
        "{text}"
    );
    let out = h
        .command()
        .args([
            "interpreters",
            "--no-config",
            "--python",
            "3.12",
            "--backend",
            "local",
        ])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("3.12  missing: no Python 3.12 found"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_session_whose_output_the_engine_lost_runs_again() {
    let Some(engine) = engine() else { return };
    // An engine that loses the output of the first session it runs, as podman did once for a
    // short-lived container on a loaded CI machine: the session exits 0 and says nothing.
    let h = hidden_with(&["cat", "rm"]);
    let wrapper = h.bin.path().join("podman");
    std::fs::remove_file(&wrapper).unwrap();
    let count = h.home.path().join("sessions-run");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/bash\n\
             case \" $* \" in *session.sh*)\n\
               echo run >> {count}\n\
               if [ \"$(/usr/bin/wc -l < {count})\" -eq 1 ]; then\n\
                 {real} \"$@\" > /dev/null; exit $?\n\
               fi ;;\n\
             esac\n\
             exec {real} \"$@\"\n",
            count = count.display(),
            real = engine.program.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let guide = write_guide(
        dir.path(),
        "g.md",
        "# g\n\n```console run\n$ echo made > made.txt && cat made.txt\nmade\n```\n",
    );
    let out = h
        .command()
        .args(["validate", "--format", "json", "--no-config", "--no-cache"])
        .args([
            "--no-progress",
            "--backend",
            "container",
            "--python",
            "3.12",
        ])
        .arg(&guide)
        .output()
        .unwrap();
    let json = json_of(&out);
    let cell = &json["examples"][0]["results"]["3.12"];
    assert_eq!(cell["status"], "pass", "{cell:#}\n{}", stderr(&out));
    // Run twice, the second time in emptied folders (`made.txt` is made again).
    let runs = std::fs::read_to_string(&count).unwrap();
    assert_eq!(runs.lines().count(), 2, "{runs}");
    assert_eq!(json["summary"]["jobs"]["pass"], 1);
}
