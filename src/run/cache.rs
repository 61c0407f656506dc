//! The result cache: an [`Executor`] that serves a job's result from disk when nothing that can
//! change it has changed, and runs it with the wrapped executor otherwise.
//!
//! The key is a BLAKE3 hash of everything that can change a result: docmatrix's version, the
//! run options that matter (sandbox, isolation), the interpreter (real path, exact version, the
//! binary's size and mtime, the mtimes of its site-packages folders, which change when a package
//! is installed or removed), the job's timeout, and every block of the job in order (its code
//! and its `raises`) — so a group's later block re-runs when an earlier one changes.
//!
//! Entries are JSON lines in [`SHARDS`] files (`results/0.jsonl` … `results/f.jsonl`, by the
//! key's first hex digit), each appended with one `write` on a descriptor opened `O_APPEND`,
//! so concurrent runs can share a cache and a reader never sees half an entry it would accept
//! (a torn line does not parse and is ignored). One file per entry would cost an inode per
//! result, which on some file systems (ext4 without a journal, after many deletions) costs
//! more than running the example. A shard is read once per run, on its first lookup, and
//! indexed by key without parsing; only hits are parsed. Timeouts, unavailable interpreters
//! and runs that could not start are never stored.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Executor, JobResult};
use crate::interp::Interpreter;
use crate::model::Status;
use crate::plan::Job;
use crate::target::python::BlockResult;

/// Bumped whenever the stored format or the meaning of a result changes.
const FORMAT: &str = "docmatrix-cache-2";

/// How many files the entries are spread over (one per first hex digit of the key).
pub const SHARDS: usize = 16;

/// The folder of the shard files, inside the cache folder.
const RESULTS: &str = "results";

/// How often, at most, the entries are read through to drop those older than the age limit
/// (the size limit is checked after every run: it needs only the files' sizes).
const AGE_SCAN_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Where the cache lives, and how large or old it may grow.
#[derive(Debug, Clone)]
pub struct Cache {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub max_age: Duration,
    shards: Arc<[Mutex<Shard>]>,
}

/// One shard file as this run knows it: read once, then what this run added.
#[derive(Debug, Default)]
struct Shard {
    loaded: bool,
    /// Key → its latest line (without the newline).
    lines: HashMap<String, Arc<str>>,
    /// The shard file, open for appending once this run has stored into it.
    append: Option<File>,
}

