"""The admins' review queue: messages worth a look, de-identified, and labelling.

Items come from live conversations the triage marked for review (low
confidence, nlu_fallback) and from staff corrections when a case is resolved.
The text is de-identified *before* it is stored, and then sealed: the queue
never holds an original message, so neither can anything labelled from it.

Labelling appends the de-identified text as a training example to the data/
file that holds the intent, for the item's language, and audits who did it.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from triage import db, intents
from triage.db import utcnow
from triage.audit import AuditLog
from triage.cases import sender_ref
from triage.deid import deidentify
from triage.keys import KeyStore
from triage.language import SUPPORTED

OPEN, LABELLED, DISMISSED = "open", "labelled", "dismissed"
SOURCES = ("low_confidence", "nlu_fallback", "staff_correction")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where each kind of intent lives in data/nlu/<language>/ when it is new to a file.
CATEGORY_FILES = {**{i: "routine.yml" for i in intents.ROUTINE + (intents.OUT_OF_SCOPE,)},
                  **{i: "sensitive.yml" for i in intents.SENSITIVE},
                  **{i: "crisis.yml" for i in intents.CRISIS}}
MAX_EXAMPLE_CHARS = 500


class ReviewError(RuntimeError):
    """A review command that cannot be done; the message says why."""


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class Label:
    item_id: str
    intent: str
    language: Optional[str] = None


class ReviewQueue:
    def __init__(self, keys: KeyStore, audit: AuditLog, engine: Optional[Engine] = None) -> None:
        self.keys = keys
        self.audit = audit
        self.engine = engine or audit.engine

    # -- filling the queue ---------------------------------------------------

    def add(self, source: str, text: str, triage: Mapping[str, Any], channel: Optional[str] = None,
            sender_id: Optional[str] = None, case_id: Optional[str] = None,
            suggested_intent: Optional[str] = None) -> Optional[str]:
        """Queues the de-identified message; returns the item id (None for empty text)."""
        if source not in SOURCES:
            raise ValueError(f"unknown review source {source!r}")
        # De-identify the whole text, then shorten: cutting first could split an
        # identifier so that neither half matches its pattern.
        clean = " ".join(deidentify(text or "").split())[:MAX_EXAMPLE_CHARS]
        if not clean:
            return None
        item_id = "r" + secrets.token_hex(5)
        payload = {"text": clean, "decision": triage.get("decision"), "intent": triage.get("intent"),
                   "model_intent": triage.get("model_intent"), "confidence": triage.get("model_confidence",
                                                                                         triage.get("confidence")),
                   "reasons": list(triage.get("reasons") or []), "suggested_intent": suggested_intent}
        sealed = self.keys.seal(json.dumps(payload, ensure_ascii=False), aad=f"review:{item_id}")
        ref = sender_ref(self.keys, channel, sender_id) if channel and sender_id else None
        with self.engine.begin() as connection:
            connection.execute(insert(db.review_items).values(
                id=item_id, created_at=utcnow(), source=source, channel=channel, sender_ref=ref,
                case_id=case_id, language=triage.get("language"), key_id=sealed.key_id,
                payload_sealed=sealed.token, status=OPEN))
        return item_id

    # -- reading it ----------------------------------------------------------

    def _decrypt(self, row) -> Dict[str, Any]:
        payload = json.loads(self.keys.open(row.payload_sealed, aad=f"review:{row.id}"))
        return {"id": row.id, "created_at": row.created_at, "source": row.source, "channel": row.channel,
                "case_id": row.case_id, "language": row.language, "status": row.status,
                "labelled_by": row.labelled_by, **payload}

    def list(self, status: Optional[str] = OPEN, source: Optional[str] = None, language: Optional[str] = None,
             limit: int = 100) -> List[Dict[str, Any]]:
        query = select(db.review_items).order_by(db.review_items.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(db.review_items.c.status == status)
        if source:
            query = query.where(db.review_items.c.source == source)
        if language:
            query = query.where(db.review_items.c.language == language)
        with db.reading(self.engine) as connection:
            return [self._decrypt(row) for row in connection.execute(query).all()]

    def get(self, item_id: str) -> Dict[str, Any]:
        with db.reading(self.engine) as connection:
            row = connection.execute(select(db.review_items).where(db.review_items.c.id == item_id)).first()
        if row is None:
            raise ReviewError(f"no review item {item_id!r}; `triage review list` shows the open ones")
        return self._decrypt(row)

    # -- labelling -----------------------------------------------------------

    def check(self, label: Label, data_dir: Path) -> Tuple[Dict[str, Any], str, str]:
        """Validates one label; returns (item, language, text) or raises ReviewError."""
        if label.intent not in intents.ALL:
            raise ReviewError(f"unknown intent {label.intent!r}; known intents: {', '.join(intents.ALL)}")
        item = self.get(label.item_id)
        if item["status"] != OPEN:
            raise ReviewError(f"review item {label.item_id} is already {item['status']}")
        language = label.language or item["language"]
        if language not in SUPPORTED:
            raise ReviewError(f"review item {label.item_id} is in language {language!r}; "
                              f"give --language with one of {', '.join(SUPPORTED)}")
        text = _example_text(item["text"])
        if not re.search(r"[^\W\d_]", re.sub(r"<[A-Z_]+>", "", text)):
            raise ReviewError(f"review item {label.item_id} has no words left after de-identification")
        existing = TrainingData(data_dir).intent_of(text)
        if existing and existing != label.intent:
            raise ReviewError(f"the same text is already a training example for {existing!r}; "
                              "a contradictory example would confuse the model")
        if _normal(text) in heldout_texts():
            raise ReviewError("the same text is in the held-out test split; training on it would "
                              "make the evaluation dishonest")
        return item, language, text

    def label(self, labels: Iterable[Label], actor: str, data_dir: Optional[Path] = None) -> List[Dict[str, Any]]:
        """Checks every label first, then writes them all: a batch with one bad row writes nothing.
        ``data_dir`` defaults to TRIAGE_DATA_DIR, else the project's data/."""
        data_dir = Path(data_dir or os.environ.get("TRIAGE_DATA_DIR") or PROJECT_ROOT / "data")
        labels = list(labels)
        checked, errors = [], []
        seen = set()
        for number, label in enumerate(labels, start=1):
            if label.item_id in seen:
                errors.append(f"row {number}: item {label.item_id} appears twice")
                continue
            seen.add(label.item_id)
            try:
                checked.append((label, *self.check(label, data_dir)))
            except ReviewError as exc:
                errors.append(f"row {number}: {exc}" if len(labels) > 1 else str(exc))
        if errors:
            raise ReviewError("\n".join(errors))
        data = TrainingData(data_dir)
        results = []
        for label, item, language, text in checked:
            path, added = data.append(language, label.intent, text)
            with self.engine.begin() as connection:
                connection.execute(update(db.review_items).where(db.review_items.c.id == item["id"]).values(
                    status=LABELLED, labelled_by=actor, labelled_at=utcnow()))
            relative = str(path.relative_to(data_dir.parent)) if data_dir.parent in path.parents else str(path)
            self.audit.append("labelled", actor=actor, intent=label.intent, outcome="added" if added else "present",
                              details={"item": item["id"], "language": language, "file": relative,
                                       "source": item["source"]})
            results.append({"item": item["id"], "intent": label.intent, "language": language, "file": relative,
                            "added": added})
        return results

    def dismiss(self, item_id: str, actor: str) -> None:
        item = self.get(item_id)
        if item["status"] != OPEN:
            raise ReviewError(f"review item {item_id} is already {item['status']}")
        with self.engine.begin() as connection:
            connection.execute(update(db.review_items).where(db.review_items.c.id == item_id).values(
                status=DISMISSED, labelled_by=actor, labelled_at=utcnow()))
        self.audit.append("review_dismissed", actor=actor, details={"item": item_id})

    # -- retention and keys ----------------------------------------------------

    def purge_older_than(self, cutoff: dt.datetime) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(db.review_items).where(db.review_items.c.created_at < cutoff)).rowcount

    def forget(self, channel: str, sender_id: str) -> int:
        ref = sender_ref(self.keys, channel, sender_id)
        with self.engine.begin() as connection:
            return connection.execute(delete(db.review_items).where(db.review_items.c.sender_ref == ref)).rowcount

    def rewrap_all(self) -> int:
        changed = 0
        with self.engine.begin() as connection:
            for row in connection.execute(select(db.review_items.c.id, db.review_items.c.payload_sealed).where(
                    db.review_items.c.key_id != self.keys.active)).all():
                sealed = self.keys.rewrap(row.payload_sealed)
                connection.execute(update(db.review_items).where(db.review_items.c.id == row.id).values(
                    payload_sealed=sealed.token, key_id=sealed.key_id))
                changed += 1
        return changed


