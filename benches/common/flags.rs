//! The standard harness flags for a bench that reads its own command line
//! (`benches/sqlite.rs`): `cargo bench -- --list`, a filter, `--exact`, `--ignored` and
//! the rest of libtest's and criterion's flags must work there as they do in a criterion
//! bench, or be ignored quietly, never stop the bench with a panic. Included by path
//! (`#[path]`), so `tests/bench_flags.rs` can test it without criterion.
#![allow(dead_code)] // each includer uses a different subset

/// Harness flags that take a value (`--format terse`): libtest's and criterion's. The
/// value is skipped with its flag, so it is not taken for a filter.
const VALUED: &[&str] = &[
    "--format",
    "--color",
    "-c",
    "--logfile",
    "--skip",
    "--test-threads",
    "--shuffle-seed",
    "-Z",
    "--save-baseline",
    "-s",
    "--baseline",
    "-b",
    "--baseline-lenient",
    "--load-baseline",
    "--profile-time",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// What the harness flags asked for.
#[derive(Debug, Default, PartialEq)]
pub struct Harness {
    /// `--bench`: `cargo bench` (without it, `cargo test` runs the bench once, small).
    pub bench: bool,
    /// `--test`: one small pass even under `cargo bench`.
    pub test: bool,
    /// `--list`: name the parts, run none.
    pub list: bool,
    /// `--exact`: a filter must equal a part's name, not be part of it.
    pub exact: bool,
    /// `--ignored`: run (or list) only the ignored parts; a bench ignores none.
    pub ignored: bool,
    /// The filters (the words without a dash); a part runs when any matches.
    pub filters: Vec<String>,
    /// `--skip WORD`: parts whose name holds WORD do not run.
    pub skip: Vec<String>,
    /// The bench's own options, each with its value, in order.
    pub own: Vec<(String, String)>,
}

impl Harness {
    /// Sorts `args` (without the program's name) into the harness flags and the
    /// bench's `own` options (each of which takes a value). Any other flag is ignored.
    pub fn parse(args: impl IntoIterator<Item = String>, own: &[&str]) -> Harness {
        let mut h = Harness::default();
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            // `--flag=value` carries its value with it.
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
                _ => (a.clone(), None),
            };
            let mut value = || inline.clone().or_else(|| it.next()).unwrap_or_default();
            match flag.as_str() {
                "--bench" => h.bench = true,
                "--test" => h.test = true,
                "--list" => h.list = true,
                "--exact" => h.exact = true,
                "--ignored" => h.ignored = true,
                "--skip" => h.skip.push(value()),
                f if own.contains(&f) => {
                    let v = value();
                    h.own.push((f.to_string(), v));
                }
                f if VALUED.contains(&f) => {
                    value();
                }
                f if f.starts_with('-') => {}
                _ => h.filters.push(a),
            }
        }
        h
    }

    /// Whether the part `name` runs (or is listed).
    pub fn selects(&self, name: &str) -> bool {
        if self.ignored || self.skip.iter().any(|s| name.contains(s.as_str())) {
            return false;
        }
        self.filters.is_empty()
            || self.filters.iter().any(|f| {
                if self.exact {
                    name == f
                } else {
                    name.contains(f.as_str())
                }
            })
    }

    /// A measurement (`cargo bench`), not the small pass that checks the bench works.
    pub fn measures(&self) -> bool {
        self.bench && !self.test
    }

    /// The `--list` lines for `parts`, in libtest's form (`name: benchmark`).
    pub fn listing(&self, parts: &[&str]) -> String {
        parts
            .iter()
            .filter(|p| self.selects(p))
            .map(|p| format!("{p}: benchmark\n"))
            .collect()
    }
}
