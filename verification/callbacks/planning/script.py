"""The script the agent reads: how people are named and greeted, how values are read out."""
from __future__ import annotations

import re

from pypinyin import lazy_pinyin

from verification import vocabulary as vocab
from verification.callbacks.planning.inputs import ROLES, PartyFacts, split_car

_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯",
                      "长孙", "宇文", "司徒", "司空", "端木", "西门", "南宫", "独孤", "呼延")
_HAN = re.compile(r"[\u3400-\u9fff]")


def _is_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


def _surname(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return name
    if _is_han(name[0]):
        return name[:2] if name[:2] in _COMPOUND_SURNAMES else name[0]
    parts = name.split()
    return parts[-1] if len(parts) > 1 else name


def _pinyin(text: str) -> str:
    return " ".join(p.capitalize() for p in lazy_pinyin(text))


def _romanised(text: str) -> str:
    """'欧阳' -> 'Ouyang', '速腾' -> 'Suteng'."""
    return "".join(_pinyin(text).split()).capitalize() if _is_han(text) else text


def name_en(name: str) -> str:
    """'张三' -> 'Zhang San', '欧阳娜娜' -> 'Ouyang Nana'; latin names unchanged."""
    if not _is_han(name):
        return name
    surname = _surname(name)
    given = name[len(surname):]
    return f"{_romanised(surname)} {_romanised(given)}".strip()


def who(party: PartyFacts, lang: str = "zh") -> str:
    """张先生 / 李女士 / 张三 (gender unknown); English Mr Zhang / Ms Li / Zhang San."""
    if lang == "zh":
        if party.gender == "male":
            return _surname(party.name) + "先生"
        if party.gender == "female":
            return _surname(party.name) + "女士"
        return party.name
    if party.gender in ("male", "female"):
        title = "Mr" if party.gender == "male" else "Ms"
        return f"{title} {_romanised(_surname(party.name))}"
    return name_en(party.name)


def _full_with_title(party: PartyFacts, lang: str) -> str:
    """张三先生 / Mr Zhang San."""
    if lang == "zh":
        return party.name + {"male": "先生", "female": "女士"}.get(party.gender or "", "")
    return {"male": "Mr ", "female": "Ms "}.get(party.gender or "", "") + name_en(party.name)


def display(fact: str, value: str, lang: str) -> str:
    """How a value is read out: '自动挡' / 'automatic', '白色' / 'white', '速腾' / 'Sagitar'."""
    if fact == "transmission":
        canon = vocab.canon_transmission(value)
        if lang == "zh":
            return {"automatic": "自动挡", "manual": "手动挡"}.get(canon, value)
        return {"automatic": "automatic", "manual": "manual"}.get(canon, value)
    if fact == "colour":
        canon = vocab.canon_colour(value)
        if lang == "zh":
            if not _is_han(value) and canon in vocab.COLOURS:
                return vocab.COLOURS[canon][1]
            return value
        return canon if canon in vocab.COLOURS else (_romanised(value) if _is_han(value) else value)
    if fact == "model":
        canon = vocab.canon_model(value)
        if lang == "zh":
            if not _is_han(value) and canon in vocab.MODELS and _is_han(vocab.MODELS[canon][0]):
                return vocab.MODELS[canon][0]
            return value
        if canon in vocab.MODELS:
            return "ID.4" if canon == "id.4" else " ".join(w.upper() if len(w) == 1 else w.capitalize()
                                                           for w in canon.split())
        return _romanised(value) if _is_han(value) else value
    if fact == "car":
        colour, model = split_car(value)
        if lang == "zh":
            return display("colour", colour, "zh") + display("model", model, "zh")
        return f"{display('colour', colour, 'en')} {display('model', model, 'en')}"
    return value


def _pronoun(party: PartyFacts, lang: str) -> str:
    if lang == "zh":
        return {"male": "他", "female": "她"}.get(party.gender or "", who(party, "zh"))
    return {"male": "him", "female": "her"}.get(party.gender or "", "them")


def greeting(callee_role: str, callee: PartyFacts, other: PartyFacts, lang: str = "zh", *,
             new_car: str | None = None) -> str:
    """The seed's opening: thanks, the gift, why we ask, and the invitation to refer friends.

    To the new customer (referee) about the old one; the mirror version to the old
    customer (referrer) about the new one. `new_car` (e.g. '红色高尔夫') is read out
    only to the buyer himself, never to the referrer (it is a fact we may ask about).
    """
    if callee_role not in ROLES:
        raise ValueError(f"callee_role must be one of {ROLES}")
    hello_zh, hello_en = who(callee, "zh"), who(callee, "en")
    if lang == "zh":
        if callee_role == "referee":
            car = f"{new_car}" if new_car else ""
            return (f"{hello_zh}您好! 您是在您朋友{_full_with_title(other, 'zh')}介绍下购买了新车{car}。"
                    f"我们为了感谢{who(other, 'zh')}, 有份礼品送给{_pronoun(other, 'zh')}, "
                    f"现在向您核对一下{who(other, 'zh')}的信息。"
                    f"同时欢迎您也介绍朋友到店购车, 若购车成功我们也会有礼品赠送。")
        return (f"{hello_zh}您好! 感谢您介绍您的朋友{_full_with_title(other, 'zh')}到我店购车。"
                f"为了感谢您, 我们有份礼品送给您, 现在向您核对一下{who(other, 'zh')}的信息。"
                f"同时欢迎您继续介绍朋友到店购车, 若购车成功我们还会有礼品赠送。")
    if callee_role == "referee":
        car = f" ({new_car})" if new_car else ""
        return (f"Hello {hello_en}! You bought your new car{car} on the recommendation of your friend "
                f"{_full_with_title(other, 'en')}. To thank {who(other, 'en')} we have a gift for "
                f"{_pronoun(other, 'en')}, and we would like to check a few details about {who(other, 'en')} "
                f"with you. You are welcome to recommend friends to us too: if they buy a car, "
                f"there is a gift for you as well.")
    return (f"Hello {hello_en}! Thank you for recommending your friend {_full_with_title(other, 'en')} "
            f"to our store. To thank you we have a gift for you, and we would like to check a few details "
            f"about {who(other, 'en')} with you. Please keep recommending friends: if they buy a car, "
            f"there is another gift for you.")
