"""Forms of the finance queue (CSRF on each)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
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


class BulkApproveForm(FlaskForm):
    """The ticked payouts of the finance queue (`ids`), approved one by one (loyalty.payouts.bulk)."""
    payout_ids = SelectMultipleField(coerce=int, validators=[DataRequired()], validate_choice=False)

    def ids(self) -> list[int]:
        return [i for i in self.payout_ids.data or [] if isinstance(i, int) and 0 < i < 2**62]
