"""The reward liabilities page (奖励负债): a chart per store and a CSV beside it."""
from __future__ import annotations

from flask import Blueprint, g, render_template
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.reports import service
from loyalty.reports.charts import PALETTE, bar_chart
from loyalty.web.money import fen_to_yuan_grouped
from loyalty.web.tables import csv_response, yuan

bp = Blueprint("money_reports_web", __name__, template_folder="templates")

READERS = ("manager", "finance", "admin")


def liabilities_csv(report: service.Liabilities):
    header = [_("Store code"), _("Store"), _("Pending (yuan)"), _("Awaiting approval (yuan)"),
              _("Approved, unpaid (yuan)"), _("Payable (yuan)")]
    rows = [[s.code, s.name, yuan(s.pending), yuan(s.awaiting), yuan(s.approved), yuan(s.payable)]
            for s in report.stores]
    t = report.totals
    rows.append([_("Total"), "", yuan(t["pending"]), yuan(t["awaiting_approval"]), yuan(t["approved"]),
                 yuan(t["payable"])])
    return csv_response(header, rows, "liabilities.csv")


@bp.route("/reports/liabilities")
@allow(*READERS)
def liabilities():
    report = service.liabilities(g.actor)
    money = lambda fen: "¥" + fen_to_yuan_grouped(fen)  # noqa: E731  (the page's ¥13,500.00; the CSV keeps 13500.00)
    charts = [
        bar_chart([(f"{s.code} {s.name}", s.pending) for s in report.stores], title=_("Pending rewards"),
                  label=money, test_id="chart-pending"),
        bar_chart([(f"{s.code} {s.name}", s.payable) for s in report.stores], title=_("Payable rewards"),
                  label=money, colour=PALETTE[3], test_id="chart-payable"),
    ]
    return render_template("reports/liabilities.html", report=report, charts=charts)


@bp.route("/reports/liabilities.csv")
@allow(*READERS)
def liabilities_download():
    return liabilities_csv(service.liabilities(g.actor))
