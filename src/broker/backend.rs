//! The plug-in point of the task layer: the [`Backend`] trait every broker implements
//! (its name, URL forms, knobs, how to connect, how to start a private one), and the
//! [`Entry`] each line of the backends table in [`super`] becomes. URL dispatch, help
//! texts and messages read the table; nothing outside a backend's own module and that
//! table line names a backend.

use super::{Broker, KNOBS};
use crate::knob::{Knob, Knobs};
use anyhow::{anyhow, bail, Result};

/// A backend's own settings, as they travel in a hunt's spec ([`super::HuntSpec::options`]):
/// keys only that backend reads (a polled broker's pace, say).
pub type Options = serde_json::Map<String, serde_json::Value>;

/// Everything hunt knows of one task-queue backend. Implemented by a unit type in the
/// backend's module; the table line `module::Type if feature "f"` in [`super`] is all
/// the rest of hunt sees of it.
pub trait Backend: 'static {
    /// Its name: the strategy's (`--strategy NAME`), and the backend's in messages.
    const NAME: &'static str;
    /// The URL prefixes it takes, in lower case (`NAME://`); matched case-insensitively.
    const SCHEMES: &'static [&'static str];
    /// The URL forms it takes, for help texts and the "not a broker URL" message.
    const URL_FORMS: &'static str;
    /// Its strategy's knobs: the shared [`KNOBS`], plus its own where it has some.
    const KNOBS: &'static [&'static Knob] = KNOBS;
    /// True when its private broker takes seconds to start (a server that boots a VM):
    /// a caller running many hunts starts one with [`Backend::private_for_race`] and
    /// passes its URL as `--broker`, rather than paying the start per hunt.
    const SLOW_PRIVATE: bool = false;
    /// True when a worker's report waits for the coordinator's verdict (the coordinator
    /// keeps the task table, not the broker): the coordinator then reads and answers
    /// reports as they come, never letting them gather first, since every worker waits
    /// for it.
    const REPORTS_WAIT_FOR_COORDINATOR: bool = false;

    /// Connects to the broker `url` names (a backend that keeps its queue in a file makes it).
    fn connect(url: &str) -> Result<Box<dyn Broker>>;
    /// Connects to a queue that must exist already (`hunt status` makes nothing).
    fn connect_existing(url: &str) -> Result<Box<dyn Broker>> {
        Self::connect(url)
    }
    /// Its own settings for a hunt's spec, from its knobs.
    fn options(_knobs: &Knobs) -> Options {
        Options::new()
    }
    /// Starts a private broker for one hunt given no `--broker`; dropping it stops it.
    fn private() -> Result<Box<dyn PrivateBroker>>;
    /// Starts a private broker kept for a whole race (by default, as for one hunt).
    fn private_for_race() -> Result<Box<dyn PrivateBroker>> {
        Self::private()
    }
    /// Why no private broker can start on this machine (the race's sit-out line), if so.
    fn missing() -> Option<String> {
        None
    }
}

/// A private broker; dropping it stops it and removes what it made.
pub trait PrivateBroker: Send {
    /// Its URL.
    fn url(&self) -> &str;
    /// `hunt race --fault kill-broker`: kills its server with SIGKILL and starts it
    /// again on its data. `None` where it has no server of its own (the line the race
    /// prints as the strategy's sit-out).
    fn kill_and_restart(&mut self) -> Option<Result<()>> {
        None
    }
    /// Why [`PrivateBroker::kill_and_restart`] cannot be done, if it cannot.
    fn no_server(&self) -> Option<&'static str> {
        Some("it has no server of its own to kill")
    }
}

/// One line of the backends table: a backend this build has, or one its cargo feature
/// left out (which then says how to rebuild).
pub struct Entry {
    /// [`Backend::NAME`] (the module's name for one left out).
    pub name: &'static str,
    /// The cargo feature it needs.
    pub feature: &'static str,
    plug: Option<Plug>,
}

/// The backend's functions, for a backend this build has.
struct Plug {
    schemes: &'static [&'static str],
    url_forms: &'static str,
    connect: fn(&str) -> Result<Box<dyn Broker>>,
    connect_existing: fn(&str) -> Result<Box<dyn Broker>>,
}

impl Entry {
    /// The line of backend `B`.
    pub const fn of<B: Backend>(feature: &'static str) -> Entry {
        Entry {
            name: B::NAME,
            feature,
            plug: Some(Plug {
                schemes: B::SCHEMES,
                url_forms: B::URL_FORMS,
                connect: B::connect,
                connect_existing: B::connect_existing,
            }),
        }
    }

    /// The line of a backend this build left out.
    pub const fn missing(name: &'static str, feature: &'static str) -> Entry {
        Entry {
            name,
            feature,
            plug: None,
        }
    }

    /// True when this build has the backend.
    pub fn compiled_in(&self) -> bool {
        self.plug.is_some()
    }

