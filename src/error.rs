//! The one error type for setup problems (exit status 2). A failing example is never an
//! error: it is an [`Outcome`](crate::model::Outcome).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {message}", path.display())]
    Path { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("cannot create a temporary directory: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The process exit status for this error.
    pub fn code(&self) -> i32 {
        2
    }
}
