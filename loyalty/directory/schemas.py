"""What each role sees of stores, staff and customers, and what they may send."""
from __future__ import annotations

from marshmallow import fields, validate

from loyalty.auth.schemas import StaffSchema  # noqa: F401  (re-exported)
from loyalty.directory.identity import mask_phone
from loyalty.directory.models import GENDERS, POLICY_FIELDS, ROLES, TRANSMISSIONS
from loyalty.errors import Forbidden
from loyalty.schemas import InputSchema, KeysetQuery, Schema, StrictBoolean, page_of

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
    insider_pass_limit_bp = _int(1, 10000, metadata={
        "description": "CB-11: highest estimated chance, in basis points (500 = 5 %), that a callee coached "
                       "by the referral's own staff passes; above it the plan is strengthened or a manager "
                       "confirms the verdict"})
    # ring detection (issue 17): verification/rings/README.md defines each
    ring_review_score = _int(1, 1000, metadata={"description": "risk score from which a registration goes to "
                                                "review and its payout needs two approvers"})
    ring_window_days = _int(1, 3650)
    ring_concentration_min = _int(2, 10000)
    ring_concentration_pct = _int(1, 100)
    ring_spread_days = _int(1, 3650)
    ring_spread_consultants = _int(2, 1000)
    ring_shared_min = _int(2, 1000)
    ring_fact_edit_days = _int(1, 365)
    ring_pair_min = _int(2, 10000)
    ring_pair_factor_pct = _int(100, 10000)


assert set(PolicySchema._declared_fields) == set(POLICY_FIELDS)


class PolicyInSchema(PolicySchema, InputSchema):
    """Partial: only the fields sent change."""


class StoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String()
    name = fields.String()
    timezone = fields.String()
    active = StrictBoolean()
    policy = fields.Nested(PolicySchema)


class StoreInSchema(InputSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=_name)
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))


class StorePatchSchema(InputSchema):
    code = fields.String(validate=validate.Length(min=1, max=32))
    name = fields.String(validate=_name)
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    active = StrictBoolean()


class StaffInSchema(InputSchema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_.-]{3,64}$", error="3–64 letters, digits, _ . or -."))
    display_name = fields.String(required=True, validate=_name)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    store_id = _id(required=True, allow_none=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32),
                          metadata={"description": "kept in E.164; compared with customers' (issue 17)"})
    national_id = fields.String(allow_none=True, load_only=True, validate=validate.Length(max=32),
                                metadata={"description": "kept only as a keyed hash + last 4 (SEC-3)"})


class StaffAdminView(StaffSchema):
    """What an admin reads of a staff account: also the phone and the national ID's last 4 (issue 17)."""
    phone = fields.String(allow_none=True)
    national_id_last4 = fields.String(allow_none=True)


class StaffPatchSchema(InputSchema):
    display_name = fields.String(validate=_name)
    role = fields.String(validate=validate.OneOf(ROLES))
    store_id = _id(allow_none=True)
    active = StrictBoolean()
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=256))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32), metadata={"description": "'' clears"})
    national_id = fields.String(allow_none=True, load_only=True, validate=validate.Length(max=32),
                                metadata={"description": "'' clears"})


class VehicleSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    model = fields.String()
    colour = fields.String()
    transmission = fields.String()
    plate = fields.String(allow_none=True)
    vin = fields.String(allow_none=True)


class VehicleRecordSchema(VehicleSchema):
    """A vehicle with its provenance (CB-10): for admins."""
    recorded_at = fields.DateTime(attribute="created_at")
    recorded_by_id = fields.Integer(allow_none=True)
    desk = fields.String()


class VehicleInSchema(InputSchema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=60))
    colour = fields.String(required=True, validate=validate.Length(min=1, max=30))
    transmission = fields.String(required=True, validate=validate.OneOf(TRANSMISSIONS))
    plate = fields.String(allow_none=True, validate=validate.Length(max=16))
    vin = fields.String(allow_none=True, validate=validate.Length(max=17),
                        metadata={"pattern": r"^([A-HJ-NPR-Za-hj-npr-z0-9]{17})?$",
                                  "description": "17 letters and digits, no I, O or Q (empty: none)"})


# ---- who reads what of a customer (SEC-3, SEC-5) ----------------------------------------
#
# The verification facts (employer, home district, business, occupation) and the vehicles are the
# callback's answer key. A consultant or manager may enter them and never reads them back: the
# showroom view carries the name, the masked phone and only the vehicles the viewer recorded
# himself (the cars he delivered). Managers see a referrer's vehicle inside the delivery check and a
# reviewing manager the one fact under review (those views live with the check and the review);
# admins read everything, with the history of every value. Agents and finance have no customer view.

