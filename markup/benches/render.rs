//! Throughput of `markup::render` on typical and hostile-shaped pages.
//!
//! Run with `cargo bench -p markup`; criterion reports MB/s (`Throughput::Bytes` of the Markdown input).
//! The pages:
//! - `wiki_10k`: a 10 KB page of headings, paragraphs, lists, inline code, ~100 wiki links to two pages and
//!   ~50 external links, the shape of a typical team page;
//! - `wiki_1m`: the same pattern at 1 MB, to show rendering stays linear;
//! - `raw_html_10k`: a 10 KB page that is mostly the author's own HTML, which all goes through the sanitizer.
//!
//! markup keeps nothing between renders, so every iteration is a whole render; each still renders a page
//! not seen before (a numbered line is appended), as the figures in BENCHMARKS.md from before issue 20,
//! when markup had an in-process memo, were measured.
#![expect(
    missing_docs,
    reason = "criterion_group! defines a public function and gives it no doc"
)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// A wiki where `FrontPage` and `Help/Editing` exist, with URLs shaped like the app's.
struct Wiki;

impl markup::LinkResolver for Wiki {
    fn page_url(&self, name: &str) -> String {
        format!("/{}", name.replace(' ', "%20"))
    }
    fn create_url(&self, name: &str) -> String {
        format!("/{}?action=edit", name.replace(' ', "%20"))
    }
    fn existing(&self, names: &[String]) -> HashSet<String> {
        names
            .iter()
            .filter(|n| matches!(n.as_str(), "FrontPage" | "Help/Editing"))
            .cloned()
            .collect()
    }
    fn file_url(&self, page: &str, name: &str) -> String {
        format!(
            "/+file/{}/{}",
            page.replace(' ', "%20"),
            name.replace(' ', "%20")
        )
    }
    fn upload_url(&self, page: &str, name: &str) -> String {
        format!(
            "/+files/{}?name={}",
            page.replace(' ', "%20"),
            name.replace(' ', "%20")
        )
    }
    fn existing_files(
        &self,
        files: &[markup::FileRef],
    ) -> HashMap<markup::FileRef, markup::FileFacts> {
        let facts = markup::FileFacts {
            width: Some(640),
            height: Some(480),
        };
        files
            .iter()
            .filter(|f| f.name == "diagram.png")
            .map(|f| (f.clone(), facts))
            .collect()
    }
}

/// Sections of the typical page until `len` bytes, cut at `len` (on a char boundary; the text is ASCII).
fn wiki_page(len: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < len {
        i += 1;
        text.push_str(&format!(
            "## Section {i}\n\nThe team agreed on item {i}; see [[FrontPage]] and [[Help/Editing]]. Notes are \
             *kept* here so **everyone** can find them later, with `code` too.\n\n- point {i}.a\n- point {i}.b \
             with a [link](https://example.org/{i})\n\n"
        ));
    }
    text.truncate(len);
    text
}

/// Blocks of the author's own HTML (tables, divs, spans, links, a comment) with a little Markdown between.
fn raw_html_page(len: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < len {
        i += 1;
        text.push_str(&format!(
            "<div class=\"box\" id=\"b{i}\">\n<table>\n<tr><th>Item</th><th>State</th></tr>\n\
             <tr><td><span style=\"color: red\">item {i}</span></td><td><b>open</b> <i>since</i> \
             <a href=\"https://example.org/{i}\" title=\"t\">ticket</a></td></tr>\n</table>\n\
             <!-- reviewed -->\n<p>Some <em>raw</em> text &amp; an <img src=\"/img/{i}.png\" alt=\"pic\"> image.</p>\n\
             </div>\n\nA line of *Markdown* between.\n\n"
        ));
    }
    text.truncate(len);
    text
}

fn bench_render(c: &mut Criterion) {
    let pages = [
        ("wiki_10k", wiki_page(10_240)),
        ("wiki_1m", wiki_page(1 << 20)),
        ("raw_html_10k", raw_html_page(10_240)),
    ];
    let mut group = c.benchmark_group("render");
    // Each iteration renders a page not seen before (a line numbering the view is appended): the cost of a
    // view that is not in the app's render cache, or of an edit preview.
    let mut view = 0u64;
    for (name, page) in &pages {
        group.throughput(Throughput::Bytes(page.len() as u64));
        group.sample_size(if page.len() > 100_000 { 10 } else { 100 });
        group.bench_function(*name, |b| {
            b.iter_batched(
                || {
                    view += 1;
                    format!("{page}\n\nview {view}\n")
                },
                |page| markup::render(black_box(&page), "Team/Notes", &Wiki),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
