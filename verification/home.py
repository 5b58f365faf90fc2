"""The verification side's part of the home pages (工作队列): tiles for the consultant, the
manager and the agent, and the admin's store-health columns. loyalty.app registers them
(`register`), so loyalty's home page shows referral facts without importing verification."""
from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from loyalty.web.blueprint import localtime
from loyalty.web.worklists import Link, Tile, provide, store_column
from verification.callbacks import worklist as calls
from verification.referrals import labels, lists
from verification.referrals import worklist as showroom
from verification.referrals.models import LIVE, STATUSES

ITEMS_SHOWN = 5  # the first few of a queue, each linked; the tile links to the whole list


def consultant_tiles(actor) -> list[Tile]:
    """My referrals by status: the live ones always, a closed status once it has any."""
    counts = showroom.my_referrals_by_status(actor)
    return [Tile(status, labels.status_label(status), counts.get(status, (0, None))[0],
                 url_for("referrals_web.mine", status=status),
                 counts.get(status, (0, None))[1] if status in LIVE else None)
            for status in STATUSES if status in LIVE or status in counts]


def _referral_links(actor, queue: str) -> tuple[Link, ...]:
    items = lists.referral_page(actor, queue=queue, oldest_first=True, per_page=ITEMS_SHOWN,
                                count=False).items  # as the queue
    return tuple(Link(f"{r.claim_referrer_name} → {r.referee.name}",
                      url_for("delivery_web.referral", referral_id=r.id)) for r in items)


def manager_tiles(actor) -> list[Tile]:
    queues = showroom.manager_queues(actor)
    titles = {"acknowledge": _("To acknowledge"), "delivery": _("To check at delivery"), "review": _("Under review")}
    tiles = [Tile(name, titles[name], queues[name][0], url_for("referrals_web.queue", _anchor=f"queue-{name}"),
                  queues[name][1], items=_referral_links(actor, name) if queues[name][0] else ())
             for name in ("acknowledge", "delivery", "review")]
    answers, oldest_answer = calls.answers_to_review(actor)
    verdicts, oldest_verdict = calls.verdicts_to_confirm(actor)
    tiles.append(Tile("answers", _("Answers to review"), answers, url_for("callbacks_web.reviews"), oldest_answer))
    if verdicts:
        tiles.append(Tile("verdicts", _("Verdicts to confirm"), verdicts,
                          url_for("callbacks_web.reviews", _anchor="confirmations"), oldest_verdict))
    return tiles


def next_due_note(actor, queue: calls.CallQueue) -> str:
    if queue.next_due is None:
        return _("No later callback is planned.")
    zone = actor.store.timezone if actor.store else "Asia/Shanghai"
    return _("Next due at %(time)s (%(count)s planned).", time=localtime(queue.next_due, zone), count=queue.later)


def agent_tiles(actor) -> list[Tile]:
    queue = calls.call_queue(actor)
    return [Tile("calls_due", _("Callbacks due now"), queue.due, url_for("callbacks_web.calls"), queue.oldest_due,
                 note=next_due_note(actor, queue))]


def register(app: Flask) -> None:
    provide(app, "consultant", consultant_tiles)
    provide(app, "manager", manager_tiles)
    provide(app, "agent", agent_tiles)
    store_column(app, "open_referrals", _l("Open referrals"), showroom.open_by_store)
    store_column(app, "calls_overdue", _l("Callbacks overdue"), calls.overdue_by_store)
