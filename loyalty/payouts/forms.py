"""Forms of the finance queue (CSRF on each)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from loyalty.payouts.labels import METHOD_LABELS


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejecting"), validators=[DataRequired(), Length(max=500)])


class PaidForm(FlaskForm):
    method = SelectField(_l("Payment method"), validators=[DataRequired()],
                         choices=[SelectChoice(value, label) for value, label in METHOD_LABELS.items()])
    external_reference = StringField(_l("External reference"), validators=[DataRequired(), Length(max=100)],
                                     description=_l(
                                         "Bank, WeChat Pay or Alipay transaction number, or receipt number."))

    def payment(self) -> dict:
        return {"method": self.method.data, "external_reference": self.external_reference.data}
