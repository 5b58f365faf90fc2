"""Flask-WTF forms (CSRF on every one that posts).

Labels are English msgids (lazy_gettext) so the page follows the chosen language.
Money is typed in yuan and held as integer fen (YuanField); the service gets fen.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from loyalty.directory.models import ROLES
from loyalty.limits import MAX_FEN
from loyalty.web.labels import role_label
from loyalty.web.money import BadAmount, fen_to_yuan, fen_to_yuan_grouped, whole_number, yuan_to_fen

MAX_POINTS_REWARD = 100_000_000
_USERNAME = r"^[A-Za-z0-9_.-]{3,64}$"
_STORE_CODE = r"^[A-Za-z0-9_-]{1,32}$"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token: for buttons that POST (logout, language)."""


# ---- money --------------------------------------------------------------------

class YuanField(StringField):
    """Shown and typed in yuan ('500.00'); `data` is integer fen (50000)."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = yuan_to_fen(valuelist[0])
        except BadAmount:
            self.data = None
            raise ValueError(_l("Enter an amount in yuan with at most 2 decimals, e.g. 500 or 500.00.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return fen_to_yuan(self.data)


class PercentField(StringField):
    """Shown and typed as a percentage ('5' or '5.00'); `data` is integer basis points (500)."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = yuan_to_fen(valuelist[0].strip().removesuffix("%"))  # the same two-decimal arithmetic
        except BadAmount:
            self.data = None
            raise ValueError(_l("Enter a percentage with at most 2 decimals, e.g. 5 or 2.50.")) from None
        if not 1 <= self.data <= 10000:
            raise ValueError(_l("Enter a percentage from 0.01 to 100."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return fen_to_yuan(self.data) if self.data is not None else ""


def fen_range(minimum: int, maximum: int = MAX_FEN):
    def check(form, field):
        if field.data is not None and not minimum <= field.data <= maximum:
            raise ValidationError(_l("Enter an amount from %(low)s to %(high)s yuan.",
                                     low=fen_to_yuan(minimum), high=fen_to_yuan(maximum)))
    return check


# ---- stores -------------------------------------------------------------------

class StoreCreateForm(FlaskForm):
    code = StringField(_l("Store code"), validators=[
        DataRequired(), Regexp(_STORE_CODE, message=_l("1–32 letters, digits, _ or -."))],
        description=_l("A short unique code, e.g. SH01."))
    name = StringField(_l("Store name"), validators=[DataRequired(), Length(max=120)])
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai",
                           validators=[DataRequired(), Length(max=64)],
                           description=_l("An IANA time zone, e.g. Asia/Shanghai."))


class StoreEditForm(FlaskForm):
    name = StringField(_l("Store name"), validators=[DataRequired(), Length(max=120)])
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)],
                           description=_l("An IANA time zone, e.g. Asia/Shanghai."))
    active = BooleanField(_l("Active"))

    def changes(self) -> dict:
        return {"name": self.name.data.strip(), "timezone": self.timezone.data.strip(),
                "active": bool(self.active.data)}


# ---- store policy -------------------------------------------------------------

def _days(label, description, low=1, high=3650):
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)],
                        description=description)


def _int(label, low, high, description):
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)],
                        description=description)


RING_FIELDS = ("ring_review_score", "ring_window_days", "ring_concentration_min", "ring_concentration_pct",
               "ring_spread_days", "ring_spread_consultants", "ring_shared_min", "ring_fact_edit_days",
               "ring_pair_min", "ring_pair_factor_pct")


