"""Payouts (奖励发放): request, approve (审批), reject (驳回), mark paid (发放) and claw back (LED-6, LED-8).

    payout = request_payout(actor, subject="referral:42", label="Referral", reference=42, store_id=1,
                            payee="customer:7", payee_name="张三", amount=50000, unit="CNY",
                            blocked_approvers=[3, 5], evidence={...}, evidence_rows=[...], reason="...")
    approve(finance, payout.id)            # two different approvers above the store's threshold
    mark_paid(finance, payout.id, method="wechat_pay", external_reference="4200001234")

Money moves only through the ledger, with one fixed key per payout and purpose, so
a payout can be reversed, paid or clawed back at most once whatever the race:
- reject / cancel: payee reward_payable -> store referral_expense (the reward reversed);
- paid: payee reward_payable -> payee reward_receivable (the offset, if any), then
  payee reward_payable -> store cash_clearing (the cash that left);
- claw back a paid one: payee reward_receivable -> store referral_expense; the next
  payouts of that payee are net of the receivable (`offset_amount`).

Each operation row-locks the payout first (PostgreSQL; SQLite holds the write lock),
then checks its state, so concurrent approvals or payments take effect once.
Every change goes through `_change`, which checks the transition and writes the audit event.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from loyalty import clock, transitions
from loyalty.directory.models import StorePolicy
from loyalty.directory.search import common_across_the_group, name_contains
from loyalty.errors import Conflict, Forbidden, field_error
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account
from loyalty.paging import Page, keyset, page_of, probed
from loyalty.payouts.models import (
    APPROVED,
    AWAITING_APPROVAL,
    CANCELLED,
    CLAWED_BACK,
    METHODS,
    OPEN,
    PAID,
    REJECTED,
    TRANSITIONS,
    Payout,
    PayoutApproval,
)
from loyalty.scoping import get_scoped, in_stores

AUDIT_FIELDS = ("status", "subject", "store_id", "payee", "gross_amount", "offset_amount", "approvals_required",
                "approved_at", "rejected_by_id", "rejection_reason", "paid_by_id", "method",
                "external_reference", "cancel_reason", "reverse_transfer_id", "offset_transfer_id",
                "paid_transfer_id", "clawback_transfer_id")
APPROVERS = ("finance",)


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "The payout is not in a state that allows this."


# ---- what the requesting side may hook in (loyalty never imports it) ---------------

_listeners: dict[str, list[Callable[[Any, Payout], None]]] = {"rejected": []}
_backfills: dict[str, Callable[[], int]] = {}


def on(event: str, listener: Callable[[Any, Payout], None]) -> None:
    """Call `listener(actor, payout)` in the same transaction when a payout is `event` (rejected)."""
    if listener not in _listeners[event]:
        _listeners[event].append(listener)


def register_backfill(name: str, source: Callable[[], int]) -> None:
    """A function that requests the payouts missing for rewards posted earlier; returns how many."""
    _backfills[name] = source


def backfill() -> dict[str, int]:
    """Run every registered backfill (idempotent: a subject gets one payout)."""
    return {name: source() for name, source in sorted(_backfills.items())}


# ---- the one place a payout changes -----------------------------------------------

def _change(actor, payout: Payout, action: str, **changes: Any) -> Payout:
    return transitions.change(actor, payout, entity="payout", action=action, audit_fields=AUDIT_FIELDS,
                              transitions=TRANSITIONS, error=InvalidTransition, changes=changes,
                              extra_after=lambda p: {"approver_ids": p.approver_ids})


def get_payout(actor, payout_id: int, *, for_update: bool = False) -> Payout:
    """The payout, 404 outside the actor's store; `for_update` locks it for a state change."""
    payout = get_scoped(Payout, payout_id, actor, what="payout", lock=for_update)
    if for_update:
        db.session.refresh(payout, ["approvals"])
    return payout


def payout_for(subject: str) -> Payout | None:
    return db.session.execute(select(Payout).where(Payout.subject == subject)).unique().scalar_one_or_none()


# ---- request ----------------------------------------------------------------------

def _existing_account(owner: str, purpose: str) -> Account | None:
    return db.session.execute(select(Account).where(Account.owner == owner, Account.purpose == purpose,
                                                    Account.unit == "CNY")).scalar_one_or_none()


