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
//!
//! **A page's name is not secret; its text is.** A request naming a protected page answers 403
//! where a missing page answers 404, as MoinMoin does, and the 403 page tells an anonymous reader to
//! log in. Hiding existence would not hold: creating a page under a taken name must fail, so anyone
//! allowed to write can learn that a name is taken, and a 404 would turn away the readers who only
//! need to log in. What is hidden is every *list*: no listing, count, search, suggestion or feed
//! names a page the viewer may not read, so names can be guessed but never harvested
//! (`Help/AccessControl` says so to users).
//!
//! **Old revisions are guarded by every ACL the page ever had.** The current text needs the read
//! right under the current ACL; anything made of the page's past (a revision other than the current
//! one, by view or raw `?rev=`, a diff, the history, blame, info, the page's feed, a revert, the
//! base of a merge, and the page's entries in recent changes, contributions and the wiki's feeds)
//! needs the read right under the current ACL *and* under the ACL of each of its revisions (the
//! default for those without a line): [`Access::can_read_history`]. The rule is the most
//! restrictive one, chosen over "the current ACL plus the admin right" because it leaves an ordinary
//! page's history exactly as readable as its text (it had no other ACL), protects each past text by
//! at least the line that protected it, and needs no right beyond reading; a page whose line was only
//! ever tightened has the same readers for its text and its history. Storage keeps each revision's
//! line, so "every ACL the page had" is one query (`Storage::history_acl_lines`), not a scan of texts.
//! A history that was more protected than the page is now is shown whole to those who could read
//! every part of it, and not at all to anyone else, listings included: one rule, no half histories.
//! Routes that show nothing but the past say so in the route table (`Guard::PagePast`), and
//! dispatch checks it with the rest; the view and raw text check it for `?rev=` themselves, and a
//! save for the base of a merge.
//!
//! Deleting and writing a page again is no way around its line: re-creating a deleted page is a
//! change to its last `#acl` line like any other ([`Wiki::check_acl_change`] compares with the
//! governing line, which for a deleted page is its last text's), so dropping the line needs the
//! admin right.
//!
//! **Group pages are ACL data too.** A page whose name matches `page_group_regex` defines a group
//! (`crate::acl`'s module doc), and its members are derived from the revision log the way ACL lines
//! are (`storage::page_groups`, caught up here, keyed by the pattern so that a changed setting scans
//! again), so no request parses a group page: the [`AclMap`] holds the groups, `[groups]` and the
//! pages' merged, built once per position of the revision log and shared. A save through any
//! process moves that position, so every process sees the new members at its next request. Changing
//! what a group page defines (its members by a save, the group itself by a delete, undelete or
//! rename) is changing an ACL when an ACL names the group, directly or through another group, and
//! needs the admin right on the page, like an `#acl` line (`Wiki::check_acl_change`).
//!
//! Refusals name only what the viewer named: a rename refused because of a subpage the viewer may
//! not see says so without naming it, and the redirect a renamed page leaves at its old name only
//! sends on those who may read the page (`Wiki::gone_page`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gateway::HttpError;
use http::StatusCode;
use storage::{ChangeKind, LoggedRevision, StorageError};

pub(crate) use crate::acl::Right;
use crate::acl::{member_set, Acl, Groups, GuardedGroups, Policy, Principal};

use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::{Route, Verb};
use crate::wiki::plumbing::viewer::Viewer;
use crate::wiki::{Wiki, WikiError};

/// How many revisions one catch-up step reads.
const SCAN_BATCH: usize = 256;

