//! The process's exit codes, grep's convention.

/// How `hunt` ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// A command that answers no question finished: `generate`, `race`, `worker`,
    /// `status` (exit 0).
    Succeeded,
    /// The treasure was found (exit 0).
    Found,
    /// Every file was read and none holds the needle (exit 1).
    NotFound,
    /// Bad input, or the answer cannot be trusted: a file or worker failed and nothing
    /// was found (exit 2).
    Error,
    /// Interrupted by Ctrl-C (exit 130, 128 + SIGINT).
    Interrupted,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Succeeded | ExitCode::Found => 0,
            ExitCode::NotFound => 1,
            ExitCode::Error => 2,
            ExitCode::Interrupted => 130,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}
