"""Forms of the referral pages (CSRF on each)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class RegistrationForm(FlaskForm):
    referee_name = StringField(_l("New customer's name"), validators=[DataRequired(), Length(max=60)])
    referee_phone = StringField(_l("New customer's phone"), validators=[DataRequired(), Length(max=32)])
    referee_gender = SelectField(_l("Title"), choices=[SelectChoice("", "—"), SelectChoice("male", _l("Mr")),
                                          SelectChoice("female", _l("Ms"))],
                                 validators=[Optional()])
    referrer_name = StringField(_l("Old customer's name (as the new customer says)"),
                                validators=[DataRequired(), Length(max=60)])
    referrer_phone = StringField(_l("Old customer's phone"), validators=[DataRequired(), Length(max=32)])
    referrer_model = StringField(_l("Old customer's car model"), validators=[DataRequired(), Length(max=60)])
    referrer_colour = StringField(_l("Old customer's car colour"), validators=[DataRequired(), Length(max=30)])

    def registration(self) -> dict:
        """What register_at_showroom takes: every field, no title given as None."""
        data = {k: v for k, v in self.data.items() if k != "csrf_token"}
        return {**data, "referee_gender": data["referee_gender"] or None}


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("accept", _l("Accept")), SelectChoice("reject", _l("Reject"))],
                          validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])
