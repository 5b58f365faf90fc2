"""The customer's points statement page (积分明细), Chinese first."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from loyalty.auth.access import allow, current_actor
from loyalty.points import service

bp = Blueprint("points_web", __name__, template_folder="templates")


def entry_kind(entry: dict) -> str:
    """What a statement line is, in the page's language."""
    subject = entry.get("subject") or ""
    if subject.startswith("redemption:"):
        return _("Redeemed")
    if subject.startswith("points_lot:"):
        return _("Expired")
    if (entry.get("reason") or "").startswith("Adjustment:"):
        return _("Adjusted")
    if entry["change"] > 0:
        return _("Earned")
    return _("Adjusted")


@bp.route("/customers/<int:customer_id>/points")
@allow("consultant", "manager", "admin")
def statement(customer_id):
    return render_template("points/statement.html", entry_kind=entry_kind,
                           **service.summary(current_actor(), customer_id))
