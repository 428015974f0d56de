//! `/+admin`: the accounts (roles, disabling, invitations), the site's settings (ACL groups and the
//! anti-spam limits among them) as `quire.toml` and the command line set them, the bad-content list
//! admins edit here (`crate::spam`; kept in the database, so only this admin-only route changes it),
//! recent failed logins, and the audit log (newest first, a page at a time, `?audit_kind=` to show
//! one kind, `?audit_before=` for older entries). Only for accounts with the admin role. Everything
//! shown is escaped by the template engine: names, addresses and details in the audit log are what
//! visitors typed.
//!
//! An admin cannot demote or disable themselves here, so the last admin cannot lock everyone out by
//! a misclick; `quire user role|disable` on the server can still do anything.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{AuditKind, AuditQuery, Role, UserError};

use crate::config::Settings;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// How many failed logins the page lists.
const FAILED_LOGINS_SHOWN: usize = 50;

/// How many audit entries one page of the admin page shows.
const AUDIT_ENTRIES_SHOWN: usize = 50;

/// How long an invitation made on the admin page stays valid: a week.
const INVITE_VALID_SECS: i64 = 7 * 24 * 3600;

#[derive(Serialize)]
struct AdminView {
    #[serde(flatten)]
    layout: Layout,
    form_url: String,
    users: Vec<UserRow>,
    invites: Vec<InviteRow>,
    register_url: String,
    settings: Vec<SettingRow>,
    failed_logins: Vec<FailedRow>,
    audit: AuditView,
    /// The admins' bad-content list (`crate::spam`), as saved or as just sent back with its errors.
    bad_content: String,
    /// Who saved the list last, and when.
    bad_content_by: Option<String>,
    bad_content_at: Option<i64>,
    /// How many patterns quire.toml's `spam.bad_content` adds.
    bad_content_in_file: usize,
    message: Option<String>,
    /// What went wrong with the form just sent.
    error: Option<String>,
}

/// One page of the audit log, and how to get to the others.
#[derive(Serialize)]
struct AuditView {
    entries: Vec<AuditRow>,
    /// Every kind's word, for the filter.
    kinds: Vec<&'static str>,
    /// The kind shown, if one is.
    kind: Option<&'static str>,
    /// Older entries, when there are more.
    older_url: Option<String>,
    /// The newest entries of the same kind, when this page is not the first.
    newest_url: Option<String>,
}

#[derive(Serialize)]
struct AuditRow {
    time: i64,
    actor: String,
    address: String,
    kind: String,
    target: String,
    detail: String,
}

#[derive(Serialize)]
struct UserRow {
    name: String,
    display_name: String,
    email: String,
    role: &'static str,
    disabled: bool,
    created: i64,
    is_self: bool,
}

#[derive(Serialize)]
struct InviteRow {
    code: String,
    created_by: String,
    expires: i64,
}

/// One key of `quire.toml` (`acl.default` for a key in a table) and its value as text; `None`
/// when it is unset.
#[derive(Serialize)]
struct SettingRow {
    key: String,
    value: Option<String>,
}

#[derive(Serialize)]
struct FailedRow {
    time: i64,
    name: String,
    address: String,
}

