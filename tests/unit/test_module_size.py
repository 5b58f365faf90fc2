"""One idea per module (issue 13 item 4): no module of the service over 400 lines. A module that
grows past it holds two ideas; split it along its seam (as ledger/, callbacks/planning/ and
callbacks/grading/ were)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def modules() -> dict[str, int]:
    found = {}
    for path in sorted([*ROOT.joinpath("loyalty").rglob("*.py"), *ROOT.joinpath("verification").rglob("*.py")]):
        found[str(path.relative_to(ROOT))] = len(path.read_text(encoding="utf-8").splitlines())
    return found


def test_the_walk_finds_the_modules():
    found = modules()
    assert "loyalty/ledger/engine.py" in found and "verification/callbacks/grading/verdict.py" in found
    assert len(found) > 100


def test_no_module_is_longer_than_400_lines():
    long = [f"{path} has {lines} lines" for path, lines in modules().items() if lines > MAX_LINES]
    assert not long, "\n".join(long)
