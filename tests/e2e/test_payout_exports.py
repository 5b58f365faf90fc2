"""The finance page's background export in a real browser (issue 16): 导出（后台） queues it, 我的导出
shows it, its <progress> follows the job by polling (static/js/progress.js, no reload) and the
download link appears once the file is written."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from tests.web import log_in

pytestmark = pytest.mark.e2e


def _payouts(live_app, n: int) -> None:
    """`n` rejected payouts in SH01: rows for the file, out of the other tests' queue (which shows the
    payouts awaiting approval or payment); the ledger is not this test's subject."""
    from loyalty.directory.models import Store
    from loyalty.extensions import db
    from loyalty.payouts.models import Payout
    with live_app.app_context():
        store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
        for i in range(n):
            db.session.add(Payout(subject=f"e2e-export:{i}", label="Referral", reference=900_000 + i,
                                  store_id=store.id, payee=f"customer:{900_000 + i}", payee_name=f"客户{i}",
                                  gross_amount=50000, reason="e2e export", status="rejected"))
        db.session.commit()
        db.session.remove()


def _run_exports(live_app) -> int:
    from loyalty.extensions import db
    from loyalty.payouts import jobs
    with live_app.app_context():
        done = jobs.run_exports()
        db.session.remove()
        return done


def test_a_background_export_from_the_payouts_page(page, live_app):
    _payouts(live_app, 3)
    log_in(page, "finance")
    page.goto("/payouts")
    page.click('[data-test="export-background"]')
    row = page.locator('[data-test="my-exports"] tbody tr').first
    assert row.get_attribute("data-poll")  # queued: its status is polled
    assert "排队中" in row.inner_text()
    assert not page.locator('[data-test^="export-download-"]').first.is_visible()
    assert _run_exports(live_app) == 1
    link = page.locator('[data-test^="export-download-"]').first
    link.wait_for(state="visible", timeout=10_000)  # the poll saw it done, no reload
    assert "可下载" in row.inner_text() and "100%" in row.inner_text()
    bar = row.locator("progress")
    assert bar.get_attribute("value") is not None and bar.evaluate("b => b.value === b.max && b.max >= 3")
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read(), newline="")))
    assert rows[0][:3] == ["奖励发放", "推荐", "门店"]
    assert {"客户0", "客户1", "客户2"} <= {r[4] for r in rows[1:] if len(r) > 4}
