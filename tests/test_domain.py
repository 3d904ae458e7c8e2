"""domain.yml, rules and training data agree with triage/intents.py."""
from pathlib import Path

import yaml
from rasa.shared.nlu.training_data.loading import load_data

from triage import intents
from triage.language import SUPPORTED

ROOT = Path(__file__).resolve().parent.parent


def test_domain_intents_are_exactly_the_triage_intents():
    domain = yaml.safe_load(open(ROOT / "domain.yml"))
    assert sorted(domain["intents"]) == sorted(intents.ALL)


def test_routine_intent_names_match_the_cli_contract():
    contract = {"greet", "goodbye", "thank_you", "bot_challenge", "ask_opening_hours", "ask_visiting_hours",
                "book_appointment", "change_appointment", "ask_location", "ask_contact",
                "ask_billing_insurance", "ask_services", "ask_prescription_refill", "ask_records"}
    assert set(intents.ROUTINE) == contract


def test_every_intent_has_a_rule_to_the_right_action():
    rules = yaml.safe_load(open(ROOT / "data" / "rules.yml"))["rules"]
    actions_for = {r["steps"][0]["intent"]: [step["action"] for step in r["steps"][1:]] for r in rules}
    for intent in intents.ROUTINE + (intents.OUT_OF_SCOPE, intents.NLU_FALLBACK):
        assert actions_for[intent] == ["utter_answer"]
    for intent in intents.ESCALATING:  # reply and case in the Rasa server, then the pause
        assert actions_for[intent] == ["utter_escalate", "action_escalate"]


def test_routine_answers_are_generated_in_the_server_and_the_fallback_still_escalates():
    domain = yaml.safe_load(open(ROOT / "domain.yml"))
    assert {"utter_answer", "utter_escalate"} <= set(domain["responses"])
    assert domain["actions"] == ["action_escalate"]  # the only one on the action server: the pause
    assert yaml.safe_load(open(ROOT / "config.yml"))["policies"][0]["core_fallback_action_name"] == "utter_answer"
    for name in ("endpoints.yml", "endpoints.prod.yml"):
        endpoints = yaml.safe_load(open(ROOT / name))
        assert endpoints["nlg"]["type"] == "triage.rasa.nlg.TriageNLG", name


def test_training_data_volume_per_language():
    counts = {}
    for language in SUPPORTED:
        data = load_data(str(ROOT / "data" / "nlu" / language))
        per_intent = {}
        for message in data.intent_examples:
            per_intent[message.get("intent")] = per_intent.get(message.get("intent"), 0) + 1
        counts[language] = per_intent
    for intent in intents.ROUTINE:
        assert counts["en"][intent] >= 40, intent
        assert counts["de"][intent] >= 15 and counts["es"][intent] >= 15, intent
    sensitive_en = sum(counts["en"][i] for i in intents.ESCALATING)
    assert sensitive_en >= 300
    for language in ("de", "es"):
        assert sum(counts[language][i] for i in intents.ESCALATING) >= 100


def test_validate_passes():
    import subprocess

    result = subprocess.run([str(ROOT / ".venv/bin/rasa"), "data", "validate", "--fail-on-warnings"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
