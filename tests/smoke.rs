//! A first end-to-end check: generate, then find the treasure with every strategy.
mod common;
use common::*;
use hunt::strategy::StrategyKind;

#[test]
fn every_strategy_finds_the_generated_treasure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 50, 20, Some(31));
    for &s in StrategyKind::ALL.iter().filter(|s| s.compiled_in()) {
        let r = search_json(&dir, &["--strategy", s.name(), "--workers", "3"]);
        assert_eq!(r.code, Some(0), "{s}: {r:?}");
        let j = r.json();
        assert_eq!(j["index"], 31, "{s}");
        assert!(j["found"].as_str().unwrap().ends_with("file_31.txt"), "{s}");
    }
}
