"""CSV downloads that open safely in a spreadsheet, streamed row by row."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


def spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula (e.g. a crafted user agent) is quoted."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write() hands the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_download(
    filename: str, header: list[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """A CSV attachment: `header`, then each row with every cell made spreadsheet-safe."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([spreadsheet_safe(value) for value in row])

    return StreamingHttpResponse(
        lines(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
