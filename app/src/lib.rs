//! quire, the wiki: controllers written once against the gateway interface,
//! and the command line that hands them to a gateway.
//!
//! This library is what the `quire` binary is made of; it is a library so
//! that integration tests can build the very app the binary serves.

pub mod acl;
pub mod archive;
pub mod cli;
pub mod commands;
pub mod config;
pub mod datadir;
pub mod export;
pub mod file_head;
// Test support: the bodies of the fuzz targets in `fuzz/`, shared with the stable seed replay.
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod import;
pub mod indexer;
pub mod mail;
pub mod malloc_arenas;
pub mod notifier;
pub mod seed;
pub mod spam;
pub mod wiki;
