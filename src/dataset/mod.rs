//! The treasure-hunt data set: writing it ([`generate`]) and describing it
//! ([`manifest`]).

pub mod generate;
pub mod manifest;
