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
@blp.doc(summary="List ledger accounts",
         description="The double-entry ledger's accounts of one owner, with posted and pending balances. Store-bound "
                     "staff see only their store's accounts.")
def list_accounts(query):
    return {"items": books.accounts_of(current_actor(), query["owner"])}


@blp.route("/accounts/<int:account_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.AccountSchema)
@blp.doc(summary="Read a ledger account",
         description="One account with its posted and pending balances.")
def get_account(account_id):
    return books.get_account(current_actor(), account_id)


@blp.route("/accounts/<int:account_id>/entries", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.EntriesQuery, location="query")
@blp.response(200, s.EntryPage)
@blp.doc(summary="An account's statement",
         description="The entries of one account, newest first, paged.")
def account_entries(query, account_id):
    items, total = books.entries(current_actor(), account_id, page=query["page"], per_page=query["per_page"])
    return page_body(items, total, query["page"], query["per_page"])


@blp.route("/transfers", methods=["POST"])
@allow(*BOOKS)
@blp.arguments(s.AdjustmentInSchema)
@idempotent
@blp.response(201, s.TransferSchema)
@blp.doc(summary="Make an admin adjustment",
         description="Moves an amount between two accounts of the same unit as a correcting transfer, with a reason; "
                     "never edits an earlier transfer. Requires an Idempotency-Key (LED-3); audited.")
def create_adjustment(body):
    return books.adjust(current_actor(), key=current_key(), **body)


@blp.route("/transfers/<int:transfer_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.TransferSchema)
@blp.doc(summary="Read a transfer",
         description="One transfer with its entries, state (pending, posted, voided) and the transfer it references.")
def get_transfer(transfer_id):
    return books.get_transfer(current_actor(), transfer_id)


@blp.route("/check", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.CheckSchema)
@blp.doc(summary="Check the ledger invariants",
         description="Checks that every transfer balances, that cached balances equal the sums of entries and that no "
                     "non-negative account is negative (LED-4); the same check as `flask ledger check`.")
def check():
    violations = ledger.check()
    return {"ok": not violations, "violations": violations}
