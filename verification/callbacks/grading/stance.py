"""Yes, no, "don't know", and what an answer asserts once what it denies is set aside
('不是黑色捷达, 是白色速腾' asserts '白色速腾')."""
from __future__ import annotations

import re

from verification.callbacks.grading.text import compact, normalise

_DONT_KNOW = ("不知道", "不清楚", "不太清楚", "不大清楚", "不是很清楚", "不记得", "记不清", "记不得", "忘了", "忘记了",
              "不了解", "不太了解", "没问过", "不晓得", "不确定", "搞不清", "说不上来", "不好说", "没印象",
              "dont know", "don t know", "do not know", "not sure", "no idea", "unknown", "idk", "dunno",
              "not remember", "forgot")
_NEG_TOKENS = ("并不是", "不是", "不对", "没有", "不", "没", "非", "错了", "错")
_RESET_TOKENS = ("而是", "应该是", "就是", "其实是", "而且", "是")
_POS_START = ("没错", "是的", "对的", "对", "是", "有的", "有", "确实", "肯定", "当然", "没问题", "好的")
_LATIN_NEG = {"no", "not", "nope", "isnt", "isn", "wrong", "incorrect", "never", "nah"}
_LATIN_POS = {"yes", "yeah", "yep", "yup", "right", "correct", "true", "ok", "okay", "sure", "indeed"}
_LATIN_RESET = {"but", "is", "its", "it", "actually", "rather", "instead", "he", "she", "drives", "has"}
_LATIN_SKIP = {"a", "an", "the", "s"}


def dont_know(text: str) -> bool:
    n = normalise(text)
    spaced = re.sub(r"[^a-z ]", " ", n.replace("'", " "))
    return any(p in compact(n) or p in spaced for p in _DONT_KNOW)


def stance(text: str | None) -> bool | None:
    """True for a clear yes, False for a clear no, None otherwise (looks at how the answer starts)."""
    n = normalise(text)
    if not n:
        return None
    first = n.split(" ", 1)[0]
    if re.fullmatch(r"[a-z]+", first):
        if first in _LATIN_NEG:
            return False
        if first in _LATIN_POS:
            return True
    c = compact(n)
    if c[:1] in ("嗯", "恩"):  # 'mm-hmm' alone is a yes; '嗯... 那个...' is nothing yet
        rest = c.lstrip("嗯恩")
        return True if not rest else stance(rest)
    if c.startswith("没错") or c.startswith("不错"):
        return True
    if c.startswith(_NEG_TOKENS):
        return False
    if c.startswith(_POS_START):
        return True
    if "不是" in c or "不对" in c:
        return False
    return None


def _is_han_char(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def asserted(text: str | None) -> str:
    """The normalised text without what it denies: '不是黑色捷达, 是白色速腾' -> '白色速腾'.

    Reading left to right, a negation (不是, 不, 没有, not, no...) starts a denied
    stretch that lasts until a separator or an affirming '是' / 'but'."""
    n = normalise(text, breaks=True)
    out: list[str] = []
    negated = False
    i = 0
    while i < len(n):
        ch = n[i]
        if ch == "|":
            negated = False
            out.append(" ")
            i += 1
            continue
        if ch == " ":
            # a separator resets, except inside a run of latin words ('not a black jetta')
            prev_latin = i > 0 and n[i - 1].isascii() and n[i - 1].isalpha()
            next_latin = i + 1 < len(n) and n[i + 1].isascii() and n[i + 1].isalpha()
            if not (prev_latin and next_latin):
                negated = False
            out.append(" ")
            i += 1
            continue
        if ch.isascii() and ch.isalpha():
            m = re.match(r"[a-z]+", n[i:])
            word = m.group(0)
            # a latin word inside Chinese ('搞IT的', '开SUV') is a word of that phrase, not English grammar
            in_chinese = (i > 0 and _is_han_char(n[i - 1])) or (i + len(word) < len(n) and
                                                                _is_han_char(n[i + len(word)]))
            if in_chinese:
                out.append(" " if negated else word)
            elif word in _LATIN_SKIP:
                out.append(" ")
            elif word in _LATIN_NEG:
                negated = True
                out.append(" ")
            elif word in _LATIN_POS or word in _LATIN_RESET:
                negated = False
                out.append(" ")
            else:
                out.append(" " if negated else word)
            i += len(word)
            continue
        if n.startswith(("没错", "不错"), i):
            negated = False
            out.append(" ")
            i += 2
            continue
        for tok in _NEG_TOKENS:
            if n.startswith(tok, i):
                negated = True
                out.append(" ")
                i += len(tok)
                break
        else:
            for tok in _RESET_TOKENS:
                if n.startswith(tok, i):
                    negated = False
                    out.append(" ")
                    i += len(tok)
                    break
            else:
                out.append(" " if negated else ch)
                i += 1
    return re.sub(r" +", " ", "".join(out)).strip()


# what may stand beside "don't know" without saying anything: a bare no, pronouns, particles
_DK_NOISE = re.compile("|".join(sorted((
    "并不是", "不是", "不对", "没有", "并不", "不", "没", "我", "也", "真", "的", "了", "啊", "呀", "呢", "吧", "哦", "嗯",
    "恩", "这个", "那个", "他", "她", "就", "还", "都", "具体", "实在", "其实", "确实", "抱歉", "对不起", "sorry",
    "really", "actually", "im", "i"), key=len, reverse=True)))
_DENIAL = re.compile(r"不是|不对|没有|并不|^不|^没|^no|^not")


def _dk_rest(text: str) -> str:
    """The compact text without its "don't know" phrases."""
    c = compact(normalise(text))
    for p in _DONT_KNOW:
        c = c.replace(p.replace(" ", ""), "")
    return c


def only_dont_know(text: str | None) -> bool:
    """'不知道', '不太清楚', '不是, 我不知道', "I don't know": the callee could not say, and said nothing
    else ('不太清楚, 应该是白的' names a colour, '对, 不太清楚' is a yes: those are graded as said)."""
    return bool(text) and dont_know(text) and not _DK_NOISE.sub("", _dk_rest(text))
