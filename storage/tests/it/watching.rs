//! Watches and the mail queue: who is owed mail for a change, claiming, retries with backoff,
//! giving up, digests, the feed token and the watched changes.

use storage::{
    retry_wait, NewUser, Rename, Retry, Role, Save, Storage, WatchKind, DIGEST_SECS, LEASE_SECS,
    MAX_ATTEMPTS, MAX_RETRY_SECS, STALE_SECS,
};

use crate::support::each_engine;

fn account(storage: &Storage, name: &str, email: &str) {
    storage
        .create_user(&NewUser {
            name,
            display_name: None,
            email,
            role: Role::User,
            password: "correct horse battery",
            invite: None,
            reserved: &[],
        })
        .unwrap();
}

fn save(storage: &Storage, page: &str, text: &str, author: &str) {
    let base = storage.current(page).unwrap().map(|r| r.meta.rev);
    storage
        .save(Save {
            page,
            text,
            author,
            comment: "",
            base_rev: base,
            time: None,
        })
        .unwrap();
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// (account, page, rev) of every queued mail.
fn queued(storage: &Storage) -> Vec<(String, String, u64)> {
    let mut rows: Vec<_> = storage
        .queued_mail()
        .unwrap()
        .into_iter()
        .map(|mail| (mail.account, mail.page, mail.rev))
        .collect();
    rows.sort();
    rows
}

fn row(account: &str, page: &str, rev: u64) -> (String, String, u64) {
    (account.to_owned(), page.to_owned(), rev)
}

#[test]
fn a_change_is_queued_once_for_each_watcher_but_its_author() {
    for storage in each_engine() {
        for name in ["Ann", "Bob", "Cy", "Dee", "Eve"] {
            account(
                &storage,
                name,
                &format!("{}@example.org", name.to_lowercase()),
            );
        }
        account(&storage, "Nomail", "");
        save(&storage, "Team/Plan", "one\n", "Dee");
        save(&storage, "Other", "one\n", "Dee");
        storage.queue_mail(now()).unwrap();
        assert!(queued(&storage).is_empty(), "no one watched anything yet");

        assert!(storage.watch("ann", WatchKind::Page, "Team/Plan").unwrap());
        assert!(!storage.watch("Ann", WatchKind::Page, "Team/Plan").unwrap());
        storage.watch("Bob", WatchKind::Page, "Team/Plan").unwrap();
        storage.watch("Cy", WatchKind::Prefix, "Team/").unwrap();
        storage
            .watch("Nomail", WatchKind::Page, "Team/Plan")
            .unwrap();
        storage.set_watch_settings("Dee", true, false).unwrap();
        // Bob saves: Ann (page), Cy (prefix) and Dee (edited it) are owed mail; Bob, Eve (watches
        // nothing) and Nomail (no address) are not.
        save(&storage, "Team/Plan", "two\n", "Bob");
        save(&storage, "Other", "two\n", "Bob");
        assert_eq!(storage.queue_mail(now()).unwrap(), 4);
        assert_eq!(
            queued(&storage),
            [
                row("Ann", "Team/Plan", 2),
                row("Cy", "Team/Plan", 2),
                row("Dee", "Other", 2),
                row("Dee", "Team/Plan", 2),
            ]
        );
        // The queue has moved past them: nothing is queued twice.
        assert_eq!(storage.queue_mail(now()).unwrap(), 0);

        // A rename reaches the watchers of the old name, under the new.
        storage
            .rename(&Rename {
                from: "Team/Plan",
                to: "Archive/Plan",
                author: "Eve",
                comment: "",
                with_subpages: false,
            })
            .unwrap();
        storage.unwatch("Dee", WatchKind::Page, "nothing").unwrap();
        storage.queue_mail(now()).unwrap();
        let renamed: Vec<_> = queued(&storage)
            .into_iter()
            .filter(|(_, _, rev)| *rev == 3)
            .collect();
        assert_eq!(
            renamed,
            [
                row("Ann", "Archive/Plan", 3),
                row("Bob", "Archive/Plan", 3),
                row("Cy", "Archive/Plan", 3),
                row("Dee", "Archive/Plan", 3),
            ]
        );
    }
}

#[test]
fn a_change_seen_long_after_it_was_made_is_not_mailed() {
    for storage in each_engine() {
        account(&storage, "Ann", "ann@example.org");
        storage.watch("Ann", WatchKind::Prefix, "").unwrap();
        save(&storage, "Old", "text\n", "Bob");
        assert_eq!(storage.queue_mail(now() + STALE_SECS + 60).unwrap(), 0);
        save(&storage, "New", "text\n", "Bob");
        assert_eq!(storage.queue_mail(now()).unwrap(), 1);
    }
}

#[test]
fn a_claimed_mail_is_not_handed_out_again_until_its_lease_ends() {
    for storage in each_engine() {
        account(&storage, "Ann", "ann@example.org");
        storage.watch("Ann", WatchKind::Page, "P").unwrap();
        save(&storage, "P", "one\n", "Bob");
        let now = now();
        storage.queue_mail(now).unwrap();
        let letters = storage.due_mail(now, 10).unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].to.email, "ann@example.org");
        assert_eq!(letters[0].changes[0].meta.page, "P");
        assert!(storage.due_mail(now, 10).unwrap().is_empty());
        // A sender that died: the rows come back once the lease is over.
        let again = storage.due_mail(now + LEASE_SECS, 10).unwrap();
        assert_eq!(again.len(), 1);
        storage.mail_sent(&again[0].rows).unwrap();
        assert!(storage.queued_mail().unwrap().is_empty());
    }
}

