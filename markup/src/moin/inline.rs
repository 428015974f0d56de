//! MoinMoin inline markup (emphasis, code, links, transclusions, macros, bare URLs, CamelCase) to quire's
//! Markdown, and the escaping that keeps MoinMoin's literal text literal.
//!
//! One left-to-right pass. Emphasis-like markup (`'''`, `''`, `__`, `--(`) toggles, as in MoinMoin, and is
//! written with a stack so that Markdown's nesting stays proper; whatever is still open at the end of a unit
//! (a paragraph, a list item, a cell) is closed there, as MoinMoin closes it at the end of a paragraph.
//! Paired markup (`{{{…}}}`, `` `…` ``, `[[…]]`, `{{…}}`, `<<…>>`, `^…^`, `,,…,,`) closes on the same
//! line. A closer that is not on the rest of the line is remembered as absent for that line, so a line full of
//! openers costs one search per kind, not one per opener: the pass stays linear.

use super::{MoinWarningKind, Sink};
use crate::camelcase::{camel_words, is_camel};

/// Where an inline unit is written: a table cell must also escape `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Text,
    TableCell,
}

/// Markup that MoinMoin toggles on and off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toggle {
    Bold,
    Italic,
    Underline,
    Strike,
}

impl Toggle {
    fn open(self) -> &'static str {
        match self {
            Toggle::Bold => "**",
            Toggle::Italic => "*",
            Toggle::Underline => "<u>",
            Toggle::Strike => "~~",
        }
    }

    fn close(self) -> &'static str {
        match self {
            Toggle::Bold => "**",
            Toggle::Italic => "*",
            Toggle::Underline => "</u>",
            Toggle::Strike => "~~",
        }
    }
}

/// The closers searched for on the rest of a line; each remembers whether it is known to be absent.
const CLOSERS: [&str; 7] = ["}}}", "`", "]]", "}}", ">>", "^", ",,"];

/// URL schemes MoinMoin links in text and in `[[…]]`, which Markdown writes as links too.
const SCHEMES: [&str; 4] = ["http://", "https://", "ftp://", "mailto:"];

/// Converts one inline unit: `text` may hold line breaks (a paragraph's lines); `line` is the number of its
/// first line, for warnings.
pub(super) fn convert(text: &str, place: Place, line: usize, sink: &mut Sink<'_>) -> String {
    convert_in(text, place, line, sink, false)
}

/// [`convert`], inside a link's label when `in_label`: there a CamelCase word stays a word, as
/// MoinMoin showed it (a link inside a link is no link in Markdown).
fn convert_in(
    text: &str,
    place: Place,
    line: usize,
    sink: &mut Sink<'_>,
    in_label: bool,
) -> String {
    let mut scanner = Scanner {
        text,
        place,
        line,
        in_label,
        out: String::with_capacity(text.len() + text.len() / 8),
        open: Vec::new(),
        absent_from: [usize::MAX; CLOSERS.len()],
        line_end: line_end(text, 0),
        line_start: true,
        plain_from: 0,
    };
    scanner.run(sink);
    scanner.out
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |n| from + n)
}

struct Scanner<'t> {
    text: &'t str,
    place: Place,
    line: usize,
    /// Inside a link's label: CamelCase words are not links.
    in_label: bool,
    out: String,
    open: Vec<Toggle>,
    /// Per closer: from which offset it is known not to occur before the end of the current line.
    absent_from: [usize; CLOSERS.len()],
    line_end: usize,
    /// Whether nothing has been written yet on the current output line.
    line_start: bool,
    /// Where the current run of plain text began.
    plain_from: usize,
}

