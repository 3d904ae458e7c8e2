"""The staff console in a real browser: Debian's headless Chromium, driven by Playwright.

The assistant runs as under `make run` (scripts/run also serves the console), with
Messenger pointed at a recording fake Graph API on 127.0.0.1. One staff member's
shift: sign in, see a crisis from the REST channel on top, open it, reply to a
Messenger patient, resolve, and the bot answers that patient again.
"""
import re
import uuid
from pathlib import Path

import pytest
import requests

from tests import channel_payloads as p
from tests.servers import ROOT
# The assistant with Messenger and X pointed at a recording fake API, as in the channel tests.
from tests.test_channels import api, bot, fb_sends, post_fb, wait  # noqa: F401 (fixtures)

pytestmark = pytest.mark.server

CHROMIUM = Path("/usr/bin/chromium")
# Without these Chromium keeps trying to reach Google, which this network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery"
REPORTS = ROOT / "reports"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed (scripts/ensure-chromium installs it; make test runs that)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def stores(bot):
    """The bot's own case store, read with the same key, to find which case is whose."""
    from triage import db
    from triage.audit import AuditLog
    from triage.cases import Cases
    from triage.keys import KeyStore

    keys = KeyStore.load_file(Path(bot.env["TRIAGE_MASTER_KEY_FILE"]))
    audit = AuditLog(keys, db.engine(bot.env["TRIAGE_DB_URL"]))
    return Cases(keys, audit), audit


def test_a_staff_shift_in_the_browser(bot, api, browser):
    created = bot_cli(bot, "console", "add-user", "nurse.kim", "--role", "staff", "--password-stdin", stdin=PASSWORD)
    assert created.returncode == 0, created.stderr
    cases, audit = stores(bot)

    psid = f"psid-{uuid.uuid4().hex[:8]}"
    assert post_fb(bot, p.fb_batch(p.fb_text(psid, "my anxiety is really bad lately"))).status_code == 200
    wait(lambda: fb_sends(api, psid))
    crisis_sender = f"rest-{uuid.uuid4().hex[:6]}"
    crisis_text = "i want to end my life tonight"
    assert "112" in bot.reply(crisis_text, sender=crisis_sender)
    messenger_case = cases.active_case("facebook", psid)["id"]
    crisis_case = cases.active_case("rest", crisis_sender)["id"]

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(bot.console_url + "/inbox")
    assert "/login" in page.url  # no session: to the sign-in page
    page.fill("#username", "nurse.kim")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#case-rows tr.case")
    assert page.url.endswith("/inbox")

    first = page.locator("#case-rows tr.case").first
    assert first.get_attribute("data-case") == crisis_case
    assert "urgent" in first.get_attribute("class")
    rows = page.locator("#case-rows tr.case")
    normal = page.locator(f'#case-rows tr[data-case="{messenger_case}"]')
    assert normal.count() == 1 and "urgent" not in normal.get_attribute("class")
    colour = lambda row: row.evaluate("el => getComputedStyle(el).backgroundColor")  # noqa: E731
    assert colour(first) != colour(normal)  # urgent stands out
    countdown = first.locator(".countdown")
    assert re.match(r"^\d+:\d\d left$", countdown.inner_text())
    before = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != before  # it counts down live
    assert "(1 URGENT)" in page.title()
    html = page.content()
    assert crisis_text not in html and "anxiety" not in html  # the list never shows message text
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "console-inbox.png"), full_page=True)
    assert rows.count() >= 2

    viewed_before = len([r for r in audit.rows() if r["event"] == "viewed"])
    first.locator("a.open").click()
    page.wait_for_selector("#messages")
    assert crisis_text in page.locator("#messages").inner_text()
    viewed = [r for r in audit.rows() if r["event"] == "viewed"][viewed_before:]
    assert [(v["actor"], v["case_id"]) for v in viewed] == [("staff:nurse.kim", crisis_case)]

    page.goto(f"{bot.console_url}/cases/{messenger_case}")
    page.click("#claim")
    page.wait_for_selector("text=Case claimed.")
    sends_before = len(fb_sends(api, psid))
    reply = "Hello, this is Kim from the clinic. Can we call you today?"
    page.fill("#reply-text", reply)
    page.click("#send-reply")
    page.wait_for_selector("text=Reply sent to the patient.")
    sent = wait(lambda: fb_sends(api, psid), count=sends_before + 1)[-1]["body"]
    assert sent["message"]["text"] == reply
    # Inside 24 hours of the patient's last message: a plain response, no tag (Meta's messaging window).
    assert sent["messaging_type"] == "RESPONSE" and "tag" not in sent
    assert reply in page.locator("#messages").inner_text()  # stored (sealed) on the case

    page.select_option("#outcome", "contacted")
    page.click("#resolve")
    page.wait_for_selector("text=Case resolved; the bot has the conversation again.")
    assert page.locator(f'#case-rows tr[data-case="{messenger_case}"]').count() == 0
    assert cases.get(messenger_case)["status"] == "resolved"

    sends_before = len(fb_sends(api, psid))
    post_fb(bot, p.fb_batch(p.fb_text(psid, "what are your opening hours?")))
    answer = wait(lambda: fb_sends(api, psid), count=sends_before + 1)[-1]["body"]
    assert "Opening hours" in answer["message"]["text"] and answer["messaging_type"] == "RESPONSE"

    page.click("header form.logout button")
    page.wait_for_selector("text=You are signed out.")
    page.goto(f"{bot.console_url}/cases/{crisis_case}")
    assert "/login" in page.url
    assert audit.verify().ok
    page.close()


