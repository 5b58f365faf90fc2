"""Loyalty points (积分, LED-5): earned per service visit (维修进站), redeemed oldest lot first,
expired lots moved to breakage. Every point moves through the ledger; the lots say where
points came from and when they expire.

Accounts (PTS): store:{s}/points_issued -> customer:{c}/points on earning;
customer:{c}/points -> store:{home store}/points_redeemed on redemption;
customer:{c}/points -> store:{lot's store}/points_breakage on expiry;
any PTS account <-> customer:{c}/points on an admin adjustment (调账), made here so the
lots stay true (`loyalty.books.adjustments` hands adjustments of points accounts to
`adjust_from_ledger`, registered with the bank as the keeper of points accounts).
"""
from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.auth import access
from loyalty.directory import service as directory
from loyalty.directory.models import Customer, Store
from loyalty.errors import Conflict, RuleViolation, field_error
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.limits import MAX_FEN
from loyalty.points import catalog, statement
from loyalty.points.models import PointsLot, PointsLotUse, PointsRedemption
from loyalty.web.money import fen_to_yuan_grouped

PTS = "PTS"
LOT_FIELDS = ("customer_id", "store_id", "points", "remaining", "source", "visit_amount", "expires_at",
              "transfer_id", "expired_at", "expiry_transfer_id")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day when it is shorter)."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def points_account(customer_id: int):
    return ledger.account_for(*_points_of(customer_id))


def _points_of(customer_id: int) -> tuple[str, str, str]:
    """The customer's points account as ledger.account_for names it (owner, purpose, unit)."""
    return f"customer:{customer_id}", "points", PTS


def _positive_int(value: Any, field: str, maximum: int = 10**15) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise field_error(field, "A whole number greater than 0.")
    if value > maximum:
        raise field_error(field, "Too large.")
    return value


def earn_for_visit(actor, customer_id: int, *, store_id: int, amount: int, key: str) -> dict:
    """A service visit paid `amount` fen at `store_id`: floor(amount / fen_per_point) points,
    as a lot expiring after the store's points_expiry_months. Idempotent on `key`."""
    customer = directory.get_customer(actor, customer_id)
    amount = _positive_int(amount, "amount")
    if amount > MAX_FEN:  # the API's schema and the desk's form say so first
        raise field_error("amount", "At most 1000000000 fen (¥10,000,000.00).")
    store = db.session.get(Store, store_id, options=[joinedload(Store.policy)])  # the policy in the same read
    if store is None:
        raise field_error("store_id", "No such store.")
    access.ensure_store(actor, store.id)
    points = amount // store.policy.fen_per_point
    if points == 0:
        audit.record(actor, "customer", customer.id, "service_visit", None,
                     {"store_id": store.id, "amount": amount, "points": 0})
        return {"points": 0, "lot": None}
    reason = f"维修进站 {store.name}：¥{fen_to_yuan_grouped(amount)}，累积 {points:,} 积分"
    lot = grant(actor, customer.id, store_id=store.id, points=points, reason=reason, key=f"visit:{key}",
                source="service_visit", visit_amount=amount)
    return {"points": lot.points, "lot": lot}


def earn_at_desk(actor, customer_id: int, *, amount: int, key: str) -> dict:
    """A visit recorded at the service desk: at the advisor's own store (a group-level actor
    records it at the customer's store)."""
    customer = directory.get_customer(actor, customer_id)
    store_id = getattr(actor, "store_id", None) or customer.store_id
    return earn_for_visit(actor, customer.id, store_id=store_id, amount=amount, key=key)


def grant(actor, customer_id: int, *, store_id: int, points: int, reason: str, key: str,
          source: str = "reward", visit_amount: int | None = None, subject: str | None = None) -> PointsLot:
    """Credit points to a customer as a new lot (also for referral rewards paid in points:
    every credit to customer:{id}/points must come through here so the lots add up)."""
    points = _positive_int(points, "points")
    store = db.session.get(Store, store_id)
    if store is None:
        raise field_error("store_id", "No such store.")
    issued, held = ledger.accounts_for((f"store:{store_id}", "points_issued", PTS), _points_of(customer_id))
    t = ledger.transfer(debit=issued, credit=held, amount=points, unit=PTS, reason=reason,
                        subject=subject or f"customer:{customer_id}", key=f"points:{key}", actor=actor)
    lot = db.session.execute(select(PointsLot).where(PointsLot.transfer_id == t.id)).scalar_one_or_none()
    if lot is not None:  # a replay: the lot of the first call
        return lot
    return _new_lot(actor, t, customer_id=customer_id, store=store, source=source, visit_amount=visit_amount)


def _new_lot(actor, t, *, customer_id: int, store: Store, source: str, visit_amount: int | None = None) -> PointsLot:
    """The lot for points transfer `t` just credited: expiring after the store's period."""
    lot = PointsLot(customer_id=customer_id, store_id=store.id, points=t.amount, remaining=t.amount, source=source,
                    visit_amount=visit_amount, reason=t.reason, earned_at=t.at,
                    expires_at=add_months(t.at, store.policy.points_expiry_months), transfer_id=t.id,
                    actor_id=getattr(actor, "id", None))
    db.session.add(lot)
    db.session.flush()
    audit.record(actor, "points_lot", lot.id, "earned", None, audit.snapshot(lot, LOT_FIELDS))
    return lot


