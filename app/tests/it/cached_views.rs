//! Kept page views (the response cache, `wiki::plumbing::response_cache`) and the changes only an
//! admin may make: an `#acl` line, and the members of a group an ACL names. Through every gateway
//! on a fresh wiki, whose first account is its admin (the shared suite's scenario,
//! `a_kept_view_shows_every_change_at_once`, covers what any account may change, in e2e too); and
//! through two `quire serve` processes sharing one data directory, each keeping views of its own.

use http::StatusCode;
use tempfile::TempDir;

use crate::drivers::Serve;
use crate::scenarios::register;
use crate::suite::{Browser, Gateway};
use gateway::testing::{TestRequest, TestResponse};

macro_rules! through_every_gateway {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn in_process() { super::$scenario(&crate::drivers::InProcess::start()); }
                #[test]
                fn cgi() { super::$scenario(&crate::drivers::Cgi::start()); }
                #[test]
                fn fastcgi() { super::$scenario(&crate::drivers::FastCgi::start()); }
                #[test]
                fn scgi() { super::$scenario(&crate::drivers::Scgi::start()); }
                #[test]
                fn http() { super::$scenario(&crate::drivers::Http::start()); }
                #[test]
                fn spawned() { super::$scenario(&crate::drivers::Spawned::start()); }
            }
        )*
    };
}

through_every_gateway!(acl_and_group_changes_show_at_once);

/// The page's status for `browser`, asked twice: the second answer may be a kept one.
fn status_twice(browser: &Browser<'_>, page: &str) -> StatusCode {
    let first = browser.get(page);
    let second = browser.get(page);
    assert_eq!(first.status, second.status, "{page}: {}", second.text());
    assert_eq!(first.text(), second.text(), "{page}: a kept view differs");
    second.status
}

fn saved(response: &TestResponse) {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "the save: {}",
        response.text()
    );
}

/// An admin changes who may read a page, by its `#acl` line and then by its group's members; each
/// reader's kept view follows at once.
fn acl_and_group_changes_show_at_once(gw: &dyn Gateway) {
    let boss = Browser::new(gw);
    saved(&register(&boss, "Boss", "the boss's password"));
    let bob = Browser::new(gw);
    saved(&register(&bob, "Bob", "bob's password"));
    let anonymous = Browser::new(gw);

    saved(&boss.save_page("Plans", "the plans\n", None));
    assert_eq!(status_twice(&anonymous, "/Plans"), StatusCode::OK);
    close_by_acl_and_group(&boss, &bob, &anonymous, "Plans", "TeamGroup");

    // A role: the same session's next view shows the admin's links.
    let admin_link = format!("href=\"{}/+admin\"", gw.mount());
    assert_eq!(status_twice(&bob, "/FrontPage"), StatusCode::OK);
    assert!(!bob.get("/FrontPage").text().contains(&admin_link));
    boss.get("/+admin");
    let promoted = boss.post_form(
        "/+admin",
        &[("action", "role"), ("name", "Bob"), ("role", "admin")],
    );
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text());
    let page = bob.get("/FrontPage").text();
    assert!(page.contains(&admin_link), "{page}");
}

/// The admin `boss` closes `page` (revision 1, saved by `boss`, which `anonymous` and `bob` could
/// read) to anonymous readers by an `#acl` line, then to the group page `group` without `bob` in it;
/// then puts him in and takes him out again. The views the readers are given follow each step.
fn close_by_acl_and_group(
    boss: &Browser<'_>,
    bob: &Browser<'_>,
    anonymous: &Browser<'_>,
    page: &str,
    group: &str,
) {
    let path = format!("/{page}");
    assert_eq!(status_twice(bob, &path), StatusCode::OK);
    saved(&boss.save_page(page, "#acl Known:read\nthe words\n", Some(1)));
    assert_eq!(status_twice(anonymous, &path), StatusCode::FORBIDDEN);
    assert_eq!(status_twice(bob, &path), StatusCode::OK);

    saved(&boss.save_page(group, "* Boss\n", None));
    let acl = format!("#acl {group}:read\nthe words\n");
    saved(&boss.save_page(page, &acl, Some(2)));
    assert_eq!(status_twice(bob, &path), StatusCode::FORBIDDEN);
    saved(&boss.save_page(group, "* Boss\n* Bob\n", Some(1)));
    assert_eq!(status_twice(bob, &path), StatusCode::OK);
    saved(&boss.save_page(group, "* Boss\n", Some(2)));
    assert_eq!(status_twice(bob, &path), StatusCode::FORBIDDEN);
    assert_eq!(status_twice(anonymous, &path), StatusCode::FORBIDDEN);
}

