//! `/+healthz` tells a monitor the truth: 503 once the database cannot be read.

use http::StatusCode;

use crate::drivers::InProcess;
use crate::suite::Gateway;

#[test]
fn healthz_is_503_when_the_database_is_unusable() {
    let wiki = InProcess::start();
    assert_eq!(wiki.get("/+healthz").status, StatusCode::OK);
    let database = wiki.data_dir().join("wiki.sqlite3");
    assert!(database.exists());
    // Another program broke the schema under the running wiki: every query for revisions fails.
    let other = rusqlite::Connection::open(&database).unwrap();
    other
        .execute_batch("ALTER TABLE revisions RENAME TO broken_revisions")
        .unwrap();
    drop(other);
    let health = wiki.get("/+healthz");
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        health.text()
    );
    let body: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(body["database"], "unavailable", "{body}");
    assert!(!health.text().contains("sqlite"), "{}", health.text());
}