def _spendable_lots(customer_id: int, now: datetime) -> list[PointsLot]:
    """The customer's unexpired lots with points left, oldest first, locked."""
    return list(db.session.execute(
        select(PointsLot).where(PointsLot.customer_id == customer_id, PointsLot.remaining > 0,
                                PointsLot.expires_at > now)
        .order_by(PointsLot.earned_at, PointsLot.id).with_for_update()).scalars())


def _oldest_first(lots: list[PointsLot], points: int) -> list[tuple[PointsLot, int]]:
    """How many points to take from which lot (FIFO); the caller checked they hold enough."""
    taken, left = [], points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        taken.append((lot, take))
        left -= take
    return taken


def _short_of_points(available: int, field: str) -> RuleViolation:
    return RuleViolation("Not enough points.", code="insufficient_points",
                         fields={field: ["More than the points the customer has available."]})


def redeem(actor, customer_id: int, *, item: Any, key: str, quantity: int = 1,
           points: int | None = None) -> PointsRedemption:
    """Spend points on `quantity` of a catalog item (named by id or code; 兑换): price × quantity
    points, taken from the oldest unexpired lots first, and the item's stock (when counted) taken
    down in the same transaction. `points`, when given, must equal price × quantity. 422
    insufficient_points when short, out_of_stock when the stock is. The same key again returns
    the first redemption; with other values it is 409."""
    customer = directory.get_customer(actor, customer_id)
    quantity = _positive_int(quantity, "quantity", maximum=10**6)
    entry = catalog.resolve(item, customer.store_id)
    cost = entry.price * quantity
    if points is not None and points != cost:
        raise field_error("points", "Must equal the item's price times the quantity.", code="points_mismatch")
    held, redeemed = ledger.accounts_for(_points_of(customer.id), (f"store:{customer.store_id}", "points_redeemed", PTS))
    # One customer's redemptions queue here, so the key check below sees any earlier one.
    ledger.lock(held, redeemed)
    earlier = db.session.execute(select(PointsRedemption).where(PointsRedemption.key == key)).scalar_one_or_none()
    if earlier is not None:
        if (earlier.customer_id, earlier.catalog_item_id, earlier.quantity) != (customer.id, entry.id, quantity):
            raise Conflict("This idempotency key was used for a different redemption.",
                           code="idempotency_key_reused")
        return earlier
    now = clock.now()
    lots = _spendable_lots(customer.id, now)
    available = sum(lot.remaining for lot in lots)
    if available < cost:
        raise _short_of_points(available, "points" if points is not None else "quantity")
    catalog.take_stock(entry, quantity)
    redemption = PointsRedemption(customer_id=customer.id, points=cost, item=entry.name_zh, catalog_item_id=entry.id,
                                  quantity=quantity, key=key, actor_id=getattr(actor, "id", None), created_at=now)
    db.session.add(redemption)
    db.session.flush()
    t = ledger.transfer(debit=held, credit=redeemed, amount=cost, unit=PTS,
                        reason=f"积分兑换 {quantity} × {entry.name_zh}（{entry.code}），使用 {cost:,} 积分", subject=f"redemption:{redemption.id}",
                        key=f"points:redeem:{key}", actor=actor)
    redemption.transfer_id = t.id
    for lot, take in _oldest_first(lots, cost):
        lot.remaining -= take
        db.session.add(PointsLotUse(redemption_id=redemption.id, lot_id=lot.id, points=take))
    db.session.flush()
    db.session.refresh(redemption, ["uses"])
    audit.record(actor, "points_redemption", redemption.id, "created", None,
                 {"customer_id": customer.id, "points": cost, "item": entry.name_zh, "catalog_item_id": entry.id,
                  "quantity": quantity, "price": entry.price, "stock_after": entry.stock, "transfer_id": t.id,
                  "lots": [[u.lot_id, u.points] for u in redemption.uses]})
    return redemption


