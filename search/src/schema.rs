//! The index's fields, its tokenizer, and how a page becomes a document.
//!
//! A page is one document, identified by its exact name in `name` (a raw, untokenized term), so an update
//! is "delete the term, add the new document" and a deleted or renamed page leaves with one
//! `delete_term`. The searchable text goes into three tokenized fields, searched together and scored
//! with BM25: `title` (the last segment of the name, with CamelCase split, boosted most), `path` (every
//! segment of the name) and `body` (the page's plain text, with positions for phrases and snippets).
//! `title_key` holds the lowercased name and each of its trailing segment paths (`help/editing`,
//! `editing`) for go-to, and `suggest_key` the same keys after the name's length for prefix
//! suggestions, shortest name first. `pairs` holds the body's adjacent pairs of common
//! words, one term each, for fast phrases (see the `common_words` module).
//!
//! A file attached to a page is a document too, keyed by `file_page` and `file_name` (raw terms)
//! and marked by `kind`; its words go into fields of its own (`file_title`: the name's words,
//! `file_body`: the text, `file_author`), never into the page fields, so that files change neither
//! which pages a query finds nor how they rank (see [`Kind`]).

use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED,
    STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{DateTime, Index, TantivyDocument};

use crate::common_words::CommonWords;

/// The name the tokenizer is registered under in every opened index.
pub(crate) const TOKENIZER: &str = "quire";

/// Words longer than this are not indexed (base64 blobs, hashes).
const MAX_TOKEN_BYTES: usize = 40;

/// The fields, resolved once per opened index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) name: Field,
    pub(crate) title_key: Field,
    pub(crate) suggest_key: Field,
    pub(crate) title: Field,
    pub(crate) path: Field,
    pub(crate) body: Field,
    pub(crate) author: Field,
    pub(crate) modified: Field,
    pub(crate) name_len: Field,
    pub(crate) pairs: Field,
    pub(crate) kind: Field,
    pub(crate) file_page: Field,
    pub(crate) file_name: Field,
    pub(crate) file_title: Field,
    pub(crate) file_body: Field,
    pub(crate) file_author: Field,
}

/// The one term of `kind` every file document holds (pages hold none, so that a rebuild of a wiki
/// without files indexes exactly what it did before files existed).
pub(crate) const FILE_KIND: &str = "file";

/// What a document is. Pages and files keep their words in fields of their own, so that the words of
/// files move no page's statistics (how many documents hold a word, how long a field is): a page
/// query ranks pages as if there were no files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Page,
    File,
}

impl Kind {
    /// The field holding the name of the page a document belongs to (a raw term): what a reader's
    /// rights filter on.
    pub(crate) fn page_field(self, fields: &Fields) -> Field {
        match self {
            Kind::Page => fields.name,
            Kind::File => fields.file_page,
        }
    }

    /// The fields a query without `field:` searches, with their boosts.
    pub(crate) fn default_fields(self, fields: &Fields) -> Vec<(Field, f32)> {
        match self {
            Kind::Page => vec![(fields.title, 3.0), (fields.path, 1.5), (fields.body, 1.0)],
            Kind::File => vec![(fields.file_title, 3.0), (fields.file_body, 1.0)],
        }
    }

    /// The field of the text, which snippets are cut from.
    pub(crate) fn text_field(self, fields: &Fields) -> Field {
        match self {
            Kind::Page => fields.body,
            Kind::File => fields.file_body,
        }
    }

    /// The field of who saved it.
    pub(crate) fn author_field(self, fields: &Fields) -> Field {
        match self {
            Kind::Page => fields.author,
            Kind::File => fields.file_author,
        }
    }
}

/// The field a user may name in a query (`title:foo`), and what it searches in documents of `kind`
/// (a file's name is its title and its path).
pub(crate) fn user_field(fields: &Fields, kind: Kind, name: &str) -> Option<Field> {
    match (name, kind) {
        ("title", Kind::Page) => Some(fields.title),
        ("path" | "name", Kind::Page) => Some(fields.path),
        ("title" | "path" | "name", Kind::File) => Some(fields.file_title),
        ("body" | "text", _) => Some(kind.text_field(fields)),
        ("author", _) => Some(kind.author_field(fields)),
        _ => None,
    }
}

