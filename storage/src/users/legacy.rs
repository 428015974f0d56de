//! Password hashes of accounts imported from MoinMoin 1.9, checked as moin checked them.
//!
//! An imported account keeps the hash moin stored (`enc_password` in `user/<id>`), prefix and all, until
//! its owner logs in with the right password; then [`Storage::log_in`](crate::Storage::log_in) replaces
//! it with an argon2id hash of that password. So nobody has to be sent a new password after a move, and
//! the weak hashes are gone as soon as each account is used. The schemes, after moin 1.9's
//! `user.py` (`_validatePassword`, `encodePassword`) and `config/multiconfig.py`:
//!
//! - `{PASSLIB}` + a passlib hash: moin 1.9's default. Its passlib context has `sha512_crypt` only
//!   (`$6$rounds=N$salt$hash`, rounds 656 000 with passlib 1.7); `sha256_crypt` (`$5$`) is checked too.
//! - `{SSHA}`: base64 of `sha1(password + salt) + salt`, moin's older default (20-byte salts).
//!   `{SSHA256}` and `{SSHA512}` (the same with SHA-256 and SHA-512) are not written by moin 1.9, but by
//!   LDAP tools whose hashes some wikis were given; they cost nothing to check.
//! - `{SHA}`: base64 of `sha1(password)`, unsalted (htpasswd's form).
//! - `{DES}` (crypt(3)), `{MD5}` (`$1$` md5-crypt) and `{APR1}` (Apache's md5-crypt) are *not* checked:
//!   each needs an old algorithm of its own (md5-crypt's 1000-round loop, DES), no maintained RustCrypto
//!   crate has them, and moin only ever read them from htpasswd files an admin pasted in. Such accounts,
//!   and accounts imported with no hash, let no password in until an admin sets one with
//!   `quire user passwd NAME`; `quire user list` says which they are.
//!
//! Moin encoded the password as UTF-8 before hashing, and refused an empty one; so does this. A password
//! longer than [`MAX_PASSWORD_BYTES`] is refused unchecked: sha-crypt's work grows with the square of
//! the password's length. A `rounds=` beyond [`MAX_ROUNDS`] is refused too, so an imported hash cannot
//! make each login attempt cost minutes. Digests are compared in constant time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256, Sha512};
use sha_crypt::PasswordVerifier;
use subtle::ConstantTimeEq;

use super::MAX_PASSWORD_BYTES;

/// The most sha-crypt rounds checked: above passlib's defaults (656 000 for sha512_crypt,
/// 535 000 for sha256_crypt), below what would let one hash tie up a core for long.
pub(super) const MAX_ROUNDS: u32 = 1_000_000;

/// Why a stored hash can match no password. Its text goes to the log, so it names the scheme and
/// never the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Unusable {
    /// Imported without a hash.
    #[error("no password")]
    Empty,
    /// A scheme quire does not check.
    #[error("a password hash of the scheme {0:?}, which quire cannot check")]
    UnknownScheme(String),
    /// A known scheme, but not a hash of it.
    #[error("a malformed {scheme} password hash ({why})")]
    Malformed {
        /// The scheme's name, as in the hash.
        scheme: &'static str,
        /// What is wrong, in words.
        why: &'static str,
    },
}

/// The digests `{SSHA…}` and `{SHA}` hashes are made with.
#[derive(Debug, Clone, Copy)]
enum Digester {
    Sha1,
    Sha256,
    Sha512,
}

impl Digester {
    fn len(self) -> usize {
        match self {
            Digester::Sha1 => 20,
            Digester::Sha256 => 32,
            Digester::Sha512 => 64,
        }
    }

    fn digest(self, password: &[u8], salt: &[u8]) -> Vec<u8> {
        fn of<D: Digest>(password: &[u8], salt: &[u8]) -> Vec<u8> {
            let mut hasher = D::new();
            hasher.update(password);
            hasher.update(salt);
            hasher.finalize().to_vec()
        }
        match self {
            Digester::Sha1 => of::<sha1::Sha1>(password, salt),
            Digester::Sha256 => of::<Sha256>(password, salt),
            Digester::Sha512 => of::<Sha512>(password, salt),
        }
    }
}

/// A stored hash quire can check.
#[derive(Debug)]
enum LegacyHash<'a> {
    /// `{SSHA…}` (with a salt) or `{SHA}` (an empty one).
    Digest {
        digester: Digester,
        digest: Vec<u8>,
        salt: Vec<u8>,
    },
    /// `{PASSLIB}$5$…` or `{PASSLIB}$6$…`, in the modular crypt format.
    ShaCrypt(&'a str),
}

