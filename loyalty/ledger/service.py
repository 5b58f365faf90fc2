"""The bank (总账): every reward, penalty and point moves through here, and nothing else
changes a balance (LED-1, LED-2, LED-3, LED-4, LED-7).

    acct = ledger.account_for("customer:7", "reward_payable", "CNY")
    t = ledger.transfer(debit=expense, credit=acct, amount=50000, unit="CNY", pending=True,
                        reason="Referral 42 reward reserved", subject="referral:42", key="referral:42:reserve")
    ledger.post_pending(t.id, reason="Referral 42 verified", key="referral:42:post")

This module is the bank's public surface (`from loyalty.ledger import service as ledger`);
the work is done in one module per idea:

- `accounts`: purposes, one account per owner/purpose/unit, balances, locks;
- `spec`: a transfer's parameters, checked;
- `transfers`: transfer, submit, linked batches, post and void of a pending;
- `engine`: the one path every transfer takes (locks, flags, key claim, totals);
- `statements`: an account's statement with its running balance;
- `totals`: the posted balance per (purpose, unit) of all accounts, kept by every transfer;
- `digests`: each transfer's HMAC (SEC-1) and its check;
- `check`: the invariants (LED-4) and the sub-ledgers they include;
- `idempotency`: the claim of a request's idempotency key.

The bank imports nothing of Flask or of the other packages (tests/unit/test_ledger_imports.py):
it knows owners and subjects as strings. Admin adjustments, which need the audit chain, and
store scoping live above it, in `loyalty.books`.
"""
from __future__ import annotations

from loyalty.ledger.accounts import (
                                     OWNER_KINDS,
                                     PURPOSES,
                                     Purpose,
                                     account_for,
                                     accounts_for,
                                     accounts_of,
                                     balance,
                                     balance_of,
                                     get_account,
                                     lock,
                                     parse_owner,
)
from loyalty.ledger.check import SUBLEDGERS, SubLedger, check, register_subledger
from loyalty.ledger.digests import configure, settings, transfer_digest
from loyalty.ledger.spec import MAX_AMOUNT
from loyalty.ledger.statements import entries
from loyalty.ledger.totals import kept as posted_totals
from loyalty.ledger.transfers import (
                                     get_transfer,
                                     post_pending,
                                     submit,
                                     transfer,
                                     transfer_batch,
                                     transfer_by_key,
                                     void_pending,
)

__all__ = [
    "MAX_AMOUNT", "OWNER_KINDS", "PURPOSES", "SUBLEDGERS", "Purpose", "SubLedger", "account_for", "accounts_for", "accounts_of",
    "balance", "balance_of", "check", "configure", "entries", "get_account", "get_transfer", "lock",
    "parse_owner", "post_pending", "posted_totals", "register_subledger", "settings", "submit", "transfer", "transfer_batch",
    "transfer_by_key", "transfer_digest", "void_pending",
]
