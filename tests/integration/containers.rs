//! Dockerfile builds with a real container engine (podman here), on the local stand-ins for
//! the official python images that scripts/python-images.sh makes. Never pulls. Skipped, with
//! a notice, where no engine answers; on CI that fails them.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use docmatrix::lang::dockerfile::build::{self, BuildOutcome, BuildRequest, Engine};
use docmatrix::lang::dockerfile::parse;

use crate::common::{root, skip_unless_ci};

/// The engine, with the python images made; `None` (and a notice) where no engine answers,
/// a failure on CI (see [`skip_unless_ci`]).
pub(crate) fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let Some(engine) = build::detect() else {
                skip_unless_ci("a container engine that answers (podman or docker)");
                return None;
            };
            let start = Instant::now();
            let out = Command::new("bash")
                .arg(root().join("scripts/python-images.sh"))
                .output()
                .expect("scripts/python-images.sh runs");
            assert!(
                out.status.success(),
                "scripts/python-images.sh failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!(
                "{} {}: images ready in {:.1?}\n{}",
                engine.kind.name(),
                engine.version,
                start.elapsed(),
                String::from_utf8_lossy(&out.stdout)
            );
            Some(engine)
        })
        .as_ref()
}

fn tag(name: &str) -> String {
    format!("localhost/docmatrix-test-{}-{name}", std::process::id())
}

fn request<'a>(dockerfile: &'a str, tag: &str) -> BuildRequest<'a> {
    BuildRequest {
        dockerfile,
        context: None,
        network: false,
        pull: false,
        timeout: Duration::from_secs(120),
        tag: tag.to_string(),
    }
}

