//! What hunt asks of the operating system and nothing else: the host's facts (its name,
//! its cores, the machine a report was made on), the hex codec that carries needles and
//! digests as text, and child processes. It depends on nothing else in the crate, so
//! every other module (the broker, the worker, the tracer, the data set) may use it
//! without pulling in the others: it is the bottom of the module graph.

pub mod hex;
pub mod host;
pub mod process;
