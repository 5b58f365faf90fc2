"""The payout export as an Excel workbook, in constant memory (issue 16).

openpyxl's write-only mode: each row goes to the worksheet's temporary file as it is appended (strings
inline, no shared-strings table held in memory), the rows read a batch at a time from the same
server-side cursor as the CSV (`export.row_batches`: the same rows, totals and ledger totals); the
workbook is zipped into an anonymous temporary file that the response then sends in pieces. Cells
pass through `xlsx_cell` (text, never a formula); money is exact Decimal yuan with a number format.
"""
from __future__ import annotations

import tempfile
from decimal import Decimal
from typing import IO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import Select

from loyalty.payouts import export
from loyalty.web.tables import xlsx_cell

MONEY_FORMAT = "#,##0.00"
WIDTHS = (8, 10, 22, 14, 12, 12, 14, 14, 14, 18, 18, 18, 12, 24)
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write(query: Select) -> IO[bytes]:
    """The workbook of the payouts `query` selects, in a temporary file (removed once closed),
    read from its start."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Payouts"))
    for letter, width in zip("ABCDEFGHIJKLMN", WIDTHS):  # before the first row, in write-only mode
        sheet.column_dimensions[letter].width = width
    sheet.append([_bold(sheet, name) for name in export.header()])
    for rows in export.row_batches(query):
        for row in rows:
            sheet.append([_cell(sheet, i, value) for i, value in enumerate(row)])
    out = tempfile.TemporaryFile(prefix="payouts-", suffix=".xlsx")
    try:
        book.save(out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def _bold(sheet, value) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=xlsx_cell(value))
    cell.font = Font(bold=True)
    return cell


def _cell(sheet, column: int, value):
    """Money (integer fen) as exact yuan, formatted; anything else as text no spreadsheet runs."""
    if column in export.MONEY_COLUMNS and isinstance(value, int):
        cell = WriteOnlyCell(sheet, value=Decimal(value).scaleb(-2))  # never a float in our code
        cell.number_format = MONEY_FORMAT
        return cell
    return xlsx_cell(value)
