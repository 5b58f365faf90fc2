"""The composition root: create_app(config) wires extensions, blueprints, CLI and error handling."""
from __future__ import annotations

import logging
import re

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import IntegerConverter

from loyalty import settings, unit_of_work
from loyalty.auth import access
from loyalty.config import Config
from loyalty.errors import DomainError, ValidationFailed
from loyalty.extensions import api, babel, csrf, db, limiter, migrate
from loyalty.schemas import ErrorSchema
from loyalty.web.field_messages import translate_fields
from loyalty.web.openapi import ErrorResponses, declared_arguments

log = logging.getLogger(__name__)


def create_app(config_class=Config) -> Flask:
    config = config_class() if isinstance(config_class, type) else config_class
    app = Flask(__name__, instance_path=config.INSTANCE_PATH,
                template_folder="web/templates", static_folder="web/static")
    app.config.from_object(config)
    settings.configure(app.config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.url_map.converters["int"] = _BoundedInt  # before any route is added

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories="web/translations")
    csrf.init_app(app)
    limiter.init_app(app)
    api.ERROR_SCHEMA = ErrorSchema
    api.handle_http_exception = _handle_http_exception
    api.DEFAULT_ERROR_RESPONSE_NAME = None  # every status is listed per operation (loyalty/web/openapi.py)
    api.init_app(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}],
        "extra_plugins": [ErrorResponses(app)]})
    with app.app_context():
        _tune_engine(db.engine)
        unit_of_work.track_writes(db.engine)

    _configure_tamper_evidence(app)
    _register_blueprints(app)
    _register_models()
    _register_verification(app)
    _register_jobs()
    app.before_request(_fresh_request_state)
    app.before_request(_refuse_deep_json)
    app.before_request(access.authorize_request)
    app.before_request(_require_json_body)
    app.after_request(unit_of_work.finish)
    app.after_request(_security_headers)
    app.register_error_handler(DomainError, _handle_domain_error)
    app.register_error_handler(IntegrityError, _handle_integrity_error)
    app.register_error_handler(DataError, _handle_out_of_range)
    app.register_error_handler(OverflowError, _handle_out_of_range)
    app.register_error_handler(StatementError, _handle_statement_error)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.context_processor(_template_globals)

    from loyalty.cli import register_cli
    register_cli(app)
    if app.config.get("SCHEDULER_EMBEDDED"):
        from loyalty.scheduler import start_embedded
        start_embedded(app)
    return app


def _configure_tamper_evidence(app: Flask) -> None:
    """SEC-1: the audit chain's and the ledger digests' HMAC keys (from AUDIT_HMAC_KEY), the checkpoint file."""
    from loyalty.audit import service as audit
    from loyalty.books.history import unsigned_transfers_up_to
    from loyalty.ledger import service as ledger
    audit.configure(app.config["AUDIT_HMAC_KEY"], app.config.get("AUDIT_CHECKPOINT_PATH"))
    audit.listen(db.session)  # events written by a transaction are chained once it commits
    ledger.configure(digest_key=audit.derive_key(app.config["AUDIT_HMAC_KEY"], "ledger-transfer"),
                     unsigned_up_to=unsigned_transfers_up_to)


def _migrations_dir() -> str:
    from pathlib import Path
    return str(Path(__file__).resolve().parent.parent / "migrations")


def _register_models() -> None:
    """Import every models module so metadata (and Alembic) sees all tables."""
    import loyalty.audit.models  # noqa: F401
    import loyalty.auth.models  # noqa: F401
    import loyalty.directory.models  # noqa: F401
    import loyalty.ledger.models  # noqa: F401
    import loyalty.payouts.models  # noqa: F401
    import loyalty.points.models  # noqa: F401
    from loyalty.reports import totals
    totals.watch()  # issue 16: every flush keeps the open payables per store (deltas in the writer's transaction)


def _register_blueprints(app: Flask) -> None:
    from loyalty.audit.api import blp as audit_api
    from loyalty.auth.api import blp as auth_api
    from loyalty.books.api import blp as ledger_api
    from loyalty.directory.api import blp as directory_api
    from loyalty.payouts.api import blp as payouts_api
    from loyalty.payouts.cli import payouts_cli
    from loyalty.payouts.views import bp as payouts_web
    from loyalty.points.api import blp as points_api
    from loyalty.points.catalog_api import blp as catalog_api
    from loyalty.points.views import bp as points_web
    from loyalty.reports.api import blp as money_reports_api
    from loyalty.reports.views import bp as money_reports_web
    from loyalty.web.views import bp as web

    for blp in (auth_api, directory_api, audit_api, ledger_api, points_api, catalog_api):
        api.register_blueprint(blp)
    # The JSON API authenticates by bearer token, not by cookie: CSRF does not apply.
    for blp in (auth_api, directory_api, audit_api, ledger_api, points_api, catalog_api):
        csrf.exempt(blp)
    app.register_blueprint(web)
    from loyalty.web.apidocs import bp as apidocs_web
    app.register_blueprint(apidocs_web)  # /api/v1/docs, a page (no form, so CSRF never applies)
    app.register_blueprint(points_web)
    from loyalty.points.catalog_views import bp as catalog_web
    app.register_blueprint(catalog_web)
    for blp in (payouts_api, money_reports_api):
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.register_blueprint(payouts_web)
    app.register_blueprint(money_reports_web)
    app.cli.add_command(payouts_cli)


