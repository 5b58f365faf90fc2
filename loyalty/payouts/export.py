"""The payout export (发放明细导出): its rows and footer, and the CSV for Excel (UTF-8 with BOM);
the XLSX is export_xlsx.py's, the one door of a direct export export_direct.py's.

Below the rows come the totals of the rows and the same totals read from the
ledger (the reward each payout's subject posted, the cash and the offsets the
payouts moved), so a reader sees at once that the file reconciles with the books.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, String, case, cast, func, literal, select
from sqlalchemy.orm import defer

from loyalty import clock
from loyalty.directory.models import Staff
from loyalty.extensions import db
from loyalty.ledger.accounts import parse_owner
from loyalty.ledger.models import Transfer
from loyalty.payouts import labels
from loyalty.payouts.models import Payout
from loyalty.web.tables import spreadsheet_text, yuan


@dataclass
class Totals:
    count: int = 0
    gross: int = 0
    offset: int = 0
    net: int = 0
    paid: int = 0  # net of the paid ones


@dataclass
class LedgerTotals:
    """What the ledger holds for the exported payouts (fen)."""
    reward_posted: int = 0  # the post transfers of their subjects (the rewards)
    paid_out: int = 0       # payable -> cash clearing
    offset: int = 0         # payable -> receivable
    reversed: int = 0       # rejected or cancelled: payable -> expense
    clawed_back: int = 0    # receivable raised after payment


def _add(t: Totals, p: Payout) -> None:
    t.count += 1
    t.gross += p.gross_amount
    t.offset += p.offset_amount
    t.net += p.amount
    if p.paid_at is not None:
        t.paid += p.amount


SUFFIXES = {"paid": "paid_out", "offset": "offset", "reverse": "reversed", "clawback": "clawed_back"}


def _ledger_totals_of(query: Select | None) -> LedgerTotals:
    """The ledger's totals for the payouts `query` selects, summed by the database through the
    transfers' subject index: the reward's post (subject referral:N) and the payout's own moves
    (subject payout:N, key payout:N:paid|offset|reverse|clawback). No list of keys in Python."""
    totals = LedgerTotals()
    if query is None:
        return totals
    chosen = query.with_only_columns(Payout.id, Payout.subject).order_by(None).subquery()
    totals.reward_posted = int(db.session.execute(select(func.coalesce(func.sum(Transfer.amount), 0)).where(
        Transfer.kind == "post", Transfer.subject.in_(select(chosen.c.subject)))).scalar_one())
    own = select(literal("payout:") + cast(chosen.c.id, String))
    # summed by the database per key suffix: one row back however many payouts (fetching every
    # transfer's key and amount cost the export 40 MB at 450k payouts, issue 16)
    sums = [func.coalesce(func.sum(case((Transfer.key.like(f"%:{suffix}"), Transfer.amount), else_=0)), 0)
            for suffix in SUFFIXES]
    row = db.session.execute(select(*sums).where(Transfer.subject.in_(own))).one()
    for attr, amount in zip(SUFFIXES.values(), row):
        setattr(totals, attr, int(amount))
    return totals


def _names(payouts: list[Payout]) -> dict[int, str]:
    ids = {a.approver_id for p in payouts for a in p.approvals} | {p.paid_by_id for p in payouts if p.paid_by_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(ids))).all())


def header() -> list[str]:
    return [_("Payout"), _("Referral"), _("Store"), _("Payee customer no."), _("Payee name"), _("Status"),
            _("Reward (yuan)"), _("Offset (yuan)"), _("To pay (yuan)"), _("Requested at"), _("Approved by"),
            _("Paid at"), _("Payment method"), _("External reference")]


def _local(instant, zone: str) -> str:
    from zoneinfo import ZoneInfo
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if instant else ""


def _payee_number(payee: str) -> int | str:
    """The payee's customer number (7 of "customer:7"), never the ledger's owner string."""
    kind, ident = parse_owner(payee)
    return ident if kind == "customer" else ""


def _row(p: Payout, names: dict[int, str]) -> list:
    zone = p.store.timezone
    return [p.id, p.reference or "", f"{p.store.code} {p.store.name}", _payee_number(p.payee),
            p.payee_name or "", labels.status_label(p.status),
            p.gross_amount, p.offset_amount, p.amount, _local(p.requested_at, zone),
            "、".join(names.get(a.approver_id, str(a.approver_id)) for a in p.approvals),
            _local(p.paid_at, zone), labels.method_label(p.method) if p.method else "", p.external_reference or ""]


MONEY_COLUMNS = (6, 7, 8)


def _footer(t: Totals, led: LedgerTotals) -> list[list]:
    """Total of the rows; of them, what was paid; and the same figures read from the ledger:
    the rewards posted equal the total reward, the ledger's paid out equals the paid amount."""
    total = [_("Total"), "", "", "", "", _("%(count)s payouts", count=t.count), t.gross, t.offset, t.net]
    paid = [_("Paid"), "", "", "", "", "", "", "", t.paid]
    books = [_("Ledger"), "", "", "", "", _("Rewards posted / offsets / paid out"), led.reward_posted,
             led.offset, led.paid_out]
    return [total, paid, books]


BATCH = 500
DEFAULT_DAYS = 90  # an export without a period covers the last 90 days (issue 16)


def _csv_text(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        ["" if v is None else spreadsheet_text(v) for v in row] for row in rows)
    return out.getvalue()


def _in_yuan(row: list) -> list:
    for i in MONEY_COLUMNS:
        if i < len(row) and isinstance(row[i], int):
            row[i] = yuan(row[i])
    return row


def default_period(filters: dict) -> dict:
    """Without a period, the last DEFAULT_DAYS days (issue 16)."""
    if filters.get("date_from") is None and filters.get("date_to") is None:
        return {**filters, "date_from": clock.now() - timedelta(days=DEFAULT_DAYS)}
    return filters


def lean(query: Select) -> Select:
    """The evidence snapshots are the payouts' bulk and no column of the file: left in the database."""
    return query.options(defer(Payout.evidence), defer(Payout.evidence_rows), defer(Payout.blocked_approver_ids))


def _cursor_batches(query: Select) -> Iterator[list[Payout]]:
    result = db.session.execute(lean(query).execution_options(yield_per=BATCH))
    with result:
        yield from result.scalars().partitions()


def row_batches(query: Select, batches: Iterable[list[Payout]] | None = None) -> Iterator[list[list]]:
    """The file's rows (money in fen) of the payouts `query` selects, a batch at a time (`batches`,
    else a server-side cursor over `query`), the totals added up on the way; then a blank row and
    the footer, with the ledger's totals summed by the database. What every payout export writes:
    the CSV (`csv_pieces`) and the XLSX (export_xlsx.py), direct or in the background."""
    totals = Totals()
    for batch in _cursor_batches(query) if batches is None else batches:
        names = _names(batch)
        for p in batch:
            _add(totals, p)
        yield [_row(p, names) for p in batch]
    yield [[]] + _footer(totals, _ledger_totals_of(query))


def csv_pieces(query: Select, batches: Iterable[list[Payout]] | None = None) -> Iterator[bytes]:
    """The CSV file of `row_batches` in pieces (constant memory); the background export
    (export_files.py) hands its own keyset batches, so both doors write the same bytes."""
    yield ("\ufeff" + _csv_text([header()])).encode()
    for rows in row_batches(query, batches):
        yield _csv_text([_in_yuan(row) for row in rows]).encode()
