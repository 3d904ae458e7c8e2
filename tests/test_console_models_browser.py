"""Training and deployment from the console, in a real browser (Debian's Chromium via Playwright,
as tests/test_console_browser.py).

The assistant runs as under `make run` on the tiny project (tests/tiny_project.py), serving its
first model. An admin labels a review item, starts a training, reads the gate report and
activates the candidate: the running Rasa server then reports the new model and answers with it.
A damaged labelling is refused: its report has no Activate button, and a forged activation is
refused. Screenshots: reports/console-reports.png and reports/console-gate-report.png.
"""
import time
import uuid
from pathlib import Path

import pyotp
import pytest
import requests

from tests import tiny_project
from tests.servers import ROOT, Assistant
from tests.test_console_browser import PASSWORD, REPORTS, bot_cli, browser, stores  # noqa: F401 (fixture)
from tests.tiny_project import tiny_base  # noqa: F401 (fixture)

pytestmark = pytest.mark.server

ROUTINE_QUESTION = "till when are you open on mondays"  # in the tiny held-out split
LABELLED = "is the clinic open on the afternoon of new year's eve"
TRAINING_MINUTES = 15


@pytest.fixture
def assistant(tiny_base, tmp_path):  # noqa: F811
    project = tiny_project.copy(tiny_base, tmp_path / "project")
    workdir = tmp_path / "assistant"
    workdir.mkdir()
    bot = Assistant(workdir, {"TRIAGE_MODEL": str(project / tiny_base["first"]), "TRIAGE_PROJECT_DIR": str(project),
                              "TRIAGE_DATA_DIR": str(project / "data"), "TRIAGE_MODEL_CACHE": str(tmp_path / "cache")})
    bot.project = project
    bot.start()
    yield bot
    bot.stop()


def rasa_model(bot) -> str:
    status = requests.get(f"{bot.url}/status", params={"token": bot.env["RASA_AUTH_TOKEN"]}, timeout=30)
    return status.json()["model_file"]


def sign_in_and_enrol(page, bot, username):
    page.goto(bot.console_url + "/models")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#totp-secret")  # admins set up a second factor first
    page.fill("#code", pyotp.TOTP(page.locator("#totp-secret").inner_text().strip()).now())
    page.click("#confirm-totp")
    page.wait_for_selector("#recovery-codes")
    page.goto(bot.console_url + "/models")
    page.wait_for_selector("#serving-model")


def train_in_the_browser(page) -> str:
    """Starts a training and follows the page until the job ends; returns its state."""
    page.click("#start-training")
    page.wait_for_selector("#training-running")  # the page follows the job and refreshes itself
    deadline = time.time() + TRAINING_MINUTES * 60
    while time.time() < deadline:
        page.wait_for_timeout(2000)
        try:  # the page may be reloading itself at this moment
            state = page.locator("#job-state").inner_text(timeout=5000)
        except Exception:  # noqa: BLE001
            continue
        if state != "running":
            return state
    raise AssertionError("training did not finish: " + page.locator("#job-progress").inner_text())