#[test]
fn a_failed_mail_is_retried_with_backoff_and_given_up_after_the_limit() {
    for storage in each_engine() {
        account(&storage, "Ann", "ann@example.org");
        storage.watch("Ann", WatchKind::Page, "P").unwrap();
        save(&storage, "P", "one\n", "Bob");
        let mut now = now();
        storage.queue_mail(now).unwrap();
        let mut waits = Vec::new();
        for attempt in 0..MAX_ATTEMPTS {
            let letters = storage.due_mail(now, 10).unwrap();
            assert_eq!(letters.len(), 1, "attempt {attempt}");
            assert_eq!(letters[0].attempts, attempt);
            let retry = storage
                .mail_failed(&letters[0].rows, letters[0].attempts, now, "421 try later")
                .unwrap();
            match retry {
                Retry::At(due) => {
                    let queued = storage.queued_mail().unwrap();
                    assert_eq!(queued[0].last_error, "421 try later");
                    assert!(storage.due_mail(due - 1, 10).unwrap().is_empty());
                    waits.push(due - now);
                    now = due;
                }
                Retry::GaveUp => {
                    assert_eq!(attempt + 1, MAX_ATTEMPTS);
                    assert!(storage.queued_mail().unwrap().is_empty());
                }
            }
        }
        assert_eq!(waits.len(), usize::try_from(MAX_ATTEMPTS - 1).unwrap());
        assert_eq!(waits[0], retry_wait(1));
        assert_eq!(waits[1], 2 * waits[0]);
        assert!(waits.windows(2).all(|pair| pair[1] >= pair[0]));
        assert_eq!(*waits.last().unwrap(), MAX_RETRY_SECS);
    }
}

#[test]
fn a_digest_collects_a_day_of_changes_into_one_letter() {
    for storage in each_engine() {
        account(&storage, "Ann", "ann@example.org");
        account(&storage, "Cy", "cy@example.org");
        storage.watch("Ann", WatchKind::Prefix, "").unwrap();
        storage.watch("Cy", WatchKind::Prefix, "").unwrap();
        storage.set_watch_settings("Ann", false, true).unwrap();
        let now = now();
        for page in ["A", "B", "C"] {
            save(&storage, page, "text\n", "Bob");
        }
        storage.queue_mail(now).unwrap();
        // Cy gets three mails now; Ann's wait for the digest.
        let letters = storage.due_mail(now, 50).unwrap();
        assert_eq!(letters.len(), 3);
        assert!(letters.iter().all(|letter| letter.to.name == "Cy"));
        for letter in &letters {
            storage.mail_sent(&letter.rows).unwrap();
        }
        let digests = storage.due_mail(now + DIGEST_SECS, 50).unwrap();
        assert_eq!(digests.len(), 1);
        assert!(digests[0].digest);
        assert_eq!(digests[0].to.name, "Ann");
        let pages: Vec<&str> = digests[0]
            .changes
            .iter()
            .map(|change| change.meta.page.as_str())
            .collect();
        assert_eq!(pages, ["A", "B", "C"]);
    }
}

