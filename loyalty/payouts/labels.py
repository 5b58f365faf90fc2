"""Chinese-first labels for payout statuses and methods, and for the evidence's check results."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from loyalty.web.labels import check_label, field_label, label_of  # noqa: F401  (re-exported)

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
GRADE_LABELS = {"correct": _l("Correct"), "wrong": _l("Wrong"), "undecided": _l("Undecided"),
                "unknown": _l("Did not know")}


def status_label(status: str | None) -> str:
    return label_of(STATUS_LABELS, status)


def method_label(method: str | None) -> str:
    return label_of(METHOD_LABELS, method)


def grade_label(grade: str | None) -> str:
    return label_of(GRADE_LABELS, grade)
