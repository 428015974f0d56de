//! Accounts imported from MoinMoin 1.9: created once, their old password hashes checked at login and
//! replaced by argon2id on the first right one; hashes quire cannot check let no password in.
//!
//! The vectors were made outside quire, with the password `Pässwort 123` (UTF-8, as moin encodes it
//! before hashing) and moin's 20-byte salt form:
//!
//! ```text
//! python3 -c 'import hashlib, base64
//! pw = "Pässwort 123".encode("utf-8"); salt = b"0123456789abcdefghij"
//! for n, s in [("sha1","{SSHA}"), ("sha256","{SSHA256}"), ("sha512","{SSHA512}")]:
//!     print(s + base64.b64encode(hashlib.new(n, pw + salt).digest() + salt).decode())
//! print("{SHA}" + base64.b64encode(hashlib.sha1(pw).digest()).decode())'
//! openssl passwd -6 -salt saltsaltsalt12 'Pässwort 123'
//! openssl passwd -5 -salt saltsaltsalt12 'Pässwort 123'
//! openssl passwd -6 -salt 'rounds=6000$abcdefgh' 'Pässwort 123'
//! openssl passwd -6 -salt 'rounds=656000$abcdefgh' 'Pässwort 123'   # passlib's default, moin's
//! ```

use storage::{
    users::{PasswordState, FAILURE_WINDOW_SECS, MAX_FAILURES},
    ImportUserOutcome, ImportedUser, LoginAttempt, LoginOutcome, NewUser, Role, Storage, UserError,
};

use crate::support::TempDb;

const PASSWORD: &str = "Pässwort 123";

/// Each scheme MoinMoin 1.9 (or an LDAP-style setup before it) stored, with `PASSWORD`'s hash.
const SCHEMES: &[(&str, &str)] = &[
    ("ssha", "{SSHA}3Wd4cAZ34VelOBOzUGKF9lHKiQIwMTIzNDU2Nzg5YWJjZGVmZ2hpag=="),
    (
        "ssha256",
        "{SSHA256}5MecbGk9iGpxw7JCJjT9q3X4vgArXctdcwhT07RTZBowMTIzNDU2Nzg5YWJjZGVmZ2hpag==",
    ),
    (
        "ssha512",
        "{SSHA512}4/GJwrXwcqrzVmv7nN7gTHLlfLV42eOdkuKESs0GRYW3Y/DQjyAHmUDpN8CySqR6XKr0035/aHHAZdhi1mTHMDAxMjM0NTY3ODlhYmNkZWZnaGlq",
    ),
    ("sha", "{SHA}lNWhV3nPiHtnnt5Ld2VqiEDucl4="),
    (
        "sha512_crypt",
        "{PASSLIB}$6$saltsaltsalt12$p/ND0xMNlbbVsT8quDGp3cRQgauIlgRuWAtp0NjTjC/0gWVli/ij04aZjEwF4ULFYhoEE7.2WYP7jDmY7vvJ20",
    ),
    (
        "sha512_crypt with rounds",
        "{PASSLIB}$6$rounds=6000$abcdefgh$K2odRV7z1.Fo21QOpT0E5rf.ZiP4009K0qAH9/.gZNaE6NSknRT6vR0RKunLSPk0DdfILAgAMRcJ5N4c36YGH/",
    ),
    (
        "sha512_crypt with passlib's default rounds",
        "{PASSLIB}$6$rounds=656000$abcdefgh$Jvz8WZxbt7GX90GpSX3kMeGXm9Pko0cZsPH5QVoCNI6Ryqu/CySqsESLzCQ/zBeBuu5SBulMh2GIaWGCrRoYd.",
    ),
    (
        "sha256_crypt",
        "{PASSLIB}$5$saltsaltsalt12$dDDfDQF6VlX.EvJ4.kEaSbQdrtMosZt.dmS3eT9lp28",
    ),
];

/// Stored hashes no password can match: broken, cut short, or of schemes quire does not check.
const UNUSABLE: &[&str] = &[
    "",
    "{SSHA}not base64!!",
    "{SSHA}3Wd4cAZ34VelOBOzUGKF9lHK",     // shorter than a SHA-1 digest
    "{SHA}lNWhV3nPiHtnnt5Ld2VqiEDucl5hYQ==", // a digest with a byte too many
    "{XYZ}abc",
    "{DES}abJnggxhB/yWI",
    "{MD5}$1$saltsalt$Ofx8r8QqSIQkYd5DpyW8V.",
    "{APR1}$apr1$saltsalt$S1ElQbPYXULuwRw6JZ2nw.",
    "{PASSLIB}$pbkdf2-sha512$25000$c2FsdA$aGFzaA",
    "{PASSLIB}$6$rounds=10$abcdefgh$K2odRV7z1.Fo21QOpT0E5rf.ZiP4009K0qAH9/.gZNaE6NSknRT6vR0RKunLSPk0DdfILAgAMRcJ5N4c36YGH/",
    "{PASSLIB}$6$rounds=999999999$abcdefgh$K2odRV7z1.Fo21QOpT0E5rf.ZiP4009K0qAH9/.gZNaE6NSknRT6vR0RKunLSPk0DdfILAgAMRcJ5N4c36YGH/",
    "{PASSLIB}$6$saltsaltsalt12$p/ND0xMNlbbVsT8quDGp3cRQgauIlgR",
    "{PASSLIB}$6$",
    "{PASSLIB}",
    "{SSHA",
    "plain text",
];

