//! A page's life: its info (revisions, authors, size, dates), delete (history kept) and undelete,
//! and the redirect a renamed page leaves at its old name (the rename itself is `super::rename`).
//!
//! Every state change is a POST from a form the GET of the same address shows; each is a revision
//! in storage, so history, recent changes and feeds show it and nothing is ever lost.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{AuditKind, Storage, StorageError};

use crate::wiki::history::feeds::FeedFormat;
use crate::wiki::pages::edit::author_of;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::comment_param;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::{Route, Verb};
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct InfoView {
    #[serde(flatten)]
    layout: Layout,
    revisions: u64,
    size: u64,
    created: i64,
    modified: i64,
    deleted: bool,
    authors: Vec<AuthorRow>,
    blame_url: String,
    feed_url: String,
}

#[derive(Serialize)]
struct AuthorRow {
    name: String,
    revisions: u64,
    url: String,
}

#[derive(Serialize)]
struct ConfirmView {
    #[serde(flatten)]
    layout: Layout,
    /// `delete` or `undelete`.
    verb: &'static str,
    form_url: String,
}

#[derive(Serialize)]
struct DeletedView {
    #[serde(flatten)]
    layout: Layout,
    undelete_url: String,
    create_url: String,
}

impl Wiki {
    /// `/+info/{Page}`.
    pub(crate) fn info(&self, exchange: &Exchange, name: &PageName) -> Result<Response, WikiError> {
        let Some(info) = self.storage.page_info(name.as_str())? else {
            return Err(HttpError::not_found(format!("There is no page called {name}.")).into());
        };
        let urls = &exchange.urls;
        let view = InfoView {
            layout: self.layout(exchange, &format!("About {name}"), Some(name)),
            revisions: info.revisions,
            size: info.size,
            created: info.created,
            modified: info.modified,
            deleted: info.deleted,
            authors: info
                .authors
                .into_iter()
                .map(|(author, revisions)| AuthorRow {
                    url: urls.contributions(&author),
                    name: author,
                    revisions,
                })
                .collect(),
            blame_url: urls.to(&Route::Blame(name.clone())),
            feed_url: urls.feed(FeedFormat::Atom, Some(name)),
        };
        self.html(StatusCode::OK, "info.html", view)
    }

    /// `GET /+delete/{Page}` and `GET /+undelete/{Page}`: the confirmation form, which posts back to
    /// where it came from.
    pub(crate) fn confirm_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
        undeleting: bool,
    ) -> Result<Response, WikiError> {
        let route = if undeleting {
            Route::Undelete(name.clone())
        } else {
            Route::Delete(name.clone())
        };
        let verb = route.verb().map_or("", Verb::as_str);
        let found = if undeleting {
            self.storage.is_deleted(name.as_str())?
        } else {
            self.storage.exists(name.as_str())?
        };
        if !found {
            return Err(
                HttpError::not_found(format!("There is no page called {name} to {verb}.")).into(),
            );
        }
        let title = if undeleting {
            format!("Undelete {name}")
        } else {
            format!("Delete {name}")
        };
        let view = ConfirmView {
            layout: self.layout(exchange, &title, Some(name)),
            verb,
            form_url: exchange.urls.to(&route),
        };
        self.html(StatusCode::OK, "delete.html", view)
    }

    /// `POST /+delete/{Page}`: the page goes, its history stays; it can be undeleted.
    pub(crate) fn delete(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        self.check_group_presence(&exchange.viewer, name, false)?;
        let change = (AuditKind::Delete, "Deleted");
        self.change_presence(exchange, name, change, Storage::delete, || {
            format!("There is no page called {name} to delete.")
        })
    }

    /// `POST /+undelete/{Page}`: the page comes back with the text it had.
    pub(crate) fn undelete(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        self.check_group_presence(&exchange.viewer, name, true)?;
        let change = (AuditKind::Undelete, "Undeleted");
        self.change_presence(exchange, name, change, Storage::undelete, || {
            format!("There is no deleted page called {name} to bring back.")
        })
    }

    /// Delete and undelete alike: the comment from the form (or `default_comment`), the change in
    /// storage, the index told, the audit log written (as `kind`), and back to the page; a page the
    /// change does not apply to is a 404 saying `missing`.
    fn change_presence(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
        (kind, default_comment): (AuditKind, &str),
        change: impl FnOnce(&Storage, &str, &str, &str) -> Result<Option<u64>, StorageError>,
        missing: impl FnOnce() -> String,
    ) -> Result<Response, WikiError> {
        let comment = self.comment_from_body(exchange)?;
        let author = author_of(exchange);
        let comment = if comment.is_empty() {
            default_comment.to_owned()
        } else {
            comment
        };
        match change(&self.storage, name.as_str(), &author, &comment)? {
            Some(_) => {
                self.indexer.saved();
                self.pages_changed(exchange);
                self.audit(&exchange.viewer, kind, name.as_str(), &comment);
                Ok(redirect_see_other(&exchange.urls.page(name)))
            }
            None => Err(HttpError::not_found(missing()).into()),
        }
    }

    /// What a view of a page that is not there shows when it once was: 410 Gone with a way back
    /// for a deleted page, a redirect for a renamed one. `None` when the name never held a page, and
    /// for a redirect to a page the viewer may not read: the new name is the page's secret too, so
    /// they meet what they would for a name that never held one.
    pub(crate) fn gone_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Option<Response>, WikiError> {
        if let Some(target) = self.storage.redirect(name.as_str())? {
            let readable = self.access(&exchange.viewer)?.can_read(&target);
            if let (true, Ok(target)) = (readable, PageName::parse(&target)) {
                let url = exchange.urls.page_redirected(&target, name);
                return Ok(Some(redirect_found(&url)));
            }
        }
        if !self.storage.is_deleted(name.as_str())? {
            return Ok(None);
        }
        let view = DeletedView {
            layout: self.layout(exchange, name.as_str(), Some(name)),
            undelete_url: exchange.urls.to(&Route::Undelete(name.clone())),
            create_url: exchange.urls.to(&Route::Edit(name.clone())),
        };
        self.html(StatusCode::GONE, "deleted.html", view).map(Some)
    }

    fn comment_from_body(&self, exchange: &mut Exchange) -> Result<String, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        comment_param(&form)
    }
}

/// 302 Found: the page lives elsewhere now; the old name keeps pointing there.
fn redirect_found(location: &str) -> Response {
    let mut response = redirect_see_other(location);
    *response.status_mut() = StatusCode::FOUND;
    response
}
