//! MoinMoin 1.9 wiki markup to the Markdown quire renders, for importing a MoinMoin wiki.
//!
//! [`moin_to_markdown`] is a pure function of the text and [`MoinOptions`]: no I/O, nothing kept between
//! calls. It never fails: what has no Markdown form stays visible (as code, or as the text written) and is
//! reported as a [`MoinWarning`] with its line, so an importer can list what to look at. The original markup
//! is the importer's to keep; the conversion is one-way.
//!
//! How each construct converts:
//!
//! | MoinMoin                                   | Markdown                                                     |
//! |--------------------------------------------|--------------------------------------------------------------|
//! | `#acl`, `#pragma`, `#redirect`, `#language` at the top | kept as they are: quire reads the same lines       |
//! | `#format wiki`                             | dropped: the page is Markdown now                            |
//! | `#format plain`, `python`, `rst`, …        | the whole body in a fenced block (language = format), warned |
//! | `## comment`, other `#` instructions       | `<!-- comment -->` (never shown); unknown instructions warned |
//! | `= x =` … `====== x ======`                | `# x` … `###### x`                                           |
//! | `'''b'''`, `''i''`, `'''''bi'''''`         | `**b**`, `*i*`, `***bi***`                                   |
//! | `__u__`, `--(s)--`, `^sup^`, `,,sub,,`     | `<u>u</u>`, `~~s~~`, `<sup>sup</sup>`, `<sub>sub</sub>` (the sanitizer keeps `u`, `sup`, `sub`) |
//! | `` `m` ``, `{{{m}}}` on one line           | a code span                                                  |
//! | `{{{` block `}}}` (more braces nest)       | a fenced block; `#!python`, `#!cplusplus`, `#!java`, `#!pascal`, `#!diff`, `#!highlight LANG` give its language, `#!text`/`#!plain` none |
//! | `{{{#!wiki note` … `}}}`                   | the inside converted, as a quote; `note`, `tip`, `important`, `warning`, `caution` as GitHub alerts |
//! | `{{{#!csv` and other parsers               | a fenced block with the parser's name as language, warned   |
//! | ` * a`, ` 1. a`, ` a. a`, ` i. a`, ` . a`  | `- a`, `1. a` (letters and roman numerals become numbers, warned) nested by indentation; `1.#3` starts at 3 |
//! | an indented line under an item             | its continuation; elsewhere, an indented line is a quote (`> `) |
//! | ` term:: definition`                       | an HTML `<dl>` whose term and definition are Markdown paragraphs |
//! | `\|\|a\|\|b\|\|`                           | a table; the first row is its header, as Markdown tables need one |
//! | `<tablestyle=…>`, `<rowbgcolor=…>`, `<(>`… | dropped, warned; `<-2>` spans flattened: the text in the first cell, empty cells after |
//! | `[[Page]]`, `[[Page\|label]]`, `[[Page#a]]`, `[[/Sub]]`, `[[../Sibling]]`, `[[Wiki:Page]]` | the same: quire resolves them as MoinMoin does |
//! | `[[http://x\|label]]`, `http://x`          | `[label](<http://x>)`, `<http://x>`                          |
//! | `[[attachment:x.pdf\|l]]`, `{{attachment:x.png\|alt}}` | the same: quire renders them                     |
//! | `{{http://x/i.png\|alt}}`                  | `![alt](<http://x/i.png>)`                                   |
//! | `{{OtherPage}}`                            | kept as code, warned: quire does not include pages           |
//! | `CamelCase`, `!CamelCase`                  | `[[CamelCase]]` and `CamelCase`; with [`MoinOptions::camel_case`] both kept as written |
//! | `<<BR>>`, `<<TableOfContents>>`            | `<br>`, `[[_TOC_]]`                                          |
//! | any other `<<Macro(args)>>`                | `` `<<Macro(args)>>` ``, warned                              |
//! | `----`                                     | `---`                                                        |
//! | text that is Markdown by accident (`*`, `_`, `[`, `<b>`, `#` or `1.` at a line start, …) | escaped, so it reads as MoinMoin showed it |
//!
//! Speed: one pass over the lines and one over each inline unit; no regular expressions, and a closer missing
//! from a line is searched for once per line (see `inline.rs`), so a page costs time proportional to its size.

