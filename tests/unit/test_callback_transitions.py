"""Callback status moves: the transition table refuses what it does not list (examples 5, 6)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from verification.callbacks import models
from verification.callbacks.models import ANSWERED, CANCELLED, CLAIMED, EXHAUSTED, PLANNED, TRANSITIONS, UNREACHABLE
from verification.callbacks.operations import AUDIT_FIELDS, InvalidTransition, change_callback

STATUSES = {PLANNED, CLAIMED, ANSWERED, UNREACHABLE, EXHAUSTED, CANCELLED}
ALLOWED = {(PLANNED, CLAIMED), (PLANNED, CANCELLED), (CLAIMED, ANSWERED), (CLAIMED, UNREACHABLE),
           (CLAIMED, PLANNED), (CLAIMED, CANCELLED), (UNREACHABLE, PLANNED), (UNREACHABLE, EXHAUSTED),
           (UNREACHABLE, CANCELLED)}


def test_the_table_names_every_status_and_only_the_moves_the_rules_need():
    assert set(TRANSITIONS) == STATUSES
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED
    assert set(models.OPEN) == {a for a, b in ALLOWED if b == CANCELLED}


@pytest.mark.parametrize("before, after", sorted(
    (a, b) for a in STATUSES for b in STATUSES if a != b and (a, b) not in ALLOWED))
def test_an_illegal_move_is_refused_before_anything_is_written(before, after):
    callback = SimpleNamespace(**dict.fromkeys(AUDIT_FIELDS), id=7)  # a stored callback's columns, no database
    callback.status = before
    with pytest.raises(InvalidTransition) as refused:
        change_callback(None, callback, "moved", status=after)
    assert refused.value.fields == {"status": [f"{before} -> {after}"]}
    assert callback.status == before
