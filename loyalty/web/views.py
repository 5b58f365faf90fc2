"""Pages: login, logout, language switch, a home page per role.

The admin and customer pages live in their own modules on the same blueprint.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from loyalty.auth import access
from loyalty.auth import service as auth_service
from loyalty.auth.access import ANY_STAFF, PUBLIC, allow
from loyalty.errors import Unauthorized
from loyalty.extensions import limiter
from loyalty.web import worklists
from loyalty.web.blueprint import bp
from loyalty.web.forms import EmptyForm, LoginForm

__all__ = ["bp"]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            staff = auth_service.authenticate(form.username.data, form.password.data)
        except Unauthorized:
            g.rollback = True
            flash(_("Wrong username or password."), "error")
            return render_template("login.html", form=form), 401
        _start_session(staff)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


def _start_session(staff) -> None:
    """A new session at login (no fixation), keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["staff_id"] = staff.id
    session["sid"] = auth_service.open_session(staff, int(current_app.permanent_session_lifetime.total_seconds()))
    session["auth_fp"] = access.session_fingerprint(staff)
    if lang:
        session["lang"] = lang


@bp.route("/logout", methods=["POST"])
@allow(PUBLIC)
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        auth_service.end_session(session.get("sid"))  # a saved copy of the cookie dies with it
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        flash(_("You have logged out."), "info")
    return redirect(url_for("web.login"))


@bp.route("/lang/<code>", methods=["POST"])
@allow(PUBLIC)
def set_language(code: str):
    form = EmptyForm()
    if form.validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
@allow(ANY_STAFF)
def home():
    """The role's work queue: what waits for it, counted (loyalty/web/worklists.py)."""
    health = worklists.store_health(g.actor) if g.actor.role == "admin" else None
    return render_template(f"home/{g.actor.role}.html", tiles=worklists.tiles_for(g.actor), health=health,
                           waited=worklists.waited, form=EmptyForm())


# Route modules register on `bp` when imported.
from loyalty.web import admin, customers  # noqa: E402,F401
