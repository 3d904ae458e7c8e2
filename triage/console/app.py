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
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote, urlencode

import jinja2
from sanic import Sanic, response
from sanic.request import Request

from triage import handback, intents, services
from triage.audit import EVENTS
from triage.cases import OUTCOMES, CaseError
from triage.db import utcnow
from triage.console import inbox_pages, outbox_page
from triage.console.accounts import ADMIN, AUDITOR, ROLES, STAFF, AccountError, Accounts, SignInThrottled
from triage.console.sessions import Expired, Session, Sessions
from triage.console.totp import SecondFactor
from triage.keys import DecryptionError
from triage.language import SUPPORTED
from triage.review import Label, ReviewError

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "triage_console"
LOGIN_COOKIE = "triage_console_login"  # CSRF token of the sign-in form, before there is a session
# Between the password and the code: sealed (account, deadline, CSRF token), never a session.
SECOND_FACTOR_COOKIE = "triage_console_2fa"
SECOND_FACTOR_SECONDS = 300
SECOND_FACTOR_AAD = "console-second-factor"
POLL_HEADER = "X-Console-Poll"  # background refresh: does not count as activity
CASE_WORKERS, AUDIT_READERS = (STAFF, ADMIN), (AUDITOR, ADMIN)
REPLY_CHANNELS = ("facebook", "instagram", "x")
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


