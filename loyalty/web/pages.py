"""What every form page does the same way: show domain errors beside the fields, write nothing."""
from __future__ import annotations

from flask import flash, g, render_template
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


def refuse(template: str, form, error: DomainError, **context):
    """Re-render the form with the service's field errors; nothing of this request is committed."""
    g.rollback = True
    flash(_(error.message), "error")
    for message in attach_field_errors(form, error.fields):
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
