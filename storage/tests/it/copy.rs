//! Copying a whole wiki into another, empty database (`quire migrate-db`, and the backup of a
//! PostgreSQL wiki): SQLite to SQLite always, and SQLite to PostgreSQL and back when
//! `QUIRE_TEST_DATABASE` names a server. The copier reads every table back and compares counts and
//! digests itself; these tests also read the copy through storage's own operations.

use std::io::Read;

use storage::{NewUpload, Storage, StorageError, CHUNK_SIZE};

use crate::support::{create_user, edit, TempDb, TEST_DATABASE};

/// Revisions of the long page: past two keyframes, so deltas and keyframes are both copied.
const LONG: u64 = 140;

/// A file's bytes: three chunks, the last one short.
fn file_bytes() -> Vec<u8> {
    (0..CHUNK_SIZE * 2 + 1000)
        .map(|i| (i % 251) as u8)
        .collect()
}

/// A wiki with several pages, a long history, accounts, ACL lines, links and a file.
fn a_wiki(storage: &Storage) {
    let mut base = None;
    for rev in 1..=LONG {
        let text = format!(
            "# Long\n\nline one\nline {rev}\n[[Short]] and more {}\n",
            rev % 7
        );
        storage
            .save(edit("Long", &text, base, 1_000 + rev as i64))
            .unwrap();
        base = Some(rev);
    }
    storage
        .save(edit("Short", "#acl alice:read,write\nshort", None, 5_000))
        .unwrap();
    storage
        .save(edit("Other/Child", "a child [[Long]]", None, 5_001))
        .unwrap();
    storage.set_links("Other/Child", 1, &["Long"]).unwrap();
    storage.set_links("Long", LONG, &["Short"]).unwrap();
    create_user(storage, "alice");
    create_user(storage, "bob");
    let upto = storage.last_revision_id().unwrap();
    let short_id = upto - 1;
    storage
        .record_acl_scan(upto, &[(short_id, "alice:read,write")])
        .unwrap();
    storage
        .upload(
            &NewUpload {
                page: "Short",
                name: "data.bin",
                media_type: "application/octet-stream",
                width: None,
                height: None,
                uploader: "alice",
                comment: "three chunks",
                time: Some(6_000),
                max_bytes: 64 << 20,
                quota_bytes: None,
            },
            &mut file_bytes().as_slice(),
        )
        .unwrap();
}

/// Every page with every revision's text, the accounts and the file's bytes.
type Contents = (Vec<(String, Vec<String>)>, Vec<String>, Vec<u8>);

/// The wiki's [`Contents`], as storage reads them.
fn contents(storage: &Storage) -> Contents {
    let mut pages = Vec::new();
    for name in storage.page_names().unwrap() {
        let count = storage.revision_count(&name).unwrap();
        let texts = (1..=count)
            .map(|rev| storage.revision(&name, rev).unwrap().unwrap().text)
            .collect();
        pages.push((name, texts));
    }
    let users = storage
        .users()
        .unwrap()
        .into_iter()
        .map(|user| format!("{user:?}"))
        .collect();
    let file = storage.file("Short", "data.bin", None).unwrap().unwrap();
    let mut bytes = Vec::new();
    storage
        .open_blob(&file.content.unwrap().hash)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    (pages, users, bytes)
}

#[test]
fn a_wiki_copied_into_an_empty_sqlite_database_reads_the_same() {
    let source = Storage::open_in_memory().unwrap();
    a_wiki(&source);
    source
        .shared_secret("session-keys", "the source's")
        .unwrap();
    let db = TempDb::new();
    let target = db.open();
    // A node opened the new database first and made a key of its own: the source's replaces it.
    target
        .shared_secret("session-keys", "the target's")
        .unwrap();
    let mut last = None;
    let report = source
        .copy_into(&target, |progress| last = Some(progress))
        .unwrap();
    let last = last.unwrap();
    assert!(last.checking, "the copy is read back last");
    assert_eq!(last.rows, last.total);
    assert_eq!(report.rows(), last.total);
    let revisions = report
        .tables
        .iter()
        .find(|(table, _)| *table == "revisions")
        .unwrap()
        .1;
    assert_eq!(revisions, LONG + 2);

    let (pages, users, bytes) = contents(&target);
    assert_eq!((pages.clone(), users.clone()), {
        let (pages, users, _) = contents(&source);
        (pages, users)
    });
    assert_eq!(pages[0].1.len() as u64, LONG);
    assert_eq!(users.len(), 2);
    assert_eq!(bytes, file_bytes());
    assert_eq!(
        target.acl_scan_mark().unwrap(),
        source.acl_scan_mark().unwrap()
    );
    assert_eq!(target.backlinks("Long").unwrap(), vec!["Other/Child"]);
    assert_eq!(
        target.shared_secret("session-keys", "unused").unwrap(),
        "the source's"
    );
    assert!(target.verify().unwrap().is_empty());

    // The copy goes on as the source would: the next save and the next account get new ids.
    target
        .save(edit("Long", "after the copy", Some(LONG), 9_000))
        .unwrap();
    create_user(&target, "carol");
    assert_eq!(target.revision_count("Long").unwrap(), LONG + 1);
}