/// Every setting, from serialising them: a key added to [`Settings`] shows up by itself. Strings
/// without their quotes, lists (a group's members) as `a, b`.
fn setting_rows(settings: &Settings) -> Vec<SettingRow> {
    fn text(value: &toml::Value) -> String {
        match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    settings
        .entries()
        .into_iter()
        .map(|(key, value)| SettingRow {
            key,
            value: value.as_ref().map(text),
        })
        .collect()
}

impl Wiki {
    /// Refuses anyone but an admin: 403, with a login link in the layout for anonymous readers.
    fn require_admin(&self, exchange: &Exchange) -> Result<(), WikiError> {
        if exchange.viewer.is_admin {
            return Ok(());
        }
        let message = if exchange.viewer.is_known() {
            "The admin pages are for accounts with the admin role."
        } else {
            "The admin pages are for admins. Log in first."
        };
        Err(HttpError::new(StatusCode::FORBIDDEN, message).into())
    }

    /// `GET /+admin`.
    pub(crate) fn admin(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        self.require_admin(exchange)?;
        self.admin_page(exchange, StatusCode::OK, None)
    }

    fn admin_page(
        &self,
        exchange: &Exchange,
        status: StatusCode,
        message: Option<String>,
    ) -> Result<Response, WikiError> {
        self.admin_page_with(exchange, status, message, None)
    }

    /// The page with `refused`, a bad-content list that was not saved and why, in place of the saved one.
    fn admin_page_with(
        &self,
        exchange: &Exchange,
        status: StatusCode,
        message: Option<String>,
        refused: Option<(String, String)>,
    ) -> Result<Response, WikiError> {
        let stored = self.storage.bad_content()?;
        let (bad_content, error) = match refused {
            Some((draft, error)) => (draft, Some(error)),
            None => (
                stored
                    .as_ref()
                    .map(|list| list.text.clone())
                    .unwrap_or_default(),
                None,
            ),
        };
        let view = AdminView {
            layout: self.layout(exchange, "Administration", None),
            form_url: exchange.urls.to(&Route::Admin),
            users: self.user_rows(exchange.viewer.name.as_deref().unwrap_or(""))?,
            invites: self.invite_rows()?,
            register_url: exchange.urls.to(&Route::Register),
            settings: setting_rows(&self.settings),
            failed_logins: self.failed_login_rows()?,
            audit: self.audit_view(exchange)?,
            bad_content,
            bad_content_by: stored.as_ref().map(|list| list.changed_by.clone()),
            bad_content_at: stored.as_ref().map(|list| list.changed_at),
            bad_content_in_file: self.settings.spam.bad_content.len(),
            message,
            error,
        };
        self.html(status, "admin.html", view)
    }

    /// Every account; `me` is the admin looking, who cannot demote or disable themselves.
    fn user_rows(&self, me: &str) -> Result<Vec<UserRow>, WikiError> {
        Ok(self
            .storage
            .users()?
            .into_iter()
            .map(|user| UserRow {
                is_self: user.name == me,
                name: user.name,
                display_name: user.display_name,
                email: user.email,
                role: user.role.as_str(),
                disabled: user.disabled,
                created: user.created,
            })
            .collect())
    }

    fn invite_rows(&self) -> Result<Vec<InviteRow>, WikiError> {
        Ok(self
            .storage
            .open_invites()?
            .into_iter()
            .map(|invite| InviteRow {
                code: invite.code,
                created_by: invite.created_by,
                expires: invite.expires,
            })
            .collect())
    }

    fn failed_login_rows(&self) -> Result<Vec<FailedRow>, WikiError> {
        Ok(self
            .storage
            .failed_logins(FAILED_LOGINS_SHOWN)?
            .into_iter()
            .map(|failed| FailedRow {
                time: failed.time,
                name: failed.name,
                address: failed.address,
            })
            .collect())
    }

    /// The page of the audit log the query asks for (`audit_kind`, `audit_before`); an unknown kind
    /// or a cursor that is not a number is a 400.
    fn audit_view(&self, exchange: &Exchange) -> Result<AuditView, WikiError> {
        let query = exchange.query()?;
        let kind = match query.get("audit_kind").filter(|kind| !kind.is_empty()) {
            None => None,
            Some(word) => Some(AuditKind::parse(word).ok_or_else(|| {
                HttpError::bad_request(format!("There is no audit entry kind called {word:?}."))
            })?),
        };
        let before = match query.get("audit_before") {
            None => None,
            Some(id) => Some(id.parse::<u64>().map_err(|_| {
                HttpError::bad_request("audit_before must be an audit entry's number.")
            })?),
        };
        let mut entries = self.storage.audit_log(&AuditQuery {
            kind,
            before,
            limit: AUDIT_ENTRIES_SHOWN + 1,
        })?;
        let more = entries.len() > AUDIT_ENTRIES_SHOWN;
        entries.truncate(AUDIT_ENTRIES_SHOWN);
        let url = |before: Option<u64>| {
            let mut pairs = Vec::new();
            if let Some(kind) = kind {
                pairs.push(format!("audit_kind={}", kind.as_str()));
            }
            if let Some(before) = before {
                pairs.push(format!("audit_before={before}"));
            }
            exchange
                .urls
                .same_path(exchange.request.path_info(), &pairs)
        };
        Ok(AuditView {
            older_url: entries
                .last()
                .filter(|_| more)
                .map(|last| url(Some(last.id))),
            newest_url: before.map(|_| url(None)),
            entries: entries
                .into_iter()
                .map(|entry| AuditRow {
                    time: entry.time,
                    actor: entry.actor,
                    address: entry.address,
                    kind: entry.kind,
                    target: entry.target,
                    detail: entry.detail,
                })
                .collect(),
            kinds: AuditKind::ALL.iter().map(|kind| kind.as_str()).collect(),
            kind: kind.map(AuditKind::as_str),
        })
    }

    /// Saves the admins' bad-content list, unless a pattern does not compile: then nothing is saved
    /// and the page (422) names each bad line, with the list as sent kept in its text box.
    fn save_bad_content(&self, exchange: &Exchange, text: String) -> Result<Response, WikiError> {
        match crate::spam::BadContent::parse_list(&text) {
            Ok(list) => {
                let me = exchange.viewer.name.clone().unwrap_or_default();
                self.storage.set_bad_content(&text, &me)?;
                tracing::info!(admin = %me, patterns = list.len(), "changed the bad-content list");
                let done = format!("The bad-content list is saved: {} patterns.", list.len());
                self.admin_page(exchange, StatusCode::OK, Some(done))
            }
            Err(errors) => {
                let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let error = format!("The bad-content list was not saved: {}", errors.join("; "));
                let refused = Some((text, error));
                self.admin_page_with(exchange, StatusCode::UNPROCESSABLE_ENTITY, None, refused)
            }
        }
    }

    /// `POST /+admin`: `action` is `role` (with `name` and `role`), `disable`, `enable` (with `name`),
    /// `invite`, or `bad_content` (with `bad_content`, the list's text).
    pub(crate) fn admin_action(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        self.require_admin(exchange)?;
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let action = form.get("action").unwrap_or("");
        if action == "invite" {
            let me = exchange.viewer.name.clone().unwrap_or_default();
            let invite = self.storage.create_invite(&me, INVITE_VALID_SECS)?;
            let message = format!("New invitation code: {}", invite.code);
            let detail = format!("valid until {}", invite.expires);
            self.audit(&exchange.viewer, AuditKind::Invite, &invite.code, &detail);
            return self.admin_page(exchange, StatusCode::OK, Some(message));
        }
        if action == "bad_content" {
            let text = form.get("bad_content").unwrap_or("").replace("\r\n", "\n");
            return self.save_bad_content(exchange, text);
        }
        let name = form.get("name").unwrap_or("");
        let Some(user) = self.storage.user(name)? else {
            return Err(
                HttpError::not_found(format!("There is no account called {name:?}.")).into(),
            );
        };
        if exchange.viewer.name.as_deref() == Some(user.name.as_str()) && action != "enable" {
            return Err(HttpError::bad_request(
                "You cannot change your own role or disable yourself here; another admin (or `quire user` on the server) can.",
            )
            .into());
        }
        let (result, done, kind, detail) = match action {
            "role" => {
                let role = form.get("role").and_then(Role::parse).ok_or_else(|| {
                    HttpError::bad_request(
                        "The role must be \u{201c}admin\u{201d} or \u{201c}user\u{201d}.",
                    )
                })?;
                (
                    self.storage.set_role(&user.name, role),
                    format!("{} is now {}.", user.name, role.as_str()),
                    AuditKind::Role,
                    format!("{} → {}", user.role.as_str(), role.as_str()),
                )
            }
            "disable" => (
                self.storage.set_disabled(&user.name, true),
                format!("{} is disabled.", user.name),
                AuditKind::AccountState,
                "disabled".to_owned(),
            ),
            "enable" => (
                self.storage.set_disabled(&user.name, false),
                format!("{} is enabled.", user.name),
                AuditKind::AccountState,
                "enabled".to_owned(),
            ),
            other => {
                return Err(HttpError::bad_request(format!(
                    "Unknown admin action \u{201c}{other}\u{201d}."
                ))
                .into())
            }
        };
        match result {
            Ok(()) => {}
            Err(UserError::Storage(err)) => return Err(err.into()),
            Err(err) => return Err(HttpError::bad_request(err.to_string()).into()),
        }
        tracing::info!(admin = ?exchange.viewer.name, action, user = %user.name, "changed an account");
        self.audit(&exchange.viewer, kind, &user.name, &detail);
        self.admin_page(exchange, StatusCode::OK, Some(done))
    }
}
