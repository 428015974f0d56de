//! Accounts: unique names in any case, argon2id hashes, throttled logins, invitations.

use storage::{
    users::{FAILURE_WINDOW_SECS, MAX_ADDRESS_FAILURES, MAX_FAILURES},
    LoginAttempt, LoginOutcome, NewUser, Role, Storage, UserError, UserPrefs,
};

use crate::support::{each_engine, TempDb};

fn alice() -> NewUser<'static> {
    NewUser {
        name: "Alice",
        display_name: None,
        email: "alice@example.org",
        role: Role::User,
        password: "correct horse battery",
        invite: None,
        reserved: RESERVED,
    }
}

/// Creates Alice's account under another name.
fn create_named(storage: &Storage, name: &str) -> Result<storage::User, UserError> {
    storage.create_user(&NewUser { name, ..alice() })
}

/// What the app passes: the ACL's special words and a group.
const RESERVED: &[&str] = &["All", "Known", "Trusted", "Default", "Editors"];

fn attempt<'a>(name: &'a str, password: &'a str, address: &'a str, time: i64) -> LoginAttempt<'a> {
    LoginAttempt {
        name,
        password,
        address,
        device: None,
        time: Some(time),
    }
}

#[test]
fn names_are_unique_in_any_case_and_keep_their_spelling() {
    for storage in each_engine() {
        let created = storage.create_user(&alice()).unwrap();
        assert_eq!(created.display_name, "Alice");
        let again = storage.create_user(&NewUser {
            name: "ALICE",
            ..alice()
        });
        assert!(matches!(again, Err(UserError::NameTaken(_))), "{again:?}");
        let found = storage.user("aLiCe").unwrap().unwrap();
        assert_eq!(found.name, "Alice");
        assert_eq!(found.role, Role::User);
        assert!(storage.user("Bob").unwrap().is_none());
    }
}

