//! One integration-test binary, a module per feature. Every test runs the real `docmatrix`
//! binary on real Markdown, with the real interpreters.

mod common;

mod annotations;
mod backends;
mod cache;
mod ci_reports;
mod cli;
mod containers;
mod dependencies;
mod dist;
mod dockerfile;
mod endings;
mod extraction;
mod hostile;
mod hostile_reports;
mod inputs;
mod interpreters;
mod isolation;
mod layers;
mod matrix;
mod misbehave;
mod pages;
mod programs;
mod realdocs;
mod reports;
mod sessions;
mod shell;
