"""Human labels for machine values, translatable (roles, statuses)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "consultant": _l("Sales consultant"),
    "manager": _l("Manager"),
    "agent": _l("Callback agent"),
    "finance": _l("Finance"),
    "admin": _l("Administrator"),
}

ROLE_PURPOSES = {
    "consultant": _l("Register a referral as soon as a new customer names the old customer who sent them, "
                     "before the sale, and follow your referrals here."),
    "manager": _l("Acknowledge new registrations as duty manager, check deliveries against the referrer's "
                  "vehicle licence, settle reviews, and read the reports."),
    "agent": _l("Take the next due callback, read the script to the customer, and record the answers. "
                "The service grades them."),
    "finance": _l("Approve, reject and pay verified referral rewards, and export payouts."),
    "admin": _l("Manage stores and their policies, staff accounts and the callback question bank."),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def role_purpose(role: str) -> str:
    return str(ROLE_PURPOSES.get(role, ""))

ACCOUNT_LABELS = {
    "reward_payable": _l("Referral rewards payable"),
    "reward_receivable": _l("Rewards to pay back (clawed back)"),
    "points": _l("Loyalty points"),
    "points_reserved": _l("Points reserved for a referral"),
}


def account_label(purpose: str) -> str:
    return str(ACCOUNT_LABELS.get(purpose, purpose))


# The delivery check's fields and results: shown on referral pages and in payout evidence.
CHECK_LABELS = {"match": _l("Match"), "mismatch": _l("Mismatch"), "missing": _l("Not given")}
FIELD_LABELS = {
    "referrer_name": _l("Owner name"), "referrer_phone": _l("Referrer phone"), "plate": _l("Plate"),
    "model": _l("Model"), "vin": _l("VIN"), "colour": _l("Colour"),
}


def label_of(table: dict, key: str | None) -> str:
    """The translated label of a machine value, or the value itself when it has none."""
    return str(table.get(key or "", key or ""))


def check_label(result: str | None) -> str:
    return label_of(CHECK_LABELS, result)


def field_label(name: str | None) -> str:
    return label_of(FIELD_LABELS, name)


# The facts a callback question asks about, and the kinds of question in the bank.
FACT_LABELS = {
    "employer": _l("Employer"), "home_district": _l("Home district"), "business": _l("Business"),
    "occupation": _l("Occupation"), "model": _l("Model"), "colour": _l("Colour"),
    "transmission": _l("Transmission"), "car": _l("Car (colour and model)"), "vehicle": _l("Vehicle"),
}
DESK_LABELS = {"sales": _l("Sales"), "service": _l("Service desk"), "import": _l("Import"),
               "admin": _l("Admin correction")}


def fact_label(fact: str | None) -> str:
    return label_of(FACT_LABELS, fact)


def desk_label(desk: str | None) -> str:
    return label_of(DESK_LABELS, desk)


QUESTION_KIND_LABELS = {"open": _l("Open question"), "statement": _l("Yes/no statement")}
