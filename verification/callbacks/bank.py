"""The question bank (回访题库): admins add, edit and retire templates; planning asks what it holds.

The shipped defaults are defined once, in planning.templates; the bank copies them into its table the
first time it is read (by an admin or by planning), and from then on the table is the bank.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from loyalty.audit import service as audit
from loyalty.errors import Conflict, Forbidden, NotFound, ValidationFailed
from loyalty.extensions import db
from verification.callbacks import planning
from verification.callbacks.models import QuestionTemplate

FIELDS = ("code", "kind", "fact", "text_zh", "text_en", "active")
OPEN_FACTS = planning.OPEN_FACTS


def _require_admin(actor) -> None:
    if actor is not None and actor.role != "admin":
        raise Forbidden(code="role_forbidden")


def _check_placeholders(kind: str, text_zh: str, text_en: str) -> None:
    errors: dict[str, list[str]] = {}
    for name, text in (("text_zh", text_zh), ("text_en", text_en)):
        if "{who}" not in text:
            errors.setdefault(name, []).append("Must contain {who}, the person asked about.")
        if kind == "statement" and "{value}" not in text:
            errors.setdefault(name, []).append("A statement must contain {value}, the stated fact.")
        try:
            text.format(who="x", value="y")
        except (KeyError, IndexError, ValueError):
            errors.setdefault(name, []).append("Only {who} and {value} may appear in braces.")
    if errors:
        raise ValidationFailed(fields=errors)


def ensure_defaults() -> None:
    """Copy the shipped defaults into the table the first time the bank is read. Two first readers at
    once (two delivery checks): the second one's copy meets the unique codes and is dropped."""
    if db.session.execute(select(QuestionTemplate.id).limit(1)).first():
        return
    try:
        with db.session.begin_nested():
            for t in planning.DEFAULT_TEMPLATES:
                db.session.add(QuestionTemplate(code=t.code, kind=t.kind, fact=t.fact, text_zh=t.text_zh,
                                                text_en=t.text_en, active=True))
    except IntegrityError:
        pass  # another transaction copied them first


def active_templates() -> tuple[planning.Template, ...]:
    """The templates planning draws from: the bank's active ones. A bank with every template retired
    still asks the shipped defaults rather than refuse every delivery check."""
    ensure_defaults()
    rows = db.session.execute(select(QuestionTemplate).where(QuestionTemplate.active.is_(True))
                              .order_by(QuestionTemplate.id)).scalars().all()
    if not rows:
        return planning.DEFAULT_TEMPLATES
    return tuple(planning.Template(code=r.code, kind=r.kind, fact=r.fact, text_zh=r.text_zh, text_en=r.text_en)
                 for r in rows)


def list_templates(actor) -> list[QuestionTemplate]:
    _require_admin(actor)
    ensure_defaults()
    return list(db.session.execute(select(QuestionTemplate).order_by(QuestionTemplate.id)).scalars())


def create_template(actor, *, code: str, kind: str, fact: str, text_zh: str, text_en: str,
                    active: bool = True) -> QuestionTemplate:
    _require_admin(actor)
    ensure_defaults()
    if kind == "open" and fact not in OPEN_FACTS:
        raise ValidationFailed(fields={"fact": [
            "An open question asks about employer, home district, business or occupation."]})
    _check_placeholders(kind, text_zh, text_en)
    if db.session.execute(select(QuestionTemplate.id).where(QuestionTemplate.code == code)).first():
        raise Conflict(code="template_code_taken", fields={"code": ["Already used."]})
    template = QuestionTemplate(code=code, kind=kind, fact=fact, text_zh=text_zh, text_en=text_en, active=active)
    db.session.add(template)
    db.session.flush()
    audit.record(actor, "question_template", template.id, "created", None, audit.snapshot(template, FIELDS))
    return template


def update_template(actor, template_id: int, changes: dict) -> QuestionTemplate:
    _require_admin(actor)
    ensure_defaults()
    template = db.session.get(QuestionTemplate, template_id)
    if template is None:
        raise NotFound(code="template_not_found")
    before = audit.snapshot(template, FIELDS)
    _check_placeholders(template.kind, changes.get("text_zh", template.text_zh),
                        changes.get("text_en", template.text_en))
    for key in ("text_zh", "text_en", "active"):
        if key in changes:
            setattr(template, key, changes[key])
    db.session.flush()
    audit.record(actor, "question_template", template.id, "updated", before, audit.snapshot(template, FIELDS))
    return template


def toggle_template(actor, template_id: int) -> QuestionTemplate:
    """Switch a question on or off (the admin's question bank page)."""
    _require_admin(actor)
    template = db.session.get(QuestionTemplate, template_id)
    if template is None:
        raise NotFound(code="template_not_found")
    return update_template(actor, template_id, {"active": not template.active})