def _offset_for(payee: str, gross: int) -> int:
    """How much of the payee's outstanding receivable (a clawed-back paid reward) this payout settles:
    what the receivable holds minus what open payouts have already earmarked, at most the reward."""
    receivable = _existing_account(payee, "reward_receivable")
    if receivable is None:
        return 0
    ledger.lock(receivable)  # one payee's payout requests queue here, so earmarks never overlap
    outstanding = ledger.balance(receivable)["posted"]
    earmarked = db.session.execute(select(func.coalesce(func.sum(Payout.offset_amount), 0)).where(
        Payout.payee == payee, Payout.status.in_(OPEN))).scalar_one()
    return max(0, min(gross, outstanding - int(earmarked)))


def request_payout(actor, *, subject: str, store_id: int, payee: str, amount: int, unit: str,
                   blocked_approvers: list[int | None], evidence: dict, reason: str, label: str | None = None,
                   reference: int | None = None, payee_name: str | None = None,
                   evidence_rows: list | None = None, second_approver: bool = False) -> Payout:
    """A posted cash reward becomes a payout awaiting approval (待审批). One per subject:
    asking again returns the first. The subject, label, reference and evidence are the
    requester's: payouts store and show them, never read them. `second_approver`: the requester
    asks for two approvers whatever the amount (a referral at ring risk, issue 17)."""
    if unit != "CNY":
        raise field_error("unit", "Only cash rewards are paid out; points need no payout.")
    if not isinstance(amount, int) or amount <= 0:
        raise field_error("amount", "A payout is a positive whole number of fen.")
    ledger.parse_owner(payee)
    existing = payout_for(subject)
    if existing is not None:
        return existing
    policy = db.session.get(StorePolicy, store_id)
    if policy is None:
        raise field_error("store_id", "No such store.")
    payout = Payout(subject=subject, label=label, reference=reference, store_id=store_id, payee=payee,
                    payee_name=(payee_name or "")[:120] or None, unit=unit, gross_amount=amount,
                    offset_amount=_offset_for(payee, amount), status=AWAITING_APPROVAL,
                    approvals_required=2 if second_approver or amount > policy.two_approver_threshold else 1,
                    blocked_approver_ids=sorted({i for i in blocked_approvers if i is not None}),
                    evidence=evidence, evidence_rows=evidence_rows or [], reason=reason[:200],
                    requested_at=clock.now(), approvals=[])  # new: none to load (its audit reads them)
    try:
        with db.session.begin_nested():
            _change(actor, payout, "requested")
    except IntegrityError:  # the same subject requested at the same instant elsewhere
        found = payout_for(subject)
        if found is None:
            raise
        return found
    return payout


# ---- approve, reject, pay -------------------------------------------------------------

def _require_approver(actor, payout: Payout) -> None:
    if actor is None or actor.role not in APPROVERS:
        raise Forbidden("Only finance approves, rejects and pays rewards.", code="role_forbidden")
    if actor.id in (payout.blocked_approver_ids or []):
        raise Forbidden("You registered or checked this referral; another person in finance must decide it.",
                        code="approver_involved")


def actions(actor, payout: Payout) -> tuple[str, ...]:
    """What `actor` may do with the payout now, by the rules below (ARCHITECTURE example 14):
    the finance page offers these and holds no rule of its own."""
    if actor is None or actor.role not in APPROVERS or actor.id in (payout.blocked_approver_ids or []):
        return ()
    if payout.status == AWAITING_APPROVAL:
        return ("reject",) if actor.id in payout.approver_ids else ("approve", "reject")
    if payout.status == APPROVED:
        return ("pay", "reject")
    return ()