def read_labels_csv(path: Path) -> List[Label]:
    """Rows of ``id,intent[,language]``; a header row is allowed."""
    labels = []
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if number == 1 and cells[0].lower() in ("id", "item", "item_id"):
                continue
            if len(cells) < 2 or not cells[0] or not cells[1]:
                raise ReviewError(f"{path}:{number}: expected id,intent[,language]")
            labels.append(Label(cells[0], cells[1], cells[2] if len(cells) > 2 and cells[2] else None))
    if not labels:
        raise ReviewError(f"{path}: no labels found")
    return labels


def _example_text(text: str) -> str:
    # Square brackets and parentheses after them are Rasa's entity syntax.
    return " ".join(text.replace("[", "(").replace("]", ")").split())[:MAX_EXAMPLE_CHARS]


_HELDOUT: Optional[set] = None


def heldout_texts() -> set:
    global _HELDOUT
    if _HELDOUT is None:
        from triage.evaluate import load_heldout

        _HELDOUT = {_normal(example.text) for example in load_heldout()}
    return _HELDOUT


class TrainingData:
    """Rasa YAML NLU files under data/nlu/<language>/, edited line by line so that
    comments and layout stay as the authors wrote them."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    def _files(self, language: Optional[str] = None) -> List[Path]:
        pattern = f"nlu/{language}/*.yml" if language else "nlu/*/*.yml"
        return sorted(self.data_dir.glob(pattern))

    def intent_of(self, text: str) -> Optional[str]:
        import yaml

        wanted = _normal(text)
        for path in self._files():
            for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
                for line in str(block.get("examples") or "").splitlines():
                    if _normal(line.strip()[2:]) == wanted and block.get("intent"):
                        return block["intent"]
        return None

    def append(self, language: str, intent: str, text: str) -> Tuple[Path, bool]:
        """Adds ``- text`` to the intent's block; returns (file, whether it was added)."""
        directory = self.data_dir / "nlu" / language
        if not directory.is_dir():
            raise ReviewError(f"no training data directory {directory}")
        if self.intent_of(text) == intent:
            return self._file_with(directory, intent) or directory / CATEGORY_FILES[intent], False
        path = self._file_with(directory, intent)
        if path is None:
            path = directory / CATEGORY_FILES[intent]
            existing = path.read_text(encoding="utf-8") if path.exists() else 'version: "3.1"\nnlu:\n'
            if not existing.endswith("\n"):
                existing += "\n"
            path.write_text(existing + f"- intent: {intent}\n  examples: |\n    - {text}\n", encoding="utf-8")
            return path, True
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.rstrip() == f"- intent: {intent}")
        last = start
        for index in range(start + 1, len(lines)):
            stripped = lines[index].strip()
            if lines[index].startswith("- ") or (stripped and not lines[index].startswith("  ")):
                break
            if stripped.startswith("- "):
                last = index
        indent = re.match(r"\s*", lines[last]).group(0) if last > start else "    "
        if not lines[last].endswith("\n"):
            lines[last] += "\n"
        lines.insert(last + 1, f"{indent}- {text}\n")
        path.write_text("".join(lines), encoding="utf-8")
        return path, True

    @staticmethod
    def _file_with(directory: Path, intent: str) -> Optional[Path]:
        preferred = directory / CATEGORY_FILES[intent]
        candidates = ([preferred] if preferred.exists() else []) + sorted(directory.glob("*.yml"))
        for path in candidates:
            if any(line.rstrip() == f"- intent: {intent}" for line in path.read_text(encoding="utf-8").splitlines()):
                return path
        return None
