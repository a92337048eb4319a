//! Knobs: the settings a strategy declares for itself (`--batch`, `--queue-depth`,
//! `--broker`, ...), their kinds and bounds, and their checked values. A leaf: it knows
//! no strategy. Which knobs exist, and the flags they grow on the command line, is the
//! strategy registry's business ([`crate::strategy::knob`]); so a new knob is one
//! `static` beside what it tunes: no edit to the CLI, the settings or the race runner.
//!
//! Every number knob given is checked whatever the strategy (a text knob, `--broker` or
//! `--ring`, by its strategy when it is built), so a sweep cannot carry a bad
//! value unnoticed; a knob that several strategies share (`--batch` of every task
//! queue) is one `static`, declared where the thing it tunes lives.

use anyhow::{bail, Result};
use clap::{Arg, ArgAction};
use std::ffi::OsString;
use std::time::Duration;

/// One knob: a `--NAME VALUE` flag (or a `--NAME` switch).
#[derive(Debug)]
pub struct Knob {
    /// The flag's name, without the dashes.
    pub name: &'static str,
    /// The value's name in the help (`N`, `SECONDS`, `URL`).
    pub value_name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Its type, default and bounds.
    pub kind: Kind,
}

/// A knob's type, default and bounds.
#[derive(Debug)]
pub enum Kind {
    /// A whole number from `min` to `max`; `why_max` says why there is a ceiling.
    Count {
        /// When not given.
        default: u64,
        /// The smallest value.
        min: u64,
        /// The largest value.
        max: u64,
        /// Why `max` is the ceiling, for the message; empty when it needs no reason.
        why_max: &'static str,
    },
    /// Seconds, fractions allowed, from `min` to `max`.
    Seconds {
        /// When not given.
        default: f64,
        /// The smallest value.
        min: f64,
        /// The largest value.
        max: f64,
    },
    /// A switch: off unless given.
    Flag,
    /// Text the strategy checks when it is built; absent unless given.
    Text,
}

/// A checked knob value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Of a [`Kind::Count`].
    Count(u64),
    /// Of a [`Kind::Seconds`].
    Seconds(Duration),
    /// Of a [`Kind::Flag`].
    Flag(bool),
    /// Of a [`Kind::Text`]; `None` when not given.
    Text(Option<String>),
}

impl Knob {
    /// The value when the user gives none.
    pub fn default_value(&self) -> Value {
        match self.kind {
            Kind::Count { default, .. } => Value::Count(default),
            Kind::Seconds { default, .. } => Value::Seconds(Duration::from_secs_f64(default)),
            Kind::Flag => Value::Flag(false),
            Kind::Text => Value::Text(None),
        }
    }

    /// Checks a parsed value against the knob's bounds; the error names the flag.
    pub(crate) fn check(&self, value: Value) -> Result<Value> {
        let name = self.name;
        match (&self.kind, &value) {
            (
                Kind::Count {
                    min, max, why_max, ..
                },
                Value::Count(v),
            ) => {
                if v < min {
                    bail!("--{name} must be at least {min} (got {v})");
                }
                if v > max {
                    let why = if why_max.is_empty() {
                        String::new()
                    } else {
                        format!(": {why_max}")
                    };
                    bail!("--{name} must be at most {max} (got {v}){why}");
                }
            }
            (Kind::Seconds { min, max, .. }, Value::Seconds(d)) => {
                let s = d.as_secs_f64();
                if s < *min || s > *max {
                    bail!("--{name} must be between {min} and {max} seconds (got {s})");
                }
            }
            _ => {}
        }
        Ok(value)
    }

    /// The flag and value that give this knob `value` on a command line (nothing for a
    /// switch that is off or text not given).
    pub fn args(&self, value: &Value) -> Vec<OsString> {
        let flag = OsString::from(format!("--{}", self.name));
        match value {
            Value::Count(v) => vec![flag, v.to_string().into()],
            Value::Seconds(d) => vec![flag, d.as_secs_f64().to_string().into()],
            Value::Flag(true) => vec![flag],
            Value::Flag(false) | Value::Text(None) => vec![],
            Value::Text(Some(t)) => vec![flag, t.into()],
        }
    }

