//! Finished page views kept in memory by a long-running process, so that a repeated view of an
//! unchanged page costs a lookup instead of reading, rendering and drawing it again.
//!
//! An entry is served only for a request that would be drawn exactly as it was:
//!
//! - **Its key** holds everything of the request a view depends on: the path as sent, the mount,
//!   the viewer ([`Viewer::cache_key`]: account, display name, role, theme), the colour mode asked
//!   for by cookie, and the session's CSRF token, which a logged-in reader's page prints in its
//!   logout form. Only a `GET` or `HEAD` of a page view (`/{Page}` and the front page) with no query
//!   string is kept: `?rev=`, notices and theme previews are drawn every time.
//! - **Storage's change counter** ([`storage::Storage::change_count`]), read before the view is
//!   drawn. Every write a view can show (a save, delete, rename or revert, a page's recorded links,
//!   a file version), made by any process sharing the database, moves it in the write's own
//!   transaction, and then every entry goes at once. `#acl` lines and group pages are revisions
//!   too, so the ACL check a hit skips was made for the same viewer, page and ACLs.
//!
//! Everything else a view depends on is fixed for the life of a process: `quire.toml`, and the
//! themes (a process that reloads them, `serve --dev`, keeps nothing). Only a `200` with its body in
//! memory whose drawing left the session untouched is kept: a response that set a cookie must be
//! drawn again to set it again. Its ETag is computed once, as `ConditionalGet` would, so a repeat
//! with `If-None-Match` is a 304 without hashing the page.
//!
//! Bounded by `response_cache_bytes`; past it the oldest entries go first. A CGI process answers one
//! request, so it keeps nothing and never reads the counter.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use gateway::session::Session;
use gateway::{Response, ResponseBody};
use http::{header, HeaderMap, Method, StatusCode};

use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::theme::requested_mode;
use crate::wiki::plumbing::viewer::ViewerKey;
use crate::wiki::Exchange;

/// No entry may take more than this share of the cache: one huge page must not push out every other.
const LARGEST_SHARE: usize = 8;

/// The finished views of one process (see the module docs).
pub(crate) struct ResponseCache {
    /// The most bytes of bodies and keys kept; 0: nothing is kept.
    limit: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The change count every entry was drawn under.
    changes: i64,
    entries: HashMap<ViewKey, Entry>,
    /// Keys in the order they were stored, each with its entry's serial number, so that a key
    /// stored again is not evicted for its older copy.
    order: VecDeque<(ViewKey, u64)>,
    bytes: usize,
    serial: u64,
}

struct Entry {
    serial: u64,
    headers: HeaderMap,
    body: Bytes,
}

/// Everything of a request a page view depends on (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ViewKey {
    path: Vec<u8>,
    mount: String,
    viewer: ViewerKey,
    mode: &'static str,
    csrf_token: Option<String>,
}

impl ViewKey {
    /// Roughly what keeping the key costs, for the bound.
    fn size(&self) -> usize {
        self.path.len() + self.mount.len() + self.csrf_token.as_ref().map_or(0, String::len) + 128
    }
}

/// A view the cache may answer, and the change count read before drawing it.
pub(crate) struct Cacheable {
    key: ViewKey,
    changes: i64,
}

impl ResponseCache {
    /// A cache of at most `limit` bytes; 0 keeps nothing.
    pub(crate) fn new(limit: u64) -> Self {
        ResponseCache {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            state: Mutex::new(State::default()),
        }
    }

    /// Whether anything is ever kept.
    pub(crate) fn is_on(&self) -> bool {
        self.limit > 0
    }

    /// The key of `exchange` when it is a view this cache keeps (see the module docs); `None` for
    /// every other request, and always when the cache is off.
    pub(crate) fn key(&self, exchange: &Exchange) -> Option<ViewKey> {
        let request = &exchange.request;
        if !self.is_on()
            || !matches!(*request.method(), Method::GET | Method::HEAD)
            || !request.query().is_empty()
            || session_changed(exchange)
        {
            return None;
        }
        match Route::parse(request.path_info()).ok()? {
            Route::Root | Route::View(_) => {}
            _ => return None,
        }
        let csrf_token = request
            .extensions()
            .get::<gateway::middleware::CsrfToken>()
            .and_then(gateway::middleware::CsrfToken::existing);
        Some(ViewKey {
            path: request.path_info().to_vec(),
            mount: request.mount().to_owned(),
            viewer: exchange.viewer.cache_key(),
            mode: requested_mode(exchange),
            csrf_token,
        })
    }

    /// The key with the change count it is looked up and stored under.
    pub(crate) fn under(key: ViewKey, changes: i64) -> Cacheable {
        Cacheable { key, changes }
    }

    /// The response kept for `view`, if it was drawn under the same change count.
    pub(crate) fn get(&self, view: &Cacheable) -> Option<Response> {
        let state = self.lock();
        if state.changes != view.changes {
            return None;
        }
        let entry = state.entries.get(&view.key)?;
        let mut response = Response::new(ResponseBody::Bytes(entry.body.clone()));
        *response.headers_mut() = entry.headers.clone();
        Some(response)
    }

    /// Keeps `response` to the request `exchange` for `view` if it may be replayed: a 200 with its
    /// body in memory, to a `GET` whose drawing left the session as it was. Gives it its ETag.
    pub(crate) fn keep(&self, view: Cacheable, exchange: &Exchange, response: &mut Response) {
        if *exchange.request.method() == Method::GET && !session_changed(exchange) {
            self.put(view, response);
        }
    }

