//! Page views in process: what a long-running quire (`serve`, FastCGI, SCGI) spends on one view of the
//! 10 KB `BenchPage` (the page of the e2e gateway bench and `scripts/bench-cgi.sh`), through the whole
//! middleware stack and the in-process client, no socket.
//!
//! ```sh
//! cargo bench -p app --bench views
//! ```
//!
//! The views, each a GET answered 200:
//! - `raw`: `/+raw/BenchPage`, the same stack and storage read without rendering: the baseline the
//!   others are read against (BENCHMARKS.md gives each as a ratio to it, measured in the same run);
//! - `view`: `/BenchPage` as configured by default: the response cache answers it, a kept view;
//! - `view_drawn`: `/BenchPage` with the response cache off (`response_cache_bytes = 0`): every view
//!   is drawn, its HTML from storage's render cache;
//! - `view_no_render_cache`: `/BenchPage` with both caches off (`render_cache = false` too): every
//!   view renders;
//! - `old_revision`: `/BenchPage?rev=1`, a revision that is no longer current, which the render
//!   cache never holds, so every view renders it.
#![expect(
    missing_docs,
    reason = "criterion_group! defines a public function and gives it no doc"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::testing::{TestClient, TestRequest};
use gateway::App;
use quire::cli::GlobalOptions;
use quire::commands::Setup;
use quire::config::ListenFlags;
use storage::Save;
use tempfile::TempDir;

/// 45 sections of a heading, a paragraph with two wiki links and a list with one external link, cut
/// at 10 240 bytes: the page `scripts/bench-cgi.sh` and the e2e bench save.
fn bench_page() -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 10_000 {
        i += 1;
        text.push_str(&format!(
            "## Section {i}\n\nThe team agreed on item {i}; see [[FrontPage]] and [[Help/Editing]]. \
             Notes are *kept* here so **everyone** can find them later, with `code` too.\n\n\
             - point {i}.a\n- point {i}.b with a [link](https://example.org/{i})\n\n"
        ));
    }
    text.truncate(10_240);
    text
}

/// A wiki in a temp dir with `settings` as its `quire.toml` and two revisions of `BenchPage`
/// (the second one current), served as `quire serve` serves it.
fn wiki(settings: &str) -> (TestClient<Arc<dyn App>>, TempDir) {
    let data = TempDir::new().expect("a temp dir");
    std::fs::write(data.path().join("quire.toml"), settings).expect("writing quire.toml");
    let global = GlobalOptions {
        data: Some(data.path().to_path_buf()),
        ..GlobalOptions::default()
    };
    let setup = Setup::new(&global, ListenFlags::default()).expect("the settings");
    let storage = setup.data.open_storage().expect("the database");
    let text = bench_page();
    for (rev, text) in [(None, format!("{text}\nfirst\n")), (Some(1), text)] {
        let links = markup::wiki_links(&text, "BenchPage");
        let links: Vec<&str> = links.iter().map(String::as_str).collect();
        let save = Save {
            page: "BenchPage",
            text: &text,
            author: "bench",
            comment: "",
            base_rev: rev,
            time: None,
        };
        storage.save_with_links(save, &links).expect("a save");
    }
    drop(storage);
    let app = setup.app().expect("the app");
    (
        TestClient::new(app).with_config(setup.gateway_config()),
        data,
    )
}

fn view(client: &TestClient<Arc<dyn App>>, target: &str) -> usize {
    let response = client.send(TestRequest::get(target));
    assert_eq!(response.status, 200, "{target}");
    response.body.len()
}

fn bench_views(c: &mut Criterion) {
    let (cached, _cached_data) = wiki("");
    let (drawn, _drawn_data) = wiki("response_cache_bytes = 0\n");
    let (uncached, _uncached_data) = wiki("render_cache = false\nresponse_cache_bytes = 0\n");
    for (client, target) in [
        (&cached, "/BenchPage"),
        (&drawn, "/BenchPage"),
        (&cached, "/BenchPage?rev=1"),
        (&uncached, "/BenchPage"),
    ] {
        let body =
            String::from_utf8_lossy(&client.send(TestRequest::get(target)).body).into_owned();
        assert!(body.contains("Help/Editing\">"), "{target} did not render");
    }
    let mut group = c.benchmark_group("views");
    group.bench_function("raw", |b| {
        b.iter(|| view(&cached, black_box("/+raw/BenchPage")))
    });
    group.bench_function("view", |b| {
        b.iter(|| view(&cached, black_box("/BenchPage")))
    });
    group.bench_function("view_drawn", |b| {
        b.iter(|| view(&drawn, black_box("/BenchPage")))
    });
    group.bench_function("view_no_render_cache", |b| {
        b.iter(|| view(&uncached, black_box("/BenchPage")))
    });
    group.bench_function("old_revision", |b| {
        b.iter(|| view(&cached, black_box("/BenchPage?rev=1")))
    });
    group.finish();
}

criterion_group!(benches, bench_views);
criterion_main!(benches);
