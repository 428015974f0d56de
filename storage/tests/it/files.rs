//! Attachments: blobs (deduplicated, chunked, streamed back), file versions, limits that store
//! nothing partial, file links and the render cache they keep right.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Barrier};

use proptest::prelude::*;
use storage::{
    FileChange, FileContent, FileVersion, NewUpload, RecentQuery, Rename, SaveOutcome, Storage,
    StorageError, WantedFile, CHUNK_SIZE,
};

use crate::support::{each_engine, edit, hit, linked, saved, ticket, TempDb};

const MIB: u64 = 1024 * 1024;

fn upload<'a>(page: &'a str, name: &'a str) -> NewUpload<'a> {
    NewUpload {
        page,
        name,
        media_type: "application/octet-stream",
        width: None,
        height: None,
        uploader: "alice",
        comment: "",
        time: Some(2_000),
        max_bytes: 64 * MIB,
        quota_bytes: None,
    }
}

/// Deterministic, incompressible-looking bytes (xorshift), different per seed.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The content of a version that has one.
fn stored(version: &FileVersion) -> &FileContent {
    version.content.as_ref().unwrap()
}

fn read_all(storage: &Storage, hash: &str) -> Vec<u8> {
    let mut out = Vec::new();
    storage
        .open_blob(hash)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Row counts of the attachment tables, read with plain SQLite, and the integrity check.
fn rows(path: &Path) -> [i64; 3] {
    let conn = rusqlite::Connection::open(path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let fk: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "foreign keys hold");
    ["blobs", "blob_chunks", "file_versions"].map(|table| {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
    })
}

/// The entries of the database's directory: spooled uploads must leave none.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_upload_reads_back_and_the_same_bytes_are_stored_once() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        saved(&storage, edit("Q", "x", None, 1));
        let content = bytes(CHUNK_SIZE * 2 + 17, 1);

        let first = storage
            .upload(&upload("P", "a.bin"), &mut content.as_slice())
            .unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(first.change, FileChange::Upload);
        assert_eq!(stored(&first).size, content.len() as u64);
        let hash = stored(&first).hash.clone();
        assert_eq!(hash.len(), 64);
        assert_eq!(read_all(&storage, &hash), content);

        // The same bytes on another page, under another name: one blob, one set of chunks.
        let second = storage
            .upload(&upload("Q", "b.bin"), &mut content.as_slice())
            .unwrap();
        assert_eq!(stored(&second).hash, hash);
        assert_eq!(storage.blob_row_counts().unwrap(), [1, 3, 2]);
        assert_eq!(storage.used_blob_bytes().unwrap(), content.len() as u64);

        // A known hash: SHA-256 of "abc".
        let abc = storage
            .upload(&upload("P", "abc.txt"), &mut &b"abc"[..])
            .unwrap();
        assert_eq!(
            stored(&abc).hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A 0-byte file is a blob without chunks.
        let empty = storage
            .upload(&upload("P", "empty"), &mut io::empty())
            .unwrap();
        assert_eq!(stored(&empty).size, 0);
        assert!(read_all(&storage, &stored(&empty).hash).is_empty());
        assert!(matches!(
            storage.open_blob("00"),
            Err(StorageError::NoSuchBlob { .. })
        ));
    }
}

