//! Listings paged by name (`/+index`, `/+orphans`, `/+wanted`, `/+backlinks/{Page}`, and the first
//! backlinks a page view shows): a cursor (`?after=`, the last name read) rather than an offset, so
//! that a page is one range scan of storage's name index, and a bounded number of names read per
//! page whatever the reader may see of them, so that no request walks the whole wiki.

use crate::wiki::WikiError;

/// The most names storage is asked for at a time.
const BATCH: usize = 500;

/// The most names one page of a listing reads, shown or not.
pub(crate) const MAX_EXAMINED: usize = 5000;

/// One page of a listing: up to `per_page` names after `after` that `fetch` says belong (it gives
/// the next names after a cursor, each with whether it belongs) and `keep` lets through (the
/// reader's rights). Returns them and the cursor of the page after, `None` when this is the last:
/// after the last name shown when the page is full, or after the last name read when
/// [`MAX_EXAMINED`] names were read first (a reader who sees few names gets short pages).
pub(crate) fn page_by_name(
    after: Option<String>,
    per_page: usize,
    fetch: impl FnMut(Option<&str>, usize) -> Result<Vec<(String, bool)>, WikiError>,
    keep: impl Fn(&str) -> bool,
) -> Result<(Vec<String>, Option<String>), WikiError> {
    page_by_name_within(after, per_page, MAX_EXAMINED, fetch, keep)
}

/// [`page_by_name`], reading at most `max_examined` names instead of [`MAX_EXAMINED`]: for a part
/// of another page (a page view's backlinks), which must cost less than a listing of its own.
///
/// The first read asks for one name more than the page shows, enough to fill it and to know
/// whether another follows when the reader may read them all (the usual case: one short range
/// scan); later reads, for readers some names are hidden from, ask for whole batches.
pub(crate) fn page_by_name_within(
    after: Option<String>,
    per_page: usize,
    max_examined: usize,
    mut fetch: impl FnMut(Option<&str>, usize) -> Result<Vec<(String, bool)>, WikiError>,
    keep: impl Fn(&str) -> bool,
) -> Result<(Vec<String>, Option<String>), WikiError> {
    let max_examined = max_examined.max(1);
    let mut names: Vec<String> = Vec::new();
    let mut cursor = Cursor::Given(after);
    let mut examined = 0;
    let mut batch_size = per_page.saturating_add(1).min(BATCH);
    loop {
        let limit = batch_size.min(max_examined - examined);
        let batch = fetch(cursor.name(&names), limit)?;
        let exhausted = batch.len() < limit;
        for (name, belongs) in batch {
            examined += 1;
            if !(belongs && keep(&name)) {
                cursor = Cursor::Given(Some(name));
                continue;
            }
            if names.len() == per_page {
                let next = cursor.into_name(&names);
                return Ok((names, next));
            }
            names.push(name);
            cursor = Cursor::LastKept;
        }
        if exhausted {
            return Ok((names, None));
        }
        if examined >= max_examined {
            let next = cursor.into_name(&names);
            return Ok((names, next));
        }
        batch_size = BATCH;
    }
}

/// The last name read, a page's cursor: the one given or left out, or the last name kept, which is
/// not copied until it is the cursor handed back (most pages keep every name they read).
enum Cursor {
    Given(Option<String>),
    LastKept,
}

impl Cursor {
    fn name<'a>(&'a self, kept: &'a [String]) -> Option<&'a str> {
        match self {
            Cursor::Given(name) => name.as_deref(),
            Cursor::LastKept => kept.last().map(String::as_str),
        }
    }

    fn into_name(self, kept: &[String]) -> Option<String> {
        match self {
            Cursor::Given(name) => name,
            Cursor::LastKept => kept.last().cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake listing of `n` names, every third one belonging.
    fn listing(n: usize) -> Vec<(String, bool)> {
        (0..n).map(|i| (format!("P{i:06}"), i % 3 == 0)).collect()
    }

    fn fetch_from(
        all: &[(String, bool)],
    ) -> impl FnMut(Option<&str>, usize) -> Result<Vec<(String, bool)>, WikiError> + '_ {
        move |after, limit| {
            Ok(all
                .iter()
                .filter(|(name, _)| after.is_none_or(|after| name.as_str() > after))
                .take(limit)
                .cloned()
                .collect())
        }
    }

    #[test]
    fn a_full_page_goes_on_after_its_last_name() {
        let all = listing(30);
        let (names, next) = page_by_name(None, 4, fetch_from(&all), |_| true).unwrap();
        assert_eq!(names, ["P000000", "P000003", "P000006", "P000009"]);
        // The names read after the last shown are not shown anyway.
        assert!(next.as_deref() >= Some("P000009") && next.as_deref() < Some("P000012"));
        let (names, next) = page_by_name(next, 100, fetch_from(&all), |_| true).unwrap();
        assert_eq!(names.first().map(String::as_str), Some("P000012"));
        assert_eq!(next, None);
    }

    #[test]
    fn a_page_a_reader_sees_whole_is_one_read_of_one_name_more_than_it_shows() {
        let all: Vec<(String, bool)> = listing(3000)
            .into_iter()
            .map(|(name, _)| (name, true))
            .collect();
        let mut reads = Vec::new();
        let mut fetch = fetch_from(&all);
        let (names, next) = page_by_name_within(
            None,
            5,
            500,
            |after, limit| {
                reads.push(limit);
                fetch(after, limit)
            },
            |_| true,
        )
        .unwrap();
        assert_eq!(names.len(), 5);
        assert!(next.is_some());
        assert_eq!(reads, [6]);
    }

    #[test]
    fn a_part_of_a_page_reads_no_more_than_its_own_bound() {
        let all = listing(3000);
        let mut read = 0;
        let mut fetch = fetch_from(&all);
        let (names, next) = page_by_name_within(
            None,
            5,
            700,
            |after, limit| {
                let batch = fetch(after, limit)?;
                read += batch.len();
                Ok(batch)
            },
            |name| name == "P002001",
        )
        .unwrap();
        assert!(names.is_empty());
        assert_eq!(read, 700);
        assert_eq!(next.as_deref(), Some("P000699"));
    }

    #[test]
    fn a_page_reads_one_name_more_than_it_shows_when_every_name_shows() {
        let asked = |all: &[(String, bool)]| {
            let asked = std::cell::RefCell::new(Vec::new());
            let fetch = |after: Option<&str>, limit| {
                asked.borrow_mut().push(limit);
                fetch_from(all)(after, limit)
            };
            let (names, next) = page_by_name(None, 200, fetch, |_| true).unwrap();
            assert_eq!(names.len(), 200);
            assert!(next.is_some());
            asked.into_inner()
        };
        let every: Vec<(String, bool)> = listing(3000)
            .into_iter()
            .map(|(name, _)| (name, true))
            .collect();
        assert_eq!(asked(&every), [201]);
        // One name in three belongs: then whole batches.
        assert_eq!(asked(&listing(3000)), [201, 500]);
    }

    #[test]
    fn a_reader_who_sees_little_gets_a_short_page_after_the_bound() {
        let all = listing(12_000);
        let (names, next) =
            page_by_name(None, 10, fetch_from(&all), |name| name == "P011100").unwrap();
        assert!(names.is_empty());
        assert_eq!(next.as_deref(), Some("P004999"));
        let (names, _) =
            page_by_name(next, 10, fetch_from(&all), |name| name == "P011100").unwrap();
        assert!(names.is_empty());
    }
}
