"""What planning works on and hands back: the parties' facts, the catalog, templates, questions.

Plain data, no database: the service hands in facts about the parties and stores what comes back.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

ROLES = ("referee", "referrer")
OPEN_FACTS = ("employer", "home_district", "business", "occupation")
CAR_FACTS = ("model", "colour", "transmission", "car")
# Fallback false values when the catalog lists no districts / businesses: used only when the
# party's own value is one of them (a Shanghai district is then swapped for another one).
SHANGHAI_DISTRICTS = ("浦东新区", "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
                      "宝山区", "嘉定区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区")
KINDS = ("open", "trap", "truth")


class NotEnoughFacts(ValueError):
    """The store does not hold enough facts about the party to ask 3 questions."""


# ---- inputs ------------------------------------------------------------------------

@dataclass(frozen=True)
class VehicleFacts:
    model: str
    colour: str
    transmission: str  # "automatic" | "manual"
    plate: str | None = None


@dataclass(frozen=True)
class PartyFacts:
    name: str
    gender: str | None
    employer: str | None
    home_district: str | None
    business: str | None
    vehicles: tuple[VehicleFacts, ...] = ()
    occupation: str | None = None


@dataclass(frozen=True)
class Catalog:
    """Values the group really deals in: plausible false values for traps.

    `employers`, `districts` and `businesses` are optional (e.g. the distinct values
    on record); without them traps use the car facts only, and the grader has fewer
    "other real values" to recognise.
    """
    models: tuple[str, ...]
    colours: tuple[str, ...]
    transmissions: tuple[str, ...] = ("automatic", "manual")
    employers: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    businesses: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    code: str
    kind: str  # "open" | "statement"
    fact: str
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class PlannedQuestion:
    key: str
    template_code: str
    kind: str  # "open" | "trap" | "truth"
    fact: str
    true_value: str
    asked_value: str | None
    text_zh: str
    text_en: str
    # other true values of the same fact (the party's other cars): a correction naming one is right
    alternatives: tuple[str, ...] = ()
    # other real values of the fact (catalog): an answer naming one of these is a clear "wrong"
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["alternatives"] = list(self.alternatives)
        data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PlannedQuestion:
        return cls(key=data["key"], template_code=data["template_code"], kind=data["kind"], fact=data["fact"],
                   true_value=data["true_value"], asked_value=data.get("asked_value"),
                   text_zh=data["text_zh"], text_en=data["text_en"],
                   alternatives=tuple(data.get("alternatives") or ()), choices=tuple(data.get("choices") or ()))


def join_car(colour: str, model: str) -> str:
    """A car value as stored in a question: colour, one space, model ('白色 速腾')."""
    return f"{colour.strip()} {model.strip()}"


def split_car(value: str) -> tuple[str, str]:
    colour, _, model = (value or "").strip().partition(" ")
    return colour, model.strip()