#[test]
fn versions_delete_and_restore_lose_nothing() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        let v1 = storage
            .upload(
                &NewUpload {
                    width: Some(10),
                    height: Some(20),
                    media_type: "image/png",
                    ..upload("P", "pic.png")
                },
                &mut &b"one"[..],
            )
            .unwrap();
        let v2 = storage
            .upload(&upload("P", "pic.png"), &mut &b"two"[..])
            .unwrap();
        assert_eq!(v2.version, 2);
        storage
            .upload(&upload("P", "other.txt"), &mut &b"o"[..])
            .unwrap();

        let list = storage.attachments("P").unwrap();
        assert_eq!(
            list.iter()
                .map(|a| (a.current.name.as_str(), a.versions))
                .collect::<Vec<_>>(),
            [("other.txt", 1), ("pic.png", 2)]
        );

        let deleted = storage.delete_file("P", "pic.png", "bob", "gone").unwrap();
        assert_eq!((deleted.version, deleted.change), (3, FileChange::Delete));
        assert_eq!(deleted.content, None);
        assert_eq!(storage.attachments("P").unwrap().len(), 1);
        assert!(matches!(
            storage.delete_file("P", "pic.png", "bob", ""),
            Err(StorageError::NoSuchFile { .. })
        ));
        assert!(matches!(
            storage.restore_file("P", "pic.png", 3, "bob", ""),
            Err(StorageError::NoSuchFileVersion { version: 3, .. })
        ));

        let restored = storage
            .restore_file("P", "pic.png", 1, "carol", "back")
            .unwrap();
        assert_eq!(restored.version, 4);
        assert_eq!(restored.change, FileChange::Restore { from: 1 });
        assert_eq!(restored.content, v1.content);
        assert_eq!(stored(&restored).media_type, "image/png");
        assert_eq!(stored(&restored).width, Some(10));

        let history = storage.file_history("P", "pic.png").unwrap();
        assert_eq!(
            history.iter().map(|v| v.version).collect::<Vec<_>>(),
            [4, 3, 2, 1]
        );
        assert_eq!(
            storage
                .file("P", "pic.png", Some(2))
                .unwrap()
                .unwrap()
                .content,
            v2.content
        );
        assert_eq!(
            storage.file("P", "pic.png", None).unwrap().unwrap().version,
            4
        );
        assert_eq!(storage.file("P", "pic.png", Some(9)).unwrap(), None);
        assert_eq!(storage.file("P", "nope", None).unwrap(), None);

        // The log: every version, oldest first, and recent changes newest first with a cursor.
        let log = storage.file_events_after(0, 100).unwrap();
        assert_eq!(log.len(), 5);
        assert_eq!(storage.last_file_event_id().unwrap(), log[4].id);
        assert_eq!(
            storage.file_events_after(log[2].id, 100).unwrap(),
            &log[3..]
        );
        let recent = storage
            .recent_files(&RecentQuery {
                limit: 2,
                ..RecentQuery::default()
            })
            .unwrap();
        assert_eq!(recent, [log[4].clone(), log[3].clone()]);
        let older = storage
            .recent_files(&RecentQuery {
                limit: 10,
                before: Some(recent[1].id),
                author: Some("alice".to_owned()),
                prefix: Some("P".to_owned()),
            })
            .unwrap();
        assert_eq!(older, [log[2].clone(), log[1].clone(), log[0].clone()]);
        let elsewhere = storage
            .recent_files(&RecentQuery {
                limit: 10,
                prefix: Some("Q".to_owned()),
                ..RecentQuery::default()
            })
            .unwrap();
        assert!(elsewhere.is_empty());
    }
}

#[test]
fn the_page_must_exist_and_files_follow_it() {
    for storage in each_engine() {
        assert!(matches!(
            storage.upload(&upload("Nowhere", "a"), &mut &b"a"[..]),
            Err(StorageError::NoSuchPage { .. })
        ));
        saved(&storage, edit("Old", "x", None, 1));
        storage.upload(&upload("Old", "a"), &mut &b"a"[..]).unwrap();

        storage
            .rename(&Rename {
                from: "Old",
                to: "New",
                author: "alice",
                comment: "",
                with_subpages: false,
            })
            .unwrap();
        assert!(storage.attachments("Old").unwrap().is_empty());
        let files = storage.attachments("New").unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].current.page, "New");

        // A deleted page's files are gone with it, and back with it.
        storage.delete("New", "alice", "").unwrap();
        assert!(storage.attachments("New").unwrap().is_empty());
        assert!(matches!(
            storage.upload(&upload("New", "b"), &mut &b"b"[..]),
            Err(StorageError::NoSuchPage { .. })
        ));
        storage.undelete("New", "alice", "").unwrap();
        assert_eq!(storage.attachments("New").unwrap().len(), 1);
    }
}

