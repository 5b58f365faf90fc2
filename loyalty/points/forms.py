"""Forms of the service desk (服务台) and the catalog page (CSRF on each).

Each desk form carries a hidden `key` made when the page is drawn: the service uses it as the
idempotency key of the points it moves, so a double click or a resubmitted form moves them once.
"""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from loyalty.limits import MAX_FEN
from loyalty.web.forms import YuanField
from loyalty.web.money import fen_to_yuan_grouped


def new_key() -> str:
    return f"desk-{uuid.uuid4().hex}"


class _Keyed(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=80)], default=new_key)


class VisitForm(_Keyed):
    amount = YuanField(_l("Amount paid for the visit (¥)"), validators=[InputRequired()])

    def validate_amount(self, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("Enter an amount greater than 0."))
        if field.data is not None and field.data > MAX_FEN:
            raise ValidationError(_l("Enter an amount of at most ¥%(high)s.", high=fen_to_yuan_grouped(MAX_FEN)))


class RedeemForm(_Keyed):
    item = SelectField(_l("Catalog item"), coerce=int, validators=[InputRequired()], validate_choice=False)
    quantity = IntegerField(_l("Quantity"), default=1, validators=[InputRequired(), NumberRange(min=1, max=1000)])


class CatalogItemForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{1,32}$", message=_l(
        "Letters, digits, - and _ only (1 to 32)."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=120)])
    price = IntegerField(_l("Price in points"), validators=[InputRequired(), NumberRange(min=1, max=10**9)])
    stock = IntegerField(_l("Stock (empty: not counted)"), validators=[Optional(), NumberRange(min=0, max=10**9)])
    store_id = SelectField(_l("Store"), coerce=int, default=0)
    active = BooleanField(_l("Active"), default=True)

    def values(self) -> dict:
        return {"code": self.code.data, "name_zh": self.name_zh.data, "price": self.price.data,
                "stock": self.stock.data, "store_id": self.store_id.data or None, "active": self.active.data}