pub(crate) fn schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field("name", STRING | STORED);
    builder.add_text_field("title_key", STRING);
    // The same keys, each after its name's length: suggestions walk them shortest name first.
    builder.add_text_field("suggest_key", STRING);
    let words = |positions: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(if positions {
                    IndexRecordOption::WithFreqsAndPositions
                } else {
                    IndexRecordOption::WithFreqs
                }),
        )
    };
    builder.add_text_field("title", words(true));
    builder.add_text_field("path", words(true));
    // Stored: snippets are cut from it.
    builder.add_text_field("body", words(true) | STORED);
    builder.add_text_field("author", words(true) | STORED);
    builder.add_date_field(
        "modified",
        DateOptions::from(INDEXED | STORED | FAST)
            .set_precision(tantivy::schema::DateTimePrecision::Seconds),
    );
    // Suggestions list shorter names first.
    builder.add_u64_field("name_len", FAST);
    // Pair terms come joined and lowercased already: split on spaces only. A pair's frequency in a
    // page is the phrase's, so BM25 ranks them as it ranks phrases; no positions needed.
    builder.add_text_field(
        "pairs",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("whitespace")
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    // Files: `kind` marks them; `file_page` and `file_name` are their key (raw terms).
    builder.add_text_field("kind", STRING);
    builder.add_text_field("file_page", STRING | STORED);
    builder.add_text_field("file_name", STRING | STORED);
    builder.add_text_field("file_title", words(true));
    builder.add_text_field("file_body", words(true) | STORED);
    builder.add_text_field("file_author", words(true) | STORED);
    builder.build()
}

impl Fields {
    pub(crate) fn of(schema: &Schema) -> Option<Fields> {
        let field = |name| schema.get_field(name).ok();
        Some(Fields {
            name: field("name")?,
            title_key: field("title_key")?,
            suggest_key: field("suggest_key")?,
            title: field("title")?,
            path: field("path")?,
            body: field("body")?,
            author: field("author")?,
            modified: field("modified")?,
            name_len: field("name_len")?,
            pairs: field("pairs")?,
            kind: field("kind")?,
            file_page: field("file_page")?,
            file_name: field("file_name")?,
            file_title: field("file_title")?,
            file_body: field("file_body")?,
            file_author: field("file_author")?,
        })
    }
}

/// The analyzer of every tokenized field: words split on non-alphanumerics, lowercased, accents folded
/// (`café` finds `Cafe`). No stemming: a wiki is often multilingual, and prefix queries (`edit*`) cover
/// the common case of word forms.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub(crate) fn register_tokenizer(index: &Index) {
    index.tokenizers().register(TOKENIZER, analyzer());
}

/// What the index needs to know about one page: its current revision, with the text already reduced to
/// plain words (the caller strips markup; this crate knows no Markdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageDoc<'a> {
    /// The page name, exactly as stored.
    pub name: &'a str,
    /// The page's text without markup.
    pub text: &'a str,
    /// Who saved the current revision.
    pub author: &'a str,
    /// When, in unix seconds UTC.
    pub time: i64,
}

impl Fields {
    /// The document of a page; `analyzer` finds the pairs of `common` words in its text.
    pub(crate) fn document(
        &self,
        page: &PageDoc<'_>,
        common: &CommonWords,
        analyzer: &mut TextAnalyzer,
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.name, page.name);
        let name_len = page.name.chars().count() as u64;
        for key in title_keys(page.name) {
            doc.add_text(self.suggest_key, suggest_key(name_len, &key));
            doc.add_text(self.title_key, key);
        }
        doc.add_text(self.title, title_words(last_segment(page.name)));
        doc.add_text(self.path, page.name);
        doc.add_text(self.body, page.text);
        doc.add_text(self.author, page.author);
        doc.add_date(self.modified, DateTime::from_timestamp_secs(page.time));
        doc.add_u64(self.name_len, name_len);
        if !common.is_empty() {
            doc.add_text(self.pairs, common.pairs_text(analyzer, page.text));
        }
        doc
    }
}

