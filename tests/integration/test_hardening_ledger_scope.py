"""Security review, finding 1: the books are scoped by store like everything else (SEC-2).

A finance user bound to SH02 must neither read nor move SH01's money: accounts of SH01's
customers, staff and the store itself answer 404 to him, as a missing account does. Group-level
finance and admins see all. The customer pages and the points API are scoped the same way."""
from __future__ import annotations

import pytest

from loyalty.directory import service as directory
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Transfer
from tests.flows import catalog_item
from tests.helpers import PASSWORD, count_rows, new_customer
from tests.web import Browser, login


@pytest.fixture
def books(app, world):
    """SH01's customer 张三 holds a payable the store owes him; SH02's 王五 one too; finance_b
    is a finance user bound to SH02."""
    zhang = new_customer(world.store.id, "张三", "13800138000")
    wang = new_customer(world.other_store.id, "王五", "13700137000")
    world.staff["finance_b"] = directory.create_staff(None, username="finance_b", display_name="Finance B",
                                                      role="finance", store_id=world.other_store.id,
                                                      password=PASSWORD)
    accounts = {}
    for name, customer, store in (("sh01", zhang, world.store), ("sh02", wang, world.other_store)):
        expense = ledger.account_for(f"store:{store.id}", "referral_expense", "CNY")
        payable = ledger.account_for(f"customer:{customer.id}", "reward_payable", "CNY")
        t = ledger.transfer(debit=expense, credit=payable, amount=50000, unit="CNY", reason=f"reward {name}",
                            subject=f"referral:{name}", key=f"reward-{name}")
        accounts[name] = {"customer": customer, "expense": expense, "payable": payable, "transfer": t}
    accounts["staff01"] = ledger.account_for(f"staff:{world['consultant'].id}", "penalty_receivable", "CNY")
    accounts["system"] = ledger.account_for("system:0", "adjustment", "CNY")
    db.session.commit()
    return accounts


def move(api, who, debit, credit, key, amount=100):
    return api.as_(who).post("ledger/transfers", headers={"Idempotency-Key": key}, json={
        "debit_account_id": debit.id, "credit_account_id": credit.id, "amount": amount, "unit": "CNY",
        "reason": "Goodwill"})


@pytest.mark.rule("SEC-2")
def test_store_bound_finance_cannot_read_another_stores_accounts(api, books):
    sh01 = books["sh01"]
    as_b = api.as_("finance_b")
    for owner in (f"customer:{sh01['customer'].id}", f"store:{api.world.store.id}",
                  f"staff:{api.world['consultant'].id}", "system:0", "customer:99999"):
        resp = as_b.get(f"ledger/accounts?owner={owner}")
        assert resp.status_code == 404, (owner, resp.json)
        assert resp.json["code"] == "account_not_found"
    for account in (sh01["payable"], sh01["expense"], books["staff01"], books["system"]):
        assert as_b.get(f"ledger/accounts/{account.id}").status_code == 404
        assert as_b.get(f"ledger/accounts/{account.id}/entries").status_code == 404
    assert as_b.get(f"ledger/transfers/{sh01['transfer'].id}").status_code == 404


@pytest.mark.rule("SEC-2")
def test_store_bound_finance_reads_his_own_stores_accounts(api, books):
    sh02 = books["sh02"]
    as_b = api.as_("finance_b")
    resp = as_b.get(f"ledger/accounts?owner=customer:{sh02['customer'].id}")
    assert resp.status_code == 200
    assert [a["id"] for a in resp.json["items"]] == [sh02["payable"].id]
    assert as_b.get(f"ledger/accounts?owner=store:{api.world.other_store.id}").json["items"][0]["id"] == \
        sh02["expense"].id
    assert as_b.get(f"ledger/accounts/{sh02['payable'].id}").json["balance"]["posted"] == 50000
    assert as_b.get(f"ledger/accounts/{sh02['payable'].id}/entries").json["total"] == 1
    assert as_b.get(f"ledger/transfers/{sh02['transfer'].id}").status_code == 200


@pytest.mark.rule("SEC-2")
def test_group_level_finance_and_admin_see_every_store(api, books):
    for who in ("finance", "admin"):
        as_ = api.as_(who)
        for name in ("sh01", "sh02"):
            assert as_.get(f"ledger/accounts?owner=customer:{books[name]['customer'].id}").status_code == 200
            assert as_.get(f"ledger/accounts/{books[name]['payable'].id}/entries").status_code == 200
            assert as_.get(f"ledger/transfers/{books[name]['transfer'].id}").status_code == 200
        assert as_.get(f"ledger/accounts/{books['system'].id}").status_code == 200


@pytest.mark.rule("SEC-2")
def test_store_bound_finance_cannot_move_another_stores_money(api, books):
    sh01, sh02 = books["sh01"], books["sh02"]
    before = count_rows(Transfer)
    for i, (debit, credit) in enumerate([(sh01["payable"], sh01["expense"]),     # both SH01
                                         (sh01["payable"], sh02["expense"]),     # from SH01 into his store
                                         (sh02["expense"], sh01["payable"]),     # from his store to SH01
                                         (books["system"], sh02["payable"])]):   # the group's own account
        resp = move(api, "finance_b", debit, credit, key=f"cross-{i}")
        assert resp.status_code == 404, (i, resp.json)
        assert resp.json["code"] == "account_not_found"
    db.session.rollback()
    assert count_rows(Transfer) == before
    assert ledger.balance(sh01["payable"])["posted"] == 50000
    # inside his own store he may correct
    resp = move(api, "finance_b", sh02["payable"], sh02["expense"], key="own")
    assert resp.status_code == 201, resp.json
    # group-level finance may move across stores
    assert move(api, "finance", sh01["payable"], sh01["expense"], key="group").status_code == 201


@pytest.mark.rule("SEC-2")
def test_customer_page_balances_stay_in_the_customers_store(app, api, books):
    sh01 = books["sh01"]
    browser = Browser(app)
    login(browser, "manager_b")
    resp = browser.get(f"/customers/{sh01['customer'].id}")
    assert resp.status_code == 404
    assert "500.00" not in resp.get_data(as_text=True)
    own = browser.get(f"/customers/{books['sh02']['customer'].id}")
    assert own.status_code == 200 and "500.00" in own.get_data(as_text=True)


@pytest.mark.rule("SEC-2")
def test_points_api_and_statement_stay_in_the_customers_store(app, api, books):
    zhang = books["sh01"]["customer"]
    assert api.as_("service").post(f"customers/{zhang.id}/service-visits",
                                      json={"store_id": api.world.store.id, "amount": 10_000},
                                      headers={"Idempotency-Key": "v-1"}).status_code == 201
    as_b = api.as_("service_b")
    assert as_b.get(f"customers/{zhang.id}/points").status_code == 404
    assert as_b.post(f"customers/{zhang.id}/redemptions", json={"item": catalog_item("洗车券").code},
                     headers={"Idempotency-Key": "r-1"}).status_code == 404
    assert api.as_("service").get(f"customers/{zhang.id}/points").status_code == 200
    browser = Browser(app)
    login(browser, "service_b")
    assert browser.get(f"/customers/{zhang.id}/points").status_code == 404