def _register_jobs() -> None:
    """Every background job, in this one place (loyalty.scheduler runs them, one commit per item)."""
    from loyalty import scheduler
    from loyalty.audit import jobs as audit_jobs
    from loyalty.payouts import jobs as payout_jobs
    from loyalty.points import jobs as points_jobs
    from loyalty.reports import jobs as money_report_jobs
    from verification.callbacks import jobs as callback_jobs
    from verification.referrals import jobs as referral_jobs
    from verification.reports import jobs as report_jobs
    from verification.rings import jobs as ring_jobs
    scheduler.register(audit_jobs.CHECKPOINT, points_jobs.EXPIRY, *referral_jobs.JOBS, *callback_jobs.JOBS,
                       *ring_jobs.JOBS, *report_jobs.JOBS, *money_report_jobs.JOBS, *payout_jobs.JOBS)


def _register_verification(app: Flask) -> None:
    """The referral-verification side: its models, API, pages and jobs."""
    from loyalty.directory import service as directory
    from verification.callbacks import rewards
    from verification.delivery import records as deliveries
    from verification.referrals import fact_watch
    from verification.referrals import service as referrals
    from verification.rings import service as rings
    directory.on_fact_recorded(fact_watch.flag_live_referrals)  # CB-10: facts typed while a referral is live
    rewards.hook_into_payouts()  # payouts: rejection notes on the referral, the backfill of old rewards
    referrals.use_delivery_lookup(deliveries.delivered_within)  # REG-2: a delivered referee is too late
    referrals.use_risk_assessment(rings.assess_registration)  # issue 17: ring signals at registration
    from verification.reports import summaries
    from verification.reports.cli import reports_cli
    summaries.watch()  # issue 16: every flush keeps the report counts (deltas in the writer's transaction)
    app.cli.add_command(reports_cli)
    from verification.callbacks import api as callbacks_api
    from verification.callbacks import views as callbacks_web
    from verification.delivery import api as delivery_api
    from verification.delivery import views as delivery_web
    from verification.referrals import api as referrals_api
    from verification.referrals import views as referrals_web
    from verification.reports import api as reports_api
    from verification.reports import views as reports_web
    from verification.rings import api as rings_api
    from verification.rings import views as rings_web
    for module_api, module_web in ((referrals_api, referrals_web), (delivery_api, delivery_web),
                                   (callbacks_api, callbacks_web), (reports_api, reports_web), (rings_api, rings_web)):
        api.register_blueprint(module_api.blp)
        csrf.exempt(module_api.blp)
        app.register_blueprint(module_web.bp)
    from loyalty.payouts import home as payouts_home
    from loyalty.points import home as points_home
    from verification import home
    home.register(app)  # the home pages' work queues: referral facts, counted by verification
    payouts_home.register(app)  # and loyalty's own (payouts waiting)
    points_home.register(app)  # (points lapsing, catalog items running out)


def _tune_engine(engine) -> None:
    """SQLite: WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE (writers queue, no SQLITE_BUSY)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _select_locale():
    """The language picked on a page, else the API caller's Accept-Language, else Chinese."""
    chosen = session.get("lang")
    if chosen in ("zh_CN", "en"):
        return chosen
    if access.is_api_request():
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        if best == "en":
            return "en"
    return "zh_CN"


def _fresh_request_state():
    """Per-request flags live in `g`, which belongs to the app context; when a caller (a test,
    a CLI) keeps one app context around several requests, start each request clean."""
    g.pop("rollback", None)
    g.pop(app_csrf_field(), None)
    g.pop("_flask_babel", None)  # the language is chosen per request (flask-babel caches it in g)


# Our deepest real body is three levels ({"answers": [{...}]}); Python's parser recurses once
# per level and a 2 KB body of 1,000 "[" exhausted the stack (RecursionError, a 500).
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays/objects deeper than `limit`, found without parsing it
    (brackets inside strings do not count)."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def _refuse_deep_json():
    """before_request, app-wide: a JSON body nested too deeply is malformed (400) before anyone
    parses it, on every endpoint (SEC-4)."""
    if request.is_json and request.content_length != 0:
        body = request.get_data(cache=True)
        if body and json_depth_exceeds(body):
            raise DomainError("The request body is not valid JSON.", code="malformed_json", status=400,
                              fields={"_schema": ["JSON nested more than 32 levels deep."]})