class PolicyForm(FlaskForm):
    """Every StorePolicy field. Money in yuan; the reward in yuan or whole points by its unit."""
    reward_unit = SelectField(_l("Reward paid as"), choices=[
        SelectChoice("CNY", _l("Cash (yuan)")), SelectChoice("PTS", _l("Loyalty points"))])
    reward_amount = StringField(_l("Reward per verified referral"), validators=[DataRequired()],
                                description=_l("In yuan for cash (e.g. 500.00), in whole points for points."))
    consultant_penalty = YuanField(_l("Penalty for a fake referral (yuan)"), validators=[
        InputRequired(), fen_range(0)], description=_l("Recorded against the registering consultant."))
    two_approver_threshold = YuanField(_l("Two approvers above (yuan)"), validators=[
        InputRequired(), fen_range(1)], description=_l("Payouts above this amount need two finance approvers."))
    registration_window_days = _days(_l("Delivery check window (days)"),
                                     _l("A referral with no delivery check within this time expires."))
    velocity_limit = IntegerField(_l("Referrals before review"), validators=[
        InputRequired(), NumberRange(min=1, max=10000)],
        description=_l("More referrals than this by one referrer in the period below go to a manager."))
    velocity_window_days = _days(_l("Review period (days)"), _l("The period the limit above counts."))
    clawback_window_days = _days(_l("Claw-back window (days)"),
                                 _l("A sale unwound within this time takes the reward back."), low=0)
    callback_delay_min_hours = IntegerField(_l("Callback earliest (hours after delivery)"), validators=[
        InputRequired(), NumberRange(min=0, max=24 * 365)])
    callback_delay_max_hours = IntegerField(_l("Callback latest (hours after delivery)"), validators=[
        InputRequired(), NumberRange(min=0, max=24 * 365)])
    calling_hours_start = StringField(_l("Calling hours from"), validators=[
        DataRequired(), Regexp(_HHMM, message=_l("Use HH:MM, 00:00 to 23:59."))],
        description=_l("Store time, e.g. 09:00."))
    calling_hours_end = StringField(_l("Calling hours until"), validators=[
        DataRequired(), Regexp(_HHMM, message=_l("Use HH:MM, 00:00 to 23:59."))],
        description=_l("Store time, e.g. 20:00."))
    callback_attempts = IntegerField(_l("Call attempts per customer"), validators=[
        InputRequired(), NumberRange(min=1, max=20)])
    insider_pass_limit_bp = PercentField(_l("Highest chance a fake coached by staff passes (%)"), validators=[
        InputRequired()], description=_l("Above it the call is strengthened, or a manager confirms a passing "
                                         "verdict. 5 means 5 %."))
    fen_per_point = YuanField(_l("Spend per loyalty point (yuan)"), validators=[
        InputRequired(), fen_range(1)], description=_l("A service visit earns 1 point per this amount."))
    points_expiry_months = IntegerField(_l("Points expire after (months)"), validators=[
        InputRequired(), NumberRange(min=1, max=600)])

    # ring detection (团伙识别, issue 17): the thresholds of verification/rings/README.md
    ring_review_score = _int(_l("Ring risk score for review"), 1, 1000, _l(
        "A referral whose ring risk score reaches this goes to a manager's review before the delivery check, "
        "and its payout needs two approvers. The signals' weights add up to at most 100."))
    ring_window_days = _days(_l("Ring look-back period (days)"), _l(
        "The period the concentration, shared-identity, staff-pair and consultant-history signals look back."))
    ring_concentration_min = _int(_l("Referrals on one old customer"), 2, 10000, _l(
        "A consultant and one referrer sharing at least this many referrals in the look-back period can be "
        "a concentration."))
    ring_concentration_pct = _int(_l("Concentration share (%)"), 1, 100, _l(
        "…when they are at least this share of the consultant's or the referrer's referrals."))
    ring_spread_days = _days(_l("Spread period (days)"), _l(
        "A referrer whose referrals go to several consultants, or to two stores, within this period."))
    ring_spread_consultants = _int(_l("Consultants for a spread"), 2, 1000, _l(
        "How many different consultants within the spread period count as spread."))
    ring_shared_min = _int(_l("New customers sharing a workplace or home"), 2, 1000, _l(
        "New customers of one referrer at one employer and home district (or one home district within the "
        "spread period), from this many."))
    ring_fact_edit_days = _days(_l("Facts recorded before a referral (days)"), _l(
        "A referrer's fact recorded by the registering consultant within this many days before the referral."),
        high=365)
    ring_pair_min = _int(_l("Decisions by one manager"), 2, 10000, _l(
        "One manager acknowledging or checking at least this many of a consultant's referrals…"))
    ring_pair_factor_pct = _int(_l("…and this share of the expected (%)"), 100, 10000, _l(
        "…at this share of what the store's managers explain (200 means twice the 1/managers share)."))

    GROUPS = (
        (_l("Reward"), ("reward_unit", "reward_amount", "consultant_penalty", "two_approver_threshold")),
        (_l("Registration and review"), ("registration_window_days", "velocity_limit",
                                         "velocity_window_days", "clawback_window_days")),
        (_l("Callback"), ("callback_delay_min_hours", "callback_delay_max_hours", "calling_hours_start",
                          "calling_hours_end", "callback_attempts", "insider_pass_limit_bp")),
        (_l("Loyalty points"), ("fen_per_point", "points_expiry_months")),
        (_l("Ring detection"), RING_FIELDS),
    )

    def fill(self, policy) -> None:
        """Show a stored policy: fen as yuan, the reward by its unit."""
        for name in ("registration_window_days", "velocity_limit", "velocity_window_days",
                     "clawback_window_days", "callback_delay_min_hours", "callback_delay_max_hours",
                     "calling_hours_start", "calling_hours_end", "callback_attempts", "points_expiry_months",
                     "consultant_penalty", "two_approver_threshold", "fen_per_point", "reward_unit",
                     "insider_pass_limit_bp", *RING_FIELDS):
            self[name].data = getattr(policy, name)
        amount = policy.reward_amount
        self.reward_amount.data = fen_to_yuan(amount) if policy.reward_unit == "CNY" else str(amount)

    def validate_reward_amount(self, field) -> None:
        try:
            self.reward_minor = self._parse_reward(field.data)
        except BadAmount:
            if self.reward_unit.data == "PTS":
                raise ValidationError(_l("Enter a whole number of points.")) from None
            raise ValidationError(_l("Enter an amount in yuan with at most 2 decimals, e.g. 500 or 500.00.")) from None
        if self.reward_minor < 1:
            raise ValidationError(_l("Must be greater than 0."))
        if self.reward_unit.data == "PTS" and self.reward_minor > MAX_POINTS_REWARD:
            raise ValidationError(_l("Enter at most %(high)s points.", high=f"{MAX_POINTS_REWARD:,}"))
        if self.reward_minor > MAX_FEN:
            raise ValidationError(_l("Enter an amount of at most ¥%(high)s.", high=fen_to_yuan_grouped(MAX_FEN)))

    def _parse_reward(self, text: str) -> int:
        return whole_number(text) if self.reward_unit.data == "PTS" else yuan_to_fen(text)

    def changes(self) -> dict:
        """The policy in stored units (fen, points, hours, days)."""
        values = {name: self[name].data for _, names in self.GROUPS for name in names}
        values["reward_amount"] = self.reward_minor
        values["calling_hours_start"] = values["calling_hours_start"].strip()
        values["calling_hours_end"] = values["calling_hours_end"].strip()
        return values


