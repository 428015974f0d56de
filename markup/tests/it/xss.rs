//! Known XSS vectors: none may leave anything executable in the output.

use crate::{assert_safe, html};

const VECTORS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.org/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert(1)\">",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](java\u{0}script:alert(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<a href=\"javascript&#58;alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"java\nscript:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<svg><animate attributeName=href values=javascript:alert(1) /></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title=\"</style><img src onerror=alert(1)>\">",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<style>body{display:none}</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<td style=\"text-align: left; background: url(x)\">x</td>",
    "<form action=\"https://x.org\"><input name=p><button formaction=javascript:alert(1)>x</button></form>",
    "<input type=\"text\" onfocus=alert(1) autofocus>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=\"https://x.org/x.css\">",
    "<details open ontoggle=alert(1)>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<textarea><script>alert(1)</script></textarea>",
    "<xmp><script>alert(1)</script></xmp>",
    "<template><script>alert(1)</script></template>",
    "<select><style></select><img src=x onerror=alert(1)>",
    "<table><td background=\"javascript:alert(1)\">x</td></table>",
    "<a href=\"https://x.org\" target=\"_top\">x</a>",
    "[a\"onmouseover=\"alert(1)](https://x.org)",
    "[x](https://x.org \"t\\\" onmouseover=\\\"alert(1)\")",
    "https://x.org/\"onmouseover=\"alert(1)",
    "```\"><script>alert(1)</script>\nx\n```",
    "``` onclick=alert(1)\nx\n```",
    "[[Page\"><script>alert(1)</script>]]",
    "[[Home|\"><script>alert(1)</script>]]",
    "[[Home|<img src=x onerror=alert(1)>]]",
    "[[javascript:alert(1)]]",
    "[[javascript:alert(1)|x]]",
    "[[\"onmouseover=alert(1) x=\"]]",
    "[[Home#\"><script>alert(1)</script>]]",
    "# <script>alert(1)</script>",
    "- [ ] <input type=text onfocus=alert(1)>",
    "| <script>alert(1)</script> |\n|---|\n| <img src=x onerror=alert(1)> |",
    "x[^\"><script>alert(1)</script>]\n\n[^\"><script>alert(1)</script>]: y",
];

#[test]
fn no_vector_leaves_script() {
    for vector in VECTORS {
        assert_safe(vector, &html(vector));
    }
}

#[test]
fn no_vector_leaves_script_when_nested_deeply() {
    // Deep pages take the other path (raw HTML as text); it must be just as safe.
    let deep = "<div>".repeat(markup::MAX_HTML_DEPTH + 10);
    for vector in VECTORS {
        let input = format!("{deep}\n\n{vector}");
        assert_safe(&input, &html(&input));
    }
}

#[test]
fn script_text_is_shown_escaped() {
    let html = html("[[Page\"><script>alert(1)</script>]]");
    assert!(
        html.contains("&lt;script&gt;") || !html.contains("script"),
        "{html}"
    );
}

#[test]
#[should_panic(expected = "event handler")]
fn the_safety_check_catches_handlers() {
    assert_safe("raw", r#"<p><img src="x" onerror="alert(1)"></p>"#);
}

#[test]
#[should_panic(expected = "href")]
fn the_safety_check_catches_script_urls() {
    assert_safe(
        "raw",
        r#"<a href=" JavaScript&amp;colon;x"></a><a href="java&#10;script:x"></a><a href=" javaSCRIPT:x">"#,
    );
}
