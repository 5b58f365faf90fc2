"""The rings pages (团伙) for managers (their store's) and admins (all): the rings ranked by risk, each
drawn on the server, a CSV export, and the report of signals by consultant and store over a period."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.schemas import parse_day
from loyalty.web.tables import csv_response, period
from verification.rings import graph, labels, svg
from verification.rings.signals import KINDS

bp = Blueprint("rings_web", __name__, template_folder="templates")

READERS = graph.READERS


@bp.app_context_processor
def _labels():
    return {"risk_reason": labels.reason, "risk_kind": labels.kind_label}


def period_args() -> dict:
    """The registration period asked for (from/to, YYYY-MM-DD); a bad day is a 422 naming the field."""
    start, end = period(parse_day(request.args.get("from"), "from"), parse_day(request.args.get("to"), "to"))
    return {"start": start, "end": end}


def ring_rows(found: list[graph.Ring]) -> list[list]:
    return [[number, ring.risk, len(ring.referrals), "、".join(label for label, _k in ring.nodes.values()),
             "、".join(f"{labels.kind_label(k)}×{n}" for k, n in sorted(ring.kinds.items())),
             " ".join(f"#{rid}" for rid in ring.referrals)] for number, ring in enumerate(found, 1)]


def rings_csv(found: list[graph.Ring]):
    header = [_("Ring"), _("Risk score"), _("Referrals"), _("People"), _("Signals"), _("Referral numbers")]
    return csv_response(header, ring_rows(found), "rings.csv")


def report_csv(rows: list[dict]):
    header = [_("Store"), _("Consultant"), _("Signals")] + [labels.kind_label(k) for k in KINDS]
    return csv_response(header, [[r["store"], r["consultant"], r["total"]] + [r[k] for k in KINDS] for r in rows],
                        "ring-signals.csv")


def drawings(found: list[graph.Ring]) -> list:
    return [svg.draw(ring.nodes, ring.edges, _("Ring %(n)s", n=n), test_id=f"ring-graph-{n}")
            for n, ring in enumerate(found, 1)]


@bp.route("/rings")
@allow(*READERS)
def rings():
    found = graph.rings(g.actor, **period_args())
    return render_template("rings/rings.html", rings=found, drawings=drawings(found), args=request.args,
                           colours=svg.COLOURS)


@bp.route("/rings.csv")
@allow(*READERS)
def rings_download():
    return rings_csv(graph.rings(g.actor, **period_args(), limit=10_000))


@bp.route("/rings/report")
@allow(*READERS)
def report():
    return render_template("rings/report.html", rows=graph.report(g.actor, **period_args()), kinds=KINDS,
                           args=request.args)


@bp.route("/rings/report.csv")
@allow(*READERS)
def report_download():
    return report_csv(graph.report(g.actor, **period_args()))
