//! Group pages: a page whose name matches `page_group_regex` (by default `.*Group$`) defines a group
//! for ACLs, its top-level bullet items the members (MoinMoin's convention, so that imported ACLs
//! such as `EditorGroup:read,write` keep working). Its members come from the revision log, cached
//! like ACL lines, so a save through any process counts at the next request of every other.

use std::path::Path;
use std::sync::Arc;

use gateway::testing::{TestClient, TestRequest, TestResponse};
use gateway::App;
use http::StatusCode;
use quire::datadir::DataDir;
use storage::{AuditKind, AuditQuery, Role};
use tempfile::TempDir;

use crate::drivers::{client_on, Cgi, InProcess};
use crate::suite::{create_accounts, hidden_value, Browser, Gateway};

const PASSWORD: &str = "correct horse battery staple";

/// The ACL of the page the tests edit: the group writes, everyone reads.
const PLANS: &str = "#acl EditorGroup:read,write All:read\nThe plans.\n";

/// A data directory with `settings` as its quire.toml and the accounts alice, bob, carol, dave
/// (users) and root (admin).
fn data_dir(settings: &str) -> TempDir {
    let data = TempDir::new().unwrap();
    std::fs::write(data.path().join("quire.toml"), settings).unwrap();
    wiki_on(data.path());
    let accounts = [
        ("alice", Role::User),
        ("bob", Role::User),
        ("carol", Role::User),
        ("dave", Role::User),
        ("root", Role::Admin),
    ];
    create_accounts(data.path(), &accounts, PASSWORD);
    data
}

/// A `Wiki` of its own on the data directory at `data` ([`client_on`]).
struct Instance {
    client: TestClient<Arc<dyn App>>,
}

fn wiki_on(data: &Path) -> Instance {
    Instance {
        client: client_on(data),
    }
}

impl Gateway for Instance {
    fn mount(&self) -> &str {
        ""
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        self.client.send(request)
    }
}

fn as_user<'a>(gw: &'a dyn Gateway, name: &str) -> Browser<'a> {
    let browser = Browser::new(gw);
    let response = browser.log_in(name, PASSWORD);
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{name}");
    browser
}

/// Saves `text` as `page` on top of its current revision.
fn save(browser: &Browser<'_>, page: &str, text: &str) -> TestResponse {
    browser.save_with(page, text, "", |form| {
        hidden_value(form, "base_rev").unwrap_or_default()
    })
}

fn saves(browser: &Browser<'_>, page: &str, text: &str) {
    let saved = save(browser, page, text);
    assert_eq!(
        saved.status,
        StatusCode::SEE_OTHER,
        "{page}: {}",
        saved.text()
    );
}

/// Whether `browser`'s account may save the plans (each save changes their text a little). The
/// editor and the save are one route, refused alike.
fn may_edit_plans(browser: &Browser<'_>, who: &str) -> bool {
    let editor = browser.get("/+edit/Plans");
    if editor.status == StatusCode::FORBIDDEN {
        return false;
    }
    let text = format!("{PLANS}Edited by {who}.\n");
    let saved = save(browser, "Plans", &text);
    match saved.status {
        StatusCode::SEE_OTHER => true,
        StatusCode::FORBIDDEN => false,
        other => panic!("{who}: {other} {}", saved.text()),
    }
}

#[test]
fn group_pages_give_their_members_what_acls_give_the_group() {
    for gw in [
        &InProcess::start_in(data_dir("")) as &dyn Gateway,
        &Cgi::start_in(data_dir("")),
    ] {
        let root = as_user(gw, "root");
        saves(&root, "Plans", PLANS);
        saves(
            &root,
            "EditorGroup",
            "The editors:\n\n * alice\n   * not carol\n",
        );
        let alice = as_user(gw, "alice");
        let bob = as_user(gw, "bob");
        let carol = as_user(gw, "carol");
        assert!(may_edit_plans(&alice, "alice"));
        assert!(!may_edit_plans(&bob, "bob"));
        assert!(
            !may_edit_plans(&carol, "carol"),
            "a nested item is no member"
        );

        // The admin adds bob, and a nested group with carol: both count at the next request.
        saves(&root, "EditorGroup", "- alice\n- [[bob]]\n- TeamGroup\n");
        assert!(may_edit_plans(&bob, "bob"));
        assert!(!may_edit_plans(&carol, "carol"));
        saves(&root, "TeamGroup", "- carol\n");
        assert!(may_edit_plans(&carol, "carol"));

        // A deleted group page defines no group.
        let deleted = root.post_form("/+delete/TeamGroup", &[("comment", "")]);
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        assert!(!may_edit_plans(&carol, "carol"));
        assert!(may_edit_plans(&alice, "alice"));
    }
}

