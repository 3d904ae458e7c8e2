"""Messenger and X against the running server, with a fake Graph/X API on 127.0.0.1."""
import random
import time
import uuid

import pytest
import requests

from tests import channel_payloads as p, servers
from tests.fakes import Recorder
from tests.servers import Assistant

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def api():
    fake = Recorder().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def bot(tmp_path_factory, api):
    env = {"FACEBOOK_VERIFY_TOKEN": p.FB_VERIFY, "FACEBOOK_APP_SECRET": p.FB_SECRET,
           "FACEBOOK_PAGE_ACCESS_TOKEN": "page-token", "FACEBOOK_GRAPH_URL": f"{api.url}/v21.0",
           "FACEBOOK_INBOX_APP_ID": "263902037430900",
           "X_CONSUMER_KEY": "ck", "X_CONSUMER_SECRET": p.X_SECRET, "X_ACCESS_TOKEN": "at",
           "X_ACCESS_TOKEN_SECRET": "ats", "X_USER_ID": p.X_USER, "X_API_URL": api.url}
    assistant = Assistant(tmp_path_factory.mktemp("channels"), env).start()
    yield assistant
    assistant.stop()


def post_fb(bot, payload, signature=None, content_type="application/json"):
    body = payload if isinstance(payload, bytes) else p.encode(payload)
    headers = {"Content-Type": content_type, "X-Hub-Signature-256": signature or p.fb_signature(body)}
    return requests.post(f"{bot.url}/webhooks/facebook/webhook", data=body, headers=headers, timeout=30)


def post_x(bot, payload, signature=None):
    body = payload if isinstance(payload, bytes) else p.encode(payload)
    headers = {"Content-Type": "application/json", "x-twitter-webhooks-signature": signature or p.x_signature(body)}
    return requests.post(f"{bot.url}/webhooks/x/webhook", data=body, headers=headers, timeout=30)


def fb_sends(api, psid):
    return [r for r in api.received(lambda r: r["path"].startswith("/v21.0/me/messages"))
            if (r["body"] or {}).get("recipient", {}).get("id") == psid]


def x_sends(api, user):
    return api.received(lambda r: r["path"] == f"/2/dm_conversations/with/{user}/messages")


def wait(fn, count=1, timeout=40):
    return servers.wait(fn, count, timeout)


def test_messenger_verification(bot):
    url = f"{bot.url}/webhooks/facebook/webhook"
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": p.FB_VERIFY, "hub.challenge": "12345"})
    assert ok.status_code == 200 and ok.text == "12345"
    bad = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "12345"})
    assert bad.status_code == 403


def test_x_crc(bot):
    import base64, hashlib, hmac
    response = requests.get(f"{bot.url}/webhooks/x/webhook", params={"crc_token": "abc123"})
    expected = "sha256=" + base64.b64encode(hmac.new(p.X_SECRET.encode(), b"abc123", hashlib.sha256).digest()).decode()
    assert response.status_code == 200 and response.json() == {"response_token": expected}


def test_routine_dm_on_each_channel(bot, api):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    assert post_fb(bot, p.fb_batch(p.fb_text(psid, "what are your opening hours?"))).status_code == 200
    sent = wait(lambda: fb_sends(api, psid))
    assert "Opening hours" in sent[0]["body"]["message"]["text"]
    assert sent[0]["body"]["messaging_type"] == "RESPONSE"
    assert sent[0]["path"].endswith("access_token=page-token")

    user = str(random.randint(10**9, 10**10))
    assert post_x(bot, p.x_dm(user, "where can i park?")).status_code == 200
    sent = wait(lambda: x_sends(api, user))
    assert "Uferstraße" in sent[0]["body"]["text"]
    assert sent[0]["headers"]["Authorization"].startswith("OAuth ")


def test_sensitive_dm_gets_private_reply_and_handover(bot, api):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    post_fb(bot, p.fb_batch(p.fb_text(psid, "I need a refill of my metformin")))
    sent = wait(lambda: fb_sends(api, psid))
    assert "privately" in sent[0]["body"]["message"]["text"]
    assert "metformin" not in sent[0]["body"]["message"]["text"]
    handover = wait(lambda: api.received(lambda r: r["path"].startswith("/v21.0/me/pass_thread_control")
                                         and r["body"]["recipient"]["id"] == psid))
    assert handover[0]["body"]["target_app_id"] == "263902037430900"

    user = str(random.randint(10**9, 10**10))
    post_x(bot, p.x_dm(user, "ich glaube ich bin schwanger"))
    sent = wait(lambda: x_sends(api, user))
    assert "privat" in sent[0]["body"]["text"] and "schwanger" not in sent[0]["body"]["text"]


