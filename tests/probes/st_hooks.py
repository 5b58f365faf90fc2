"""Schemathesis hooks for the API probe (loaded through SCHEMATHESIS_HOOKS by run_schemathesis.py).

Each run speaks as one demo login (PROBE_USER / PROBE_PASSWORD against PROBE_BASE): a bearer token
from POST /api/v1/auth/tokens, fetched again whenever the fuzzer itself ended it (it calls
DELETE /auth/tokens/current like any other operation).
"""
from __future__ import annotations

import os

import requests
import schemathesis

BASE = os.environ["PROBE_BASE"]
USER, PASSWORD = os.environ["PROBE_USER"], os.environ["PROBE_PASSWORD"]
_state: dict = {"token": None, "me": None}


def _login() -> str:
    response = requests.post(f"{BASE}/api/v1/auth/tokens", json={"username": USER, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    body = response.json()
    _state["me"] = body["staff"]["id"]
    return body["token"]


@schemathesis.auth(refresh_interval=None)
class ProbeLogin:
    def get(self, case, ctx):
        if _state["token"] is None:
            _state["token"] = _login()
        return _state["token"]

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def after_call(ctx, case, response):
    # Logging out, or an answer saying the token is gone, means: log in again before the next case.
    ended = case.method.upper() == "DELETE" and case.path.endswith("/auth/tokens/current") and response.status_code == 204
    if ended or (response.status_code == 401 and "Authorization" in (case.headers or {})
                 and not case.path.endswith("/auth/tokens")):
        _state["token"] = None


@schemathesis.hook
def filter_case(ctx, case):
    # The probe's own login must survive: an admin resetting his own password or changing his own
    # role would end the run's session (both are covered by tests/integration/test_auth.py).
    if case.method.upper() == "PATCH" and case.path.startswith("/api/v1/staff/"):
        target = (case.path_parameters or {}).get("staff_id")
        return target != _state["me"]
    return True
