"""Loads a trained Rasa model and parses messages through its full NLU pipeline.

The CLI and the held-out evaluation use this; the live bot uses the same
pipeline inside the Rasa server. Either way TriageDecider makes the decision.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ModelNotFound(RuntimeError):
    pass


def pointed_model(models_dir: os.PathLike) -> Optional[Path]:
    """The archive models/.current names (relative to the project), if it exists."""
    models = Path(models_dir)
    pointer = models / ".current"
    if not pointer.exists():
        return None
    path = Path(pointer.read_text().strip())
    path = path if path.is_absolute() else models.parent / path
    return path if path.exists() else None


def current_model_path(models_dir: Optional[os.PathLike] = None) -> Path:
    """The model `make run` serves: models/.current, else the newest in models/."""
    models = Path(models_dir or PROJECT_ROOT / "models")
    pointed = pointed_model(models)
    if pointed:
        return pointed
    candidates = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise ModelNotFound(f"no trained model in {models}/; run `make train` first")
    return candidates[-1]


def _quiet_library_logging() -> None:
    """Rasa's structlog prints every parsed message, text included, at DEBUG, and
    does so to stdout unless configured. Outside the server nobody configures it,
    so configure it here: warnings and above, to stderr."""
    import structlog

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("rasa").setLevel(logging.WARNING)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


class Parser:
    def __init__(self, model_path: Optional[os.PathLike] = None) -> None:
        _quiet_library_logging()
        from rasa.core.agent import Agent

        self.model_path = Path(model_path) if model_path else current_model_path()
        if not self.model_path.exists():
            raise ModelNotFound(f"model not found: {self.model_path}")
        self.agent = Agent.load(str(self.model_path))
        self._loop = asyncio.new_event_loop()

    def parse(self, text: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        from rasa.core.channels.channel import UserMessage

        from triage.shortcuts import without_shortcut

        # As in the channels: a line starting with "/" is words, not an intent the input picks.
        message = UserMessage(text=without_shortcut(text), sender_id="triage-cli", metadata=dict(metadata or {}))
        return self._loop.run_until_complete(self.agent.processor.parse_message(message))

    def triage(self, text: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        return self.parse(text, metadata)["triage"]
