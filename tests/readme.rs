//! The README and `docs/*.md` show commands and link to each other; this keeps both
//! true. Every command line in a fenced code block (`hunt SUB ...`,
//! `./target/release/hunt SUB ...`, `cargo run --release -- SUB ...`) must name a real
//! subcommand, and every flag it shows must be one that `hunt SUB --help` lists: the
//! flag tables the README once had drifted from `--help`, and this stops examples doing
//! the same. Every relative link must reach a file, and a `#anchor` a heading there.
//! Every test a page names must exist: the tables of RELIABILITY.md and BROKERS.md once
//! named tests that had been renamed. A failure names the file, the line and what is
//! missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A command line shown in a fenced code block.
#[derive(Debug)]
struct Shown {
    /// Where: `README.md:57`.
    place: String,
    /// The line as written, for the message.
    text: String,
    /// The subcommand.
    sub: String,
    /// The flags it shows, as written (`--dir`, `-j`), without any `=VALUE`.
    flags: Vec<String>,
}

/// Tokens that end a command inside a shell line.
const ENDS: &[&str] = &["|", "||", "&&", ";", "&", ">", ">>", "2>", "2>&1", "<"];

/// The commands shown in fenced code blocks of `text` (named `name` in messages).
fn shown_commands(name: &str, text: &str) -> Vec<Shown> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            pending = None;
            continue;
        }
        if !fenced {
            continue;
        }
        // A line ending in a backslash continues on the next one.
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        joined.push_str(line);
        if joined.ends_with('\\') {
            joined.pop();
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        out.extend(commands_in_line(&format!("{name}:{start}"), &joined));
    }
    out
}

/// The `hunt` commands on one shell line (there may be several: `a && hunt b`).
fn commands_in_line(place: &str, line: &str) -> Vec<Shown> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        if tok.starts_with('#') {
            break; // a comment
        }
        let bare = tok.trim_start_matches(['\'', '"', '(', '`']);
        let quoted = bare.len() != tok.len();
        // Where the subcommand sits, if this token starts a hunt command.
        let sub_at = if !(quoted || at_command(&tokens, i)) {
            None
        } else if bare == "hunt" || bare.ends_with("/hunt") {
            Some(i + 1)
        } else if bare == "cargo" && tokens.get(i + 1) == Some(&"run") {
            tokens[i..]
                .iter()
                .position(|t| *t == "--")
                .map(|p| i + p + 1)
        } else {
            None
        };
        let Some(at) = sub_at else {
            i += 1;
            continue;
        };
        let Some(sub) = tokens
            .get(at)
            .map(|s| s.trim_end_matches(['\'', '"', '`', ')']))
        else {
            break;
        };
        // Output that starts with "hunt race:" or prose is not a command.
        let is_word = sub
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && sub.starts_with(|c: char| c.is_ascii_lowercase());
        // Nor is a table's heading ("hunt   hunt   hunt"): hunt takes no word after its
        // subcommand, only flags.
        let next = tokens.get(at + 1).copied();
        let flag_next = next.is_none_or(|t| {
            ENDS.contains(&t)
                || t.starts_with('#')
                || flag_of(t.trim_end_matches(['\'', '"', '`', ')', ';'])).is_some()
        });
        if !is_word || !(flag_next || tokens[at] != sub) {
            i = at;
            continue;
        }
        let mut flags = Vec::new();
        let mut j = at + 1;
        let mut closed = tokens[at] != sub; // the subcommand closed a quote
        while j < tokens.len() && !closed {
            let t = tokens[j];
            if ENDS.contains(&t) || t.starts_with('#') {
                break;
            }
            let mut t = t;
            if quoted && (t.ends_with('\'') || t.ends_with('"')) {
                t = &t[..t.len() - 1];
                closed = true;
            }
            let t = t.trim_end_matches(';');
            if let Some(flag) = flag_of(t) {
                flags.push(flag.to_string());
            }
            j += 1;
        }
        out.push(Shown {
            place: place.to_string(),
            text: line.trim().to_string(),
            sub: sub.to_string(),
            flags,
        });
        i = j;
    }
    out
}

/// Whether token `i` of a shell line is where a command starts: first on the line, after
/// a prompt, a separator, a prefix such as `time`, or variable assignments.
fn at_command(tokens: &[&str], i: usize) -> bool {
    const PREFIXES: &[&str] = &["$", "time", "sudo", "env", "nice", "exec", "then", "do"];
    match i.checked_sub(1) {
        None => true,
        Some(p) => {
            let prev = tokens[p];
            ENDS.contains(&prev)
                || PREFIXES.contains(&prev)
                || (prev.contains('=') && !prev.starts_with('-') && at_command(tokens, p))
        }
    }
}

