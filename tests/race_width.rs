//! `hunt race` fits its table to the width it is printed in (`COLUMNS` here, as a
//! terminal's width would): no line wider, every contender kept, and the full table
//! still in the exports.
mod common;
use common::*;

#[test]
fn the_race_fits_100_and_80_columns_and_the_exports_keep_every_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 30, 10, Some(7));
    for width in ["100", "80"] {
        let md = tmp.path().join(format!("r{width}.md"));
        let r: Run = hunt(&quick_race_args(
            &dir,
            "5",
            &[
                "--export-markdown",
                s(&md),
                "--strategies",
                "sequential,threads",
                "--workers",
                "1,2",
            ],
        ))
        .env("COLUMNS", width)
        .output()
        .unwrap()
        .into();
        assert_eq!(r.code, Some(0), "{r:?}");
        let w: usize = width.parse().unwrap();
        for l in r.stdout.lines() {
            assert!(l.chars().count() <= w, "{width}: {l:?}\n{}", r.stdout);
        }
        let rows = r
            .stdout
            .lines()
            .filter(|l| l.starts_with("sequential ") || l.starts_with("threads "))
            .count();
        assert_eq!(rows, 3, "{}", r.stdout);
        assert!(r.stdout.contains("\nFastest: "), "{}", r.stdout);
        // The Markdown export has all 17 columns whatever the terminal's width.
        let text = std::fs::read_to_string(&md).unwrap();
        let head = text.lines().find(|l| l.starts_with("| strategy")).unwrap();
        assert_eq!(head.matches(" | ").count() + 1, 17, "{head}");
    }
}