    /// Keeps `response` for `view` if it is a 200 with its body in memory.
    fn put(&self, view: Cacheable, response: &mut Response) {
        if response.status() != StatusCode::OK {
            return;
        }
        let ResponseBody::Bytes(body) = response.body() else {
            return;
        };
        let body = body.clone();
        let size = body.len() + view.key.size();
        if size > self.limit / LARGEST_SHARE {
            return;
        }
        if !response.headers().contains_key(header::ETAG) {
            response
                .headers_mut()
                .insert(header::ETAG, gateway::middleware::etag(&body));
        }
        let mut state = self.lock();
        if view.changes != state.changes {
            // A newer count wins: everything drawn before it may be stale. An entry drawn under an
            // older count than the cache's (a slow request that began before a write) is dropped.
            if view.changes < state.changes {
                return;
            }
            state.entries.clear();
            state.order.clear();
            state.bytes = 0;
            state.changes = view.changes;
        }
        state.serial += 1;
        let serial = state.serial;
        state.order.push_back((view.key.clone(), serial));
        let entry = Entry {
            serial,
            headers: response.headers().clone(),
            body,
        };
        if let Some(old) = state.entries.insert(view.key.clone(), entry) {
            state.bytes -= old.body.len() + view.key.size();
        }
        state.bytes += size;
        // Keys stored again leave their older copies in the order; drop those now and then.
        if state.order.len() > 2 * state.entries.len() + 16 {
            let State { order, entries, .. } = &mut *state;
            order.retain(|(key, serial)| entries.get(key).is_some_and(|e| e.serial == *serial));
        }
        while state.bytes > self.limit {
            let Some((key, serial)) = state.order.pop_front() else {
                break;
            };
            if state
                .entries
                .get(&key)
                .is_some_and(|entry| entry.serial == serial)
            {
                if let Some(gone) = state.entries.remove(&key) {
                    state.bytes -= gone.body.len() + key.size();
                }
            }
        }
    }

    /// The entries are plain data: a panic elsewhere cannot leave them half-changed in a way that
    /// matters, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether this request's session changed (a login state forgotten, a token made).
fn session_changed(exchange: &Exchange) -> bool {
    exchange
        .request
        .extensions()
        .get::<Session>()
        .is_some_and(Session::is_changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(page: &str, changes: i64) -> Cacheable {
        let key = ViewKey {
            path: format!("/{page}").into_bytes(),
            mount: String::new(),
            viewer: crate::wiki::plumbing::viewer::Viewer::anonymous("a".into(), None).cache_key(),
            mode: "auto",
            csrf_token: None,
        };
        ResponseCache::under(key, changes)
    }

    fn page(body: &str) -> Response {
        Response::new(ResponseBody::Bytes(Bytes::from(body.to_owned())))
    }

    fn body(response: Response) -> String {
        let bytes = response.into_body().into_bytes().expect("a body in memory");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[test]
    fn a_view_is_served_under_the_change_count_it_was_drawn_under_and_no_other() {
        let cache = ResponseCache::new(1 << 20);
        let mut drawn = page("one");
        cache.put(view("A", 7), &mut drawn);
        let tag = drawn.headers().get(header::ETAG).cloned();
        assert_eq!(tag, Some(gateway::middleware::etag(b"one")));
        let hit = cache.get(&view("A", 7)).expect("kept");
        assert_eq!(hit.headers().get(header::ETAG).cloned(), tag);
        assert_eq!(body(hit), "one");
        assert!(cache.get(&view("A", 8)).is_none(), "served after a change");
        assert!(
            cache.get(&view("B", 7)).is_none(),
            "served for another page"
        );

        // A view drawn under a newer count empties the cache; one drawn under an older count
        // (a slow request that began before a write) is not kept.
        cache.put(view("B", 8), &mut page("two"));
        assert!(cache.get(&view("A", 7)).is_none());
        assert!(cache.get(&view("A", 8)).is_none());
        cache.put(view("A", 7), &mut page("stale"));
        assert!(cache.get(&view("A", 7)).is_none());
        assert!(cache.get(&view("A", 8)).is_none());
        assert_eq!(body(cache.get(&view("B", 8)).expect("kept")), "two");
    }

    #[test]
    fn only_a_200_is_kept() {
        let cache = ResponseCache::new(1 << 20);
        let mut missing = page("no such page");
        *missing.status_mut() = StatusCode::NOT_FOUND;
        cache.put(view("A", 1), &mut missing);
        assert!(cache.get(&view("A", 1)).is_none());
    }

    #[test]
    fn the_bound_holds_and_the_oldest_views_go_first() {
        let body_bytes = 1_000;
        let limit = 10 * (body_bytes + 200);
        let cache = ResponseCache::new(limit as u64);
        for n in 0..50 {
            cache.put(
                view(&format!("P{n}"), 1),
                &mut page(&"x".repeat(body_bytes)),
            );
            // The same page drawn again (two requests that missed at once) is kept once.
            cache.put(view("P0", 1), &mut page(&"y".repeat(body_bytes)));
            assert!(cache.lock().bytes <= limit, "over the bound after {n}");
        }
        let state = cache.lock();
        assert!(state.entries.len() >= 5, "{} kept", state.entries.len());
        assert!(state.order.len() <= 2 * state.entries.len() + 16);
        drop(state);
        assert!(cache.get(&view("P1", 1)).is_none(), "the oldest stayed");
        assert!(cache.get(&view("P49", 1)).is_some(), "the newest went");
    }

    #[test]
    fn a_view_larger_than_its_share_or_a_cache_that_is_off_keeps_nothing() {
        let cache = ResponseCache::new(8_000);
        cache.put(view("Big", 1), &mut page(&"x".repeat(1_001)));
        assert!(cache.get(&view("Big", 1)).is_none());
        let off = ResponseCache::new(0);
        assert!(!off.is_on());
        off.put(view("A", 1), &mut page("one"));
        assert!(off.get(&view("A", 1)).is_none());
    }
}
