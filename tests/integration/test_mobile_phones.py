"""issue 15 item 6: a customer's phone is a mobile (the callback reaches him on it), and the
showroom form says which of its two phones is wrong."""
from __future__ import annotations

import pytest

from loyalty.directory import identity
from loyalty.directory.models import Customer
from tests.helpers import count_rows, new_customer


def test_landlines_are_valid_numbers_but_not_mobiles():
    assert identity.normalise_phone("021-58881234") == "+862158881234"
    with pytest.raises(identity.InvalidPhone):
        identity.normalise_phone("021-58881234", mobile=True)
    assert identity.normalise_phone("138 0013 8000", mobile=True) == "+8613800138000"


@pytest.mark.rule("SEC-4")
def test_a_landline_is_refused_as_a_new_customers_phone(api, world):
    before = count_rows(Customer)
    resp = api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "王五",
                                                         "phone": "021-58881234"})
    assert resp.status_code == 422 and list(resp.json["fields"]) == ["phone"], resp.json
    assert count_rows(Customer) == before


@pytest.mark.rule("SEC-4")
def test_the_showroom_registration_names_the_wrong_phone(app, world):
    from loyalty.errors import ValidationFailed
    from verification.referrals import service as referrals
    new_customer(world.store.id, name="张三", phone="13800138000")
    form = {"referrer_name": "张三", "referrer_model": "速腾", "referrer_colour": "白色", "referee_name": "李四"}
    with pytest.raises(ValidationFailed) as caught:
        referrals.register_at_showroom(world["consultant"], store_id=world.store.id, referrer_phone="021-58881234",
                                       referee_phone="13900139000", **form)
    assert list(caught.value.fields) == ["referrer_phone"]
    with pytest.raises(ValidationFailed) as caught:
        referrals.register_at_showroom(world["consultant"], store_id=world.store.id, referrer_phone="13800138000",
                                       referee_phone="021-58881234", **form)
    assert list(caught.value.fields) == ["referee_phone"]
