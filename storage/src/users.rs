//! Accounts: who may log in, their role and preferences, failed logins, and invitations.
//!
//! A user's name is what revisions are attributed to. It is unique without regard to case (`Alice` and
//! `alice` are one account, found by either spelling; the spelling given at creation is kept for
//! display), which the table enforces through `name_key`, the NFKC, lowercased name. Names must start
//! with a letter, so no account can pass for the IP address an anonymous edit is attributed to.
//!
//! A name is also a claim to be someone, so a new name may not *look* like another: it is stored in
//! NFKC (full-width `ａdmin` is `admin`), and refused when its [`name_skeleton`] (UTS #39's confusable
//! skeleton of the case-folded name, so `аdmin` with a Cyrillic а, `admın` and `adrnin` all read as
//! `admin`) is an existing account's or a reserved word's ([`NewUser::reserved`]). Skeletons are
//! stored (`users.name_skeleton`, indexed), so the check is one lookup; rows from before they existed
//! get theirs in the migration that added the column. Names that already looked alike then stay as they
//! are: nothing is renamed behind an admin's back.
//!
//! Passwords are stored only as argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`, the
//! `argon2` crate's default parameters), never in any other form; hashing and checking happen here, so
//! no caller can store a password some other way.
//!
//! Failed logins are rows, not memory: under CGI every request is a new process, so throttling has to
//! ask the database. [`Storage::log_in`] refuses to even check a password once an account name has
//! [`MAX_FAILURES`] failures, or a client address [`MAX_ADDRESS_FAILURES`], within
//! [`FAILURE_WINDOW_SECS`]; the same rows feed the admin page's list of recent failures. Two attempts
//! racing in parallel can both pass the count, so the bound is exact for attempts one after another and
//! off by at most the number of parallel ones.
//!
//! A lock on the account alone would let anyone lock its owner out by guessing ten times a minute.
//! So a successful login also remembers the browser: [`Storage::remember_device`] gives it a random
//! token (OWASP's "device cookies"; the app keeps it in a long-lived cookie), and an attempt that
//! brings a valid token for the account it names ([`LoginAttempt::device`]) skips both throttles: the
//! owner, on a browser they logged in from before, can log in while the account is under attack, even
//! from the attacker's address (a shared proxy or NAT). Such a token stops counting after
//! [`MAX_FAILURES`] wrong passwords sent with it, so a stolen one buys an attacker only that many
//! guesses. Tokens are kept as they are, not hashed: one opens nothing, it only lets its holder have
//! their password checked.
//!
//! Accounts imported from another wiki ([`Storage::import_user`]) are the one exception to "argon2id
//! only": they keep the MoinMoin 1.9 hash they came with until their first successful login replaces
//! it (the `legacy` module says which schemes, and why). One imported without a usable hash has no
//! password at all until an admin sets one.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Transaction};

use crate::db::{DbError, Row, Sql, Tx, TxKind};
use unicode_normalization::UnicodeNormalization;

use crate::error::{doing, StorageError};
use crate::save::now;
use crate::Storage;

mod legacy;

/// Failed logins allowed per account name within [`FAILURE_WINDOW_SECS`]; the next
/// attempt is refused unchecked.
pub const MAX_FAILURES: u64 = 10;

/// Failed logins allowed per client address within [`FAILURE_WINDOW_SECS`]: more than per account,
/// because one address may be many people (an office behind NAT, a campus proxy); this limit is what
/// stops one client guessing across many accounts.
pub const MAX_ADDRESS_FAILURES: u64 = 50;

/// How long a remembered login device ([`Storage::remember_device`]) stays known, in seconds (a year).
pub const DEVICE_LIFETIME_SECS: i64 = 365 * 24 * 3600;

/// The most devices remembered per account; logging in from another forgets the oldest.
const MAX_DEVICES_PER_ACCOUNT: i64 = 32;

/// The throttling window, in seconds.
pub const FAILURE_WINDOW_SECS: i64 = 60;

/// How long failed logins are kept for the admin page, in seconds (30 days).
const FAILURE_RETENTION_SECS: i64 = 30 * 24 * 3600;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The longest password accepted, in bytes; anything longer is a mistake or an attack.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The longest user name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What an account may do beyond what page ACLs grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An ordinary account.
    User,
    /// May use the admin pages and change other accounts.
    Admin,
}

impl Role {
    /// `"user"` or `"admin"`, as stored and as the CLI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses `"user"` or `"admin"`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: u64,
    /// The name as given at creation; what revisions are attributed to.
    pub name: String,
    /// Shown in the header; the name unless the user chose another.
    pub display_name: String,
    /// May be empty.
    pub email: String,
    /// User or admin.
    pub role: Role,
    /// A disabled account cannot log in; its sessions stop working on their next request.
    pub disabled: bool,
    /// When it was created, unix seconds.
    pub created: i64,
    /// The theme the user chose, if any.
    pub theme: Option<String>,
    /// Raised by every password change; a session opened under an older epoch has ended.
    pub session_epoch: u64,
}