#[test]
fn look_alike_names_are_refused_and_say_which_name_they_look_like() {
    for storage in each_engine() {
        create_named(&storage, "admin").unwrap();
        // Cyrillic а, full-width ａ, upper case, dotless ı, and an ASCII look-alike (rn for m).
        for name in [
            "\u{430}dmin",
            "\u{ff41}dmin",
            "ADMIN",
            "adm\u{131}n",
            "adrnin",
        ] {
            let err = create_named(&storage, name).unwrap_err();
            assert!(
                matches!(err, UserError::NameTaken(_) | UserError::LooksLike { .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains("\"admin\""), "{name}: {err}");
        }
        let err = create_named(&storage, "\u{430}dmin").unwrap_err();
        assert!(err.to_string().contains("choose"), "says what to do: {err}");
        assert_eq!(storage.users().unwrap().len(), 1);
        // A normal new name passes, and is found in any spelling NFKC folds to it.
        storage.create_user(&alice()).unwrap();
        assert_eq!(storage.user("\u{ff21}lice").unwrap().unwrap().name, "Alice");
    }
}

#[test]
fn names_are_stored_in_nfkc() {
    for storage in each_engine() {
        let created = create_named(&storage, "\u{ff42}ob").unwrap();
        assert_eq!(created.name, "bob");
        assert_eq!(storage.user("bob").unwrap().unwrap().name, "bob");
    }
}

#[test]
fn a_name_lowercasing_takes_out_of_nfkc_is_one_account_in_either_spelling() {
    // `T̈` has no precomposed capital: `T` and a combining diaeresis, which lowercase to `t` and the
    // mark, and those compose to `ẗ` (U+1E97). A new name may hold no combining mark, but a name is
    // looked up and logged in with as typed.
    for storage in each_engine() {
        create_named(&storage, "\u{1e97}om").unwrap();
        assert_eq!(
            storage::users::name_key("T\u{308}om"),
            storage::users::name_key("\u{1e97}om")
        );
        assert_eq!(
            storage.user("T\u{308}om").unwrap().unwrap().name,
            "\u{1e97}om"
        );
        let logged_in = storage
            .log_in(&attempt(
                "T\u{308}om",
                "correct horse battery",
                "10.0.0.1",
                1000,
            ))
            .unwrap();
        assert!(
            matches!(logged_in, LoginOutcome::LoggedIn(_)),
            "{logged_in:?}"
        );
    }
}

#[test]
fn reserved_words_and_their_look_alikes_are_refused() {
    for storage in each_engine() {
        for name in ["All", "known", "TRUSTED", "Default", "editors", "\u{410}ll"] {
            let err = create_named(&storage, name).unwrap_err();
            assert!(matches!(err, UserError::Reserved { .. }), "{name}: {err:?}");
            assert!(err.to_string().contains("reserved"), "{name}: {err}");
        }
        assert!(storage.users().unwrap().is_empty());
        create_named(&storage, "Allison").unwrap();
    }
}

#[test]
fn bad_names_and_passwords_are_refused_with_reasons() {
    for storage in each_engine() {
        for name in ["", "10.0.0.1", "has space", "a/b"] {
            let err = storage
                .create_user(&NewUser { name, ..alice() })
                .unwrap_err();
            assert!(matches!(err, UserError::InvalidName(_)), "{name}: {err:?}");
        }
        let err = storage
            .create_user(&NewUser {
                password: "short",
                ..alice()
            })
            .unwrap_err();
        assert!(err.to_string().contains("at least 8"), "{err}");
        assert!(storage.users().unwrap().is_empty());
    }
}

#[test]
fn only_an_argon2id_hash_is_stored() {
    let db = TempDb::new();
    let storage = Storage::open(&db.path).unwrap();
    storage.create_user(&alice()).unwrap();
    drop(storage);
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let hash: String = conn
        .query_row("SELECT password_hash FROM users", [], |row| row.get(0))
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("correct horse"));
}

#[test]
fn logging_in_checks_the_password_and_the_account() {
    for storage in each_engine() {
        storage.create_user(&alice()).unwrap();
        let ok = storage
            .log_in(&attempt("alice", "correct horse battery", "10.0.0.1", 1000))
            .unwrap();
        assert!(
            matches!(ok, LoginOutcome::LoggedIn(ref user) if user.name == "Alice"),
            "{ok:?}"
        );
        assert_eq!(
            storage
                .log_in(&attempt("Alice", "wrong", "10.0.0.1", 1000))
                .unwrap(),
            LoginOutcome::Failed
        );
        // An unknown name fails exactly like a wrong password.
        assert_eq!(
            storage
                .log_in(&attempt("Mallory", "whatever", "10.0.0.1", 1000))
                .unwrap(),
            LoginOutcome::Failed
        );
        storage.set_disabled("ALICE", true).unwrap();
        assert_eq!(
            storage
                .log_in(&attempt("Alice", "correct horse battery", "10.0.0.1", 1000))
                .unwrap(),
            LoginOutcome::Disabled
        );
        storage.set_disabled("alice", false).unwrap();
        assert_eq!(storage.user("alice").unwrap().unwrap().session_epoch, 0);
        storage.set_password("alice", "a new password").unwrap();
        // A new password ends the account's sessions: the epoch they were opened under is past.
        assert_eq!(storage.user("alice").unwrap().unwrap().session_epoch, 1);
        assert!(matches!(
            storage
                .log_in(&attempt("Alice", "a new password", "10.0.0.1", 1000))
                .unwrap(),
            LoginOutcome::LoggedIn(_)
        ));
        let failures = storage.failed_logins(10).unwrap();
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].address, "10.0.0.1");
        assert!(failures.iter().any(|f| f.name == "mallory"));
    }
}

#[test]
fn the_eleventh_failure_in_a_minute_is_not_even_checked() {
    for storage in each_engine() {
        storage.create_user(&alice()).unwrap();
        let start = 10_000;
        for i in 0..MAX_FAILURES {
            let outcome = storage
                .log_in(&attempt(
                    "alice",
                    "wrong",
                    &format!("10.0.0.{i}"),
                    start + i as i64,
                ))
                .unwrap();
            assert_eq!(outcome, LoginOutcome::Failed, "attempt {i}");
        }
        // Even the right password is refused now: the account is throttled, from any address.
        let now = start + 10;
        let throttled = storage
            .log_in(&attempt("Alice", "correct horse battery", "192.0.2.1", now))
            .unwrap();
        assert_eq!(
            throttled,
            LoginOutcome::Throttled {
                retry_after: u64::try_from(start + FAILURE_WINDOW_SECS - now).unwrap()
            }
        );
        // Unchecked attempts are not recorded, so they do not extend the wait.
        assert_eq!(storage.failed_logins(100).unwrap().len(), 10);
        // Once the first failure leaves the window, the account is checked again.
        let later = start + FAILURE_WINDOW_SECS + 1;
        assert!(matches!(
            storage
                .log_in(&attempt(
                    "alice",
                    "correct horse battery",
                    "192.0.2.1",
                    later
                ))
                .unwrap(),
            LoginOutcome::LoggedIn(_)
        ));
    }
}

