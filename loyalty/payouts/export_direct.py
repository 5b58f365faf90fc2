"""The one door of a direct payout export (issue 16): the page's and the API's CSV and XLSX alike.

Without from/to, the last export.DEFAULT_DAYS days. Above the direct bound
(`settings.export_direct_max_rows`, export_jobs.is_large) a CSV becomes a background export (queued
and answered at once) and an XLSX is refused with a 409 `export_too_large` (background exports are
CSV only): nothing is written. Below it the download is audited (who, the format, the filters as
applied) in the request's transaction, which the request's end commits with the 200 (a refused or
failed one rolls back: loyalty/unit_of_work.py), and its body is made in constant memory: the CSV's
pieces (a generator the response reads after the view returned) or the XLSX's temporary file.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from loyalty.audit import service as audit
from loyalty.errors import Conflict
from loyalty.payouts import export, export_jobs, export_xlsx, service
from loyalty.payouts.models import PayoutExport

FORMATS = ("csv", "xlsx")
TOO_LARGE = "Too many rows for an Excel download: choose a shorter period, or export CSV in the background."


@dataclass(frozen=True)
class Direct:
    """What a direct export answers: one of the three."""
    pieces: Iterator[bytes] | None = None  # the CSV, written as it is sent
    file: IO[bytes] | None = None          # the XLSX, written to a temporary file
    queued: PayoutExport | None = None     # too many rows: the background export asked for instead


def direct_export(actor, fmt: str, *, locale: str = "zh_CN", **filters) -> Direct:
    """The payouts `actor` may see matching `filters` (status, store_id, date_from, date_to) as
    `fmt` ("csv" or "xlsx"), through the one door described above."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    applied = export.default_period(filters)
    if export_jobs.is_large(actor, **applied):
        if fmt != "csv":
            raise Conflict(TOO_LARGE, code="export_too_large")
        return Direct(queued=export_jobs.request_export(actor, locale=locale, **filters))
    query = service.payouts_query(actor, **applied)
    recent = filters.get("date_from") is None and filters.get("date_to") is None
    audit.record(actor, "payout_export", "direct", "downloaded", None,
                 {"format": fmt, "filters": _iso(applied), "default_period": recent})
    if fmt == "csv":
        return Direct(pieces=export.csv_pieces(query))
    return Direct(file=export_xlsx.write(query))


def _iso(filters: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items() if v is not None}
