//! A page's life: its info (revisions, authors, size, dates), rename (optionally with subpages,
//! leaving a redirect at the old name), delete (history kept) and undelete.
//!
//! Every state change is a POST from a form the GET of the same address shows; each is a revision
//! in storage, so history, recent changes and feeds show it and nothing is ever lost.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{Rename, Storage, StorageError};

use super::context::Layout;
use super::page_name::PageName;
use super::pages::{author_of, redirect_see_other};
use super::{Exchange, Wiki, WikiError};

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
struct RenameView {
    #[serde(flatten)]
    layout: Layout,
    form_url: String,
    new_name: String,
    comment: String,
    with_subpages: bool,
    /// Why the last attempt was refused, if it was.
    error: Option<String>,
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
    pub(super) fn info(&self, exchange: &Exchange, name: &PageName) -> Result<Response, WikiError> {
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
            blame_url: urls.action("blame", name),
            feed_url: urls.feed("atom", Some(name)),
        };
        self.html(StatusCode::OK, "info.html", view)
    }

    /// `GET /+rename/{Page}`: the form.
    pub(super) fn rename_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        if !self.storage.exists(name.as_str())? {
            return Err(
                HttpError::not_found(format!("There is no page called {name} to rename.")).into(),
            );
        }
        self.rename_again(exchange, name, name.to_string(), String::new(), false, None)
    }

    fn rename_again(
        &self,
        exchange: &Exchange,
        name: &PageName,
        new_name: String,
        comment: String,
        with_subpages: bool,
        error: Option<String>,
    ) -> Result<Response, WikiError> {
        let status = if error.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        let view = RenameView {
            layout: self.layout(exchange, &format!("Rename {name}"), Some(name)),
            form_url: exchange.urls.action("rename", name),
            new_name,
            comment,
            with_subpages,
            error,
        };
        self.html(status, "rename.html", view)
    }

    /// `POST /+rename/{Page}` with `new_name`, `comment`, `with_subpages`.
    pub(super) fn rename(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let raw_new = form.get("new_name").unwrap_or("").trim().to_owned();
        let comment = comment_field(form.get("comment"))?;
        let with_subpages = form
            .get("with_subpages")
            .is_some_and(|value| !value.is_empty());
        let new_name = match PageName::parse(&raw_new) {
            Ok(new_name) => new_name,
            Err(err) => {
                let error = format!("\u{201c}{raw_new}\u{201d} is not a valid page name: {err}.");
                let response = self.rename_again(
                    exchange,
                    name,
                    raw_new,
                    comment,
                    with_subpages,
                    Some(error),
                )?;
                return Ok(with_status(response, StatusCode::BAD_REQUEST));
            }
        };
        if !self.storage.exists(name.as_str())? {
            return Err(
                HttpError::not_found(format!("There is no page called {name} to rename.")).into(),
            );
        }
        if new_name == *name {
            let error = "The new name is the same as the old one.".to_owned();
            let response =
                self.rename_again(exchange, name, raw_new, comment, with_subpages, Some(error))?;
            return Ok(with_status(response, StatusCode::BAD_REQUEST));
        }
        if self.storage.exists(new_name.as_str())? {
            let error = format!(
                "There is already a page called {new_name}. Choose another name, or delete that page first."
            );
            return self.rename_again(exchange, name, raw_new, comment, with_subpages, Some(error));
        }
        self.check_rename(&exchange.viewer, name, &new_name, with_subpages)?;
        let author = author_of(exchange);
        let comment = if comment.is_empty() {
            format!("Renamed from {name}")
        } else {
            comment
        };
        let outcome = self.storage.rename(&Rename {
            from: name.as_str(),
            to: new_name.as_str(),
            author: &author,
            comment: &comment,
            with_subpages,
        });
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(StorageError::PageExists { page }) => {
                let error = format!(
                    "There is already a page called {page} (perhaps a deleted one). Choose another name."
                );
                return self.rename_again(
                    exchange,
                    name,
                    raw_new,
                    comment,
                    with_subpages,
                    Some(error),
                );
            }
            Err(StorageError::NoSuchPage { .. }) => {
                return Err(HttpError::not_found(format!(
                    "There is no page called {name} to rename."
                ))
                .into())
            }
            Err(err) => return Err(err.into()),
        };
        // Relative links ([[../Sibling]]) may point elsewhere under the new names.
        for (_, to) in &outcome.renamed {
            if let Some(current) = self.storage.current(to)? {
                let links = markup::wiki_links_with(&current.text, to, &self.settings.markup);
                let links: Vec<&str> = links.iter().map(String::as_str).collect();
                self.storage.set_links(to, current.meta.rev, &links)?;
            }
        }
        tracing::info!(from = %name, to = %new_name, pages = outcome.renamed.len(), "renamed");
        self.indexer.saved();
        Ok(redirect_see_other(&exchange.urls.page(&new_name)))
    }

    /// `GET /+delete/{Page}` and `GET /+undelete/{Page}`: the confirmation form.
    pub(super) fn confirm_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
        verb: &'static str,
    ) -> Result<Response, WikiError> {
        let deleted = self.storage.is_deleted(name.as_str())?;
        let present = verb == "delete" && self.storage.exists(name.as_str())?;
        if !(present || (verb == "undelete" && deleted)) {
            return Err(
                HttpError::not_found(format!("There is no page called {name} to {verb}.")).into(),
            );
        }
        let title = if verb == "delete" {
            format!("Delete {name}")
        } else {
            format!("Undelete {name}")
        };
        let view = ConfirmView {
            layout: self.layout(exchange, &title, Some(name)),
            verb,
            form_url: exchange.urls.action(verb, name),
        };
        self.html(StatusCode::OK, "delete.html", view)
    }

    /// `POST /+delete/{Page}`: the page goes, its history stays; it can be undeleted.
    pub(super) fn delete(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        self.change_presence(exchange, name, "Deleted", Storage::delete, || {
            format!("There is no page called {name} to delete.")
        })
    }

    /// `POST /+undelete/{Page}`: the page comes back with the text it had.
    pub(super) fn undelete(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        self.change_presence(exchange, name, "Undeleted", Storage::undelete, || {
            format!("There is no deleted page called {name} to bring back.")
        })
    }

    /// Delete and undelete alike: the comment from the form (or `default_comment`), the change in
    /// storage, the index told, and back to the page; a page the change does not apply to is a 404
    /// saying `missing`.
    fn change_presence(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
        default_comment: &str,
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
                Ok(redirect_see_other(&exchange.urls.page(name)))
            }
            None => Err(HttpError::not_found(missing()).into()),
        }
    }

    /// What a view of a page that is not there shows when it once was: 410 Gone with a way back
    /// for a deleted page, a redirect for a renamed one. `None` when the name never held a page.
    pub(super) fn gone_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Option<Response>, WikiError> {
        if let Some(target) = self.storage.redirect(name.as_str())? {
            if let Ok(target) = PageName::parse(&target) {
                let url = exchange.urls.page_redirected(&target, name);
                return Ok(Some(redirect_found(&url)));
            }
        }
        if !self.storage.is_deleted(name.as_str())? {
            return Ok(None);
        }
        let view = DeletedView {
            layout: self.layout(exchange, name.as_str(), Some(name)),
            undelete_url: exchange.urls.action("undelete", name),
            create_url: exchange.urls.action("edit", name),
        };
        self.html(StatusCode::GONE, "deleted.html", view).map(Some)
    }

    fn comment_from_body(&self, exchange: &mut Exchange) -> Result<String, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        comment_field(form.get("comment"))
    }
}

fn comment_field(value: Option<&str>) -> Result<String, WikiError> {
    let comment = value.unwrap_or("").trim().to_owned();
    if comment.chars().count() > 500 || comment.chars().any(char::is_control) {
        return Err(HttpError::bad_request(
            "The comment must be one line of at most 500 characters.",
        )
        .into());
    }
    Ok(comment)
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// 302 Found: the page lives elsewhere now; the old name keeps pointing there.
fn redirect_found(location: &str) -> Response {
    let mut response = redirect_see_other(location);
    *response.status_mut() = StatusCode::FOUND;
    response
}
