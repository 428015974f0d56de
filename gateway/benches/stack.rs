//! What the security middleware costs per request: the whole stack against
//! logging, errors and compression alone (the stack before sessions), on a
//! 10 KB page, and the pieces alone (sealing
//! and opening a cookie, an ETag, a CSRF check that must read a form body).
//!
//! `cargo bench -p gateway --bench stack`; figures in BENCHMARKS.md.
#![expect(
    missing_docs,
    reason = "criterion_group! defines a public function and gives it no doc"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::middleware::{
    self, CatchErrors, ConditionalGet, CsrfToken, Gzip, LogRequests, StackConfig,
};
use gateway::session::{Session, SessionKeys};
use gateway::testing::{TestClient, TestRequest};
use gateway::{Request, Response};

/// A 10 KB HTML page that reads the session and embeds the CSRF token, as
/// a page with a form would.
fn page(request: Request) -> Response {
    let user = request
        .extensions()
        .get::<Session>()
        .and_then(|session| session.get("user"))
        .unwrap_or_default();
    let token = request
        .extensions()
        .get::<CsrfToken>()
        .map(CsrfToken::value)
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><p>{user}</p><form method=post><input name=csrf_token value={token}></form>{}",
        "<p>some text of a page body</p>\n".repeat(320)
    );
    http::Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .body(body.into())
        .expect("a valid response")
}

fn bench(c: &mut Criterion) {
    let keys = Arc::new(SessionKeys::generate().expect("the OS random source works"));
    let full = TestClient::new(
        middleware::stack(page, &StackConfig::new(Arc::clone(&keys))).expect("the stack builds"),
    );
    let login = |request: Request| -> Response {
        if let Some(session) = request.extensions().get::<Session>() {
            session.set("user", "Ada Lovelace");
        }
        page(request)
    };
    let setup = TestClient::new(
        middleware::stack(login, &StackConfig::new(Arc::clone(&keys))).expect("the stack builds"),
    )
    .with_cookie_jar();
    setup.get("/");
    let cookie = format!(
        "quire_session={}",
        setup.cookie("quire_session").expect("a session cookie")
    );
    let token = full
        .send(TestRequest::get("/").with_header("cookie", &cookie))
        .text();
    let token = token
        .split("value=")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("the page embeds the token")
        .to_owned();

    // The stack as it was before sessions: logging, errors, compression.
    let old = TestClient::new(LogRequests::new(CatchErrors::new(Gzip::new(page))));
    let get = TestRequest::get("/Page").with_header("accept-encoding", "gzip");
    let with_cookie = get.clone().with_header("cookie", &cookie);

    let mut group = c.benchmark_group("stack");
    group.bench_function("without sessions GET 10 KB", |b| {
        b.iter(|| black_box(old.send(get.clone())))
    });
    group.bench_function("stack GET 10 KB, no cookie (a new token sealed)", |b| {
        b.iter(|| black_box(full.send(get.clone())))
    });
    group.bench_function("stack GET 10 KB, session cookie", |b| {
        b.iter(|| black_box(full.send(with_cookie.clone())))
    });
    let etag = full
        .send(with_cookie.clone())
        .header("etag")
        .expect("an ETag")
        .to_owned();
    let revalidate = with_cookie.clone().with_header("if-none-match", &etag);
    group.bench_function("stack GET 10 KB, session cookie, 304", |b| {
        b.iter(|| black_box(full.send(revalidate.clone())))
    });
    let text = "word ".repeat(20_000);
    let post = TestRequest::post_form("/Page", &[("text", &text), ("csrf_token", &token)])
        .with_header("cookie", &cookie);
    group.bench_function(
        "stack POST 100 KB form, session cookie, CSRF in body",
        |b| b.iter(|| black_box(full.send(post.clone()))),
    );
    group.finish();

    let etag_only = TestClient::new(ConditionalGet::new(page));
    c.bench_function("ConditionalGet alone, 10 KB", |b| {
        b.iter(|| black_box(etag_only.send(get.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