def approve(actor, payout_id: int, *, key: str | None = None) -> Payout:
    """审批: finance, never the registrant or delivery checker; above the store's threshold two
    different approvers, the second approval makes it `approved`. `key` (the request's
    Idempotency-Key) is kept on the approval row. Reject and pay need none: their transfers
    carry fixed per-payout keys, and the API door replays a repeated request."""
    payout = get_payout(actor, payout_id, for_update=True)
    _require_approver(actor, payout)
    if payout.status != AWAITING_APPROVAL:
        raise InvalidTransition("Only a payout awaiting approval can be approved.",
                                code="payout_not_awaiting_approval")
    if actor.id in payout.approver_ids:
        raise Conflict("You approved this payout already; a second approver must be someone else.",
                       code="already_approved_by_you")
    now = clock.now()
    db.session.add(PayoutApproval(payout_id=payout.id, approver_id=actor.id, request_key=key, at=now))
    db.session.flush()
    db.session.refresh(payout, ["approvals"])
    if len(payout.approvals) >= payout.approvals_required:
        return _change(actor, payout, "approved", status=APPROVED, approved_at=now)
    return _change(actor, payout, "first_approval")


def _reverse(actor, payout: Payout, why: str) -> int:
    store = f"store:{payout.store_id}"
    payable, expense = ledger.accounts_for((payout.payee, "reward_payable", "CNY"), (store, "referral_expense", "CNY"))
    t = ledger.transfer(debit=payable, credit=expense,
                        amount=payout.gross_amount, unit="CNY", subject=f"payout:{payout.id}",
                        key=f"payout:{payout.id}:reverse", actor=actor,
                        reason=f"奖励冲回 payout {payout.id} ({payout.subject}): {why}"[:200])
    return t.id


