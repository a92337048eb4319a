//! The process's exit codes, grep's convention.

/// How `hunt` ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// The treasure was found (or the command succeeded).
    Found = 0,
    /// Every file was read and none holds the needle.
    NotFound = 1,
    /// Bad input, or the answer cannot be trusted (a file or worker failed and nothing
    /// was found).
    Error = 2,
    /// Interrupted by Ctrl-C (128 + SIGINT).
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}
