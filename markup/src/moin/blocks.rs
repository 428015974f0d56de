//! MoinMoin's block structure, line by line: headings, rules, `{{{` blocks, tables, lists by indentation,
//! definition lists, indented quotes and paragraphs.
//!
//! Every block opens with a blank line before it in the Markdown, so that no Markdown block swallows the
//! next (a setext underline, a lazy continuation); list items and their continuations are the exception, as
//! they are one list. A `{{{` block inside a list item is indented to the item's content, so it stays in the
//! item.

use super::inline::{self, longest_run, Place};
use super::{push_comment, MoinWarningKind, Sink};

/// How deep `{{{#!wiki` blocks are converted inside each other; deeper ones are kept as code.
const MAX_NESTED_WIKI: usize = 8;

/// The widest column span written out as empty cells; wider spans are cut to it.
const MAX_SPAN: usize = 64;

/// MoinMoin's code parsers with a Markdown language, and the language.
const CODE_PARSERS: [(&str, &str); 5] = [
    ("python", "python"),
    ("cplusplus", "cpp"),
    ("java", "java"),
    ("pascal", "pascal"),
    ("diff", "diff"),
];

/// `{{{#!wiki CLASS` boxes that GitHub's alerts (which quire renders) show alike.
const ALERTS: [(&str, &str); 5] = [
    ("note", "NOTE"),
    ("tip", "TIP"),
    ("important", "IMPORTANT"),
    ("warning", "WARNING"),
    ("caution", "CAUTION"),
];

/// Converts the body lines of a page (or of a `{{{#!wiki` block); `first` is the number of `lines[0]`.
pub(super) fn convert(lines: &[&str], first: usize, sink: &mut Sink<'_>, depth: usize) -> String {
    let mut blocks = Blocks {
        out: String::new(),
        para: Vec::new(),
        para_line: 0,
        quote: false,
        lists: Vec::new(),
        blank_in_list: false,
        table: Vec::new(),
        dl_open: false,
        code: None,
        depth,
    };
    for (index, line) in lines.iter().enumerate() {
        blocks.line(line, first + index, sink);
    }
    blocks.finish(sink);
    blocks.out
}

/// Writes a fenced block of `lines`, each prefixed by `indent`, with a fence longer than any backtick run in
/// them.
pub(super) fn push_fence<'a>(
    out: &mut String,
    indent: &str,
    language: &str,
    lines: impl Iterator<Item = &'a str> + Clone,
) {
    let longest = lines
        .clone()
        .map(|line| longest_run(line, '`'))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    out.push_str(indent);
    out.push_str(&fence);
    out.push_str(language);
    out.push('\n');
    for line in lines {
        if !line.is_empty() {
            out.push_str(indent);
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(indent);
    out.push_str(&fence);
    out.push('\n');
}

/// A list level: MoinMoin's indentation, and where the Markdown item's marker and content start.
struct Level {
    indent: usize,
    marker_at: usize,
    content_at: usize,
}

/// An open `{{{` block.
struct Code<'a> {
    /// What each line of the Markdown block starts with (a list item's content indentation).
    indent: String,
    /// Braces of the opener: a closer needs at least as many, unless it closes a nested opener.
    braces: usize,
    /// Nested `{{{` openers not closed yet.
    nested: usize,
    /// The parser named after `#!`, with its arguments.
    parser: Option<&'a str>,
    lines: Vec<&'a str>,
    line: usize,
}

struct Blocks<'a> {
    out: String,
    para: Vec<&'a str>,
    para_line: usize,
    /// Whether the paragraph is indented text outside a list, written as a quote.
    quote: bool,
    lists: Vec<Level>,
    blank_in_list: bool,
    /// Rows of the open table, each cell converted.
    table: Vec<Vec<String>>,
    dl_open: bool,
    code: Option<Code<'a>>,
    depth: usize,
}