class CustomerSchema(Schema):
    """What the API documents: every field a view may carry. Each role's view carries a subset."""
    id = fields.Integer()
    store_id = fields.Integer()
    name = fields.String()
    gender = fields.String(allow_none=True)
    phone = fields.String(metadata={"description": "masked (138****8000) except for admins (SEC-3)"})
    national_id_last4 = fields.String(allow_none=True)
    employer = fields.String(allow_none=True, metadata={"description": "admins only (SEC-5)"})
    home_district = fields.String(allow_none=True, metadata={"description": "admins only (SEC-5)"})
    business = fields.String(allow_none=True, metadata={"description": "admins only (SEC-5)"})
    occupation = fields.String(allow_none=True, metadata={"description": "admins only (SEC-5)"})
    vehicles = fields.List(fields.Nested(VehicleRecordSchema), metadata={
        "description": "admins: all, with provenance; showroom staff: the vehicles they recorded (SEC-5)"})


class _ViewerSchema(Schema):
    """A view that depends on who is looking."""
    def __init__(self, viewer, **kwargs):
        super().__init__(**kwargs)
        self.viewer = viewer


class CustomerShowroomView(_ViewerSchema):
    """Consultants and managers: no verification fact, only the vehicles they recorded."""
    id = fields.Integer()
    store_id = fields.Integer()
    name = fields.String()
    gender = fields.String(allow_none=True)
    phone = fields.Function(lambda c: mask_phone(c.phone))
    national_id_last4 = fields.String(allow_none=True)
    vehicles = fields.Method("_own_vehicles")

    def _own_vehicles(self, customer) -> list[dict]:
        mine = [v for v in customer.vehicles if self.viewer is not None and v.recorded_by_id == self.viewer.id]
        return VehicleSchema(many=True).dump(mine)


class CustomerAdminView(_ViewerSchema):
    """Admins: everything, the full phone, and each vehicle's provenance."""
    id = fields.Integer()
    store_id = fields.Integer()
    name = fields.String()
    gender = fields.String(allow_none=True)
    phone = fields.String()
    national_id_last4 = fields.String(allow_none=True)
    employer = fields.String(allow_none=True)
    home_district = fields.String(allow_none=True)
    business = fields.String(allow_none=True)
    occupation = fields.String(allow_none=True)
    vehicles = fields.List(fields.Nested(VehicleRecordSchema))


class CustomerServiceView(_ViewerSchema):
    """Service advisors (服务顾问): who the customer is, the phone masked, no verification fact and
    no vehicle. The service desk does not need the record of model, colour and transmission (it
    has the car in front of it, found by its plate), and those are the callback's answer key: an
    advisor is a colleague the referral's consultant could ask (SEC-5)."""
    id = fields.Integer()
    store_id = fields.Integer()
    name = fields.String()
    gender = fields.String(allow_none=True)
    phone = fields.Function(lambda c: mask_phone(c.phone))


CUSTOMER_VIEWS: dict[str, type[_ViewerSchema]] = {
    "admin": CustomerAdminView, "consultant": CustomerShowroomView, "manager": CustomerShowroomView,
    "service": CustomerServiceView}


def customer_view(viewer, customers, *, many: bool = False):
    """The customer(s) as `viewer`'s role may read them; a role with no view reads nothing."""
    view = CUSTOMER_VIEWS.get(getattr(viewer, "role", None))
    if view is None:
        raise Forbidden(code="role_forbidden")
    return view(viewer, many=many).dump(customers)


class FactVersionSchema(Schema):
    id = fields.Integer()
    fact = fields.String()
    value = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    recorded_by_id = fields.Integer(allow_none=True)
    recorded_by = fields.Function(lambda v: v.recorded_by.display_name if v.recorded_by else None)
    desk = fields.String()


class FactHistorySchema(Schema):
    """Every value a customer's verification facts and vehicles ever had (admins, CB-10)."""
    facts = fields.List(fields.Nested(FactVersionSchema))
    vehicles = fields.List(fields.Nested(VehicleRecordSchema))


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


class CustomerQuery(KeysetQuery):
    q = fields.String(validate=validate.Length(max=60), metadata={
        "description": "a name or part of it, a phone (whole, or as the caller may search it) or a whole plate"})
    phone = fields.String()
    store_id = fields.Integer(validate=validate.Range(min=1, max=INT_MAX))


CustomerPage = page_of(CustomerSchema)
StoreList = page_of(StoreSchema)
StaffList = page_of(StaffSchema)
