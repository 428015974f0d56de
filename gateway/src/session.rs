//! Sessions kept in the client's cookie, encrypted and authenticated.
//!
//! A server that may run as one CGI process per request has nowhere to keep
//! sessions between requests but a database or the client. This module keeps
//! them in the client: the whole session (a few string values, a CSRF token
//! and an expiry) is sealed with XChaCha20-Poly1305 under a server key and
//! sent as a cookie. The client can neither read nor change it: a cookie
//! altered by one byte, sealed under a key the server no longer has, or past
//! its expiry is treated as no cookie at all.
//!
//! - [`SessionKeys`]: the secret keys, generated from the OS random source and
//!   kept in a small text file ([`SessionKeys::load_or_create`]). The first
//!   key seals; the others only open, so [`SessionKeys::rotate`] does not log
//!   everyone out at once.
//! - [`Session`]: the values a request sees, a request extension that the
//!   [`crate::middleware::Sessions`] middleware puts in and writes back.
//!
//! What it is not: a place for large or secret-from-the-user data. A cookie
//! holds about 4 KB ([`MAX_COOKIE_BYTES`]), and a session's values, while
//! unreadable to others, travel with every request.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use thiserror::Error;

/// The largest `name=value` a session cookie may be. Browsers keep at least
/// 4096 bytes per cookie (RFC 6265 §6.1), attributes included; what is left
/// after `Path`, `Max-Age` and the flags is a little over 4000.
pub const MAX_COOKIE_BYTES: usize = 4000;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const FORMAT_VERSION: u8 = 1;
/// How many keys [`SessionKeys::rotate`] keeps: the new one and the one
/// before it. Cookies older than two rotations are dropped.
const KEPT_KEYS: usize = 2;

/// What can go wrong with session keys and cookies.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The OS random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(getrandom::Error),
    /// A line of a key file is not a key.
    #[error("line {line} of the session key file is not a key (43 characters of URL-safe base64)")]
    MalformedKey {
        /// The line number, from 1.
        line: usize,
    },
    /// A key file holds no key.
    #[error("the session key file holds no key")]
    NoKeys,
    /// A key file could not be read or written.
    #[error("could not {action} the session key file {path}")]
    Io {
        /// What was being done: "read", "create", "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The sealed session is larger than a cookie can hold.
    #[error(
        "the session is too large for a cookie: {bytes} bytes sealed, at most {max} allowed; keep less in it"
    )]
    TooLarge {
        /// The size of `name=value`.
        bytes: usize,
        /// [`MAX_COOKIE_BYTES`].
        max: usize,
    },
    /// A cookie name that is not an HTTP token.
    #[error("{0:?} is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)")]
    CookieName(String),
}

/// The secret keys that seal session cookies. The first seals new cookies;
/// every key opens them.
///
/// The text form, as [`SessionKeys::to_file_text`] writes it, is one key per
/// line in URL-safe base64; blank lines and lines starting with `#` are
/// ignored:
///
/// ```text
/// # comments
/// 3q2-7wAAAAD...  (the current key)
/// AAAAAAAAAAA...  (an older key, still accepted)
/// ```
///
/// `Debug` never shows a key.
#[derive(Clone)]
pub struct SessionKeys {
    keys: Vec<[u8; KEY_BYTES]>,
}

impl SessionKeys {
    /// One new key from the OS random source.
    pub fn generate() -> Result<Self, SessionError> {
        Ok(SessionKeys {
            keys: vec![random_key()?],
        })
    }