/// Every page's ACL line, parsed, at one moment. Pages absent from it have none (the default applies).
#[derive(Debug, Default)]
pub(crate) struct AclMap {
    acls: HashMap<String, Acl>,
    /// Every ACL of the revisions of each page that had a line in some revision (`None`: the
    /// default, for revisions without one). Pages absent from it had no other ACL than their current.
    history: HashMap<String, Vec<Option<Acl>>>,
    /// Every group: `[groups]` and the group pages', merged (`Groups::with_pages`).
    groups: Groups,
    /// Each live group page's members, as it lists them.
    page_groups: HashMap<String, Vec<String>>,
    /// The groups some ACL names, directly or through another group.
    guarded: GuardedGroups,
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
        self.may_under(self.map.acls.get(page), right)
    }

    /// Whether the viewer has `right` on a page under `acl` (`None`: a page without a line).
    fn may_under(&self, acl: Option<&Acl>, right: Right) -> bool {
        self.policy
            .may_with(&self.map.groups, self.who(), acl, right)
    }

    /// Whether a page called `page` defining `new` (`None`: no group) would change a group some ACL
    /// names: what then needs the admin right on it. A name `[groups]` defines is no page's group.
    fn changes_guarded_group(&self, page: &str, new: Option<&[String]>) -> bool {
        let old = self
            .map
            .page_groups
            .get(page)
            .map(|members| member_set(members));
        old != new.map(member_set)
            && self.map.guarded.contains(page)
            && !self.policy.groups().is_group(page)
    }

    /// Whether the viewer may read `page`: the filter for every listing of current texts and names.
    pub(crate) fn can_read(&self, page: &str) -> bool {
        self.may(Right::Read, page)
    }

    /// Whether the viewer may read `page`'s past: its current text and every ACL any of its
    /// revisions had allow it (see the module doc). The filter for every listing of changes.
    pub(crate) fn can_read_history(&self, page: &str) -> bool {
        self.can_read(page)
            && self
                .map
                .history
                .get(page)
                .is_none_or(|acls| acls.iter().all(|acl| self.reads(acl.as_ref())))
    }

    /// Why dispatch would refuse `route` to the viewer (the rights it needs on the page it names),
    /// or `None` if it would not. The one answer for the check itself and for the links templates
    /// show ([`Access::allows`]).
    fn refusal(&self, route: &Route, front_page: &PageName) -> Option<HttpError> {
        let (page, rights) = route.needs(front_page)?;
        if let Some(&right) = rights
            .iter()
            .find(|&&right| !self.may(right, page.as_str()))
        {
            return Some(forbidden(route, right, page));
        }
        if route.shows_past() && !self.can_read_history(page.as_str()) {
            return Some(history_forbidden(page));
        }
        None
    }

    /// Whether dispatch lets the viewer through to `route`: a page's actions are shown as links only
    /// to those who may take them.
    pub(crate) fn allows(&self, route: &Route, front_page: &PageName) -> bool {
        self.refusal(route, front_page).is_none()
    }

    /// Whether the viewer may read a page under `acl` (`None`: a page without a line).
    fn reads(&self, acl: Option<&Acl>) -> bool {
        self.may_under(acl, Right::Read)
    }

    /// Whether some page is hidden from this viewer. When none is, a listing needs no filtering.
    /// Worked out when a listing asks, not for every request.
    pub(crate) fn hides_anything(&self) -> bool {
        !self.reads(None) || self.map.acls.values().any(|acl| !self.reads(Some(acl)))
    }

    /// Which pages the viewer may read, without listing every page: only pages with an `#acl` line
    /// can differ from the default. For filters that must not see a hidden page at all, such as
    /// the search index's count (see `search::Visible`).
    /// The pages some of whose revisions the viewer may not read (an `#acl` line now, or one an
    /// older revision had, shuts them out): what a derived copy of older text, or of text under an
    /// older name, must not show them. Only pages that have had a line can be such.
    pub(crate) fn pages_with_a_hidden_past(&self) -> Vec<&str> {
        let mut pages: Vec<&str> = (self.map.history.keys())
            .chain(self.map.acls.keys())
            .filter(|page| !self.can_read_history(page))
            .map(String::as_str)
            .collect();
        pages.sort_unstable();
        pages.dedup();
        pages
    }

    pub(crate) fn read_exceptions(&self) -> ReadExceptions {
        let by_default = self.reads(None);
        let mut pages: Vec<String> = self
            .map
            .acls
            .iter()
            .filter(|(_, acl)| self.reads(Some(acl)) != by_default)
            .map(|(name, _)| name.clone())
            .collect();
        pages.sort();
        ReadExceptions { by_default, pages }
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

impl ReadExceptions {
    /// Counts `page` among those the viewer may not read.
    pub(crate) fn hide(&mut self, page: &str) {
        let found = self
            .pages
            .binary_search_by(|listed| listed.as_str().cmp(page));
        match (self.by_default, found) {
            (true, Err(at)) => self.pages.insert(at, page.to_owned()),
            (false, Ok(at)) => {
                self.pages.remove(at);
            }
            (true, Ok(_)) | (false, Err(_)) => {}
        }
    }
}

impl Wiki {
    /// What `viewer` may do, for checking many pages at once.
    pub(crate) fn access(&self, viewer: &Viewer) -> Result<Access<'_>, WikiError> {
        Ok(Access {
            map: self.acl_map()?,
            policy: &self.acl,
            name: viewer.name.clone(),
            is_admin: viewer.is_admin,
        })
    }

    /// The names no new account may take: the ACL keywords, the `[groups]` and the group pages'
    /// groups, since an ACL entry naming one would then mean more than the account.
    pub(crate) fn reserved_account_names(&self) -> Result<Vec<String>, WikiError> {
        let map = self.acl_map()?;
        Ok(self
            .acl
            .reserved_names()
            .into_iter()
            .map(str::to_owned)
            .chain(map.page_groups.keys().cloned())
            .collect())
    }

    /// The check dispatch makes before any controller runs: the rights `route` needs on the pages
    /// it names. A refusal is a 403 that shows nothing of the page.
    pub(crate) fn check_route(&self, viewer: &Viewer, route: &Route) -> Result<(), WikiError> {
        // Routes that name no page read no ACLs (`/+healthz` must answer when they cannot be read).
        if route.needs(&self.settings.front_page).is_none() {
            return Ok(());
        }
        let access = self.access(viewer)?;
        match access.refusal(route, &self.settings.front_page) {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// A save that changes the page's `#acl` line needs the admin right on the page (MoinMoin's rule),
    /// on top of the write right dispatch checked. The line it changes is the governing one: the
    /// current text's, or for a deleted page its last text's, so re-creating a deleted page without
    /// its line is a change too. So does a save that changes the members of a group page whose group
    /// an ACL names (see the module doc). `true` when the save changes either (for the audit log,
    /// [`Wiki::acl_audit_detail`]).
    pub(crate) fn check_acl_change(
        &self,
        viewer: &Viewer,
        page: &PageName,
        new_text: &str,
    ) -> Result<bool, WikiError> {
        let access = self.access(viewer)?;
        let new = markup::pragmas(new_text).acl.map(|line| Acl::parse(&line));
        let line_changed = access.map.acls.get(page.as_str()) != new.as_ref();
        let members = self.group_page_members(page.as_str(), new_text);
        let group_changed = access.changes_guarded_group(page.as_str(), members.as_deref());
        if !line_changed && !group_changed {
            return Ok(false);
        }
        if access.may(Right::Admin, page.as_str()) {
            return Ok(true);
        }
        let what = if line_changed {
            "its #acl line. Nothing was saved; keep the line as it was"
        } else {
            "the members of its group, which access control lines name. Nothing was saved; keep the list as it was"
        };
        Err(HttpError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Only users with the admin right on {page} may change {what} to save your other changes."
            ),
        )
        .into())
    }

    /// What the audit log says of a save that changed who may do what (`check_acl_change` said so):
    /// the new `#acl` line, and a group page's new members.
    pub(crate) fn acl_audit_detail(&self, page: &PageName, rev: u64, text: &str) -> String {
        let mut detail = match markup::pragmas(text).acl {
            Some(line) => format!("revision {rev}: #acl {line}"),
            None => format!("revision {rev}: no #acl line"),
        };
        if let Some(members) = self.group_page_members(page.as_str(), text) {
            detail.push_str(&format!("; group members: {}", members.join(", ")));
        }
        detail
    }

    /// The members a page called `page` with `text` defines, `None` when it is no group page.
    fn group_page_members(&self, page: &str, text: &str) -> Option<Vec<String>> {
        self.acl
            .group_pages()
            .is_group_page(page)
            .then(|| markup::group_members(text))
    }

    /// Deleting a group page ends its group, and undeleting one brings it back: when an ACL names
    /// the group, that needs the admin right on the page (see the module doc).
    pub(crate) fn check_group_presence(
        &self,
        viewer: &Viewer,
        page: &PageName,
        undeleting: bool,
    ) -> Result<(), WikiError> {
        if !self.acl.group_pages().is_group_page(page.as_str()) {
            return Ok(());
        }
        let access = self.access(viewer)?;
        let members = if undeleting {
            self.last_text(page)?
                .and_then(|text| self.group_page_members(page.as_str(), &text))
        } else {
            None
        };
        if !access.changes_guarded_group(page.as_str(), members.as_deref())
            || access.may(Right::Admin, page.as_str())
        {
            return Ok(());
        }
        let (verb, done) = if undeleting {
            ("bring it back", "undeleted")
        } else {
            ("delete it", "deleted")
        };
        Err(HttpError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Only users with the admin right on {page} may {verb}: it defines the group {page}, which access control lines name. Nothing was {done}."
            ),
        )
        .into())
    }

    /// The text a deleted page had before its deletion, which undeleting brings back.
    fn last_text(&self, page: &PageName) -> Result<Option<String>, WikiError> {
        let Some(deletion) = self.storage.current(page.as_str())? else {
            return Ok(None);
        };
        let before = deletion.meta.rev.saturating_sub(1);
        Ok(self
            .storage
            .revision(page.as_str(), before)?
            .map(|revision| revision.text))
    }

    /// Whether moving the page `old` to `new` leaves the groups ACLs name as they are, or the
    /// viewer has the admin right where it changes them: on `old`, whose group goes, and on `new`,
    /// whose group comes (see the module doc).
    fn may_move_group(&self, access: &Access<'_>, old: &str, new: &str) -> Result<bool, WikiError> {
        let pages = self.acl.group_pages();
        if !pages.is_group_page(old) && !pages.is_group_page(new) {
            return Ok(true);
        }
        if access.changes_guarded_group(old, None) && !access.may(Right::Admin, old) {
            return Ok(false);
        }
        if !pages.is_group_page(new) {
            return Ok(true);
        }
        let text = self.storage.current(old)?.map(|revision| revision.text);
        let members = text.map(|text| markup::group_members(&text));
        Ok(!access.changes_guarded_group(new, members.as_deref()) || access.may(Right::Admin, new))
    }

    /// Whether `viewer` may read `page`'s past (see the module doc); 403 if not. Every controller
    /// that shows anything of a revision but the current one asks, and so does a revert.
    pub(crate) fn check_history(&self, viewer: &Viewer, page: &PageName) -> Result<(), WikiError> {
        if self.access(viewer)?.can_read_history(page.as_str()) {
            return Ok(());
        }
        Err(history_forbidden(page).into())
    }

    /// A rename moves text: each page it moves (with subpages, every page under `from/`) needs read,
    /// write and delete where it is, and write where it goes. A refusal names the page and the new
    /// name the viewer typed, never a subpage (which they may not be allowed to know of).
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
        let allowed = |(old, new): &(String, String)| -> Result<bool, WikiError> {
            Ok([Right::Read, Right::Write, Right::Delete]
                .into_iter()
                .all(|right| access.may(right, old))
                && access.may(Right::Write, new)
                && self.may_move_group(&access, old, new)?)
        };
        let mut refused = None;
        for (at, pair) in moves.iter().enumerate() {
            if !allowed(pair)? {
                refused = Some(at);
                break;
            }
        }
        let Some(refused) = refused else {
            return Ok(());
        };
        let message = if refused == 0 {
            format!("You may not rename {from} to {to}. Nothing was renamed.")
        } else {
            format!(
                "You may not rename some of the pages under {from}/ to names under {to}/. Nothing was renamed; rename {from} without its subpages, or ask someone with the rights on them."
            )
        };
        Err(HttpError::new(StatusCode::FORBIDDEN, message).into())
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
        // One pass over the revision log for both scans, from the one further behind (the group
        // scan alone starts again after `page_group_regex` changed; recording a revision twice is
        // harmless, its rows are the same).
        let acl_mark = self.storage.acl_scan_mark()?;
        let pages = self.acl.group_pages();
        let group_mark = match pages.pattern() {
            Some(pattern) => Some((pattern, self.storage.group_scan_mark(pattern)?)),
            None => None,
        };
        let start = group_mark.map_or(acl_mark, |(_, mark)| mark.min(acl_mark));
        let mark = self.catch_up(start, last, |batch, upto| {
            if let Some((pattern, _)) = group_mark {
                self.record_group_scan(pattern, batch, upto)?;
            }
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
            self.storage.record_acl_scan(upto, &lines)
        })?;
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
        let mut history: HashMap<String, Vec<Option<Acl>>> = HashMap::new();
        for (name, line) in self.storage.history_acl_lines(mark)? {
            let acl = line.map(|line| Acl::parse(&line));
            history.entry(name).or_default().push(acl);
        }
        let page_groups = match group_mark {
            Some(_) => self.page_groups(mark)?,
            None => HashMap::new(),
        };
        let groups = self.acl.groups().with_pages(page_groups.clone());
        let guarded = self.acl.guarded_groups(&groups, acls.values());
        let map = Arc::new(AclMap {
            acls,
            history,
            groups,
            page_groups,
            guarded,
        });
        // A map from a scan that could not be recorded is right but slow to build: built again
        // until the scan is recorded.
        if mark >= last {
            if let Ok(mut built) = self.acl_cache.built.lock() {
                *built = Some((last, Arc::clone(&map)));
            }
        }
        Ok(map)
    }

    /// Records the group pages among `batch`, the revision log up to id `upto`, as the scan under
    /// `pattern` finds them.
    fn record_group_scan(
        &self,
        pattern: &str,
        batch: &[LoggedRevision],
        upto: u64,
    ) -> Result<(), StorageError> {
        let pages = self.acl.group_pages();
        let found: Vec<(u64, Vec<String>)> = batch
            .iter()
            .filter(|logged| {
                !matches!(logged.revision.meta.kind, ChangeKind::Delete)
                    && pages.is_group_page(&logged.revision.meta.page)
            })
            .map(|logged| (logged.id, markup::group_members(&logged.revision.text)))
            .collect();
        let found: Vec<(u64, &[String])> = found
            .iter()
            .map(|(id, members)| (*id, members.as_slice()))
            .collect();
        self.storage.record_group_scan(pattern, upto, &found)
    }

    /// Every live group page's members, as the scan up to `mark` found them and, for pages saved
    /// since, as their text says.
    fn page_groups(&self, mark: u64) -> Result<HashMap<String, Vec<String>>, WikiError> {
        let pages = self.acl.group_pages();
        let found = self.storage.page_groups(mark)?;
        // The name is checked again: the scan knows each page as it was called then.
        let mut groups: HashMap<String, Vec<String>> = found
            .groups
            .into_iter()
            .filter(|(name, _)| pages.is_group_page(name))
            .collect();
        // Saved after the scan above: read their text now rather than miss their members.
        for (name, rev) in found.unscanned {
            groups.remove(&name);
            if !pages.is_group_page(&name) {
                continue;
            }
            if let Some(revision) = self.storage.revision(&name, rev)? {
                groups.insert(name, markup::group_members(&revision.text));
            }
        }
        Ok(groups)
    }

    /// Reads the revision log from after `mark` up to `last` in batches, handing each batch and the
    /// id of its last revision to `record`; returns how far it came, which is short of `last` when
    /// the database refuses the writes (see [`StorageError::write_refusal`]).
    fn catch_up(
        &self,
        mut mark: u64,
        last: u64,
        mut record: impl FnMut(&[LoggedRevision], u64) -> Result<(), StorageError>,
    ) -> Result<u64, WikiError> {
        while mark < last {
            let batch = self.storage.revisions_after(mark, SCAN_BATCH)?;
            let Some(upto) = batch.last().map(|logged| logged.id) else {
                break;
            };
            if let Err(err) = record(&batch, upto) {
                // A lock held too long, a full or read-only disk: the scan is derived data, so the
                // answer is built from what is recorded plus the texts saved since, and a later
                // request records it. Reads never fail for want of a write.
                if err.write_refusal().is_none() {
                    return Err(err.into());
                }
                if err.is_busy() {
                    tracing::debug!(error = %err, "the access scan was not recorded: another process is writing");
                } else {
                    tracing::warn!(error = %err, "could not record the access scan; pages saved since it are read directly for now");
                }
                break;
            }
            mark = upto;
        }
        Ok(mark)
    }
}