/// The default size limit: entries beyond it are pruned, oldest first.
pub const MAX_BYTES: u64 = 256 << 20;
/// The default age limit.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The key of a stored line: every line starts `{"key":"<64 hex digits>"`.
fn key_of(line: &str) -> Option<&str> {
    let k = line.strip_prefix("{\"key\":\"")?.get(..64)?;
    k.bytes().all(|b| b.is_ascii_hexdigit()).then_some(k)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Cache {
    /// A cache in `dir` with the default limits.
    pub fn new(dir: PathBuf) -> Cache {
        Cache {
            dir,
            max_bytes: MAX_BYTES,
            max_age: MAX_AGE,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
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

    fn shard_index(key: &str) -> usize {
        key.get(..1)
            .and_then(|c| usize::from_str_radix(c, 16).ok())
            .unwrap_or(0)
            % SHARDS
    }

    fn shard_path(&self, i: usize) -> PathBuf {
        self.dir.join(RESULTS).join(format!("{i:x}.jsonl"))
    }

    fn shard(&self, i: usize) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn load(&self, key: &str) -> Option<Entry> {
        let mut e: Entry = serde_json::from_str(&self.line(key)?).ok()?;
        // serde_json gives a one-block list room for four: a run serving 40,000 results
        // from the cache kept 16 MB of empty room.
        e.blocks.shrink_to_fit();
        (e.key == key).then_some(e)
    }

    /// The stored line of `key`, from its shard (read on the first lookup).
    fn line(&self, key: &str) -> Option<Arc<str>> {
        let i = Self::shard_index(key);
        {
            let mut shard = self.shard(i);
            if !shard.loaded {
                shard.loaded = true;
                if let Ok(text) = std::fs::read_to_string(self.shard_path(i)) {
                    for line in text.lines() {
                        if let Some(k) = key_of(line) {
                            shard.lines.insert(k.to_string(), line.into());
                        }
                    }
                }
            }
            shard.lines.get(key).cloned()
        }
    }

    fn store(&self, key: &str, entry: &impl Serialize) -> std::io::Result<()> {
        let i = Self::shard_index(key);
        let mut line = serde_json::to_string(entry)?;
        if key_of(&line) != Some(key) {
            return Err(std::io::Error::other("unexpected entry layout"));
        }
        let mut shard = self.shard(i);
        if shard.append.is_none() {
            std::fs::create_dir_all(self.dir.join(RESULTS))?;
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(self.shard_path(i))?;
            shard.append = Some(f);
        }
        line.push('\n');
        if let Some(f) = shard.append.as_mut() {
            // One write: concurrent appenders never interleave inside it.
            f.write_all(line.as_bytes())?;
        }
        line.pop();
        shard.lines.insert(key.to_string(), line.into());
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
            cpu: None,
        })
    }

    /// Stores `r` under `key`; a cache that cannot be written only costs speed.
    pub fn store_result(&self, key: &str, r: &JobResult) {
        let entry = Entry {
            key: key.to_string(),
            at: now_secs(),
            blocks: r.blocks.clone(),
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            stderr: r.stderr.clone(),
            stdout: r.stdout.clone(),
        };
        let _ = self.store(key, &entry);
    }

    /// The output of a static checker stored under `key` (see [`crate::target::tool`]).
    pub fn load_tool(&self, key: &str) -> Option<ToolOutput> {
        let e: ToolEntry = serde_json::from_str(&self.line(key)?).ok()?;
        (e.key == key).then_some(ToolOutput {
            code: e.code,
            stdout: e.stdout,
            stderr: e.stderr,
        })
    }

    /// Stores a static checker's output under `key`; a cache that cannot be written only costs
    /// speed.
    pub fn store_tool(&self, key: &str, out: &ToolOutput) {
        let entry = ToolEntry {
            key: key.to_string(),
            at: now_secs(),
            code: out.code,
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
        };
        let _ = self.store(key, &entry);
    }

    /// Removes everything (`docmatrix cache clear`); returns the number of entries removed.
    pub fn clear(&self) -> std::io::Result<usize> {
        let n = self.size().0;
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(n),
        }
    }

    /// (entries, bytes) now in the cache.
    pub fn size(&self) -> (usize, u64) {
        let mut keys = std::collections::HashSet::new();
        let mut bytes = 0;
        for i in 0..SHARDS {
            if let Ok(text) = std::fs::read_to_string(self.shard_path(i)) {
                bytes += text.len() as u64;
                keys.extend(text.lines().filter_map(key_of).map(str::to_string));
            }
        }
        (keys.len(), bytes)
    }

    /// Drops entries older than `max_age`, then the oldest until the cache fits `max_bytes`;
    /// returns how many lines it dropped. Reads the entries only when the files are over the
    /// size limit or the last age scan is older than a day.
    pub fn prune(&self) -> usize {
        // Appends of this run are done: let go of the files before any is replaced.
        for i in 0..SHARDS {
            self.shard(i).append = None;
        }
        // Entries of the one-file-per-entry layout (`ab/cdef….json`) can never be served.
        for sub in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = sub.file_name();
            let legacy = name.len() == 2
                && name
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_hexdigit()));
            if legacy && sub.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(sub.path());
            }
        }
        let sizes: Vec<u64> = (0..SHARDS)
            .map(|i| std::fs::metadata(self.shard_path(i)).map_or(0, |m| m.len()))
            .collect();
        let total: u64 = sizes.iter().sum();
        if total == 0 {
            return 0;
        }
        let stamp = self.dir.join(RESULTS).join("age-scan");
        let scanned_recently = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|e| e < AGE_SCAN_EVERY));
        if total <= self.max_bytes && scanned_recently {
            return 0;
        }
        let _ = File::create(&stamp);
        self.rewrite_oldest_out()
    }

    /// Reads every line with its time, drops the old ones and then the oldest over the size
    /// limit, and rewrites the shards that lost lines (a temporary file renamed into place).
    fn rewrite_oldest_out(&self) -> usize {
        let now = now_secs();
        let max_age = self.max_age.as_secs();
        let texts: Vec<String> = (0..SHARDS)
            .map(|i| std::fs::read_to_string(self.shard_path(i)).unwrap_or_default())
            .collect();
        // (time, shard, line index, length with its newline)
        let mut lines: Vec<(u64, usize, usize, u64)> = Vec::new();
        for (s, text) in texts.iter().enumerate() {
            for (n, line) in text.lines().enumerate() {
                let at = serde_json::from_str::<Stamp>(line).map_or(0, |t| t.at);
                lines.push((at, s, n, line.len() as u64 + 1));
            }
        }
        lines.sort_by_key(|l| l.0);
        let mut total: u64 = lines.iter().map(|l| l.3).sum();
        let mut drop: Vec<std::collections::HashSet<usize>> = vec![Default::default(); SHARDS];
        for &(at, s, n, len) in &lines {
            if now.saturating_sub(at) > max_age || total > self.max_bytes {
                drop[s].insert(n);
                total = total.saturating_sub(len);
            } else {
                break;
            }
        }
        let mut removed = 0;
        for (s, gone) in drop.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
            let kept: String = texts[s]
                .lines()
                .enumerate()
                .filter(|(n, _)| !gone.contains(n))
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            let path = self.shard_path(s);
            let written = (|| -> std::io::Result<()> {
                let parent = path.parent().unwrap_or(&self.dir);
                let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
                tmp.write_all(kept.as_bytes())?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            })();
            if written.is_ok() {
                removed += gone.len();
            }
        }
        removed
    }
}

