//! A user's walk through the wiki in headless Chromium, driven over
//! WebDriver by Debian's chromedriver: read the front page, edit it,
//! preview, save, follow a wiki link, read the history and a diff.
//!
//! Elements are found the way a user finds them — by link text inside a
//! named navigation landmark, by a field's label, by a button's text, by a
//! table's caption — written as XPath, because WebDriver has no
//! accessibility locators. A template change that keeps what a user sees
//! keeps this test passing; one that breaks a label or a landmark fails it.
//!
//! Every main step leaves a screenshot in a temp dir, which is kept (and
//! its path printed, with the page source) when the walk fails; with
//! `QUIRE_SCREENSHOTS=DIR` the screenshots are copied into DIR as well.
//!
//! A second test first writes a small team wiki through the forms (three
//! accounts; a project page in three revisions, onboarding, a runbook, meeting
//! notes), then goes through every theme in light and dark mode: page view,
//! edit, diff, search, recent changes and history, each checked by axe-core (from the
//! npm registry, installed once into `target/e2e-npm`) for serious or critical
//! accessibility violations, and at 360 px wide for sideways scrolling; it
//! also tries the progressive JavaScript (mode toggle, `e` and `/` shortcuts,
//! search suggestions, live preview). With `QUIRE_SCREENSHOTS=1` it writes
//! desktop (1280 px) and mobile (360 px) screenshots of each view to
//! `docs/screenshots/`, the set the README shows.
//!
//! A third walk shows drafts: a logged-in editor's autosave survives a closed tab and is offered
//! back and restored; an anonymous editor's is kept in `localStorage` as the editor is left.

// clippy's allow-unwrap-in-tests covers `#[test]` functions only; here the
// walk's helpers are test code too, and an error from the browser or the
// wiki should fail the test with that error.
#![expect(clippy::unwrap_used, reason = "test code: any error fails the test")]

use std::cell::Cell;
use std::future::Future;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{ensure_tool, free_port, quire_binary, repo_root, Running};

use crate::scenarios::PNG_40X20;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one step may wait for the page it expects.
const STEP: Duration = Duration::from_secs(10);
/// How long the whole walk may take, so a hung browser fails the test.
const WALK: Duration = Duration::from_secs(120);
/// How long the tour of every theme, mode and view may take (30 axe runs).
const TOUR: Duration = Duration::from_secs(600);

const NEW_TEXT: &str = "# Team handbook\n\
                        \n\
                        Edited in Chromium through WebDriver.\n\
                        Back to the [[FrontPage]].\n";
const COMMENT: &str = "Replace the welcome text";
/// The account the walk registers and edits as.
const WALKER: &str = "walker";

#[test]
fn a_user_edits_the_front_page_in_chromium() {
    let browser = Browser::start();
    browser.run(walk(&browser));
    browser.finish();
}

async fn walk(browser: &Browser) {
    let client = browser.client();

    // The front page, as a visitor sees it first.
    client.goto(&browser.url("/")).await.unwrap();
    browser.find(&heading("Welcome to your wiki")).await;
    assert_eq!(client.title().await.unwrap(), "FrontPage · quire");
    browser.screenshot("front-page").await;

    // An account, through the header's link and the form (which carries its CSRF token and
    // logs the new account in); the edits below are then attributed to it.
    let password = "walking in chromium";
    create_account(browser, WALKER, password).await;
    browser.screenshot("registered").await;

    // Out (a POST form in the header) and in again.
    browser.click(&button("Log out")).await;
    browser.click(&nav_link("Account", "Log in")).await;
    browser.find(&heading("Log in")).await;
    browser.type_into(&field("Name"), WALKER).await;
    browser.type_into(&field("Password"), password).await;
    browser.click(&button("Log in")).await;
    browser.find(&nav_link("Account", WALKER)).await;
    client.goto(&browser.url("/")).await.unwrap();
    browser.find(&heading("Welcome to your wiki")).await;

    // Edit, from the page's actions.
    browser.click(&nav_link("Page", "Edit")).await;
    browser.find(&heading("Edit FrontPage")).await;
    let text = browser.find(&field("Page text")).await;
    let seeded = value(&text).await;
    assert!(seeded.starts_with("# Welcome to your wiki"), "{seeded}");
    text.clear().await.unwrap();
    text.send_keys(NEW_TEXT).await.unwrap();
    let comment = browser.find(&field("Comment")).await;
    comment.send_keys(COMMENT).await.unwrap();
    browser.screenshot("edit").await;

    // Preview: the text rendered above the form, the form still filled in.
    browser.click(&button("Preview")).await;
    let preview = browser.find(&region_headed("Preview")).await;
    let shown = preview.text().await.unwrap();
    assert!(shown.contains("Team handbook"), "{shown}");
    assert!(
        shown.contains("Edited in Chromium through WebDriver."),
        "{shown}"
    );
    assert!(!shown.contains("[["), "the wiki link is rendered: {shown}");
    preview
        .find(Locator::XPath(".//a[normalize-space()='FrontPage']"))
        .await
        .unwrap();
    assert_eq!(
        value(&browser.find(&field("Page text")).await).await,
        NEW_TEXT
    );
    assert_eq!(value(&browser.find(&field("Comment")).await).await, COMMENT);
    browser.screenshot("preview").await;

    // Save: back on the page, showing the new text as revision 2.
    browser.click(&button("Save")).await;
    browser.find(&heading("Team handbook")).await;
    assert_eq!(client.current_url().await.unwrap().path(), "/FrontPage");
    let article = browser.find("//main//article").await.text().await.unwrap();
    assert!(
        article.contains("Edited in Chromium through WebDriver."),
        "{article}"
    );
    assert!(!article.contains("Welcome to your wiki"), "{article}");
    assert!(article.contains("Revision 2 of 2"), "{article}");
    assert!(article.contains(COMMENT), "{article}");
    browser.screenshot("saved").await;

    // The wiki link in the text leads to FrontPage.
    let link = browser
        .find("//main//a[normalize-space()='FrontPage']")
        .await;
    link.click().await.unwrap();
    browser.find(&heading("Team handbook")).await;
    assert_eq!(client.current_url().await.unwrap().path(), "/FrontPage");
    assert_eq!(client.title().await.unwrap(), "FrontPage · quire");

    // History: the seeded revision and ours, newest first.
    browser.click(&nav_link("Page", "History")).await;
    browser.find(&heading("History of FrontPage")).await;
    let rows = browser
        .find_all(&table_rows("Revisions, newest first"))
        .await;
    assert_eq!(rows.len(), 2, "revisions listed");
    let newest = rows[0].text().await.unwrap();
    assert!(newest.contains(COMMENT), "{newest}");
    assert!(
        newest.contains(WALKER),
        "attributed to the account: {newest}"
    );
    browser.screenshot("history").await;

    // The diff of our revision against the seeded one.
    let diff = browser
        .find("//main//a[normalize-space()='diff from revision 1']")
        .await;
    diff.click().await.unwrap();
    browser.find(&heading("Changes to FrontPage")).await;
    // Lines by their row's kind: <ins>/<del> mark only what changed inside a line.
    let added = texts(&browser.find_all(&diff_lines("added")).await).await;
    let removed = texts(&browser.find_all(&diff_lines("removed")).await).await;
    assert_eq!(
        added,
        // The blank line is unchanged: the seeded text has one there too.
        NEW_TEXT
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        "added lines"
    );
    assert!(
        removed.contains(&"# Welcome to your wiki".to_owned()),
        "{removed:?}"
    );
    browser.screenshot("diff").await;
}

