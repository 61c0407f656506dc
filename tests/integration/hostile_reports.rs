//! Reports that are safe to publish: `fixtures/hostile/report-injection.md` fails on purpose
//! with exception messages, stderr, a session's output, a shell error and a Dockerfile finding
//! that carry terminal escape sequences, `\r`, bidi controls, HTML, Markdown and GitHub Actions
//! workflow commands. Every output of docmatrix (stdout in every format, every `--report`, the
//! badges, the step summary) must show them as inert text (docs/security.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::ci_reports::{chromium, headless, scratch, validate_with_schema};
use crate::common::*;

const FIXTURE: &str = "fixtures/hostile/report-injection.md";
const FORMATS: [&str; 7] = [
    "terminal", "json", "junit", "github", "markdown", "sarif", "html",
];

/// The characters no output may hold raw: C0 controls but `\t` and `\n`, DEL, C1 controls,
/// bidi embeddings, overrides and isolates, line and paragraph separators, and the two
/// non-characters XML 1.0 forbids. (Written out here, not taken from docmatrix.)
fn is_forbidden(c: char) -> bool {
    let u = c as u32;
    (u < 0x20 && c != '\t' && c != '\n')
        || (0x7f..=0x9f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || u == 0x2028
        || u == 0x2029
        || u == 0xfffe
        || u == 0xffff
}

/// The forbidden characters of `text`, escaped for a message.
fn forbidden(text: &str) -> Vec<String> {
    text.chars()
        .filter(|&c| is_forbidden(c))
        .map(|c| format!("{:?}", c))
        .collect()
}

/// One workflow command as the GitHub Actions runner reads a line of a step's output
/// (`ActionCommand.TryParseV2`, then the legacy `TryParse`): (command, data).
fn command_of(line: &str) -> Option<(String, String)> {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix("::") {
        if let Some(end) = rest.find("::") {
            let info = &rest[..end];
            let name = info.split(' ').next().unwrap_or("");
            if !name.is_empty() {
                return Some((name.to_string(), rest[end + 2..].to_string()));
            }
        }
    }
    // The legacy form is found anywhere in a line.
    let at = line.find("##[")?;
    let rest = &line[at + 3..];
    let end = rest.find(']')?;
    let name = rest[..end].split(' ').next().unwrap_or("");
    (!name.is_empty()).then(|| (name.to_string(), rest[end + 1..].to_string()))
}

/// Every command the runner would carry out on `text` (it splits lines at `\n` and `\r`),
/// with `::stop-commands::TOKEN` … `::TOKEN::` honoured.
fn workflow_commands(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stopped: Option<String> = None;
    for line in text.split(['\n', '\r']) {
        let Some((name, data)) = command_of(line) else {
            continue;
        };
        match &stopped {
            Some(token) if name.eq_ignore_ascii_case(token) => stopped = None,
            Some(_) => {}
            None => {
                if name == "stop-commands" {
                    stopped = Some(data.clone());
                }
                out.push((name, data));
            }
        }
    }
    out
}

/// Checks one output stream: no forbidden character, no workflow command, no docmatrix's own
/// colour or any other escape sequence.
fn assert_inert(what: &str, text: &str) {
    let bad = forbidden(text);
    assert!(bad.is_empty(), "{what}: raw {bad:?}");
    let commands = workflow_commands(text);
    assert!(
        commands.is_empty(),
        "{what}: workflow commands {commands:?}"
    );
}

/// The outputs of one `validate` of the fixture on Python 3.12: stdout as JSON, every format
/// as a `--report`, the badges, the GitHub step summary.
struct Run {
    dir: PathBuf,
    json: String,
}

impl Run {
    fn report(&self, format: &str) -> String {
        read(&self.dir.join(format!("report.{format}")))
    }
}

fn read(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("{}: not UTF-8: {e}", path.display()))
}

fn validate_in(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut c = command();
    c.args(["validate", "--no-config", "--python", "3.12"])
        .args(extra)
        .arg(FIXTURE)
        .current_dir(root())
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"));
    c.output().expect("docmatrix runs")
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = scratch("hostile");
        let specs: Vec<String> = FORMATS
            .iter()
            .map(|f| format!("{f}={}", dir.join(format!("report.{f}")).display()))
            .collect();
        let mut args = vec!["--format", "json", "--color", "never"];
        for s in &specs {
            args.extend(["--report", s.as_str()]);
        }
        let badges = dir.join("badges");
        let badges = badges.to_string_lossy().into_owned();
        args.extend(["--badges", badges.as_str()]);
        let out = validate_in(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let json = String::from_utf8(out.stdout).expect("UTF-8 on stdout");
        Run { dir, json }
    })
}

