"""The home page's work queue (工作队列): what waits for the viewer's role, as tiles.

`loyalty` never imports `verification` (except the composition root), yet a manager's home shows
referrals: each side registers providers on the app (`provide`), and the home page asks them. A
provider takes the actor and returns tiles, each counted by a service function (one grouped query
per provider, scoped by the viewer's stores). The admin's store health is a table whose columns are
registered the same way (`store_column`): a label and a count per store id.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from flask_babel import gettext as _

from loyalty import clock
from loyalty.directory import service as directory


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Tile:
    """One count on a home page: what waits, how many, since when; where the list of them is."""
    key: str
    label: str
    count: int
    href: str | None = None
    oldest: datetime | None = None
    total: int | None = None  # fen, when what waits is money
    note: str | None = None
    items: tuple[Link, ...] = ()


Provider = Callable[[object], list[Tile]]
StoreCounter = Callable[[object], dict[int, int]]


def _registry(app: Flask) -> dict:
    return app.extensions.setdefault("worklists", {"tiles": {}, "stores": []})


def provide(app: Flask, role: str, provider: Provider) -> None:
    """`provider(actor)` adds tiles to the home page of `role`."""
    _registry(app)["tiles"].setdefault(role, []).append(provider)


def store_column(app: Flask, key: str, label, counter: StoreCounter) -> None:
    """A column of the admin's store health: `counter(actor)` gives {store id: count}."""
    _registry(app)["stores"].append((key, label, counter))


def tiles_for(actor) -> list[Tile]:
    return [tile for provider in _registry(current_app)["tiles"].get(actor.role, ()) for tile in provider(actor)]


def store_health(actor) -> tuple[list[tuple[str, str]], list[tuple[object, list[int]]]]:
    """The columns (key, label) and, per store the actor sees, its count in each column."""
    columns = _registry(current_app)["stores"]
    counts = [counter(actor) for _key, _label, counter in columns]
    rows = [(store, [found.get(store.id, 0) for found in counts]) for store in directory.list_stores(actor)]
    return [(key, str(label)) for key, label, _counter in columns], rows


def waited(since: datetime | None) -> str:
    """How long the oldest item has waited, in words: '3 小时', '2 天'."""
    if since is None:
        return ""
    minutes = max(0, int((clock.now() - since).total_seconds() // 60))
    if minutes < 60:
        return _("%(count)s min", count=minutes)
    if minutes < 48 * 60:
        return _("%(count)s h", count=minutes // 60)
    return _("%(count)s d", count=minutes // (24 * 60))
