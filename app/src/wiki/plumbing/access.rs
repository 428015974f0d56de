//! Enforcing page ACLs: the one check in dispatch for every route that names a page, and the
//! filter every listing passes its page names through.
//!
//! A page's ACL is the `#acl` pragma of its current text (for a deleted page, of its last text), read
//! with `markup::pragmas` and evaluated by [`crate::acl::Policy`] (MoinMoin's rules). Listings must
//! not read every page's text to filter, so storage keeps, per revision, the ACL line the app found in
//! it (`storage::page_acls`, derived from the revision log like the search index, caught up here
//! before any check). The whole wiki's ACL lines, which are few, are loaded into an [`AclMap`]: one
//! query for pages with a line, and, in a long-running process, nothing at all until the next save
//! (the map is kept while the newest revision id stays the same).
//!
//! Reading is all or nothing: a viewer who may not read a page sees no trace of its text, in any
//! form (view, raw, history, old revisions, diffs, blame, info, feeds, search hits and snippets,
//! suggestions, recent changes, backlinks, orphan and wanted lists), and a request for it gets a 403
//! page that names the page but shows nothing of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gateway::HttpError;
use http::StatusCode;

pub(crate) use crate::acl::Right;
use crate::acl::{Acl, Policy, Principal};

use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::viewer::Viewer;
use crate::wiki::{Wiki, WikiError};

/// How many revisions one catch-up step reads.
const SCAN_BATCH: usize = 256;

/// Every page's ACL line, parsed, at one moment. Pages absent from it have none (the default applies).
#[derive(Debug, Default)]
pub(crate) struct AclMap {
    acls: HashMap<String, Acl>,
}

/// The [`AclMap`] a long-running process keeps, with the newest revision id it was built at.
#[derive(Debug, Default)]
pub(crate) struct AclCache {
    built: Mutex<Option<(u64, Arc<AclMap>)>>,
}

/// What one viewer may do, page by page, without asking storage again: for filtering listings.
pub(crate) struct Access<'a> {
    map: Arc<AclMap>,
    policy: &'a Policy,
    name: Option<String>,
    is_admin: bool,
    /// Whether some page is hidden from this viewer, worked out once.
    hides: bool,
}

impl Access<'_> {
    fn who(&self) -> Principal<'_> {
        Principal {
            name: self.name.as_deref(),
            is_admin: self.is_admin,
        }
    }

    /// Whether the viewer has `right` on the page called `page`.
    pub(crate) fn may(&self, right: Right, page: &str) -> bool {
        self.policy.may(self.who(), self.map.acls.get(page), right)
    }

    /// Whether the viewer may read `page`: the filter for every listing.
    pub(crate) fn can_read(&self, page: &str) -> bool {
        self.may(Right::Read, page)
    }

    /// Whether some page is hidden from this viewer. When none is, a listing needs no filtering
    /// (search then pages through the index as it is).
    pub(crate) fn hides_anything(&self) -> bool {
        self.hides
    }

    /// Which pages the viewer may read, without listing every page: only pages with an `#acl` line
    /// can differ from the default. For filters that must not see a hidden page at all, such as
    /// the search index's count (see `search::Visible`).
    pub(crate) fn read_exceptions(&self) -> ReadExceptions {
        let who = self.who();
        let by_default = self.policy.may(who, None, Right::Read);
        let mut pages: Vec<String> = self
            .map
            .acls
            .iter()
            .filter(|(_, acl)| self.policy.may(who, Some(acl), Right::Read) != by_default)
            .map(|(name, _)| name.clone())
            .collect();
        pages.sort();
        ReadExceptions { by_default, pages }
    }

    fn compute_hides(&self) -> bool {
        let readable = self.read_exceptions();
        !readable.by_default || !readable.pages.is_empty()
    }
}

/// The pages one viewer may read, as the few exceptions to the default: see
/// [`Access::read_exceptions`].
pub(crate) struct ReadExceptions {
    /// Whether the viewer may read a page that has no `#acl` line.
    pub(crate) by_default: bool,
    /// The pages whose `#acl` line gives the other answer, sorted: the pages hidden from the viewer
    /// if `by_default`, else the only ones they may read.
    pub(crate) pages: Vec<String>,
}

impl Wiki {
    /// Whether `viewer` has `right` on `page`.
    pub(crate) fn may(
        &self,
        viewer: &Viewer,
        right: Right,
        page: &PageName,
    ) -> Result<bool, WikiError> {
        Ok(self.access(viewer)?.may(right, page.as_str()))
    }

