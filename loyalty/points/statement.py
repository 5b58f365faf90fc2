"""What each line of a points statement (积分明细) was, as data the page words in the reader's language.

The ledger keeps each transfer's `reason` as it was written (an audit record, never rewritten;
Chinese since the issue 15 review, English before); the page does not show it. It shows the line from the lot or the redemption the
transfer belongs to: a service visit (store, amount, points), a referral reward, a redemption
(item), an expiry (the lot's points and earning day), or an adjustment (the admin's own note).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from loyalty.directory.models import Store
from loyalty.extensions import db
from loyalty.points.models import PointsLot, PointsRedemption

EXPIRY_WARNING_DAYS = 30  # points lapsing within this many days are announced on the statement


def lines(entries: list[dict], lots: list[PointsLot]) -> list[dict]:
    """Each statement entry with `line`: {kind, ...values}; kinds: visit, reward, adjustment,
    redeemed, expired, other (the stored reason shown as it is)."""
    earned = {lot.transfer_id: lot for lot in lots}
    expired = {lot.expiry_transfer_id: lot for lot in lots if lot.expiry_transfer_id}
    ids = [e["transfer_id"] for e in entries]
    redeemed = {r.transfer_id: r for r in db.session.execute(
        select(PointsRedemption).where(PointsRedemption.transfer_id.in_(ids))).scalars()} if ids else {}
    stores = {s.id: s.name for s in db.session.execute(
        select(Store).where(Store.id.in_({lot.store_id for lot in lots}))).scalars()} if lots else {}
    return [{**e, "line": _line(e, earned, expired, redeemed, stores)} for e in entries]


def _line(entry: dict, earned: dict, expired: dict, redeemed: dict, stores: dict) -> dict:
    tid = entry["transfer_id"]
    if tid in earned:
        lot = earned[tid]
        if lot.source == "service_visit":
            return {"kind": "visit", "store": stores.get(lot.store_id, ""), "amount": lot.visit_amount or 0,
                    "points": lot.points, "expires_at": lot.expires_at}
        if lot.source == "reward":
            return {"kind": "reward", "points": lot.points, "expires_at": lot.expires_at}
        return {"kind": "adjustment", "note": entry.get("reason") or ""}
    if tid in redeemed:
        return {"kind": "redeemed", "item": redeemed[tid].item, "points": redeemed[tid].points,
                "quantity": redeemed[tid].quantity}
    if tid in expired:
        lot = expired[tid]
        return {"kind": "expired", "points": -entry["change"], "earned_at": lot.earned_at}
    return {"kind": "adjustment", "note": entry.get("reason") or ""}


def expiring_soon(lots: list[PointsLot], now: datetime, days: int = EXPIRY_WARNING_DAYS) -> dict | None:
    """The points still held that lapse within `days`: their sum and the first day one lapses."""
    soon = [lot for lot in lots if lot.remaining > 0 and lot.expired_at is None
            and lot.expires_at <= now + timedelta(days=days)]
    if not soon:
        return None
    return {"points": sum(lot.remaining for lot in soon), "first": min(lot.expires_at for lot in soon),
            "days": days}
