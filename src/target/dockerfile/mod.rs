//! Dockerfile blocks: parsed ([`parse`]), checked by docmatrix's own rules ([`rules`]), and
//! built once per matrix version where a container engine answers ([`build`]).

pub mod build;
pub mod parse;
pub mod rules;
