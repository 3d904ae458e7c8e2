"""Console accounts (admins): create, deactivate, set a password, reset the second factor. The
store and its rules are triage/console/accounts.py, shared with `triage console` in the CLI."""
from __future__ import annotations

from typing import Any, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request

from triage.console.accounts import ADMIN, ROLES, AccountError
from triage.console.sessions import Session
from triage.console.web import actor, console_of, form_action, requires

bp = Blueprint("accounts")


def accounts_page(request: Request, status: int = 200, message: Optional[str] = None,
                  draft: Optional[Dict[str, Any]] = None) -> response.HTTPResponse:
    console = console_of(request)
    return console.page(request, "accounts.html", status=status, message=message, accounts=console.accounts.list(),
                        roles=ROLES, draft=draft or {}, enrolled=console.second_factor.enrolled_names(),
                        totp_required=console.second_factor.required)


def account_action(request: Request, action, draft: Optional[Dict[str, Any]] = None, done: str = "account_changed"):
    return form_action(action, AccountError, lambda message: accounts_page(request, 400, message, draft),
                       f"/accounts?done={done}")


@bp.get("/accounts")
@requires(ADMIN)
async def accounts_list(request: Request, session: Session):
    return accounts_page(request)


@bp.post("/accounts")
@requires(ADMIN)
async def account_create(request: Request, session: Session):
    accounts, form = console_of(request).accounts, request.form
    return await account_action(request, lambda: accounts.create(
        form.get("username", ""), form.get("role", ""), form.get("password", ""), actor(session)),
        {"username": form.get("username", ""), "role": form.get("role", "")}, "account_created")


@bp.post("/accounts/<username>/active")
@requires(ADMIN)
async def account_active(request: Request, session: Session, username: str):
    accounts = console_of(request).accounts
    return await account_action(request, lambda: accounts.set_active(
        username, request.form.get("active") == "1", actor(session)))


@bp.post("/accounts/<username>/password")
@requires(ADMIN)
async def account_password(request: Request, session: Session, username: str):
    accounts = console_of(request).accounts
    return await account_action(request, lambda: accounts.set_password(
        username, request.form.get("password", ""), actor(session)))


@bp.post("/accounts/<username>/totp/reset")
@requires(ADMIN)
async def account_totp_reset(request: Request, session: Session, username: str):
    second_factor = console_of(request).second_factor
    return await account_action(request, lambda: second_factor.reset(username, actor(session)), done="totp_reset")