fn image_exists(engine: &Engine, tag: &str) -> bool {
    Command::new(&engine.program)
        .args(["image", "exists", tag])
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds and checks that the build left its image behind neither on success nor failure.
fn build_clean(engine: &Engine, req: &BuildRequest) -> BuildOutcome {
    let start = Instant::now();
    let outcome = build::build(engine, req);
    eprintln!("{}: {:.2?}: {outcome:?}", req.tag, start.elapsed());
    assert!(!image_exists(engine, &req.tag), "{} left behind", req.tag);
    outcome
}

const MULTI_STAGE: &str = "FROM python:{v}-slim as builder
WORKDIR /app
COPY app.py requirements.txt ./
RUN python -m compileall -q . && mkdir -p /app/out && cp app.py /app/out/

FROM python:{v}-slim
WORKDIR /app
COPY --from=builder /app/out /app
RUN useradd -m appuser
USER appuser
RUN python app.py {v}
CMD [\"python\", \"app.py\"]
";

#[test]
fn multi_stage_with_copy_from_passes_on_3_9_and_3_12() {
    let Some(engine) = engine() else { return };
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("app.py"),
        "import sys\nwant = sys.argv[1] if len(sys.argv) > 1 else None\nhave = '%d.%d' % sys.version_info[:2]\nassert want in (None, have), (want, have)\nprint('ok', have)\n",
    )
    .unwrap();
    std::fs::write(ctx.path().join("requirements.txt"), "").unwrap();
    for v in ["3.9", "3.12"] {
        let df = MULTI_STAGE.replace("{v}", v);
        let t = tag(&format!("multi-{v}"));
        let mut req = request(&df, &t);
        req.context = Some(ctx.path());
        let outcome = build_clean(engine, &req);
        assert!(
            matches!(outcome, BuildOutcome::Pass { .. }),
            "{v}: {outcome:?}"
        );
    }
    // The user's folder is untouched.
    let mut names: Vec<_> = std::fs::read_dir(ctx.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["app.py", "requirements.txt"]);
}

#[test]
fn curl_is_not_in_slim() {
    let Some(engine) = engine() else { return };
    let df = "FROM python:3.12-slim\nWORKDIR /app\n\n# check\nRUN echo checking\nRUN curl -f http://localhost:8000/health\nCMD [\"python3\"]\n";
    let outcome = build_clean(engine, &request(df, &tag("curl")));
    let BuildOutcome::Fail {
        step,
        message,
        log_tail,
    } = outcome
    else {
        panic!("expected a failure: {outcome:?}");
    };
    assert_eq!(step, Some((None, 4)));
    assert_eq!(parse::stage_step_line(&parse::parse(df), None, 4), Some(6));
    assert_eq!(message, "RUN exited with 127: /bin/sh: 1: curl: not found");
    assert!(log_tail.contains("curl: not found"), "{log_tail}");
}

#[test]
fn tomllib_fails_on_3_10_and_passes_on_3_11() {
    let Some(engine) = engine() else { return };
    for (v, passes) in [("3.10", false), ("3.11", true)] {
        let df = format!("FROM python:{v}-slim\nRUN python -c \"import tomllib\"\n");
        let outcome = build_clean(engine, &request(&df, &tag(&format!("tomllib-{v}"))));
        match outcome {
            BuildOutcome::Pass { .. } => assert!(passes, "{v} passed"),
            BuildOutcome::Fail { step, message, .. } => {
                assert!(!passes, "{v} failed: {message}");
                assert_eq!(step, Some((None, 2)));
                assert_eq!(
                    message,
                    "RUN exited with 1: ModuleNotFoundError: No module named 'tomllib'"
                );
            }
            other => panic!("{v}: {other:?}"),
        }
    }
}

#[test]
fn without_network_a_build_that_connects_is_blocked() {
    let Some(engine) = engine() else { return };
    let df = "FROM python:3.12-slim\nRUN python -c \"import socket; socket.create_connection(('1.1.1.1', 80), 2)\"\n";
    let outcome = build_clean(engine, &request(df, &tag("net")));
    let BuildOutcome::Blocked { reason } = outcome else {
        panic!("expected blocked: {outcome:?}");
    };
    assert!(reason.starts_with("needs the network: "), "{reason}");
    assert!(reason.contains("Network is unreachable"), "{reason}");

    // A build stage that installs a compiler, as guides do: apt-get cannot resolve
    // deb.debian.org.
    let df = "FROM python:3.12-slim AS compile\nRUN apt-get update \\\n    && apt-get install -y --no-install-recommends gcc\n";
    let outcome = build_clean(engine, &request(df, &tag("apt")));
    let BuildOutcome::Blocked { reason } = outcome else {
        panic!("expected blocked: {outcome:?}");
    };
    assert!(reason.contains("Temporary failure resolving"), "{reason}");
}

#[test]
fn a_missing_base_image_is_blocked_when_pulling_is_off() {
    let Some(engine) = engine() else { return };
    let df = "FROM python:3.12-slim AS base\nRUN true\nFROM python:3.7-slim\nCOPY --from=base /etc/passwd /x\n";
    let outcome = build_clean(engine, &request(df, &tag("missing")));
    assert_eq!(
        outcome,
        BuildOutcome::Blocked {
            reason: "base image python:3.7-slim is not present (pulling is off)".into()
        }
    );
    // A stage of a bare FROM does not take its base image with it.
    let df = "FROM python:3.12-slim AS b\nFROM python:3.12-slim\nCOPY --from=b /etc/passwd /x\n";
    let outcome = build_clean(engine, &request(df, &tag("bare-from")));
    assert!(matches!(outcome, BuildOutcome::Pass { .. }), "{outcome:?}");
    assert!(image_exists(engine, "docker.io/library/python:3.12-slim"));
}

#[test]
fn a_timeout_leaves_nothing_behind() {
    let Some(engine) = engine() else { return };
    let t = tag("timeout");
    let df = "FROM python:3.12-slim\nRUN echo step\nRUN sleep 1007\n";
    let mut req = request(df, &t);
    req.timeout = Duration::from_secs(4);
    let start = Instant::now();
    let outcome = build_clean(engine, &req);
    assert_eq!(
        outcome,
        BuildOutcome::Timeout {
            after: Duration::from_secs(4)
        }
    );
    assert!(start.elapsed() < Duration::from_secs(40));
    let left = Command::new("pgrep")
        .args(["-f", "sleep 1007"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    assert!(marked_containers(engine, &t).is_empty());
}

#[test]
fn two_builds_at_once_do_not_disturb_each_other() {
    let Some(engine) = engine() else { return };
    let df = |v: &str| {
        format!("FROM python:{v}-slim\nRUN python -c \"import sys; assert sys.version_info[:2] == ({}, {})\"\nRUN echo same > /same\n", &v[..1], &v[2..])
    };
    let start = Instant::now();
    let outcomes: Vec<BuildOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = [("3.9", "a"), ("3.12", "b"), ("3.12", "c")]
            .map(|(v, n)| {
                let d = df(v);
                s.spawn(move || build_clean(engine, &request(&d, &tag(&format!("par-{n}")))))
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!("three builds in parallel: {:.2?}", start.elapsed());
    for o in outcomes {
        assert!(matches!(o, BuildOutcome::Pass { .. }), "{o:?}");
    }
}

/// The build's working containers still in the engine's storage (see build.rs).
fn marked_containers(engine: &Engine, tag: &str) -> Vec<String> {
    let out = Command::new(&engine.program)
        .args(["info", "--format", "{{.Store.GraphRoot}}"])
        .output()
        .unwrap();
    let graph = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let ps = Command::new(&engine.program)
        .args(["ps", "--all", "--external", "--no-trunc", "--quiet"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|id| {
            let state = Path::new(&graph)
                .join("overlay-containers")
                .join(id)
                .join("userdata/buildah.json");
            std::fs::read_to_string(state).is_ok_and(|s| s.contains(tag))
        })
        .map(str::to_string)
        .collect()
}
