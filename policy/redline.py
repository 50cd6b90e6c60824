"""Reader-facing comparisons of two policy texts: section by section, words marked <ins>/<del>."""

import hashlib
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.core.cache import cache
from django.utils.html import escape
from django.utils.text import slugify

from .rendering import parse_markdown, sanitize

# A word, space or punctuation mark, with the inline formatting it wears: "strong", "em",
# "code", or "a" followed by the link's address ("a https://…").
Token = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph" or "item"
    text: str  # the plain words: what sections and blocks are matched on
    tokens: tuple[Token, ...] = ()


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
            pieces = _inline_tokens(token)
            text = "".join(piece for piece, _ in pieces)
            if opener.type == "heading_open":
                blocks.append((int(opener.tag[1]), Block("heading", text, pieces)))
            elif text:
                blocks.append((0, Block("item" if depth else "paragraph", text, pieces)))
    return blocks


_MARKS = {"strong_open": "strong", "em_open": "em", "s_open": "s"}


def _inline_tokens(token) -> tuple[Token, ...]:
    """The block's words, spaces and punctuation, each with the formatting it wears."""
    pieces: list[Token] = []
    wearing: list[str] = []
    for child in token.children or []:
        if child.type in _MARKS:
            wearing.append(_MARKS[child.type])
        elif child.type == "link_open":
            wearing.append(f"a {child.attrGet('href') or ''}")
        elif child.type.endswith("_close") and wearing:
            wearing.pop()
        elif child.type in {"text", "code_inline"}:
            marks = (*wearing, "code") if child.type == "code_inline" else tuple(wearing)
            pieces += [(word, marks) for word in _TOKENS.findall(child.content)]
        elif child.type in {"softbreak", "hardbreak"}:
            pieces.append((" ", tuple(wearing)))
    # One space between words, none at either end, as the plain text has always had.
    squeezed: list[Token] = []
    for word, marks in pieces:
        if word.isspace():
            if squeezed and not squeezed[-1][0].isspace():
                squeezed.append((" ", marks))
        else:
            squeezed.append((word, marks))
    while squeezed and squeezed[-1][0].isspace():
        squeezed.pop()
    return tuple(squeezed)


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
    title_html = _words_diff(_plain(before.title), _plain(after.title), counter)
    parts: list[tuple[str, str]] = []
    matcher = SequenceMatcher(
        None, [b.text for b in before.blocks], [b.text for b in after.blocks], autojunk=False
    )
    changed = before.title != after.title
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for old_block, new_block in zip(before.blocks[i1:i2], after.blocks[j1:j2], strict=True):
                if old_block.tokens == new_block.tokens:
                    parts.append((new_block.kind, _formatted(new_block.tokens)))
                else:  # the same words, formatted differently
                    changed = True
                    parts.append((new_block.kind, _words_diff(old_block, new_block, counter)))
            continue
        changed = True
        olds, news = before.blocks[i1:i2], after.blocks[j1:j2]
        pairs = list(zip(olds, news, strict=False))
        parts += [(b.kind, _words_diff(a, b, counter)) for a, b in pairs]
        parts += [(b.kind, _mark("del", b.tokens, counter)) for b in olds[len(pairs) :]]
        parts += [(b.kind, _mark("ins", b.tokens, counter)) for b in news[len(pairs) :]]
    return SectionChange(
        status="changed" if changed else "unchanged",
        title_html=sanitize(title_html),
        body_html=sanitize(_render(parts)) if changed else "",
        anchor=_anchor(after.title),
    )


def _whole(section: Section, status: str, counter: _WordCounter) -> SectionChange:
    tag = "ins" if status == "added" else "del"
    parts = [(b.kind, _mark(tag, b.tokens, counter)) for b in section.blocks]
    return SectionChange(
        status=status,
        title_html=sanitize(_mark(tag, _plain(section.title).tokens, counter)),
        body_html=sanitize(_render(parts)),
        anchor=_anchor(section.title),
    )


# Words (with inner apostrophes), single punctuation marks, and runs of space, so "lists." and
# "lists" share the word and differ only in the full stop.
_TOKENS = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]|\s+")


def _plain(text: str) -> Block:
    return Block("heading", text, tuple((word, ()) for word in _TOKENS.findall(text)))


def _words_diff(old: Block, new: Block, counter: _WordCounter) -> str:
    """The new block's words with what changed marked: each run of changes is one deletion
    followed by one insertion, with the formatting (emphasis, links) of each side kept."""
    out: list[str] = []
    for before, after in _runs(list(old.tokens), list(new.tokens)):
        if before == after:
            out.append(_formatted(after))
            continue
        if before:
            out.append(_mark("del", before, counter))
        if after:
            out.append(_mark("ins", after, counter))
    return "".join(out)


def _runs(before: list[Token], after: list[Token]) -> list[tuple[list[Token], list[Token]]]:
    """(old, new) runs: equal where old == new, changed otherwise.

    A rewritten phrase must read as one deletion and one insertion, not as words interleaved
    one by one around the spaces and small words the two happen to share. So a stretch left
    equal between two replacements is folded into them when it has no more words than the
    replacements on either side of it (the semantic clean-up of diff-match-patch, counted in
    words, and only between replacements).
    """
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    runs = [
        [before[i1:i2], after[j1:j2], op == "equal"] for op, i1, i2, j1, j2 in matcher.get_opcodes()
    ]
    folded = True
    while folded:
        folded = False
        for index in range(1, len(runs) - 1):
            old, new, equal = runs[index]
            left, right = runs[index - 1], runs[index + 1]
            if not equal or left[2] or right[2]:
                continue
            # Only inside a rewrite: words replaced on both sides. A word kept next to a pure
            # insertion or deletion ("via email" -> "by email, in advance") stays unmarked.
            rewrite = all(side[0] and side[1] for side in (left, right))
            size = _length(old)
            if (
                rewrite
                and size <= max(_length(left[0]), _length(left[1]))
                and size <= max(_length(right[0]), _length(right[1]))
            ):
                runs[index - 1 : index + 2] = [
                    [left[0] + old + right[0], left[1] + new + right[1], False]
                ]
                folded = True
                break
    return [(old, new) for old, new, _ in runs]


def _length(tokens: list[Token]) -> int:
    """How many words: spaces and punctuation between changes weigh nothing."""
    return sum(1 for word, _ in tokens if word[0].isalnum() or word[0] == "_")


def _formatted(tokens) -> str:
    """Tokens as HTML, each stretch wrapped in the formatting it wears."""
    html, start = [], 0
    tokens = list(tokens)
    while start < len(tokens):
        marks = tokens[start][1]
        end = start
        while end < len(tokens) and tokens[end][1] == marks:
            end += 1
        text = escape("".join(word for word, _ in tokens[start:end]))
        for mark in reversed(marks):
            if mark.startswith("a "):
                text = f'<a href="{escape(mark[2:])}">{text}</a>'
            else:
                text = f"<{mark}>{text}</{mark}>"
        html.append(text)
        start = end
    return "".join(html)


def _mark(tag: str, tokens, counter: _WordCounter) -> str:
    words = len("".join(word for word, _ in tokens).split())
    if tag == "ins":
        counter.added += words
    else:
        counter.removed += words
    return f"<{tag}>{_formatted(tokens)}</{tag}>"


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
