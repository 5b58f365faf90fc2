"""What the ledger API shows and accepts."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty.ledger import service
from loyalty.schemas import InputSchema, PageQuery, QuerySchema, page_of


class BalanceSchema(Schema):
    posted = fields.Integer()
    pending = fields.Integer()
    available = fields.Integer()


class AccountSchema(Schema):
    id = fields.Integer()
    owner = fields.String()
    purpose = fields.String()
    unit = fields.String(metadata={"description": "CNY (amounts in fen) or PTS (whole points)"})
    normal = fields.String(metadata={"description": "the side a positive balance sits on"})
    debits_must_not_exceed_credits = fields.Boolean()
    credits_must_not_exceed_debits = fields.Boolean()
    balance = fields.Method("_balance", metadata={"description": "posted, pending, available"})

    def _balance(self, account):
        return service.balance_of(account)


class AccountList(Schema):
    items = fields.List(fields.Nested(AccountSchema))


class AccountsQuery(QuerySchema):
    owner = fields.String(required=True, metadata={"description": "customer:7, store:3, staff:2, system:0"},
                          validate=validate.Regexp(r"^(store|customer|staff|system):\d+$"))


class TransferSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    kind = fields.String(metadata={"description": "posted | pending | post | void"})
    debit_account_id = fields.Integer()
    credit_account_id = fields.Integer()
    amount = fields.Integer()
    unit = fields.String()
    pending_id = fields.Integer(allow_none=True)
    reason = fields.String()
    subject = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class AdjustmentInSchema(InputSchema):
    debit_account_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    credit_account_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=service.MAX_AMOUNT),
                            metadata={"description": "fen for CNY, whole points for PTS"})
    unit = fields.String(required=True, validate=validate.OneOf(["CNY", "PTS"]))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=180))
    subject = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class EntrySchema(Schema):
    transfer_id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    side = fields.String(metadata={"description": "debit or credit, from this account"})
    amount = fields.Integer()
    unit = fields.String()
    change = fields.Integer(metadata={"description": "signed effect on this account's balance"})
    posted_change = fields.Integer()
    balance_after = fields.Integer(metadata={"description": "posted balance after this entry"})
    reason = fields.String()
    subject = fields.String(allow_none=True)
    pending_id = fields.Integer(allow_none=True)
    counterparty_id = fields.Integer()


EntryPage = page_of(EntrySchema)


class EntriesQuery(PageQuery):
    pass


class CheckSchema(Schema):
    ok = fields.Boolean()
    violations = fields.List(fields.String())
