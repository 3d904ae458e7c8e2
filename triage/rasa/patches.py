"""Two speed-ups of Rasa 3.6 that change no behaviour (tests/test_rasa_patches.py).

Installed by ``triage.rasa.install()`` (from triage/rasa/component.py), on Rasa 3.6.21 only.

- Rasa checks every action server response with ``jsonschema.validate(result,
  schema)``, which first validates Rasa's large events schema against the JSON
  Schema meta-schema, on every call: 47 ms of a turn on our 2-core machine, more
  than everything else in it. Here the schema is checked and compiled once; each
  response is still validated against exactly the same schema, and an invalid
  one still raises the same ValidationError.
- Reading a conversation back, Rasa finds each event's class by walking every
  subclass of Event, for every event, on every turn (12 % of the server's CPU
  under load). The class found for a type name is remembered. Event classes are
  defined when their modules are imported, before the server serves, so the
  answer cannot change; names Rasa does not know still go the original way.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Text

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_original = RemoteAction._validate_action_result
_original_resolve = Event.resolve_by_type
_resolved: Dict[Text, Any] = {}


@functools.lru_cache(maxsize=1)
def _validator():
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    error = best_match(_validator().iter_errors(result))
    if error is not None:
        # Rasa's own wording (rasa/core/actions/action.py).
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def _resolve_by_type(type_name: Text, default: Optional[Any] = None) -> Optional[Any]:
    cls = _resolved.get(type_name)
    if cls is not None:
        return cls
    try:
        cls = _original_resolve(type_name)
    except ValueError:
        if default is not None:
            return default
        raise
    if cls is not None:
        _resolved[type_name] = cls
    return cls


def apply() -> None:
    """Only through triage.rasa.install(), which checks the Rasa version and applies them once."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
