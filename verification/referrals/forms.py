"""Forms of the referral pages (CSRF on each)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

TRANSMISSION_CHOICES = [SelectChoice("automatic", _l("Automatic")), SelectChoice("manual", _l("Manual"))]


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


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("accept", _l("Accept")), SelectChoice("reject", _l("Reject"))],
                          validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class DeliveryForm(FlaskForm):
    delivered_at = DateTimeLocalField(_l("Delivered at"), format=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
                                      validators=[DataRequired()])
    vehicle_model = StringField(_l("Model delivered"), validators=[DataRequired(), Length(max=60)])
    vehicle_colour = StringField(_l("Colour delivered"), validators=[DataRequired(), Length(max=30)])
    vehicle_transmission = SelectField(_l("Transmission"), choices=TRANSMISSION_CHOICES)
    vehicle_vin = StringField(_l("VIN of the new car"), validators=[Optional(), Length(max=17)])
    licence_owner_name = StringField(_l("Licence: owner name"), validators=[DataRequired(), Length(max=60)])
    licence_plate = StringField(_l("Licence: plate"), validators=[DataRequired(), Length(max=16)])
    licence_model = StringField(_l("Licence: brand and model"), validators=[DataRequired(), Length(max=60)])
    licence_vin = StringField(_l("Licence: VIN"), validators=[Optional(), Length(max=17)])
    licence_colour = StringField(_l("Colour as seen"), validators=[Optional(), Length(max=30)])