#[test]
fn a_feed_token_opens_its_account_until_it_is_replaced() {
    for storage in each_engine() {
        account(&storage, "Ann", "");
        let token = storage.feed_token("Ann").unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(storage.feed_token("ann").unwrap(), token, "kept once made");
        assert_eq!(storage.feed_account(&token).unwrap().unwrap().name, "Ann");
        let new = storage.reset_feed_token("Ann").unwrap();
        assert_ne!(new, token);
        assert!(storage.feed_account(&token).unwrap().is_none());
        assert!(storage.feed_account("").unwrap().is_none());
        // Settings and the bookmark live beside the token without disturbing it.
        storage.set_watch_settings("Ann", true, true).unwrap();
        storage.set_bookmark("Ann", 1234).unwrap();
        let settings = storage.watch_settings("Ann").unwrap();
        assert!(settings.edited && settings.digest);
        assert_eq!(settings.bookmark, Some(1234));
        assert_eq!(settings.feed_token.as_deref(), Some(new.as_str()));
    }
}

#[test]
fn watched_changes_are_those_of_watched_pages_newest_first() {
    for storage in each_engine() {
        account(&storage, "Ann", "");
        save(&storage, "Mine", "one\n", "Ann");
        save(&storage, "Team/X", "one\n", "Bob");
        save(&storage, "Watched", "one\n", "Bob");
        save(&storage, "Else", "one\n", "Bob");
        assert!(storage.watched_changes("Ann", 10).unwrap().is_empty());
        storage.watch("Ann", WatchKind::Page, "Watched").unwrap();
        storage.watch("Ann", WatchKind::Prefix, "Team/").unwrap();
        storage.set_watch_settings("Ann", true, false).unwrap();
        save(&storage, "Mine", "two\n", "Bob");
        let pages: Vec<(String, u64)> = storage
            .watched_changes("Ann", 10)
            .unwrap()
            .into_iter()
            .map(|change| (change.meta.page, change.meta.rev))
            .collect();
        assert_eq!(
            pages,
            [
                ("Mine".to_owned(), 2),
                ("Watched".to_owned(), 1),
                ("Team/X".to_owned(), 1),
                ("Mine".to_owned(), 1),
            ]
        );
        assert!(storage.is_watching("ANN", "Watched").unwrap());
        assert!(!storage.is_watching("Ann", "Team/X").unwrap());
        let watches = storage.watches("Ann").unwrap();
        assert_eq!(watches.len(), 2);
    }
}

#[test]
fn a_watch_is_owed_only_the_changes_made_after_it_however_late_the_queue_is_filled() {
    for storage in each_engine() {
        account(&storage, "Ann", "ann@example.org");
        save(&storage, "P", "one\n", "Bob");
        save(&storage, "Mine", "one\n", "Ann");
        save(&storage, "Mine", "two\n", "Bob");
        storage.watch("Ann", WatchKind::Page, "P").unwrap();
        storage.set_watch_settings("Ann", true, false).unwrap();
        assert_eq!(storage.queue_mail(now()).unwrap(), 0);
        save(&storage, "P", "two\n", "Bob");
        save(&storage, "Mine", "three\n", "Bob");
        // Saving the settings again keeps the edited pages' start.
        storage.set_watch_settings("Ann", true, true).unwrap();
        storage.set_watch_settings("Ann", true, false).unwrap();
        storage.queue_mail(now()).unwrap();
        assert_eq!(
            queued(&storage),
            [row("Ann", "Mine", 3), row("Ann", "P", 2)]
        );
    }
}
