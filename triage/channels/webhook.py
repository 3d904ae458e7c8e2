"""What the Messenger and X webhooks share: reading a signed body safely,
deduplicating redelivered events, and processing after a fast 200."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from triage import db, outbox
from triage.db import seen_events

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Meta and X send small JSON; anything larger is not theirs
# Meta's and X's payloads nest about 8 deep. Deeper bodies are refused before anything walks
# them: json.loads itself, repr() or a recursive walk would raise RecursionError (HTTP 500).
MAX_DEPTH = 32


def setting(credentials: Optional[Dict[str, Any]], key: str, env: str, default: str = "") -> str:
    """A channel setting: credentials.yml first, then the contract's environment variable."""
    value = (credentials or {}).get(key)
    return str(value) if value else os.environ.get(env, default)


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def reject(exc: Rejected) -> HTTPResponse:
    return response.json({"error": exc.reason}, status=exc.status)


def signed_json(request: Request, verify: Callable[[bytes, Optional[str]], bool], header: str) -> Dict[str, Any]:
    """The request's JSON object, after the signature check. Order matters: size and
    signature are checked before the body is parsed, so a forged body costs nothing."""
    body = request.body or b""
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    if not verify(body, request.headers.get(header)):
        raise Rejected(403, "signature missing or invalid")
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise Rejected(415, "content type must be application/json")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Rejected(400, "body is not UTF-8 JSON") from None
    except RecursionError:
        raise Rejected(400, "body nested too deeply") from None
    if too_deep(payload):
        raise Rejected(400, "body nested too deeply")
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object")
    return payload


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when JSON containers nest deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


# Payload walking is total: a field of the wrong type reads as absent, never as an error.
def as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_id(value: Any) -> str:
    """A platform id: a string or a number, else empty (never the repr of a structure)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value)


# What X sends as crc_token and Meta as hub.challenge: a short random token. Nothing else
# is signed or echoed. Signing any string would make the CRC endpoint an oracle for the
# POST signature (sha256=HMAC(secret, body)): a forged JSON body sent as crc_token would
# come back with its valid signature. A JSON body needs "{" and '"', which this excludes.
_WEBHOOK_TOKEN = re.compile(r"[A-Za-z0-9_\-=+/]{1,256}")


def webhook_token(value: Optional[str]) -> Optional[str]:
    """``value`` if it has the form of a platform's handshake token, else None."""
    return value if value and _WEBHOOK_TOKEN.fullmatch(value) else None


def hmac_matches(secret: str, body: bytes, given: Optional[str], encode: Callable[[bytes], str]) -> bool:
    if not secret or not given or not given.startswith("sha256="):
        return False
    expected = "sha256=" + encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.encode("utf-8"), given.strip().encode("utf-8"))


def first_time(channel: str, event_id: Optional[str]) -> bool:
    """True the first time an event id is seen (across restarts and replicas)."""
    if not event_id:
        return True
    key = hashlib.sha256(f"{channel}\x1f{event_id}".encode("utf-8")).hexdigest()
    from triage.db import utcnow

    try:
        with db.engine().begin() as connection:
            connection.execute(insert(seen_events).values(key=key, seen_at=utcnow()))
        return True
    except IntegrityError:
        return False


def forget_old_events(days: int = 14) -> int:
    import datetime as dt

    from triage.db import utcnow

    with db.engine().begin() as connection:
        return connection.execute(delete(seen_events).where(
            seen_events.c.seen_at < utcnow() - dt.timedelta(days=days))).rowcount


def not_configured() -> HTTPResponse:
    return response.json({"error": "channel not configured"}, status=404)


def add_health_route(hook, channel) -> None:
    @hook.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok" if channel.configured else "not configured"})


async def process_events(channel: str, events, handle: Callable[[Any], Awaitable[None]]) -> None:
    """Handles events one by one, in order (a patient's messages must not overtake
    each other), skipping redeliveries; one failing event never loses the others."""
    for event in events:
        try:
            if first_time(channel, event.event_id):
                await handle(event)
        except Exception as exc:  # noqa: BLE001
            logger.error("%s: an event failed (%s)", channel, type(exc).__name__)


def in_background(app, name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Runs ``work`` after the webhook has answered; a crash is logged without text."""

    async def guarded() -> None:
        try:
            await work()
        except Exception as exc:  # noqa: BLE001
            logger.error("%s: processing failed (%s)", name, type(exc).__name__)

    app.add_task(guarded())


def post_with_retry(session, url: str, *, name: str, attempts: int = 5, **kwargs) -> Any:
    """POST that survives HTTP 429 and passing 5xx/network errors without losing the
    message: waits for retry-after / x-rate-limit-reset (capped), else backs off."""
    last_error = "no attempt"
    for attempt in range(1, attempts + 1):
        try:
            result = session.post(url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - requests and OS errors alike
            last_error = type(exc).__name__
            wait = min(30.0, 0.5 * 2 ** attempt)
        else:
            if result.status_code < 300:
                return result
            last_error = f"HTTP {result.status_code}"
            if result.status_code == 429:
                wait = _rate_limit_wait(result.headers)
            elif result.status_code >= 500:
                wait = min(30.0, 0.5 * 2 ** attempt)
            else:
                break  # a 4xx other than 429 will not get better by retrying
        if attempt < attempts:
            time.sleep(wait)
    logger.error("%s: send failed after retries (%s)", name, last_error)
    raise RuntimeError(f"{name}: send failed ({last_error})")


def _rate_limit_wait(headers) -> float:
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return min(900.0, max(0.0, float(retry_after)))
        except ValueError:
            pass
    reset = headers.get("x-rate-limit-reset")
    if reset:
        try:
            return min(900.0, max(0.0, float(reset) - time.time()))
        except ValueError:
            pass
    return 5.0


async def send_async(func: Callable[..., Any], *args, **kwargs) -> Any:
    """Blocking HTTP (requests) off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)


async def queue(channel: str, recipient: str, text: str, decision: Optional[str], **row: Any) -> bool:
    """Puts one outgoing call in the outbox (``row``: kind, case_id, language). False when it
    cannot go there: the database is down, or this process's sender for the channel is not
    running. The caller then makes the call directly, so no reply, a crisis one least of all,
    waits in a queue nobody sends from."""
    what = row.get("kind", outbox.BOT_REPLY)
    if not outbox.sending(channel):
        logger.error("%s: outbox sender not running; %s sent directly", channel, what)
        return False
    try:
        await send_async(outbox.shared().enqueue, channel, recipient, text, decision, **row)
        return True
    except Exception as exc:  # noqa: BLE001
        logger.error("%s: %s not queued (%s); sent directly", channel, what, type(exc).__name__)
        return False


async def best_effort(what: str, func: Callable[..., Any], *args: Any) -> bool:
    """One platform call that must not stop the next (the staff case is already open), as
    the public-comment and mention handlers make them. A failure is logged with its type
    only: the arguments hold the patient's ids and text."""
    try:
        await send_async(func, *args)
        return True
    except Exception as exc:  # noqa: BLE001
        logger.error("%s failed (%s)", what, type(exc).__name__)
        return False
