//! Dockerfile blocks through the whole pipeline: findings at their Markdown lines, builds per
//! version with the local python:3.X images (never pulled), blocked builds, fragments, and a
//! machine without a container engine.

use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// The 1-based line of `f` that is exactly `text`.
fn exact_line(f: &std::path::Path, text: &str) -> u64 {
    std::fs::read_to_string(f)
        .unwrap()
        .lines()
        .position(|l| l == text)
        .unwrap() as u64
        + 1
}

fn engine_answers() -> bool {
    Command::new("podman")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn rules_of(e: &Value) -> Vec<(u64, String)> {
    findings_of(e)
        .into_iter()
        .map(|(line, _, _, rule)| (line, rule))
        .collect()
}

#[test]
fn builds_per_version() {
    if !engine_answers() {
        skip_unless_ci("a podman that answers");
        return;
    }
    let f = fixture("dockerfile/builds.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1);
    let file = "dockerfile/builds.md";
    let e = |line| example(&doc, file, line);

    let multi = e(8);
    assert_eq!(multi["language"], "dockerfile");
    assert_eq!(statuses(multi), "pass pass pass pass", "{multi:#}");
    assert_eq!(multi["policy"], "ok");

    let tomllib = e(24);
    assert_eq!(statuses(tomllib), "fail fail pass pass", "{tomllib:#}");
    let r = &tomllib["results"]["3.10"];
    assert_eq!(r["md_line"], line_of(&f, "import tomllib"));
    assert!(r["error"]
        .as_str()
        .unwrap()
        .contains("No module named 'tomllib'"));

    let curl = e(32);
    assert_eq!(statuses(curl), "fail fail fail fail");
    let curl_line = line_of(&f, "&& curl -fsS");
    assert_eq!(curl["results"]["3.9"]["md_line"], curl_line);
    assert_eq!(rules_of(curl), vec![(curl_line, "DF008".to_string())]);

    let context = e(41);
    assert_eq!(statuses(context), "blocked blocked blocked blocked");
    let r = &context["results"]["3.12"];
    assert_eq!(r["md_line"], line_of(&f, "COPY requirements.txt ."));
    assert!(r["reason"]
        .as_str()
        .unwrap()
        .starts_with("needs build context: `requirements.txt`"));

    let network = e(51);
    assert_eq!(statuses(network), "blocked blocked blocked blocked");
    assert!(network["results"]["3.9"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("needs the network"));

    let annotated = e(59);
    assert_eq!(annotated["language"], "dockerfile");
    assert_eq!(statuses(annotated), "pass pass pass pass");

    let fragment = e(68);
    assert_eq!(statuses(fragment), "skipped skipped skipped skipped");
    assert_eq!(
        fragment["results"]["3.9"]["reason"],
        "not built: a fragment (no FROM)"
    );
    let frag_line = line_of(&f, "apt-get install curl");
    assert!(rules_of(fragment).contains(&(frag_line, "DF004".to_string())));

    let broken = e(74);
    assert_eq!(
        rules_of(broken),
        vec![(
            exact_line(&f, "COPY requirements.txt"),
            "syntax".to_string()
        )]
    );
    assert_eq!(broken["policy"], "fail");

    // Every build removed its image.
    let images = Command::new("podman")
        .args(["images", "--format", "{{.Repository}}"])
        .output()
        .unwrap();
    let images = String::from_utf8_lossy(&images.stdout);
    assert!(
        !images.contains("localhost/docmatrix-"),
        "images left behind: {images}"
    );
}

#[test]
fn every_rule_fires_and_not() {
    let f = fixture("dockerfile/rules.md");
    let (code, doc) = validate_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1);
    let text = std::fs::read_to_string(&f).unwrap();
    let examples = doc["examples"].as_array().unwrap();
    // The fixture alternates "Fires:" and "Does not fire:" blocks under a heading per rule.
    let mut fired = Vec::new();
    for e in examples {
        let line = e["line"].as_u64().unwrap() as usize;
        let heading = text
            .lines()
            .take(line)
            .filter(|l| l.starts_with("## "))
            .last()
            .unwrap();
        let id = heading[3..8].to_string();
        let label = text
            .lines()
            .take(line)
            .filter(|l| l.ends_with("fire:") || *l == "Fires:")
            .last()
            .unwrap();
        let rules: Vec<String> = rules_of(e).into_iter().map(|(_, r)| r).collect();
        if label == "Fires:" {
            assert!(
                rules.contains(&id),
                "{id} should fire at line {line}: {rules:?}"
            );
            fired.push(id);
        } else {
            assert!(
                rules.is_empty(),
                "nothing should fire at line {line}: {rules:?}"
            );
        }
        assert_eq!(
            statuses(e),
            "skipped skipped skipped skipped",
            "no-run blocks are not built"
        );
    }
    assert_eq!(fired.len(), 17, "{fired:?}");
    let findings: Vec<Value> = examples
        .iter()
        .map(|e| serde_json::json!({"line": e["line"], "findings": e["findings"]}))
        .collect();
    stable().bind(|| insta::assert_json_snapshot!("dockerfile_rules_findings", findings));
}

#[test]
fn without_an_engine_the_checks_still_count() {
    // A machine without podman or docker (nor bwrap: `--sandbox none`, which CI requires).
    let bin = bin_with_only(&["bash", "sh"]);
    let seed = fixture("seed/guide.md");
    let out = command()
        .args([
            "validate",
            "--no-config",
            "--format",
            "json",
            "--sandbox",
            "none",
        ])
        .arg(&seed)
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let docker = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["language"] == "dockerfile")
        .unwrap();
    assert_eq!(rules_of(docker).len(), 2);
    assert_eq!(docker["policy"], "fail");
    // Without a build context it is blocked before any engine is asked; a fragment-free
    // Dockerfile with nothing to copy says there is no engine.
    let md = tempfile::tempdir().unwrap();
    let f = md.path().join("d.md");
    std::fs::write(
        &f,
        "```dockerfile\nFROM python:3.12-slim\nRUN python -c 'print(1)'\nUSER nobody\n```\n",
    )
    .unwrap();
    let out = command()
        .args([
            "validate",
            "--no-config",
            "--format",
            "json",
            "--sandbox",
            "none",
        ])
        .arg(&f)
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &doc["examples"][0];
    assert_eq!(statuses(e), "skipped skipped skipped skipped");
    assert_eq!(
        e["results"]["3.9"]["reason"],
        "not built: no container engine"
    );
    assert_eq!(e["policy"], "ok");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn hadolint_findings_are_added() {
    let tools = root().join("target/tools");
    if !tools.join("hadolint").exists() {
        skip_unless_ci("hadolint (in target/tools)");
        return;
    }
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let seed = fixture("seed/guide.md");
    let out = command()
        .args(["validate", "--no-config", "--format", "json"])
        .arg(&seed)
        .env("PATH", path)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let docker = doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["language"] == "dockerfile")
        .unwrap();
    let hadolint: Vec<(u64, String)> = docker["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "hadolint")
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        hadolint.contains(&(line_of(&seed, "RUN apt-get update"), "DL3008".to_string())),
        "{hadolint:?}"
    );
}

#[test]
fn builds_are_cached_and_a_context_edit_rebuilds() {
    if !engine_answers() {
        skip_unless_ci("a podman that answers");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ctx")).unwrap();
    std::fs::write(dir.path().join("ctx/app.py"), "print('one')\n").unwrap();
    std::fs::write(
        dir.path().join("guide.md"),
        "```dockerfile context=ctx\nFROM python:3.12-slim\nCOPY app.py .\nRUN python app.py\nUSER nobody\n```\n\n```dockerfile\nFROM python:3.12-slim\nRUN python -c 'print(2)'\nUSER nobody\n```\n\n```dockerfile\nFROM python:3.12-slim\nRUN python -c \"import urllib.request; urllib.request.urlopen('http://pypi.org/simple/', timeout=5)\"\nUSER nobody\n```\n",
    )
    .unwrap();
    let run = || -> Value {
        let out = command()
            .args([
                "validate",
                "--no-config",
                "--format",
                "json",
                "--python",
                "3.11,3.12",
            ])
            .arg("--cache-dir")
            .arg(cache.path())
            .arg("guide.md")
            .current_dir(dir.path())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cached = |doc: &Value, i: usize| -> Vec<bool> {
        ["3.11", "3.12"]
            .iter()
            .map(|v| {
                let r = &doc["examples"][i]["results"][v];
                assert_eq!(r["status"], "pass", "{r}");
                r["cached"] == true
            })
            .collect()
    };
    // A build blocked for want of the network is stored too (its key holds `network`).
    let offline = |doc: &Value| -> Vec<bool> {
        ["3.11", "3.12"]
            .iter()
            .map(|v| {
                let r = &doc["examples"][2]["results"][v];
                assert_eq!(r["status"], "blocked", "{r}");
                assert!(
                    r["reason"]
                        .as_str()
                        .unwrap()
                        .starts_with("needs the network"),
                    "{r}"
                );
                r["cached"] == true
            })
            .collect()
    };
    let first = run();
    assert_eq!(cached(&first, 0), [false, false]);
    assert_eq!(cached(&first, 1), [false, false]);
    assert_eq!(offline(&first), [false, false]);
    let second = run();
    assert_eq!(cached(&second, 0), [true, true]);
    assert_eq!(cached(&second, 1), [true, true]);
    assert_eq!(offline(&second), [true, true]);
    // One file of the build context changes: only that Dockerfile is built again.
    std::fs::write(dir.path().join("ctx/app.py"), "print('two')\n").unwrap();
    let third = run();
    assert_eq!(cached(&third, 0), [false, false]);
    assert_eq!(cached(&third, 1), [true, true]);
}