    /// Reads the text form (see the type's docs).
    pub fn parse(text: &str) -> Result<Self, SessionError> {
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = SessionError::MalformedKey { line: index + 1 };
            let bytes = URL_SAFE_NO_PAD
                .decode(line)
                .map_err(|_| SessionError::MalformedKey { line: index + 1 })?;
            keys.push(<[u8; KEY_BYTES]>::try_from(bytes.as_slice()).map_err(|_| malformed)?);
        }
        if keys.is_empty() {
            return Err(SessionError::NoKeys);
        }
        Ok(SessionKeys { keys })
    }

    /// The text form, with a comment saying what the file is.
    pub fn to_file_text(&self) -> String {
        let mut text = String::from(
            "# Session keys of this server. Keep this file secret: whoever reads it can forge\n\
             # sessions. The first key seals new cookies; the others still open older ones.\n",
        );
        for key in &self.keys {
            text.push_str(&URL_SAFE_NO_PAD.encode(key));
            text.push('\n');
        }
        text
    }

    /// Makes a new key the current one and keeps the one it replaces for
    /// opening cookies sealed before; older keys are dropped, so sessions
    /// older than two rotations end.
    pub fn rotate(&mut self) -> Result<(), SessionError> {
        self.keys.insert(0, random_key()?);
        self.keys.truncate(KEPT_KEYS);
        Ok(())
    }

    /// How many keys there are (the current one and older ones).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: there is at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads the key file at `path`, or creates it with a new key (readable
    /// by its owner only) when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, SessionError> {
        match fs::read_to_string(path) {
            Ok(text) => return SessionKeys::parse(&text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(SessionError::Io {
                    action: "read",
                    path: path.to_owned(),
                    source,
                })
            }
        }
        let keys = SessionKeys::generate()?;
        // Written whole under a private name, then linked into place: a
        // process starting at the same moment (CGI runs one per request)
        // sees no file or a complete one, never a half-written one.
        let temporary = temporary_path(path)?;
        keys.write_new(&temporary)?;
        let linked = fs::hard_link(&temporary, path);
        let _ = fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok(keys),
            // Another process was first: use its keys.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => SessionKeys::load(path),
            Err(source) => Err(SessionError::Io {
                action: "create",
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Reads the key file at `path`.
    pub fn load(path: &Path) -> Result<Self, SessionError> {
        let text = fs::read_to_string(path).map_err(|source| SessionError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        SessionKeys::parse(&text)
    }

    /// Writes the keys to `path`, replacing the file atomically (through a
    /// temporary file beside it, readable by its owner only).
    pub fn save(&self, path: &Path) -> Result<(), SessionError> {
        let temporary = temporary_path(path)?;
        self.write_new(&temporary)?;
        fs::rename(&temporary, path).map_err(|source| SessionError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
    }

    /// Creates `path`, failing if it exists, with mode 0600.
    fn write_new(&self, path: &Path) -> Result<(), SessionError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io_error = |source| SessionError::Io {
            action: "create",
            path: path.to_owned(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io_error)?;
        file.write_all(self.to_file_text().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| SessionError::Io {
                action: "write",
                path: path.to_owned(),
                source,
            })
    }

    fn cipher(key: &[u8; KEY_BYTES]) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key is XChaCha20-Poly1305's size")
    }

    /// Seals `state` to a cookie value; `name` is bound in as associated
    /// data, so a value cannot be replayed under another cookie's name.
    pub(crate) fn seal(
        &self,
        name: &str,
        state: &Snapshot,
        expires: u64,
    ) -> Result<String, SessionError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(SessionError::Random)?;
        let plaintext = encode(state, expires);
        let current = &self.keys[0];
        let sealed = Self::cipher(current)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: name.as_bytes(),
                },
            )
            .expect("encrypting to memory only fails for messages of gigabytes");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        let value = URL_SAFE_NO_PAD.encode(bytes);
        let size = name.len() + 1 + value.len();
        if size > MAX_COOKIE_BYTES {
            return Err(SessionError::TooLarge {
                bytes: size,
                max: MAX_COOKIE_BYTES,
            });
        }
        Ok(value)
    }

    /// Opens a cookie value sealed by [`SessionKeys::seal`] under any key,
    /// or says why not (for a debug log line that never shows the value).
    pub(crate) fn open(&self, name: &str, value: &str, now: u64) -> Result<Opened, Refusal> {
        if name.len() + 1 + value.len() > MAX_COOKIE_BYTES {
            return Err(Refusal::TooLarge);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| Refusal::NotBase64)?;
        if bytes.len() < NONCE_BYTES {
            return Err(Refusal::Unopened);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| Refusal::Unopened)?;
        let plaintext = self
            .keys
            .iter()
            .find_map(|key| {
                Self::cipher(key)
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: sealed,
                            aad: name.as_bytes(),
                        },
                    )
                    .ok()
            })
            .ok_or(Refusal::Unopened)?;
        let (snapshot, expires) = decode(&plaintext).ok_or(Refusal::Unopened)?;
        if expires <= now {
            return Err(Refusal::Expired);
        }
        Ok(Opened { snapshot, expires })
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// `path` with a random suffix, in the same directory (so a rename or link
/// stays on one file system).
fn temporary_path(path: &Path) -> Result<PathBuf, SessionError> {
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(SessionError::Random)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", URL_SAFE_NO_PAD.encode(suffix)));
    Ok(path.with_file_name(name))
}

