//! hunt's Lua as one Redis function library (`FUNCTION LOAD`, then `FCALL`), so the
//! functions the scripts share (`common.lua`, the take and the report) are defined once
//! when the library loads, not again at every call as an `EVAL` script's chunk defines
//! them (about 28,000 of the server's instructions a task, counted with
//! `scripts/redis-instructions.sh`).
//!
//! The library's name carries the SHA-1 of its text (`hunt_<16 hex digits>`), and so do
//! its functions' names, which Redis keeps server-wide: two builds of hunt with other
//! scripts use two libraries side by side on one server, and neither replaces the
//! other's while its hunts run. A library is loaded by the first call that finds its
//! function missing (a fresh server, one restarted without persistence, a `FUNCTION
//! FLUSH`), as `EVALSHA` scripts were after `NOSCRIPT`. Libraries of older builds stay
//! on the server (a few kilobytes each) until someone deletes them (`FUNCTION DELETE`).
//!
//! Redis older than 7.0 has no functions; hunt already refuses it at connect, in one
//! line that says to upgrade (it needs 7.0's `LMPOP` too), so there is no `EVALSHA`
//! fallback. A server whose ACL denies `FUNCTION LOAD` or `FCALL` is refused in one line
//! that names the commands to allow (`super::explain`).

use std::sync::OnceLock;

/// The library's text and the names of its functions, one per thing hunt asks of the
/// server in one atomic step.
pub(super) struct Library {
    /// `#!lua name=hunt_<hash>` and the Lua.
    pub(super) code: String,
    /// Takes a task (`take.lua`).
    pub(super) take: String,
    /// Renews a lease (`renew.lua`).
    pub(super) renew: String,
    /// Reports a task (`finish.lua`).
    pub(super) finish: String,
    /// Reports a task and takes the next (`finish_take.lua`).
    pub(super) finish_take: String,
    /// A failed attempt, or a task handed back (`fail.lua`).
    pub(super) fail: String,
    /// The coordinator's keep-alive (`alive.lua`).
    pub(super) alive: String,
    /// A finished hunt's retirement (`retire.lua`).
    pub(super) retire: String,
    /// The server's clock (`clock.lua`).
    pub(super) clock: String,
}

/// The library, made once per process.
pub(super) fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(build)
}

/// The functions: each name, and its body (run after `begin(ARGV[1])`).
const FUNCTIONS: [(&str, &str); 8] = [
    (
        "take",
        "return taken_json(take(ARGV[2], ARGV[3], ARGV[4], ARGV[5]))",
    ),
    ("renew", include_str!("renew.lua")),
    // A plain report ends the consumer's lease: it takes nothing with it.
    (
        "finish",
        "local f = finish(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])\nredis.call('ZREM', leases_key, ARGV[2])\nreturn f",
    ),
    ("finish_take", include_str!("finish_take.lua")),
    ("fail", include_str!("fail.lua")),
    ("alive", include_str!("alive.lua")),
    ("retire", include_str!("retire.lua")),
    ("clock", include_str!("clock.lua")),
];

fn build() -> Library {
    // The shared part: defined once, at load.
    let shared = concat!(
        include_str!("common.lua"),
        include_str!("take.lua"),
        include_str!("finish.lua")
    );
    let hash = redis::Script::new(&format!("{shared}{FUNCTIONS:?}")).get_hash()[..16].to_string();
    let name = format!("hunt_{hash}");
    let mut code = format!("#!lua name={name}\n{shared}");
    for (function, body) in FUNCTIONS {
        // A script's body, a chunk that reads ARGV and returns, becomes the body of a
        // function whose second parameter is named ARGV.
        code.push_str(&format!(
            "\nredis.register_function('{name}_{function}', function(_, ARGV)\nbegin(ARGV[1])\n{body}\nend)\n"
        ));
    }
    let f = |function: &str| format!("{name}_{function}");
    Library {
        take: f("take"),
        renew: f("renew"),
        finish: f("finish"),
        finish_take: f("finish_take"),
        fail: f("fail"),
        alive: f("alive"),
        retire: f("retire"),
        clock: f("clock"),
        code,
    }
}
