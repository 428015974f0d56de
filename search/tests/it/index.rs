//! The search index through its public API, on real index directories: queries, snippets, paging,
//! go-to and suggestions, updates under the writer lock, rebuilds, and phrases of common words.

use search::{PageDoc, SearchIndex, Visible, MIN_WRITER_HEAP};

fn doc<'a>(name: &'a str, text: &'a str) -> PageDoc<'a> {
    PageDoc {
        name,
        text,
        author: "alice",
        time: 1_700_000_000,
    }
}

/// An index in a temp dir holding `pages`, committed as up to revision `pages.len()`.
fn index_with(pages: &[(&str, &str)]) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::new(&dir.path().join("index"));
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    for (name, text) in pages {
        update.put(&doc(name, text)).unwrap();
    }
    update.commit(pages.len() as u64).unwrap();
    (dir, index)
}

fn names(index: &SearchIndex, query: &str) -> Vec<String> {
    index
        .search(query, Visible::All, 0, 50)
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| hit.name)
        .collect()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

const PAGES: &[(&str, &str)] = &[
    (
        "Releases",
        "How we ship a release: tag, build, announce the release notes.",
    ),
    (
        "Team/Notes",
        "Meeting notes. The release is late; we discussed notes on the budget.",
    ),
    ("Budget", "Costs for 2026. Notes on travel and hardware."),
    ("Cafe", "The café downstairs sells espresso."),
    (
        "Help/Editing",
        "How to edit pages: press Edit, write Markdown, save.",
    ),
];

#[test]
fn words_are_all_required_and_the_title_ranks_first() {
    let (_dir, index) = index_with(PAGES);
    assert_eq!(
        sorted(names(&index, "release notes")),
        vec!["Releases", "Team/Notes"]
    );
    // "budget" is the title of one page and a word in another: the title wins.
    assert_eq!(names(&index, "budget"), vec!["Budget", "Team/Notes"]);
    assert_eq!(names(&index, "nothing-like-this"), Vec::<String>::new());
}

#[test]
fn phrases_prefixes_fields_or_and_not() {
    let (_dir, index) = index_with(PAGES);
    assert_eq!(names(&index, "\"release notes\""), vec!["Releases"]);
    assert_eq!(names(&index, "\"notes release\""), Vec::<String>::new());
    assert_eq!(
        sorted(names(&index, "edi*")),
        vec!["Help/Editing"],
        "prefix of 'edit' and 'editing'"
    );
    assert_eq!(sorted(names(&index, "title:notes")), vec!["Team/Notes"]);
    assert_eq!(sorted(names(&index, "path:team")), vec!["Team/Notes"]);
    assert_eq!(
        sorted(names(&index, "espresso OR hardware")),
        vec!["Budget", "Cafe"]
    );
    assert_eq!(sorted(names(&index, "notes -release")), vec!["Budget"]);
    assert_eq!(names(&index, "cafe"), vec!["Cafe"], "accents are folded");
    assert_eq!(names(&index, "CAFÉ"), vec!["Cafe"]);
    assert_eq!(
        sorted(names(&index, "author:alice")).len(),
        PAGES.len(),
        "every page is alice's"
    );
}

#[test]
fn snippets_mark_the_matched_words_and_escape_the_text() {
    let (_dir, index) = index_with(&[(
        "Hostile",
        "Some <script>alert(1)</script> text & the needle in it.",
    )]);
    let results = index.search("needle", Visible::All, 0, 10).unwrap();
    assert_eq!(results.total, 1);
    let html = &results.hits[0].snippet_html;
    assert!(html.contains("<mark>needle</mark>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&amp;"), "{html}");

    let prefix = index.search("need*", Visible::All, 0, 10).unwrap();
    assert!(
        prefix.hits[0].snippet_html.contains("<mark>needle</mark>"),
        "{}",
        prefix.hits[0].snippet_html
    );
    // A match in the title only shows the start of the text.
    let title = index.search("hostile", Visible::All, 0, 10).unwrap();
    assert!(title.hits[0].snippet_html.starts_with("Some &lt;script"));
}