/// The opening fence of the fixture's block holding `needle`.
fn fence_before(needle: &str) -> u64 {
    let text = read(&root().join(FIXTURE));
    let lines: Vec<&str> = text.lines().collect();
    let at = line_of(&root().join(FIXTURE), needle) as usize - 1;
    (0..at)
        .rev()
        .find(|&i| lines[i].starts_with("```"))
        .unwrap() as u64
        + 1
}

/// The report, as a value.
fn doc() -> Value {
    serde_json::from_str(&run().json).expect("stdout is JSON")
}

#[test]
fn the_fixture_is_as_hostile_as_it_says() {
    // The fixture's texts reach the report: what the other tests see inert is really there.
    let doc = doc();
    let examples = doc["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 11);
    assert!(examples.iter().all(|e| e["policy"] == "fail"), "{doc:#}");
    let all = doc.to_string();
    for needle in [
        r"\\x1b[31mred",
        r"\\x1b]8;;https://evil.example/",
        r"\\x1b]52;c;",
        r"3 examples failed\\r\\x1b[2Kall examples passed\\x07",
        r"\\u202eexe.txt\\u202c",
        "<script>alert(1)</script>",
        "onerror=alert(1)",
        "::add-mask::secret",
        r"nul\\x00 vt\\x0b",
        r"nel\\x85",
        r"Evil\\x1b[31m::error::title\\u202e",
        r"raw \\x1b[35mmagenta",
        r"exit status 3: \\x1b[31m::error::from bash",
        r"+\\x1b[31mred\\x1b[0m",
        r"unknown instruction `RUN\\x1b[31m`",
    ] {
        assert!(all.contains(needle), "{needle} not in {all}");
    }
    // Python's own messages: escaped as `repr` writes them, the rest of the text as it was.
    let e = example(&doc, FIXTURE, 26);
    assert_eq!(
        e["results"]["3.12"]["error"],
        "ValueError: 3 examples failed\\r\\x1b[2Kall examples passed\\x07 \\u202eexe.txt\\u202c \
         \\u2066isolated\\u2069 \\u202aLRE\\u202bRLE\\u202dLRO\\u2067RLI\\u2068FSI"
    );
    // stderr keeps its lines, and each is escaped.
    let stderr = e["results"]["3.12"]["stderr"].as_str().unwrap();
    assert!(stderr.contains("\n    raise ValueError(msg)\n"), "{stderr}");
    let e = example(&doc, FIXTURE, fence_before("commands = ("));
    let stderr = e["results"]["3.12"]["stderr"].as_str().unwrap();
    assert!(stderr.contains("\n::error::injected\n"), "{stderr}");
}

#[test]
fn stdout_holds_nothing_raw_in_any_format() {
    let dir = scratch("hostile-stdout");
    for format in FORMATS {
        let out = validate_in(&dir, &["--format", format, "--color", "never"]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let err = String::from_utf8(out.stderr).expect("UTF-8");
        assert_inert(&format!("{format} stderr"), &err);
        if format == "github" {
            assert_github(&text);
            assert_evil_title(&text);
        } else {
            assert_inert(&format!("--format {format}"), &text);
        }
    }
    // In colour, the only escape sequences are docmatrix's own colours.
    let out = validate_in(&dir, &["--color", "always"]);
    let text = stdout(&out);
    let ours: BTreeSet<&str> = [
        "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m",
    ]
    .into_iter()
    .collect();
    for (i, _) in text.match_indices('\x1b') {
        let seq = &text[i..text[i..].find('m').map_or(text.len(), |m| i + m + 1)];
        assert!(ours.contains(seq), "a foreign escape sequence {seq:?}");
    }
    assert!(text.contains("\x1b[31m"), "colour was asked for");
    let stripped: String = ours.iter().fold(text.clone(), |t, seq| t.replace(seq, ""));
    assert_inert("--color always", &stripped);
}

#[test]
fn every_report_file_holds_nothing_raw() {
    let r = run();
    assert_inert("stdout (json)", &r.json);
    for format in FORMATS {
        let text = r.report(format);
        if format == "github" {
            assert_github(&text);
            assert_evil_title(&text);
        } else {
            assert_inert(&format!("--report {format}"), &text);
        }
    }
    let badges = r.dir.join("badges");
    let mut n = 0;
    for entry in std::fs::read_dir(&badges).unwrap() {
        let path = entry.unwrap().path();
        assert_inert(&path.display().to_string(), &read(&path));
        n += 1;
    }
    assert_eq!(n, 5, "examples and python-3.12 (svg, json), index.html");
    // The step summary is the Markdown report.
    let summary = read(&r.dir.join("summary.md"));
    assert_inert("GITHUB_STEP_SUMMARY", &summary);
    assert_eq!(summary.trim_end(), r.report("markdown").trim_end());
}

/// The `github` format: its commands are docmatrix's (annotations and the group), and the
/// terminal report inside the group is bracketed by `::stop-commands::`.
fn assert_github(text: &str) {
    let bad = forbidden(text);
    assert!(bad.is_empty(), "github: raw {bad:?}");
    let commands = workflow_commands(text);
    let names: Vec<&str> = commands.iter().map(|(n, _)| n.as_str()).collect();
    let n = names.len();
    assert!(n >= 4, "{names:?}");
    assert!(
        names[..n - 3]
            .iter()
            .all(|c| ["error", "warning", "notice"].contains(c)),
        "annotations only: {names:?}"
    );
    assert_eq!(names[n - 3..n - 1], ["group", "stop-commands"], "{names:?}");
    let token = &commands[n - 2].1;
    assert!(
        token.starts_with("docmatrix-") && token.len() == 42,
        "{token}"
    );
    assert_eq!(names[n - 1], "endgroup", "{names:?}");
    // The token resumes processing right before `::endgroup::`, and is nowhere else.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[lines.len() - 2], format!("::{token}::"));
    assert_eq!(text.matches(token.as_str()).count(), 2);
    // Inside the bracket, not even a line the runner would otherwise take for a command.
    let start = lines
        .iter()
        .position(|l| l.starts_with("::stop-commands::"))
        .unwrap();
    for l in &lines[start + 1..lines.len() - 2] {
        assert!(command_of(l).is_none(), "{l}");
    }
    // Each annotation is one line whose properties and message are escaped: the message, once
    // unescaped as the runner does, is the report's text.
    for l in &lines[..start - 1] {
        let rest = ["::error ", "::warning ", "::notice "]
            .iter()
            .find_map(|p| l.strip_prefix(p))
            .expect("an annotation");
        let (props, data) = rest.split_once("::").expect("props::data");
        for p in props.split(',') {
            let (k, _) = p.split_once('=').expect("key=value");
            assert!(
                ["file", "line", "endLine", "col", "endColumn", "title"].contains(&k),
                "{l}"
            );
        }
        let message = data
            .replace("%0A", "\n")
            .replace("%0D", "\r")
            .replace("%25", "%");
        assert!(forbidden(&message).is_empty(), "{message}");
    }
}

/// The fixture's annotation of the exception class named `Evil\x1b[31m::error::title\u202e,:%0A`:
/// its title property is escaped.
fn assert_evil_title(text: &str) {
    let line = line_of(&root().join(FIXTURE), "raise Evil(");
    let ann = text
        .lines()
        .find(|l| l.contains(&format!(",line={line},")))
        .unwrap_or_else(|| panic!("no annotation at line {line}: {text}"));
    assert!(
        ann.contains(
            r"title=docmatrix%3A Evil\x1b[31m%3A%3Aerror%3A%3Atitle\u202e%2C%3A%250A on Python 3.12::"
        ),
        "{ann}"
    );
}

#[test]
fn junit_is_xml_and_keeps_the_texts() {
    let xml = run().report("junit");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let json = doc_failures();
    let mut seen = 0;
    for node in doc.descendants().filter(|n| n.is_element()) {
        for a in node.attributes() {
            assert!(
                forbidden(a.value()).is_empty(),
                "{}: {:?}",
                a.name(),
                a.value()
            );
        }
        if let Some(t) = node.text() {
            assert!(forbidden(t).is_empty(), "{t:?}");
        }
        if node.has_tag_name("failure") {
            let message = node.attribute("message").unwrap();
            assert!(json.contains(message), "{message} not among {json:?}");
            seen += 1;
        }
    }
    assert_eq!(
        seen, 11,
        "10 failing cells and the Dockerfile's static case"
    );
    // `::` and `##[` at the start of a line are character references, read back as written.
    assert!(xml.contains("&#58;:add-mask::secret"), "{xml}");
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(text.contains("\n::add-mask::secret\n::error::injected\n"));
    assert!(text.contains("##[error]legacy command"));
    let file = scratch("hostile-junit").join("junit.xml");
    std::fs::write(&file, &xml).unwrap();
    validate_with_schema("junit", &file);
}

/// The `error` of every failing cell, and the Dockerfile's finding as the static case reads.
fn doc_failures() -> BTreeSet<String> {
    let doc = doc();
    let mut out = BTreeSet::new();
    for e in doc["examples"].as_array().unwrap() {
        for r in e["results"].as_object().unwrap().values() {
            if let Some(err) = r["error"].as_str() {
                out.insert(err.to_string());
            }
        }
        for f in e["findings"].as_array().into_iter().flatten() {
            out.insert(format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            ));
        }
    }
    out
}

#[test]
fn sarif_is_valid_and_keeps_the_texts() {
    let text = run().report("sarif");
    let sarif: Value = serde_json::from_str(&text).unwrap();
    let messages: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 11);
    assert!(messages.iter().any(|m| m.contains("\\u202eexe.txt")));
    assert!(
        !text.contains("##["),
        "the legacy command form is `##\\u005b` in JSON"
    );
    let file = scratch("hostile-sarif").join("report.sarif");
    std::fs::write(&file, &text).unwrap();
    validate_with_schema("sarif", &file);
}

