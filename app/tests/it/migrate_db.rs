//! `quire migrate-db`, on the built binary: a copy into a new SQLite file that a wiki then opens
//! with the same pages, and the refusals (a `--to` that names no database, a target that holds a
//! wiki already) that leave the target as it was. The copy itself, and SQLite to PostgreSQL and
//! back, are tested in storage (`tests/it/copy.rs`).

use std::path::Path;

use crate::cli::{init, quire, text};

fn migrate(data: &Path, to: &str) -> (bool, String, String) {
    migrate_from(data, None, to)
}

/// `quire --data DATA [--database FROM] migrate-db --to TO`.
fn migrate_from(data: &Path, from: Option<&str>, to: &str) -> (bool, String, String) {
    let mut args = vec!["--data", data.to_str().unwrap()];
    if let Some(from) = from {
        args.extend(["--database", from]);
    }
    args.extend(["migrate-db", "--quiet", "--to", to]);
    let output = quire(&args, &[("QUIRE_LOG", "warn")]);
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn a_wiki_copied_into_a_new_sqlite_file_has_the_same_pages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wiki");
    init(&data);
    let copy = dir.path().join("copy.sqlite3");
    let (ok, stdout, stderr) = migrate(&data, &format!("sqlite:{}", copy.display()));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("copied the wiki into sqlite:"), "{stdout}");
    assert!(stdout.contains("each read back and checked"), "{stdout}");

    let names = |db: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pages ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let original = names(&data.join("wiki.sqlite3"));
    assert!(!original.is_empty());
    assert_eq!(names(&copy), original);

    // Again into the same file: it holds a wiki now.
    let (ok, _, stderr) = migrate(&data, &format!("sqlite:{}", copy.display()));
    assert!(!ok);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(names(&copy), original);
}

#[test]
fn a_target_that_names_no_database_is_refused_with_the_forms_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wiki");
    init(&data);
    for to in ["mysql://wiki:s3cret@db/wiki", "sqlite:", "wiki.sqlite3"] {
        let (ok, _, stderr) = migrate(&data, to);
        assert!(!ok, "{to}");
        assert!(
            stderr.contains("postgres://USER@HOST/DB") && stderr.contains("sqlite:PATH"),
            "{to}: {stderr}"
        );
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
    // A PostgreSQL URL that cannot be read says so, without trying to connect.
    let (ok, _, stderr) = migrate(&data, "postgres://wiki@db:notaport/wiki");
    assert!(!ok);
    assert!(
        stderr.contains("could not open the PostgreSQL database"),
        "{stderr}"
    );
    assert!(!dir.path().join("wiki.sqlite3").exists());
}

/// The round trip of issue 15 through the command line: a wiki with history and an account, into
/// PostgreSQL, and from there into a new SQLite file, which holds the same pages, revisions,
/// accounts and texts as the first; the session keys went along into PostgreSQL. Run by e2e's
/// `postgres` tests (`on_postgres`).
#[test]
#[ignore = "needs a PostgreSQL server in QUIRE_TEST_DATABASE; e2e runs it"]
fn on_postgres_a_wiki_goes_to_postgresql_and_back_the_same() {
    use storage::{Save, Storage};
    let server = std::env::var("QUIRE_TEST_DATABASE")
        .expect("QUIRE_TEST_DATABASE names the PostgreSQL server to test on");
    let url = storage::testing::postgres_url_in_new_schema(&server).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wiki");
    init(&data);
    {
        let wiki = Storage::open(&data.join("wiki.sqlite3")).unwrap();
        wiki.create_user(&storage::NewUser {
            name: "alice",
            display_name: Some("Alice"),
            email: "alice@example.org",
            role: storage::Role::Admin,
            password: "alice's password",
            invite: None,
            reserved: &[],
        })
        .unwrap();
        for rev in 0..70u64 {
            wiki.save(Save {
                page: "Journal",
                text: &format!("entry {rev}\n").repeat(rev as usize + 1),
                author: "alice",
                comment: "another day",
                base_rev: (rev > 0).then_some(rev),
                time: None,
            })
            .unwrap();
        }
    }
    let (ok, stdout, stderr) = migrate(&data, &url);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("nobody is logged out"), "{stdout}");
    let back = dir.path().join("back.sqlite3");
    let (ok, _, stderr) = migrate_from(&data, Some(&url), &format!("sqlite:{}", back.display()));
    assert!(ok, "{stderr}");

    let (first, on_postgres, last) = (
        Storage::open(&data.join("wiki.sqlite3")).unwrap(),
        Storage::open_postgres(&url, dir.path(), 2).unwrap(),
        Storage::open(&back).unwrap(),
    );
    let everything = |wiki: &Storage| {
        let mut all = Vec::new();
        for page in wiki.page_names().unwrap() {
            for rev in 1..=wiki.revision_count(&page).unwrap() {
                let revision = wiki.revision(&page, rev).unwrap().unwrap();
                all.push((page.clone(), rev, revision.meta.author, revision.text));
            }
        }
        let users: Vec<String> = wiki.users().unwrap().into_iter().map(|u| u.name).collect();
        (all, users)
    };
    let original = everything(&first);
    assert!(original.0.len() > 70, "{}", original.0.len());
    assert_eq!(everything(&on_postgres), original);
    assert_eq!(everything(&last), original);
    // The same keys: a cookie the SQLite wiki sealed opens on the PostgreSQL nodes.
    let same = |text: &str| {
        gateway::session::SessionKeys::parse(text)
            .unwrap()
            .to_file_text()
    };
    let file = std::fs::read_to_string(data.join("session.key")).unwrap();
    let stored = on_postgres
        .shared_secret("session_keys", "not these")
        .unwrap();
    assert_eq!(same(&stored), same(&file));
}
