//! What every gateway must show, written once.
//!
//! Shared with the `e2e` crate, which includes this file and `suite.rs` by
//! path and runs every scenario behind real web servers: keep it free of
//! anything but `crate::suite`, `gateway::testing`, `http` and `flate2`.

use gateway::testing::{TestRequest, TestResponse};
use http::{Method, StatusCode};

use crate::suite::{eventually, post_form, Browser, Gateway, BODY_LIMIT, SESSION_COOKIE};

/// Calls the macro `$callback` with the name of every scenario: the one list
/// each test crate instantiates, so a new scenario runs everywhere.
macro_rules! for_each_scenario {
    ($callback:ident) => {
        $callback! {
            front_page_is_seeded,
            create_edit_and_view,
            old_revision,
            history_lists_revisions,
            diff_between_revisions,
            raw_is_plain_text,
            missing_page_is_404_with_create_link,
            preview_saves_nothing,
            a_preview_or_save_over_a_render_bound_is_422_and_keeps_the_text,
            stale_edit_keeps_the_text,
            unicode_and_subpages,
            recent_changes,
            bad_form_input_is_400,
            body_over_the_limit_is_413,
            non_utf8_path_is_400,
            hostile_markup_is_inert,
            static_assets,
            themes_modes_and_hashed_assets,
            head_has_no_body,
            wrong_method_is_405,
            gzip_when_asked,
            search_finds_saved_pages,
            links_turn_blue_when_the_target_is_created,
            links_turn_red_when_the_target_is_deleted,
            unchanged_page_is_304,
            orphans_and_wanted_pages,
            a_page_shows_its_first_backlinks_and_lists_the_rest,
            interwiki_and_code_highlighting,
            diff_views_blame_and_info,
            revert_restores_an_old_revision,
            rename_leaves_a_redirect,
            delete_and_undelete,
            concurrent_edits_merge_cleanly,
            concurrent_conflicting_edits_lose_nothing,
            recent_changes_filter_and_page,
            feeds_have_absolute_links_under_the_mount,
            register_log_in_and_out,
            all_pages_index_by_prefix_tree_and_page,
            forged_or_missing_csrf_token_is_403,
            altered_session_cookie_is_ignored,
            a_copied_session_cookie_is_dead_after_logout,
            log_out_everywhere_ends_every_session,
            personal_responses_of_every_type_are_private,
            rss_escapes_html_in_comments_and_names,
            robots_and_health_answer_operators,
            sitemap_is_valid_xml_of_live_pages,
            metrics_and_the_audit_log_are_not_for_everyone,
            nfc_and_nfd_names_are_one_page,
            look_alike_and_reserved_names_cannot_register,
            anonymous_saves_adding_many_links_are_refused_with_the_text_kept,
            honeypot_refuses_saves_and_registrations,
            the_owner_logs_in_from_a_known_browser_while_the_account_is_attacked,
            a_trailing_slash_redirects_308,
            refused_actions_are_not_offered_and_their_403_says_what_was_refused,
            an_expired_session_keeps_the_edit,
            files_upload_embed_version_delete_restore,
            upload_over_the_limit_is_413_and_stores_nothing,
            hostile_files_are_stored_safely,
            a_large_file_goes_up_and_down_intact,
            a_kept_view_shows_every_change_at_once,
            drafts_are_offered_back_and_go_with_the_save,
            a_watcher_is_mailed_once_with_the_diff,
            one_section_is_edited_alone_and_the_others_stay_as_they_were,
            section_edits_from_one_base_merge_or_conflict_on_the_whole_text,
            a_new_page_starts_from_a_template_with_its_placeholders_filled_in,
            an_api_token_from_the_preferences_reads_and_writes_pages,
            // Last: its failed logins from one address would throttle the logins of scenarios
            // after it where the suite shares one wiki (e2e).
            eleventh_wrong_password_is_throttled,
        }
    };
}
pub(crate) use for_each_scenario;

/// Saves a page as an anonymous visitor: the editor is fetched first (for the session cookie and the
/// form's CSRF token), then the form is sent, as a browser does.
fn save(gw: &dyn Gateway, page: &str, text: &str, base_rev: Option<u64>) -> TestResponse {
    Browser::new(gw).save_page(page, text, base_rev)
}

/// Saves a page in `browser`'s session (logged in or not).
fn assert_status(response: &TestResponse, status: StatusCode) {
    assert_eq!(
        response.status,
        status,
        "unexpected status; body:\n{}",
        response.text()
    );
}

pub fn front_page_is_seeded(gw: &dyn Gateway) {
    let response = gw.get("/");
    assert_status(&response, StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = response.text();
    assert!(html.contains("Welcome to your wiki"), "{html}");
    assert!(
        html.contains(&format!("href=\"{}/Help/Editing\"", gw.mount())),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{}/+static/", gw.mount())),
        "{html}"
    );
}

pub fn create_edit_and_view(gw: &dyn Gateway) {
    let form = gw.get("/+edit/TeamPage");
    assert_status(&form, StatusCode::OK);
    assert!(form.text().contains("<textarea"), "{}", form.text());

    let saved = save(
        gw,
        "TeamPage",
        "Hello team, see [[FrontPage]] and [[NoSuchPageYet]].",
        None,
    );
    assert_status(&saved, StatusCode::SEE_OTHER);
    assert_eq!(
        saved.header("location"),
        Some(format!("{}/TeamPage", gw.mount()).as_str())
    );

    let view = gw.get("/TeamPage");
    assert_status(&view, StatusCode::OK);
    let html = view.text();
    assert!(html.contains("Hello team"), "{html}");
    let front_link = format!("href=\"{}/FrontPage\"", gw.mount());
    assert!(html.contains(&front_link), "no link {front_link} in {html}");
    assert!(
        html.contains(&format!("href=\"{}/+edit/NoSuchPageYet\"", gw.mount())),
        "{html}"
    );
    assert!(html.contains("wikilink missing"), "{html}");
}

pub fn old_revision(gw: &dyn Gateway) {
    assert_status(
        &save(gw, "Versioned", "first words\n", None),
        StatusCode::SEE_OTHER,
    );
    assert_status(
        &save(gw, "Versioned", "second words\n", Some(1)),
        StatusCode::SEE_OTHER,
    );
    let old = gw.get("/Versioned?rev=1");
    assert_status(&old, StatusCode::OK);
    assert!(old.text().contains("first words"));
    assert!(!old.text().contains("second words"));
    assert!(gw.get("/Versioned").text().contains("second words"));
    assert_status(&gw.get("/Versioned?rev=99"), StatusCode::NOT_FOUND);
}

pub fn history_lists_revisions(gw: &dyn Gateway) {
    save(gw, "Story", "once\n", None);
    save(gw, "Story", "once upon\n", Some(1));
    let history = gw.get("/+history/Story");
    assert_status(&history, StatusCode::OK);
    let html = history.text();
    assert!(
        html.contains(&format!("{}/Story?rev=1", gw.mount())),
        "{html}"
    );
    assert!(
        html.contains(&format!("{}/Story?rev=2", gw.mount())),
        "{html}"
    );
    assert!(
        html.contains(&format!("{}/+diff/Story?from=1&amp;to=2", gw.mount())),
        "{html}"
    );
    assert!(html.contains("a test edit"));
    assert_status(&gw.get("/+history/NeverWritten"), StatusCode::NOT_FOUND);
}

pub fn diff_between_revisions(gw: &dyn Gateway) {
    save(gw, "Changing", "alpha\nbeta\ngamma\n", None);
    save(gw, "Changing", "alpha\nBETA\ngamma\n", Some(1));
    let diff = gw.get("/+diff/Changing?from=1&to=2");
    assert_status(&diff, StatusCode::OK);
    let html = diff.text();
    assert!(html.contains("beta") && html.contains("BETA"), "{html}");
    assert!(html.contains("removed") && html.contains("added"), "{html}");
    assert_status(
        &gw.get("/+diff/Changing?from=1&to=7"),
        StatusCode::NOT_FOUND,
    );
    assert_status(&gw.get("/+diff/Changing?from=x"), StatusCode::BAD_REQUEST);
}

pub fn raw_is_plain_text(gw: &dyn Gateway) {
    let text = "# Title\n\nSome *Markdown* with [[FrontPage]] & <b>tags</b>.\n";
    save(gw, "RawPage", text, None);
    let raw = gw.get("/+raw/RawPage");
    assert_status(&raw, StatusCode::OK);
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(raw.text(), text);
    assert_status(&gw.get("/+raw/NotThere"), StatusCode::NOT_FOUND);
}

pub fn missing_page_is_404_with_create_link(gw: &dyn Gateway) {
    let response = gw.get("/Nobody/Wrote/This");
    assert_status(&response, StatusCode::NOT_FOUND);
    let html = response.text();
    assert!(
        html.contains(&format!("href=\"{}/+edit/Nobody/Wrote/This\"", gw.mount())),
        "{html}"
    );
    assert_status(&gw.get("/+nosuchaction/X"), StatusCode::NOT_FOUND);
}

pub fn preview_saves_nothing(gw: &dyn Gateway) {
    let preview = post_form(
        gw,
        "/+edit/Previewed",
        &[("text", "A **bold** idea"), ("action", "preview")],
    );
    assert_status(&preview, StatusCode::OK);
    assert!(
        preview.text().contains("<strong>bold</strong>"),
        "{}",
        preview.text()
    );
    assert!(
        preview.text().contains("A **bold** idea"),
        "the editor keeps the text"
    );
    assert_status(&gw.get("/+raw/Previewed"), StatusCode::NOT_FOUND);
}

/// Text whose rendering would exceed one of markup's bounds (here a header of 2 000 columns that pads
/// 30 one-cell rows to 62 000 table cells: 16 kB of Markdown) is refused before it costs the
/// server its memory: a preview and a save both answer 422, say which bound, and keep the text.
pub fn a_preview_or_save_over_a_render_bound_is_422_and_keeps_the_text(gw: &dyn Gateway) {
    let header = "|a".repeat(2000);
    let text = format!("{header}\n{}\n{}", "|-".repeat(2000), "|x\n".repeat(30));
    for action in ["preview", "save"] {
        let response = post_form(
            gw,
            "/+edit/Huge/Table",
            &[("text", &text), ("action", action)],
        );
        assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text();
        assert!(html.contains("table cells"), "{action}: {html}");
        assert!(
            html.contains(&header),
            "{action}: the editor keeps the text"
        );
    }
    assert_status(&gw.get("/+raw/Huge/Table"), StatusCode::NOT_FOUND);
}

pub fn stale_edit_keeps_the_text(gw: &dyn Gateway) {
    save(gw, "Busy", "start\n", None);
    save(gw, "Busy", "someone else\n", Some(1));
    let stale = save(gw, "Busy", "my precious words\n", Some(1));
    assert_status(&stale, StatusCode::CONFLICT);
    let html = stale.text();
    assert!(
        html.contains("my precious words"),
        "my text is kept: {html}"
    );
    assert!(html.contains("someone else"), "their text is shown: {html}");
    assert_eq!(
        gw.get("/+raw/Busy").text(),
        "someone else\n",
        "nothing was overwritten"
    );
}

pub fn unicode_and_subpages(gw: &dyn Gateway) {
    let saved = save(
        gw,
        "Café/Menü 日本",
        "Bonjour, [[../Café]] and [[/Détail]]",
        None,
    );
    assert_status(&saved, StatusCode::SEE_OTHER);
    let location = saved.header("location").unwrap_or_default().to_owned();
    assert_eq!(
        location,
        format!("{}/Caf%C3%A9/Men%C3%BC%20%E6%97%A5%E6%9C%AC", gw.mount())
    );
    let view = gw.get("/Café/Menü 日本");
    assert_status(&view, StatusCode::OK);
    let html = view.text();
    assert!(html.contains("Bonjour"), "{html}");
    // The breadcrumb leads back to the parent page.
    assert!(
        html.contains(&format!("href=\"{}/Caf%C3%A9\"", gw.mount())),
        "{html}"
    );
}

pub fn recent_changes(gw: &dyn Gateway) {
    save(gw, "Fresh", "new content\n", None);
    let recent = gw.get("/+recent");
    assert_status(&recent, StatusCode::OK);
    let html = recent.text();
    assert!(
        html.contains(&format!("href=\"{}/Fresh\"", gw.mount())),
        "{html}"
    );
    assert!(html.contains("a test edit"), "{html}");
}

pub fn bad_form_input_is_400(gw: &dyn Gateway) {
    let browser = Browser::new(gw);
    let token = browser.csrf_token();
    // Not UTF-8, so the token cannot be read from the body: it goes in the header, as scripts send it.
    let mut broken =
        TestRequest::post_form("/+edit/Broken", &[]).with_header("x-csrf-token", &token);
    broken.body = b"text=%FF%FE&action=save".to_vec();
    assert_status(&browser.send(broken), StatusCode::BAD_REQUEST);
    let no_text = browser.post_form("/+edit/Broken", &[("comment", "x")]);
    assert_status(&no_text, StatusCode::BAD_REQUEST);
    let bad_base = browser.post_form("/+edit/Broken", &[("text", "x"), ("base_rev", "abc")]);
    assert_status(&bad_base, StatusCode::BAD_REQUEST);
    assert_status(&gw.get("/FrontPage?rev=abc"), StatusCode::BAD_REQUEST);
    assert_status(&gw.get("/+raw/Broken"), StatusCode::NOT_FOUND);
}

pub fn body_over_the_limit_is_413(gw: &dyn Gateway) {
    let big = "x".repeat(BODY_LIMIT as usize + 1);
    let response = post_form(gw, "/+edit/Huge", &[("text", &big)]);
    assert_status(&response, StatusCode::PAYLOAD_TOO_LARGE);
    assert_status(&gw.get("/+raw/Huge"), StatusCode::NOT_FOUND);
}

pub fn non_utf8_path_is_400(gw: &dyn Gateway) {
    let mut request = TestRequest::get("/");
    request.path = b"/Page\xFF".to_vec();
    let response = gw.send(request);
    assert_status(&response, StatusCode::BAD_REQUEST);
    if !gw.server_rejects_non_utf8_paths() {
        assert!(response.text().contains("UTF-8"), "{}", response.text());
    }
}

pub fn hostile_markup_is_inert(gw: &dyn Gateway) {
    let text = "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))";
    save(gw, "Hostile", text, None);
    let html = gw.get("/Hostile").text();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("onerror"), "{html}");
    assert!(!html.contains("javascript:alert"), "{html}");
}

