//! The result cache's store: job results and static checkers' outputs on disk, by key.
//! [`crate::run::caching::CachingExecutor`] serves a job's result from it when nothing that
//! can change it has changed, and runs it with the wrapped executor otherwise.
//!
//! The key is a BLAKE3 hash of everything that can change a result: docmatrix's version, the
//! run options that matter (sandbox, isolation), the interpreter (real path, exact version, the
//! binary's size and mtime, the mtimes of its site-packages folders, which change when a package
//! is installed or removed), the job's timeout, and every block of the job in order (its code
//! and its `raises`) — so a group's later block re-runs when an earlier one changes.
//!
//! Entries are JSON lines in [`SHARDS`] files (`results/0.jsonl` … `results/f.jsonl`, by the
//! key's first hex digit), each appended with one `write` on a descriptor opened `O_APPEND`,
//! so concurrent runs can share a cache. One file per entry would cost an inode per result,
//! which on some file systems (ext4 without a journal, after many deletions) costs more than
//! running the example. A shard is read once per run, on its first lookup, line by line: a
//! line that is not valid UTF-8, not a whole line (torn by a crash or a full disk), not JSON,
//! or not shaped like an entry is dropped, counted, and the file is compacted (rewritten
//! without it, a temporary file renamed into place) when the run ends, in [`Cache::prune`].
//! The shape is checked without copying texts (an outline: 11 MB of 40,000 entries in about
//! 0.1 s of CPU); a line that passes and still does not parse when it is served is dropped
//! the same way then. `cache info` parses every line whole.
//! What was dropped comes back to the caller as one warning ([`Cache::warnings`]): library
//! code does not print. Timeouts, unavailable interpreters and runs that could not start are
//! never stored.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::model::{BlockResult, JobResult};

/// Bumped whenever the stored format or the meaning of a result changes.
pub(crate) const FORMAT: &str = "docmatrix-cache-3";

/// How many files the entries are spread over (one per first hex digit of the key).
pub(crate) const SHARDS: usize = 16;

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
    /// What went wrong with the files this run, for [`Cache::warnings`].
    trouble: Arc<Mutex<Trouble>>,
}

/// The cache's problems in one run, reported once at its end.
#[derive(Debug, Default)]
struct Trouble {
    /// Shard files with unreadable lines: how many.
    found: BTreeMap<PathBuf, usize>,
    /// Those of them rewritten without these lines.
    rewritten: std::collections::BTreeSet<PathBuf>,
    /// Rewrites that failed: file and reason.
    failed: Vec<String>,
    /// The first failure to store an entry.
    write: Option<String>,
}

/// One shard file as this run knows it: read once, then what this run added.
#[derive(Debug, Default)]
struct Shard {
    loaded: bool,
    /// Key → its latest line (without the newline).
    lines: HashMap<String, Arc<str>>,
    /// Unreadable lines found when the file was read: it is compacted in [`Cache::prune`].
    bad: usize,
    /// The shard file, open for appending once this run has stored into it.
    append: Option<File>,
}

/// The default size limit: entries beyond it are pruned, oldest first.
pub(crate) const MAX_BYTES: u64 = 256 << 20;
/// The default age limit.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The key of a stored line: every line starts `{"key":"<64 hex digits>"`.
fn key_of(line: &str) -> Option<&str> {
    let k = line.strip_prefix("{\"key\":\"")?.get(..64)?;
    k.bytes().all(|b| b.is_ascii_hexdigit()).then_some(k)
}

/// A stored line's outline, read without copying its texts: a result ([`Entry`]) or a
/// checker's output ([`ToolEntry`]).
#[derive(Deserialize)]
struct Outline<'a> {
    key: &'a str,
    #[serde(default, rename = "at")]
    _at: u64,
    blocks: Option<IgnoredAny>,
    duration_ms: Option<u64>,
    code: Option<i32>,
    #[serde(rename = "stdout")]
    _stdout: IgnoredAny,
    #[serde(rename = "stderr")]
    _stderr: IgnoredAny,
}

/// Whether `line` looks like a whole entry: JSON, its key first, an entry's fields. Quick (a
/// run reads every line of the shards it looks into): a line that passes and still does not
/// parse when it is served is dropped then ([`Cache::reject`]).
fn outlined(line: &str) -> bool {
    let Some(k) = key_of(line) else {
        return false;
    };
    serde_json::from_str::<Outline>(line).is_ok_and(|e| {
        e.key == k && ((e.blocks.is_some() && e.duration_ms.is_some()) || e.code.is_some())
    })
}

