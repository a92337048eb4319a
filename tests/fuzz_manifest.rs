//! Fuzzes the manifest parser (and the other parsers of untrusted text: data file names,
//! `--needle-hex`) with proptest: arbitrary strings, JSON-shaped noise, and valid
//! manifests mutated byte by byte and field by field. The properties: never a panic;
//! every error is one line that names the fix; whatever parses is consistent (the
//! treasure inside the set, its file name matching its index).
//!
//! Case counts: `PROPTEST_CASES` overrides the defaults below (for a longer run, e.g.
//! `PROPTEST_CASES=1000000 cargo test --release --test fuzz_manifest`).
use hunt::dataset::manifest::{file_name, parse_file_name, Manifest, ManifestError};
use proptest::prelude::*;
use std::path::Path;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn valid() -> serde_json::Value {
    serde_json::json!({
        "format_version": 1,
        "generator": "hunt 0.1.0",
        "files": 10000,
        "lines": 1000,
        "seed": 42,
        "treasure_index": 4711,
        "treasure_file": "file_4711.txt",
        "treasure_line": 17,
        "needle": "Treasure",
        "total_bytes": 150000000,
        "preset": null
    })
}

/// The checks every parse result must pass.
fn check(text: &str) -> Result<(), TestCaseError> {
    match Manifest::parse(text, Path::new("some/dir")) {
        Ok(m) => {
            prop_assert!((1..=hunt::dataset::manifest::FORMAT_VERSION).contains(&m.format_version));
            prop_assert!(m.files >= 1);
            prop_assert!(m.treasure_index < m.files);
            prop_assert_eq!(parse_file_name(&m.treasure_file), Some(m.treasure_index));
            prop_assert_eq!(&m.treasure_file, &file_name(m.treasure_index));
            prop_assert!(!m.needle.is_empty());
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!msg.contains('\n'), "error spans lines: {:?}", msg);
            prop_assert!(msg.contains("some/dir/manifest.json"), "{}", msg);
            match e {
                ManifestError::TooNew { .. } => prop_assert!(msg.contains("upgrade hunt")),
                _ => prop_assert!(msg.contains("hunt generate --dir some/dir"), "{}", msg),
            }
        }
    }
    Ok(())
}

/// A JSON value of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)),
        ".{0,20}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("file_0.txt")),
        Just(serde_json::Value::from("../file_1.txt")),
        Just(serde_json::Value::from(u64::MAX)),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: [&str; 12] = [
    "format_version",
    "generator",
    "files",
    "lines",
    "seed",
    "treasure_index",
    "treasure_file",
    "treasure_line",
    "needle",
    "total_bytes",
    "preset",
    "extra",
];

proptest! {
    #![proptest_config(cases(20_000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check(&text)?;
    }

    #[test]
    fn json_shaped_noise_never_panics(text in r#"[{}\[\]":,0-9a-z_ .\-+eE\\]{0,200}"#) {
        check(&text)?;
    }

    #[test]
    fn any_json_value_never_panics(v in any_json()) {
        check(&v.to_string())?;
    }

    #[test]
    fn valid_manifest_with_fields_replaced(
        changes in prop::collection::vec((0..FIELDS.len(), any_json(), any::<bool>()), 1..4)
    ) {
        let mut v = valid();
        for (field, value, remove) in changes {
            let obj = v.as_object_mut().unwrap();
            if remove {
                obj.remove(FIELDS[field]);
            } else {
                obj.insert(FIELDS[field].to_string(), value);
            }
        }
        check(&v.to_string())?;
    }

    #[test]
    fn valid_manifest_with_bytes_mutated(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..6)
    ) {
        let mut chars: Vec<char> = serde_json::to_string_pretty(&valid()).unwrap().chars().collect();
        for (at, op, c) in edits {
            let i = at.index(chars.len().max(1));
            match op {
                0 if !chars.is_empty() => { chars.remove(i.min(chars.len() - 1)); }
                1 => chars.insert(i.min(chars.len()), c),
                _ if !chars.is_empty() => { let j = i.min(chars.len() - 1); chars[j] = c; }
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        check(&text)?;
    }

    #[test]
    fn numbers_at_the_edges(files in prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u64>()],
                            index in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
                            version in prop_oneof![Just(0u64), Just(1), Just(2), Just(u64::MAX)]) {
        let mut v = valid();
        v["files"] = files.into();
        v["treasure_index"] = index.into();
        v["treasure_file"] = file_name(index).into();
        v["format_version"] = version.into();
        check(&v.to_string())?;
    }

    #[test]
    fn file_names_parse_one_to_one(name in "(file_)?[0-9]{0,25}(\\.txt)?.{0,3}") {
        if let Some(i) = parse_file_name(&name) {
            prop_assert_eq!(file_name(i), name);
        }
    }

    #[test]
    fn needle_hex_never_panics(text in ".{0,40}") {
        match hunt::settings::parse_hex(&text) {
            Ok(bytes) => {
                prop_assert_eq!(bytes.len() * 2, text.len());
                let back: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                prop_assert_eq!(back, text.to_ascii_lowercase());
            }
            Err(e) => prop_assert!(!e.to_string().contains('\n')),
        }
    }
}