#[test]
fn a_known_device_passes_the_throttles_until_it_guesses_too_often() {
    for storage in each_engine() {
        storage.create_user(&alice()).unwrap();
        let device = storage.remember_device("alice", None).unwrap();
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // An attacker uses up the account's failures and the address's, from the owner's address.
        for i in 0..MAX_ADDRESS_FAILURES {
            storage
                .log_in(&attempt(
                    if i < MAX_FAILURES { "alice" } else { "bob" },
                    "x",
                    "198.51.100.7",
                    time,
                ))
                .unwrap();
        }
        let without = attempt("alice", "correct horse battery", "198.51.100.7", time);
        assert!(matches!(
            storage.log_in(&without).unwrap(),
            LoginOutcome::Throttled { .. }
        ));
        let with = LoginAttempt {
            device: Some(&device),
            ..without
        };
        assert!(matches!(
            storage.log_in(&with).unwrap(),
            LoginOutcome::LoggedIn(_)
        ));
        // Another account's device, or a made-up token, is no device.
        let bob_device = storage.remember_device("bob", None).unwrap();
        let wrong = LoginAttempt {
            device: Some(&bob_device),
            ..without
        };
        assert!(matches!(
            storage.log_in(&wrong).unwrap(),
            LoginOutcome::Throttled { .. }
        ));
        let made_up = LoginAttempt {
            device: Some("0123"),
            ..without
        };
        assert!(matches!(
            storage.log_in(&made_up).unwrap(),
            LoginOutcome::Throttled { .. }
        ));
        // Renewing keeps the token; wrong passwords sent with it use it up.
        assert_eq!(
            storage.remember_device("ALICE", Some(&device)).unwrap(),
            device
        );
        for _ in 0..MAX_FAILURES {
            let guess = LoginAttempt {
                password: "guess",
                ..with
            };
            assert_eq!(storage.log_in(&guess).unwrap(), LoginOutcome::Failed);
        }
        assert!(matches!(
            storage.log_in(&with).unwrap(),
            LoginOutcome::Throttled { .. }
        ));
        // A login elsewhere renews a used-up token of the account.
        assert_eq!(
            storage.remember_device("alice", Some(&device)).unwrap(),
            device
        );
        assert!(matches!(
            storage.log_in(&with).unwrap(),
            LoginOutcome::LoggedIn(_)
        ));
        assert_ne!(
            storage.remember_device("alice", Some(&bob_device)).unwrap(),
            bob_device
        );
    }
}

#[test]
fn one_address_is_throttled_across_names() {
    for storage in each_engine() {
        storage.create_user(&alice()).unwrap();
        // More failures than one account may have: an address can be many people behind one proxy.
        for i in 0..MAX_ADDRESS_FAILURES {
            storage
                .log_in(&attempt(&format!("guess{i}"), "x", "203.0.113.9", 500))
                .unwrap();
        }
        assert!(matches!(
            storage
                .log_in(&attempt(
                    "Alice",
                    "correct horse battery",
                    "203.0.113.9",
                    501
                ))
                .unwrap(),
            LoginOutcome::Throttled { .. }
        ));
        // Another address is not affected.
        assert!(matches!(
            storage
                .log_in(&attempt(
                    "Alice",
                    "correct horse battery",
                    "203.0.113.10",
                    501
                ))
                .unwrap(),
            LoginOutcome::LoggedIn(_)
        ));
    }
}

#[test]
fn throttling_holds_across_processes() {
    let db = TempDb::new();
    let first = Storage::open(&db.path).unwrap();
    for _ in 0..MAX_FAILURES {
        first.log_in(&attempt("bob", "x", "10.1.1.1", 50)).unwrap();
    }
    drop(first);
    let second = Storage::open(&db.path).unwrap();
    assert!(matches!(
        second.log_in(&attempt("bob", "x", "10.9.9.9", 51)).unwrap(),
        LoginOutcome::Throttled { .. }
    ));
}