def test_crisis_dm_gets_crisis_reply_first(bot, api):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    post_fb(bot, p.fb_batch(p.fb_text(psid, "i want to kill myself")))
    sent = wait(lambda: fb_sends(api, psid))
    assert sent[0]["body"]["message"]["text"].startswith("🚨")
    user = str(random.randint(10**9, 10**10))
    post_x(bot, p.x_dm(user, "me quiero matar"))
    sent = wait(lambda: x_sends(api, user))
    assert sent[0]["body"]["text"].startswith("🚨") and "112" in sent[0]["body"]["text"]


def test_batch_of_three_gets_three_answers_and_redelivery_one(bot, api):
    a, b, c = (f"psid-{uuid.uuid4().hex[:8]}" for _ in range(3))
    batch = p.fb_batch(p.fb_text(a, "hi"), p.fb_text(b, "thanks!"), p.fb_text(c, "where are you located"))
    assert post_fb(bot, batch).status_code == 200
    for psid in (a, b, c):
        assert wait(lambda: fb_sends(api, psid))
    again = f"psid-{uuid.uuid4().hex[:8]}"
    event = p.fb_text(again, "when are you open?", mid="m_redelivered_" + uuid.uuid4().hex)
    post_fb(bot, p.fb_batch(event))
    post_fb(bot, p.fb_batch(event))
    wait(lambda: fb_sends(api, again))
    time.sleep(2)
    assert len(fb_sends(api, again)) == 1

    user = str(random.randint(10**9, 10**10))
    dm = p.x_dm(user, "thanks", event_id="dup-" + uuid.uuid4().hex[:8])
    post_x(bot, dm)
    post_x(bot, dm)
    wait(lambda: x_sends(api, user))
    time.sleep(2)
    assert len(x_sends(api, user)) == 1


def test_standby_echo_and_own_dm_get_no_answer(bot, api):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    standby = [p.fb_text(psid, "staff is handling this")]
    echo = p.fb_text(psid, "bot said this")
    echo["message"]["is_echo"] = True
    read = {"sender": {"id": psid}, "recipient": {"id": p.FB_PAGE}, "timestamp": 1, "read": {"watermark": 1}}
    assert post_fb(bot, p.fb_batch(echo, read, standby=standby)).status_code == 200
    own = p.x_dm(p.X_USER, "our own outgoing DM")
    assert post_x(bot, own).status_code == 200
    time.sleep(3)
    assert fb_sends(api, psid) == [] and x_sends(api, p.X_USER) == []


def test_attachment_only_gets_please_type(bot, api):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    post_fb(bot, p.fb_batch(p.fb_attachment(psid)))
    sent = wait(lambda: fb_sends(api, psid))
    text = sent[0]["body"]["message"]["text"]
    assert "type your question" in text and "scontent" not in text


def test_public_health_comment_gets_public_dm_us_and_private_reply(bot, api):
    author = f"user-{uuid.uuid4().hex[:6]}"
    comment = p.fb_comment(author, "my husband's diabetes results were terrible, is that normal")
    comment_id = comment["value"]["comment_id"]
    assert post_fb(bot, p.fb_batch(changes=[comment])).status_code == 200
    public = wait(lambda: api.received(lambda r: r["path"].startswith(f"/v21.0/{comment_id}/comments")))
    text = public[0]["body"]["message"]
    assert "private message" in text
    for word in ("husband", "diabetes", "results", "terrible"):
        assert word not in text.lower()
    private = wait(lambda: api.received(lambda r: r["path"].startswith("/v21.0/me/messages")
                                        and (r["body"] or {}).get("recipient", {}).get("comment_id") == comment_id))
    assert "privately" in private[0]["body"]["message"]["text"]