/// `quire serve` as a [`Gateway`].
struct Process(Serve);

impl Gateway for Process {
    fn mount(&self) -> &str {
        &self.0.mount
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        crate::suite::http1_send(self.0.addr, self.mount(), &request)
    }
}

/// Two processes on one data directory: every change made through one shows at once in the views
/// the other keeps.
#[test]
fn a_change_through_one_process_shows_in_the_views_another_keeps() {
    let data = TempDir::new().unwrap();
    a_change_through_one_shows_in_the_other(data.path(), data.path());
}

/// Two nodes of one wiki kept in PostgreSQL, each with a data directory of its own (settings,
/// search index, kept views): every change made through one shows at once in the views the other
/// keeps, its render cache and ACL caches included. Run by e2e's `postgres` tests.
#[test]
#[ignore = "needs a PostgreSQL server in QUIRE_TEST_DATABASE; e2e runs it"]
fn on_postgres_a_change_through_one_node_shows_in_the_views_another_keeps() {
    let server = std::env::var("QUIRE_TEST_DATABASE")
        .expect("QUIRE_TEST_DATABASE names the PostgreSQL server to test on");
    let url = storage::testing::postgres_url_in_new_schema(&server).unwrap();
    let nodes = [TempDir::new().unwrap(), TempDir::new().unwrap()];
    for node in &nodes {
        std::fs::write(
            node.path().join("quire.toml"),
            format!("database = {url:?}\n"),
        )
        .unwrap();
    }
    a_change_through_one_shows_in_the_other(nodes[0].path(), nodes[1].path());
}

fn a_change_through_one_shows_in_the_other(writer: &std::path::Path, reader: &std::path::Path) {
    let writer = Process(Serve::start(writer, &[]));
    let reader = Process(Serve::start(reader, &[]));
    let boss = Browser::new(&writer);
    saved(&register(&boss, "Boss", "the boss's password"));
    let bob_writes = Browser::new(&writer);
    saved(&register(&bob_writes, "Bob", "bob's password"));

    let anonymous = Browser::new(&reader);
    let bob = Browser::new(&reader);
    let text = |browser: &Browser<'_>, page: &str| {
        assert_eq!(status_twice(browser, page), StatusCode::OK);
        browser.get(page).text()
    };

    saved(&boss.save_page("Shared", "the first words\n", None));
    assert!(text(&anonymous, "/Shared").contains("the first words"));
    // A save.
    saved(&boss.save_page("Shared", "the second words\n", Some(1)));
    assert!(text(&anonymous, "/Shared").contains("the second words"));
    // Logging in and out, on the reading process.
    assert!(!text(&bob, "/Shared").contains(">Bob</a>"));
    saved(&bob.log_in("Bob", "bob's password"));
    assert!(text(&bob, "/Shared").contains(">Bob</a>"));
    // An #acl line, and a group's members.
    saved(&boss.save_page("Closed", "the words\n", None));
    close_by_acl_and_group(&boss, &bob, &anonymous, "Closed", "CrewGroup");
    // A rename, then a delete.
    let renamed = boss.post_form("/+rename/Shared", &[("new_name", "Moved")]);
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.text());
    assert_eq!(bob.get("/Shared").status, StatusCode::FOUND);
    assert_eq!(status_twice(&bob, "/Moved"), StatusCode::OK);
    let deleted = boss.post_form("/+delete/Moved", &[]);
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
    assert_eq!(bob.get("/Moved").status, StatusCode::GONE);
    // Logging out.
    assert_eq!(bob.post_form("/+logout", &[]).status, StatusCode::SEE_OTHER);
    assert_eq!(status_twice(&bob, "/FrontPage"), StatusCode::OK);
    assert!(!bob.get("/FrontPage").text().contains(">Bob</a>"));
}
