"""The admin's redemption catalog page (兑换目录): the items, a form to add one, edit, and
(de)activate. Every change goes through loyalty.points.catalog (audited)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.directory import service as directory
from loyalty.errors import DomainError
from loyalty.points import catalog
from loyalty.points.forms import CatalogItemForm
from loyalty.web.forms import EmptyForm
from loyalty.web.pages import act, expired, refuse

bp = Blueprint("catalog_web", __name__)

TEMPLATE = "admin/catalog.html"
FORM_TEMPLATE = "admin/catalog_form.html"


def _form(item=None) -> CatalogItemForm:
    form = CatalogItemForm(obj=item)
    if item is not None and not form.is_submitted():
        form.store_id.data = item.store_id or 0
    form.store_id.choices = [(0, _("Every store"))] + [(s.id, s.name) for s in directory.list_stores(g.actor)]
    return form


def _listing(form: CatalogItemForm) -> dict:
    items, total = catalog.list_items(g.actor, per_page=500)
    stores = {s.id: s for s in directory.list_stores(g.actor)}
    return {"items": items, "total": total, "stores": stores, "toggle_form": EmptyForm(), "form": form}


@bp.route("/admin/catalog", methods=["GET", "POST"])
@allow("admin")
def catalog_page():
    form = _form()
    if not form.validate_on_submit():
        return render_template(TEMPLATE, **_listing(form)), 422 if form.is_submitted() else 200
    try:
        item = catalog.create_item(g.actor, **form.values())
    except DomainError as error:
        context = _listing(form)
        return refuse(TEMPLATE, context.pop("form"), error, **context)
    flash(_("Catalog item %(name)s added.", name=item.name_zh), "success")
    return redirect(url_for("catalog_web.catalog_page"))


@bp.route("/admin/catalog/<int:item_id>/edit", methods=["GET", "POST"])
@allow("admin")
def catalog_edit(item_id: int):
    item = catalog.get_item(g.actor, item_id)
    form = _form(item)
    if not form.validate_on_submit():
        return render_template(FORM_TEMPLATE, form=form, item=item), 422 if form.is_submitted() else 200
    try:
        catalog.update_item(g.actor, item.id, form.values())
    except DomainError as error:
        return refuse(FORM_TEMPLATE, form, error, item=item)
    flash(_("Catalog item %(name)s saved.", name=item.name_zh), "success")
    return redirect(url_for("catalog_web.catalog_page"))


@bp.route("/admin/catalog/<int:item_id>/toggle", methods=["POST"])
@allow("admin")
def catalog_toggle(item_id: int):
    if not EmptyForm().validate_on_submit():
        return expired(url_for("catalog_web.catalog_page"))
    item = catalog.get_item(g.actor, item_id)
    return act(lambda: catalog.update_item(g.actor, item.id, {"active": not item.active}),
               lambda i: _("%(name)s is offered at the service desk.", name=i.name_zh) if i.active
               else _("%(name)s is no longer offered.", name=i.name_zh),
               url_for("catalog_web.catalog_page"))
