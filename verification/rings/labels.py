"""The reasons a manager reads for each ring signal (Chinese first, translatable), with their evidence.

A reason names people by name and gives counts; it never shows a verification fact's value (SEC-5)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from loyalty.directory.models import Staff
from loyalty.extensions import db

KIND_LABELS = {
    "concentration": _l("Few old customers"),
    "spread": _l("Spread over consultants or stores"),
    "cycle": _l("Referring each other"),
    "staff_customer": _l("Staff member as customer"),
    "shared": _l("New customers sharing an identity"),
    "fact_edit": _l("Facts recorded just before"),
    "staff_pair": _l("Same pair of staff"),
    "history": _l("Earlier fakes"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, _("Other signal")))


def _staff(staff_id) -> str:
    member = db.session.get(Staff, staff_id) if staff_id else None
    return member.display_name if member else _("a staff member")


def reason(signal) -> str:
    """One signal's reason, with its evidence, in the reader's language."""
    d = signal.detail
    kind = signal.kind
    if kind == "concentration":
        return _("%(count)s of the %(of)s referrals %(consultant)s registered in %(days)s days name this old "
                 "customer, who made %(total)s in that time.", count=d["count"], of=d["of"],
                 consultant=_staff(d["consultant_id"]), days=d["days"], total=d.get("referrer_total", d["count"]))
    if kind == "spread":
        return _("In %(days)s days this old customer's referrals went to %(consultants)s consultants in "
                 "%(stores)s stores.", days=d["days"], consultants=d["consultants"], stores=d["stores"])
    if kind == "cycle":
        return _("The new customer leads back to this old customer through referrals: a loop of %(n)s people.",
                 n=d["length"])
    if kind == "staff_customer":
        party = _("The old customer") if d["party"] == "referrer" else _("The new customer")
        by = _("phone number") if d["by"] == "phone" else _("national ID number")
        return _("%(party)s has the %(by)s of staff member %(staff)s.", party=party, by=by, staff=_staff(d["staff_id"]))
    if kind == "shared":
        names = {"national_id": _("national ID number"), "employer_district": _("employer and home district"),
                 "home_district": _("home address (district, all within %(days)s days)", days=d.get("days", ""))}
        what = "、".join(str(names[w]) for w in d["what"])
        return _("%(count)s new customers of this old customer share the same %(what)s.", count=d["count"], what=what)
    if kind == "fact_edit":
        return _("%(consultant)s recorded %(count)s verification facts of the old customer within %(days)s days "
                 "before registering.", consultant=_staff(d["consultant_id"]), count=d["count"], days=d["days"])
    if kind == "staff_pair":
        return _("%(manager)s made %(count)s of the %(of)s acknowledgements and delivery checks of the referrals "
                 "of %(consultant)s; the store has %(managers)s managers.", manager=_staff(d["manager_id"]),
                 count=d["count"], of=d["of"], consultant=_staff(d["consultant_id"]), managers=d["managers"])
    parts = []
    if d.get("referrer_count"):
        parts.append(_("The old customer has %(n)s earlier fake or rejected referrals.", n=d["referrer_count"]))
    if d.get("consultant_count"):
        parts.append(_("%(consultant)s has %(n)s fake or rejected referrals in the window.",
                       consultant=_staff(d["consultant_id"]), n=d["consultant_count"]))
    return " ".join(parts)
