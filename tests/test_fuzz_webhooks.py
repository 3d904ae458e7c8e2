"""Seeded fuzzing of the Messenger and X webhooks with validly signed payloads.

Each payload is a mutation of a documented one (tests/channel_payloads.py): a field of
the wrong type, a missing key, deep nesting, a huge string or odd unicode. The parsers
must be total (a malformed field reads as absent, a malformed event is skipped) and the
server must answer every such request below 500, and still answer patients afterwards.
"""
import json
import random
import time
import uuid

import pytest

from tests import channel_payloads as p
from triage.channels import messenger, x_events
from triage.channels.webhook import MAX_DEPTH, Rejected, signed_json, too_deep

SEED = 1515
DEEP = "__deep__"  # replaced in the encoded body by a nesting too deep for json.dumps to write
ODD_TEXTS = ["", " ", "\u202eenod ti evah i", "\ud83d", "e\u0301\u0301\u0301", "\u0000", "\u2060/restart",
             "/greet{\"x\": 1}", "🚑" * 50, "ⅰⅱⅲ", "\ufeff", "x" * 5000]
WRONG_TYPES = [None, 0, -7, 3.5, 1e308, True, False, "", "text", [], {}, [1, "2", None], {"id": {"id": []}}]


def odd_value(rng):
    roll = rng.random()
    if roll < 0.45:
        return json.loads(json.dumps(rng.choice(WRONG_TYPES)))  # a copy: later mutations change it
    if roll < 0.75:
        return rng.choice(ODD_TEXTS)
    if roll < 0.85:
        return "ü" * rng.choice([20_000, 200_000])  # huge strings (UTF-8: twice the bytes)
    if roll < 0.93:
        return DEEP
    nested = value = []
    for _ in range(rng.randint(MAX_DEPTH - 3, MAX_DEPTH + 3)):  # around the depth limit
        value.append([])
        value = value[0]
    return nested


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, prefix + (index,))


def mutate(rng, payload):
    """1 to 4 changes at random places: replaced by an odd value, or a key removed."""
    payload = json.loads(json.dumps(payload))
    for _ in range(rng.randint(1, 4)):
        path = rng.choice(list(paths(payload)))
        if not path:
            continue
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and rng.random() < 0.25:
            del parent[path[-1]]
        else:
            parent[path[-1]] = odd_value(rng)
        if rng.random() < 0.1:
            payload[rng.choice(["object", "entry", "for_user_id", "direct_message_events"])] = odd_value(rng)
    return payload


def encode(rng, payload) -> bytes:
    body = json.dumps(payload, ensure_ascii=rng.random() < 0.5)
    depth = rng.choice([40, 3000, 100_000])
    return body.replace(json.dumps(DEEP), "[" * depth + "]" * depth).encode("utf-8", "surrogatepass")


def fb_payloads(rng, senders):
    makers = [lambda s: p.fb_batch(p.fb_text(s, "are you open on saturday?")),
              lambda s: p.fb_batch(p.fb_text(s, "hi"), p.fb_attachment(s)),
              lambda s: p.fb_batch(standby=[p.fb_text(s, "hello")]),
              lambda s: p.fb_batch(p.fb_handover(s, "pass_thread_control", "263902037430900", "1")),
              lambda s: p.fb_batch(changes=[p.fb_comment(s, "what time do you open")]),
              lambda s: p.ig_batch(p.ig_text(s, "hello"))]
    while True:
        yield encode(rng, mutate(rng, rng.choice(makers)(rng.choice(senders))))


def x_payloads(rng, senders):
    makers = [lambda s: p.x_dm(s, "are you open on saturday?"), lambda s: p.x_mention(s, "what time do you open")]
    while True:
        yield encode(rng, mutate(rng, rng.choice(makers)(rng.choice(senders))))


class FakeRequest:
    def __init__(self, body: bytes, header: str) -> None:
        self.body = body
        self.headers = {"content-type": "application/json", header: "sig"}


def parse_signed(body: bytes, parse):
    """What the webhook does before answering: the body read, then the parser; 4xx or events."""
    try:
        return parse(signed_json(FakeRequest(body, "sig"), lambda _body, _sig: True, "sig"))
    except (Rejected, x_events.PayloadError):
        return None