/// The flag a token shows (`--dir`, `-j`, `--ring` of `--ring=plain`), if it is one.
fn flag_of(t: &str) -> Option<&str> {
    let name = t.split('=').next().unwrap_or(t);
    if let Some(long) = name.strip_prefix("--") {
        let ok = long.starts_with(|c: char| c.is_ascii_alphabetic())
            && long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        return ok.then_some(name);
    }
    let short = name.strip_prefix('-')?;
    let mut chars = short.chars();
    let first = chars.next()?;
    // `-j4` shows `-j`; `-1` is a number and `-` alone is stdout.
    first
        .is_ascii_alphabetic()
        .then(|| &name[..1 + first.len_utf8()])
}

/// The flags `hunt SUB --help` lists, or `None` when SUB is not a subcommand.
fn help_flags(sub: &str) -> Option<BTreeSet<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_hunt"))
        .args([sub, "--help"])
        .output()
        .expect("run hunt --help");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut flags = BTreeSet::new();
    // clap's option lines: `  -s, --strategy <STRATEGY>` then the text, or the text on
    // the lines below.
    for line in text.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        for tok in line.split_whitespace() {
            let tok = tok.trim_end_matches(',');
            if tok.starts_with('<') {
                continue; // the value's name
            }
            match flag_of(tok) {
                Some(f) if tok.len() > 1 => {
                    flags.insert(f.to_string());
                }
                _ => break,
            }
        }
    }
    Some(flags)
}

/// What is wrong with the commands of `docs`: one line per fault, naming its place.
fn command_faults(docs: &[(String, String)]) -> Vec<String> {
    let mut helps: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut faults = Vec::new();
    for (name, text) in docs {
        for c in shown_commands(name, text) {
            let help = helps
                .entry(c.sub.clone())
                .or_insert_with(|| help_flags(&c.sub));
            let Some(help) = help else {
                faults.push(format!(
                    "{}: `{}`: `hunt {}` is not a subcommand of hunt",
                    c.place, c.text, c.sub
                ));
                continue;
            };
            for f in &c.flags {
                if !help.contains(f) {
                    faults.push(format!(
                        "{}: `{}`: {f} is not in `hunt {} --help`",
                        c.place, c.text, c.sub
                    ));
                }
            }
        }
    }
    faults
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings (a repeated one also as `-1`, `-2`, ...).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let s = slug(line.trim_start_matches('#'));
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    }
    out
}

/// The relative links of a Markdown text outside code blocks: (line, target).
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            rest = &rest[end..];
            if !target.contains("://") && !target.starts_with("mailto:") {
                out.push((i + 1, target.to_string()));
            }
        }
    }
    out
}

/// What is wrong with the links of `docs` (paths relative to `root`).
fn link_faults(root: &Path, docs: &[(String, String)]) -> Vec<String> {
    let mut faults = Vec::new();
    for (name, text) in docs {
        let here = root.join(name);
        let dir = here.parent().expect("a file's folder");
        for (line, target) in links(text) {
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                here.clone()
            } else {
                dir.join(path)
            };
            if !file.exists() {
                faults.push(format!(
                    "{name}:{line}: the link `{target}` leads to no file"
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if file.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let body = if path.is_empty() {
                text.clone()
            } else {
                std::fs::read_to_string(&file).expect("read a linked page")
            };
            if !anchors(&body).contains(anchor) {
                faults.push(format!(
                    "{name}:{line}: the link `{target}` names no heading of {}",
                    path_name(root, &file)
                ));
            }
        }
    }
    faults
}

fn path_name(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// README.md and every `docs/*.md`, as (path from the root, text).
fn pages(root: &Path) -> Vec<(String, String)> {
    let mut names: Vec<PathBuf> = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("a docs entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("md"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read a page");
            (path_name(root, p), text)
        })
        .collect()
}

/// The cells of a Markdown table row (`| a | b |`), split on `|` outside code spans and
/// escapes.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = row.strip_suffix('|').unwrap_or(row);
    let mut out = vec![String::new()];
    let mut code = false;
    let mut escaped = false;
    for c in row.chars() {
        if c == '|' && !code && !escaped {
            out.push(String::new());
        } else {
            out.last_mut().expect("a cell").push(c);
        }
        if c == '`' {
            code = !code;
        }
        escaped = c == '\\';
    }
    out
}

/// The inline code spans of a line of Markdown.
fn code_spans(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// The test a code span names, if it looks like one: a snake_case name (the last part of
/// a path such as `redis::CASE`), with at least `underscores` underscores.
fn test_like(span: &str, underscores: usize) -> Option<&str> {
    let name = span.rsplit("::").next()?;
    let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (snake && name.matches('_').count() >= underscores).then_some(name)
}

/// Whether `text` says "test" (or "tests", "tested", ...).
fn says_test(text: &str) -> bool {
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.starts_with("test"))
}