/// A reader that yields `good` bytes, then fails.
struct Failing {
    good: Vec<u8>,
    at: usize,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.good.len() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client left",
            ));
        }
        let n = buf.len().min(self.good.len() - self.at).min(1000);
        buf[..n].copy_from_slice(&self.good[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// SQLite only: it looks at the database file's directory (where uploads are spooled) and checks
/// the file's integrity; `storage::files`'s unit tests check the same limits on both engines.
#[test]
fn a_failed_upload_stores_nothing_and_leaves_no_file() {
    let db = TempDb::new();
    let storage = db.open();
    saved(&storage, edit("P", "x", None, 1));
    let before = entries(db.dir.path());
    let content = bytes(CHUNK_SIZE + 5, 2);

    let over_max = storage.upload(
        &NewUpload {
            max_bytes: CHUNK_SIZE as u64,
            ..upload("P", "big")
        },
        &mut content.as_slice(),
    );
    assert!(matches!(
        over_max,
        Err(StorageError::UploadTooLarge { limit }) if limit == CHUNK_SIZE as u64
    ));

    let over_quota = storage.upload(
        &NewUpload {
            quota_bytes: Some(CHUNK_SIZE as u64),
            ..upload("P", "big")
        },
        &mut content.as_slice(),
    );
    assert!(matches!(
        over_quota,
        Err(StorageError::QuotaExceeded { quota }) if quota == CHUNK_SIZE as u64
    ));

    let broken = storage.upload(
        &upload("P", "big"),
        &mut Failing {
            good: content.clone(),
            at: 0,
        },
    );
    match broken {
        Err(StorageError::UploadRead { source }) => {
            assert_eq!(source.kind(), io::ErrorKind::ConnectionReset);
        }
        other => panic!("expected a read error, got {other:?}"),
    }
    assert_eq!(rows(&db.path), [0, 0, 0]);
    assert_eq!(entries(db.dir.path()), before, "no temporary file is left");
    assert_eq!(storage.last_file_event_id().unwrap(), 0);

    // Exactly at the limit and the quota is fine; the same bytes again cost no quota.
    let exact = NewUpload {
        max_bytes: content.len() as u64,
        quota_bytes: Some(content.len() as u64),
        ..upload("P", "big")
    };
    storage.upload(&exact, &mut content.as_slice()).unwrap();
    storage.upload(&exact, &mut content.as_slice()).unwrap();
    assert_eq!(rows(&db.path), [1, 2, 2]);
}

#[test]
fn a_20_mb_upload_reads_back_identical_with_seeks_at_chunk_boundaries() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        let content = bytes(20_000_000, 3);
        let version = storage
            .upload(&upload("P", "big"), &mut content.as_slice())
            .unwrap();
        let hash = stored(&version).hash.clone();
        assert_eq!(read_all(&storage, &hash), content);

        let mut reader = storage.open_blob(&hash).unwrap();
        assert_eq!(reader.len(), content.len() as u64);
        let c = CHUNK_SIZE as u64;
        for at in [
            0,
            c - 1,
            c,
            c + 1,
            2 * c,
            76 * c - 3,
            content.len() as u64 - 1,
        ] {
            reader.seek(SeekFrom::Start(at)).unwrap();
            let mut buf = [0_u8; 10];
            let n = reader.read(&mut buf).unwrap();
            let at = at as usize;
            let want = &content[at..(at + 10).min(content.len())];
            // A read stops at the end of a chunk; read_exact-style callers loop.
            assert_eq!(&buf[..n], &want[..n]);
            assert!(n > 0);
        }
        assert_eq!(reader.seek(SeekFrom::End(0)).unwrap(), content.len() as u64);
        assert_eq!(reader.read(&mut [0; 4]).unwrap(), 0);
        assert!(reader
            .seek(SeekFrom::Current(-(content.len() as i64) - 1))
            .is_err());

        // The reader owns what it needs: it outlives the storage handle and crosses threads.
        let reader = storage.open_blob(&hash).unwrap();
        drop(storage);
        let read = std::thread::spawn(move || {
            let mut reader = reader;
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            out
        })
        .join()
        .unwrap();
        assert!(read == content);
    }
}