def test_an_admin_trains_and_activates_a_model_from_the_console(assistant, browser):  # noqa: F811
    bot = assistant
    created = bot_cli(bot, "console", "add-user", "ana", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert created.returncode == 0, created.stderr
    cases, audit = stores(bot)
    from triage.review import ReviewQueue

    ReviewQueue(cases.keys, audit).add("low_confidence", LABELLED, {"decision": "private", "intent": "disclose_symptoms",
                                                                      "confidence": 0.4, "language": "en"})
    first = rasa_model(bot)
    assert first == (bot.project / "models" / ".current").read_text().strip().split("/")[-1]

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in_and_enrol(page, bot, "ana")
    assert page.locator("#serving-model").inner_text() == first[:-len(".tar.gz")]

    # The admin labels the message into the training data.
    page.goto(bot.console_url + "/review")
    row = page.locator("#review-items tr[data-item]").first
    row.locator("select[name=intent]").select_option("ask_opening_hours")
    row.locator("button", has_text="Label").click()
    page.wait_for_selector("text=Added to the training data")
    assert LABELLED in (bot.project / "data" / "nlu" / "en" / "tiny.yml").read_text()

    # Training, as a background job the page follows; the serving model does not change meanwhile.
    page.goto(bot.console_url + "/models")
    assert train_in_the_browser(page) == "accepted", page.locator("#job-progress").inner_text()
    assert "Finished: accepted" in page.locator("#job-progress").inner_text()
    assert rasa_model(bot) == first
    candidate = page.locator("#candidates tr.accepted").first
    name = candidate.get_attribute("data-model")
    assert name and name != first[:-len(".tar.gz")]

    # The gate report: per language, candidate beside the serving model, PASS/FAIL, confusion matrix.
    candidate.locator("a").click()
    page.wait_for_selector("#gate-checks")
    assert page.locator("#verdict").inner_text().startswith("ACCEPTED")
    checks = page.locator("#gate-checks tbody tr")
    assert checks.count() == 8  # 4 figures x (en, all)
    assert page.locator("#gate-checks tr.fail").count() == 0
    crisis_en = page.locator('#gate-checks tr[data-language="en"][data-figure="crisis_recall"] td')
    assert [crisis_en.nth(i).inner_text() for i in (3, 4, 5)] == ["1.000", "1.000", "PASS"]
    assert page.locator("#confusion-decisions tbody tr").count() == 3
    assert page.locator("#confusion-intents tbody tr").count() == len(tiny_project.ROUTINE)
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "console-gate-report.png"), full_page=True)

    page.click("#activate")
    page.wait_for_selector("#reload-result")
    assert "loaded" in page.locator("#reload-result").inner_text() and "NOT" not in page.locator("#reload-result").inner_text()
    assert page.locator("#serving-model").inner_text() == name
    assert page.locator("#previous-model").inner_text().startswith(first[:-len(".tar.gz")])
    # The running bot answers with the new model, with no restart.
    assert rasa_model(bot) == f"{name}.tar.gz"
    assert "Opening hours" in bot.reply(ROUTINE_QUESTION, sender=f"after-{uuid.uuid4().hex[:6]}")

    # A damaged labelling: the gate refuses it, and it cannot be activated.
    tiny_project.damage(bot.project)
    page.goto(bot.console_url + "/models")
    assert train_in_the_browser(page) == "refused", page.locator("#job-progress").inner_text()
    refused = page.locator("#candidates tr.refused").first
    refused_name = refused.get_attribute("data-model")
    assert refused.locator("button.activate").count() == 0
    refused.locator("a").click()
    page.wait_for_selector("#gate-checks")
    assert page.locator("#verdict").inner_text().startswith("REFUSED")
    assert page.locator("#gate-checks tr.fail").count() > 0 and page.locator("#problems li").count() > 0
    assert page.locator("#activate").count() == 0
    assert "safety gate refused" in page.locator("#not-activatable").inner_text()
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = page.request.post(f"{bot.console_url}/models/{refused_name}/activate", form={"csrf": csrf})
    assert forged.status == 409 and "safety gate refused" in forged.text()
    assert rasa_model(bot) == f"{name}.tar.gz"
    assert (bot.project / "models" / ".current").read_text().strip() == f"models/{name}.tar.gz"

    page.goto(bot.console_url + "/reports")
    page.wait_for_selector("h1")
    page.screenshot(path=str(REPORTS / "console-reports.png"), full_page=True)
    assert blocked == []

    events = [(row["event"], row["actor"], row["outcome"]) for row in audit.rows()
              if row["event"] in ("labelled", "training_started", "training_finished", "model_activated",
                                  "model_reloaded", "activation_refused")]
    assert events == [("labelled", "admin:ana", "added"), ("training_started", "admin:ana", "ok"),
                      ("training_finished", "admin:ana", "accepted"), ("model_activated", "admin:ana", "ok"),
                      ("model_reloaded", "admin:ana", "ok"), ("training_started", "admin:ana", "ok"),
                      ("training_finished", "admin:ana", "refused"), ("activation_refused", "admin:ana", "refused")]
    assert audit.verify().ok
    page.close()
    assert Path(ROOT / "reports" / "console-gate-report.png").exists()