impl<'a> Blocks<'a> {
    fn line(&mut self, line: &'a str, number: usize, sink: &mut Sink<'_>) {
        if self.code.is_some() {
            if let Some(after) = self.code_line(line, sink) {
                if !after.trim().is_empty() {
                    self.line(after, number, sink);
                }
            }
            return;
        }
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if trimmed.is_empty() {
            self.flush_para(sink);
            self.close_table();
            self.close_dl();
            self.blank_in_list = !self.lists.is_empty();
            return;
        }
        if line.starts_with("##") {
            return self.comment(line, number, sink);
        }
        if let Some(braces) = code_opener(trimmed) {
            return self.open_code(trimmed, braces, indent, number, sink);
        }
        if let Some((level, text)) = heading(trimmed) {
            self.close_all(sink);
            self.separate();
            let mut converted = inline::convert(text, Place::Text, number, sink);
            if converted.ends_with('#') {
                converted.insert(converted.len() - 1, '\\');
            }
            self.out.push_str(&"#".repeat(level));
            self.out.push(' ');
            self.out.push_str(&converted);
            self.out.push('\n');
            return;
        }
        if indent == 0 && trimmed.len() >= 4 && trimmed.bytes().all(|b| b == b'-') {
            self.close_all(sink);
            self.separate();
            self.out.push_str("---\n");
            return;
        }
        if trimmed.starts_with("||") {
            return self.table_row(trimmed, number, sink);
        }
        if trimmed == "<<TableOfContents>>" || trimmed.starts_with("<<TableOfContents(") {
            // On a line of its own, as quire expands it only there.
            self.close_all(sink);
            self.separate();
            self.out.push_str("[[_TOC_]]\n");
            return;
        }
        if indent > 0 {
            if let Some((marker, text)) = list_marker(trimmed) {
                return self.list_item(indent, &marker, text, number, sink);
            }
            if let Some((term, definition)) = definition(trimmed) {
                return self.definition(term, definition, number, sink);
            }
            if !self.lists.is_empty() {
                return self.continuation(indent, trimmed, number, sink);
            }
        }
        self.close_table();
        self.close_dl();
        self.close_lists();
        let quote = indent > 0;
        if self.quote != quote {
            self.flush_para(sink);
        }
        if self.para.is_empty() {
            self.para_line = number;
            self.quote = quote;
        }
        self.para.push(trimmed);
    }

    fn finish(&mut self, sink: &mut Sink<'_>) {
        if let Some(code) = self.code.take() {
            sink.warn(code.line, MoinWarningKind::UnclosedCodeBlock);
            self.write_code(code, sink);
        }
        self.close_all(sink);
    }

    /// Ends the blocks that are open, whatever they are.
    fn close_all(&mut self, sink: &mut Sink<'_>) {
        self.flush_para(sink);
        self.close_table();
        self.close_dl();
        self.close_lists();
    }

    /// Makes sure a blank line ends what was written, so that the next block starts afresh.
    fn separate(&mut self) {
        if self.out.is_empty() || self.out.ends_with("\n\n") {
            return;
        }
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out.push('\n');
    }

    fn flush_para(&mut self, sink: &mut Sink<'_>) {
        if self.para.is_empty() {
            return;
        }
        let text = self.para.join("\n");
        self.para.clear();
        let converted = inline::convert(&text, Place::Text, self.para_line, sink);
        self.separate();
        for line in converted.lines() {
            if self.quote {
                self.out.push_str("> ");
            }
            self.out.push_str(line.trim_end());
            self.out.push('\n');
        }
    }

    fn close_lists(&mut self) {
        self.lists.clear();
        self.blank_in_list = false;
    }

    fn close_dl(&mut self) {
        if self.dl_open {
            self.out.push_str("</dl>\n");
            self.dl_open = false;
        }
    }

    /// A `##` line: an HTML comment between blocks; inside a paragraph, list or table it would split
    /// them, so there it is dropped.
    fn comment(&mut self, line: &str, number: usize, sink: &mut Sink<'_>) {
        if !self.para.is_empty() || !self.lists.is_empty() || !self.table.is_empty() {
            sink.warn(number, MoinWarningKind::CommentDropped);
            return;
        }
        self.close_dl();
        self.separate();
        push_comment(&mut self.out, &line[2..]);
    }

    fn open_code(
        &mut self,
        trimmed: &'a str,
        braces: usize,
        indent: usize,
        number: usize,
        sink: &mut Sink<'_>,
    ) {
        self.flush_para(sink);
        self.close_table();
        self.close_dl();
        let mut prefix = String::new();
        if indent > 0 && !self.lists.is_empty() {
            self.pop_deeper(indent);
        }
        match self.lists.last() {
            Some(level) if indent > 0 => prefix = " ".repeat(level.content_at),
            _ => {
                self.close_lists();
                self.separate();
            }
        }
        self.blank_in_list = false;
        let header = trimmed[braces..].trim();
        let (parser, first_line) = match header.strip_prefix("#!") {
            Some(parser) => (Some(parser.trim()), None),
            None if header.is_empty() => (None, None),
            None => (None, Some(header)),
        };
        self.code = Some(Code {
            indent: prefix,
            braces,
            nested: 0,
            parser,
            lines: first_line.into_iter().collect(),
            line: number,
        });
    }