/// The time of a stored line (entries without one count as oldest).
#[derive(Deserialize)]
struct Stamp {
    #[serde(default)]
    at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// First, so that a line can be indexed without parsing it.
    key: String,
    /// When it was stored, in seconds since the Unix epoch (for pruning by age).
    #[serde(default)]
    at: u64,
    blocks: Vec<BlockResult>,
    duration_ms: u64,
    stderr: String,
    stdout: String,
}

/// What a static checker printed, and the status it exited with by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A static checker's output, as stored.
#[derive(Debug, Serialize, Deserialize)]
struct ToolEntry {
    /// First, so that a line can be indexed without parsing it.
    key: String,
    #[serde(default)]
    at: u64,
    code: i32,
    stdout: String,
    stderr: String,
}

/// What identifies an interpreter's behaviour, beyond its path and version.
fn interpreter_fingerprint(i: &Interpreter) -> String {
    let stamp = super::file_stamp;
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
            .get(&*job.interpreter)
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
                    cpu: None,
                };
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let r = self.inner.execute(job);
        if storable(&r) {
            let entry = Entry {
                key: key.clone(),
                at: now_secs(),
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

    fn cache(&self) -> Option<&Cache> {
        Some(&self.cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, at: u64, stdout: &str) -> Entry {
        Entry {
            key: key.to_string(),
            at,
            blocks: vec![BlockResult::new(Status::Pass)],
            duration_ms: 1,
            stderr: String::new(),
            stdout: stdout.to_string(),
        }
    }

    fn key(n: u8) -> String {
        blake3::hash(&[n]).to_hex().to_string()
    }

    #[test]
    fn entries_are_found_again_pruned_by_age_and_size_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"));
        let now = now_secs();
        for n in 0..40 {
            let at = if n < 5 { 1 } else { now - 100 + u64::from(n) };
            cache.store(&key(n), &entry(&key(n), at, "x")).unwrap();
        }
        // In this run, and in a later one.
        assert_eq!(cache.load(&key(7)).unwrap().stdout, "x");
        let later = Cache::new(dir.path().join("c"));
        assert_eq!(later.load(&key(7)).unwrap().key, key(7));
        assert!(later.load(&key(200)).is_none());
        assert_eq!(later.size().0, 40);

        // The five entries from 1970 are past the age limit.
        assert_eq!(later.prune(), 5);
        assert!(Cache::new(dir.path().join("c")).load(&key(2)).is_none());
        assert_eq!(later.size().0, 35);
        // Within a day, only the size limit is checked.
        assert_eq!(later.prune(), 0);

        let mut small = Cache::new(dir.path().join("c"));
        small.max_bytes = later.size().1 / 2;
        let removed = small.prune();
        assert!((15..35).contains(&removed), "{removed}");
        let fresh = Cache::new(dir.path().join("c"));
        assert!(fresh.load(&key(39)).is_some(), "the newest stay");
        assert!(fresh.load(&key(5)).is_none(), "the oldest go first");

        assert_eq!(fresh.clear().unwrap(), 35 - removed);
        assert!(!dir.path().join("c").exists());
    }

    #[test]
    fn torn_and_foreign_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let k = key(1);
        let path = cache.shard_path(Cache::shard_index(&k));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let good = serde_json::to_string(&entry(&k, 5, "ok")).unwrap();
        let torn = &good[..good.len() / 2];
        std::fs::write(&path, format!("garbage\n{torn}\n{good}\n")).unwrap();
        assert_eq!(cache.load(&k).unwrap().stdout, "ok");
    }
}