    /// What `viewer` may do, for checking many pages at once.
    pub(crate) fn access(&self, viewer: &Viewer) -> Result<Access<'_>, WikiError> {
        let mut access = Access {
            map: self.acl_map()?,
            policy: &self.acl,
            name: viewer.name.clone(),
            is_admin: viewer.is_admin,
            hides: true,
        };
        access.hides = access.compute_hides();
        Ok(access)
    }

    /// The check dispatch makes before any controller runs: the rights `route` needs on the pages
    /// it names. A refusal is a 403 that shows nothing of the page.
    pub(crate) fn check_route(&self, viewer: &Viewer, route: &Route) -> Result<(), WikiError> {
        let Some((page, rights)) = route.needs(&self.settings.front_page) else {
            return Ok(());
        };
        let access = self.access(viewer)?;
        for &right in rights {
            if !access.may(right, page.as_str()) {
                return Err(forbidden(right, page).into());
            }
        }
        Ok(())
    }

    /// A save that changes the page's `#acl` line needs the admin right on the page (MoinMoin's rule),
    /// on top of the write right dispatch checked.
    pub(crate) fn check_acl_change(
        &self,
        viewer: &Viewer,
        page: &PageName,
        old_text: Option<&str>,
        new_text: &str,
    ) -> Result<(), WikiError> {
        let old = old_text.and_then(|text| markup::pragmas(text).acl);
        let new = markup::pragmas(new_text).acl;
        let normal = |line: Option<String>| line.map(|line| Acl::parse(&line));
        if normal(old) == normal(new) {
            return Ok(());
        }
        if self.may(viewer, Right::Admin, page)? {
            return Ok(());
        }
        Err(HttpError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Only users with the admin right on {page} may change its #acl line. Nothing was saved; keep the line as it was to save your other changes."
            ),
        )
        .into())
    }

    /// A rename moves text: each page it moves (with subpages, every page under `from/`) needs read,
    /// write and delete where it is, and write where it goes.
    pub(crate) fn check_rename(
        &self,
        viewer: &Viewer,
        from: &PageName,
        to: &PageName,
        with_subpages: bool,
    ) -> Result<(), WikiError> {
        let access = self.access(viewer)?;
        let mut moves = vec![(from.as_str().to_owned(), to.as_str().to_owned())];
        if with_subpages {
            let prefix = format!("{from}/");
            for page in self.storage.page_names()? {
                if let Some(rest) = page.strip_prefix(&prefix) {
                    let target = format!("{to}/{rest}");
                    moves.push((page, target));
                }
            }
        }
        for (old, new) in &moves {
            let allowed = [Right::Read, Right::Write, Right::Delete]
                .into_iter()
                .all(|right| access.may(right, old))
                && access.may(Right::Write, new);
            if !allowed {
                return Err(HttpError::new(
                    StatusCode::FORBIDDEN,
                    format!("You may not rename {old} to {new}. Nothing was renamed."),
                )
                .into());
            }
        }
        Ok(())
    }

    /// The ACL map, caught up with the revision log.
    fn acl_map(&self) -> Result<Arc<AclMap>, WikiError> {
        let last = self.storage.last_revision_id()?;
        if let Ok(built) = self.acl_cache.built.lock() {
            if let Some((built_at, map)) = built.as_ref() {
                if *built_at == last {
                    return Ok(Arc::clone(map));
                }
            }
        }
        let mut mark = self.storage.acl_scan_mark()?;
        while mark < last {
            let batch = self.storage.revisions_after(mark, SCAN_BATCH)?;
            let Some(upto) = batch.last().map(|logged| logged.id) else {
                break;
            };
            let lines: Vec<(u64, String)> = batch
                .iter()
                .filter_map(|logged| {
                    markup::pragmas(&logged.revision.text)
                        .acl
                        .map(|line| (logged.id, line))
                })
                .collect();
            let lines: Vec<(u64, &str)> = lines
                .iter()
                .map(|(id, line)| (*id, line.as_str()))
                .collect();
            self.storage.record_acl_scan(upto, &lines)?;
            mark = upto;
        }
        let found = self.storage.acl_lines(mark)?;
        let mut acls: HashMap<String, Acl> = found
            .lines
            .into_iter()
            .map(|(name, line)| {
                let acl = Acl::parse(&line);
                (name, acl)
            })
            .collect();
        // Saved after the scan above: read their text now rather than miss their line.
        for (name, rev) in found.unscanned {
            acls.remove(&name);
            if let Some(revision) = self.storage.revision(&name, rev)? {
                if let Some(line) = markup::pragmas(&revision.text).acl {
                    acls.insert(name, Acl::parse(&line));
                }
            }
        }
        let map = Arc::new(AclMap { acls });
        if let Ok(mut built) = self.acl_cache.built.lock() {
            *built = Some((last, Arc::clone(&map)));
        }
        Ok(map)
    }
}

/// The refusal: names the page and the right, never its content. (The error page offers an anonymous
/// reader a link to log in.)
fn forbidden(right: Right, page: &PageName) -> HttpError {
    let action = match right {
        Right::Read => "read",
        Right::Write => "edit",
        Right::Delete => "delete",
        Right::Admin => "change the access rights of",
    };
    HttpError::new(
        StatusCode::FORBIDDEN,
        format!("You may not {action} {page}."),
    )
}
