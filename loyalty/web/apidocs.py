"""/api/v1/docs: the API documentation page (Swagger UI, vendored; issue 15 item 7).

The page reads the same document the API serves (/api/v1/openapi.json), so it cannot drift
from the code. Everything it loads is ours: Swagger UI 5.35.0 from npm `swagger-ui-dist`
under static/vendor/swagger-ui/ (no CDN), and the initialiser static/js/apidocs.js (no
inline script). Swagger UI sets element styles through the DOM, which a CSP does not
restrict, so the app-wide policy holds here unrelaxed (tests/e2e/test_api_docs.py watches
for violations). A plain Flask blueprint, not a smorest one: the page is for people and
stays out of the OpenAPI document.
"""
from __future__ import annotations

from flask import Blueprint, render_template, url_for

from loyalty.auth.access import PUBLIC, allow

bp = Blueprint("apidocs", __name__, url_prefix="/api/v1")


@bp.route("/docs", methods=["GET"])
@allow(PUBLIC)
def docs():
    return render_template("apidocs.html", spec_url=url_for("api-docs.openapi_json"))
