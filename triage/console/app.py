"""The staff console: a Sanic web app for handoff cases, the audit log and admin work.

It calls the same functions as the staff CLI (Cases, handback.resolve,
send_staff_reply, ReviewQueue, AuditLog), so there is one implementation of
each rule. Pages are rendered on the server with autoescaping Jinja2; the
only script is static/console.js (countdowns, polling, idle sign-out), and
the Content-Security-Policy allows nothing from anywhere else.

Access: `staff` works cases; `admin` also reviews training data, manages
accounts and may export the audit log decrypted; `auditor` sees the audit
log's metadata and the chain's verify status only. Admins and auditors (and
staff with TRIAGE_CONSOLE_TOTP_STAFF=1) need a second factor (totp.py): until
they have enrolled, every page sends them to the enrolment page; once they
have, signing in takes the password and then a code, and there is no session
before both passed.

Layout: this module builds the app (the session middleware, security headers,
the error page, /health and /) and registers one blueprint per area, listed in
BLUEPRINTS. What pages share is in web.py: the Console on ``app.ctx.console``
(stores, templates, ``page``/``error``), the ``requires`` guard (sign-in, role,
second factor, CSRF) and ``form_action``. A new page is a module with
``bp = Blueprint("<area>")`` and handlers under ``@bp.get(...)`` and
``@requires(...)``, plus one line in BLUEPRINTS.
"""
from __future__ import annotations

import logging
from typing import Optional

from sanic import Sanic, response
from sanic.request import Request

from triage import services
from triage.console import (accounts_page, audit_page, cases_page, inbox_pages, models_page, outbox_page, review_page,
                            signin)
from triage.console.sessions import Expired, Session
from triage.console.web import COOKIE, HERE, POLL_HEADER, SECURITY_HEADERS, Console, ConsoleSettings, home

logger = logging.getLogger(__name__)

__all__ = ["BLUEPRINTS", "ConsoleSettings", "create_app", "serve"]

BLUEPRINTS = (
    signin.bp,         # sign-in, second factor, enrolment, sign-out
    cases_page.bp,     # inbox, cases: claim, reply, resolve
    outbox_page.bp,    # messages to patients (triage/outbox.py)
    audit_page.bp,     # the audit log and its export
    review_page.bp,    # review queue: label or dismiss
    accounts_page.bp,  # console accounts
    inbox_pages.bp,    # reports and incident notices
    models_page.bp,    # training, the gate's report, activation and rollback (admins)
)


def create_app(svc: services.Services, settings: ConsoleSettings, name: str = "triage-console") -> Sanic:
    app = Sanic(name)
    app.config.KEEP_ALIVE_TIMEOUT = 30
    app.ctx.console = console = Console(svc, settings)
    # The banners (an active incident notice, a recent surge alert) head every signed-in page.
    console.templates.globals["inbox_banners"] = lambda: inbox_pages.banners(svc)
    app.static("/static", str(HERE / "static"))
    app.register_middleware(load_session, "request")
    app.register_middleware(security_headers, "response")
    app.exception(Exception)(on_error)
    app.add_route(health, "/health")
    app.add_route(root, "/")
    for blueprint in BLUEPRINTS:
        app.blueprint(blueprint)
    return app


async def load_session(request: Request):
    request.ctx.session = None
    if request.path.startswith("/static/") or request.path == "/health":
        return
    console = request.app.ctx.console
    result = console.sessions.get(request.cookies.get(COOKIE), touch=request.headers.get(POLL_HEADER) != "1")
    if isinstance(result, Expired):
        console.svc.audit.append("session_expired", actor=f"console:{result.username}",
                                 outcome=f"idle>{console.settings.idle_minutes:g}min")
    request.ctx.session = result


async def security_headers(request: Request, resp: response.HTTPResponse):
    for key, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(key, value)
    if not request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-store"


async def on_error(request: Request, exc: Exception):
    status = getattr(exc, "status_code", 500)
    if status >= 500:
        # The type only: an exception's text may carry patient words.
        logger.error("console: %s on %s %s", type(exc).__name__, request.method, request.path)
    if not hasattr(request.ctx, "session"):
        request.ctx.session = None
    messages = {404: "There is no such page.", 405: "That is not allowed here."}
    return request.app.ctx.console.error(request, status, messages.get(
        status, "Something went wrong; it was logged without any patient text. Try again."))


async def health(request: Request):
    return response.json({"status": "ok"})


async def root(request: Request):
    session = request.ctx.session
    return response.redirect(home(session) if isinstance(session, Session) else "/login")


def serve(settings: Optional[ConsoleSettings] = None) -> None:
    settings = settings or ConsoleSettings.from_env()
    app = create_app(services.default(), settings)
    # No access log: the URLs name cases, and nothing in them is needed in a log.
    app.run(host=settings.host, port=settings.port, access_log=False, workers=1, motd=False)
