"""Request bodies and views of the delivery check and of deliveries on record."""
from __future__ import annotations

from flask_babel import gettext
from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate, validates_schema

from loyalty.auth import access
from loyalty.directory.identity import mask_phone
from loyalty.schemas import InputSchema, KeysetQuery, Schema, page_of
from verification.delivery.models import SOURCES

TRANSMISSION = validate.OneOf(["automatic", "manual"])


# ---- the delivery check -------------------------------------------------------------------

class CheckVehicleInSchema(InputSchema):
    """The new car handed over (needed only when no delivery is on record for the referee)."""
    model = fields.String(required=True, validate=validate.Length(min=1, max=60))
    colour = fields.String(required=True, validate=validate.Length(min=1, max=30))
    transmission = fields.String(required=True, validate=TRANSMISSION)
    vin = fields.String(allow_none=True, validate=validate.Length(max=17))
    plate = fields.String(allow_none=True, validate=validate.Length(max=16))


class LicenceSchema(InputSchema):
    """The referrer's vehicle licence (行驶证) as the manager reads it."""
    owner_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    plate = fields.String(required=True, validate=validate.Length(min=1, max=16))
    model = fields.String(required=True, validate=validate.Length(min=1, max=60), metadata={
        "description": "as the licence writes it, e.g. 大众汽车牌SVW7141BRD(速腾); a bare model code "
                       "cannot be compared: add the common name seen on the car in brackets"})
    vin = fields.String(allow_none=True, validate=validate.Length(max=17))
    colour = fields.String(allow_none=True, validate=validate.Length(max=30))


class DeliveryCheckInSchema(InputSchema):
    delivered_at = fields.AwareDateTime(format="iso", load_default=None, allow_none=True, metadata={
        "description": "required unless a delivery is on record for the referee; then it must fall on the "
                       "same local day (store timezone) as the delivery on record, whose time is used"})
    vehicle = fields.Nested(CheckVehicleInSchema, load_default=None, allow_none=True, metadata={
        "description": "required unless a delivery is on record; then it must agree with it"})
    licence = fields.Nested(LicenceSchema, required=True)


class ComparisonRowSchema(Schema):
    claim = fields.String(allow_none=True)
    licence = fields.String(allow_none=True)
    record = fields.String(allow_none=True)
    record_hidden = fields.Boolean(metadata={
        "description": "the record's value is withheld from the checker: his licence did not match it"})
    result = fields.String(metadata={"description": "match | mismatch | missing | unreadable"})
    note = fields.String(allow_none=True, metadata={"description": "brand_differs | code_only"})
    reading = fields.Dict(allow_none=True, metadata={"description": "the licence model read as brand, code, name"})


class DeliveryVehicleSchema(Schema):
    model = fields.String()
    colour = fields.String()
    transmission = fields.String()
    plate = fields.String(allow_none=True)
    vin = fields.String(allow_none=True)


class CheckedDeliverySchema(Schema):
    id = fields.Integer()
    source = fields.String()
    delivered_at = fields.DateTime()
    time_known = fields.Boolean()
    vehicle = fields.Nested(DeliveryVehicleSchema)


class DeliveryResultSchema(Schema):
    """The decided check, as the checking manager (and admins) read it."""
    id = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)
    checks = fields.Dict(metadata={"description": "field -> match | mismatch | missing | unreadable"})
    comparison = fields.Dict(keys=fields.String(), values=fields.Nested(ComparisonRowSchema), metadata={
        "description": "field -> the claim, the licence and the record side by side, with the result"})
    delivered_at = fields.DateTime()
    delivery_on_record = fields.Boolean(attribute="from_record")
    delivery = fields.Nested(CheckedDeliverySchema, allow_none=True)
    check_id = fields.Function(lambda r: r.record.id if r.record else None)


class DeliveryPreviewSchema(DeliveryResultSchema):
    """What deciding would do; nothing is decided."""
    outcome = fields.String(metadata={"description": "passed | licence_mismatch | late_claim | unreadable"})
    would_reject = fields.Boolean(attribute="rejects")
    messages = fields.Function(lambda r: [gettext(m) for m in r.messages])


