"""The messages of an error body's `fields` in the caller's language (issue 15 item 5/7).

The services and marshmallow write field messages in English; app.py's one error response
(`_error_response`) passes `fields` through `translate_fields`, so an API caller with
`Accept-Language: zh-CN` (the default) reads them in Chinese, as `message` already was.

Each message is looked up in the catalog as it stands (our own messages: field_error's,
N_()'s, the schemas' `error=`); marshmallow's and webargs' own messages are listed below so
the catalog holds them; those marshmallow formats with a value (`Length`, `Range`, `OneOf`,
...) are matched by pattern and translated with the value put back. A message that matches
nothing stays as it is.
"""
from __future__ import annotations

import re

from flask_babel import gettext


def N_(message: str) -> str:
    """Mark for extraction (babel.cfg); translated in `translate_message`."""
    return message


# marshmallow's field and schema messages, and webargs' 400 (exact text).
LIBRARY_MESSAGES = (
    N_("Missing data for required field."), N_("Field may not be null."), N_("Invalid value."),
    N_("Invalid type."), N_("Not a valid list."), N_("Not a valid string."), N_("Not a valid utf-8 string."),
    N_("Not a valid number."), N_("Number too large."), N_("Not a valid integer."),
    N_("Special numeric values (nan or infinity) are not permitted."), N_("Not a valid boolean."),
    N_("Not a valid datetime."), N_("Not a valid aware datetime."), N_("Not a valid naive datetime."),
    N_("Not a valid date."), N_("Not a valid time."), N_("Not a valid mapping type."),
    N_("Not a valid email address."), N_("Not a valid URL."), N_("Not a valid UUID."), N_("Not a valid tuple."),
    N_("Invalid input type."), N_("Unknown field."), N_("String does not match expected pattern."),
    N_("Invalid input."), N_("Invalid JSON body."),
)

_VALUE = r"(?P<{}>\S+)"  # a bound of Range / Length: a number or a date
# marshmallow's messages that carry a value: (its English, as a catalog msgid with %(name)s).
# Most specific first: "greater than or equal to" before "greater than".
_FORMATS = (
    N_("Length must be between %(min)s and %(max)s."), N_("Length must be %(equal)s."),
    N_("Shorter than minimum length %(min)s."), N_("Longer than maximum length %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than %(min)s and less than %(max)s."),
    N_("Must be greater than or equal to %(min)s."), N_("Must be greater than %(min)s."),
    N_("Must be less than or equal to %(max)s."), N_("Must be less than %(max)s."),
    N_("Must be one of: %(choices)s."), N_("Must be equal to %(other)s."),
    N_("One or more of the choices you made was not in: %(choices)s."),
    N_("One or more of the choices you made was in: %(values)s."),
)
_FREE_TEXT = {"choices", "other", "values"}  # lists of choices may hold spaces


def _pattern(msgid: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", msgid)
    regex = "".join(re.escape(part) if i % 2 == 0 else
                    (f"(?P<{part}>.+)" if part in _FREE_TEXT else _VALUE.format(part))
                    for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


_PATTERNS = tuple((_pattern(msgid), msgid) for msgid in _FORMATS)


def translate_message(message) -> str:
    text = str(message)
    translated = gettext(text)
    if translated != text:
        return translated
    for pattern, msgid in _PATTERNS:
        match = pattern.match(text)
        if match:
            return gettext(msgid, **match.groupdict())
    return text


def translate_fields(fields):
    """The same shape (nested schemas, list indexes), every message translated."""
    if isinstance(fields, dict):
        return {name: translate_fields(value) for name, value in fields.items()}
    if isinstance(fields, (list, tuple)):
        return [translate_fields(value) for value in fields]
    return translate_message(fields)
