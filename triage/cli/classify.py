"""`triage classify` (the batch contract in docs/configuration.md) and `triage clinic check`."""
from __future__ import annotations

import json
import sys
from typing import IO, Any, Dict, Optional

from triage.cli.common import messages
from triage.language import SUPPORTED

CONTRACT_KEYS = ("text", "decision", "intent", "confidence", "language")


def add_parser(sub) -> None:
    p_classify = sub.add_parser("classify", help="classify messages, one per line")
    p_classify.add_argument("file", nargs="?", help="input file (default: standard input)")
    p_classify.add_argument("--model", help="model archive (default: the one `make run` serves)")
    p_classify.add_argument("--explain", action="store_true", help="add reasons and the model's own intent")
    p_classify.set_defaults(func=classify_command)
    p_clinic = sub.add_parser("clinic", help="clinic.yml tools")
    p_clinic.add_argument("action", choices=["check"])
    p_clinic.set_defaults(func=clinic_command)


def classify_command(args, out: IO[str]) -> int:
    if args.file:
        with open(args.file, encoding="utf-8", errors="replace") as handle:
            return classify(handle, out, sys.stderr, args.model, args.explain)
    return classify(sys.stdin, out, sys.stderr, args.model, args.explain)


def classify(source: IO[str], out: IO[str], err: IO[str], model: Optional[str] = None, explain: bool = False) -> int:
    from triage.model import Parser
    from triage.text import clean

    parser = Parser(model)
    failures = 0
    for number, text, metadata, error in messages(source):
        if error:
            failures += 1
            print(error, file=err)
            out.write(json.dumps({"text": None, "error": error}, ensure_ascii=False) + "\n")
            continue
        text = clean(text)  # as every channel does: the text the patient meant, encodable
        try:
            decision = parser.triage(text, metadata)
        except Exception as exc:  # noqa: BLE001  one line must not end the batch
            failures += 1
            error = f"line {number}: could not be classified ({type(exc).__name__})"  # no text: it may be PHI
            print(error, file=err)
            out.write(json.dumps({"text": text, "error": error}, ensure_ascii=False) + "\n")
            continue
        row: Dict[str, Any] = {"text": text, **{k: decision[k] for k in CONTRACT_KEYS[1:]}}
        if explain:
            row.update(reasons=decision["reasons"], model_intent=decision["model_intent"],
                       model_confidence=decision["model_confidence"])
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return 2 if failures else 0


def clinic_command(args, out: IO[str]) -> int:
    return clinic_check(out)


def clinic_check(out: IO[str]) -> int:
    from triage import clinic, intents
    from triage.replies import reply_for

    config = clinic.load()
    for language in SUPPORTED:
        for intent in intents.ROUTINE:
            reply_for({"decision": "answer", "intent": intent, "language": language}, "", config)
        for decision in ("private", "crisis"):
            reply_for({"decision": decision, "intent": "", "language": language}, "", config)
    out.write(f"{config.source}: OK ({len(config.departments)} departments, {len(config.holidays)} holidays)\n")
    return 0
