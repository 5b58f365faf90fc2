"""The redemption catalog (兑换目录): what points may be spent on, run by the admin.

An item has a code (what the API names it by), a Chinese name (what people read), a price in
points per unit (> 0), an optional stock (None: not counted), an active flag, and a store
(None: every store of the group; else only that store's customers may redeem it). Every
change is audited (SEC-1). A redemption takes stock with one conditional UPDATE, so two
desks redeeming the last unit at once cannot both get it (`take_stock`).
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select, update

from loyalty.audit import service as audit
from loyalty.auth import access
from loyalty.directory.models import Store
from loyalty.errors import Conflict, NotFound, RuleViolation, field_error
from loyalty.extensions import db
from loyalty.paging import page_of
from loyalty.points.models import CatalogItem
from loyalty.text import visible_text

ITEM_FIELDS = ("code", "name_zh", "price", "stock", "active", "store_id")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_PRICE = 10**9
MAX_STOCK = 10**9


def _code(value: Any) -> str:
    code = (value or "").strip() if isinstance(value, str) else ""
    if not _CODE.match(code):
        raise field_error("code", "Letters, digits, - and _ only (1 to 32).")
    return code.upper()


def _whole(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        if minimum:
            raise field_error(field, "A whole number greater than 0.")
        raise field_error(field, "A whole number, 0 or more.")
    return value


def _store_id(value: Any) -> int | None:
    if value is None:
        return None
    if db.session.get(Store, value) is None:
        raise field_error("store_id", "No such store.")
    return value


def _clean(changes: dict) -> dict:
    """The given fields checked and normalised (any subset of ITEM_FIELDS)."""
    clean: dict[str, Any] = {}
    if "code" in changes:
        clean["code"] = _code(changes["code"])
    if "name_zh" in changes:
        clean["name_zh"] = visible_text(changes["name_zh"], "name_zh")[:120]
    if "price" in changes:
        clean["price"] = _whole(changes["price"], "price", minimum=1, maximum=MAX_PRICE)
    if "stock" in changes:
        clean["stock"] = None if changes["stock"] is None else _whole(changes["stock"], "stock", minimum=0,
                                                                       maximum=MAX_STOCK)
    if "active" in changes:
        clean["active"] = bool(changes["active"])
    if "store_id" in changes:
        clean["store_id"] = _store_id(changes["store_id"])
    return clean


def _code_free(code: str, item_id: int | None = None) -> None:
    clash = db.session.execute(select(CatalogItem.id).where(CatalogItem.code == code)).scalar_one_or_none()
    if clash is not None and clash != item_id:
        raise Conflict("This code is already in the catalog.", code="catalog_code_taken",
                       fields={"code": ["Already in the catalog."]})


def create_item(actor, *, code: str, name_zh: str, price: int, stock: int | None = None, active: bool = True,
                store_id: int | None = None) -> CatalogItem:
    """A new catalog item (admin); audited."""
    values = _clean({"code": code, "name_zh": name_zh, "price": price, "stock": stock, "active": active,
                     "store_id": store_id})
    _code_free(values["code"])
    item = CatalogItem(**values)
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "catalog_item", item.id, "created", None, audit.snapshot(item, ITEM_FIELDS))
    return item


def get_item(actor, item_id: int) -> CatalogItem:
    """One item; a store-bound reader sees group-wide items and its store's (404 otherwise)."""
    item = db.session.get(CatalogItem, item_id)
    if item is None or (item.store_id is not None and not access.sees_all_stores(actor)
                        and item.store_id != actor.store_id):
        raise NotFound(code="catalog_item_not_found")
    return item


def update_item(actor, item_id: int, changes: dict) -> CatalogItem:
    """Change an item's fields (admin); audited with before and after. Redemptions already made
    keep the name and points they were made with."""
    item = get_item(actor, item_id)
    values = _clean(changes)
    if "code" in values:
        _code_free(values["code"], item.id)
    before = audit.snapshot(item, ITEM_FIELDS)
    for name, value in values.items():
        setattr(item, name, value)
    db.session.flush()
    after = audit.snapshot(item, ITEM_FIELDS)
    if after != before:
        audit.record(actor, "catalog_item", item.id, "updated", before, after)
    return item


def list_items(actor, *, store_id: int | None = None, active: bool | None = None, page: int = 1,
               per_page: int = 50) -> tuple[list[CatalogItem], int]:
    """The catalog, by code; with `store_id`, what that store's customers may redeem (group-wide
    items and the store's own). A store-bound reader reads only its store's part."""
    if not access.sees_all_stores(actor):
        access.ensure_store(actor, store_id if store_id is not None else actor.store_id)
        store_id = actor.store_id
    query = select(CatalogItem)
    if store_id is not None:
        query = query.where(or_(CatalogItem.store_id.is_(None), CatalogItem.store_id == store_id))
    if active is not None:
        query = query.where(CatalogItem.active.is_(active))
    return page_of(query.order_by(CatalogItem.code, CatalogItem.id), page, per_page)


def offered_to(store_id: int) -> list[CatalogItem]:
    """What the service desk may redeem for a customer of `store_id`: active items, by price."""
    return list(db.session.execute(
        select(CatalogItem).where(CatalogItem.active.is_(True),
                                  or_(CatalogItem.store_id.is_(None), CatalogItem.store_id == store_id))
        .order_by(CatalogItem.price, CatalogItem.code)).scalars())


def in_stock(items: list[CatalogItem]) -> list[CatalogItem]:
    """The items a redemption can still take: uncounted, or with a unit left (not 已售罄)."""
    return [item for item in items if item.stock is None or item.stock > 0]


def resolve(ref: Any, store_id: int) -> CatalogItem:
    """The item a redemption names (its id, or its code), if a customer of `store_id` may
    redeem it: active, group-wide or that store's own. Anything else is a field error on `item`."""
    if isinstance(ref, bool):
        ref = None
    if isinstance(ref, str) and ref.strip().isdigit():
        ref = int(ref.strip())
    item = None
    if isinstance(ref, int):
        item = db.session.get(CatalogItem, ref)
    elif isinstance(ref, str) and _CODE.match(ref.strip()):
        item = db.session.execute(select(CatalogItem).where(CatalogItem.code == ref.strip().upper())).scalar_one_or_none()
    if item is None or not item.active or item.store_id not in (None, store_id):
        raise field_error("item", "Pick an item of the redemption catalog.", code="catalog_item_unknown")
    return item


def take_stock(item: CatalogItem, quantity: int) -> None:
    """Take `quantity` units: one UPDATE that checks and decrements together (the row lock it
    takes orders concurrent redemptions; the loser re-reads the stock and finds it short).
    Items without a stock are not counted."""
    if item.stock is None:
        return
    done = db.session.execute(
        update(CatalogItem).where(CatalogItem.id == item.id, CatalogItem.stock >= quantity)
        .values(stock=CatalogItem.stock - quantity).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(item, ["stock"])
        raise RuleViolation("Not enough of this item in stock.", code="out_of_stock",
                            fields={"quantity": ["More than the stock left."]})
    db.session.refresh(item, ["stock"])