fn imported<'a>(name: &'a str, hash: Option<&'a str>) -> ImportedUser<'a> {
    ImportedUser {
        name,
        display_name: "Alice Liddell",
        email: "alice@example.org",
        password_hash: hash,
        created: Some(1_100_000_000),
    }
}

fn attempt(password: &str) -> LoginAttempt<'_> {
    LoginAttempt {
        name: "alice",
        password,
        address: "192.0.2.1",
        device: None,
        time: None,
    }
}

/// The hash as the row holds it, read past storage.
fn stored_hash(db: &TempDb, name: &str) -> String {
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .query_row(
            "SELECT password_hash FROM users WHERE name_key = ?1",
            [name],
            |row| row.get(0),
        )
        .unwrap()
}

/// Sets alice's password as `quire user passwd` does, and checks that it opens the account.
fn passwd_opens_the_account(storage: &Storage) {
    storage.set_password("alice", "a new password").unwrap();
    let outcome = storage.log_in(&attempt("a new password")).unwrap();
    assert!(matches!(outcome, LoginOutcome::LoggedIn(_)), "{outcome:?}");
}

fn is_argon2id(hash: &str) -> bool {
    hash.starts_with("$argon2id$v=19$")
}

#[test]
fn an_import_creates_the_account_once_and_a_rerun_leaves_it_alone() {
    let db = TempDb::new();
    let storage = db.open();
    let outcome = storage
        .import_user(&imported("Alice", Some(SCHEMES[0].1)))
        .unwrap();
    assert!(matches!(outcome, ImportUserOutcome::Created), "{outcome:?}");
    let user = storage.user("alice").unwrap().unwrap();
    assert_eq!(user.name, "Alice");
    assert_eq!(user.display_name, "Alice Liddell");
    assert_eq!(user.email, "alice@example.org");
    assert_eq!(user.role, Role::User);
    assert!(!user.disabled);
    assert_eq!(user.created, 1_100_000_000);
    // The owner changes the password after the move; a second import must not undo that.
    storage.set_password("alice", "a new password").unwrap();
    let changed = stored_hash(&db, "alice");
    let again = storage
        .import_user(&ImportedUser {
            display_name: "Someone Else",
            ..imported("ALICE", Some(SCHEMES[0].1))
        })
        .unwrap();
    assert!(matches!(again, ImportUserOutcome::Exists), "{again:?}");
    assert_eq!(stored_hash(&db, "alice"), changed);
    assert_eq!(storage.user("alice").unwrap().unwrap(), {
        let mut u = user.clone();
        u.session_epoch += 1;
        u
    });
    assert!(matches!(
        storage.log_in(&attempt("a new password")).unwrap(),
        LoginOutcome::LoggedIn(_)
    ));
}

#[test]
fn names_are_checked_as_for_a_new_account() {
    let storage = Storage::open_in_memory().unwrap();
    let err = storage
        .import_user(&imported("John Doe", None))
        .unwrap_err();
    assert!(matches!(err, UserError::InvalidName(_)), "{err:?}");
    storage
        .create_user(&NewUser {
            name: "admin",
            display_name: None,
            email: "",
            role: Role::Admin,
            password: "correct horse battery",
            invite: None,
            reserved: &[],
        })
        .unwrap();
    let err = storage.import_user(&imported("аdmin", None)).unwrap_err();
    assert!(matches!(err, UserError::LooksLike { .. }), "{err:?}");
    let err = storage
        .import_user_reserving(&imported("Trusted", None), &["All", "Known", "Trusted"])
        .unwrap_err();
    assert!(matches!(err, UserError::Reserved { .. }), "{err:?}");
    assert_eq!(storage.users().unwrap().len(), 1);
}

