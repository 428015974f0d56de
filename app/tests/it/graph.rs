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
fn wanted_pages_come_a_page_at_a_time_by_name_with_their_counts() {
    let data = TempDir::new().unwrap();
    {
        let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
        let links: String = (0..250).map(|i| format!("[[Missing{i:03}]] ")).collect();
        plain_save(&storage, "Wanting", &links);
        plain_save(&storage, "AlsoWanting", "[[Missing249]]");
    }
    let client = app(data.path());
    let first = client.get("/+wanted").text();
    assert!(first.contains("/+edit/Missing000"), "{first}");
    assert!(first.contains("/+edit/Missing199"), "{first}");
    assert!(!first.contains("/+edit/Missing200"), "{first}");
    assert!(first.contains("Wanted files"), "{first}");
    let next = first
        .split("href=\"")
        .map(|rest| rest.split('"').next().unwrap_or(""))
        .find(|href| href.starts_with("/+wanted?after="))
        .expect("a link to the next page")
        .replace("&amp;", "&");
    let second = client.get(&next).text();
    assert!(second.contains("/+edit/Missing200"), "{second}");
    assert!(!second.contains("/+edit/Missing199"), "{second}");
    assert!(second.contains("linked from 2 pages"), "{second}");
    assert!(!second.contains("rel=\"next\""), "{second}");
    assert!(!second.contains("Wanted files"), "{second}");
}

#[test]
fn backlinks_come_a_page_at_a_time_by_name_until_every_one_is_listed() {
    let data = TempDir::new().unwrap();
    {
        let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
        plain_save(&storage, "Target", "Linked to.");
        for i in 0..450 {
            plain_save(&storage, &format!("Linker{i:03}"), "See [[Target]].");
        }
    }
    let client = app(data.path());
    let view = client.get("/Target").text();
    assert!(view.contains(">Linker049</a>"), "{view}");
    assert!(!view.contains(">Linker050</a>"), "{view}");
    assert!(view.contains("href=\"/+backlinks/Target\""), "{view}");
    let mut listed: Vec<String> = Vec::new();
    let mut pages = 0;
    let mut next = Some("/+backlinks/Target".to_owned());
    while let Some(target) = next {
        let html = client.get(&target).text();
        pages += 1;
        assert!(pages <= 3, "{target}: {html}");
        listed.extend(
            html.split(">Linker")
                .skip(1)
                .filter_map(|rest| rest.split('<').next())
                .map(|number| format!("Linker{number}")),
        );
        // The pager's link (the theme picker's links carry the cursor too).
        next = html.split_once("\" rel=\"next\"").map(|(before, _)| {
            let href = before.rsplit("href=\"").next().unwrap_or_default();
            href.replace("&amp;", "&")
        });
    }
    let expected: Vec<String> = (0..450).map(|i| format!("Linker{i:03}")).collect();
    assert_eq!(listed, expected);
    assert_eq!(pages, 3);
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

#[test]
fn a_stored_page_over_a_render_bound_is_shown_as_escaped_text() {
    let data = TempDir::new().unwrap();
    // 62 000 table cells once padded: over a render bound. Saves through the wiki refuse it, but a page
    // saved before the bounds existed, or by an import tool, may hold it.
    let text = format!(
        "<b>bold</b>\n\n{}\n{}\n{}",
        "|a".repeat(2000),
        "|-".repeat(2000),
        "|x\n".repeat(30)
    );
    {
        let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
        plain_save(&storage, "Huge", &text);
    }
    let client = app(data.path());
    // Rendered, then from the render cache.
    for _ in 0..2 {
        let response = client.get("/Huge");
        assert_eq!(response.status, http::StatusCode::OK);
        let html = response.text();
        assert!(html.contains("too large to display formatted"), "{html}");
        assert!(html.contains("more than 20000 table cells"), "{html}");
        assert!(
            html.contains("&lt;b&gt;bold&lt;/b&gt;"),
            "the text is shown escaped"
        );
        assert!(html.contains(&"|a".repeat(2000)), "the whole text is shown");
    }
    assert_eq!(client.get("/+raw/Huge").text(), text);
}