/// The tests a page names: (place, name). A name counts as a test's where a reader would
/// take it for one: any snake_case name in a table column headed "test" (or "Redis
/// test", ...), and a snake_case name of at least four underscores after the word "test"
/// in its paragraph, in its table row, or in the paragraph just above its table. Code
/// blocks are left out.
fn named_tests(name: &str, text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut heads: Option<Vec<String>> = None;
    // Whether the paragraph being read, and the one before it, said "test".
    let mut paragraph_says_test = false;
    let mut above_says_test = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let place = format!("{name}:{}", i + 1);
        if !trimmed.starts_with('|') {
            heads = None;
            if trimmed.is_empty() {
                above_says_test |= paragraph_says_test;
                paragraph_says_test = false;
                continue;
            }
            if trimmed.starts_with('#') {
                (above_says_test, paragraph_says_test) = (false, false);
                continue;
            }
            above_says_test = false;
            // The word may come before the name on the same line.
            let mut said = paragraph_says_test;
            for (k, piece) in line.split('`').enumerate() {
                if k % 2 == 0 {
                    said |= says_test(piece);
                } else if let Some(test) = test_like(piece, 4).filter(|_| said) {
                    out.push((place.clone(), test.to_string()));
                }
            }
            paragraph_says_test = said;
            continue;
        }
        let row = cells(line);
        let Some(h) = &heads else {
            heads = Some(row);
            continue;
        };
        if row
            .iter()
            .all(|c| c.trim().chars().all(|c| "-: ".contains(c)))
        {
            continue; // the line under the headings
        }
        let row_says_test =
            above_says_test || row.iter().any(|c| c.split('`').step_by(2).any(says_test));
        for (k, cell) in row.iter().enumerate() {
            let column_is_tests = h.get(k).is_some_and(|h| says_test(h));
            for span in code_spans(cell) {
                let test = if column_is_tests {
                    test_like(span, 1)
                } else {
                    test_like(span, 4).filter(|_| row_says_test)
                };
                if let Some(test) = test {
                    out.push((place.clone(), test.to_string()));
                }
            }
        }
    }
    out
}