fn random_key() -> Result<[u8; KEY_BYTES], SessionError> {
    let mut key = [0u8; KEY_BYTES];
    getrandom::fill(&mut key).map_err(SessionError::Random)?;
    Ok(key)
}

/// A new random token: 32 bytes from the OS, URL-safe base64.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // getrandom blocks until the kernel's pool is seeded and then does not
    // fail on the platforms the gateway runs on (it needs unix sockets).
    getrandom::fill(&mut bytes).expect("the OS random source works once the process is running");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Why a cookie was not opened; logged, never shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    TooLarge,
    NotBase64,
    /// Altered, truncated, or sealed under a key this server does not have.
    Unopened,
    Expired,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::TooLarge => "larger than a session cookie can be",
            Refusal::NotBase64 => "not base64",
            Refusal::Unopened => "altered, or sealed under a key this server does not have",
            Refusal::Expired => "expired",
        })
    }
}

/// A session as it was in a cookie.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) snapshot: Snapshot,
    pub(crate) expires: u64,
}

/// The contents of a session, without the bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) values: BTreeMap<String, String>,
    pub(crate) csrf: Option<String>,
}

impl Snapshot {
    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.csrf.is_none()
    }
}

/// version (1) · expires (u64 BE) · csrf (u32 len + bytes, 0 = none) ·
/// count (u32) · count × (u32 len + key, u32 len + value).
fn encode(state: &Snapshot, expires: u64) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    out.extend_from_slice(&expires.to_be_bytes());
    let put = |out: &mut Vec<u8>, text: &str| {
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    };
    put(&mut out, state.csrf.as_deref().unwrap_or(""));
    out.extend_from_slice(&(state.values.len() as u32).to_be_bytes());
    for (key, value) in &state.values {
        put(&mut out, key);
        put(&mut out, value);
    }
    out
}

