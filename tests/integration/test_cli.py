"""`flask create-admin`, `flask demo-data` and `flask audit verify`."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.demo import DEMO_PASSWORD, LOGINS
from loyalty.directory.models import Customer, Staff, Store
from loyalty.extensions import db
from tests.helpers import row_counts


def login(app, username, password):
    return app.test_client().post("/api/v1/auth/tokens", json={"username": username, "password": password})


# ---- create-admin ------------------------------------------------------------------------

@pytest.mark.rule("SEC-2")
def test_create_admin_from_stdin_makes_a_group_level_admin_who_can_log_in(app, runner):
    result = runner.invoke(args=["create-admin", "boss", "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "boss" in result.output
    db.session.rollback()
    boss = db.session.execute(select(Staff).where(Staff.username == "boss")).scalar_one()
    assert (boss.role, boss.store_id, boss.active, boss.display_name) == ("admin", None, True, "boss")
    assert "a-long-password" not in boss.password_hash
    resp = login(app, "boss", "a-long-password")
    assert resp.status_code == 201
    assert resp.json["staff"]["role"] == "admin"
    token = resp.json["token"]
    assert app.test_client().get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    event = db.session.execute(select(AuditEvent).where(AuditEvent.entity == "staff")).scalar_one()
    assert (event.actor, event.action, event.after["role"]) == ("system", "created", "admin")


def test_create_admin_from_a_prompt(app, runner):
    result = runner.invoke(args=["create-admin", "boss2", "--display-name", "老板"],
                           input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.execute(select(Staff.display_name).where(Staff.username == "boss2")).scalar_one() == "老板"
    assert login(app, "boss2", "a-long-password").status_code == 201


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("password", ["short", "", "1234567"])
def test_create_admin_with_a_short_password_fails_and_writes_nothing(app, runner, password):
    before = row_counts()
    result = runner.invoke(args=["create-admin", "boss", "--password-stdin"], input=password + "\n")
    assert result.exit_code != 0
    assert "password" in result.output.lower() and "8" in result.output
    assert "Traceback" not in result.output
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
def test_create_admin_twice_fails_the_second_time(app, runner):
    assert runner.invoke(args=["create-admin", "boss", "--password-stdin"], input="a-long-password\n").exit_code == 0
    before = row_counts()
    result = runner.invoke(args=["create-admin", "BOSS", "--password-stdin"], input="another-password\n")
    assert result.exit_code != 0
    assert "taken" in result.output
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("username", ["a b", "x", "名字"])
def test_create_admin_refuses_a_bad_username(app, runner, username):
    before = row_counts()
    result = runner.invoke(args=["create-admin", username, "--password-stdin"], input="a-long-password\n")
    assert result.exit_code != 0
    assert "username" in result.output.lower()
    assert row_counts() == before


# ---- demo-data ---------------------------------------------------------------------------------

def test_demo_data_is_safe_to_run_twice_and_prints_the_logins(app, runner):
    first = runner.invoke(args=["demo-data", "--customers", "20"])
    assert first.exit_code == 0, first.output
    db.session.rollback()
    counts = row_counts()
    assert counts["stores"] == 2 and counts["staff"] == len(LOGINS)
    assert 20 <= counts["customers"] <= 22  # 张三, 李四 and up to 20 generated (phones may repeat)
    for username, _display, _role, _store in LOGINS:
        assert username in first.output
    assert DEMO_PASSWORD in first.output

    second = runner.invoke(args=["demo-data", "--customers", "20"])
    assert second.exit_code == 0, second.output
    assert DEMO_PASSWORD in second.output and "admin" in second.output
    after = row_counts()
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in counts.items() if k != "audit_events"}
    assert after["audit_events"] == counts["audit_events"]  # nothing changed, so nothing recorded

    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_demo_data_has_zhang_san_with_a_white_automatic_sagitar(app, runner):
    assert runner.invoke(args=["demo-data", "--customers", "0"]).exit_code == 0
    db.session.rollback()
    zhang = db.session.execute(select(Customer).where(Customer.name == "张三")).scalar_one()
    assert zhang.phone == "+8613800138000"
    assert [(v.model, v.colour, v.transmission) for v in zhang.vehicles] == [("速腾", "白色", "automatic")]
    assert zhang.national_id_last4 is not None and len(zhang.national_id_hash) == 64
    li = db.session.execute(select(Customer).where(Customer.name == "李四")).scalar_one()
    assert li.store_id == zhang.store_id


def test_demo_logins_work_with_their_roles_and_stores(app, runner):
    assert runner.invoke(args=["demo-data", "--customers", "0"]).exit_code == 0
    db.session.rollback()
    codes = dict(db.session.execute(select(Store.id, Store.code)).all())
    for username, _display, role, store_code in LOGINS:
        resp = login(app, username, DEMO_PASSWORD)
        assert resp.status_code == 201, username
        staff = resp.json["staff"]
        assert staff["role"] == role
        assert codes.get(staff["store_id"]) == store_code


def test_demo_data_if_empty_skips_a_loaded_database(app, runner):
    assert runner.invoke(args=["demo-data", "--customers", "3"]).exit_code == 0
    db.session.rollback()
    before = row_counts()
    result = runner.invoke(args=["demo-data", "--customers", "50", "--if-empty"])
    assert result.exit_code == 0
    assert "already" in result.output and DEMO_PASSWORD in result.output
    assert row_counts() == before
    assert db.session.execute(select(func.count(Customer.id))).scalar_one() == before["customers"]


# ---- audit verify ------------------------------------------------------------------------------

@pytest.mark.rule("SEC-1")
def test_audit_verify_exit_codes(app, runner):
    from sqlalchemy import update
    assert runner.invoke(args=["demo-data", "--customers", "2"]).exit_code == 0
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "OK" in ok.output
    db.session.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 2)
                       .values(actor="intruder"))
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN" in broken.output and "seq 2" in broken.output