/// A new account for [`Storage::create_user`].
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// The login name; see [`check_user_name`].
    pub name: &'a str,
    /// Shown instead of the name; `None` or empty means the name.
    pub display_name: Option<&'a str>,
    /// May be empty.
    pub email: &'a str,
    /// User or admin.
    pub role: Role,
    /// The password in clear; only its argon2id hash is stored.
    pub password: &'a str,
    /// An invitation code to use up in the same transaction (invite-only registration); a code that is
    /// unknown, used or expired fails the creation with [`UserError::BadInvite`].
    pub invite: Option<&'a str>,
    /// Names no account may take or look like: the caller's special words and group names (the app
    /// passes the ACL keywords `All`, `Known`, `Trusted`, `Default` and the `[groups]`), compared
    /// as [`name_skeleton`]s.
    pub reserved: &'a [&'a str],
}

/// An account brought over from another wiki, for [`Storage::import_user`].
#[derive(Debug, Clone, Copy)]
pub struct ImportedUser<'a> {
    /// The login name; checked as a new account's is ([`check_user_name`], look-alikes).
    pub name: &'a str,
    /// Shown instead of the name; empty means the name.
    pub display_name: &'a str,
    /// May be empty.
    pub email: &'a str,
    /// The other wiki's stored hash as it is: MoinMoin 1.9's `{SSHA}…`, `{SHA}…`,
    /// `{PASSLIB}$6$…` and the like, checked at login and then replaced by argon2id. `None`, or a
    /// scheme quire cannot check, makes an account that no password opens until one is set.
    pub password_hash: Option<&'a str>,
    /// When the account was made there, unix seconds; `None` means now.
    pub created: Option<i64>,
}

/// What [`Storage::import_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportUserOutcome {
    /// A new account.
    Created,
    /// An account of that name was there already, and was left as it was: a second import must not
    /// undo a password changed since the first.
    Exists,
}

/// What an account's stored password is, for `quire user list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    /// An argon2id hash: the account's password works.
    Set,
    /// An imported MoinMoin hash quire can check: the password works, and becomes argon2id at the
    /// first login.
    Legacy,
    /// No password opens the account: imported without a hash, or with one quire cannot check.
    /// `quire user passwd` sets one.
    None,
}

/// Preferences a user sets for themselves.
#[derive(Debug, Clone, Copy)]
pub struct UserPrefs<'a> {
    /// Empty means the name.
    pub display_name: &'a str,
    /// May be empty.
    pub email: &'a str,
    /// `None`: the site's theme.
    pub theme: Option<&'a str>,
}

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The name breaks the rules of [`check_user_name`].
    #[error("{0}")]
    InvalidName(String),
    /// Another account has this name, in some spelling.
    #[error("there is already an account called {0:?}")]
    NameTaken(String),
    /// The name looks like another account's: the same after NFKC, case folding and mapping
    /// confusable characters (UTS #39), as `аdmin` (Cyrillic а) looks like `admin`.
    #[error(
        "the name {name:?} looks too much like the existing account {existing:?}; choose a name that differs in more than look-alike letters"
    )]
    LooksLike {
        /// The name asked for.
        name: String,
        /// The existing account's name.
        existing: String,
    },
    /// The name is, or looks like, a reserved word (an ACL keyword or a group name).
    #[error(
        "the name {name:?} is reserved: it reads as {reserved:?}, which access control lists use for a group of people; choose another name"
    )]
    Reserved {
        /// The name asked for.
        name: String,
        /// The reserved word it matches.
        reserved: String,
    },
    /// The password is too short or too long.
    #[error("{0}")]
    BadPassword(String),
    /// A display name or email that cannot be stored (too long, control characters).
    #[error("{0}")]
    BadField(String),
    /// No account has this name.
    #[error("there is no account called {0:?}")]
    NoSuchUser(String),
    /// The invitation code is unknown, used up or expired.
    #[error("this invitation is unknown, already used or expired")]
    BadInvite,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password is right and the account enabled.
    LoggedIn(User),
    /// Wrong name or password (which of the two is not said); recorded as a failure.
    Failed,
    /// The password is right but the account is disabled.
    Disabled,
    /// Too many failures for this name or address lately; the password was not checked. Try again in
    /// `retry_after` seconds.
    Throttled {
        /// Seconds until an attempt will be checked again (at least 1).
        retry_after: u64,
    },
}

/// A login attempt for [`Storage::log_in`].
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The name as typed (any case).
    pub name: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// The client's address, for throttling per address.
    pub address: &'a str,
    /// The token of the device cookie the browser sent, if any ([`Storage::remember_device`]): one
    /// valid for this account lets the attempt through the throttles.
    pub device: Option<&'a str>,
    /// Unix seconds; `None` means now. Tests pass a time.
    pub time: Option<i64>,
}

/// One failed login, for the admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogin {
    /// When, unix seconds.
    pub time: i64,
    /// The name as typed (trimmed, at most [`MAX_NAME_CHARS`] characters kept).
    pub name: String,
    /// The client's address.
    pub address: String,
}