pub fn static_assets(gw: &dyn Gateway) {
    let css = gw.get("/+static/quire.css");
    assert_status(&css, StatusCode::OK);
    assert!(css
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/css"));
    assert!(!css.body.is_empty());
    assert_status(&gw.get("/+static/../quire.toml"), StatusCode::NOT_FOUND);
}

/// `/robots.txt` keeps crawlers off the actions under the mount, and `/+healthz` says the
/// database answers, as JSON, without naming any page.
pub fn robots_and_health_answer_operators(gw: &dyn Gateway) {
    let robots = gw.get("/robots.txt");
    assert_status(&robots, StatusCode::OK);
    assert!(robots
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/plain"));
    let rules = robots.text();
    assert!(rules.contains("User-agent: *"), "{rules}");
    assert!(
        rules.contains(&format!("Disallow: {}/+\n", gw.mount())),
        "{rules}"
    );

    let health = gw.get("/+healthz");
    assert_status(&health, StatusCode::OK);
    assert_eq!(health.header("content-type"), Some("application/json"));
    let health: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["database"], "ok", "{health}");
    assert!(
        health["index_lag"].is_u64() || health["index_lag"].is_null(),
        "{health}"
    );
}

/// `/sitemap.xml` is well-formed sitemaps.org XML listing live pages by absolute URL under the
/// mount, with W3C dates, and leaves out deleted ones; robots.txt names it.
pub fn sitemap_is_valid_xml_of_live_pages(gw: &dyn Gateway) {
    let mapper = Browser::new(gw);
    assert_status(
        &register(&mapper, "Mapper", "mapper's password"),
        StatusCode::SEE_OTHER,
    );
    for page in ["MapShown/Café", "MapGone"] {
        assert_status(
            &mapper.save_page(page, "On the map.\n", None),
            StatusCode::SEE_OTHER,
        );
    }
    assert_status(
        &mapper.post_form("/+delete/MapGone", &[]),
        StatusCode::SEE_OTHER,
    );
    let sitemap = gw.get("/sitemap.xml");
    assert_status(&sitemap, StatusCode::OK);
    assert!(sitemap
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/xml"));
    let xml = sitemap.text();
    assert_well_formed_xml(&xml);
    assert!(
        xml.contains("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"),
        "{xml}"
    );
    let mount = gw.mount();
    let shown = format!("{mount}/MapShown/Caf%C3%A9</loc>");
    let entry = xml
        .split("<url>")
        .find(|entry| entry.contains(&shown))
        .unwrap_or_else(|| panic!("no {shown} in {xml}"));
    let loc = &entry[entry.find("<loc>").unwrap() + 5..];
    assert!(
        loc.starts_with("http://") || loc.starts_with("https://"),
        "{entry}"
    );
    let lastmod = &entry[entry.find("<lastmod>").unwrap() + 9..];
    let lastmod = &lastmod[..lastmod.find('<').unwrap()];
    assert_eq!(lastmod.len(), "2026-01-01T00:00:00Z".len(), "{lastmod}");
    assert!(
        lastmod.as_bytes()[10] == b'T' && lastmod.ends_with('Z'),
        "{lastmod}"
    );
    assert!(!xml.contains("MapGone"), "{xml}");
    assert_status(&gw.get("/sitemap.xml?page=2"), StatusCode::NOT_FOUND);
    let robots = gw.get("/robots.txt").text();
    assert!(
        robots.contains(&format!("{mount}/sitemap.xml\n")) && robots.contains("Sitemap: http"),
        "{robots}"
    );
}

/// `/+metrics` does not exist until `metrics = true`, and the admin page with its audit log is
/// refused to a visitor who is not an admin.
pub fn metrics_and_the_audit_log_are_not_for_everyone(gw: &dyn Gateway) {
    assert_status(&gw.get("/+metrics"), StatusCode::NOT_FOUND);
    let audit = gw.get("/+admin?audit_kind=delete");
    assert_status(&audit, StatusCode::FORBIDDEN);
    assert!(!audit.text().contains("Audit log"), "{}", audit.text());
}

/// Checks that `xml` is well-formed as far as a sitemap needs: one declaration, tags that nest and
/// close, attribute values quoted, and `&` only in the five predefined entities. (The sitemap's unit
/// tests parse it with a real XML parser; this file stays free of one for the e2e crate.)
fn assert_well_formed_xml(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .unwrap_or_else(|| panic!("no XML declaration: {xml}"));
    let mut open: Vec<&str> = Vec::new();
    let mut rest = body;
    let mut roots = 0;
    while let Some(at) = rest.find('<') {
        check_text(&rest[..at], xml);
        let end = rest[at..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag: {xml}"))
            + at;
        let tag = &rest[at + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name), "mismatched </{name}> in {xml}");
        } else {
            let name = tag.split_whitespace().next().unwrap_or_default();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad tag <{tag}> in {xml}"
            );
            assert_eq!(tag.matches('"').count() % 2, 0, "bad quoting in <{tag}>");
            if open.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    check_text(rest, xml);
    assert!(open.is_empty(), "unclosed {open:?} in {xml}");
    assert_eq!(roots, 1, "{xml}");
}

/// Text between tags: no `>` a parser would mind, and no `&` but an entity's.
fn check_text(text: &str, xml: &str) {
    for (at, _) in text.match_indices('&') {
        let entity = &text[at..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|known| entity.starts_with(known)),
            "a bare & in {xml}"
        );
    }
    assert!(!text.contains('>'), "a bare > in {xml}");
}

pub fn themes_modes_and_hashed_assets(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    let page = gw.get("/FrontPage").text();
    assert!(
        page.contains(r#"class="theme-default" data-mode="auto""#),
        "{page}"
    );
    // A preview in another theme, for this page only; unknown names fall back quietly.
    let classic = gw.get("/FrontPage?theme=classic");
    assert_status(&classic, StatusCode::OK);
    let classic = classic.text();
    assert!(classic.contains(r#"class="theme-classic""#), "{classic}");
    assert!(classic.contains("Previewing the <strong>classic</strong> theme"));
    assert!(classic.contains(&format!(r#"href="{mount}/FrontPage">Back to your theme"#)));
    let unknown = gw.get("/FrontPage?theme=..%2Fnope");
    assert_status(&unknown, StatusCode::OK);
    assert!(unknown.text().contains(r#"class="theme-default""#));
    // The mode the toggle stored in a cookie arrives with the page.
    let dark =
        gw.send(TestRequest::get("/FrontPage").with_header("cookie", "a=b; quire_mode=dark"));
    assert!(
        dark.text().contains(r#"data-mode="dark""#),
        "{}",
        dark.text()
    );
    let bogus = gw.send(TestRequest::get("/FrontPage").with_header("cookie", "quire_mode=neon"));
    assert!(bogus.text().contains(r#"data-mode="auto""#));

    // Stylesheets and script by content-hashed URLs under the mount, cached for good.
    for theme in ["default", "classic", "minimal"] {
        let html = gw.get(&format!("/+search?theme={theme}")).text();
        for asset in ["quire.css", "theme.css", "quire.js"] {
            let (stem, ext) = asset.split_once('.').unwrap();
            let prefix = format!("{mount}/+static/{theme}/{stem}.");
            let url = html
                .match_indices(&format!("\"{prefix}"))
                .map(|(at, _)| {
                    let url = &html[at + 1..];
                    &url[..url.find('"').unwrap()]
                })
                .find(|url| url.ends_with(&format!(".{ext}")))
                .unwrap_or_else(|| panic!("{asset} in {html}"));
            // stem . 16 hex digits . ext
            assert_eq!(url.len(), prefix.len() + 17 + ext.len(), "{url}");
            let response = gw.get(&url[mount.len()..]);
            assert_status(&response, StatusCode::OK);
            assert_eq!(
                response.header("cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{url}"
            );
        }
    }
    let plain = gw.get("/+static/classic/theme.css");
    assert_status(&plain, StatusCode::OK);
    assert_eq!(plain.header("cache-control"), Some("public, max-age=3600"));
    assert_status(
        &gw.get("/+static/classic/../quire.toml"),
        StatusCode::NOT_FOUND,
    );
}

pub fn head_has_no_body(gw: &dyn Gateway) {
    let mut request = TestRequest::get("/FrontPage");
    request.method = Method::HEAD;
    let response = gw.send(request);
    assert_status(&response, StatusCode::OK);
    assert!(response.body.is_empty());
}

pub fn wrong_method_is_405(gw: &dyn Gateway) {
    // With the session's token, so that it is the wiki that answers, not the CSRF check.
    let browser = Browser::new(gw);
    let mut request =
        TestRequest::get("/FrontPage").with_header("x-csrf-token", &browser.csrf_token());
    request.method = Method::DELETE;
    let response = browser.send(request);
    assert_status(&response, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
}

pub fn gzip_when_asked(gw: &dyn Gateway) {
    let plain = gw.get("/Help/Markdown");
    let zipped = gw.send(TestRequest::get("/Help/Markdown").with_header("accept-encoding", "gzip"));
    assert_status(&zipped, StatusCode::OK);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&zipped.body[..]),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, plain.text());
    assert!(zipped.body.len() < plain.body.len());
}

pub fn search_finds_saved_pages(gw: &dyn Gateway) {
    let saved = save(
        gw,
        "SearchTarget",
        "The quokka **jumps** over <b>fences</b>. A unique zebrafinch sings.",
        None,
    );
    assert_status(&saved, StatusCode::SEE_OTHER);
    let link = format!("href=\"{}/SearchTarget\"", gw.mount());

    let html = eventually(gw, "/+search?q=quokka", |html| html.contains(&link));
    assert!(html.contains("<mark>quokka</mark>"), "{html}");
    assert!(!html.contains("**"), "markup is stripped: {html}");

    let phrase = gw.get("/+search?q=%22unique+zebrafinch%22").text();
    assert!(phrase.contains(&link), "{phrase}");
    let reversed = gw.get("/+search?q=%22zebrafinch%20unique%22").text();
    assert!(!reversed.contains(&link), "{reversed}");
    let prefix = gw.get("/+search?q=zebra*").text();
    assert!(prefix.contains("<mark>zebrafinch</mark>"), "{prefix}");

    let go_to = gw.get("/+search?q=searchtarget").text();
    assert!(go_to.contains("Go to page"), "{go_to}");
    let missed = gw.get("/+search?q=serchtarget").text();
    assert!(missed.contains("Did you mean"), "{missed}");
    assert!(missed.contains(&link), "{missed}");

    let suggest = gw.get("/+suggest?q=SEARCHT");
    assert_status(&suggest, StatusCode::OK);
    assert_eq!(suggest.header("content-type"), Some("application/json"));
    assert_eq!(
        suggest.text(),
        format!(
            "{{\"query\":\"SEARCHT\",\"pages\":[{{\"name\":\"SearchTarget\",\"url\":\"{}/SearchTarget\"}}]}}",
            gw.mount()
        )
    );

    let empty = gw.get("/+search");
    assert_status(&empty, StatusCode::OK);
    assert!(empty.text().contains("name=\"q\""), "{}", empty.text());
    assert_status(&gw.get("/+search?q=x&page=0"), StatusCode::BAD_REQUEST);
}

pub fn links_turn_blue_when_the_target_is_created(gw: &dyn Gateway) {
    assert_status(
        &save(gw, "LinkSource", "Plans are in [[LinkTarget]].", None),
        StatusCode::SEE_OTHER,
    );
    let create_url = format!("href=\"{}/+edit/LinkTarget\"", gw.mount());
    let view_url = format!("href=\"{}/LinkTarget\"", gw.mount());
    // Twice: the first view renders (and may cache), the second may come from the cache.
    for _ in 0..2 {
        let html = gw.get("/LinkSource").text();
        assert!(html.contains("wikilink missing"), "{html}");
        assert!(html.contains(&create_url), "{html}");
    }

    assert_status(
        &save(gw, "LinkTarget", "The plans.", None),
        StatusCode::SEE_OTHER,
    );
    for _ in 0..2 {
        let html = gw.get("/LinkSource").text();
        assert!(!html.contains("wikilink missing"), "{html}");
        assert!(!html.contains(&create_url), "{html}");
        assert!(html.contains(&view_url), "{html}");
    }

    let target = gw.get("/LinkTarget").text();
    assert!(target.contains("What links here"), "{target}");
    assert!(
        target.contains(&format!("href=\"{}/LinkSource\"", gw.mount())),
        "{target}"
    );
}

/// Issue 5: a cached render of a linking page must not keep a deleted page's link blue, and an
/// undelete turns it blue again.
pub fn links_turn_red_when_the_target_is_deleted(gw: &dyn Gateway) {
    let editor = Browser::new(gw);
    assert_status(
        &register(&editor, "unlinker", "unlinker's password"),
        StatusCode::SEE_OTHER,
    );
    save(gw, "RedTarget", "Here today.", None);
    save(gw, "RedSource", "See [[RedTarget]].", None);
    let create_url = format!("href=\"{}/+edit/RedTarget\"", gw.mount());
    // Twice: the first view renders and caches, the second is served from the cache.
    for _ in 0..2 {
        let html = gw.get("/RedSource").text();
        assert!(!html.contains("wikilink missing"), "{html}");
    }

    let deleted = editor.post_form("/+delete/RedTarget", &[("comment", "gone")]);
    assert_status(&deleted, StatusCode::SEE_OTHER);
    for _ in 0..2 {
        let html = gw.get("/RedSource").text();
        assert!(html.contains("wikilink missing"), "{html}");
        assert!(html.contains(&create_url), "{html}");
    }
    assert!(gw.get("/+wanted").text().contains("RedTarget"));

    let back = editor.post_form("/+undelete/RedTarget", &[]);
    assert_status(&back, StatusCode::SEE_OTHER);
    let html = gw.get("/RedSource").text();
    assert!(!html.contains("wikilink missing"), "{html}");
}

/// Issue 8: a page is revalidated, not re-sent: the second request with the ETag of the first gets
/// a bodiless 304, and the page says it is one reader's (private, varies with the cookie).
pub fn unchanged_page_is_304(gw: &dyn Gateway) {
    save(gw, "Cacheable", "Same as before.", None);
    let first = gw.get("/Cacheable");
    assert_status(&first, StatusCode::OK);
    let etag = first
        .header("etag")
        .expect("pages carry an ETag")
        .to_owned();
    assert_eq!(first.header("cache-control"), Some("private, no-cache"));
    assert!(varies_on_cookie(&first), "{:?}", first.headers);

    let again = gw.send(TestRequest::get("/Cacheable").with_header("if-none-match", &etag));
    assert_status(&again, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    save(gw, "Cacheable", "Changed since.", Some(1));
    let changed = gw.send(TestRequest::get("/Cacheable").with_header("if-none-match", &etag));
    assert_status(&changed, StatusCode::OK);
    assert!(changed.text().contains("Changed since."));
}

pub fn orphans_and_wanted_pages(gw: &dyn Gateway) {
    assert_status(
        &save(gw, "WantingPage", "Someone write [[Wanted Page]].", None),
        StatusCode::SEE_OTHER,
    );
    let wanted = gw.get("/+wanted");
    assert_status(&wanted, StatusCode::OK);
    let html = wanted.text();
    assert!(
        html.contains(&format!("href=\"{}/+edit/Wanted%20Page\"", gw.mount())),
        "{html}"
    );
    let orphans = gw.get("/+orphans");
    assert_status(&orphans, StatusCode::OK);
    let orphan_link = format!("href=\"{}/WantingPage\"", gw.mount());
    assert!(orphans.text().contains(&orphan_link), "{}", orphans.text());
    assert!(
        !orphans
            .text()
            .contains(&format!("href=\"{}/FrontPage\">FrontPage", gw.mount())),
        "the front page is never an orphan: {}",
        orphans.text()
    );

    assert_status(
        &save(
            gw,
            "Wanted Page",
            "Here it is; back to [[WantingPage]].",
            None,
        ),
        StatusCode::SEE_OTHER,
    );
    let html = gw.get("/+wanted").text();
    assert!(!html.contains("Wanted%20Page"), "{html}");
    let html = gw.get("/+orphans").text();
    assert!(!html.contains(&orphan_link), "{html}");
    let recent = gw.get("/+recent").text();
    assert!(
        recent.contains(&format!("href=\"{}/+orphans\"", gw.mount())),
        "{recent}"
    );
}

/// Issue 16: a page view shows the first 50 pages that link to it, by name, and links to
/// `/+backlinks/{Page}`, which lists them all a page at a time (`?after=`, as `/+orphans`).
pub fn a_page_shows_its_first_backlinks_and_lists_the_rest(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    // Logged in: 53 anonymous saves from one address would meet the hourly limit.
    let linker = Browser::new(gw);
    assert_status(
        &register(&linker, "backlinker", "backlinker's password"),
        StatusCode::SEE_OTHER,
    );
    assert_status(
        &linker.save_page("Backlinked", "Linked from many pages.\n", None),
        StatusCode::SEE_OTHER,
    );
    for i in 0..53 {
        let page = format!("Backlinker{i:02}");
        assert_status(
            &linker.save_page(&page, "See [[Backlinked]].\n", None),
            StatusCode::SEE_OTHER,
        );
    }
    let linked_from = |html: &str, i: usize| html.contains(&format!(">Backlinker{i:02}</a>"));

    let view = gw.get("/Backlinked");
    assert_status(&view, StatusCode::OK);
    let view = view.text();
    assert!((0..50).all(|i| linked_from(&view, i)), "{view}");
    assert!(!(50..53).any(|i| linked_from(&view, i)), "{view}");
    let all = href_of(&view, "All pages that link here")
        .unwrap_or_else(|| panic!("no link to every backlink: {view}"));
    assert_eq!(all, format!("{mount}/+backlinks/Backlinked"));

    let listing = gw.get(all.strip_prefix(&mount).unwrap());
    assert_status(&listing, StatusCode::OK);
    let listing = listing.text();
    assert!((0..53).all(|i| linked_from(&listing, i)), "{listing}");
    assert!(href_of(&listing, "More pages").is_none(), "{listing}");
    assert!(href_of(&listing, "First pages").is_none(), "{listing}");

    // After a name: the names after it, and the way back to the first.
    let rest = gw.get("/+backlinks/Backlinked?after=Backlinker49");
    assert_status(&rest, StatusCode::OK);
    let rest = rest.text();
    assert!(!(0..50).any(|i| linked_from(&rest, i)), "{rest}");
    assert!((50..53).all(|i| linked_from(&rest, i)), "{rest}");
    assert_eq!(
        href_of(&rest, "First pages"),
        Some(format!("{mount}/+backlinks/Backlinked").as_str())
    );
    let past = gw.get("/+backlinks/Backlinked?after=Backlinker52").text();
    assert!(past.contains("No more pages link here."), "{past}");

    // A page with few backlinks shows them all, with no link to the listing.
    let one = gw.get("/Backlinker00").text();
    assert!(href_of(&one, "All pages that link here").is_none(), "{one}");
    let none = gw.get("/+backlinks/Backlinker00");
    assert_status(&none, StatusCode::OK);
    assert!(
        none.text().contains("No page links here."),
        "{}",
        none.text()
    );

    // A cursor that cannot be a name is a clear 400, as on `/+orphans`: longer than any name (a
    // control character would do too, but lighttpd refuses it before quire sees it).
    let bad = gw.get(&format!("/+backlinks/Backlinked?after={}", "x".repeat(600)));
    assert_status(&bad, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("after"), "{}", bad.text());
}

pub fn interwiki_and_code_highlighting(gw: &dyn Gateway) {
    let text = "See [[WikiPedia:Rust (programming language)]].\n\n```rust\nfn main() {}\n```\n";
    assert_status(&save(gw, "Dialect", text, None), StatusCode::SEE_OTHER);
    let html = gw.get("/Dialect").text();
    assert!(
        html.contains("href=\"https://en.wikipedia.org/wiki/Rust%20%28programming%20language%29\"")
            || html
                .contains("href=\"https://en.wikipedia.org/wiki/Rust%20(programming%20language)\""),
        "{html}"
    );
    assert!(html.contains("class=\"interwiki\""), "{html}");
    assert!(html.contains("class=\"hl-"), "code is highlighted: {html}");
}

/// POSTs a form to `target` (below the mount).
fn post(gw: &dyn Gateway, target: &str, fields: &[(&str, &str)]) -> TestResponse {
    post_form(gw, target, fields)
}

/// A save with a comment of one's own (so a test can tell edits apart).
fn save_as(
    gw: &dyn Gateway,
    page: &str,
    text: &str,
    base_rev: Option<u64>,
    comment: &str,
) -> TestResponse {
    let base = base_rev.map(|rev| rev.to_string()).unwrap_or_default();
    post(
        gw,
        &format!("/+edit/{page}"),
        &[
            ("text", text),
            ("comment", comment),
            ("base_rev", &base),
            ("action", "save"),
        ],
    )
}

pub fn diff_views_blame_and_info(gw: &dyn Gateway) {
    save(gw, "Words", "the quick brown fox\nstays\n", None);
    save(gw, "Words", "the quick red fox\nstays\nand more\n", Some(1));
    let unified = gw.get("/+diff/Words?from=1&to=2");
    assert_status(&unified, StatusCode::OK);
    let html = unified.text();
    assert!(
        html.contains("<del>brown</del>"),
        "word-level removal: {html}"
    );
    assert!(
        html.contains("<ins>red</ins>"),
        "word-level addition: {html}"
    );
    let side = gw.get("/+diff/Words?from=1&to=2&view=side");
    assert_status(&side, StatusCode::OK);
    assert!(side.text().contains("side-by-side"), "{}", side.text());
    assert_status(
        &gw.get("/+diff/Words?view=sideways"),
        StatusCode::BAD_REQUEST,
    );

    let history = gw.get("/+history/Words").text();
    assert!(
        history.contains(&format!("{}/+diff/Words?from=1&amp;to=2", gw.mount())),
        "diff against current: {history}"
    );

    let blame = gw.get("/+blame/Words");
    assert_status(&blame, StatusCode::OK);
    let html = blame.text();
    assert!(
        html.contains(&format!("href=\"{}/Words?rev=1\"", gw.mount())),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{}/Words?rev=2\"", gw.mount())),
        "{html}"
    );
    assert!(html.contains("and more"), "{html}");
    assert_status(&gw.get("/+blame/NoSuchWords"), StatusCode::NOT_FOUND);

    let info = gw.get("/+info/Words");
    assert_status(&info, StatusCode::OK);
    assert!(info.text().contains("Revisions"), "{}", info.text());
    assert_status(&gw.get("/+info/NoSuchWords"), StatusCode::NOT_FOUND);
    // Blame and info for everyone; renaming and deleting (which the default ACL gives to accounts)
    // only for those who may.
    let link = |action: &str| format!("href=\"{}/+{action}/Words\"", gw.mount());
    let view = gw.get("/Words").text();
    for action in ["blame", "info"] {
        assert!(
            view.contains(&link(action)),
            "page bar lacks {}: {view}",
            link(action)
        );
    }
    for action in ["rename", "delete"] {
        assert!(
            !view.contains(&link(action)),
            "{action} offered to anonymous: {view}"
        );
    }
    let editor = Browser::new(gw);
    register(&editor, "wordsmith", "wordsmith's password");
    let view = editor.get("/Words").text();
    for action in ["blame", "info", "rename", "delete"] {
        assert!(
            view.contains(&link(action)),
            "page bar lacks {}: {view}",
            link(action)
        );
    }
}

pub fn revert_restores_an_old_revision(gw: &dyn Gateway) {
    save(gw, "Reverted", "good text\n", None);
    save(gw, "Reverted", "vandalism\n", Some(1));
    let history = gw.get("/+history/Reverted").text();
    let revert_url = format!("{}/+revert/Reverted?rev=1", gw.mount());
    assert!(history.contains(&revert_url), "{history}");
    let old = gw.get("/Reverted?rev=1").text();
    assert!(
        old.contains(&revert_url),
        "the old revision offers a revert: {old}"
    );

    let reverted = post(gw, "/+revert/Reverted?rev=1", &[]);
    assert_status(&reverted, StatusCode::SEE_OTHER);
    assert_eq!(
        reverted.header("location"),
        Some(format!("{}/Reverted", gw.mount()).as_str())
    );
    assert_eq!(gw.get("/+raw/Reverted").text(), "good text\n");
    let history = gw.get("/+history/Reverted").text();
    assert!(history.contains("Reverted to r1"), "{history}");
    assert!(
        history.contains(&format!("{}/Reverted?rev=3", gw.mount())),
        "{history}"
    );
    // The vandalism is still in the history: nothing is lost.
    assert_eq!(gw.get("/+raw/Reverted?rev=2").text(), "vandalism\n");

    assert_status(
        &gw.get("/+revert/Reverted?rev=1"),
        StatusCode::METHOD_NOT_ALLOWED,
    );
    assert_status(
        &post(gw, "/+revert/Reverted?rev=9", &[]),
        StatusCode::NOT_FOUND,
    );
    assert_status(&post(gw, "/+revert/Reverted", &[]), StatusCode::BAD_REQUEST);
    assert_status(
        &post(gw, "/+revert/NoSuchRevert?rev=1", &[]),
        StatusCode::NOT_FOUND,
    );
}

pub fn rename_leaves_a_redirect(gw: &dyn Gateway) {
    // Renaming and deleting need the delete right, which the default ACL gives accounts only.
    let editor = Browser::new(gw);
    assert_status(
        &register(&editor, "renamer", "renamer's password"),
        StatusCode::SEE_OTHER,
    );
    save(gw, "OldName", "the parent\n", None);
    save(gw, "OldName/Child", "the child\n", None);
    save(gw, "Occupied", "taken\n", None);
    let form = editor.get("/+rename/OldName");
    assert_status(&form, StatusCode::OK);
    assert!(form.text().contains("name=\"new_name\""), "{}", form.text());

    let taken = editor.post_form("/+rename/OldName", &[("new_name", "Occupied")]);
    assert_status(&taken, StatusCode::CONFLICT);
    assert!(taken.text().contains("already a page"), "{}", taken.text());
    assert_status(
        &editor.post_form("/+rename/OldName", &[("new_name", "a//b")]),
        StatusCode::BAD_REQUEST,
    );

    let renamed = editor.post_form(
        "/+rename/OldName",
        &[
            ("new_name", "NewName"),
            ("with_subpages", "1"),
            ("comment", "tidy up"),
        ],
    );
    assert_status(&renamed, StatusCode::SEE_OTHER);
    assert_eq!(
        renamed.header("location"),
        Some(format!("{}/NewName", gw.mount()).as_str())
    );
    assert_eq!(gw.get("/+raw/NewName").text(), "the parent\n");
    assert_eq!(gw.get("/+raw/NewName/Child").text(), "the child\n");

    let old = gw.get("/OldName");
    assert_status(&old, StatusCode::FOUND);
    assert_eq!(
        old.header("location"),
        Some(format!("{}/NewName?redirected_from=OldName", gw.mount()).as_str())
    );
    let landed = gw.get("/NewName?redirected_from=OldName").text();
    assert!(landed.contains("Redirected from OldName"), "{landed}");
    let child = gw.get("/OldName/Child");
    assert_status(&child, StatusCode::FOUND);
    let history = gw.get("/+history/NewName").text();
    assert!(history.contains("tidy up"), "{history}");
}

pub fn delete_and_undelete(gw: &dyn Gateway) {
    // Renaming and deleting need the delete right, which the default ACL gives accounts only.
    let editor = Browser::new(gw);
    assert_status(
        &register(&editor, "deleter", "deleter's password"),
        StatusCode::SEE_OTHER,
    );
    save(gw, "Doomed", "short-lived\n", None);
    let confirm = editor.get("/+delete/Doomed");
    assert_status(&confirm, StatusCode::OK);
    assert!(
        confirm.text().contains("method=\"post\""),
        "{}",
        confirm.text()
    );

    let deleted = editor.post_form("/+delete/Doomed", &[("comment", "obsolete")]);
    assert_status(&deleted, StatusCode::SEE_OTHER);
    let gone = gw.get("/Doomed");
    assert_status(&gone, StatusCode::GONE);
    let undelete_url = format!("{}/+undelete/Doomed", gw.mount());
    assert!(gone.text().contains(&undelete_url), "{}", gone.text());
    assert_status(&gw.get("/+raw/Doomed"), StatusCode::NOT_FOUND);
    assert_status(
        &editor.post_form("/+delete/Doomed", &[]),
        StatusCode::NOT_FOUND,
    );
    let recent = gw.get("/+recent").text();
    assert!(recent.contains("obsolete"), "{recent}");

    let back = editor.post_form("/+undelete/Doomed", &[]);
    assert_status(&back, StatusCode::SEE_OTHER);
    assert_eq!(gw.get("/+raw/Doomed").text(), "short-lived\n");
    assert_status(
        &editor.post_form("/+undelete/Doomed", &[]),
        StatusCode::NOT_FOUND,
    );
    assert_status(
        &editor.post_form("/+delete/NeverThere", &[]),
        StatusCode::NOT_FOUND,
    );
}

const MERGE_BASE: &str = "alpha\nbeta\ngamma\ndelta\nepsilon\n";

pub fn concurrent_edits_merge_cleanly(gw: &dyn Gateway) {
    save(gw, "Shared", MERGE_BASE, None);
    // Both opened the editor at revision 1; Bob saves first.
    let bob = save_as(
        gw,
        "Shared",
        "alpha\nbeta\ngamma\ndelta\nEPSILON by bob\n",
        Some(1),
        "bob",
    );
    assert_status(&bob, StatusCode::SEE_OTHER);
    let alice = save_as(
        gw,
        "Shared",
        "ALPHA by alice\nbeta\ngamma\ndelta\nepsilon\n",
        Some(1),
        "alice",
    );
    assert_status(&alice, StatusCode::SEE_OTHER);
    let location = alice.header("location").unwrap_or_default().to_owned();
    assert_eq!(location, format!("{}/Shared?merged=3", gw.mount()));
    assert_eq!(
        gw.get("/+raw/Shared").text(),
        "ALPHA by alice\nbeta\ngamma\ndelta\nEPSILON by bob\n"
    );
    let told = gw.get("/Shared?merged=3").text();
    assert!(told.contains("merged"), "{told}");
}

pub fn concurrent_conflicting_edits_lose_nothing(gw: &dyn Gateway) {
    save(gw, "Contested", MERGE_BASE, None);
    let bob = save_as(
        gw,
        "Contested",
        "alpha\nbeta\ngamma by bob\ndelta\nepsilon\n",
        Some(1),
        "bob",
    );
    assert_status(&bob, StatusCode::SEE_OTHER);
    let alice = save_as(
        gw,
        "Contested",
        "alpha\nbeta\ngamma by alice\ndelta\nepsilon\n",
        Some(1),
        "alice",
    );
    assert_status(&alice, StatusCode::CONFLICT);
    let html = alice.text();
    assert!(
        html.contains("&lt;&lt;&lt;&lt;&lt;&lt;&lt; your text"),
        "markers: {html}"
    );
    assert!(html.contains("gamma by alice"), "{html}");
    assert!(html.contains("gamma by bob"), "{html}");
    assert!(
        html.contains("name=\"base_rev\" value=\"2\""),
        "the retry is based on bob's: {html}"
    );
    assert_eq!(
        gw.get("/+raw/Contested").text(),
        "alpha\nbeta\ngamma by bob\ndelta\nepsilon\n",
        "nothing was overwritten"
    );
    // Alice resolves and saves on top of Bob's revision.
    let resolved = save_as(
        gw,
        "Contested",
        "alpha\nbeta\nboth gammas\ndelta\nepsilon\n",
        Some(2),
        "alice",
    );
    assert_status(&resolved, StatusCode::SEE_OTHER);
    assert_eq!(
        gw.get("/+raw/Contested").text(),
        "alpha\nbeta\nboth gammas\ndelta\nepsilon\n"
    );
}

pub fn recent_changes_filter_and_page(gw: &dyn Gateway) {
    save_as(gw, "Filtered/One", "one\n", None, "first of the filtered");
    save_as(gw, "Elsewhere", "two\n", None, "not in the filter");
    let html = gw.get("/+recent?prefix=Filtered%2F").text();
    assert!(html.contains("first of the filtered"), "{html}");
    assert!(!html.contains("not in the filter"), "{html}");
    let recent = gw.get("/+recent").text();
    // The author links to their contributions.
    let marker = format!("class=\"author\" href=\"{}/+contributions/", gw.mount());
    let start = recent
        .find(&marker)
        .unwrap_or_else(|| panic!("no contributions link: {recent}"));
    let href_start = start + "class=\"author\" href=\"".len();
    let href_end = href_start + recent[href_start..].find('"').unwrap();
    let href = recent[href_start..href_end].replace("&amp;", "&");
    let target = href.strip_prefix(gw.mount()).unwrap();
    let contributions = gw.get(target);
    assert_status(&contributions, StatusCode::OK);
    assert!(
        contributions.text().contains("Contributions of"),
        "{}",
        contributions.text()
    );
    assert_status(&gw.get("/+recent?before=abc"), StatusCode::BAD_REQUEST);
    // A cursor past everything is an empty page, not an error.
    assert_status(&gw.get("/+recent?before=1"), StatusCode::OK);
}

pub fn feeds_have_absolute_links_under_the_mount(gw: &dyn Gateway) {
    save_as(
        gw,
        "FeedPage",
        "news & <notes>\n",
        None,
        "a <fresh> & \"quoted\" comment",
    );
    let view = gw.get("/FeedPage").text();
    for href in ["/+feed/atom", "/+feed/rss", "/+feed/atom/FeedPage"] {
        let link = format!("href=\"{}{href}\"", gw.mount());
        assert!(view.contains(&link), "no alternate {link}: {view}");
    }
    assert!(
        view.contains("rel=\"alternate\" type=\"application/atom+xml\""),
        "{view}"
    );

    let atom = gw.get("/+feed/atom");
    assert_status(&atom, StatusCode::OK);
    assert_eq!(
        atom.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let xml = atom.text();
    assert!(xml.contains("<feed"), "{xml}");
    let entry_id = format!("{}/FeedPage?rev=1</id>", gw.mount());
    assert!(xml.contains(&entry_id), "{xml}");
    assert!(xml.contains("://"), "absolute links: {xml}");
    assert!(xml.contains("a &lt;fresh&gt; &amp;"), "escaped: {xml}");

    let rss = gw.get("/+feed/rss/FeedPage");
    assert_status(&rss, StatusCode::OK);
    assert_eq!(
        rss.header("content-type"),
        Some("application/rss+xml; charset=utf-8")
    );
    let xml = rss.text();
    assert!(xml.contains("<rss version=\"2.0\""), "{xml}");
    assert!(
        xml.contains(&format!("{}/FeedPage?rev=1</guid>", gw.mount())),
        "{xml}"
    );
    assert_status(&gw.get("/+feed/atom/NoSuchFeedPage"), StatusCode::NOT_FOUND);
    assert_status(&gw.get("/+feed/json"), StatusCode::NOT_FOUND);
}

/// Creates an account on `/+register` in `browser`'s session, which is then logged in.
pub(crate) fn register(browser: &Browser<'_>, name: &str, password: &str) -> TestResponse {
    assert_status(&browser.get("/+register"), StatusCode::OK);
    browser.post_form(
        "/+register",
        &[
            ("name", name),
            ("display_name", ""),
            ("email", ""),
            ("password", password),
            ("password2", password),
        ],
    )
}

/// Whether `html` is a page drawn for a logged-in account (its header has the logout form).
fn logged_in(gw: &dyn Gateway, html: &str) -> bool {
    html.contains(&format!("action=\"{}/+logout\"", gw.mount()))
}

pub fn register_log_in_and_out(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    // The wiki's first account is its admin (`first_hour`); Alice is an ordinary one.
    register(&Browser::new(gw), "Founder", "the founder's password");
    let alice = Browser::new(gw);
    let registered = register(&alice, "Alice", "correct horse battery");
    assert_status(&registered, StatusCode::SEE_OTHER);
    assert_eq!(
        registered.header("location"),
        Some(format!("{mount}/").as_str())
    );
    assert!(alice.cookie(SESSION_COOKIE).is_some());
    let page = alice.get("/FrontPage").text();
    assert!(logged_in(gw, &page), "{page}");
    assert!(page.contains(&format!("href=\"{mount}/+prefs\"")), "{page}");

    // Her edits name her account.
    assert_status(
        &alice.save_page("Signed", "by alice\n", None),
        StatusCode::SEE_OTHER,
    );
    let history = gw.get("/+history/Signed").text();
    assert!(history.contains("Alice"), "{history}");

    // The name is taken in any spelling; the form keeps what was typed.
    let taken = register(&Browser::new(gw), "ALICE", "another password");
    assert_status(&taken, StatusCode::CONFLICT);
    assert!(
        taken.text().contains("already an account"),
        "{}",
        taken.text()
    );

    // Logging out ends the session.
    let out = alice.post_form("/+logout", &[]);
    assert_status(&out, StatusCode::SEE_OTHER);
    let page = alice.get("/FrontPage").text();
    assert!(!logged_in(gw, &page), "{page}");
    assert!(page.contains(&format!("href=\"{mount}/+login")), "{page}");

    // A wrong password and an unknown name are answered alike.
    let wrong = alice.log_in("alice", "not her password");
    let unknown = alice.log_in("nobody", "not her password");
    assert_status(&wrong, StatusCode::FORBIDDEN);
    assert_status(&unknown, StatusCode::FORBIDDEN);
    assert!(wrong.text().contains("Wrong name or password."));
    assert!(unknown.text().contains("Wrong name or password."));
    assert!(
        !wrong.text().contains("not her password"),
        "a password is never echoed"
    );

    // Logging in (any case of the name) renews the session's CSRF token and goes back to `next`.
    let before = alice.csrf_token();
    assert_status(&alice.get("/+login"), StatusCode::OK);
    let back = alice.post_form(
        "/+login",
        &[
            ("name", "ALICE"),
            ("password", "correct horse battery"),
            ("next", &format!("{mount}/Signed")),
        ],
    );
    assert_status(&back, StatusCode::SEE_OTHER);
    assert_eq!(
        back.header("location"),
        Some(format!("{mount}/Signed").as_str())
    );
    assert!(logged_in(gw, &alice.get("/Signed").text()));
    assert_ne!(
        alice.csrf_token(),
        before,
        "a login replaces the CSRF token"
    );

    // `next` outside the wiki is not followed.
    let elsewhere = alice.post_form(
        "/+login",
        &[
            ("name", "alice"),
            ("password", "correct horse battery"),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!(
        elsewhere.header("location"),
        Some(format!("{mount}/").as_str())
    );
}

/// The `href` of the link whose text is `label`.
fn href_of<'a>(html: &'a str, label: &str) -> Option<&'a str> {
    let end = html.find(&format!(">{label}</a>"))?;
    let tag = &html[html[..end].rfind("<a ")?..end];
    let start = tag.find("href=\"")? + "href=\"".len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

pub fn all_pages_index_by_prefix_tree_and_page(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    for page in ["Idx/Alpha", "Idx/Beta", "Idx/Gamma/Deep"] {
        assert_status(
            &save_as(gw, page, "indexed\n", None, "for the index"),
            StatusCode::SEE_OTHER,
        );
    }
    // Every page links the index.
    let front = gw.get("/FrontPage").text();
    assert!(
        front.contains(&format!("href=\"{mount}/+index\">All pages</a>")),
        "{front}"
    );
    let all = gw.get("/+index");
    assert_status(&all, StatusCode::OK);
    let all = all.text();
    for name in ["FrontPage", "Idx/Alpha", "Idx/Gamma/Deep"] {
        assert!(all.contains(&format!(">{name}</a>")), "{name}: {all}");
    }

    // A prefix narrows it. (What a reader may not read is left out: the ACL matrix, `acl.rs`,
    // asks `/+index` for every role and page through every gateway.)
    let idx = gw.get("/+index?prefix=Idx%2F").text();
    assert!(idx.contains(">Idx/Alpha</a>"), "{idx}");
    assert!(!idx.contains(">FrontPage</a>"), "{idx}");

    // Two names a page: the next page starts after the last name shown.
    let first = gw.get("/+index?prefix=Idx%2F&count=2").text();
    assert!(
        first.contains(">Idx/Alpha</a>") && first.contains(">Idx/Beta</a>"),
        "{first}"
    );
    assert!(!first.contains(">Idx/Gamma/Deep</a>"), "{first}");
    let next = href_of(&first, "More pages")
        .unwrap_or_else(|| panic!("no next page: {first}"))
        .replace("&amp;", "&");
    let second = gw.get(next.strip_prefix(&mount).unwrap()).text();
    assert!(second.contains(">Idx/Gamma/Deep</a>"), "{second}");
    assert!(!second.contains(">Idx/Alpha</a>"), "{second}");
    assert!(href_of(&second, "More pages").is_none(), "{second}");

    // The tree nests subpages; a segment that is no page links to its own subtree.
    let tree = gw.get("/+index?prefix=Idx%2F&view=tree").text();
    assert!(
        tree.contains(&format!(
            "href=\"{mount}/+index?prefix=Idx%2FGamma%2F&amp;view=tree\">Gamma/</a>"
        )),
        "{tree}"
    );
    assert!(tree.contains(">Deep</a>"), "{tree}");

    assert_status(&gw.get("/+index?view=grid"), StatusCode::BAD_REQUEST);
    assert_status(&gw.get("/+index?count=0"), StatusCode::BAD_REQUEST);
}

pub fn forged_or_missing_csrf_token_is_403(gw: &dyn Gateway) {
    let edit = [("text", "spam"), ("action", "save")];
    // No session and no token: a form sent by another site to a first-time visitor.
    let bare = gw.send(TestRequest::post_form("/+edit/Forged", &edit));
    assert_status(&bare, StatusCode::FORBIDDEN);
    // The victim's own session cookie, but no token, or another session's token.
    let victim = Browser::new(gw);
    assert_status(
        &register(&victim, "victim", "victim's password"),
        StatusCode::SEE_OTHER,
    );
    let missing = victim.send(TestRequest::post_form("/+edit/Forged", &edit));
    assert_status(&missing, StatusCode::FORBIDDEN);
    let foreign = Browser::new(gw).csrf_token();
    let mut forged_fields = edit.to_vec();
    forged_fields.push(("csrf_token", &foreign));
    let forged = victim.send(TestRequest::post_form("/+edit/Forged", &forged_fields));
    assert_status(&forged, StatusCode::FORBIDDEN);
    let forged_logout = victim.send(TestRequest::post_form(
        "/+logout",
        &[("csrf_token", &foreign)],
    ));
    assert_status(&forged_logout, StatusCode::FORBIDDEN);
    // Nothing changed: no page, and the victim is still logged in.
    assert_status(&gw.get("/+raw/Forged"), StatusCode::NOT_FOUND);
    assert!(logged_in(gw, &victim.get("/FrontPage").text()));
    // With the token of the victim's own form, the same edit goes through.
    assert_status(
        &victim.save_page("Forged", "real\n", None),
        StatusCode::SEE_OTHER,
    );
}

pub fn altered_session_cookie_is_ignored(gw: &dyn Gateway) {
    let carol = Browser::new(gw);
    assert_status(
        &register(&carol, "carol", "carol's password"),
        StatusCode::SEE_OTHER,
    );
    assert!(logged_in(gw, &carol.get("/FrontPage").text()));
    let token = carol.csrf_token();
    let cookie = carol.cookie(SESSION_COOKIE).unwrap();
    let mut bytes = cookie.into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    carol.set_cookie(SESSION_COOKIE, &String::from_utf8(bytes).unwrap());
    // The altered cookie counts as none: anonymous, and the old token is worth nothing.
    let page = carol.get("/FrontPage");
    assert_status(&page, StatusCode::OK);
    assert!(!logged_in(gw, &page.text()), "{}", page.text());
    let stale = carol.send(TestRequest::post_form(
        "/+edit/Tampered",
        &[("text", "x"), ("action", "save"), ("csrf_token", &token)],
    ));
    assert_status(&stale, StatusCode::FORBIDDEN);
    assert_status(&gw.get("/+raw/Tampered"), StatusCode::NOT_FOUND);
}

/// A request carrying `cookie` as its whole `Cookie` header, as a thief who copied it sends it:
/// nothing a response sets is kept, so every request shows the copy as it was taken.
fn with_copied_cookie(request: TestRequest, cookie: &str) -> TestRequest {
    request.with_header("cookie", &format!("{SESSION_COOKIE}={cookie}"))
}

pub fn a_copied_session_cookie_is_dead_after_logout(gw: &dyn Gateway) {
    let ivy = Browser::new(gw);
    assert_status(
        &register(&ivy, "ivy", "ivy's password"),
        StatusCode::SEE_OTHER,
    );
    // The thief takes the cookie and the CSRF token of a form the session was served.
    assert_status(&ivy.get("/+edit/Stolen"), StatusCode::OK);
    let token = ivy.csrf_token();
    let copied = ivy.cookie(SESSION_COOKIE).unwrap();
    let before = gw.send(with_copied_cookie(TestRequest::get("/FrontPage"), &copied));
    assert!(
        logged_in(gw, &before.text()),
        "the copy works while ivy is logged in"
    );

    assert_status(&ivy.post_form("/+logout", &[]), StatusCode::SEE_OTHER);

    // After the logout the copy is anonymous, in every process...
    let page = gw.send(with_copied_cookie(TestRequest::get("/FrontPage"), &copied));
    assert_status(&page, StatusCode::OK);
    assert!(!logged_in(gw, &page.text()), "{}", page.text());
    let prefs = gw.send(with_copied_cookie(TestRequest::get("/+prefs"), &copied));
    assert!(
        !prefs.text().contains("Change your password"),
        "{}",
        prefs.text()
    );
    // ...and what it saves is not ivy's: this wiki takes anonymous edits, so the save is
    // attributed to the address, never to the account.
    let saved = gw.send(with_copied_cookie(
        TestRequest::post_form(
            "/+edit/Stolen",
            &[
                ("text", "stolen words\n"),
                ("comment", "by the thief"),
                ("action", "save"),
                ("csrf_token", &token),
            ],
        ),
        &copied,
    ));
    assert_status(&saved, StatusCode::SEE_OTHER);
    let history = gw.get("/+history/Stolen").text();
    assert!(history.contains("by the thief"), "{history}");
    assert!(
        !history.contains("ivy"),
        "saved as ivy after her logout: {history}"
    );
    // Ivy herself can log in again: a new session, not the dead one.
    assert_status(&ivy.log_in("ivy", "ivy's password"), StatusCode::SEE_OTHER);
    assert!(logged_in(gw, &ivy.get("/FrontPage").text()));
    let still_dead = gw.send(with_copied_cookie(TestRequest::get("/FrontPage"), &copied));
    assert!(!logged_in(gw, &still_dead.text()), "{}", still_dead.text());
}

pub fn log_out_everywhere_ends_every_session(gw: &dyn Gateway) {
    let laptop = Browser::new(gw);
    assert_status(
        &register(&laptop, "judy", "judy's password"),
        StatusCode::SEE_OTHER,
    );
    let phone = Browser::new(gw);
    assert_status(
        &phone.log_in("judy", "judy's password"),
        StatusCode::SEE_OTHER,
    );
    assert!(logged_in(gw, &phone.get("/FrontPage").text()));

    let prefs = laptop.get("/+prefs").text();
    assert!(prefs.contains("value=\"logout_everywhere\""), "{prefs}");
    let ended = laptop.post_form("/+prefs", &[("action", "logout_everywhere")]);
    assert_status(&ended, StatusCode::OK);
    assert!(
        ended.text().contains("You are logged out everywhere."),
        "{}",
        ended.text()
    );
    assert!(!logged_in(gw, &ended.text()), "{}", ended.text());
    // Both sessions have ended: the one it was sent from and the other browser's.
    assert!(!logged_in(gw, &laptop.get("/FrontPage").text()));
    assert!(!logged_in(gw, &phone.get("/FrontPage").text()));
    // Anonymous readers have nothing to log out of.
    let anonymous = Browser::new(gw);
    assert_status(&anonymous.get("/+prefs"), StatusCode::OK);
    assert_status(
        &anonymous.post_form("/+prefs", &[("action", "logout_everywhere")]),
        StatusCode::FORBIDDEN,
    );
    // A new login works.
    assert_status(
        &phone.log_in("judy", "judy's password"),
        StatusCode::SEE_OTHER,
    );
    assert!(logged_in(gw, &phone.get("/FrontPage").text()));
}

/// The owner of an account someone is guessing at still gets in: a browser that logged in to the
/// account before carries its device cookie, and a login with it is checked while the account is
/// throttled; the guesser, without one, is refused even the right password. All from one address,
/// as behind a shared proxy. Its failed logins stay below the per-address limit, so scenarios after
/// it are not throttled.
pub fn the_owner_logs_in_from_a_known_browser_while_the_account_is_attacked(gw: &dyn Gateway) {
    let owner = Browser::new(gw);
    assert_status(
        &register(&owner, "erin", "erin's own password"),
        StatusCode::SEE_OTHER,
    );
    assert!(
        owner.cookie("quire_device").is_some(),
        "registering remembers the browser"
    );
    assert_status(&owner.post_form("/+logout", &[]), StatusCode::SEE_OTHER);
    let attacker = Browser::new(gw);
    let throttled = loop {
        let guess = attacker.log_in("erin", "a guess");
        if guess.status == StatusCode::TOO_MANY_REQUESTS {
            break guess;
        }
        assert_status(&guess, StatusCode::FORBIDDEN);
    };
    assert!(
        throttled
            .text()
            .contains("Log in from a browser you have logged in from before"),
        "{}",
        throttled.text()
    );
    // Not even the right password is checked without the device cookie.
    assert_status(
        &attacker.log_in("erin", "erin's own password"),
        StatusCode::TOO_MANY_REQUESTS,
    );
    // The owner's browser still gets in, and a mistyped password there is checked (403, not 429).
    assert_status(&owner.log_in("erin", "a typo"), StatusCode::FORBIDDEN);
    assert_status(
        &owner.log_in("erin", "erin's own password"),
        StatusCode::SEE_OTHER,
    );
    assert!(logged_in(gw, &owner.get("/FrontPage").text()));
    assert!(!logged_in(gw, &attacker.get("/FrontPage").text()));
}

/// Run last by the e2e suite, which keeps one wiki for all scenarios: its failed logins count
/// against this client's address there. Earlier scenarios' failed logins from the same address
/// count too, so the 429 may come before the eleventh guess; on a wiki of its own it comes exactly
/// at the eleventh. The guesser has no device cookie of dave's (his own browser has one, from
/// registering), so the account's lock applies to it, the right password included.
pub fn eleventh_wrong_password_is_throttled(gw: &dyn Gateway) {
    let dave = Browser::new(gw);
    assert_status(
        &register(&dave, "dave", "the right password"),
        StatusCode::SEE_OTHER,
    );
    assert_status(&dave.post_form("/+logout", &[]), StatusCode::SEE_OTHER);
    let guesser = Browser::new(gw);
    let mut checked = 0;
    let throttled = loop {
        let guess = guesser.log_in("dave", &format!("guess number {checked}"));
        if guess.status == StatusCode::TOO_MANY_REQUESTS {
            break guess;
        }
        assert_status(&guess, StatusCode::FORBIDDEN);
        checked += 1;
        assert!(checked <= 10, "the eleventh wrong password was checked");
    };
    if !gw.shares_one_wiki() {
        assert_eq!(
            checked, 10,
            "ten wrong passwords are checked, the eleventh is not"
        );
    }
    let retry: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    // Not even the right password is checked now.
    let right = guesser.log_in("dave", "the right password");
    assert_status(&right, StatusCode::TOO_MANY_REQUESTS);
    assert!(right.header("retry-after").is_some());
    assert!(!logged_in(gw, &guesser.get("/FrontPage").text()));
}

/// Whether `response` names `Cookie` among its `Vary` headers (a list, possibly over several lines).
fn varies_on_cookie(response: &TestResponse) -> bool {
    response
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("cookie"))
}

/// Whether `response` may be stored by one browser only, for the cookies it was fetched with.
pub(crate) fn is_private(response: &TestResponse) -> bool {
    let cache_control = response.header("cache-control").unwrap_or_default();
    let private = cache_control
        .split(',')
        .any(|directive| directive.trim().eq_ignore_ascii_case("private"));
    private && varies_on_cookie(response)
}

/// Issue 19, finding 7: what a logged-in reader gets depends on who they are (their ACLs decide what
/// a feed lists, a raw text or a suggestion shows), whatever its type, so no shared cache may keep
/// it and a browser keeps it per cookie; a 304 says so too. Only the content-hashed assets, which
/// depend on no one, are public.
pub fn personal_responses_of_every_type_are_private(gw: &dyn Gateway) {
    let reader = Browser::new(gw);
    assert_status(
        &register(&reader, "Pia", "correct horse battery"),
        StatusCode::SEE_OTHER,
    );
    assert_status(
        &reader.save_page("PersonalPage", "Only for some eyes.\n", None),
        StatusCode::SEE_OTHER,
    );
    for target in [
        "/PersonalPage",
        "/+raw/PersonalPage",
        "/+feed/atom",
        "/+feed/rss",
        "/+feed/atom/PersonalPage",
        "/+feed/rss/PersonalPage",
        "/+suggest?q=x",
        "/+suggest?q=Pers",
        "/+history/PersonalPage",
    ] {
        let mut response = reader.get(target);
        let mut not_modified = false;
        // A suggestion changes once the search index catches up in the background: ask again
        // with the newest ETag until the answer is the one just seen.
        for _ in 0..50 {
            assert_status(&response, StatusCode::OK);
            assert!(is_private(&response), "{target}: {:?}", response.headers);
            let etag = response.header("etag").expect("an ETag").to_owned();
            let again = reader.send(TestRequest::get(target).with_header("if-none-match", &etag));
            if again.status == StatusCode::NOT_MODIFIED {
                assert!(is_private(&again), "{target} 304: {:?}", again.headers);
                not_modified = true;
                break;
            }
            assert_ne!(
                again.header("etag"),
                Some(etag.as_str()),
                "{target}: the same ETag answered 200"
            );
            response = again;
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(not_modified, "{target} never answered 304 to its own ETag");
    }
    let missing = reader.get("/+raw/NoSuchPersonalPage");
    assert_status(&missing, StatusCode::NOT_FOUND);
    assert!(is_private(&missing), "{:?}", missing.headers);

    let html = reader.get("/PersonalPage").text();
    let prefix = format!("\"{}/+static/", gw.mount());
    let at = html.find(&prefix).expect("a stylesheet link") + 1;
    let url = &html[at..];
    let url = &url[gw.mount().len()..url.find('"').unwrap()];
    let asset = reader.get(url);
    assert_status(&asset, StatusCode::OK);
    assert_eq!(
        asset.header("cache-control"),
        Some("public, max-age=31536000, immutable"),
        "{url}"
    );
    assert!(!varies_on_cookie(&asset), "{url}: {:?}", asset.headers);
}

/// Issue 19, finding 6: RSS descriptions are HTML to feed readers (and titles often are), so what
/// users wrote goes in escaped; Atom says its texts are plain, and the XML escaping is all they need.
pub fn rss_escapes_html_in_comments_and_names(gw: &dyn Gateway) {
    let hostile = "\"><img src=x onerror=alert(1)>";
    let page = "Evil \"><i>Name";
    assert_status(
        &save_as(gw, page, "Harmless text.\n", None, hostile),
        StatusCode::SEE_OTHER,
    );
    for target in ["/+feed/rss".to_owned(), format!("/+feed/rss/{page}")] {
        let rss = gw.get(&target);
        assert_status(&rss, StatusCode::OK);
        let xml = rss.text();
        assert!(xml.contains("&lt;img src=x onerror=alert(1)&gt;"), "{xml}");
        assert!(!xml.contains("<img"), "{target}: {xml}");
        assert!(!xml.contains("<i>"), "{target}: {xml}");
        // The title is XML text: the HTML escape, itself escaped for XML.
        assert!(
            xml.contains("Evil &amp;quot;&amp;gt;&amp;lt;i&amp;gt;Name"),
            "{xml}"
        );
    }
    let atom = gw.get("/+feed/atom").text();
    assert!(
        atom.contains("&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{atom}"
    );
    assert!(!atom.contains("<img"), "{atom}");
    assert!(!atom.contains("type=\"html\""), "{atom}");
}

/// Issue 19, finding 10: `Crème` typed precomposed (NFC) or decomposed (NFD, as macOS file names and
/// some keyboards give it) is one page, with one URL, and a link in either spelling finds it.
pub fn nfc_and_nfd_names_are_one_page(gw: &dyn Gateway) {
    let nfd = "Cre\u{300}me";
    let nfc = "Cr\u{e8}me";
    let saved = save(gw, nfd, "Burnt sugar on top.", None);
    assert_status(&saved, StatusCode::SEE_OTHER);
    assert_eq!(
        saved.header("location"),
        Some(format!("{}/Cr%C3%A8me", gw.mount()).as_str())
    );
    let view = gw.get(&format!("/{nfc}"));
    assert_status(&view, StatusCode::OK);
    assert!(
        view.text().contains("Burnt sugar on top."),
        "{}",
        view.text()
    );

    // Saving the NFC spelling as a new page is an edit of the same page, based on its revision 1.
    assert_status(
        &save(gw, nfc, "Burnt sugar, cold cream.", Some(1)),
        StatusCode::SEE_OTHER,
    );
    let raw = gw.get(&format!("/+raw/{nfd}"));
    assert_status(&raw, StatusCode::OK);
    assert_eq!(raw.text(), "Burnt sugar, cold cream.");

    // Links in either spelling are blue, lead to the one URL and count as backlinks.
    assert_status(
        &save(
            gw,
            "Desserts",
            &format!("See [[{nfd}]] and [[{nfc}]]."),
            None,
        ),
        StatusCode::SEE_OTHER,
    );
    let html = gw.get("/Desserts").text();
    assert!(!html.contains("wikilink missing"), "{html}");
    assert!(
        html.contains(&format!("href=\"{}/Cr%C3%A8me\"", gw.mount())),
        "{html}"
    );
    assert!(!html.contains("Cre%CC%80me"), "{html}");
    let target = gw.get(&format!("/{nfc}")).text();
    assert!(
        target.contains(&format!("href=\"{}/Desserts\"", gw.mount())),
        "{target}"
    );
}

/// Issue 19, finding 10: no account may look like another (`Zеd` with a Cyrillic е next to `Zed`) or
/// be called like an ACL keyword (`known`), and the form says why.
pub fn look_alike_and_reserved_names_cannot_register(gw: &dyn Gateway) {
    let password = "correct horse battery";
    assert_status(
        &register(&Browser::new(gw), "Zed", password),
        StatusCode::SEE_OTHER,
    );
    let look_alike = register(&Browser::new(gw), "Z\u{435}d", password);
    assert_status(&look_alike, StatusCode::CONFLICT);
    let html = look_alike.text();
    assert!(html.contains("looks too much like"), "{html}");
    assert!(html.contains("Zed"), "{html}");
    let reserved = register(&Browser::new(gw), "known", password);
    assert_status(&reserved, StatusCode::BAD_REQUEST);
    let html = reserved.text();
    assert!(html.contains("is reserved"), "{html}");
}

/// `count` Markdown links to distinct external sites.
fn external_links_text(count: usize) -> String {
    (0..count)
        .map(|n| format!("- [offer {n}](https://spam{n}.example/buy)\n"))
        .collect()
}

pub fn anonymous_saves_adding_many_links_are_refused_with_the_text_kept(gw: &dyn Gateway) {
    // Five new links (the default anonymous_max_links) pass, and render as user content.
    let five = format!("Links\n\n{}", external_links_text(5));
    assert_status(&save(gw, "LinkFarm", &five, None), StatusCode::SEE_OTHER);
    let page = gw.get("/LinkFarm").text();
    assert!(
        page.contains(r#"href="https://spam0.example/buy" rel="nofollow ugc noopener""#),
        "{page}"
    );
    // Six more are refused: the editor comes back with the text and the reason.
    let six = external_links_text(6)
        .replace("offer", "more")
        .replace("spam", "extra");
    let more = format!("{five}{six}");
    let refused = save(gw, "LinkFarm", &more, Some(1));
    assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text();
    assert!(html.contains("adds 6 external links"), "{html}");
    assert!(html.contains("at most 5"), "{html}");
    assert!(html.contains("more 5"), "the text is kept: {html}");
    assert!(!gw.get("/LinkFarm").text().contains("more 5"));
    // Editing a page that already has its links adds none: it passes.
    let edited = format!("{five}\nOne more line.\n");
    assert_status(
        &save(gw, "LinkFarm", &edited, Some(1)),
        StatusCode::SEE_OTHER,
    );
    // A logged-in account has no limit.
    let linker = Browser::new(gw);
    assert_status(
        &register(&linker, "linker", "linker's password"),
        StatusCode::SEE_OTHER,
    );
    assert_status(
        &linker.save_page("LinkFarm", &more, Some(2)),
        StatusCode::SEE_OTHER,
    );
    assert!(gw.get("/LinkFarm").text().contains("more 5"));
}

pub fn honeypot_refuses_saves_and_registrations(gw: &dyn Gateway) {
    // The forms carry the field, hidden from people.
    let editor = Browser::new(gw);
    let form = editor.get("/+edit/HoneyPage").text();
    assert!(
        form.contains(r#"name="website" value="" tabindex="-1""#),
        "{form}"
    );
    assert!(
        form.contains(r#"class="honeypot" aria-hidden="true""#),
        "{form}"
    );
    // A robot fills it in: refused, the text kept, nothing saved.
    let refused = editor.post_form(
        "/+edit/HoneyPage",
        &[
            ("text", "robot text\n"),
            ("comment", ""),
            ("base_rev", ""),
            ("action", "save"),
            ("website", "https://spam.example"),
        ],
    );
    assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("robot text"), "{}", refused.text());
    assert!(
        refused.text().contains("as spam robots do"),
        "{}",
        refused.text()
    );
    assert_status(&gw.get("/HoneyPage"), StatusCode::NOT_FOUND);
    // A person leaves it empty.
    assert_status(
        &editor.post_form(
            "/+edit/HoneyPage",
            &[
                ("text", "human text\n"),
                ("comment", ""),
                ("base_rev", ""),
                ("action", "save"),
                ("website", ""),
            ],
        ),
        StatusCode::SEE_OTHER,
    );

    let robot = Browser::new(gw);
    let form = robot.get("/+register").text();
    assert!(form.contains(r#"name="website""#), "{form}");
    let refused = robot.post_form(
        "/+register",
        &[
            ("name", "honeybot"),
            ("display_name", ""),
            ("email", ""),
            ("password", "robot's password"),
            ("password2", "robot's password"),
            ("website", "https://spam.example"),
        ],
    );
    assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("as spam robots do"),
        "{}",
        refused.text()
    );
    assert!(
        refused.text().contains("honeybot"),
        "the name is kept: {}",
        refused.text()
    );
    // The account was not made: a person may take the name.
    assert_status(
        &register(&Browser::new(gw), "honeybot", "a person's password"),
        StatusCode::SEE_OTHER,
    );
}

/// `/Page/` is `/Page`: a 308 (the method kept) to the address without the slash, under the mount,
/// with the query.
pub fn a_trailing_slash_redirects_308(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    for (asked, location) in [
        ("/Help/", "/Help"),
        ("/Help/Editing/?rev=1", "/Help/Editing?rev=1"),
        ("/+history/Help/", "/+history/Help"),
        ("/+recent/", "/+recent"),
    ] {
        let response = gw.get(asked);
        assert_status(&response, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            response.header("location"),
            Some(format!("{mount}{location}").as_str()),
            "{asked}"
        );
    }
    assert_status(&gw.get("/"), StatusCode::OK);
}

/// An anonymous reader is not shown Rename or Delete (the default ACL gives deleting to accounts);
/// typed in anyway, the 403 names the action and offers to log in and come back.
pub fn refused_actions_are_not_offered_and_their_403_says_what_was_refused(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    let page = gw.get("/Help").text();
    assert!(
        page.contains(&format!("href=\"{mount}/+edit/Help\"")),
        "{page}"
    );
    for hidden in ["/+rename/Help", "/+delete/Help"] {
        assert!(
            !page.contains(&format!("{mount}{hidden}")),
            "{hidden}: {page}"
        );
    }
    let rename = gw.get("/+rename/Help");
    assert_status(&rename, StatusCode::FORBIDDEN);
    let html = rename.text();
    assert!(html.contains("You may not rename Help."), "{html}");
    let login = format!(
        "href=\"{mount}/+login?next={}\"",
        encode(&format!("{mount}/+rename/Help"))
    );
    assert!(html.contains(&login), "{login}: {html}");
    assert!(gw
        .get("/+delete/Help")
        .text()
        .contains("You may not delete Help."));
}

/// `/` and `-` kept, the rest of a path percent-encoded as a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A save whose session ended while the editor was open (its CSRF token is no longer the session's)
/// comes back as the editor with the text kept and a notice, and saves nothing; saving again works.
pub fn an_expired_session_keeps_the_edit(gw: &dyn Gateway) {
    let writer = Browser::new(gw);
    let form = writer.get("/+edit/Expiring");
    assert_status(&form, StatusCode::OK);
    let stale = crate::suite::csrf_token_in(&form.text()).unwrap();
    // The session ends while the editor is open (a cookie the server no longer takes).
    writer.set_cookie(SESSION_COOKIE, "expired");
    let text = "A long text\nwritten <carefully>\n";
    let refused = writer.send(
        TestRequest::post_form(
            "/+edit/Expiring",
            &[
                ("text", text),
                ("comment", "my comment"),
                ("base_rev", ""),
                ("action", "save"),
                ("csrf_token", &stale),
            ],
        )
        .with_header("sec-fetch-site", "same-origin"),
    );
    assert_status(&refused, StatusCode::FORBIDDEN);
    let html = refused.text();
    assert!(html.contains("session expired"), "{html}");
    assert!(
        html.contains("A long text\nwritten &lt;carefully&gt;"),
        "{html}"
    );
    assert!(html.contains("my comment"), "{html}");
    assert!(html.contains("<textarea"), "{html}");
    assert_status(&gw.get("/+raw/Expiring"), StatusCode::NOT_FOUND);
    // From another site, the text is not given back: a themed 403.
    let forged = gw.send(
        TestRequest::post_form("/+edit/Expiring", &[("text", "spam"), ("csrf_token", "x")])
            .with_header("sec-fetch-site", "cross-site"),
    );
    assert_status(&forged, StatusCode::FORBIDDEN);
    assert!(!forged.text().contains("spam"), "{}", forged.text());
    assert!(
        forged.text().contains("class=\"error-page\""),
        "{}",
        forged.text()
    );
    // Saving again from the page the refusal drew (its new session and token) goes through.
    let again = writer.post_form(
        "/+edit/Expiring",
        &[
            ("text", text),
            ("comment", "my comment"),
            ("base_rev", ""),
            ("action", "save"),
        ],
    );
    assert_status(&again, StatusCode::SEE_OTHER);
    assert_eq!(gw.get("/+raw/Expiring").text(), text);
}

/// A 40×20 red PNG.
pub const PNG_40X20: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 40, 0, 0, 0, 20, 8, 2,
    0, 0, 0, 112, 36, 232, 236, 0, 0, 0, 36, 73, 68, 65, 84, 120, 218, 99, 56, 33, 39, 55, 32, 136,
    97, 212, 226, 81, 139, 71, 45, 30, 181, 120, 212, 226, 81, 139, 71, 45, 30, 181, 120, 228, 88,
    12, 0, 82, 225, 44, 174, 78, 225, 5, 176, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// A 24×12 blue PNG: another version of the same file.
const PNG_24X12: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 24, 0, 0, 0, 12, 8, 2,
    0, 0, 0, 247, 82, 234, 34, 0, 0, 0, 23, 73, 68, 65, 84, 120, 218, 99, 144, 147, 59, 65, 21,
    196, 48, 106, 208, 168, 65, 163, 6, 225, 67, 0, 212, 105, 36, 144, 55, 14, 166, 168, 0, 0, 0,
    0, 73, 69, 78, 68, 174, 66, 96, 130,
];

pub fn files_upload_embed_version_delete_restore(gw: &dyn Gateway) {
    let mount = gw.mount().to_owned();
    // Deleting a file needs the delete right, which the default ACL gives accounts only.
    let browser = Browser::new(gw);
    assert_status(
        &register(&browser, "filer", "filer's password"),
        StatusCode::SEE_OTHER,
    );
    let text = "# Files\n\n![The diagram](attachment:diagram.png)\n\nSee [the notes](attachment:notes.txt).\n";
    assert_status(
        &browser.save_page("FilesDemo", text, None),
        StatusCode::SEE_OTHER,
    );
    // Before the upload: a missing link to the upload form, like a missing page.
    let before = browser.get("/FilesDemo").text();
    assert!(
        before.contains(&format!("{mount}/+files/FilesDemo?name=diagram.png")),
        "{before}"
    );
    assert!(before.contains("Attachments (0)"), "{before}");
    let wanted = gw.get("/+wanted").text();
    assert!(
        wanted.contains(&format!("{mount}/+files/FilesDemo?name=notes.txt")),
        "a linked file not uploaded yet is wanted: {wanted}"
    );

    let uploaded = browser.upload(
        "FilesDemo",
        &[("comment", "first sketch")],
        &[
            ("diagram.png", PNG_40X20),
            ("notes.txt", b"meeting notes\n"),
        ],
    );
    assert_status(&uploaded, StatusCode::SEE_OTHER);
    let list = browser.get("/+files/FilesDemo");
    assert_status(&list, StatusCode::OK);
    let list = list.text();
    assert!(
        list.contains("diagram.png") && list.contains("image/png"),
        "{list}"
    );
    assert!(
        list.contains("notes.txt") && list.contains("first sketch"),
        "{list}"
    );

    let file = gw.get("/+file/FilesDemo/diagram.png");
    assert_status(&file, StatusCode::OK);
    assert_eq!(file.body, PNG_40X20);
    assert_eq!(file.header("content-type"), Some("image/png"));
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    assert!(
        file.header("content-disposition")
            .is_some_and(|d| d.starts_with("inline")),
        "{:?}",
        file.header("content-disposition")
    );
    let etag = file.header("etag").expect("an ETag").to_owned();
    let again = gw
        .send(TestRequest::get("/+file/FilesDemo/diagram.png").with_header("if-none-match", &etag));
    assert_status(&again, StatusCode::NOT_MODIFIED);
    let part =
        gw.send(TestRequest::get("/+file/FilesDemo/diagram.png").with_header("range", "bytes=0-9"));
    assert_status(&part, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, &PNG_40X20[..10]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-9/{}", PNG_40X20.len()).as_str())
    );

    // Embedded: the missing link became the image, with its size, loading lazily.
    let view = browser.get("/FilesDemo").text();
    assert!(
        view.contains(&format!("src=\"{mount}/+file/FilesDemo/diagram.png\"")),
        "{view}"
    );
    assert!(
        view.contains("width=\"40\"") && view.contains("height=\"20\""),
        "{view}"
    );
    assert!(view.contains("loading=\"lazy\""), "{view}");
    assert!(view.contains("Attachments (2)"), "{view}");

    // A new version under the same name; the old one stays, immutable.
    let second = browser.upload("FilesDemo", &[], &[("diagram.png", PNG_24X12)]);
    assert_status(&second, StatusCode::SEE_OTHER);
    assert_eq!(gw.get("/+file/FilesDemo/diagram.png").body, PNG_24X12);
    let old = gw.get("/+file/FilesDemo/diagram.png?v=1");
    assert_status(&old, StatusCode::OK);
    assert_eq!(old.body, PNG_40X20);
    assert!(
        old.header("cache-control")
            .is_some_and(|c| c.contains("immutable") && c.contains("private")),
        "{:?}",
        old.header("cache-control")
    );
    assert!(browser.get("/FilesDemo").text().contains("width=\"24\""));

    // Deleting is a new version: the file is gone from the page, its history stays.
    assert_status(
        &browser.get("/+deletefile/FilesDemo/diagram.png"),
        StatusCode::OK,
    );
    let deleted = browser.post_form(
        "/+deletefile/FilesDemo/diagram.png",
        &[("comment", "obsolete")],
    );
    assert_status(&deleted, StatusCode::SEE_OTHER);
    assert_status(
        &gw.get("/+file/FilesDemo/diagram.png"),
        StatusCode::NOT_FOUND,
    );
    assert_eq!(gw.get("/+file/FilesDemo/diagram.png?v=2").body, PNG_24X12);
    let view = browser.get("/FilesDemo").text();
    assert!(
        view.contains("/+files/FilesDemo?name=diagram.png"),
        "{view}"
    );
    let history = browser.get("/+filehistory/FilesDemo/diagram.png").text();
    assert!(
        history.contains("obsolete") && history.contains("delete"),
        "{history}"
    );
    assert!(
        history.contains("FilesDemo"),
        "the page that uses it: {history}"
    );

    // Restoring version 1 brings its bytes back as version 4.
    let restored = browser.post_form("/+restorefile/FilesDemo/diagram.png?v=1", &[]);
    assert_status(&restored, StatusCode::SEE_OTHER);
    assert_eq!(gw.get("/+file/FilesDemo/diagram.png").body, PNG_40X20);
    assert_eq!(gw.get("/+file/FilesDemo/diagram.png?v=4").body, PNG_40X20);

    // Uploads show in recent changes.
    let recent = gw.get("/+recent").text();
    assert!(recent.contains("diagram.png"), "{recent}");
}

pub fn upload_over_the_limit_is_413_and_stores_nothing(gw: &dyn Gateway) {
    let browser = Browser::new(gw);
    assert_status(
        &browser.save_page("BigFiles", "Files go here.", None),
        StatusCode::SEE_OTHER,
    );
    let limit = gw.upload_limit() as usize;
    let big = vec![b'x'; limit + 1];
    let refused = browser.upload("BigFiles", &[], &[("big.bin", &big)]);
    assert_status(&refused, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.text().contains("limit"), "{}", refused.text());
    let list = browser.get("/+files/BigFiles").text();
    assert!(!list.contains("big.bin"), "{list}");
    assert_status(&gw.get("/+file/BigFiles/big.bin"), StatusCode::NOT_FOUND);
    // An upload cut short (the connection dropped before the form's end) stores nothing either.
    let token = browser.csrf_token();
    let (content_type, body) =
        crate::suite::multipart_body(&token, &[], &[("cut.bin", b"half of it")]);
    let mut cut = TestRequest::get("/+files/BigFiles").with_header("content-type", &content_type);
    cut.method = Method::POST;
    cut.body = body[..body.len() - 20].to_vec();
    let cut = browser.send(cut);
    assert_status(&cut, StatusCode::BAD_REQUEST);
    assert_status(&gw.get("/+file/BigFiles/cut.bin"), StatusCode::NOT_FOUND);
    // Exactly the limit is fine.
    let exact = vec![b'y'; limit];
    assert_status(
        &browser.upload("BigFiles", &[], &[("exact.bin", &exact)]),
        StatusCode::SEE_OTHER,
    );
    assert_eq!(gw.get("/+file/BigFiles/exact.bin").body.len(), exact.len());
}

pub fn hostile_files_are_stored_safely(gw: &dyn Gateway) {
    let browser = Browser::new(gw);
    assert_status(
        &browser.save_page("HostileFiles", "Files go here.", None),
        StatusCode::SEE_OTHER,
    );
    let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>document.title='pwned'</script></svg>";
    let html = b"<!doctype html><html><body><script>alert(1)</script></body></html>";
    let uploaded = browser.upload(
        "HostileFiles",
        &[],
        &[
            ("evil.svg", svg),
            ("page.html", html),
            ("photo.png", html),
            ("../../x.txt", b"climbing"),
            ("a\r\nSet-Cookie: x=1.txt", b"header injection"),
            ("empty.txt", b""),
        ],
    );
    assert_status(&uploaded, StatusCode::SEE_OTHER);
    let sandboxed = |response: &TestResponse| {
        response
            .header("content-security-policy")
            .is_some_and(|csp| csp.contains("sandbox"))
    };
    let svg_file = gw.get("/+file/HostileFiles/evil.svg");
    assert_status(&svg_file, StatusCode::OK);
    assert!(sandboxed(&svg_file), "{:?}", svg_file.headers);
    for name in ["page.html", "photo.png"] {
        let file = gw.get(&format!("/+file/HostileFiles/{name}"));
        assert_status(&file, StatusCode::OK);
        // HTML, whatever its name: never shown as an image, never run here.
        assert_ne!(file.header("content-type"), Some("image/png"), "{name}");
        assert!(sandboxed(&file), "{name}: {:?}", file.headers);
        assert!(
            file.header("content-disposition")
                .is_some_and(|d| d.starts_with("attachment")),
            "{name}: {:?}",
            file.header("content-disposition")
        );
        assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    }
    // Names are cleaned: no climbing out, no header in a name.
    assert_eq!(gw.get("/+file/HostileFiles/x.txt").body, b"climbing");
    let list = browser.get("/+files/HostileFiles").text();
    assert!(!list.contains("Set-Cookie: x=1.txt\r"), "{list}");
    assert!(list.contains("empty.txt"), "{list}");
    let empty = gw.get("/+file/HostileFiles/empty.txt");
    assert_status(&empty, StatusCode::OK);
    assert!(empty.body.is_empty());
    // A name that is not clean names no file.
    assert_status(
        &gw.get("/+file/HostileFiles/..%2F..%2Fx.txt"),
        StatusCode::NOT_FOUND,
    );
}

/// The largest file the scenarios move: 20 MB through real servers (where the limit allows it),
/// the upload limit itself elsewhere.
const LARGE_FILE: usize = 20 * 1000 * 1000;

pub fn a_large_file_goes_up_and_down_intact(gw: &dyn Gateway) {
    let browser = Browser::new(gw);
    assert_status(
        &browser.save_page("LargeFiles", "A large file.", None),
        StatusCode::SEE_OTHER,
    );
    let size = LARGE_FILE.min(gw.upload_limit() as usize);
    // Bytes that are not all alike, so a misplaced chunk would show.
    let mut state: u32 = 0x9e37_79b9;
    let content: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let uploaded = browser.upload("LargeFiles", &[], &[("large.bin", &content)]);
    assert_status(&uploaded, StatusCode::SEE_OTHER);
    let download = gw.get("/+file/LargeFiles/large.bin");
    assert_status(&download, StatusCode::OK);
    assert_eq!(download.body.len(), content.len());
    assert!(
        download.body == content,
        "the downloaded bytes differ from the uploaded ones"
    );
    // Its length is announced, so browsers show progress; Apache re-frames a CGI's or FastCGI
    // backend's body as chunks and drops it, which only the length being right can be asked of.
    let length = download.header("content-length");
    assert!(
        length.is_none_or(|length| length == content.len().to_string()),
        "{length:?}"
    );
}

/// A long-running wiki keeps finished page views (the response cache); none may outlive a change it
/// shows. Each step views the page (so the view is kept), changes something the page shows, and
/// views it again: a save, a new backlink, a file, the theme and colour mode, logging in and out,
/// a rename and a delete. Where a process answers one request (CGI) nothing is kept, and the same
/// steps hold.
pub fn a_kept_view_shows_every_change_at_once(gw: &dyn Gateway) {
    let reader = Browser::new(gw);
    // A session from the start, so that the views before and after a change of the reader's own
    // are asked for in the same session, with the same CSRF token.
    reader.csrf_token();
    let view = |browser: &Browser<'_>, page: &str| {
        let response = browser.get(page);
        assert_status(&response, StatusCode::OK);
        response.text()
    };
    assert_status(
        &save(gw, "KeptView", "the first words\n", None),
        StatusCode::SEE_OTHER,
    );
    let first = view(&reader, "/KeptView");
    assert!(first.contains("the first words"), "{first}");
    assert_eq!(view(&reader, "/KeptView"), first, "a kept view differs");

    // A save.
    assert_status(
        &save(gw, "KeptView", "the second words\n", Some(1)),
        StatusCode::SEE_OTHER,
    );
    let saved = view(&reader, "/KeptView");
    assert!(
        saved.contains("the second words") && !saved.contains("the first words"),
        "{saved}"
    );

    // Another page linking here: a backlink.
    assert_status(
        &save(gw, "KeptViewFan", "see [[KeptView]]\n", None),
        StatusCode::SEE_OTHER,
    );
    let linked = view(&reader, "/KeptView");
    assert!(
        linked.contains("What links here") && linked.contains("KeptViewFan"),
        "{linked}"
    );

    // The theme picked in the preferences, and the colour mode's cookie.
    assert!(linked.contains(r#"class="theme-default""#), "{linked}");
    assert_status(
        &reader.post_form("/+prefs", &[("theme", "classic")]),
        StatusCode::OK,
    );
    let themed = view(&reader, "/KeptView");
    assert!(themed.contains(r#"class="theme-classic""#), "{themed}");
    assert!(themed.contains(r#"data-mode="auto""#), "{themed}");
    reader.set_cookie("quire_mode", "dark");
    let dark = view(&reader, "/KeptView");
    assert!(dark.contains(r#"data-mode="dark""#), "{dark}");

    // Logging in and out.
    let member = Browser::new(gw);
    let anonymous = view(&member, "/KeptView");
    assert!(!anonymous.contains("class=\"account-name\""), "{anonymous}");
    assert_status(
        &register(&member, "keeper", "keeper's password"),
        StatusCode::SEE_OTHER,
    );
    let logged_in = view(&member, "/KeptView");
    assert!(logged_in.contains(">keeper</a>"), "{logged_in}");
    member.get("/+prefs");
    assert_status(
        &member.post_form("/+prefs", &[("display_name", "Keeper of Views")]),
        StatusCode::OK,
    );
    let renamed = view(&member, "/KeptView");
    assert!(renamed.contains(">Keeper of Views</a>"), "{renamed}");
    assert_status(&member.post_form("/+logout", &[]), StatusCode::SEE_OTHER);
    let logged_out = view(&member, "/KeptView");
    assert!(!logged_out.contains("Keeper of Views"), "{logged_out}");

    // A file on the page.
    assert_status(
        &member.log_in("keeper", "keeper's password"),
        StatusCode::SEE_OTHER,
    );
    assert!(view(&reader, "/KeptView").contains("Attachments (0)"));
    assert_status(
        &member.upload("KeptView", &[], &[("notes.txt", b"some notes")]),
        StatusCode::SEE_OTHER,
    );
    let with_file = view(&reader, "/KeptView");
    assert!(with_file.contains("Attachments (1)"), "{with_file}");

    // A rename leaves a redirect where the page was, and a delete leaves a gone page.
    assert_status(
        &member.post_form("/+rename/KeptView", &[("new_name", "KeptViewMoved")]),
        StatusCode::SEE_OTHER,
    );
    assert_status(&reader.get("/KeptView"), StatusCode::FOUND);
    assert!(view(&reader, "/KeptViewMoved").contains("the second words"));
    assert_status(
        &member.post_form("/+delete/KeptViewMoved", &[]),
        StatusCode::SEE_OTHER,
    );
    assert_status(&reader.get("/KeptViewMoved"), StatusCode::GONE);
}

/// A logged-in editor's draft, as `quire.js` posts it, is offered when the editor opens again, with
/// a diff from the page's text; restoring fills the form with it; the account's save removes it.
/// Anonymous editors keep theirs in the browser, so the route refuses them.
pub fn drafts_are_offered_back_and_go_with_the_save(gw: &dyn Gateway) {
    let drafter = Browser::new(gw);
    assert_status(
        &register(&drafter, "Drafter", "a draft's long password"),
        StatusCode::SEE_OTHER,
    );
    assert_status(
        &drafter.save_page("DraftedPage", "one\ntwo\n", None),
        StatusCode::SEE_OTHER,
    );
    let editor = drafter.get("/+edit/DraftedPage").text();
    assert!(editor.contains("data-draft-url="), "{editor}");
    assert!(!editor.contains("draft-offer"), "{editor}");

    let token = drafter.csrf_token();
    let draft_text = "one\ntwo, <changed>\nthree\n";
    let kept = drafter.send(
        TestRequest::post_form(
            "/+draft/DraftedPage",
            &[
                ("text", draft_text),
                ("comment", "work in progress"),
                ("base_rev", "1"),
                ("csrf_token", &token),
            ],
        )
        .with_header("accept", "application/json"),
    );
    assert_status(&kept, StatusCode::OK);
    assert_eq!(kept.text(), r#"{"draft":"kept"}"#);
    let cache = kept.header("cache-control").unwrap_or_default().to_owned();
    assert!(cache.contains("private"), "{cache}");

    // The tab is gone; the editor opened again offers the draft, the page's text still in the form.
    let editor = drafter.get("/+edit/DraftedPage").text();
    assert!(editor.contains("You have an unsaved draft"), "{editor}");
    assert!(
        editor.contains("two, &lt;changed&gt;"),
        "the diff: {editor}"
    );
    assert!(editor.contains(">\none\ntwo\n</textarea>"), "{editor}");
    let restored = drafter.get("/+edit/DraftedPage?draft=restore").text();
    assert!(
        restored.contains(">\none\ntwo, &lt;changed&gt;\nthree\n</textarea>"),
        "{restored}"
    );
    assert!(
        restored.contains("value=\"work in progress\""),
        "{restored}"
    );

    // Saved: the draft is gone.
    let saved = drafter.post_form(
        "/+edit/DraftedPage",
        &[
            ("text", draft_text),
            ("comment", "work in progress"),
            ("base_rev", "1"),
            ("action", "save"),
        ],
    );
    assert_status(&saved, StatusCode::SEE_OTHER);
    let editor = drafter.get("/+edit/DraftedPage").text();
    assert!(!editor.contains("draft-offer"), "{editor}");
    assert!(editor.contains("three\n</textarea>"), "{editor}");

    // Anonymous: no server draft, and no offer.
    let visitor = Browser::new(gw);
    let editor = visitor.get("/+edit/DraftedPage").text();
    assert!(!editor.contains("data-draft-url="), "{editor}");
    let token = visitor.csrf_token();
    let refused = visitor.send(TestRequest::post_form(
        "/+draft/DraftedPage",
        &[("text", "anonymous"), ("csrf_token", &token)],
    ));
    assert_status(&refused, StatusCode::FORBIDDEN);
}

/// Creates the account `name` with the mail address `email` on `/+register`, in `browser`'s
/// session, which is then logged in.
fn register_with_email(browser: &Browser<'_>, name: &str, email: &str) {
    assert_status(&browser.get("/+register"), StatusCode::OK);
    let password = "watching password";
    let registered = browser.post_form(
        "/+register",
        &[
            ("name", name),
            ("display_name", ""),
            ("email", email),
            ("password", password),
            ("password2", password),
        ],
    );
    assert_status(&registered, StatusCode::SEE_OTHER);
}

/// Account A watches a page, account B saves it, and exactly one mail reaches A at the wiki's
/// SMTP sink within 10 s: with B's comment, B's name, the diff and an absolute link under the
/// mount. B, the author, gets none. Long-running servers send it from their worker; under CGI,
/// `quire notify` does (`Gateway::send_queued_mail`).
pub fn a_watcher_is_mailed_once_with_the_diff(gw: &dyn Gateway) {
    let Some(sink) = gw.mail_sink() else {
        return;
    };
    let mount = gw.mount().to_owned();
    let watcher = Browser::new(gw);
    register_with_email(&watcher, "MailWatcher", "watcher@example.org");
    let editor = Browser::new(gw);
    register_with_email(&editor, "MailEditor", "editor@example.org");
    assert_status(
        &editor.save_page("Watched/Mail", "the first line\n", None),
        StatusCode::SEE_OTHER,
    );

    // A Watch button for the account, none for an anonymous visitor.
    let page = watcher.get("/Watched/Mail").text();
    let action = format!("action=\"{mount}/+watch/Watched/Mail\"");
    assert!(page.contains(&action), "{page}");
    assert!(!gw.get("/Watched/Mail").text().contains("/+watch/"));
    assert_status(
        &post_form(gw, "/+watch/Watched/Mail", &[("watch", "1")]),
        StatusCode::FORBIDDEN,
    );
    let watched = watcher.post_form("/+watch/Watched/Mail", &[("watch", "1")]);
    assert_status(&watched, StatusCode::SEE_OTHER);
    let page = watcher.get("/Watched/Mail").text();
    assert!(page.contains(">Unwatch</button>"), "{page}");
    let listing = watcher.get("/+watching");
    assert_status(&listing, StatusCode::OK);
    assert!(
        listing.text().contains("Watched/Mail"),
        "{}",
        listing.text()
    );
    let cache_control = listing.header("cache-control").unwrap_or_default();
    assert!(cache_control.contains("private"), "{cache_control}");

    let saved = editor.save_with(
        "Watched/Mail",
        "the first line\nthe second line\n",
        "mail me about it",
        |html| crate::suite::hidden_value(html, "base_rev").unwrap_or_default(),
    );
    assert_status(&saved, StatusCode::SEE_OTHER);
    gw.send_queued_mail();
    let mail = sink.wait_for("watcher@example.org", std::time::Duration::from_secs(10));
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(mail[0].from, "wiki@example.org");
    let data = &mail[0].data;
    assert!(data.contains("+the second line"), "{data}");
    assert!(data.contains("mail me about it"), "{data}");
    assert!(data.contains("MailEditor"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains(&format!("{mount}/Watched/Mail")),
        "a link under the mount: {data}"
    );
    assert!(data.contains("://"), "absolute links: {data}");
    // No second copy, and nothing for the author.
    gw.send_queued_mail();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(sink.mail_to("watcher@example.org").len(), 1);
    assert!(sink.mail_to("editor@example.org").is_empty());
}

/// A page of three sections, the last with a subsection: what the section scenarios edit.
const SECTIONED: &str =
    "Intro line.\n\n# Alpha\n\nalpha text\n\n# Beta\n\nbeta text\n\n## Beta detail\n\ndetail text\n";

/// The text a section's editor holds, as it stands in its textarea.
fn editor_text(html: &str) -> &str {
    let start = html
        .find("<textarea id=\"text\"")
        .expect("the editor's textarea");
    let from = &html[start..];
    let open = from.find('>').expect("the textarea's tag ends") + 1;
    let close = from.find("</textarea>").expect("the textarea ends");
    // The newline right after the tag is the template's (see edit.html).
    from[open..close]
        .strip_prefix('\n')
        .unwrap_or(&from[open..close])
}

/// Sends a section editor's form from `browser`: `text` as section `section` of `page`, based on
/// revision `base`, for `action` ("save" or "preview").
fn send_section(
    browser: &Browser<'_>,
    page: &str,
    (section, base): (&str, &str),
    text: &str,
    action: &str,
) -> TestResponse {
    browser.post_form(
        &format!("/+edit/{page}"),
        &[
            ("text", text),
            ("base_rev", base),
            ("section", section),
            ("action", action),
        ],
    )
}

/// Opens section `section` of `page` in `browser`'s editor, then saves `text` as that section from
/// the base revision and section number the editor wrote.
fn save_section(browser: &Browser<'_>, page: &str, section: usize, text: &str) -> TestResponse {
    let editor = browser.get(&format!("/+edit/{page}?section={section}"));
    assert_status(&editor, StatusCode::OK);
    let html = editor.text();
    let base = crate::suite::hidden_value(&html, "base_rev").expect("a base revision");
    let number = crate::suite::hidden_value(&html, "section").expect("a section field");
    assert_eq!(number, section.to_string(), "{html}");
    send_section(browser, page, (&number, &base), text, "save")
}

pub fn one_section_is_edited_alone_and_the_others_stay_as_they_were(gw: &dyn Gateway) {
    assert_status(
        &save(gw, "SectionedPage", SECTIONED, None),
        StatusCode::SEE_OTHER,
    );
    // Each heading links to its section's editor; a reader of the page who may edit it sees them.
    let view = gw.get("/SectionedPage").text();
    for number in 1..=3 {
        let link = format!(
            "<a class=\"section-edit\" href=\"{}/+edit/SectionedPage?section={number}\" rel=\"nofollow\">edit</a>",
            gw.mount()
        );
        assert!(view.contains(&link), "{link} in {view}");
    }
    assert!(!view.contains("section=4"), "{view}");

    // The editor holds the section alone, its subsections with it.
    let browser = Browser::new(gw);
    let editor = browser.get("/+edit/SectionedPage?section=2");
    assert_status(&editor, StatusCode::OK);
    let html = editor.text();
    assert_eq!(
        editor_text(&html),
        "# Beta\n\nbeta text\n\n## Beta detail\n\ndetail text\n"
    );
    assert!(!html.contains("alpha text"), "{html}");

    // A preview shows the section and saves nothing.
    let text = "# Beta\n\npreviewed beta\n";
    let preview = send_section(&browser, "SectionedPage", ("2", "1"), text, "preview");
    assert_status(&preview, StatusCode::OK);
    let html = preview.text();
    assert!(html.contains("<p>previewed beta</p>"), "{html}");
    assert_eq!(
        crate::suite::hidden_value(&html, "section").as_deref(),
        Some("2")
    );
    assert_eq!(gw.get("/+raw/SectionedPage").text(), SECTIONED);

    // The save replaces that section and nothing else.
    let saved = save_section(&browser, "SectionedPage", 2, "# Beta\n\nnew beta text\n");
    assert_status(&saved, StatusCode::SEE_OTHER);
    assert_eq!(
        gw.get("/+raw/SectionedPage").text(),
        "Intro line.\n\n# Alpha\n\nalpha text\n\n# Beta\n\nnew beta text\n"
    );

    // A section that is no longer there opens the whole page, saying so.
    let gone = browser.get("/+edit/SectionedPage?section=3");
    assert_status(&gone, StatusCode::OK);
    let html = gone.text();
    assert!(html.contains("no section 3"), "{html}");
    assert!(editor_text(&html).starts_with("Intro line."), "{html}");
    assert!(
        crate::suite::hidden_value(&html, "section").is_none(),
        "{html}"
    );
    assert_status(
        &browser.get("/+edit/SectionedPage?section=x"),
        StatusCode::BAD_REQUEST,
    );
    // Saving a section that is not there saves nothing and keeps the text beside the whole page.
    let text = "# Gamma\n\nkept gamma text\n";
    let lost = send_section(&browser, "SectionedPage", ("7", "2"), text, "save");
    assert_status(&lost, StatusCode::CONFLICT);
    let html = lost.text();
    assert!(html.contains("kept gamma text"), "{html}");
    assert!(editor_text(&html).contains("new beta text"), "{html}");
    assert!(
        crate::suite::hidden_value(&html, "section").is_none(),
        "{html}"
    );
    assert!(gw
        .get("/+raw/SectionedPage")
        .text()
        .ends_with("new beta text\n"));
}

pub fn section_edits_from_one_base_merge_or_conflict_on_the_whole_text(gw: &dyn Gateway) {
    assert_status(
        &save(gw, "SectionedClash", SECTIONED, None),
        StatusCode::SEE_OTHER,
    );
    // Three browsers open section editors at revision 1.
    let bob = Browser::new(gw);
    let alice = Browser::new(gw);
    let carol = Browser::new(gw);
    let bob_editor = bob.get("/+edit/SectionedClash?section=1");
    let alice_editor = alice.get("/+edit/SectionedClash?section=3");
    let carol_editor = carol.get("/+edit/SectionedClash?section=1");
    for editor in [&bob_editor, &alice_editor, &carol_editor] {
        assert_status(editor, StatusCode::OK);
    }
    let send = |browser: &Browser<'_>, section: &str, text: &str| {
        send_section(browser, "SectionedClash", (section, "1"), text, "save")
    };
    assert_status(
        &send(&bob, "1", "# Alpha\n\nalpha by bob\n\n"),
        StatusCode::SEE_OTHER,
    );
    // Another section, from the same base: merged with bob's on the whole text.
    let merged = send(&alice, "3", "## Beta detail\n\ndetail by alice\n");
    assert_status(&merged, StatusCode::SEE_OTHER);
    let location = merged.header("location").unwrap_or_default().to_owned();
    assert_eq!(location, format!("{}/SectionedClash?merged=3", gw.mount()));
    let both = "Intro line.\n\n# Alpha\n\nalpha by bob\n\n# Beta\n\nbeta text\n\n## Beta detail\n\ndetail by alice\n";
    assert_eq!(gw.get("/+raw/SectionedClash").text(), both);

    // The same section, from the same base: the whole page's conflict editor, both texts kept.
    let clash = send(&carol, "1", "# Alpha\n\nalpha by carol\n\n");
    assert_status(&clash, StatusCode::CONFLICT);
    let html = clash.text();
    assert!(
        html.contains("&lt;&lt;&lt;&lt;&lt;&lt;&lt; your text"),
        "markers: {html}"
    );
    assert!(html.contains("alpha by carol"), "{html}");
    assert!(html.contains("alpha by bob"), "{html}");
    assert!(html.contains("detail by alice"), "the whole text: {html}");
    assert!(
        crate::suite::hidden_value(&html, "section").is_none(),
        "the conflict is resolved on the whole page: {html}"
    );
    assert_eq!(gw.get("/+raw/SectionedClash").text(), both);
}

pub fn a_new_page_starts_from_a_template_with_its_placeholders_filled_in(gw: &dyn Gateway) {
    let template = "# Meeting on @DATE@\n\nNotes for @PAGE@, taken by @USER@.\n";
    assert_status(
        &save(gw, "MeetingTemplate", template, None),
        StatusCode::SEE_OTHER,
    );
    let offered = format!(
        "href=\"{}/+edit/Meetings/Monday?template=MeetingTemplate\"",
        gw.mount()
    );
    // Offered where the page is created: its missing page and its empty editor.
    let missing = gw.get("/Meetings/Monday");
    assert_status(&missing, StatusCode::NOT_FOUND);
    assert!(missing.text().contains(&offered), "{}", missing.text());
    let browser = Browser::new(gw);
    let empty = browser.get("/+edit/Meetings/Monday");
    assert_status(&empty, StatusCode::OK);
    assert!(empty.text().contains(&offered), "{}", empty.text());

    let started = browser.get("/+edit/Meetings/Monday?template=MeetingTemplate");
    assert_status(&started, StatusCode::OK);
    let html = started.text();
    let text = editor_text(&html);
    assert!(!text.contains('@'), "every placeholder replaced: {text}");
    let date = text
        .strip_prefix("# Meeting on ")
        .and_then(|rest| rest.split('\n').next())
        .unwrap_or_default();
    let digits: Vec<usize> = date.split('-').map(str::len).collect();
    assert_eq!(digits, [4, 2, 2], "an ISO date: {text}");
    assert!(
        text.contains("Notes for Meetings/Monday, taken by "),
        "{text}"
    );
    // Saved as any new page.
    let saved = browser.post_form(
        "/+edit/Meetings/Monday",
        &[("text", text), ("base_rev", ""), ("action", "save")],
    );
    assert_status(&saved, StatusCode::SEE_OTHER);
    assert!(gw
        .get("/+raw/Meetings/Monday")
        .text()
        .starts_with("# Meeting on "));

    // A template that is not there: an empty editor that says so.
    let none = browser.get("/+edit/Meetings/Tuesday?template=NoSuchTemplate");
    assert_status(&none, StatusCode::NOT_FOUND);
    let html = none.text();
    assert!(html.contains("NoSuchTemplate"), "{html}");
    assert_eq!(editor_text(&html), "");
}

/// A `PUT` of `text` (JSON-escaped by hand: quotes, backslashes and newlines) to an API address,
/// with a bearer token and `If-Match: "rev"` when given.
fn api_put(
    gw: &dyn Gateway,
    target: &str,
    token: Option<&str>,
    if_match: Option<u64>,
    text: &str,
) -> TestResponse {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    let mut request = TestRequest::get(target).with_header("content-type", "application/json");
    request.method = Method::PUT;
    request.body = format!("{{\"text\": \"{escaped}\", \"comment\": \"api\"}}").into_bytes();
    if let Some(token) = token {
        request = request.with_header("authorization", &format!("Bearer {token}"));
    }
    if let Some(rev) = if_match {
        request = request.with_header("if-match", &format!("\"{rev}\""));
    }
    gw.send(request)
}

pub fn an_api_token_from_the_preferences_reads_and_writes_pages(gw: &dyn Gateway) {
    let browser = Browser::new(gw);
    register(&browser, "Tokenista", "tokenista's password");
    let token = browser.make_api_token("scenario", "write");
    assert!(
        !browser.get("/+prefs").text().contains(&token),
        "shown once"
    );

    let page = "/+api/v1/pages/ApiScenario/Notes";
    let created = api_put(
        gw,
        page,
        Some(&token),
        None,
        "# Notes\n\nFrom a \"script\".\n",
    );
    assert_status(&created, StatusCode::CREATED);
    assert!(
        created.text().contains("\"revision\":1"),
        "{}",
        created.text()
    );
    // Its addresses are under the mount, and it is the account's.
    let read =
        gw.send(TestRequest::get(page).with_header("authorization", &format!("Bearer {token}")));
    assert_status(&read, StatusCode::OK);
    let json = read.text();
    assert!(json.contains("From a \\\"script\\\"."), "{json}");
    assert!(json.contains("\"author\":\"Tokenista\""), "{json}");
    assert!(
        json.contains(&format!("\"url\":\"{}/ApiScenario/Notes\"", gw.mount())),
        "{json}"
    );
    assert!(browser.get("/ApiScenario/Notes").text().contains("script"));
    // On the revision read: saved. On it again: stale, 409, nothing lost.
    let saved = api_put(gw, page, Some(&token), Some(1), "# Notes\n\nTwice.\n");
    assert_status(&saved, StatusCode::OK);
    let stale = api_put(gw, page, Some(&token), Some(1), "# Notes\n\nThrice.\n");
    assert_status(&stale, StatusCode::CONFLICT);
    assert_eq!(
        stale.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        stale
            .text()
            .contains("\"your_text\":\"# Notes\\n\\nThrice.\\n\""),
        "{}",
        stale.text()
    );
    // Without the token, a write is a 401 asking for one, even from the logged-in browser.
    let anonymous = api_put(gw, page, None, Some(2), "lost");
    assert_status(&anonymous, StatusCode::UNAUTHORIZED);
    assert!(anonymous
        .header("www-authenticate")
        .is_some_and(|value| value.starts_with("Bearer")));
    let mut from_browser = TestRequest::get(page).with_header("content-type", "application/json");
    from_browser.method = Method::PUT;
    from_browser.body = b"{\"text\": \"lost\"}".to_vec();
    assert_status(&browser.send(from_browser), StatusCode::UNAUTHORIZED);
    assert!(browser.get("/ApiScenario/Notes").text().contains("Twice."));
}