@pytest.mark.parametrize("payloads,parse", [
    (fb_payloads, messenger.parse),
    (x_payloads, lambda payload: x_events.parse(payload, p.X_USER)),
])
def test_parsers_are_total(payloads, parse):
    rng = random.Random(SEED)
    parsed, bodies = 0, payloads(rng, ["1234", "5678"])
    for _ in range(1500):
        events = parse_signed(next(bodies), parse)
        if events is None:
            continue
        parsed += 1
        for event in events:
            assert isinstance(event.text, str) and isinstance(event.sender_id, str)
            assert event.event_id is None or isinstance(event.event_id, str)
            if event.kind != "ignored":
                assert event.sender_id  # a message without a mid is simply not deduplicated
    assert parsed > 300  # most mutations still parse: the fuzzing reaches the event walkers


def test_deep_nesting_is_400_not_recursion():
    for depth in (MAX_DEPTH + 1, 3000, 500_000):
        body = ('{"object": "page", "entry": ' + "[" * depth + "]" * depth + "}").encode()
        with pytest.raises(Rejected) as refused:
            signed_json(FakeRequest(body, "sig"), lambda _body, _sig: True, "sig")
        assert refused.value.status == 400
    assert not too_deep(p.fb_batch(p.fb_attachment("1"))) and not too_deep(p.x_dm("1", "hi"))


@pytest.mark.parametrize("payload", [
    {"object": ["page"], "entry": []},
    {"object": "page", "entry": [{"id": "1", "messaging": 5}]},
    {"object": "page", "entry": [{"id": "1", "standby": "x", "changes": 7}]},
    {"object": "page", "entry": [{"id": {"a": 1}, "messaging": [{"sender": {"id": [1]}, "message": {"text": "hi"}}]}]},
])
def test_messenger_wrong_types_are_skipped(payload):
    try:
        events = messenger.parse(payload)
    except Rejected as exc:
        assert exc.status == 400
    else:
        assert all(event.kind == "ignored" for event in events) or events == []


@pytest.mark.parametrize("payload", [
    {"for_user_id": p.X_USER, "direct_message_events": 5},
    {"for_user_id": p.X_USER, "tweet_create_events": {"a": 1}, "direct_message_events": [3, None, "x"]},
    {"for_user_id": [1], "direct_message_events": [{"type": "message_create", "id": [1],
                                                     "message_create": {"sender_id": {"x": 1}}}]},
])
def test_x_wrong_types_are_skipped(payload):
    assert all(event.kind == "ignored" for event in x_events.parse(payload, p.X_USER))


# -- against the running server ----------------------------------------------------------------

@pytest.mark.server
def test_signed_fuzz_never_5xx_and_the_server_still_answers(tmp_path, api):
    from tests.servers import Assistant, platform_env

    bot = Assistant(tmp_path, platform_env(api.url)).start()
    try:
        rng = random.Random(SEED)
        statuses = {"facebook": [], "x": []}
        fb, x = fb_payloads(rng, ["fuzz-1", "fuzz-2"]), x_payloads(rng, ["900001", "900002"])
        for _ in range(300):
            statuses["facebook"].append(bot.post_webhook("facebook", next(fb), timeout=60).status_code)
            statuses["x"].append(bot.post_webhook("x", next(x), timeout=60).status_code)
        for channel, codes in statuses.items():
            assert len(codes) == 300 and max(codes) < 500, (channel, sorted(set(codes)))
            assert {200, 400} <= set(codes), (channel, sorted(set(codes)))

        psid, user = f"psid-{uuid.uuid4().hex[:8]}", str(random.randint(10**9, 10**10))
        for channel, payload in (("facebook", p.fb_batch(p.fb_text(psid, "are you open on saturday?"))),
                                 ("x", p.x_dm(user, "are you open on saturday?"))):
            assert bot.post_webhook(channel, payload, timeout=60).status_code == 200
        deadline = time.time() + 180
        while time.time() < deadline:
            fb_sent = [r for r in api.received(lambda r: r["path"].startswith("/v21.0/me/messages"))
                       if (r["body"] or {}).get("recipient", {}).get("id") == psid]
            x_sent = api.received(lambda r: r["path"] == f"/2/dm_conversations/with/{user}/messages")
            if fb_sent and x_sent:
                break
            time.sleep(0.5)
        assert fb_sent and x_sent, "the server stopped answering patients after the fuzzing"
        assert "Traceback" not in bot.output()
    finally:
        bot.stop()
