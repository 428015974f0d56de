//! Rendered pages kept for the next view, so a page read again is not parsed and sanitized again.
//!
//! A render is a function of the page's text, its name and what the resolver answers about its wiki links:
//! which exist, and the URL each gets ([`LinkResolver::page_url`] for those that exist,
//! [`LinkResolver::create_url`] for the others). An entry is keyed by the text and the name, and holds the
//! output with the answers it was made with. A lookup asks the resolver again — existence once, as a render
//! does, then one URL per distinct link — and uses the entry only if every answer is the same. So an edit, a
//! linked page created or deleted, or a new mount prefix never serves stale HTML; what is saved is the parse,
//! the rewrite and the sanitizer, which make up nearly all of a render's time.
//!
//! Safety does not rest on the cache: every stored output is the sanitizer's output for that very input.
//!
//! What it is not: a cache of anything the resolver says (that is asked on every render), nor persistent.
//! It is bounded: an entry (text, name and HTML) of more than [`ENTRY_LIMIT`] bytes is not kept, and all entries
//! together stay under [`BUDGET`] bytes, the least recently used going first. A page is kept only when it is
//! rendered the second time (among the last [`SIGHTINGS`] pages): pages rendered once, such as edit previews,
//! cost a hash and no copies, and do not push out the pages people read.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::{LinkResolver, RenderOptions, Rendered};

/// Bytes all entries may hold together.
pub(crate) const BUDGET: usize = 16 << 20;

/// Bytes above which a page is not kept; such pages take long enough to render that a cache adds little.
pub(crate) const ENTRY_LIMIT: usize = 1 << 20;

/// How many pages rendered once are remembered (by hash), waiting for a second render that gets them kept.
pub(crate) const SIGHTINGS: usize = 4096;

/// What the resolver said about one wiki-link target when the page was rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The page exists; its URL.
    Exists(String),
    /// The page does not exist; the URL that creates it.
    Missing(String),
}

/// The resolver's answers for `links`, given which of them exist: what a render of a page with these links
/// writes into its HTML.
pub(crate) fn answers(
    resolver: &dyn LinkResolver,
    links: &[String],
    existing: &HashSet<String>,
) -> Vec<Answer> {
    links
        .iter()
        .map(|name| {
            if existing.contains(name) {
                Answer::Exists(resolver.page_url(name))
            } else {
                Answer::Missing(resolver.create_url(name))
            }
        })
        .collect()
}

/// A rendered page and what it was made from.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) current_page: String,
    pub(crate) markdown: String,
    pub(crate) options: RenderOptions,
    pub(crate) answers: Vec<Answer>,
    pub(crate) rendered: Rendered,
}

impl Entry {
    fn size(&self) -> usize {
        let links: usize = self.rendered.links.iter().map(String::len).sum();
        let answers: usize = self
            .answers
            .iter()
            .map(|answer| match answer {
                Answer::Exists(url) | Answer::Missing(url) => url.len(),
            })
            .sum();
        self.current_page.len() + self.markdown.len() + self.rendered.html.len() + links + answers
    }
}

struct Slot {
    entry: Arc<Entry>,
    last_used: u64,
}

/// Entries by a hash of (page name, text); a bucket holds the rare pages whose hashes collide.
#[derive(Default)]
struct Entries {
    buckets: HashMap<u64, Vec<Slot>>,
    bytes: usize,
    clock: u64,
    /// Hashes of pages rendered once and not kept. A collision only keeps a page a render early.
    sighted: HashSet<u64>,
}

/// A page's identity in the cache: its name and text, and their hash, computed once per render.
pub(crate) struct Key<'a> {
    hash: u64,
    current_page: &'a str,
    markdown: &'a str,
    options: &'a RenderOptions,
}

/// A bounded map from (page name, text) to rendered pages, shared by all threads.
pub(crate) struct Cache {
    hasher: RandomState,
    budget: usize,
    entry_limit: usize,
    entries: Mutex<Entries>,
}

