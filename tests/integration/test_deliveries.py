"""Deliveries on record without a referral: POST/GET /deliveries and the sales system's CSV (REG-7)."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.directory.models import Customer, Vehicle
from loyalty.extensions import db
from tests.flows import HEADER, ROWS, csv_bytes, register
from tests.helpers import count_rows
from verification.delivery.models import Delivery

NOW = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
CAR = {"model": "高尔夫", "colour": "红色", "transmission": "manual", "vin": "LSVAB2BR5NN123456"}
def post(api, who="manager", **body):
    with time_machine.travel(NOW, tick=False):
        return api.as_(who).post("deliveries", json=body)


def body(world, **over):
    return {"store_id": world.store.id, "customer": {"name": "李四", "phone": "13900139000"},
            "delivered_at": (NOW - timedelta(days=1)).isoformat(), "vehicle": dict(CAR), **over}


def upload(api, content: bytes, who="manager", store_id=None, name="dms.csv"):
    data = {"file": (io.BytesIO(content), name)}
    if store_id is not None:
        data["store_id"] = str(store_id)
    with time_machine.travel(NOW, tick=False):
        return api.as_(who).post("deliveries/import", data=data, content_type="multipart/form-data")


# ---- POST / GET /deliveries -------------------------------------------------------------------

@pytest.mark.rule("REG-7")
def test_a_delivery_is_recorded_without_a_referral(api, world, people):
    resp = post(api, **body(world))
    assert resp.status_code == 201, resp.json
    assert resp.json["customer"] == {"id": people["li"].id, "name": "李四", "phone": "139****9000"}
    assert resp.json["source"] == "api" and resp.json["referral_id"] is None
    assert resp.json["vehicle"]["vin"] == CAR["vin"]
    listed = api.as_("manager").get("deliveries").json
    assert listed["total"] == 1 and listed["items"][0]["id"] == resp.json["id"]
    assert set(listed) >= {"items", "total", "page", "per_page"}


@pytest.mark.rule("REG-7")
def test_an_unknown_customer_is_created_by_name_and_phone(api, world, people):
    resp = post(api, **body(world, customer={"name": "周八", "phone": "135 1111 2222"}))
    assert resp.status_code == 201, resp.json
    created = db.session.get(Customer, resp.json["customer"]["id"])
    assert (created.name, created.phone, created.store_id) == ("周八", "+8613511112222", world.store.id)


@pytest.mark.rule("REG-7")
def test_the_same_vin_is_one_delivery_and_other_data_is_refused(api, world, people):
    first = post(api, **body(world))
    again = post(api, **body(world))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    other = post(api, **body(world, delivered_at=(NOW - timedelta(days=2)).isoformat(),
                              vehicle={**CAR, "colour": "黑色"}))
    assert other.status_code == 409 and other.json["code"] == "vin_on_record", other.json
    # SEC-5: a manager is not told which of the car's fields differ (that would confirm the others)
    assert set(other.json["fields"]) == {"delivered_at", "vehicle.vin"}
    assert count_rows(Delivery) == 1 and count_rows(Vehicle) == 2  # 张三's car and this one
    assert db.session.query(Delivery).one().vehicle.colour == "红色"


@pytest.mark.rule("REG-7")
def test_an_imported_delivery_makes_a_later_registration_a_late_claim(api, world, people):
    assert upload(api, csv_bytes()).json["created"] == 2
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        resp = register(api, world, people)
    assert resp.status_code == 422 and resp.json["code"] == "late_claim", resp.json


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("over, field", [
    ({"customer": None}, "customer"),
    ({"customer_id": 1}, "customer"),                             # both given
    ({"vehicle": {**CAR, "vin": None}}, "vin"),
    ({"vehicle": {k: v for k, v in CAR.items() if k != "vin"}}, "vin"),
    ({"vehicle": {**CAR, "vin": "LSVAB2BQ5NN123456"}}, "vehicle.vin"),   # Q is not in a VIN
    ({"delivered_at": "2026-11-09T10:00:00"}, "delivered_at"),    # not aware
    ({"delivered_at": (NOW + timedelta(hours=1)).isoformat()}, "delivered_at"),
    ({"customer": {"name": "李四", "phone": "12345"}}, "customer.phone"),
    ({"customer": {"name": "李思", "phone": "13900139000"}}, "customer.name"),  # the phone is 李四's
    ({"customer": {"name": "王五", "phone": "13700137000"}}, "customer.phone"),  # another store's customer
    ({"store_id": 999999}, "store_id"),
])
def test_bad_delivery_bodies_write_nothing(api, world, people, over, field):
    payload = body(world, **over)
    payload = {k: v for k, v in payload.items() if v is not None}
    events = count_rows(AuditEvent)
    resp = post(api, **payload)
    assert 400 <= resp.status_code < 500, resp.json
    assert field in str(resp.json["fields"]) or resp.status_code == 404, resp.json
    assert count_rows(Delivery) == 0 and count_rows(AuditEvent) == events


@pytest.mark.rule("SEC-2")
def test_deliveries_are_for_managers_and_scoped_by_store(api, world, people):
    assert post(api, **body(world)).status_code == 201
    assert post(api, who="consultant", **body(world)).status_code == 403
    assert api.as_("consultant").get("deliveries").status_code == 403
    assert api.as_("manager_b").get("deliveries").json["total"] == 0
    assert api.as_("admin").get("deliveries").json["total"] == 1
    assert api.as_("admin").get("deliveries").json["items"][0]["customer"]["phone"] == "+8613900139000"
    resp = post(api, who="manager_b", **body(world))
    assert resp.status_code == 404


# ---- the sales system's CSV ---------------------------------------------------------------------

@pytest.mark.rule("REG-7")
def test_a_dms_export_is_imported_one_delivery_per_row(api, world, people):
    resp = upload(api, csv_bytes(encoding="utf-8-sig"))  # Excel's UTF-8 with BOM
    assert resp.status_code == 200, resp.json
    assert (resp.json["created"], resp.json["on_record"], resp.json["errors"]) == (2, 0, 0), resp.json
    assert [(r["line"], r["outcome"]) for r in resp.json["rows"]] == [(2, "created"), (3, "created")]
    li, zhao = (db.session.query(Delivery).order_by(Delivery.id).all())
    assert (li.customer_id, li.source, li.time_known) == (people["li"].id, "dms", True)
    assert li.delivered_at == datetime(2026, 11, 4, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    assert (li.vehicle.plate, li.vehicle.transmission) == ("沪B11111", "manual")
    # a day without a time: that day's local midnight, time unknown; the gearbox read off the model
    assert zhao.delivered_at == datetime(2026, 11, 4, 16, 0, tzinfo=UTC) and zhao.time_known is False
    assert zhao.vehicle.transmission == "automatic" and zhao.customer.name == "赵六"
    [event] = db.session.query(AuditEvent).filter_by(entity="delivery_import").all()
    assert event.after["created"] == 2 and event.after["filename"] == "dms.csv"


@pytest.mark.rule("REG-7")
def test_importing_the_same_export_twice_records_each_vin_once(api, world, people):
    assert upload(api, csv_bytes()).json["created"] == 2
    again = upload(api, csv_bytes(encoding="gb18030", sep="\t"))  # the same rows, saved again by Excel
    assert (again.json["created"], again.json["on_record"], again.json["errors"]) == (0, 2, 0), again.json
    assert count_rows(Delivery) == 2


@pytest.mark.rule("REG-7")
@pytest.mark.parametrize("encoding, sep", [("gb18030", ","), ("gb18030", "\t"), ("gbk", ","), ("utf-8", "\t"),
                                           ("utf-16", "\t")])
def test_gb18030_files_and_tab_separated_files_are_read(api, world, people, encoding, sep):
    resp = upload(api, csv_bytes(encoding=encoding, sep=sep))
    assert resp.status_code == 200, resp.json
    assert resp.json["created"] == 2, resp.json
    names = sorted(c.name for c in db.session.query(Customer).all())
    assert "赵六" in names


@pytest.mark.rule("REG-7")
def test_a_title_above_the_header_is_skipped(api, world, people):
    content = "交车明细表 2026年11月,,,\r\n".encode("gb18030") + csv_bytes(encoding="gb18030")
    resp = upload(api, content)
    assert resp.status_code == 200, resp.json
    assert [(r["line"], r["outcome"]) for r in resp.json["rows"]] == [(3, "created"), (4, "created")]


@pytest.mark.rule("REG-7")
def test_bad_rows_are_reported_and_the_good_ones_recorded(api, world, people):
    upload(api, csv_bytes(rows=ROWS[:1]))  # 李四's car is on record
    rows = [
        "李四,13900139000,2026-11-04 11:30,高尔夫,红色,手动,沪B11111,LSVAB2BR5NN123456",   # 2 same VIN, other time
        "钱七,12345,2026-11-05 09:00,速腾,白色,自动,,LFV2A21K8E4000001",                  # 3 bad phone
        "孙九,13512340001,yesterday,速腾,白色,自动,,LFV2A21K8E4000002",                  # 4 not a time
        "周八,13512340002,2026-12-25 09:00,速腾,白色,自动,,LFV2A21K8E4000003",           # 5 in the future
        "吴十,13512340003,2026-11-05 09:00,速腾,白色,,,LFV2A21K8E4000004",               # 6 no gearbox
        "郑一,13512340004,2026-11-05 09:00,速腾,白色,自动,,",                            # 7 no VIN
        "王二,13512340005,2026-11-05 09:00,速腾,白色,自动,,LFV2A21K8E40000O5",           # 8 O in the VIN
        '冯三,="13512340006",2026-11-05 09:00,速腾,白色,AT,,LFV2A21K8E4000006',          # 9 good (Excel text)
        "韩六,13512340011,2026-11-05 09:00,途观L,黑色,自动,,LFV2A21K8E4123456",           # 10 VIN of 张三's car
        "李思,13900139000,2026-11-05 09:00,速腾,白色,自动,,LFV2A21K8E4000007",           # 11 李四's phone
        "王五,13700137000,2026-11-05 09:00,速腾,白色,自动,,LFV2A21K8E4000008",           # 12 another store
        "陈四,13512340009,2026-11-05 09:00," + "速" * 61 + ",白色,自动,,LFV2A21K8E4000009",  # 13 too long
        "卫五,13512340010,2026-11-05 09:00,速腾,白色,自动,,LFV2A21K8E4000010,多余",      # 14 good, extra cell
    ]
    resp = upload(api, csv_bytes(rows=rows))
    assert resp.status_code == 200, resp.json
    outcome = {r["line"]: (r["outcome"], sorted(r["fields"])) for r in resp.json["rows"]}
    assert outcome == {
        2: ("error", ["delivered_at"]), 3: ("error", ["phone"]), 4: ("error", ["delivered_at"]),
        5: ("error", ["delivered_at"]), 6: ("error", ["transmission"]), 7: ("error", ["vin"]),
        8: ("error", ["vin"]), 9: ("created", []), 10: ("error", ["vin"]), 11: ("error", ["customer_name"]),
        12: ("error", ["phone"]), 13: ("error", ["model"]), 14: ("created", []),
    }, resp.json
    assert all(r["message"] for r in resp.json["rows"] if r["outcome"] == "error")
    assert count_rows(Delivery) == 3
    assert db.session.query(Delivery).filter_by(id=1).one().delivered_at == \
        datetime(2026, 11, 4, 2, 30, tzinfo=UTC)  # the delivery on record was not overwritten
    assert db.session.query(Customer).filter_by(name="冯三").one().phone == "+8613512340006"
    assert not db.session.query(Customer).filter_by(name="韩六").all()  # a refused row leaves no customer


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("content, message", [
    (b"", "CSV"),
    (b"name,model\r\nx,y\r\n", "columns"),
    (HEADER.encode() + b"\r\n", "rows"),
    (b"\xff\xfe\x00\xd8" * 3, "text"),   # UTF-16 with a broken surrogate
])
def test_a_file_that_cannot_be_read_is_refused_whole(api, world, people, content, message):
    events = count_rows(AuditEvent)
    resp = upload(api, content)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.json["code"] in ("invalid_file", "validation_error") and "file" in resp.json["fields"]
    assert count_rows(Delivery) == 0 and count_rows(AuditEvent) == events


def test_the_import_needs_a_store_and_a_manager(api, world, people):
    resp = upload(api, csv_bytes(), who="admin")  # group-level: which store?
    assert resp.status_code == 200 and resp.json["errors"] == 2
    assert resp.json["rows"][0]["fields"] == {"store": [resp.json["rows"][0]["fields"]["store"][0]]}
    assert upload(api, csv_bytes(), who="admin", store_id=world.store.id).json["created"] == 2
    assert upload(api, csv_bytes(), who="consultant").status_code == 403
    assert upload(api, csv_bytes(), who="manager_b", store_id=world.store.id).status_code == 422
    with_store = csv_bytes(header="门店," + HEADER, rows=["SH02," + r for r in ROWS])
    assert upload(api, with_store, who="manager").json["errors"] == 2  # SH02 is not the manager's store


@pytest.mark.rule("REG-7")
def test_two_imports_of_one_export_at_once_record_each_vin_once(app, api, world, people, pg_only):
    from tests.helpers import at_once
    token = api.token("manager")

    def attempt():
        with time_machine.travel(NOW, tick=False):
            resp = app.test_client().post("/api/v1/deliveries/import", headers={"Authorization": f"Bearer {token}"},
                                          data={"file": (io.BytesIO(csv_bytes()), "dms.csv")},
                                          content_type="multipart/form-data")
        return resp.status_code, resp.get_json()

    results = at_once([attempt, attempt])
    assert [code for code, _ in results] == [200, 200], results
    assert sorted((r["created"], r["on_record"]) for _, r in results) == [(0, 2), (2, 0)]
    db.session.expire_all()
    assert count_rows(Delivery) == 2


@pytest.mark.rule("REG-2")
def test_a_delivery_since_the_window_s_start_counts_to_the_microsecond(api, world, people):
    """`delivered_within` (the registration's late-claim check, one statement): a delivery on record
    at `since` or after counts, one a microsecond before does not; and a referral checked before
    deliveries were recorded (its delivery time only on the referral, before migration 0008) counts
    the same way."""
    from verification.delivery import records
    from verification.referrals.models import Referral
    li, zhang = people["li"], people["zhang"]
    assert post(api, **body(world)).status_code == 201
    at = db.session.execute(select(Delivery.delivered_at).where(Delivery.customer_id == li.id)).scalar_one()
    assert records.delivered_within(li.id, at) and not records.delivered_within(li.id, at + timedelta(microseconds=1))
    old = Referral(store_id=world.store.id, referrer_id=li.id, referee_id=zhang.id,
                   registered_by_id=world.staff["consultant"].id, status="rejected", reason="late_claim",
                   claim_referrer_name="李四", claim_referrer_phone="+8613900139000", claim_referrer_model="速腾",
                   claim_referrer_colour="白色", registered_at=NOW - timedelta(days=3), delivered_at=NOW - timedelta(days=2))
    db.session.add(old)
    db.session.commit()
    assert records.delivered_within(zhang.id, NOW - timedelta(days=2))
    assert not records.delivered_within(zhang.id, NOW - timedelta(days=2) + timedelta(microseconds=1))
