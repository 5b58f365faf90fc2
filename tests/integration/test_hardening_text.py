"""Security review, finding 8: weak passwords and invisible names are refused at every door.

- Passwords (OWASP ASVS 6.2): not one of the most common ones, not the username nor containing
  it, not one character repeated (eight spaces); field errors, Chinese on pages.
- Names and store codes made only of invisible characters (U+200B) or carrying bidi overrides
  (U+202E) are field errors in the API, on the pages and from the CLI (SEC-4)."""
from __future__ import annotations

import pytest

from loyalty.directory import service as directory
from loyalty.directory.models import Customer, Staff, Store
from loyalty.errors import ValidationFailed
from loyalty.extensions import db
from tests.helpers import count_rows
from tests.web import Browser, login, post_form

WEAK = ["12345678", "password", "        ", "Password", "qwertyuiop", "woaini1314", "aaaaaaaaaaaa",
        "newbie2026", "xnewbie2026x"]
INVISIBLE = ["\u200b", "\u200b\u200c\u200d", "\ufeff", "\u3164", "\u2066\u2069", " \u200b ", "\u00ad"]
BIDI = ["张三\u202e0008", "\u202dSH01", "SH\u2067"]


def staff_body(world, password, username="newbie2026"):
    return {"username": username, "display_name": "新同事", "role": "consultant", "store_id": world.store.id,
            "password": password}


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("password", WEAK)
def test_a_weak_password_is_a_field_error_and_no_account_is_made(api, world, password):
    before = count_rows(Staff)
    resp = api.as_("admin").post("staff", json=staff_body(world, password))
    assert resp.status_code == 422, (password, resp.json)
    assert resp.json["fields"]["password"], resp.json
    assert count_rows(Staff) == before


def test_the_messages_say_what_is_wrong(api, world):
    def messages(password, username="newbie2026"):
        return api.as_("admin").post("staff", json=staff_body(world, password, username),
                                     headers={"Accept-Language": "en"}).json["fields"]["password"]
    assert any("common" in m for m in messages("password"))
    assert any("username" in m for m in messages("newbie2026!", "newbie2026"))
    assert any("repeated" in m for m in messages("        "))


@pytest.mark.rule("SEC-4")
def test_a_reset_to_a_weak_password_is_refused_and_a_good_one_accepted(api, world):
    agent = world["agent"]
    for password in ("password1", "agent-agent", "11111111"):
        resp = api.as_("admin").patch(f"staff/{agent.id}", json={"password": password})
        assert resp.status_code == 422 and "password" in resp.json["fields"], password
    assert api.as_("admin").patch(f"staff/{agent.id}", json={"password": "墨绿色的速腾-2026"}).status_code == 200


@pytest.mark.rule("SEC-4")
def test_the_staff_page_shows_the_password_rule_in_chinese(app, world):
    browser = Browser(app)
    login(browser, "admin")
    before = count_rows(Staff)
    resp = post_form(browser, "/admin/staff/new", {"username": "newbie2026", "display_name": "新同事",
                                                   "role": "consultant", "store_id": str(world.store.id),
                                                   "password": "password"})
    assert resp.status_code == 422
    assert "常见" in resp.get_data(as_text=True)
    assert count_rows(Staff) == before


@pytest.mark.rule("SEC-4")
def test_create_admin_refuses_a_common_password(runner, app):
    result = runner.invoke(args=["create-admin", "boss", "--password-stdin"], input="password123\n")
    assert result.exit_code != 0 and "password" in result.output
    assert db.session.query(Staff).filter_by(username="boss").count() == 0


# ---- invisible text and bidi overrides ---------------------------------------------------

@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("text", INVISIBLE + BIDI)
def test_the_api_refuses_invisible_or_bidi_names_and_codes(api, world, text):
    counts = (count_rows(Store), count_rows(Customer), count_rows(Staff))
    store = api.as_("admin").post("stores", json={"code": text, "name": text})
    assert store.status_code == 422 and {"code", "name"} <= set(store.json["fields"]), store.json
    customer = api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": text,
                                                             "phone": "13912341234"})
    assert customer.status_code == 422 and "name" in customer.json["fields"], customer.json
    staff = api.as_("admin").post("staff", json={**staff_body(world, "a-long-secret-9"), "display_name": text})
    assert staff.status_code == 422 and "display_name" in staff.json["fields"]
    patch = api.as_("admin").patch(f"stores/{world.store.id}", json={"name": text})
    assert patch.status_code == 422 and "name" in patch.json["fields"]
    assert (count_rows(Store), count_rows(Customer), count_rows(Staff)) == counts


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("text", ["\u200b", "王\u202e五"])
def test_the_services_the_pages_and_cli_call_refuse_them_too(app, world, text):
    calls = [
        lambda: directory.create_store(None, code=text, name="新店"),
        lambda: directory.create_store(None, code="SH09", name=text),
        lambda: directory.update_store(None, world.store.id, {"code": text}),
        lambda: directory.create_staff(None, username="newbie", display_name=text, role="agent",
                                       store_id=None, password="a-long-secret-9"),
        lambda: directory.update_staff(None, world["agent"].id, {"display_name": text}),
        lambda: directory.create_customer(None, store_id=world.store.id, name=text, phone="13912341234"),
    ]
    for call in calls:
        with pytest.raises(ValidationFailed):
            call()
        db.session.rollback()


def test_visible_text_with_joiners_is_kept(api, world):
    """Zero-width joiners inside real text (emoji, some scripts) are not refused."""
    resp = api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "李\u200d四👨\u200d👩",
                                                         "phone": "13912341234"})
    assert resp.status_code == 201, resp.json


@pytest.mark.rule("SEC-4")
def test_the_store_page_refuses_an_invisible_name_in_chinese(app, world):
    browser = Browser(app)
    login(browser, "admin")
    before = count_rows(Store)
    resp = post_form(browser, "/admin/stores/new", {"code": "SH09", "name": "\u200b\u200b",
                                                    "timezone": "Asia/Shanghai"})
    assert resp.status_code == 422
    assert "可见字符" in resp.get_data(as_text=True)
    assert count_rows(Store) == before


@pytest.mark.rule("SEC-4")
def test_create_admin_refuses_an_invisible_display_name(runner, app):
    result = runner.invoke(args=["create-admin", "boss", "--password-stdin", "--display-name", "\u200b"],
                           input="a-long-secret-9\n")
    assert result.exit_code != 0 and "display_name" in result.output
    assert db.session.query(Staff).filter_by(username="boss").count() == 0
