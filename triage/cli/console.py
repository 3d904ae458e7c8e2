"""`triage console serve|add-user|set-password|users|disable|enable|reset-totp`: the staff web console and its accounts."""
from __future__ import annotations

from typing import IO

from triage.cli.common import fmt_time, read_password


def add_parser(sub) -> None:
    from triage.console.accounts import ROLES

    p_console = sub.add_parser("console", help="the staff web console and its accounts")
    p_console.set_defaults(func=console_command)
    console_sub = p_console.add_subparsers(dest="action", required=True)
    p_serve = console_sub.add_parser("serve", help="serve the console (default http://127.0.0.1:5080)")
    p_serve.add_argument("--host", help="default TRIAGE_CONSOLE_HOST or 127.0.0.1")
    p_serve.add_argument("--port", type=int, help="default TRIAGE_CONSOLE_PORT or 5080")
    p_adduser = console_sub.add_parser("add-user", help="create an account (audited)")
    p_adduser.add_argument("username")
    p_adduser.add_argument("--role", required=True, choices=ROLES)
    p_setpw = console_sub.add_parser("set-password", help="set an account's password; signs it out everywhere")
    p_setpw.add_argument("username")
    for p in (p_adduser, p_setpw):
        p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    console_sub.add_parser("users", help="list accounts")
    for name in ("disable", "enable"):
        console_sub.add_parser(name, help=f"{name} an account").add_argument("username")
    p_reset_totp = console_sub.add_parser("reset-totp", help="remove an account's second factor (audited); "
                                                             "it enrols again at its next sign-in")
    p_reset_totp.add_argument("username")
    p_reset_totp.add_argument("--admin", required=True, help="the admin account doing this")


def console_command(args, out: IO[str]) -> int:
    if args.action == "serve":
        import dataclasses

        from triage.console.app import ConsoleSettings, serve

        settings = ConsoleSettings.from_env()
        serve(dataclasses.replace(settings, host=args.host or settings.host, port=args.port or settings.port))
        return 0
    import getpass

    from triage import services
    from triage.console.accounts import Accounts

    accounts = Accounts(services.default().audit)
    actor = f"cli:{getpass.getuser()}"
    if args.action == "users":
        for account in accounts.list():
            out.write(f"{account['username']:<24}{account['role']:<9}{'active' if account['active'] else 'disabled':<10}"
                      f"created {fmt_time(account['created_at'])} by {account['created_by']}\n")
        return 0
    if args.action in ("disable", "enable"):
        accounts.set_active(args.username, args.action == "enable", actor)
        out.write(f"account {args.username} {args.action}d\n")
        return 0
    if args.action == "reset-totp":
        from triage.console.accounts import ADMIN, AccountError
        from triage.console.totp import SecondFactor

        admin = accounts.get(args.admin)
        if not (admin and admin["active"] and admin["role"] == ADMIN):
            raise AccountError(f"--admin {args.admin!r} is not an active admin account")
        SecondFactor(accounts).reset(args.username, f"admin:{admin['username']}")
        out.write(f"second factor of {args.username} reset; it enrols again at its next sign-in\n")
        return 0
    password = read_password(args.password_stdin)
    if args.action == "add-user":
        accounts.create(args.username, args.role, password, actor)
        out.write(f"account {args.username.strip().lower()} ({args.role}) created\n")
    else:
        accounts.set_password(args.username, password, actor)
        out.write(f"password of {args.username} set; its sessions are signed out\n")
    return 0