def reject(actor, payout_id: int, *, reason: str) -> Payout:
    """驳回: the reward is reversed by a new transfer, and the requesting side hears why."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Give a reason for the rejection.")
    payout = get_payout(actor, payout_id, for_update=True)
    _require_approver(actor, payout)
    if payout.status not in OPEN:
        raise InvalidTransition("Only a payout not yet paid can be rejected.", code="payout_not_open")
    transfer_id = _reverse(actor, payout, reason)
    _change(actor, payout, "rejected", status=REJECTED, rejected_at=clock.now(), rejected_by_id=actor.id,
            rejection_reason=reason[:500], reverse_transfer_id=transfer_id)
    for listener in _listeners["rejected"]:
        listener(actor, payout)
    return payout


def mark_paid(actor, payout_id: int, *, method: str, external_reference: str) -> Payout:
    """发放: payable -> cash clearing for the net amount (and payable -> receivable for any offset)."""
    if method not in METHODS:
        raise field_error("method", f"One of {', '.join(METHODS)}.")
    external_reference = (external_reference or "").strip()
    if not external_reference:
        raise field_error("external_reference",
                          "Give the payment's reference (bank, WeChat or Alipay number, or receipt).")
    payout = get_payout(actor, payout_id, for_update=True)
    _require_approver(actor, payout)
    if payout.status != APPROVED:
        raise InvalidTransition("Only an approved payout can be marked paid.", code="payout_not_approved")
    sides = {"payable": (payout.payee, "reward_payable", "CNY")}  # the accounts it moves, read in one statement
    if payout.offset_amount:
        sides["receivable"] = (payout.payee, "reward_receivable", "CNY")
    if payout.amount:
        sides["clearing"] = (f"store:{payout.store_id}", "cash_clearing", "CNY")
    accounts = dict(zip(sides, ledger.accounts_for(*sides.values())))
    payable = accounts["payable"]
    changes: dict[str, Any] = {}
    if payout.offset_amount:
        t = ledger.transfer(debit=payable, credit=accounts["receivable"],
                            amount=payout.offset_amount, unit="CNY", subject=f"payout:{payout.id}",
                            key=f"payout:{payout.id}:offset", actor=actor,
                            reason=f"奖励抵扣应收 payout {payout.id} ({payout.subject})")
        changes["offset_transfer_id"] = t.id
    if payout.amount:
        t = ledger.transfer(debit=payable, credit=accounts["clearing"],
                            amount=payout.amount, unit="CNY", subject=f"payout:{payout.id}",
                            key=f"payout:{payout.id}:paid", actor=actor,
                            reason=f"奖励发放 payout {payout.id} ({payout.subject}) {method} {external_reference}"[:200])
        changes["paid_transfer_id"] = t.id
    return _change(actor, payout, "paid", status=PAID, paid_at=clock.now(), paid_by_id=actor.id, method=method,
                   external_reference=external_reference[:100], **changes)


# ---- clawback (LED-8) ---------------------------------------------------------------------

def claw_back(actor, payout_id: int, *, reason: str) -> str:
    """The sale behind the payout was unwound: an unpaid payout is cancelled and its reward
    reversed ("reversed"); a paid one becomes a receivable on the payee ("receivable"), which
    their next payouts are net of; a rejected one was reversed already ("already_reversed")."""
    payout = get_payout(None, payout_id, for_update=True)  # the unwinding sale's payout: no store scope
    now = clock.now()
    if payout.status in OPEN:
        transfer_id = _reverse(actor, payout, f"unwound: {reason}")
        _change(actor, payout, "cancelled", status=CANCELLED, cancelled_at=now, cancel_reason=reason[:500],
                reverse_transfer_id=transfer_id)
        return "reversed"
    if payout.status == PAID:
        receivable, expense = ledger.accounts_for((payout.payee, "reward_receivable", "CNY"),
                                                  (f"store:{payout.store_id}", "referral_expense", "CNY"))
        t = ledger.transfer(debit=receivable, credit=expense,
                            amount=payout.gross_amount, unit="CNY", subject=f"payout:{payout.id}",
                            key=f"payout:{payout.id}:clawback", actor=actor,
                            reason=f"已发放奖励追回 payout {payout.id} ({payout.subject}): {reason}"[:200])
        _change(actor, payout, "clawed_back", status=CLAWED_BACK, cancelled_at=now, cancel_reason=reason[:500],
                clawback_transfer_id=t.id)
        return "receivable"
    if payout.status == REJECTED:
        return "already_reversed"
    raise InvalidTransition("This payout was clawed back or cancelled already.", code="payout_closed")


# ---- queries --------------------------------------------------------------------------------

def _filtered(actor, *, status: str | list[str] | None = None, store_id: int | None = None,
              date_from: datetime | None = None, date_to: datetime | None = None,
              reference: int | None = None, q: str | None = None):
    query = in_stores(select(Payout), actor, Payout.store_id, store_id=store_id)
    if q:
        query = query.where(_matches(q))
    if status:
        query = query.where(Payout.status.in_([status] if isinstance(status, str) else status))
    if date_from is not None:
        query = query.where(Payout.requested_at >= date_from)
    if date_to is not None:
        query = query.where(Payout.requested_at < date_to)
    if reference is not None:
        query = query.where(Payout.reference == reference)
    return query


def _matches(q: str, *, indexed: bool = False):
    """The finance queue's search: the payee's name (`indexed`: through migration 0016p's index),
    or the subject's reference number."""
    by_name = name_contains(q, Payout.payee_name, indexed=indexed)
    # decimal digits (full width too, as int() reads them); '²' and '①' are digits to str.isdigit() only
    return or_(by_name, Payout.reference == int(q)) if q.isdecimal() and len(q) < 16 else by_name


def _searched(actor, **filters):
    """`_filtered`, and the count when a search's probe has told it (loyalty.paging.probed): a rare
    payee is a few index rows, not a walk of every payout (0.75 s at 450,000). A name common in the
    group, searched across it, is walked (the search of customers' names does the same)."""
    query = _filtered(actor, **filters)
    q = filters.get("q")
    if not q or common_across_the_group(actor, filters, q, "ix_payouts_store_payee_name_grams", "payouts"):
        return query, None
    probe = _filtered(actor, **{**filters, "q": None}).where(_matches(q, indexed=True))
    return probed(query, Payout.id, [probe.with_only_columns(Payout.id)])


def list_payouts(actor, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list[Payout], int]:
    return page_of(_searched(actor, **filters)[0].order_by(Payout.requested_at, Payout.id), page, per_page)


def payout_page(actor, *, cursor: str | None = None, per_page: int = 50, **filters) -> Page:
    """The finance queue's page: the oldest first by (requested_at, id), keyset-paged, no cap."""
    query, known = _searched(actor, **filters)
    return keyset(query, (Payout.requested_at, Payout.id), cursor=cursor, per_page=per_page, newest_first=False,
                  known=known)


def payouts_query(actor, **filters):
    """The payouts `actor` may see matching the filters, oldest request first (the export streams it)."""
    return _filtered(actor, **filters).order_by(Payout.requested_at, Payout.id)
