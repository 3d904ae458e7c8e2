"""Against the running server, with the recording fake X and Graph APIs on 127.0.0.1:
both X payload formats answered through the outbox, another account's payload ignored,
an encrypted chat answered, and the automated-assistant line once per conversation."""
import random
import subprocess
import time
import uuid

import pytest

from tests import channel_payloads as p
from tests.servers import ROOT, Assistant, platform_env, wait

pytestmark = pytest.mark.server

AUTOMATED = "automated assistant"


@pytest.fixture(scope="module")
def bot(tmp_path_factory, api):
    assistant = Assistant(tmp_path_factory.mktemp("x_activity"), platform_env(api.url, "v23.0")).start()
    yield assistant
    assistant.stop()


def post_x(bot, payload):
    started = time.monotonic()
    answer = bot.post_webhook("x", payload)
    assert answer.status_code == 200 and time.monotonic() - started < 5
    return answer


def x_sends(api, user):
    return [r["body"]["text"] for r in api.received(lambda r: r["path"] == f"/2/dm_conversations/with/{user}/messages")]


def new_user():
    return str(random.randint(10**9, 10**10))


def test_an_x_activity_api_dm_is_answered_and_says_it_is_automated_once(bot, api):
    user = new_user()
    post_x(bot, p.x_activity_dm(user, "what are your opening hours?"))
    first = wait(lambda: x_sends(api, user))
    assert "Opening hours" in first[0] and AUTOMATED in first[0]
    post_x(bot, p.x_activity_dm(user, "where can i park?"))
    second = wait(lambda: x_sends(api, user), count=2)
    assert "Uferstraße" in second[1] and AUTOMATED not in second[1]


def test_an_account_activity_dm_is_answered_too(bot, api):
    user = new_user()
    post_x(bot, p.x_dm(user, "where can i park?"))
    sent = wait(lambda: x_sends(api, user))
    assert "Uferstraße" in sent[0] and AUTOMATED in sent[0]


def test_payloads_for_another_account_are_ignored(bot, api):
    user = new_user()
    post_x(bot, {**p.x_dm(user, "where can i park?"), "for_user_id": "5550001"})
    post_x(bot, p.x_activity_dm(user, "where can i park?", user="5550001"))
    time.sleep(3)
    assert x_sends(api, user) == []


def test_an_encrypted_chat_is_not_left_without_an_answer(bot, api):
    user = new_user()
    post_x(bot, p.x_chat(user))
    sent = wait(lambda: x_sends(api, user))
    assert "encrypted" in sent[0] and "112" in sent[0]


def test_a_crisis_dm_starts_with_the_emergency_number_and_messenger_says_it_is_automated(bot, api):
    user = new_user()
    post_x(bot, p.x_activity_dm(user, "i want to kill myself"))
    sent = wait(lambda: x_sends(api, user))
    assert sent[0].startswith("🚨") and "112" in sent[0].split("\n")[0] and AUTOMATED in sent[0]
    psid = f"psid-{uuid.uuid4().hex[:8]}"
    bot.post_webhook("facebook", p.fb_batch(p.fb_text(psid, "when are you open?")))
    fb = wait(lambda: [r for r in api.received(lambda r: r["path"].startswith("/v23.0/me/messages"))
                       if r["body"]["recipient"].get("id") == psid])
    assert AUTOMATED in fb[0]["body"]["message"]["text"]


def test_the_outbox_lists_the_sent_replies_without_text(bot, api):
    listing = subprocess.run([str(ROOT / ".venv/bin/triage"), "outbox", "list"], env=bot.env, capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert " sent " in listing.stdout and "crisis" in listing.stdout and "0 waiting" in listing.stdout
    assert "Opening hours" not in listing.stdout and "Uferstraße" not in listing.stdout
