//! The bounds on a render's work (`RenderLimits`): each one refuses the page it is for, by name, at its
//! default value, and the defaults still render large real pages.

use markup::{render_with, MarkupError, RenderLimits, RenderOptions};

use crate::Wiki;

fn bounded() -> RenderOptions {
    RenderOptions {
        limits: Some(RenderLimits::default()),
        ..RenderOptions::default()
    }
}

fn refusal(markdown: &str) -> MarkupError {
    match render_with(markdown, "Page", &Wiki::with(&[]), &bounded()) {
        Ok(rendered) => panic!("rendered {} bytes of HTML", rendered.html.len()),
        Err(err) => err,
    }
}

#[test]
fn the_hostile_table_is_refused_before_it_is_parsed() {
    // The table of the report: 2 000 columns by 500 rows, 2 MB.
    let row = format!("|{}\n", "a|".repeat(2000));
    let table = format!("{row}|{}\n{}", "-|".repeat(2000), row.repeat(499));
    let limit = RenderLimits::default().max_marks;
    assert_eq!(refusal(&table), MarkupError::TooManyMarks { limit });
}

#[test]
fn too_many_elements() {
    // 120 000 marks, within their bound, but 180 000 events.
    let limit = RenderLimits::default().max_events;
    assert_eq!(
        refusal(&"*a* ".repeat(60_000)),
        MarkupError::TooManyEvents { limit }
    );
}

#[test]
fn too_many_table_cells_even_when_pulldown_cmark_pads_them() {
    // 16 kB: a header of 2 000 columns, and rows of one cell that the parser pads to 2 000 cells each.
    let table = format!(
        "{}\n{}\n{}",
        "|a".repeat(2000),
        "|-".repeat(2000),
        "|x\n".repeat(30)
    );
    let limit = RenderLimits::default().max_table_cells;
    assert_eq!(refusal(&table), MarkupError::TooManyTableCells { limit });
}

#[test]
fn too_much_html() {
    // 40 kB: every `[[_TOC_]]` line is a copy of the table of contents of 2 000 headings, 180 MB in all.
    let page = format!("{}{}", "# h\n".repeat(2000), "[[_TOC_]]\n\n".repeat(2000));
    let limit = RenderLimits::default().max_output_bytes;
    assert_eq!(refusal(&page), MarkupError::OutputTooLarge { limit });
}

#[test]
fn each_bound_names_itself() {
    let tiny = |limits: RenderLimits| RenderOptions {
        limits: Some(limits),
        ..RenderOptions::default()
    };
    let page = "# Title\n\n|a|b|\n|-|-|\n|c|d|\n\n*some* text\n";
    let with = |change: fn(&mut RenderLimits)| {
        let mut limits = RenderLimits::default();
        change(&mut limits);
        limits
    };
    let cases = [
        (with(|l| l.max_marks = 3), "more than 3 markup characters"),
        (with(|l| l.max_events = 3), "more than 3 Markdown elements"),
        (with(|l| l.max_table_cells = 3), "more than 3 table cells"),
        (with(|l| l.max_output_bytes = 3), "more than 3 bytes"),
    ];
    for (limits, message) in cases {
        let err = render_with(page, "Page", &Wiki::with(&[]), &tiny(limits)).unwrap_err();
        assert!(err.to_string().contains(message), "{err} for {limits:?}");
    }
}

#[test]
fn the_defaults_render_large_real_pages() {
    let mut table = String::from("| # | name | a | b | c | d | e | f | g | notes |\n");
    table.push_str(&"|---".repeat(10));
    table.push_str("|\n");
    for row in 0..1000 {
        table.push_str(&format!(
            "| {row} | Item {row} | 1 | 2 | 3 | 4 | 5 | 6 | 7 | see [[Item {row}]] and *this* |\n"
        ));
    }
    let rendered =
        render_with(&table, "Page", &Wiki::with(&[]), &bounded()).expect("a 1 000-row table");
    assert_eq!(rendered.html.matches("<tr>").count(), 1001);

    // 1 MB of markup-dense prose (a markup character every 10 bytes): headings, paragraphs with emphasis,
    // links and code, lists.
    let section = "## A section\n\nSome prose with *emphasis*, a [[Wiki Link]], a [link](https://example.org/) \
                   and `code`, as pages have. It goes on for a while, explaining things in plain words, \
                   sentence after sentence, the way real pages do.\n\n- one item\n- another item\n\n";
    let prose = section.repeat((1 << 20) / section.len());
    assert!(render_with(&prose, "Page", &Wiki::with(&[]), &bounded()).is_ok());
}

#[test]
fn without_limits_nothing_is_refused() {
    let table = format!(
        "{}\n{}\n{}",
        "|a".repeat(2000),
        "|-".repeat(2000),
        "|x\n".repeat(30)
    );
    assert!(render_with(&table, "Page", &Wiki::with(&[]), &RenderOptions::default()).is_ok());
}
