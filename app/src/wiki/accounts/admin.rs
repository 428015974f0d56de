//! `/+admin`: the accounts (roles, disabling, invitations), the site's settings (ACL groups among
//! them) as `quire.toml` and the command line set them, recent failed logins, and the audit log
//! (newest first, a page at a time, `?audit_kind=` to show one kind, `?audit_before=` for older
//! entries). Only for accounts with the admin role. Everything shown is escaped by the template
//! engine: names, addresses and details in the audit log are what visitors typed.
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
    message: Option<String>,
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
        let view = AdminView {
            layout: self.layout(exchange, "Administration", None),
            form_url: exchange.urls.to(&Route::Admin),
            users: self.user_rows(exchange.viewer.name.as_deref().unwrap_or(""))?,
            invites: self.invite_rows()?,
            register_url: exchange.urls.to(&Route::Register),
            settings: setting_rows(&self.settings),
            failed_logins: self.failed_login_rows()?,
            audit: self.audit_view(exchange)?,
            message,
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

    /// `POST /+admin`: `action` is `role` (with `name` and `role`), `disable`, `enable` (with `name`)
    /// or `invite`.
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
