//! Dockerfile blocks: parsed ([`parse`]), checked by docmatrix's own rules ([`rules`]), and
//! built once per matrix version where a container engine answers ([`build`]).

pub mod build;
pub mod parse;
pub mod rules;

use crate::model::{Finding, Snippet};

/// The static findings of a Dockerfile block, at Markdown lines.
pub fn findings(_s: &Snippet) -> Vec<Finding> {
    Vec::new()
}

use crate::model::Status;
use crate::plan::Job;
use crate::run::JobResult;
use crate::target::python::BlockResult;

/// Builds Dockerfile jobs with the engine found here, if any.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    pub pull: bool,
}

impl Runner {
    /// The runner for `config`: the engine that answers here (none when building is off).
    pub fn detect(config: &crate::config::Config) -> Self {
        Runner {
            pull: config.docker_pull,
        }
    }

    pub fn execute(&self, _job: &Job) -> JobResult {
        let mut b = BlockResult::new(Status::Skipped);
        b.reason = Some("not built: no container engine".into());
        JobResult {
            blocks: vec![b],
            duration: std::time::Duration::ZERO,
            stderr: String::new(),
            stdout: String::new(),
            cached: false,
        }
    }
}
