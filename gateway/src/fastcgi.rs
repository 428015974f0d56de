//! Placeholder module, being written.
