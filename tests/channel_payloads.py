"""Webhook payloads in the platforms' documented formats, and their signatures."""
import base64
import hashlib
import hmac
import json
import time
import uuid

FB_SECRET = "test-app-secret"
FB_VERIFY = "test-verify-token"
FB_PAGE = "1122334455"
X_SECRET = "test-consumer-secret"
X_USER = "4337869213"


def fb_signature(body: bytes, secret: str = FB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(body: bytes, secret: str = X_SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def fb_text(psid: str, text: str, mid: str = None) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": FB_PAGE}, "timestamp": int(time.time() * 1000),
            "message": {"mid": mid or f"m_{uuid.uuid4().hex}", "text": text}}


def fb_batch(*messaging, standby=None, changes=None) -> dict:
    entry = {"id": FB_PAGE, "time": int(time.time() * 1000)}
    if messaging:
        entry["messaging"] = list(messaging)
    if standby:
        entry["standby"] = standby
    if changes:
        entry["changes"] = changes
    return {"object": "page", "entry": [entry]}


def fb_handover(psid: str, kind: str, new_owner: str = None, previous_owner: str = None) -> dict:
    """A `messaging_handovers` event: pass_thread_control, take_thread_control or request_thread_control."""
    body = {"metadata": "free text from the other app"}
    if new_owner:
        body["new_owner_app_id"] = new_owner
    if previous_owner:
        body["requested_owner_app_id" if kind == "request_thread_control" else "previous_owner_app_id"] = previous_owner
    return {"sender": {"id": psid}, "recipient": {"id": FB_PAGE}, "timestamp": int(time.time() * 1000), kind: body}


IG_ACCOUNT = "17841400000000001"


def ig_text(igsid: str, text: str, echo: bool = False) -> dict:
    """An Instagram Direct message (sender.id is an Instagram-scoped id); echo: one of ours."""
    sender, recipient = (IG_ACCOUNT, igsid) if echo else (igsid, IG_ACCOUNT)
    message = {"mid": f"aWdf{uuid.uuid4().hex}", "text": text}
    if echo:
        message["is_echo"] = True
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": int(time.time() * 1000),
            "message": message}


def ig_batch(*messaging) -> dict:
    return {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": int(time.time() * 1000),
                                              "messaging": list(messaging)}]}


def fb_attachment(psid: str) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": FB_PAGE}, "timestamp": int(time.time() * 1000),
            "message": {"mid": f"m_{uuid.uuid4().hex}", "attachments": [
                {"type": "image", "payload": {"url": "https://scontent.example/photo.jpg"}}]}}


def fb_comment(author: str, text: str) -> dict:
    comment = f"{FB_PAGE}_{uuid.uuid4().int % 10**12}"
    return {"field": "feed", "value": {"from": {"id": author, "name": "A Person"}, "item": "comment",
                                       "comment_id": comment, "post_id": f"{FB_PAGE}_999", "parent_id": f"{FB_PAGE}_999",
                                       "verb": "add", "created_time": int(time.time()), "message": text}}


def x_dm(sender: str, text: str, event_id: str = None) -> dict:
    return {"for_user_id": X_USER, "direct_message_events": [{
        "type": "message_create", "id": event_id or str(uuid.uuid4().int % 10**18),
        "created_timestamp": str(int(time.time() * 1000)),
        "message_create": {"target": {"recipient_id": X_USER}, "sender_id": sender,
                           "message_data": {"text": text, "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}}}}],
        "users": {sender: {"id": sender, "name": "Patient", "screen_name": "patient"}}}


def x_mention(author: str, text: str) -> dict:
    return {"for_user_id": X_USER, "tweet_create_events": [{
        "id_str": str(uuid.uuid4().int % 10**18), "text": f"@clinic {text}", "user": {"id_str": author, "screen_name": "someone"},
        "entities": {"user_mentions": [{"id_str": X_USER, "screen_name": "clinic"}]}}]}


def encode(payload) -> bytes:
    return json.dumps(payload).encode()


def x_activity_dm(sender: str, text: str, event_id: str = None, user: str = X_USER, legacy_payload: bool = False) -> dict:
    """An X Activity API delivery of a received DM: a v2 DM event in ``data.payload``, or
    (``legacy_payload``) the Account Activity ``direct_message_events`` shape X also wraps there."""
    event_id = event_id or str(uuid.uuid4().int % 10**18)
    if legacy_payload:
        inner = {k: v for k, v in x_dm(sender, text, event_id).items() if k != "for_user_id"}
    else:
        inner = {"id": event_id, "event_type": "MessageCreate", "sender_id": sender, "text": text,
                 "dm_conversation_id": f"{min(sender, user)}-{max(sender, user)}",
                 "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
    return {"data": {"event_type": "dm.received", "event_uuid": str(uuid.uuid4()), "tag": "clinic-dms",
                     "filter": {"user_id": user}, "payload": inner}}


def x_chat(sender: str, user: str = X_USER) -> dict:
    """An encrypted chat (XChat) message: the content is ciphertext the bot cannot read."""
    return {"data": {"event_type": "chat.received", "event_uuid": str(uuid.uuid4()), "filter": {"user_id": user},
                     "payload": {"id": str(uuid.uuid4().int % 10**18), "sender_id": sender,
                                 "conversation_id": f"XChat:{sender}", "encoded_event": "AAECAwQFBgc="}}}
