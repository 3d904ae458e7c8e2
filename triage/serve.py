"""Our entry points for the Rasa server, `rasa shell` and the action server.

    python -m triage.serve rasa  [rasa run options]     the Rasa server, API token from the environment
    python -m triage.serve shell [rasa shell options]   a terminal chat
    python -m triage.serve actions [--actions actions --port 5055]

Why not `rasa run --auth-token TOKEN` and `rasa run actions`:
- a command line is public: any local user reads it in /proc/<pid>/cmdline. The Rasa API
  token comes from RASA_AUTH_TOKEN or var/rasa-token (handback.rasa_token), and is handed to
  Rasa's own command-line parser inside this process, so every option means what it means
  for `rasa run`.
- the action server runs our actions (cases, escalations) for anyone who can reach it.
  Rasa sends the shared secret of endpoints.yml (`token: ${TRIAGE_ACTION_TOKEN}`) as the
  `token` query parameter on every call; every route but /health answers 401 without it.

Both listen on 127.0.0.1 unless RASA_HOST / ACTIONS_HOST say otherwise (containers set
0.0.0.0: there the network is the container's own).
"""
from __future__ import annotations

import hmac
import os
import sys
from pathlib import Path
from typing import List, Optional

ENV_RASA_HOST = "RASA_HOST"
ENV_ACTIONS_HOST = "ACTIONS_HOST"
ENV_ACTION_TOKEN = "TRIAGE_ACTION_TOKEN"
ACTION_TOKEN_FILE = Path(__file__).resolve().parent.parent / "var" / "action-token"
LOCALHOST = "127.0.0.1"
SECRET_OPTIONS = ("--auth-token", "-t", "--jwt-secret")


class ServeError(RuntimeError):
    """A missing secret or a secret passed on the command line."""


def _refuse_secrets_on_the_command_line(argv: List[str]) -> None:
    for arg in argv:
        if arg.split("=", 1)[0] in SECRET_OPTIONS:
            raise ServeError(f"{arg.split('=', 1)[0]} is not taken on the command line (any local user can read "
                             "it); set RASA_AUTH_TOKEN or write var/rasa-token")


def rasa_argv(command: str, argv: List[str]) -> List[str]:
    """The argument list Rasa's own parser gets: ours plus the interface and, for the
    server, the API token."""
    from triage.handback import rasa_token

    _refuse_secrets_on_the_command_line(argv)
    argv = _resolve_model_pointer(argv)
    args = ["rasa", command, *argv, "--interface", os.environ.get(ENV_RASA_HOST) or LOCALHOST]
    if command == "run":
        token = rasa_token()
        if not token:
            raise ServeError("no Rasa API token: set RASA_AUTH_TOKEN or write var/rasa-token (`make run` does)")
        args += ["--auth-token", token]
    return args


def _resolve_model_pointer(argv: List[str]) -> List[str]:
    """`--model models/.current` names the archive the pointer names when this process starts.
    The supervisor restarts Rasa with the same command line, so a model activated from the
    console since the stack started is the one a restarted server loads, not the first one."""
    from triage.model import pointed_model

    argv = list(argv)
    for index, arg in enumerate(argv[:-1]):
        if arg in ("--model", "-m") and Path(argv[index + 1]).name == ".current":
            model = pointed_model(Path(argv[index + 1]).parent)
            if model is None:
                raise ServeError(f"{argv[index + 1]} names no existing model; run `make train` first")
            argv[index + 1] = str(model)
    return argv


def serve_rasa(command: str, argv: List[str]) -> None:
    args = rasa_argv(command, argv)
    from rasa.__main__ import main

    # sys.argv of this process, not its command line: /proc/<pid>/cmdline keeps what exec saw.
    sys.argv = args
    main()


def action_token() -> Optional[str]:
    token = os.environ.get(ENV_ACTION_TOKEN)
    if token:
        return token
    try:
        return ACTION_TOKEN_FILE.read_text().strip() or None
    except FileNotFoundError:
        return None


def require_token(app, token: str) -> None:
    """Every request but /health must carry the token (Rasa's EndpointConfig sends it as ?token=)."""
    from sanic import response

    expected = token.encode("utf-8")

    @app.middleware("request")
    async def _authenticate(request):
        if request.path == "/health":
            return None
        given = (request.args.get("token") or "").encode("utf-8")
        if not hmac.compare_digest(given, expected):  # constant time: no guessing byte by byte
            return response.json({"error": "unauthorised"}, status=401)
        return None


def serve_actions(argv: List[str]) -> None:
    """rasa_sdk's `run`, with the token check and the bind address added."""
    import logging

    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
    from rasa_sdk.plugin import plugin_manager

    args = create_argument_parser().parse_args(argv)
    token = action_token()
    if not token:
        raise ServeError(f"no action server token: set {ENV_ACTION_TOKEN} or write var/action-token (`make run` does)")
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel,
                                 args.logging_config_file)
    utils.update_sanic_log_level()
    app = create_app(args.actions or "actions", cors_origins=args.cors, auto_reload=args.auto_reload)
    require_token(app, token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get(ENV_ACTIONS_HOST) or LOCALHOST
    logging.getLogger(__name__).info("Action server on %s:%s (token required)", host, args.port)
    # No access log: the request line carries the token.
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers(), access_log=False)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("rasa", "shell", "actions"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "actions":
            serve_actions(argv[1:])
        else:
            serve_rasa("run" if argv[0] == "rasa" else "shell", argv[1:])
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
