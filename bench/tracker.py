"""Encrypted tracker store overhead: one turn (retrieve, add a user message and
a bot reply, save) against Rasa's stock SQLTrackerStore, same SQLite file type."""
from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Dict

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from triage.rasa.tracker_store import EncryptedSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _turns(store, turns: int) -> list:
    timings = []
    for i in range(turns):
        sender = f"bench-{i % 20}"
        start = time.perf_counter()
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, store.domain.slots)
        tracker.update(UserUttered(f"message number {i} about my appointment", {"name": "book_appointment", "confidence": 0.9}))
        tracker.update(ActionExecuted("action_answer"))
        tracker.update(BotUttered("You can book online."))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def run(keys, workdir: Path, turns: int = 400) -> Dict[str, float]:
    domain = Domain.load(str(ROOT / "domain.yml"))
    stock = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(workdir / "stock.db"))
    ours = EncryptedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(workdir / "encrypted.db"), keys=keys)
    stock_ms = asyncio.run(_turns(stock, turns))
    ours_ms = asyncio.run(_turns(ours, turns))
    result = {"turns": turns}
    for name, values in (("stock", stock_ms), ("encrypted", ours_ms)):
        result[f"{name}_p50_ms"] = round(statistics.median(values), 2)
        result[f"{name}_p95_ms"] = round(_percentile(values, 0.95), 2)
    result["overhead_p50_ms"] = round(result["encrypted_p50_ms"] - result["stock_p50_ms"], 2)
    result["overhead_p95_ms"] = round(result["encrypted_p95_ms"] - result["stock_p95_ms"], 2)
    return result
