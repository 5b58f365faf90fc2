"""Forms of the callback pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class ConfirmationForm(FlaskForm):
    """A manager settles a passing verdict held because its plan was weak (CB-11)."""
    decision = SelectField(_l("Decision"), choices=[
        SelectChoice("verified", _l("Confirm: verified")),
        SelectChoice("unverifiable", _l("Not confirmed: release the reward back"))], validators=[DataRequired()])
    reason = TextAreaField(_l("What you checked"), validators=[DataRequired(), Length(max=500)])
