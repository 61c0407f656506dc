//! One module per snippet kind: how a job becomes a command, and how its result is read.

pub mod dockerfile;
pub mod netfail;
pub mod python;
pub mod shell;
