"""Signing in and out: the password, the second factor's code, TOTP enrolment, sign-out, and the
activity ping that keeps a working session alive.

Between the password and the code there is no session, only a sealed cookie (account, deadline,
CSRF token); a session starts when every factor the account needs has passed.
"""
from __future__ import annotations

import hmac
import json
import secrets
import time
from typing import Any, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request

from triage.console.accounts import ROLES, SignInThrottled
from triage.console.sessions import Expired, Session
from triage.console.web import COOKIE, FORM_EXPIRED, actor, blocking, console_of, csrf_ok, home, requires
from triage.keys import DecryptionError

bp = Blueprint("signin")

LOGIN_COOKIE = "triage_console_login"  # CSRF token of the sign-in form, before there is a session
SECOND_FACTOR_COOKIE = "triage_console_2fa"
SECOND_FACTOR_SECONDS = 300
SECOND_FACTOR_AAD = "console-second-factor"


def login_page(request: Request, status: int = 200, message: Optional[str] = None) -> response.HTTPResponse:
    console = console_of(request)
    token = secrets.token_urlsafe(32)
    next_path = request.args.get("next") or (request.form or {}).get("next") or ""
    info = None
    if request.args.get("expired"):
        info = f"You were signed out after {console.settings.idle_minutes:g} minutes without activity."
    elif request.args.get("signed_out"):
        info = "You are signed out."
    resp = console.page(request, "login.html", status=status, login_csrf=token, message=message, info=info,
                        next_path=next_path or "")
    console.set_cookie(request, resp, LOGIN_COOKIE, token, max_age=3600)
    return resp


@bp.get("/login")
async def login_form(request: Request):
    if isinstance(request.ctx.session, Session):
        return response.redirect(home(request.ctx.session))
    return login_page(request)


@bp.post("/login")
async def login(request: Request):
    console = console_of(request)
    form = request.form or {}
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest((form.get("csrf") or "").encode(), expected.encode()):
        return login_page(request, 403, "The sign-in form expired. Please try again.")
    client = request.ip or "unknown"
    try:
        account = await blocking(console.accounts.authenticate, form.get("username", ""), form.get("password", ""),
                                 client)
    except SignInThrottled as exc:
        resp = login_page(request, 429, str(exc))
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    if account is None:
        return login_page(request, 401, "Wrong username or password.")
    if console.second_factor.enrolled(account["username"]):
        pending = {"username": account["username"], "until": time.time() + SECOND_FACTOR_SECONDS,
                   "csrf": secrets.token_urlsafe(32), "next": form.get("next") or "",
                   "password_changed_at": account["password_changed_at"].isoformat()}
        resp = response.redirect("/login/code")
        console.set_cookie(request, resp, SECOND_FACTOR_COOKIE, console.svc.keys.seal(
            json.dumps(pending), aad=SECOND_FACTOR_AAD).token, max_age=SECOND_FACTOR_SECONDS)
        console.set_cookie(request, resp, LOGIN_COOKIE, "", max_age=0)
        return resp
    return start_session(request, account, client, form.get("next") or "", "password")


def start_session(request: Request, account: Dict[str, Any], client: str, next_path: str,
                  factors: str) -> response.HTTPResponse:
    console = console_of(request)
    console.sessions.end(request.cookies.get(COOKIE))  # a new session id at every sign-in
    console.sessions.purge_expired()  # housekeeping here, so no other process has to
    console.accounts.clear_failures(account["username"])
    console.accounts.purge_failures()
    token, session = console.sessions.create(account["username"])
    console.svc.audit.append("login", actor=actor(session), outcome=factors, details={"client": client})
    safe_next = next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path
    resp = response.redirect(next_path if safe_next else home(session))
    console.set_cookie(request, resp, COOKIE, token, max_age=int(console.sessions.max_age.total_seconds()))
    for cookie in (LOGIN_COOKIE, SECOND_FACTOR_COOKIE):
        console.set_cookie(request, resp, cookie, "", max_age=0)
    return resp


