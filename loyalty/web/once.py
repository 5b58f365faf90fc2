"""One effect per form (issue 15 item 6): a double click on 标记为已支付 sends two POSTs; the
second must change nothing and say what the first said, never a green success beside a red
"only an approved payout can be marked paid".

Each protected form carries a one-time token (`{{ form_once() }}`, a hidden `form_token`) and
`static/js/once.js` disables its buttons on the first submit. On the server, `act_once` claims
`form:<token>` through the idempotency keys of the ledger (loyalty.ledger.idempotency) in the
request's own transaction, and keeps the messages the request flashed beside the claim just
before it commits. A second POST of the same form (same token, same fields) claims nothing and
flashes the first request's messages again; PostgreSQL makes a concurrent second POST wait for
the first to commit, SQLite serialises writers. A request that fails rolls back, claim
included, so the same form may be sent again after its error is fixed.

`act_once` serves forms that redirect. A page that renders its result instead (the call's answers,
the delivery check) calls `first_time` before it acts and `remember` after: a second POST of the
form is sent where the first led, with what the first said. The script is in base.html.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from flask import Response, flash, g, redirect, request, session
from markupsafe import Markup

from loyalty.errors import DomainError
from loyalty.ledger.idempotency import FirstResponse, claim_key, store_response
from loyalty.web.blueprint import bp
from loyalty.web.pages import flash_error

FIELD = "form_token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NOT_DATA = ("csrf_token", FIELD)


@bp.app_template_global()
def form_once() -> Markup:
    """The hidden one-time token of a form that moves money or decides."""
    return Markup('<input type="hidden" name="%s" value="%s">') % (FIELD, secrets.token_urlsafe(18))


def form_token() -> str | None:
    """This POST's form token, when it carries a well-formed one."""
    token = (request.form.get(FIELD) or "").strip()
    return token if _TOKEN.match(token) else None


def _fingerprint() -> str:
    fields = sorted((k, v) for k, v in request.form.items(multi=True) if k not in _NOT_DATA)
    actor = getattr(g.get("actor"), "id", None)
    text = json.dumps({"path": request.path, "actor": actor, "form": fields}, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _act(do, done, back: str, labels: dict | None = None):
    """`loyalty.web.pages.act`, where `done(result)` may also say the message's category:
    (message, "warning") when some of what was asked could not be done."""
    try:
        result = do()
        said = done(result) if callable(done) else done
        message, category = said if isinstance(said, tuple) else (said, "success")
        flash(message, category)
    except DomainError as error:
        g.rollback = True
        flash_error(error, labels=labels)
    return redirect(back)


@dataclass(frozen=True)
class Once:
    """What this POST's form token says: the first POST of its form holds the `claim` (keep its
    outcome with `remember`); a later one gets the `replay` to answer with instead of acting again."""
    claim: int | None = None
    replay: Response | None = None


def first_time(back: str) -> Once:
    """Claim this POST's form token, in the request's transaction (see the module doc)."""
    token = form_token()
    if token is None:
        return Once()
    try:
        claimed = claim_key(f"form:{token}", _fingerprint(), field=FIELD)
    except DomainError as error:  # the token was used for another form, or its first POST is still running
        g.rollback = True
        flash_error(error)
        return Once(replay=redirect(back))
    if not isinstance(claimed, FirstResponse):
        return Once(claim=claimed)
    first = claimed.body or {}
    if first.get("again"):  # the first POST only showed something (a preview): this one may run too
        return Once()
    for category, message in first.get("flashes", []):
        flash(message, category)
    return Once(replay=redirect(first.get("location") or back))


def remember(once: Once, location: str, flashes=(), *, again: bool = False) -> None:
    """Keep what the first POST of a form said and where it led, for a second POST to replay;
    `again`: it decided nothing, so a second POST runs as the first did. Nothing is kept for a
    request that is rolled back: its form may be sent again."""
    if once.claim is not None and not g.get("rollback"):
        store_response(once.claim, 303, {"flashes": [list(pair) for pair in flashes], "location": location,
                                         "again": again})


def act_once(do, done, back: str, *, labels: dict | None = None):
    """`_act`, once per form token: the second POST of a form replays the first's messages."""
    once = first_time(back)
    if once.replay is not None:
        return once.replay
    before = len(session.get("_flashes", []))
    response = _act(do, done, back, labels)
    remember(once, back, session.get("_flashes", [])[before:])
    return response