#[test]
fn roles_prefs_and_listing() {
    for storage in each_engine() {
        storage.create_user(&alice()).unwrap();
        storage
            .create_user(&NewUser {
                name: "bob",
                role: Role::Admin,
                ..alice()
            })
            .unwrap();
        assert_eq!(storage.admin_count().unwrap(), 1);
        storage.set_role("alice", Role::Admin).unwrap();
        assert_eq!(storage.admin_count().unwrap(), 2);
        let err = storage.set_role("nobody", Role::Admin).unwrap_err();
        assert!(matches!(err, UserError::NoSuchUser(_)), "{err:?}");

        storage
            .set_prefs(
                "alice",
                &UserPrefs {
                    display_name: "Alice Liddell",
                    email: "",
                    theme: Some("dark"),
                },
            )
            .unwrap();
        let alice = storage.user("alice").unwrap().unwrap();
        assert_eq!(alice.display_name, "Alice Liddell");
        assert_eq!(alice.theme.as_deref(), Some("dark"));
        assert_eq!(alice.email, "");
        // An empty display name falls back to the name.
        storage
            .set_prefs(
                "alice",
                &UserPrefs {
                    display_name: " ",
                    email: "a@b.c",
                    theme: None,
                },
            )
            .unwrap();
        assert_eq!(
            storage.user("alice").unwrap().unwrap().display_name,
            "Alice"
        );
        let bad = storage.set_prefs(
            "alice",
            &UserPrefs {
                display_name: "two\nlines",
                email: "",
                theme: None,
            },
        );
        assert!(matches!(bad, Err(UserError::BadField(_))), "{bad:?}");

        let names: Vec<String> = storage
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["Alice", "bob"]);
    }
}

#[test]
fn an_invitation_is_used_once() {
    for storage in each_engine() {
        let invite = storage.create_invite("admin", 3600).unwrap();
        assert_eq!(invite.code.len(), 32);
        assert_eq!(
            storage.open_invites().unwrap(),
            std::slice::from_ref(&invite)
        );
        let wrong = storage.create_user(&NewUser {
            invite: Some("not-a-code"),
            ..alice()
        });
        assert!(matches!(wrong, Err(UserError::BadInvite)), "{wrong:?}");
        assert!(storage.user("alice").unwrap().is_none());
        storage
            .create_user(&NewUser {
                invite: Some(&invite.code),
                ..alice()
            })
            .unwrap();
        assert!(storage.open_invites().unwrap().is_empty());
        let reused = storage.create_user(&NewUser {
            name: "Carol",
            invite: Some(&invite.code),
            ..alice()
        });
        assert!(matches!(reused, Err(UserError::BadInvite)), "{reused:?}");
        // An expired invitation is refused too.
        let expired = storage.create_invite("admin", -1).unwrap();
        let late = storage.create_user(&NewUser {
            name: "Dave",
            invite: Some(&expired.code),
            ..alice()
        });
        assert!(matches!(late, Err(UserError::BadInvite)), "{late:?}");
    }
}

#[test]
fn a_taken_name_does_not_use_up_the_invitation() {
    for storage in each_engine() {
        storage.create_user(&alice()).unwrap();
        let invite = storage.create_invite("admin", 3600).unwrap();
        let taken = storage.create_user(&NewUser {
            invite: Some(&invite.code),
            ..alice()
        });
        assert!(matches!(taken, Err(UserError::NameTaken(_))), "{taken:?}");
        assert_eq!(storage.open_invites().unwrap().len(), 1);
    }
}

#[test]
fn only_the_first_account_registered_becomes_an_admin_even_at_once() {
    let db = TempDb::new();
    let stores: Vec<Storage> = (0..4).map(|_| db.open()).collect();
    let names = ["Ann", "Ben", "Cat", "Dan"];
    let created: Vec<storage::User> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .zip(names)
            .map(|(storage, name)| {
                scope.spawn(move || {
                    storage
                        .create_user_first_admin(&NewUser { name, ..alice() })
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let admins = created.iter().filter(|u| u.role == Role::Admin).count();
    assert_eq!(admins, 1, "{created:?}");
    let stored = stores[0].users().unwrap();
    assert_eq!(
        stored.iter().filter(|u| u.role == Role::Admin).count(),
        1,
        "{stored:?}"
    );
    // Later registrations are plain accounts.
    let later = stores[0]
        .create_user_first_admin(&NewUser {
            name: "Eve",
            ..alice()
        })
        .unwrap();
    assert_eq!(later.role, Role::User);
}
