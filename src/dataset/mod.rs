//! The treasure-hunt data set: writing it ([`generate`]) and describing it
//! ([`manifest`]).

mod folder;
pub mod generate;
pub mod identity;
pub mod manifest;
