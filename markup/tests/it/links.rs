use crate::{assert_fragments, html, Wiki};

/// (markdown on page `Team/Notes`, fragments the HTML must contain, links reported)
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

#[test]
fn wiki_links_render_and_are_reported() {
    let cases: &[Case] = &[
        (
            "[[Home]]",
            &[r#"<p><a class="wikilink" href="/wiki/Home">Home</a></p>"#],
            &["Home"],
        ),
        (
            "[[Nope]]",
            &[
                r#"<a class="wikilink missing" href="/wiki/Nope?action=edit" title="Create this page" rel="nofollow">Nope</a>"#,
            ],
            &["Nope"],
        ),
        (
            "[[Home|the start]]",
            &[r#"<a class="wikilink" href="/wiki/Home">the start</a>"#],
            &["Home"],
        ),
        (
            "[[Home|*em* label]]",
            &[r#"<a class="wikilink" href="/wiki/Home"><em>em</em> label</a>"#],
            &["Home"],
        ),
        (
            "[[Home|]]",
            &[r#"<a class="wikilink" href="/wiki/Home">Home</a>"#],
            &["Home"],
        ),
        (
            "[[  Some   Page  ]]",
            &[r#"<a class="wikilink" href="/wiki/Some%20Page">Some Page</a>"#],
            &["Some Page"],
        ),
        (
            "[[/Child]]",
            &[r#"<a class="wikilink" href="/wiki/Team/Notes/Child">/Child</a>"#],
            &["Team/Notes/Child"],
        ),
        (
            "[[../Plans]]",
            &[r#"<a class="wikilink" href="/wiki/Team/Plans">../Plans</a>"#],
            &["Team/Plans"],
        ),
        (
            "[[..|up]]",
            &[r#"<a class="wikilink" href="/wiki/Team">up</a>"#],
            &["Team"],
        ),
        (
            "[[Home#Intro Part]]",
            &[r##"<a class="wikilink" href="/wiki/Home#Intro%20Part">Home#Intro Part</a>"##],
            &["Home"],
        ),
        (
            "[[Nope#x|n]]",
            &[r#"href="/wiki/Nope?action=edit""#],
            &["Nope"],
        ),
        (
            "[[#local|here]]",
            &[r##"<a class="wikilink" href="#local">here</a>"##],
            &[],
        ),
        ("`[[Home]]`", &["<code>[[Home]]</code>"], &[]),
        (
            "```\n[[Home]]\n```",
            &["<pre><code>[[Home]]\n</code></pre>"],
            &[],
        ),
        ("    [[Home]]", &["<pre><code>[[Home]]</code></pre>"], &[]),
        ("[[+edit]]", &["<p>[[+edit]]</p>"], &[]),
        ("[[Home/+raw|x]]", &["<p>[[Home/+raw|x]]</p>"], &[]),
        ("[[../../../Up]]", &["<p>[[../../../Up]]</p>"], &[]),
        ("[[]] and [[ ]]", &["<p>[[]] and [[ ]]</p>"], &[]),
        ("[[a\u{1}b]]", &["<p>[[a\u{1}b]]</p>"], &[]),
        (
            "![[Home]]",
            &[r#"<p>!<a class="wikilink" href="/wiki/Home">Home</a></p>"#],
            &["Home"],
        ),
        // A wiki link inside a link's or image's text wins (pulldown-cmark's rule): the outer one stays text.
        (
            "![alt [[Home]]](/x.png)",
            &[r#"![alt <a class="wikilink" href="/wiki/Home">Home</a>](/x.png)"#],
            &["Home"],
        ),
        (
            "[outer [[Home]]](/x)",
            &[r#"[outer <a class="wikilink" href="/wiki/Home">Home</a>](/x)"#],
            &["Home"],
        ),
        (
            "[[Home]] [[Nope]] [[Home]] [[ Home ]]",
            &[],
            &["Home", "Nope"],
        ),
        (
            "# Title [[Home]]",
            &[r#"<h1 id="title-home">Title <a class="wikilink" href="/wiki/Home">Home</a></h1>"#],
            &["Home"],
        ),
        ("[[https://e.org]]", &["<p>[[https://e.org]]</p>"], &[]),
    ];
    for (markdown, fragments, links) in cases {
        let wiki = Wiki::with(&[
            "Home",
            "Team",
            "Team/Notes",
            "Team/Plans",
            "Team/Notes/Child",
            "Some Page",
        ]);
        let rendered = markup::render(markdown, "Team/Notes", &wiki);
        assert_fragments(markdown, &rendered.html, fragments);
        assert_eq!(rendered.links, *links, "links of {markdown:?}");
        assert_eq!(
            markup::wiki_links(markdown, "Team/Notes"),
            *links,
            "wiki_links of {markdown:?}"
        );
        assert!(
            wiki.queries.get() <= 1,
            "one existence query per render for {markdown:?}"
        );
        if !fragments.iter().any(|f| f.contains("<a ")) && links.is_empty() {
            assert!(
                !rendered.html.contains("<a "),
                "no link in render of {markdown:?}: {}",
                rendered.html
            );
        }
    }
}

#[test]
fn existence_is_asked_once_with_every_distinct_target() {
    struct Recorder(std::cell::RefCell<Vec<Vec<String>>>);
    impl markup::LinkResolver for Recorder {
        fn page_url(&self, name: &str) -> String {
            format!("/{name}")
        }
        fn create_url(&self, name: &str) -> String {
            format!("/{name}?new")
        }
        fn existing(&self, names: &[String]) -> std::collections::HashSet<String> {
            self.0.borrow_mut().push(names.to_vec());
            names.iter().cloned().collect()
        }
        no_files!();
    }
    let recorder = Recorder(Default::default());
    markup::render("[[B]] [[A]] [[B|again]] [[/C]]", "P", &recorder);
    assert_eq!(
        *recorder.0.borrow(),
        [vec!["B".to_owned(), "A".to_owned(), "P/C".to_owned()]]
    );

    let recorder = Recorder(Default::default());
    markup::render("no links here", "P", &recorder);
    assert!(
        recorder.0.borrow().is_empty(),
        "no query without wiki links"
    );
}

#[test]
fn resolver_urls_are_escaped_into_the_attribute() {
    struct Odd;
    impl markup::LinkResolver for Odd {
        fn page_url(&self, _: &str) -> String {
            r#"/w?a=1&b="2"<x>"#.to_owned()
        }
        fn create_url(&self, name: &str) -> String {
            self.page_url(name)
        }
        fn existing(&self, names: &[String]) -> std::collections::HashSet<String> {
            names.iter().cloned().collect()
        }
        no_files!();
    }
    let html = markup::render("[[X]]", "P", &Odd).html;
    assert!(
        html.contains(r#"href="/w?a=1&amp;b=&quot;2&quot;&lt;x&gt;""#),
        "{html}"
    );
}

#[test]
fn labels_are_text_not_html() {
    let html = html("[[Home|<b onclick=x>bold</b>]] [[<i>Page</i>]]");
    assert!(
        html.contains(r#"<a class="wikilink" href="/wiki/Home"><b>bold</b></a>"#),
        "{html}"
    );
    assert!(!html.contains("onclick"), "{html}");
}

#[test]
fn external_links_are_the_absolute_links_a_render_writes() {
    let options = markup::RenderOptions::default();
    let cases: &[(&str, &[&str])] = &[
        ("no links, [[Home]], [local](/x), [anchor](#a)", &[]),
        (
            "[a](https://a.example) and [b](http://b.example)",
            &["https://a.example", "http://b.example"],
        ),
        (
            "bare https://a.example and www.b.example.",
            &["https://a.example", "http://www.b.example"],
        ),
        (
            "<a href=\"https://raw.example\">raw</a>",
            &["https://raw.example"],
        ),
        (
            "[protocol-relative](//c.example) [mail](mailto:a@b.example)",
            &["//c.example", "mailto:a@b.example"],
        ),
        (
            "twice: [x](https://a.example) [y](https://a.example)",
            &["https://a.example", "https://a.example"],
        ),
        ("[[WikiPedia:Rust]] is the operator's", &[]),
        (
            "`https://in.code.example` and\n\n    https://block.example\n",
            &[],
        ),
        ("<a href=\"javascript:alert(1)\">dropped</a>", &[]),
    ];
    for (markdown, expected) in cases {
        assert_eq!(
            markup::external_links(markdown, "Home", &options).unwrap(),
            *expected,
            "{markdown}"
        );
    }
}