/// The cache [`crate::render`] uses.
pub(crate) static PAGES: LazyLock<Cache> = LazyLock::new(|| Cache::new(BUDGET, ENTRY_LIMIT));

impl Cache {
    pub(crate) fn new(budget: usize, entry_limit: usize) -> Self {
        Cache {
            hasher: RandomState::new(),
            budget,
            entry_limit: entry_limit.min(budget),
            entries: Mutex::new(Entries::default()),
        }
    }

    pub(crate) fn key<'a>(
        &self,
        current_page: &'a str,
        markdown: &'a str,
        options: &'a RenderOptions,
    ) -> Key<'a> {
        Key {
            // The name's length first, so that no two (name, text) pairs hash the same concatenation.
            hash: self
                .hasher
                .hash_one((current_page.len(), current_page, markdown, options)),
            current_page,
            markdown,
            options,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic elsewhere while holding the lock cannot leave the map inconsistent: every change is one
        // insert or remove.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry for `key`, if there is one; it still has to be checked against the resolver's current answers.
    pub(crate) fn get(&self, key: &Key<'_>) -> Option<Arc<Entry>> {
        let mut entries = self.lock();
        entries.clock += 1;
        let now = entries.clock;
        let slot = entries
            .buckets
            .get_mut(&key.hash)?
            .iter_mut()
            .find(|slot| {
                slot.entry.current_page == key.current_page
                    && slot.entry.markdown == key.markdown
                    && slot.entry.options == *key.options
            })?;
        slot.last_used = now;
        Some(Arc::clone(&slot.entry))
    }

    /// Whether a render of `key` whose HTML has `html_len` bytes should be kept: it is small enough, and the
    /// page was rendered before. Otherwise notes this render, so that the next one is kept.
    pub(crate) fn admits(&self, key: &Key<'_>, html_len: usize) -> bool {
        let size = key.current_page.len() + key.markdown.len() + html_len;
        if size > self.entry_limit {
            return false;
        }
        let mut entries = self.lock();
        if entries.sighted.remove(&key.hash) {
            return true;
        }
        if entries.sighted.len() >= SIGHTINGS {
            entries.sighted.clear();
        }
        entries.sighted.insert(key.hash);
        false
    }

    /// Keeps `entry`, replacing one for the same page and text, and evicting the least recently used entries
    /// while the budget is exceeded. Entries larger than the entry limit are not kept.
    pub(crate) fn insert(&self, entry: Entry) {
        let size = entry.size();
        if size > self.entry_limit {
            return;
        }
        let hash = self
            .key(&entry.current_page, &entry.markdown, &entry.options)
            .hash;
        let mut entries = self.lock();
        entries.remove(hash, &entry);
        while entries.bytes + size > self.budget && entries.evict_least_recently_used() {}
        entries.clock += 1;
        let slot = Slot {
            entry: Arc::new(entry),
            last_used: entries.clock,
        };
        entries.bytes += size;
        entries.buckets.entry(hash).or_default().push(slot);
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

impl Entries {
    /// Removes the entry for the same page, text and options as `like`.
    fn remove(&mut self, hash: u64, like: &Entry) {
        let Some(bucket) = self.buckets.get_mut(&hash) else {
            return;
        };
        let Some(at) = bucket.iter().position(|slot| {
            slot.entry.current_page == like.current_page
                && slot.entry.markdown == like.markdown
                && slot.entry.options == like.options
        }) else {
            return;
        };
        let slot = bucket.swap_remove(at);
        self.bytes -= slot.entry.size();
        if bucket.is_empty() {
            self.buckets.remove(&hash);
        }
    }

    /// Removes the least recently used entry; false if there was none. A scan, but only when the cache is full.
    fn evict_least_recently_used(&mut self) -> bool {
        let oldest = self
            .buckets
            .iter()
            .flat_map(|(hash, bucket)| bucket.iter().map(move |slot| (slot.last_used, *hash)))
            .min();
        let Some((last_used, hash)) = oldest else {
            return false;
        };
        let Some(bucket) = self.buckets.get_mut(&hash) else {
            return false;
        };
        let Some(at) = bucket.iter().position(|slot| slot.last_used == last_used) else {
            return false;
        };
        let slot = bucket.swap_remove(at);
        self.bytes -= slot.entry.size();
        if bucket.is_empty() {
            self.buckets.remove(&hash);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static DEFAULT: LazyLock<RenderOptions> = LazyLock::new(RenderOptions::default);

    fn entry(page: &str, markdown: &str, html_len: usize) -> Entry {
        Entry {
            current_page: page.to_owned(),
            markdown: markdown.to_owned(),
            options: RenderOptions::default(),
            answers: vec![Answer::Exists("/A".into())],
            rendered: Rendered {
                html: "x".repeat(html_len),
                links: vec!["A".into()],
            },
        }
    }

    #[test]
    fn finds_exactly_what_was_kept() {
        let cache = Cache::new(1 << 20, 1 << 20);
        cache.insert(entry("P", "text", 10));
        assert_eq!(
            cache
                .get(&cache.key("P", "text", &DEFAULT))
                .map(|e| e.rendered.html.len()),
            Some(10)
        );
        assert!(cache.get(&cache.key("P", "text!", &DEFAULT)).is_none());
        assert!(cache.get(&cache.key("Q", "text", &DEFAULT)).is_none());
        // The same concatenation split differently is a different key.
        cache.insert(entry("ab", "c", 1));
        assert!(cache.get(&cache.key("a", "bc", &DEFAULT)).is_none());
        cache.insert(entry("P", "text", 20));
        assert_eq!(
            cache
                .get(&cache.key("P", "text", &DEFAULT))
                .map(|e| e.rendered.html.len()),
            Some(20)
        );
        assert_eq!(
            cache.bytes(),
            entry("P", "text", 20).size() + entry("ab", "c", 1).size()
        );
    }

    #[test]
    fn keeps_pages_rendered_a_second_time() {
        let cache = Cache::new(1 << 20, 1_000);
        let key = cache.key("P", "text", &DEFAULT);
        assert!(!cache.admits(&key, 10), "first render");
        assert!(cache.admits(&key, 10), "second render");
        assert!(!cache.admits(&cache.key("P", "other", &DEFAULT), 10));
        assert!(
            !cache.admits(&cache.key("Big", "text", &DEFAULT), 1_000),
            "over the entry limit"
        );
        assert!(
            !cache.admits(&cache.key("Big", "text", &DEFAULT), 1_000),
            "never kept"
        );
        for n in 0..=SIGHTINGS {
            let _ = cache.admits(&cache.key(&n.to_string(), "text", &DEFAULT), 10);
        }
        assert!(cache.lock().sighted.len() <= SIGHTINGS);
    }

    #[test]
    fn stays_within_its_budget_dropping_the_least_recently_used() {
        let one = entry("P0", "text", 1_000).size();
        let cache = Cache::new(3 * one, one);
        for n in 0..3 {
            cache.insert(entry(&format!("P{n}"), "text", 1_000));
        }
        assert!(cache.get(&cache.key("P0", "text", &DEFAULT)).is_some());
        cache.insert(entry("P3", "text", 1_000));
        assert!(cache.bytes() <= 3 * one);
        assert!(
            cache.get(&cache.key("P1", "text", &DEFAULT)).is_none(),
            "least recently used went"
        );
        for kept in ["P0", "P2", "P3"] {
            assert!(
                cache.get(&cache.key(kept, "text", &DEFAULT)).is_some(),
                "{kept} kept"
            );
        }
        cache.insert(entry("Big", "text", 2_000));
        assert!(
            cache.get(&cache.key("Big", "text", &DEFAULT)).is_none(),
            "over the entry limit"
        );
        assert!(cache.bytes() <= 3 * one);
    }
}
