"""The admins' review queue and labelling: unit rules, then end to end through REST."""
import json
import shutil
import subprocess

import pytest
import yaml

from tests.servers import ROOT
from tests.test_handoff_e2e import make_stack, teardown, triage_cli
from triage import db, handback
from triage.audit import AuditLog
from triage.cases import Cases, CasePolicy
from triage.services import Services
from triage.notify import Notifier
from triage.review import Label, ReviewError, TrainingData, read_labels_csv

LOW = {"decision": "answer", "intent": "out_of_scope", "model_intent": "out_of_scope", "model_confidence": 0.52,
       "confidence": 0.52, "language": "en", "reasons": ["model_routine"], "review": True}


@pytest.fixture
def data_dir(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


@pytest.fixture
def svc(keystore, db_url):
    audit = AuditLog(keystore, db.engine(db_url))
    return Services(keystore, audit, Cases(keystore, audit, CasePolicy({"urgent": 15, "normal": 240})),
                    Notifier(audit, targets=[]))


def example_lines(data_dir):
    return sorted(str(p.relative_to(data_dir)) + ":" + line for p in data_dir.rglob("*.yml")
                  for line in p.read_text(encoding="utf-8").splitlines())


def test_queue_holds_only_deidentified_text_and_labels_into_the_right_block(svc, data_dir):
    item = svc.review.add("low_confidence", "my name is Sarah Collins, can my parrot visit the cafe 07700 900123",
                          LOW, channel="rest", sender_id="p-1")
    listed = svc.review.list()
    assert [i["id"] for i in listed] == [item]
    assert "Sarah" not in listed[0]["text"] and "900123" not in listed[0]["text"]
    assert "<NAME>" in listed[0]["text"] and "<PHONE>" in listed[0]["text"] and "parrot" in listed[0]["text"]

    before = example_lines(data_dir)
    results = svc.review.label([Label(item, "out_of_scope")], "admin:ana", data_dir)
    after = example_lines(data_dir)
    added = sorted(set(after) - set(before))
    assert len(after) == len(before) + 1 and len(added) == 1
    assert added[0].startswith("nlu/en/routine.yml:    - my name is <NAME>")
    assert results[0]["file"].endswith("nlu/en/routine.yml")
    # ...inside the out_of_scope block, as Rasa reads it
    blocks = yaml.safe_load((data_dir / "nlu/en/routine.yml").read_text())["nlu"]
    oos = next(b for b in blocks if b["intent"] == "out_of_scope")
    assert any("<NAME>" in line and "parrot" in line for line in oos["examples"].splitlines())
    assert svc.review.list() == []  # no longer open
    labelled = [r for r in svc.audit.rows() if r["event"] == "labelled"]
    assert len(labelled) == 1 and labelled[0]["actor"] == "admin:ana"
    assert svc.audit.verify().ok


def test_label_refusals(svc, data_dir):
    item = svc.review.add("nlu_fallback", "zorp on the blib", {**LOW, "intent": "nlu_fallback"}, channel="rest",
                          sender_id="p-2")
    with pytest.raises(ReviewError, match="unknown intent"):
        svc.review.label([Label(item, "ask_for_pizza")], "admin:ana", data_dir)
    with pytest.raises(ReviewError, match="unknown intent"):
        svc.review.label([Label(item, "nlu_fallback")], "admin:ana", data_dir)
    with pytest.raises(ReviewError, match="no review item"):
        svc.review.label([Label("rdoesnotexist", "greet")], "admin:ana", data_dir)
    french = svc.review.add("low_confidence", "bonjour, c'est ouvert le dimanche?", {**LOW, "language": "other"})
    with pytest.raises(ReviewError, match="--language"):
        svc.review.label([Label(french, "ask_opening_hours")], "admin:ana", data_dir)
    # an example already trained under another intent would contradict it
    clash = svc.review.add("low_confidence", "what are your opening hours", LOW)
    with pytest.raises(ReviewError, match="already a training example for 'ask_opening_hours'"):
        svc.review.label([Label(clash, "ask_location")], "admin:ana", data_dir)
    # the held-out split is never trained on
    heldout = yaml.safe_load((ROOT / "tests/heldout/en.yml").read_text())["nlu"][0]["examples"].splitlines()[0][2:]
    leak = svc.review.add("low_confidence", heldout, LOW)
    with pytest.raises(ReviewError, match="held-out"):
        svc.review.label([Label(leak, yaml.safe_load((ROOT / "tests/heldout/en.yml").read_text())["nlu"][0]["intent"])],
                         "admin:ana", data_dir)
    only_identifiers = svc.review.add("low_confidence", "07700 900123", LOW)
    with pytest.raises(ReviewError, match="no words left"):
        svc.review.label([Label(only_identifiers, "ask_contact")], "admin:ana", data_dir)
    assert example_lines(data_dir) == example_lines(ROOT / "data")  # nothing written by any refusal
    assert not [r for r in svc.audit.rows() if r["event"] == "labelled"]


def test_csv_batch_is_all_or_nothing(svc, data_dir, tmp_path):
    good = svc.review.add("low_confidence", "can i bring my guide dog when visiting", LOW)
    other = svc.review.add("low_confidence", "wo kann man hier ein taxi rufen", {**LOW, "language": "de"})
    sheet = tmp_path / "labels.csv"
    sheet.write_text(f"id,intent,language\n{good},ask_visiting_hours,\n{other},not_an_intent,\n")
    before = example_lines(data_dir)
    with pytest.raises(ReviewError, match="row 2: unknown intent"):
        svc.review.label(read_labels_csv(sheet), "admin:ana", data_dir)
    assert example_lines(data_dir) == before
    sheet.write_text(f"id,intent,language\n{good},ask_visiting_hours,\n{other},ask_location,de\n")
    results = svc.review.label(read_labels_csv(sheet), "admin:ana", data_dir)
    assert [r["file"].split("/", 1)[1] for r in results] == ["nlu/en/routine.yml", "nlu/de/routine.yml"]
    assert len(example_lines(data_dir)) == len(before) + 2
    bad = tmp_path / "bad.csv"
    bad.write_text("just-one-column\n")
    with pytest.raises(ReviewError, match="expected id,intent"):
        read_labels_csv(bad)


def test_new_intent_block_is_created_when_a_file_lacks_it(data_dir):
    path, added = TrainingData(data_dir).append("es", "crisis_self_harm", "ya no aguanto más <NAME>")
    assert added and path.name == "crisis.yml"
    assert TrainingData(data_dir).intent_of("ya no aguanto más <NAME>") == "crisis_self_harm"
    assert TrainingData(data_dir).append("es", "crisis_self_harm", "ya no aguanto más <NAME>")[1] is False


def test_staff_correction_feeds_the_queue_and_forget_removes_it(svc):
    private = {"decision": "private", "intent": "disclose_symptoms", "confidence": 0.6, "language": "en"}
    case_id = svc.cases.open_case("messenger", "psid-9", private, "hi im Tom Becker, is the car park open at night")
    handback.resolve(svc, case_id, "nurse-1", "not_needed", correct_intent="ask_location", was_routine=True)
    items = svc.review.list(source="staff_correction")
    assert len(items) == 1 and items[0]["case_id"] == case_id and items[0]["suggested_intent"] == "ask_location"
    assert "Tom" not in items[0]["text"] and "car park" in items[0]["text"]
    from triage import retention

    result = retention.forget(svc, None, "messenger", "psid-9", actor="patient")
    assert result["review_items_deleted"] == 1 and svc.review.list(status=None) == []


def test_a_wall_of_text_is_shortened_after_deidentification(svc):
    text = "my knee hurts " * 142 + "call 07700 900123 " * 20
    item = svc.review.get(svc.review.add("low_confidence", text, LOW))
    assert len(item["text"]) <= 500 and "knee" in item["text"]
    # Nine long links shrink to <URL>, so a number near character 2,000 of the original
    # ends up in the stored text: it must have been matched whole, not cut in half.
    links = " ".join(f"https://example.org/{'a' * 200}" for _ in range(9))
    tail = svc.review.get(svc.review.add("low_confidence", links + " call 0770 0900123 please", LOW))
    assert "<PHONE>" in tail["text"] and "0770" not in tail["text"] and "please" in tail["text"]


def test_a_failing_review_queue_does_not_stop_a_resolve(svc, monkeypatch, caplog):
    private = {"decision": "private", "intent": "disclose_symptoms", "confidence": 0.6, "language": "en"}
    case_id = svc.cases.open_case("rest", "p-7", private, "my rash is spreading")

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(svc.review, "add", broken)
    handback.resolve(svc, case_id, "nurse-1", "contacted", correct_intent="ask_services")
    assert svc.cases.get(case_id)["status"] == "resolved"
    assert svc.cases.get(case_id)["resume_state"] == "pending"  # the worker hands it back
    assert "not queued for review" in caplog.text and "rash" not in caplog.text


def test_dismiss_is_audited(svc):
    item = svc.review.add("low_confidence", "asdf", LOW)
    svc.review.dismiss(item, "admin:ben")
    assert svc.review.list() == [] and svc.review.get(item)["status"] == "dismissed"
    with pytest.raises(ReviewError, match="already dismissed"):
        svc.review.dismiss(item, "admin:ben")
    assert [r["actor"] for r in svc.audit.rows() if r["event"] == "review_dismissed"] == ["admin:ben"]


@pytest.mark.server
def test_low_confidence_rest_message_to_a_validated_training_example(tmp_path):
    stack = make_stack("sqlite", tmp_path)
    try:
        # A question the model has no intent for (nlu_fallback, 0.38 with the serving model),
        # so it is queued; "can my cat come to the cafeteria" became confident (0.76) after a retrain.
        text = "my name is Sarah Collins, can i fly my drone over the car park"
        assert stack["bot"].reply(text, sender="rev-1")
        listed = triage_cli(stack["env"], "review", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        items = [json.loads(line) for line in listed.stdout.splitlines()]
        assert len(items) == 1, f"the model was sure of the test message, nothing was queued: {items}"
        item = items[0]
        assert item["channel"] == "rest" and item["source"] in ("low_confidence", "nlu_fallback")
        assert "Sarah" not in item["text"] and "Collins" not in item["text"] and "<NAME>" in item["text"]
        human = triage_cli(stack["env"], "review", "list")
        assert item["id"] in human.stdout and "Collins" not in human.stdout

        work = tmp_path / "project"
        shutil.copytree(ROOT / "data", work / "data")
        before = example_lines(work / "data")
        refused = triage_cli(stack["env"], "review", "label", item["id"], "make_coffee", "--admin", "ana",
                             "--data-dir", str(work / "data"))
        assert refused.returncode == 1 and "unknown intent" in refused.stderr
        done = triage_cli(stack["env"], "review", "label", item["id"], "out_of_scope", "--admin", "ana",
                          "--data-dir", str(work / "data"))
        assert done.returncode == 0, done.stderr
        added = sorted(set(example_lines(work / "data")) - set(before))
        assert len(added) == 1 and added[0].startswith("nlu/en/routine.yml:") and "<NAME>" in added[0]
        assert "Sarah" not in "\n".join(example_lines(work / "data"))
        validate = subprocess.run([str(ROOT / ".venv/bin/rasa"), "data", "validate", "--data", str(work / "data"),
                                   "--domain", str(ROOT / "domain.yml"), "--config", str(ROOT / "config.yml"),
                                   "--fail-on-warnings"], cwd=work, capture_output=True, text=True, timeout=300)
        assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]
        labelled = [r for r in stack["audit"].rows() if r["event"] == "labelled"]
        assert len(labelled) == 1 and labelled[0]["actor"] == "admin:ana"
        assert triage_cli(stack["env"], "audit", "verify").returncode == 0
        raw = (tmp_path / "triage.db").read_bytes() + b"".join(
            p.read_bytes() for p in tmp_path.glob("triage.db-wal"))
        assert b"Collins" not in raw
    finally:
        teardown(stack)
