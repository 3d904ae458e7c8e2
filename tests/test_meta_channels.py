"""Messenger handover (standby, thread control), public comments and X mentions whose
public reply fails, and Instagram Direct, against a fake Graph/X API on 127.0.0.1.

The first tests need no Rasa server; the classes start one each (one at a time)."""
import asyncio
import logging
import random
import subprocess
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import select

from tests import channel_payloads as p, servers
from tests.fakes import Recorder
from tests.servers import ROOT, Assistant
from triage import db, keys, outbox, spool
from triage.audit import AuditLog
from triage.cases import Cases
from triage.channels import messenger, outbound

INBOX = "263902037430900"
OUR_APP = "1357924680"
GRAPH = "/v23.0"
CRISIS = "i want to kill myself"


@pytest.fixture(scope="module")
def api():
    fake = Recorder().start()
    yield fake
    fake.stop()


def graph(api, path, psid=None):
    """Graph calls to ``me/<path>`` (for ``psid``), in the order they arrived."""
    return [r for r in api.received(lambda r: r["path"].startswith(f"{GRAPH}/me/{path}"))
            if psid is None or (r["body"] or {}).get("recipient", {}).get("id") == psid]


def wait(fn, count=1, timeout=40):
    return servers.wait(fn, count, timeout)


def index(api, request):
    return next(i for i, r in enumerate(api.received()) if r is request)


# -- without a Rasa server ---------------------------------------------------

def test_parse_standby_handover_and_instagram():
    standby = p.fb_batch(p.fb_handover("psid-1", "pass_thread_control", OUR_APP, INBOX),
                         standby=[p.fb_text("psid-1", "hello")])
    events = messenger.parse(standby)
    assert [(e.kind, e.standby, e.channel) for e in events] == [("handover", False, "facebook"),
                                                                 ("message", True, "facebook")]
    assert events[0].handover == {"kind": "pass_thread_control", "new_owner": OUR_APP, "previous_owner": INBOX}
    instagram = messenger.parse(p.ig_batch(p.ig_text("ig-1", "hi"), p.ig_text("ig-1", "ours", echo=True)))
    assert [(e.kind, e.channel, e.sender_id) for e in instagram] == [("message", "instagram", "ig-1"),
                                                                      ("ignored", "instagram", "")]
    with pytest.raises(messenger.Rejected):
        messenger.parse({"object": "whatsapp_business_account", "entry": []})


