"""What the finance pages say after a decision, truthfully per outcome (issue 15 item 6):
an approval that left the payout 待审批 1/2 says so, and a bulk approval counts each outcome.

    bulk_result({12: "approved", 13: "first_approval", 14: ("approver_involved", "...")})
    # ("奖励发放 #12 已批准。奖励发放 #13 已记录第 1/2 个审批，还需另一位财务审批。未能批准：奖励发放 #14：...。",
    #  "warning")
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from loyalty.payouts.bulk import APPROVED_NOW, FIRST_OF_TWO
from loyalty.payouts.models import APPROVED


def approved(payout) -> str:
    """Say the state the approval left: approved, or one approval of two recorded (待审批 1/2)."""
    if payout.status == APPROVED:
        return _("Payout %(id)s approved.", id=payout.id)
    return _("Approval %(n)s of %(m)s recorded for payout %(id)s; it waits for another finance approver.",
             n=len(payout.approvals), m=payout.approvals_required, id=payout.id)


def _numbers(ids) -> str:
    """#12、#15 (the list separator in the page's language)."""
    return _(", ").join(f"#{pid}" for pid in ids)


def bulk_result(outcomes: dict) -> tuple[str, str]:
    """One message for a bulk approval, a sentence per outcome naming its payouts: which were
    approved, which now wait for a second approver (1/2), which could not be approved and why."""
    done = [pid for pid, o in outcomes.items() if o == APPROVED_NOW]
    first = [pid for pid, o in outcomes.items() if o == FIRST_OF_TWO]
    failed = {pid: o for pid, o in outcomes.items() if isinstance(o, tuple)}
    parts = []
    if done:
        parts.append(_("Payouts %(ids)s approved.", ids=_numbers(done)))
    if first:
        parts.append(_("Payouts %(ids)s: approval 1 of 2 recorded; they wait for another finance approver.",
                       ids=_numbers(first)))
    if failed:
        why = _("; ").join(_("payout #%(id)s: %(why)s", id=pid, why=_(message).rstrip("。.")) for pid, (_code, message)
                           in failed.items())
        parts.append(_("Not approved: %(why)s.", why=why))
    if not parts:
        return _("Choose the payouts to approve."), "error"
    message = parts[0]
    for part in parts[1:]:
        message = _("%(first)s %(then)s", first=message, then=part)
    return message, ("warning" if failed else "success")


def age(since: datetime | None, now: datetime) -> str:
    """How long a payout has waited: '3 天', '5 小时', '12 分钟'."""
    if since is None:
        return ""
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds >= 86400:
        return _("%(n)s d", n=seconds // 86400)
    if seconds >= 3600:
        return _("%(n)s h", n=seconds // 3600)
    return _("%(n)s min", n=seconds // 60)


def export_state(job) -> dict:
    """A background export's progress as the page's poll reads it (static/js/progress.js)."""
    from flask import url_for

    from loyalty.payouts.labels import export_label
    from loyalty.payouts.models import DONE, QUEUED, RUNNING
    return {"id": job.id, "status": job.status, "label": export_label(job.status), "rows_done": job.rows_done,
            "rows_total": job.rows_total, "percent": job.percent, "finished": job.status not in (QUEUED, RUNNING),
            "download": url_for("payouts_web.export_file", export_id=job.id) if job.status == DONE else None}
