//! The result cache: an [`Executor`] that serves a job's result from disk when nothing that can
//! change it has changed, and runs it with the wrapped executor otherwise.
//!
//! The key is a BLAKE3 hash of everything that can change a result: docmatrix's version, the
//! run options that matter (sandbox, isolation), the interpreter (real path, exact version, the
//! binary's size and mtime, the mtimes of its site-packages folders, which change when a package
//! is installed or removed), the job's timeout, and every block of the job in order (its code
//! and its `raises`) — so a group's later block re-runs when an earlier one changes. Entries are
//! JSON files written atomically (a temporary file renamed into place), so concurrent runs can
//! share a cache. Timeouts, unavailable interpreters and runs that could not start are never
//! stored.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Executor, JobResult};
use crate::interp::Interpreter;
use crate::model::Status;
use crate::plan::Job;
use crate::target::python::BlockResult;

/// Bumped whenever the stored format or the meaning of a result changes.
const FORMAT: &str = "docmatrix-cache-1";

/// Where the cache lives, and how large or old it may grow.
#[derive(Debug, Clone)]
pub struct Cache {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub max_age: Duration,
}

/// The default size limit: entries beyond it are pruned, oldest first.
pub const MAX_BYTES: u64 = 256 << 20;
/// The default age limit.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

impl Cache {
    /// A cache in `dir` with the default limits.
    pub fn new(dir: PathBuf) -> Cache {
        Cache {
            dir,
            max_bytes: MAX_BYTES,
            max_age: MAX_AGE,
        }
    }

    /// `$XDG_CACHE_HOME/docmatrix`, else `~/.cache/docmatrix`.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .map(|d| d.join("docmatrix"))
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{}.json", &key[2..]))
    }

    fn load(&self, key: &str) -> Option<Entry> {
        let text = std::fs::read_to_string(self.path_of(key)).ok()?;
        let e: Entry = serde_json::from_str(&text).ok()?;
        (e.key == key).then_some(e)
    }

    fn store(&self, key: &str, entry: &Entry) -> std::io::Result<()> {
        let path = self.path_of(key);
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        tmp.write_all(serde_json::to_string(entry)?.as_bytes())?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The result stored under `key`, marked as cached (for executors that make their own keys,
    /// such as Dockerfile builds).
    pub fn load_result(&self, key: &str) -> Option<JobResult> {
        let e = self.load(key)?;
        Some(JobResult {
            blocks: e.blocks,
            duration: Duration::from_millis(e.duration_ms),
            stderr: e.stderr,
            stdout: e.stdout,
            cached: true,
        })
    }

    /// Stores `r` under `key`; a cache that cannot be written only costs speed.
    pub fn store_result(&self, key: &str, r: &JobResult) {
        let entry = Entry {
            key: key.to_string(),
            blocks: r.blocks.clone(),
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            stderr: r.stderr.clone(),
            stdout: r.stdout.clone(),
        };
        let _ = self.store(key, &entry);
    }

    /// Removes everything (`docmatrix cache clear`); returns the number of entries removed.
    pub fn clear(&self) -> std::io::Result<usize> {
        let n = self.entries().len();
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(n),
        }
    }

    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let mut out = Vec::new();
        for sub in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if !sub.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            for f in std::fs::read_dir(sub.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(m) = f.metadata() {
                    if m.is_file() {
                        out.push((f.path(), m.len(), m.modified().unwrap_or(UNIX_EPOCH)));
                    }
                }
            }
        }
        out
    }

    /// (entries, bytes) now in the cache.
    pub fn size(&self) -> (usize, u64) {
        let e = self.entries();
        (e.len(), e.iter().map(|(_, n, _)| n).sum())
    }

    /// Drops entries older than `max_age`, then the oldest until the cache fits `max_bytes`.
    pub fn prune(&self) -> usize {
        let now = SystemTime::now();
        let mut entries = self.entries();
        entries.sort_by_key(|(_, _, t)| *t);
        let mut total: u64 = entries.iter().map(|(_, n, _)| n).sum();
        let mut removed = 0;
        for (path, len, t) in entries {
            let old = now.duration_since(t).unwrap_or_default() > self.max_age;
            if old || total > self.max_bytes {
                if std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                    total = total.saturating_sub(len);
                }
            } else {
                break;
            }
        }
        removed
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    key: String,
    blocks: Vec<BlockResult>,
    duration_ms: u64,
    stderr: String,
    stdout: String,
}

