"""Deliveries from the dealer's sales system (DMS): its CSV export, one delivery per row (REG-7).

What the export may look like, because Excel in China saves it so:
- text in UTF-8 (with or without BOM), GB18030/GBK, or UTF-16 with BOM ("Unicode text");
- columns separated by commas or tabs, headers in Chinese or English (see COLUMNS);
- numbers kept as text the Excel way (`="13900139000"`, `'13900139000`);
- a delivery time, or only the day (the check then asks the manager for the time).

Each row is recorded on its own (a savepoint): a bad row is reported with its reasons and
never stops, undoes or 500s the others. Rows are idempotent by VIN: a VIN on record with the
same facts is `on_record`; with other facts it is an error naming what differs, and the
delivery on record is not changed.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from loyalty.audit import service as audit
from loyalty.auth import access
from loyalty.directory.models import Store
from loyalty.errors import DomainError, Forbidden, NotFound, ValidationFailed
from loyalty.extensions import db
from loyalty.scoping import in_stores
from verification import vocabulary as v
from verification.delivery import records
from verification.delivery.models import FROM_DMS

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
_HEADER_SEARCH = 10  # rows to look through for the header

# column -> header spellings (folded: case, width, spaces and punctuation do not matter)
COLUMNS: dict[str, tuple[str, ...]] = {
    "store": ("门店", "门店代码", "门店编码", "销售门店", "经销商代码", "store", "store_code"),
    "customer_name": ("客户姓名", "客户名称", "客户", "姓名", "车主", "车主姓名", "购车人", "customer",
                      "customer_name", "name"),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "客户电话", "phone", "mobile", "customer_phone"),
    "delivered_at": ("交车时间", "交车日期", "交付时间", "交付日期", "交车日期时间", "delivered_at", "delivery_date",
                     "delivery_time", "delivered"),
    "model": ("车型", "车型名称", "车系", "model"),
    "colour": ("颜色", "车身颜色", "外观颜色", "车色", "colour", "color"),
    "transmission": ("变速箱", "变速器", "变速箱类型", "挡位", "transmission", "gearbox"),
    "plate": ("车牌", "车牌号", "车牌号码", "plate", "plate_number"),
    "vin": ("vin", "vin码", "车架号", "车辆识别代号", "车辆识别号", "车辆识别码", "底盘号"),
}
REQUIRED = ("customer_name", "phone", "delivered_at", "model", "colour", "vin")
_HEADER_INDEX = {v.fold(spelling): column for column, spellings in COLUMNS.items() for spelling in spellings}
# where a row's error is shown: the service's field name -> the column
_FIELD_COLUMNS = {"vehicle.vin": "vin", "vehicle.model": "model", "vehicle.colour": "colour",
                  "vehicle.transmission": "transmission", "vehicle.plate": "plate", "vin": "vin",
                  "customer.phone": "phone", "phone": "phone", "customer.name": "customer_name",
                  "customer": "customer_name", "name": "customer_name", "store_id": "store",
                  "delivered_at": "delivered_at", "transmission": "transmission"}
_LIMITS = {"customer_name": 60, "model": 60, "colour": 30, "plate": 16}
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
_TIME_FORMATS = tuple(f"{day}{sep}{clock}" for day in _DAY_FORMATS[:4] for sep in (" ", "T", "")
                      for clock in ("%H:%M:%S", "%H:%M"))
_AUTOMATIC_WORDS, _AUTOMATIC_CODES = ("自动", "手自一体", "双离合"), {"at", "dsg", "cvt", "dct"}
_MANUAL_WORDS, _MANUAL_CODES = ("手动",), {"mt"}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


@dataclass
class RowResult:
    line: int
    outcome: str                       # created | on_record | error
    vin: str | None = None
    customer: str | None = None
    delivery_id: int | None = None
    code: str | None = None
    message: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    rows: list[RowResult]
    sha256: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def on_record(self) -> int:
        return self.count("on_record")

    @property
    def errors(self) -> int:
        return self.count("error")


# ---- reading the file -----------------------------------------------------------------------

def _file_error(message: str, *details: str) -> ValidationFailed:
    return ValidationFailed(N_("The file cannot be imported."), code="invalid_file",
                            fields={"file": [message, *details]})


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _file_error(N_("The file is not UTF-8 or GB18030 (GBK) text.")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _file_error(N_("The file is not UTF-8 or GB18030 (GBK) text.")) from None


def _cell(text: str | None) -> str:
    """One cell as people meant it: NFKC, trimmed, Excel's text markers (="..." or a leading ') removed."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if len(text) >= 3 and text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text.lstrip("'").strip()


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for each non-empty row; refuses a file it cannot read as a whole."""
    if not data:
        raise _file_error(N_("Choose a CSV file."))
    if len(data) > MAX_BYTES:
        raise _file_error(N_("The file is larger than 5 MB; split it."))
    text = decode(data)
    sample = "\n".join(text.splitlines()[:_HEADER_SEARCH])
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = _find_header(reader)
        rows = []
        for cells in reader:
            if not any(_cell(c) for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise _file_error(N_("At most 5000 rows per file; split it."))
            values = {}
            for column, cell in zip(columns, cells):
                if column and column not in values:
                    values[column] = _cell(cell)
            rows.append((reader.line_num, values))
    except csv.Error:
        raise _file_error(N_("The file is not a readable CSV file.")) from None
    if not rows:
        raise _file_error(N_("The file has no rows."))
    return rows


def _find_header(reader) -> list[str | None]:
    """The columns of the header row: the first of the first few rows that names every required
    column (an export may start with a title such as 交车明细表 2026年11月)."""
    best: list[str | None] | None = None
    for cells in itertools.islice(reader, _HEADER_SEARCH):
        columns = [_HEADER_INDEX.get(v.fold(_cell(h))) for h in cells]
        if all(c in columns for c in REQUIRED):
            return columns
        if any(columns) and (best is None or sum(map(bool, columns)) > sum(map(bool, best))):
            best = columns
    if best is None:
        raise _file_error(N_("The file has no header row."))
    missing = [c for c in REQUIRED if c not in best]
    raise _file_error(N_("The file lacks required columns:"), ", ".join(f"{COLUMNS[c][0]} ({c})" for c in missing))


def parse_time(text: str, zone: str) -> tuple[datetime, bool]:
    """(instant, time_known): '2026-11-04 10:30' in the store's zone, an ISO time with offset as
    written, '2026/11/4' as the local midnight of that day with time_known False."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()
    if not text:
        raise ValueError("empty")
    tz = ZoneInfo(zone)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in (_TIME_FORMATS if _HAS_TIME.search(text) else _DAY_FORMATS):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            raise ValueError(text) from None
    if not _HAS_TIME.search(text):
        return datetime.combine(parsed.date(), time(0), tzinfo=tz), False
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)), True


