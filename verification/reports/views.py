"""The managers' report pages: fraud / rejection / verification rates with penalties, and
callback timeliness. SVG charts rendered here, a CSV download beside each."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.reports.charts import PALETTE, bar_chart
from loyalty.schemas import parse_day
from loyalty.web.tables import csv_response, percent, period, yuan
from verification.reports import service

bp = Blueprint("referral_reports_web", __name__, template_folder="templates")

READERS = ("manager", "finance", "admin")


def _day(name: str) -> date | None:
    """Empty is no bound; a bad or out-of-range day is a 422 naming the field (SEC-4)."""
    return parse_day(request.args.get(name), name)


def _args() -> dict:
    by = request.args.get("by", "store")
    start, end = period(_day("from"), _day("to"))
    return {"by": by if by in service.GROUPINGS else "store", "start": start, "end": end}


def fraud_csv(rows: list[dict], by: str):
    header = [_("Consultant") if by == "consultant" else _("Store"), _("Store code"), _("Registered"), _("Open"),
              _("Decided"), _("Verified"), _("Fraudulent"), _("Rejected"), _("Unverifiable"), _("Expired"),
              _("Unwound"), _("Verification rate"), _("Fraud rate"), _("Rejection rate"), _("Rejections reopened"),
              _("Facts changed while live"), _("Held for a manager"), _("Penalties (yuan)")]
    body = [[r["label"], r["store_code"], r["registered"], r["open"], r["decided"], r["verified"], r["fraudulent"],
             r["rejected"], r["unverifiable"], r["expired"], r["unwound"], percent(r["verification_rate"]),
             percent(r["fraud_rate"]), percent(r["rejection_rate"]), r["reopened"], r["fact_changes"], r["held"],
             yuan(r["penalties"])]
            for r in rows]
    return csv_response(header, body, f"fraud-by-{by}.csv")


def timeliness_csv(rows: list[dict]):
    header = [_("Store"), _("Decided"), _("Mean hours to verdict"), _("Median hours to verdict"),
              _("Longest hours to verdict"), _("Calls made"), _("Calls per referral"), _("Decided on the first call")]
    body = [[r["label"], r["decided"], r["mean_hours"], r["median_hours"], r["max_hours"], r["attempts"],
             r["mean_attempts"], percent(r["first_call_share"])] for r in rows]
    return csv_response(header, body, "callback-timeliness.csv")


@bp.route("/reports")
@bp.route("/reports/fraud")
@allow(*READERS)
def fraud():
    a = _args()
    rows = service.fraud_rates(g.actor, by=a["by"], start=a["start"], end=a["end"])
    names = [r["label"] for r in rows]
    charts = [
        bar_chart(list(zip(names, [r["verification_rate"] for r in rows])), title=_("Verification rate"),
                  maximum=1, label=percent, colour=PALETTE[2], test_id="chart-verification"),
        bar_chart(list(zip(names, [r["fraud_rate"] for r in rows])), title=_("Fraud rate"),
                  maximum=1, label=percent, colour=PALETTE[1], test_id="chart-fraud"),
        bar_chart(list(zip(names, [r["rejection_rate"] for r in rows])), title=_("Rejection rate"),
                  maximum=1, label=percent, colour=PALETTE[3], test_id="chart-rejection"),
    ]
    return render_template("reports/fraud.html", rows=rows, charts=charts, by=a["by"], args=request.args,
                           percent=percent)


@bp.route("/reports/fraud.csv")
@allow(*READERS)
def fraud_download():
    a = _args()
    return fraud_csv(service.fraud_rates(g.actor, by=a["by"], start=a["start"], end=a["end"]), a["by"])


@bp.route("/reports/timeliness")
@allow(*READERS)
def timeliness():
    a = _args()
    rows = service.timeliness(g.actor, start=a["start"], end=a["end"])
    charts = [
        bar_chart([(r["label"], r["median_hours"]) for r in rows], title=_("Median hours from delivery to verdict"),
                  label=lambda h: _("%(h)s h", h=h), test_id="chart-hours"),
        bar_chart([(r["label"], r["mean_attempts"]) for r in rows], title=_("Calls per referral"),
                  label=str, colour=PALETTE[4], test_id="chart-attempts"),
    ]
    return render_template("reports/timeliness.html", rows=rows, charts=charts, args=request.args,
                           percent=percent)


@bp.route("/reports/timeliness.csv")
@allow(*READERS)
def timeliness_download():
    a = _args()
    return timeliness_csv(service.timeliness(g.actor, start=a["start"], end=a["end"]))
