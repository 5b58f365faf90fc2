"""What each role sees of a callback. The agent's schema has no answer key and no trap marks (CB-5);
a test fails if a key-like field ever appears in it."""
from __future__ import annotations

from collections import Counter

from marshmallow import fields, validate

from loyalty.schemas import InputSchema, Schema


class ScriptQuestionSchema(Schema):
    id = fields.String()
    text = fields.String()
    input = fields.String(metadata={"description": "text: write down the answer; yes_no: yes or no, "
                                                   "and what the customer said to correct it"})


class ScriptSchema(Schema):
    greeting = fields.String()
    questions = fields.List(fields.Nested(ScriptQuestionSchema))


class CalleeSchema(Schema):
    """The phone on the customer record, never one typed on the claim (CB-6)."""
    name = fields.String()
    phone = fields.String()


class AgentCallbackSchema(Schema):
    id = fields.Integer()
    attempt = fields.Integer()
    callee = fields.Nested(CalleeSchema)
    script = fields.Nested(ScriptSchema)
    lease_until = fields.DateTime()


class AnswerSchema(InputSchema):
    question_id = fields.String(required=True, validate=validate.Length(min=1, max=8))
    confirmed = fields.Boolean(allow_none=True, load_default=None)
    text = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))


class AnswersInSchema(InputSchema):
    answers = fields.List(fields.Nested(AnswerSchema), required=True, validate=validate.Length(min=1, max=10))


class RecordedSchema(Schema):
    status = fields.String()


class ReviewSchema(Schema):
    """A manager's view of one undecided answer: the question, the answer and the fact."""
    id = fields.Integer()
    referral_id = fields.Integer()
    question = fields.Dict()
    answer_text = fields.String(allow_none=True)
    answer_confirmed = fields.Boolean(allow_none=True)
    decision = fields.String(allow_none=True)


class ReviewDecisionSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["correct", "wrong"]))


class ConfirmationSchema(Schema):
    """A passing verdict held for a manager (CB-11): how weak the plan was, never its facts."""
    id = fields.Integer()
    referral_id = fields.Integer()
    store_id = fields.Integer()
    insider_pass_bp = fields.Integer(metadata={
        "description": "estimated chance (basis points) that a callee coached by the referral's staff passes"})
    limit_bp = fields.Function(lambda c: (c.callback.drawn or {}).get("strength", {}).get("limit_bp"))
    known_to_staff = fields.Function(
        lambda c: (c.callback.drawn or {}).get("strength", {}).get("known_to_staff", []),
        metadata={"description": "which kinds of fact the referral's own staff knew (names, never values)"})
    grades = fields.Function(lambda c: dict(Counter((c.callback.grades or {}).values())),
                             metadata={"description": "how many answers were graded correct, wrong, ..."})
    created_at = fields.DateTime()
    decision = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ConfirmationInSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["verified", "unverifiable"]))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class CallRecordSchema(Schema):
    sequence = fields.Integer()
    party = fields.String(metadata={"description": "who was called: referee (new customer) or referrer"})
    status = fields.String()
    attempts = fields.Integer()
    questions = fields.Integer(metadata={"description": "how many questions (never which)"})
    insider_pass_bp = fields.Integer(allow_none=True)
    limit_bp = fields.Integer(allow_none=True)
    confirm_required = fields.Boolean()
    known_to_staff = fields.List(fields.String())
    drawn_callee = fields.String(allow_none=True)
    fallback = fields.String(allow_none=True)
    grades = fields.Dict(keys=fields.String(), values=fields.Integer())


class HeldVerdictSchema(Schema):
    decision = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    insider_pass_bp = fields.Integer()


class VerificationRecordSchema(Schema):
    """How a decided referral was verified, for managers: whom, how strong, the grades (CB-7, CB-11)."""
    referral_id = fields.Integer()
    status = fields.String()
    calls = fields.List(fields.Nested(CallRecordSchema))
    confirmation = fields.Nested(HeldVerdictSchema, allow_none=True)


class TemplateSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    kind = fields.String()
    fact = fields.String()
    text_zh = fields.String()
    text_en = fields.String()
    active = fields.Boolean()


class TemplateInSchema(InputSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{2,40}$"))
    kind = fields.String(required=True, validate=validate.OneOf(["open", "statement"]))
    fact = fields.String(required=True, validate=validate.OneOf(
        ["employer", "home_district", "business", "occupation", "model", "colour", "transmission", "car"]))
    text_zh = fields.String(required=True, validate=validate.Length(min=2, max=300))
    text_en = fields.String(required=True, validate=validate.Length(min=2, max=300))
    active = fields.Boolean(load_default=True)


class TemplatePatchSchema(InputSchema):
    text_zh = fields.String(validate=validate.Length(min=2, max=300))
    text_en = fields.String(validate=validate.Length(min=2, max=300))
    active = fields.Boolean()