/// The refusal of a page's past to a viewer who may read its present.
fn history_forbidden(page: &PageName) -> HttpError {
    HttpError::new(
        StatusCode::FORBIDDEN,
        format!(
            "You may read {page} as it is now, but not its history: an older version was protected by an access control line that does not let you read it."
        ),
    )
}

/// The refusal: names the page and what the viewer tried, never its content. Reading refused is
/// "read" whatever the route; otherwise the route's own verb (a rename refused for want of the
/// delete right is still a rename). (The error page offers an anonymous reader a link to log in.)
fn forbidden(route: &Route, right: Right, page: &PageName) -> HttpError {
    let by_right = match right {
        Right::Read => "read",
        Right::Write => "edit",
        Right::Delete => "delete",
        Right::Admin => "change the access rights of",
    };
    let action = match (right, route.verb()) {
        (Right::Read, _) | (_, None) => by_right,
        (_, Some(Verb::Files)) => "upload files to",
        (_, Some(Verb::DeleteFile)) => "delete the files of",
        (_, Some(Verb::RestoreFile)) => "restore the files of",
        (Right::Write | Right::Delete | Right::Admin, Some(verb)) => verb.as_str(),
    };
    HttpError::new(
        StatusCode::FORBIDDEN,
        format!("You may not {action} {page}."),
    )
}
