"""The API is documented for its users (issue 15 item 7): every operation has a summary and a
description in the OpenAPI document, and the document can be read at /api/v1/docs."""
from __future__ import annotations

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
