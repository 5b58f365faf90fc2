"""Tables as downloads and periods as instants: what every report and export shares (the money
reports, the payout export, the referral reports).

CSV is UTF-8 with a BOM and CRLF line ends, so Excel (which assumes the ANSI code
page without a BOM) shows Chinese intact. Money is written in yuan with two
decimals from integer fen, never through a float. Every cell of every export
(CSV and XLSX) passes through `spreadsheet_text`, so text people typed (a
customer's name, a payment reference) never reaches a spreadsheet as a formula.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Response, send_file, stream_with_context

from loyalty.web.money import fen_to_yuan

GROUP_TZ = "Asia/Shanghai"  # report periods are calendar days of the dealer group


def period(date_from: date | None, date_to: date | None,
           zone: str = GROUP_TZ) -> tuple[datetime | None, datetime | None]:
    """[from 00:00, the day after `to` 00:00) in the group's timezone, as aware instants."""
    tz = ZoneInfo(zone)
    start = datetime.combine(date_from, time(), tzinfo=tz) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time(), tzinfo=tz) if date_to else None
    return start, end


yuan = fen_to_yuan  # 50000 -> "500.00"


def percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


# OWASP "CSV Injection": a cell starting with one of these is run by Excel, LibreOffice and
# Google Sheets as a formula (=HYPERLINK(...) phones home, =cmd|... ran programs).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?%?$")  # -12.50 or +86 is a number, not a formula


def spreadsheet_text(value):
    """A cell value no spreadsheet will run: text starting with = + - @ tab or CR gets a leading
    apostrophe, the prefix that makes spreadsheets show the rest as text. Plain numbers and
    values that are not text are returned as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


# what an XLSX cell cannot hold (XML 1.0 forbids these control characters): openpyxl refuses them
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_cell(value):
    """A value for a worksheet cell: text as `spreadsheet_text` makes it, with the control
    characters XML cannot carry shown as U+FFFD (a label typed with one exports; never a 500)."""
    value = spreadsheet_text(value)
    return _XML_ILLEGAL.sub("\ufffd", value) if isinstance(value, str) else value


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_text(v) for v in header])
    writer.writerows(["" if v is None else spreadsheet_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def download(body: bytes, filename: str, mimetype: str) -> Response:
    """An attachment that is never cached (it holds names and money). Flask's send_file writes
    the Content-Disposition (quoting, and an RFC 5987 name if one is ever not ASCII) and the length."""
    response = send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=filename,
                         etag=False, conditional=False)
    response.headers["Content-Type"] = mimetype  # as given: Response would append a second charset
    response.headers["Cache-Control"] = "no-store"
    return response


def stream_download(chunks: Iterator[bytes], filename: str, mimetype: str) -> Response:
    """`download` for a body written as it is read (a generator): constant memory, no length.
    The generator runs inside the request's context (the session and the reader's language)."""
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


def file_download(path, filename: str, mimetype: str = "text/csv; charset=utf-8") -> Response:
    """`download` of a file on disk (a background export), read in pieces as it is sent, never
    cached. The file is opened by the body's generator and closed when it ends or is dropped (a
    client gone mid-way), never left to the garbage collector."""
    response = Response(_pieces_of(path), mimetype=mimetype)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Length"] = str(os.path.getsize(path))
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


def _pieces_of(path, size: int = 256 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as file:
        yield from _read(file, size)


def _read(file, size: int = 256 * 1024) -> Iterator[bytes]:
    with file:
        while piece := file.read(size):
            yield piece


def temp_file_download(file, filename: str, mimetype: str) -> Response:
    """`file_download` of an open temporary file (written for this request, read from its start):
    sent in pieces, closed (so removed) once sent, or when the response is closed unread."""
    response = Response(_read(file), mimetype=mimetype)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Length"] = str(os.fstat(file.fileno()).st_size)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(file.close)  # also when the body was never read
    return response


def csv_response(header: list[str], rows: list[list], filename: str) -> Response:
    return download(csv_bytes(header, rows), filename, "text/csv; charset=utf-8")