/// An open invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The code to hand to the invitee.
    pub code: String,
    /// Who made it.
    pub created_by: String,
    /// When, unix seconds.
    pub created: i64,
    /// Until when it can be used, unix seconds.
    pub expires: i64,
}

/// Checks a user name: 1 to [`MAX_NAME_CHARS`] characters, letters, digits, `_`, `-` and `.`, starting
/// with a letter (so it cannot be mistaken for an address). Returns why not, in words for a person.
pub fn check_user_name(name: &str) -> Result<(), UserError> {
    let invalid = |why: &str| Err(UserError::InvalidName(format!("the name {name:?} {why}")));
    let Some(first) = name.chars().next() else {
        return Err(UserError::InvalidName("the name is empty".to_owned()));
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return invalid(&format!("is longer than {MAX_NAME_CHARS} characters"));
    }
    if !first.is_alphabetic() {
        return invalid("must start with a letter");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return invalid("may only hold letters, digits, '_', '-' and '.'");
    }
    Ok(())
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::BadPassword(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters long"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::BadPassword(format!(
            "the password must be at most {MAX_PASSWORD_BYTES} bytes long"
        )));
    }
    Ok(())
}

fn check_field(what: &str, value: &str, max_chars: usize) -> Result<(), UserError> {
    if value.chars().count() > max_chars || value.chars().any(char::is_control) {
        return Err(UserError::BadField(format!(
            "the {what} must be one line of at most {max_chars} characters"
        )));
    }
    Ok(())
}

/// A name as it is stored: trimmed and in NFKC, so compatibility forms (full-width letters, ligatures)
/// become the letters they stand for.
fn normalise_name(name: &str) -> String {
    // NFKC can itself make white space at an end (a lone `¨` becomes a space and a combining mark).
    let nfkc: String = name.trim().nfkc().collect();
    nfkc.trim().to_owned()
}

/// The key names are unique under, and found by: NFKC, lowercase, then NFKC again, so `Alice`,
/// `ALICE` and `Ａlice` are one account. Public so that whatever else compares names with accounts
/// (the app's ACLs) folds them the very same way.
///
/// The second NFKC is there because lowercasing can leave text that is no longer NFKC: `T̈` has no
/// precomposed capital, so it is `T` and a combining mark, which lowercase to `t` and the mark, and
/// those compose to `ẗ`. Without it `T̈om` and `ẗom` would be two accounts (Unicode's own
/// `toNFKC_Casefold` folds the same way, for the same reason).
pub fn name_key(name: &str) -> String {
    normalise_name(name).to_lowercase().nfkc().collect()
}

/// What a name looks like: the UTS #39 confusable skeleton of the name in NFKC and lowercase,
/// lowercased again because some prototypes are capitals (`0` reads as `O`). Two names with one skeleton can be told
/// apart by no reader, so no new account may take an existing account's skeleton or a reserved word's.
pub fn name_skeleton(name: &str) -> String {
    confusables::skeleton(&name_key(name)).to_lowercase()
}

/// UTS #39's confusable skeleton, from tables `build.rs` takes from the `unicode-security` crate:
/// the same answers as its `skeleton`, without its table of 6 712 slices that the dynamic loader
/// would fix up at the start of every process (see `build.rs`).
mod confusables {
    use unicode_normalization::UnicodeNormalization;

    include!(concat!(env!("OUT_DIR"), "/confusables.rs"));

    /// NFD of the text with each character replaced by what it reads as: the crate's
    /// `skeleton(text)`. The table holds each character's own skeleton (its prototype, already
    /// in NFD), and the final NFD puts the combining marks of neighbouring prototypes in order,
    /// so the result is the same.
    pub(super) fn skeleton(text: &str) -> String {
        let mut mapped = String::with_capacity(text.len());
        for c in text.nfd() {
            match reads_as(c) {
                Some(prototype) => mapped.push_str(prototype),
                None => mapped.push(c),
            }
        }
        mapped.nfd().collect()
    }

    /// The skeleton of `c`, a character that is its own NFD, if it is not `c` itself.
    fn reads_as(c: char) -> Option<&'static str> {
        let index = CHARS.binary_search(&u32::from(c)).ok()?;
        let start = index.checked_sub(1).map_or(0, |before| ENDS[before]);
        SKELETONS.get(start as usize..ENDS[index] as usize)
    }
}

/// Migration 9: gives every account its skeleton, and its key under NFKC. A key another account holds
/// already (two old names that NFKC folds together) is left as it was, and said in the log.
pub(crate) fn fill_name_skeletons(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String)> = tx
        .prepare("SELECT id, name FROM users")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, name) in rows {
        tx.execute(
            "UPDATE users SET name_skeleton = ?2 WHERE id = ?1",
            params![id, name_skeleton(&name)],
        )?;
        let rekeyed = tx.execute(
            "UPDATE OR IGNORE users SET name_key = ?2 WHERE id = ?1",
            params![id, name_key(&name)],
        )?;
        if rekeyed == 0 {
            tracing::warn!(
                account = %name,
                "two accounts have names that are one under NFKC; rename or disable one of them"
            );
        }
    }
    Ok(())
}