#[test]
fn each_moin_scheme_logs_in_once_and_is_then_argon2id() {
    for (scheme, hash) in SCHEMES {
        let db = TempDb::new();
        let storage = db.open();
        storage
            .import_user(&imported("alice", Some(*hash)))
            .unwrap();
        for wrong in ["Pässwort 124", "pässwort 123", "Passwort 123", ""] {
            let outcome = storage.log_in(&attempt(wrong)).unwrap();
            assert_eq!(outcome, LoginOutcome::Failed, "{scheme}: {wrong:?}");
            assert_eq!(stored_hash(&db, "alice"), *hash, "{scheme}: kept");
        }
        let outcome = storage.log_in(&attempt(PASSWORD)).unwrap();
        assert!(
            matches!(outcome, LoginOutcome::LoggedIn(ref u) if u.name == "alice"),
            "{scheme}: {outcome:?}"
        );
        let upgraded = stored_hash(&db, "alice");
        assert!(is_argon2id(&upgraded), "{scheme}: {upgraded}");
        // The same password goes on working, now against the new hash; the session epoch did not
        // move (the password is the same, so no session has to end).
        let again = storage.log_in(&attempt(PASSWORD)).unwrap();
        assert!(
            matches!(again, LoginOutcome::LoggedIn(ref u) if u.session_epoch == 0),
            "{scheme}: {again:?}"
        );
        assert_eq!(
            stored_hash(&db, "alice"),
            upgraded,
            "{scheme}: upgraded once"
        );
    }
}

#[test]
fn a_hash_quire_cannot_check_lets_no_password_in_and_passwd_makes_the_account_usable() {
    for hash in UNUSABLE {
        let db = TempDb::new();
        let storage = db.open();
        storage
            .import_user(&imported("alice", Some(*hash)))
            .unwrap();
        for password in [PASSWORD, "", "abJnggxhB/yWI", hash, "x"] {
            let outcome = storage.log_in(&attempt(password)).unwrap();
            assert_eq!(outcome, LoginOutcome::Failed, "{hash:?}: {password:?}");
        }
        assert_eq!(stored_hash(&db, "alice"), *hash);
        passwd_opens_the_account(&storage);
    }
}

#[test]
fn an_account_imported_without_a_hash_has_no_password_until_one_is_set() {
    let storage = Storage::open_in_memory().unwrap();
    storage.import_user(&imported("alice", None)).unwrap();
    for password in [PASSWORD, "", " "] {
        let outcome = storage.log_in(&attempt(password)).unwrap();
        assert_eq!(outcome, LoginOutcome::Failed, "{password:?}");
    }
    passwd_opens_the_account(&storage);
}

#[test]
fn the_account_list_tells_which_accounts_have_a_usable_password() {
    let storage = Storage::open_in_memory().unwrap();
    storage.import_user(&imported("alice", None)).unwrap();
    storage
        .import_user(&imported("bob", Some(SCHEMES[4].1)))
        .unwrap();
    storage
        .import_user(&imported("carol", Some("{DES}abJnggxhB/yWI")))
        .unwrap();
    storage
        .import_user(&imported("dave", Some(SCHEMES[0].1)))
        .unwrap();
    storage.set_password("dave", "a new password").unwrap();
    let states: Vec<(String, PasswordState)> = storage
        .users_with_password_state()
        .unwrap()
        .into_iter()
        .map(|(user, state)| (user.name, state))
        .collect();
    assert_eq!(
        states,
        [
            ("alice".to_owned(), PasswordState::None),
            ("bob".to_owned(), PasswordState::Legacy),
            ("carol".to_owned(), PasswordState::None),
            ("dave".to_owned(), PasswordState::Set),
        ]
    );
}

#[test]
fn failed_logins_of_an_imported_account_are_throttled_like_any_other() {
    let db = TempDb::new();
    let storage = db.open();
    storage
        .import_user(&imported("alice", Some(SCHEMES[0].1)))
        .unwrap();
    let at = |password, time| LoginAttempt {
        time: Some(time),
        ..attempt(password)
    };
    for i in 0..MAX_FAILURES {
        let time = 1000 + i64::try_from(i).unwrap();
        assert_eq!(
            storage.log_in(&at("wrong", time)).unwrap(),
            LoginOutcome::Failed
        );
    }
    let outcome = storage.log_in(&at(PASSWORD, 1010)).unwrap();
    assert!(
        matches!(outcome, LoginOutcome::Throttled { .. }),
        "{outcome:?}"
    );
    assert_eq!(stored_hash(&db, "alice"), SCHEMES[0].1, "not even checked");
    let later = 1010 + FAILURE_WINDOW_SECS;
    assert!(matches!(
        storage.log_in(&at(PASSWORD, later)).unwrap(),
        LoginOutcome::LoggedIn(_)
    ));
    assert!(is_argon2id(&stored_hash(&db, "alice")));
}
