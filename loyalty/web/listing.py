"""What every list page reads from its query string the same way (issue 15 item 3): a status
from a known set, a store, a consultant, a date range (calendar days of the group), a search
text and the keyset cursor; a bad date is a field error shown at its box, nothing else breaks.

    filters, errors = list_filters(request.args, statuses=STATUSES)
    page = lists.referral_page(g.actor, **filters)   # filters carry `cursor` and `per_page`
"""
from __future__ import annotations

from loyalty.errors import ValidationFailed
from loyalty.schemas import parse_day
from loyalty.web.blueprint import bp
from loyalty.web.tables import period

PER_PAGE = 50
MAX_PER_PAGE = 200


def _day(args, name: str, errors: dict):
    try:
        return parse_day(args.get(name), name)
    except ValidationFailed as error:
        errors.update(error.fields)
        return None


def list_filters(args, *, statuses: tuple[str, ...] = (), people: bool = True, search: bool = True,
                 status_default=None) -> tuple[dict, dict[str, list[str]]]:
    """(the service's keyword filters, field errors) of a list page's query string."""
    errors: dict[str, list[str]] = {}
    start, end = period(_day(args, "from", errors), _day(args, "to", errors))
    status = args.get("status") or None  # none chosen: the default; "all" (or unknown): every status
    filters: dict = {
        "status": status_default if status is None else status if status in statuses else None,
        "store_id": args.get("store_id", type=int),
        "date_from": start, "date_to": end,
        "cursor": args.get("cursor") or None,
        "per_page": min(max(args.get("per_page", PER_PAGE, type=int) or PER_PAGE, 1), MAX_PER_PAGE),
    }
    if people:
        filters["consultant_id"] = args.get("consultant_id", type=int)
    if search:
        filters["q"] = (args.get("q") or "").strip()[:60] or None
    return filters, errors


@bp.app_template_global()
def page_args(args, cursor: str | None, name: str = "cursor") -> dict:
    """The query string of the page a pager link goes to: the same filters, another cursor (in
    `name`: a page with several lists pages each by a cursor of its own)."""
    kept = {k: v for k, v in args.items() if k != name and v not in ("", None)}
    return {**kept, name: cursor} if cursor else kept
