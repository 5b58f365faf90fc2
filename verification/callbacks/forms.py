"""Forms of the callback pages."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class ConfirmationForm(FlaskForm):
    """A manager settles a passing verdict held because its plan was weak (CB-11)."""
    decision = SelectField(_l("Decision"), choices=[
        SelectChoice("verified", _l("Confirm: verified")),
        SelectChoice("unverifiable", _l("Not confirmed: release the reward back"))], validators=[DataRequired()])
    reason = TextAreaField(_l("What you checked"), validators=[DataRequired(), Length(max=500)])


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AnswersForm(FlaskForm):
    """The agent's answers; one yes/no and one text input per question of the script (CSRF here)."""

    def answers(self, questions: list[dict]) -> list[dict]:
        """What record_answers takes: per question, confirmed (yes/no or None) and the text typed."""
        said = {"yes": True, "no": False}
        return [{"question_id": q["id"], "confirmed": said.get(request.form.get(f"{q['id']}_confirmed")),
                 "text": (request.form.get(f"{q['id']}_text") or "").strip() or None} for q in questions]


class ReviewDecisionForm(FlaskForm):
    """A manager grades an answer the service could not: the button pressed is the decision."""
    decision = SelectField(choices=[SelectChoice("correct", "correct"), SelectChoice("wrong", "wrong")],
                           validators=[DataRequired()])


class QuestionForm(FlaskForm):
    """A new question for the bank; the service checks the values (kind, fact, placeholders)."""
    code = StringField(filters=[_strip])
    kind = StringField(filters=[_strip])
    fact = StringField(filters=[_strip])
    text_zh = StringField(filters=[_strip])
    text_en = StringField(filters=[_strip])

    def template(self) -> dict:
        return {name: self[name].data or "" for name in ("code", "kind", "fact", "text_zh", "text_en")}