impl Scanner<'_> {
    fn run(&mut self, sink: &mut Sink<'_>) {
        let mut at = 0;
        while at < self.text.len() {
            let rest = &self.text[at..];
            let bytes = rest.as_bytes();
            if bytes[0] == b'\n' {
                self.flush_plain(at, sink);
                self.out.push('\n');
                self.line += 1;
                self.line_start = true;
                self.absent_from = [usize::MAX; CLOSERS.len()];
                self.line_end = line_end(self.text, at + 1);
                at += 1;
                self.plain_from = at;
                continue;
            }
            match self.construct(at, sink) {
                Some(end) => {
                    at = end;
                    self.plain_from = end;
                }
                None => at += rest.chars().next().map_or(1, char::len_utf8),
            }
        }
        self.flush_plain(self.text.len(), sink);
        while let Some(toggle) = self.open.pop() {
            self.out.push_str(toggle.close());
        }
    }

    /// The end of `CLOSERS[kind]` searched from `from` on the rest of the line, remembering its absence.
    fn find_closer(&mut self, kind: usize, from: usize) -> Option<usize> {
        if from >= self.absent_from[kind] || from > self.line_end {
            return None;
        }
        let found = self.text[from..self.line_end].find(CLOSERS[kind]);
        if found.is_none() {
            self.absent_from[kind] = from;
        }
        found.map(|n| from + n)
    }

    /// Converts the construct starting at `at`, if one does; returns where it ends.
    fn construct(&mut self, at: usize, sink: &mut Sink<'_>) -> Option<usize> {
        let rest = &self.text[at..];
        let first = rest.as_bytes()[0];
        if !matches!(
            first,
            b'{' | b'`'
                | b'['
                | b'<'
                | b'\''
                | b'_'
                | b'-'
                | b')'
                | b'^'
                | b','
                | b'h'
                | b'f'
                | b'm'
        ) {
            return None;
        }
        if rest.starts_with("{{{") {
            let inner = at + 3;
            let close = self.find_closer(0, inner)?;
            self.flush_plain(at, sink);
            let code = &self.text[inner..close];
            self.code_span(code);
            return Some(close + 3);
        }
        if first == b'`' {
            let close = self.find_closer(1, at + 1)?;
            self.flush_plain(at, sink);
            let code = &self.text[at + 1..close];
            self.code_span(code);
            return Some(close + 1);
        }
        if rest.starts_with("[[") {
            let close = self.find_closer(2, at + 2)?;
            self.flush_plain(at, sink);
            let inner = &self.text[at + 2..close];
            self.link(inner, sink);
            return Some(close + 2);
        }
        if rest.starts_with("{{") {
            let close = self.find_closer(3, at + 2)?;
            self.flush_plain(at, sink);
            let inner = &self.text[at + 2..close];
            self.transclusion(inner, sink);
            return Some(close + 2);
        }
        if rest.starts_with("<<") {
            let close = self.find_closer(4, at + 2)?;
            self.flush_plain(at, sink);
            let inner = &self.text[at + 2..close];
            self.macro_call(inner, sink);
            return Some(close + 2);
        }
        if rest.starts_with("'''''") {
            self.flush_plain(at, sink);
            // Whatever is open closes first (innermost first), then whatever was not opens.
            let mut order = [Toggle::Bold, Toggle::Italic];
            order.sort_by_key(|t| {
                std::cmp::Reverse(self.open.iter().position(|o| o == t).map_or(0, |p| p + 1))
            });
            for toggle in order {
                self.toggle(toggle);
            }
            return Some(at + 5);
        }
        if rest.starts_with("'''") {
            self.flush_plain(at, sink);
            self.toggle(Toggle::Bold);
            return Some(at + 3);
        }
        if rest.starts_with("''") {
            self.flush_plain(at, sink);
            self.toggle(Toggle::Italic);
            return Some(at + 2);
        }
        if rest.starts_with("__") {
            self.flush_plain(at, sink);
            self.toggle(Toggle::Underline);
            return Some(at + 2);
        }
        if rest.starts_with("--(") {
            self.flush_plain(at, sink);
            if !self.is_open(Toggle::Strike) {
                self.toggle(Toggle::Strike);
            }
            return Some(at + 3);
        }
        if rest.starts_with(")--") && self.is_open(Toggle::Strike) {
            self.flush_plain(at, sink);
            self.toggle(Toggle::Strike);
            return Some(at + 3);
        }
        if first == b'^' {
            return self.paired(at, 5, 1, "sup", sink);
        }
        if rest.starts_with(",,") {
            return self.paired(at, 6, 2, "sub", sink);
        }
        if let Some(scheme) = SCHEMES.iter().find(|s| rest.starts_with(**s)) {
            let after_word = self.text[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            if after_word {
                return None;
            }
            let end = url_end(rest);
            if end <= scheme.len() {
                return None;
            }
            self.flush_plain(at, sink);
            self.push_url(&rest[..end]);
            return Some(at + end);
        }
        None
    }

    /// `^sup^` and `,,sub,,`: HTML elements quire's sanitizer keeps, around the converted inside.
    fn paired(
        &mut self,
        at: usize,
        kind: usize,
        width: usize,
        element: &str,
        sink: &mut Sink<'_>,
    ) -> Option<usize> {
        let close = self.find_closer(kind, at + width)?;
        if close == at + width {
            return None;
        }
        self.flush_plain(at, sink);
        let inner = convert_in(
            &self.text[at + width..close],
            self.place,
            self.line,
            sink,
            self.in_label,
        );
        self.out
            .push_str(&format!("<{element}>{inner}</{element}>"));
        self.line_start = false;
        Some(close + width)
    }

    fn is_open(&self, toggle: Toggle) -> bool {
        self.open.contains(&toggle)
    }

    /// Opens `toggle`, or closes it with whatever was opened inside it, reopening those after.
    fn toggle(&mut self, toggle: Toggle) {
        let Some(index) = self.open.iter().position(|t| *t == toggle) else {
            self.out.push_str(toggle.open());
            self.open.push(toggle);
            self.line_start = false;
            return;
        };
        let inside = self.open.split_off(index + 1);
        for t in inside.iter().rev() {
            self.out.push_str(t.close());
        }
        self.out.push_str(toggle.close());
        self.open.pop();
        for t in &inside {
            self.out.push_str(t.open());
        }
        self.open.extend(inside);
    }

    fn code_span(&mut self, code: &str) {
        if code.is_empty() {
            return;
        }
        let code = if self.place == Place::TableCell {
            code.replace('|', "\\|")
        } else {
            code.to_owned()
        };
        push_code_span(&mut self.out, &code);
        self.line_start = false;
    }

    /// `[[target|label|parameters]]`.
    fn link(&mut self, inner: &str, sink: &mut Sink<'_>) {
        let mut parts = inner.splitn(3, '|');
        let target = parts.next().unwrap_or_default().trim();
        let label = parts.next();
        if let Some(parameters) = parts.next() {
            sink.warn(
                self.line,
                MoinWarningKind::LinkParametersDropped {
                    parameters: parameters.to_owned(),
                },
            );
        }
        self.line_start = false;
        if SCHEMES.iter().any(|s| target.starts_with(s)) {
            let Some(label) = label.filter(|l| !l.trim().is_empty()) else {
                self.push_url(target);
                return;
            };
            let label = self.label(label, sink);
            let url = angle_destination(target);
            self.out.push_str(&format!("[{label}]({url})"));
            return;
        }
        // Pages (also `/Sub`, `../Sibling`, `Page#anchor`, `Interwiki:Page`) and `attachment:` targets are
        // written as quire reads them, which is as MoinMoin does.
        self.out.push_str("[[");
        self.out.push_str(&target.replace(']', "\\]"));
        if let Some(label) = label.filter(|l| !l.trim().is_empty()) {
            let label = self.label(label, sink);
            // A table splits its cells at every `|` that is not escaped, links included.
            self.out.push_str(if self.place == Place::TableCell {
                "\\|"
            } else {
                "|"
            });
            self.out.push_str(&label);
        }
        self.out.push_str("]]");
    }

    fn label(&self, label: &str, sink: &mut Sink<'_>) -> String {
        convert_in(label.trim(), self.place, self.line, sink, true)
    }

    /// `{{target|alt|parameters}}`: attachments stay (quire renders them), external images become
    /// Markdown images, anything else (another page's text) stays visible as code.
    fn transclusion(&mut self, inner: &str, sink: &mut Sink<'_>) {
        self.line_start = false;
        let trimmed = inner.trim_start();
        if trimmed.starts_with("attachment:") {
            self.out.push_str("{{");
            self.out.push_str(inner);
            self.out.push_str("}}");
            return;
        }
        let mut parts = inner.splitn(3, '|');
        let target = parts.next().unwrap_or_default().trim();
        if SCHEMES.iter().any(|s| target.starts_with(s)) {
            let alt = parts.next().unwrap_or_default().trim();
            let alt = escape_plain(alt, self.place);
            let url = angle_destination(target);
            self.out.push_str(&format!("![{alt}]({url})"));
            return;
        }
        sink.warn(
            self.line,
            MoinWarningKind::TransclusionKept {
                target: target.to_owned(),
            },
        );
        self.code_span(&format!("{{{{{inner}}}}}"));
    }

    /// `<<Name(arguments)>>`.
    fn macro_call(&mut self, inner: &str, sink: &mut Sink<'_>) {
        let name = inner.split('(').next().unwrap_or_default().trim();
        self.line_start = false;
        match name {
            "BR" => self.out.push_str("<br>"),
            "TableOfContents" => self.out.push_str("[[_TOC_]]"),
            _ => {
                sink.warn(
                    self.line,
                    MoinWarningKind::UnknownMacro {
                        name: name.to_owned(),
                    },
                );
                self.code_span(&format!("<<{inner}>>"));
            }
        }
    }

    fn push_url(&mut self, url: &str) {
        self.out.push('<');
        self.out.push_str(&encode_destination(url));
        self.out.push('>');
        self.line_start = false;
    }

    /// Writes the plain text from `plain_from` to `to`: CamelCase words as the options say, the rest
    /// escaped.
    fn flush_plain(&mut self, to: usize, sink: &mut Sink<'_>) {
        if self.plain_from >= to {
            return;
        }
        let text = &self.text[self.plain_from..to];
        self.plain_from = to;
        let mut from = 0;
        for word in camel_words(text) {
            self.push_plain(&text[from..word.start], sink);
            let camel = &text[word.clone()];
            if sink.options.camel_case || self.in_label {
                self.out.push_str(camel);
            } else {
                self.out.push_str(&format!("[[{camel}]]"));
            }
            self.line_start = false;
            from = word.end;
        }
        self.push_plain(&text[from..], sink);
    }

    /// Escaped text; `!CamelCase` is MoinMoin's way to write the word without a link.
    fn push_plain(&mut self, text: &str, sink: &Sink<'_>) {
        let mut rest = text;
        while let Some(bang) = rest.find('!') {
            let after = &rest[bang + 1..];
            let word_len = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if word_len == 0 || !is_camel(&after[..word_len]) {
                self.push_escaped(&rest[..=bang]);
                rest = after;
                continue;
            }
            self.push_escaped(&rest[..bang]);
            if sink.options.camel_case {
                // quire's own escape for a CamelCase word is MoinMoin's.
                self.out.push('!');
            }
            self.push_escaped(&after[..word_len]);
            rest = &after[word_len..];
        }
        self.push_escaped(rest);
    }

    fn push_escaped(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.line_start {
            let at_start = escape_line_start(text);
            self.out.push_str(&at_start.0);
            self.out.push_str(&escape_plain(at_start.1, self.place));
        } else {
            self.out.push_str(&escape_plain(text, self.place));
        }
        self.line_start = false;
    }
}

