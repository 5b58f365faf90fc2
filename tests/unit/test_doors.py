"""Doors stay small (issue 13 item 6, ARCHITECTURE example 1): a view or API handler parses its
input, calls one service and renders the result, in at most 15 lines from its `def` to its end.
Found by walking the AST of every module of loyalty/ and verification/ for functions decorated
with a blueprint's `route` (api.py, views.py and the web package's page modules)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 15


def _is_route(decorator: ast.expr) -> bool:
    return (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "route")


def doors() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted([*ROOT.joinpath("loyalty").rglob("*.py"), *ROOT.joinpath("verification").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(map(_is_route, node.decorator_list)):
                found.append((str(path.relative_to(ROOT)), node.name, node.end_lineno - node.lineno + 1))
    return found


def test_the_walk_finds_the_doors():
    names = {(path, name) for path, name, _ in doors()}
    assert ("loyalty/payouts/views.py", "approve") in names and ("verification/referrals/api.py", "register") in names
    assert len(names) > 100


def test_no_door_is_longer_than_15_lines():
    long = [f"{path}:{name} has {lines} lines" for path, name, lines in doors() if lines > MAX_LINES]
    assert not long, "\n".join(long)
