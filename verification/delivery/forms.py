"""Forms of the delivery pages (CSRF on each)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from loyalty import clock
from loyalty.schemas import FIRST_DAY, LAST_DAY


def sane_day(form, field) -> None:
    """The same range as every API date (loyalty.schemas.sane_moment): year 1 is a typo, not a delivery."""
    if field.data is not None and not FIRST_DAY <= field.data.date() <= LAST_DAY:
        raise ValidationError(_l("Use a date from 1970-01-01 to 2999-12-31."))


TRANSMISSION_CHOICES = [SelectChoice("", "—"), SelectChoice("automatic", _l("Automatic")),
                        SelectChoice("manual", _l("Manual"))]


class DeliveryForm(FlaskForm):
    """The delivery check. The new car's fields are needed only when no delivery is on record."""
    delivered_at = DateTimeLocalField(_l("Delivered at"), format=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
                                      validators=[Optional(), sane_day])
    vehicle_model = StringField(_l("Model delivered"), validators=[Optional(), Length(max=60)])
    vehicle_colour = StringField(_l("Colour delivered"), validators=[Optional(), Length(max=30)])
    vehicle_transmission = SelectField(_l("Transmission"), choices=TRANSMISSION_CHOICES, validators=[Optional()])
    vehicle_vin = StringField(_l("VIN of the new car"), validators=[Optional(), Length(max=17)])
    licence_owner_name = StringField(_l("Licence: owner name"), validators=[DataRequired(), Length(max=60)])
    licence_plate = StringField(_l("Licence: plate"), validators=[DataRequired(), Length(max=16)])
    licence_model = StringField(_l("Licence: brand and model"), validators=[DataRequired(), Length(max=60)],
                                description=_l("As the licence writes it, e.g. 大众汽车牌SVW7141BRD(速腾). If it "
                                               "gives only a model code, add the common name seen on the car "
                                               "in brackets."))
    licence_vin = StringField(_l("Licence: VIN"), validators=[Optional(), Length(max=17)])
    licence_colour = StringField(_l("Colour as seen"), validators=[Optional(), Length(max=30)])

    @classmethod
    def for_check(cls, zone: ZoneInfo, on_record) -> DeliveryForm:
        """The form; on first view without a delivery on record, the time defaults to now in the
        store's timezone (usually the car leaves now)."""
        form = cls()
        if not form.is_submitted() and on_record is None:
            form.delivered_at.data = clock.now().astimezone(zone).replace(tzinfo=None, microsecond=0)
        return form

    @staticmethod
    def pressed() -> str | None:
        """The button pressed: the check (None), "edit" or "confirm" (not a field: the confirmation
        page posts every field back as a hidden input)."""
        return request.form.get("action")

    def ready(self) -> bool:
        """Submitted, valid, and not the "edit" button (which shows the form again)."""
        return self.validate_on_submit() and self.pressed() != "edit"

    def entered(self, zone: ZoneInfo) -> dict:
        """What check_delivery / review_delivery take: the times in the store's timezone, the new
        car only if any of its fields was typed, and whether the manager confirmed a rejection."""
        d = self.data
        vehicle = {"model": d["vehicle_model"], "colour": d["vehicle_colour"],
                   "transmission": d["vehicle_transmission"] or None, "vin": d["vehicle_vin"] or None}
        typed = any((d["vehicle_model"], d["vehicle_colour"], d["vehicle_transmission"], d["vehicle_vin"]))
        return {"delivered_at": d["delivered_at"].replace(tzinfo=zone) if d["delivered_at"] else None,
                "vehicle": vehicle if typed else None, "confirmed": self.pressed() == "confirm",
                "licence": {"owner_name": d["licence_owner_name"], "plate": d["licence_plate"],
                            "model": d["licence_model"], "vin": d["licence_vin"] or None,
                            "colour": d["licence_colour"] or None}}


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Why the check is reopened"), validators=[DataRequired(), Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField(_l("Export of the sales system (CSV)"), validators=[FileRequired()],
                     description=_l("UTF-8 or GBK (as Excel saves it), comma or tab separated; columns such as "
                                    "客户姓名, 手机, 交车时间, 车型, 颜色, 变速箱, 车牌, VIN."))
    store_id = SelectField(_l("Store"), coerce=lambda v: int(v) if v else None, validators=[Optional()])

    @classmethod
    def for_stores(cls, stores) -> ImportForm:
        form = cls()
        form.store_id.choices = [("", "—")] + [(s.id, f"{s.code} {s.name}") for s in stores]
        return form

    def upload(self) -> dict:
        """What dms.import_deliveries takes: the file's bytes and name, the store chosen."""
        return {"data": self.file.data.read(), "filename": self.file.data.filename, "store_id": self.store_id.data}