/// Every `fn NAME` in the Rust files below `dir`.
fn functions_in(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a source entry").path();
        if path.is_dir() {
            functions_in(&path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a source file");
        for (at, _) in text.match_indices("fn ") {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `xfn `, not the keyword
            }
            let name: String = text[at + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
}

/// What is wrong with the tests `docs` name, given the functions that exist.
fn test_name_faults(docs: &[(String, String)], functions: &BTreeSet<String>) -> Vec<String> {
    docs.iter()
        .flat_map(|(name, text)| named_tests(name, text))
        .filter(|(_, test)| !functions.contains(test))
        .map(|(place, test)| {
            format!("{place}: `{test}` names no test: there is no `fn {test}` under tests/ or src/")
        })
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_flag_a_shown_command_uses_is_in_its_help() {
    // The pages show every strategy's knobs; a build without a strategy lacks its flags.
    if !cfg!(all(
        feature = "tokio",
        feature = "uring",
        feature = "redis",
        feature = "sqlite"
    )) {
        eprintln!("skipped: the pages' commands need a build with the default features");
        return;
    }
    let pages = pages(&root());
    let shown: usize = pages.iter().map(|(n, t)| shown_commands(n, t).len()).sum();
    assert!(shown >= 10, "the pages show commands; found only {shown}");
    let faults = command_faults(&pages);
    assert!(
        faults.is_empty(),
        "commands in the docs that `--help` does not back:\n{}",
        faults.join("\n")
    );
}

#[test]
fn the_readme_starts_with_the_race_and_the_test_command() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let first = shown_commands("README.md", &text);
    assert_eq!(
        first.first().map(|c| c.sub.as_str()),
        Some("race"),
        "{first:?}"
    );
    let block: String = text
        .split("```")
        .nth(1)
        .expect("a first code block")
        .to_string();
    assert!(block.contains("scripts/test.sh"), "{block}");
    let lines = text.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; keep it to 300 at most"
    );
}

#[test]
fn every_link_between_the_pages_lands() {
    let root = root();
    let faults = link_faults(&root, &pages(&root));
    assert!(
        faults.is_empty(),
        "links that lead nowhere:\n{}",
        faults.join("\n")
    );
}

#[test]
fn every_test_a_page_names_exists() {
    let root = root();
    let mut functions = BTreeSet::new();
    functions_in(&root.join("tests"), &mut functions);
    functions_in(&root.join("src"), &mut functions);
    let pages = pages(&root);
    let named: usize = pages.iter().map(|(n, t)| named_tests(n, t).len()).sum();
    assert!(named >= 40, "the pages name tests; found only {named}");
    let faults = test_name_faults(&pages, &functions);
    assert!(
        faults.is_empty(),
        "tests the docs name that do not exist (renamed? moved to the contract suite?):\n{}",
        faults.join("\n")
    );
}

// The checks themselves: each must be able to fail, naming the line and the flag.

#[test]
fn a_flag_help_does_not_list_is_named_with_its_line() {
    let page =
        "intro\n```sh\nhunt search --json\nhunt search --dir d --bogus -j 2   # --comment\n```\n";
    let faults = command_faults(&[("X.md".into(), page.into())]);
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(
        faults[0].starts_with("X.md:4:")
            && faults[0].contains("--bogus is not in `hunt search --help`"),
        "{faults:?}"
    );
}

#[test]
fn an_unknown_subcommand_and_a_bad_short_flag_are_named() {
    let page = "```\n./target/release/hunt seek --dir d\ncargo run --release -- race -Z\n```\n";
    let faults = command_faults(&[("X.md".into(), page.into())]);
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(
        faults[0].starts_with("X.md:2:") && faults[0].contains("`hunt seek` is not a subcommand")
    );
    assert!(
        faults[1].starts_with("X.md:3:") && faults[1].contains("-Z is not in `hunt race --help`")
    );
}

#[test]
fn commands_are_found_where_a_reader_sees_them() {
    let page = "`hunt search --nope` in prose is not checked\n```\nhunt race: 10000 files (output, not a command)\nhyperfine 'hunt search -s fork -j 2' 'rg -q -F -j2 x'\nhunt generate \\\n  --dir d --seed=1 | tail -1\n  hunt   hunt   hunt   wall\nfound file_1.txt with hunt search\nHUNT_X=1 time hunt status --json && hunt worker\n```\n";
    let shown = shown_commands("X.md", page);
    let seen: Vec<(&str, &str, Vec<&str>)> = shown
        .iter()
        .map(|c| {
            (
                c.place.as_str(),
                c.sub.as_str(),
                c.flags.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("X.md:4", "search", vec!["-s", "-j"]),
            ("X.md:5", "generate", vec!["--dir", "--seed"]),
            ("X.md:9", "status", vec!["--json"]),
            ("X.md:9", "worker", vec![]),
        ]
    );
}

#[test]
fn a_link_to_no_file_or_no_heading_is_named() {
    let root = root();
    let page = "# Top\n[ok](#top) [ok](docs/RESULTS.md) [gone](docs/NOPE.md) [bad](#nowhere)\n";
    let faults = link_faults(&root, &[("README.md".into(), page.into())]);
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(faults[0].contains("README.md:2: the link `docs/NOPE.md` leads to no file"));
    assert!(faults[1].contains("`#nowhere` names no heading"));
}

#[test]
fn anchors_follow_githubs_rule() {
    assert_eq!(slug(" The race: a full scan"), "the-race-a-full-scan");
    assert_eq!(
        slug(" uring against blocking, and what each io_uring feature buys"),
        "uring-against-blocking-and-what-each-io_uring-feature-buys"
    );
    assert_eq!(slug(" `cargo bench`"), "cargo-bench");
    assert_eq!(slug(" The peers (`scripts/`)"), "the-peers-scripts");
}

#[test]
fn a_test_name_that_does_not_exist_is_named_with_its_line() {
    let page = "\
# Cases

| case | what | Test |
|---|---|---|
| one | `not_a_test_at_all_here` in another column | H `real_test_name`, `a_bogus_name`, `HUNT_TEST_X` |

Prose without the word: `a_long_snake_case_name_not_checked`.
The test `sqlite::a_renamed_test_of_the_suite` and, below, in the same paragraph,
`another_old_test_name_gone_now` too.

```
`fenced_code_is_never_a_test_name`
```
";
    let functions: BTreeSet<String> = ["real_test_name".to_string()].into();
    let faults = test_name_faults(&[("X.md".into(), page.into())], &functions);
    assert_eq!(
        faults,
        vec![
            "X.md:5: `a_bogus_name` names no test: there is no `fn a_bogus_name` under tests/ or src/",
            "X.md:8: `a_renamed_test_of_the_suite` names no test: there is no `fn a_renamed_test_of_the_suite` under tests/ or src/",
            "X.md:9: `another_old_test_name_gone_now` names no test: there is no `fn another_old_test_name_gone_now` under tests/ or src/",
        ]
    );
}
