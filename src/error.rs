//! The tool's errors. Each says what went wrong and where (file, line, field, URL), and maps
//! to exit code 2 in `main.rs`.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line or configuration value that cannot be used.
    #[error("{0}")]
    Usage(String),
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that is there but cannot be read as what it should be.
    #[error("{}{}: {message}", path.display(), position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Malformed {
        path: PathBuf,
        /// Line and column, 1-based.
        position: Option<(usize, usize)>,
        message: String,
    },
    #[error("git: {0}")]
    Git(String),
    /// A Render API failure that stops collection (no key, rejected key, unknown service).
    #[error("Render API: {0}")]
    Render(String),
    #[error("template: {0}")]
    Template(String),
    /// Publishing to a ticket failed (rejected token, missing permission, wrong ticket, rate
    /// limit): the message says which, and never holds the token.
    #[error("publish: {0}")]
    Publish(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<git2::Error> for Error {
    fn from(e: git2::Error) -> Self {
        Error::Git(e.message().to_string())
    }
}