def pending_sign_in(request: Request) -> Optional[Dict[str, Any]]:
    """The password step's sealed state when it is still valid: in time, and the account still
    active with the same password."""
    console = console_of(request)
    try:
        pending = json.loads(console.svc.keys.open(request.cookies.get(SECOND_FACTOR_COOKIE, ""),
                                                   aad=SECOND_FACTOR_AAD))
    except (DecryptionError, ValueError):
        return None
    account = console.accounts.get(pending["username"])
    if (pending["until"] < time.time() or not account or not account["active"]
            or account["password_changed_at"].isoformat() != pending["password_changed_at"]):
        return None
    return pending


def code_page(request: Request, pending: Dict[str, Any], status: int = 200,
              message: Optional[str] = None) -> response.HTTPResponse:
    return console_of(request).page(request, "login_code.html", status=status, login_csrf=pending["csrf"],
                                    message=message)


@bp.get("/login/code")
async def login_code_form(request: Request):
    pending = pending_sign_in(request)
    if pending is None:
        return response.redirect("/login")
    return code_page(request, pending)


@bp.post("/login/code")
async def login_code(request: Request):
    console = console_of(request)
    form = request.form or {}
    pending = pending_sign_in(request)
    if pending is None:
        return login_page(request, 401, "The sign-in took too long. Please enter your password again.")
    if not hmac.compare_digest((form.get("csrf") or "").encode(), pending["csrf"].encode()):
        return code_page(request, pending, 403, "The form expired. Please try again.")
    client = request.ip or "unknown"
    try:
        factor = await blocking(console.second_factor.verify, pending["username"], form.get("code", ""), client)
    except SignInThrottled as exc:
        resp = code_page(request, pending, 429, str(exc))
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    if factor is None:
        return code_page(request, pending, 401, "That code is not right, or was already used. "
                                                "Enter the current code from your authenticator app.")
    return start_session(request, console.accounts.get(pending["username"]), client, pending["next"],
                         f"password+{factor}")


# -- second factor: enrolment ------------------------------------------------

def enrol_page(request: Request, session: Session, status: int = 200,
               message: Optional[str] = None) -> response.HTTPResponse:
    console = console_of(request)
    secret = console.second_factor.pending_secret(session.username)
    if secret is None:
        return response.redirect(home(session))
    uri, qr_svg = console.second_factor.provisioning(session.username, secret)
    return console.page(request, "totp_enrol.html", status=status, message=message, secret=secret, uri=uri,
                        qr_svg=qr_svg, required=console.second_factor.required(session.role))


@bp.get("/totp/enrol")
@requires(*ROLES, enrolling=True)
async def totp_enrol_form(request: Request, session: Session):
    return enrol_page(request, session)


@bp.post("/totp/enrol")
@requires(*ROLES, enrolling=True)
async def totp_enrol(request: Request, session: Session):
    console = console_of(request)
    codes = await blocking(console.second_factor.confirm, session.username, request.form.get("code", ""),
                           request.ip or "unknown", actor(session))
    if codes is None:
        return enrol_page(request, session, 400, "That code is not right. Check the time on your phone "
                                                 "and enter the code the app shows now.")
    return console.page(request, "totp_recovery.html", codes=codes, home=home(session))


@bp.post("/logout")
async def logout(request: Request):
    console = console_of(request)
    session = request.ctx.session
    if not isinstance(session, Session):  # already signed out, e.g. timed out on the server first
        return response.redirect("/login?expired=1" if isinstance(session, Expired) else "/login")
    if not csrf_ok(request, session.csrf):
        return console.error(request, 403, f"{FORM_EXPIRED} Reload the page.")
    console.sessions.end(request.cookies.get(COOKIE))
    idle = request.form.get("reason") == "idle"  # the page's own idle timer signed out
    if idle:
        console.svc.audit.append("session_expired", actor=actor(session),
                                 outcome=f"idle>{console.settings.idle_minutes:g}min")
    else:
        console.svc.audit.append("logout", actor=actor(session))
    resp = response.redirect("/login?expired=1" if idle else "/login?signed_out=1")
    console.set_cookie(request, resp, COOKIE, "", max_age=0)
    return resp


@bp.post("/api/touch")
@requires(*ROLES, enrolling=True)
async def touch(request: Request, session: Session):
    # The page calls this while someone is typing or clicking, so that only real idleness signs out.
    return response.empty()
