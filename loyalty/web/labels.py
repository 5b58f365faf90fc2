"""Human labels for machine values, translatable (roles, statuses)."""
from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l


def N_(message: str) -> str:
    """Marks a message id for extraction (babel.cfg keywords); it is translated where it is shown."""
    return message


ROLE_LABELS = {
    "consultant": _l("Sales consultant"),
    "manager": _l("Manager"),
    "agent": _l("Callback agent"),
    "finance": _l("Finance"),
    "service": _l("Service advisor"),
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
    "service": _l("Find the customer at the service desk, record the service visit that earns points, "
                  "and redeem points for items of the catalog."),
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


# The delivery check's fields and results: shown on referral pages and, as message ids handed to
# payouts in its evidence rows, on the finance page (which translates them when it shows them).
CHECK_LABELS = {"match": N_("Match"), "mismatch": N_("Mismatch"), "missing": N_("Not given")}
FIELD_LABELS = {
    "referrer_name": N_("Owner name"), "referrer_phone": N_("Referrer phone"), "plate": N_("Plate"),
    "model": N_("Model"), "vin": N_("VIN"), "colour": N_("Colour"),
}


def label_of(table: dict, key: str | None) -> str:
    """The translated label of a machine value, or the value itself when it has none."""
    label = table.get(key or "")
    if label is None:
        return key or ""
    return gettext(label) if isinstance(label, str) else str(label)  # a message id, or a lazy string


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
# The question bank form's fields, as the page and its error messages name them.
QUESTION_FIELDS = {"code": _l("Code"), "kind": _l("Kind"), "fact": _l("Fact"), "text_zh": _l("Chinese text"),
                   "text_en": _l("English text")}