#[test]
fn a_database_with_a_wiki_in_it_is_not_copied_into() {
    let source = Storage::open_in_memory().unwrap();
    a_wiki(&source);
    let target = Storage::open_in_memory().unwrap();
    target.save(edit("Mine", "already here", None, 1)).unwrap();
    let refused = source.copy_into(&target, |_| {});
    assert!(
        matches!(&refused, Err(StorageError::TargetNotEmpty { table, rows: 1 }) if table == "pages"),
        "{refused:?}"
    );
    assert_eq!(target.page_names().unwrap(), vec!["Mine"]);
}

#[test]
fn databases_whose_tables_differ_are_not_copied_between() {
    let source = Storage::open_in_memory().unwrap();
    a_wiki(&source);
    let db = TempDb::new();
    drop(db.open());
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .execute_batch("ALTER TABLE pages ADD COLUMN colour TEXT")
        .unwrap();
    let refused = source.copy_into(&db.open(), |_| {});
    let Err(StorageError::SchemasDiffer { difference }) = refused else {
        panic!("{refused:?}");
    };
    assert!(
        difference.contains("only in the target: [pages.colour]"),
        "{difference}"
    );
}

/// SQLite to PostgreSQL and back gives the same pages, revisions, accounts, texts and file; the
/// revisions table digests the same in all three (the body bytes are the same, text in SQLite and
/// BYTEA in PostgreSQL).
#[test]
fn a_wiki_goes_to_postgresql_and_back_unchanged() {
    let Ok(url) = std::env::var(TEST_DATABASE) else {
        return;
    };
    let source = Storage::open_in_memory().unwrap();
    a_wiki(&source);
    let postgres = Storage::open_postgres_for_tests(&url).unwrap();
    let there = source.copy_into(&postgres, |_| {}).unwrap();
    let db = TempDb::new();
    let back = db.open();
    let again = postgres.copy_into(&back, |_| {}).unwrap();
    assert_eq!(there, again);
    assert_eq!(contents(&postgres), contents(&source));
    assert_eq!(contents(&back), contents(&source));
    assert!(back.verify().unwrap().is_empty());

    // PostgreSQL's identity sequences were moved past the copied ids: a new account is not a
    // duplicate key.
    create_user(&postgres, "carol");
    assert!(matches!(
        source.copy_into(&postgres, |_| {}),
        Err(StorageError::TargetNotEmpty { .. })
    ));
}

/// A wiki on PostgreSQL is backed up into one SQLite file (a copy of every table), which passes
/// the check a restore makes and holds the same wiki. The wiki is put on PostgreSQL by a copy, so
/// that the test needs nothing else of storage to run there.
#[test]
fn a_postgresql_wiki_is_backed_up_into_one_sqlite_file() {
    let Ok(url) = std::env::var(TEST_DATABASE) else {
        return;
    };
    let source = Storage::open_in_memory().unwrap();
    a_wiki(&source);
    let postgres = Storage::open_postgres_for_tests(&url).unwrap();
    source.copy_into(&postgres, |_| {}).unwrap();
    let key = postgres
        .shared_secret("session-keys", "the nodes' key")
        .unwrap();
    let db = TempDb::new();
    std::fs::write(&db.path, "an older file, replaced").unwrap();
    let mut steps = 0;
    let stats = postgres
        .backup_with_progress(&db.path, |step| {
            steps += 1;
            assert!(step.copied <= step.total);
        })
        .unwrap();
    assert!(steps > 0);
    assert!(stats.db_pages > 0);
    assert!(!db.dir.path().join("wiki.db-wal").exists(), "one file");
    let facts = storage::verify_copy(&db.path).unwrap();
    assert_eq!(facts.pages, 3);
    assert_eq!(facts.revisions, LONG + 2);
    assert_eq!(facts.files, 1);
    assert_eq!(contents(&db.open()), contents(&source));
    // The session key is left out, as from every backup, and not even in the file's free pages.
    let bytes = std::fs::read(&db.path).unwrap();
    assert!(!bytes.windows(key.len()).any(|w| w == key.as_bytes()));
}