/// Migration 17: gives every account the key [`name_key`] makes since it composes again after
/// lowercasing, and its skeleton with it. The rows kept by key for an account (remembered devices,
/// failed logins) follow it; a key another account holds already is left as it was, and logged, as in
/// migration 9.
pub(crate) fn rekey_accounts(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let before: Vec<(i64, String)> = tx
        .prepare("SELECT id, name_key FROM users")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    fill_name_skeletons(tx)?;
    for (id, old_key) in before {
        let new_key: String =
            tx.query_row("SELECT name_key FROM users WHERE id = ?1", [id], |row| {
                row.get(0)
            })?;
        if new_key != old_key {
            for table in ["login_devices", "failed_logins"] {
                tx.execute(
                    &format!("UPDATE {table} SET name_key = ?2 WHERE name_key = ?1"),
                    params![old_key, new_key],
                )?;
            }
        }
    }
    Ok(())
}

/// The argon2id PHC string of `password`, with a fresh random salt.
fn hash_password(password: &str) -> Result<String, UserError> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|err| UserError::BadPassword(format!("no random salt could be drawn: {err}")))?;
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|err| UserError::BadPassword(format!("the salt cannot be encoded: {err}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| UserError::BadPassword(format!("the password cannot be hashed: {err}")))
}

/// Whether `password` matches the PHC string `stored`. A stored string that does not parse matches
/// nothing.
fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// What checking a password against an account's stored hash came to.
enum Verdict {
    /// The argon2id hash matched.
    Right,
    /// An imported hash matched: time to replace it with argon2id.
    RightLegacy,
    /// No match, or a hash that matches nothing.
    Wrong,
}

/// Checks `password` against the stored hash of the account `account`: argon2id, or else an imported
/// MoinMoin hash. A hash that cannot be checked matches nothing, and the log says how to fix it.
fn check_stored(password: &str, stored: &str, account: &str) -> Verdict {
    if PasswordHash::new(stored).is_ok() {
        return if verify_password(password, stored) {
            Verdict::Right
        } else {
            Verdict::Wrong
        };
    }
    // The moin schemes are fast (but for sha-crypt): an argon2 check as well keeps an imported
    // account from being told apart from others by how quickly a wrong password is refused.
    verify_password(password, decoy_hash());
    match legacy::check(password, stored) {
        Ok(true) => Verdict::RightLegacy,
        Ok(false) => Verdict::Wrong,
        Err(why) => {
            tracing::warn!(
                account = %account,
                "the account {account:?} has {why}, so no password logs it in; \
                 set one with `quire user passwd {account}`"
            );
            Verdict::Wrong
        }
    }
}

/// What the stored hash `stored` lets in.
fn password_state(stored: &str) -> PasswordState {
    if PasswordHash::new(stored).is_ok() {
        PasswordState::Set
    } else if legacy::is_checkable(stored) {
        PasswordState::Legacy
    } else {
        PasswordState::None
    }
}

/// A hash to check passwords of unknown accounts against, so that a login for a name that does not
/// exist takes as long as one for a name that does (no telling names apart by timing).
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        // Any password will do: it is never told to anyone.
        hash_password("a decoy that no login matches").unwrap_or_default()
    })
}

/// A new account's name as it is stored, and its skeleton, if it may be taken: valid, and not one of
/// the `reserved` words or like them.
fn checked_name(name: &str, reserved: &[&str]) -> Result<(String, String), UserError> {
    let name = normalise_name(name);
    check_user_name(&name)?;
    let skeleton = name_skeleton(&name);
    if let Some(word) = reserved.iter().find(|w| name_skeleton(w) == skeleton) {
        return Err(UserError::Reserved {
            name,
            reserved: (*word).to_owned(),
        });
    }
    Ok((name, skeleton))
}

/// Refuses a new account whose name has an existing account's skeleton: the same name in another
/// spelling, or one that looks like it. Asked inside the write transaction that inserts.
fn refuse_look_alike(tx: &mut Tx<'_>, name: &str, skeleton: &str) -> Result<(), UserError> {
    let look_alike: Option<(String, String)> = tx
        .query_opt(
            "SELECT name, name_key FROM users WHERE name_skeleton = ?1 LIMIT 1",
            &[&skeleton],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(doing("looking for a look-alike account"))?;
    let Some((existing, key)) = look_alike else {
        return Ok(());
    };
    Err(if key == name_key(name) {
        UserError::NameTaken(existing)
    } else {
        UserError::LooksLike {
            name: name.to_owned(),
            existing,
        }
    })
}

pub(crate) const USER_COLUMNS: &str =
    "id, name, display_name, email, role, disabled, created, theme, session_epoch";

pub(crate) fn user_from_row(row: &Row<'_>) -> Result<User, DbError> {
    let role: String = row.get(4)?;
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        display_name: row.get(2)?,
        email: row.get(3)?,
        // The table's CHECK constraint allows only these two.
        role: Role::parse(&role).unwrap_or(Role::User),
        disabled: row.get(5)?,
        created: row.get(6)?,
        theme: row.get(7)?,
        session_epoch: row.get(8)?,
    })
}

