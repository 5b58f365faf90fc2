def test_token_and_list_customers(api, world):
    resp = api.as_("consultant").get("customers")
    assert resp.status_code == 200, resp.json
    assert resp.json["items"] == []
