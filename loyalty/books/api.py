"""/api/v1/ledger: accounts with balances, statements, admin adjustments, the invariant check.

Every read and adjustment goes through `loyalty.books.service`: store-bound staff see and move
only their store's accounts (SEC-2); the bank itself knows nothing of stores."""
from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.books import schemas as s
from loyalty.books import service as books
from loyalty.ledger import service as ledger
from loyalty.schemas import page_body
from loyalty.web.idempotency import current_key, idempotent

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger", description="The double-entry ledger")

BOOKS = ("finance", "admin")


@blp.route("/accounts", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.AccountsQuery, location="query")
@blp.response(200, s.AccountList)
def list_accounts(query):
    return {"items": books.accounts_of(current_actor(), query["owner"])}


@blp.route("/accounts/<int:account_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.AccountSchema)
def get_account(account_id):
    return books.get_account(current_actor(), account_id)


@blp.route("/accounts/<int:account_id>/entries", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.EntriesQuery, location="query")
@blp.response(200, s.EntryPage)
def account_entries(query, account_id):
    items, total = books.entries(current_actor(), account_id, page=query["page"], per_page=query["per_page"])
    return page_body(items, total, query["page"], query["per_page"])


@blp.route("/transfers", methods=["POST"])
@allow(*BOOKS)
@blp.arguments(s.AdjustmentInSchema)
@idempotent
@blp.response(201, s.TransferSchema)
def create_adjustment(body):
    return books.adjust(current_actor(), key=current_key(), **body)


@blp.route("/transfers/<int:transfer_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.TransferSchema)
def get_transfer(transfer_id):
    return books.get_transfer(current_actor(), transfer_id)


@blp.route("/check", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.CheckSchema)
def check():
    violations = ledger.check()
    return {"ok": not violations, "violations": violations}
