//! Pages themselves: viewing and editing (`view`, `edit`, a section at a time too), the editor's
//! drafts (`drafts`), merging concurrent edits (`merge`), what markup learns about links
//! (`link_resolver`), the pages a new page starts from (`templates`), and a page's life: info,
//! rename, delete and undelete (`lifecycle`).

pub(crate) mod drafts;
pub(crate) mod edit;
pub(crate) mod lifecycle;
pub(crate) mod link_resolver;
pub(crate) mod merge;
pub(crate) mod rename;
pub(crate) mod render;
pub(crate) mod spam;
pub(crate) mod templates;
pub(crate) mod view;
