"""/api/v1/docs in Chromium (issue 15 item 7): the vendored Swagger UI renders the operations
list from /api/v1/openapi.json, for a visitor without a login, loading nothing from elsewhere and
breaking no rule of the app-wide Content-Security-Policy."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_api_docs_page_lists_the_operations(page, live_server):
    violations: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("request", lambda req: foreign.append(req.url) if not req.url.startswith((live_server, "data:")) else None)
    response = page.goto("/api/v1/docs")
    assert response.status == 200
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 54
    summaries = page.locator(".opblock-summary-description").all_inner_texts()
    assert "Record a service visit (earn points)" in summaries
    visit = page.locator(".opblock", has_text="Record a service visit (earn points)")
    visit.locator(".opblock-summary").first.click()
    visit.get_by_text("Idempotency-Key").first.wait_for()  # the operation opens with its header parameter
    visit.locator(".responses-wrapper .highlight-code, .responses-wrapper .example").first.wait_for()
    assert foreign == []
    assert violations == []
