"""Chinese-first labels for referral statuses, reasons and check results."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "registered": _l("Registered"),
    "under_review": _l("Under review"),
    "awaiting_callback": _l("Awaiting callback"),
    "verified": _l("Verified"),
    "fraudulent": _l("Fraudulent"),
    "unverifiable": _l("Unverifiable"),
    "rejected": _l("Rejected"),
    "expired": _l("Expired"),
    "unwound": _l("Unwound"),
}
REASON_LABELS = {
    "late_claim": _l("Late claim: delivered before the referral was registered"),
    "licence_mismatch": _l("The licence does not match the registration"),
    "review_rejected": _l("Rejected at review"),
    "expired": _l("No delivery within the registration window"),
    "velocity": _l("Unusually many referrals from this old customer"),
    "referrer_flagged": _l("This old customer was flagged for an earlier fake referral"),
    "payout_rejected": _l("Finance rejected the payout"),
    "fraudulent": _l("The callback found the referral fake"),
    "unverifiable": _l("Neither party could be reached"),
}
CHECK_LABELS = {"match": _l("Match"), "mismatch": _l("Mismatch"), "missing": _l("Not given")}
FIELD_LABELS = {
    "referrer_name": _l("Owner name"), "referrer_phone": _l("Referrer phone"), "plate": _l("Plate"),
    "model": _l("Model"), "vin": _l("VIN"), "colour": _l("Colour"),
}


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or ""))


def reason_label(reason: str | None) -> str:
    return str(REASON_LABELS.get(reason or "", reason or ""))


def check_label(result: str) -> str:
    return str(CHECK_LABELS.get(result, result))


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))
