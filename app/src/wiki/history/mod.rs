//! What happened to pages: one page's revisions, diffs and reverts (`revisions`) drawn by
//! `diff_rows`, who wrote each line (`blame`), the whole wiki's recent changes (`recent`) and
//! their feeds (`feeds`).

pub(crate) mod blame;
pub mod diff_rows;
pub(crate) mod diff_view;
pub(crate) mod feeds;
pub(crate) mod recent;
pub(crate) mod revisions;
