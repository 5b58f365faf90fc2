"""/api/v1/customers/{id}/service-visits, /redemptions, /points."""
from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.points import schemas as s
from loyalty.points import service
from loyalty.web.idempotency import current_key, idempotent

blp = Blueprint("points", __name__, url_prefix="/api/v1", description="Loyalty points")

# The service desk (服务顾问) records visits and redemptions; managers read a customer's points;
# consultants register referrals and have no need of points (issue 15).
DESK = ("service", "admin")
READERS = ("service", "manager", "admin")


@blp.route("/customers/<int:customer_id>/service-visits", methods=["POST"])
@allow(*DESK)
@blp.arguments(s.VisitInSchema)
@idempotent
@blp.response(201, s.VisitSchema)
@blp.doc(summary="Record a service visit (earn points)",
         description="A service visit paid `amount` fen at a store earns floor(amount / fen_per_point) points as a lot"
                     " that expires after the store's points_expiry_months (LED-5). Moves points, so it requires an "
                     "Idempotency-Key: a retry with the same key and body earns nothing more (LED-3).")
def record_visit(body, customer_id):
    return service.earn_for_visit(current_actor(), customer_id, key=current_key(), **body)


@blp.route("/customers/<int:customer_id>/redemptions", methods=["POST"])
@allow(*DESK)
@blp.arguments(s.RedemptionInSchema)
@idempotent
@blp.response(201, s.RedemptionSchema)
@blp.doc(summary="Redeem points",
         description="Spends price x quantity points on a catalog item (`item`: its id or code), taking the oldest "
                     "unexpired lots first and the item's stock down atomically; `points`, if sent, must equal price x "
                     "quantity. 422 `insufficient_points` when the customer holds too few, `out_of_stock` when the "
                     "stock is short. Requires an Idempotency-Key (LED-3).")
def redeem(body, customer_id):
    return service.redeem(current_actor(), customer_id, key=current_key(), **body)


@blp.route("/customers/<int:customer_id>/points", methods=["GET"])
@allow(*READERS)
@blp.response(200, s.PointsSchema)
@blp.doc(summary="A customer's points",
         description="The customer's available points, lots (newest first, with expiry) and statement.")
def points(customer_id):
    return service.summary(current_actor(), customer_id)