def test_an_unattended_screen_signs_itself_out(browser, tmp_path):
    from tests.test_console import Console

    console = Console(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", idle_minutes=0.1).start()  # 6 s
    try:
        console.user("nurse.kim", "staff")
        console.new_case()
        page = browser.new_page()
        page.goto(console.base + "/login")
        page.fill("#username", "nurse.kim")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#case-rows tr.case")
        page.wait_for_selector("#idle-warning:not([hidden])", timeout=10_000)  # warned first
        page.wait_for_selector("text=without activity", timeout=15_000)  # then signed out by the page itself
        assert "/login" in page.url
        page.goto(console.base + "/inbox")
        assert "/login" in page.url  # the session is gone on the server too
        assert console.events("session_expired")
        page.close()
    finally:
        console.stop()


def bot_cli(bot, *args, stdin=None):
    import subprocess

    return subprocess.run([str(ROOT / ".venv/bin/triage"), *args], env=bot.env, input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_console_is_up_with_make_run(bot):
    # scripts/run started it next to Rasa: nothing else had to be launched.
    assert requests.get(bot.console_url + "/health", timeout=5).json() == {"status": "ok"}
    assert "Staff console: http://localhost:" in bot.output()


def test_an_admin_enrols_a_second_factor_and_signs_in_with_a_code(browser, tmp_path):
    import time

    import pyotp

    from tests.test_console import Console

    console = Console(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}").start()
    try:
        console.user("ana", "admin")
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        blocked = []  # anything the Content-Security-Policy refused, e.g. a data: image
        page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
                else None)
        page.goto(console.base + "/accounts")
        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#totp-secret")
        assert page.url.endswith("/totp/enrol")  # the password alone leads only here
        qr = page.locator("#totp-qr svg")
        assert qr.is_visible() and qr.bounding_box()["width"] >= 100
        secret = page.locator("#totp-secret").inner_text().strip()
        totp = pyotp.TOTP(secret)
        REPORTS.mkdir(exist_ok=True)
        page.screenshot(path=str(REPORTS / "console-totp-enrol.png"), full_page=True)
        page.fill("#code", totp.at(time.time() - 3600))  # an hour old: wrong
        page.click("#confirm-totp")
        page.wait_for_selector("text=That code is not right")
        page.fill("#code", totp.now())
        page.click("#confirm-totp")
        page.wait_for_selector("#recovery-codes")
        assert page.locator("#recovery-codes li").count() == 10
        page.screenshot(path=str(REPORTS / "console-totp-recovery-codes.png"), full_page=True)
        page.click("#continue")
        page.wait_for_selector("#case-rows")
        page.goto(console.base + "/accounts")
        assert page.locator("#account-ana td.totp").inner_text().startswith("on")
        page.click("header form.logout button")
        page.wait_for_selector("text=You are signed out.")

        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#code")
        assert page.url.endswith("/login/code")
        page.fill("#code", totp.at(time.time() - 3600))
        page.click("button[type=submit]")
        page.wait_for_selector("text=That code is not right")
        page.screenshot(path=str(REPORTS / "console-totp-wrong-code.png"), full_page=True)
        page.fill("#code", totp.at(time.time() + 30))  # the next step's code: the current one was spent enrolling
        page.click("button[type=submit]")
        page.wait_for_selector("#case-rows")
        assert page.url.endswith("/inbox")
        assert blocked == []
        outcomes = [(e["event"], e["outcome"]) for e in console.audit.rows()
                    if e["event"] in ("login", "login_failed", "account_changed")]
        assert outcomes == [("login", "password"), ("login_failed", "bad_enrolment_code"),
                            ("account_changed", "totp_enrolled"), ("login_failed", "bad_code"),
                            ("login", "password+totp")]
        page.close()
    finally:
        console.stop()
