//! Integration tests of the `themes` crate through its public API.

mod assets;
mod contrast;
mod every_theme;
mod overrides;
mod render;
mod support;
