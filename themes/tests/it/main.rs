//! Integration tests of the `themes` crate through its public API.

mod assets;
mod overrides;
mod render;
mod support;
