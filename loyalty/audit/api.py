"""/api/v1/audit: the event log, for admins."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from loyalty.audience import allow
from loyalty.audit import service
from loyalty.schemas import PageQuery, Schema, page_body, page_of

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit trail")


class AuditEventSchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    entity = fields.String()
    entity_id = fields.String()
    action = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    hash = fields.String()


class AuditQuery(PageQuery):
    entity = fields.String()
    entity_id = fields.String()


@blp.route("", methods=["GET"])
@allow("admin")
@blp.arguments(AuditQuery, location="query")
@blp.response(200, page_of(AuditEventSchema))
@blp.doc(summary="List audit events",
         description="The hash-chained audit log, newest first, paged, optionally filtered by entity and entity id. "
                     "Admin only.")
def list_events(query):
    items, total = service.list_events(query.get("entity"), query.get("entity_id"),
                                       query["page"], query["per_page"])
    return page_body(items, total, query["page"], query["per_page"])


class CheckpointSchema(Schema):
    seq = fields.Integer()
    hash = fields.String()
    at = fields.String(metadata={"description": "when the checkpoint was written (ISO 8601, UTC)"})


class AuditVerifySchema(Schema):
    ok = fields.Boolean()
    events = fields.Integer()
    broken_seq = fields.Integer(allow_none=True, metadata={"description": "the first broken event"})
    problem = fields.String(allow_none=True)
    keyed_from = fields.Integer(allow_none=True, metadata={"description": "first seq hashed with the HMAC key"})
    unkeyed = fields.Integer(metadata={"description": "events written before the key (plain SHA-256)"})
    checkpoints = fields.Integer(metadata={"description": "checkpoints outside the database compared"})
    last_checkpoint = fields.Nested(CheckpointSchema, allow_none=True)


@blp.route("/verify", methods=["GET"])
@allow("admin")
@blp.response(200, AuditVerifySchema)
@blp.doc(summary="Verify the audit chain",
         description="Recomputes the hash chain of every audit event and compares it with the checkpoints kept outside"
                     " the database; `ok` is false with the first broken event when anything was altered. Admin only.")
def verify():
    return service.verify_chain()
