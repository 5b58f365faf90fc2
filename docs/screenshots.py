"""Re-take the screenshots of each role's home page (docs/screenshots/*.png), shown in the README.

    PYTHONPATH=$PWD .venv/bin/python docs/screenshots.py

A fresh SQLite file gets the demo data (`flask demo-data`, fewer customers) and a working day
staged through the services: referrals registered over the last two days, some acknowledged,
some checked at delivery (their callbacks due), two answered and awaiting finance, one approved.
Then Chromium (/usr/bin/chromium, Playwright) logs in as each demo login and takes its home page,
plus the managers' queue and the finance queue. Nothing here is used by the service or the tests.
"""
from __future__ import annotations

import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SHOTS = [("consultant", "/", "home-consultant.png"), ("manager", "/", "home-manager.png"),
         ("manager", "/referrals/queue", "manager-queue.png"), ("agent", "/", "home-agent.png"),
         ("finance", "/", "home-finance.png"), ("finance", "/payouts", "finance-queue.png"),
         ("admin", "/", "home-admin.png"), ("service", "/", "home-service.png")]
POLICY = {"reward_amount": 450000, "reward_unit": "CNY", "callback_delay_min_hours": 0,
          "callback_delay_max_hours": 0, "calling_hours_start": "00:00", "calling_hours_end": "23:59",
          "velocity_limit": 100}


def stage_working_day() -> None:
    """Nine referrals at SH01 in every state a home page counts."""
    from loyalty import clock
    from loyalty.directory import service as directory
    from loyalty.directory.models import Customer, Staff, Store
    from loyalty.extensions import db
    from loyalty.payouts import service as payouts
    from tests.flows import truthful
    from verification.callbacks import service as callbacks
    from verification.callbacks.models import Callback
    from verification.delivery import service as delivery
    from verification.referrals import service as referrals

    staff = {s.username: s for s in db.session.execute(select(Staff)).unique().scalars()}
    store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
    directory.set_policy(staff["admin"], store.id, POLICY)
    people = [c for c in db.session.execute(select(Customer).where(Customer.store_id == store.id)
                                            .order_by(Customer.id)).unique().scalars()
              if c.employer and c.occupation and c.home_district]
    referrers = [c for c in people if c.vehicles][:9]
    referees = [c for c in people if c not in referrers][:9]
    start = clock.now() - timedelta(hours=30)
    for i, (old, new) in enumerate(zip(referrers, referees, strict=False)):
        car = old.vehicles[0]
        with time_machine.travel(start + timedelta(hours=3 * i), tick=False):
            referral = referrals.register_referral(staff["consultant"], store_id=store.id, referrer_id=old.id,
                                                   referee_id=new.id, claim={
                                                       "referrer_name": old.name, "referrer_phone": old.phone[3:],
                                                       "referrer_model": car.model, "referrer_colour": car.colour})
            if i >= 3:
                referrals.acknowledge(staff["manager"], referral.id)
            db.session.commit()
        if i >= 5:
            delivery.check_delivery(staff["manager2"], referral.id, delivered_at=clock.now() - timedelta(hours=2),
                                    vehicle={"model": "朗逸", "colour": "蓝色", "transmission": "automatic"},
                                    licence={"owner_name": old.name, "plate": car.plate, "model": car.model,
                                             "colour": car.colour})
            db.session.commit()
        if i >= 7:
            call = callbacks.claim_next(staff["agent"])
            db.session.commit()
            plan = db.session.get(Callback, call.id)
            callbacks.record_answers(staff["agent"], call.id, [truthful(q) for q in plan.questions])
            db.session.commit()
    _stage_service_desk(staff, store, referrers)
    waiting = payouts.list_payouts(staff["finance"], status="awaiting_approval")[0]
    if waiting:  # one approved and unpaid (two approvers above the store's threshold)
        for approver in ("finance", "finance2"):
            if payouts.approve(staff[approver], waiting[0].id).status == "approved":
                break
        db.session.commit()


def _stage_service_desk(staff: dict, store, customers: list) -> None:
    """The service advisor's day: visits 23 months ago whose points lapse within the month, one
    recent visit, and a catalog item of the store's with two left."""
    from loyalty import clock
    from loyalty.extensions import db
    from loyalty.points import catalog
    from loyalty.points import service as points

    for i, customer in enumerate(customers[:4]):
        back = timedelta(days=712 + 4 * i) if i < 3 else timedelta(days=20)
        with time_machine.travel(clock.now() - back, tick=False):
            points.earn_for_visit(staff["service"], customer.id, store_id=store.id, amount=68000 + 21000 * i,
                                  key=f"screens-{i}")
    catalog.create_item(staff["admin"], code="SH01-AROMA", name_zh="车载香薰", price=120, stock=2, store_id=store.id)
    db.session.commit()


def take(base_url: str) -> None:
    from playwright.sync_api import sync_playwright

    from loyalty.demo import DEMO_PASSWORD
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        for username, path, name in SHOTS:
            context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", username)
            page.fill("#password", DEMO_PASSWORD)
            page.click('[data-test="login-submit"]')
            page.wait_for_url("**/")
            page.goto(path)
            page.screenshot(path=str(OUT / name), full_page=True)
            print(f"{OUT / name}")
            context.close()
        browser.close()


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from loyalty.app import create_app
    from loyalty.config import TestConfig
    from loyalty.demo import load_demo_data
    from loyalty.extensions import db
    from tests.web import compile_catalogs

    compile_catalogs()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(TestConfig(f"sqlite:///{tmp}/screens.sqlite3"))
        with app.app_context():
            upgrade()
            with time_machine.travel(datetime.now(UTC) - timedelta(days=3)):  # on record before the referrals
                load_demo_data(customers=80, echo=lambda *_: None)
            stage_working_day()
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            take(f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            with app.app_context():
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