/// Escapes what would open a Markdown block at the start of a line (`#`, `>`, `-`, `+`, `=`, `1.`), and
/// returns the escaped start and the rest.
fn escape_line_start(text: &str) -> (String, &str) {
    let Some(first) = text.chars().next() else {
        return (String::new(), text);
    };
    if matches!(first, '#' | '>' | '-' | '+' | '=') {
        return (format!("\\{first}"), &text[1..]);
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && matches!(text.as_bytes().get(digits), Some(b'.' | b')')) {
        return (
            format!("{}\\{}", &text[..digits], &text[digits..=digits]),
            &text[digits + 1..],
        );
    }
    (String::new(), text)
}

/// Escapes the characters that would be Markdown (or HTML) in the middle of a line.
pub(super) fn escape_plain(text: &str, place: Place) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let escape = match c {
            '*' | '`' | '[' | ']' | '~' => true,
            '\\' => next.is_none_or(|n| n.is_ascii_punctuation()),
            '_' => {
                !(previous.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric))
            }
            '<' => next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')),
            '&' => next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#'),
            '|' => place == Place::TableCell,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Writes `code` as a Markdown code span, with a fence longer than any run of backticks in it.
pub(super) fn push_code_span(out: &mut String, code: &str) {
    let fence = "`".repeat(longest_run(code, '`') + 1);
    let pad = code.starts_with('`')
        || code.ends_with('`')
        || (code.starts_with(' ') && code.ends_with(' ') && !code.trim().is_empty());
    out.push_str(&fence);
    if pad {
        out.push(' ');
    }
    out.push_str(code);
    if pad {
        out.push(' ');
    }
    out.push_str(&fence);
}

/// The longest run of `c` in `text`.
pub(super) fn longest_run(text: &str, c: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// Where a bare URL at the start of `text` ends: at white space or a character no URL holds, without the
/// punctuation that ends a sentence.
fn url_end(text: &str) -> usize {
    let end = text
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '|'))
        .unwrap_or(text.len());
    let trimmed = text[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'']);
    trimmed.len()
}

/// A link destination in angle brackets, which takes any character but these.
fn angle_destination(url: &str) -> String {
    format!("<{}>", encode_destination(url))
}

fn encode_destination(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('\n', "%0A")
}