# ---- staff --------------------------------------------------------------------

def _store_id(value):
    """'' or 'None' is the group level (集团), no store."""
    if value in (None, "", "None"):
        return None
    return int(value)


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, role_label(role)) for role in ROLES]


def store_choices(stores) -> list[SelectChoice]:
    return [SelectChoice(None, _l("Group level (no store)"))] + [
        SelectChoice(s.id, f"{s.code} · {s.name}") for s in stores]


class StaffCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(), Regexp(_USERNAME, message=_l("3–64 letters, digits, _ . or -."))])
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[])
    store_id = SelectField(_l("Store"), coerce=_store_id, choices=[],
                           description=_l("Group-level staff see every store."))
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             description=_l("At least 8 characters; not a common password, not the username."))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)],
                        description=_l("Compared with customers' phones to find staff who are customers."))
    national_id = StringField(_l("National ID number"), validators=[Optional(), Length(max=32)],
                              description=_l("Optional. Kept only as a keyed fingerprint and its last 4."))

    def values(self) -> dict:
        return {"username": self.username.data.strip(), "display_name": self.display_name.data.strip(),
                "role": self.role.data, "store_id": self.store_id.data, "password": self.password.data,
                "phone": (self.phone.data or "").strip(), "national_id": (self.national_id.data or "").strip()}


class StaffEditForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[])
    store_id = SelectField(_l("Store"), coerce=_store_id, choices=[],
                           description=_l("Group-level staff see every store."))
    active = BooleanField(_l("Active"), description=_l("A disabled account cannot log in."))
    password = PasswordField(_l("New password"), validators=[Optional(), Length(max=256)],
                             description=_l("Leave empty to keep the current password."))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)],
                        description=_l("Compared with customers' phones to find staff who are customers."))
    national_id = StringField(_l("National ID number"), validators=[Optional(), Length(max=32)],
                              description=_l("Leave empty to keep the one on record."))

    def changes(self) -> dict:
        changes = {"display_name": self.display_name.data.strip(), "role": self.role.data,
                   "store_id": self.store_id.data, "active": bool(self.active.data),
                   "phone": (self.phone.data or "").strip()}
        if self.password.data:
            changes["password"] = self.password.data
        if (self.national_id.data or "").strip():
            changes["national_id"] = self.national_id.data.strip()
        return changes


def staff_form_choices(form, stores) -> None:
    form.role.choices = role_choices()
    form.store_id.choices = store_choices(stores)


# ---- customers ----------------------------------------------------------------

class CustomerSearchForm(FlaskForm):
    """A GET search: nothing changes, so no CSRF token."""
    class Meta:
        csrf = False

    q = StringField(_l("Name, whole phone number or its last 4 digits"), validators=[Optional(), Length(max=60)])
