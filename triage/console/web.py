"""What every console page shares: the Console (stores, templates and page rendering, built once per
app and kept on ``app.ctx.console``), the ``requires`` guard (sign-in, role, second factor, CSRF),
cookies, and running slow calls off the event loop.

Blueprints import these at import time; the guard and ``console_of`` find the app's Console through
the request, so a blueprint module holds no state of its own and one blueprint serves any app.
"""
from __future__ import annotations

import asyncio
import functools
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Tuple, Type, Union
from urllib.parse import urlencode

import jinja2
from sanic import response
from sanic.request import Request

from triage import services
from triage.console.accounts import ADMIN, AUDITOR, STAFF, Accounts
from triage.console.sessions import Expired, Session, Sessions
from triage.console.totp import SecondFactor

HERE = Path(__file__).resolve().parent
COOKIE = "triage_console"
POLL_HEADER = "X-Console-Poll"  # background refresh: does not count as activity
CASE_WORKERS, AUDIT_READERS = (STAFF, ADMIN), (AUDITOR, ADMIN)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Shown after a redirect; the query string carries only the key, never text.
NOTICES = {
    "claimed": "Case claimed.", "replied": "Reply sent to the patient.",
    "resolved": "Case resolved; the bot has the conversation again.",
    "resolved_pending": "Case resolved; the assistant was unreachable, so the worker will hand the "
                        "conversation back when it is.",
    "labelled": "Added to the training data. Retrain with `make train` (the safety gate decides).",
    "dismissed": "Item dismissed.", "account_created": "Account created.", "account_changed": "Account updated.",
    "totp_reset": "Second factor reset: the account sets it up again at its next sign-in.",
}
FORM_EXPIRED = "This form expired or did not come from this console."


@dataclass(frozen=True)
class ConsoleSettings:
    host: str = "127.0.0.1"
    port: int = 5080
    idle_minutes: float = 15
    secure_cookies: bool = False  # set behind TLS; also set when the request arrived over https
    totp_staff: bool = False  # staff need a second factor too (admins and auditors always do)

    @classmethod
    def from_env(cls) -> "ConsoleSettings":
        return cls(host=os.environ.get("TRIAGE_CONSOLE_HOST", cls.host),
                   port=int(os.environ.get("TRIAGE_CONSOLE_PORT", cls.port)),
                   idle_minutes=float(os.environ.get("TRIAGE_CONSOLE_IDLE_MINUTES", cls.idle_minutes)),
                   secure_cookies=os.environ.get("TRIAGE_CONSOLE_SECURE_COOKIES", "") in ("1", "true", "yes"),
                   totp_staff=os.environ.get("TRIAGE_CONSOLE_TOTP_STAFF", "") in ("1", "true", "yes"))


class Console:
    """One app's shared state: the services, the console's own stores and the templates."""

    def __init__(self, svc: services.Services, settings: ConsoleSettings) -> None:
        self.svc, self.settings = svc, settings
        self.accounts = Accounts(svc.audit)
        self.sessions = Sessions(svc.audit.engine, idle_minutes=settings.idle_minutes)
        self.second_factor = SecondFactor(self.accounts, staff_required=settings.totp_staff)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                            undefined=jinja2.StrictUndefined)

    def page(self, request: Request, template: str, status: int = 200, **context) -> response.HTTPResponse:
        session = request.ctx.session if isinstance(request.ctx.session, Session) else None
        notice = NOTICES.get(request.args.get("done", ""))
        body = self.templates.get_template(template).render(
            session=session, csrf=session.csrf if session else "", notice=notice,
            idle_seconds=int(self.settings.idle_minutes * 60), **context)
        return response.html(body, status=status)

    def error(self, request: Request, status: int, message: str) -> response.HTTPResponse:
        return self.page(request, "error.html", status=status, message=message)

    def set_cookie(self, request: Request, resp: response.HTTPResponse, name: str, value: str, max_age: int) -> None:
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        cookie["max-age"] = max_age
        if (self.settings.secure_cookies or request.scheme == "https"
                or request.headers.get("x-forwarded-proto") == "https"):
            cookie["secure"] = True

    def needs_enrolment(self, session: Session) -> bool:
        return self.second_factor.required(session.role) and not self.second_factor.enrolled(session.username)


def console_of(request: Request) -> Console:
    return request.app.ctx.console


def home(session: Session) -> str:
    return "/audit" if session.role == AUDITOR else "/inbox"


def actor(session: Session) -> str:
    return f"{session.role}:{session.username}"


def csrf_ok(request: Request, expected: str) -> bool:
    given = request.form.get("csrf") if request.form else None
    given = given or request.headers.get("x-csrf-token") or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def requires(*roles: str, enrolling: bool = False):
    """Lets the handler run only for a signed-in session of one of ``roles``, with its second factor
    set up, and for a POST with the session's CSRF token; the handler gets the session after the
    request. ``enrolling``: the route is reachable before a required second factor is set up."""
    def decorate(handler):
        @functools.wraps(handler)
        async def guarded(request: Request, *args, **kwargs):
            console, session = console_of(request), request.ctx.session
            if not isinstance(session, Session):
                if request.path.startswith("/api/") or request.method != "GET":
                    return response.json({"error": "sign in first"}, status=401)
                query = {"next": request.path}
                if isinstance(session, Expired):
                    query["expired"] = "1"
                return response.redirect("/login?" + urlencode(query))
            if session.role not in roles:
                return console.error(request, 403, "Your role does not give access to this page.")
            if not enrolling and console.needs_enrolment(session):
                if request.method == "GET" and not request.path.startswith("/api/"):
                    return response.redirect("/totp/enrol")
                return console.error(request, 403, "Set up your second factor first.")
            if request.method == "POST" and not csrf_ok(request, session.csrf):
                return console.error(request, 403, f"{FORM_EXPIRED} Reload the page and try again.")
            return await handler(request, session, *args, **kwargs)
        return guarded
    return decorate


async def blocking(fn: Callable, *args, **kwargs):
    """Runs a slow call (scrypt, a channel send, a chain walk) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


async def form_action(action: Callable[[], Any], refusals: Union[Type[Exception], Tuple[Type[Exception], ...]],
                      again: Callable[[str], response.HTTPResponse],
                      then: Union[str, Callable[[Any], str]]) -> response.HTTPResponse:
    """A form's POST: runs ``action`` off the event loop; a refusal (one of ``refusals``, whose text
    is written for the user) shows the form again through ``again``, success redirects to ``then``
    (a path, or a function of the action's result), so a reload does not post twice."""
    try:
        result = await blocking(action)
    except refusals as exc:
        return again(str(exc))
    return response.redirect(then(result) if callable(then) else then)

