//! What every controller stands on: the URL space (`routes`, the API's part in `api_routes`) and the URLs built from it
//! (`urls`), who is asking (`viewer`) and what they may do (`access`), page names
//! and file names (`page_name`, `file_name`), the layout every template gets (`layout`) in the reader's theme (`theme`),
//! how errors become pages (`error`), the rows of listings as template values (`rows`), and finished page views kept by a long-running process
//! (`response_cache`).

pub(crate) mod access;
pub mod api_routes;
pub mod error;
pub mod file_name;
pub(crate) mod layout;
pub(crate) mod name_pages;
pub mod page_name;
pub(crate) mod params;
pub(crate) mod respond;
pub(crate) mod response_cache;
pub mod routes;
pub(crate) mod rows;
pub(crate) mod theme;
pub mod urls;
pub(crate) mod viewer;
