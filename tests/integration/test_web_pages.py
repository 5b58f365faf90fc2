"""The web shell and admin pages through the Flask test client: Chinese first, CSRF on every
form, roles enforced, forms call the services and a refused form writes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.directory.models import Staff, Store
from loyalty.extensions import db
from tests.helpers import PASSWORD, count_rows, new_customer
from tests.web import Browser, compile_catalogs, csrf_of, login, post_form, text

ADMIN_PAGES = ["/admin/stores", "/admin/stores/new", "/admin/staff", "/admin/staff/new"]


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture
def client(app):
    return Browser(app)


def audit_count() -> int:
    return count_rows(AuditEvent)


@pytest.fixture
def as_admin(client, world):
    assert login(client, "admin").status_code == 302
    return client


# ---- shell: login, logout, language -----------------------------------------------

def test_login_page_is_chinese_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in text(page) and 'lang="zh-CN"' in text(page)
    assert "用户名" in text(page) and "密码" in text(page)


def test_wrong_password_shows_a_chinese_error_with_401(client, world):
    response = login(client, "consultant", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in text(response)
    with client.session_transaction() as session:
        assert "staff_id" not in session


def test_a_post_without_csrf_token_is_refused(client, world):
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in text(response)
    with client.session_transaction() as session:
        assert "staff_id" not in session


@pytest.mark.rule("SEC-4")
def test_an_admin_form_without_csrf_token_writes_nothing(as_admin):
    stores, events = count_rows(Store), audit_count()
    response = as_admin.post("/admin/stores/new", data={"code": "SH09", "name": "新店", "timezone": "Asia/Shanghai"})
    assert response.status_code == 400
    assert count_rows(Store) == stores and audit_count() == events


def test_login_starts_a_new_session(client, world):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
        old_token = session["csrf_token"]
    response = login(client, "manager")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_token
        assert session["staff_id"] == world["manager"].id


def test_login_returns_to_the_page_asked_for_but_never_off_site(client, world):
    first = client.get("/admin/staff")
    assert first.status_code == 302 and "/login?next=" in first.headers["Location"]
    token = csrf_of(client, "/login")
    response = client.post("/login?next=/admin/staff", data={
        "csrf_token": token, "username": "admin", "password": PASSWORD})
    assert response.headers["Location"] == "/admin/staff"
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    response = client.post("/login?next=//evil.example/", data={
        "csrf_token": csrf_of(client, "/login"), "username": "admin", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session(client, world):
    login(client, "agent")
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "您已退出登录" in text(client.get("/login"))
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].startswith("/login")


def test_language_switch_to_english_and_back(client, world):
    response = client.post("/lang/en", data={"csrf_token": csrf_of(client, "/login"), "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    english = text(client.get("/login"))
    assert "Log in" in english and 'lang="en"' in english and "登录" not in english
    login(client, "admin")  # the choice survives the new session at login
    home = text(client.get("/"))
    assert "Administrator" in home and "Stores" in home
    client.post("/lang/zh_CN", data={"csrf_token": csrf_of(client, "/"), "next": "/"})
    assert "系统管理员" in text(client.get("/"))


def test_an_unknown_language_is_ignored(client):
    client.post("/lang/xx", data={"csrf_token": csrf_of(client, "/login"), "next": "/login"})
    assert "登录" in text(client.get("/login"))


# ---- home pages and roles --------------------------------------------------------

HOME_TEXT = {"consultant": "销售顾问", "manager": "值班经理", "agent": "回访专员",
             "finance": "财务", "admin": "系统管理员"}


@pytest.mark.parametrize("role", sorted(HOME_TEXT))
def test_each_role_has_a_chinese_home_page(client, world, role):
    login(client, role)
    page = client.get("/")
    assert page.status_code == 200
    assert f'data-test="home-{role}"' in text(page)
    assert HOME_TEXT[role] in text(page) and "首页" in text(page)


def test_only_admin_sees_stores_and_staff_in_the_menu(client, world):
    login(client, "admin")
    html = text(client.get("/"))
    assert 'data-test="nav-stores"' in html and 'data-test="nav-staff"' in html
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    login(client, "finance")
    html = text(client.get("/"))
    assert 'data-test="nav-home"' in html
    assert 'data-test="nav-stores"' not in html and 'data-test="nav-staff"' not in html
    assert 'data-test="nav-customers"' not in html


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("role", ["consultant", "manager", "agent", "finance"])
def test_staff_other_than_admin_get_403_on_admin_pages(client, world, role):
    login(client, role)
    for path in ADMIN_PAGES + [f"/admin/stores/{world.store.id}/policy",
                               f"/admin/stores/{world.store.id}/edit",
                               f"/admin/staff/{world['agent'].id}/edit"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "您无权执行此操作" in text(response)


@pytest.mark.rule("SEC-2")
def test_a_consultant_cannot_post_an_admin_form(client, world):
    login(client, "consultant")
    stores = count_rows(Store)
    response = client.post("/admin/stores/new", data={
        "csrf_token": csrf_of(client, "/"), "code": "SH09", "name": "新店", "timezone": "Asia/Shanghai"})
    assert response.status_code == 403
    assert count_rows(Store) == stores


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("role", ["agent", "finance"])
def test_customer_pages_are_for_showroom_staff_and_admin(client, world, role):
    login(client, role)
    assert client.get("/customers").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, world):
    for path in ["/", "/customers"] + ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


# ---- stores ------------------------------------------------------------------------

def test_admin_creates_a_store_through_the_form(as_admin):
    page = as_admin.get("/admin/stores/new")
    assert page.status_code == 200 and "新建门店" in text(page)
    response = post_form(as_admin, "/admin/stores/new", {"code": "BJ01", "name": "北京朝阳店",
                                                         "timezone": "Asia/Shanghai"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/stores"
    store = db.session.execute(select(Store).where(Store.code == "BJ01")).scalar_one()
    assert store.name == "北京朝阳店" and store.policy.reward_amount == 50000
    listing = text(as_admin.get("/admin/stores"))
    assert "门店 BJ01 已创建" in listing and "北京朝阳店" in listing and "¥500.00" in listing


@pytest.mark.rule("SEC-4")
def test_a_store_with_an_unknown_time_zone_is_refused_beside_the_field(as_admin):
    stores, events = count_rows(Store), audit_count()
    response = post_form(as_admin, "/admin/stores/new", {"code": "BJ02", "name": "北京店", "timezone": "Mars/Base"})
    assert response.status_code == 422
    html = text(response)
    assert re.search(r'data-test="error-timezone">未知时区', html)
    assert 'value="Mars/Base"' in html  # what was typed stays in the form
    assert count_rows(Store) == stores and audit_count() == events


@pytest.mark.rule("SEC-4")
def test_a_taken_store_code_is_refused(as_admin, world):
    events = audit_count()
    response = post_form(as_admin, "/admin/stores/new", {"code": "SH01", "name": "重复", "timezone": "Asia/Shanghai"})
    assert response.status_code == 409
    assert re.search(r'data-test="error-code">已被使用', text(response))
    assert audit_count() == events


@pytest.mark.rule("SEC-4")
def test_an_empty_store_form_is_refused_with_chinese_field_errors(as_admin):
    stores = count_rows(Store)
    response = post_form(as_admin, "/admin/stores/new", {"code": "", "name": "", "timezone": "Asia/Shanghai"})
    assert response.status_code == 422
    assert "部分字段填写有误" in text(response) and 'data-test="error-name"' in text(response)
    assert count_rows(Store) == stores


def test_admin_edits_and_closes_a_store(as_admin, world):
    path = f"/admin/stores/{world.other_store.id}/edit"
    assert "闵行店" in text(as_admin.get(path))
    response = post_form(as_admin, path, {"name": "闵行旗舰店", "timezone": "Asia/Urumqi"})  # active unticked
    assert response.status_code == 302
    db.session.expire_all()
    store = db.session.get(Store, world.other_store.id)
    assert (store.name, store.timezone, store.active) == ("闵行旗舰店", "Asia/Urumqi", False)


def test_editing_a_missing_store_is_404(as_admin):
    assert as_admin.get("/admin/stores/9999/edit").status_code == 404


# ---- store policy -----------------------------------------------------------------

POLICY = {"reward_unit": "CNY", "reward_amount": "800", "consultant_penalty": "200.50",
          "two_approver_threshold": "3000.00", "registration_window_days": "60", "velocity_limit": "4",
          "velocity_window_days": "20", "clawback_window_days": "45", "callback_delay_min_hours": "12",
          "callback_delay_max_hours": "48", "calling_hours_start": "08:30", "calling_hours_end": "21:00",
          "callback_attempts": "4", "fen_per_point": "5", "points_expiry_months": "12",
          "insider_pass_limit_bp": "2.5", "ring_review_score": "50", "ring_window_days": "180",
          "ring_concentration_min": "6", "ring_concentration_pct": "60", "ring_spread_days": "30",
          "ring_spread_consultants": "3", "ring_shared_min": "3", "ring_fact_edit_days": "7", "ring_pair_min": "8",
          "ring_pair_factor_pct": "200"}


def _policy(store_id):
    db.session.expire_all()
    return db.session.get(Store, store_id).policy


def test_policy_page_shows_money_in_yuan(as_admin, world):
    html = text(as_admin.get(f"/admin/stores/{world.store.id}/policy"))
    assert "门店政策" in html
    assert 'value="500.00"' in html       # reward 50000 fen
    assert 'value="2000.00"' in html      # two-approver threshold 200000 fen
    assert 'value="200.00"' in html       # penalty 20000 fen
    assert 'value="10.00"' in html        # 1000 fen per point
    assert 'value="09:00"' in html and 'value="20:00"' in html


def test_admin_sets_every_policy_field_with_yuan_stored_as_fen(as_admin, world):
    response = post_form(as_admin, f"/admin/stores/{world.store.id}/policy", POLICY)
    assert response.status_code == 302, text(response)
    policy = _policy(world.store.id)
    assert policy.reward_amount == 80000 and isinstance(policy.reward_amount, int)
    assert policy.consultant_penalty == 20050
    assert policy.two_approver_threshold == 300000
    assert policy.fen_per_point == 500
    assert (policy.registration_window_days, policy.velocity_limit, policy.velocity_window_days,
            policy.clawback_window_days) == (60, 4, 20, 45)
    assert (policy.callback_delay_min_hours, policy.callback_delay_max_hours, policy.calling_hours_start,
            policy.calling_hours_end, policy.callback_attempts, policy.points_expiry_months) == (
        12, 48, "08:30", "21:00", 4, 12)
    assert policy.insider_pass_limit_bp == 250  # typed as 2.5 %
    assert "政策已保存" in text(as_admin.get(f"/admin/stores/{world.store.id}/policy"))


def test_a_points_reward_is_entered_in_whole_points(as_admin, world):
    response = post_form(as_admin, f"/admin/stores/{world.store.id}/policy",
                         {**POLICY, "reward_unit": "PTS", "reward_amount": "300"})
    assert response.status_code == 302
    policy = _policy(world.store.id)
    assert (policy.reward_unit, policy.reward_amount) == ("PTS", 300)
    assert 'value="300"' in text(as_admin.get(f"/admin/stores/{world.store.id}/policy"))


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("field, value, message", [
    ("reward_amount", "500.123", "最多两位小数"),
    ("reward_amount", "1e3", "最多两位小数"),
    ("reward_amount", "-5", "最多两位小数"),
    ("consultant_penalty", "abc", "最多两位小数"),
    ("two_approver_threshold", "0", "请输入 0.01 至"),
    ("calling_hours_start", "9点", "HH:MM"),
    ("callback_attempts", "0", ""),
])
def test_a_bad_policy_form_writes_nothing(as_admin, world, field, value, message):
    before, events = _policy(world.store.id).reward_amount, audit_count()
    response = post_form(as_admin, f"/admin/stores/{world.store.id}/policy", {**POLICY, field: value})
    assert response.status_code == 422
    html = text(response)
    assert f'data-test="error-{field}">' in html and message in html
    assert _policy(world.store.id).reward_amount == before and audit_count() == events


@pytest.mark.rule("SEC-4")
def test_a_policy_the_service_refuses_shows_its_errors_beside_the_fields(as_admin, world):
    events = audit_count()
    response = post_form(as_admin, f"/admin/stores/{world.store.id}/policy", {
        **POLICY, "calling_hours_start": "20:00", "calling_hours_end": "08:00",
        "callback_delay_min_hours": "50", "callback_delay_max_hours": "10"})
    assert response.status_code == 422
    html = text(response)
    assert re.search(r'data-test="error-calling_hours_end">必须晚于回访时段的开始时间', html)
    assert re.search(r'data-test="error-callback_delay_max_hours">不能小于最小值', html)
    policy = _policy(world.store.id)
    assert (policy.calling_hours_start, policy.reward_amount) == ("09:00", 50000)
    assert audit_count() == events


# ---- staff ------------------------------------------------------------------------

def test_admin_creates_staff_who_can_then_log_in(as_admin, world, app):
    page = text(as_admin.get("/admin/staff/new"))
    assert "集团（不属于门店）" in page and "销售顾问" in page
    response = post_form(as_admin, "/admin/staff/new", {
        "username": "xiaowang", "display_name": "小王", "role": "consultant",
        "store_id": str(world.store.id), "password": "long-enough-1"})
    assert response.status_code == 302
    staff = db.session.execute(select(Staff).where(Staff.username == "xiaowang")).scalar_one()
    assert (staff.role, staff.store_id, staff.display_name) == ("consultant", world.store.id, "小王")
    assert "小王" in text(as_admin.get("/admin/staff"))
    fresh = Browser(app)
    assert login(fresh, "xiaowang", "long-enough-1").status_code == 302
    assert 'data-test="home-consultant"' in text(fresh.get("/"))


def test_admin_creates_a_group_level_finance_account(as_admin):
    response = post_form(as_admin, "/admin/staff/new", {
        "username": "caiwu3", "display_name": "郑财务", "role": "finance", "store_id": "",
        "password": "long-enough-1"})
    assert response.status_code == 302
    staff = db.session.execute(select(Staff).where(Staff.username == "caiwu3")).scalar_one()
    assert staff.store_id is None and staff.role == "finance"


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("changes, field, message, status", [
    ({"password": "short"}, "password", "至少 8 个字符", 422),
    ({"username": "consultant"}, "username", "已被使用", 409),
    ({"username": "a b"}, "username", "3–64 位", 422),
    ({"role": "boss"}, "role", "", 422),
    ({"store_id": "9999"}, "store_id", "", 422),
])
def test_a_bad_staff_form_writes_nothing(as_admin, world, changes, field, message, status):
    staff, events = count_rows(Staff), audit_count()
    response = post_form(as_admin, "/admin/staff/new", {
        "username": "newbie", "display_name": "新人", "role": "agent", "store_id": str(world.store.id),
        "password": "long-enough-1", **changes})
    assert response.status_code == status
    assert f'data-test="error-{field}">' in text(response) and message in text(response)
    assert count_rows(Staff) == staff and audit_count() == events


def test_admin_moves_disables_and_resets_a_staff_member(as_admin, world, app):
    member = world["agent"]
    path = f"/admin/staff/{member.id}/edit"
    assert "Agent" in text(as_admin.get(path))
    response = post_form(as_admin, path, {"display_name": "孙回访", "role": "agent",
                                          "store_id": str(world.other_store.id), "active": "y",
                                          "password": "a-new-password"})
    assert response.status_code == 302
    assert login(Browser(app), "agent", "a-new-password").status_code == 302
    post_form(as_admin, path, {"display_name": "孙回访", "role": "agent", "store_id": ""})  # untick active
    db.session.expire_all()
    staff = db.session.get(Staff, member.id)
    assert (staff.display_name, staff.store_id, staff.active) == ("孙回访", None, False)
    assert login(Browser(app), "agent", "a-new-password").status_code == 401


def test_admin_cannot_disable_themselves(as_admin, world):
    admin = world["admin"]
    response = post_form(as_admin, f"/admin/staff/{admin.id}/edit", {
        "display_name": "Admin", "role": "admin", "store_id": ""})
    assert response.status_code == 422
    assert re.search(r'data-test="error-active">不能停用自己的账号', text(response))
    db.session.expire_all()
    assert db.session.get(Staff, admin.id).active


def test_editing_a_missing_staff_member_is_404(as_admin):
    assert as_admin.get("/admin/staff/9999/edit").status_code == 404


# ---- customers --------------------------------------------------------------------

@pytest.fixture
def customers(world):
    zhang = new_customer(world.store.id, "张三", "13800138000", employer="上海汽车集团")
    from loyalty.directory import service
    service.add_vehicle(None, zhang.id, model="速腾", colour="白色", transmission="automatic", plate="沪A12345")
    db.session.commit()
    li = new_customer(world.other_store.id, "李四", "13900139000")
    return {"zhang": zhang, "li": li}


@pytest.mark.rule("SEC-3")
def test_consultant_searches_customers_with_masked_phones(client, world, customers):
    login(client, "consultant")
    html = text(client.get("/customers?q=张"))
    assert "张三" in html and "138****8000" in html and "13800138000" not in html
    by_phone = text(client.get("/customers?q=138 0013 8000"))
    assert "张三" in by_phone and "找到 1 位客户" in by_phone


@pytest.mark.rule("SEC-2")
def test_store_bound_staff_only_see_their_own_store(client, world, customers):
    login(client, "consultant")
    html = text(client.get("/customers"))
    assert "张三" in html and "李四" not in html
    assert client.get(f"/customers/{customers['li'].id}").status_code == 404


@pytest.mark.rule("SEC-3")
@pytest.mark.rule("SEC-5")
def test_customer_page_masks_the_phone_and_seals_the_vehicles_from_a_manager(client, world, customers):
    login(client, "manager")
    html = text(client.get(f"/customers/{customers['zhang'].id}"))
    assert "138****8000" in html and "+8613800138000" not in html
    assert "速腾" not in html and "沪A12345" not in html  # the answer key is not read on the customer page


@pytest.mark.rule("SEC-5")
def test_admin_customer_page_shows_vehicles_with_their_provenance(as_admin, customers):
    html = text(as_admin.get(f"/customers/{customers['zhang'].id}"))
    assert "速腾" in html and "白色" in html and "自动挡" in html and "沪A12345" in html


@pytest.mark.rule("SEC-3")
def test_admin_sees_every_store_and_full_phones(as_admin, customers):
    html = text(as_admin.get("/customers"))
    assert "张三" in html and "李四" in html and "+86 138 0013 8000" in html  # in full, grouped
