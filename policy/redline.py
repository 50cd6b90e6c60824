"""Reader-facing comparisons of two policy texts: section by section, words marked <ins>/<del>."""

import hashlib
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.core.cache import cache
from django.utils.html import escape
from django.utils.text import slugify

from .rendering import parse_markdown, sanitize


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph" or "item"
    text: str


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class SectionChange:
    status: str  # "changed", "added", "removed" or "unchanged"
    title_html: str
    body_html: str
    anchor: str


@dataclass(frozen=True)
class Comparison:
    sections: tuple[SectionChange, ...]
    words_added: int
    words_removed: int

    @property
    def changed(self) -> tuple[SectionChange, ...]:
        return tuple(s for s in self.sections if s.status != "unchanged")


def compare(old: str, new: str) -> Comparison:
    """Compare two Markdown texts; cached, since published texts never change."""
    key = "policy:redline:" + _digest(old) + ":" + _digest(new)
    comparison = cache.get(key)
    if comparison is None:
        comparison = _compare(_sections(old), _sections(new))
        cache.set(key, comparison, 60 * 60 * 24)
    return comparison


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _blocks(markdown: str) -> list[tuple[int, Block]]:
    """(heading level or 0, block) for each heading, paragraph and list item, in order."""
    blocks: list[tuple[int, Block]] = []
    tokens = parse_markdown(markdown)
    depth = 0
    for index, token in enumerate(tokens):
        if token.type in {"bullet_list_open", "ordered_list_open"}:
            depth += 1
        elif token.type in {"bullet_list_close", "ordered_list_close"}:
            depth -= 1
        elif token.type == "inline":
            opener = tokens[index - 1]
            text = _inline_text(token)
            if opener.type == "heading_open":
                blocks.append((int(opener.tag[1]), Block("heading", text)))
            elif text:
                blocks.append((0, Block("item" if depth else "paragraph", text)))
    return blocks


def _inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _sections(markdown: str) -> list[Section]:
    """Split at level-2 headings; text before the first one is the introduction."""
    sections: list[Section] = []
    title, current = "Introduction", []
    for level, block in _blocks(markdown):
        if level in {1, 2}:
            if current or sections or title != "Introduction":
                sections.append(Section(title, tuple(current)))
            title, current = block.text, []
        else:
            current.append(block)
    sections.append(Section(title, tuple(current)))
    return [s for s in sections if s.blocks or s.title != "Introduction"]


def _compare(old: list[Section], new: list[Section]) -> Comparison:
    changes: list[SectionChange] = []
    counter = _WordCounter()
    matcher = SequenceMatcher(None, [s.title for s in old], [s.title for s in new], autojunk=False)
    for _op, i1, i2, j1, j2 in matcher.get_opcodes():
        for before, after in _pair(old[i1:i2], new[j1:j2]):
            if before is None:
                changes.append(_whole(after, "added", counter))
            elif after is None:
                changes.append(_whole(before, "removed", counter))
            else:
                changes.append(_section_change(before, after, counter))
    return Comparison(tuple(changes), counter.added, counter.removed)


SIMILAR = 0.5  # sections whose words are at least this alike are one section, edited


def _pair(olds: list[Section], news: list[Section]) -> list[tuple[Section | None, Section | None]]:
    """Match sections in order, pairing an old one only with a new one that resembles it."""
    pairs: list[tuple[Section | None, Section | None]] = []
    start = 0
    for before in olds:
        best, best_ratio = None, SIMILAR
        for index in range(start, len(news)):
            ratio = SequenceMatcher(
                None, _words(before), _words(news[index]), autojunk=False
            ).ratio()
            if ratio >= best_ratio:
                best, best_ratio = index, ratio
        if best is None:
            pairs.append((before, None))
            continue
        pairs += [(None, after) for after in news[start:best]]
        pairs.append((before, news[best]))
        start = best + 1
    pairs += [(None, after) for after in news[start:]]
    return pairs


def _words(section: Section) -> list[str]:
    return " ".join([section.title, *(b.text for b in section.blocks)]).split()


class _WordCounter:
    def __init__(self):
        self.added = 0
        self.removed = 0


def _section_change(before: Section, after: Section, counter: _WordCounter) -> SectionChange:
    title_html = _words_diff(before.title, after.title, counter)
    parts: list[tuple[str, str]] = []
    matcher = SequenceMatcher(
        None, [b.text for b in before.blocks], [b.text for b in after.blocks], autojunk=False
    )
    changed = before.title != after.title
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts += [(b.kind, escape(b.text)) for b in after.blocks[j1:j2]]
            continue
        changed = True
        olds, news = before.blocks[i1:i2], after.blocks[j1:j2]
        pairs = list(zip(olds, news, strict=False))
        parts += [(b.kind, _words_diff(a.text, b.text, counter)) for a, b in pairs]
        parts += [(b.kind, _mark("del", b.text, counter)) for b in olds[len(pairs) :]]
        parts += [(b.kind, _mark("ins", b.text, counter)) for b in news[len(pairs) :]]
    return SectionChange(
        status="changed" if changed else "unchanged",
        title_html=sanitize(title_html),
        body_html=sanitize(_render(parts)) if changed else "",
        anchor=_anchor(after.title),
    )


def _whole(section: Section, status: str, counter: _WordCounter) -> SectionChange:
    tag = "ins" if status == "added" else "del"
    parts = [(b.kind, _mark(tag, b.text, counter)) for b in section.blocks]
    return SectionChange(
        status=status,
        title_html=sanitize(_mark(tag, section.title, counter)),
        body_html=sanitize(_render(parts)),
        anchor=_anchor(section.title),
    )


# Words (with inner apostrophes), single punctuation marks, and runs of space, so "lists." and
# "lists" share the word and differ only in the full stop.
_TOKENS = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]|\s+")


def _words_diff(old: str, new: str, counter: _WordCounter) -> str:
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    out: list[str] = []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape("".join(after[j1:j2])))
            continue
        if i2 > i1:
            out.append(_mark("del", "".join(before[i1:i2]), counter))
        if j2 > j1:
            out.append(_mark("ins", "".join(after[j1:j2]), counter))
    return "".join(out)


def _mark(tag: str, text: str, counter: _WordCounter) -> str:
    words = len(text.split())
    if tag == "ins":
        counter.added += words
    else:
        counter.removed += words
    return f"<{tag}>{escape(text)}</{tag}>"


def _render(parts: list[tuple[str, str]]) -> str:
    html, in_list = [], False
    for kind, content in parts:
        if kind == "item" and not in_list:
            html.append("<ul>")
            in_list = True
        elif kind != "item" and in_list:
            html.append("</ul>")
            in_list = False
        tag = {"item": "li", "heading": "h3"}.get(kind, "p")
        html.append(f"<{tag}>{content}</{tag}>")
    if in_list:
        html.append("</ul>")
    return "".join(html)


def _anchor(title: str) -> str:
    return "change-" + (slugify(title) or "section")
