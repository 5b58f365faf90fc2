"""Reading the model the way a vehicle licence (行驶证) writes it: 品牌 + 型号代码(通用名).

A licence's 品牌型号 line reads `大众汽车牌SVW7141BRD(速腾)` or `一汽-大众牌FV7146BBDBG`: a brand
ending in 牌, the model code of the type approval, and sometimes the common name in half- or
full-width brackets. Managers also type what the badge on the car says (`大众速腾`, `Sagitar`).

`read_model` splits what was typed into brand, code and common name. `model_verdict` then decides
the model row of the delivery check without ever claiming a match it cannot prove:

- a common name is compared by its canonical model (vocabulary.canon_model, tolerant of a trim
  or engine suffix such as `速腾 1.4T`);
- a bare model code proves nothing about the model (we hold no code table we could vouch for):
  the brand is compared, and a brand that differs is a mismatch; otherwise the model is
  `unreadable` and the manager is asked to add the common name seen on the car.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from verification import vocabulary as v

MATCH, MISMATCH, MISSING, UNREADABLE = "match", "mismatch", "missing", "unreadable"

# canonical brand -> spellings on licences and badges (folded before use)
BRANDS: dict[str, tuple[str, ...]] = {
    "volkswagen": ("大众", "大众汽车", "一汽-大众", "一汽大众", "一汽-大众汽车", "上汽大众", "上汽-大众",
                   "上海大众", "上汽大众汽车", "volkswagen", "vw", "faw-volkswagen", "saic volkswagen"),
    "audi": ("奥迪", "一汽奥迪", "一汽-奥迪", "上汽奥迪", "audi"),
    "skoda": ("斯柯达", "上汽斯柯达", "skoda"),
    "toyota": ("丰田", "一汽丰田", "广汽丰田", "toyota"),
    "honda": ("本田", "广汽本田", "东风本田", "honda"),
    "nissan": ("日产", "东风日产", "nissan"),
    "buick": ("别克", "上汽通用别克", "buick"),
    "chevrolet": ("雪佛兰", "上汽通用雪佛兰", "chevrolet"),
    "bmw": ("宝马", "华晨宝马", "bmw"),
    "mercedes-benz": ("奔驰", "梅赛德斯-奔驰", "梅赛德斯奔驰", "北京奔驰", "mercedes-benz", "mercedes", "benz"),
    "ford": ("福特", "长安福特", "ford"),
    "hyundai": ("现代", "北京现代", "hyundai"),
    "kia": ("起亚", "东风悦达起亚", "kia"),
    "mazda": ("马自达", "长安马自达", "一汽马自达", "mazda"),
    "byd": ("比亚迪", "byd"),
    "geely": ("吉利", "geely"),
    "changan": ("长安", "changan"),
    "haval": ("哈弗", "haval"),
    "tesla": ("特斯拉", "tesla"),
}
# The brand of each model in vocabulary.MODELS (all Volkswagen models, FAW-VW or SAIC-VW).
MODEL_BRANDS: dict[str, str] = {model: "volkswagen" for model in (
    "sagitar", "golf", "jetta", "lavida", "passat", "magotan", "tiguan", "tiguan l", "bora", "tayron",
    "lamando", "touareg", "polo", "id.4")}

_BRAND_INDEX = {v.fold(spelling): canon for canon, spellings in BRANDS.items() for spelling in spellings}
# longest first, so 一汽大众 is taken before 一汽 could be
_BRAND_PREFIXES = sorted(_BRAND_INDEX, key=len, reverse=True)
_MODEL_SPELLINGS = sorted(((v.fold(s), canon) for canon, spellings in v.MODELS.items()
                           for s in (canon, *spellings)), key=lambda pair: len(pair[0]), reverse=True)
# A type-approval model code: 2-4 letters of the maker, 4 digits (category, size, serial), a suffix.
_CODE = re.compile(r"^[A-Z]{2,4}\d{4}[A-Z0-9]*$")
_BRACKETED = re.compile(r"[(\[【〔]([^()\[\]【】〔〕]*)[)\]】〕]")
_MARK = "牌"  # the licence writes the brand as 大众汽车牌


@dataclass(frozen=True)
class LicenceModel:
    """What a licence's 品牌型号 says: any of brand, model code and common name may be absent."""
    raw: str
    brand_text: str | None = None   # as written, e.g. 大众汽车
    brand: str | None = None        # canonical, e.g. volkswagen (None when not a brand we know)
    code: str | None = None         # e.g. SVW7141BRD
    name: str | None = None         # the common name as written, e.g. 速腾

    def as_dict(self) -> dict:
        return {"brand": self.brand_text, "code": self.code, "name": self.name}


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def brand_of(text: str | None) -> str | None:
    """The canonical brand of a brand as written ('一汽-大众' -> 'volkswagen'), or None."""
    return _BRAND_INDEX.get(v.fold(text)) if text else None


