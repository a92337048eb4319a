//! The survival table of a race run with `--fault`: per contender, how the fault was
//! done, the four outcome counts (right, unknown, wrong, hung), the faulted runs' time
//! against the plain runs of the same rounds, and the work done again. Shared by the
//! terminal table, the Markdown and HTML exports (the CSV export has its own raw
//! columns), so they always agree.

use super::verdict::ratio;
use crate::race::faults::FaultResult;
use crate::race::RaceResults;
use crate::units::secs as duration;

/// The survival table's columns: Markdown title and terminal head (two lines).
pub const COLUMNS: [(&str, [&str; 2]); 12] = [
    ("strategy", ["", "strategy"]),
    ("workers", ["", "workers"]),
    ("fault", ["fault", "done as"]),
    ("right", ["", "right"]),
    ("unknown", ["", "unknown"]),
    ("wrong", ["", "wrong"]),
    ("hung", ["", "hung"]),
    ("answer median", ["answer", "median"]),
    ("found at", ["found", "at"]),
    ("vs plain ± se", ["vs plain", "± se"]),
    ("retries", ["", "retries"]),
    ("files again", ["files", "again"]),
];

/// The terminal's survival columns left out first when it is narrow, by title.
pub const LEAVE_OUT: [&str; 4] = ["retries", "found at", "files again", "workers"];

/// What the survival table shows, on one line: the fault and the deadline.
pub fn heading(r: &RaceResults) -> Option<String> {
    let f = r.fault.as_ref()?;
    Some(format!(
        "Survival under --fault {}: each faulted run beside a plain one in the same round; a run not done in {:.0} s is hung.",
        f.kind.name(),
        f.deadline_s
    ))
}

/// What the columns mean, for under the table.
pub const LEGEND: &str = "right: the manifest's file; unknown: an honest exit 2; wrong: \"not found\" or another file; answer: faulted wall time, spawn to exit; found at: from the hunt's start to the find; vs plain: mean faulted over mean plain wall time, same rounds; retries: task takes beyond the first (takeovers after a lease ran out, retries), mean per faulted run; files again: the work done again, the files those later takes read as their workers' reports count them, mean per faulted run (a take that never reported, killed or handed back unfinished, is not in it; 0 for the strategies without a task queue shared across processes: nothing takes a dead worker's range over, it is lost, and the answer unknown).";

/// A warning per contender whose fault did not fire in every faulted run (its
/// outcomes then say less than they seem to).
pub fn misfires(r: &RaceResults) -> Vec<String> {
    r.contenders
        .iter()
        .filter_map(|c| {
            let f = c.fault.as_ref()?;
            let runs = f.samples.len() as u64;
            (f.fired < runs).then(|| {
                format!(
                    "warning: {}: the fault fired in {} of {runs} faulted runs",
                    c.label(),
                    f.fired
                )
            })
        })
        .collect()
}

/// One row per contender that ran faulted.
pub fn rows(r: &RaceResults) -> Vec<[String; COLUMNS.len()]> {
    r.contenders
        .iter()
        .filter_map(|c| Some((c, c.fault.as_ref()?, c.outcomes?)))
        .map(|(c, f, o)| {
            let none = || "-".to_string();
            [
                c.strategy.to_string(),
                c.workers.to_string(),
                how(f),
                o.right.to_string(),
                o.unknown.to_string(),
                o.wrong.to_string(),
                o.hung.to_string(),
                f.wall.map_or_else(none, |s| duration(s.median)),
                f.find_median_s.map_or_else(none, duration),
                f.slowdown.map_or_else(none, |s| format!("{} x", ratio(s))),
                f.retries.map_or_else(none, |x| format!("{x:.1}")),
                f.files_again.map_or_else(none, |x| format!("{x:.1}")),
            ]
        })
        .collect()
}

/// How the fault was done, with the pause.
fn how(f: &FaultResult) -> String {
    match f.pause_s {
        Some(p) => format!("{} {p:.1} s", f.how),
        None => f.how.to_string(),
    }
}