def adjust_from_ledger(*, debit: int, credit: int, amount: int, unit: str, reason: str, subject: str | None,
                       key: str, actor=None):
    """An admin adjustment (调账, POST /ledger/transfers) touching customers' points accounts,
    made so the lots stay true (LED-5): points credited to a customer become a lot (source
    "adjustment") that expires after the store's points_expiry_months like earned points;
    points debited from a customer leave the oldest unexpired lots first, as a redemption
    takes them (422 insufficient_points when those hold too few). The same key replays."""
    accounts = {side: ledger.get_account(account_id) for side, account_id in (("debit", debit), ("credit", credit))}
    move = dict(debit=debit, credit=credit, amount=amount, unit=unit, reason=reason, subject=subject, key=key,
                actor=actor)
    # one adjustment of these accounts at a time: the replay check below cannot race
    ledger.lock(*accounts.values())
    if ledger.transfer_by_key(key) is not None or any(a.unit != unit for a in accounts.values()):
        return ledger.transfer(**move)  # a replay (the first call moved the lots), or the bank's own refusal
    holders = {side: _customer_holding(account, f"{side}_account_id")
               for side, account in accounts.items() if account.purpose == "points"}
    taking: list[tuple[PointsLot, int]] = []
    if "debit" in holders:
        points = _positive_int(amount, "amount")
        lots = _spendable_lots(holders["debit"].id, clock.now())
        available = sum(lot.remaining for lot in lots)
        if available < points:
            raise _short_of_points(available, "amount")
        taking = _oldest_first(lots, points)
    t = ledger.transfer(**move)
    for lot, take in taking:
        before = audit.snapshot(lot, LOT_FIELDS)
        lot.remaining -= take
        db.session.flush()
        audit.record(actor, "points_lot", lot.id, "adjusted", before,
                     {**audit.snapshot(lot, LOT_FIELDS), "adjustment_transfer_id": t.id})
    if "credit" in holders:
        customer = holders["credit"]
        owner_kind, owner_id = ledger.parse_owner(accounts["debit"].owner)
        store = db.session.get(Store, owner_id) if owner_kind == "store" else None
        _new_lot(actor, t, customer_id=customer.id, store=store or db.session.get(Store, customer.store_id),
                 source="adjustment")
    return t


def _customer_holding(account, field: str) -> Customer:
    kind, ident = ledger.parse_owner(account.owner)
    customer = db.session.get(Customer, ident) if kind == "customer" else None
    if customer is None:
        raise field_error(field, "No such customer.", code="customer_not_found")  # a points account without one
    return customer


def expire_next_lot(now: datetime | None = None) -> PointsLot | None:
    """Claim one expired lot with points left and move them to breakage; None when none is due.

    The claim is a row lock taken with SKIP LOCKED (PostgreSQL; SQLite's write lock
    serialises), and the lot is re-read under it, so two schedulers never expire one lot
    twice; the transfer's key (points:expire:{lot}) would refuse a second move anyway."""
    now = now or clock.now()
    lot = db.session.execute(
        select(PointsLot).where(PointsLot.expired_at.is_(None), PointsLot.remaining > 0,
                                PointsLot.expires_at <= now)
        .order_by(PointsLot.expires_at, PointsLot.id).limit(1)
        .with_for_update(skip_locked=True)).scalar_one_or_none()
    if lot is None:
        return None
    before = audit.snapshot(lot, LOT_FIELDS)
    breakage = ledger.account_for(f"store:{lot.store_id}", "points_breakage", PTS)
    t = ledger.transfer(debit=points_account(lot.customer_id), credit=breakage, amount=lot.remaining, unit=PTS,
                        reason=f"积分过期：{lot.earned_at:%Y-%m-%d} 累积的 {lot.points:,} 积分中 "
                               f"{lot.remaining:,} 积分失效",
                        subject=f"points_lot:{lot.id}", key=f"points:expire:{lot.id}")
    lot.remaining = 0
    lot.expired_at = now
    lot.expiry_transfer_id = t.id
    db.session.flush()
    audit.record(None, "points_lot", lot.id, "expired", before, audit.snapshot(lot, LOT_FIELDS))
    return lot


def summary(actor, customer_id: int) -> dict:
    """Balance, lots (newest first) and the statement of a customer's points."""
    customer = directory.get_customer(actor, customer_id)
    account = points_account(customer.id)
    lots = list(db.session.execute(select(PointsLot).where(PointsLot.customer_id == customer.id)
                                   .order_by(PointsLot.earned_at.desc(), PointsLot.id.desc())).scalars())
    entries, total = ledger.entries(account.id, per_page=200)
    now = clock.now()
    expiring = [lot for lot in lots if lot.remaining > 0 and lot.expired_at is None]
    return {"customer": customer, "account": account, "balance": ledger.balance(account), "lots": lots,
            "entries": statement.lines(entries, lots), "entries_total": total, "now": now,
            "expiring_soon": statement.expiring_soon(lots, now),
            "next_expiry": min(expiring, key=lambda lot: lot.expires_at) if expiring else None}


def check() -> list[str]:
    """Each customer's unspent, unexpired-or-not-yet-moved lots add up to their points account."""
    from loyalty.ledger.models import Account
    violations = []
    lots = dict(db.session.execute(select(PointsLot.customer_id, func.sum(PointsLot.remaining))
                                   .group_by(PointsLot.customer_id)).all())
    accounts = db.session.execute(select(Account).where(Account.purpose == "points")).scalars()
    for account in accounts:
        customer_id = int(account.owner.split(":")[1])
        posted = ledger.balance_of(account)["posted"]
        in_lots = int(lots.pop(customer_id, 0) or 0)
        if in_lots != posted:
            violations.append(f"customer {customer_id}: lots hold {in_lots} points "
                              f"but the points account holds {posted}")
    for customer_id, remaining in lots.items():
        if remaining:
            violations.append(f"customer {customer_id}: lots hold {remaining} points but has no points account")
    return violations


ledger.register_subledger("points", check=check, adjust=adjust_from_ledger)
