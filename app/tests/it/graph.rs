//! The link graph and the render cache seen from the wiki: links filled in for pages saved before the
//! graph existed, and page views kept in (or out of) the database's render cache.

use std::path::Path;
use std::sync::Arc;

use gateway::testing::TestClient;
use gateway::App;
use quire::cli::GlobalOptions;
use quire::commands::Setup;
use quire::config::ListenFlags;
use storage::{Save, Storage};
use tempfile::TempDir;

fn app(data: &Path) -> TestClient<Arc<dyn App>> {
    let global = GlobalOptions {
        data: Some(data.to_path_buf()),
        ..GlobalOptions::default()
    };
    let setup = Setup::new(&global, ListenFlags::default()).unwrap();
    TestClient::new(setup.app().unwrap()).with_config(setup.gateway_config())
}

fn plain_save(storage: &Storage, page: &str, text: &str) {
    storage
        .save(Save {
            page,
            text,
            author: "import",
            comment: "",
            base_rev: None,
            time: None,
        })
        .unwrap();
}

#[test]
fn pages_saved_without_links_get_them_when_the_wiki_opens() {
    let data = TempDir::new().unwrap();
    {
        // As a database from before the link graph, or an import tool, leaves it.
        let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
        plain_save(&storage, "Imported", "See [[Target]] and [[Nowhere]].");
        plain_save(&storage, "Target", "Here.");
        assert_eq!(storage.pages_missing_links(10).unwrap().len(), 2);
    }
    let client = app(data.path());
    let target = client.get("/Target").text();
    assert!(target.contains("What links here"), "{target}");
    assert!(target.contains("href=\"/Imported\""), "{target}");
    assert!(client.get("/+wanted").text().contains("/+edit/Nowhere"));

    let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
    assert!(storage.pages_missing_links(10).unwrap().is_empty());
}

#[test]
fn page_views_fill_the_render_cache_unless_it_is_off() {
    for (setting, expected) in [("", 1), ("render_cache = false\n", 0)] {
        let data = TempDir::new().unwrap();
        std::fs::write(data.path().join("quire.toml"), setting).unwrap();
        let client = app(data.path());
        let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
        let before = storage.cached_html_count().unwrap();
        assert_eq!(before, 0, "{setting:?}");

        let first = client.get("/Help").text();
        let second = client.get("/Help").text();
        assert_eq!(first, second);
        assert_eq!(
            storage.cached_html_count().unwrap(),
            expected,
            "{setting:?}"
        );
        // Asking for the current revision by number is the same entry.
        client.get("/Help?rev=1");
        assert_eq!(
            storage.cached_html_count().unwrap(),
            expected,
            "{setting:?}"
        );
    }
}
