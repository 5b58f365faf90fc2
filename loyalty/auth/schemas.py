"""How a staff member is shown (the token answer and the directory's staff list share it)."""
from __future__ import annotations

from marshmallow import fields

from loyalty.schemas import Schema


class StaffSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    store_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
