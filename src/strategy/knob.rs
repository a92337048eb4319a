//! The knobs as the strategy registry sees them: every knob of every registered
//! strategy ([`all`]), and the flags they grow on `hunt search` and `hunt race` (clap's
//! builder API, via [`KnobArgs`]), checked once ([`Knobs::from_args`]); the race hands
//! each contender's knobs on to its `hunt search` runs ([`Knobs::args_for`]). The knob
//! types themselves live below every strategy, in [`crate::knob`].

pub use crate::knob::{Kind, Knob, Knobs, Value};

use anyhow::Result;
use clap::{ArgMatches, Command};
use std::time::Duration;

/// Every distinct knob of every strategy in the registry, in registry order. Strategies
/// that share a knob share its `static`, so it appears once.
pub fn all() -> Vec<&'static Knob> {
    let mut out: Vec<&'static Knob> = Vec::new();
    for k in super::StrategyKind::ALL {
        for &knob in k.facts().knobs {
            if !out.iter().any(|o| std::ptr::eq(*o, knob)) {
                out.push(knob);
            }
        }
    }
    out
}

/// The raw knob flags of one command line, as clap parsed them; see [`Knobs::from_args`].
#[derive(Clone, Debug, Default)]
pub struct KnobArgs {
    given: Vec<(&'static Knob, Value, bool)>,
}

impl clap::FromArgMatches for KnobArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for knob in all() {
            let explicit =
                m.value_source(knob.name) == Some(clap::parser::ValueSource::CommandLine);
            let value = match knob.kind {
                Kind::Count { .. } => m.get_one::<u64>(knob.name).map(|v| Value::Count(*v)),
                Kind::Seconds { .. } => m
                    .get_one::<f64>(knob.name)
                    .map(|v| Value::Seconds(Duration::from_secs_f64(*v))),
                Kind::Flag => Some(Value::Flag(m.get_flag(knob.name))),
                Kind::Text => Some(Value::Text(m.get_one::<String>(knob.name).cloned())),
            };
            given.push((
                knob,
                value.unwrap_or_else(|| knob.default_value()),
                explicit,
            ));
        }
        Ok(KnobArgs { given })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for KnobArgs {
    fn augment_args(cmd: Command) -> Command {
        all().into_iter().fold(cmd, |cmd, knob| {
            // A help text made at run time (one that lists the backends table's URL
            // forms) replaces the static one.
            let arg = match crate::broker::knob_help(knob) {
                Some(help) => knob.arg().help(help),
                None => knob.arg(),
            };
            cmd.arg(arg)
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl Knobs {
    /// Checks the knob flags of a command line against each knob's bounds.
    pub fn from_args(args: &KnobArgs) -> Result<Knobs> {
        let mut values = Vec::with_capacity(args.given.len());
        for (knob, value, explicit) in &args.given {
            values.push((*knob, knob.check(value.clone())?, *explicit));
        }
        Ok(Knobs::checked(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered knob reads through its declared kind, and reading it as any
    /// other kind panics rather than giving 0.
    #[test]
    fn every_knob_reads_as_its_kind_and_only_so() {
        let knobs = Knobs::default();
        type Read = fn(&Knobs, &Knob);
        let reads: [(&str, Read); 4] = [
            ("count", |k, n| {
                k.count(n);
            }),
            ("seconds", |k, n| {
                k.seconds(n);
            }),
            ("flag", |k, n| {
                k.flag(n);
            }),
            ("text", |k, n| drop(k.text(n))),
        ];
        for knob in all() {
            let own = match knob.kind {
                Kind::Count { .. } => "count",
                Kind::Seconds { .. } => "seconds",
                Kind::Flag => "flag",
                Kind::Text => "text",
            };
            for (kind, read) in reads {
                let r = std::panic::catch_unwind(|| read(&knobs, knob));
                assert_eq!(r.is_ok(), kind == own, "--{} read as {kind}", knob.name);
            }
        }
    }

    /// That no knob clashes with a fixed flag is `cli`'s test (clap panics on a
    /// duplicate): the command line sits above the registry, so it is tested there.
    #[test]
    fn knob_names_are_unique() {
        let names: Vec<&str> = all().iter().map(|k| k.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            names.len(),
            "two knobs share a name: {names:?}"
        );
    }
}
