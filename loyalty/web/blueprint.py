"""The one blueprint every page module registers its routes on, and its template filters."""
from flask import Blueprint

from loyalty.web.money import fen_to_yuan_grouped

bp = Blueprint("web", __name__)


@bp.app_template_filter("yuan")
def yuan(fen: int | None) -> str:
    """Integer fen shown as yuan on a page: 450000 → '4,500.00' (exports write plain numbers)."""
    return fen_to_yuan_grouped(fen)


@bp.app_template_filter("grouped")
def grouped(number: int | None) -> str:
    """A count (points) on a page: 999999999 → '999,999,999' (exports keep plain numbers)."""
    return "" if number is None else f"{int(number):,}"


@bp.app_template_filter("localtime")
def localtime(instant, zone: str = "Asia/Shanghai") -> str:
    """A stored UTC instant shown in a store's timezone: '2026-11-24 10:30'."""
    from zoneinfo import ZoneInfo
    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):  # a dumped view carries ISO 8601
        from datetime import datetime
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("dial")
def dial(phone: str | None) -> str:
    """A full E.164 number grouped as the agent dials it: '+8613712340001' → '+86 137 1234 0001'.
    Anything else (a masked '138****8000', a typo) is shown as it is."""
    import phonenumbers
    if not phone or not phone.startswith("+"):
        return phone or ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@bp.app_template_filter("localdate")
def localdate(instant, zone: str = "Asia/Shanghai") -> str:
    """The day of a stored UTC instant in a store's timezone: '2026-11-24'."""
    return localtime(instant, zone)[:10]