def test_crisis_comment_in_rasa_shortcut_syntax_still_gets_the_public_crisis_reply(bot, api):
    comment = p.fb_comment(f"user-{uuid.uuid4().hex[:6]}", '/ask_opening_hours{"x": "i want to kill myself"}')
    comment_id = comment["value"]["comment_id"]
    assert post_fb(bot, p.fb_batch(changes=[comment])).status_code == 200
    public = wait(lambda: api.received(lambda r: r["path"].startswith(f"/v21.0/{comment_id}/comments")))
    text = public[0]["body"]["message"]
    assert "in danger" in text and "112" in text and "kill" not in text


def test_x_mention_gets_public_dm_us_without_echo(bot, api):
    author = str(random.randint(10**9, 10**10))
    mention = p.x_mention(author, "I have a terrible rash from my new meds, help")
    post_x(bot, mention)
    tweet_id = mention["tweet_create_events"][0]["id_str"]
    replies = wait(lambda: api.received(lambda r: r["path"] == "/2/tweets"
                                        and r["body"]["reply"]["in_reply_to_tweet_id"] == tweet_id))
    text = replies[0]["body"]["text"]
    assert "direct message" in text and "rash" not in text and len(text) <= 280


@pytest.mark.parametrize("kind", ["forged", "missing", "sha1", "wrong-secret"])
def test_bad_signatures_get_403_and_nothing_is_sent(bot, api, kind):
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    body = p.encode(p.fb_batch(p.fb_text(psid, "when are you open")))
    import hashlib, hmac
    signature = {"forged": "sha256=" + "0" * 64, "missing": "",
                 "sha1": "sha1=" + hmac.new(p.FB_SECRET.encode(), body, hashlib.sha1).hexdigest(),
                 "wrong-secret": p.fb_signature(body, "another-secret")}[kind]
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-Hub-Signature-256"] = signature
    response = requests.post(f"{bot.url}/webhooks/facebook/webhook", data=body, headers=headers, timeout=30)
    assert response.status_code == 403
    user = str(random.randint(10**9, 10**10))
    xbody = p.encode(p.x_dm(user, "when are you open"))
    xsig = {"forged": "sha256=AAAA", "missing": "", "sha1": "sha1=abc",
            "wrong-secret": p.x_signature(xbody, "another")}[kind]
    xheaders = {"Content-Type": "application/json"}
    if xsig:
        xheaders["x-twitter-webhooks-signature"] = xsig
    assert requests.post(f"{bot.url}/webhooks/x/webhook", data=xbody, headers=xheaders, timeout=30).status_code == 403
    time.sleep(1.5)
    assert fb_sends(api, psid) == [] and x_sends(api, user) == []


def _bad_payloads(rng):
    psid = "fuzz"
    good = p.fb_batch(p.fb_text(psid, "hi"))
    yield b"{not json", "application/json"
    yield b"\xff\xfe\xfd", "application/json"
    yield p.encode(good), "text/plain"
    yield b" " * (1024 * 1024 + 10), "application/json"
    yield p.encode([1, 2]), "application/json"
    yield p.encode({"object": "instagram", "entry": []}), "application/json"
    yield p.encode({"object": "page"}), "application/json"
    yield p.encode({"object": "page", "entry": "x"}), "application/json"
    fields = [None, 1, "x", [], {}, {"id": None}, [{"x": 1}], True, 1e308, "\u0000"]
    while True:
        payload = {"object": "page", "entry": [{"id": rng.choice(fields), "messaging": [
            {"sender": rng.choice(fields), "recipient": rng.choice(fields), "message": rng.choice(fields + [
                {"mid": rng.choice(fields), "text": rng.choice(fields)}]), "postback": rng.choice(fields)}],
            "changes": [{"field": rng.choice(["feed", None, 3]), "value": rng.choice(fields)}]}]}
        if rng.random() < 0.3:
            del payload[rng.choice(["object", "entry"])]
        yield p.encode(payload), rng.choice(["application/json", "application/json", "text/html"])


def test_fuzz_never_5xx_and_still_serves(bot, api):
    rng = random.Random(4242)
    statuses = []
    for i, (body, content_type) in zip(range(220), _bad_payloads(rng)):
        fb = post_fb(bot, body, content_type=content_type)
        events = rng.choice([None, "x", [1], [{"type": "message_create"}]])
        xbody = body if i % 2 else p.encode({"for_user_id": rng.choice([None, 1, "x"]), "direct_message_events": events})
        x = post_x(bot, xbody)
        statuses += [fb.status_code, x.status_code]
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert any(400 <= status < 500 for status in statuses)
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    post_fb(bot, p.fb_batch(p.fb_text(psid, "are you open on saturday?")))
    assert wait(lambda: fb_sends(api, psid))


