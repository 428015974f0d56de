//! The first hour with a new wiki, as a newcomer meets it: the first account becomes the admin,
//! every seeded page has one title, the help covers what the page actions do and its configuration
//! snippets are the files in `deploy/`, and no link an anonymous reader is shown leads to a 403.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;

use http::StatusCode;

use crate::drivers::InProcess;
use crate::suite::{Browser, Gateway};

/// Registers `name` in `browser` (which is then logged in).
fn register(browser: &Browser<'_>, name: &str) -> gateway::testing::TestResponse {
    crate::scenarios::register(browser, name, "a long password")
}

#[test]
fn the_first_account_registered_is_the_admin_and_the_page_says_so() {
    let wiki = InProcess::start();
    let form = Browser::new(&wiki).get("/+register").text();
    assert!(form.contains("becomes its admin"), "{form}");

    let first = Browser::new(&wiki);
    let made = register(&first, "Founder");
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text());
    assert_eq!(made.header("location"), Some("/+admin"));
    assert_eq!(first.get("/+admin").status, StatusCode::OK);

    // Only the first: the form no longer says so, and the next account is an ordinary one.
    let form = Browser::new(&wiki).get("/+register").text();
    assert!(!form.contains("becomes its admin"), "{form}");
    let second = Browser::new(&wiki);
    let made = register(&second, "Second");
    assert_eq!(made.header("location"), Some("/"));
    assert_eq!(second.get("/+admin").status, StatusCode::FORBIDDEN);
}

#[test]
fn closed_registration_says_the_first_admin_comes_from_the_command_line() {
    let wiki = InProcess::start_with_settings("registration = \"closed\"\n");
    let page = Browser::new(&wiki).get("/+register");
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.text().contains("quire user add NAME --admin"),
        "{}",
        page.text()
    );
    crate::accounts::quire_user_add(wiki.data_dir(), "root", true, "a long password");
    let page = Browser::new(&wiki).get("/+register").text();
    assert!(!page.contains("quire user add"), "{page}");
}

#[test]
fn every_seeded_page_has_one_h1() {
    let wiki = InProcess::start();
    for (name, _) in quire::seed::SEED_PAGES {
        let html = wiki.get(&format!("/{name}")).text();
        assert_eq!(html.matches("<h1").count(), 1, "{name}: {html}");
    }
}

#[test]
fn the_help_covers_the_page_actions_and_links_every_help_page() {
    let help = page_text("Help");
    for topic in [
        "Blame",
        "Info",
        "Rename",
        "Delete",
        "[[Help/AccessControl]]",
    ] {
        assert!(help.contains(topic), "Help does not cover {topic}");
    }
    assert!(page_text("Help/Editing").contains("merges"));
    assert!(page_text("Help/Search").contains("What you can type"));
    for (name, _) in quire::seed::SEED_PAGES {
        if name.starts_with("Help/") {
            assert!(
                help.contains(&format!("[[{name}]]")),
                "Help does not link {name}"
            );
        }
    }
}

fn page_text(name: &str) -> &'static str {
    quire::seed::SEED_PAGES
        .iter()
        .find(|(page, _)| *page == name)
        .map(|(_, text)| *text)
        .unwrap()
}

/// Every fenced block in the help whose first line is a comment naming a file in `deploy/` is that
/// file, word for word: a newcomer copying it gets what the e2e tests run.
#[test]
fn the_help_s_configuration_snippets_are_the_files_in_deploy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = Vec::new();
    for (name, text) in quire::seed::SEED_PAGES {
        for block in fenced_blocks(text) {
            let Some((first, rest)) = block.split_once('\n') else {
                continue;
            };
            let Some(file) = first
                .trim_start_matches(['#', ';', '/'])
                .trim()
                .strip_prefix("deploy/")
            else {
                continue;
            };
            let path = root.join("deploy").join(file);
            let expected = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("{name} names {}: {err}", path.display()));
            assert_eq!(rest, expected, "{name}'s snippet of deploy/{file}");
            checked.push(file.to_owned());
        }
    }
    assert!(
        checked.contains(&"nginx/quire-fastcgi.conf".to_owned()),
        "{checked:?}"
    );
}

/// The fenced code blocks of a Markdown text, each with its lines after the fence.
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines() {
        match open.as_mut() {
            None if line.starts_with("```") => open = Some(String::new()),
            None => {}
            Some(_) if line.starts_with("```") => blocks.extend(open.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// How many addresses the crawl visits at most: the seeded wiki has about 760 (every page in three
/// themes, the all-pages index by letter, list and tree, and a login link from each).
const CRAWL_BOUND: usize = 1500;

/// An anonymous reader following every link from `/`: none answers 403, and none answers 404 but
/// the links the wiki itself marks as leading to a page not written yet (`class="… missing"`).
#[test]
fn an_anonymous_reader_meets_no_dead_end_from_the_front_page() {
    let wiki = InProcess::start();
    let mut seen = BTreeSet::from(["/".to_owned()]);
    let mut missing_ok = BTreeSet::new();
    let mut queue = VecDeque::from([("/".to_owned(), "(start)".to_owned())]);
    let mut visited = 0;
    while let Some((url, from)) = queue.pop_front() {
        visited += 1;
        assert!(visited <= CRAWL_BOUND, "the crawl did not end");
        let response = wiki.get(&url);
        let status = response.status;
        assert_ne!(status, StatusCode::FORBIDDEN, "{url}, linked from {from}");
        assert!(
            status != StatusCode::NOT_FOUND || missing_ok.contains(&url),
            "{url} is a 404, linked from {from}"
        );
        assert!(status.as_u16() < 500, "{url}: {status}");
        let is_html = response
            .header("content-type")
            .is_some_and(|kind| kind.starts_with("text/html"));
        if !is_html {
            continue;
        }
        for link in links(&response.text()) {
            let Some(target) = same_origin(&link.href) else {
                continue;
            };
            if link.missing {
                missing_ok.insert(target.clone());
            }
            if seen.insert(target.clone()) {
                queue.push_back((target, url.clone()));
            }
        }
    }
    assert!(visited > 20, "only {visited} pages were reached");
}

struct Link {
    href: String,
    /// Marked by the wiki as a link to a page not written yet.
    missing: bool,
}

/// The `<a href>` links of a page, with `&amp;` decoded.
fn links(html: &str) -> Vec<Link> {
    let mut found = Vec::new();
    for tag in html.split("<a ").skip(1) {
        let Some(tag) = tag.split('>').next() else {
            continue;
        };
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let missing = attribute(tag, "class")
            .is_some_and(|class| class.split_whitespace().any(|word| word == "missing"));
        found.push(Link {
            href: href.replace("&amp;", "&"),
            missing,
        });
    }
    found
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')?;
    Some(&tag[start..start + end])
}

/// A link on this wiki as a target to fetch, without its fragment; `None` for other sites.
fn same_origin(href: &str) -> Option<String> {
    if !href.starts_with('/') || href.starts_with("//") {
        return None;
    }
    let href = href.split('#').next().unwrap_or(href);
    Some(href.to_owned())
}
