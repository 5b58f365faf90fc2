"""Chinese first: every message the service can show has a zh_CN translation.

Two sources of msgids: what `pybabel extract -F babel.cfg` finds (templates,
_(), lazy_gettext), and the plain English messages services raise in domain
errors (app.py passes them through gettext at render time), found here by
reading the source. The second set must also be extractable (listed in
loyalty/web/domain_messages.py), or `pybabel update` would drop them.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.web import compile_catalogs

ROOT = Path(__file__).resolve().parents[2]
PO_FILE = ROOT / "loyalty/web/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
SOURCE_DIRS = ("loyalty", "verification")


def extracted_msgids() -> set[str]:
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.add(msgid)
    return found


# ---- domain error messages, read from the source -----------------------------------

def _python_files():
    for folder in SOURCE_DIRS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _error_class_names(trees) -> set[str]:
    """DomainError and every class that inherits from one, anywhere in the source."""
    names = {"DomainError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        _name_of(base) in names for base in node.bases):
                    names.add(node.name)
                    grew = True
    return names


def _name_of(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _text(node) -> list[str]:
    return [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else []


def _class_messages(node: ast.ClassDef) -> list[str]:
    found = []
    for stmt in node.body:
        if not isinstance(stmt, ast.Assign):
            continue
        for target in stmt.targets:
            if isinstance(target, ast.Name) and target.id == "message":
                found += _text(stmt.value)
            elif isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                for name, value in zip(target.elts, stmt.value.elts):
                    if isinstance(name, ast.Name) and name.id == "message":
                        found += _text(value)
    return found


def _field_messages(node: ast.Call) -> list[str]:
    """`fields={"code": ["Already used."]}` on any call."""
    found = []
    for keyword in node.keywords:
        if keyword.arg == "fields" and isinstance(keyword.value, ast.Dict):
            for value in keyword.value.values:
                if isinstance(value, (ast.List, ast.Tuple)):
                    for item in value.elts:
                        found += _text(item)
    return found


def _call_messages(node: ast.Call, error_classes: set[str]) -> list[str]:
    name = _name_of(node.func)
    found = _field_messages(node)
    if name in error_classes:
        found += _text(node.args[0]) if node.args else []
        found += [t for kw in node.keywords if kw.arg == "message" for t in _text(kw.value)]
    elif name == "field_error" and len(node.args) >= 2:
        found += _text(node.args[1])
    elif name == "append" and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call) \
            and _name_of(node.func.value.func) == "setdefault" and node.args:
        found += _text(node.args[0])  # errors.setdefault(field, []).append("...")
    return found


def domain_messages() -> set[str]:
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in _python_files()]
    error_classes = _error_class_names(trees)
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in error_classes:
                found.update(_class_messages(node))
            elif isinstance(node, ast.Call):
                found.update(_call_messages(node, error_classes))
    return found


# ---- the tests ----------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog():
    with open(PO_FILE, "rb") as handle:
        return read_po(handle, locale="zh_Hans_CN")


def _untranslated(catalog, msgids) -> list[str]:
    missing = []
    for msgid in sorted(msgids):
        entry = catalog.get(msgid)
        text = entry.string if entry is not None else None
        if isinstance(text, tuple):
            text = text[0]
        if not text or (entry is not None and entry.fuzzy):
            missing.append(msgid)
    return missing


def test_every_extracted_msgid_has_a_chinese_translation(catalog):
    msgids = extracted_msgids()
    assert len(msgids) > 50  # the extraction itself works
    missing = _untranslated(catalog, msgids)
    assert not missing, f"add zh_CN translations to {PO_FILE.relative_to(ROOT)}: {missing}"


def test_domain_error_messages_have_chinese_translations(catalog):
    messages = domain_messages()
    assert {"Some fields are not valid.", "Not found.", "Already used.",
            "Wrong username or password.", "Unknown time zone."} <= messages
    missing = _untranslated(catalog, messages)
    assert not missing, f"add zh_CN translations to {PO_FILE.relative_to(ROOT)}: {missing}"


def test_domain_error_messages_are_extractable():
    """Else `pybabel update` would mark their translations obsolete."""
    missing = sorted(domain_messages() - extracted_msgids())
    assert not missing, f"list these in loyalty/web/domain_messages.py: {missing}"


def test_compiled_catalog_translates_pages(app):
    compile_catalogs()
    from flask_babel import force_locale, gettext
    with app.test_request_context("/"), force_locale("zh_CN"):
        assert gettext("Log in") == "登录"
        assert gettext("Wrong username or password.") == "用户名或密码错误。"


def test_the_catalog_folder_is_named_as_babel_names_zh_cn():
    """Babel parses 'zh_CN' as zh_Hans_CN, and gettext looks for that folder (then 'zh'),
    never 'zh_CN': a catalog in translations/zh_CN would silently never be used."""
    from babel import Locale
    assert str(Locale.parse("zh_CN")) == PO_FILE.parents[1].name