    /// Feeds a line to the open code block; when the line closes it, writes the block and returns what
    /// follows the closer.
    fn code_line(&mut self, line: &'a str, sink: &mut Sink<'_>) -> Option<&'a str> {
        let code = self.code.as_mut()?;
        let bytes = line.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let brace = bytes[at];
            if brace != b'{' && brace != b'}' {
                at += 1;
                continue;
            }
            let run = bytes[at..].iter().take_while(|b| **b == brace).count();
            if run >= 3 {
                if brace == b'{' {
                    code.nested += 1;
                } else if code.nested > 0 {
                    code.nested -= 1;
                } else if run >= code.braces {
                    let before = &line[..at];
                    if !before.trim().is_empty() {
                        code.lines.push(before);
                    }
                    let after = &line[at + code.braces..];
                    let code = self.code.take()?;
                    self.write_code(code, sink);
                    return Some(after);
                }
            }
            at += run;
        }
        code.lines.push(line);
        None
    }

    fn write_code(&mut self, code: Code<'a>, sink: &mut Sink<'_>) {
        let mut words = code.parser.unwrap_or_default().split_whitespace();
        let name = words.next().unwrap_or_default();
        let language = match name {
            "" | "text" | "plain" => String::new(),
            "highlight" => language_name(words.next().unwrap_or_default()),
            "wiki" if self.depth < MAX_NESTED_WIKI => {
                let class = words.next();
                return self.write_wiki_box(&code, class, sink);
            }
            other => match CODE_PARSERS.iter().find(|(parser, _)| *parser == other) {
                Some((_, language)) => (*language).to_owned(),
                None => {
                    sink.warn(
                        code.line,
                        MoinWarningKind::ParserKept {
                            parser: other.to_owned(),
                        },
                    );
                    language_name(other)
                }
            },
        };
        push_fence(
            &mut self.out,
            &code.indent,
            &language,
            code.lines.iter().copied(),
        );
    }

    /// `{{{#!wiki CLASS`: the inside converted, as a quote (an alert for the classes GitHub has).
    fn write_wiki_box(&mut self, code: &Code<'a>, class: Option<&str>, sink: &mut Sink<'_>) {
        let inner = convert(&code.lines, code.line + 1, sink, self.depth + 1);
        let alert = class.and_then(|class| {
            let class = class.to_ascii_lowercase();
            ALERTS
                .iter()
                .find(|(name, _)| *name == class)
                .map(|(_, alert)| *alert)
        });
        if let (None, Some(style)) = (alert, class) {
            sink.warn(
                code.line,
                MoinWarningKind::StyleDropped {
                    style: style.to_owned(),
                },
            );
        }
        if let Some(alert) = alert {
            self.out.push_str(&format!("{}> [!{alert}]\n", code.indent));
        }
        for line in inner.trim_end().lines() {
            self.out.push_str(&code.indent);
            self.out.push('>');
            if !line.is_empty() {
                self.out.push(' ');
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }

    fn pop_deeper(&mut self, indent: usize) {
        while self.lists.last().is_some_and(|level| level.indent > indent) {
            self.lists.pop();
        }
    }

    fn list_item(
        &mut self,
        indent: usize,
        marker: &Marker,
        text: &str,
        number: usize,
        sink: &mut Sink<'_>,
    ) {
        self.flush_para(sink);
        self.close_table();
        self.close_dl();
        if self.lists.is_empty() {
            self.separate();
        }
        self.pop_deeper(indent);
        let marker_at = match self.lists.last() {
            Some(level) if level.indent == indent => {
                let at = level.marker_at;
                self.lists.pop();
                at
            }
            Some(level) => level.content_at,
            None => 0,
        };
        let written = match marker {
            Marker::Bullet => "-".to_owned(),
            Marker::Ordered { start, letter } => {
                if let Some(letter) = letter {
                    sink.warn(
                        number,
                        MoinWarningKind::ListNumbering {
                            marker: letter.clone(),
                        },
                    );
                }
                format!("{}.", start.unwrap_or(1))
            }
        };
        let converted = inline::convert(text.trim(), Place::Text, number, sink);
        self.out.push_str(&" ".repeat(marker_at));
        self.out.push_str(&written);
        if !converted.is_empty() {
            self.out.push(' ');
            self.out.push_str(&converted);
        }
        self.out.push('\n');
        self.lists.push(Level {
            indent,
            marker_at,
            content_at: marker_at + written.len() + 1,
        });
        self.blank_in_list = false;
    }

    /// An indented line under a list item: more of its text, or after a blank line, a new paragraph in it.
    fn continuation(&mut self, indent: usize, text: &'a str, number: usize, sink: &mut Sink<'_>) {
        self.pop_deeper(indent);
        let Some(level) = self.lists.last() else {
            self.close_lists();
            self.separate();
            self.para_line = number;
            self.quote = true;
            self.para.push(text);
            return;
        };
        let content_at = level.content_at;
        if self.blank_in_list {
            self.out.push('\n');
            self.blank_in_list = false;
        }
        let converted = inline::convert(text, Place::Text, number, sink);
        self.out.push_str(&" ".repeat(content_at));
        self.out.push_str(&converted);
        self.out.push('\n');
    }

    /// ` term:: definition`: an HTML definition list whose parts are Markdown paragraphs (blank lines around
    /// them end the HTML blocks, so their inline markup renders).
    fn definition(&mut self, term: &str, definition: &str, number: usize, sink: &mut Sink<'_>) {
        self.flush_para(sink);
        self.close_table();
        self.close_lists();
        if !self.dl_open {
            self.separate();
            self.out.push_str("<dl>\n");
            self.dl_open = true;
        }
        for (element, text) in [("dt", term), ("dd", definition)] {
            if text.is_empty() {
                continue;
            }
            let converted = inline::convert(text, Place::Text, number, sink);
            self.out
                .push_str(&format!("<{element}>\n\n{converted}\n\n</{element}>\n"));
        }
    }

    fn table_row(&mut self, trimmed: &str, number: usize, sink: &mut Sink<'_>) {
        if self.table.is_empty() {
            self.close_all(sink);
        }
        let inner = &trimmed[2..];
        let inner = inner.strip_suffix("||").unwrap_or(inner);
        let raw = split_cells(inner);
        let mut row = Vec::new();
        let mut span = 1;
        let last = raw.len().saturating_sub(1);
        for (index, cell) in raw.iter().enumerate() {
            if cell.is_empty() && index < last {
                span += 1;
                continue;
            }
            let (text, markup_span) = cell_markup(cell, number, sink);
            let span_total = (span + markup_span - 1).min(MAX_SPAN);
            if span_total > 1 {
                sink.warn(number, MoinWarningKind::TableSpanFlattened);
            }
            row.push(inline::convert(text.trim(), Place::TableCell, number, sink));
            row.extend(std::iter::repeat_n(String::new(), span_total - 1));
            span = 1;
        }
        self.table.push(row);
    }

    fn close_table(&mut self) {
        if self.table.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.table);
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        self.separate();
        for (index, row) in rows.iter().enumerate() {
            self.out.push('|');
            for column in 0..columns {
                let cell = row.get(column).map_or("", String::as_str);
                self.out.push(' ');
                self.out.push_str(cell);
                self.out.push_str(" |");
            }
            self.out.push('\n');
            if index == 0 {
                self.out.push('|');
                self.out.push_str(&" --- |".repeat(columns));
                self.out.push('\n');
            }
        }
    }
}

