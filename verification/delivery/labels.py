"""Chinese-first labels of the delivery pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from loyalty.web.labels import label_of

OUTCOME_LABELS = {
    "passed": _l("All fields match: the reward is reserved and the callback planned"),
    "licence_mismatch": _l("The licence does not match the registration"),
    "late_claim": _l("Late claim: delivered before the referral was registered"),
    "unreadable": _l("The model cannot be compared yet"),
}
NOTE_LABELS = {
    "brand_differs": _l("The licence names another brand"),
    "code_only": _l("Only a model code: add the common name"),
}
SOURCE_LABELS = {
    "check": _l("Delivery check"),
    "api": _l("Recorded by hand"),
    "dms": _l("Sales system import"),
}
IMPORT_LABELS = {
    "created": _l("Created"),
    "on_record": _l("Already on record"),
    "error": _l("Error"),
}
SIDE_LABELS = {"claim": _l("Claim"), "licence": _l("Licence"), "record": _l("On record")}
COLUMN_LABELS = {
    "store": _l("Store"), "customer_name": _l("Customer name"), "phone": _l("Phone"),
    "delivered_at": _l("Delivered at"), "model": _l("Model"), "colour": _l("Colour"),
    "transmission": _l("Transmission"), "plate": _l("Plate"), "vin": _l("VIN"), "file": _l("File"),
}


def outcome_label(outcome: str | None) -> str:
    return label_of(OUTCOME_LABELS, outcome)


def note_label(note: str | None) -> str:
    return label_of(NOTE_LABELS, note)


def source_label(source: str | None) -> str:
    return label_of(SOURCE_LABELS, source)


def import_label(outcome: str | None) -> str:
    return label_of(IMPORT_LABELS, outcome)


def column_label(column: str | None) -> str:
    return label_of(COLUMN_LABELS, column)


def side_label(side: str | None) -> str:
    return label_of(SIDE_LABELS, side)