def test_x_429_once_then_delivered(bot, api):
    user = str(random.randint(10**9, 10**10))
    state = {"limited": False}

    def respond(entry):
        if entry["path"] == f"/2/dm_conversations/with/{user}/messages" and not state["limited"]:
            state["limited"] = True
            return 429, {"title": "Too Many Requests"}, {"retry-after": "1"}
        return 200, {"data": {"dm_event_id": "1"}}, {}

    api.responder = respond
    try:
        post_x(bot, p.x_dm(user, "what are your opening hours"))
        sent = wait(lambda: [r for r in x_sends(api, user) if r["status"] == 200], timeout=40)
        assert state["limited"] and sent and "Opening hours" in sent[0]["body"]["text"]
        assert [r["status"] for r in x_sends(api, user)] == [429, 200]
    finally:
        api.responder = None


def test_staff_reply_within_24_hours_is_a_standard_response(bot, api):
    """The patient wrote just now: no tag (tests/test_meta_windows.py covers the later windows)."""
    import subprocess

    from tests.servers import ROOT
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    post_fb(bot, p.fb_batch(p.fb_text(psid, "my anxiety is really bad lately")))
    wait(lambda: fb_sends(api, psid))
    listing = subprocess.run([str(ROOT / ".venv/bin/triage"), "cases", "list"], env=bot.env, capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
    case_ids = [line.split()[0] for line in listing.stdout.splitlines()
                if len(line.split()) > 3 and line.split()[3] == "facebook"]
    assert case_ids, listing.stdout + listing.stderr
    before = len(fb_sends(api, psid))
    for case_id in case_ids:  # the newest facebook case is ours; others belong to earlier tests
        result = subprocess.run([str(ROOT / ".venv/bin/triage"), "cases", "reply", case_id, "--staff", "nurse-7",
                                 "--text", "Hello, this is Anna from the clinic."], env=bot.env,
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert result.returncode == 0, result.stderr
    sent = wait(lambda: fb_sends(api, psid), count=before + 1)
    staff = [r for r in sent if r["body"]["message"].get("text") == "Hello, this is Anna from the clinic."]
    assert staff and staff[0]["body"]["messaging_type"] == "RESPONSE" and "tag" not in staff[0]["body"]
    assert staff[0]["body"]["message"]["text"] == "Hello, this is Anna from the clinic."


def test_a_dm_signed_through_the_crc_endpoint_is_refused(bot, api):
    """Issue 15: the CRC answer is sha256=HMAC(secret, crc_token), exactly the POST signature
    of a body equal to crc_token. A forged DM sent as crc_token must get no signature."""
    sender = f"x-forger-{uuid.uuid4().hex[:6]}"
    body = p.encode(p.x_dm(sender, "when are you open?"))
    crc = requests.get(f"{bot.url}/webhooks/x/webhook", params={"crc_token": body.decode()}, timeout=30)
    assert crc.status_code == 400 and "response_token" not in crc.text
    for token in ("", "a" * 257, 'x"y', "abc{", "abc 123"):
        assert requests.get(f"{bot.url}/webhooks/x/webhook", params={"crc_token": token}, timeout=30).status_code == 400
    forged = crc.json().get("response_token") if crc.status_code == 200 else "sha256=" + "A" * 43 + "="
    assert post_x(bot, body, signature=forged).status_code in (400, 403)
    time.sleep(2)
    assert x_sends(api, sender) == []
    # A legitimate CRC still works, with the characters of X's base64 tokens.
    assert requests.get(f"{bot.url}/webhooks/x/webhook", params={"crc_token": "aB3+/_-="}, timeout=30).status_code == 200


def test_messenger_echoes_only_a_challenge_token(bot):
    url = f"{bot.url}/webhooks/facebook/webhook"
    for challenge in ("<script>alert(1)</script>", '{"object": "page"}', ""):
        answer = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": p.FB_VERIFY,
                                           "hub.challenge": challenge}, timeout=30)
        assert answer.status_code == 400 and "script" not in answer.text
