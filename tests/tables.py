"""Read the rows of an HTML table as text, so a test can say which row shows what."""

import html
import re


def cell_text(cell: str) -> str:
    """What a cell shows: its text without markup, an image by its alt text."""
    cell = re.sub(r'<img [^>]*alt="([^"]*)"[^>]*>', r"\1", cell)
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def table_rows(page: str, start: str = "<table", end: str = "</table>") -> list[list[str]]:
    """The cells of each body row, as text, of the table between `start` and `end` in the page.

    No table there (a page that says "nothing yet" instead) gives no rows.
    """
    begin = page.index(start)
    fragment = page[begin : page.index(end, begin)]
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, flags=re.S)
    return [
        [cell_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1) if body else "", flags=re.S)
    ]


def changelist_rows(page: str) -> list[dict[str, str]]:
    """The rows of an admin changelist, each mapping a column's field name to its text."""
    table = page[page.index('<table id="result_list">') :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return [
        {
            name: cell_text(cell)
            for name, cell in re.findall(
                r'<t[hd] class="field-(\w+)[^"]*">(.*?)</t[hd]>', row, flags=re.S
            )
        }
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def readonly_fields(page: str) -> dict[str, str]:
    """What an admin change page shows in each read-only field, by field name."""
    shown = {}
    for chunk in page.split('<div class="form-row field-')[1:]:
        name = re.match(r"\w+", chunk).group()
        value = re.search(r'<div class="readonly">(.*?)</div>', chunk, flags=re.S)
        if value:
            shown[name] = cell_text(value.group(1))
    return shown
