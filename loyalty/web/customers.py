"""Customer pages (客户): search by name or phone, and one customer with vehicles.

Store-bound staff see only their store: the service scopes by actor (SEC-2). What a role reads of
a customer is its view in loyalty.directory.schemas: phones masked unless the viewer may see them
in full (SEC-3), verification facts and vehicles sealed from the showroom (SEC-5).
"""
from __future__ import annotations

from flask import g, render_template, request

from loyalty.auth.access import allow, audience_of
from loyalty.directory import service
from loyalty.directory.schemas import customer_view
from loyalty.ledger import service as ledger
from loyalty.web import listing, once  # noqa: F401  (their template globals: page_args, form_once)
from loyalty.web.blueprint import bp
from loyalty.web.forms import CustomerSearchForm

PER_PAGE = 25


@bp.route("/customers")
@allow("consultant", "manager", "service", "admin")
def customers():
    form = CustomerSearchForm(formdata=request.args)
    query = _search_text(form.q.data) if form.validate() else ""
    page = service.customer_page(g.actor, q=query or None, cursor=request.args.get("cursor") or None,
                                 store_id=request.args.get("store_id", type=int), per_page=PER_PAGE)
    stores = {store.id: store for store in service.list_stores(g.actor)}
    return render_template("customers/search.html", form=form, customers=customer_view(g.actor, page.items, many=True),
                           stores=stores, page=page, query=query, args=request.args)


@bp.route("/customers/<int:customer_id>")
@allow("consultant", "manager", "service", "admin")
def customer(customer_id: int):
    found = service.get_customer(g.actor, customer_id)
    balances = [(account, ledger.balance(account)) for account in ledger.accounts_of(f"customer:{found.id}")]
    return render_template("customers/detail.html", customer=customer_view(g.actor, found), store=found.store,
                           history=service.visible_fact_history(g.actor, found), balances=balances,
                           points_page=_may_open("points_web.statement"))


def _may_open(endpoint: str) -> bool:
    """Whether the viewer's role is in the page's declared audience (links follow the doors)."""
    return g.actor.role in (audience_of(endpoint) or ())


def _search_text(text: str | None) -> str:
    """'138 0013 8000' searches as '13800138000'; names as typed."""
    text = (text or "").strip()
    compact = "".join(text.split())
    return compact if compact.isdigit() else text
