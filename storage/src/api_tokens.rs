//! Personal API tokens: what a script sends as `Authorization: Bearer` to act as an account.
//!
//! A token is 256 random bits from the OS source, written as `quire_` and 43 URL-safe base64
//! characters; the prefix lets a secret scanner (and a person) tell it apart from other secrets.
//! [`Storage::create_api_token`] returns it once; the table keeps only its SHA-256, so a copy of the
//! database (a backup) holds nothing a script could send.
//!
//! Why SHA-256 and not argon2id, as passwords have: a password is low-entropy and chosen by a
//! person, so its hash must be slow to make guessing from a stolen hash dear. A token has 256 bits
//! of entropy drawn at random: no amount of hashing speed makes it guessable, so a slow hash would
//! only make every API request pay ~50 ms of CPU (and hand anyone who sends junk tokens a cheap way
//! to load the server). An unsalted digest is also what lets the lookup be one probe of a unique
//! index by hash, where a salted hash would need the token to carry its row's id.
//!
//! A token has a scope ([`TokenScope`]: read, or read and write), an optional expiry, and its last
//! use, recorded by [`Storage::api_token_used`] at most once a minute ([`LAST_USE_GRANULARITY`]) so
//! that reads through the API do not each write. Revoking deletes the row: the hash is then found
//! nowhere. Tokens go with their account (`ON DELETE CASCADE`); a disabled account's tokens stay but
//! are refused by the app, as its sessions are.

use crate::db::{DbError, Row, Sql};
use sha2::{Digest, Sha256};

use crate::error::{doing, StorageError};
use crate::save::now;
use crate::users::{name_key, user_from_row, User, USER_COLUMNS};
use crate::Storage;

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "quire_";

/// How stale a token's recorded last use may get, in seconds: a use within this long of the
/// recorded one is not written.
pub const LAST_USE_GRANULARITY: i64 = 60;

/// The longest label a token may have, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Read only: any write through it is refused.
    Read,
    /// Read and write, as its account may.
    Write,
}

impl TokenScope {
    /// The word stored and shown: `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    fn parse(word: &str) -> TokenScope {
        // The table's CHECK constraint allows only these two; anything else is taken as the lesser.
        match word {
            "write" => TokenScope::Write,
            _ => TokenScope::Read,
        }
    }
}

/// A token as listed to its owner: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The row's id: what revoking names.
    pub id: i64,
    /// What its owner called it.
    pub label: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When it was made, unix seconds.
    pub created: i64,
    /// When it stops working, unix seconds; `None`: never.
    pub expires: Option<i64>,
    /// When it was last used, to within [`LAST_USE_GRANULARITY`]; `None`: never.
    pub last_used: Option<i64>,
}

impl ApiToken {
    /// Whether it has expired at `time` (unix seconds).
    pub fn expired_at(&self, time: i64) -> bool {
        self.expires.is_some_and(|expires| expires <= time)
    }
}

/// A new token for [`Storage::create_api_token`].
#[derive(Debug, Clone, Copy)]
pub struct NewApiToken<'a> {
    /// The account it acts as, in any spelling.
    pub user: &'a str,
    /// What it is for, as its owner says (trimmed; at most [`MAX_LABEL_CHARS`]).
    pub label: &'a str,
    /// What it may do.
    pub scope: TokenScope,
    /// Unix seconds when it stops working; `None`: never.
    pub expires: Option<i64>,
}

/// A token just made: the secret, shown once, and its row.
#[derive(Debug, Clone)]
pub struct CreatedApiToken {
    /// The token to send as `Authorization: Bearer`; not stored anywhere.
    pub secret: String,
    /// Its row as listed.
    pub token: ApiToken,
}

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    /// No such account.
    #[error("there is no account called {0:?}")]
    NoSuchUser(String),
    /// The label is empty or too long.
    #[error("a token's label must be 1 to {MAX_LABEL_CHARS} characters")]
    BadLabel,
    /// The database failed, or no random token could be drawn.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How many columns [`USER_COLUMNS`] names: the token's follow them in [`Storage::api_token`].
const USER_COLUMN_COUNT: usize = 9;

const TOKEN_COLUMNS: &str = "t.id, t.label, t.scope, t.created, t.expires, t.last_used";

fn token_from_row(row: &Row<'_>) -> Result<ApiToken, DbError> {
    token_at(row, 0)
}

