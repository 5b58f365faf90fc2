"""What each role sees of stores, staff and customers, and what they may send."""
from __future__ import annotations

from marshmallow import fields, validate

from loyalty.auth import access
from loyalty.directory.identity import mask_phone
from loyalty.directory.models import GENDERS, POLICY_FIELDS, ROLES, TRANSMISSIONS
from loyalty.schemas import InputSchema, PageQuery, Schema, page_of

_name = validate.Length(min=1, max=120)
# The columns are 32-bit integers (PostgreSQL `integer`): a bigger number is a field error, not a 500.
INT_MAX = 2**31 - 1


def _int(min: int = 0, max: int = INT_MAX, **kwargs) -> fields.Integer:
    """A whole number in a JSON body: strict, so 1.5 or "7" is refused instead of silently truncated."""
    return fields.Integer(strict=True, validate=validate.Range(min=min, max=max), **kwargs)


def _id(**kwargs) -> fields.Integer:
    return _int(1, INT_MAX, **kwargs)


class PolicySchema(Schema):
    reward_amount = _int(1, metadata={"description": "fen for CNY, whole points for PTS"})
    reward_unit = fields.String(validate=validate.OneOf(["CNY", "PTS"]))
    registration_window_days = _int(1, 3650)
    velocity_limit = _int(1, 10000)
    velocity_window_days = _int(1, 3650)
    callback_delay_min_hours = _int(0, 24 * 365)
    callback_delay_max_hours = _int(0, 24 * 365)
    calling_hours_start = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    calling_hours_end = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    callback_attempts = _int(1, 20)
    two_approver_threshold = _int(1)
    consultant_penalty = _int(0)
    fen_per_point = _int(1)
    points_expiry_months = _int(1, 600)
    clawback_window_days = _int(0, 3650)


assert set(PolicySchema._declared_fields) == set(POLICY_FIELDS)


class PolicyInSchema(PolicySchema, InputSchema):
    """Partial: only the fields sent change."""


class StoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String()
    name = fields.String()
    timezone = fields.String()
    active = fields.Boolean()
    policy = fields.Nested(PolicySchema)


class StoreInSchema(InputSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=_name)
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))


class StorePatchSchema(InputSchema):
    code = fields.String(validate=validate.Length(min=1, max=32))
    name = fields.String(validate=_name)
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    active = fields.Boolean()


class StaffSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    store_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class StaffInSchema(InputSchema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_.-]{3,64}$", error="3–64 letters, digits, _ . or -."))
    display_name = fields.String(required=True, validate=_name)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    store_id = _id(required=True, allow_none=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))


class StaffPatchSchema(InputSchema):
    display_name = fields.String(validate=_name)
    role = fields.String(validate=validate.OneOf(ROLES))
    store_id = _id(allow_none=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=256))


class VehicleSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    model = fields.String()
    colour = fields.String()
    transmission = fields.String()
    plate = fields.String(allow_none=True)
    vin = fields.String(allow_none=True)


class VehicleInSchema(InputSchema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=60))
    colour = fields.String(required=True, validate=validate.Length(min=1, max=30))
    transmission = fields.String(required=True, validate=validate.OneOf(TRANSMISSIONS))
    plate = fields.String(allow_none=True, validate=validate.Length(max=16))
    vin = fields.String(allow_none=True, validate=validate.Length(max=17))


class CustomerSchema(Schema):
    """Staff view: the phone masked (138****8000) unless the viewer is an admin (SEC-3)."""
    id = fields.Integer()
    store_id = fields.Integer()
    name = fields.String()
    gender = fields.String(allow_none=True)
    phone = fields.Method("_phone")
    national_id_last4 = fields.String(allow_none=True)
    employer = fields.String(allow_none=True)
    home_district = fields.String(allow_none=True)
    business = fields.String(allow_none=True)
    occupation = fields.String(allow_none=True)
    vehicles = fields.List(fields.Nested(VehicleSchema))

    def _phone(self, customer) -> str:
        if access.can_see_full_phone(access.current_actor()):
            return customer.phone
        return mask_phone(customer.phone)


class CustomerInSchema(InputSchema):
    store_id = _id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    phone = fields.String(required=True, validate=validate.Length(min=3, max=32))
    national_id = fields.String(allow_none=True, load_only=True, validate=validate.Length(max=32))
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    employer = fields.String(allow_none=True, validate=validate.Length(max=120))
    home_district = fields.String(allow_none=True, validate=validate.Length(max=120))
    business = fields.String(allow_none=True, validate=validate.Length(max=120))
    occupation = fields.String(allow_none=True, validate=validate.Length(max=60))


class CustomerPatchSchema(InputSchema):
    name = fields.String(validate=validate.Length(min=1, max=60))
    phone = fields.String(validate=validate.Length(min=3, max=32))
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    employer = fields.String(allow_none=True, validate=validate.Length(max=120))
    home_district = fields.String(allow_none=True, validate=validate.Length(max=120))
    business = fields.String(allow_none=True, validate=validate.Length(max=120))
    occupation = fields.String(allow_none=True, validate=validate.Length(max=60))


class CustomerQuery(PageQuery):
    q = fields.String()
    phone = fields.String()
    store_id = fields.Integer(validate=validate.Range(min=1, max=INT_MAX))


CustomerPage = page_of(CustomerSchema)
StoreList = page_of(StoreSchema)
StaffList = page_of(StaffSchema)