/// Whether `line` is an entry docmatrix would serve: it parses whole, as a result or as a
/// checker's output, under its own key.
fn valid(line: &str) -> bool {
    let Some(k) = key_of(line) else {
        return false;
    };
    serde_json::from_str::<Entry>(line).is_ok_and(|e| e.key == k)
        || serde_json::from_str::<ToolEntry>(line).is_ok_and(|e| e.key == k)
}

/// A shard file read line by line.
#[derive(Debug, Default)]
struct ShardFile {
    /// The valid lines, in file order, without their newline.
    lines: Vec<String>,
    /// Lines dropped: invalid UTF-8, torn (no newline at the end of the file), not JSON, or
    /// not an entry.
    bad: usize,
    /// The file's size.
    bytes: u64,
}

impl ShardFile {
    /// Reads `path`, keeping the lines `check` accepts; a missing file is empty.
    fn read(path: &Path, check: fn(&str) -> bool) -> std::io::Result<ShardFile> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ShardFile::default()),
            Err(e) => return Err(e),
        };
        let mut out = ShardFile {
            bytes: bytes.len() as u64,
            ..ShardFile::default()
        };
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                // A last line without its newline was torn while it was written.
                out.bad += 1;
                break;
            };
            let raw = &rest[..end];
            rest = &rest[end + 1..];
            match std::str::from_utf8(raw) {
                Ok(line) if check(line) => out.lines.push(line.to_string()),
                // An empty line is harmless: a newline put before an append after a torn line.
                Ok("") => {}
                _ => out.bad += 1,
            }
        }
        Ok(out)
    }

    /// The text to write back: the valid lines, each key's latest only.
    fn compacted(lines: &[String], keep: impl Fn(usize) -> bool) -> (String, usize) {
        let mut last = HashMap::new();
        for (n, l) in lines.iter().enumerate() {
            if let Some(k) = key_of(l) {
                last.insert(k, n);
            }
        }
        let mut text = String::new();
        let mut dropped = 0;
        for (n, l) in lines.iter().enumerate() {
            let latest = key_of(l).is_some_and(|k| last.get(k) == Some(&n));
            if latest && keep(n) {
                text.push_str(l);
                text.push('\n');
            } else {
                dropped += 1;
            }
        }
        (text, dropped)
    }
}

