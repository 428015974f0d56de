//! MoinMoin 1.9's accounts: `user/<id>`, one `key=value` line each (`user.py`).
//!
//! The id is `<seconds>.<random>.<random>`, made when the account was; its first part is the account's
//! creation time, which MoinMoin keeps nowhere else. Beside the profiles, `user/` holds `<id>.trail`,
//! `<id>.bookmark`, a `README` and a `cache/`: only names of the id's shape are read.
//!
//! Kept: `name`, `aliasname` (the display name), `email` and `enc_password`, as written: `{SSHA}…`,
//! `{SSHA256}…`, `{PASSLIB}$6$…`; storage checks and upgrades them at the first login. MoinMoin allowed
//! spaces and most punctuation in names ("John Doe"), quire does not: such a name is mapped to one it
//! can take by dropping the characters it cannot ("JohnDoe"), with a warning, and every revision the
//! account made is credited to the mapped name, so history and account agree.

use std::collections::HashMap;
use std::path::Path;

use crate::import::SourceUser;

use super::{decode, Warnings};

/// What a profile says, before mapping its name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `name=`.
    pub name: String,
    /// `aliasname=`.
    pub alias: String,
    /// `email=`.
    pub email: String,
    /// `enc_password=`, empty when the account has none.
    pub enc_password: String,
}

impl Profile {
    /// Reads a profile's lines; comments and keys other than the four kept are skipped.
    pub fn parse(text: &str) -> Profile {
        let mut profile = Profile::default();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().to_owned();
            match key.trim() {
                "name" => profile.name = value,
                "aliasname" => profile.alias = value,
                "email" => profile.email = value,
                "enc_password" => profile.enc_password = value,
                _ => {}
            }
        }
        profile
    }
}

/// Whether a file in `user/` is a profile: its name is an id, `<digits>.<digits>[.<digits>]`.
pub fn is_profile(file: &str) -> bool {
    let parts: Vec<&str> = file.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// The name quire gives a MoinMoin account: the name itself when quire can take it; otherwise the
/// characters it can take (letters, digits, `_`, `-`, `.`), after `user` if they do not start with a
/// letter, cut to quire's length limit.
pub fn quire_name(moin_name: &str) -> String {
    if storage::users::check_user_name(moin_name).is_ok() {
        return moin_name.to_owned();
    }
    let mut kept: String = moin_name
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    if !kept.chars().next().is_some_and(char::is_alphabetic) {
        kept.insert_str(0, "user");
    }
    kept.chars().take(storage::users::MAX_NAME_CHARS).collect()
}

/// The accounts of a data directory, and which name each user id's revisions go to.
#[derive(Default)]
pub struct Users {
    /// The accounts to create, in id order.
    pub accounts: Vec<SourceUser>,
    /// User id → the quire name of its account.
    pub names: HashMap<String, String>,
}

/// Reads every profile in `dir` (`DATA/user`); a missing folder is a wiki without accounts.
pub fn read(dir: &Path, warnings: &mut Warnings) -> Users {
    let mut users = Users::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return users,
        Err(err) => {
            warnings.warn("user/", format!("could not list the accounts: {err}"));
            return users;
        }
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| is_profile(name))
        .collect();
    ids.sort();
    let mut taken: HashMap<String, String> = HashMap::new();
    for id in ids {
        let origin = format!("user/{id}");
        let bytes = match std::fs::read(dir.join(&id)) {
            Ok(bytes) => bytes,
            Err(err) => {
                warnings.warn(&origin, format!("could not read this account: {err}"));
                continue;
            }
        };
        let (text, latin1) = decode(&bytes);
        if latin1 {
            warnings.warn(&origin, "not UTF-8: read as Latin-1, as MoinMoin did");
        }
        let profile = Profile::parse(&text);
        if profile.name.is_empty() {
            warnings.warn(&origin, "no name= line: this account is not imported");
            continue;
        }
        let name = quire_name(&profile.name);
        if name != profile.name {
            warnings.warn(
                &origin,
                format!(
                    "the name {:?} is not one quire can take; the account and its revisions are {name:?}",
                    profile.name
                ),
            );
        }
        let key = storage::users::name_key(&name);
        if let Some(first) = taken.get(&key) {
            warnings.warn(
                &origin,
                format!("{:?} is the same name as account {first} has in quire: this account is not imported, its revisions are credited to that one", profile.name),
            );
            users.names.insert(id, name);
            continue;
        }
        taken.insert(key, id.clone());
        users.accounts.push(SourceUser {
            display_name: if profile.alias.is_empty() {
                profile.name.clone()
            } else {
                profile.alias.clone()
            },
            name: name.clone(),
            email: profile.email,
            password_hash: (!profile.enc_password.is_empty()).then_some(profile.enc_password),
            created: id.split('.').next().and_then(|secs| secs.parse().ok()),
        });
        users.names.insert(id, name);
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_keeps_name_alias_email_and_hash() {
        let profile = Profile::parse(
            "# Data saved '2015-01-29 17:42:15' for id '1416773671.27.58166'\naliasname=Ann B.\nemail=ann@example.org\nenc_password={SSHA}abc=\nname=ann\nquicklinks[]=klaus\nbad line\n",
        );
        assert_eq!(
            profile,
            Profile {
                name: "ann".into(),
                alias: "Ann B.".into(),
                email: "ann@example.org".into(),
                enc_password: "{SSHA}abc=".into(),
            }
        );
    }

    #[test]
    fn only_id_shaped_files_are_profiles() {
        assert!(is_profile("1416773671.27.58166"));
        assert!(is_profile("1416773671.27"));
        for other in [
            "README",
            "1416773671.27.58166.trail",
            "1416773671.27.58166.bookmark",
            "cache",
            "1.2.3.4",
            ".1",
        ] {
            assert!(!is_profile(other), "{other}");
        }
    }

    #[test]
    fn names_quire_cannot_take_are_mapped() {
        assert_eq!(quire_name("acbart"), "acbart");
        assert_eq!(quire_name("John Doe"), "JohnDoe");
        assert_eq!(quire_name("Jean-Luc Picard"), "Jean-LucPicard");
        assert_eq!(quire_name("孤客"), "孤客");
        assert_eq!(quire_name("42 cats"), "user42cats");
        assert_eq!(quire_name("!!!"), "user");
        assert_eq!(
            quire_name(&"x ".repeat(100)).chars().count(),
            storage::users::MAX_NAME_CHARS
        );
    }
}
