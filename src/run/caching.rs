//! [`CachingExecutor`]: the result cache ([`crate::cache::Cache`]) wrapped around another
//! executor. A job's key is everything that can change its result.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::cache::{Cache, FORMAT};
use crate::interp::Interpreter;
use crate::model::{Job, JobKind, JobResult, Status};

use super::Executor;

/// What identifies an interpreter's behaviour, beyond its path and version.
fn interpreter_fingerprint(i: &Interpreter) -> String {
    let stamp = crate::sys::file_stamp;
    let mut parts = vec![
        i.path.display().to_string(),
        i.version.clone(),
        stamp(&i.path).unwrap_or_default(),
    ];
    if let Some(c) = &i.container {
        // An image is known by its id: a rebuilt or newly pulled image is another.
        parts.push(format!(
            "{} {} {}",
            c.engine,
            c.image_id,
            c.python.display()
        ));
        return parts.join("\n");
    }
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
pub(crate) struct CachingExecutor {
    inner: Box<dyn Executor>,
    cache: Cache,
    /// By interpreter path: its fingerprint.
    interpreters: BTreeMap<PathBuf, String>,
    /// The run options that can change a result.
    salt: String,
    pub hits: AtomicUsize,
    pub misses: AtomicUsize,
    /// By key: the jobs running now. A job whose key is here waits for that one and takes its
    /// result from the cache, rather than running the same program beside it (identical
    /// examples are common, and were often run twice at once).
    running: Mutex<HashMap<String, Arc<Flight>>>,
}

/// A job running under a key: `done` once its result is stored (or known not to be).
#[derive(Default)]
struct Flight {
    done: Mutex<bool>,
    ended: Condvar,
}

impl Flight {
    fn wait(&self) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            done = self.ended.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Ends a [`Flight`] when dropped (also when the job's thread unwinds): takes it off the
/// running map and wakes the jobs that wait for it.
struct Landing<'a> {
    running: &'a Mutex<HashMap<String, Arc<Flight>>>,
    key: &'a str,
    flight: Arc<Flight>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.key);
        *self.flight.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.flight.ended.notify_all();
    }
}

impl CachingExecutor {
    pub fn new(
        inner: Box<dyn Executor>,
        cache: Cache,
        interpreters: &[Interpreter],
        options: &str,
    ) -> Self {
        let salt = format!(
            "{FORMAT}\n{}\n{}\n{options}",
            env!("CARGO_PKG_VERSION"),
            inner.sandbox().as_str()
        );
        CachingExecutor {
            inner,
            cache,
            interpreters: interpreters
                .iter()
                .map(|i| (i.path.clone(), interpreter_fingerprint(i)))
                .collect(),
            salt,
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The key of `job`: a hex BLAKE3 hash.
    pub fn key(&self, job: &Job) -> String {
        let mut key = crate::cache::Key::default();
        let mut field = |s: &[u8]| key.field(s);
        field(self.salt.as_bytes());
        let fp = self
            .interpreters
            .get(&*job.interpreter)
            .map_or("", String::as_str);
        field(job.interpreter.as_os_str().as_encoded_bytes());
        field(fp.as_bytes());
        field(&job.timeout.as_millis().to_le_bytes());
        if job.kind != JobKind::Python {
            field(format!("{:?}", job.kind).as_bytes());
            field(&[u8::from(job.network)]);
        }
        field(if job.page { b"page" } else { b"program" });
        field(job.setup.as_deref().unwrap_or("").as_bytes());
        field(&job.files.len().to_le_bytes());
        for (name, code) in &job.files {
            field(name.as_bytes());
            field(code.as_bytes());
        }
        for m in &job.members {
            field(m.code.as_bytes());
            // What the driver is told of the block: its expected exception, or a session.
            field(m.mark().as_bytes());
            field(&m.args.len().to_le_bytes());
            for a in &m.args {
                field(a.as_bytes());
            }
        }
        key.hex()
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

impl Executor for CachingExecutor {
    fn execute(&self, job: &Job) -> JobResult {
        // Python results are cached, and those of console sessions that run the page's
        // programs (what they run is in the key: the programs, the commands, the interpreter).
        // Other shell and build results can depend on more than the block (a build context,
        // the engine's images, the tools a script calls).
        let cacheable = match job.kind {
            JobKind::Python => true,
            JobKind::Session => !job.files.is_empty(),
            _ => false,
        };
        if !cacheable {
            return self.inner.execute(job);
        }
        let key = self.key(job);
        let cached = || {
            self.cache
                .load_result(&key)
                .filter(|r| r.blocks.len() == job.members.len())
        };
        if let Some(r) = cached() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return r;
        }
        // The same program running already: its result, once stored, is this one's. (Not
        // stored, a timeout say, this one runs for itself.)
        let (flight, ours) = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            match running.get(&key) {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight::default());
                    running.insert(key.clone(), Arc::clone(&f));
                    (f, true)
                }
            }
        };
        let _landing = if ours {
            Some(Landing {
                running: &self.running,
                key: &key,
                flight,
            })
        } else {
            flight.wait();
            if let Some(r) = cached() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return r;
            }
            None
        };
        self.misses.fetch_add(1, Ordering::Relaxed);
        let r = self.inner.execute(job);
        if storable(&r) {
            self.cache.store_result(&key, &r);
        }
        r
    }

    fn sandbox(&self) -> crate::sys::sandbox::SandboxKind {
        self.inner.sandbox()
    }

    fn cache(&self) -> Option<&Cache> {
        Some(&self.cache)
    }

    fn preimports(&self) -> BTreeMap<PathBuf, Vec<crate::model::Preimport>> {
        self.inner.preimports()
    }
}
