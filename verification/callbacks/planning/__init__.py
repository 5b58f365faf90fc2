"""Callback planning (CB-1..CB-3): who is called, when, and what they are asked.

Pure functions, no database: the service hands in facts about the parties and stores what comes
back. Every random choice uses `secrets` (a CSPRNG), so nobody who has seen earlier plans can
predict the next one (CB-4). One idea per module:

* who is called (CB-1): `draw_callee`, here;
* when (CB-2): `calling_hours`;
* what they are asked (CB-3): `questions` (which plan, its weights), `values` (true and false values
  of a fact), `templates` (the bank's shipped defaults);
* what the agent reads: `script`;
* the data they share: `inputs`.

Callers use the names below (`planning.draw_callee`, `planning.candidate_plans`): tests replace them here.
"""
from __future__ import annotations

import secrets

from verification.callbacks.planning.calling_hours import calling_intervals, due_time, in_calling_hours, next_opening
from verification.callbacks.planning.inputs import (
    CAR_FACTS,
    KINDS,
    OPEN_FACTS,
    ROLES,
    SHANGHAI_DISTRICTS,
    Catalog,
    NotEnoughFacts,
    PartyFacts,
    PlannedQuestion,
    Template,
    VehicleFacts,
    join_car,
    split_car,
)
from verification.callbacks.planning.questions import (
    Candidates,
    candidate_plans,
    draw_questions,
    instantiate,
    paired_open_facts,
    pick_plan,
)
from verification.callbacks.planning.script import greeting, name_en, who
from verification.callbacks.planning.templates import DEFAULT_TEMPLATES
from verification.callbacks.planning.values import canon, false_values, true_values

__all__ = ["CAR_FACTS", "DEFAULT_TEMPLATES", "KINDS", "OPEN_FACTS", "ROLES", "SHANGHAI_DISTRICTS", "Candidates",
           "Catalog", "NotEnoughFacts", "PartyFacts", "PlannedQuestion", "Template", "VehicleFacts",
           "calling_intervals", "canon", "candidate_plans", "draw_callee", "draw_questions", "due_time",
           "false_values", "greeting", "in_calling_hours", "instantiate", "join_car", "name_en", "next_opening",
           "paired_open_facts", "pick_plan", "split_car", "true_values", "who"]


def draw_callee() -> str:
    """'referee' (the new customer) or 'referrer' (the old customer), 50/50 from a CSPRNG (CB-1)."""
    return ROLES[secrets.randbelow(2)]
