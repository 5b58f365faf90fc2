"""/api/v1/catalog-items: the redemption catalog (兑换目录), run by the admin, read by the desk."""
from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.points import catalog
from loyalty.points import schemas as s
from loyalty.schemas import page_body

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Redemption catalog")


@blp.route("/catalog-items", methods=["POST"])
@allow("admin")
@blp.arguments(s.CatalogItemInSchema)
@blp.response(201, s.CatalogItemSchema)
@blp.doc(summary="Add a catalog item",
         description="A new item points can be redeemed for: code, Chinese name, price in points per unit (> 0), "
                     "optional stock, active flag and optional store (none: every store). Admin only; audited.")
def create_item(body):
    return catalog.create_item(current_actor(), **body)


@blp.route("/catalog-items", methods=["GET"])
@allow("service", "admin")
@blp.arguments(s.CatalogQuery, location="query")
@blp.response(200, s.CatalogItemPage)
@blp.doc(summary="List the catalog",
         description="Catalog items by code; `store_id` keeps what that store's customers may redeem, `active` "
                     "filters on the flag. A store-bound service advisor reads only its store's part.")
def list_items(query):
    page, per_page = query.pop("page"), query.pop("per_page")
    items, total = catalog.list_items(current_actor(), page=page, per_page=per_page, **query)
    return page_body(items, total, page, per_page)


@blp.route("/catalog-items/<int:item_id>", methods=["GET"])
@allow("service", "admin")
@blp.response(200, s.CatalogItemSchema)
@blp.doc(summary="Read a catalog item", description="One item; another store's item is 404 to store-bound staff.")
def get_item(item_id):
    return catalog.get_item(current_actor(), item_id)


@blp.route("/catalog-items/<int:item_id>", methods=["PATCH"])
@allow("admin")
@blp.arguments(s.CatalogItemPatchSchema)
@blp.response(200, s.CatalogItemSchema)
@blp.doc(summary="Change a catalog item",
         description="Changes any of an item's fields (deactivate with active=false; stock null: not counted). "
                     "Redemptions already made keep their name and points. Admin only; audited.")
def update_item(body, item_id):
    return catalog.update_item(current_actor(), item_id, body)