    /// The URL forms it takes, for help texts (`NAME:...` for one left out).
    pub fn url_forms(&self) -> &'static str {
        self.plug.as_ref().map_or("", |p| p.url_forms)
    }

    fn takes(&self, lower: &str) -> bool {
        match &self.plug {
            Some(p) => p.schemes.iter().any(|s| lower.starts_with(s)),
            // Left out of the build: its schemes are not known, but they start with its
            // name (`NAME://`, `NAME+unix://`).
            None => lower
                .strip_prefix(self.name)
                .is_some_and(|rest| rest.starts_with([':', '+'])),
        }
    }

    fn plug(&self) -> Result<&Plug> {
        self.plug.as_ref().ok_or_else(|| {
            let f = self.feature;
            anyhow!("hunt was built without the `{f}` feature: rebuild with `cargo build --features {f}`")
        })
    }

    /// Connects to `url` (see [`Backend::connect`]).
    pub fn connect(&self, url: &str) -> Result<Box<dyn Broker>> {
        (self.plug()?.connect)(url)
    }

    /// Connects to an existing queue at `url` (see [`Backend::connect_existing`]).
    pub fn connect_existing(&self, url: &str) -> Result<Box<dyn Broker>> {
        (self.plug()?.connect_existing)(url)
    }
}

/// The table's line for the backend `url` names, by its scheme; a URL of no known scheme
/// is refused with the forms hunt takes (never with its password).
pub fn of_url(url: &str) -> Result<&'static Entry> {
    let lower = url.to_ascii_lowercase();
    if let Some(e) = super::BACKENDS.iter().find(|e| e.takes(&lower)) {
        return Ok(e);
    }
    if !super::BACKENDS.iter().any(Entry::compiled_in) {
        bail!(
            "this hunt was built without any broker backend: rebuild with `cargo build --features {}`",
            or_list(super::BACKENDS.iter().map(|e| e.feature.to_string()))
        );
    }
    bail!(
        "--broker {:?} is not a broker URL hunt knows: use {}",
        super::redact(url),
        url_forms()
    )
}

/// The line of the backend named `name`.
pub fn named(name: &str) -> Option<&'static Entry> {
    super::BACKENDS.iter().find(|e| e.name == name)
}

/// Every backend's URL forms, `A, B or C`: for help texts and messages.
pub fn url_forms() -> String {
    let forms = or_list(
        super::BACKENDS
            .iter()
            .filter(|e| e.compiled_in())
            .map(|e| e.url_forms().to_string()),
    );
    if forms.is_empty() {
        return format!(
            "none in this build (rebuild with `cargo build --features {}`)",
            or_list(super::BACKENDS.iter().map(|e| e.feature.to_string()))
        );
    }
    forms
}

/// Every backend's name, `a or b`: for messages about a URL of none of them.
pub fn names() -> String {
    or_list(super::BACKENDS.iter().map(|e| e.name.to_string()))
}

fn or_list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_has_one_line_and_urls_find_it() {
        for e in super::super::BACKENDS {
            assert_eq!(named(e.name).map(|n| n.name), Some(e.name));
            if let Some(p) = &e.plug {
                for s in p.schemes {
                    assert_eq!(
                        s.to_ascii_lowercase(),
                        *s,
                        "{}: schemes are lower case",
                        e.name
                    );
                    let url = format!("{}x", s.to_ascii_uppercase());
                    assert_eq!(of_url(&url).unwrap().name, e.name, "{url}");
                }
                assert!(url_forms().contains(p.url_forms));
            }
        }
        let e = of_url("http://:pw@h").err().unwrap().to_string();
        assert!(
            e.contains("is not a broker URL") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn a_backend_left_out_of_the_build_says_how_to_rebuild() {
        let e = Entry::missing("nope", "nope");
        assert!(e.takes("nope://h:1") && e.takes("nope+unix:///s") && !e.takes("nopex://h"));
        assert_eq!(
            e.connect("nope://h:1").err().unwrap().to_string(),
            "hunt was built without the `nope` feature: rebuild with `cargo build --features nope`"
        );
    }

    /// The plug-in promise: outside its own module (`src/broker/NAME.rs`, `src/broker/NAME/`)
    /// and its strategy's one-line file, a backend is named in at most two source files
    /// (the backends table's line and the strategy registry's), as `grep -rliw NAME src`
    /// would count them.
    #[test]
    fn a_backend_is_named_in_at_most_two_files_outside_its_module() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        for e in super::super::BACKENDS {
            let own = [
                src.join("broker").join(format!("{}.rs", e.name)),
                src.join("broker").join(e.name),
                src.join("strategy").join(format!("{}.rs", e.name)),
            ];
            let naming: Vec<String> = files
                .iter()
                .filter(|f| !own.iter().any(|o| f.starts_with(o)))
                .filter(|f| names_word(&std::fs::read_to_string(f).unwrap(), e.name))
                .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
                .collect();
            assert!(
                naming.len() <= 2,
                "backend {} is named outside its module in {naming:?}: name it only in its backends! and registry! lines",
                e.name
            );
        }
    }

    /// True when `text` holds `word` as a whole word, in any case (as `grep -iw`).
    fn names_word(text: &str, word: &str) -> bool {
        let text = text.to_ascii_lowercase();
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        text.match_indices(word).any(|(at, _)| {
            !is_word(text[..at].chars().next_back())
                && !is_word(text[at + word.len()..].chars().next())
        })
    }

    #[test]
    fn lists_read_as_prose() {
        let l = |v: &[&str]| or_list(v.iter().map(|s| s.to_string()));
        assert_eq!(l(&[]), "");
        assert_eq!(l(&["a"]), "a");
        assert_eq!(l(&["a", "b"]), "a or b");
        assert_eq!(l(&["a", "b", "c"]), "a, b or c");
    }
}
