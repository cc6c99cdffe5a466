//! Errors of the command line and their exit codes.

use std::path::PathBuf;

use thiserror::Error;

use mfg_core::MfgError;

/// Everything that can stop `mfg-cli`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CliError {
    /// Invalid config or arguments (exit code 2, nothing written).
    #[error("invalid config: {key}: {message}")]
    Config {
        /// The key (`grid.nx`) or argument (`--out`) at fault.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A numerical failure or divergence (exit code 1, nothing written).
    #[error("numerical failure: {0}")]
    Solve(#[from] MfgError),
    /// SIGINT or SIGTERM (or a caller's cancel flag) stopped the run before its results were
    /// written (exit code 130; earlier results in the directory are intact).
    #[error("interrupted: the solve stopped before writing {dir}, which holds its earlier result, if any, unchanged")]
    Interrupted {
        /// The output directory.
        dir: PathBuf,
    },
    /// Writing the results failed (exit code 1; earlier results in the directory are intact).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code (DESIGN.md §5).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Config { .. } => 2,
            CliError::Solve(_) | CliError::Write { .. } => 1,
            CliError::Interrupted { .. } => 130,
        }
    }
}
