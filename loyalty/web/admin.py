"""Admin pages (管理): stores, store policies and staff. Thin: a form, one service call."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.directory import service
from loyalty.errors import DomainError
from loyalty.web.blueprint import bp
from loyalty.web.forms import (
    PolicyForm,
    StaffCreateForm,
    StaffEditForm,
    StoreCreateForm,
    StoreEditForm,
    staff_form_choices,
)
from loyalty.web.pages import refuse, show_form

# ---- stores (门店) ------------------------------------------------------------

@bp.route("/admin/stores")
@allow("admin")
def stores():
    return render_template("admin/stores.html", stores=service.list_stores(g.actor))


@bp.route("/admin/stores/new", methods=["GET", "POST"])
@allow("admin")
def store_new():
    form = StoreCreateForm()
    template = "admin/store_form.html"
    if not form.validate_on_submit():
        return show_form(template, form, store=None)
    try:
        store = service.create_store(g.actor, code=form.code.data.strip(), name=form.name.data,
                                     timezone=form.timezone.data.strip())
    except DomainError as error:
        return refuse(template, form, error, store=None)
    flash(_("Store %(code)s created.", code=store.code), "success")
    return redirect(url_for("web.stores"))


@bp.route("/admin/stores/<int:store_id>/edit", methods=["GET", "POST"])
@allow("admin")
def store_edit(store_id: int):
    store = service.get_store(g.actor, store_id)
    form = StoreEditForm(obj=store)
    template = "admin/store_form.html"
    if not form.validate_on_submit():
        return show_form(template, form, store=store)
    try:
        service.update_store(g.actor, store.id, form.changes())
    except DomainError as error:
        return refuse(template, form, error, store=store)
    flash(_("Store %(code)s saved.", code=store.code), "success")
    return redirect(url_for("web.stores"))


@bp.route("/admin/stores/<int:store_id>/policy", methods=["GET", "POST"])
@allow("admin")
def store_policy(store_id: int):
    store = service.get_store(g.actor, store_id)
    form = PolicyForm()
    template = "admin/policy.html"
    if not form.is_submitted():
        form.fill(store.policy)
    if not form.validate_on_submit():
        return show_form(template, form, store=store)
    try:
        service.set_policy(g.actor, store.id, form.changes())
    except DomainError as error:
        return refuse(template, form, error, store=store)
    flash(_("Policy of %(code)s saved.", code=store.code), "success")
    return redirect(url_for("web.store_policy", store_id=store.id))


# ---- staff (员工) -------------------------------------------------------------

@bp.route("/admin/staff")
@allow("admin")
def staff_list():
    return render_template("admin/staff.html", staff=service.list_staff(g.actor))


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@allow("admin")
def staff_new():
    form = StaffCreateForm()
    staff_form_choices(form, service.list_stores(g.actor))
    template = "admin/staff_form.html"
    if not form.validate_on_submit():
        return show_form(template, form, member=None)
    try:
        member = service.create_staff(g.actor, **form.values())
    except DomainError as error:
        return refuse(template, form, error, member=None)
    flash(_("Account %(username)s created.", username=member.username), "success")
    return redirect(url_for("web.staff_list"))


@bp.route("/admin/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@allow("admin")
def staff_edit(staff_id: int):
    member = _staff_member(staff_id)
    form = StaffEditForm(obj=member)
    staff_form_choices(form, service.list_stores(g.actor))
    template = "admin/staff_form.html"
    if not form.validate_on_submit():
        return show_form(template, form, member=member)
    try:
        service.update_staff(g.actor, member.id, form.changes())
    except DomainError as error:
        return refuse(template, form, error, member=member)
    flash(_("Account %(username)s saved.", username=member.username), "success")
    return redirect(url_for("web.staff_list"))


def _staff_member(staff_id: int):
    for member in service.list_staff(g.actor):
        if member.id == staff_id:
            return member
    abort(404)