impl<'a> LegacyHash<'a> {
    fn parse(stored: &'a str) -> Result<LegacyHash<'a>, Unusable> {
        if stored.is_empty() {
            return Err(Unusable::Empty);
        }
        for (prefix, scheme, digester, salted) in [
            ("{SSHA}", "{SSHA}", Digester::Sha1, true),
            ("{SSHA256}", "{SSHA256}", Digester::Sha256, true),
            ("{SSHA512}", "{SSHA512}", Digester::Sha512, true),
            ("{SHA}", "{SHA}", Digester::Sha1, false),
        ] {
            if let Some(encoded) = stored.strip_prefix(prefix) {
                return Self::digest(scheme, digester, salted, encoded);
            }
        }
        if let Some(crypt) = stored.strip_prefix("{PASSLIB}") {
            return Self::sha_crypt(crypt);
        }
        Err(Unusable::UnknownScheme(scheme_of(stored)))
    }

    fn digest(
        scheme: &'static str,
        digester: Digester,
        salted: bool,
        encoded: &str,
    ) -> Result<LegacyHash<'a>, Unusable> {
        let malformed = |why| Unusable::Malformed { scheme, why };
        let mut bytes = STANDARD
            .decode(encoded)
            .map_err(|_| malformed("not base64"))?;
        if bytes.len() < digester.len() {
            return Err(malformed("shorter than a digest"));
        }
        if !salted && bytes.len() != digester.len() {
            return Err(malformed("longer than a digest"));
        }
        let salt = bytes.split_off(digester.len());
        Ok(LegacyHash::Digest {
            digester,
            digest: bytes,
            salt,
        })
    }

    fn sha_crypt(crypt: &'a str) -> Result<LegacyHash<'a>, Unusable> {
        let scheme = match crypt.get(..3) {
            Some("$5$") => "{PASSLIB}$5$",
            Some("$6$") => "{PASSLIB}$6$",
            _ => return Err(Unusable::UnknownScheme(scheme_of(crypt))),
        };
        let malformed = |why| Unusable::Malformed { scheme, why };
        // "$6$rounds=N$salt$hash" or "$6$salt$hash".
        let mut fields = crypt[3..].split('$');
        if let Some(rounds) = fields
            .clone()
            .next()
            .and_then(|f| f.strip_prefix("rounds="))
        {
            let rounds: u32 = rounds.parse().map_err(|_| malformed("bad rounds"))?;
            if !(sha_crypt::Params::ROUNDS_MIN..=MAX_ROUNDS).contains(&rounds) {
                return Err(malformed("rounds out of range"));
            }
            fields.next();
        }
        let (Some(_salt), Some(hash), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(malformed("not salt and hash"));
        };
        let expected_len = if scheme.ends_with("$5$") { 43 } else { 86 };
        if hash.len() != expected_len {
            return Err(malformed("a hash of the wrong length"));
        }
        Ok(LegacyHash::ShaCrypt(crypt))
    }

    fn matches(&self, password: &[u8]) -> Result<bool, Unusable> {
        match self {
            LegacyHash::Digest {
                digester,
                digest,
                salt,
            } => Ok(digester.digest(password, salt).ct_eq(digest).into()),
            LegacyHash::ShaCrypt(crypt) => {
                match sha_crypt::ShaCrypt::default().verify_password(password, *crypt) {
                    Ok(()) => Ok(true),
                    Err(sha_crypt::password_hash::Error::PasswordInvalid) => Ok(false),
                    Err(_) => Err(Unusable::Malformed {
                        scheme: "{PASSLIB}",
                        why: "not a sha-crypt hash",
                    }),
                }
            }
        }
    }
}

/// The scheme a stored hash names, for messages: its `{…}` prefix or its `$id$`, at most 24
/// characters, never the hash itself.
fn scheme_of(stored: &str) -> String {
    let end = if stored.starts_with('{') {
        stored.find('}').map(|i| i + 1)
    } else if let Some(rest) = stored.strip_prefix('$') {
        rest.find('$').map(|i| i + 2)
    } else {
        None
    };
    match end {
        Some(end) => stored[..end].chars().take(24).collect(),
        None => "(none)".to_owned(),
    }
}

/// Whether `password` matches the moin hash `stored`. An empty or overlong password matches nothing;
/// a hash that cannot be checked is the error, which says why (for the log).
pub(super) fn check(password: &str, stored: &str) -> Result<bool, Unusable> {
    let hash = LegacyHash::parse(stored)?;
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    hash.matches(password.as_bytes())
}

/// Whether `stored` is a moin hash that [`check`] can check.
pub(super) fn is_checkable(stored: &str) -> bool {
    LegacyHash::parse(stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn schemes_are_named_without_the_hash() {
        assert_eq!(scheme_of("{XYZ}secret"), "{XYZ}");
        assert_eq!(scheme_of("$2b$12$secret"), "$2b$");
        assert_eq!(scheme_of("secret"), "(none)");
        assert_eq!(scheme_of(&format!("{{{}", "A".repeat(40))), "(none)");
    }

    proptest! {
        #[test]
        fn any_stored_text_is_checked_without_panicking(stored in "\\PC{0,120}", password in "\\PC{0,20}") {
            let _ = check(&password, &stored);
            for prefix in ["{SSHA}", "{SHA}", "{PASSLIB}$6$", "{PASSLIB}$5$rounds=", "{PASSLIB}$6$rounds=1000$"] {
                let _ = check(&password, &format!("{prefix}{stored}"));
            }
        }
    }
}