#[test]
fn markdown_makes_no_html_link_image_or_broken_table() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let md = run().report("markdown");
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH;
    let mut codes = Vec::new();
    let mut blocks = Vec::new();
    let (mut in_block, mut cells, mut rows) = (false, 0, Vec::new());
    for event in Parser::new_ext(&md, opts) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("HTML in the Markdown: {h}"),
            Event::InlineMath(m) | Event::DisplayMath(m) => panic!("math: {m}"),
            Event::Start(Tag::Link { dest_url, .. }) => panic!("a link to {dest_url}"),
            Event::Start(Tag::Image { dest_url, .. }) => panic!("an image of {dest_url}"),
            Event::Start(Tag::HtmlBlock) => panic!("an HTML block"),
            Event::Start(Tag::CodeBlock(_)) => {
                in_block = true;
                blocks.push(String::new());
            }
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Text(t) if in_block => blocks.last_mut().unwrap().push_str(&t),
            Event::Code(c) => codes.push(c.into_string()),
            Event::Start(Tag::TableRow) | Event::Start(Tag::TableHead) => cells = 0,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => rows.push(cells),
            _ => {}
        }
    }
    // One table: the head and the 11 failing examples, 4 cells each (example, 3.12, works on,
    // verdict).
    assert_eq!(rows, vec![4; 12], "{md}");
    // Each fenced block is the failing line, whole.
    assert_eq!(blocks.len(), 9, "{blocks:?}");
    assert!(blocks.iter().all(|b| b.lines().count() == 1), "{blocks:?}");
    assert!(blocks.contains(
        &"raise ValueError(\"raw \\x1b[35mmagenta\\x1b[0m and \\u202edesrever\\u202c\")\n"
            .to_string()
    ));
    // The hostile texts are there, as code.
    let all = codes.join("\n");
    for needle in [
        "<script>alert(1)</script> \"><img src=x onerror=alert(1)> | broken | table | ``` `` `",
        "[link](javascript:alert(1)) ![img](https://evil.example/x.png)",
        "ValueError: ::add-mask::secret",
        "Evil\\x1b[31m::error::title\\u202e,:%0A: <b>bold</b>",
    ] {
        assert!(all.contains(needle), "{needle} not in {all}");
    }
}