/// A list item's marker.
enum Marker {
    Bullet,
    Ordered {
        /// `1.#3` starts at 3.
        start: Option<u64>,
        /// `a.`, `A.`, `i.` or `I.`, which Markdown writes with digits.
        letter: Option<String>,
    },
}

/// The marker of a list item (` * a`, ` . a`, ` 1. a`, ` a. a`, ` 1.#3 a`) and its text.
fn list_marker(trimmed: &str) -> Option<(Marker, &str)> {
    for bullet in ["*", "."] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Some((Marker::Bullet, rest));
            }
        }
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let (width, lettered) = match trimmed.as_bytes().first() {
        Some(b'a' | b'A' | b'i' | b'I') if digits == 0 => (1, true),
        _ if digits > 0 => (digits, false),
        _ => return None,
    };
    let rest = trimmed[width..].strip_prefix('.')?;
    // Taken only once the dot is known to follow: the byte after the letter may start a character
    // of several bytes (` aéroport` is a line of text, not a list item).
    let letter = lettered.then(|| &trimmed[..2]);
    let (start, rest) = match rest.strip_prefix('#') {
        Some(after) => {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            (after[..digits].parse().ok(), &after[digits..])
        }
        None => (None, rest),
    };
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    Some((
        Marker::Ordered {
            start,
            letter: letter.map(str::to_owned),
        },
        rest,
    ))
}