/// Replaces `path` with `text`: a temporary file beside it, renamed into place.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// What `docmatrix cache info` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Entries that would be served (each key counted once).
    pub entries: usize,
    /// The shard files' size on disk.
    pub bytes: u64,
    /// Unreadable lines, dropped by the next run that reads their file or prunes.
    pub bad_lines: usize,
    /// Files holding such lines.
    pub bad_files: usize,
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
            trouble: Arc::default(),
        }
    }

    /// Checks that the cache's folder can be created and written to; `Err` gives the reason
    /// (the caller runs without the cache, and says so).
    pub fn usable(&self) -> Result<(), String> {
        let results = self.dir.join(RESULTS);
        std::fs::create_dir_all(&results).map_err(|e| {
            // Name the file that stands where a folder should be.
            let file = results
                .ancestors()
                .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()));
            match file {
                Some(f) => format!("{} is a file, not a folder", f.display()),
                None => e.to_string(),
            }
        })?;
        let meta = std::fs::metadata(&results).map_err(|e| e.to_string())?;
        if !meta.is_dir() {
            return Err(format!("{} is not a folder", results.display()));
        }
        tempfile::NamedTempFile::new_in(&results)
            .map(drop)
            .map_err(|e| format!("cannot write there: {e}"))
    }

    /// The problems of this run, at most one line about each kind: unreadable lines dropped
    /// (and the files rewritten), entries that could not be stored. Empty when all went well.
    pub fn warnings(&self) -> Vec<String> {
        let t = self.trouble();
        let mut out = Vec::new();
        if !t.found.is_empty() {
            let lines: usize = t.found.values().sum();
            let files: Vec<String> = t.found.keys().map(|p| p.display().to_string()).collect();
            let mut w = format!(
                "the result cache had {lines} unreadable line{} (damaged, or written by another docmatrix version) in {}: {} dropped",
                if lines == 1 { "" } else { "s" },
                files.join(", "),
                if lines == 1 { "it was" } else { "they were" },
            );
            if !t.failed.is_empty() {
                w.push_str(&format!("; rewriting failed: {}", t.failed.join("; ")));
            } else if t.found.keys().all(|p| t.rewritten.contains(p)) {
                w.push_str(&format!(
                    ", and the file{} rewritten without them",
                    if files.len() == 1 { "" } else { "s" }
                ));
            }
            out.push(w);
        }
        if let Some(e) = &t.write {
            out.push(format!(
                "the result cache could not store results (they will run again next time): {e}"
            ));
        }
        out
    }

    fn trouble(&self) -> std::sync::MutexGuard<'_, Trouble> {
        self.trouble.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note_write_error(&self, e: &std::io::Error, path: &Path) {
        let mut t = self.trouble();
        t.write
            .get_or_insert_with(|| format!("{}: {e}", path.display()));
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
        let line = self.line(key)?;
        let Some(mut e) = serde_json::from_str::<Entry>(&line)
            .ok()
            .filter(|e| e.key == key)
        else {
            self.reject(key);
            return None;
        };
        // serde_json gives a one-block list room for four: a run serving 40,000 results
        // from the cache kept 16 MB of empty room.
        e.blocks.shrink_to_fit();
        Some(e)
    }

    /// Drops the line of `key`, which looked whole but does not parse: it counts as unreadable
    /// (its file is compacted in [`Cache::prune`]).
    fn reject(&self, key: &str) {
        let i = Self::shard_index(key);
        let mut shard = self.shard(i);
        if shard.lines.remove(key).is_some() {
            shard.bad += 1;
            *self.trouble().found.entry(self.shard_path(i)).or_default() += 1;
        }
    }

    /// The stored line of `key`, from its shard (read on the first lookup).
    fn line(&self, key: &str) -> Option<Arc<str>> {
        let i = Self::shard_index(key);
        {
            let mut shard = self.shard(i);
            if !shard.loaded {
                shard.loaded = true;
                let path = self.shard_path(i);
                if let Ok(file) = ShardFile::read(&path, outlined) {
                    shard.bad = file.bad;
                    if file.bad > 0 {
                        self.trouble().found.insert(path, file.bad);
                    }
                    for line in file.lines {
                        if let Some(k) = key_of(&line) {
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
        let line = serde_json::to_string(entry)?;
        if key_of(&line) != Some(key) {
            return Err(std::io::Error::other("unexpected entry layout"));
        }
        let mut shard = self.shard(i);
        let path = self.shard_path(i);
        let written = (|| -> std::io::Result<()> {
            let mut text = String::with_capacity(line.len() + 2);
            if shard.append.is_none() {
                std::fs::create_dir_all(self.dir.join(RESULTS))?;
                let f = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(&path)?;
                // After a torn last line, the entry starts a line of its own.
                let len = f.metadata()?.len();
                let mut last = [b'\n'];
                if len > 0 {
                    f.read_exact_at(&mut last, len - 1)?;
                }
                if last[0] != b'\n' {
                    text.push('\n');
                }
                shard.append = Some(f);
            }
            text.push_str(&line);
            text.push('\n');
            if let Some(f) = shard.append.as_mut() {
                // One write: concurrent appenders never interleave inside it.
                f.write_all(text.as_bytes())?;
            }
            Ok(())
        })();
        if let Err(e) = &written {
            self.note_write_error(e, &path);
            return written;
        }
        shard.lines.insert(key.to_string(), line.into());
        Ok(())
    }

    /// The result stored under `key`, marked as cached.
    pub(crate) fn load_result(&self, key: &str) -> Option<JobResult> {
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
    pub(crate) fn store_result(&self, key: &str, r: &JobResult) {
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

    /// The output of a static checker stored under `key` (see [`crate::lang::tool`]).
    pub(crate) fn load_tool(&self, key: &str) -> Option<ToolOutput> {
        let line = self.line(key)?;
        let Some(e) = serde_json::from_str::<ToolEntry>(&line)
            .ok()
            .filter(|e| e.key == key)
        else {
            self.reject(key);
            return None;
        };
        Some(ToolOutput {
            code: e.code,
            stdout: e.stdout,
            stderr: e.stderr,
        })
    }

    /// Stores a static checker's output under `key`; a cache that cannot be written only costs
    /// speed.
    pub(crate) fn store_tool(&self, key: &str, out: &ToolOutput) {
        let entry = ToolEntry {
            key: key.to_string(),
            at: now_secs(),
            code: out.code,
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
        };
        let _ = self.store(key, &entry);
    }

    /// Removes everything (`docmatrix cache clear`), unreadable files too; returns the number
    /// of entries removed.
    pub fn clear(&self) -> std::io::Result<usize> {
        let n = self.stats().entries;
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(n),
        }
    }

    /// (entries, bytes) now in the cache: see [`Cache::stats`].
    pub fn size(&self) -> (usize, u64) {
        let s = self.stats();
        (s.entries, s.bytes)
    }

    /// What the shard files hold: the entries that would be served (each key once), the
    /// files' size, and the unreadable lines.
    pub fn stats(&self) -> Stats {
        let mut keys = std::collections::HashSet::new();
        let mut stats = Stats::default();
        for i in 0..SHARDS {
            let path = self.shard_path(i);
            let file = ShardFile::read(&path, valid).unwrap_or_else(|_| ShardFile {
                // Unreadable as a whole (a folder, say): all of it is damage.
                bad: 1,
                bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
                ..ShardFile::default()
            });
            stats.bytes += file.bytes;
            if file.bad > 0 {
                stats.bad_lines += file.bad;
                stats.bad_files += 1;
            }
            keys.extend(
                file.lines
                    .iter()
                    .filter_map(|l| key_of(l))
                    .map(str::to_string),
            );
        }
        stats.entries = keys.len();
        stats
    }

    /// Compacts the shard files this run found unreadable lines in, drops entries older than
    /// `max_age`, then the oldest until the cache fits `max_bytes`; returns how many lines it
    /// dropped (unreadable ones included). Reads all the entries only when the files are over
    /// the size limit or the last age scan is older than a day.
    pub(crate) fn prune(&self) -> usize {
        // Appends of this run are done: let go of the files before any is replaced.
        let mut damaged = Vec::new();
        for i in 0..SHARDS {
            let mut shard = self.shard(i);
            shard.append = None;
            if shard.bad > 0 {
                damaged.push(i);
                shard.bad = 0;
            }
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
            return self.rewrite(&damaged, &damaged, false);
        }
        let _ = File::create(&stamp);
        let all: Vec<usize> = (0..SHARDS).collect();
        self.rewrite(&all, &damaged, true)
    }

    /// Reads the shards `which` line by line (those in `damaged`, where this run found
    /// unreadable lines, parsed whole); with `limits`, drops the lines older than the
    /// age limit and then the oldest over the size limit (across all of `which`). Rewrites
    /// each shard that lost lines, unreadable or superseded ones included (a temporary file
    /// renamed into place), and notes the repairs for [`Cache::warnings`].
    fn rewrite(&self, which: &[usize], damaged: &[usize], limits: bool) -> usize {
        let now = now_secs();
        let max_age = self.max_age.as_secs();
        let files: Vec<(usize, ShardFile)> = which
            .iter()
            .filter_map(|&i| {
                let check = if damaged.contains(&i) {
                    valid
                } else {
                    outlined
                };
                ShardFile::read(&self.shard_path(i), check)
                    .ok()
                    .map(|f| (i, f))
            })
            .collect();
        // (time, file, line index, length with its newline)
        let mut drop: Vec<std::collections::HashSet<usize>> = vec![Default::default(); files.len()];
        if limits {
            let mut lines: Vec<(u64, usize, usize, u64)> = Vec::new();
            for (f, (_, file)) in files.iter().enumerate() {
                for (n, line) in file.lines.iter().enumerate() {
                    let at = serde_json::from_str::<Stamp>(line).map_or(0, |t| t.at);
                    lines.push((at, f, n, line.len() as u64 + 1));
                }
            }
            lines.sort_by_key(|l| l.0);
            let mut total: u64 = lines.iter().map(|l| l.3).sum();
            for &(at, f, n, len) in &lines {
                if now.saturating_sub(at) > max_age || total > self.max_bytes {
                    drop[f].insert(n);
                    total = total.saturating_sub(len);
                } else {
                    break;
                }
            }
        }
        let mut removed = 0;
        for ((i, file), gone) in files.iter().zip(&drop) {
            let (text, dropped) = ShardFile::compacted(&file.lines, |n| !gone.contains(&n));
            if dropped == 0 && file.bad == 0 {
                continue;
            }
            let path = self.shard_path(*i);
            let written = replace(&path, &text);
            if file.bad > 0 {
                let mut t = self.trouble();
                t.found.entry(path.clone()).or_insert(file.bad);
                match &written {
                    Ok(()) => {
                        t.rewritten.insert(path);
                    }
                    Err(e) => t.failed.push(format!("{}: {e}", path.display())),
                }
            }
            if written.is_ok() {
                removed += dropped + file.bad;
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
pub(crate) struct ToolOutput {
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

/// A cache key being built: a BLAKE3 hash of fields, each preceded by its length, so that no
/// two different sequences of fields hash the same bytes.
#[derive(Default)]
pub(crate) struct Key(blake3::Hasher);

impl Key {
    pub fn field(&mut self, s: &[u8]) {
        self.0.update(&(s.len() as u64).to_le_bytes());
        self.0.update(s);
    }

    /// The key: 64 hex digits.
    pub(crate) fn hex(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

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
    fn damaged_lines_are_dropped_counted_compacted_and_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let (k, k2) = (key(1), key(2));
        let path = cache.shard_path(Cache::shard_index(&k));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let good = serde_json::to_string(&entry(&k, now_secs(), "ok")).unwrap();
        let torn = &good[..good.len() / 2];
        let mut other = entry(&k, now_secs(), "x");
        other.key = key(3);
        let wrong_key = serde_json::to_string(&other)
            .unwrap()
            .replacen(&key(3), &k, 1)
            .replacen("\"blocks\"", "\"blockz\"", 1);
        let mut bytes = format!("garbage\n{torn}\n{good}\n[1,2]\n{wrong_key}\n").into_bytes();
        bytes.extend_from_slice(b"{\"key\":\"\xff\xfe\"}\n");
        bytes.extend_from_slice(torn.as_bytes()); // torn at the end: no newline
        std::fs::write(&path, &bytes).unwrap();

        let stats = cache.stats();
        assert_eq!((stats.entries, stats.bad_lines, stats.bad_files), (1, 6, 1));
        assert_eq!(stats.bytes, bytes.len() as u64);
        assert!(cache.warnings().is_empty(), "nothing read for a run yet");

        // Served; the next entry is not glued to the torn last line.
        assert_eq!(cache.load(&k).unwrap().stdout, "ok");
        cache.store(&k2, &entry(&k2, now_secs(), "two")).unwrap();
        if Cache::shard_index(&k2) != Cache::shard_index(&k) {
            let k2_shard = cache.shard_path(Cache::shard_index(&k2));
            assert!(std::fs::read(k2_shard).unwrap().ends_with(b"}\n"));
        }
        let mut k4 = key(4);
        for n in 5..=255 {
            if Cache::shard_index(&key(n)) == Cache::shard_index(&k) && key(n) != k {
                k4 = key(n);
                break;
            }
        }
        cache
            .store(&k4, &entry(&k4, now_secs(), "same shard"))
            .unwrap();
        assert_eq!(
            Cache::new(dir.path().to_path_buf())
                .load(&k4)
                .unwrap()
                .stdout,
            "same shard"
        );

        // The torn last line got its newline from the next append: still one line dropped.
        assert_eq!(cache.prune(), 6);
        let w = cache.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("6 unreadable lines"), "{w:?}");
        assert!(w[0].contains(&path.display().to_string()), "{w:?}");
        assert!(w[0].contains("rewritten"), "{w:?}");

        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().all(valid), "{text}");
        let after = Cache::new(dir.path().to_path_buf());
        assert_eq!(after.load(&k).unwrap().stdout, "ok");
        assert_eq!(after.load(&k4).unwrap().stdout, "same shard");
        assert_eq!(after.stats().bad_lines, 0);
        assert_eq!(after.stats().entries, 3);
        assert_eq!(after.prune(), 0);
        assert!(after.warnings().is_empty());
    }

    #[test]
    fn a_line_that_only_looks_whole_is_dropped_when_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let k = key(1);
        let path = cache.shard_path(Cache::shard_index(&k));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let good = serde_json::to_string(&entry(&k, now_secs(), "ok")).unwrap();
        let odd = good.replace("\"pass\"", "\"bogus\"");
        std::fs::write(&path, format!("{odd}\n")).unwrap();
        assert_eq!(cache.stats().bad_lines, 1, "info parses whole");
        assert!(cache.load(&k).is_none());
        assert_eq!(cache.prune(), 1);
        assert_eq!(cache.warnings().len(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[test]
    fn an_unusable_folder_says_why_and_a_failed_store_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let cache = Cache::new(file.join("cache"));
        assert!(cache.usable().is_err());
        assert!(cache.store(&key(1), &entry(&key(1), 1, "x")).is_err());
        cache.store_result(
            &key(2),
            &JobResult {
                blocks: vec![],
                duration: Duration::ZERO,
                stderr: String::new(),
                stdout: String::new(),
                cached: false,
                cpu: None,
            },
        );
        let w = cache.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("could not store"), "{w:?}");
        assert!(Cache::new(dir.path().join("ok")).usable().is_ok());
    }
}
