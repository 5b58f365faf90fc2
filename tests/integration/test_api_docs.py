"""The API is documented for its users (issue 15 item 7): every operation has a summary and a
description in the OpenAPI document, and the document can be read at /api/v1/docs."""
from __future__ import annotations

import re

import pytest


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


def test_every_operation_has_a_summary_and_a_description(client):
    doc = client.get("/api/v1/openapi.json").json
    operations = list(_operations(doc))
    assert len(operations) >= 54
    undocumented = [f"{method} {path}" for method, path, operation in operations
                    if len(operation.get("summary", "").strip()) < 5 or len(operation.get("description", "").strip()) < 20]
    assert not undocumented, "\n".join(undocumented)
    summaries = [(operation["summary"], path) for _, path, operation in operations]
    assert len({s for s, _ in summaries}) == len(summaries), "two operations share a summary"


@pytest.mark.rule("LED-3")
def test_the_service_visit_documents_its_required_idempotency_key(client):
    doc = client.get("/api/v1/openapi.json").json
    visit = doc["paths"]["/api/v1/customers/{customer_id}/service-visits"]["post"]
    header = next(p for p in visit["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is True


def test_the_docs_page_is_public_and_loads_only_our_own_files(app, client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'; style-src 'self';")
    assert "<script>" not in html and " style=" not in html  # no inline script or style
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets and "/static/js/apidocs.js" in assets
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as asset:  # a static file is streamed: close it
            assert asset.status_code == 200, url


def test_the_docs_page_is_not_an_operation_of_the_api(client):
    doc = client.get("/api/v1/openapi.json").json
    assert "/api/v1/docs" not in doc["paths"]