/// What the index needs to know about one file attached to a page: its current version. A file is
/// known by its page and its name; its text is given only for files whose text is worth searching
/// (`text/*`, Markdown), already reduced to plain words by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDoc<'a> {
    /// The name of the page it is attached to, exactly as stored.
    pub page: &'a str,
    /// The file name, exactly as stored.
    pub name: &'a str,
    /// Its text, or `""` for a file that has none (an image, a PDF).
    pub text: &'a str,
    /// Who uploaded the current version.
    pub author: &'a str,
    /// When, in unix seconds UTC.
    pub time: i64,
}

impl Fields {
    /// The document of a file. Its name's words are its title (`diagram.png` is found by `diagram`,
    /// `png` and the phrase of both).
    pub(crate) fn file_document(&self, file: &FileDoc<'_>) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.kind, FILE_KIND);
        doc.add_text(self.file_page, file.page);
        doc.add_text(self.file_name, file.name);
        doc.add_text(self.file_title, title_words(file.name));
        doc.add_text(self.file_body, file.text);
        doc.add_text(self.file_author, file.author);
        doc.add_date(self.modified, DateTime::from_timestamp_secs(file.time));
        doc
    }
}

fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// The lowercased name and each trailing part starting at a segment: `Team/Notes` gives `team/notes`
/// and `notes`. A query equal to any of them goes to the page; a prefix of any suggests it.
pub(crate) fn title_keys(name: &str) -> Vec<String> {
    let lower = name.to_lowercase();
    let mut keys = vec![lower.clone()];
    keys.extend(
        lower
            .match_indices('/')
            .map(|(at, _)| lower[at + 1..].to_owned()),
    );
    keys.dedup();
    keys
}

/// How a title key is held in `suggest_key`: after the length of its page's name (in characters, four
/// digits), so that the keys starting with a prefix are in the dictionary by name length, then by key.
pub(crate) fn suggest_key(name_len: u64, key: &str) -> String {
    format!("{:04}{key}", name_len.min(MAX_SUGGEST_LEN))
}

/// The longest name length `suggest_key` tells apart; longer names share it.
pub(crate) const MAX_SUGGEST_LEN: u64 = 9999;

/// The title as written plus its CamelCase words, so `FrontPage` is found by `front` and by `frontpage`.
pub(crate) fn title_words(title: &str) -> String {
    let mut split = String::with_capacity(title.len() * 2);
    let mut prev: Option<char> = None;
    for c in title.chars() {
        if let Some(p) = prev {
            if (p.is_lowercase() && c.is_uppercase())
                || (p.is_alphabetic() && c.is_numeric())
                || (p.is_numeric() && c.is_alphabetic())
            {
                split.push(' ');
            }
        }
        split.push(c);
        prev = Some(c);
    }
    if split == title {
        return title.to_owned();
    }
    format!("{title} {split}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_keys_cover_every_trailing_path() {
        assert_eq!(title_keys("FrontPage"), vec!["frontpage"]);
        assert_eq!(
            title_keys("Team/Notes/2026"),
            vec!["team/notes/2026", "notes/2026", "2026"]
        );
    }

    #[test]
    fn camel_case_titles_are_split_as_well() {
        assert_eq!(title_words("FrontPage"), "FrontPage Front Page");
        assert_eq!(title_words("Release2026"), "Release2026 Release 2026");
        assert_eq!(title_words("notes"), "notes");
        assert_eq!(title_words("Café"), "Café");
    }

    #[test]
    fn the_analyzer_lowercases_and_folds_accents() {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream("Café CRÈME x-ray");
        let mut words = Vec::new();
        stream.process(&mut |token| words.push(token.text.clone()));
        assert_eq!(words, vec!["cafe", "creme", "x", "ray"]);
    }
}
