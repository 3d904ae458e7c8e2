"""clinic.yml is the only source of facts, and every reply is built from it."""
import datetime as dt
import re

import pytest
import yaml

from triage import clinic as clinic_config, intents
from triage.clinic import ClinicConfigError
from triage.language import SUPPORTED
from triage.replies import reply_for

CLINIC = clinic_config.load()


def reply(intent, language="en", decision="answer", text="", reasons=None, today=None):
    triage = {"decision": decision, "intent": intent, "language": language, "reasons": reasons or []}
    return reply_for(triage, text, CLINIC, today=today)


@pytest.mark.parametrize("language", SUPPORTED)
@pytest.mark.parametrize("intent", intents.ROUTINE + ("out_of_scope", "nlu_fallback"))
def test_every_routine_intent_has_a_complete_reply_in_every_language(intent, language):
    text = reply(intent, language)
    assert text and "{" not in text, f"unfilled placeholder in {intent}/{language}: {text}"


def test_replies_come_from_the_config(tmp_path):
    data = yaml.safe_load(open(clinic_config.DEFAULT_PATH, encoding="utf-8"))
    data["contact"]["phone"] = "+1 555 0199"
    data["appointments"]["booking_url"] = "https://book.example.org"
    data["departments"]["general"]["hours"]["mon"] = "07:15-19:45"
    data["emergency"]["number"] = "911"
    other = clinic_config.Clinic(data)
    monday = dt.date(2027, 2, 1)
    assert "+1 555 0199" in reply_for({"decision": "answer", "intent": "ask_contact", "language": "en"}, "", other)
    booking = {"decision": "answer", "intent": "book_appointment", "language": "en"}
    assert "https://book.example.org" in reply_for(booking, "", other)
    hours = reply_for({"decision": "answer", "intent": "ask_opening_hours", "language": "en"}, "", other, today=monday)
    assert "07:15–19:45" in hours
    assert reply_for({"decision": "crisis", "intent": "crisis_self_harm", "language": "en"}, "", other).count("911") >= 1


def test_hours_merge_days_and_show_today_and_holidays():
    text = reply("ask_opening_hours", text="is the lab open", today=dt.date(2026, 12, 21))
    assert "Blood tests and lab: Mon–Thu 07:30–11:00; Fri 07:30–10:00; Sat–Sun closed" in text
    assert "General practice" not in text  # the lab was asked for
    assert "Christmas Day): closed" in text and "Christmas Eve): 08:00–12:00" in text
    assert "Today (Mon 21 Dec): 07:30–11:00" in text


def test_hours_on_a_holiday_say_closed_today():
    text = reply("ask_opening_hours", today=dt.date(2026, 12, 25))
    assert "Today (Fri 25 Dec): closed" in text


def test_german_and_spanish_hours_use_their_own_day_names():
    assert "Mo–Mi 08:00–18:00" in reply("ask_opening_hours", "de", today=dt.date(2027, 2, 1))
    assert "lun–mié 08:00–18:00" in reply("ask_opening_hours", "es", today=dt.date(2027, 2, 1))


def test_crisis_reply_gives_emergency_number_and_crisis_line_first():
    for language in SUPPORTED:
        text = reply("crisis_self_harm", language, decision="crisis")
        first_line = text.splitlines()[0]
        assert "112" in first_line
        assert "0800 111 0 111" in text.splitlines()[1]


def test_private_reply_lists_every_secure_channel_and_the_emergency_number():
    for language in SUPPORTED:
        text = reply("disclose_symptoms", language, decision="private")
        assert "https://portal.riverside-clinic.example/messages" in text
        assert "+49 30 555 0120" in text and "https://riverside-clinic.example/secure-form" in text
        assert "112" in text


def test_an_escalated_intent_never_gets_a_routine_answer():
    # Even if something marks it "answer", a sensitive intent gets the private reply.
    text = reply("disclose_medication", decision="answer")
    assert "portal" in text and "Repeat prescriptions" not in text


