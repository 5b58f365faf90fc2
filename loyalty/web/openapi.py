"""A truthful OpenAPI document: every status code an operation can answer, and nothing vaguer.

flask-smorest documents what a view declares (`@blp.arguments` → 422, `@blp.response` → its
code). What the doors around a view add is documented here, derived from the same markers the
code runs on, so the document cannot drift from them:

- 401 on every operation that is not public (`@allow`), 403 where the audience is a list of roles;
- 404 where the path names an object (`{..._id}`);
- 400 where a JSON body is read (malformed or nested too deeply), 422 where anything is parsed;
- 409 on every write: app.py answers a unique or state conflict the database catches with 409;
- the `Idempotency-Key` header where the view claims one (required with `@idempotent`);
- 429 where a rate limit applies;
- the media type of downloads (CSV, XLSX);
- and, per operation, the codes its service raises beyond those (`EXTRA`, kept honest by the
  Schemathesis probe in `tests/probes`, which fails on any undocumented status code).

There is no catch-all `default` response: an answer the document does not list is a defect.
"""
from __future__ import annotations

from apispec import BasePlugin

from loyalty.auth.access import ANY_STAFF, PUBLIC

ERROR = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    400: "Malformed request (the body is not JSON, or is nested too deeply).",
    401: "No valid bearer token.",
    403: "The caller's role may not do this, or a rule forbids this caller (e.g. approving one's own).",
    404: "No such object, or not in the caller's store.",
    409: "Conflicts with the current state (a state change already made, a duplicate, a reused key).",
    422: "A field is not valid, or a business rule refuses the request; `fields` says which.",
    429: "Too many attempts; retry after the time in Retry-After.",
}
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {".csv": CSV, ".xlsx": XLSX}  # by the path's extension
RATE_LIMITED = {"auth.issue_token"}
# Codes a service raises beyond what the markers above imply, per endpoint.
EXTRA: dict[str, set[int]] = {
    "auth.issue_token": {401},  # wrong username or password
    "payouts.export_file": {409},  # the export is not done, failed or expired
    "payouts.export_csv": {409},  # too large for one request, and the caller has exports waiting already
    "payouts.export_xlsx": {409},  # too large for one request (background exports are CSV only)
}


def _error(status: int) -> dict:
    return {"description": DESCRIPTIONS[status], "content": {"application/json": {"schema": ERROR}}}


def declared_arguments(view) -> tuple | list:
    """What `@blp.arguments` declared on a view: [{"in": "json", "required": True, "schema": ...}]."""
    return (getattr(view, "_apidoc", None) or {}).get("arguments", {}).get("parameters", ())


def _names_an_object(view) -> bool:
    """Whether the view's input (body or query, nested included) carries an object id."""
    return any(_has_id_field(a.get("schema")) for a in declared_arguments(view))


def _has_id_field(schema, seen=None) -> bool:
    seen = seen or set()
    if schema is None or isinstance(schema, dict) or id(schema) in seen:
        return False
    seen.add(id(schema))
    declared = getattr(schema, "_declared_fields", None) or getattr(schema, "fields", {})
    for name, field in declared.items():
        if name.endswith(("_id", "_ids")):
            return True
        inner = getattr(field, "inner", None) or field
        nested = getattr(inner, "nested", None)
        if nested is not None and not callable(nested) and _has_id_field(nested, seen):
            return True
    return False


class ErrorResponses(BasePlugin):
    """apispec plugin: completes each operation from the view behind its Flask rule."""

    def __init__(self, app) -> None:
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or operations is None:
            return
        view = self.app.view_functions.get(rule.endpoint)
        audience = getattr(view, "__access__", frozenset())
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = set(EXTRA.get(rule.endpoint, ()))
            if PUBLIC not in audience:
                codes.add(401)
                if ANY_STAFF not in audience:
                    codes.add(403)
            if rule.arguments or _names_an_object(view):
                codes.add(404)  # no such object, or (store scoping) another store's
            if "requestBody" in operation or "parameters" in operation:
                codes.add(422)
            if "requestBody" in operation:
                codes.add(400)  # not JSON, or nested too deeply (app.py)
            if method.lower() != "get" and PUBLIC not in audience:
                codes.add(409)  # any write may meet a state change or a unique value (app.py maps them)
            if rule.endpoint in RATE_LIMITED:
                codes.add(429)
            listed = {str(status) for status in responses}  # smorest keys by int, apispec by str
            for status in sorted(codes):
                if str(status) not in listed:
                    responses[str(status)] = _error(status)
            for status, response in responses.items():
                if str(status)[0] in "45" and isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("content", _error(int(status))["content"])  # given as words only
            media = next((m for ext, m in DOWNLOADS.items() if rule.rule.endswith(ext)), None)
            if media:
                responses.setdefault("200", {"description": "The file (CSV: UTF-8 with a BOM, for Excel)."})
                responses["200"]["content"] = {media: {"schema": {"type": "string", "format": "binary"}}}
            self._idempotency(view, operation)

    @staticmethod
    def _idempotency(view, operation: dict) -> None:
        mode = getattr(view, "_idempotent", None)
        if not mode:
            return
        required = mode is True or mode == "required"
        operation.setdefault("parameters", []).append({
            "name": "Idempotency-Key", "in": "header", "required": required,
            "description": ("Required: a retry with the same key and body replays the first answer and moves "
                            "nothing (LED-3)." if required else
                            "Optional: with a key a retry replays the first answer (LED-3)."),
            "schema": {"type": "string", "minLength": 1, "maxLength": 160}})
        listed = {str(status) for status in operation["responses"]}
        for status in (409, 422):
            if str(status) not in listed:
                operation["responses"][str(status)] = _error(status)