mod blocks;
mod inline;

use std::fmt;

/// How [`moin_to_markdown`] converts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoinOptions {
    /// Whether the wiki the text goes to links CamelCase words ([`crate::RenderOptions::camel_case`]): then
    /// they are kept as written; otherwise each becomes an explicit `[[CamelCase]]` link, as MoinMoin showed it.
    pub camel_case: bool,
}

/// The Markdown of a MoinMoin page, and what did not convert cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The page in quire's Markdown, ending with a line break (empty for an empty page).
    pub markdown: String,
    /// What was dropped, flattened or kept as code, in line order.
    pub warnings: Vec<MoinWarning>,
}

/// Something of a MoinMoin page that has no exact Markdown form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoinWarning {
    /// The line of the MoinMoin text, counted from 1.
    pub line: usize,
    /// What happened there.
    pub kind: MoinWarningKind,
}

/// What a [`MoinWarning`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoinWarningKind {
    /// The page's `#format` is not wiki markup: its whole text is kept in a code block.
    FormatKept {
        /// The format named, e.g. `plain` or `rst`.
        format: String,
    },
    /// A `{{{#!parser` block whose parser has no Markdown form is kept as a fenced block.
    ParserKept {
        /// The parser named, e.g. `csv`.
        parser: String,
    },
    /// A `{{{` block never closed: it runs to the end of the page.
    UnclosedCodeBlock,
    /// A macro other than `BR` and `TableOfContents`, kept as inline code.
    UnknownMacro {
        /// The macro's name.
        name: String,
    },
    /// A processing instruction quire does not read, kept as an HTML comment.
    UnknownInstruction {
        /// The whole line.
        instruction: String,
    },
    /// Table cell markup (style, colours, alignment, sizes) that Markdown tables cannot hold, dropped.
    TableMarkupDropped {
        /// The markup, e.g. `<tablestyle="width: 80%">`.
        markup: String,
    },
    /// A cell spanning columns (`||||` or `<-2>`) or rows (`<|2>`): its text is in the first cell only.
    TableSpanFlattened,
    /// Link parameters (the third part of `[[target|label|parameters]]`), dropped.
    LinkParametersDropped {
        /// The parameters.
        parameters: String,
    },
    /// A transclusion of something other than an attachment or an external image, kept as inline code.
    TransclusionKept {
        /// What was transcluded.
        target: String,
    },
    /// A list numbered with letters or roman numerals, numbered with digits instead.
    ListNumbering {
        /// The marker, e.g. `a.`.
        marker: String,
    },
    /// A `## comment` line inside a paragraph, list or table, dropped (a comment there would split it).
    CommentDropped,
    /// The style of a `{{{#!wiki STYLE` box that is no GitHub alert class, dropped (the box is a quote).
    StyleDropped {
        /// The style, e.g. `red/solid`.
        style: String,
    },
}

impl fmt::Display for MoinWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            MoinWarningKind::FormatKept { format } => {
                write!(
                    f,
                    "format {format:?} is not wiki markup, kept as a code block"
                )
            }
            MoinWarningKind::ParserKept { parser } => {
                write!(f, "parser {parser:?} kept as a code block")
            }
            MoinWarningKind::UnclosedCodeBlock => write!(f, "{{{{{{ block never closed"),
            MoinWarningKind::UnknownMacro { name } => {
                write!(f, "macro {name:?} kept as code")
            }
            MoinWarningKind::UnknownInstruction { instruction } => {
                write!(f, "instruction {instruction:?} kept as a comment")
            }
            MoinWarningKind::TableMarkupDropped { markup } => {
                write!(f, "table markup {markup:?} dropped")
            }
            MoinWarningKind::TableSpanFlattened => write!(f, "spanning table cell flattened"),
            MoinWarningKind::LinkParametersDropped { parameters } => {
                write!(f, "link parameters {parameters:?} dropped")
            }
            MoinWarningKind::TransclusionKept { target } => {
                write!(f, "transclusion of {target:?} kept as code")
            }
            MoinWarningKind::ListNumbering { marker } => {
                write!(f, "list marker {marker:?} numbered with digits")
            }
            MoinWarningKind::CommentDropped => write!(f, "comment inside a block dropped"),
            MoinWarningKind::StyleDropped { style } => write!(f, "box style {style:?} dropped"),
        }
    }
}