/// ` term:: definition`, and ` :: definition` for another definition of the term before.
fn definition(trimmed: &str) -> Option<(&str, &str)> {
    let at = trimmed.match_indices("::").map(|(at, _)| at).find(|at| {
        trimmed[at + 2..].is_empty() || trimmed[at + 2..].starts_with(char::is_whitespace)
    })?;
    Some((trimmed[..at].trim(), trimmed[at + 2..].trim()))
}

/// `= x =` to `====== x ======`: the level and the text. The markers must match in number.
fn heading(trimmed: &str) -> Option<(usize, &str)> {
    let level = trimmed.bytes().take_while(|b| *b == b'=').count();
    if level == 0 || trimmed.len() < 2 * level + 2 {
        return None;
    }
    let closing = trimmed.bytes().rev().take_while(|b| *b == b'=').count();
    if closing != level {
        return None;
    }
    let inner = &trimmed[level..trimmed.len() - level];
    if !inner.starts_with(char::is_whitespace) || !inner.ends_with(char::is_whitespace) {
        return None;
    }
    Some((level.min(6), inner.trim()))
}

/// The number of braces of a `{{{` that opens a block: one not closed on its own line.
fn code_opener(trimmed: &str) -> Option<usize> {
    let braces = trimmed.bytes().take_while(|b| *b == b'{').count();
    if braces < 3 || trimmed[braces..].contains("}}}") {
        return None;
    }
    Some(braces)
}

/// A language name as a fenced block's info string may hold it (what quire's sanitizer keeps as a class).
fn language_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#' | '.'))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Splits a table row's inside at `||`, except inside links, transclusions, macros and code.
fn split_cells(inner: &str) -> Vec<&str> {
    const PAIRS: [(&str, &str); 5] = [
        ("{{{", "}}}"),
        ("[[", "]]"),
        ("{{", "}}"),
        ("<<", ">>"),
        ("`", "`"),
    ];
    let mut absent = [false; PAIRS.len()];
    let mut cells = Vec::new();
    let mut start = 0;
    let mut at = 0;
    let bytes = inner.as_bytes();
    'scan: while at < bytes.len() {
        if bytes[at..].starts_with(b"||") {
            cells.push(&inner[start..at]);
            at += 2;
            start = at;
            continue;
        }
        for (kind, (open, close)) in PAIRS.iter().enumerate() {
            if absent[kind] || !bytes[at..].starts_with(open.as_bytes()) {
                continue;
            }
            match inner[at + open.len()..].find(close) {
                Some(n) => {
                    at += open.len() + n + close.len();
                    continue 'scan;
                }
                None => absent[kind] = true,
            }
        }
        at += 1;
    }
    cells.push(&inner[start..]);
    cells
}

/// Strips a cell's leading `<…>` markup; returns the text and the column span it asked for. Everything but
/// spans is dropped with a warning.
fn cell_markup<'c>(cell: &'c str, number: usize, sink: &mut Sink<'_>) -> (&'c str, usize) {
    let mut rest = cell.trim_start();
    let mut span = 1;
    while rest.starts_with('<') && !rest.starts_with("<<") {
        let Some(end) = rest.find('>') else {
            break;
        };
        let markup = &rest[..=end];
        let mut dropped = false;
        for token in markup[1..end].split_whitespace() {
            if let Some(columns) = token
                .strip_prefix('-')
                .and_then(|n| n.parse::<usize>().ok())
            {
                span = columns.clamp(1, MAX_SPAN);
            } else if token
                .strip_prefix('|')
                .is_some_and(|n| n.parse::<usize>().is_ok())
            {
                sink.warn(number, MoinWarningKind::TableSpanFlattened);
            } else {
                dropped = true;
            }
        }
        if dropped {
            sink.warn(
                number,
                MoinWarningKind::TableMarkupDropped {
                    markup: markup.to_owned(),
                },
            );
        }
        rest = &rest[end + 1..];
    }
    (rest, span)
}
