"""Bulk approval (批量审批) of the finance queue (issue 15 item 3): one button approves the
payouts an approver ticked, each still its own idempotent, audited approval through
`service.approve`.

    outcomes = approve_many(finance, [12, 13, 14], key="form:Zx3...")
    # {12: "approved", 13: "first_approval", 14: ("approver_involved", "You registered ...")}

Each item claims its own idempotency key, `<key>:approve:<id>`, derived from the bulk
request's token, in a savepoint with its approval: a re-post of the same form answers each item
as the first post did and approves nothing twice; an item that fails rolls back alone (its
claim too) and the others stand.
"""
from __future__ import annotations

from loyalty.errors import DomainError
from loyalty.extensions import db
from loyalty.ledger.idempotency import FirstResponse, claim_key, store_response
from loyalty.payouts import service
from loyalty.payouts.models import APPROVED

APPROVED_NOW, FIRST_OF_TWO = "approved", "first_approval"
MAX_ITEMS = 500


def approve_many(actor, payout_ids: list[int], *, key: str) -> dict[int, str | tuple[str, str]]:
    """Each payout's outcome: "approved", "first_approval" (1 of 2 recorded), or (code, message)."""
    outcomes: dict[int, str | tuple[str, str]] = {}
    for payout_id in list(dict.fromkeys(payout_ids))[:MAX_ITEMS]:
        try:
            with db.session.begin_nested():
                outcomes[payout_id] = _approve_one(actor, payout_id, f"{key}:approve:{payout_id}")
        except DomainError as error:
            outcomes[payout_id] = (error.code, error.message)
    return outcomes


def _approve_one(actor, payout_id: int, item_key: str) -> str:
    claimed = claim_key(item_key, f"approve:{payout_id}:{getattr(actor, 'id', None)}")
    if isinstance(claimed, FirstResponse):
        return claimed.body["outcome"]
    payout = service.approve(actor, payout_id, key=item_key)
    outcome = APPROVED_NOW if payout.status == APPROVED else FIRST_OF_TWO
    store_response(claimed, 200, {"outcome": outcome})
    return outcome
