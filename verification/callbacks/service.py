"""Callback verification (电话回访核实): what the doors and jobs call, one idea per module.

* `plans`: the plan drawn for a referral (callee, time, questions) and stored (CB-1..CB-3, CB-7);
* `queue`: the agent claims the next call due, holds it on a lease, reads the script (CB-5);
* `answers`: the answers recorded and graded, the verdict applied when certain (CB-5, CB-8);
* `retries`: nobody picked up; the retry job re-plans (CB-9);
* `reviews`: managers decide undecided answers; how a decided referral was verified (CB-7, CB-11);
* `operations`: the one place a callback changes, with its audit event.

The plan is shown to nobody who can influence the outcome (CB-4): the showroom's schemas never
include it, the audit trail records only a digest of it, and agents get the script without the key.
"""
from __future__ import annotations

from verification.callbacks.answers import record_answers
from verification.callbacks.plans import catalog, facts_of, plan_callback
from verification.callbacks.queue import (
                                          LEASE_MINUTES,
                                          claim_next,
                                          expired_lease_ids,
                                          held_callback,
                                          release_expired_leases,
                                          release_lease,
                                          script,
)
from verification.callbacks.retries import mark_unreachable, retry_one, retry_unreachable, unreachable_ids
from verification.callbacks.reviews import decide_review, list_reviews, review_question, verification_record

__all__ = ["LEASE_MINUTES", "catalog", "claim_next", "decide_review", "expired_lease_ids", "facts_of", "held_callback",
           "list_reviews", "mark_unreachable", "plan_callback", "record_answers", "release_expired_leases",
           "release_lease", "retry_one", "retry_unreachable", "review_question", "script", "unreachable_ids",
           "verification_record"]