def _require_json_body():
    """before_request, app-wide: an operation that documents a required JSON body refuses a request
    without one (422), instead of reading it as an empty change (SEC-4)."""
    if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if any(a.get("in") == "json" and a.get("required") for a in declared_arguments(view)) and not request.get_data(cache=True):
        raise ValidationFailed("The request needs a JSON body.", code="body_required",
                               fields={"_schema": ["A JSON body is required."]})


def app_csrf_field() -> str:
    from flask import current_app
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


# Pages use only our own vendored CSS (no inline style or script, no JavaScript at all), so the
# policy allows nothing else; inline SVG charts are part of the page. Nobody may frame a page.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")


def _security_headers(response):
    """App-wide: no framing (clickjacking), no MIME sniffing, a strict CSP, no referrer leaving
    the site; HSTS when cookies are HTTPS-only (a TLS deployment)."""
    from flask import current_app
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    db.session.rollback()
    fields = translate_fields(fields or {})  # by Accept-Language, as `message` (loyalty/web/field_messages.py)
    if access.is_api_request():
        body = {"code": code, "message": message, "fields": fields}
        return jsonify(body), status, headers or {}
    return render_template("error.html", status=status, code=code, message=message,
                           fields=fields or {}), status, headers or {}


def _handle_domain_error(error: DomainError):
    return _error_response(error.status, error.code, gettext(error.message), error.fields)


def _handle_integrity_error(error: IntegrityError):
    """A constraint the database caught (two writers at once): a conflict, never a 500."""
    log.info("integrity error: %s", error.orig)
    return _error_response(409, "conflict", gettext("The request conflicts with the current state."))


def _handle_out_of_range(error: Exception):
    """A value the database cannot hold (a number beyond its integer type, a NUL in text):
    the caller's input, so a 422 and nothing written, never a 500 (SEC-4)."""
    log.info("value out of range: %s", getattr(error, "orig", error))
    return _error_response(422, "invalid_value", gettext("A value is out of range or not allowed."))


def _handle_statement_error(error: StatementError):
    """A value that failed on its way into a statement, such as a year-1 date a form let through
    that cannot become UTC (OverflowError): the caller's input, so a 422 as above. Anything
    else (the database is down) stays a 500, logged."""
    if isinstance(error.orig, OverflowError):
        return _handle_out_of_range(error)
    return _handle_http_exception(InternalServerError(original_exception=error))


class _BoundedInt(IntegerConverter):
    """`<int:id>` for 32-bit primary keys: a bigger number is a 404 for every method, not a
    PostgreSQL "out of range" error or an SQLite OverflowError."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > 2**31 - 1:
            raise NotFound()  # not ValidationError: werkzeug would answer 405 for other methods
        return number


def _handle_csrf_error(error: CSRFError):
    return _error_response(400, "csrf_failed", gettext("The form expired. Please reload the page and try again."))


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
               422: "validation_error", 429: "rate_limited", 500: "internal_error"}


def _flatten_field_errors(messages) -> dict:
    """webargs nests errors by location ({"json": {...}}); the contract wants fields at the top."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    fields: dict = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            fields.update(errors)
        else:
            fields["_schema" if location == "json" else location] = errors
    return fields


def _handle_http_exception(error: HTTPException):
    status = error.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    data = getattr(error, "data", None) or {}
    fields = _flatten_field_errors(data["messages"]) if "messages" in data else {}
    headers = data.get("headers") or {}
    if status == 400 and "messages" in data:
        code = "malformed_json"
        message = gettext("The request body is not valid JSON.")
    elif status == 422:
        message = gettext("Some fields are not valid.")
    elif status == 429:
        message = gettext("Too many attempts. Please wait a minute and try again.")
    elif status == 500:
        log.exception("unhandled error", exc_info=getattr(error, "original_exception", None))
        message = gettext("Something went wrong on our side. Nothing was changed.")
    else:
        message = error.description if status < 500 else gettext("Server error.")
    if status == 405 and hasattr(error, "get_headers"):
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
    return _error_response(status, code, message, fields, headers)


def _template_globals():
    from flask_babel import get_locale

    from loyalty.web.labels import account_label, desk_label, fact_label, role_label, role_purpose
    from loyalty.web.nav import menu_for
    return {"actor": g.get("actor"), "current_locale": "zh_CN" if get_locale().language == "zh" else "en",
            "role_label": role_label, "role_purpose": role_purpose, "account_label": account_label,
            "fact_label": fact_label, "desk_label": desk_label, "menu_for": menu_for}
