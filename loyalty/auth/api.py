"""/api/v1/auth/tokens."""
from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import fields

from loyalty.auth import service
from loyalty.auth.access import ANY_STAFF, PUBLIC, allow
from loyalty.auth.schemas import StaffSchema
from loyalty.extensions import limiter
from loyalty.schemas import InputSchema, Schema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


class Credentials(InputSchema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class TokenSchema(Schema):
    token = fields.String()
    expires_at = fields.DateTime()
    staff = fields.Nested(StaffSchema)


@blp.route("/tokens", methods=["POST"])
@allow(PUBLIC)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(Credentials)
@blp.response(201, TokenSchema)
@blp.doc(summary="Log in: issue a bearer token",
         description="Exchanges a staff member's username and password for a bearer token that expires after "
                     "TOKEN_TTL_HOURS. Send it as `Authorization: Bearer <token>` on every other call. Rate-limited "
                     "per client address (429); a wrong username or password is 401.")
def issue_token(body):
    staff = service.authenticate(body["username"], body["password"])
    token, row = service.issue_token(staff, current_app.config["TOKEN_TTL_HOURS"])
    return {"token": token, "expires_at": row.expires_at, "staff": staff}


@blp.route("/tokens/current", methods=["DELETE"])
@allow(ANY_STAFF)
@blp.response(204)
@blp.doc(summary="Log out: revoke the token of this request",
         description="Revokes the bearer token sent with this request; later calls with it are 401.")
def revoke_current_token():
    service.revoke_token(request.headers.get("Authorization", "").partition(" ")[2].strip())
