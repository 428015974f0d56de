//! The wiki's integration tests: one scenario suite, run through every
//! gateway. Each scenario is written once against [`drivers::Gateway`]; the
//! `scenarios!` macro instantiates it for the in-process client, CGI (the
//! built binary spawned with RFC 3875 variables), FastCGI (a protocol client
//! talking to `quire fastcgi`) and HTTP (`quire serve`). That the same
//! assertions pass everywhere is the proof that the wiki is written once.
#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail the test loudly on anything unexpected"
)]

mod architecture;
mod concurrency;
mod drivers;
mod scenarios;

/// Instantiates every scenario for every gateway: `gateway::scenario` tests.
macro_rules! scenarios {
    ($($scenario:ident),* $(,)?) => {
        mod in_process {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::InProcess::start()); })*
        }
        mod cgi {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::Cgi::start()); })*
        }
        mod fastcgi {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::FastCgi::start()); })*
        }
        mod http {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::Http::start()); })*
        }
    };
}

scenarios!(
    front_page_is_seeded,
    create_edit_and_view,
    old_revision,
    history_lists_revisions,
    diff_between_revisions,
    raw_is_plain_text,
    missing_page_is_404_with_create_link,
    preview_saves_nothing,
    stale_edit_keeps_the_text,
    unicode_and_subpages,
    recent_changes,
    bad_form_input_is_400,
    body_over_the_limit_is_413,
    non_utf8_path_is_400,
    hostile_markup_is_inert,
    static_assets,
    head_has_no_body,
    wrong_method_is_405,
    gzip_when_asked,
);