/// SQLite only: storages opened on one file, as separate processes do; `storage::files`'s unit
/// test of the same runs on both engines over one storage's pool (several connections on
/// PostgreSQL).
#[test]
fn concurrent_uploads_number_versions_densely() {
    let db = TempDb::new();
    saved(&db.open(), edit("P", "x", None, 1));
    let workers = 6;
    let barrier = Arc::new(Barrier::new(workers));
    let threads: Vec<_> = (0..workers)
        .map(|worker| {
            let barrier = Arc::clone(&barrier);
            let path = db.path.clone();
            std::thread::spawn(move || {
                let storage = Storage::open(&path).unwrap();
                barrier.wait();
                for i in 0..3 {
                    let content = bytes(CHUNK_SIZE / 2 + worker * 10 + i, worker as u64);
                    storage
                        .upload(&upload("P", "shared.bin"), &mut content.as_slice())
                        .unwrap();
                    storage
                        .upload(
                            &upload("P", &format!("own{worker}")),
                            &mut content.as_slice(),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let storage = db.open();
    let history = storage.file_history("P", "shared.bin").unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        (1..=18).rev().collect::<Vec<u64>>()
    );
    assert_eq!(storage.attachments("P").unwrap().len(), workers + 1);
    assert_eq!(rows(&db.path), [18, 18, 36]);
}

#[test]
fn existing_files_answers_for_many_in_one_call() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        storage
            .upload(
                &NewUpload {
                    media_type: "image/png",
                    width: Some(3),
                    height: Some(4),
                    ..upload("P", "a.png")
                },
                &mut &b"png"[..],
            )
            .unwrap();
        storage
            .upload(&upload("P", "gone"), &mut &b"g"[..])
            .unwrap();
        storage.delete_file("P", "gone", "alice", "").unwrap();

        let key = |p: &str, n: &str| (p.to_owned(), n.to_owned());
        let mut asked = vec![key("P", "a.png"), key("P", "gone"), key("Q", "a.png")];
        asked.extend((0..2500).map(|i| key("P", &format!("no{i}"))));
        asked.push(key("P", "a.png"));
        let found = storage.existing_files(&asked).unwrap();
        assert_eq!(found.len(), 1);
        let facts = &found[&key("P", "a.png")];
        assert_eq!(
            (
                facts.content.media_type.as_str(),
                facts.content.width,
                facts.content.height,
                facts.content.size,
                facts.version
            ),
            ("image/png", Some(3), Some(4), 3, 1)
        );
        assert!(storage.existing_files(&[]).unwrap().is_empty());
    }
}

#[test]
fn thumbnails_are_stored_once() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        let hash = storage
            .upload(&upload("P", "a.png"), &mut &b"png"[..])
            .unwrap()
            .content
            .unwrap()
            .hash;
        assert_eq!(storage.thumbnail(&hash).unwrap(), None);
        storage
            .store_thumbnail(&hash, "image/webp", 2, 1, b"thumb")
            .unwrap();
        storage
            .store_thumbnail(&hash, "image/webp", 2, 1, b"other")
            .unwrap();
        let thumb = storage.thumbnail(&hash).unwrap().unwrap();
        assert_eq!(
            (
                thumb.media_type.as_str(),
                thumb.width,
                thumb.height,
                &thumb.bytes[..]
            ),
            ("image/webp", 2, 1, &b"thumb"[..])
        );
        assert!(matches!(
            storage.store_thumbnail("ff", "image/webp", 1, 1, b""),
            Err(StorageError::NoSuchBlob { .. })
        ));
    }
}

/// Saves `text` to `page` with its page links and file links, as the wiki does.
fn linked_files(storage: &Storage, page: &str, files: &[(&str, &str)]) -> u64 {
    let base = storage.current(page).unwrap().map(|r| r.meta.rev);
    match storage
        .save_with_links_and_files(edit(page, &format!("{files:?}"), base, 1_000), &[], files)
        .unwrap()
    {
        SaveOutcome::Saved { rev } => rev,
        other => panic!("expected a new revision, got {other:?}"),
    }
}

#[test]
fn file_links_give_backlinks_and_wanted_files() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        linked_files(&storage, "A", &[("P", "a.png"), ("P", "b.pdf")]);
        linked_files(&storage, "B", &[("P", "a.png"), ("Gone", "x")]);
        linked_files(&storage, "P", &[("P", "a.png")]);
        let wanted = |page: &str, name: &str, links| WantedFile {
            page: page.to_owned(),
            name: name.to_owned(),
            links,
        };
        assert_eq!(
            storage.wanted_files().unwrap(),
            [
                wanted("P", "a.png", 3),
                wanted("Gone", "x", 1),
                wanted("P", "b.pdf", 1)
            ]
        );
        storage
            .upload(&upload("P", "a.png"), &mut &b"a"[..])
            .unwrap();
        assert_eq!(
            storage.wanted_files().unwrap(),
            [wanted("Gone", "x", 1), wanted("P", "b.pdf", 1)]
        );
        assert_eq!(
            storage.file_backlinks("P", "a.png").unwrap(),
            ["A", "B", "P"]
        );
        storage.delete_file("P", "a.png", "alice", "").unwrap();
        assert_eq!(storage.wanted_files().unwrap()[0], wanted("P", "a.png", 3));

        // A new revision replaces its file links; set_links_and_files fills them in later.
        let rev = linked(&storage, "A", "no files", &[]);
        assert_eq!(storage.file_backlinks("P", "a.png").unwrap(), ["B", "P"]);
        assert!(storage
            .set_links_and_files("A", rev, &[], &[("P", "a.png")])
            .unwrap());
        assert_eq!(
            storage.file_backlinks("P", "a.png").unwrap(),
            ["A", "B", "P"]
        );
    }
}

