"""/api/v1: the delivery check of a referral (decide, preview, reopen), unwinding the sale, and deliveries on record."""
from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.schemas import paged_body
from loyalty.web.idempotency import idempotent_if_keyed
from verification.delivery import dms, records, service, unwind
from verification.delivery import schemas as s
from verification.referrals.schemas import ReferralSchema

blp = Blueprint("delivery", __name__, url_prefix="/api/v1",
                description="Delivery check (提车核对) and deliveries on record (交车记录), "
                            "with the sales system's CSV import")

MANAGERS = ("manager", "admin")


@blp.route("/referrals/<int:referral_id>/delivery", methods=["POST"])
@allow(*MANAGERS)
@blp.arguments(s.DeliveryCheckInSchema)
@idempotent_if_keyed
@blp.response(200, s.DeliveryResultSchema)
@blp.doc(summary="Check a referral at delivery",
         description="Decides at once: a match of the referee's delivered car reserves the reward (a pending transfer)"
                     " and plans the callback; a mismatch or a late claim rejects. The referee's delivery is recorded "
                     "either way. An Idempotency-Key is optional: with one, a retry replays the first answer.")
def check_delivery(body, referral_id):
    """Decide at once: a match reserves the reward and plans the callback; a mismatch or a late claim
    rejects. The referee's delivery is recorded either way."""
    return service.check_delivery(current_actor(), referral_id, **body)


@blp.route("/referrals/<int:referral_id>/delivery/preview", methods=["POST"])
@allow(*MANAGERS)
@blp.arguments(s.DeliveryCheckInSchema)
@blp.response(200, s.DeliveryPreviewSchema)
@blp.doc(summary="Preview the delivery check",
         description="What the check would decide, side by side with the claim; nothing is decided or recorded except "
                     "that the preview was viewed (audited).")
def preview_delivery(body, referral_id):
    """What the check would decide, side by side; nothing is decided (the viewing is audited)."""
    return service.preview_delivery(current_actor(), referral_id, **body)


@blp.route("/referrals/<int:referral_id>/reopen", methods=["POST"])
@allow(*MANAGERS)
@blp.arguments(s.ReopenInSchema)
@blp.response(200, ReferralSchema)
@blp.doc(summary="Reopen a delivery-check rejection",
         description="Reopens a referral rejected by the delivery check, once, by a manager who neither checked nor "
                     "registered it, with a reason.")
def reopen(body, referral_id):
    """Reopen a rejection by the delivery check, once, by a manager who neither checked nor registered it."""
    return service.reopen(current_actor(), referral_id, **body)


@blp.route("/deliveries", methods=["POST"])
@allow(*MANAGERS)
@blp.arguments(s.DeliveryInSchema)
@blp.response(201, s.DeliverySchema)
@blp.alt_response(200, schema=s.DeliverySchema, description="this VIN's delivery was on record already")
@blp.doc(summary="Record a delivery",
         description="Records a vehicle delivery (交车记录) by hand; idempotent by VIN: 201 when new, 200 when this VIN's "
                     "delivery was on record already.")
def record_delivery(body):
    delivery, created = records.record_by_hand(current_actor(), **body)
    return delivery, 201 if created else 200


@blp.route("/deliveries", methods=["GET"])
@allow(*MANAGERS)
@blp.arguments(s.DeliveryQuery, location="query")
@blp.response(200, s.DeliveryPage)
@blp.doc(summary="List deliveries",
         description="Deliveries on record for the caller's stores, newest first, keyset-paged (`cursor` = a "
                     "response's `next`), filtered by store, customer, VIN or source.")
def list_deliveries(query):
    actor = current_actor()
    return jsonify(paged_body(query, lambda **q: records.delivery_page(actor, **q),
                              lambda **q: records.list_deliveries(actor, **q),
                              dump=lambda items: s.DeliveryView(actor, many=True).dump(items)))


@blp.route("/deliveries/import", methods=["POST"])
@allow(*MANAGERS)
@blp.arguments(s.ImportFileSchema, location="files")
@blp.arguments(s.ImportFormSchema, location="form")
@blp.response(200, s.ImportReportSchema)
@blp.doc(summary="Import deliveries (CSV)",
         description="Imports the sales system's export (multipart form, a CSV file): one result per row; rows are "
                     "idempotent by VIN.")
def import_deliveries(files, form):
    """The sales system's export (CSV): one result per row; rows are idempotent by VIN."""
    upload = files["file"]
    return dms.import_deliveries(current_actor(), data=upload.read(), filename=upload.filename,
                                 store_id=form.get("store_id"))


@blp.route("/referrals/<int:referral_id>/unwind", methods=["POST"])
@allow(*unwind.UNWINDERS)
@blp.arguments(unwind.UnwindInSchema)
@idempotent_if_keyed
@blp.response(200, unwind.UnwindResultSchema)
@blp.doc(summary="Unwind a returned sale",
         description="The sale was returned (退车): the reward is voided while pending, reversed before it is paid, or "
                     "becomes a receivable once paid (LED-8). An Idempotency-Key is optional here: with one, a retry "
                     "replays the first answer.")
def unwind_sale(body, referral_id):
    """The sale was returned (退车): the reward is voided, reversed or becomes a receivable (LED-8)."""
    return unwind.unwind(current_actor(), referral_id, **body)