    /// The clap flag of this knob, under the "Strategy knobs" heading.
    pub(crate) fn arg(&'static self) -> Arg {
        let arg = Arg::new(self.name)
            .long(self.name)
            .help(self.help)
            .help_heading("Strategy knobs");
        match self.kind {
            Kind::Count { default, .. } => arg
                .value_name(self.value_name)
                .allow_negative_numbers(true)
                .value_parser(clap::value_parser!(u64))
                .default_value(default.to_string())
                .action(ArgAction::Set),
            Kind::Seconds { default, .. } => arg
                .value_name(self.value_name)
                .allow_negative_numbers(true)
                .value_parser(parse_seconds)
                .default_value(default.to_string())
                .action(ArgAction::Set),
            Kind::Flag => arg.action(ArgAction::SetTrue),
            Kind::Text => arg.value_name(self.value_name).action(ArgAction::Set),
        }
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err("give a number of seconds, such as 2 or 0.5".to_string()),
    }
}

/// Checked values of every knob: the ones given and the defaults of the rest (a knob
/// not listed reads as its default).
#[derive(Clone, Debug, Default)]
pub struct Knobs {
    values: Vec<(&'static Knob, Value, bool)>,
}

impl Knobs {
    /// Values already checked ([`Knob::check`]): (knob, value, given on the command line).
    pub(crate) fn checked(values: Vec<(&'static Knob, Value, bool)>) -> Knobs {
        Knobs { values }
    }

    fn get(&self, knob: &Knob) -> Value {
        self.values
            .iter()
            .find(|(k, _, _)| std::ptr::eq(*k, knob))
            .map(|(_, v, _)| v.clone())
            .unwrap_or_else(|| knob.default_value())
    }

    /// A [`Kind::Count`] knob's value. Reading a knob of another kind is a bug in the
    /// strategy that reads it, never a quiet 0: it panics, and the unit test
    /// `every_knob_reads_as_its_kind_and_only_so` reads every registered knob both ways.
    pub fn count(&self, knob: &Knob) -> u64 {
        match self.get(knob) {
            Value::Count(v) => v,
            other => wrong_kind(knob, "count", &other),
        }
    }

    /// A [`Kind::Seconds`] knob's value (panics for another kind, as [`Knobs::count`]).
    pub fn seconds(&self, knob: &Knob) -> Duration {
        match self.get(knob) {
            Value::Seconds(d) => d,
            other => wrong_kind(knob, "seconds", &other),
        }
    }

    /// A [`Kind::Flag`] knob's value (panics for another kind, as [`Knobs::count`]).
    pub fn flag(&self, knob: &Knob) -> bool {
        match self.get(knob) {
            Value::Flag(on) => on,
            other => wrong_kind(knob, "flag", &other),
        }
    }

    /// A [`Kind::Text`] knob's value, if given (panics for another kind, as
    /// [`Knobs::count`]).
    pub fn text(&self, knob: &Knob) -> Option<String> {
        match self.get(knob) {
            Value::Text(t) => t,
            other => wrong_kind(knob, "text", &other),
        }
    }

    /// True when the user gave `knob` on the command line.
    pub fn given(&self, knob: &Knob) -> bool {
        self.values
            .iter()
            .any(|(k, _, explicit)| std::ptr::eq(*k, knob) && *explicit)
    }

    /// Sets `knob` as if given on the command line (a race's shared service, say).
    pub fn set(&mut self, knob: &'static Knob, value: Value) {
        match self
            .values
            .iter_mut()
            .find(|(k, _, _)| std::ptr::eq(*k, knob))
        {
            Some(slot) => *slot = (knob, value, true),
            None => self.values.push((knob, value, true)),
        }
    }

    /// The flags that hand `knobs` (one strategy's) on to a `hunt search` child: every
    /// one of them with its value, given or default, so the child runs exactly what the
    /// parent measured.
    pub fn args_for(&self, knobs: &[&'static Knob]) -> Vec<OsString> {
        knobs.iter().flat_map(|k| k.args(&self.get(k))).collect()
    }
}

/// A knob read as a kind it is not: a programming error, said loudly.
fn wrong_kind(knob: &Knob, asked: &str, got: &Value) -> ! {
    panic!(
        "--{} was read as {asked}, but it is declared {:?} (value {got:?}): read it with its own kind",
        knob.name, knob.kind
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    static COUNT: Knob = Knob {
        name: "depth",
        value_name: "N",
        help: "test",
        kind: Kind::Count {
            default: 4,
            min: 1,
            max: 8,
            why_max: "each holds a buffer",
        },
    };

    #[test]
    fn counts_are_checked_with_the_flag_named() {
        assert!(COUNT.check(Value::Count(4)).is_ok());
        let e = COUNT.check(Value::Count(0)).unwrap_err().to_string();
        assert_eq!(e, "--depth must be at least 1 (got 0)");
        let e = COUNT.check(Value::Count(9)).unwrap_err().to_string();
        assert_eq!(e, "--depth must be at most 8 (got 9): each holds a buffer");
        assert_eq!(COUNT.args(&Value::Count(3)), ["--depth", "3"]);
    }
}
