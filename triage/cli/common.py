"""Helpers shared by the command modules: the error they raise, time columns, passwords, the keyring."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Iterable, Iterator, Optional, Tuple


class CliError(RuntimeError):
    """A mistake on the command line: main() prints it as `triage: error: ...` and exits 1."""


def messages(lines: Iterable[str]) -> Iterator[Tuple[int, Optional[str], Dict[str, Any], Optional[str]]]:
    """Yields (line number, text, metadata, error). A line that looks like JSON
    but is not a usable object is reported, never silently treated as text."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as exc:
                yield number, None, {}, f"line {number}: invalid JSON ({exc.msg})"
                continue
            text = obj.get("text") if isinstance(obj, dict) else None
            if not isinstance(text, str):
                yield number, None, {}, f'line {number}: JSON object needs a string "text" key'
                continue
            metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            yield number, text, metadata, None
        else:
            yield number, line, {}, None


def fmt_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def time_left(due) -> str:
    from triage.db import utcnow

    minutes = int((due - utcnow()).total_seconds() // 60)
    return f"{minutes} min" if minutes >= 0 else f"OVERDUE {-minutes} min"


def read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12+ characters): ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ; nothing was changed")
    return first


def use_dev_keyring_if_present() -> None:
    """Beside `make run` the staff CLI finds the development keyring it created;
    anywhere else the key must come from the environment."""
    from triage import keys
    from triage.model import PROJECT_ROOT

    dev = PROJECT_ROOT / "var" / "keys" / "dev-master.json"
    if not os.environ.get(keys.ENV_FILE) and not os.environ.get(keys.ENV_KEY) and dev.exists():
        os.environ[keys.ENV_FILE] = str(dev)
        print(f"triage: using the development keyring {dev}", file=sys.stderr)