/// A random code: 128 bits as 32 hex digits. `what` names it in the error.
pub(crate) fn random_code(what: &str) -> Result<String, StorageError> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| StorageError::Invalid {
        what: format!("no random {what} could be drawn: {err}"),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Storage {
    /// Creates an account. The name, password, display name and email are checked first; a name
    /// taken in any spelling is [`UserError::NameTaken`].
    pub fn create_user(&self, new: &NewUser<'_>) -> Result<User, UserError> {
        self.insert_user(new, false)
    }

    /// Creates an account as [`Storage::create_user`] does, but as an admin if it is the wiki's
    /// first: what registering on a fresh wiki does, so the person who set it up can run it without
    /// the command line. Whether there is an account yet is asked in the same write transaction as
    /// the insert, so of two first registrations at once only one becomes an admin.
    pub fn create_user_first_admin(&self, new: &NewUser<'_>) -> Result<User, UserError> {
        self.insert_user(new, true)
    }

    fn insert_user(&self, new: &NewUser<'_>, first_is_admin: bool) -> Result<User, UserError> {
        let (name, skeleton) = checked_name(new.name, new.reserved)?;
        let name = name.as_str();
        check_password(new.password)?;
        let display_name = new
            .display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(name);
        check_field("display name", display_name, MAX_NAME_CHARS)?;
        check_field("email address", new.email.trim(), 254)?;
        // Hashing takes tens of milliseconds: done before the write lock is taken.
        let hash = hash_password(new.password)?;
        let created = now();
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("starting to create an account"))?;
        if let Some(code) = new.invite {
            let used = tx
                .execute(
                    "UPDATE invites SET used_by = ?1, used = ?2
                     WHERE code = ?3 AND used_by IS NULL AND expires > ?2",
                    &[&name, &created, &code],
                )
                .map_err(doing("using an invitation"))?;
            if used == 0 {
                return Err(UserError::BadInvite);
            }
        }
        // Inside the write transaction, so two registrations cannot both pass it.
        refuse_look_alike(&mut tx, name, &skeleton)?;
        let first = first_is_admin
            && tx
                .query_opt("SELECT id FROM users LIMIT 1", &[], |_| Ok(()))
                .map_err(doing("looking for accounts"))?
                .is_none();
        let role = if first { Role::Admin } else { new.role };
        let inserted: Option<u64> = tx
            .query_opt(
                "INSERT INTO users (name, name_key, name_skeleton, display_name, email, role, disabled,
                                    password_hash, created)
                 VALUES (?1, ?2, ?8, ?3, ?4, ?5, 0, ?6, ?7)
                 ON CONFLICT (name_key) DO NOTHING
                 RETURNING id",
                &[
                    &name,
                    &name_key(name),
                    &display_name,
                    &new.email.trim(),
                    &role.as_str(),
                    &hash,
                    &created,
                    &skeleton,
                ],
                |row| row.get(0),
            )
            .map_err(doing("creating an account"))?;
        let Some(id) = inserted else {
            return Err(UserError::NameTaken(name.to_owned()));
        };
        tx.commit().map_err(doing("committing a new account"))?;
        Ok(User {
            id,
            name: name.to_owned(),
            display_name: display_name.to_owned(),
            email: new.email.trim().to_owned(),
            role,
            disabled: false,
            created,
            theme: None,
            session_epoch: 0,
        })
    }

    /// Brings over an account from another wiki, keeping its password hash (see [`ImportedUser`]);
    /// an ordinary, enabled account. An account of that name in any spelling is left untouched
    /// ([`ImportUserOutcome::Exists`]), so an import can be run again. The name is checked as
    /// [`Storage::create_user`] checks it, against no reserved words: see
    /// [`Storage::import_user_reserving`].
    pub fn import_user(&self, user: &ImportedUser<'_>) -> Result<ImportUserOutcome, UserError> {
        self.import_user_reserving(user, &[])
    }

    /// [`Storage::import_user`], refusing names that are or look like the `reserved` words as
    /// [`NewUser::reserved`] does (the app passes the ACL keywords and its groups).
    pub fn import_user_reserving(
        &self,
        user: &ImportedUser<'_>,
        reserved: &[&str],
    ) -> Result<ImportUserOutcome, UserError> {
        let (name, skeleton) = checked_name(user.name, reserved)?;
        let display_name = Some(user.display_name.trim())
            .filter(|d| !d.is_empty())
            .unwrap_or(&name);
        check_field("display name", display_name, MAX_NAME_CHARS)?;
        check_field("email address", user.email.trim(), 254)?;
        // Stored as it came, for `log_in` to check by its scheme; "" when there is none.
        let hash = user.password_hash.map_or("", str::trim);
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("starting to import an account"))?;
        let exists = tx
            .query_opt(
                "SELECT id FROM users WHERE name_key = ?1",
                &[&name_key(&name)],
                |_| Ok(()),
            )
            .map_err(doing("looking for an imported account"))?
            .is_some();
        if exists {
            return Ok(ImportUserOutcome::Exists);
        }
        refuse_look_alike(&mut tx, &name, &skeleton)?;
        tx.execute(
            "INSERT INTO users (name, name_key, name_skeleton, display_name, email, role, disabled,
                                password_hash, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
            &[
                &name,
                &name_key(&name),
                &skeleton,
                &display_name,
                &user.email.trim(),
                &Role::User.as_str(),
                &hash,
                &user.created.unwrap_or_else(now),
            ],
        )
        .map_err(doing("importing an account"))?;
        tx.commit()
            .map_err(doing("committing an imported account"))?;
        Ok(ImportUserOutcome::Created)
    }

    /// The account called `name`, in any spelling.
    pub fn user(&self, name: &str) -> Result<Option<User>, StorageError> {
        self.pool
            .get()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = ?1"),
                &[&name_key(name)],
                user_from_row,
            )
            .map_err(doing("looking up an account"))
    }

    /// Whether the wiki has any account yet: a fresh wiki's register page says its first account
    /// becomes the admin ([`Storage::create_user_first_admin`]).
    pub fn has_users(&self) -> Result<bool, StorageError> {
        let found = self
            .pool
            .get()?
            .query_opt("SELECT id FROM users LIMIT 1", &[], |_| Ok(()))
            .map_err(doing("looking for accounts"))?;
        Ok(found.is_some())
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<User>, StorageError> {
        let users = self.users_with_password_state()?;
        Ok(users.into_iter().map(|(user, _)| user).collect())
    }

    /// Every account, by name, with what its stored password lets in.
    pub fn users_with_password_state(&self) -> Result<Vec<(User, PasswordState)>, StorageError> {
        self.pool
            .get()?
            .query_map(
                &format!("SELECT {USER_COLUMNS}, password_hash FROM users ORDER BY name_key"),
                &[],
                |row| {
                    let hash: String = row.get(9)?;
                    Ok((user_from_row(row)?, password_state(&hash)))
                },
            )
            .map_err(doing("listing accounts"))
    }

    /// How many accounts have the admin role and are enabled. For tests (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn admin_count(&self) -> Result<u64, StorageError> {
        self.pool
            .get()?
            .query_one(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
                &[],
                |row| row.get(0),
            )
            .map_err(doing("counting admins"))
    }

    /// Sets a new password, and raises the account's session epoch so that its sessions end.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), UserError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        self.update_user(
            name,
            "UPDATE users SET password_hash = ?2, session_epoch = session_epoch + 1
             WHERE name_key = ?1",
            &hash,
        )
    }

    /// Makes an account an admin or an ordinary user.
    pub fn set_role(&self, name: &str, role: Role) -> Result<(), UserError> {
        self.update_user(
            name,
            "UPDATE users SET role = ?2 WHERE name_key = ?1",
            &role.as_str(),
        )
    }

    /// Disables an account (it cannot log in, and the app ends its sessions) or enables it again.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), UserError> {
        self.update_user(
            name,
            "UPDATE users SET disabled = ?2 WHERE name_key = ?1",
            &disabled,
        )
    }

    /// Stores a user's preferences.
    pub fn set_prefs(&self, name: &str, prefs: &UserPrefs<'_>) -> Result<(), UserError> {
        let display_name = prefs.display_name.trim();
        check_field("display name", display_name, MAX_NAME_CHARS)?;
        check_field("email address", prefs.email.trim(), 254)?;
        if let Some(theme) = prefs.theme {
            check_field("theme", theme, 64)?;
        }
        let changed = self
            .pool
            .get()?
            .execute(
                "UPDATE users SET display_name = CASE WHEN ?2 = '' THEN name ELSE ?2 END,
                                  email = ?3, theme = ?4
                 WHERE name_key = ?1",
                &[
                    &name_key(name),
                    &display_name,
                    &prefs.email.trim(),
                    &prefs.theme,
                ],
            )
            .map_err(doing("storing preferences"))?;
        if changed == 0 {
            return Err(UserError::NoSuchUser(name.to_owned()));
        }
        Ok(())
    }

    fn update_user(
        &self,
        name: &str,
        sql: &str,
        value: &dyn crate::db::Param,
    ) -> Result<(), UserError> {
        let changed = self
            .pool
            .get()?
            .execute(sql, &[&name_key(name), value])
            .map_err(doing("changing an account"))?;
        if changed == 0 {
            return Err(UserError::NoSuchUser(name.to_owned()));
        }
        Ok(())
    }

    /// Checks a login. Throttled first (see the module docs): with [`MAX_FAILURES`] failures for the
    /// name or [`MAX_ADDRESS_FAILURES`] for the address in the last [`FAILURE_WINDOW_SECS`], the
    /// password is not checked at all, unless the attempt brings a known device of the account. An
    /// unknown name costs the same hashing work as a known one and fails the same way.
    pub fn log_in(&self, attempt: &LoginAttempt<'_>) -> Result<LoginOutcome, StorageError> {
        let time = attempt.time.unwrap_or_else(now);
        let key = name_key(attempt.name);
        let key: String = key.chars().take(MAX_NAME_CHARS).collect();
        let device = match attempt.device {
            Some(token) if self.known_device(&key, token, time)? => Some(token),
            _ => None,
        };
        if device.is_none() {
            if let Some(retry_after) = self.throttled(&key, attempt.address, time)? {
                return Ok(LoginOutcome::Throttled { retry_after });
            }
        }
        let found = self
            .pool
            .get()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE name_key = ?1"),
                &[&key],
                |row| Ok((user_from_row(row)?, row.get::<String>(9)?)),
            )
            .map_err(doing("looking up an account to log in"))?;
        // Checked outside any transaction: hashing takes a while and needs no lock.
        let matched = match &found {
            Some((user, hash)) => match check_stored(attempt.password, hash, &user.name) {
                Verdict::Right => true,
                Verdict::RightLegacy => {
                    self.upgrade_legacy_hash(&key, hash, attempt.password);
                    true
                }
                Verdict::Wrong => false,
            },
            None => {
                verify_password(attempt.password, decoy_hash());
                false
            }
        };
        match found {
            Some((user, _)) if matched && user.disabled => Ok(LoginOutcome::Disabled),
            Some((user, _)) if matched => Ok(LoginOutcome::LoggedIn(user)),
            _ => {
                self.record_failure(&key, attempt.address, time)?;
                if let Some(token) = device {
                    self.pool
                        .get()?
                        .execute(
                            "UPDATE login_devices SET failures = failures + 1 WHERE token = ?1",
                            &[&token],
                        )
                        .map_err(doing("counting a device's failed logins"))?;
                }
                Ok(LoginOutcome::Failed)
            }
        }
    }

    /// Replaces the imported hash `old` of the account `key`, which `password` has just matched, with
    /// an argon2id hash of the same password. Only if the row still holds `old`: a password set in
    /// the meantime wins. The session epoch stays: the password is the same, no session has to end.
    /// A failure is logged, not returned: the old hash still lets the owner in, and the next login
    /// tries again.
    fn upgrade_legacy_hash(&self, key: &str, old: &str, password: &str) {
        let upgraded = hash_password(password)
            .and_then(|hash| {
                self.pool
                    .get()?
                    .execute(
                        "UPDATE users SET password_hash = ?3 WHERE name_key = ?1 AND password_hash = ?2",
                        &[&key, &old, &hash],
                    )
                    .map_err(doing("replacing an imported password hash"))
                    .map_err(UserError::from)
            });
        if let Err(err) = upgraded {
            tracing::warn!(
                account = %key,
                error = %err,
                "could not replace an imported password hash with argon2id; the next login tries again"
            );
        }
    }

    /// Whether `token` is a device that logged in to the account `key` and has not expired or used
    /// up its failures.
    fn known_device(&self, key: &str, token: &str, time: i64) -> Result<bool, StorageError> {
        let found = self
            .pool
            .get()?
            .query_opt(
                "SELECT 1 FROM login_devices
                 WHERE token = ?1 AND name_key = ?2 AND expires > ?3 AND failures < ?4",
                &[&token, &key, &time, &MAX_FAILURES],
                |_| Ok(()),
            )
            .map_err(doing("looking up a login device"))?;
        Ok(found.is_some())
    }

    /// Remembers the browser an account `name` just logged in from, for [`DEVICE_LIFETIME_SECS`]:
    /// returns the token its device cookie is to carry. A `previous` token of this account's is
    /// renewed (its failures forgotten) rather than replaced, so a browser keeps one row. Expired
    /// devices are forgotten, and so are the account's oldest beyond the newest 32.
    pub fn remember_device(
        &self,
        name: &str,
        previous: Option<&str>,
    ) -> Result<String, StorageError> {
        let time = now();
        let key: String = name_key(name).chars().take(MAX_NAME_CHARS).collect();
        let expires = time + DEVICE_LIFETIME_SECS;
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("starting to remember a login device"))?;
        let renewed = match previous {
            Some(token) => tx
                .execute(
                    "UPDATE login_devices SET expires = ?3, failures = 0
                     WHERE token = ?1 AND name_key = ?2",
                    &[&token, &key, &expires],
                )
                .map_err(doing("renewing a login device"))?
                .eq(&1)
                .then(|| token.to_owned()),
            None => None,
        };
        let token = match renewed {
            Some(token) => token,
            None => {
                let token = random_code("device token")?;
                tx.execute(
                    "INSERT INTO login_devices (token, name_key, expires) VALUES (?1, ?2, ?3)",
                    &[&token, &key, &expires],
                )
                .map_err(doing("remembering a login device"))?;
                token
            }
        };
        tx.execute("DELETE FROM login_devices WHERE expires <= ?1", &[&time])
            .map_err(doing("forgetting expired login devices"))?;
        tx.execute(
            "DELETE FROM login_devices WHERE name_key = ?1 AND token NOT IN (
                 SELECT token FROM login_devices WHERE name_key = ?1
                 ORDER BY expires DESC LIMIT ?2
             )",
            &[&key, &MAX_DEVICES_PER_ACCOUNT],
        )
        .map_err(doing("forgetting old login devices"))?;
        tx.commit().map_err(doing("remembering a login device"))?;
        Ok(token)
    }

    /// Seconds until `key` and `address` may try again, if either has used up its failures.
    fn throttled(&self, key: &str, address: &str, time: i64) -> Result<Option<u64>, StorageError> {
        let mut conn = self.pool.get()?;
        let since = time - FAILURE_WINDOW_SECS;
        // The limit-th newest failure in the window: once it leaves the window, attempts are
        // checked again.
        let mut until = None::<i64>;
        for (column, value, limit) in [
            ("name_key", key, MAX_FAILURES),
            ("address", address, MAX_ADDRESS_FAILURES),
        ] {
            let offset = limit.saturating_sub(1);
            let tenth: Option<i64> = conn
                .query_opt(
                    &format!(
                        "SELECT time FROM failed_logins WHERE {column} = ?1 AND time > ?2
                         ORDER BY time DESC LIMIT 1 OFFSET ?3"
                    ),
                    &[&value, &since, &offset],
                    |row| row.get(0),
                )
                .map_err(doing("counting failed logins"))?;
            if let Some(tenth) = tenth {
                let free = tenth + FAILURE_WINDOW_SECS;
                until = Some(until.map_or(free, |u| u.max(free)));
            }
        }
        Ok(until.map(|free| u64::try_from(free - time).unwrap_or(0).max(1)))
    }

    fn record_failure(&self, key: &str, address: &str, time: i64) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        conn.execute(
            "INSERT INTO failed_logins (time, name_key, address) VALUES (?1, ?2, ?3)",
            &[&time, &key, &address],
        )
        .map_err(doing("recording a failed login"))?;
        conn.execute(
            "DELETE FROM failed_logins WHERE time < ?1",
            &[&(time - FAILURE_RETENTION_SECS)],
        )
        .map_err(doing("forgetting old failed logins"))?;
        Ok(())
    }

    /// The newest failed logins, newest first.
    pub fn failed_logins(&self, limit: usize) -> Result<Vec<FailedLogin>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT time, name_key, address FROM failed_logins ORDER BY time DESC, id DESC LIMIT ?1",
                &[&crate::sql_count(limit)],
                |row| {
                    Ok(FailedLogin {
                        time: row.get(0)?,
                        name: row.get(1)?,
                        address: row.get(2)?,
                    })
                },
            )
            .map_err(doing("listing failed logins"))
    }

    /// Makes an invitation code, valid for `valid_secs` seconds, for invite-only registration.
    pub fn create_invite(&self, created_by: &str, valid_secs: i64) -> Result<Invite, StorageError> {
        let created = now();
        let invite = Invite {
            code: random_code("invitation code")?,
            created_by: created_by.to_owned(),
            created,
            expires: created.saturating_add(valid_secs),
        };
        self.pool
            .get()?
            .execute(
                "INSERT INTO invites (code, created_by, created, expires) VALUES (?1, ?2, ?3, ?4)",
                &[
                    &invite.code,
                    &invite.created_by,
                    &invite.created,
                    &invite.expires,
                ],
            )
            .map_err(doing("creating an invitation"))?;
        Ok(invite)
    }

    /// Invitations not used and not expired, newest first.
    pub fn open_invites(&self) -> Result<Vec<Invite>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT code, created_by, created, expires FROM invites
                 WHERE used_by IS NULL AND expires > ?1 ORDER BY created DESC",
                &[&now()],
                |row| {
                    Ok(Invite {
                        code: row.get(0)?,
                        created_by: row.get(1)?,
                        created: row.get(2)?,
                        expires: row.get(3)?,
                    })
                },
            )
            .map_err(doing("listing invitations"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The skeleton as the `unicode-security` crate gives it, which `confusables` must match.
    fn crate_skeleton(text: &str) -> String {
        unicode_security::skeleton(text).collect()
    }

    #[test]
    fn every_character_reads_as_the_crate_says() {
        let differ: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| {
                let alone = c.to_string();
                confusables::skeleton(&alone) != crate_skeleton(&alone)
            })
            .collect();
        assert!(differ.is_empty(), "{differ:?}");
    }

    proptest! {
        /// Strings of confusables, combining marks (whose order the final NFD fixes across
        /// characters), precomposed letters, default ignorables and plain letters.
        #[test]
        fn strings_read_as_the_crate_says(text in "[a-zA-Z0-9аеорсхіІΟοＯ\u{300}-\u{36f}\u{1dc0}-\u{1dff}éÅǅﬁ\u{ad}\u{200b}-\u{200f}\u{fe00}-\u{fe0f}m|l1İı]{0,12}") {
            prop_assert_eq!(confusables::skeleton(&text), crate_skeleton(&text));
        }
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(check_user_name("Alice").is_ok());
        assert!(check_user_name("Zoë.Müller-2_x").is_ok());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("127.0.0.1").is_err());
        assert!(check_user_name("a b").is_err());
        assert!(check_user_name("a/b").is_err());
        assert!(check_user_name(&"a".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct hors", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }
}
