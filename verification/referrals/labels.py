"""Chinese-first labels for referral statuses, reasons and check results."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from loyalty.web.labels import CHECK_LABELS, field_label, label_of  # noqa: F401  (re-exported)

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
    "ring_risk": _l("Held for a manager's review"),
    "fraudulent": _l("The callback found the referral fake"),
    "unverifiable": _l("Neither party could be reached"),
}


def status_label(status: str | None) -> str:
    return label_of(STATUS_LABELS, status)


def reason_label(reason: str | None) -> str:
    return label_of(REASON_LABELS, reason)




# The delivery check's results, with the one only a check can give: a model it cannot read.
RESULT_LABELS = {**CHECK_LABELS, "unreadable": _l("Cannot be compared")}


def check_label(result: str | None) -> str:
    return label_of(RESULT_LABELS, result)
