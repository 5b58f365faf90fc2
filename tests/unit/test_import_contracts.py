"""The import contracts in setup.cfg hold (issue 13 item 2): no cycle between packages, the
verification packages layered reports > delivery > callbacks > referrals, and loyalty importing
verification only in its composition root. A new cycle fails here (and in `lint-imports`)."""
from __future__ import annotations

from pathlib import Path

from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    configuration.configure()  # what the `lint-imports` command does first
    kept = lint_imports(config_filename=str(ROOT / "setup.cfg"), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert kept, report
