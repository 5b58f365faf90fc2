"""Chinese-first labels for payout statuses and payment methods."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from loyalty.web.labels import label_of

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


EXPORT_LABELS = {
    "queued": _l("Export queued"),
    "running": _l("Exporting"),
    "done": _l("Ready to download"),
    "failed": _l("Export failed"),
    "expired": _l("File expired"),
}


def export_label(status: str | None) -> str:
    return label_of(EXPORT_LABELS, status)


def status_label(status: str | None) -> str:
    return label_of(STATUS_LABELS, status)


def method_label(method: str | None) -> str:
    return label_of(METHOD_LABELS, method)


def status_tone(status: str | None) -> str:
    """The tag's colour: approved and paid payouts are on their way ("ok")."""
    return "ok" if status in ("approved", "paid") else "off"
