//! `/+rename/{Page}`: the form (GET) and the rename (POST), optionally with subpages. The old name
//! becomes a redirect to the page row, so links and bookmarks keep working
//! (`Wiki::gone_page` in `super::lifecycle`), and history, blame and links follow the page.
//!
//! The POST reads the form ([`RenameForm`]), checks the new name ([`Wiki::rename_target`]) and the
//! rights on every page it moves (`Wiki::check_rename`), then moves them in one storage transaction
//! and recomputes relative links, which may point elsewhere under the new names.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{AuditKind, Rename, StorageError};

use crate::wiki::pages::edit::author_of;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::{Outgoing, PageName};
use crate::wiki::plumbing::params::comment_param;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

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

/// What the rename form sends: `new_name`, `comment`, `with_subpages`.
struct RenameForm {
    /// As typed (trimmed), shown again if it is refused.
    new_name: String,
    comment: String,
    with_subpages: bool,
}

impl RenameForm {
    fn read(exchange: &mut Exchange) -> Result<RenameForm, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        Ok(RenameForm {
            new_name: form.get("new_name").unwrap_or("").trim().to_owned(),
            comment: comment_param(&form)?,
            with_subpages: form
                .get("with_subpages")
                .is_some_and(|value| !value.is_empty()),
        })
    }
}

/// A new name refused, with the status and the reason the form shows.
struct Refused(StatusCode, String);

impl Wiki {
    /// `GET /+rename/{Page}`: the form.
    pub(crate) fn rename_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        self.require_page_to_rename(name)?;
        let blank = RenameForm {
            new_name: name.to_string(),
            comment: String::new(),
            with_subpages: false,
        };
        self.rename_again(exchange, name, blank, None)
    }

    /// `POST /+rename/{Page}`.
    pub(crate) fn rename(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let form = RenameForm::read(exchange)?;
        let new_name = match self.rename_target(name, &form)? {
            Ok(new_name) => new_name,
            Err(refused) => return self.rename_again(exchange, name, form, Some(refused)),
        };
        self.check_rename(&exchange.viewer, name, &new_name, form.with_subpages)?;
        let author = author_of(exchange);
        let comment = if form.comment.is_empty() {
            format!("Renamed from {name}")
        } else {
            form.comment.clone()
        };
        let outcome = self.storage.rename(&Rename {
            from: name.as_str(),
            to: new_name.as_str(),
            author: &author,
            comment: &comment,
            with_subpages: form.with_subpages,
        });
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(StorageError::PageExists { page }) => {
                let refused = Refused(
                    StatusCode::CONFLICT,
                    format!("There is already a page called {page} (perhaps a deleted one). Choose another name."),
                );
                return self.rename_again(exchange, name, form, Some(refused));
            }
            Err(StorageError::NoSuchPage { .. }) => return Err(no_page_to_rename(name)),
            Err(err) => return Err(err.into()),
        };
        // Relative links ([[../Sibling]]) may point elsewhere under the new names.
        for (_, to) in &outcome.renamed {
            if let Some(current) = self.storage.current(to)? {
                let outgoing = Outgoing::of(&current.text, to, &self.markup);
                self.storage.set_links_and_files(
                    to,
                    current.meta.rev,
                    &outgoing.pages(),
                    &outgoing.files(),
                )?;
            }
        }
        tracing::info!(from = %name, to = %new_name, pages = outcome.renamed.len(), "renamed");
        for (from, to) in &outcome.renamed {
            self.audit(&exchange.viewer, AuditKind::Rename, from, to);
        }
        self.indexer.saved();
        self.pages_changed(exchange);
        Ok(redirect_see_other(&exchange.urls.page(&new_name)))
    }

    /// The name `form` asks for, or why it cannot be had. A page that is not there to rename is a
    /// 404, not a refusal: there is no form to show again.
    fn rename_target(
        &self,
        name: &PageName,
        form: &RenameForm,
    ) -> Result<Result<PageName, Refused>, WikiError> {
        let new_name = match PageName::parse(&form.new_name) {
            Ok(new_name) => new_name,
            Err(err) => {
                let error = format!(
                    "\u{201c}{}\u{201d} is not a valid page name: {err}.",
                    form.new_name
                );
                return Ok(Err(Refused(StatusCode::BAD_REQUEST, error)));
            }
        };
        self.require_page_to_rename(name)?;
        if new_name == *name {
            let error = "The new name is the same as the old one.".to_owned();
            return Ok(Err(Refused(StatusCode::BAD_REQUEST, error)));
        }
        if self.storage.exists(new_name.as_str())? {
            let error = format!(
                "There is already a page called {new_name}. Choose another name, or delete that page first."
            );
            return Ok(Err(Refused(StatusCode::CONFLICT, error)));
        }
        Ok(Ok(new_name))
    }

    fn require_page_to_rename(&self, name: &PageName) -> Result<(), WikiError> {
        if self.storage.exists(name.as_str())? {
            Ok(())
        } else {
            Err(no_page_to_rename(name))
        }
    }

    /// The form, filled in as it was sent, with why it was refused.
    fn rename_again(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: RenameForm,
        refused: Option<Refused>,
    ) -> Result<Response, WikiError> {
        let (status, error) = match refused {
            Some(Refused(status, error)) => (status, Some(error)),
            None => (StatusCode::OK, None),
        };
        let view = RenameView {
            layout: self.layout(exchange, &format!("Rename {name}"), Some(name)),
            form_url: exchange.urls.to(&Route::Rename(name.clone())),
            new_name: form.new_name,
            comment: form.comment,
            with_subpages: form.with_subpages,
            error,
        };
        self.html(status, "rename.html", view)
    }
}

fn no_page_to_rename(name: &PageName) -> WikiError {
    HttpError::not_found(format!("There is no page called {name} to rename.")).into()
}