def test_pass_thread_control_setting(monkeypatch):
    def configured(**env):
        for name in ("FACEBOOK_INBOX_APP_ID", "FACEBOOK_PASS_THREAD_CONTROL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return messenger.MessengerInput.from_credentials(None).passes_thread_control

    assert configured(FACEBOOK_INBOX_APP_ID=INBOX) is True  # default: pass when an inbox app is set
    assert configured() is False
    assert configured(FACEBOOK_INBOX_APP_ID=INBOX, FACEBOOK_PASS_THREAD_CONTROL="false") is False
    assert configured(FACEBOOK_PASS_THREAD_CONTROL="true") is False  # nobody to pass it to
    assert configured(FACEBOOK_INBOX_APP_ID=INBOX, FACEBOOK_PASS_THREAD_CONTROL="yes") is True


def test_default_graph_url_is_a_supported_version(monkeypatch):
    monkeypatch.setenv("FACEBOOK_GRAPH_URL", "")  # docker compose passes an unset variable through empty
    client = messenger.MessengerInput.from_credentials(None).client
    assert client.graph_url == "https://graph.facebook.com/v23.0" == messenger.DEFAULT_GRAPH_URL


def test_resume_takes_the_thread_back_only_for_a_passed_messenger_thread(api, monkeypatch):
    monkeypatch.setenv("FACEBOOK_VERIFY_TOKEN", "v")
    monkeypatch.setenv("FACEBOOK_APP_SECRET", "s")
    monkeypatch.setenv("FACEBOOK_PAGE_ACCESS_TOKEN", "page-token")
    monkeypatch.setenv("FACEBOOK_GRAPH_URL", api.url + GRAPH)
    monkeypatch.setenv("FACEBOOK_INBOX_APP_ID", INBOX)
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    outbound.return_thread({"id": "c1", "channel": "x"}, psid, "resolved")
    outbound.return_thread({"id": "c1", "channel": "facebook"}, psid, outbound.HANDED_BACK)
    assert graph(api, "take_thread_control", psid) == []
    outbound.return_thread({"id": "c1", "channel": "facebook"}, psid, "resolved")
    assert graph(api, "take_thread_control", psid)[0]["body"]["metadata"] == "triage case c1 resolved"
    monkeypatch.setenv("FACEBOOK_PASS_THREAD_CONTROL", "false")
    outbound.return_thread({"id": "c2", "channel": "facebook"}, psid, "resolved")
    assert len(graph(api, "take_thread_control", psid)) == 1


def test_comment_escalation_is_spooled_when_the_database_is_down_and_a_refused_public_reply_stops_nothing(
        api, keystore, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(spool.ENV_DIR, str(tmp_path / "spool"))
    monkeypatch.setattr(keys, "_default", keystore)

    def down():
        raise ConnectionError("database down")

    monkeypatch.setattr("triage.services.default", down)
    monkeypatch.setattr(outbox, "shared", down)  # the outbox is in the same database: replies go directly

    async def parse_message(text):
        return {"text": text, "triage": {"decision": "crisis", "intent": "crisis_self_harm", "language": "en",
                                         "confidence": 0.97, "reasons": ["red_flag"]}}

    app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(parse_message=parse_message)))
    channel = messenger.MessengerInput("v", "s", "page-token", graph_url=api.url + GRAPH)
    comment = p.fb_comment("author-1", "i took all my pills, nobody cares")
    event = [e for e in messenger.parse(p.fb_batch(changes=[comment]))][0]
    api.refuse(lambda r: r["path"].startswith(f"{GRAPH}/{event.comment_id}/comments"))
    try:
        with caplog.at_level(logging.INFO):
            asyncio.run(channel._comment(app, event))
    finally:
        api.responder = None
    assert spool.pending() == 1
    assert [r["status"] for r in api.received(lambda r: event.comment_id in r["path"])] == [403]
    private = [r for r in graph(api, "messages") if r["body"]["recipient"].get("comment_id") == event.comment_id]
    assert private and private[0]["body"]["message"]["text"].startswith("🚨")
    assert "public comment reply failed (RuntimeError)" in caplog.text
    assert "pills" not in caplog.text and "author-1" not in caplog.text


# -- against the running server ----------------------------------------------

def start(tmp_path_factory, api, **extra):
    env = {"FACEBOOK_VERIFY_TOKEN": p.FB_VERIFY, "FACEBOOK_APP_SECRET": p.FB_SECRET,
           "FACEBOOK_PAGE_ACCESS_TOKEN": "page-token", "FACEBOOK_GRAPH_URL": api.url + GRAPH,
           "FACEBOOK_INBOX_APP_ID": INBOX, "INSTAGRAM_ACCESS_TOKEN": "ig-token",
           "X_CONSUMER_KEY": "ck", "X_CONSUMER_SECRET": p.X_SECRET, "X_ACCESS_TOKEN": "at",
           "X_ACCESS_TOKEN_SECRET": "ats", "X_USER_ID": p.X_USER, "X_API_URL": api.url, **extra}
    return Assistant(tmp_path_factory.mktemp("meta"), env).start()


