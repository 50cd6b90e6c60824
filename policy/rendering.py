"""Markdown to sanitised HTML, done once when a version is saved, never per request."""

import hashlib
from dataclasses import dataclass

import nh3
from django.utils.text import slugify
from markdown_it import MarkdownIt

# markdown-it-py's "js-default" preset: CommonMark with raw HTML off and the
# dangerous-URL validator on. nh3 then enforces an allow-list as a second wall.
_markdown = MarkdownIt("js-default").enable("table")

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "ins", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Rendered:
    html: str
    headings: list[Heading]


def parse_markdown(source: str) -> list:
    """markdown-it tokens for `source`, with the same options the renderer uses."""
    return _markdown.parse(source)


def render_markdown(source: str) -> Rendered:
    """Render Markdown to sanitised HTML, giving each heading a stable, unique id."""
    tokens = parse_markdown(source)
    headings: list[Heading] = []
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        level = int(token.tag[1])
        if level == 1:
            # The page owns its one <h1> (the version title); demote headings in the body.
            token.tag = "h2"
            tokens[index + 2].tag = "h2"
            level = 2
        text = tokens[index + 1].content.strip()
        base = slugify(text) or "section"
        seen[base] = seen.get(base, 0) + 1
        anchor = base if seen[base] == 1 else f"{base}-{seen[base]}"
        token.attrSet("id", anchor)
        headings.append(Heading(level=level, id=anchor, text=_plain(tokens[index + 1])))
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return Rendered(html=sanitize(html), headings=headings)


def sanitize(html: str) -> str:
    """Keep only allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def content_hash(*, title: str, body: str) -> str:
    """SHA-256 of a version's text exactly as readers get it."""
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def _plain(inline) -> str:
    """The text of an inline token without Markdown markup."""
    return (
        "".join(
            child.content
            for child in (inline.children or [])
            if child.type in {"text", "code_inline"}
        ).strip()
        or inline.content.strip()
    )