#[test]
fn a_file_appearing_going_or_changing_drops_the_html_of_pages_linking_it() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        let linker = linked_files(&storage, "Linker", &[("P", "a.png")]);
        let bystander = linked_files(&storage, "Bystander", &[("P", "other.png")]);
        let pages = [("Linker", linker), ("Bystander", bystander)];
        let cache = |storage: &Storage| {
            for (page, rev) in pages {
                if hit(storage, page, rev, "v").is_none() {
                    let t = ticket(storage, page, rev, "v");
                    assert!(storage.store_html(&t, "v", "html").unwrap());
                }
            }
        };
        let cached =
            |storage: &Storage| pages.map(|(page, rev)| hit(storage, page, rev, "v").is_some());

        cache(&storage);
        assert_eq!(cached(&storage), [true, true]);
        // A render that started before the upload must not be stored after it.
        let stale = ticket(&storage, "Linker", linker, "w");
        storage
            .upload(&upload("P", "a.png"), &mut &b"a"[..])
            .unwrap();
        assert!(!storage.store_html(&stale, "w", "stale").unwrap());
        assert_eq!(cached(&storage), [false, true]);

        for change in ["new version", "delete", "restore"] {
            cache(&storage);
            match change {
                "new version" => drop(
                    storage
                        .upload(&upload("P", "a.png"), &mut &b"b"[..])
                        .unwrap(),
                ),
                "delete" => drop(storage.delete_file("P", "a.png", "alice", "").unwrap()),
                _ => drop(storage.restore_file("P", "a.png", 1, "alice", "").unwrap()),
            }
            assert_eq!(cached(&storage), [false, true], "after {change}");
        }

        // Renaming or deleting the page moves or takes all its files: every linker renders again.
        cache(&storage);
        storage
            .rename(&Rename {
                from: "P",
                to: "P2",
                author: "alice",
                comment: "",
                with_subpages: false,
            })
            .unwrap();
        assert_eq!(cached(&storage), [false, false]);
        let moved = linked_files(&storage, "Follower", &[("P2", "a.png")]);
        let t = ticket(&storage, "Follower", moved, "v");
        assert!(storage.store_html(&t, "v", "html").unwrap());
        storage.delete("P2", "alice", "").unwrap();
        assert_eq!(hit(&storage, "Follower", moved, "v"), None);
    }
}