def transmission_of(value: str, model: str) -> str | None:
    """automatic | manual from the column, else from words in the model ('速腾 1.4T 自动舒适型')."""
    if value:
        canon = v.canon_transmission(value)
        return canon if canon in ("automatic", "manual") else None
    text = unicodedata.normalize("NFKC", model or "").lower()
    words = set(re.findall(r"[a-z]+", text))
    automatic = any(w in text for w in _AUTOMATIC_WORDS) or bool(words & _AUTOMATIC_CODES)
    manual = any(w in text for w in _MANUAL_WORDS) or bool(words & _MANUAL_CODES)
    if automatic != manual:
        return "automatic" if automatic else "manual"
    return None


# ---- importing ------------------------------------------------------------------------------

def _stores(actor) -> dict[str, Store]:
    query = in_stores(select(Store), actor, Store.id)
    return {v.fold(s.code).upper(): s for s in db.session.execute(query).unique().scalars()}


def _row_values(values: dict[str, str], store: Store | None) -> tuple[dict, dict[str, list[str]]]:
    """The row as recorded, or the errors per column; nothing written."""
    errors: dict[str, list[str]] = {}
    for column in REQUIRED:
        if not values.get(column):
            errors.setdefault(column, []).append(N_("Required."))
    for column, limit in _LIMITS.items():
        if len(values.get(column) or "") > limit:
            errors.setdefault(column, []).append(N_("Too long."))
    vin = v.canon_vin(values.get("vin"))
    if vin and not _VIN.match(vin):
        errors.setdefault("vin", []).append(N_("A VIN has 17 letters and digits (no I, O or Q)."))
    transmission = transmission_of(values.get("transmission") or "", values.get("model") or "")
    if transmission is None:
        errors.setdefault("transmission", []).append(N_("Automatic or manual (自动/手动)."))
    delivered_at, time_known = None, True
    if values.get("delivered_at") and store is not None:
        try:
            delivered_at, time_known = parse_time(values["delivered_at"], store.timezone)
        except ValueError:
            errors.setdefault("delivered_at", []).append(N_("Not a date and time (e.g. 2026-11-04 10:30)."))
    row = {"name": values.get("customer_name"), "phone": values.get("phone"), "delivered_at": delivered_at,
           "time_known": time_known, "vehicle": {"model": values.get("model"), "colour": values.get("colour"),
                                                 "transmission": transmission, "plate": values.get("plate") or None,
                                                 "vin": vin}}
    return row, errors