#[test]
fn a_writer_may_not_change_a_group_an_acl_names_and_nothing_is_saved() {
    let wiki = InProcess::start_in(data_dir(""));
    let root = as_user(&wiki, "root");
    saves(&root, "Plans", PLANS);
    let members = "- alice\n";
    saves(&root, "EditorGroup", members);
    // alice may write EditorGroup (its default ACL lets anyone logged in), but not change its members.
    let alice = as_user(&wiki, "alice");
    let refused = save(&alice, "EditorGroup", "- alice\n- dave\n");
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert!(refused.text().contains("admin right"), "{}", refused.text());
    assert!(
        refused.text().contains("Nothing was saved"),
        "{}",
        refused.text()
    );
    assert_eq!(alice.get("/+raw/EditorGroup").text(), members);
    let dave = as_user(&wiki, "dave");
    assert!(!may_edit_plans(&dave, "dave"));
    // Words around the list are no change to the group.
    saves(&alice, "EditorGroup", "The editors:\n\n- alice\n");
    for (target, fields) in [
        ("/+delete/EditorGroup", vec![("comment", "")]),
        (
            "/+rename/EditorGroup",
            vec![("new_name", "FormerEditors"), ("comment", "")],
        ),
    ] {
        let refused = alice.post_form(target, &fields);
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{target}: {}",
            refused.text()
        );
        assert!(refused.text().contains("Nothing was"), "{target}");
    }
    // Once an ACL names a group she made, its members are no longer hers to change.
    saves(&alice, "WriterGroup", "- alice\n");
    saves(
        &root,
        "Notes",
        "#acl WriterGroup:read,write ReaderGroup:read All:\nNotes.\n",
    );
    let refused = save(&alice, "WriterGroup", "- alice\n- dave\n");
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    // Nor may she make a group page for a name an ACL gives rights to.
    let refused = save(&alice, "ReaderGroup", "- alice\n");
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(dave.get("/Notes").status, StatusCode::FORBIDDEN);

    // The admin's change is audited with the members.
    saves(&root, "EditorGroup", "- alice\n- dave\n");
    assert!(may_edit_plans(&dave, "dave"));
    let storage = DataDir::locate(Some(wiki.data_dir()))
        .open_storage()
        .unwrap();
    let query = AuditQuery {
        kind: Some(AuditKind::Acl),
        before: None,
        limit: 10,
    };
    let entries = storage.audit_log(&query).unwrap();
    assert!(
        entries
            .iter()
            .any(|entry| entry.target == "EditorGroup" && entry.detail.contains("alice, dave")),
        "{entries:?}"
    );
}

#[test]
fn a_group_page_no_acl_names_is_any_writer_s() {
    let wiki = InProcess::start_in(data_dir(""));
    let alice = as_user(&wiki, "alice");
    saves(&alice, "LonelyGroup", "- alice\n");
    let bob = as_user(&wiki, "bob");
    saves(&bob, "LonelyGroup", "- alice\n- bob\n");
    let deleted = bob.post_form("/+delete/LonelyGroup", &[("comment", "")]);
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
}

/// Two `Wiki`s on one data directory, as CGI processes or FastCGI workers are: each keeps its own
/// ACL map, and a save through one counts at the other's next request.
#[test]
fn a_save_through_one_process_changes_the_other_s_answer() {
    let data = data_dir("");
    let one = wiki_on(data.path());
    let other = wiki_on(data.path());
    let root = as_user(&one, "root");
    saves(&root, "Plans", PLANS);
    saves(&root, "EditorGroup", "- alice\n");
    let bob = as_user(&other, "bob");
    assert!(!may_edit_plans(&bob, "bob"));
    saves(&root, "EditorGroup", "- alice\n- bob\n");
    assert!(may_edit_plans(&bob, "bob"));
    saves(&root, "EditorGroup", "- alice\n");
    assert!(!may_edit_plans(&bob, "bob"));
}

/// The ACL of a page a group of another pattern writes.
const TEAM_NOTES: &str = "#acl TeamEditors:read,write All:read\n";

#[test]
fn the_regex_setting_decides_which_pages_are_groups() {
    let data = data_dir("page_group_regex = \"Team.*\"\n");
    {
        let wiki = wiki_on(data.path());
        let root = as_user(&wiki, "root");
        saves(&root, "Plans", PLANS);
        saves(&root, "EditorGroup", "- alice\n");
        saves(&root, "Notes", &format!("{TEAM_NOTES}Notes.\n"));
        saves(&root, "TeamEditors", "- alice\n");
        let alice = as_user(&wiki, "alice");
        assert!(
            !may_edit_plans(&alice, "alice"),
            "EditorGroup is no group page"
        );
        saves(&alice, "Notes", &format!("{TEAM_NOTES}More notes.\n"));
    }
    // The default again: the scan under the old pattern is dropped and the wiki scanned anew.
    std::fs::write(data.path().join("quire.toml"), "").unwrap();
    let wiki = wiki_on(data.path());
    let alice = as_user(&wiki, "alice");
    assert!(may_edit_plans(&alice, "alice"));
    let refused = alice.get("/+edit/Notes");
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "TeamEditors is no group now"
    );
    // Empty: no group pages at all.
    std::fs::write(data.path().join("quire.toml"), "page_group_regex = \"\"\n").unwrap();
    let wiki = wiki_on(data.path());
    let alice = as_user(&wiki, "alice");
    assert!(!may_edit_plans(&alice, "alice"));
}

#[test]
fn listings_hide_pages_a_viewer_s_group_may_not_read() {
    let wiki = InProcess::start_in(data_dir(""));
    let root = as_user(&wiki, "root");
    saves(
        &root,
        "VaultPlans",
        "#acl EditorGroup:read All:\nThe cellar code.\n",
    );
    saves(&root, "EditorGroup", "- alice\n");
    let alice = as_user(&wiki, "alice");
    let bob = as_user(&wiki, "bob");
    assert!(alice.get("/+recent").text().contains("VaultPlans"));
    assert!(!bob.get("/+recent").text().contains("VaultPlans"));
    assert_eq!(bob.get("/VaultPlans").status, StatusCode::FORBIDDEN);
    assert!(alice.get("/VaultPlans").text().contains("cellar code"));
}
