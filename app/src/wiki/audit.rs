//! Writing the audit log: admin and security events, recorded in storage (`storage::audit`) for
//! `/+admin` to show. The controllers that do such things (role changes, `#acl` line changes,
//! deletions, undeletions, renames, failed and throttled logins, new accounts, invitations) call
//! [`Wiki::audit`] once they are done.
//!
//! Recording must not undo what was done: the change is already in storage, so a failure to record
//! it is logged (at error level, for the operator) and the request goes on. Each write prunes the log
//! to `audit_max_entries` and `audit_max_days`.

use storage::{AuditKind, AuditRetention, NewAuditEntry};

use crate::wiki::plumbing::viewer::Viewer;
use crate::wiki::Wiki;

/// Seconds in a day, for `audit_max_days`.
const DAY_SECS: u64 = 24 * 3600;

impl Wiki {
    /// Records that `viewer` did `kind` to `target` (a page or account name), with `detail`.
    pub(crate) fn audit(&self, viewer: &Viewer, kind: AuditKind, target: &str, detail: &str) {
        let entry = NewAuditEntry {
            time: None,
            actor: &viewer.author(),
            address: &viewer.address,
            kind,
            target,
            detail,
        };
        let keep = AuditRetention {
            max_entries: self.settings.audit_max_entries,
            max_age_secs: self.settings.audit_max_days.saturating_mul(DAY_SECS),
        };
        if let Err(err) = self.storage.record_audit(&entry, &keep) {
            tracing::error!(error = %err, kind = kind.as_str(), "could not record an audit entry");
        }
    }
}
