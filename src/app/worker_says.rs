//! What `hunt worker --broker` says as it serves, printed: one line on stderr per
//! event. (Kept apart from `worker.rs`, the command's checks, so each stays short.)

use crate::output;
use crate::worker::serve::Note;

/// Prints one [`Note`] of a serving worker.
pub(super) fn say(note: &Note<'_>) {
    output::err(&match note {
        Note::Outage { error } => format!("{error:#}; reconnecting"),
        Note::Reconnected { broker } => format!("reconnected to the broker at {broker}"),
        Note::Refused { hunt, why } => format!("refused hunt {hunt}: {why}"),
        Note::Served {
            hunt,
            tasks,
            files,
            bytes,
            found,
        } => {
            let found = match found {
                Some(path) => format!("; found the treasure in {}", path.display()),
                None => String::new(),
            };
            format!(
                "served hunt {hunt}: {tasks} tasks, {files} files, {} read{found}",
                crate::units::bytes(*bytes)
            )
        }
    });
}
