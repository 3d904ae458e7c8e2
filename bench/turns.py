"""Turn latency, throughput, /model/parse, cold start and peak memory, measured
against the running servers exactly as `make run` starts them.

"Stock Rasa" is the default `rasa init` pipeline and policies with in-memory
stores, trained on our domain and data, talking to the same action server.
"""
from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests
import yaml

from triage import baseline
from triage.training import rasa_train_command

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ["what are your opening hours", "where can i park", "do you take private insurance",
            "how do i get a copy of my records", "thanks", "are you open on saturday",
            "wann habt ihr offen", "cuál es el horario de visitas"]


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def peak_rss_mb(pid: int) -> Optional[float]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(match.group(1)) / 1024, 1) if match else None


def process_pids(pattern: bytes) -> List[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if pattern in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def turn(url: str, sender: str, text: str) -> float:
    start = time.perf_counter()
    response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200 or not response.json():
        raise RuntimeError(f"turn failed: HTTP {response.status_code}")
    return elapsed


def sequential(url: str, turns: int) -> Dict[str, float]:
    timings = [turn(url, "bench-seq", MESSAGES[i % len(MESSAGES)]) for i in range(turns)]
    return {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1)}


def short_conversations(url: str, turns: int, length: int = 5) -> Dict[str, float]:
    """Like patients: a new conversation every ``length`` turns."""
    timings = [turn(url, f"bench-short-{i // length}", MESSAGES[i % len(MESSAGES)]) for i in range(turns)]
    return {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1)}


def parallel(url: str, senders: int, seconds: float, length: int = 5) -> Dict[str, float]:
    """Sustained load: ``senders`` patients at once, each sending its next message as soon as
    the last was answered, in conversations of ``length`` turns, for ``seconds`` after a
    warm-up round. (A burst of a few turns per sender measured the ramp-up, not the rate:
    160 turns in under 2 s swung by 25 % between identical runs.)"""
    run_id = f"{time.time_ns():x}"

    def warm(index: int) -> None:
        turn(url, f"bench-warm-{run_id}-{index}", MESSAGES[index % len(MESSAGES)])

    def one(index: int) -> List[float]:
        timings: List[float] = []
        while time.perf_counter() < deadline:
            n = len(timings)
            timings.append(turn(url, f"bench-c{senders}-{run_id}-{index}-{n // length}",
                                MESSAGES[(index + n) % len(MESSAGES)]))
        return timings

    with concurrent.futures.ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(warm, range(senders)))
        start = time.perf_counter()
        deadline = start + seconds
        timings = [t for chunk in pool.map(one, range(senders)) for t in chunk]
        wall = time.perf_counter() - start
    return {"turns_per_s": round(len(timings) / wall, 1), "turns": len(timings),
            "p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1)}


def exercise_console(url: str, count: int) -> None:
    """Loads the console's pages (sign-in page, assets), so its memory figure is not an idle one."""
    for _ in range(count):
        for path in ("/login", "/static/console.css", "/static/console.js", "/health"):
            requests.get(url + path, timeout=30).raise_for_status()


def parse_latency(url: str, token: str, count: int) -> Dict[str, float]:
    timings = []
    for i in range(count):
        start = time.perf_counter()
        response = requests.post(f"{url}/model/parse", params={"token": token}, json={"text": MESSAGES[i % len(MESSAGES)]},
                                 timeout=60)
        response.raise_for_status()
        timings.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1)}


def train_ours(workdir: Path) -> float:
    """Seconds for a full `rasa train` of our config, domain and data. Rasa's training cache
    starts empty, so no component is restored from an earlier training; the model is
    thrown away (the serving one is trained and gated by `make train`)."""
    out = workdir / "ours-trained"
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(workdir / "ours-cache"), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run(rasa_train_command(ROOT, out, "ours"), cwd=workdir, env=env, check=True, capture_output=True)
    return round(time.perf_counter() - start, 1)


def train_stock(workdir: Path, quick: bool) -> Dict[str, object]:
    """Trains the stock config on our domain and data; returns the model path and time."""
    project = workdir / "stock"
    project.mkdir(parents=True, exist_ok=True)
    config = baseline.config(epochs=1 if quick else None)
    (project / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    # The stock bot answers every intent with a plain response, as `rasa init`'s bot does:
    # no custom actions, no triage, no handoff.
    intents = yaml.safe_load((ROOT / "domain.yml").read_text())["intents"]
    (project / "domain.yml").write_text(yaml.safe_dump({
        "version": "3.1", "intents": intents,
        "responses": {"utter_answer": [{"text": "Thanks for your message."}]},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True}}))
    shutil.copytree(ROOT / "data" / "nlu", project / "data" / "nlu", dirs_exist_ok=True)
    (project / "data" / "rules.yml").write_text(yaml.safe_dump({"version": "3.1", "rules": [
        {"rule": f"answer {intent}", "steps": [{"intent": intent}, {"action": "utter_answer"}]}
        for intent in intents + ["nlu_fallback"]]}))
    start = time.perf_counter()
    subprocess.run(rasa_train_command(project, project / "models", "stock"), cwd=project, check=True,
                   capture_output=True)
    return {"model": project / "models" / "stock.tar.gz", "train_seconds": round(time.perf_counter() - start, 1)}
