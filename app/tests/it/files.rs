//! Files beyond what every gateway shows (the scenarios): the quota, thumbnails, the editor
//! script's JSON answer, and files in search, in process.

use gateway::testing::TestRequest;
use http::StatusCode;

use crate::drivers::InProcess;
use crate::scenarios::PNG_40X20;
use crate::suite::{eventually, multipart_body, Browser, Gateway};

/// A wiki with `settings` and a page `Files` to attach to.
fn wiki_with_page(settings: &str) -> InProcess {
    let wiki = InProcess::start_with_settings(settings);
    let saved = Browser::new(&wiki).save_page("Files", "Files go here.", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    wiki
}

#[test]
fn past_the_quota_an_upload_is_413_and_the_same_bytes_again_cost_nothing() {
    let wiki = wiki_with_page("upload_quota_bytes = 1000\n");
    let browser = Browser::new(&wiki);
    let first = vec![b'a'; 800];
    assert_eq!(
        browser.upload("Files", &[], &[("a.bin", &first)]).status,
        StatusCode::SEE_OTHER
    );
    let refused = browser.upload("Files", &[], &[("b.bin", &[b'b'; 800])]);
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.text().contains("quota"), "{}", refused.text());
    assert_eq!(wiki.get("/+file/Files/b.bin").status, StatusCode::NOT_FOUND);
    // Content already stored takes no more room, under any name.
    assert_eq!(
        browser.upload("Files", &[], &[("copy.bin", &first)]).status,
        StatusCode::SEE_OTHER
    );
}

#[test]
fn an_image_gets_a_thumbnail_and_other_files_none() {
    let wiki = wiki_with_page("");
    let browser = Browser::new(&wiki);
    let uploaded = browser.upload(
        "Files",
        &[],
        &[("box.png", PNG_40X20), ("notes.txt", b"plain words")],
    );
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER);
    let list = browser.get("/+files/Files").text();
    assert!(list.contains("/+thumbnail/Files/box.png?v=1"), "{list}");
    assert!(!list.contains("/+thumbnail/Files/notes.txt"), "{list}");
    let thumbnail = wiki.get("/+thumbnail/Files/box.png?v=1");
    assert_eq!(thumbnail.status, StatusCode::OK);
    let media_type = thumbnail.header("content-type").unwrap_or_default();
    assert!(
        media_type == "image/png" || media_type == "image/jpeg",
        "{media_type}"
    );
    assert!(thumbnail.body.len() > 8);
    assert_eq!(
        wiki.get("/+thumbnail/Files/notes.txt").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn the_editor_script_gets_json_with_the_markdown_to_insert() {
    let wiki = wiki_with_page("");
    let browser = Browser::new(&wiki);
    let token = browser.csrf_token();
    let (content_type, body) = multipart_body(&token, &[], &[("Screen shot.png", PNG_40X20)]);
    let mut request = TestRequest::get("/+files/Files")
        .with_header("content-type", &content_type)
        .with_header("accept", "application/json")
        .with_header("x-csrf-token", &token);
    request.method = http::Method::POST;
    request.body = body;
    let answer = browser.send(request);
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let text = answer.text();
    assert!(
        text.contains(r#""markdown":"![Screen shot.png](<attachment:Screen shot.png>)""#),
        "{text}"
    );
    assert!(
        text.contains(r#""url":"/+file/Files/Screen%20shot.png""#),
        "{text}"
    );
}

#[test]
fn search_finds_files_by_name_and_text_files_by_content() {
    let wiki = wiki_with_page("");
    let browser = Browser::new(&wiki);
    let uploaded = browser.upload(
        "Files",
        &[],
        &[
            ("quarterly-diagram.png", PNG_40X20),
            (
                "minutes.md",
                b"# Minutes\n\nWe chose the zeppelin option.\n",
            ),
        ],
    );
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER);
    let by_name = eventually(&wiki, "/+search?q=quarterly", |html| {
        html.contains("/+file/Files/quarterly-diagram.png")
    });
    assert!(
        by_name.contains("quarterly-diagram.png on Files"),
        "{by_name}"
    );
    eventually(&wiki, "/+search?q=zeppelin", |html| {
        html.contains("/+file/Files/minutes.md")
    });
    // Deleted, it is no longer found.
    let root = Browser::new(&wiki);
    crate::scenarios::register(&root, "deleter", "deleter's password");
    let deleted = root.post_form("/+deletefile/Files/minutes.md", &[]);
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
    eventually(&wiki, "/+search?q=zeppelin", |html| {
        !html.contains("/+file/Files/minutes.md")
    });
}
