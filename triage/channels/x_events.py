"""Parsing of X (Twitter) Account Activity API webhook payloads.

X is moving this API towards the newer "X Activity API"; when the payload
changes, only this module should have to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from triage.channels.webhook import as_dict, as_id, as_list
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
    """Total over any JSON object: fields of the wrong type read as absent, a malformed
    event is ``ignored``; only a payload that is not X's at all is a PayloadError."""
    for_user = as_id(payload.get("for_user_id")) or own_user_id or ""
    if not for_user:
        raise PayloadError("missing for_user_id")
    known = ("direct_message_events", "tweet_create_events", "direct_message_indicate_typing_events",
             "direct_message_mark_read_events", "favorite_events", "follow_events", "unfollow_events",
             "block_events", "unblock_events", "mute_events", "unmute_events", "user_event", "tweet_delete_events")
    if not any(key in payload for key in known):
        raise PayloadError("no known event type")
    events: List[XEvent] = []
    for raw in as_list(payload.get("direct_message_events")):
        events.append(_direct_message(raw, for_user))
    for raw in as_list(payload.get("tweet_create_events")):
        events.append(_tweet(raw, for_user))
    for event in events:  # at the edge: a mention is escalated with this text too
        event.text = clean(event.text)
    return events


def _direct_message(raw: Any, for_user: str) -> XEvent:
    try:
        if raw.get("type") != "message_create":
            return XEvent("ignored")
        create = as_dict(raw["message_create"])
        sender, event_id = as_id(create.get("sender_id")), as_id(raw.get("id"))
        if not sender or not event_id or sender == for_user:  # our own DMs come back as events too
            return XEvent("ignored")
        data = as_dict(create.get("message_data"))
        quick = as_dict(data.get("quick_reply_response")).get("metadata")
        text = quick if isinstance(quick, str) and quick else data.get("text") or ""
        if not isinstance(text, str):
            return XEvent("ignored")
        attachments = []
        if isinstance(data.get("attachment"), dict):
            attachments.append({"type": as_id(data["attachment"].get("type")) or "media"})
            # X appends the media's t.co link to the text; it is not the patient's words
            for url in as_list(as_dict(data.get("entities")).get("urls")):
                link = as_dict(url).get("url")
                text = text.replace(link, "").strip() if isinstance(link, str) and link else text
        return XEvent("dm", event_id, sender, text, attachments)
    except (KeyError, TypeError, AttributeError):
        return XEvent("ignored")


def _tweet(raw: Any, for_user: str) -> XEvent:
    try:
        author, tweet_id = as_id(as_dict(raw["user"]).get("id_str")), as_id(raw.get("id_str"))
        if not author or not tweet_id or author == for_user or raw.get("retweeted_status"):
            return XEvent("ignored")
        mentions = {as_id(as_dict(m).get("id_str")) for m in as_list(as_dict(raw.get("entities")).get("user_mentions"))}
        if for_user not in mentions and as_id(raw.get("in_reply_to_user_id_str")) != for_user:
            return XEvent("ignored")
        text = next((t for t in (as_dict(raw.get("extended_tweet")).get("full_text"), raw.get("text"))
                     if isinstance(t, str) and t), "")
        return XEvent("mention", tweet_id, author, text)
    except (KeyError, TypeError, AttributeError):
        return XEvent("ignored")
