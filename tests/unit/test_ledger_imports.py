"""The bank imports nothing of Flask or of the other packages (ARCHITECTURE: `ledger` is the bank;
example 15). It may use the app's shared plumbing modules (the database handle, errors, the
clock, column types, paging), never a package above it: not audit, auth, directory, points,
payouts, nor verification, and no Flask module (flask, flask_smorest, flask_babel, ...). The
plumbing modules in turn import no loyalty package, so nothing reaches one through them."""
from __future__ import annotations

import ast
from pathlib import Path

import loyalty

LEDGER = Path(loyalty.__file__).parent / "ledger"
ROOT = LEDGER.parent
ALLOWED_LOYALTY = {"loyalty.clock", "loyalty.errors", "loyalty.extensions", "loyalty.paging", "loyalty.scanning",
                   "loyalty.types"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "loyalty")
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path.name}: use absolute imports (loyalty.ledger....)")
    return names


def forbidden(name: str) -> bool:
    top = name.split(".")[0]
    if top == "flask" or top.startswith("flask_") or top == "verification":
        return True
    if top != "loyalty" or name == "loyalty":
        return False
    return not (name.startswith("loyalty.ledger") or name in ALLOWED_LOYALTY
                or any(name.startswith(allowed + ".") for allowed in ALLOWED_LOYALTY))


def test_the_ledger_imports_no_flask_and_no_other_package():
    found = {f"{path.name}: {name}" for path in sorted(LEDGER.glob("*.py"))
             for name in imported_modules(path) if forbidden(name)}
    assert not found, "loyalty.ledger imports what is above the bank:\n" + "\n".join(sorted(found))


def test_the_plumbing_the_ledger_uses_imports_no_loyalty_package():
    found = set()
    for module in sorted(ALLOWED_LOYALTY):
        path = ROOT / (module.removeprefix("loyalty.") + ".py")
        found |= {f"{path.name}: {name}" for name in imported_modules(path)
                  if name.startswith("loyalty.") and name not in ALLOWED_LOYALTY}
    assert not found, "a module the ledger may import reaches a loyalty package:\n" + "\n".join(sorted(found))


def test_the_rule_catches_what_it_should():
    assert forbidden("flask") and forbidden("flask_smorest") and forbidden("loyalty.audit.service")
    assert forbidden("loyalty.auth") and forbidden("verification.referrals.models")
    assert not forbidden("loyalty.extensions") and not forbidden("loyalty.ledger.models")
    assert not forbidden("sqlalchemy") and not forbidden("psycopg")