def post_meta(bot, payload):
    body = p.encode(payload)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": p.fb_signature(body)}
    response = requests.post(f"{bot.url}/webhooks/facebook/webhook", data=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def cases_of(bot):
    store = keys.KeyStore.load_file(Path(bot.env["TRIAGE_MASTER_KEY_FILE"]))
    engine = db.engine(bot.env["TRIAGE_DB_URL"])
    return Cases(store, AuditLog(store, engine)), engine


def resolve(bot, case_id):
    result = subprocess.run([str(ROOT / ".venv/bin/triage"), "cases", "resolve", case_id, "--staff", "nurse-7",
                             "--outcome", "contacted"], env=bot.env, capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def crisis_sends(api, psid):
    return [r for r in graph(api, "messages", psid) if r["body"]["message"]["text"].startswith("🚨")]


def open_private_case(bot, api, psid):
    post_meta(bot, p.fb_batch(p.fb_text(psid, "I need a refill of my metformin")))
    sent = wait(lambda: graph(api, "messages", psid))
    assert "privately" in sent[0]["body"]["message"]["text"]
    cases, _ = cases_of(bot)
    case = wait(lambda: [c for c in [cases.active_case("facebook", psid)] if c])
    assert case, "no case was opened"
    return case[0]


class TestThreadPassedToTheInbox:
    @pytest.fixture(scope="class")
    def bot(self, tmp_path_factory, api):
        assistant = start(tmp_path_factory, api)
        yield assistant
        assistant.stop()

    def test_standby_crisis_takes_the_thread_back_first_and_resolving_returns_it(self, bot, api):
        psid = f"psid-{uuid.uuid4().hex[:8]}"
        case = open_private_case(bot, api, psid)
        passed = wait(lambda: graph(api, "pass_thread_control", psid))
        assert passed[0]["body"]["target_app_id"] == INBOX
        assert passed[0]["body"]["metadata"] == f"triage case {case['id']}"

        # Meta now sends the patient's messages as standby: held ones are attached, unanswered...
        time.sleep(1.5)  # every reply to the first message is in
        before = len(graph(api, "messages", psid))
        post_meta(bot, p.fb_batch(standby=[p.fb_text(psid, "ok, waiting for the nurse")]))
        # ...and a crisis gets the crisis reply, after the thread is taken back.
        post_meta(bot, p.fb_batch(standby=[p.fb_text(psid, CRISIS)]))
        crisis = wait(lambda: crisis_sends(api, psid))
        assert crisis, "no crisis reply to a standby message"
        taken = graph(api, "take_thread_control", psid)
        assert taken and index(api, taken[0]) < index(api, crisis[0])
        time.sleep(2)
        assert len(graph(api, "messages", psid)) == before + 1  # the crisis reply only, once

        cases, engine = cases_of(bot)
        shown = cases.show(case["id"], "test")
        assert shown["priority"] == "urgent" and shown["status"] == "open"
        assert [m["text"] for m in shown["messages"] if m["author"] == "patient"][-2:] == [
            "ok, waiting for the nurse", CRISIS]
        with engine.connect() as connection:
            stored = [row.body_sealed for row in connection.execute(
                select(db.case_messages).where(db.case_messages.c.case_id == case["id"]))]
        assert stored and not any("kill" in body or "nurse" in body for body in stored)  # sealed at rest

        resolve(bot, case["id"])
        back = wait(lambda: graph(api, "take_thread_control", psid), count=len(taken) + 1)
        assert back[-1]["body"]["metadata"] == f"triage case {case['id']} resolved"

    def test_standby_without_a_case_is_left_to_the_owner_except_a_crisis(self, bot, api):
        routine, crisis = (f"psid-{uuid.uuid4().hex[:8]}" for _ in range(2))
        post_meta(bot, p.fb_batch(standby=[p.fb_text(routine, "what are your opening hours?")]))
        post_meta(bot, p.fb_batch(standby=[p.fb_text(crisis, CRISIS)]))
        sent = wait(lambda: crisis_sends(api, crisis))
        assert sent and graph(api, "take_thread_control", crisis)
        cases, _ = cases_of(bot)
        assert wait(lambda: [c for c in [cases.active_case("facebook", crisis)] if c and c["priority"] == "urgent"])
        assert wait(lambda: graph(api, "pass_thread_control", crisis))  # the new case goes to the inbox
        assert graph(api, "messages", routine) == [] and graph(api, "take_thread_control", routine) == []

    def test_inbox_passing_the_thread_back_lets_the_bot_answer_again(self, bot, api, caplog):
        psid = f"psid-{uuid.uuid4().hex[:8]}"
        case = open_private_case(bot, api, psid)
        post_meta(bot, p.fb_batch(p.fb_handover(psid, "take_thread_control", previous_owner=OUR_APP),
                                  p.fb_handover(psid, "pass_thread_control", OUR_APP, INBOX)))
        cases, _ = cases_of(bot)
        assert wait(lambda: [c for c in [cases.get(case["id"])] if not c["paused"]])
        before = len(graph(api, "messages", psid))
        post_meta(bot, p.fb_batch(p.fb_text(psid, "what are your opening hours?")))
        sent = wait(lambda: graph(api, "messages", psid), count=before + 1)
        assert "Opening hours" in sent[-1]["body"]["message"]["text"]
        assert graph(api, "take_thread_control", psid) == []  # it was passed to us: nothing to take
        log = bot.output()
        assert "pass_thread_control (new owner app" in log and psid not in log
        assert "free text from the other app" not in log

    def test_refused_public_comment_reply_still_opens_the_case_and_sends_the_private_reply(self, bot, api):
        author = f"user-{uuid.uuid4().hex[:6]}"
        comment = p.fb_comment(author, "my husband's diabetes results were terrible, is that normal")
        comment_id = comment["value"]["comment_id"]
        api.refuse(lambda r: r["path"].startswith(f"{GRAPH}/{comment_id}/comments"))
        try:
            post_meta(bot, p.fb_batch(changes=[comment]))
            private = wait(lambda: [r for r in graph(api, "messages")
                                    if r["body"]["recipient"].get("comment_id") == comment_id])
        finally:
            api.responder = None
        assert private and "privately" in private[0]["body"]["message"]["text"]
        assert [r["status"] for r in api.received(lambda r: r["path"].startswith(f"{GRAPH}/{comment_id}/comments"))] \
            == [403]
        cases, _ = cases_of(bot)
        assert cases.active_case("facebook_comment", author)

    def test_refused_x_mention_reply_still_opens_the_case(self, bot, api):
        author = str(random.randint(10**9, 10**10))
        mention = p.x_mention(author, "I have a terrible rash from my new meds, help")
        api.refuse(lambda r: r["path"] == "/2/tweets")
        try:
            body = p.encode(mention)
            requests.post(f"{bot.url}/webhooks/x/webhook", data=body, timeout=30, headers={
                "Content-Type": "application/json", "x-twitter-webhooks-signature": p.x_signature(body)})
            assert wait(lambda: api.received(lambda r: r["path"] == "/2/tweets" and
                                             r["body"]["reply"]["in_reply_to_tweet_id"] ==
                                             mention["tweet_create_events"][0]["id_str"]))
        finally:
            api.responder = None
        cases, _ = cases_of(bot)
        assert wait(lambda: [c for c in [cases.active_case("x_mention", author)] if c])

    def test_instagram_dm_crisis_and_echo(self, bot, api):
        routine, crisis = (f"ig-{uuid.uuid4().hex[:8]}" for _ in range(2))
        message = p.ig_text(routine, "what are your opening hours?")
        post_meta(bot, p.ig_batch(message))
        post_meta(bot, p.ig_batch(message))  # redelivered: answered once
        post_meta(bot, p.ig_batch(p.ig_text(crisis, CRISIS)))
        post_meta(bot, p.ig_batch(p.ig_text(crisis, "our own reply, echoed", echo=True)))
        answered = wait(lambda: graph(api, "messages", routine))
        assert "Opening hours" in answered[0]["body"]["message"]["text"]
        assert answered[0]["path"].endswith("access_token=ig-token")
        assert wait(lambda: crisis_sends(api, crisis))
        cases, _ = cases_of(bot)
        case = wait(lambda: [c for c in [cases.active_case("instagram", crisis)] if c])
        assert case and case[0]["priority"] == "urgent"
        time.sleep(2)
        assert len(graph(api, "messages", routine)) == 1
        assert len(graph(api, "messages", crisis)) == 1  # the echo got nothing
        assert graph(api, "pass_thread_control", crisis) == []


class TestThreadKeptByTheAssistant:
    """FACEBOOK_PASS_THREAD_CONTROL=false with an inbox app configured: the thread never moves."""

    @pytest.fixture(scope="class")
    def bot(self, tmp_path_factory, api):
        assistant = start(tmp_path_factory, api, FACEBOOK_PASS_THREAD_CONTROL="false")
        yield assistant
        assistant.stop()

    def test_handoff_crisis_and_resolve_without_thread_control(self, bot, api):
        psid = f"psid-{uuid.uuid4().hex[:8]}"
        case = open_private_case(bot, api, psid)
        post_meta(bot, p.fb_batch(p.fb_text(psid, CRISIS)))  # still ours: a messaging event
        assert wait(lambda: crisis_sends(api, psid))
        cases, _ = cases_of(bot)
        shown = cases.show(case["id"], "test")
        assert shown["priority"] == "urgent" and shown["messages"][-1]["text"] == CRISIS
        resolve(bot, case["id"])
        assert wait(lambda: [c for c in [cases.get(case["id"])] if not c["paused"]])
        time.sleep(1)
        assert graph(api, "pass_thread_control", psid) == [] and graph(api, "take_thread_control", psid) == []