#[test]
fn results_are_paged() {
    let texts: Vec<(String, String)> = (0..25)
        .map(|i| {
            (
                format!("Page{i:02}"),
                format!("common word {}", "filler ".repeat(i)),
            )
        })
        .collect();
    let pages: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (_dir, index) = index_with(&pages);
    let first = index.search("common", Visible::All, 0, 10).unwrap();
    let third = index.search("common", Visible::All, 20, 10).unwrap();
    assert_eq!((first.total, first.hits.len()), (25, 10));
    assert_eq!((third.total, third.hits.len()), (25, 5));
    let all: std::collections::HashSet<String> = (0..3)
        .flat_map(|page| {
            index
                .search("common", Visible::All, page * 10, 10)
                .unwrap()
                .hits
        })
        .map(|hit| hit.name)
        .collect();
    assert_eq!(all.len(), 25, "no page twice, none missing");
}

#[test]
fn go_to_suggestions_and_did_you_mean() {
    let (_dir, index) = index_with(PAGES);
    let results = index.search("team/notes", Visible::All, 0, 10).unwrap();
    assert_eq!(results.go_to, vec!["Team/Notes"]);
    assert_eq!(
        index.search("Editing", Visible::All, 0, 10).unwrap().go_to,
        vec!["Help/Editing"]
    );
    assert_eq!(
        index.search("edit", Visible::All, 0, 10).unwrap().go_to,
        Vec::<String>::new()
    );

    assert_eq!(
        index.suggest("b", Visible::All, 10).unwrap(),
        vec!["Budget"]
    );
    assert_eq!(
        index.suggest("HELP/", Visible::All, 10).unwrap(),
        vec!["Help/Editing"]
    );
    assert_eq!(
        index.suggest("not", Visible::All, 10).unwrap(),
        vec!["Team/Notes"]
    );
    assert_eq!(
        sorted(index.suggest("", Visible::All, 10).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        index.suggest("zzz", Visible::All, 10).unwrap(),
        Vec::<String>::new()
    );

    let missed = index.search("budgte", Visible::All, 0, 10).unwrap();
    assert_eq!(missed.total, 0);
    assert_eq!(missed.did_you_mean, vec!["Budget"]);
}

#[test]
fn suggestions_are_shortest_first_and_limited() {
    let (_dir, index) = index_with(&[
        ("Plan/Long/Name", "x"),
        ("Plan", "x"),
        ("Planning", "x"),
        ("Planet", "x"),
    ]);
    assert_eq!(
        index.suggest("plan", Visible::All, 3).unwrap(),
        vec!["Plan", "Planet", "Planning"]
    );
}

/// Suggestions are the names with a key starting with the prefix, shortest name first, then by the
/// first such key, whether a prefix has a few keys (read whole and sorted) or many (walked by name
/// length): checked against that rule over several segments, with replaced, removed and hidden pages.
#[test]
fn suggestions_follow_one_order_for_few_and_many_matches() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::new(&dir.path().join("index"));
    let mut names: Vec<String> = Vec::new();
    // Three segments, each its own commit; names of every length, top-level and subpages, some with
    // both a name and a last segment starting with the prefix.
    for batch in 0..3u64 {
        let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
        for i in 0..70 {
            let tail = "x".repeat((i * 7 + batch as usize * 3) % 11);
            let name = match i % 4 {
                0 => format!("Plan{tail}{batch}{i}"),
                1 => format!("Team{batch}/Plan{i}{tail}"),
                2 => format!("Planet{batch}/plan{i}"),
                _ => format!("Other{batch}{i}{tail}"),
            };
            update.put(&doc(&name, "text")).unwrap();
            names.push(name);
        }
        update.commit(100 * (batch + 1)).unwrap();
    }
    // Replaced (a second document, the first deleted) and removed pages.
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    for name in names.iter().step_by(5) {
        update.put(&doc(name, "new text")).unwrap();
    }
    let removed: Vec<String> = names.iter().skip(2).step_by(9).cloned().collect();
    for name in &removed {
        update.remove(name);
    }
    update.commit(1000).unwrap();
    names.retain(|name| !removed.contains(name));
    let hidden: Vec<String> = names.iter().skip(1).step_by(6).cloned().collect();

    // A name's place: its length and its first key starting with the prefix. Names sharing both
    // (`Planet0/plan6`, `Planet1/plan6`) come in index order, so they are compared by place.
    let place = |name: &str, prefix: &str| -> Option<(usize, String)> {
        let lower = name.to_lowercase();
        let mut keys = vec![lower.clone()];
        keys.extend(
            lower
                .match_indices('/')
                .map(|(at, _)| lower[at + 1..].to_owned()),
        );
        let key = keys
            .into_iter()
            .filter(|key| key.starts_with(prefix))
            .min()?;
        Some((name.chars().count(), key))
    };
    let check = |prefix: &str, visible: Visible<'_>, hidden: &[String], limit: usize| {
        let mut expected: Vec<(usize, String)> = names
            .iter()
            .filter(|name| !hidden.contains(name))
            .filter_map(|name| place(name, prefix))
            .collect();
        expected.sort();
        expected.truncate(limit);
        let found = index.suggest(prefix, visible, limit).unwrap();
        let mut distinct = found.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), found.len(), "{prefix}, {limit}: {found:?}");
        for name in &found {
            assert!(
                names.contains(name) && !hidden.contains(name),
                "{prefix}: {name}"
            );
        }
        let places: Vec<(usize, String)> = found
            .iter()
            .filter_map(|name| place(name, prefix))
            .collect();
        assert_eq!(places, expected, "{prefix}, {limit}");
    };
    // `plan` starts keys in every segment by the dozen: the walk by length. `planet1` and
    // `team2/plan1` start a few: read whole.
    for prefix in ["plan", "planet1", "team2/plan1", "p", "other1"] {
        for limit in [1, 10, 500] {
            check(prefix, Visible::All, &[], limit);
            check(prefix, Visible::Except(&hidden), &hidden, limit);
        }
    }
    let shown: Vec<String> = names.iter().step_by(4).cloned().collect();
    let not_shown: Vec<String> = names
        .iter()
        .filter(|n| !shown.contains(n))
        .cloned()
        .collect();
    check("plan", Visible::Only(&shown), &not_shown, 10);
}