#[test]
fn html_escapes_everything_and_runs_no_script() {
    let html = run().report("html");
    let index = read(&run().dir.join("badges/index.html"));
    for (what, page) in [("--report html", &html), ("index.html", &index)] {
        for raw in [
            "<script",
            "<img",
            "<svg onload",
            "href=\"javascript:",
            "<a href=\"javascript",
        ] {
            assert!(!page.contains(raw), "{what}: {raw}");
        }
        // Every `onerror=` is the escaped text of an `<img` tag.
        assert_eq!(
            page.matches("onerror=").count(),
            page.matches("&lt;img src=x onerror=").count(),
            "{what}"
        );
    }
    let Some(chromium) = chromium() else { return };
    let dir = scratch("hostile-html");
    let url = format!("file://{}", run().dir.join("report.html").display());
    let (dom, _) = headless(&chromium, &dir.join("profile"), &["--dump-dom"], &url);
    assert!(dom.contains("<table class=\"matrix\">"), "{dom}");
    let body = &dom[dom.find("<body").unwrap()..];
    let body = &body[..body.find('>').unwrap()];
    assert_eq!(body, "<body", "a script ran: {dom}");
    assert!(!dom.contains("data-pwned=\""), "a script ran: {dom}");
    for element in ["<script", "<img", "<a href=\"javascript"] {
        assert!(!dom.contains(element), "{element} in the DOM");
    }
    // The texts are on the page, as text.
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(dom.contains("3 examples failed\\r\\x1b[2Kall examples passed\\x07"));
    assert!(
        dom.contains("::add-mask::secret\n::error::injected\n::stop-commands::pwned"),
        "stderr, its lines kept"
    );
    assert!(forbidden(&dom).is_empty());
}