class ReopenInSchema(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


# ---- deliveries on record -------------------------------------------------------------------

class RecordVehicleInSchema(CheckVehicleInSchema):
    vin = fields.String(required=True, validate=validate.Length(min=1, max=17))


class DeliveryCustomerInSchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    phone = fields.String(required=True, validate=validate.Length(min=3, max=32))


class DeliveryInSchema(InputSchema):
    store_id = fields.Integer(required=True, strict=True)
    customer_id = fields.Integer(strict=True, metadata={"description": "or `customer`"})
    customer = fields.Nested(DeliveryCustomerInSchema, metadata={
        "description": "found by phone (the name must agree), created if unknown"})
    delivered_at = fields.AwareDateTime(required=True, format="iso")
    vehicle = fields.Nested(RecordVehicleInSchema, required=True)

    @validates_schema
    def _one_customer(self, data, **kwargs):
        if ("customer_id" in data) == ("customer" in data):
            raise ValidationError("Give customer_id or customer (name and phone), not both.", "customer")


class DeliveryCustomerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.Method("_phone")

    def _phone(self, customer) -> str | None:
        if access.can_see_full_phone(access.current_actor()):
            return customer.phone
        return mask_phone(customer.phone)


class DeliverySchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    customer = fields.Nested(DeliveryCustomerSchema)
    delivered_at = fields.DateTime()
    time_known = fields.Boolean(metadata={"description": "false: the sales system gave only the day"})
    vehicle = fields.Nested(DeliveryVehicleSchema, allow_none=True, metadata={
        "description": "admins, and the staff member who recorded the delivery; else null: a delivered car "
                       "is part of the answer key once its owner refers a friend (SEC-5)"})
    source = fields.String(metadata={"description": "check | api | dms"})
    referral_id = fields.Integer(allow_none=True)
    recorded_by_id = fields.Integer()
    recorded_at = fields.DateTime()


class DeliveryQuery(KeysetQuery):
    store_id = fields.Integer()
    customer_id = fields.Integer()
    vin = fields.String(validate=validate.Length(max=17))
    source = fields.String(validate=validate.OneOf(SOURCES))


DeliveryPage = page_of(DeliverySchema)


def sees_vehicle(viewer, delivery) -> bool:
    """Admins read every delivered car; other staff only the deliveries they recorded (SEC-5)."""
    return viewer is not None and (viewer.role == "admin" or delivery.recorded_by_id == viewer.id)


class DeliveryView(DeliverySchema):
    """A delivery as `viewer` may read it: the car only where `sees_vehicle`."""
    vehicle = fields.Method("_vehicle", allow_none=True)

    def __init__(self, viewer, **kwargs):
        super().__init__(**kwargs)
        self.viewer = viewer

    def _vehicle(self, delivery):
        return DeliveryVehicleSchema().dump(delivery.vehicle) if sees_vehicle(self.viewer, delivery) else None


class ImportFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8 with or without BOM, GB18030 or UTF-16; "
                                                          "comma or tab), the sales system's delivery export"})


class ImportFormSchema(Schema):
    store_id = fields.Integer(metadata={"description": "the store the rows belong to (default: your store); "
                                                       "a 门店/store column overrides it per row"})


class ImportRowSchema(Schema):
    line = fields.Integer()
    outcome = fields.String(metadata={"description": "created | on_record | error"})
    vin = fields.String(allow_none=True)
    customer = fields.String(allow_none=True)
    delivery_id = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.Function(lambda r: gettext(r.message) if r.message else None)
    field_errors = fields.Function(lambda r: {k: [gettext(m) for m in v] for k, v in r.fields.items()},
                                   data_key="fields")


class ImportReportSchema(Schema):
    created = fields.Integer()
    on_record = fields.Integer()
    errors = fields.Integer()
    rows = fields.List(fields.Nested(ImportRowSchema))
