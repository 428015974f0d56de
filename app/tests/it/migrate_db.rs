//! `quire migrate-db`, on the built binary: a copy into a new SQLite file that a wiki then opens
//! with the same pages, and the refusals (a `--to` that names no database, a target that holds a
//! wiki already) that leave the target as it was. The copy itself, and SQLite to PostgreSQL and
//! back, are tested in storage (`tests/it/copy.rs`).

use std::path::Path;

use crate::cli::{init, quire, text};

fn migrate(data: &Path, to: &str) -> (bool, String, String) {
    let output = quire(
        &[
            "--data",
            data.to_str().unwrap(),
            "migrate-db",
            "--quiet",
            "--to",
            to,
        ],
        &[("QUIRE_LOG", "warn")],
    );
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
