//! Unit tests of the Redis backend.

use super::*;
use crate::broker::contract::{self, AfterFailure};

/// A private redis-server, or `None` (said, as a skipped test) where none is installed.
fn private() -> Option<PrivateRedis> {
    if !server::installed() {
        eprintln!("skipped: {}", server::INSTALL_HINT);
        return None;
    }
    Some(PrivateRedis::start().unwrap())
}

/// The scripts repeat the contract in Lua (`common.lua`): run their copies on a real
/// redis-server, case by case, against the Rust rules they repeat.
#[test]
fn the_scripts_keep_the_rust_contract() {
    let Some(server) = private() else {
        return;
    };
    let mut c = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let body = r#"
local out = {}
for i = 2, #ARGV, 2 do
  local a, m = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local verdict, note = after_failure(a, m, 'its files failed')
  table.insert(out, verdict .. '|' .. note .. '|' .. (taken_too_often(a, m) or '-'))
end
return out
"#;
    let lua = redis::Script::new(&format!("{}{body}", include_str!("common.lua")));
    let mut script = lua.prepare_invoke();
    script.arg("hunt:test");
    for &(attempt, max) in contract::CASES {
        script.arg(attempt).arg(max);
    }
    let got: Vec<String> = script.invoke(&mut c).unwrap();
    let want: Vec<String> = contract::CASES
        .iter()
        .map(|&(attempt, max)| {
            let (verdict, note) = match contract::after_failure(attempt, max, "its files failed") {
                AfterFailure::Retry { note } => ("retry", note),
                AfterFailure::DeadLetter { why } => ("dead", why),
            };
            let gone = contract::taken_too_often(attempt, max).unwrap_or_else(|| "-".into());
            format!("{verdict}|{note}|{gone}")
        })
        .collect();
    assert_eq!(got, want);
    let common = include_str!("common.lua");
    assert!(
        common.contains(&format!("local CUT_SHORT = '{}'", contract::CUT_SHORT)),
        "common.lua's CUT_SHORT differs from contract::CUT_SHORT"
    );
    assert!(include_str!("finish.lua").contains(&format!("'status', '{}'", HuntState::Found.name())));
    for reply in ["accepted", "answer", "retried", "stale"] {
        assert!(contract::finished(reply).is_ok(), "{reply}");
        let returned = format!("return '{reply}'");
        assert!(
            [include_str!("finish.lua"), include_str!("fail.lua")].iter().any(|s| s.contains(&returned)),
            "no script returns {reply}"
        );
    }
}

#[test]
fn only_a_call_cut_short_by_a_signal_counts_as_interrupted() {
    let os = |code| redis::RedisError::from(std::io::Error::from_raw_os_error(code));
    assert!(interrupted(&os(libc::EINTR)));
    assert!(!interrupted(&os(libc::ECONNREFUSED)));
    assert!(!interrupted(&os(libc::ENOENT)));
    let parse = redis::RedisError::from((redis::ErrorKind::Parse, "bad reply"));
    assert!(!interrupted(&parse));
}

/// Every task state the scripts write or compare is one [`TaskState`] knows by name.
#[test]
fn the_scripts_name_only_task_states_hunt_knows() {
    let scripts = [
        include_str!("common.lua"),
        include_str!("take.lua"),
        include_str!("finish.lua"),
        include_str!("fail.lua"),
    ];
    let mut seen = 0;
    for text in scripts {
        // Rows written out as JSON text (`running_row`, the report's Completed row) name
        // theirs in double quotes.
        for pattern in ["state = '", "state == '", "state, r.note = '", "state, r.worker = '", "r.since, r.note = '", "{\"state\":\""] {
            let quote = if pattern.ends_with('"') { '"' } else { '\'' };
            for (at, _) in text.match_indices(pattern) {
                let rest = &text[at + pattern.len()..];
                let name = &rest[..rest.find(quote).unwrap()];
                assert!(TaskState::from_name(name).is_some(), "a script names state {name:?}");
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "found only {seen} task states in the scripts");
}

/// The library loads on a server that lacks it, once for many connections, and again
/// after the server lost it (a restart without persistence, `FUNCTION FLUSH`).
#[test]
fn the_function_library_loads_where_it_is_missing() {
    let Some(server) = private() else {
        return;
    };
    let mut raw = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut a = Redis::connect(server.url()).unwrap();
    let mut b = Redis::connect(server.url()).unwrap();
    let first = a.clock().unwrap();
    assert!(b.clock().unwrap() >= first);
    let libraries: Vec<redis::Value> = redis::cmd("FUNCTION").arg("LIST").query(&mut raw).unwrap();
    assert_eq!(libraries.len(), 1, "one library for both connections: {libraries:?}");
    let () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut raw).unwrap();
    assert!(a.clock().unwrap() >= first);
    let libraries: Vec<redis::Value> = redis::cmd("FUNCTION").arg("LIST").query(&mut raw).unwrap();
    assert_eq!(libraries.len(), 1);
}

/// A hunt of spec format 1 keeps its queue as a stream: a worker of this build refuses
/// it in words that say what to do, and serves this build's format.
#[test]
fn a_hunt_of_the_stream_format_is_refused_in_words() {
    let Some(server) = private() else {
        return;
    };
    let r = Redis::connect(server.url()).unwrap();
    let mut spec = HuntSpec {
        format: crate::broker::SPEC_FORMAT,
        id: "00000000000000aa".into(),
        identity: crate::dataset::identity::Identity {
            digest: "0".repeat(32),
            summary: "a test".into(),
        },
        files: 1,
        needle_hex: "54".into(),
        reader: crate::scan::Reader::Read,
        rotate: 0,
        batch: 1,
        lease_ms: 1000,
        max_attempts: 1,
        coordinator: "here".into(),
        trace: false,
        options: crate::broker::Options::new(),
    };
    assert_eq!(r.refuses(&spec), None);
    spec.format = 1;
    let why = r.refuses(&spec).expect("a format 1 hunt is refused");
    assert!(why.contains("spec format 1") && why.contains("upgrade the coordinator"), "{why}");
}
