"""/api/v1/stores, /staff, /customers."""
from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.access import ANY_STAFF, allow, current_actor
from loyalty.directory import schemas as s
from loyalty.directory import service
from loyalty.schemas import page_body, paged_body

blp = Blueprint("directory", __name__, url_prefix="/api/v1", description="Stores, staff, customers, vehicles")

SHOWROOM = ("consultant", "manager", "admin")
READERS = (*SHOWROOM, "service")  # the service desk finds and reads customers (issue 15), changes none


@blp.route("/stores", methods=["POST"])
@allow("admin")
@blp.arguments(s.StoreInSchema)
@blp.response(201, s.StoreSchema)
@blp.doc(summary="Create a store",
         description="Adds a dealership store (门店) with its code, name and time zone. Admin only; audited.")
def create_store(body):
    return service.create_store(current_actor(), **body)


@blp.route("/stores", methods=["GET"])
@allow(ANY_STAFF)
@blp.response(200, s.StoreList)
@blp.doc(summary="List stores",
         description="The stores the caller may see: every store for staff bound to none, the caller's own store for "
                     "store-bound staff.")
def list_stores():
    stores = service.list_stores(current_actor())
    return page_body(stores, len(stores), 1, len(stores))


@blp.route("/stores/<int:store_id>", methods=["GET"])
@allow(ANY_STAFF)
@blp.response(200, s.StoreSchema)
@blp.doc(summary="Read a store",
         description="One store with its settings; a store outside the caller's scope is 404.")
def get_store(store_id):
    return service.get_store(current_actor(), store_id)


@blp.route("/stores/<int:store_id>", methods=["PATCH"])
@allow("admin")
@blp.arguments(s.StorePatchSchema)
@blp.response(200, s.StoreSchema)
@blp.doc(summary="Change a store",
         description="Changes a store's code, name, time zone or active flag. Admin only; audited.")
def update_store(body, store_id):
    return service.update_store(current_actor(), store_id, body)


@blp.route("/stores/<int:store_id>/policy", methods=["PUT"])
@allow("admin")
@blp.arguments(s.PolicyInSchema)
@blp.response(200, s.PolicySchema)
@blp.doc(summary="Set a store's policy",
         description="Replaces the store's policy: reward amount and unit, verification windows, calling hours, fraud "
                     "thresholds and point rates (fen per point, point expiry months). Admin only; audited.")
def set_policy(body, store_id):
    return service.set_policy(current_actor(), store_id, body)


@blp.route("/staff", methods=["POST"])
@allow("admin")
@blp.arguments(s.StaffInSchema)
@blp.response(201, s.StaffAdminView)
@blp.doc(summary="Create a staff account",
         description="Adds a staff member with a role and (for store-bound roles) a store, and an initial password "
                     "checked against the password rules. Admin only; audited.")
def create_staff(body):
    return service.create_staff(current_actor(), **body)


@blp.route("/staff", methods=["GET"])
@allow("admin", "manager")
@blp.response(200, s.StaffList)
@blp.doc(summary="List staff",
         description="Staff accounts: all of them for an admin, the manager's own store for a manager.")
def list_staff():
    staff = service.list_staff(current_actor())
    return page_body(staff, len(staff), 1, len(staff))


@blp.route("/staff/<int:staff_id>", methods=["PATCH"])
@allow("admin")
@blp.arguments(s.StaffPatchSchema)
@blp.response(200, s.StaffAdminView)
@blp.doc(summary="Change a staff account",
         description="Changes a staff member's display name, role, store, active flag or password. Admin only; "
                     "audited.")
def update_staff(body, staff_id):
    return service.update_staff(current_actor(), staff_id, body)


@blp.route("/customers", methods=["POST"])
@allow(*SHOWROOM)
@blp.arguments(s.CustomerInSchema)
@blp.response(201, s.CustomerSchema)
@blp.doc(summary="Register a customer",
         description="Adds a customer (客户) to a store the caller works for: name, mobile phone and optional "
                     "verification facts (national id, employer, home district, business, occupation).")
def create_customer(body):
    actor = current_actor()
    return s.customer_view(actor, service.create_customer(actor, **body))


@blp.route("/customers", methods=["GET"])
@allow(*READERS)
@blp.arguments(s.CustomerQuery, location="query")
@blp.response(200, s.CustomerPage)
@blp.doc(summary="Search customers",
         description="Customers of the caller's stores by id, keyset-paged (`cursor` = a response's `next`), searched "
                     "by name (`q`), phone, or (service desk and admins) a whole plate, and filtered by store. "
                     "Fields a role may not see are left out of each item.")
def list_customers(query):
    actor = current_actor()
    return paged_body(query, lambda **q: service.customer_page(actor, **q), lambda **q: service.list_customers(actor, **q),
                      dump=lambda items: s.customer_view(actor, items, many=True))


@blp.route("/customers/<int:customer_id>", methods=["GET"])
@allow(*READERS)
@blp.response(200, s.CustomerSchema)
@blp.doc(summary="Read a customer",
         description="One customer as the caller's role may see them; another store's customer is 404.")
def get_customer(customer_id):
    actor = current_actor()
    return s.customer_view(actor, service.get_customer(actor, customer_id))


@blp.route("/customers/<int:customer_id>", methods=["PATCH"])
@allow(*SHOWROOM)
@blp.arguments(s.CustomerPatchSchema)
@blp.response(200, s.CustomerSchema)
@blp.doc(summary="Change a customer",
         description="Changes a customer's contact details or verification facts; every change is kept in the fact "
                     "history (see /facts).")
def update_customer(body, customer_id):
    actor = current_actor()
    return s.customer_view(actor, service.update_customer(actor, customer_id, body))


@blp.route("/customers/<int:customer_id>/facts", methods=["GET"])
@allow("admin")
@blp.response(200, s.FactHistorySchema)
@blp.doc(summary="A customer's fact history",
         description="Every recorded value of the customer's verification facts and vehicles: who recorded it, when, "
                     "and at which desk. Admin only.")
def fact_history(customer_id):
    """Every recorded value of the customer's verification facts and vehicles: who, when, which desk."""
    return service.fact_history(current_actor(), customer_id)


@blp.route("/customers/<int:customer_id>/vehicles", methods=["POST"])
@allow(*SHOWROOM)
@blp.arguments(s.VehicleInSchema)
@blp.response(201, s.VehicleSchema)
@blp.doc(summary="Add a vehicle to a customer",
         description="Records a vehicle the customer owns (model, colour, transmission, optional plate and VIN); used "
                     "to verify referrers.")
def add_vehicle(body, customer_id):
    return service.add_vehicle(current_actor(), customer_id, **body)
