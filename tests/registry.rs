//! What the strategy registry promises the command line: a strategy this build left
//! out (its cargo feature off) is refused with the command that rebuilds it, and a
//! strategy refuses a reader its facts do not list.
mod common;
use common::*;
use hunt::strategy::StrategyKind;

#[test]
fn strategies_left_out_of_the_build_say_how_to_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    for (s, feature) in [
        (StrategyKind::Async, "tokio"),
        (StrategyKind::Uring, "uring"),
    ] {
        let r = search_json(&dir, &["--strategy", s.name()]);
        if s.compiled_in() {
            assert_eq!(r.code, Some(0), "{s}: {r:?}");
        } else {
            assert_bad_input(
                &r,
                &format!("hunt was built without the `{feature}` feature: rebuild with `cargo build --features {feature}`"),
            );
        }
    }
}

#[test]
fn async_and_uring_refuse_the_mmap_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    for s in ["async", "uring"] {
        let r = search_json(&dir, &["--strategy", s, "--reader", "mmap"]);
        assert_bad_input(
            &r,
            &format!("--reader mmap does not apply to --strategy {s}"),
        );
    }
}