fn decode(bytes: &[u8]) -> Option<(Snapshot, u64)> {
    let mut reader = Reader(bytes);
    if reader.take(1)? != [FORMAT_VERSION] {
        return None;
    }
    let expires = u64::from_be_bytes(reader.take(8)?.try_into().ok()?);
    let csrf = reader.text()?;
    let count = reader.u32()?;
    let mut values = BTreeMap::new();
    for _ in 0..count {
        let key = reader.text()?;
        let value = reader.text()?;
        values.insert(key, value);
    }
    if !reader.0.is_empty() {
        return None;
    }
    let csrf = (!csrf.is_empty()).then_some(csrf);
    Some((Snapshot { values, csrf }, expires))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn text(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

/// The session of one request: string values kept across requests.
///
/// [`crate::middleware::Sessions`] puts one into every request's extensions
/// (empty when the client sent no valid cookie); the app reads and changes
/// it there, and the middleware sends a new cookie only when something
/// changed. Clones share the same values, so a clone taken from the
/// extensions changes the session the middleware writes back.
///
/// ```
/// use gateway::session::Session;
///
/// let session = Session::default();
/// session.set("user", "ada");
/// assert_eq!(session.clone().get("user").as_deref(), Some("ada"));
/// session.clear();
/// assert_eq!(session.get("user"), None);
/// ```
#[derive(Clone, Default)]
pub struct Session {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    snapshot: Snapshot,
    changed: bool,
}

impl Session {
    /// A session holding what a cookie held.
    pub(crate) fn from_snapshot(snapshot: Snapshot) -> Self {
        Session {
            state: Arc::new(Mutex::new(State {
                snapshot,
                changed: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a map of strings; a panic elsewhere cannot leave it
        // half-changed in a way that matters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().snapshot.values.get(key).cloned()
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: impl Into<String>) {
        let value = value.into();
        let mut state = self.lock();
        if state.snapshot.values.get(key) == Some(&value) {
            return;
        }
        state.snapshot.values.insert(key.to_owned(), value);
        state.changed = true;
    }

    /// Removes `key`.
    pub fn remove(&self, key: &str) {
        let mut state = self.lock();
        if state.snapshot.values.remove(key).is_some() {
            state.changed = true;
        }
    }

    /// Removes every value and the CSRF token (a logout); the client's
    /// cookie is expired.
    pub fn clear(&self) {
        let mut state = self.lock();
        if !state.snapshot.is_empty() {
            state.snapshot = Snapshot::default();
            state.changed = true;
        }
    }

    /// Keeps the values but replaces the CSRF token, so a token seen before
    /// a change of privilege (a login) is worth nothing after it. Forms
    /// rendered after this call get the new token.
    pub fn renew(&self) {
        let mut state = self.lock();
        state.snapshot.csrf = Some(random_token());
        state.changed = true;
    }

    /// Whether the session holds nothing.
    pub fn is_empty(&self) -> bool {
        self.lock().snapshot.is_empty()
    }

    /// Whether this request changed the session (so the response will carry a new cookie): an
    /// app that replays a stored response must not store one that changed it.
    pub fn is_changed(&self) -> bool {
        self.lock().changed
    }

    /// The CSRF token, made now if the session has none.
    pub(crate) fn csrf_token(&self) -> String {
        let mut state = self.lock();
        if let Some(token) = &state.snapshot.csrf {
            return token.clone();
        }
        let token = random_token();
        state.snapshot.csrf = Some(token.clone());
        state.changed = true;
        token
    }

    /// The CSRF token if there is one, without making one.
    pub(crate) fn existing_csrf_token(&self) -> Option<String> {
        self.lock().snapshot.csrf.clone()
    }

    /// What to write back: `None` if nothing changed, else the contents.
    pub(crate) fn changes(&self) -> Option<Snapshot> {
        let state = self.lock();
        state.changed.then(|| state.snapshot.clone())
    }

    /// The contents, changed or not.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
    }
}

impl fmt::Debug for Session {
    /// Names the keys only: values may be secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Session")
            .field("keys", &state.snapshot.values.keys().collect::<Vec<_>>())
            .field("changed", &state.changed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(pairs: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            csrf: Some("token".into()),
        }
    }

    #[test]
    fn a_sealed_session_opens_with_its_values() {
        let keys = SessionKeys::generate().unwrap();
        // A name long enough that random ciphertext cannot contain it by chance ("ada" could).
        let state = snapshot(&[("user", "ada-lovelace-1815"), ("theme", "dark")]);
        let value = keys.seal("s", &state, 2000).unwrap();
        let opened = keys.open("s", &value, 1000).unwrap();
        assert_eq!(opened.snapshot, state);
        assert_eq!(opened.expires, 2000);
        assert!(!value.contains("ada-lovelace-1815"));
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let keys = SessionKeys::generate().unwrap();
        let value = keys.seal("s", &snapshot(&[("user", "ada")]), 2000).unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for at in 0..bytes.len() {
            bytes[at] ^= 0x01;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(
                keys.open("s", &altered, 1000).unwrap_err(),
                Refusal::Unopened,
                "byte {at}"
            );
            bytes[at] ^= 0x01;
        }
        assert!(keys.open("s", &value[..value.len() - 1], 1000).is_err());
        assert_eq!(keys.open("s", "", 1000).unwrap_err(), Refusal::Unopened);
        assert_eq!(keys.open("s", "!!", 1000).unwrap_err(), Refusal::NotBase64);
    }

    #[test]
    fn refuses_expired_foreign_and_renamed_cookies() {
        let keys = SessionKeys::generate().unwrap();
        let value = keys.seal("s", &snapshot(&[]), 2000).unwrap();
        assert_eq!(keys.open("s", &value, 2000).unwrap_err(), Refusal::Expired);
        let other = SessionKeys::generate().unwrap();
        assert_eq!(
            other.open("s", &value, 1000).unwrap_err(),
            Refusal::Unopened
        );
        assert_eq!(keys.open("t", &value, 1000).unwrap_err(), Refusal::Unopened);
    }

    #[test]
    fn rotation_keeps_the_previous_key_for_reading() {
        let mut keys = SessionKeys::generate().unwrap();
        let old = keys.seal("s", &snapshot(&[("a", "1")]), 2000).unwrap();
        keys.rotate().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.open("s", &old, 1000).is_ok());
        let new = keys.seal("s", &snapshot(&[("a", "1")]), 2000).unwrap();
        let only_new = SessionKeys {
            keys: vec![keys.keys[0]],
        };
        assert!(only_new.open("s", &new, 1000).is_ok());
        assert!(only_new.open("s", &old, 1000).is_err());
        keys.rotate().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(
            keys.open("s", &old, 1000).is_err(),
            "two rotations retire a key"
        );
        assert!(keys.open("s", &new, 1000).is_ok());
    }

    #[test]
    fn the_key_file_round_trips_and_refuses_junk() {
        let mut keys = SessionKeys::generate().unwrap();
        keys.rotate().unwrap();
        let text = keys.to_file_text();
        let parsed = SessionKeys::parse(&text).unwrap();
        assert_eq!(parsed.keys, keys.keys);
        assert!(matches!(
            SessionKeys::parse("# nothing\n\n"),
            Err(SessionError::NoKeys)
        ));
        assert!(matches!(
            SessionKeys::parse("# c\nshort\n"),
            Err(SessionError::MalformedKey { line: 2 })
        ));
        assert!(!format!("{keys:?}").contains(&URL_SAFE_NO_PAD.encode(keys.keys[0])));
    }

    #[test]
    fn load_or_create_makes_a_private_file_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.key");
        let made = SessionKeys::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = SessionKeys::load_or_create(&path).unwrap();
        assert_eq!(made.keys, loaded.keys);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let mut rotated = loaded.clone();
        rotated.rotate().unwrap();
        rotated.save(&path).unwrap();
        assert_eq!(SessionKeys::load(&path).unwrap().keys, rotated.keys);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn processes_creating_the_key_file_at_once_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.key");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SessionKeys::load_or_create(&path).unwrap().keys)
            })
            .collect();
        let keys: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(keys.iter().all(|k| *k == keys[0]));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_session_too_large_for_a_cookie_is_an_error() {
        let keys = SessionKeys::generate().unwrap();
        let big = "x".repeat(MAX_COOKIE_BYTES);
        let err = keys
            .seal("s", &snapshot(&[("big", &big)]), 2000)
            .unwrap_err();
        assert!(matches!(err, SessionError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("too large"));
    }

    #[test]
    fn session_changes_are_tracked() {
        let session = Session::from_snapshot(snapshot(&[("a", "1")]));
        assert!(session.changes().is_none());
        session.set("a", "1");
        assert!(session.changes().is_none(), "setting the same value");
        session.remove("missing");
        assert!(session.changes().is_none());
        session.set("a", "2");
        assert_eq!(session.changes().unwrap().values["a"], "2");
        let token = session.csrf_token();
        session.renew();
        assert_ne!(session.csrf_token(), token);
        session.clear();
        assert!(session.is_empty());
        assert!(format!("{session:?}").contains("changed: true"));
    }

    proptest::proptest! {
        #[test]
        fn any_snapshot_round_trips(
            values in proptest::collection::btree_map(".{0,12}", ".{0,40}", 0..8),
            csrf in proptest::option::of("[A-Za-z0-9_-]{1,43}"),
            expires in 1u64..u64::MAX,
        ) {
            let snapshot = Snapshot { values, csrf };
            let decoded = decode(&encode(&snapshot, expires)).unwrap();
            proptest::prop_assert_eq!(decoded, (snapshot, expires));
        }

        #[test]
        fn arbitrary_cookie_values_and_plaintexts_never_panic(
            value in ".{0,200}",
            plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let keys = SessionKeys { keys: vec![[7; KEY_BYTES]] };
            let _ = keys.open("s", &value, 0);
            let _ = decode(&plaintext);
        }
    }
}
