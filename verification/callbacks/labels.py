"""Labels of a callback's grades (shown on the agent's and reviewers' pages and, as evidence rows,
on the finance page). Kept as message ids: a payout stores them and the page translates them."""
from __future__ import annotations

from flask_babel import gettext


def N_(message: str) -> str:
    """Marks a message for extraction (babel.cfg keywords); it is translated where it is shown."""
    return message


GRADES = {"correct": N_("Correct"), "wrong": N_("Wrong"), "undecided": N_("Undecided"),
          "unknown": N_("Did not know")}


def grade_label(grade: str | None) -> str:
    message = GRADES.get(grade or "")
    return gettext(message) if message else (grade or "")