def _error(result: RowResult, code: str, message: str, fields: dict[str, list[str]]) -> RowResult:
    result.outcome, result.code, result.message = "error", code, message
    mapped: dict[str, list[str]] = {}
    for name, messages in fields.items():
        mapped.setdefault(_FIELD_COLUMNS.get(name, name), []).extend(messages)
    result.fields = mapped
    return result


def _import_row(actor, line: int, values: dict[str, str], stores: dict[str, Store],
                default: Store | None) -> RowResult:
    result = RowResult(line=line, outcome="error", vin=v.canon_vin(values.get("vin")) or None,
                       customer=values.get("customer_name") or None)
    store = default
    if values.get("store"):
        store = stores.get(v.fold(values["store"]).upper())
        if store is None:
            return _error(result, "store_not_found", N_("This row has errors; nothing was recorded."),
                          {"store": [N_("No such store.")]})
    if store is None:
        return _error(result, "store_required", N_("This row has errors; nothing was recorded."),
                      {"store": [N_("Choose the store these deliveries belong to.")]})
    row, errors = _row_values(values, store)
    if errors:
        return _error(result, "invalid_row", N_("This row has errors; nothing was recorded."), errors)
    try:
        with db.session.begin_nested():
            customer = records.customer_for(actor, store_id=store.id, name=row["name"], phone=row["phone"])
            delivery, created = records.record_delivery(
                actor, store_id=store.id, customer=customer, delivered_at=row["delivered_at"],
                time_known=row["time_known"], vehicle=row["vehicle"], source=FROM_DMS)
    except DomainError as problem:
        return _error(result, problem.code, problem.message, problem.fields)
    except (IntegrityError, DataError):
        # another import recorded this VIN or phone at the same moment: read it again
        _vehicle, on_record = records.by_vin(row["vehicle"]["vin"])
        if on_record is None:
            return _error(result, "conflict", N_("The request conflicts with the current state."), {})
        result.outcome, result.delivery_id = "on_record", on_record.id
        return result
    result.outcome, result.delivery_id = ("created" if created else "on_record"), delivery.id
    return result


def import_deliveries(actor, *, data: bytes, filename: str | None = None,
                      store_id: int | None = None) -> ImportReport:
    """Record each row of a DMS export; one result per row (created, on_record or error)."""
    if actor is None or actor.role not in records.RECORDERS:
        raise Forbidden(code="role_forbidden")
    default = None
    store_id = store_id or actor.store_id
    if store_id is not None:
        default = db.session.get(Store, store_id)
        if default is None:
            raise ValidationFailed(fields={"store_id": [N_("No such store.")]})
        try:
            access.ensure_store(actor, store_id)
        except NotFound:
            raise ValidationFailed(fields={"store_id": [N_("No such store.")]}) from None
    rows = read_rows(data)
    stores = _stores(actor)
    report = ImportReport(rows=[_import_row(actor, line, values, stores, default) for line, values in rows],
                          sha256=hashlib.sha256(data).hexdigest())
    audit.record(actor, "delivery_import", report.sha256[:16], "imported", None, {
        "filename": (filename or "")[:200], "sha256": report.sha256, "rows": len(report.rows),
        "created": report.created, "on_record": report.on_record, "errors": report.errors,
        "error_lines": [r.line for r in report.rows if r.outcome == "error"][:200]})
    return report
