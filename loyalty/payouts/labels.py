"""Chinese-first labels for payout statuses and methods, and for the evidence's check results."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "awaiting_approval": _l("Awaiting approval"),
    "approved": _l("Approved"),
    "paid": _l("Paid"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "clawed_back": _l("Clawed back"),
}
METHOD_LABELS = {
    "bank_transfer": _l("Bank transfer"),
    "wechat_pay": _l("WeChat Pay"),
    "alipay": _l("Alipay"),
    "cash": _l("Cash"),
}
CHECK_LABELS = {"match": _l("Match"), "mismatch": _l("Mismatch"), "missing": _l("Not given")}
FIELD_LABELS = {
    "referrer_name": _l("Owner name"), "referrer_phone": _l("Referrer phone"), "plate": _l("Plate"),
    "model": _l("Model"), "vin": _l("VIN"), "colour": _l("Colour"),
}
GRADE_LABELS = {"correct": _l("Correct"), "wrong": _l("Wrong"), "undecided": _l("Undecided")}


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or ""))


def method_label(method: str | None) -> str:
    return str(METHOD_LABELS.get(method or "", method or ""))


def check_label(result: str | None) -> str:
    return str(CHECK_LABELS.get(result or "", result or ""))


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def grade_label(grade: str | None) -> str:
    return str(GRADE_LABELS.get(grade or "", grade or ""))
