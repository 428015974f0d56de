//! Watching pages: the Watch button on a page, `/+watching` where an account manages what it
//! watches, the bookmark in recent changes, and the mail about watched changes (`letters`).
//!
//! Watching is for accounts: an anonymous visitor has no address to mail and no page to manage
//! watches on, so neither the button nor the page is offered to one, and the routes refuse one
//! with 403. Everything here answers one account, so it is as personal as any response
//! (`private`, like every response but the static assets). What an account watches is stored in
//! `storage::watches`; what it may read is decided when a mail is written or a feed drawn, never
//! from what it watches.

pub mod letters;

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::WatchKind;

use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The Watch or Unwatch button of a page view.
#[derive(Debug, Serialize)]
pub(crate) struct WatchButton {
    /// Where the form posts.
    pub(crate) url: String,
    /// Whether the viewer watches the page by name now (the button then stops it).
    pub(crate) watching: bool,
}

#[derive(Serialize)]
struct WatchingView {
    #[serde(flatten)]
    layout: Layout,
    /// Where every form of the page posts.
    form_url: String,
    /// Pages watched by name that the account may read, by name.
    pages: Vec<WatchedPage>,
    /// Prefixes watched.
    prefixes: Vec<String>,
    /// Whether every page the account edited is watched.
    edited: bool,
    /// Whether mail comes as a daily digest.
    digest: bool,
    /// The absolute address of the account's feed of watched changes.
    feed_url: String,
    /// Whether this wiki sends mail at all (`[mail]`).
    mail_on: bool,
    /// The account's mail address; empty: no mail can reach it.
    email: String,
    /// Where the address is set.
    prefs_url: String,
}

#[derive(Serialize)]
struct WatchedPage {
    name: String,
    url: String,
}

impl Wiki {
    /// The Watch button for `name`, for a logged-in viewer; `None` for anonymous visitors.
    pub(crate) fn watch_button(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Option<WatchButton>, WikiError> {
        let Some(account) = &exchange.viewer.name else {
            return Ok(None);
        };
        Ok(Some(WatchButton {
            url: exchange.urls.to(&Route::Watch(name.clone())),
            watching: self.storage.is_watching(account, name.as_str())?,
        }))
    }

    /// Wakes the mail worker after a change, and keeps where the request came from for the links
    /// of the mail it sends. Never fails the change.
    pub(crate) fn pages_changed(&self, exchange: &Exchange) {
        self.saw_origin(exchange);
        self.notifier.changed();
    }

    /// When the next queued mail is due, if any.
    pub fn next_mail_due(&self) -> Result<Option<i64>, WikiError> {
        Ok(self.storage.next_mail_due()?)
    }

    /// `POST /+watch/{Page}`: `watch=1` starts watching the page, `watch=0` stops; back to the page.
    pub(crate) fn watch(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let account = account_of(exchange)?;
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        match form.get("watch") {
            Some("1") => self
                .storage
                .watch(&account, WatchKind::Page, name.as_str())?,
            Some("0") => self
                .storage
                .unwatch(&account, WatchKind::Page, name.as_str())?,
            _ => {
                return Err(
                    HttpError::bad_request("The Watch form says watch=1 or watch=0.").into(),
                )
            }
        };
        Ok(redirect_see_other(&exchange.urls.page(name)))
    }

    /// `GET /+watching`.
    pub(crate) fn watching(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let account = account_of(exchange)?;
        let access = self.access(&exchange.viewer)?;
        let mut pages = Vec::new();
        let mut prefixes = Vec::new();
        for watch in self.storage.watches(&account)? {
            match watch.kind {
                WatchKind::Page => {
                    let Ok(name) = PageName::parse(&watch.target) else {
                        continue;
                    };
                    if access.can_read(name.as_str()) {
                        pages.push(WatchedPage {
                            url: exchange.urls.page(&name),
                            name: watch.target,
                        });
                    }
                }
                WatchKind::Prefix => prefixes.push(watch.target),
            }
        }
        let settings = self.storage.watch_settings(&account)?;
        let token = self.storage.feed_token(&account)?;
        let view = WatchingView {
            layout: self.layout(exchange, "Watching", None),
            form_url: exchange.urls.to(&Route::Watching),
            pages,
            prefixes,
            edited: settings.edited,
            digest: settings.digest,
            feed_url: format!(
                "{}{}",
                self.origin(&exchange.request),
                exchange.urls.watch_feed(&token)
            ),
            mail_on: self.mail_on(),
            email: exchange.viewer.prefs.email.clone(),
            prefs_url: exchange.urls.to(&Route::Prefs),
        };
        self.html(StatusCode::OK, "watching.html", view)
    }

    /// `POST /+watching`: `action=remove` (`kind`, `target`), `action=add_prefix` (`prefix`),
    /// `action=add_page` (`page`), `action=settings` (`edited`, `digest`) or `action=new_feed` (a
    /// new feed address; the old one stops working). Back to `/+watching`.
    pub(crate) fn change_watching(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let account = account_of(exchange)?;
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let field = |name: &str| form.get(name).unwrap_or("").trim().to_owned();
        match form.get("action").unwrap_or("") {
            "remove" => {
                let kind = match form.get("kind") {
                    Some("prefix") => WatchKind::Prefix,
                    _ => WatchKind::Page,
                };
                self.storage.unwatch(&account, kind, &field("target"))?;
            }
            "add_prefix" => {
                let prefix = field("prefix");
                if prefix.is_empty() {
                    return Err(HttpError::bad_request(
                        "Give the start of the page names to watch, such as Team/.",
                    )
                    .into());
                }
                self.storage.watch(&account, WatchKind::Prefix, &prefix)?;
            }
            "add_page" => {
                let name = PageName::parse(&field("page")).map_err(|err| {
                    HttpError::bad_request(format!("That is not a page name: {err}."))
                })?;
                self.storage
                    .watch(&account, WatchKind::Page, name.as_str())?;
            }
            "settings" => {
                self.storage.set_watch_settings(
                    &account,
                    form.get("edited") == Some("1"),
                    form.get("digest") == Some("1"),
                )?;
            }
            "new_feed" => {
                self.storage.reset_feed_token(&account)?;
            }
            other => {
                return Err(HttpError::bad_request(format!(
                    "Unknown form action \u{201c}{other}\u{201d}."
                ))
                .into())
            }
        }
        Ok(redirect_see_other(&exchange.urls.to(&Route::Watching)))
    }

    /// `POST /+bookmark`: the account's bookmark in recent changes becomes now; back to
    /// `/+recent`, where every change until now is then no longer new.
    pub(crate) fn set_bookmark(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let account = account_of(exchange)?;
        self.storage
            .set_bookmark(&account, crate::notifier::unix_now())?;
        Ok(redirect_see_other(&exchange.urls.to(&Route::Recent)))
    }
}

/// The viewer's account name; a 403 for an anonymous visitor.
fn account_of(exchange: &Exchange) -> Result<String, WikiError> {
    exchange.viewer.name.clone().ok_or_else(|| {
        HttpError::new(
            StatusCode::FORBIDDEN,
            "Watching pages is for accounts. Log in first.",
        )
        .into()
    })
}