CANARY = "zebra-quartz-7781 metformin lump"


@pytest.mark.parametrize("decision,intent", [("answer", i) for i in intents.ROUTINE] + [
    ("private", "disclose_symptoms"), ("crisis", "crisis_self_harm"), ("answer", "out_of_scope")])
def test_no_reply_repeats_the_patients_words(decision, intent):
    for language in SUPPORTED:
        text = reply(intent, language, decision=decision, text=CANARY)
        for word in ("zebra", "quartz", "7781", "metformin", "lump"):
            assert word not in text.lower()


@pytest.mark.parametrize("reason", ["empty", "attachment_only", "no_text", "too_long", "unsupported_language"])
def test_unusable_input_replies(reason):
    text = reply("out_of_scope", reasons=[reason])
    assert text and "{" not in text
    if reason == "unsupported_language":
        assert "English" in text and "Deutsch" in text and "español" in text


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.pop("emergency"), "missing required section"),
    (lambda d: d["departments"]["lab"]["hours"].update(mon="7-11"), "departments.lab.hours.mon"),
    (lambda d: d["departments"]["lab"]["hours"].update(mon="11:00-07:00"), "departments.lab.hours.mon"),
    (lambda d: d["departments"]["lab"]["hours"].update(monday="08:00-10:00"), "unknown day"),
    (lambda d: d.update(timezone="Mars/Olympus"), "unknown timezone"),
    (lambda d: d["holidays"].append({"date": "25/12/2026"}), "holidays[8]"),
    (lambda d: d.update(secure_channels=[]), "secure_channels"),
    (lambda d: d["emergency"].pop("number"), "emergency needs"),
    (lambda d: d.update(default_language="fr"), "default_language"),
])
def test_bad_config_fails_with_a_message_that_says_where(mutate, message):
    data = yaml.safe_load(open(clinic_config.DEFAULT_PATH, encoding="utf-8"))
    mutate(data)
    with pytest.raises(ClinicConfigError, match=re.escape(message)):
        clinic_config.Clinic(data)


def test_missing_or_broken_file_is_a_clear_error(tmp_path):
    with pytest.raises(ClinicConfigError, match="not found"):
        clinic_config.load(tmp_path / "nope.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed")
    with pytest.raises(ClinicConfigError, match="not valid YAML"):
        clinic_config.load(broken)


def test_no_clinic_facts_in_python():
    """Phone numbers, URLs and hours live in clinic.yml, never in code."""
    from pathlib import Path

    # Platform API hosts are not clinic facts; everything else with a URL, a phone
    # number or opening-hours shape is.
    fact = re.compile(r"\+\d{2} \d|https?://(?!localhost|127\.0\.0\.1|graph\.facebook\.com|api\.x\.com|hooks\.slack\.com|www\.w3\.org)"
                      r"|\b\d{2}:\d{2}-\d{2}:\d{2}\b")
    for path in list(Path("triage").rglob("*.py")) + list(Path("actions").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not fact.search(line), f"{path}:{number} looks like a clinic fact: {line.strip()}"


def test_hours_answer_the_day_that_was_asked():
    monday = dt.date(2027, 2, 1)
    text = reply("ask_opening_hours", text="are you open on saturday?", today=monday)
    assert "Sat 06 Feb: 09:00–12:00" in text
    assert "Tue 02 Feb: 08:00–18:00" in reply("ask_opening_hours", text="open tmrw?", today=monday)
    assert "Sa 06.02.: 09:00–12:00" in reply("ask_opening_hours", "de", text="habt ihr samstags offen", today=monday)
    assert "dom 07.02.: cerrado" in reply("ask_opening_hours", "es", text="abren el domingo", today=monday)
    # a holiday on the asked day shows as closed
    assert "Fri 25 Dec: closed" in reply("ask_opening_hours", text="open on friday?", today=dt.date(2026, 12, 21))