#[test]
fn an_update_replaces_the_page_and_remove_takes_it_out() {
    let (_dir, index) = index_with(PAGES);
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    assert_eq!(update.indexed_up_to(), PAGES.len() as u64);
    update.put(&doc("Cafe", "Now a tea room.")).unwrap();
    update.remove("Budget");
    update.commit(10).unwrap();
    assert_eq!(names(&index, "espresso"), Vec::<String>::new());
    assert_eq!(names(&index, "tea"), vec!["Cafe"]);
    assert_eq!(names(&index, "budget"), vec!["Team/Notes"]);
    assert_eq!(
        index.suggest("bud", Visible::All, 10).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(index.indexed_up_to().unwrap(), 10);
}

#[test]
fn the_writer_lock_is_never_waited_for() {
    let (dir, index) = index_with(PAGES);
    let held = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    // Another handle, as another process would have.
    let other = SearchIndex::new(&dir.path().join("index"));
    assert!(other.try_update(MIN_WRITER_HEAP).unwrap().is_none());
    assert_eq!(names(&other, "espresso"), vec!["Cafe"], "readers go on");
    drop(held);
    assert!(other.try_update(MIN_WRITER_HEAP).unwrap().is_some());
}

#[test]
fn the_recorded_revision_survives_reopening() {
    let (dir, index) = index_with(PAGES);
    drop(index);
    let again = SearchIndex::new(&dir.path().join("index"));
    assert_eq!(again.indexed_up_to().unwrap(), PAGES.len() as u64);
    assert_eq!(names(&again, "espresso"), vec!["Cafe"]);
}

#[test]
fn a_rebuild_replaces_the_live_index_for_every_reader() {
    let (dir, index) = index_with(PAGES);
    let other = SearchIndex::new(&dir.path().join("index"));
    assert_eq!(names(&other, "espresso"), vec!["Cafe"]);

    let mut rebuild = index.rebuild(MIN_WRITER_HEAP, 1).unwrap();
    rebuild.put(&doc("Fresh", "rebuilt from scratch")).unwrap();
    // Until it finishes, the old generation serves.
    assert_eq!(names(&other, "scratch"), Vec::<String>::new());
    rebuild.finish(42).unwrap();

    assert_eq!(names(&other, "scratch"), vec!["Fresh"]);
    assert_eq!(names(&other, "espresso"), Vec::<String>::new());
    assert_eq!(other.indexed_up_to().unwrap(), 42);
    let generations: Vec<String> = std::fs::read_dir(dir.path().join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    assert_eq!(generations, vec!["gen-2"]);
}

#[test]
fn odd_queries_are_never_errors() {
    let (_dir, index) = index_with(PAGES);
    for query in [
        "", "   ", "*", "-", "\"", "\"\"*", "title:", "-release", "a* b*", "((", "x:y:z", "\u{0}",
    ] {
        index.search(query, Visible::All, 0, 10).unwrap();
    }
    assert_eq!(
        sorted(names(&index, "-release -notes")),
        vec!["Cafe", "Help/Editing"],
        "only exclusions: everything else"
    );
}

/// Pages where "the", "end" and "of" are everywhere, in and out of order: what makes a rebuild index
/// pairs of common words (see the `common_words` module).
fn common_word_pages() -> Vec<(String, String)> {
    (0..80)
        .map(|i| {
            let text = match i % 4 {
                0 => format!("the end of story{i}"),
                1 => format!("end the story{i} of"),
                2 => format!("the story{i} end of the end"),
                _ => format!("of the end the end the end{i}"),
            };
            (format!("Page{i:02}"), text)
        })
        .collect()
}

#[test]
fn phrases_of_common_words_find_what_positions_find() {
    let pages = common_word_pages();
    let docs: Vec<(&str, &str)> = pages
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    // Built by updates: no common words learned, phrases read positions.
    let (_plain_dir, plain) = index_with(&docs);
    // Built by a rebuild: it learns "the", "end", "of" and indexes their pairs.
    let dir = tempfile::tempdir().unwrap();
    let paired = SearchIndex::new(&dir.path().join("index"));
    let mut rebuild = paired.rebuild(MIN_WRITER_HEAP, 1).unwrap();
    for (name, text) in &docs {
        rebuild.put(&doc(name, text)).unwrap();
    }
    rebuild.finish(docs.len() as u64).unwrap();
    let words = std::fs::read_to_string(dir.path().join("index/gen-2/quire-common-words")).unwrap();
    assert_eq!(words, "end\nof\nthe\n");

    for query in [
        "\"the end\"",
        "\"end the\"",
        "\"the end of\"",
        "\"of the end\"",
        "body:\"end of\"",
        "\"the end\" -story4",
        "\"the end\" OR \"end of\"",
        "\"end end\"",
    ] {
        let expected = plain.search(query, Visible::All, 0, 100).unwrap();
        let found = paired.search(query, Visible::All, 0, 100).unwrap();
        assert_eq!(found.total, expected.total, "{query}");
        assert_eq!(
            sorted(found.hits.iter().map(|h| h.name.clone()).collect()),
            sorted(expected.hits.iter().map(|h| h.name.clone()).collect()),
            "{query}"
        );
        assert!(found.total > 0 || query == "\"end end\"", "{query}");
    }
    // The snippet still marks the phrase's words.
    let hit = &paired
        .search("\"end of\"", Visible::All, 0, 1)
        .unwrap()
        .hits[0];
    assert!(
        hit.snippet_html
            .contains("<mark>end</mark> <mark>of</mark>"),
        "{}",
        hit.snippet_html
    );
    // A save after the rebuild gets its pairs too.
    let mut update = paired.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    update.put(&doc("Late", "a late page: the end")).unwrap();
    update.commit(1000).unwrap();
    assert!(names(&paired, "\"the end\"").contains(&"Late".to_owned()));
}

#[test]
fn a_filtered_search_counts_and_ranks_only_the_visible_pages() {
    let (_dir, index) = index_with(PAGES);
    let hidden = ["Team/Notes".to_owned()];
    let except = index
        .search("notes", Visible::Except(&hidden), 0, 1)
        .unwrap();
    assert_eq!(except.total, 2, "Releases and Budget, not Team/Notes");
    assert_eq!(except.hits.len(), 1, "the window holds a visible page");
    assert_ne!(except.hits[0].name, "Team/Notes");
    assert_eq!(
        sorted(
            (0..2)
                .flat_map(|page| {
                    index
                        .search("notes", Visible::Except(&hidden), page, 1)
                        .unwrap()
                        .hits
                })
                .map(|hit| hit.name)
                .collect()
        ),
        vec!["Budget", "Releases"],
        "paging walks the visible pages only"
    );

    let shown = ["Budget".to_owned(), "Cafe".to_owned()];
    let only = index.search("notes", Visible::Only(&shown), 0, 10).unwrap();
    assert_eq!(only.total, 1);
    assert_eq!(only.hits[0].name, "Budget");
    assert_eq!(
        index
            .search("notes", Visible::Only(&[]), 0, 10)
            .unwrap()
            .total,
        0,
        "nothing visible, nothing found"
    );
    assert_eq!(
        index.search("notes", Visible::Except(&[]), 0, 10).unwrap(),
        index.search("notes", Visible::All, 0, 10).unwrap(),
    );
}

/// What a search answers a reader with hidden pages must not depend on those pages: it is exactly
/// what an index holding only the visible pages answers, counts, order, scores, snippets and the
/// words a prefix stands for included (issue 19, finding 2).
#[test]
fn a_filtered_search_answers_as_if_hidden_pages_did_not_exist() {
    // More than 50 visible words start with `beta`, so a prefix must choose among them.
    let visible: Vec<(String, String)> = (0..60)
        .map(|i| {
            let words: Vec<String> = (0..=i % 7).map(|j| format!("beta{i}x{j}")).collect();
            (
                format!("Page{i}"),
                format!("padword {} notes on release {i}", words.join(" ")),
            )
        })
        .collect();
    // Hidden pages full of frequent `betaz…` words, saved several times over.
    let hidden_text = (0..80)
        .map(|i| format!("betaz{i} betaz{i} padword secret"))
        .collect::<Vec<_>>()
        .join(" ");
    let hidden: Vec<String> = (0..40).map(|i| format!("Secret{i}")).collect();
    let visible_pages: Vec<(&str, &str)> = visible
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    let (_plain_dir, plain) = index_with(&visible_pages);
    let (_mixed_dir, mixed) = index_with(&visible_pages);
    let mut update = mixed.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    for round in 0..3 {
        for name in &hidden {
            update
                .put(&doc(name, &format!("{hidden_text} round{round}")))
                .unwrap();
        }
    }
    update.commit(1000).unwrap();

    for query in [
        "padword",
        "beta*",
        "padword OR betaz*",
        "padword OR beta1*",
        "notes release",
        "\"notes on\"",
        "secret",
    ] {
        let expected = plain.search(query, Visible::All, 0, 100).unwrap();
        let found = mixed
            .search(query, Visible::Except(&hidden), 0, 100)
            .unwrap();
        assert_eq!(found, expected, "{query}");
    }
    assert!(plain.search("beta*", Visible::All, 0, 100).unwrap().total > 0);
}

#[test]
fn go_to_suggestions_and_did_you_mean_skip_hidden_pages() {
    let (_dir, index) = index_with(PAGES);
    let hidden = ["Team/Notes".to_owned(), "Budget".to_owned()];
    let except = Visible::Except(&hidden);
    assert_eq!(
        index.search("team/notes", except, 0, 10).unwrap().go_to,
        Vec::<String>::new()
    );
    assert_eq!(
        index.suggest("not", except, 10).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        index.suggest("b", except, 10).unwrap(),
        Vec::<String>::new()
    );
    let missed = index.search("budgte", except, 0, 10).unwrap();
    assert_eq!(missed.did_you_mean, Vec::<String>::new());

    let shown = ["Help/Editing".to_owned()];
    let only = Visible::Only(&shown);
    assert_eq!(
        index.search("editing", only, 0, 10).unwrap().go_to,
        vec!["Help/Editing"]
    );
    assert_eq!(index.suggest("b", only, 10).unwrap(), Vec::<String>::new());
    assert_eq!(index.suggest("h", only, 10).unwrap(), vec!["Help/Editing"]);
    assert_eq!(
        index.search("editnig", only, 0, 10).unwrap().did_you_mean,
        vec!["Help/Editing"]
    );
}

/// Issue 19, finding 2: the count was an oracle for a hidden page's words. Whatever prefix is
/// typed, a reader who may not see the hidden page gets the same answer.
#[test]
fn a_hidden_page_s_words_do_not_change_the_answer() {
    let mut pages: Vec<(String, String)> = (0..30)
        .map(|i| (format!("Pad{i}"), format!("padword number {i}")))
        .collect();
    pages.push((
        "Secret".to_owned(),
        "padword and the betasecret itself".to_owned(),
    ));
    let pages: Vec<(&str, &str)> = pages
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    let (_dir, index) = index_with(&pages);
    let hidden = ["Secret".to_owned()];
    for (offset, limit) in [(0, 10), (20, 10), (0, 30)] {
        let answer = |query| {
            index
                .search(query, Visible::Except(&hidden), offset, limit)
                .unwrap()
        };
        let (hit, miss) = (answer("padword OR betas*"), answer("padword OR betaz*"));
        assert_eq!(hit, miss, "offset {offset}, limit {limit}");
        assert_eq!(hit.total, 30);
    }
    assert_eq!(
        index
            .search("padword OR betas*", Visible::All, 0, 10)
            .unwrap()
            .total,
        31,
        "the test can fail: unfiltered, the hidden page counts"
    );
}