async def blocking(fn: Callable, *args, **kwargs):
    """Runs a slow call (scrypt, a channel send, a chain walk) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


def create_app(svc: services.Services, settings: ConsoleSettings, name: str = "triage-console") -> Sanic:
    app = Sanic(name)
    app.config.KEEP_ALIVE_TIMEOUT = 30
    accounts = Accounts(svc.audit)
    sessions = Sessions(svc.audit.engine, idle_minutes=settings.idle_minutes)
    second_factor = SecondFactor(accounts, staff_required=settings.totp_staff)
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                   undefined=jinja2.StrictUndefined)
    app.static("/static", str(HERE / "static"))

    def page(request: Request, template: str, status: int = 200, **context) -> response.HTTPResponse:
        session = request.ctx.session if isinstance(request.ctx.session, Session) else None
        notice = NOTICES.get(request.args.get("done", ""))
        body = templates.get_template(template).render(
            session=session, csrf=session.csrf if session else "", notice=notice,
            idle_seconds=int(settings.idle_minutes * 60), **context)
        return response.html(body, status=status)

    def error(request: Request, status: int, message: str) -> response.HTTPResponse:
        return page(request, "error.html", status=status, message=message)

    def set_cookie(request: Request, resp: response.HTTPResponse, name: str, value: str, max_age: int) -> None:
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        cookie["max-age"] = max_age
        if settings.secure_cookies or request.scheme == "https" or request.headers.get("x-forwarded-proto") == "https":
            cookie["secure"] = True

    def home(session: Session) -> str:
        return "/audit" if session.role == AUDITOR else "/inbox"

    def actor(session: Session) -> str:
        return f"{session.role}:{session.username}"

    def csrf_ok(request: Request, expected: str) -> bool:
        given = request.form.get("csrf") if request.form else None
        given = given or request.headers.get("x-csrf-token") or ""
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())

    def needs_enrolment(session: Session) -> bool:
        return second_factor.required(session.role) and not second_factor.enrolled(session.username)

    def requires(*roles: str, enrolling: bool = False):
        """``enrolling``: the route is reachable before a required second factor is set up."""
        def decorate(handler):
            @functools.wraps(handler)
            async def guarded(request: Request, *args, **kwargs):
                session = request.ctx.session
                if not isinstance(session, Session):
                    if request.path.startswith("/api/") or request.method != "GET":
                        return response.json({"error": "sign in first"}, status=401)
                    query = {"next": request.path}
                    if isinstance(session, Expired):
                        query["expired"] = "1"
                    return response.redirect("/login?" + urlencode(query))
                if session.role not in roles:
                    return error(request, 403, "Your role does not give access to this page.")
                if not enrolling and needs_enrolment(session):
                    if request.method == "GET" and not request.path.startswith("/api/"):
                        return response.redirect("/totp/enrol")
                    return error(request, 403, "Set up your second factor first.")
                if request.method == "POST" and not csrf_ok(request, session.csrf):
                    return error(request, 403, "This form expired or did not come from this console. "
                                               "Reload the page and try again.")
                return await handler(request, session, *args, **kwargs)
            return guarded
        return decorate

    @app.middleware("request")
    async def load_session(request: Request):
        request.ctx.session = None
        if request.path.startswith("/static/") or request.path == "/health":
            return
        result = sessions.get(request.cookies.get(COOKIE), touch=request.headers.get(POLL_HEADER) != "1")
        if isinstance(result, Expired):
            svc.audit.append("session_expired", actor=f"console:{result.username}",
                             outcome=f"idle>{settings.idle_minutes:g}min")
        request.ctx.session = result

    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse):
        for key, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(key, value)
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"

    @app.exception(Exception)
    async def on_error(request: Request, exc: Exception):
        status = getattr(exc, "status_code", 500)
        if status >= 500:
            # The type only: an exception's text may carry patient words.
            logger.error("console: %s on %s %s", type(exc).__name__, request.method, request.path)
        if not hasattr(request.ctx, "session"):
            request.ctx.session = None
        messages = {404: "There is no such page.", 405: "That is not allowed here."}
        return error(request, status, messages.get(status, "Something went wrong; it was logged without any "
                                                            "patient text. Try again."))

    # -- signing in and out ------------------------------------------------------

    @app.get("/health")
    async def health(request: Request):
        return response.json({"status": "ok"})

    @app.get("/")
    async def root(request: Request):
        session = request.ctx.session
        return response.redirect(home(session) if isinstance(session, Session) else "/login")

    def login_page(request: Request, status: int = 200, message: Optional[str] = None) -> response.HTTPResponse:
        token = secrets.token_urlsafe(32)
        next_path = request.args.get("next") or (request.form or {}).get("next") or ""
        info = None
        if request.args.get("expired"):
            info = f"You were signed out after {settings.idle_minutes:g} minutes without activity."
        elif request.args.get("signed_out"):
            info = "You are signed out."
        resp = page(request, "login.html", status=status, login_csrf=token, message=message, info=info,
                    next_path=next_path or "")
        set_cookie(request, resp, LOGIN_COOKIE, token, max_age=3600)
        return resp

    @app.get("/login")
    async def login_form(request: Request):
        if isinstance(request.ctx.session, Session):
            return response.redirect(home(request.ctx.session))
        return login_page(request)

    @app.post("/login")
    async def login(request: Request):
        form = request.form or {}
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest((form.get("csrf") or "").encode(), expected.encode()):
            return login_page(request, 403, "The sign-in form expired. Please try again.")
        client = request.ip or "unknown"
        try:
            account = await blocking(accounts.authenticate, form.get("username", ""), form.get("password", ""), client)
        except SignInThrottled as exc:
            resp = login_page(request, 429, str(exc))
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp
        if account is None:
            return login_page(request, 401, "Wrong username or password.")
        if second_factor.enrolled(account["username"]):
            pending = {"username": account["username"], "until": time.time() + SECOND_FACTOR_SECONDS,
                       "csrf": secrets.token_urlsafe(32), "next": form.get("next") or "",
                       "password_changed_at": account["password_changed_at"].isoformat()}
            resp = response.redirect("/login/code")
            set_cookie(request, resp, SECOND_FACTOR_COOKIE, svc.keys.seal(json.dumps(pending),
                       aad=SECOND_FACTOR_AAD).token, max_age=SECOND_FACTOR_SECONDS)
            set_cookie(request, resp, LOGIN_COOKIE, "", max_age=0)
            return resp
        return start_session(request, account, client, form.get("next") or "", "password")

    def start_session(request: Request, account: Dict[str, Any], client: str, next_path: str,
                      factors: str) -> response.HTTPResponse:
        sessions.end(request.cookies.get(COOKIE))  # a new session id at every sign-in
        sessions.purge_expired()  # housekeeping here, so no other process has to
        accounts.clear_failures(account["username"])
        accounts.purge_failures()
        token, session = sessions.create(account["username"])
        svc.audit.append("login", actor=actor(session), outcome=factors, details={"client": client})
        safe_next = next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path
        resp = response.redirect(next_path if safe_next else home(session))
        set_cookie(request, resp, COOKIE, token, max_age=int(sessions.max_age.total_seconds()))
        for cookie in (LOGIN_COOKIE, SECOND_FACTOR_COOKIE):
            set_cookie(request, resp, cookie, "", max_age=0)
        return resp

    def pending_sign_in(request: Request) -> Optional[Dict[str, Any]]:
        """The password step's sealed state when it is still valid: in time, and the account still
        active with the same password."""
        try:
            pending = json.loads(svc.keys.open(request.cookies.get(SECOND_FACTOR_COOKIE, ""), aad=SECOND_FACTOR_AAD))
        except (DecryptionError, ValueError):
            return None
        account = accounts.get(pending["username"])
        if (pending["until"] < time.time() or not account or not account["active"]
                or account["password_changed_at"].isoformat() != pending["password_changed_at"]):
            return None
        return pending

    def code_page(request: Request, pending: Dict[str, Any], status: int = 200,
                  message: Optional[str] = None) -> response.HTTPResponse:
        return page(request, "login_code.html", status=status, login_csrf=pending["csrf"], message=message)

    @app.get("/login/code")
    async def login_code_form(request: Request):
        pending = pending_sign_in(request)
        if pending is None:
            return response.redirect("/login")
        return code_page(request, pending)

    @app.post("/login/code")
    async def login_code(request: Request):
        form = request.form or {}
        pending = pending_sign_in(request)
        if pending is None:
            return login_page(request, 401, "The sign-in took too long. Please enter your password again.")
        if not hmac.compare_digest((form.get("csrf") or "").encode(), pending["csrf"].encode()):
            return code_page(request, pending, 403, "The form expired. Please try again.")
        client = request.ip or "unknown"
        try:
            factor = await blocking(second_factor.verify, pending["username"], form.get("code", ""), client)
        except SignInThrottled as exc:
            resp = code_page(request, pending, 429, str(exc))
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp
        if factor is None:
            return code_page(request, pending, 401, "That code is not right, or was already used. "
                                                    "Enter the current code from your authenticator app.")
        return start_session(request, accounts.get(pending["username"]), client, pending["next"],
                             f"password+{factor}")

    # -- second factor: enrolment ------------------------------------------------

    def enrol_page(request: Request, session: Session, status: int = 200,
                   message: Optional[str] = None) -> response.HTTPResponse:
        secret = second_factor.pending_secret(session.username)
        if secret is None:
            return response.redirect(home(session))
        uri, qr_svg = second_factor.provisioning(session.username, secret)
        return page(request, "totp_enrol.html", status=status, message=message, secret=secret, uri=uri,
                    qr_svg=qr_svg, required=second_factor.required(session.role))

    @app.get("/totp/enrol")
    @requires(*ROLES, enrolling=True)
    async def totp_enrol_form(request: Request, session: Session):
        return enrol_page(request, session)

    @app.post("/totp/enrol")
    @requires(*ROLES, enrolling=True)
    async def totp_enrol(request: Request, session: Session):
        codes = await blocking(second_factor.confirm, session.username, request.form.get("code", ""),
                               request.ip or "unknown", actor(session))
        if codes is None:
            return enrol_page(request, session, 400, "That code is not right. Check the time on your phone "
                                                     "and enter the code the app shows now.")
        return page(request, "totp_recovery.html", codes=codes, home=home(session))

    @app.post("/logout")
    async def logout(request: Request):
        session = request.ctx.session
        if not isinstance(session, Session):  # already signed out, e.g. timed out on the server first
            return response.redirect("/login?expired=1" if isinstance(session, Expired) else "/login")
        if not csrf_ok(request, session.csrf):
            return error(request, 403, "This form expired or did not come from this console. Reload the page.")
        sessions.end(request.cookies.get(COOKIE))
        idle = request.form.get("reason") == "idle"  # the page's own idle timer signed out
        if idle:
            svc.audit.append("session_expired", actor=actor(session), outcome=f"idle>{settings.idle_minutes:g}min")
        else:
            svc.audit.append("logout", actor=actor(session))
        resp = response.redirect("/login?expired=1" if idle else "/login?signed_out=1")
        set_cookie(request, resp, COOKIE, "", max_age=0)
        return resp

    @app.post("/api/touch")
    @requires(*ROLES, enrolling=True)
    async def touch(request: Request, session: Session):
        # The page calls this while someone is typing or clicking, so that only real idleness signs out.
        return response.empty()

    # -- cases -------------------------------------------------------------------

    def case_rows() -> list:
        now = utcnow()
        return [{**row, "overdue": row["sla_due_at"] < now} for row in svc.cases.list_open()]

    @app.get("/inbox")
    @requires(*CASE_WORKERS)
    async def inbox(request: Request, session: Session):
        rows = case_rows()
        template = "_case_rows.html" if request.headers.get(POLL_HEADER) == "1" else "inbox.html"
        return page(request, template, rows=rows, now=utcnow())

    @app.get("/api/cases")
    @requires(*CASE_WORKERS)
    async def api_cases(request: Request, session: Session):
        return response.json([{key: (value.isoformat() if isinstance(value, dt.datetime) else value)
                               for key, value in row.items()} for row in case_rows()])

    def case_page(request: Request, session: Session, case_id: str, status: int = 200,
                  message: Optional[str] = None, draft: str = "") -> response.HTTPResponse:
        try:
            case = svc.cases.show(case_id, session.username)  # audited as "viewed"
        except CaseError as exc:
            return error(request, 404, str(exc))
        return page(request, "case.html", status=status, case=case, message=message, draft=draft,
                    can_reply=case["channel"] in REPLY_CHANNELS and case["status"] != "resolved",
                    outcomes=OUTCOMES, intent_names=intents.ALL, routine=intents.ROUTINE, now=utcnow())

    @app.get("/cases/<case_id>")
    @requires(*CASE_WORKERS)
    async def show_case(request: Request, session: Session, case_id: str):
        return case_page(request, session, case_id)

    async def case_action(request: Request, session: Session, case_id: str, action, done: str,
                          draft: str = "") -> response.HTTPResponse:
        try:
            result = await blocking(action)
        except CaseError as exc:
            return case_page(request, session, case_id, 400, str(exc), draft)
        if done == "resolved":
            return response.redirect("/inbox?done=" + ("resolved" if result else "resolved_pending"))
        return response.redirect(f"/cases/{quote(case_id)}?done={done}")

    @app.post("/cases/<case_id>/claim")
    @requires(*CASE_WORKERS)
    async def claim(request: Request, session: Session, case_id: str):
        return await case_action(request, session, case_id,
                                 lambda: svc.cases.claim(case_id, session.username), "claimed")

    @app.post("/cases/<case_id>/reply")
    @requires(*CASE_WORKERS)
    async def reply(request: Request, session: Session, case_id: str):
        from triage.channels.outbound import send_staff_reply

        text = request.form.get("text", "")
        return await case_action(request, session, case_id,
                                 lambda: send_staff_reply(svc, case_id, session.username, text), "replied", text)

    @app.post("/cases/<case_id>/resolve")
    @requires(*CASE_WORKERS)
    async def resolve(request: Request, session: Session, case_id: str):
        form = request.form
        correct = form.get("correct_intent") or None
        was_routine = form.get("was_routine") == "1"
        return await case_action(request, session, case_id, lambda: handback.resolve(
            svc, case_id, session.username, form.get("outcome", ""), correct, was_routine), "resolved")

    # -- audit -------------------------------------------------------------------

    @app.get("/audit")
    @requires(*AUDIT_READERS)
    async def audit(request: Request, session: Session):
        filters = {key: request.args.get(key, "").strip() for key in ("event", "actor", "case_id", "since", "until")}
        before = request.args.get("before", "")
        entries = svc.audit.search(**{k: v or None for k, v in filters.items()},
                                   before_seq=int(before) if before.isdigit() else None, limit=200)
        verify = await blocking(svc.audit.verify)
        more = {**filters, "before": entries[-1]["seq"]} if len(entries) == 200 else None
        return page(request, "audit.html", entries=entries, verify=verify, filters=filters, events=EVENTS,
                    more=urlencode(more) if more else None)

    @app.post("/audit/export")
    @requires(ADMIN)
    async def audit_export(request: Request, session: Session):
        import json

        since, until = request.form.get("since") or None, request.form.get("until") or None
        rows = await blocking(svc.audit.export, since, until, actor=actor(session))  # audited as "exported"
        body = "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        return response.text(body, content_type="application/x-ndjson; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="audit-export-{stamp}.jsonl"'})

    # -- admin: review queue and accounts ----------------------------------------

    def review_page(request: Request, status: int = 200, message: Optional[str] = None) -> response.HTTPResponse:
        return page(request, "review.html", status=status, message=message,
                    items=svc.review.list(status="open", limit=200), intent_names=intents.ALL,
                    languages=SUPPORTED)

    @app.get("/review")
    @requires(ADMIN)
    async def review(request: Request, session: Session):
        return review_page(request)

    @app.post("/review/<item_id>/label")
    @requires(ADMIN)
    async def label(request: Request, session: Session, item_id: str):
        form = request.form
        try:
            await blocking(svc.review.label, [Label(item_id, form.get("intent", ""), form.get("language") or None)],
                           actor(session))
        except ReviewError as exc:
            return review_page(request, 400, str(exc))
        return response.redirect("/review?done=labelled")

    @app.post("/review/<item_id>/dismiss")
    @requires(ADMIN)
    async def dismiss(request: Request, session: Session, item_id: str):
        try:
            svc.review.dismiss(item_id, actor(session))
        except ReviewError as exc:
            return review_page(request, 400, str(exc))
        return response.redirect("/review?done=dismissed")

    def accounts_page(request: Request, status: int = 200, message: Optional[str] = None,
                      draft: Optional[Dict[str, Any]] = None) -> response.HTTPResponse:
        return page(request, "accounts.html", status=status, message=message, accounts=accounts.list(),
                    roles=ROLES, draft=draft or {}, enrolled=second_factor.enrolled_names(),
                    totp_required=second_factor.required)

    @app.get("/accounts")
    @requires(ADMIN)
    async def accounts_list(request: Request, session: Session):
        return accounts_page(request)

    async def account_action(request: Request, action, draft: Optional[Dict[str, Any]] = None,
                             done: str = "account_changed") -> response.HTTPResponse:
        try:
            await blocking(action)
        except AccountError as exc:
            return accounts_page(request, 400, str(exc), draft)
        return response.redirect(f"/accounts?done={done}")

    @app.post("/accounts")
    @requires(ADMIN)
    async def account_create(request: Request, session: Session):
        form = request.form
        return await account_action(request, lambda: accounts.create(
            form.get("username", ""), form.get("role", ""), form.get("password", ""), actor(session)),
            {"username": form.get("username", ""), "role": form.get("role", "")}, "account_created")

    @app.post("/accounts/<username>/active")
    @requires(ADMIN)
    async def account_active(request: Request, session: Session, username: str):
        return await account_action(request, lambda: accounts.set_active(
            username, request.form.get("active") == "1", actor(session)))

    @app.post("/accounts/<username>/password")
    @requires(ADMIN)
    async def account_password(request: Request, session: Session, username: str):
        return await account_action(request, lambda: accounts.set_password(
            username, request.form.get("password", ""), actor(session)))

    @app.post("/accounts/<username>/totp/reset")
    @requires(ADMIN)
    async def account_totp_reset(request: Request, session: Session, username: str):
        return await account_action(request, lambda: second_factor.reset(username, actor(session)),
                                    done="totp_reset")

    # Reports, incident notices and the banners on every page (triage/console/inbox_pages.py).
    inbox_pages.register(app, svc, templates, page=page, requires=requires, actor=actor, error=error)
    outbox_page.register(app, svc, page=page, requires=requires)  # messages to patients (triage/outbox.py)
    return app


def serve(settings: Optional[ConsoleSettings] = None) -> None:
    settings = settings or ConsoleSettings.from_env()
    app = create_app(services.default(), settings)
    # No access log: the URLs name cases, and nothing in them is needed in a log.
    app.run(host=settings.host, port=settings.port, access_log=False, workers=1, motd=False)
