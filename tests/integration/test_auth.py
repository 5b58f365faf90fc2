"""Logging in to the API: bearer tokens, expiry, revocation, disabled staff, rate limit."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty import clock
from loyalty.audit.models import AuditEvent
from loyalty.auth.models import ApiToken
from loyalty.extensions import db
from tests.helpers import PASSWORD

TOKENS = "/api/v1/auth/tokens"


def login(client, username, password=PASSWORD, **kw):
    return client.post(TOKENS, json={"username": username, "password": password}, **kw)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.rule("SEC-2")
def test_login_issues_a_token_with_the_staff_member(client, world):
    resp = login(client, "consultant")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert body["staff"]["username"] == "consultant"
    assert body["staff"]["role"] == "consultant"
    assert body["staff"]["store_id"] == world.store.id
    assert "password" not in body["staff"] and "password_hash" not in body["staff"]
    assert client.get("/api/v1/customers", headers=bearer(body["token"])).status_code == 200


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("username, password", [
    ("consultant", "wrong-password"),
    ("nobody", PASSWORD),
    ("CONSULTANT", PASSWORD),
    ("", ""),
])
def test_wrong_credentials_are_401_invalid_credentials(client, world, username, password):
    resp = login(client, username, password)
    assert resp.status_code == 401
    assert resp.json["code"] == "invalid_credentials"
    assert db.session.execute(select(db.func.count(ApiToken.id))).scalar_one() == 0


@pytest.mark.rule("SEC-4")
def test_login_body_is_validated(client, world):
    resp = client.post(TOKENS, json={"username": "consultant"})
    assert resp.status_code == 422
    assert set(resp.json["fields"]) == {"password"}
    resp = client.post(TOKENS, data="{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.json["code"] == "malformed_json"


@pytest.mark.rule("SEC-2")
def test_token_is_stored_only_hashed(client, world):
    token = login(client, "manager").json["token"]
    rows = db.session.execute(select(ApiToken)).scalars().all()
    assert len(rows) == 1
    row = rows[0]
    assert row.token_hash != token
    assert token not in row.token_hash
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # and the token is in no audit event either
    for event in db.session.execute(select(AuditEvent)).scalars():
        assert token not in repr(event.before) + repr(event.after)


@pytest.mark.rule("SEC-1")
def test_token_issue_and_revoke_are_audited(client, world):
    token = login(client, "manager").json["token"]
    assert client.delete(f"{TOKENS}/current", headers=bearer(token)).status_code == 204
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.entity == "api_token").order_by(AuditEvent.seq)).scalars().all()
    assert [(e.action, e.actor) for e in events] == [("issued", "manager"), ("revoked", "manager")]


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Bearer not-a-token", "Basic YWRtaW46cGFzcw==", "Token abc",
])
def test_missing_or_bad_token_is_401(client, world, header):
    headers = {} if header is None else {"Authorization": header}
    resp = client.get("/api/v1/stores", headers=headers)
    assert resp.status_code == 401
    assert resp.json["code"] == "unauthorized"


@pytest.mark.rule("SEC-2")
def test_expired_token_is_401(app, client, world, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    token = login(client, "consultant").json["token"]
    ttl = app.config["TOKEN_TTL_HOURS"]
    time_machine.shift(timedelta(hours=ttl) - timedelta(minutes=1))
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 200
    time_machine.shift(timedelta(minutes=2))
    resp = client.get("/api/v1/stores", headers=bearer(token))
    assert resp.status_code == 401
    assert resp.json["code"] == "unauthorized"


@pytest.mark.rule("SEC-2")
def test_disabled_staff_token_is_dead_and_they_cannot_log_in(api, world):
    token = api.token("consultant")
    assert api.as_("consultant").get("stores").status_code == 200
    resp = api.as_("admin").patch(f"staff/{world['consultant'].id}", json={"active": False})
    assert resp.status_code == 200 and resp.json["active"] is False
    client = api.app.test_client()
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 401
    resp = login(client, "consultant")
    assert resp.status_code == 401 and resp.json["code"] == "invalid_credentials"
    # enabled again: a fresh login works, the old token stays dead
    assert api.as_("admin").patch(f"staff/{world['consultant'].id}", json={"active": True}).status_code == 200
    assert login(client, "consultant").status_code == 201
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 401


@pytest.mark.rule("SEC-2")
def test_password_reset_revokes_live_tokens(api, world):
    token = api.token("consultant")
    resp = api.as_("admin").patch(f"staff/{world['consultant'].id}", json={"password": "a-new-password-1"})
    assert resp.status_code == 200
    client = api.app.test_client()
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 401
    assert login(client, "consultant").status_code == 401
    assert login(client, "consultant", "a-new-password-1").status_code == 201


@pytest.mark.rule("SEC-2")
def test_revoked_token_is_dead_and_other_tokens_live(client, world):
    first = login(client, "consultant").json["token"]
    second = login(client, "consultant").json["token"]
    assert first != second
    assert client.delete(f"{TOKENS}/current", headers=bearer(first)).status_code == 204
    assert client.get("/api/v1/stores", headers=bearer(first)).status_code == 401
    assert client.delete(f"{TOKENS}/current", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/stores", headers=bearer(second)).status_code == 200


@pytest.mark.rule("SEC-2")
def test_login_rate_limit_gives_429(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    for _ in range(3):
        assert login(client, "consultant", "wrong-password").status_code == 401
    resp = login(client, "consultant")  # even the right password waits
    assert resp.status_code == 429
    assert resp.json["code"] == "rate_limited"
    assert resp.json["message"]
    assert db.session.execute(select(db.func.count(ApiToken.id))).scalar_one() == 0


def test_session_cookie_does_not_authenticate_the_api(app, client, world):
    """The API takes bearer tokens only: a logged-in browser cannot be ridden by CSRF."""
    with client.session_transaction() as sess:
        sess["staff_id"] = world["admin"].id
    assert client.get("/api/v1/stores").status_code == 401