/// Makes what varies between runs fixed: durations, the cache, the sandbox.
fn normalised_json() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let mut doc = doc();
        doc["sandbox"] = "bwrap".into();
        for e in doc["examples"].as_array_mut().unwrap() {
            for (_, r) in e["results"].as_object_mut().unwrap() {
                let r = r.as_object_mut().unwrap();
                if r.contains_key("duration_ms") {
                    r.insert("duration_ms".into(), 25.into());
                }
                r.remove("cached");
            }
        }
        let path = scratch("hostile-snapshots").join("report.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        path
    })
    .clone()
}

#[test]
fn snapshots_of_every_format() {
    let json = normalised_json();
    for format in FORMATS {
        let out = docmatrix(&[
            "merge",
            &json.to_string_lossy(),
            "--format",
            format,
            "--color",
            "never",
        ]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        if format == "github" {
            assert_github(&text);
        } else {
            assert_inert(format, &text);
        }
        let mut merge = cmd(&[
            "merge",
            &json.to_string_lossy(),
            "--format",
            format,
            "--color",
            "never",
        ]);
        let mut settings = stable_cmd();
        settings.add_redaction(".args[1]", "[report.json]");
        settings.bind(|| {
            insta_cmd::assert_cmd_snapshot!(format!("hostile_reports_{format}"), merge);
        });
    }
}

#[test]
fn a_report_read_back_is_cleaned_too() {
    // `merge` reads JSON that may not be docmatrix's: raw controls in it are escaped as well.
    let dir = scratch("hostile-merge");
    let mut doc = doc();
    let e = &mut doc["examples"][0];
    e["file"] = "docs/\u{1b}[31mevil\u{202e}.md".into();
    e["results"]["3.12"]["error"] = "ValueError: \u{1b}]52;c;eA==\u{7}\r\n::add-mask::x".into();
    e["results"]["3.12"]["stderr"] = "one\r\n::error::two\rthree\u{85}\n".into();
    let path = dir.join("foreign.json");
    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
    for format in FORMATS {
        let out = docmatrix(&["merge", &path.to_string_lossy(), "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        if format == "github" {
            assert_github(&text);
        } else {
            assert_inert(format, &text);
        }
    }
    let out = docmatrix(&["merge", &path.to_string_lossy(), "--format", "json"]);
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &merged["examples"][0];
    assert_eq!(e["file"], "docs/\\x1b[31mevil\\u202e.md");
    assert_eq!(
        e["results"]["3.12"]["error"],
        "ValueError: \\x1b]52;c;eA==\\x07\\r\\n::add-mask::x"
    );
    assert_eq!(
        e["results"]["3.12"]["stderr"],
        "one\n::error::two\\rthree\\x85\n"
    );
}

#[test]
fn paths_info_strings_and_annotations_from_the_markdown() {
    // A Markdown file whose name, fence info strings and annotation keys hold controls.
    let dir = scratch("hostile-names");
    let name = "guide\u{1b}[31m\u{202e}dm.md";
    std::fs::write(
        dir.join(name),
        "# x\n\n```python frob\u{1b}[2J=1\nraise ValueError('x')\n```\n\n```\u{1b}[31mlang\u{7}\ntext\n```\n",
    )
    .unwrap();
    for format in FORMATS {
        let out = Command::new(env!("CARGO_BIN_EXE_docmatrix"))
            .args([
                "validate",
                "--no-config",
                "--python",
                "3.12",
                "--format",
                format,
            ])
            .args(["--color", "never", "--verbose", "."])
            .current_dir(&dir)
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        if format == "github" {
            assert_github(&text);
        } else {
            assert_inert(format, &text);
        }
        if format == "json" {
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(doc["examples"][0]["file"], "./guide\\x1b[31m\\u202edm.md");
            assert_eq!(
                doc["other_blocks"],
                serde_json::json!({"\\x1b[31mlang\\x07": 1})
            );
            let warnings = doc["warnings"].to_string();
            assert!(warnings.contains("frob\\\\x1b[2J"), "{warnings}");
        }
    }
}