/// A token's [`TOKEN_COLUMNS`], read from column `at` on.
fn token_at(row: &Row<'_>, at: usize) -> Result<ApiToken, DbError> {
    let scope: String = row.get(at + 2)?;
    Ok(ApiToken {
        id: row.get(at)?,
        label: row.get(at + 1)?,
        scope: TokenScope::parse(&scope),
        created: row.get(at + 3)?,
        expires: row.get(at + 4)?,
        last_used: row.get(at + 5)?,
    })
}

/// The digest a token is stored and found by.
fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new secret: [`TOKEN_PREFIX`] and 256 random bits in URL-safe base64.
fn new_secret() -> Result<String, StorageError> {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| StorageError::Invalid {
        what: format!("no random API token could be drawn: {err}"),
    })?;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(format!("{TOKEN_PREFIX}{encoded}"))
}

impl Storage {
    /// Makes a token for `new.user` and returns it, the only time it is seen whole.
    pub fn create_api_token(
        &self,
        new: &NewApiToken<'_>,
    ) -> Result<CreatedApiToken, ApiTokenError> {
        let label = new.label.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
            return Err(ApiTokenError::BadLabel);
        }
        let secret = new_secret()?;
        let created = now();
        let id: Option<i64> = self
            .pool
            .get()?
            .query_opt(
                "INSERT INTO api_tokens (user_id, label, hash, scope, created, expires)
                 SELECT id, ?2, ?3, ?4, ?5, ?6 FROM users WHERE name_key = ?1
                 RETURNING id",
                &[
                    &name_key(new.user),
                    &label,
                    &digest(&secret),
                    &new.scope.as_str(),
                    &created,
                    &new.expires,
                ],
                |row| row.get(0),
            )
            .map_err(doing("making an API token"))?;
        let id = id.ok_or_else(|| ApiTokenError::NoSuchUser(new.user.to_owned()))?;
        Ok(CreatedApiToken {
            secret,
            token: ApiToken {
                id,
                label: label.to_owned(),
                scope: new.scope,
                created,
                expires: new.expires,
                last_used: None,
            },
        })
    }

    /// The tokens of the account `user` (any spelling), newest first.
    pub fn api_tokens(&self, user: &str) -> Result<Vec<ApiToken>, StorageError> {
        self.pool
            .get()?
            .query_map(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
                     WHERE u.name_key = ?1 ORDER BY t.id DESC"
                ),
                &[&name_key(user)],
                token_from_row,
            )
            .map_err(doing("listing API tokens"))
    }

    /// Revokes the token `id` of the account `user` (any spelling): it works no more. `false` when
    /// the account has no such token.
    pub fn revoke_api_token(&self, user: &str, id: i64) -> Result<bool, StorageError> {
        let removed = self
            .pool
            .get()?
            .execute(
                "DELETE FROM api_tokens WHERE id = ?2
                 AND user_id = (SELECT id FROM users WHERE name_key = ?1)",
                &[&name_key(user), &id],
            )
            .map_err(doing("revoking an API token"))?;
        Ok(removed > 0)
    }

    /// The token `secret` names and its account, if it is one this wiki made and no one revoked.
    /// Whether it has expired or its account is disabled is the caller's to check.
    pub fn api_token(&self, secret: &str) -> Result<Option<(ApiToken, User)>, StorageError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let user_columns = USER_COLUMNS
            .split(", ")
            .map(|column| format!("u.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.pool
            .get()?
            .query_opt(
                &format!(
                    "SELECT {user_columns}, {TOKEN_COLUMNS} FROM api_tokens t
                     JOIN users u ON u.id = t.user_id WHERE t.hash = ?1"
                ),
                &[&digest(secret)],
                |row| {
                    let user = user_from_row(row)?;
                    let token = token_at(row, USER_COLUMN_COUNT)?;
                    Ok((token, user))
                },
            )
            .map_err(doing("looking up an API token"))
    }

    /// Records that the token `token` was used at `time` (unix seconds), unless its recorded last
    /// use is within [`LAST_USE_GRANULARITY`] of it: most uses write nothing.
    pub fn api_token_used(&self, token: &ApiToken, time: i64) -> Result<(), StorageError> {
        if token
            .last_used
            .is_some_and(|last| time - last < LAST_USE_GRANULARITY)
        {
            return Ok(());
        }
        self.pool
            .get()?
            .execute(
                "UPDATE api_tokens SET last_used = ?2
                 WHERE id = ?1 AND (last_used IS NULL OR last_used < ?2)",
                &[&token.id, &time],
            )
            .map_err(doing("recording an API token's use"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_columns_are_counted_right() {
        assert_eq!(USER_COLUMNS.split(", ").count(), USER_COLUMN_COUNT);
    }

    #[test]
    fn secrets_are_prefixed_long_and_different() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(digest(&a).len(), 32);
    }
}
