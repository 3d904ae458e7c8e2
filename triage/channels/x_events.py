"""Parsing of X (Twitter) Account Activity API webhook payloads.

X is moving this API towards the newer "X Activity API"; when the payload
changes, only this module should have to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from triage.text import clean


class PayloadError(ValueError):
    pass


@dataclass
class XEvent:
    kind: str  # dm | mention | ignored
    event_id: str = ""
    sender_id: str = ""
    text: str = ""
    attachments: List[Dict[str, str]] = field(default_factory=list)


def parse(payload: Dict[str, Any], own_user_id: Optional[str]) -> List[XEvent]:
    for_user = str(payload.get("for_user_id") or own_user_id or "")
    if not for_user:
        raise PayloadError("missing for_user_id")
    known = ("direct_message_events", "tweet_create_events", "direct_message_indicate_typing_events",
             "direct_message_mark_read_events", "favorite_events", "follow_events", "unfollow_events",
             "block_events", "unblock_events", "mute_events", "unmute_events", "user_event", "tweet_delete_events")
    if not any(key in payload for key in known):
        raise PayloadError("no known event type")
    events: List[XEvent] = []
    for raw in payload.get("direct_message_events") or []:
        events.append(_direct_message(raw, for_user))
    for raw in payload.get("tweet_create_events") or []:
        events.append(_tweet(raw, for_user))
    for event in events:  # at the edge: a mention is escalated with this text too
        event.text = clean(event.text)
    return events


def _direct_message(raw: Any, for_user: str) -> XEvent:
    try:
        if raw.get("type") != "message_create":
            return XEvent("ignored")
        create = raw["message_create"]
        sender = str(create["sender_id"])
        if sender == for_user:  # our own DMs come back as events too
            return XEvent("ignored")
        data = create.get("message_data") or {}
        quick = (data.get("quick_reply_response") or {}).get("metadata")
        text = quick if isinstance(quick, str) and quick else data.get("text") or ""
        attachments = []
        if isinstance(data.get("attachment"), dict):
            attachments.append({"type": str(data["attachment"].get("type", "media"))})
            # X appends the media's t.co link to the text; it is not the patient's words
            for url in (data.get("entities") or {}).get("urls") or []:
                text = text.replace(str(url.get("url", "")), "").strip() if url.get("url") else text
        if not isinstance(text, str):
            return XEvent("ignored")
        return XEvent("dm", str(raw["id"]), sender, text, attachments)
    except (KeyError, TypeError, AttributeError):
        return XEvent("ignored")


def _tweet(raw: Any, for_user: str) -> XEvent:
    try:
        author = str(raw["user"]["id_str"])
        if author == for_user or raw.get("retweeted_status"):
            return XEvent("ignored")
        mentions = {str(m.get("id_str")) for m in (raw.get("entities") or {}).get("user_mentions") or []}
        if for_user not in mentions and str(raw.get("in_reply_to_user_id_str")) != for_user:
            return XEvent("ignored")
        text = raw.get("extended_tweet", {}).get("full_text") or raw.get("text") or ""
        return XEvent("mention", str(raw["id_str"]), author, str(text))
    except (KeyError, TypeError, AttributeError):
        return XEvent("ignored")
