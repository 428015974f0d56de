//! Viewing a page (`/{Page}`, `?rev=N` for an old revision) and its raw text (`/+raw/{Page}`);
//! a page that is not there gets the form to create it, or says where it went.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::Revision;

use crate::wiki::pages::templates::TemplateLink;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::revision_param;
use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// Backlinks a page view shows, the first by name; past them it links to `/+backlinks/{Page}`.
///
/// Fifty names are about a screen at the foot of a page, and more than most pages have (a page of
/// the scale bench's wikis has three on average); past that the list is a listing in its own
/// right, with pages of its own. Reading them is one range scan of 51 rows of storage's
/// `backlinks` and as many ACL checks, so a page with 10 000 backlinks is drawn at the cost of one
/// with 51.
const VIEW_BACKLINKS: usize = 50;

/// The most backlinks a page view reads, shown or not: for a reader who may read few of a page's
/// many backlinks, whose view then shows those among the first 500 and links to the listing, which
/// pages on (each of its pages bounded as every listing's is, `name_pages`).
const VIEW_BACKLINKS_EXAMINED: usize = 500;

#[derive(Serialize)]
struct PageView {
    #[serde(flatten)]
    layout: Layout,
    content_html: String,
    revision: RevisionInfo,
    history_rev_count: u64,
    /// "What links here": the first pages whose current revision links to this one, by name.
    backlinks: Vec<Backlink>,
    /// `/+backlinks/{Page}`, when more pages link here than `backlinks` shows.
    backlinks_url: Option<String>,
    /// A one-off message after a redirect (say, that a save was merged with another).
    notice: Option<String>,
    /// The Watch or Unwatch button, for a logged-in viewer.
    watch: Option<crate::wiki::watching::WatchButton>,
}

#[derive(Serialize)]
struct Backlink {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct RevisionInfo {
    rev: u64,
    author: String,
    time: i64,
    comment: String,
    is_current: bool,
    current_url: String,
    /// Where a POST makes this old revision current again; `None` for the current one.
    revert_url: Option<String>,
}

#[derive(Serialize)]
struct MissingView {
    #[serde(flatten)]
    layout: Layout,
    create_url: String,
    /// The templates the page may start from (`super::templates`), each a link to its editor.
    templates: Vec<TemplateLink>,
}

impl Wiki {
    pub(crate) fn view_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let wanted = requested_revision(exchange)?;
        let Some(current) = self.storage.current(name.as_str())? else {
            // Renamed away (a redirect) or deleted (a way back); else never written.
            if let Some(response) = self.gone_page(exchange, name)? {
                return Ok(response);
            }
            return self.missing_page(exchange, name);
        };
        let revision = match wanted {
            Some(rev) if rev != current.meta.rev => {
                self.check_history(&exchange.viewer, name)?;
                self.storage
                    .revision(name.as_str(), rev)?
                    .ok_or_else(|| HttpError::not_found(format!("{name} has no revision {rev}.")))?
            }
            _ => current.clone(),
        };
        let is_current = revision.meta.rev == current.meta.rev;
        let access = self.access(&exchange.viewer)?;
        let content_html = if is_current {
            // Only a viewer who may edit is offered a section's editor, as the page's own edit link.
            let front = &self.settings.front_page;
            let may_edit = access.allows(&Route::Edit(name.clone()), front);
            self.cached_render(exchange, name, &revision, may_edit)
        } else {
            self.render_markdown(exchange, name, &revision.text)
        };
        let (sources, more) =
            self.readable_backlinks(&access, name, None, VIEW_BACKLINKS, VIEW_BACKLINKS_EXAMINED)?;
        let backlinks = sources
            .into_iter()
            .map(|source| Backlink {
                url: exchange.urls.page_text(&source),
                name: source,
            })
            .collect();
        let backlinks_url = more.is_some().then(|| exchange.urls.backlinks(name, None));
        let query = exchange.query()?;
        let merged = query.get("merged").and_then(|rev| rev.parse::<u64>().ok()).map(|rev| {
            format!("Someone else saved this page while you were editing. Your changes did not touch theirs, so both were merged and saved as revision {rev}.")
        });
        let redirected = query
            .get("redirected_from")
            .and_then(|from| PageName::parse(from).ok())
            .map(|from| format!("(Redirected from {from}, this page's old name.)"));
        let notice = merged.or(redirected);
        let view = PageView {
            layout: self.layout(exchange, name.as_str(), Some(name)),
            watch: self.watch_button(exchange, name)?,
            notice,
            content_html,
            backlinks,
            backlinks_url,
            history_rev_count: current.meta.rev,
            revision: RevisionInfo {
                is_current,
                current_url: exchange.urls.page(name),
                revert_url: (!is_current).then(|| exchange.urls.revert(name, revision.meta.rev)),
                rev: revision.meta.rev,
                author: revision.meta.author,
                time: revision.meta.time,
                comment: revision.meta.comment,
            },
        };
        self.html(StatusCode::OK, "page.html", view)
    }

    fn missing_page(&self, exchange: &Exchange, name: &PageName) -> Result<Response, WikiError> {
        let front = &self.settings.front_page;
        let may_create = self
            .access(&exchange.viewer)?
            .allows(&Route::Edit(name.clone()), front);
        let view = MissingView {
            layout: self.layout(exchange, name.as_str(), Some(name)),
            create_url: exchange.urls.to(&Route::Edit(name.clone())),
            templates: if may_create {
                self.offered_templates(exchange, name)?
            } else {
                Vec::new()
            },
        };
        self.html(StatusCode::NOT_FOUND, "missing.html", view)
    }

    /// `/+raw/{Page}`: a revision's text as stored, or with `?original=1` the markup it was imported from.
    pub(crate) fn raw_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let revision = self.find_revision(exchange, name)?;
        // `?original=1`: the other wiki's markup an imported revision was converted from.
        if exchange
            .query()?
            .get("original")
            .is_some_and(|value| !value.is_empty())
        {
            let rev = revision.meta.rev;
            let original = self.storage.original_markup(name.as_str(), rev)?.ok_or_else(|| {
                HttpError::not_found(format!(
                    "Revision {rev} of {name} was not imported from another wiki, so it has no original markup."
                ))
            })?;
            return Ok(typed_response(original, "text/plain; charset=utf-8"));
        }
        Ok(typed_response(revision.text, "text/plain; charset=utf-8"))
    }

    /// The revision `?rev=N` names, or the current one; 404 if either is missing, 403 if `?rev=`
    /// names an old one and the viewer may not read the page's past.
    pub(crate) fn find_revision(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Revision, WikiError> {
        let current = self.storage.current(name.as_str())?;
        let current_rev = current.as_ref().map(|revision| revision.meta.rev);
        // A deleted page has no current revision: any revision of it is its past.
        let found = match requested_revision(exchange)? {
            Some(rev) if Some(rev) != current_rev => {
                self.check_history(&exchange.viewer, name)?;
                self.storage.revision(name.as_str(), rev)?
            }
            _ => current,
        };
        found.ok_or_else(|| HttpError::not_found(format!("There is no page called {name}.")).into())
    }
}

/// `?rev=N`, if given; 400 if it is not a revision number.
fn requested_revision(exchange: &Exchange) -> Result<Option<u64>, WikiError> {
    revision_param(&exchange.query()?, "rev")
}
