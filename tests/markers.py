"""Marks each test by what it needs, so `make unit` can run the rest in under a minute.

Loaded as a pytest plugin by the root conftest.py. A test is marked
- ``model`` when it (or a fixture it uses) loads the trained model;
- ``server`` when it starts the Rasa/action servers, nginx or a browser;
- ``services`` when it needs PostgreSQL, Redis or RabbitMQ.
The marks are read from the test's source and its fixtures' sources, so a new test gets the
right mark without anyone remembering to add it; a test that hides its needs deeper (a helper
module) is named in NEEDS below.
"""
import inspect
import re
from functools import lru_cache

import pytest

SIGNS = {
    "model": re.compile(r"\bparser\b|\bParser\(|Agent\.load|models/\.current|model_path|\"classify\"|\bclassify\("),
    "server": re.compile(r"\bAssistant\(|\bCluster\(|chromium|\bbrowser\b|ensure-nginx|render-nginx"),
    "services": re.compile(r"\bpg_url\b|\bRedis\(|redis://|\bpika\b|RabbitMQ|\bempty_pg\("),
}
# Tests whose needs are not visible in their own or their fixtures' source: module -> marks.
NEEDS = {
    "test_bench_smoke": ("server", "model", "services"),
    "test_conversations": ("model",),
    "test_heldout": ("model",),
    "test_lock_store": ("services",),
    "test_replicas": ("server", "services"),
    "test_training": ("model",),
    "test_console_inbox_browser": ("server",),
    "test_domain": ("model",),  # `rasa data validate` in a subprocess: about a minute
    "test_docker_files": ("server",),  # nginx -t on the rendered config
    "test_deploy": ("model", "server"),  # trains tiny models (tests/tiny_project.py) and runs scripts/run
    "test_console_models_browser": ("model", "server"),
}


CALL = re.compile(r"\b([A-Za-z_]\w*)\(")


@lru_cache(maxsize=None)
def _source(obj) -> str:
    """The function's source, with that of the module-level functions it calls (one level:
    a fixture that calls `start(...)`, which starts the servers)."""
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError):
        return ""
    module = inspect.getmodule(obj)
    helpers = [getattr(module, name, None) for name in set(CALL.findall(text))]
    for helper in helpers:
        if inspect.isfunction(helper) and helper is not obj and helper.__module__ == module.__name__:
            try:
                text += "\n" + inspect.getsource(helper)
            except (OSError, TypeError):
                pass
    return text


def _needs(item) -> set:
    sources = [_source(getattr(item, "function", None))]
    for name in item.fixturenames:
        sources.append(name)  # parser, pg_url, browser...
        for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
            sources.append(_source(fixturedef.func))
    text = "\n".join(sources)
    needs = {mark for mark, sign in SIGNS.items() if sign.search(text)}
    if "postgres" in getattr(getattr(item, "callspec", None), "params", {}).values():
        needs.add("services")
    needs.update(NEEDS.get(item.module.__name__.rsplit(".", 1)[-1], ()))
    if item.get_closest_marker("server"):
        needs.add("server")
    return needs


def pytest_collection_modifyitems(items):
    for item in items:
        for mark in _needs(item):
            item.add_marker(getattr(pytest.mark, mark))