/// What the converters share while converting one page: the options, and the warnings so far.
pub(crate) struct Sink<'o> {
    options: &'o MoinOptions,
    warnings: Vec<MoinWarning>,
}

impl Sink<'_> {
    fn warn(&mut self, line: usize, kind: MoinWarningKind) {
        self.warnings.push(MoinWarning { line, kind });
    }
}

/// The instructions quire reads at the top of a page, kept as they are.
const KEPT_INSTRUCTIONS: [&str; 4] = ["acl", "pragma", "redirect", "language"];

/// Converts MoinMoin 1.9 wiki markup to quire's Markdown; see the [module docs](self) for each construct.
///
/// ```
/// use markup::moin::{moin_to_markdown, MoinOptions, MoinWarningKind};
///
/// let page = "#acl Known:read\n= Title =\n'''Bold''' and [[Other Page|a link]].\n<<FullSearch(x)>>\n";
/// let converted = moin_to_markdown(page, &MoinOptions::default());
/// assert_eq!(
///     converted.markdown,
///     "#acl Known:read\n# Title\n\n**Bold** and [[Other Page|a link]].\n`<<FullSearch(x)>>`\n"
/// );
/// assert_eq!(converted.warnings[0].line, 4);
/// assert_eq!(converted.warnings[0].kind, MoinWarningKind::UnknownMacro { name: "FullSearch".into() });
/// ```
pub fn moin_to_markdown(text: &str, options: &MoinOptions) -> Converted {
    let mut sink = Sink {
        options,
        warnings: Vec::new(),
    };
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let lines = match lines.last() {
        Some(&"") => &lines[..lines.len() - 1],
        _ => &lines[..],
    };
    let mut head = String::new();
    let mut comments = String::new();
    let mut format = None;
    let mut body_start = 0;
    for (index, line) in lines.iter().enumerate() {
        let Some(after_hash) = line.strip_prefix('#') else {
            break;
        };
        body_start = index + 1;
        if let Some(comment) = after_hash.strip_prefix('#') {
            push_comment(&mut comments, comment);
            continue;
        }
        let keyword_end = after_hash
            .find(char::is_whitespace)
            .unwrap_or(after_hash.len());
        let keyword = after_hash[..keyword_end].to_ascii_lowercase();
        if keyword == "format" {
            format = after_hash[keyword_end..]
                .split_whitespace()
                .next()
                .map(str::to_ascii_lowercase);
        } else if KEPT_INSTRUCTIONS.contains(&keyword.as_str()) {
            head.push_str(line);
            head.push('\n');
        } else {
            sink.warn(
                index + 1,
                MoinWarningKind::UnknownInstruction {
                    instruction: (*line).to_owned(),
                },
            );
            push_comment(&mut comments, line);
        }
    }
    let body_lines = &lines[body_start..];
    let body = match format.as_deref() {
        None | Some("wiki") => blocks::convert(body_lines, body_start + 1, &mut sink, 0),
        Some("markdown") => join_lines(body_lines),
        Some(other) => {
            sink.warn(
                body_start.max(1),
                MoinWarningKind::FormatKept {
                    format: other.to_owned(),
                },
            );
            let language = match other {
                "plain" | "text" => "",
                language => language,
            };
            let mut out = String::new();
            blocks::push_fence(&mut out, "", language, body_lines.iter().copied());
            out
        }
    };
    let mut markdown = head;
    markdown.push_str(&comments);
    if !comments.is_empty() && !body.trim().is_empty() {
        markdown.push('\n');
    }
    markdown.push_str(body.trim_start_matches('\n'));
    let trimmed = markdown.trim_end().len();
    markdown.truncate(trimmed);
    if !markdown.is_empty() {
        markdown.push('\n');
    }
    sink.warnings.sort_by_key(|warning| warning.line);
    Converted {
        markdown,
        warnings: sink.warnings,
    }
}

/// A MoinMoin comment as an HTML comment on a line of its own; `>` is escaped so the text cannot end it.
fn push_comment(out: &mut String, text: &str) {
    out.push_str("<!--");
    out.push_str(&text.replace('>', "&gt;"));
    out.push_str(" -->\n");
}

fn join_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}