def _split_brand(text: str) -> tuple[str | None, str]:
    """'大众汽车牌SVW7141BRD' -> ('大众汽车', 'SVW7141BRD'); '大众速腾' -> ('大众', '速腾')."""
    if _MARK in text:
        brand, _, rest = text.partition(_MARK)
        return brand.strip() or None, rest.strip()
    folded = v.fold(text)
    for prefix in _BRAND_PREFIXES:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            # cut the same number of folded characters off the original text
            kept, seen = 0, ""
            for i, ch in enumerate(text):
                seen += v.fold(ch)
                if seen == prefix:
                    kept = i + 1
                    break
            if kept:
                return text[:kept].strip(" -·"), text[kept:].strip(" -·")
    return None, text


def read_model(text: str | None) -> LicenceModel:
    """Split a licence model as typed into brand, model code and common name."""
    raw = _clean(text or "")
    names = [part.strip() for part in _BRACKETED.findall(raw) if part.strip()]
    outside = _BRACKETED.sub(" ", raw).strip()
    brand_text, rest = _split_brand(outside)
    if brand_text is None and brand_of(rest):
        brand_text, rest = rest, ""  # a brand alone: 大众
    code = None
    compact = re.sub(r"[\s\-·]", "", rest).upper()
    if compact and _CODE.match(compact):
        code, rest = compact, ""
    name = names[0] if names else None
    if rest and (name is None or (canon_model(name) not in v.MODELS and canon_model(rest) in v.MODELS)):
        name = rest  # 大众速腾, or 速腾(白) where the bracket is not a model
    return LicenceModel(raw=raw, brand_text=brand_text, brand=brand_of(brand_text), code=code,
                        name=name or None)


def canon_model(text: str | None) -> str:
    """vocabulary.canon_model, also when a trim or engine follows the name ('速腾 1.4T 舒适型').

    Only a suffix that starts with a digit is cut: '高尔夫嘉旅' is another car than '高尔夫'."""
    canon = v.canon_model(text)
    if canon in v.MODELS or not canon:
        return canon
    folded = canon
    for prefix in _BRAND_PREFIXES:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            folded = folded[len(prefix):]
            break
    for spelling, model in _MODEL_SPELLINGS:
        if folded.startswith(spelling) and folded[len(spelling):len(spelling) + 1].isdigit():
            return model
    return canon


def model_brand(text: str | None) -> str | None:
    """The brand of a model as people say it ('速腾' -> 'volkswagen'), or None when unknown."""
    return MODEL_BRANDS.get(canon_model(text)) if text else None


@dataclass(frozen=True)
class ModelVerdict:
    result: str                # match | mismatch | missing | unreadable
    note: str | None = None    # why, when it is not a plain comparison of names


def _compare_names(*values: str | None) -> str:
    present = [canon_model(value) for value in values if value and canon_model(value)]
    if len(present) < len(values):
        return MISSING
    return MATCH if len(set(present)) == 1 else MISMATCH


def model_verdict(licence: LicenceModel, claim: str | None, record: str | None) -> ModelVerdict:
    """The model row of the delivery check: the licence against the claim and the record."""
    if not licence.raw:
        return ModelVerdict(MISSING)
    claimed_brands = {b for b in (model_brand(claim), model_brand(record)) if b}
    if licence.brand and claimed_brands and claimed_brands != {licence.brand}:
        return ModelVerdict(MISMATCH, "brand_differs")
    if licence.name:
        named_brand = model_brand(licence.name)
        if licence.brand and named_brand and named_brand != licence.brand:
            return ModelVerdict(MISMATCH, "brand_differs")
        return ModelVerdict(_compare_names(licence.name, claim, record))
    if licence.code or licence.brand_text:
        return ModelVerdict(UNREADABLE, "code_only")
    return ModelVerdict(_compare_names(licence.raw, claim, record))