/// SQLite only: it takes a database file back to an older schema.
#[test]
fn an_upgraded_database_asks_for_its_links_again() {
    let db = TempDb::new();
    let storage = db.open();
    let rev = linked(&storage, "P", "[x](attachment:a.png)", &[]);
    let t = ticket(&storage, "P", rev, "v");
    assert!(storage.store_html(&t, "v", "html").unwrap());
    assert!(storage.pages_missing_links(10).unwrap().is_empty());
    drop(storage);
    // Back to schema 13, as the build before attachments left it.
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER count_new_watches; DROP TRIGGER count_removed_watches;
         DROP TABLE watches; DROP TABLE watch_settings; DROP TABLE outbox;
         DROP TABLE outbox_cursor;
         DROP TABLE thumbnails; DROP TABLE file_links; DROP TABLE file_versions;
         DROP TABLE blob_chunks; DROP TABLE blobs; DROP TABLE revision_originals;
         DROP TABLE revision_groups; DROP TABLE group_scan; DROP TABLE api_tokens; DROP TABLE secrets;
         DROP TRIGGER count_revisions; DROP TRIGGER count_new_pages;
         DROP TRIGGER count_changed_pages; DROP TRIGGER count_removed_pages;
         DROP TRIGGER count_new_redirects; DROP TRIGGER count_changed_redirects;
         DROP TRIGGER count_removed_redirects; DROP TABLE change_counter;
         DROP TRIGGER link_names_link_added; DROP TRIGGER link_names_link_removed;
         DROP TRIGGER link_names_page_added; DROP TRIGGER link_names_page_changed;
         DROP TRIGGER link_names_page_removed; DROP TABLE link_names;
         DROP TRIGGER backlinks_link_added; DROP TRIGGER backlinks_link_removed;
         DROP TRIGGER backlinks_page_added; DROP TRIGGER backlinks_page_changed;
         DROP TRIGGER backlinks_page_removed; DROP TABLE backlinks;
         DROP TRIGGER pages_last_change; DROP INDEX pages_listed_by_name;
         DROP INDEX pages_by_last_change; DROP INDEX pages_by_first_segment;
         DROP TABLE drafts;
         ALTER TABLE pages DROP COLUMN last_change;
         PRAGMA user_version = 13;",
    )
    .unwrap();
    drop(conn);

    // Its texts were read without file links: the app is asked for them, and the old HTML is gone.
    let storage = db.open();
    assert_eq!(storage.pages_missing_links(10).unwrap().len(), 1);
    assert_eq!(hit(&storage, "P", rev, "v"), None);
    assert!(storage
        .set_links_and_files("P", rev, &[], &[("P", "a.png")])
        .unwrap());
    assert!(storage.pages_missing_links(10).unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of seeks and reads gives the original bytes at the reader's position.
    #[test]
    fn blob_reader_seek_and_read_match_the_bytes(
        len in 0_usize..(3 * CHUNK_SIZE + 100),
        seed in any::<u64>(),
        ops in proptest::collection::vec((0_u8..3, any::<u32>(), 1_usize..70_000), 1..20),
    ) {
        for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        let content = bytes(len, seed);
        let hash = storage
            .upload(&upload("P", "f"), &mut content.as_slice())
            .unwrap()
            .content
            .unwrap()
            .hash;
        let mut reader = storage.open_blob(&hash).unwrap();
        let mut pos: u64 = 0;
        for &(how, at, want) in &ops {
            let span = len as u64 + 10;
            pos = match how {
                0 => reader.seek(SeekFrom::Start(u64::from(at) % span)).unwrap(),
                1 => reader.seek(SeekFrom::End(-(i64::from(at) % (len as i64 + 1)))).unwrap(),
                _ => pos,
            };
            let mut buf = vec![0_u8; want];
            let mut got = 0;
            loop {
                let n = reader.read(&mut buf[got..]).unwrap();
                if n == 0 { break; }
                got += n;
                if got == want { break; }
            }
            let start = (pos as usize).min(len);
            let end = (start + want).min(len);
            prop_assert_eq!(&buf[..got], &content[start..end]);
            pos += got as u64;
            prop_assert_eq!(reader.stream_position().unwrap(), pos);
        }
        }
    }
}
