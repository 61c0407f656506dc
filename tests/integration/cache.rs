//! The result cache: a re-run serves every result from the cache and starts no interpreter;
//! an edit re-runs exactly the jobs it affects; timeouts are never cached; `cache clear`.
//!
//! The interpreters are wrappers that log every start, so the tests count what really ran.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

const VERSIONS: [&str; 4] = ["3.9", "3.10", "3.11", "3.12"];

struct Project {
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Project {
    /// A project holding `files` (fixture path → name), with logging wrappers for the four
    /// interpreters and a cache of its own.
    fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("starts.log");
        let out = docmatrix(&["interpreters", "--no-config", "--format", "json"]);
        let found: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut toml = String::from(
            "versions = [\"3.9\", \"3.10\", \"3.11\", \"3.12\"]\npaths = [\"guides\"]\ncache-dir = \"cache\"\n[interpreters]\n",
        );
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        for v in VERSIONS {
            let real = found[v]["path"].as_str().unwrap();
            let wrapper = dir.path().join("bin").join(format!("python{v}"));
            // The probe reports the wrapper as the interpreter, so that jobs start it too.
            let script = format!(
                "#!/bin/sh\necho \"{v} $1 $2\" >> '{log}'\nif [ \"$1\" = -I ] && [ \"$2\" = -S ]; then\n  '{real}' \"$@\" | sed 's#{real}#{wrapper}#'\n  exit 0\nfi\nexec '{real}' \"$@\"\n",
                log = log.display(),
                wrapper = wrapper.display(),
            );
            std::fs::write(&wrapper, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
            toml.push_str(&format!("\"{v}\" = \"{}\"\n", wrapper.display()));
        }
        std::fs::write(dir.path().join("docmatrix.toml"), toml).unwrap();
        std::fs::create_dir(dir.path().join("guides")).unwrap();
        for (from, to) in files {
            std::fs::copy(fixture(from), dir.path().join("guides").join(to)).unwrap();
        }
        Project { dir, log }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn starts(&self) -> usize {
        std::fs::read_to_string(&self.log).map_or(0, |s| s.lines().count())
    }

    /// `validate` without the sandbox: inside it, the wrappers could not write their log.
    fn validate(&self, extra: &[&str]) -> Value {
        self.validate_with_stderr(extra).0
    }

    /// [`Project::validate`], and what it printed on standard error.
    fn validate_with_stderr(&self, extra: &[&str]) -> (Value, String) {
        let mut args = vec!["validate", "--format", "json", "--sandbox", "none"];
        args.extend_from_slice(extra);
        let out = docmatrix_in(self.path(), &args);
        let doc = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
        (doc, stderr(&out))
    }

    /// What `docmatrix cache info` prints.
    fn info(&self) -> String {
        let out = docmatrix_in(self.path(), &["cache", "info"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    }
}

/// (example line, version) → (status, cached) for every cell that ran or came from the cache.
fn cells(doc: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for e in doc["examples"].as_array().unwrap() {
        for (v, r) in e["results"].as_object().unwrap() {
            if matches!(r["status"].as_str(), Some("pass" | "fail" | "timeout")) {
                let at = format!("{}:{} {v}", e["file"].as_str().unwrap(), e["line"]);
                out.push((
                    at,
                    r["status"].as_str().unwrap().to_string(),
                    r["cached"] == true,
                ));
            }
        }
    }
    out
}

fn verdicts(doc: &Value) -> Vec<(String, String)> {
    cells(doc).into_iter().map(|(a, s, _)| (a, s)).collect()
}

#[test]
fn a_rerun_is_served_from_the_cache_and_starts_no_interpreter() {
    let p = Project::new(&[
        ("versions/syntax.md", "syntax.md"),
        ("annotations/groups.md", "groups.md"),
    ]);
    let first = p.validate(&[]);
    let after_first = p.starts();
    assert!(
        after_first >= 4,
        "probes and workers started: {after_first}"
    );
    assert!(cells(&first).iter().all(|(_, _, cached)| !cached));

    let second = p.validate(&[]);
    assert_eq!(p.starts(), after_first, "a re-run starts no interpreter");
    assert_eq!(
        verdicts(&second),
        verdicts(&first),
        "the cache never changes a verdict"
    );
    assert!(cells(&second).iter().all(|(_, _, cached)| *cached));

    // --no-cache runs everything again.
    let third = p.validate(&["--no-cache"]);
    assert!(p.starts() > after_first);
    assert!(cells(&third).iter().all(|(_, _, cached)| !cached));
}

#[test]
fn an_edit_reruns_exactly_the_jobs_it_affects() {
    let p = Project::new(&[
        ("versions/syntax.md", "syntax.md"),
        ("annotations/groups.md", "groups.md"),
    ]);
    // Fresh processes: one interpreter start per job, so starts count jobs.
    p.validate(&["--isolation", "process"]);
    let before = p.starts();

    // One character of one example.
    let syntax = p.path().join("guides/syntax.md");
    let text = std::fs::read_to_string(&syntax).unwrap();
    let edited = text.replacen(
        "type Pair = tuple[int, int]",
        "type Pair = tuple[int, str]",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(&syntax, edited).unwrap();
    let doc = p.validate(&["--isolation", "process"]);
    assert_eq!(
        p.starts() - before,
        4,
        "that example's four jobs, and nothing else"
    );
    let fresh: Vec<String> = cells(&doc)
        .into_iter()
        .filter(|c| !c.2)
        .map(|c| c.0)
        .collect();
    let line = line_of(&syntax, "type Pair") - 1;
    assert_eq!(fresh.len(), 4, "{fresh:?}");
    assert!(
        fresh
            .iter()
            .all(|c| c.starts_with(&format!("guides/syntax.md:{line} "))),
        "{fresh:?}"
    );

    // The first block of a group: the whole group (one program per version) runs again.
    let before = p.starts();
    let groups = p.path().join("guides/groups.md");
    let text = std::fs::read_to_string(&groups).unwrap();
    std::fs::write(
        &groups,
        text.replacen("registry = {}", "registry = dict()", 1),
    )
    .unwrap();
    let doc = p.validate(&["--isolation", "process"]);
    assert_eq!(
        p.starts() - before,
        4,
        "one program per version for the group"
    );
    let fresh: Vec<String> = cells(&doc)
        .into_iter()
        .filter(|c| !c.2)
        .map(|c| c.0)
        .collect();
    assert_eq!(
        fresh.len(),
        3 * 4,
        "the group's three blocks on four versions: {fresh:?}"
    );
}

/// Identical examples that start at the same moment run once: the others wait for it and take
/// its result from the cache (before, each thread that picked one up ran it too).
#[test]
fn identical_examples_run_once_even_when_they_start_together() {
    let p = Project::new(&[]);
    let block = "```python\nimport time\n\ntime.sleep(0.5)\nprint('slept')\n```\n\n";
    std::fs::write(p.path().join("guides/same.md"), block.repeat(6)).unwrap();
    for isolation in ["process", "warm"] {
        let out = docmatrix_in(p.path(), &["cache", "clear"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc = p.validate(&["--isolation", isolation, "--python", "3.12"]);
        let c = cells(&doc);
        assert_eq!(c.len(), 6, "{c:?}");
        assert!(c.iter().all(|x| x.1 == "pass"), "{c:?}");
        let ran: Vec<_> = c.iter().filter(|x| !x.2).collect();
        assert_eq!(
            ran.len(),
            1,
            "{isolation}: one ran, five from the cache: {c:?}"
        );
    }
}

#[test]
fn timeouts_are_never_cached_and_clear_empties_the_cache() {
    let p = Project::new(&[("annotations/run-options.md", "run-options.md")]);
    p.validate(&["--isolation", "process"]);
    let before = p.starts();
    let doc = p.validate(&["--isolation", "process"]);
    let timeouts: Vec<_> = cells(&doc)
        .into_iter()
        .filter(|c| c.1 == "timeout")
        .collect();
    assert_eq!(timeouts.len(), 4);
    assert!(timeouts.iter().all(|c| !c.2), "timeouts run again");
    assert_eq!(
        p.starts() - before,
        4,
        "only the timing-out example ran again"
    );

    let out = docmatrix_in(p.path(), &["cache", "clear"]);
    assert!(stdout(&out).contains("removed"), "{}", stdout(&out));
    let doc = p.validate(&["--isolation", "process"]);
    assert!(cells(&doc).iter().all(|c| !c.2));
}

/// Wrappers for the static checkers (`bash`, `sh`, shellcheck, and hadolint from target/tools
/// when CI installed it) that log each start to `log`, in a folder to put first on PATH.
fn checker_wrappers(dir: &Path, log: &Path) -> (PathBuf, bool) {
    let bin = dir.join("checkers");
    std::fs::create_dir(&bin).unwrap();
    let hadolint = root().join("target/tools/hadolint");
    let mut tools: Vec<(&str, PathBuf)> = ["bash", "sh", "shellcheck"]
        .iter()
        .map(|t| {
            (
                *t,
                docmatrix::sys::which(t).unwrap_or_else(|| panic!("{t} is installed")),
            )
        })
        .collect();
    let with_hadolint = hadolint.exists();
    if with_hadolint {
        tools.push(("hadolint", hadolint));
    }
    for (name, real) in tools {
        let wrapper = bin.join(name);
        let script = format!(
            "#!/bin/sh\necho \"{name} $*\" >> '{log}'\nexec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display(),
        );
        std::fs::write(&wrapper, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (bin, with_hadolint)
}

/// The static checks of a log of checker starts (a shell run by a `run` block is not one).
fn checks(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.ends_with(" -n script") || l.starts_with("shellcheck ") || l.starts_with("hadolint ")
        })
        .map(str::to_string)
        .collect()
}

/// Every example's static findings, in report order: (file:line, findings as JSON).
fn all_findings(doc: &Value) -> Vec<(String, String)> {
    doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!("{}:{}", e["file"].as_str().unwrap(), e["line"]),
                e["findings"].to_string(),
            )
        })
        .collect()
}

#[test]
fn a_rerun_starts_no_static_checker_and_reports_the_same_findings() {
    let p = Project::new(&[
        ("shell/scripts.md", "scripts.md"),
        ("shell/sessions.md", "sessions.md"),
        ("dockerfile/rules.md", "rules.md"),
    ]);
    let log = p.path().join("checks.log");
    let (bin, with_hadolint) = checker_wrappers(p.path(), &log);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |env: &[(&str, &str)]| -> Value {
        let mut c = command();
        c.args(["validate", "--format", "json", "--sandbox", "none"])
            .current_dir(p.path())
            .env("PATH", &path)
            .env_remove("SHELLCHECK_OPTS");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)))
    };

    let first = run(&[]);
    let ran = checks(&log);
    let sources: std::collections::BTreeSet<String> = first["examples"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(findings_of)
        .map(|f| f.2)
        .collect();
    let mut expected = vec!["bash -n", "docmatrix", "sh -n", "shellcheck"];
    if with_hadolint {
        expected.push("hadolint");
    }
    for s in &expected {
        assert!(sources.contains(*s), "a finding of {s}: {sources:?}");
    }
    assert!(ran.iter().any(|l| l.starts_with("shellcheck ")), "{ran:?}");
    assert!(ran.iter().any(|l| l.starts_with("bash -n")), "{ran:?}");
    assert!(ran.iter().any(|l| l.starts_with("sh -n")), "{ran:?}");
    assert_eq!(
        ran.iter().any(|l| l.starts_with("hadolint ")),
        with_hadolint,
        "{ran:?}"
    );

    // Nothing changed: no checker starts, and every finding is the same, message and all.
    let second = run(&[]);
    assert_eq!(checks(&log), ran, "a re-run starts no static checker");
    assert_eq!(all_findings(&second), all_findings(&first));

    // One character of one shell block: its checks run again, and nothing else.
    let scripts = p.path().join("guides/scripts.md");
    let text = std::fs::read_to_string(&scripts).unwrap();
    let edited = text.replacen("done done", "done  done", 1);
    assert_ne!(text, edited);
    std::fs::write(&scripts, edited).unwrap();
    let third = run(&[]);
    let again: Vec<String> = checks(&log)[ran.len()..].to_vec();
    assert_eq!(
        again,
        vec!["bash -n script".to_string()],
        "only the edited block's syntax check (its error stops shellcheck)"
    );
    assert_eq!(all_findings(&third), all_findings(&first));

    // Configuration the checker reads by itself is part of the key: SHELLCHECK_OPTS excluding
    // a rule the guides trigger runs shellcheck again, and that rule's findings are gone.
    let before = checks(&log).len();
    let rule = first["examples"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(findings_of)
        .find(|f| f.2 == "shellcheck")
        .map(|f| f.3)
        .unwrap();
    let opts = format!("--exclude={rule}");
    let fourth = run(&[("SHELLCHECK_OPTS", &opts)]);
    let now = checks(&log);
    assert!(
        now[before..].iter().all(|l| l.starts_with("shellcheck ")) && now.len() > before,
        "{:?}",
        &now[before..]
    );
    let rules: Vec<String> = fourth["examples"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(findings_of)
        .map(|f| f.3)
        .collect();
    assert!(!rules.contains(&rule), "{rule} excluded: {rules:?}");
}

/// The entry count `cache info` prints.
fn entries(info: &str) -> usize {
    let n = info.split(": ").nth(1).and_then(|s| s.split(' ').next());
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {info}"))
}

#[test]
fn damaged_cache_files_are_repaired_with_one_warning_and_their_entries_still_served() {
    let p = Project::new(&[("versions/syntax.md", "syntax.md")]);
    let first = p.validate(&[]);
    let results = p.path().join("cache/results");
    let mut shards: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    shards.sort();
    assert!(shards.len() >= 2, "{shards:?}");
    let n = entries(&p.info());
    assert_eq!(n, cells(&first).len());

    // Shard one: a line of invalid UTF-8 first, and a last line torn by a crash. Shard two: a
    // torn line and a line that is not JSON between its entries.
    let (one, two) = (&shards[0], &shards[1]);
    let (text_one, text_two) = (
        std::fs::read_to_string(one).unwrap(),
        std::fs::read_to_string(two).unwrap(),
    );
    let first_line = text_one.lines().next().unwrap();
    let mut damaged = b"{\"key\":\"\xff\xfe\xfd\"}\n".to_vec();
    damaged.extend_from_slice(text_one.as_bytes());
    damaged.extend_from_slice(&first_line.as_bytes()[..first_line.len() / 2]);
    std::fs::write(one, damaged).unwrap();
    let (head, tail) = text_two.split_at(text_two.find('\n').unwrap() + 1);
    std::fs::write(
        two,
        format!("{head}{}\nnot json\n{tail}", &head[..head.len() / 3]),
    )
    .unwrap();

    let info = p.info();
    assert_eq!(entries(&info), n, "{info}");
    assert!(info.contains("4 unreadable lines in 2 files"), "{info}");

    let before = p.starts();
    let (doc, err) = p.validate_with_stderr(&[]);
    assert_eq!(p.starts(), before, "every result came from the cache");
    assert!(cells(&doc).iter().all(|c| c.2), "{:?}", cells(&doc));
    assert_eq!(verdicts(&doc), verdicts(&first));
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    let name = |p: &Path| format!("results/{}", p.file_name().unwrap().to_string_lossy());
    assert!(
        warnings[0].contains("4 unreadable lines")
            && warnings[0].contains(&name(one))
            && warnings[0].contains(&name(two))
            && warnings[0].contains("rewritten"),
        "{err}"
    );
    // Compacted: exactly the valid entries are left.
    assert_eq!(std::fs::read_to_string(one).unwrap(), text_one);
    assert_eq!(std::fs::read_to_string(two).unwrap(), text_two);
    let info = p.info();
    assert_eq!(entries(&info), n, "{info}");
    assert!(!info.contains("unreadable"), "{info}");
    let (_, err) = p.validate_with_stderr(&[]);
    assert!(!err.contains("warning"), "{err}");

    // A whole file of garbage is counted and cleared like the rest.
    std::fs::write(one, b"\xff\xff\xff\n").unwrap();
    let info = p.info();
    assert!(info.contains("1 unreadable line in 1 file"), "{info}");
    let out = docmatrix_in(p.path(), &["cache", "clear"]);
    assert!(stdout(&out).contains("removed"), "{}", stdout(&out));
    assert!(!one.exists());
}

#[test]
fn an_unusable_cache_folder_is_a_warning_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let cache = file.join("cache");
    let out = docmatrix(&[
        "validate",
        "--no-config",
        "--python",
        "3.12",
        "--cache-dir",
        cache.to_str().unwrap(),
        "fixtures/broken/valid.md",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: cache disabled: {}: ", cache.display()))
            && err.contains("a-file is a file, not a folder"),
        "{err}"
    );
    assert_eq!(err.matches("warning").count(), 1, "{err}");
}
