"""/api/v1/referrals: register, list, acknowledge, review.

The delivery check (/referrals/{id}/delivery, /preview, /reopen) and unwinding the sale
(/referrals/{id}/unwind) have their doors in verification/delivery/api.py: the delivery side
sits above referrals and callbacks, and referrals import neither."""
from __future__ import annotations

from flask import current_app, jsonify
from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.schemas import paged_body
from verification.referrals import lists, service
from verification.referrals import schemas as s

blp = Blueprint("referrals", __name__, url_prefix="/api/v1/referrals",
                description="Referral registration, acknowledgement and review")

SHOWROOM = ("consultant", "manager", "admin")
MANAGERS = ("manager", "admin")


@blp.route("", methods=["POST"])
@allow("consultant", "manager")
@blp.arguments(s.ReferralInSchema)
@blp.response(201, s.CreatedSchema)
@blp.doc(summary="Register a referral",
         description="Records a referral before the sale (REG-1..REG-5): the referrer, the referee and what the "
                     "referrer claims about their own car. The registration time is the server's; a referee already "
                     "delivered, or a duplicate, is refused; a suspicious one is held for review.")
def register(body):
    return service.register_referral(current_actor(), **body, phone_region=current_app.config["DEFAULT_PHONE_REGION"])


@blp.route("", methods=["GET"])
@allow(*SHOWROOM)
@blp.arguments(s.ReferralQuery, location="query")
@blp.response(200, s.ReferralAdminPage,
              description="Admins read each referral as ReferralAdmin; everyone else a subset of it (ReferralSchema).")
@blp.doc(summary="List referrals",
         description="Referrals of the caller's stores, newest first, keyset-paged (`cursor` = a response's `next`), "
                     "filtered by status, store, registrant (`consultant_id`), search text (`q`: a name, a phone's last "
                     "4 digits), the caller's own (`mine`) or a work queue (`queue`); admins read every field, other "
                     "roles a subset.")
def list_referrals(query):
    actor, region = current_actor(), current_app.config["DEFAULT_PHONE_REGION"]
    body = paged_body(query, lambda **q: lists.referral_page(actor, region=region, **q),
                      lambda **q: lists.list_referrals(actor, region=region, **q))
    return jsonify(s.page_view_for(actor)().dump(body))


@blp.route("/<int:referral_id>", methods=["GET"])
@allow(*SHOWROOM)
@blp.response(200, s.ReferralAdminSchema,
              description="Admins read all of ReferralAdmin (record values included); everyone else a subset.")
@blp.doc(summary="Read a referral",
         description="One referral with its status and history; admins read every field, other roles a subset.")
def get_referral(referral_id):
    actor = current_actor()
    return jsonify(s.view_for(actor)().dump(service.get_referral(actor, referral_id)))


@blp.route("/<int:referral_id>/acknowledge", methods=["POST"])
@allow(*MANAGERS)
@blp.response(200, s.ReferralSchema)
@blp.doc(summary="Acknowledge a referral",
         description="The duty manager (值班经理) confirms the registration was reported to them (REG-1); not by the staff"
                     " member who registered it.")
def acknowledge(referral_id):
    return service.acknowledge(current_actor(), referral_id)


@blp.route("/<int:referral_id>/review", methods=["POST"])
@allow(*MANAGERS)
@blp.arguments(s.ReviewInSchema)
@blp.response(200, s.ReferralSchema)
@blp.doc(summary="Review a held referral",
         description="A manager accepts or rejects a referral held for review (REG-5), with a reason when rejecting; "
                     "not by its registrant.")
def review(body, referral_id):
    return service.review(current_actor(), referral_id, **body)
