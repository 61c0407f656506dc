//! The finished report, and one module per output format. Formats read only the [`Report`]:
//! no processes, no file system beyond their output.

pub mod json;
pub mod terminal;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::interp::Interpreter;
use crate::judge::Policy;
use crate::model::{Diagnostic, Outcome, Status};
use crate::version::PyVersion;

impl Serialize for PyVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One example (a Python block) and its results on every version.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub file: PathBuf,
    pub line: usize,
    pub end_line: usize,
    pub language: String,
    pub group: Option<String>,
    pub requires: Option<String>,
    pub skip: Option<String>,
    pub results: BTreeMap<PyVersion, Outcome>,
    pub measured: String,
    pub policy: Policy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_message: Option<String>,
}

impl Example {
    /// `file:line` of the opening fence.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub examples: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    pub jobs: BTreeMap<&'static str, usize>,
}

/// Everything a run found, in a deterministic order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub versions: Vec<PyVersion>,
    /// `bwrap` or `none`.
    pub sandbox: &'static str,
    pub interpreters: BTreeMap<PyVersion, Option<Interpreter>>,
    pub examples: Vec<Example>,
    pub other_blocks: BTreeMap<String, usize>,
    pub warnings: Vec<Diagnostic>,
    pub errors: Vec<Diagnostic>,
    pub summary: Summary,
    /// Foreign info-string attributes left alone, for `--verbose`.
    #[serde(skip)]
    pub foreign: Vec<Diagnostic>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Report {
    /// Fills `summary` from the examples.
    pub fn summarize(&mut self, files: usize) {
        let mut s = Summary {
            files,
            examples: self.examples.len(),
            ..Default::default()
        };
        for st in Status::ALL {
            s.jobs.insert(st.as_str(), 0);
        }
        for e in &self.examples {
            match e.policy {
                Policy::Ok => s.ok += 1,
                Policy::Fail => s.failed += 1,
                Policy::Skipped => s.skipped += 1,
            }
            for o in e.results.values() {
                *s.jobs.entry(o.status.as_str()).or_default() += 1;
            }
        }
        self.summary = s;
    }

    /// The process exit status: 0 when every example meets the policy and every file was read.
    pub fn exit_code(&self) -> i32 {
        if self.summary.failed > 0 || !self.errors.is_empty() {
            1
        } else {
            0
        }
    }
}