/// The survival block for the terminal, fitted to `width` by leaving out
/// [`LEAVE_OUT`]'s columns; empty without a fault.
pub fn text(r: &RaceResults, width: Option<usize>) -> Vec<String> {
    let Some(head) = heading(r) else {
        return Vec::new();
    };
    let body = rows(r);
    let width_of = |i: usize| {
        COLUMNS[i]
            .1
            .iter()
            .map(|h| h.chars().count())
            .chain(body.iter().map(|row| row[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let mut shown: Vec<usize> = (0..COLUMNS.len()).collect();
    let total = |shown: &[usize]| -> usize {
        shown.iter().map(|&i| width_of(i)).sum::<usize>() + 2 * shown.len().saturating_sub(1)
    };
    if let Some(w) = width {
        for title in LEAVE_OUT {
            if total(&shown) <= w {
                break;
            }
            shown.retain(|&i| COLUMNS[i].0 != title);
        }
    }
    let line = |cell: &dyn Fn(usize) -> String| {
        let cells: Vec<String> = shown
            .iter()
            .map(|&i| {
                let c = cell(i);
                let pad = " ".repeat(width_of(i) - c.chars().count());
                // Text columns left, numbers right.
                if i == 0 || i == 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut out = vec![head];
    for k in [0, 1] {
        out.push(line(&|i| COLUMNS[i].1[k].to_string()));
    }
    for row in &body {
        out.push(line(&|i| row[i].clone()));
    }
    out.push(LEGEND.to_string());
    out.extend(misfires(r));
    out
}

/// The survival block as Markdown; empty without a fault.
pub fn markdown(r: &RaceResults) -> String {
    let Some(head) = heading(r) else {
        return String::new();
    };
    let mut s = format!("\n{head}\n\n");
    let titles: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    s.push_str(&format!("| {} |\n", titles.join(" | ")));
    let rule: Vec<&str> = (0..COLUMNS.len())
        .map(|i| if i == 0 || i == 2 { ":---" } else { "---:" })
        .collect();
    s.push_str(&format!("|{}|\n", rule.join("|")));
    for row in rows(r) {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s.push_str(&format!("\n{LEGEND}\n"));
    for l in misfires(r) {
        s.push_str(&format!("\n{l}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;
    use crate::race::faults::{self, Answer, FaultInfo, FaultSample, Outcomes};
    use crate::report::fixture;

    fn faulted() -> RaceResults {
        let mut r = fixture::results();
        r.fault = Some(FaultInfo {
            kind: FaultKind::KillWorker,
            deadline_s: 33.0,
        });
        let c = &mut r.contenders[1];
        let samples = vec![FaultSample {
            round: 1,
            answer: Answer::Unknown,
            fired: true,
            wall_s: 0.02,
            time_to_find_s: None,
            files_scanned: Some(3),
            retries: None,
            files_again: Some(0),
            said: Some("rayon worker 0 died mid-file".into()),
        }];
        let f = faults::result(
            FaultKind::KillWorker,
            c.strategy,
            std::time::Duration::ZERO,
            &samples,
            &c.samples,
        );
        c.outcomes = Some(Outcomes::of(&samples));
        c.fault = Some(f);
        r
    }

    #[test]
    fn the_survival_block_fits_and_the_json_has_the_outcomes() {
        let r = faulted();
        let wide = text(&r, None);
        assert_eq!(
            wide[0],
            "Survival under --fault kill-worker: each faulted run beside a plain one in the same round; a run not done in 33 s is hung."
        );
        assert!(
            wide[3].starts_with("rayon           2  thread dies      0        1      0     0"),
            "{wide:#?}"
        );
        let narrow = text(&r, Some(70));
        assert!(
            narrow[1..4].iter().all(|l| l.chars().count() <= 70),
            "{narrow:#?}"
        );
        assert!(!narrow[2].contains("retries"));
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["contenders"][1]["outcomes"],
            serde_json::json!({"right": 0, "unknown": 1, "wrong": 0, "hung": 0})
        );
        // A race without a fault keeps its JSON as it was.
        assert!(json["contenders"][0].get("outcomes").is_none());
        assert!(text(&fixture::results(), None).is_empty());
        assert!(misfires(&r).is_empty());
    }
}
