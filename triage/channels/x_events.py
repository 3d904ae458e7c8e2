"""Parsing of X (Twitter) webhook payloads, in both formats X delivers DMs in:

- the Account Activity API: ``for_user_id`` and ``direct_message_events`` /
  ``tweet_create_events`` at the top level;
- the X Activity API (XAA): one event per delivery, ``{"data": {"event_type":
  "dm.received", "event_uuid", "filter": {"user_id"}, "payload": {...}}}``, whose
  payload is either the Account Activity DM shape (``direct_message_events``) or a v2
  DM event (``id``, ``event_type: MessageCreate``, ``sender_id``, ``text``).

A payload for another account than ours (``for_user_id`` or ``filter.user_id`` other
than X_USER_ID, e.g. a webhook shared by several apps) is ignored. Encrypted chats
(XChat, ``chat.*`` events) cannot be read by the bot: they come back as ``encrypted``
so that the channel can tell the patient to use an ordinary DM (x_dm.py).
When X changes a payload, only this module should have to.
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
    kind: str  # dm | mention | encrypted | ignored
    event_id: str = ""
    sender_id: str = ""
    text: str = ""
    attachments: List[Dict[str, str]] = field(default_factory=list)


def parse(payload: Dict[str, Any], own_user_id: Optional[str]) -> List[XEvent]:
    """Total over any JSON object: fields of the wrong type read as absent, a malformed
    event is ``ignored``; only a payload that is not X's at all is a PayloadError."""
    activity = as_dict(payload.get("data"))
    if isinstance(activity.get("event_type"), str):
        return _cleaned(_activity(activity, own_user_id))
    for_user = as_id(payload.get("for_user_id")) or own_user_id or ""
    if not for_user:
        raise PayloadError("missing for_user_id")
    if own_user_id and for_user != own_user_id:
        return []  # another account's events: not ours to answer
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
    return _cleaned(events)


def _cleaned(events: List[XEvent]) -> List[XEvent]:
    for event in events:  # at the edge: a mention is escalated with this text too
        event.text = clean(event.text)
    return events


def _activity(data: Dict[str, Any], own_user_id: Optional[str]) -> List[XEvent]:
    """One X Activity API delivery."""
    for_user = as_id(as_dict(data.get("filter")).get("user_id")) or own_user_id or ""
    if not for_user:
        raise PayloadError("missing filter.user_id")
    if own_user_id and for_user != own_user_id:
        return []
    kind, inner = data["event_type"], as_dict(data.get("payload"))
    if kind.startswith("chat."):
        return [_encrypted(inner, as_id(data.get("event_uuid")), for_user)] if kind == "chat.received" else []
    if kind != "dm.received":
        return [XEvent("ignored")]  # dm.sent, dm.read, profile and follow events ...
    if "direct_message_events" in inner:
        return [_direct_message(raw, for_user) for raw in as_list(inner.get("direct_message_events"))]
    return [_v2_message(inner, for_user)]


def _v2_message(raw: Dict[str, Any], for_user: str) -> XEvent:
    """A v2 DM event (GET /2/dm_events shape)."""
    if raw.get("event_type", "MessageCreate") != "MessageCreate":
        return XEvent("ignored")
    sender, event_id, text = as_id(raw.get("sender_id")), as_id(raw.get("id")), raw.get("text")
    if not sender or not event_id or sender == for_user or not isinstance(text, str):
        return XEvent("ignored")
    media = as_list(as_dict(raw.get("attachments")).get("media_keys"))
    return XEvent("dm", event_id, sender, text, [{"type": "media"} for _ in media])


def _encrypted(raw: Dict[str, Any], delivery_id: str, for_user: str) -> XEvent:
    """An encrypted chat message: who wrote, never what (the bot holds no chat keys)."""
    sender = as_id(raw.get("sender_id")) or as_id(as_dict(raw.get("sender")).get("id"))
    event_id = as_id(raw.get("id")) or as_id(raw.get("message_id")) or delivery_id
    if not sender or not event_id or sender == for_user:
        return XEvent("ignored")
    return XEvent("encrypted", f"chat:{event_id}", sender)


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
