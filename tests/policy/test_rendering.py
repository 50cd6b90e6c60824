"""Markdown becomes sanitised HTML: no script, no dangerous URLs, no event handlers survive."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from policy.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown, sanitize

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<svg onload="alert(1)">',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p onclick="alert(1)">x</p>',
    "<object data=x></object>",
    '<form action="https://evil.example"><input name=x></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '[x](https://ok.example "t" onmouseover=alert(1))',
    "<base href=https://evil.example>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "<<script>script>alert(1)<</script>/script>",
    "<!--<script>alert(1)</script>-->",
    '<a href="https://ok.example" onfocus=alert(1) autofocus>x</a>',
    "<details open ontoggle=alert(1)>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
]


class _Elements(HTMLParser):
    """Every element and attribute that a browser would build from the HTML."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def _assert_safe(html: str) -> None:
    for tag, attrs in _Elements(html).elements:
        assert tag in ALLOWED_TAGS, f"<{tag}> survived in {html!r}"
        for name, value in attrs.items():
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, f"{name}= on <{tag}>"
            if name == "href":
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in {"", "http", "https", "mailto"}, f"{value!r} survived"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_survives_rendering(payload):
    _assert_safe(render_markdown(payload).html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_survives_the_sanitizer_even_as_raw_html(payload):
    _assert_safe(sanitize(payload))


def test_the_safety_check_itself_catches_a_dangerous_element():
    with pytest.raises(AssertionError):
        _assert_safe('<a href="javascript:alert(1)">x</a>')
    with pytest.raises(AssertionError):
        _assert_safe('<p onclick="x()">x</p>')


def test_raw_html_is_escaped_not_rendered():
    html = render_markdown("Hello <b>world</b>").html
    assert "<b>" not in html
    assert "&lt;b&gt;" in html


def test_sanitizer_strips_event_attributes_and_bad_links_even_from_html():
    html = sanitize(
        '<p onclick="x()">a <a href="javascript:x()">b</a> <a href="https://ok.example">c</a></p>'
    )
    assert "onclick" not in html
    assert "javascript" not in html
    assert 'href="https://ok.example"' in html
    assert 'rel="noopener noreferrer"' in html


def test_safe_links_survive():
    html = render_markdown(
        "[a](https://example.com) [b](mailto:privacy@example.com) [c](#cookies)"
    ).html
    assert 'href="https://example.com"' in html
    assert 'href="mailto:privacy@example.com"' in html
    assert 'href="#cookies"' in html


def test_headings_get_stable_unique_ids():
    rendered = render_markdown("## 1. Types of Data\n\n### Cookies\n\n## Cookies")
    assert [(h.level, h.id, h.text) for h in rendered.headings] == [
        (2, "1-types-of-data", "1. Types of Data"),
        (3, "cookies", "Cookies"),
        (2, "cookies-2", "Cookies"),
    ]
    assert '<h3 id="cookies">' in rendered.html
    assert (
        render_markdown("## 1. Types of Data").html == render_markdown("## 1. Types of Data").html
    )


def test_h1_in_the_body_is_demoted_so_the_page_keeps_one_h1():
    rendered = render_markdown("# Title\n\ntext")
    assert "<h1" not in rendered.html
    assert '<h2 id="title">Title</h2>' in rendered.html


def test_toc_text_drops_markdown_markup():
    assert render_markdown("## *Our* `cookies`").headings[0].text == "Our cookies"


def test_lists_and_links_render():
    html = render_markdown("- one\n- two\n\n<https://example.com/x>").html
    assert "<ul>\n<li>one</li>" in html
    assert '<a href="https://example.com/x" rel="noopener noreferrer">' in html