/// The time a copy of a mid-sized wiki takes (pages from `QUIRE_COPY_PAGES`, 10 000 by default,
/// three revisions of about 2 KB each, links between them, and a 3-chunk file on every 100th),
/// SQLite to SQLite, and SQLite to PostgreSQL when `QUIRE_TEST_DATABASE` is set. A measurement,
/// not a test: `cargo test --release -p storage --test it -- --ignored --nocapture copy_timing`.
#[test]
#[ignore = "a measurement; run by hand in release"]
fn copy_timing() {
    use std::time::Instant;
    let pages: usize = std::env::var("QUIRE_COPY_PAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let source_db = TempDb::new();
    let source = Storage::open_with(
        &source_db.path,
        &storage::Options::default().durability(storage::Durability::Bulk),
    )
    .unwrap();
    let started = Instant::now();
    let paragraph = "Some words of a page that a team keeps, with a [[link]] or two. ".repeat(30);
    for page in 0..pages {
        let name = format!("Team{}/Page{page}", page % 20);
        let next = format!("Team{}/Page{}", (page + 1) % 20, page + 1);
        for rev in 1..=3u64 {
            let text = format!("# {name}\n\n{paragraph}\nSee [[{next}]], version {rev}.\n");
            let base = (rev > 1).then_some(rev - 1);
            source
                .save(edit(&name, &text, base, (page * 3) as i64 + rev as i64))
                .unwrap();
        }
        source.set_links(&name, 3, &[next.as_str()]).unwrap();
        if page % 100 == 0 {
            source
                .upload(
                    &NewUpload {
                        page: &name,
                        name: "data.bin",
                        media_type: "application/octet-stream",
                        width: None,
                        height: None,
                        uploader: "alice",
                        comment: "",
                        time: Some(1),
                        max_bytes: 64 << 20,
                        quota_bytes: None,
                    },
                    &mut file_bytes()
                        .into_iter()
                        .chain(page.to_le_bytes())
                        .collect::<Vec<u8>>()
                        .as_slice(),
                )
                .unwrap();
        }
    }
    source.sync().unwrap();
    let size = std::fs::metadata(&source_db.path).unwrap().len();
    eprintln!(
        "built {pages} pages in {:.1} s, {:.1} MB",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    let target_db = TempDb::new();
    let target = target_db.open();
    let started = Instant::now();
    let report = source.copy_into(&target, |_| {}).unwrap();
    eprintln!(
        "SQLite -> SQLite: {} rows in {:.1} s",
        report.rows(),
        started.elapsed().as_secs_f64()
    );
    if let Ok(url) = std::env::var(TEST_DATABASE) {
        let postgres = Storage::open_postgres_for_tests(&url).unwrap();
        let started = Instant::now();
        let mut tables: Vec<(&str, bool, Instant)> = Vec::new();
        let report = source
            .copy_into(&postgres, |step| {
                if tables.last().is_none_or(|(table, checking, _)| {
                    *table != step.table || *checking != step.checking
                }) {
                    tables.push((step.table, step.checking, Instant::now()));
                }
            })
            .unwrap();
        for pair in tables.windows(2) {
            let took = pair[1].2 - pair[0].2;
            if took.as_secs_f64() > 0.5 {
                eprintln!("  {} {}: {:.1} s", pair[0].0, pair[0].1, took.as_secs_f64());
            }
        }
        eprintln!(
            "SQLite -> PostgreSQL: {} rows in {:.1} s",
            report.rows(),
            started.elapsed().as_secs_f64()
        );
        let back_db = TempDb::new();
        let back = back_db.open();
        let started = Instant::now();
        let report = postgres.copy_into(&back, |_| {}).unwrap();
        eprintln!(
            "PostgreSQL -> SQLite: {} rows in {:.1} s",
            report.rows(),
            started.elapsed().as_secs_f64()
        );
    }
}