/// What identifies an interpreter's behaviour, beyond its path and version.
fn interpreter_fingerprint(i: &Interpreter) -> String {
    let stamp = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
            format!("{}:{}", m.len(), t.map_or(0, |d| d.as_nanos()))
        })
    };
    let mut parts = vec![
        i.path.display().to_string(),
        i.version.clone(),
        stamp(&i.path).unwrap_or_default(),
    ];
    let feature: String = i.version.split('.').take(2).collect::<Vec<_>>().join(".");
    if let Some(prefix) = i.path.parent().and_then(Path::parent) {
        for site in [
            prefix.join(format!("lib/python{feature}/site-packages")),
            prefix.join(format!("local/lib/python{feature}/dist-packages")),
            prefix.join("lib/python3/dist-packages"),
        ] {
            if let Some(s) = stamp(&site) {
                parts.push(format!("{}={s}", site.display()));
            }
        }
    }
    parts.join("\n")
}

/// Serves results from a [`Cache`], running the others with `inner`.
pub struct CachingExecutor<'a> {
    inner: &'a dyn Executor,
    cache: Cache,
    /// By interpreter path: its fingerprint.
    interpreters: BTreeMap<PathBuf, String>,
    /// The run options that can change a result.
    salt: String,
    pub hits: AtomicUsize,
    pub misses: AtomicUsize,
}

impl<'a> CachingExecutor<'a> {
    pub fn new(
        inner: &'a dyn Executor,
        cache: Cache,
        interpreters: &[Interpreter],
        options: &str,
    ) -> Self {
        CachingExecutor {
            inner,
            cache,
            interpreters: interpreters
                .iter()
                .map(|i| (i.path.clone(), interpreter_fingerprint(i)))
                .collect(),
            salt: format!(
                "{FORMAT}\n{}\n{}\n{options}",
                env!("CARGO_PKG_VERSION"),
                inner.sandbox()
            ),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
        }
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The key of `job`: a hex BLAKE3 hash.
    pub fn key(&self, job: &Job) -> String {
        let mut h = blake3::Hasher::new();
        let mut field = |s: &[u8]| {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s);
        };
        field(self.salt.as_bytes());
        let fp = self
            .interpreters
            .get(&job.interpreter)
            .map_or("", String::as_str);
        field(job.interpreter.as_os_str().as_encoded_bytes());
        field(fp.as_bytes());
        field(&job.timeout.as_millis().to_le_bytes());
        for m in &job.members {
            field(m.code.as_bytes());
            field(m.raises.as_deref().unwrap_or("-").as_bytes());
        }
        h.finalize().to_hex().to_string()
    }
}

/// Whether a result may be stored: it ran to an end of its own.
fn storable(r: &JobResult) -> bool {
    r.blocks.iter().all(|b| match b.status {
        Status::Pass | Status::Fail => !b.error.as_deref().is_some_and(|e| {
            e.starts_with("cannot run") || e.starts_with("the interpreter failed")
        }),
        Status::Skipped => true,
        Status::Timeout | Status::NotApplicable | Status::Unavailable | Status::Blocked => false,
    })
}

impl Executor for CachingExecutor<'_> {
    fn execute(&self, job: &Job) -> JobResult {
        // Only Python results are cached: a shell or build result can depend on more than the
        // block (a build context, the engine's images).
        if job.kind != crate::plan::JobKind::Python {
            return self.inner.execute(job);
        }
        let key = self.key(job);
        if let Some(e) = self.cache.load(&key) {
            if e.blocks.len() == job.members.len() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return JobResult {
                    blocks: e.blocks,
                    duration: Duration::from_millis(e.duration_ms),
                    stderr: e.stderr,
                    stdout: e.stdout,
                    cached: true,
                };
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let r = self.inner.execute(job);
        if storable(&r) {
            let entry = Entry {
                key: key.clone(),
                blocks: r.blocks.clone(),
                duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
                stderr: r.stderr.clone(),
                stdout: r.stdout.clone(),
            };
            // A cache that cannot be written only costs speed.
            let _ = self.cache.store(&key, &entry);
        }
        r
    }

    fn sandbox(&self) -> &'static str {
        self.inner.sandbox()
    }
}