/// An account made through the header's link and the form, which logs it in.
async fn create_account(browser: &Browser, name: &str, password: &str) {
    browser.click(&nav_link("Account", "Create account")).await;
    browser.find(&heading("Create an account")).await;
    browser.type_into(&field("Name"), name).await;
    browser.type_into(&field("Password ("), password).await;
    browser.type_into(&field("Password again"), password).await;
    browser.click(&button("Create the account")).await;
    browser.find(&nav_link("Account", name)).await;
}

/// Issue 18's drafts: a logged-in editor types, waits for the autosave, and closes the tab; the
/// editor opened again offers the draft with its diff, and restores it; the save ends it. Then
/// anonymously: the text typed is kept in the browser as the editor is left, offered with the
/// script's own diff, restored, and forgotten once saved.
#[test]
fn a_draft_survives_a_closed_tab_and_is_restored_in_chromium() {
    let browser = Browser::start();
    browser.run(drafts_walk(&browser));
    browser.finish();
}

async fn drafts_walk(browser: &Browser) {
    let client = browser.client();
    client.goto(&browser.url("/")).await.unwrap();
    create_account(browser, "drafter", "drafting in chromium").await;

    // Typed into the editor, kept by the autosave a few seconds later.
    let typed = "A line typed before the tab closed.";
    client.goto(&browser.url("/+edit/FrontPage")).await.unwrap();
    browser.find(&heading("Edit FrontPage")).await;
    let text = browser.find(&field("Page text")).await;
    let seeded = value(&text).await;
    text.send_keys(&format!("\n{typed}\n")).await.unwrap();
    browser.find(&draft_status("Draft kept at")).await;
    browser.screenshot("draft-kept").await;

    // The tab is closed without saving; a new one opens the editor again.
    let tab = client.new_window(true).await.unwrap();
    client.close_window().await.unwrap();
    client.switch_to_window(tab.handle).await.unwrap();
    client.goto(&browser.url("/+edit/FrontPage")).await.unwrap();
    let offer = browser
        .find(&region_headed("You have an unsaved draft"))
        .await;
    let added = texts(&browser.find_all(&diff_lines("added")).await).await;
    assert!(added.contains(&typed.to_owned()), "{added:?}");
    assert_eq!(
        value(&browser.find(&field("Page text")).await).await,
        seeded
    );
    assert!(
        offer.text().await.unwrap().contains("kept as you typed"),
        "{}",
        offer.text().await.unwrap()
    );
    browser.screenshot("draft-offered").await;
    browser.click(&button("Restore the draft")).await;
    browser
        .find("//p[contains(., 'Your draft is restored below')]")
        .await;
    let restored = value(&browser.find(&field("Page text")).await).await;
    assert!(restored.contains(typed), "{restored}");
    browser.click(&button("Save")).await;
    browser
        .find(&format!("//main//article//p[normalize-space()='{typed}']"))
        .await;
    // Saved: nothing is offered any more.
    client.goto(&browser.url("/+edit/FrontPage")).await.unwrap();
    browser.find(&heading("Edit FrontPage")).await;
    assert!(client
        .find_all(Locator::Css(".draft-offer"))
        .await
        .unwrap()
        .is_empty());

    // Anonymous: the browser keeps the draft, written as the editor is left.
    browser.click(&button("Log out")).await;
    browser.find(&nav_link("Account", "Log in")).await;
    let local = "Typed while not logged in.";
    client
        .goto(&browser.url("/+edit/LocalDraft"))
        .await
        .unwrap();
    browser.find(&heading("Create LocalDraft")).await;
    browser.type_into(&field("Page text"), local).await;
    client.goto(&browser.url("/")).await.unwrap();
    browser.find("//main//h1").await;
    client
        .goto(&browser.url("/+edit/LocalDraft"))
        .await
        .unwrap();
    let offer = browser
        .find(&region_headed("You have an unsaved draft"))
        .await;
    assert!(
        offer.text().await.unwrap().contains("kept in this browser"),
        "{}",
        offer.text().await.unwrap()
    );
    let added = texts(&browser.find_all(&diff_lines("added")).await).await;
    assert_eq!(added, [local], "the script's diff");
    browser.screenshot("local-draft-offered").await;
    browser.click(&button("Restore the draft")).await;
    assert_eq!(value(&browser.find(&field("Page text")).await).await, local);
    browser.click(&button("Save")).await;
    browser
        .find(&format!("//main//article//p[normalize-space()='{local}']"))
        .await;
    client
        .goto(&browser.url("/+edit/LocalDraft"))
        .await
        .unwrap();
    browser.find(&heading("Edit LocalDraft")).await;
    let left = client
        .execute(
            "return Object.keys(window.localStorage).filter(function (key) { return key.indexOf('quire_draft:') === 0; }).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(left, serde_json::json!(0), "the saved draft is forgotten");
    assert!(client
        .find_all(Locator::Css(".draft-offer"))
        .await
        .unwrap()
        .is_empty());
}

/// The editor's line saying where its draft was kept.
fn draft_status(starting: &str) -> String {
    format!("//p[contains(@class, 'draft-status')][starts-with(normalize-space(), '{starting}')]")
}

const THEMES: [&str; 3] = ["default", "classic", "minimal"];
const DESKTOP: (u32, u32) = (1280, 900);
const MOBILE: (u32, u32) = (360, 780);

/// The views each theme is checked on: (name for screenshots, path, heading to wait for,
/// whether the README's screenshot set shows it). They show the team wiki
/// [`fill_the_team_wiki`] writes, so the README sells what a team would see.
const VIEWS: [(&str, &str, &str, bool); 10] = [
    ("page", "/Projects/Atlas", "Projects/Atlas", true),
    ("edit", "/+edit/Projects/Atlas", "Edit Projects/Atlas", true),
    (
        "diff",
        "/+diff/Projects/Atlas?from=1&to=2",
        "Changes to Projects/Atlas",
        true,
    ),
    ("search", "/+search?q=Atlas", "Search", true),
    ("recent", "/+recent", "Recent changes", true),
    (
        "history",
        "/+history/Projects/Atlas",
        "History of Projects/Atlas",
        true,
    ),
    (
        "info",
        "/+info/Projects/Atlas",
        "About Projects/Atlas",
        false,
    ),
    // The editor offering the draft this browser kept of the text typed in `try_the_scripts`.
    (
        "draft",
        "/+edit/FrontPage",
        "You have an unsaved draft of this page",
        false,
    ),
    ("login", "/+login", "Log in", false),
    ("prefs", "/+prefs", "Preferences", false),
];

#[test]
fn every_theme_in_light_and_dark_passes_axe_and_fits_a_phone() {
    let axe = axe_core_source();
    let browser = Browser::start();
    browser.run_within(TOUR, theme_tour(&browser, &axe));
    browser.finish();
}

#[test]
fn files_show_in_pages_and_run_no_script_on_the_wiki_s_origin() {
    let browser = Browser::start();
    let dir = tempfile::tempdir().unwrap();
    browser.run(files_walk(&browser, dir.path()));
    browser.finish();
}

/// What a script in a hostile file would leave on the wiki's origin if it ran there.
const MARKER: &str = "return [localStorage.getItem('pwned'), document.cookie.includes('pwned'), document.title.includes('pwned')];";

/// Uploads an image and hostile files through the upload form, embeds the image, and opens every
/// file the way a reader could: the image must show at its natural size, and no script of the
/// hostile files may leave its marker on the wiki's origin.
async fn files_walk(browser: &Browser, dir: &Path) {
    let client = browser.client();
    // Each hostile file's script writes the marker wherever it is allowed to.
    let script = "<script>try{localStorage.setItem('pwned','1')}catch(e){};document.cookie='pwned=1; path=/';document.title='pwned'</script>";
    let files = [
        ("box.png", PNG_40X20.to_vec()),
        (
            "evil.svg",
            format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">{script}</svg>")
                .into_bytes(),
        ),
        (
            "page.html",
            format!("<!doctype html><html><body>{script}</body></html>").into_bytes(),
        ),
        (
            "photo.png",
            format!("<html><body>{script}</body></html>").into_bytes(),
        ),
    ];
    let mut paths = Vec::new();
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path.display().to_string());
    }

    // The page's Attachments link, the form, every file at once.
    client.goto(&browser.url("/FrontPage")).await.unwrap();
    browser.click(&nav_link("Page", "Attachments (0)")).await;
    browser.find(&heading("Files of FrontPage")).await;
    let input = browser.find(&field("Files")).await;
    input.send_keys(&paths.join("\n")).await.unwrap();
    browser.click(&button("Upload")).await;
    browser
        .find("//p[contains(normalize-space(), '4 files uploaded')]")
        .await;
    browser.screenshot("files").await;

    // Embedded in the page: shown at its natural size.
    browser.click(&nav_link("Page", "Edit")).await;
    let text = browser.find(&field("Page text")).await;
    text.send_keys("\n\n![A red box](attachment:box.png)\n\n![An SVG](attachment:evil.svg)\n")
        .await
        .unwrap();
    browser.click(&button("Save")).await;
    let image = browser.find("//main//img[@alt='A red box']").await;
    let natural = client
        .execute(
            "const img = arguments[0]; return img.decode().then(() => [img.naturalWidth, img.naturalHeight]);",
            vec![serde_json::to_value(&image).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(
        natural,
        serde_json::json!([40, 20]),
        "the image's natural size"
    );
    assert_eq!(
        image.attr("width").await.unwrap().as_deref(),
        Some("40"),
        "the image's width attribute"
    );
    assert_eq!(
        image.attr("loading").await.unwrap().as_deref(),
        Some("lazy")
    );
    browser.screenshot("embedded").await;

    // Each hostile file opened directly, as a link in a page would open it.
    for name in ["evil.svg", "page.html", "photo.png"] {
        client
            .goto(&browser.url(&format!("/+file/FrontPage/{name}")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    client.goto(&browser.url("/FrontPage")).await.unwrap();
    browser.find("//main//img[@alt='A red box']").await;
    let marker = client.execute(MARKER, vec![]).await.unwrap();
    assert_eq!(
        marker,
        serde_json::json!([null, false, false]),
        "a hostile file's script ran on the wiki's origin"
    );
}

async fn theme_tour(browser: &Browser, axe: &str) {
    let client = browser.client();
    let published = published_screenshots();

    fill_the_team_wiki(browser).await;

    try_the_scripts(browser).await;

    let mut violations = Vec::new();
    for mode in ["light", "dark"] {
        set_mode(browser, mode).await;
        for theme in THEMES {
            choose_theme(browser, theme).await;
            for (view, path, title, shot) in VIEWS {
                client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
                client.goto(&browser.url(path)).await.unwrap();
                browser.find(&heading(title)).await;
                let root =
                    format!("//html[contains(@class, 'theme-{theme}')][@data-mode='{mode}']");
                browser.find(&root).await;
                let what = format!("{theme}/{mode}/{view}");
                violations.extend(axe_violations(client, axe, &what).await);
                let name = format!("{theme}-{mode}-{view}");
                let publish = published.as_ref().filter(|_| shot);
                if let Some(dir) = publish {
                    save_png(dir, &format!("{name}-desktop.png"), client).await;
                }
                client.set_window_size(MOBILE.0, MOBILE.1).await.unwrap();
                let overflow = client
                    .execute(
                        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert!(
                    overflow.as_i64().is_some_and(|px| px <= 0),
                    "{what} scrolls sideways by {overflow} px at {} px wide",
                    MOBILE.0
                );
                if let Some(dir) = publish {
                    save_png(dir, &format!("{name}-mobile.png"), client).await;
                } else if view == "page" {
                    browser.screenshot(&format!("{name}-mobile")).await;
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// One save in the team wiki the tour shows: who saves which page, with what text and comment.
struct TeamSave {
    author: &'static str,
    page: &'static str,
    text: String,
    comment: &'static str,
}

/// The platform team's wiki, in the order its people write it: three accounts, a project page
/// in three revisions (so history, diff and blame have something to say), an onboarding
/// checklist, a runbook and meeting notes (so a search hits several pages). Each author's saves
/// are consecutive: [`fill_the_team_wiki`] registers an author where their run starts.
fn team_wiki() -> [TeamSave; 7] {
    let atlas_2 = edited(ATLAS_1, ATLAS_2_EDITS);
    let atlas_3 = edited(&atlas_2, ATLAS_3_EDITS);
    [
        TeamSave {
            author: "maria",
            page: "FrontPage",
            text: TEAM_FRONT_PAGE.to_owned(),
            comment: "Point the front page at the team's pages",
        },
        TeamSave {
            author: "maria",
            page: "Team/Onboarding",
            text: TEAM_ONBOARDING.to_owned(),
            comment: "Checklist for new starters",
        },
        TeamSave {
            author: "maria",
            page: "Projects/Atlas",
            text: ATLAS_1.to_owned(),
            comment: "Start the Atlas project page",
        },
        TeamSave {
            author: "tomasz",
            page: "Runbooks/Deploying",
            text: TEAM_DEPLOYING.to_owned(),
            comment: "Write down how we deploy by hand",
        },
        TeamSave {
            author: "tomasz",
            page: "Projects/Atlas",
            text: atlas_2,
            comment: "Read-only API shipped; beta moves to sprint 16",
        },
        TeamSave {
            author: "priya",
            page: "Meetings/Weekly sync",
            text: TEAM_SYNC.to_owned(),
            comment: "Notes from Monday's sync",
        },
        TeamSave {
            author: "priya",
            page: "Projects/Atlas",
            text: atlas_3,
            comment: "Add the deploy steps and what to do when it breaks",
        },
    ]
}

const TEAM_FRONT_PAGE: &str = r##"This is the wiki of the platform team: how we work, what we are building, and what to do when something breaks. Anyone on the team can edit any page.

## Start here

- [[Team/Onboarding]]: your first week on the team
- [[Projects/Atlas]]: the reporting API, our main project this quarter
- [[Runbooks/Deploying]]: deploying to staging and production by hand
- [[Meetings/Weekly sync]]: notes from the Monday sync

New to this wiki? [[Help]] explains editing and the Markdown it uses.
"##;

const TEAM_ONBOARDING: &str = r##"Welcome to the platform team! This is the checklist for your first week. If something here is out of date, ask in #team-platform, then fix this page.

## Day one

1. Collect your laptop from IT and turn on disk encryption.
2. Join #team-platform and #atlas in chat.
3. Ask your buddy to add you to the `platform` group on GitHub.
4. Read [[Projects/Atlas]] and the [[Runbooks/Deploying]] runbook.

## Accounts you need

| System | Who grants it | How long |
|---|---|---|
| GitHub | Your buddy | Same day |
| Grafana | priya | Same day |
| Production database | Team lead | Up to a week |

## First week

- Shadow the on-call person for one shift.
- Deploy a small change to staging yourself.
- Come to the [[Meetings/Weekly sync]] on Monday and say hello.
"##;

const ATLAS_1: &str = r##"Atlas replaces the nightly CSV exports with a live reporting API for the finance and support teams. The design is in [[Projects/Atlas/Design]], and the [API reference](https://atlas.example.com/docs) is built from the code. Questions go to #atlas; new to the team? Start with [[Team/Onboarding]].

## Milestones

| Milestone | Target | Status |
|---|---|---|
| Schema agreed with finance | Sprint 12 | Done |
| Read-only API | Sprint 13 | In progress |
| Search over invoices | Sprint 14 | Not started |
| Public beta | Sprint 15 | Not started |

## Decisions

- PostgreSQL 16, one database per region.
- Reports are computed when asked for; nothing is cached until we measure.
- The CSV exports keep running until the beta ends.

## People

- Product: maria
- Backend: tomasz
- Operations: priya
"##;

/// What tomasz changes in [`ATLAS_1`]: the API shipped, search and the beta move a sprint later.
const ATLAS_2_EDITS: &[(&str, &str)] = &[
    (
        "| Read-only API | Sprint 13 | In progress |",
        "| Read-only API | Sprint 13 | Done |",
    ),
    (
        "| Search over invoices | Sprint 14 | Not started |",
        "| Search over invoices | Sprint 15 | In progress |",
    ),
    (
        "| Public beta | Sprint 15 | Not started |",
        "| Public beta | Sprint 16 | Not started |",
    ),
    (
        "- The CSV exports",
        "- API tokens are per team and rotated every 90 days.\n- The CSV exports",
    ),
];

/// What priya adds to the second revision: a code block, an external link and a second wiki link
/// to a page nobody has written yet.
const ATLAS_3_EDITS: &[(&str, &str)] = &[
    (
        "## Decisions",
        r##"## Deploying

The pipeline deploys every tag. By hand, only when the pipeline is down (the whole procedure is in [[Runbooks/Deploying]]):

```sh
git tag -s v0.4.0 -m "Release 0.4.0"
git push origin v0.4.0
./deploy.sh staging v0.4.0
```

## Decisions"##,
    ),
    (
        "## People",
        r##"## When it breaks

- Dashboards: [Atlas board in Grafana](https://grafana.example.com/d/atlas)
- Database trouble: [[Runbooks/Database failover]]
- Page the on-call person with `/page atlas` in chat.

## People"##,
    ),
];

/// `text` with each `(old, new)` replaced, as an author edits a page; `old` must be there, so the
/// revisions cannot drift apart from the text they edit.
fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    edits.iter().fold(text.to_owned(), |text, (old, new)| {
        assert!(text.contains(old), "no {old:?} to edit in {text}");
        text.replacen(old, new, 1)
    })
}

const TEAM_DEPLOYING: &str = r##"How to deploy the Atlas API ([[Projects/Atlas]]) to staging and production by hand, when the pipeline cannot. The pipeline does all of this on every tag.

## Before you start

- The change is merged to `main` and the checks are green.
- Nobody else is deploying: say so in #deploys.

## Staging

```sh
./deploy.sh staging v0.4.0
curl -fsS https://reports.staging.example.com/health
```

## Production

Deploy between 10:00 and 16:00, and never on a Friday. Watch the error rate on the [Atlas board](https://grafana.example.com/d/atlas) for fifteen minutes afterwards.

```sh
./deploy.sh production v0.4.0
```

To roll back, deploy the previous tag the same way.
"##;

const TEAM_SYNC: &str = r##"The platform team's weekly sync, Mondays at 10:00. Newest notes first.

## Monday

Present: maria, tomasz, priya.

- The Atlas read-only API is live on staging. The beta moves to sprint 16 so that search ships with it; see [[Projects/Atlas]].
- Deploying by hand took 40 minutes last week. tomasz wrote [[Runbooks/Deploying]] and will put the health check in the pipeline.
- A new starter joins next week; maria brings [[Team/Onboarding]] up to date.

### Actions

- [ ] tomasz: health check in the pipeline
- [ ] priya: failover runbook for the Atlas database
- [x] maria: invite finance to the beta
"##;

/// Writes [`team_wiki`] through the wiki itself: each author registers with the real form, and
/// each page is saved with the editor's form (its text set in one go, not typed key by key, so
/// the editor's scripts see the same text the server saves). Ends logged out, as the tour reads.
async fn fill_the_team_wiki(browser: &Browser) {
    let client = browser.client();
    let mut author = None;
    for save in &team_wiki() {
        if author != Some(save.author) {
            if author.is_some() {
                browser.click(&button("Log out")).await;
                browser.find(&nav_link("Account", "Log in")).await;
            }
            client.goto(&browser.url("/+register")).await.unwrap();
            browser.type_into(&field("Name"), save.author).await;
            let password = "correct horse battery staple";
            browser.type_into(&field("Password ("), password).await;
            browser.type_into(&field("Password again"), password).await;
            browser.click(&button("Create the account")).await;
            browser.find(&nav_link("Account", save.author)).await;
            author = Some(save.author);
        }
        client
            .goto(&browser.url(&format!("/+edit/{}", save.page)))
            .await
            .unwrap();
        let text = browser.find(&field("Page text")).await;
        client
            .execute(
                "arguments[0].value = arguments[1];",
                vec![
                    serde_json::to_value(&text).unwrap(),
                    save.text.as_str().into(),
                ],
            )
            .await
            .unwrap();
        browser.type_into(&field("Comment"), save.comment).await;
        browser.click(&button("Save")).await;
        browser.find(&heading(save.page)).await;
        let article = browser.find("//main//article").await.text().await.unwrap();
        assert!(
            article.contains(save.comment) && article.contains(save.author),
            "{} saved by {}: {article}",
            save.page,
            save.author
        );
    }
    browser.click(&button("Log out")).await;
    browser.find(&nav_link("Account", "Log in")).await;
}

/// The progressive JavaScript, each part the way a user meets it.
async fn try_the_scripts(browser: &Browser) {
    let client = browser.client();
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();

    // `/` focuses the search box; typing shows suggestions, links to pages.
    client.goto(&browser.url("/FrontPage")).await.unwrap();
    browser.find(&heading("FrontPage")).await;
    // Keys typed into the page itself (main takes focus), not into a field.
    let main = browser.find("//main").await;
    main.send_keys("/").await.unwrap();
    let search = browser.find(&field("Search pages")).await;
    let focused = client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "site-search-q", "/ focuses the search box");
    search.send_keys("Fron").await.unwrap();
    let suggestion = browser
        .find("//ul[contains(@class, 'suggestions')]//a[normalize-space()='FrontPage']")
        .await;
    assert!(suggestion
        .attr("href")
        .await
        .unwrap()
        .is_some_and(|href| href.ends_with("/FrontPage")));

    // `e` in the page (not in a field) opens the editor.
    client.goto(&browser.url("/FrontPage")).await.unwrap();
    browser.find(&heading("FrontPage")).await;
    let main = browser.find("//main").await;
    main.send_keys("e").await.unwrap();
    browser.find(&heading("Edit FrontPage")).await;

    // Typing in the editor previews without pressing Preview, and saves nothing.
    let text = browser.find(&field("Page text")).await;
    text.send_keys("\nLive *preview* works.").await.unwrap();
    let preview = browser.find(&region_headed("Preview")).await;
    preview
        .find(Locator::XPath(".//em[normalize-space()='preview']"))
        .await
        .unwrap_or_else(|_| panic!("no live preview"));
    // Typing `e` in a field is text, not a shortcut.
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/+edit/FrontPage"
    );
}

/// Picks `theme` in the preferences, as a reader would (an anonymous reader's choice lives in
/// the session), and checks that pages then come in it, with no preview banner.
async fn choose_theme(browser: &Browser, theme: &str) {
    let client = browser.client();
    client.goto(&browser.url("/+prefs")).await.unwrap();
    browser
        .find(&field("Theme"))
        .await
        .select_by_value(theme)
        .await
        .unwrap();
    browser.click(&button("Save preferences")).await;
    client.goto(&browser.url("/FrontPage")).await.unwrap();
    browser
        .find(&format!("//html[contains(@class, 'theme-{theme}')]"))
        .await;
    let banner = client
        .find_all(Locator::Css(".theme-preview"))
        .await
        .unwrap();
    assert!(banner.is_empty(), "a chosen theme is no preview");
}

/// Puts the wiki in `mode` with the page's toggle, and checks the server sends the next
/// page in it (the cookie), so it does not flash in the other mode first.
async fn set_mode(browser: &Browser, mode: &str) {
    let client = browser.client();
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    client.goto(&browser.url("/FrontPage")).await.unwrap();
    let toggle = browser.find("//button[@data-mode-toggle]").await;
    // From "auto" the first press picks the mode opposite to what shows (headless Chromium
    // shows light), the next flips it; so at most two presses reach either mode.
    for _ in 0..2 {
        let current = client
            .execute("return document.documentElement.dataset.mode;", vec![])
            .await
            .unwrap();
        if current.as_str() == Some(mode) {
            break;
        }
        toggle.click().await.unwrap();
    }
    browser.find(&format!("//html[@data-mode='{mode}']")).await;
    client.refresh().await.unwrap();
    browser.find(&format!("//html[@data-mode='{mode}']")).await;
    let pressed = browser
        .find("//button[@data-mode-toggle]")
        .await
        .attr("aria-pressed")
        .await
        .unwrap();
    assert_eq!(
        pressed.as_deref(),
        Some(if mode == "dark" { "true" } else { "false" })
    );
}

/// Runs axe-core on the current page; its serious and critical violations, one line each.
async fn axe_violations(client: &Client, axe: &str, what: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.unwrap();
    let answer = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, { resultTypes: ['violations'] })\
               .then(r => done(JSON.stringify({ violations: r.violations, passes: r.passes.length })))\
               .catch(e => done('axe failed: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    let text = answer.as_str().unwrap_or_default();
    let found: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|_| panic!("{what}: {text}"));
    // A page axe could not look at would pass vacuously.
    let passes = found["passes"].as_u64().unwrap_or(0);
    assert!(passes >= 10, "{what}: axe checked only {passes} rules");
    let all = found["violations"].as_array().unwrap();
    for minor in all
        .iter()
        .filter(|v| !matches!(v["impact"].as_str(), Some("serious" | "critical")))
    {
        eprintln!(
            "{what}: {} ({}): {}",
            minor["id"], minor["impact"], minor["help"]
        );
    }
    all.iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let targets: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .take(3)
                .map(|node| node["target"].to_string())
                .collect();
            format!(
                "{what}: {} ({}): {} at {}",
                v["id"],
                v["impact"],
                v["help"],
                targets.join(", ")
            )
        })
        .collect()
}

/// axe-core's browser build, installed with npm into `target/e2e-npm` on first use.
fn axe_core_source() -> String {
    ensure_tool("npm", "npm");
    let prefix = repo_root().join("target/e2e-npm");
    let file = prefix.join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        std::fs::create_dir_all(&prefix).unwrap();
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("axe-core@4")
            .status()
            .unwrap();
        assert!(status.success(), "npm install axe-core failed: {status}");
    }
    std::fs::read_to_string(&file).unwrap_or_else(|err| panic!("{}: {err}", file.display()))
}

/// Where `QUIRE_SCREENSHOTS=1` publishes the tour's screenshots: the repository's
/// `docs/screenshots/` (any other value is the walk's copy directory, not this).
fn published_screenshots() -> Option<PathBuf> {
    let wanted = std::env::var("QUIRE_SCREENSHOTS").ok()?;
    (wanted == "1").then(|| {
        let dir = repo_root().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

async fn save_png(dir: &Path, name: &str, client: &Client) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// The text cells of a diff's added or removed rows.
fn diff_lines(kind: &str) -> String {
    format!("//main//table//tr[contains(@class, 'diff-{kind}')]/td[contains(@class, 'text')]")
}

/// A heading in the main content with exactly this text.
fn heading(text: &str) -> String {
    format!("//main//*[self::h1 or self::h2][normalize-space()='{text}']")
}

/// A link with this text inside the navigation landmark labelled `nav`.
fn nav_link(nav: &str, text: &str) -> String {
    format!("//nav[@aria-label='{nav}']//a[normalize-space()='{text}']")
}

/// The form field whose label starts with `label` (labels may carry hints).
fn field(label: &str) -> String {
    format!("//*[@id=//label[starts-with(normalize-space(), '{label}')]/@for]")
}

fn button(text: &str) -> String {
    format!("//button[normalize-space()='{text}']")
}

/// A section labelled by a heading starting with `heading`.
fn region_headed(heading: &str) -> String {
    format!(
        "//section[@aria-labelledby=//*[self::h1 or self::h2]\
         [starts-with(normalize-space(), '{heading}')]/@id]"
    )
}

/// The body rows of the table with this caption.
fn table_rows(caption: &str) -> String {
    format!("//table[caption[normalize-space()='{caption}']]/tbody/tr")
}

/// A form field's current value, its line breaks as typed (`\n`) even if
/// the browser keeps the CRLF a form submission carries.
async fn value(field: &Element) -> String {
    field
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
        .replace("\r\n", "\n")
}

async fn texts(elements: &[Element]) -> Vec<String> {
    let mut texts = Vec::with_capacity(elements.len());
    for element in elements {
        texts.push(element.text().await.unwrap());
    }
    texts
}

/// quire, chromedriver and a Chromium session on a fresh data dir and
/// profile; all of it stopped on drop, whether or not the walk passed.
struct Browser {
    runtime: tokio::runtime::Runtime,
    /// `None` once [`Browser::finish`] has closed the session.
    client: Option<Client>,
    base: String,
    profile: PathBuf,
    shots: Screenshots,
    // Dropped after `drop` has closed the session: chromedriver must outlive
    // it, and quire is stopped last.
    _chromedriver: Running,
    _quire: Running,
    _scratch: TempDir,
}

impl Browser {
    fn start() -> Browser {
        ensure_tool("chromium", "chromium");
        ensure_tool("chromedriver", "chromium-driver");
        let scratch = tempfile::tempdir().unwrap();
        let data = scratch.path().join("data");
        let profile = scratch.path().join("profile");
        let mut shots = Screenshots::new();

        let listen = format!("127.0.0.1:{}", free_port());
        let mut quire = Running::start(
            "quire serve",
            Command::new(quire_binary())
                .args(["serve", "--listen", &listen])
                .env("QUIRE_DATA", &data)
                .stdout(Stdio::null()),
        );
        quire.wait_until(|| TcpStream::connect(&listen).is_ok());

        let driver_addr = format!("127.0.0.1:{}", free_port());
        let driver_port = driver_addr.rsplit(':').next().unwrap();
        let mut chromedriver = Running::start(
            "chromedriver",
            Command::new("chromedriver")
                .arg(format!("--port={driver_port}"))
                .arg(format!(
                    "--log-path={}",
                    shots.dir().join("chromedriver.log").display()
                ))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        chromedriver.wait_until(|| TcpStream::connect(&driver_addr).is_ok());

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(&profile));
        let driver_url = format!("http://{driver_addr}");
        let session = builder.connect(&driver_url);
        let client = match within(&runtime, WALK, session) {
            Some(Ok(client)) => client,
            failed => {
                stop_chromium(&profile);
                shots.keep();
                let why = match failed {
                    Some(Err(err)) => err.to_string(),
                    _ => format!("no answer within {WALK:?}"),
                };
                panic!("no Chromium session: {why}; {}", shots.whereabouts())
            }
        };

        Browser {
            runtime,
            client: Some(client),
            base: format!("http://{listen}"),
            profile,
            shots,
            _chromedriver: chromedriver,
            _quire: quire,
            _scratch: scratch,
        }
    }

    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the session is open until finish")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs a walk on the browser's runtime, failing if it hangs.
    fn run(&self, walk: impl Future<Output = ()>) {
        self.run_within(WALK, walk);
    }

    fn run_within(&self, limit: Duration, walk: impl Future<Output = ()>) {
        let finished = within(&self.runtime, limit, walk);
        assert!(
            finished.is_some(),
            "the walk did not finish within {limit:?}"
        );
    }

    /// Waits for the element `xpath` names, failing with the page's URL.
    async fn find(&self, xpath: &str) -> Element {
        match self
            .client()
            .wait()
            .at_most(STEP)
            .for_element(Locator::XPath(xpath))
            .await
        {
            Ok(element) => element,
            Err(err) => panic!("{} has no {xpath}: {err}", self.location().await),
        }
    }

    /// Clicks the element `xpath` names, once it is there.
    async fn click(&self, xpath: &str) {
        self.find(xpath).await.click().await.unwrap();
    }

    /// Types `text` into the element `xpath` names, once it is there.
    async fn type_into(&self, xpath: &str, text: &str) {
        self.find(xpath).await.send_keys(text).await.unwrap();
    }

    /// All elements `xpath` names, once at least one is there.
    async fn find_all(&self, xpath: &str) -> Vec<Element> {
        self.find(xpath).await;
        self.client().find_all(Locator::XPath(xpath)).await.unwrap()
    }

    async fn location(&self) -> String {
        match self.client().current_url().await {
            Ok(url) => url.to_string(),
            Err(err) => format!("the page (its URL is unknown: {err})"),
        }
    }

    async fn screenshot(&self, step: &str) {
        let png = self.client().screenshot().await.unwrap();
        self.shots.save(step, &png);
    }

    /// Ends the session and checks Chromium went with it: chromedriver's
    /// session delete is what quits the browser.
    fn finish(mut self) {
        let client = self.client.take().expect("finish is called once");
        let closed = within(&self.runtime, STEP, client.close());
        assert!(
            matches!(closed, Some(Ok(()))),
            "closing the session: {closed:?}"
        );
        let left = wait_for_exit(&self.profile, STEP);
        assert!(
            left.is_empty(),
            "Chromium outlived its session: pids {left:?}"
        );
    }

    /// Prints what is needed to see why the walk failed, without panicking
    /// (this runs while a panic unwinds).
    fn report_failure(&self) {
        eprintln!("browser walk failed; {}", self.shots.whereabouts());
        let Some(client) = &self.client else { return };
        let last = within(&self.runtime, STEP, async {
            let url = client.current_url().await;
            let png = client.screenshot().await;
            let source = client.source().await;
            (url, png, source)
        });
        let Some((url, png, source)) = last else {
            eprintln!("the browser did not answer within {STEP:?}");
            return;
        };
        if let Ok(png) = png {
            self.shots.save("failure", &png);
        }
        match url {
            Ok(url) => eprintln!("page: {url}"),
            Err(err) => eprintln!("page: unknown ({err})"),
        }
        match source {
            Ok(source) => eprintln!("page source:\n{source}"),
            Err(err) => eprintln!("no page source: {err}"),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.report_failure();
            self.shots.keep();
        }
        if let Some(client) = self.client.take() {
            let _ = within(&self.runtime, STEP, client.close());
        }
        stop_chromium(&self.profile);
    }
}

/// Stops this profile's Chromium if it is still running: a session that
/// could not be closed leaves it behind, and killing chromedriver does not
/// stop it. Called before chromedriver goes.
fn stop_chromium(profile: &Path) {
    let left = wait_for_exit(profile, STEP);
    e2e::signal("TERM", &left);
    let left = wait_for_exit(profile, STEP);
    e2e::signal("KILL", &left);
}

/// Runs `future` on `runtime` for at most `limit`: `None` if it took longer.
fn within<T>(
    runtime: &tokio::runtime::Runtime,
    limit: Duration,
    future: impl Future<Output = T>,
) -> Option<T> {
    runtime.block_on(async { tokio::time::timeout(limit, future).await.ok() })
}

/// Headless Chromium on its own fresh profile, with everything that would
/// reach for the network at startup (sync, component updates, field
/// trials) turned off: this machine refuses outside connections.
fn capabilities(profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        "--window-size=1200,900".to_owned(),
    ];
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The pids of Chromium processes started with this profile: this test's
/// browser and nothing else on the machine.
fn chromium_pids(profile: &Path) -> Vec<u32> {
    let flag = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|&b| b == 0).any(|arg| arg == flag.as_bytes()))
        })
        .collect()
}

/// Waits up to `limit` for this profile's Chromium to exit; returns the
/// pids still running.
fn wait_for_exit(profile: &Path, limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let left = chromium_pids(profile);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Numbered PNGs of the walk's steps, in a temp dir removed unless the
/// walk fails, and copied to `QUIRE_SCREENSHOTS` when that is set.
struct Screenshots {
    dir: Option<TempDir>,
    kept: Option<PathBuf>,
    copy_to: Option<PathBuf>,
    taken: Cell<u32>,
}

impl Screenshots {
    fn new() -> Screenshots {
        let copy_to = std::env::var_os("QUIRE_SCREENSHOTS")
            .filter(|value| value != "1")
            .map(PathBuf::from);
        if let Some(dir) = &copy_to {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|err| panic!("QUIRE_SCREENSHOTS={}: {err}", dir.display()));
        }
        Screenshots {
            dir: Some(
                tempfile::Builder::new()
                    .prefix("quire-browser-")
                    .tempdir()
                    .unwrap(),
            ),
            kept: None,
            copy_to,
            taken: Cell::new(0),
        }
    }

    fn dir(&self) -> &Path {
        match (&self.dir, &self.kept) {
            (Some(dir), _) => dir.path(),
            (None, Some(kept)) => kept,
            (None, None) => unreachable!("the directory is either temporary or kept"),
        }
    }

    fn whereabouts(&self) -> String {
        format!(
            "screenshots and chromedriver.log in {}",
            self.dir().display()
        )
    }

    /// Saves one step's screenshot. Does not panic: a failing walk saves its
    /// last screenshot while unwinding.
    fn save(&self, step: &str, png: &[u8]) {
        let number = self.taken.get() + 1;
        self.taken.set(number);
        let name = format!("browser-{number:02}-{step}.png");
        let targets = std::iter::once(self.dir()).chain(self.copy_to.as_deref());
        for dir in targets {
            let path = dir.join(&name);
            if let Err(err) = std::fs::write(&path, png) {
                eprintln!("could not save {}: {err}", path.display());
            }
        }
    }

    /// Keeps the directory after the test, for a failure to be looked into.
    fn keep(&mut self) {
        if let Some(dir) = self.dir.take() {
            self.kept = Some(dir.keep());
        }
    }
}
