"""What every form page does the same way: show domain errors beside the fields, write nothing;
run one service call for a button and come back with a message (`act`)."""
from __future__ import annotations

from typing import Any, Callable

from flask import flash, g, redirect, render_template
from flask_babel import gettext as _

from loyalty.auth.access import can_see_full_phone
from loyalty.directory.identity import mask_phone
from loyalty.errors import DomainError


def attach_field_errors(form, fields: dict[str, list[str]]) -> list[str]:
    """Put each message under its form field; return those no field of the form shows."""
    leftover: list[str] = []
    for name, messages in fields.items():
        if name in form:
            form[name].errors = list(form[name].errors) + list(messages)
        else:
            leftover.extend(messages)
    return leftover


def flash_error(error: DomainError, *, labels: dict | None = None) -> None:
    """The error and each of its field messages as flashes; with `labels` (field → message id),
    each as "label: message", never the field's code."""
    flash(_(error.message), "error")
    for field, messages in error.fields.items():
        label = (labels or {}).get(field)
        for message in messages:
            flash(f"{_(label)}: {_(message)}" if label else _(message), "error")


def act(do: Callable[[], Any], done: str | Callable[[Any], str], back: str, *, category: str = "success",
        labels: dict | None = None):
    """A page's POST that calls one service: flash `done` when it succeeds (or `done(result)`, when
    what to say depends on the new state); on a domain error mark the request for rollback (nothing
    is committed) and flash why. Either way redirect to `back`."""
    try:
        result = do()
        flash(done(result) if callable(done) else done, category)
    except DomainError as error:
        g.rollback = True
        flash_error(error, labels=labels)
    return redirect(back)


def expired(back: str, message: str | None = None):
    """A form that did not validate (an expired CSRF token, a missing field): say so, go back."""
    g.rollback = True
    flash(message or _("The form expired. Please reload the page and try again."), "error")
    return redirect(back)


def refuse(template: str, form, error: DomainError, *, data: tuple[str, ...] = (), **context):
    """Re-render the form with the service's field errors; nothing of this request is committed.
    `data`: fields of the error that carry values for the page (an id to link), not messages."""
    g.rollback = True
    flash(_(error.message), "error")
    fields = {name: messages for name, messages in error.fields.items() if name not in data}
    for message in attach_field_errors(form, fields):
        flash(_(message), "error")
    return render_template(template, form=form, **context), error.status


def invalid(template: str, form, **context):
    """The form itself did not validate: 422 with the field errors, nothing written."""
    g.rollback = True
    flash(_("Some fields are not valid."), "error")
    return render_template(template, form=form, **context), 422


def shown_phone(actor, phone: str | None) -> str | None:
    """Phones masked (138****8000) unless the viewer may see them in full (SEC-3)."""
    return phone if can_see_full_phone(actor) else mask_phone(phone)


def show_form(template: str, form, **context):
    """A form that did not pass: first view (200) or a submission with field errors (422)."""
    if form.is_submitted():
        return invalid(template, form, **context)
    return render_template(template, form=form, **context)
